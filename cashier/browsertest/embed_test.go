package browsertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// merchantPages serves a merchant's pages on its own origin (not polypay's):
// /popup uses cashier.js, /iframe embeds the cashier and logs its messages
// (checking their origin, as a merchant should).
func merchantPages(t *testing.T, polypay string) *httptest.Server {
	t.Helper()
	js := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := r.URL.Query().Get("u")
		src := u + "&embed=1"
		if r.URL.Query().Get("hosted") == "1" {
			src = u // the hosted page, not the embed mode
		}
		head := `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Merchant</title>
<style>body{margin:0;padding:20px;font-family:sans-serif;background:#f6f1e7;color:#222}h1{font-size:20px}
button#pay{font-size:16px;padding:10px 20px;background:#222;color:#fff;border:0;border-radius:6px}</style></head><body>
<h1>Tea &amp; Things</h1><p>Jasmine tea, 100 g · ¥25.99</p>`
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/popup":
			fmt.Fprintf(w, `%s<button id="pay" type="button">Pay now</button><p id="result"></p>
<script src="%s/cashier/cashier.js"></script>
<script>window.results = [];
document.getElementById("pay").addEventListener("click", function () {
  PolypayCashier.open(%s, {onResult: function (r) {
    results.push(r); document.getElementById("result").textContent = JSON.stringify(r);
  }});
});</script></body></html>`, head, polypay, js(u))
		case "/iframe":
			fmt.Fprintf(w, `%s<iframe id="cashier" title="Checkout" src="%s" style="display:block;width:100%%;max-width:520px;height:300px;border:1px solid #d9cfbf;border-radius:10px;background:#fff"></iframe>
<p id="log"></p>
<script>window.messages = [];
var f = document.getElementById("cashier");
window.addEventListener("message", function (e) {
  if (e.origin !== %s || e.source !== f.contentWindow) { return; }
  var d = e.data;
  if (!d || d.type !== "polypay.cashier") { return; }
  messages.push(d);
  if (d.height > 0) { f.style.height = d.height + "px"; }
  document.getElementById("log").textContent = d.status;
});</script></body></html>`, head, strings.ReplaceAll(src, "&", "&amp;"), js(polypay))
		default:
			io.WriteString(w, `<!doctype html><title>merchant</title><p id="merchant">back at the merchant</p>`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// frame returns the iframe element's node (queried again each time: the
// frame's document changes as the cashier navigates).
func (tb *tab) frame() *chromedp.Node {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("iframe")))
	if err != nil || len(nodes) == 0 {
		tb.t.Fatalf("no iframe: %v", err)
	}
	return nodes[0]
}

// inFrame runs steps on the cashier inside the page's iframe. The frame's
// node is looked up afresh on each try: taken while the iframe still held
// its initial about:blank document, it would never show the cashier (a
// flake seen under load).
func (tb *tab) inFrame(steps ...func(*chromedp.Node) chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	for _, s := range steps {
		deadline := time.Now().Add(step)
		for {
			ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
			err := chromedp.Do(ctx, s(tb.frame()))
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				tb.t.Fatalf("in the frame: %v", err)
			}
		}
	}
}

func (tb *tab) frameValue(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, step)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel), chromedp.FromNode(tb.frame())))
	if err != nil {
		tb.t.Fatalf("value of %s in the frame: %v", sel, err)
	}
	return v
}

// waitFor polls a JavaScript condition on the page.
func (tb *tab) waitFor(what, js string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !eval[bool](tb, js) {
		if time.Now().After(deadline) {
			tb.t.Fatalf("timed out waiting for %s (%s)", what, js)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// press clicks something that does not navigate the page.
func (tb *tab) press(sel string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS(sel)))
}

func (tb *tab) key(k string) {
	tb.t.Helper()
	tb.do(chromedp.KeyEvent(k))
}

// payInWallet pays a QR code in the simulated wallet, in another tab.
func payInWallet(t *testing.T, browser context.Context, nd *node, wallet, code string) {
	t.Helper()
	w := newTab(t, browser, iphoneUA, 390, 844, true)
	w.open(nd.n.URL + wallet)
	w.do(chromedp.SetValue(chromedp.ID("code"), code))
	w.click("#scan")
	w.do(chromedp.SendKeys(chromedp.ID("password"), "246810"))
	w.click("#pay")
}

// childFrame is the page's first child frame as the browser sees it.
func (tb *tab) childFrame() *cdp.Frame {
	tb.t.Helper()
	var out *cdp.Frame
	tb.do(chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
		r, err := cdp.Call(ctx, tt, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			return err
		}
		if len(r.FrameTree.ChildFrames) > 0 {
			out = r.FrameTree.ChildFrames[0].Frame
		}
		return nil
	}))
	if out == nil {
		tb.t.Fatal("the page has no child frame")
	}
	return out
}

