package bench

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/polypay/polypay/store"
)

// rsaCeiling is RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second with one
// signing goroutine per usable core: the work every hop of polypay's flows
// pays for (request, response, notification and webhook signatures).
func rsaCeiling(m *meter, d time.Duration, goroutines int) (loopResult, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return loopResult{}, err
	}
	key.Precompute()
	bodies := make([][]byte, goroutines)
	for i := range bodies {
		bodies[i] = make([]byte, 1500) // webhook-sized, hashed each time as the signers do
	}
	res := m.loop(goroutines, d, func(w, seq int) (bool, error) {
		body := bodies[w]
		body[0], body[1] = byte(seq), byte(seq>>8)
		sum := sha256.Sum256(body)
		_, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		return err == nil, err
	})
	return res, res.firstErr
}

// httpCeiling is requests per second over loopback against a trivial
// handler that closes every connection, as polypay's API does: the cost of
// a TCP connect, one request and one reply in this process.
func httpCeiling(m *meter, d time.Duration, conc int) (loopResult, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return loopResult{}, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Connection", "close")
		io.WriteString(w, `{"ok":true}`)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	hc := newClient()
	defer hc.CloseIdleConnections()
	url := "http://" + ln.Addr().String() + "/"
	res := m.loop(conc, d, func(int, int) (bool, error) {
		req, err := http.NewRequest(http.MethodPost, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200, nil
	})
	return res, nil
}

// commitCeiling runs CommitProbe from conc goroutines for d: with conc=1,
// the store's single durable commit rate; with more, what batching reaches.
func commitCeiling(ctx context.Context, m *meter, db *store.DB, d time.Duration, conc int) loopResult {
	return m.loop(conc, d, func(int, int) (bool, error) {
		return true, db.CommitProbe(ctx)
	})
}
