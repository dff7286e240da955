package browsertest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/polypay/polypay/apidoc"
	"github.com/polypay/polypay/browsertest/chromium"
	"github.com/polypay/polypay/gateway/gatewaytest"
)

// get fetches path from the node without following redirects.
func get(t *testing.T, base, path string) (*http.Response, []byte) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestServedByNode(t *testing.T) {
	n, _ := gatewaytest.Start(t, "docs", nil)
	want, err := apidoc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path   string
		status       int
		ctype        string
		header, hval string // a header the reply must carry
		check        func(t *testing.T, body []byte)
	}{
		{name: "RootRedirects", path: "/", status: http.StatusFound, header: "Location", hval: "/docs"},
		{name: "OpenAPI", path: "/openapi.json", status: 200, ctype: "application/json",
			check: func(t *testing.T, body []byte) {
				if !bytes.Equal(body, want) {
					t.Errorf("/openapi.json is not the embedded document (%d bytes, want %d)", len(body), len(want))
				}
			}},
		{name: "Docs", path: "/docs", status: 200, ctype: "text/html", header: "Content-Security-Policy", hval: apidoc.CSP,
			check: func(t *testing.T, body []byte) {
				for _, s := range []string{"/v1/charges/{id}/refunds", "charge.succeeded", "idempotency_error", "Extra_wx_pub_qr", "product_id"} {
					if !bytes.Contains(body, []byte(s)) {
						t.Errorf("/docs does not mention %s", s)
					}
				}
				if bytes.Contains(body, []byte("<script")) {
					t.Error("/docs carries a script")
				}
			}},
		{name: "Stylesheet", path: "/docs/style.css", status: 200, ctype: "text/css"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, n.URL, tc.path)
			if res.StatusCode != tc.status {
				t.Fatalf("GET %s: status %d, want %d: %s", tc.path, res.StatusCode, tc.status, body)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("content type %q, want %s", ct, tc.ctype)
			}
			if tc.header != "" && res.Header.Get(tc.header) != tc.hval {
				t.Errorf("%s = %q, want %q", tc.header, res.Header.Get(tc.header), tc.hval)
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
}

// TestDocsRenders opens / in Chromium and reads the rendered reference:
// it must list every operation of the document, styled by its own
// stylesheet (which the page's CSP must let load), with no script.
func TestDocsRenders(t *testing.T) {
	browser := chromium.Start(t)
	n, _ := gatewaytest.Start(t, "docs", nil)
	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(n.URL+"/"))
	if err != nil {
		t.Fatalf("opening /: %v", err)
	}
	if resp.Status != 200 {
		t.Fatalf("/ ended with status %d", resp.Status)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, "/docs") {
		t.Errorf("/ ended at %s, want /docs", loc)
	}
	listed, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("article.op h3")).map(h => h.innerText.replace(/\s+/g, " ").trim())`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(sortedCopy(listed), "\n"), strings.Join(operations(t), "\n"); got != want {
		t.Errorf("the page lists\n%s\nwant the document's operations\n%s", got, want)
	}
	// The stylesheet (the only one the CSP allows) lays the contents out
	// beside the reference on a desktop and above it on a phone.
	for _, tc := range []struct {
		name  string
		width int64
		want  string
	}{{"Desktop", 1280, "sticky"}, {"Phone", 390, "static"}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(tc.width, 900)); err != nil {
			t.Fatal(err)
		}
		pos, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.getElementById("toc")).position`))
		if err != nil {
			t.Fatal(err)
		}
		if pos != tc.want {
			t.Errorf("%s: the contents' position is %q, want %s: docs/style.css did not apply", tc.name, pos, tc.want)
		}
		screenshot(t, ctx, "docs-"+strings.ToLower(tc.name)+".png")
	}
	scripts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.scripts.length`))
	if err != nil {
		t.Fatal(err)
	}
	if scripts != 0 {
		t.Errorf("the page has %d scripts, want none", scripts)
	}
}

// operations are the document's "METHOD /path" lines, sorted.
func operations(t *testing.T) []string {
	t.Helper()
	doc, err := apidoc.Load()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, item := range doc.Paths.Map() {
		for m := range item.Operations() {
			out = append(out, m+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

func sortedCopy(l []string) []string {
	l = append([]string(nil), l...)
	sort.Strings(l)
	return l
}

// screenshot saves the visible page as name in $ARTIFACTS, else in the
// test's temp dir, for a person to look at.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}
