package wallet_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/polypay/polypay/wallet"
)

// TestHandler: the wallet's files with their types and a strict policy;
// anything else under /wallet/ is 404, and only GET and HEAD are served.
func TestHandler(t *testing.T) {
	h := wallet.Handler()
	for _, c := range []struct {
		method, path string
		status       int
		ctype        string
	}{
		{"GET", "/wallet/", 200, "text/html; charset=utf-8"},
		{"GET", "/wallet/wallet.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/wallet/sw.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/wallet/wallet.css", 200, "text/css; charset=utf-8"},
		{"GET", "/wallet/manifest.webmanifest", 200, "application/manifest+json"},
		{"GET", "/wallet/icon.svg", 200, "image/svg+xml"},
		{"HEAD", "/wallet/", 200, "text/html; charset=utf-8"},
		{"GET", "/wallet", 301, ""},
		{"GET", "/wallet/index.html.bak", 404, ""},
		{"GET", "/wallet/x/wallet.js", 404, ""},
		{"GET", "/wallet/../go.mod", 404, ""},
		{"POST", "/wallet/", 405, ""},
	} {
		t.Run(c.method+c.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
			if w.Code != c.status {
				t.Fatalf("status %d, want %d", w.Code, c.status)
			}
			if c.status != 200 {
				return
			}
			if got := w.Header().Get("Content-Type"); got != c.ctype {
				t.Fatalf("type %q", got)
			}
			csp := w.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") || w.Header().Get("Referrer-Policy") != "no-referrer" {
				t.Fatalf("headers %v", w.Header())
			}
		})
	}
}
