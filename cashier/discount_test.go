package cashier_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/polypay/polypay/ledger"
)

// TestDiscountRulesAPI: bad input is a Ping++ error naming the parameter;
// rules belong to the key's mode; delete removes a rule from the list.
func TestDiscountRulesAPI(t *testing.T) {
	nd := start(t)
	path := "/v1/apps/" + nd.app.AppID + "/discounts"
	good := func() map[string]any {
		return map[string]any{"channel": "alipay", "type": "amount_off", "amount_off": 500, "min_amount": 5000,
			"label": map[string]string{"zh": "满50减5元", "en": "¥5 off over ¥50"}}
	}
	for _, tc := range []struct {
		name  string
		mod   func(m map[string]any)
		param string
	}{
		{"missing channel", func(m map[string]any) { delete(m, "channel") }, "channel"},
		{"unknown channel", func(m map[string]any) { m["channel"] = "bitcoin" }, "channel"},
		{"missing type", func(m map[string]any) { delete(m, "type") }, "type"},
		{"bad type", func(m map[string]any) { m["type"] = "free_shipping" }, "type"},
		{"float amount_off", func(m map[string]any) { m["amount_off"] = 4.5 }, "amount_off"},
		{"string amount_off", func(m map[string]any) { m["amount_off"] = "500" }, "amount_off"},
		{"missing amount_off", func(m map[string]any) { delete(m, "amount_off") }, "amount_off"},
		{"percent 100", func(m map[string]any) { m["type"], m["percent_off"] = "percent_off", 100; delete(m, "amount_off") }, "percent_off"},
		{"negative min_amount", func(m map[string]any) { m["min_amount"] = -1 }, "min_amount"},
		{"missing label", func(m map[string]any) { delete(m, "label") }, "label"},
		{"label language", func(m map[string]any) { m["label"] = map[string]string{"de": "x"} }, "label[de]"},
		{"unknown parameter", func(m map[string]any) { m["first_payment"] = true }, "first_payment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := good()
			tc.mod(b)
			status, m, raw := nd.do("POST", path, b)
			e, _ := m["error"].(map[string]any)
			if status != 400 || e["type"] != "invalid_request_error" || e["param"] != tc.param || e["message"] == "" {
				t.Fatalf("got %d %s, want 400 invalid_request_error param %s", status, raw, tc.param)
			}
		})
	}
	status, d, raw := nd.do("POST", path, good())
	if status != 200 || d["object"] != "discount" || d["amount_off"] != 500.0 || d["percent_off"] != nil || d["livemode"] != false ||
		!strings.HasPrefix(d["id"].(string), "dsc_") {
		t.Fatalf("create: %d %s", status, raw)
	}
	// Another app's path is a 404.
	if status, _, _ := nd.do("POST", "/v1/apps/app_0000000000000000/discounts", good()); status != 404 {
		t.Fatalf("foreign app: %d", status)
	}
	// The live key sees no test rules and cannot delete them.
	liveGet := func(method, p string) (int, string) {
		req, _ := http.NewRequest(method, nd.n.URL+p, nil)
		req.SetBasicAuth(nd.app.SecretKeyLive, "")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if s, b := liveGet("GET", path); s != 200 || strings.Contains(b, "dsc_") {
		t.Fatalf("live list: %d %s", s, b)
	}
	if s, _ := liveGet("DELETE", path+"/"+d["id"].(string)); s != 404 {
		t.Fatalf("live delete of a test rule: %d", s)
	}
	if _, l, raw := nd.do("GET", path, nil); len(l["data"].([]any)) != 1 {
		t.Fatalf("list: %s", raw)
	}
	if status, del, raw := nd.do("DELETE", path+"/"+d["id"].(string), nil); status != 200 || del["deleted"] != true {
		t.Fatalf("delete: %d %s", status, raw)
	}
	if status, _, _ := nd.do("DELETE", path+"/"+d["id"].(string), nil); status != 404 {
		t.Fatalf("second delete: %d", status)
	}
	if _, l, raw := nd.do("GET", path, nil); len(l["data"].([]any)) != 0 {
		t.Fatalf("list after delete: %s", raw)
	}
}