// waitFrameURL waits until the child frame's document is at a URL holding
// part, and loaded (a query right after a click in the frame could still see
// the old document).
func (tb *tab) waitFrameURL(part string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(tb.childFrame().URL, part) {
		if time.Now().After(deadline) {
			tb.t.Fatalf("the frame never reached %s; at %s", part, tb.childFrame().URL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func paidOrder(t *testing.T, nd *node, id string) {
	t.Helper()
	got := nd.api("GET", "/v1/orders/"+id, nil)
	if got["paid"] != true || got["status"] != "paid" {
		t.Fatalf("order after paying: %v", got)
	}
}

// TestPopup: the merchant page includes cashier.js and opens the cashier in
// an overlay; the customer pays the QR code in the wallet; onResult gets
// paid and the overlay closes. On a phone, Esc (on the merchant page or in
// the cashier frame) closes it with "closed", and Tab stays in the dialog.
func TestPopup(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	shop := merchantPages(t, nd.n.URL)

	t.Run("desktop pays", func(t *testing.T) {
		o := nd.order(shop.URL+"/done", 0)
		id := o["id"].(string)
		pg := newTab(t, browser, desktopUA, 1280, 860, false)
		pg.open(shop.URL + "/popup?u=" + url.QueryEscape(o["cashier_url"].(string)))
		pg.press("#pay")
		pg.waitFor("the overlay", `!!document.querySelector("[data-polypay-cashier] iframe")`)
		if !eval[bool](pg, `document.activeElement === document.querySelector("[data-polypay-close]")`) {
			t.Fatal("focus did not move into the dialog")
		}
		if !eval[bool](pg, `document.getElementById("pay").closest("[inert]") !== null`) {
			t.Fatal("the merchant page behind the dialog is not inert")
		}
		pg.inFrame(func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
			return chromedp.WaitVisible(chromedp.CSS("#ch_alipay_qr"), chromedp.FromNode(f))
		})
		// The frame reported its height, and the dialog fits it.
		pg.waitFor("the frame's height", `document.querySelector("[data-polypay-cashier] iframe").style.height !== "420px"`)
		pg.screenshot("desktop-popup-choose.png")
		pg.inFrame(func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
			return chromedp.Click(chromedp.CSS("#ch_alipay_qr"), chromedp.FromNode(f))
		})
		pg.waitFrameURL("&ch=alipay_qr")
		pg.inFrame(func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
			return chromedp.WaitVisible(chromedp.CSS("#qr_image"), chromedp.FromNode(f))
		})
		code := pg.frameValue("#qr_content")
		if !strings.HasPrefix(code, "https://qr.alipay.com/") {
			t.Fatalf("QR content %q", code)
		}
		pg.screenshot("desktop-popup.png")
		if got := eval[int](pg, `results.length`); got != 0 {
			t.Fatalf("a result before paying: %v", eval[string](pg, `JSON.stringify(results)`))
		}
		payInWallet(t, browser, nd, "/sim/alipay/wallet", code)
		pg.waitFor("onResult", `results.length > 0`)
		if got, want := eval[string](pg, `JSON.stringify(results)`), `[{"status":"paid","order":"`+id+`"}]`; got != want {
			t.Fatalf("onResult got %s, want %s", got, want)
		}
		pg.screenshot("desktop-popup-paid.png")
		pg.waitFor("the overlay to close", `!document.querySelector("[data-polypay-cashier]")`)
		if !eval[bool](pg, `document.activeElement === document.getElementById("pay") && !document.getElementById("pay").closest("[inert]")`) {
			t.Fatal("focus did not return to the merchant's button, or the page stayed inert")
		}
		if got := eval[int](pg, `results.length`); got != 1 {
			t.Fatalf("onResult called %d times", got)
		}
		paidOrder(t, nd, id)
	})

	t.Run("phone keyboard", func(t *testing.T) {
		o := nd.order(shop.URL+"/done", 0)
		id := o["id"].(string)
		pg := newTab(t, browser, iphoneUA, 390, 844, true)
		pg.open(shop.URL + "/popup?u=" + url.QueryEscape(o["cashier_url"].(string)))
		openIt := func() {
			pg.press("#pay")
			pg.waitFor("the overlay", `!!document.querySelector("[data-polypay-cashier] iframe")`)
			pg.inFrame(func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
				return chromedp.WaitVisible(chromedp.CSS("#ch_alipay_wap"), chromedp.FromNode(f))
			})
		}
		openIt()
		pg.screenshot("phone-popup.png")
		// Tab never leaves the dialog.
		for i := 0; i < 8; i++ {
			pg.key(kb.Tab)
			if !eval[bool](pg, `document.querySelector("[data-polypay-cashier]").contains(document.activeElement) && document.activeElement.tagName !== "DIV"`) {
				t.Fatalf("Tab %d left the dialog: %s", i+1, eval[string](pg, `document.activeElement.outerHTML.slice(0,120)`))
			}
		}
		// Esc on the merchant page (focus on the close button).
		pg.do(chromedp.Focus(chromedp.CSS("[data-polypay-close]")))
		pg.key(kb.Escape)
		pg.waitFor("the overlay to close", `!document.querySelector("[data-polypay-cashier]")`)
		want := `{"status":"closed","order":"` + id + `"}`
		if got := eval[string](pg, `JSON.stringify(results)`); got != "["+want+"]" {
			t.Fatalf("after Esc: %s", got)
		}
		// Esc inside the cashier frame (focus on a channel button).
		openIt()
		pg.inFrame(func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
			return chromedp.Focus(chromedp.CSS("#ch_alipay_wap"), chromedp.FromNode(f))
		})
		pg.key(kb.Escape)
		pg.waitFor("the overlay to close", `!document.querySelector("[data-polypay-cashier]")`)
		if got := eval[string](pg, `JSON.stringify(results)`); got != "["+want+","+want+"]" {
			t.Fatalf("after Esc in the frame: %s", got)
		}
		// The close button works too, and nothing was paid.
		openIt()
		pg.press("[data-polypay-close]")
		pg.waitFor("the overlay to close", `!document.querySelector("[data-polypay-cashier]")`)
		if got := eval[int](pg, `results.length`); got != 3 {
			t.Fatalf("results after the close button: %d", got)
		}
		if got := nd.api("GET", "/v1/orders/"+id, nil); got["paid"] != false {
			t.Fatalf("order paid: %v", got)
		}
	})
}

