package cashier_test

import (
	"strings"
	"testing"
)

// TestCashierBalance: an order naming a user and allowing "balance" shows
// the user's balance and coupon and is paid from the balance in one
// press; without "balance" in allowed_channels the cashier never shows or
// spends it; a balance that falls short disables the button and a forged
// post is refused.
func TestCashierBalance(t *testing.T) {
	nd := start(t)
	acct := "/v1/apps/" + nd.app.AppID
	for _, u := range []string{"alice", "bob"} {
		if s, _, raw := nd.do("POST", acct+"/users", map[string]any{"id": u}); s != 200 {
			t.Fatalf("user %s: %d %s", u, s, raw)
		}
	}
	for u, amount := range map[string]int64{"alice": 5000, "bob": 100} {
		if s, _, raw := nd.do("POST", acct+"/balance_bonuses", map[string]any{"user": u, "amount": amount, "order_no": "B" + u}); s != 200 {
			t.Fatalf("bonus: %d %s", s, raw)
		}
	}
	_, tmpl, _ := nd.do("POST", acct+"/coupon_templates", map[string]any{"type": 1, "amount_off": 199})
	_, coupon, _ := nd.do("POST", acct+"/users/alice/coupons", map[string]any{"coupon_template": tmpl["id"]})
	order := func(no, uid string, chans []string, coupon any) map[string]any {
		b := nd.orderBody(no)
		b["uid"], b["allowed_channels"] = uid, chans
		if coupon != nil {
			b["coupon"] = coupon
		}
		return b
	}
	if s, m, _ := nd.do("POST", "/v1/orders", map[string]any{"app": nd.app.AppID, "merchant_order_no": "NOUID", "amount": 1,
		"currency": "cny", "subject": "s", "body": "b", "allowed_channels": []string{"balance"}}); s != 400 || m["error"].(map[string]any)["param"] != "allowed_channels" {
		t.Fatalf("balance without uid: %d %v", s, m)
	}

	id, tok, cu := nd.newOrder(order("BAL001", "alice", []string{"alipay_qr", "balance"}, coupon["id"]))
	_, page := nd.page(cu)
	if !strings.Contains(page, `id="ch_balance"`) || strings.Contains(page, `id="ch_balance" class="channel ch-balance" disabled`) ||
		!strings.Contains(page, `id="balance_left">Available ¥50.00`) || !strings.Contains(page, `id="coupon_amount">1.99<`) ||
		!strings.Contains(page, `id="actual_amount">18.00<`) {
		t.Fatalf("choose page with a balance and a coupon:\n%s", page)
	}
	if loc := nd.payForm(id, tok, "balance", ""); strings.Contains(loc, "err=") {
		t.Fatalf("pay from balance: redirected to %s", loc)
	}
	_, o, _ := nd.do("GET", "/v1/orders/"+id, nil)
	if o["status"] != "paid" || o["amount_paid"] != 1800.0 {
		t.Fatalf("order paid from the balance: %v", o)
	}
	_, u, _ := nd.do("GET", acct+"/users/alice", nil)
	if u["available_balance"] != 3200.0 {
		t.Fatalf("alice's balance %v, want 5000 - 1800", u["available_balance"])
	}

	// Without "balance" in allowed_channels: no button, and a forged post
	// spends nothing.
	id2, tok2, cu2 := nd.newOrder(order("BAL002", "alice", []string{"alipay_qr"}, nil))
	if _, page := nd.page(cu2); strings.Contains(page, "ch_balance") {
		t.Fatal("the cashier offers a balance the merchant did not allow")
	}
	if loc := nd.payForm(id2, tok2, "balance", ""); !strings.Contains(loc, "err=channel") {
		t.Fatalf("forged balance payment: redirected to %s", loc)
	}
	// bob's 1.00 falls short of 19.99.
	id3, tok3, cu3 := nd.newOrder(order("BAL003", "bob", []string{"alipay_qr", "balance"}, nil))
	if _, page := nd.page(cu3); !strings.Contains(page, "disabled") || !strings.Contains(page, "Not enough balance") {
		t.Fatalf("short balance page:\n%s", page)
	}
	if loc := nd.payForm(id3, tok3, "balance", ""); !strings.Contains(loc, "err=balance") {
		t.Fatalf("short balance payment: redirected to %s", loc)
	}
	if _, u, _ := nd.do("GET", acct+"/users/bob", nil); u["available_balance"] != 100.0 {
		t.Fatalf("bob's balance %v after a refused payment", u["available_balance"])
	}
}