// TestDiscountedOrderThroughCashier: the cashier shows each channel's best
// discount; choosing a channel makes the server charge amount - discount;
// paying records coupon_amount/actual_amount on the order, the rule on the
// charge's metadata, and a discount memo that keeps the ledger check clean.
func TestDiscountedOrderThroughCashier(t *testing.T) {
	nd := start(t)
	path := "/v1/apps/" + nd.app.AppID + "/discounts"
	if s, _, raw := nd.do("POST", path, map[string]any{"channel": "alipay", "type": "amount_off", "amount_off": 500,
		"min_amount": 5000, "label": map[string]string{"zh": "满50减5元", "en": "¥5 off over ¥50"}}); s != 200 {
		t.Fatalf("rule: %s", raw)
	}
	_, wx, raw := nd.do("POST", path, map[string]any{"channel": "wx", "type": "percent_off", "percent_off": 10, "label": "微信9折"})
	if wx["id"] == nil {
		t.Fatalf("rule: %s", raw)
	}
	b := nd.orderBody("disc-1")
	b["amount"] = 5999
	_, o, _ := nd.do("POST", "/v1/orders", b)
	id, cu := o["id"].(string), o["cashier_url"].(string)
	tok := cu[strings.Index(cu, "?t=")+3:]
	const desktop = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
	get := func(u string) string {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("User-Agent", desktop)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return string(body)
	}
	page := get(cu)
	for _, want := range []string{"满50减5元", "¥54.99", "微信9折", "¥54.00"} {
		if !strings.Contains(page, want) {
			t.Fatalf("choose page lacks %q", want)
		}
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	pay := func(ch, extra string) {
		t.Helper()
		// A browser-sent amount is ignored: the server decides.
		req, _ := http.NewRequest("POST", nd.n.URL+"/cashier/"+id+"/pay", strings.NewReader("t="+url.QueryEscape(tok)+"&channel="+ch+extra))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", desktop)
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc := res.Header.Get("Location"); res.StatusCode != 303 || !strings.Contains(loc, "ch="+ch) {
			t.Fatalf("pay %s: %d %q", ch, res.StatusCode, loc)
		}
	}
	// WeChat first (10% off: 599 off, rounded down), then Alipay (500 off).
	pay("wx_pub_qr", "&amount=1")
	if _, got, _ := nd.do("GET", "/v1/orders/"+id, nil); got["coupon_amount"] != 599.0 || got["actual_amount"] != 5400.0 {
		t.Fatalf("after choosing wx_pub_qr: coupon %v actual %v", got["coupon_amount"], got["actual_amount"])
	}
	pay("alipay_qr", "&amount=1&coupon_amount=5998")
	if qr := get(cu + "&ch=alipay_qr"); !strings.Contains(qr, `id="discount_applied"`) || !strings.Contains(qr, "满50减5元") || !strings.Contains(qr, "¥54.99") {
		t.Fatalf("QR page does not show the discount")
	}
	_, list, _ := nd.do("GET", "/v1/orders/"+id+"/charges", nil)
	var ali map[string]any
	for _, c := range list["data"].([]any) {
		if c := c.(map[string]any); c["channel"] == "alipay_qr" {
			ali = c
		}
	}
	md, _ := ali["metadata"].(map[string]any)
	if ali["amount"] != 5499.0 || md["discount_amount"] != "500" || !strings.HasPrefix(md["discount_id"].(string), "dsc_") || md["order_id"] != id {
		t.Fatalf("alipay charge amount %v metadata %v", ali["amount"], md)
	}
	if s, _, raw := nd.do("POST", "/v1/test/charges/"+ali["id"].(string)+"/pay", map[string]any{"result": "success"}); s != 200 {
		t.Fatalf("test pay: %d %s", s, raw)
	}
	_, got, raw := nd.do("GET", "/v1/orders/"+id, nil)
	if got["status"] != "paid" || got["charge"] != ali["id"] || got["coupon_amount"] != 500.0 || got["actual_amount"] != 5499.0 ||
		got["amount_paid"] != 5499.0 || got["amount"] != 5999.0 {
		t.Fatalf("paid order: %s", raw)
	}
	sum, probs, err := ledger.Check(context.Background(), nd.n.DB)
	if err != nil || len(probs) > 0 {
		t.Fatalf("ledger: %v %v", err, probs)
	}
	pre := nd.app.AppID + "/test/cny/"
	if sum.Balances[pre+"discounts"] != 500 || sum.Balances[pre+"discounts_offset"] != -500 ||
		sum.Balances[pre+"merchant"] != -5499 || sum.Balances[pre+"channel:alipay_qr"] != 5499 {
		t.Fatalf("balances %v", sum.Balances)
	}
	// Reading the order again posts nothing more.
	nd.do("GET", "/v1/orders/"+id, nil)
	if _, probs, _ := ledger.Check(context.Background(), nd.n.DB); len(probs) > 0 {
		t.Fatalf("ledger after re-read: %v", probs)
	}
}
