package alipay_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/sim/alipaysim"
)

const appID = "2021000000000001"

var cst = time.FixedZone("CST", 8*3600)

// Keys are generated once per test binary; 2048-bit generation dominates
// the run time otherwise.
var (
	platformKey, merchantKey, otherKey *rsa.PrivateKey
	merchantPKCS1, merchantPKCS8       string
	platformPub, otherPub              string
)

func TestMain(m *testing.M) {
	for _, k := range []**rsa.PrivateKey{&platformKey, &merchantKey, &otherKey} {
		var err error
		if *k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	}
	merchantPKCS1 = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(merchantKey)}))
	der, err := x509.MarshalPKCS8PrivateKey(merchantKey)
	if err != nil {
		panic(err)
	}
	merchantPKCS8 = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	platformPub, otherPub = spki(&platformKey.PublicKey), spki(&otherKey.PublicKey)
	os.Exit(m.Run())
}

func spki(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// received is one notification as the test merchant endpoint saw it.
type received struct {
	body []byte
	n    *polypay.Notification
	err  error
}

// env is the connector talking to the simulator over real HTTP, with a
// merchant notify endpoint that parses notifications with the connector.
type env struct {
	sim       *alipaysim.Sim
	clock     *clock
	conn      *alipay.Client
	gateway   string
	notifyURL string

	mu      sync.Mutex
	got     []received
	answers []bool       // ack per notification; the last one repeats
	calls   []url.Values // every OpenAPI request the gateway got
	// lose, when set for a method, lets the sim process the request and
	// then answers the merchant with this body instead (a lost answer).
	lose map[string]string
}

type envOption func(*alipaysim.Options)

func withRetry(d ...time.Duration) envOption {
	return func(o *alipaysim.Options) { o.Retry = d }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	return newEnvWith(t, nil, opts...)
}

// newEnvWith is newEnv with the simulator's handler behind wrap (nil: none).
func newEnvWith(t *testing.T, wrap func(http.Handler) http.Handler, opts ...envOption) *env {
	t.Helper()
	e := &env{clock: &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, cst)}, answers: []bool{true}}
	o := alipaysim.Options{
		PrivateKey: platformKey,
		Merchant: func(id string) (*rsa.PublicKey, bool) {
			if id == appID {
				return &merchantKey.PublicKey, true
			}
			return nil, false
		},
		Now:   e.clock.Now,
		Retry: []time.Duration{time.Hour},
	}
	for _, opt := range opts {
		opt(&o)
	}
	e.sim = alipaysim.New(o)
	var simHandler http.Handler = e.sim
	if wrap != nil {
		simHandler = wrap(e.sim)
	}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ParseForm is idempotent: the sim reads the same parsed form.
		var lost string
		if err := r.ParseForm(); err == nil && r.Form.Get("method") != "" {
			e.mu.Lock()
			e.calls = append(e.calls, r.Form)
			lost = e.lose[r.Form.Get("method")]
			e.mu.Unlock()
		}
		if lost != "" {
			simHandler.ServeHTTP(httptest.NewRecorder(), r)
			_, _ = io.WriteString(w, lost)
			return
		}
		simHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(gw.Close)
	e.gateway = gw.URL + "/gateway.do"
	e.conn = newConn(t, e.gateway, merchantPKCS1, platformPub)

	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, err := e.conn.ParseNotification(r.Context(), polypay.NewNotifyRequest(r, body))
		e.mu.Lock()
		ack := e.answers[min(len(e.got), len(e.answers)-1)]
		e.got = append(e.got, received{body, n, err})
		e.mu.Unlock()
		e.conn.Ack(err == nil && ack).WriteResponse(w)
	}))
	t.Cleanup(rcv.Close)
	t.Cleanup(e.sim.Close) // runs first: no retry may outlive the receiver
	e.notifyURL = rcv.URL + "/notify/alipay_qr"
	return e
}

func withUserPaying(d time.Duration) envOption {
	return func(o *alipaysim.Options) { o.UserPayingFor = d }
}

// methods returns the OpenAPI methods the gateway was called with.
func (e *env) methods() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, c := range e.calls {
		out = append(out, c.Get("method"))
	}
	return out
}

// lastCall returns the parameters of the last request for method.
func (e *env) lastCall(t *testing.T, method string) url.Values {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.calls) - 1; i >= 0; i-- {
		if e.calls[i].Get("method") == method {
			return e.calls[i]
		}
	}
	t.Fatalf("no %s request was made", method)
	return nil
}

// connFor is the env's merchant on another Alipay channel.
func (e *env) connFor(t *testing.T, channel string) *alipay.Client {
	t.Helper()
	c, err := alipay.New(channel, alipay.Config{AppID: appID, PrivateKeyPEM: merchantPKCS8, AlipayPublicKeyPEM: platformPub, Gateway: e.gateway})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newConn(t *testing.T, gateway, privateKey, alipayPub string) *alipay.Client {
	t.Helper()
	c, err := alipay.New(alipay.ChannelQR, alipay.Config{
		AppID:              appID,
		PrivateKeyPEM:      privateKey,
		AlipayPublicKeyPEM: alipayPub,
		Gateway:            gateway,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) notifications() []received {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]received(nil), e.got...)
}

func charge(id string, amount int64) *polypay.Charge {
	return &polypay.Charge{ID: id, Channel: alipay.ChannelQR, Amount: amount, Currency: "cny", Subject: "测试商品", Body: "body"}
}

// create precreates ch with the env's notify URL.
func (e *env) create(t *testing.T, ch *polypay.Charge) string {
	t.Helper()
	cred, err := e.conn.CreateCharge(context.Background(), polypay.ChannelRequest{Charge: ch, NotifyURL: e.notifyURL})
	if err != nil {
		t.Fatalf("CreateCharge: %v", err)
	}
	return string(cred)
}

// paid creates and pays a charge; the payment notification is delivered
// before this returns.
func (e *env) paid(t *testing.T, ch *polypay.Charge) {
	t.Helper()
	e.create(t, ch)
	if err := e.sim.Pay(context.Background(), appID, ch.ID, true); err != nil {
		t.Fatalf("Pay: %v", err)
	}
}

// signNotification re-implements Alipay's notification signature: sorted
// non-empty fields without sign and sign_type, RSA2 with key.
func signNotification(v url.Values, key *rsa.PrivateKey) {
	var pairs []string
	for k := range v {
		if k == "sign" || k == "sign_type" || v.Get(k) == "" {
			continue
		}
		pairs = append(pairs, k+"="+v.Get(k))
	}
	sort.Strings(pairs)
	d := sha256.Sum256([]byte(strings.Join(pairs, "&")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		panic(err)
	}
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
}

func wantCode(t *testing.T, err error, code, channelCode string) {
	t.Helper()
	var pe *polypay.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *polypay.Error with code %s", err, err, code)
	}
	if pe.Code != code || pe.ChannelCode != channelCode {
		t.Fatalf("error code %s/%s, want %s/%s (%v)", pe.Code, pe.ChannelCode, code, channelCode, err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func pemPKCS1(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}