// TestIframe: the merchant embeds the cashier (?embed=1) and hears its
// status by postMessage; a page on another origin cannot frame it.
func TestIframe(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	shop := merchantPages(t, nd.n.URL)
	other := merchantPages(t, nd.n.URL) // another port: another origin

	t.Run("desktop pays", func(t *testing.T) {
		o := nd.order(shop.URL+"/done", 0)
		id := o["id"].(string)
		pg := newTab(t, browser, desktopUA, 1280, 860, false)
		pg.open(shop.URL + "/iframe?u=" + url.QueryEscape(o["cashier_url"].(string)))
		pg.waitFor("the pending message", `messages.some(function (m) { return m.status === "pending" && m.height > 200 })`)
		if got := eval[string](pg, `messages[0].order`); got != id {
			t.Fatalf("message order %q", got)
		}
		if keys := eval[string](pg, `Object.keys(messages[0]).sort().join(",")`); keys != "height,order,status,type" {
			t.Fatalf("message fields %s", keys)
		}
		pg.inFrame(func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
			return chromedp.WaitVisible(chromedp.CSS("#ch_wx_pub_qr"), chromedp.FromNode(f))
		})
		pg.screenshot("desktop-iframe.png")
		// The embed page's channel buttons are readable (checked on the page
		// itself: the frame is another origin to the merchant's page).
		solo := newTab(t, browser, desktopUA, 600, 700, false)
		solo.open(o["cashier_url"].(string) + "&embed=1")
		if got := solo.channels(); got != desktopChannels {
			t.Fatalf("embed channels %q", got)
		}
		pg.inFrame(func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
			return chromedp.Click(chromedp.CSS("#ch_wx_pub_qr"), chromedp.FromNode(f))
		})
		pg.waitFrameURL("&ch=wx_pub_qr")
		pg.inFrame(func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
			return chromedp.WaitVisible(chromedp.CSS("#qr_image"), chromedp.FromNode(f))
		})
		code := pg.frameValue("#qr_content")
		if !strings.HasPrefix(code, "weixin://wxpay/bizpayurl?pr=") {
			t.Fatalf("QR content %q", code)
		}
		pg.screenshot("desktop-iframe-qr.png")
		payInWallet(t, browser, nd, "/sim/wechatpay/wallet", code)
		pg.waitFor("the paid message", `messages.some(function (m) { return m.status === "paid" })`)
		if got := eval[string](pg, `JSON.stringify(messages.filter(function (m) { return m.status === "paid" })[0].order)`); got != `"`+id+`"` {
			t.Fatalf("paid message for %s", got)
		}
		// The frame stays on the result (it does not navigate to return_url).
		if fr := pg.childFrame(); !strings.HasPrefix(fr.URL, nd.n.URL+"/cashier/"+id) {
			t.Fatalf("frame at %s", fr.URL)
		}
		pg.screenshot("desktop-iframe-paid.png")
		paidOrder(t, nd, id)
	})

	t.Run("phone", func(t *testing.T) {
		o := nd.order(shop.URL+"/done", 0)
		pg := newTab(t, browser, iphoneUA, 390, 844, true)
		pg.open(shop.URL + "/iframe?u=" + url.QueryEscape(o["cashier_url"].(string)))
		pg.waitFor("the pending message", `messages.some(function (m) { return m.status === "pending" && m.height > 200 })`)
		pg.inFrame(func(f *chromedp.Node) chromedp.Action[chromedp.Void] {
			return chromedp.WaitVisible(chromedp.CSS("#ch_wx_wap"), chromedp.FromNode(f))
		})
		pg.screenshot("phone-iframe.png")
	})

	t.Run("other origin cannot frame it", func(t *testing.T) {
		o := nd.order(shop.URL+"/done", 0)
		u := o["cashier_url"].(string)
		res, err := http.Get(u + "&embed=1")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if csp := res.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; frame-ancestors "+shop.URL) {
			t.Fatalf("embed CSP %q, want frame-ancestors %s", csp, shop.URL)
		}
		pg := newTab(t, browser, desktopUA, 1280, 860, false)
		pg.open(other.URL + "/iframe?u=" + url.QueryEscape(u))
		time.Sleep(2 * time.Second)
		if n := eval[int](pg, `messages.length`); n != 0 {
			t.Fatalf("the foreign page got %d messages", n)
		}
		fr := pg.childFrame()
		if strings.HasPrefix(fr.URL, nd.n.URL) && fr.UnreachableURL == "" {
			t.Fatalf("the cashier loaded in a foreign page's frame: %+v", fr)
		}
		t.Logf("blocked frame: url=%s unreachable=%s", fr.URL, fr.UnreachableURL)
		// Nor may the merchant itself frame the hosted (non-embed) page.
		pg2 := newTab(t, browser, desktopUA, 1280, 860, false)
		pg2.open(shop.URL + "/iframe?hosted=1&u=" + url.QueryEscape(u))
		time.Sleep(time.Second)
		if fr := pg2.childFrame(); strings.HasPrefix(fr.URL, nd.n.URL) && fr.UnreachableURL == "" {
			t.Fatalf("the hosted cashier loaded in a frame: %+v", fr)
		}
		// Control: the same order embeds on its merchant's origin.
		pg3 := newTab(t, browser, desktopUA, 1280, 860, false)
		pg3.open(shop.URL + "/iframe?u=" + url.QueryEscape(u))
		pg3.waitFor("the embedded cashier", `messages.length > 0`)
		if fr := pg3.childFrame(); !strings.HasPrefix(fr.URL, nd.n.URL+"/cashier/") || fr.UnreachableURL != "" {
			t.Fatalf("the allowed frame: %+v", fr)
		}
	})
}
