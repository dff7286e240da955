package cashier_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const alipayUA = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/116 Mobile Safari/537.36 AlipayClient/10.5.30"

func (nd *node) qrReq(method, path, ua string, form url.Values) (*http.Response, string) {
	nd.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, nd.n.URL+path, body)
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept-Language", "en")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestQRCode: the shop's code takes an amount in each wallet, asks the
// customer to confirm it, and makes an order for that wallet's channels
// whose charges name the code; a fixed amount cannot be changed; a code
// past its use limit or deleted is closed; its images download.
func TestQRCode(t *testing.T) {
	nd := start(t)
	path := "/v1/apps/" + nd.app.AppID + "/qr_codes"
	for _, bad := range []struct {
		body  map[string]any
		param string
	}{
		{map[string]any{}, "label"},
		{map[string]any{"label": "A", "amount": 0}, "amount"},
		{map[string]any{"label": "A", "currency": "usd"}, "currency"},
		{map[string]any{"label": "A", "max_uses": -1}, "max_uses"},
		{map[string]any{"label": "A", "colour": "red"}, "colour"},
	} {
		if s, m, raw := nd.do("POST", path, bad.body); s != 400 || m["error"].(map[string]any)["param"] != bad.param {
			t.Fatalf("%v: %d %s", bad.body, s, raw)
		}
	}
	_, open, _ := nd.do("POST", path, map[string]any{"label": "一号收银台", "max_uses": 2})
	id := open["id"].(string)
	pagePath := "/qr/" + id
	if open["url"] != nd.n.URL+pagePath || open["amount"] != nil || open["active"] != true {
		t.Fatalf("qr code: %v", open)
	}
	res, page := nd.qrReq("GET", pagePath, wechatUA, nil)
	if res.StatusCode != 200 || !strings.Contains(page, `id="amount"`) || !strings.Contains(page, `data-wallet="wechat"`) {
		t.Fatalf("page: %d %s", res.StatusCode, page)
	}
	if res, _ := nd.qrReq("POST", pagePath+"/confirm", wechatUA, url.Values{"amount": {"1.234"}}); res.StatusCode != 400 {
		t.Fatalf("three decimals: %d", res.StatusCode)
	}
	_, conf := nd.qrReq("POST", pagePath+"/confirm", wechatUA, url.Values{"amount": {"12.5"}})
	if !strings.Contains(conf, `id="confirm_amount">12.50<`) {
		t.Fatalf("confirm: %s", conf)
	}
	res, _ = nd.qrReq("POST", pagePath+"/pay", alipayUA, url.Values{"amount": {"12.50"}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "/cashier/") {
		t.Fatalf("pay: %d %s", res.StatusCode, loc)
	}
	orderID := loc[strings.Index(loc, "/cashier/")+9 : strings.Index(loc, "?")]
	_, o, _ := nd.do("GET", "/v1/orders/"+orderID, nil)
	chans, _ := o["allowed_channels"].([]any)
	if o["amount"] != 1250.0 || o["metadata"].(map[string]any)["qr_code"] != id || len(chans) != 1 || chans[0] != "alipay_wap" {
		t.Fatalf("order from the QR code: %v", o)
	}
	tok := loc[strings.Index(loc, "?t=")+3:]
	if res, _ := nd.qrReq("POST", "/cashier/"+orderID+"/pay", alipayUA, url.Values{"t": {tok}, "channel": {"alipay_wap"}}); strings.Contains(res.Header.Get("Location"), "err=") {
		t.Fatalf("cashier pay: %s", res.Header.Get("Location"))
	}
	_, ch, _ := nd.do("GET", "/v1/orders/"+orderID+"/charges", nil)
	if data := ch["data"].([]any); len(data) != 1 || data[0].(map[string]any)["metadata"].(map[string]any)["qr_code"] != id {
		t.Fatalf("charge metadata: %v", ch)
	}
	nd.qrReq("POST", pagePath+"/pay", wechatUA, url.Values{"amount": {"1"}})
	if _, page := nd.qrReq("GET", pagePath, wechatUA, nil); !strings.Contains(page, `id="qr_closed"`) {
		t.Fatalf("a code used twice of max 2 is still open: %s", page)
	}
	// A fixed amount: the posted amount is ignored for the code's own.
	_, fixed, _ := nd.do("POST", path, map[string]any{"label": "套餐", "amount": 3900})
	fp := "/qr/" + fixed["id"].(string)
	if _, page := nd.qrReq("GET", fp, wechatUA, nil); !strings.Contains(page, `id="fixed_amount">39.00<`) {
		t.Fatalf("fixed page: %s", page)
	}
	res, _ = nd.qrReq("POST", fp+"/pay", wechatUA, url.Values{"amount": {"0.01"}})
	loc = res.Header.Get("Location")
	fo := loc[strings.Index(loc, "/cashier/")+9 : strings.Index(loc, "?")]
	if _, o, _ := nd.do("GET", "/v1/orders/"+fo, nil); o["amount"] != 3900.0 {
		t.Fatalf("fixed-amount order: %v", o)
	}
	if res, body := nd.qrReq("GET", fp+".png", wechatUA, nil); res.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(body, "\x89PNG") {
		t.Fatalf("png: %s", res.Header.Get("Content-Type"))
	}
	if res, body := nd.qrReq("GET", fp+".svg", wechatUA, nil); res.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
		t.Fatalf("svg: %s", res.Header.Get("Content-Type"))
	}
	if s, _, _ := nd.do("DELETE", path+"/"+fixed["id"].(string), nil); s != 200 {
		t.Fatalf("delete: %d", s)
	}
	if _, page := nd.qrReq("GET", fp, wechatUA, nil); !strings.Contains(page, `id="qr_closed"`) {
		t.Fatal("a deleted code is open")
	}
	if res, _ := nd.qrReq("GET", "/qr/qr_nope", wechatUA, nil); res.StatusCode != 404 {
		t.Fatalf("unknown code: %d", res.StatusCode)
	}
}

// TestQRCodeRateLimit: a code without max_uses makes at most six orders
// in a burst for one customer address (then 429 with the amount kept);
// a code with max_uses is bounded by its uses instead.
func TestQRCodeRateLimit(t *testing.T) {
	nd := start(t)
	path := "/v1/apps/" + nd.app.AppID + "/qr_codes"
	_, open, _ := nd.do("POST", path, map[string]any{"label": "门口"})
	_, limited, _ := nd.do("POST", path, map[string]any{"label": "限次", "max_uses": 10})
	pay := func(id string) (int, string) {
		res, body := nd.qrReq("POST", "/qr/"+id+"/pay", alipayUA, url.Values{"amount": {"1.00"}})
		return res.StatusCode, body
	}
	for i := 0; i < 6; i++ {
		if st, body := pay(open["id"].(string)); st != http.StatusSeeOther {
			t.Fatalf("order %d: %d %s", i+1, st, body)
		}
	}
	st, body := pay(open["id"].(string))
	if st != http.StatusTooManyRequests || !strings.Contains(body, "Too many payments") || !strings.Contains(body, `id="confirm_amount">1.00<`) {
		t.Fatalf("seventh order: %d %s", st, body)
	}
	for i := 0; i < 10; i++ {
		if st, body := pay(limited["id"].(string)); st != http.StatusSeeOther {
			t.Fatalf("limited code order %d: %d %s", i+1, st, body)
		}
	}
	if st, _ := pay(limited["id"].(string)); st != http.StatusBadRequest {
		t.Fatalf("past max_uses: %d", st)
	}
}
