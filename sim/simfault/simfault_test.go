package simfault

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// counter is a simulator stand-in that counts the work it did.
func counter(n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, "ok")
	})
}

func TestHandler(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        Config
		wantStatus int
		wantWork   int64
	}{
		{"OK", Config{}, 200, 1},
		{"Fail5xx", Config{Fail5xx: 1}, 503, 0},
		{"Fail5xxAfter", Config{Fail5xxAfter: 1}, 502, 1},
		{"Hang", Config{Hang: 1, MaxHang: 10 * time.Millisecond}, 504, 0},
		{"HangAfter", Config{HangAfter: 1, MaxHang: 10 * time.Millisecond}, 504, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var work atomic.Int64
			f := New(tc.cfg, 1)
			rec := httptest.NewRecorder()
			f.Handler(counter(&work)).ServeHTTP(rec, httptest.NewRequest("POST", "/sim/alipay/gateway.do", nil))
			if rec.Code != tc.wantStatus || work.Load() != tc.wantWork {
				t.Fatalf("got status %d, work %d; want %d, %d", rec.Code, work.Load(), tc.wantStatus, tc.wantWork)
			}
		})
	}
}

func TestTransport(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		wantErr  bool
		wantSent int64
	}{
		{"OK", Config{}, false, 1},
		{"Drop", Config{Drop: 1}, true, 0},
		{"LoseReply", Config{LoseReply: 1}, true, 1},
		{"Duplicate", Config{Duplicate: 1, MaxDelay: 10 * time.Millisecond}, false, 2},
		{"Delay", Config{Delay: 1, MaxDelay: 10 * time.Millisecond}, false, 1},
		{"Reorder", Config{Reorder: 1, MaxDelay: 10 * time.Millisecond}, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sent atomic.Int64
			var bodies atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				bodies.Store(string(b))
				sent.Add(1)
			}))
			defer srv.Close()
			f := New(tc.cfg, 1)
			c := &http.Client{Transport: f.Transport(nil)}
			res, err := c.Post(srv.URL, "text/plain", strings.NewReader("notify_id=1"))
			if err == nil {
				res.Body.Close()
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			time.Sleep(50 * time.Millisecond) // a duplicate goes out later
			if sent.Load() != tc.wantSent {
				t.Fatalf("sent %d times, want %d", sent.Load(), tc.wantSent)
			}
			if tc.wantSent > 0 && bodies.Load() != "notify_id=1" {
				t.Fatalf("body %q, want the original", bodies.Load())
			}
		})
	}
}
