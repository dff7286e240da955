package gateway_test

import (
	"bufio"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
	"github.com/polypay/polypay/webhook"
)

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func (e *env) outcomes(app string) []string {
	e.t.Helper()
	var out []string
	if err := e.node.DB.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.NotificationOutcomes(ctx, app)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestNotifyUnknownTargetLeavesNoTrace: a made-up family, app or mode in
// /notify/{family}/{app}/{mode} is answered 404 and leaves nothing behind:
// no notification record, no metric label, no log line holding its text.
func TestNotifyUnknownTargetLeavesNoTrace(t *testing.T) {
	logs := &syncBuffer{}
	e := start(t, storetest.Backends(t)[0], func(c *gateway.Config) {
		c.Log = slog.New(slog.NewJSONHandler(logs, nil))
		c.AdminAddr = "127.0.0.1:0"
		c.NotifyRateLimit = -1
	})
	huge := strings.Repeat("x", 400_000)
	// /metrics is process-wide: what this test's requests add is measured
	// against what was there before them.
	_, metricsBefore := get(t, e.node.AdminURL+"/metrics")
	fakeApp := "app_" + strings.Repeat("Z", 16)
	tests := []struct{ name, family, app, mode string }{
		{"ErrHugeFamily", huge, e.app.AppID, "test"},
		{"ErrUnknownFamily", "bitcoin", e.app.AppID, "test"},
		{"ErrUnknownAccount", "alipay@" + strings.Repeat("a", 300), e.app.AppID, "test"},
		{"ErrUnknownApp", "alipay", fakeApp, "test"},
		{"ErrHugeApp", "alipay", huge, "test"},
		{"ErrNoLiveCredentials", "alipay", e.app.AppID, "live"},
		{"ErrMode", "alipay", e.app.AppID, "staging"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := logs.Len()
			res, err := http.Post(e.node.URL+"/notify/"+tc.family+"/"+tc.app+"/"+tc.mode, "application/x-www-form-urlencoded",
				strings.NewReader("notify_id=1&sign=x"))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 404 {
				t.Fatalf("status %d, want 404", res.StatusCode)
			}
			if grew := logs.Len() - before; grew > 2000 {
				t.Errorf("the log grew by %d bytes for one request", grew)
			}
		})
	}
	for _, app := range []string{e.app.AppID, fakeApp} {
		if got := e.outcomes(app); len(got) != 0 {
			t.Errorf("notification records for %s: %v, want none", app, got)
		}
	}
	if strings.Contains(logs.String(), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") {
		t.Error("the log holds the request's family text")
	}
	st, body := get(t, e.node.AdminURL+"/metrics")
	if st != 200 {
		t.Fatalf("admin /metrics: %d", st)
	}
	// The growth bound is far below one request's 400 kB of text; what
	// fills /metrics legitimately (every route's histograms, counted by all
	// the package's tests) grows with the API, which checkLabels holds to
	// fixed label sets.
	if grew := len(body) - len(metricsBefore); grew > 100_000 || strings.Contains(body, "bitcoin") || strings.Contains(body, "xxxxxxxx") {
		t.Errorf("/metrics (%d bytes, %d more than before the requests) holds text from requests", len(body), grew)
	}
	checkLabels(t) // the metrics are process-wide: other tests' counts are there too
}

