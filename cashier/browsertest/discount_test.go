package browsertest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/ledger"
)

// TestCashierDiscount: with an Alipay rule, the cashier shows its label and
// the discounted amount beside the Alipay channels (and nothing beside
// WeChat); choosing Alipay QR charges the discounted amount; after paying in
// the wallet the order records coupon_amount and the ledger checks clean.
func TestCashierDiscount(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	shop, _ := merchantSite(t)
	nd.api("POST", "/v1/apps/"+nd.app.AppID+"/discounts", map[string]any{"channel": "alipay", "type": "amount_off",
		"amount_off": 500, "min_amount": 2000, "label": map[string]string{"zh": "满20减5元", "en": "¥5 off over ¥20"}})
	o := nd.order(shop.URL+"/done/discount", 0)
	id := o["id"].(string)
	page := newTab(t, browser, desktopUA, 1280, 860, false)
	page.open(o["cashier_url"].(string))
	if got := page.text("discount_alipay_qr"); !strings.Contains(got, "满20减5元") || !strings.Contains(got, "¥20.99") || !strings.Contains(got, "¥25.99") {
		t.Fatalf("alipay_qr discount %q", got)
	}
	if n := eval[int](page, `document.querySelectorAll("#ch_wx_pub_qr .discount").length`); n != 0 {
		t.Fatalf("wx_pub_qr shows a discount")
	}
	// The label is visible: laid out with a real size, not clipped away.
	if w := eval[float64](page, `document.querySelector("#discount_alipay_qr .tag").getBoundingClientRect().width`); w < 40 {
		t.Fatalf("discount label width %v", w)
	}
	page.screenshot("desktop-discount-choose.png")
	page.click("#ch_alipay_qr")
	if got := page.text("payable"); got != "¥20.99" {
		t.Fatalf("payable %q: %s", got, page.text("cashier"))
	}
	page.screenshot("desktop-discount-qr.png")
	code := eval[string](page, `document.getElementById("qr_content").value`)
	payInWallet(t, browser, nd, "/sim/alipay/wallet", code)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.HasPrefix(eval[string](page, "location.href"), shop.URL) {
		if time.Now().After(deadline) {
			t.Fatalf("cashier never returned to the merchant: %s", page.text("cashier"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := nd.api("GET", "/v1/orders/"+id, nil)
	if got["status"] != "paid" || got["coupon_amount"] != 500.0 || got["actual_amount"] != 2099.0 || got["amount_paid"] != 2099.0 {
		t.Fatalf("order %v", got)
	}
	ch := nd.api("GET", "/v1/charges/"+got["charge"].(string), nil)
	if md, _ := ch["metadata"].(map[string]any); ch["amount"] != 2099.0 || md["discount_amount"] != "500" {
		t.Fatalf("charge amount %v metadata %v", ch["amount"], ch["metadata"])
	}
	if _, probs, err := ledger.Check(context.Background(), nd.n.DB); err != nil || len(probs) > 0 {
		t.Fatalf("ledger: %v %v", err, probs)
	}
}
