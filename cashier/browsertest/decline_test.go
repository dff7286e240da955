package browsertest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestCashierDeclinedThenPaid: the customer declines in the wallet; the
// cashier keeps waiting (nothing is shown as paid, the order stays unpaid)
// and the customer can still pay the same code, after which the cashier
// shows the verified result.
func TestCashierDeclinedThenPaid(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	shop, _ := merchantSite(t)
	o := nd.order(shop.URL+"/done/declined", 0)
	id := o["id"].(string)
	page := newTab(t, browser, desktopUA, 1280, 860, false)
	page.open(o["cashier_url"].(string))
	page.click("#ch_alipay_qr")
	code := eval[string](page, `document.getElementById("qr_content").value`)

	wallet := newTab(t, browser, iphoneUA, 390, 844, true)
	scan := func() {
		wallet.open(nd.n.URL + "/sim/alipay/wallet")
		wallet.do(chromedp.SetValue(chromedp.ID("code"), code))
		wallet.click("#scan")
	}
	scan()
	wallet.click("#decline")
	time.Sleep(500 * time.Millisecond) // give a wrong "paid" every chance to show
	if loc := eval[string](page, "location.href"); strings.HasPrefix(loc, shop.URL) || strings.Contains(loc, "via=sse") {
		t.Fatalf("cashier moved on after a decline: %s", loc)
	}
	if nd.api("GET", "/v1/orders/"+id, nil)["paid"] != false {
		t.Fatal("order paid after a decline")
	}
	page.screenshot("desktop-after-decline.png")

	scan()
	wallet.do(chromedp.SendKeys(chromedp.ID("password"), "246810"))
	wallet.click("#pay")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if strings.HasPrefix(eval[string](page, "location.href"), shop.URL) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cashier never showed the payment made after the decline: %s", page.text("cashier"))
		}
	}
	if nd.api("GET", "/v1/orders/"+id, nil)["paid"] != true {
		t.Fatal("order not paid")
	}
}
