package cashier_test

import (
	"strings"
	"testing"
)

// TestFirstPaymentDiscount: "first WeChat payment 10% off" applies to an
// order with a uid that has no paid WeChat order yet, never to orders
// without uid, and no longer once the uid has paid with WeChat.
func TestFirstPaymentDiscount(t *testing.T) {
	nd := start(t)
	path := "/v1/apps/" + nd.app.AppID + "/discounts"
	s, d, raw := nd.do("POST", path, map[string]any{"channel": "wx", "type": "percent_off", "percent_off": 10,
		"first_payment_only": true, "label": map[string]string{"zh": "首次微信支付9折", "en": "First WeChat payment 10% off"}})
	if s != 200 || d["first_payment_only"] != true {
		t.Fatalf("rule: %d %s", s, raw)
	}
	if s, m, _ := nd.do("POST", path, map[string]any{"channel": "wx", "type": "percent_off", "percent_off": 10,
		"first_payment_only": "yes", "label": "x"}); s != 400 || m["error"].(map[string]any)["param"] != "first_payment_only" {
		t.Fatalf("bad first_payment_only: %d", s)
	}
	b := nd.orderBody("bad-uid")
	b["uid"] = "a b"
	if s, m, _ := nd.do("POST", "/v1/orders", b); s != 400 || m["error"].(map[string]any)["param"] != "uid" {
		t.Fatalf("bad uid: %d", s)
	}
	order := func(no, uid string) (string, string, string) {
		b := nd.orderBody(no)
		if uid != "" {
			b["uid"] = uid
		}
		return nd.newOrder(b)
	}
	// No uid: never.
	_, _, cu := order("fp-anon", "")
	if _, p := nd.page(cu); strings.Contains(p, "First WeChat payment") {
		t.Fatal("first-payment discount offered without uid")
	}
	// A new customer: offered; paying with Alipay keeps it for WeChat.
	id, tok, cu := order("fp-1", "cust_1")
	if _, o, _ := nd.do("GET", "/v1/orders/"+id, nil); o["uid"] != "cust_1" {
		t.Fatalf("order uid %v", o["uid"])
	}
	if _, p := nd.page(cu); !strings.Contains(p, "First WeChat payment") || !strings.Contains(p, "¥18.00") {
		t.Fatal("first-payment discount not offered to a new customer")
	}
	payWith := func(id, tok, ch string) map[string]any {
		t.Helper()
		if loc := nd.payForm(id, tok, ch, ""); !strings.Contains(loc, "ch="+ch) {
			t.Fatalf("pay %s: %q", ch, loc)
		}
		_, list, _ := nd.do("GET", "/v1/orders/"+id+"/charges", nil)
		c := list["data"].([]any)[0].(map[string]any)
		if s, _, raw := nd.do("POST", "/v1/test/charges/"+c["id"].(string)+"/pay", map[string]any{"result": "success"}); s != 200 {
			t.Fatalf("test pay: %s", raw)
		}
		_, o, _ := nd.do("GET", "/v1/orders/"+id, nil)
		if o["status"] != "paid" {
			t.Fatalf("order not paid: %v", o)
		}
		return o
	}
	if o := payWith(id, tok, "alipay_qr"); o["coupon_amount"] != 0.0 {
		t.Fatalf("alipay got the WeChat rule: %v", o["coupon_amount"])
	}
	id, tok, cu = order("fp-2", "cust_1")
	if _, p := nd.page(cu); !strings.Contains(p, "First WeChat payment") {
		t.Fatal("an Alipay payment used up the first WeChat payment")
	}
	if o := payWith(id, tok, "wx_pub_qr"); o["coupon_amount"] != 199.0 || o["actual_amount"] != 1800.0 {
		t.Fatalf("first WeChat payment: coupon %v actual %v", o["coupon_amount"], o["actual_amount"])
	}
	// After a paid WeChat order: no more, for this customer only.
	id, tok, cu = order("fp-3", "cust_1")
	if _, p := nd.page(cu); strings.Contains(p, "First WeChat payment") {
		t.Fatal("first-payment discount offered twice")
	}
	if o := payWith(id, tok, "wx_pub_qr"); o["coupon_amount"] != 0.0 {
		t.Fatalf("second WeChat payment discounted: %v", o["coupon_amount"])
	}
	if _, _, cu := order("fp-4", "cust_2"); true {
		if _, p := nd.page(cu); !strings.Contains(p, "First WeChat payment") {
			t.Fatal("another customer lost the discount")
		}
	}
}