// TestNotifyRateLimitedPerAddress: one address sending notifications
// faster than the limit gets 429 before anything is read or recorded.
func TestNotifyRateLimitedPerAddress(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], func(c *gateway.Config) { c.NotifyRateLimit = 1 })
	statuses := map[int]int{}
	for range 10 {
		res, err := http.Post(e.node.URL+"/notify/alipay/"+e.app.AppID+"/test", "application/x-www-form-urlencoded", strings.NewReader("sign=forged"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		statuses[res.StatusCode]++
	}
	if statuses[429] < 7 {
		t.Fatalf("statuses %v: want at most the burst of 2 through, then 429", statuses)
	}
	if got := len(e.outcomes(e.app.AppID)); got > 3 {
		t.Fatalf("%d notifications recorded, want at most the burst", got)
	}
}

// TestRepliesSignedOnlyWhenAuthenticated: an anonymous or wrongly keyed
// request gets no signature (it costs polypay nothing and proves nothing).
func TestRepliesSignedOnlyWhenAuthenticated(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	tests := []struct {
		name, path, key string
		status          int
		signed          bool
	}{
		{"ErrNoKey", "/v1/charges/ch_x", "", 401, false},
		{"ErrBadKey", "/v1/charges/ch_x", "sk_test_made_up_key_123456", 401, false},
		{"ErrUnknownRoute", "/v1/nothing", "", 404, false},
		{"OKNotFoundWithKey", "/v1/charges/ch_x", e.sk(), 404, true},
		{"OKList", "/v1/charges?app[id]=" + e.app.AppID, e.sk(), 200, true},
	}
	replyKey := e.do("GET", "/v1/reply_public_key", e.sk(), nil)
	if replyKey.Status != 200 {
		t.Fatalf("GET /v1/reply_public_key: %d %s", replyKey.Status, replyKey.Body)
	}
	if r := e.do("GET", "/v1/reply_public_key", "", nil); r.Status != 401 {
		t.Fatalf("GET /v1/reply_public_key without a key: %d", r.Status)
	}
	webhookKey, err := e.node.WebhookPublicKey(ctx, e.app.AppID, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, tc.key, nil)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			sig := r.Header.Get(webhook.SignatureHeader)
			if got := sig != ""; got != tc.signed {
				t.Fatalf("signed = %v, want %v", got, tc.signed)
			}
			if !tc.signed {
				return
			}
			if err := webhook.Verify(r.Body, sig, replyKey.Body); err != nil {
				t.Fatalf("reply does not verify with /v1/reply_public_key: %v", err)
			}
			if webhook.Verify(r.Body, sig, webhookKey) == nil {
				t.Fatal("a reply verifies with the app's webhook key")
			}
		})
	}
}

// TestFailedAuthLimitedPerAddress: guessing keys is throttled per client
// address, a throttled key is not forgotten after many made-up keys, and a
// merchant's known-good key keeps working behind the same address.
func TestFailedAuthLimitedPerAddress(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], func(c *gateway.Config) { c.RateLimit = 1 })
	// The good key is seen (and so cached) first, as a merchant's would be.
	if r := e.do("GET", "/v1/charges?app[id]="+e.app.AppID, e.sk(), nil); r.Status != 200 {
		t.Fatalf("good key: %d %s", r.Status, r.Body)
	}
	statuses := map[int]int{}
	for i := range 100 {
		statuses[e.do("GET", "/v1/charges/ch_x", "sk_test_guess"+strconv.Itoa(i)+"xxxxxxxxxxxx", nil).Status]++
	}
	if statuses[401] > 40 || statuses[429] < 60 {
		t.Fatalf("made-up keys: %v, want 429 after the burst of 30", statuses)
	}
	// The per-key limiter (1/s, burst 2) still holds the good key to its
	// rate: the guesses did not reset it.
	got := map[int]int{}
	for range 5 {
		got[e.do("GET", "/v1/charges?app[id]="+e.app.AppID, e.sk(), nil).Status]++
	}
	if got[200] == 0 || got[429] == 0 {
		t.Fatalf("good key behind a throttled address: %v, want some 200 then 429 from its own limit", got)
	}
}

// TestAdminListener: /metrics and pprof are served only on the admin
// address, never on the public one.
func TestAdminListener(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], func(c *gateway.Config) { c.AdminAddr = "127.0.0.1:0" })
	for _, p := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/cmdline"} {
		if st, _ := get(t, e.node.URL+p); st != 404 {
			t.Errorf("public %s: %d, want 404", p, st)
		}
	}
	if st, body := get(t, e.node.AdminURL+"/metrics"); st != 200 || !strings.Contains(body, "polypay_api_requests_total") {
		t.Errorf("admin /metrics: %d", st)
	}
	if st, _ := get(t, e.node.AdminURL+"/debug/pprof/cmdline"); st != 200 {
		t.Errorf("admin pprof: %d", st)
	}
}

// TestDemoOnlyWhenAsked: the demo store (which creates an app and orders
// for anyone) is served only with --demo.
func TestDemoOnlyWhenAsked(t *testing.T) {
	tests := []struct {
		name string
		demo bool
		want int
	}{{"ErrOffByDefault", false, 404}, {"OKOn", true, 200}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, storetest.Backends(t)[0], func(c *gateway.Config) { c.Demo = tc.demo })
			if st, _ := get(t, e.node.URL+"/demo"); st != tc.want {
				t.Fatalf("GET /demo: %d, want %d", st, tc.want)
			}
			res, err := http.Post(e.node.URL+"/demo/buy", "application/x-www-form-urlencoded", strings.NewReader("item=tshirt"))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if !tc.demo && res.StatusCode != 404 {
				t.Fatalf("POST /demo/buy without --demo: %d, want 404", res.StatusCode)
			}
		})
	}
}

