package browsertest_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/polypay/polypay/console"
)

const alipayAppUA = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 AlipayClient/10.5.30"

// TestShopQRCode: in Alipay's and WeChat's browsers the shop's code page
// takes an amount, shows it to confirm, and hands over to the cashier with
// an order of that amount for the wallet's own channel.
func TestShopQRCode(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	qr := nd.api("POST", "/v1/apps/"+nd.app.AppID+"/qr_codes", map[string]any{"label": "一号收银台"})
	for _, c := range []struct{ name, ua, channel string }{
		{"alipay", alipayAppUA, "alipay_wap"},
		{"wechat", wechatUA, "wx_pub"},
	} {
		t.Run(c.name, func(t *testing.T) {
			page := newTab(t, browser, c.ua, 390, 844, true)
			page.open(qr["url"].(string))
			page.screenshot("phone-qr-" + c.name + "-amount.png")
			page.do(chromedp.SendKeys(chromedp.CSS("#amount"), "8.80"))
			page.click("#next")
			if got := page.text("confirm_amount"); got != "8.80" {
				t.Fatalf("confirm amount %q", got)
			}
			page.screenshot("phone-qr-" + c.name + "-confirm.png")
			page.click("#pay")
			href := eval[string](page, "location.href")
			if !strings.Contains(href, "/cashier/") {
				t.Fatalf("not at the cashier: %s", href)
			}
			id := href[strings.Index(href, "/cashier/")+9 : strings.Index(href, "?")]
			o := nd.api("GET", "/v1/orders/"+id, nil)
			chans, _ := o["allowed_channels"].([]any)
			if o["amount"] != 880.0 || len(chans) != 1 || chans[0] != c.channel {
				t.Fatalf("order %v", o)
			}
		})
	}
}

// unionPayUA is UnionPay's app (云闪付) browser.
const unionPayUA = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 (com.unionpay.chsp) (cordova 4.5.4) (UnionPay/1.0 CloudPay)"

// TestShopQRCodePaysAtTheCounter: a cashier watches the counter page in
// the console while customers scan the shop's printed code in Alipay,
// WeChat and UnionPay's app, each enter and confirm an amount and pay
// through their wallet's in-app flow in the simulator; each payment
// appears at the counter, live, with the code's label.
func TestShopQRCodePaysAtTheCounter(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	const email, password = "till@shop.test", "counter-test-password"
	if err := console.AddUser(context.Background(), nd.n.DB, email, console.RoleCashier, password); err != nil {
		t.Fatal(err)
	}
	counter := newTab(t, browser, desktopUA, 1280, 860, false)
	counter.watchConsole() // fails the test on a CSP violation or script error
	counter.open(nd.n.URL + "/console/login?lang=en")
	counter.do(chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password))
	counter.click("#signin")
	counter.open(nd.n.URL + "/console/apps/" + nd.app.AppID + "/counter?mode=test&lang=en")
	if got := counter.text("counter-feed"); got != "Nothing yet" {
		t.Fatalf("counter feed before any payment: %q", got)
	}
	qr := nd.api("POST", "/v1/apps/"+nd.app.AppID+"/qr_codes", map[string]any{"label": "一号收银台"})
	for _, c := range []struct{ name, ua, channel, amount, shown string }{
		{"alipay", alipayAppUA, "alipay_wap", "8.80", "¥8.80"},
		{"wechat", wechatUA, "wx_pub", "6.60", "¥6.60"},
		{"unionpay", unionPayUA, "upacp_wap", "5.50", "¥5.50"},
	} {
		t.Run(c.name, func(t *testing.T) {
			phone := newTab(t, browser, c.ua, 390, 844, true)
			phone.open(qr["url"].(string))
			phone.do(chromedp.SendKeys(chromedp.CSS("#amount"), c.amount))
			phone.click("#next")
			phone.click("#pay")
			if got := phone.channels(); got != c.channel {
				t.Fatalf("%s's browser is offered %q", c.name, got)
			}
			phone.click("#ch_" + c.channel)
			payInApp(t, nd, browser, phone, c.channel)
			row := waitFeedRow(t, counter, c.shown)
			if row["source"] != "一号收银台" || row["channel"] != c.channel {
				t.Fatalf("counter row %v", row)
			}
			ch := nd.api("GET", "/v1/charges/"+row["id"], nil)
			md, _ := ch["metadata"].(map[string]any)
			if ch["paid"] != true || md["qr_code"] != qr["id"] {
				t.Fatalf("charge %v", ch)
			}
			phone.screenshot("phone-qr-" + c.name + "-paid.png")
		})
	}
	counter.screenshot("desktop-counter-live.png")
}

// payInApp pays the cashier's chosen in-app channel the way its
// simulator plays the wallet: Alipay's and UnionPay's mobile web pages,
// and for WeChat the JSAPI credential (after the silent web OAuth) paid
// in the simulated wallet.
func payInApp(t *testing.T, nd *node, browser context.Context, phone *tab, channel string) {
	t.Helper()
	switch channel {
	case "alipay_wap":
		phone.click("#pay_link")
		phone.click(`button[value="pay"]`)
	case "upacp_wap":
		phone.click("#pay_link")
		phone.do(chromedp.SetValue(chromedp.ID("card"), "6216261000000000018"),
			chromedp.SendKeys(chromedp.ID("sms"), "111111"))
		phone.click("#pay")
	case "wx_pub":
		payInWallet(t, browser, nd, "/sim/wechatpay/wallet", eval[string](phone, `document.getElementById("qr_content").value`))
	default:
		t.Fatalf("no wallet flow for %s", channel)
	}
}

// waitFeedRow waits for the counter's live feed to show a payment of
// amount, and returns its cells.
func waitFeedRow(t *testing.T, counter *tab, amount string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		js := `(function(){var out="";document.querySelectorAll("#counter-feed tr[data-id]").forEach(function(r){
			var c=r.querySelectorAll("td"); if(!out && c[1].innerText===` + "`" + amount + "`" + `) out=JSON.stringify({id:r.dataset.id,amount:c[1].innerText,channel:c[2].innerText,source:c[3].innerText})});return out})()`
		if s := eval[string](counter, js); s != "" {
			var row map[string]string
			if err := json.Unmarshal([]byte(s), &row); err != nil {
				t.Fatal(err)
			}
			return row
		}
		if time.Now().After(deadline) {
			t.Fatalf("the counter never showed %s: %s", amount, counter.text("counter-live"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
