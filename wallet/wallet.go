// Package wallet serves polypay's reference payment-code client for the
// browser (/wallet/): a small installable page (a PWA) that holds one
// enrolled device's key and shows its offline codes (package paycode) as
// a Code 128 barcode and digits, with no network once installed.
//
// Enrollment is a link: registering a device answers wallet_url, whose
// fragment (#enroll=…) carries the device's parameters. Browsers never
// send a fragment to a server, so the secret reaches only the device that
// opens the link; the page imports it as a non-extractable WebCrypto key,
// keeps that key in IndexedDB and drops the fragment from the address.
package wallet

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
)

//go:embed assets
var assets embed.FS

// csp lets the page run only its own script and worker, and talk to no
// one: codes are derived on the device.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; manifest-src 'self'; worker-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var types = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".svg":         "image/svg+xml",
	".webmanifest": "application/manifest+json",
}

// Handler serves /wallet/ and its files; GET /wallet redirects there.
func Handler() http.Handler {
	files, _ := fs.Sub(assets, "assets")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == "/wallet" {
			http.Redirect(w, r, "/wallet/", http.StatusMovedPermanently)
			return
		}
		name := path.Base(r.URL.Path)
		if r.URL.Path == "/wallet/" {
			name = "index.html"
		}
		body, err := fs.ReadFile(files, name)
		if err != nil || path.Dir(r.URL.Path) != "/wallet" && r.URL.Path != "/wallet/" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", types[path.Ext(name)])
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		// The worker decides what is cached; the browser checks each time
		// so an update reaches installed wallets.
		h.Set("Cache-Control", "no-cache")
		w.Write(body)
	})
}