// TestSlowAndManyConnections: a body sent too slowly is cut off at the
// read timeout, and one address cannot open more than its share of
// connections.
func TestSlowAndManyConnections(t *testing.T) {
	// Each case has a node of its own: a connection the first case left
	// closing would hold a slot of the second's.
	node := func(t *testing.T) string {
		e := start(t, storetest.Backends(t)[0], func(c *gateway.Config) {
			c.ReadTimeout = time.Second
			c.MaxConnsPerIP = 3
		})
		return strings.TrimPrefix(e.node.URL, "http://")
	}
	t.Run("ErrSlowBody", func(t *testing.T) {
		addr := node(t)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /v1/charges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
		start := time.Now()
		stop := time.After(5 * time.Second)
		for cut := false; !cut; {
			select {
			case <-stop:
				t.Fatal("a trickling body still holds its connection after 5 s")
			default:
			}
			if _, err := c.Write([]byte(" ")); err != nil {
				cut = true
			}
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if _, err := c.Read(make([]byte, 512)); err != nil && !isTimeout(err) {
				cut = true
			}
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Fatalf("cut off after %v, want about the 1 s read timeout", d)
		}
	})
	t.Run("ErrTooManyConnections", func(t *testing.T) {
		addr := node(t)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for range 3 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		time.Sleep(100 * time.Millisecond) // let the server accept them
		extra, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer extra.Close()
		io.WriteString(extra, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		extra.SetReadDeadline(time.Now().Add(3 * time.Second))
		if line, err := bufio.NewReader(extra).ReadString('\n'); err == nil {
			t.Fatalf("a 4th connection from one address was served: %q", line)
		}
		conns[0].Close()
		conns = conns[1:]
		time.Sleep(100 * time.Millisecond)
		if st, _ := get(t, "http://"+addr+"/healthz"); st != 200 {
			t.Fatalf("after one closed, a new connection: %d", st)
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestDataFilesPrivate: the database and the key files are owner-only.
func TestDataFilesPrivate(t *testing.T) {
	b := storetest.Backends(t)[0]
	// A database left 0644 by an older version is narrowed too.
	if err := os.WriteFile(filepath.Join(b.DataDir, "polypay.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e := start(t, b, nil)
	e.createCharge("PERM0001", 100)
	for _, f := range []string{"polypay.db", "polypay.db-wal", "master.key", "vault.keys"} {
		fi, err := os.Stat(filepath.Join(b.DataDir, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %o, want 600", f, m)
		}
	}
}

// TestRequestSignatureEveryMethodOnce: once an app requires signatures,
// GET and DELETE need one too, and a signature works only once.
func TestRequestSignatureEveryMethodOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		key, _ := rsa.GenerateKey(rand.Reader, 2048)
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		hook := e.do("POST", "/v1/webhook_endpoints", e.sk(), map[string]any{"app": e.app.AppID, "url": "http://127.0.0.1:9/hook"})
		if hook.Status != 200 {
			t.Fatalf("webhook endpoint: %d %s", hook.Status, hook.Body)
		}
		if err := e.node.DB.Write(ctx, func(tx *store.Tx) error { return tx.SetRequestPublicKey(ctx, e.app.AppID, pub) }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(11 * time.Second) // the key cache keeps an app's settings 10 s
		sign := func(target string, ts int64) []string {
			tsText := strconv.FormatInt(ts, 10)
			sum := sha256.Sum256([]byte(target + tsText))
			sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
			return []string{"Pingplusplus-Request-Timestamp", tsText, "Pingplusplus-Signature", base64.StdEncoding.EncodeToString(sig)}
		}
		list := "/v1/webhook_endpoints?app=" + e.app.AppID
		del := "/v1/webhook_endpoints/" + hook.str("id")
		now := time.Now().Unix()
		tests := []struct {
			name, method, path string
			hdr                []string
			want               int
		}{
			{"ErrUnsignedGet", "GET", list, nil, 401},
			{"ErrUnsignedDelete", "DELETE", del, nil, 401},
			{"OKSignedGet", "GET", list, sign(list, now), 200},
			{"ErrReplayedGet", "GET", list, sign(list, now), 401},
			{"OKSignedDelete", "DELETE", del, sign(del, now), 200},
			{"ErrReplayedDelete", "DELETE", del, sign(del, now), 401},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(tc.method, tc.path, e.sk(), nil, tc.hdr...)
				if r.Status != tc.want {
					t.Fatalf("status %d, want %d: %s", r.Status, tc.want, r.Body)
				}
				if tc.want == 401 && r.str("error", "param") != "Pingplusplus-Signature" {
					t.Fatalf("error names %q, want Pingplusplus-Signature", r.str("error", "param"))
				}
			})
		}
	})
}
