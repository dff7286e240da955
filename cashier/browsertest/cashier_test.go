package browsertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/polypay/polypay/apidoc/apidoctest"
	"github.com/polypay/polypay/browsertest/chromium"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/gateway/gatewaytest"
)

const (
	desktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
	iphoneUA  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	wechatUA  = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.40"
	step      = 30 * time.Second
)

// newBrowser starts one headless Chromium (shared launcher) and returns
// its first tab's context.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return chromium.Start(t)
}

// tab is one browser tab with a user agent and a viewport.
type tab struct {
	t   *testing.T
	ctx context.Context
}

func newTab(t *testing.T, browser context.Context, ua string, w, h int64, mobile bool) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx}
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait, chromedp.EmulateScale(2))
	}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tt, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: "zh-CN,zh;q=0.9,en;q=0.8"})
		return err
	}), chromedp.EmulateViewport(w, h, opts...))
	return tb
}

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

func (tb *tab) open(u string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil || resp.Status != 200 {
		tb.t.Fatalf("open %s: %v %v", u, err, resp)
	}
}

func (tb *tab) click(sel string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	_, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	// ERR_ABORTED: the navigation the click started was replaced by
	// another, as when the cashier's event stream reports the payment and
	// moves to return_url while the form's POST is still answering. The
	// caller checks where the page ended up.
	if err != nil && !strings.Contains(err.Error(), "net::ERR_ABORTED") {
		tb.t.Fatalf("click %s: %v", sel, err)
	}
}

func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (tb *tab) text(id string) string {
	return strings.TrimSpace(eval[string](tb, `(function(){var e=document.getElementById("`+id+`");return e?e.innerText:""})()`))
}

func (tb *tab) channels() string {
	// A channel a customer cannot read is not offered: every button must
	// show its label in a colour other than its background (a white-on-white
	// label once passed every other check).
	unreadable := eval[string](tb, `Array.from(document.querySelectorAll("button[name=channel]")).filter(function(b){
		var s=getComputedStyle(b); return b.innerText.trim()==="" || s.color===s.backgroundColor || s.visibility!=="visible"
	}).map(function(b){return b.value}).join(",")`)
	if unreadable != "" {
		tb.t.Fatalf("channel buttons without a readable label: %s", unreadable)
	}
	return eval[string](tb, `Array.from(document.querySelectorAll("button[name=channel]")).map(function(b){return b.value}).join(",")`)
}

// screenshot saves the page to the artifacts dir.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	dir := os.Getenv("ARTIFACTS")
	if dir == "" {
		dir = artifactsDir(tb.t)
	}
	tb.settle()
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		// A screenshot is an artifact for people, not an assertion: a page
		// still navigating (UnionPay's front notification posts back and
		// redirects after the test's checks are done) may never paint for
		// the capture. Say so and go on.
		tb.t.Logf("screenshot %s not taken: %v", name, err)
		return
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot: %s", p)
}

// settle waits, up to a few seconds, for the page to finish loading.
func (tb *tab) settle() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tb.ctx, time.Second)
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.readyState"))
		cancel()
		if err == nil && state == "complete" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var artifacts struct {
	sync.Mutex
	dir string
}

func artifactsDir(t *testing.T) string {
	artifacts.Lock()
	defer artifacts.Unlock()
	if artifacts.dir == "" {
		d, err := os.MkdirTemp("", "polypay-cashier-artifacts-")
		if err != nil {
			t.Fatal(err)
		}
		artifacts.dir = d
	}
	return artifacts.dir
}

type node struct {
	t   *testing.T
	n   *gateway.Node
	app *core.NewApp
}

func startNode(t *testing.T) *node {
	t.Helper()
	n, app := gatewaytest.Start(t, "cashier browser test", nil)
	return &node{t: t, n: n, app: app}
}

func (nd *node) api(method, path string, body any) map[string]any {
	nd.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, nd.n.URL+path, rd)
	req.SetBasicAuth(nd.app.SecretKeyTest, "")
	// Checked against the API reference (apidoc) as the gateway tests are.
	res, err := apidoctest.Client(nd.t).Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if json.Unmarshal(raw, &out); res.StatusCode != 200 {
		nd.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return out
}

