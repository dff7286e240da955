package browsertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/polypay/polypay/browsertest/chromium"
	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/gateway/gatewaytest"
)

// DocScreenshotsEnv names the directory (relative to the repository root,
// or absolute) where TestScreenshots writes the documentation's pictures;
// unset, it writes them to a temporary directory and only checks them.
// See docs/screenshots.md.
const DocScreenshotsEnv = "POLYPAY_DOC_SCREENSHOTS"

const (
	shotDesktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
	shotPhoneUA   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	shotUser      = "owner@example.com"
	shotPassword  = "correct horse battery"
)

// TestScreenshots makes the pictures the README and docs/ show: the
// console's overview and charges list, the cashier on a desktop and on a
// phone, and the demo store. It runs a node with the demo store, makes a
// few test payments so the console has data, signs into the console and
// drives headless Chromium through each page; every picture must show
// something. With $POLYPAY_DOC_SCREENSHOTS set they are written there.
func TestScreenshots(t *testing.T) {
	out := docShotsDir(t)
	ctx := chromium.Start(t)
	n, app := gatewaytest.Start(t, "Acme Coffee", func(c *gateway.Config) { c.Demo = true })
	payments(t, n, app)
	if err := console.AddUser(context.Background(), n.DB, shotUser, console.RoleOwner, shotPassword); err != nil {
		t.Fatal(err)
	}

	desk := newShotTab(t, ctx, shotDesktopUA, 1280, 800, false)
	desk.open(n.URL + "/console/login")
	desk.signIn()
	desk.open(n.URL + "/console/")
	desk.save(out, "console-overview.png")
	desk.open(n.URL + "/console/charges")
	desk.save(out, "console-charges.png")

	desk.open(n.URL + "/demo")
	desk.save(out, "demo-store.png")
	desk.buy()
	desk.save(out, "cashier-desktop.png")

	phone := newShotTab(t, ctx, shotPhoneUA, 390, 844, true)
	phone.open(n.URL + "/demo")
	phone.buy()
	phone.save(out, "cashier-phone.png")
}

// docShotsDir is where the pictures go: $POLYPAY_DOC_SCREENSHOTS, a
// relative one taken from the repository root (go test runs in the
// package's directory), else a temporary directory.
func docShotsDir(t *testing.T) string {
	d := os.Getenv(DocScreenshotsEnv)
	if d == "" {
		return t.TempDir()
	}
	if !filepath.IsAbs(d) {
		root, err := filepath.Abs("..") // this package is one below the root
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
			t.Fatalf("%s is relative, and %s is not the repository root: %v", DocScreenshotsEnv, root, err)
		}
		d = filepath.Join(root, d)
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// payments makes a few paid, refunded and unpaid test charges on two
// channels, so the console's overview and list have something to show.
func payments(t *testing.T, n *gateway.Node, app *core.NewApp) {
	t.Helper()
	for i, p := range []struct {
		channel string
		amount  int64
		pay     bool
		refund  int64
	}{
		{"alipay_qr", 2599, true, 0}, {"wx_pub_qr", 1800, true, 0}, {"alipay_qr", 12800, true, 3000},
		{"wx_pub_qr", 990, true, 0}, {"alipay_qr", 4500, false, 0}, {"wx_pub_qr", 3200, true, 3200},
	} {
		no := "SHOT" + time.Now().Format("150405") + string(rune('a'+i))
		body := map[string]any{"order_no": no, "app": map[string]any{"id": app.AppID},
			"channel": p.channel, "amount": p.amount, "client_ip": "127.0.0.1", "currency": "cny", "subject": "Coffee beans", "body": "screenshot"}
		if p.channel == "wx_pub_qr" {
			body["extra"] = map[string]any{"product_id": "beans"}
		}
		c := shotAPI(t, n, app, "POST", "/v1/charges", body)
		id := c["id"].(string)
		if !p.pay {
			continue
		}
		shotAPI(t, n, app, "POST", "/v1/test/charges/"+id+"/pay", map[string]any{"result": "success"})
		for deadline := time.Now().Add(15 * time.Second); shotAPI(t, n, app, "GET", "/v1/charges/"+id, nil)["paid"] != true; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("charge %s never paid", id)
			}
		}
		if p.refund > 0 {
			shotAPI(t, n, app, "POST", "/v1/charges/"+id+"/refunds", map[string]any{"amount": p.refund, "description": "screenshot refund"})
		}
	}
}

