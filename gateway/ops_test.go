package gateway_test

import (
	"bytes"
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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsCarryNoSecrets runs a full lifecycle and searches every log line
// for keys and key material.
func TestLogsCarryNoSecrets(t *testing.T) {
	var logs syncBuffer
	e := start(t, storetest.Backends(t)[0], func(c *gateway.Config) { c.Log = slog.New(slog.NewJSONHandler(&logs, nil)) })
	e.listen()
	id := e.createCharge("LOG0001", 100)
	e.pay(id)
	e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), `{"amount":10,"description":"x"}`)
	e.do("POST", "/v1/charges", "sk_test_ThisIsNotAKeyButLooksLike1", e.chargeBody("LOG0002", 1))
	e.recv.waitEvents(t, 2)
	out := logs.String()
	if !strings.Contains(out, `"request_id"`) {
		t.Fatalf("no request ids in logs:\n%s", out)
	}
	for _, secret := range []string{e.sk(), e.app.SecretKeyLive, "sk_test_ThisIsNotAKeyButLooksLike1", "PRIVATE KEY", "Authorization", "Basic "} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q", secret)
		}
	}
}

func TestLiveModeNeedsCredentials(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	r := e.do("POST", "/v1/charges", e.app.SecretKeyLive, e.chargeBody("LIVE001", 100))
	if r.Status != 400 || r.str("error", "param") != "channel" {
		t.Fatalf("live charge without credentials: %d %s", r.Status, r.Body)
	}
	pay := e.do("POST", "/v1/test/charges/ch_x/pay", e.app.SecretKeyLive, `{"result":"success"}`)
	if pay.Status != 400 {
		t.Fatalf("test pay with a live key: %d %s", pay.Status, pay.Body)
	}
}

func TestRequestSignatures(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		key, _ := rsa.GenerateKey(rand.Reader, 2048)
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		if err := e.node.DB.Write(ctx, func(tx *store.Tx) error { return tx.SetRequestPublicKey(ctx, e.app.AppID, pub) }); err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"order_no":"SIG0001","app":{"id":"` + e.app.AppID + `"},"channel":"alipay_qr","amount":100,"client_ip":"127.0.0.1","currency":"cny","subject":"s","body":"b"}`)
		send := func(sign bool, ts int64, tamper bool) int {
			req, _ := http.NewRequest("POST", e.node.URL+"/v1/charges", bytes.NewReader(body))
			req.SetBasicAuth(e.sk(), "")
			tsText := strconv.FormatInt(ts, 10)
			req.Header.Set("Pingplusplus-Request-Timestamp", tsText)
			if sign {
				msg := append(append([]byte{}, body...), "/v1/charges"+tsText...)
				if tamper {
					msg[0] = '['
				}
				sum := sha256.Sum256(msg)
				sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
				req.Header.Set("Pingplusplus-Signature", base64.StdEncoding.EncodeToString(sig))
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return res.StatusCode
		}
		now := time.Now().Unix()
		tests := []struct {
			name         string
			sign, tamper bool
			ts           int64
			want         int
		}{
			{"ErrUnsigned", false, false, now, 401},
			{"ErrTampered", true, true, now, 401},
			{"ErrStale", true, false, now - 3600, 401},
			{"OK", true, false, now, 200},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := send(tc.sign, tc.ts, tc.tamper); got != tc.want {
					t.Fatalf("status = %d, want %d", got, tc.want)
				}
			})
		}
	})
}

// TestGracefulShutdown: a request in flight when shutdown starts completes.
func TestGracefulShutdown(t *testing.T) {
	b := storetest.Backends(t)[0]
	e := start(t, b, nil)
	// A slow client: send headers and half the body, start shutdown, then
	// finish the body; the server must still answer it.
	body := e.chargeBody("GRACE01", 100)
	raw := mustJSON(body)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", e.node.URL+"/v1/charges", pr)
	req.SetBasicAuth(e.sk(), "")
	req.ContentLength = int64(len(raw))
	done := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- -1
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	pw.Write(raw[:10])
	time.Sleep(100 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- e.node.Close(ctx) }()
	time.Sleep(100 * time.Millisecond)
	ready, err := http.Get(e.node.URL + "/readyz")
	if err == nil {
		ready.Body.Close()
		if ready.StatusCode == 200 {
			t.Error("readyz still 200 while draining")
		}
	}
	pw.Write(raw[10:])
	pw.Close()
	if got := <-done; got != 200 {
		t.Fatalf("in-flight request got %d, want 200", got)
	}
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
}

// TestCashierScriptRouted: the popup script merchants include is served at
// /cashier.js by a running node.
func TestCashierScriptRouted(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	res, err := http.Get(e.node.URL + "/cashier.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "PolypayCashier") || !strings.Contains(res.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("/cashier.js: %d %s %.80s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
}

// TestSlowClientsCutOff: a client that trickles its headers or its body is
// disconnected instead of holding a connection forever.
func TestSlowClientsCutOff(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], func(c *gateway.Config) {
		c.ReadHeaderTimeout, c.ReadTimeout = 200*time.Millisecond, 400*time.Millisecond
	})
	addr := strings.TrimPrefix(e.node.URL, "http://")
	tests := []struct {
		name string
		send string // sent at once; the rest never comes
	}{
		{"SlowHeaders", "POST /v1/charges HTTP/1.1\r\nHost: x\r\n"},
		{"SlowBody", "POST /v1/charges HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nAuthorization: Basic " +
			base64.StdEncoding.EncodeToString([]byte(e.sk()+":")) + "\r\n\r\n{\"amount\":"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write([]byte(tc.send))
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			start := time.Now()
			io.ReadAll(conn) // returns when the server hangs up
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("connection held for %v", d)
			}
		})
	}
}