var seq int

func (nd *node) order(returnURL string, timeExpire int64) map[string]any {
	seq++
	b := map[string]any{"app": nd.app.AppID, "merchant_order_no": "BT" + time.Now().Format("150405.000")[7:] + string(rune('a'+seq%26)) + time.Now().Format("0405"),
		"amount": 2599, "currency": "cny", "subject": "浏览器测试 <T 恤>", "body": "cashier browser test", "return_url": returnURL}
	if timeExpire != 0 {
		b["time_expire"] = timeExpire
	}
	return nd.api("POST", "/v1/orders", b)
}

func merchantSite(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		hits = append(hits, r.URL.String())
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>merchant</title><p id="merchant">back at the merchant</p>`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), hits...) }
}

// TestCashierQRPaysInWallet: the customer opens the cashier on a desktop,
// chooses a QR channel, reads the code, pays it in the simulated wallet in
// another tab; the cashier learns it through Server-Sent Events, shows the
// verified result and returns to return_url.
func TestCashierQRPaysInWallet(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	shop, hits := merchantSite(t)
	for _, tc := range []struct{ channel, wallet, prefix string }{
		{"alipay_qr", "/sim/alipay/wallet", "https://qr.alipay.com/"},
		{"wx_pub_qr", "/sim/wechatpay/wallet", "weixin://wxpay/bizpayurl?pr="},
	} {
		t.Run(tc.channel, func(t *testing.T) {
			o := nd.order(shop.URL+"/done/"+tc.channel, 0)
			id := o["id"].(string)
			page := newTab(t, browser, desktopUA, 1280, 860, false)
			page.open(o["cashier_url"].(string))
			if got := page.channels(); got != desktopChannels {
				t.Fatalf("desktop channels %q", got)
			}
			if got := page.text("amount"); got != "25.99" {
				t.Fatalf("amount %q", got)
			}
			if tc.channel == "alipay_qr" {
				page.screenshot("desktop-choose.png")
			}
			page.click("#ch_" + tc.channel)
			code := eval[string](page, `document.getElementById("qr_content").value`)
			if !strings.HasPrefix(code, tc.prefix) {
				t.Fatalf("QR content %q: %s", code, page.text("cashier"))
			}
			if w := eval[float64](page, `document.getElementById("qr_image").naturalWidth`); w < 100 {
				t.Fatalf("QR image width %v", w)
			}
			page.screenshot("desktop-" + tc.channel + ".png")
			// Choosing the same channel again (reload) shows the same code.
			if nd.api("GET", "/v1/orders/"+id, nil)["paid"] != false {
				t.Fatal("paid before paying")
			}

			wallet := newTab(t, browser, iphoneUA, 390, 844, true)
			wallet.open(nd.n.URL + tc.wallet)
			wallet.do(chromedp.SetValue(chromedp.ID("code"), code))
			wallet.click("#scan")
			wallet.do(chromedp.SendKeys(chromedp.ID("password"), "246810"))
			wallet.click("#pay")

			// The cashier tab switches by itself: paid (via=sse), then return_url.
			sawSSE := false
			deadline := time.Now().Add(20 * time.Second)
			for {
				loc := eval[string](page, "location.href")
				if strings.Contains(loc, "via=sse") {
					sawSSE = true
					if got := page.text("result"); got != "" && got != "支付成功" {
						t.Fatalf("result %q", got)
					}
				}
				if strings.HasPrefix(loc, shop.URL) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("cashier never returned to the merchant; at %s: %s", loc, page.text("cashier"))
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !sawSSE {
				t.Fatal("the cashier did not learn the payment through Server-Sent Events")
			}
			if h := hits(); len(h) == 0 || h[len(h)-1] != "/done/"+tc.channel {
				t.Fatalf("merchant hits %v", h)
			}
			got := nd.api("GET", "/v1/orders/"+id, nil)
			if got["paid"] != true || got["status"] != "paid" || got["charge"] == nil || got["time_paid"] == nil {
				t.Fatalf("order after paying: %v", got)
			}
			ch := nd.api("GET", "/v1/charges/"+got["charge"].(string), nil)
			if ch["paid"] != true || ch["channel"] != tc.channel || ch["amount"] != 2599.0 {
				t.Fatalf("charge %v", ch)
			}
			// A paid order's cashier shows the result, not the channels.
			page.open(o["cashier_url"].(string))
			if got := page.text("result"); got != "支付成功" {
				t.Fatalf("paid order's cashier: %q", got)
			}
		})
	}
}

// TestCashierFitsTheClient: a phone browser sees only wap/H5 channels, the
// WeChat browser only wx_pub, the Alipay client only alipay_wap.
func TestCashierFitsTheClient(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	for _, tc := range []struct {
		name, ua, want, shot string
	}{
		{"phone", iphoneUA, phoneChannels, "phone-choose.png"},
		{"wechat", wechatUA, "wx_pub", "phone-wechat.png"},
		{"alipay", iphoneUA + " AlipayClient/10.5.0", "alipay_wap", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := nd.order("https://shop.example/done", 0)
			page := newTab(t, browser, tc.ua, 390, 844, true)
			page.open(o["cashier_url"].(string))
			if got := page.channels(); got != tc.want {
				t.Fatalf("channels %q, want %q", got, tc.want)
			}
			if tc.shot != "" {
				page.screenshot(tc.shot)
			}
			if tc.name == "phone" {
				// Choosing a wap channel leads to the channel's page.
				page.click("#ch_alipay_wap")
				href := eval[string](page, `document.getElementById("pay_link").href`)
				if !strings.HasPrefix(href, nd.n.URL+"/sim/alipay/gateway.do?") {
					t.Fatalf("pay link %q", href)
				}
				page.screenshot("phone-alipay_wap.png")
			}
		})
	}
}

// TestCashierExpired: an order past its time_expire shows the expired state
// and offers no channel.
func TestCashierExpired(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	o := nd.order("https://shop.example/done", time.Now().Unix()+2)
	time.Sleep(2500 * time.Millisecond)
	page := newTab(t, browser, desktopUA, 1280, 860, false)
	page.open(o["cashier_url"].(string))
	if got := page.text("result"); got != "订单已过期" {
		t.Fatalf("expired order shows %q", got)
	}
	if got := page.channels(); got != "" {
		t.Fatalf("expired order offers %q", got)
	}
	page.screenshot("desktop-expired.png")
}

// TestCashierRiskReview: a QR charge held for the merchant's risk review
// shows a neutral wait; the page reloads itself and shows the QR once the
// merchant approves through the API.
func TestCashierRiskReview(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	nd.api("POST", "/v1/apps/"+nd.app.AppID+"/risk_rules", map[string]any{"name": "review QR",
		"condition": `channel == "alipay_qr"`, "action": "review"})
	o := nd.order("https://shop.example/done", 0)
	page := newTab(t, browser, desktopUA, 1280, 860, false)
	page.open(o["cashier_url"].(string))
	page.click("#ch_alipay_qr")
	if got := page.text("live"); got != "正在确认订单，请稍候…" {
		t.Fatalf("held charge's page says %q: %s", got, page.text("cashier"))
	}
	page.screenshot("desktop-risk-review.png")
	ch := nd.orderCharge(o["id"].(string), "alipay_qr")
	if r := nd.api("POST", "/v1/charges/"+ch["id"].(string)+"/risk_review", map[string]any{"action": "approve"}); r["risk"].(map[string]any)["review"] != "approved" {
		t.Fatalf("approve: %v", r)
	}
	page.waitFor("the QR after approval", `!!document.getElementById("qr_content")`)
	if code := eval[string](page, `document.getElementById("qr_content").value`); !strings.HasPrefix(code, "https://qr.alipay.com/") {
		t.Fatalf("QR content %q", code)
	}
}
