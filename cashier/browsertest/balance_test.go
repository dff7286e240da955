package browsertest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/ledger"
)

// TestCashierBalance: an order for an account-system user that allows
// "balance" shows the user's coupon and balance; pressing "Pay from
// balance" pays it at once and the cashier returns to the merchant.
func TestCashierBalance(t *testing.T) {
	nd := startNode(t)
	browser := newBrowser(t)
	shop, _ := merchantSite(t)
	acct := "/v1/apps/" + nd.app.AppID
	nd.api("POST", acct+"/users", map[string]any{"id": "alice"})
	nd.api("POST", acct+"/balance_bonuses", map[string]any{"user": "alice", "amount": 10000, "order_no": "BONUSBT1"})
	tmpl := nd.api("POST", acct+"/coupon_templates", map[string]any{"name": "减5元", "type": 1, "amount_off": 500})
	coupon := nd.api("POST", acct+"/users/alice/coupons", map[string]any{"coupon_template": tmpl["id"]})
	o := nd.api("POST", "/v1/orders", map[string]any{"app": nd.app.AppID, "merchant_order_no": "BTBAL" + time.Now().Format("150405"),
		"amount": 2599, "currency": "cny", "subject": "余额支付测试", "body": "cashier browser test", "uid": "alice",
		"coupon": coupon["id"], "allowed_channels": []string{"alipay_qr", "balance"}, "return_url": shop.URL + "/done/balance"})
	page := newTab(t, browser, desktopUA, 1280, 860, false)
	page.open(o["cashier_url"].(string))
	if got := page.text("coupon_line"); !strings.Contains(got, "5.00") || !strings.Contains(got, "20.99") {
		t.Fatalf("coupon line %q", got)
	}
	if got := page.text("balance_left"); !strings.Contains(got, "100.00") {
		t.Fatalf("balance %q", got)
	}
	page.screenshot("desktop-balance-choose.png")
	page.click("#ch_balance")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.HasPrefix(eval[string](page, "location.href"), shop.URL) {
		if time.Now().After(deadline) {
			t.Fatalf("cashier never returned to the merchant: %s", page.text("cashier"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := nd.api("GET", "/v1/orders/"+o["id"].(string), nil)
	if got["status"] != "paid" || got["amount_paid"] != 2099.0 {
		t.Fatalf("order %v", got)
	}
	if u := nd.api("GET", acct+"/users/alice", nil); u["available_balance"] != 10000.0-2099 {
		t.Fatalf("balance after paying: %v", u["available_balance"])
	}
	if _, probs, err := ledger.Check(context.Background(), nd.n.DB); err != nil || len(probs) > 0 {
		t.Fatalf("ledger: %v %v", err, probs)
	}
}
