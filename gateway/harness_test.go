package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/apidoc/apidoctest"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/store/storetest"
	"github.com/polypay/polypay/webhook"
)

var ctx = context.Background()

// env is one running node with an app, as a merchant would have it.
type env struct {
	t    *testing.T
	node *gateway.Node
	app  *core.NewApp
	recv *receiver
}

func start(t *testing.T, b storetest.Backend, mod func(*gateway.Config)) *env {
	t.Helper()
	cfg := gateway.Config{Addr: "127.0.0.1:0", DataDir: b.DataDir, DatabaseURL: b.DatabaseURL,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), PollInterval: time.Hour, AdminAddr: "127.0.0.1:0"}
	if mod != nil {
		mod(&cfg)
	}
	n, err := gateway.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(ctx) })
	a, err := n.CreateApp(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, node: n, app: a}
}

// forEachStore runs fn against a fresh node on every backend.
func forEachStore(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

type resp struct {
	Close  bool // the server asked to close the connection
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

func (r *resp) str(path ...string) string {
	var v any = r.JSON
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func (r *resp) num(path ...string) int64 {
	var v any = r.JSON
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	f, _ := v.(float64)
	return int64(f)
}

func (e *env) do(method, path, key string, body any, hdr ...string) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.node.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	// Every exchange is checked against the API reference (apidoc): an
	// undocumented route or field fails the test that met it.
	res, err := apidoctest.Client(e.t).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	out := &resp{Status: res.StatusCode, Header: res.Header, Close: res.Close}
	out.Body, _ = io.ReadAll(res.Body)
	json.Unmarshal(out.Body, &out.JSON)
	return out
}

func (e *env) sk() string { return e.app.SecretKeyTest }

func (e *env) chargeBody(orderNo string, amount int64) map[string]any {
	return map[string]any{"order_no": orderNo, "app": map[string]any{"id": e.app.AppID}, "channel": "alipay_qr",
		"amount": amount, "client_ip": "127.0.0.1", "currency": "cny", "subject": "测试商品", "body": "polypay test"}
}

func (e *env) createCharge(orderNo string, amount int64) string {
	e.t.Helper()
	r := e.do("POST", "/v1/charges", e.sk(), e.chargeBody(orderNo, amount))
	if r.Status != 200 {
		e.t.Fatalf("create charge: %d %s", r.Status, r.Body)
	}
	return r.str("id")
}

func (e *env) pay(id string) *resp {
	e.t.Helper()
	r := e.do("POST", "/v1/test/charges/"+id+"/pay", e.sk(), `{"result":"success"}`)
	if r.Status != 200 {
		e.t.Fatalf("pay: %d %s", r.Status, r.Body)
	}
	return r
}

// receiver is a merchant webhook endpoint that verifies every signature.
type receiver struct {
	mu      sync.Mutex
	events  []map[string]any
	bad     int
	fail    int // answer 500 to this many requests first
	calls   int
	pub     []byte
	srv     *http.Server
	URL     string
	arrived chan struct{}
}

func (e *env) listen() *receiver {
	e.t.Helper()
	pub, err := e.node.WebhookPublicKey(ctx, e.app.AppID, false)
	if err != nil {
		e.t.Fatal(err)
	}
	rc := &receiver{pub: pub, arrived: make(chan struct{}, 1000)}
	ln := mustListen(e.t)
	rc.URL = "http://" + ln.Addr().String() + "/hook"
	rc.srv = &http.Server{Handler: http.HandlerFunc(rc.serve)}
	go rc.srv.Serve(ln)
	e.t.Cleanup(func() { rc.srv.Close() })
	r := e.do("POST", "/v1/webhook_endpoints", e.sk(), map[string]any{"app": e.app.AppID, "url": rc.URL})
	if r.Status != 200 {
		e.t.Fatalf("register webhook: %d %s", r.Status, r.Body)
	}
	e.recv = rc
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	if rc.fail > 0 {
		rc.fail--
		w.WriteHeader(500)
		return
	}
	if err := webhook.Verify(body, r.Header.Get(webhook.SignatureHeader), rc.pub); err != nil {
		rc.bad++
		w.WriteHeader(400)
		return
	}
	var ev map[string]any
	json.Unmarshal(body, &ev)
	rc.events = append(rc.events, ev)
	w.WriteHeader(200)
	rc.arrived <- struct{}{}
}

// waitEvents waits until n verified events arrived and returns them.
func (rc *receiver) waitEvents(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		rc.mu.Lock()
		got := len(rc.events)
		evs := append([]map[string]any(nil), rc.events...)
		bad := rc.bad
		rc.mu.Unlock()
		if bad > 0 {
			t.Fatalf("%d webhooks failed signature verification", bad)
		}
		if got >= n {
			return evs
		}
		select {
		case <-rc.arrived:
		case <-deadline:
			t.Fatalf("got %d webhook events, want %d", got, n)
		}
	}
}