func shotAPI(t *testing.T, n *gateway.Node, app *core.NewApp, method, path string, body any) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.URL+path, rd)
	req.SetBasicAuth(app.SecretKeyTest, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	if json.Unmarshal(raw, &m); res.StatusCode != 200 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return m
}

// shotTab is a browser tab with a user agent, a viewport and English
// pages (the machines that make the pictures may lack CJK fonts).
type shotTab struct {
	t   *testing.T
	ctx context.Context
}

func newShotTab(t *testing.T, browser context.Context, ua string, w, h int64, mobile bool) *shotTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	// The first call opens the tab, which lives as long as that call's
	// context: it gets no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	st := &shotTab{t: t, ctx: ctx}
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	st.do(chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tt, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: "en"})
		return err
	}), chromedp.EmulateViewport(w, h, opts...))
	return st
}

func (st *shotTab) do(steps ...chromedp.Action[chromedp.Void]) {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(st.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		st.t.Fatalf("browser: %v", err)
	}
}

// open loads u, which must answer 200.
func (st *shotTab) open(u string) {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(st.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil || resp.Status != 200 {
		st.t.Fatalf("open %s: %v %v", u, err, resp)
	}
}

// submit clicks sel and waits for the page it loads.
func (st *shotTab) submit(sel string) {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(st.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil || resp.Status != 200 {
		st.t.Fatalf("click %s: %v %v", sel, err, resp)
	}
}

func (st *shotTab) eval(js string) string {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(st.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		st.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

// signIn signs into the console from its sign-in page, by the form's
// field names (the console's look may change; its form posts these).
func (st *shotTab) signIn() {
	st.t.Helper()
	st.do(chromedp.SendKeys(chromedp.CSS(`input[name=email]`), shotUser), chromedp.SendKeys(chromedp.CSS(`input[name=password]`), shotPassword))
	st.submit(`form button[type=submit], form input[type=submit]`)
	if loc := st.eval(`location.pathname`); strings.HasSuffix(loc, "/login") {
		st.t.Fatalf("still at the sign-in page: %s", st.eval(`document.body.innerText`))
	}
}

// buy presses the demo store's Buy button and waits for the cashier.
func (st *shotTab) buy() {
	st.t.Helper()
	st.submit("#buy")
	if p := st.eval(`location.pathname`); !strings.HasPrefix(p, "/cashier/") {
		st.t.Fatalf("Buy led to %s, want the cashier", p)
	}
}

// save waits for the page's images and fonts, takes a viewport-sized
// picture, checks that it shows something and writes it as name.
func (st *shotTab) save(dir, name string) {
	st.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); st.eval(`String(document.readyState === "complete" && Array.from(document.images).every(function(i){return i.complete}))`) != "true"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			st.t.Fatalf("%s: page still loading", name)
		}
	}
	if bad := st.eval(`Array.from(document.images).filter(function(i){return i.naturalWidth===0}).map(function(i){return i.src}).join(" ")`); bad != "" {
		st.t.Fatalf("%s: images that did not render: %s", name, bad)
	}
	ctx, cancel := context.WithTimeout(st.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		st.t.Fatalf("%s: %v", name, err)
	}
	if err := chromium.NonBlank(png); err != nil {
		st.t.Fatalf("%s: %v", name, err)
	}
	if png, err = chromium.Overview(png); err != nil {
		st.t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		st.t.Fatal(err)
	}
	st.t.Logf("%s: %d bytes", p, len(png))
}
