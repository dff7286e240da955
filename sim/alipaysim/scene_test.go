package alipaysim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/alipaysim"
)

// Payment codes per outcome (see the package comment).
const (
	codePaysNow    = "281234567890123456"
	codeUserPaying = "291234567890123456"
	codeDeclined   = "301234567890123456"
)

func barcode(no, amount, authCode string) map[string]any {
	return map[string]any{"out_trade_no": no, "total_amount": amount, "subject": "扫码", "scene": "bar_code", "auth_code": authCode}
}

func (e *env) barcodePay(t *testing.T, biz map[string]any, notifyURL string) reply {
	t.Helper()
	r := request{method: "alipay.trade.pay", biz: biz}
	if notifyURL != "" {
		r.extra = url.Values{"notify_url": {notifyURL}}
	}
	return e.post(t, r)
}

func (e *env) status(t *testing.T, no string) string {
	t.Helper()
	return e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": no}).str("trade_status")
}

func TestBarcodePay(t *testing.T) {
	tests := []struct {
		name       string
		authCode   string
		code       string // code of the pay answer
		subCode    string
		wantStatus string // trade_status right after, "" for no trade
		wantNotify int
	}{
		{"OKPaysNow", codePaysNow, "10000", "", "TRADE_SUCCESS", 1},
		{"OKPrefix25", "2512345678901234", "10000", "", "TRADE_SUCCESS", 1},
		{"OKLongest", "281234567890123456789012", "10000", "", "TRADE_SUCCESS", 1},
		{"UserPaying", codeUserPaying, "10003", "", "WAIT_BUYER_PAY", 0},
		{"ErrDeclined", codeDeclined, "40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", "", 0},
		{"ErrTooShort", "281234567890123", "40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", "", 0},
		{"ErrTooLong", "2812345678901234567890123", "40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", "", 0},
		{"ErrPrefix31", "311234567890123456", "40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", "", 0},
		{"ErrPrefix24", "241234567890123456", "40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", "", 0},
		{"ErrNotDigits", "28123456789012345x", "40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWith(t, func(o *alipaysim.Options) { o.UserPayingFor = time.Hour })
			rc := newReceiver(t, "success")
			rep := e.barcodePay(t, barcode("b1", "8.88", tt.authCode), rc.srv.URL)
			wantCode(t, rep, "alipay.trade.pay", tt.code, tt.subCode)
			if tt.wantStatus == "" {
				wantCode(t, e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": "b1"}), "alipay.trade.query", "40004", "ACQ.TRADE_NOT_EXIST")
				return
			}
			if rep.str("out_trade_no") != "b1" || len(rep.str("trade_no")) != 28 || rep.str("total_amount") != "8.88" || rep.str("buyer_user_id") == "" {
				t.Fatalf("pay answer: %s", rep.raw)
			}
			if paid := rep.str("gmt_payment") != ""; paid != (tt.code == "10000") {
				t.Fatalf("gmt_payment = %q for code %s", rep.str("gmt_payment"), tt.code)
			}
			if got := e.status(t, "b1"); got != tt.wantStatus {
				t.Fatalf("trade_status = %s, want %s", got, tt.wantStatus)
			}
			waitFor(t, "notifications", func() bool { return len(rc.received()) == tt.wantNotify })
			if tt.wantNotify > 0 {
				n := rc.received()[0]
				if n.Get("trade_status") != "TRADE_SUCCESS" || n.Get("trade_no") != rep.str("trade_no") || n.Get("buyer_id") != rep.str("buyer_user_id") {
					t.Fatalf("notification %v does not match the answer %s", n, rep.raw)
				}
			}
		})
	}
}

func TestBarcodePayParams(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name    string
		biz     map[string]any
		code    string
		subCode string
	}{
		{"ErrNoScene", map[string]any{"out_trade_no": "x", "total_amount": "1", "subject": "s", "auth_code": codePaysNow}, "40002", "isv.missing-parameter"},
		{"ErrBadScene", map[string]any{"out_trade_no": "x", "total_amount": "1", "subject": "s", "auth_code": codePaysNow, "scene": "qr_code"}, "40002", "isv.invalid-parameter"},
		{"ErrNoAuthCode", map[string]any{"out_trade_no": "x", "total_amount": "1", "subject": "s", "scene": "bar_code"}, "40002", "isv.missing-parameter"},
		{"ErrBadProduct", map[string]any{"out_trade_no": "x", "total_amount": "1", "subject": "s", "scene": "bar_code", "auth_code": codePaysNow, "product_code": "QUICK_WAP_WAY"}, "40002", "isv.invalid-parameter"},
		{"ErrNoAmount", map[string]any{"out_trade_no": "x", "subject": "s", "scene": "bar_code", "auth_code": codePaysNow}, "40002", "isv.missing-parameter"},
		{"OKWaveCode", map[string]any{"out_trade_no": "w", "total_amount": "1", "subject": "s", "scene": "wave_code", "auth_code": codePaysNow, "product_code": "FACE_TO_FACE_PAYMENT"}, "10000", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, e.barcodePay(t, tt.biz, ""), "alipay.trade.pay", tt.code, tt.subCode)
		})
	}
}

func TestBarcodeUserPaying(t *testing.T) {
	t.Run("OKPaidAfterDelay", func(t *testing.T) {
		e := newEnvWith(t, func(o *alipaysim.Options) { o.UserPayingFor = 50 * time.Millisecond })
		rc := newReceiver(t, "success")
		rep := e.barcodePay(t, barcode("u1", "3.00", codeUserPaying), rc.srv.URL)
		wantCode(t, rep, "alipay.trade.pay", "10003", "")
		// A repeated pay while the buyer confirms is 10003 again, not a
		// second trade.
		again := e.barcodePay(t, barcode("u1", "3.00", codeUserPaying), rc.srv.URL)
		wantCode(t, again, "alipay.trade.pay", "10003", "")
		if again.str("trade_no") != rep.str("trade_no") {
			t.Fatalf("repeat made another trade: %s vs %s", again.raw, rep.raw)
		}
		waitFor(t, "the payment notification", func() bool { return len(rc.received()) == 1 })
		if got := e.status(t, "u1"); got != "TRADE_SUCCESS" {
			t.Fatalf("trade_status = %s, want TRADE_SUCCESS", got)
		}
		// Once paid, a repeated pay reports the payment.
		paid := e.barcodePay(t, barcode("u1", "3.00", codeUserPaying), rc.srv.URL)
		wantCode(t, paid, "alipay.trade.pay", "10000", "")
		if paid.str("trade_no") != rep.str("trade_no") || paid.str("gmt_payment") == "" {
			t.Fatalf("repeat after payment: %s", paid.raw)
		}
		time.Sleep(60 * time.Millisecond)
		if n := len(rc.received()); n != 1 {
			t.Fatalf("%d notifications, want 1", n)
		}
	})
	t.Run("OKCancelledWhileConfirming", func(t *testing.T) {
		e := newEnvWith(t, func(o *alipaysim.Options) { o.UserPayingFor = 50 * time.Millisecond })
		rc := newReceiver(t, "success")
		wantCode(t, e.barcodePay(t, barcode("u2", "3.00", codeUserPaying), rc.srv.URL), "alipay.trade.pay", "10003", "")
		c := e.call(t, "alipay.trade.cancel", map[string]any{"out_trade_no": "u2"})
		if c.str("code") != "10000" || c.str("action") != "close" {
			t.Fatalf("cancel: %s", c.raw)
		}
		time.Sleep(150 * time.Millisecond)
		if got := e.status(t, "u2"); got != "TRADE_CLOSED" {
			t.Fatalf("trade_status = %s, want TRADE_CLOSED", got)
		}
		if n := len(rc.received()); n != 0 {
			t.Fatalf("%d notifications for a cancelled trade", n)
		}
	})
	t.Run("OKDefaultDelay", func(t *testing.T) {
		e := newEnv(t)
		wantCode(t, e.barcodePay(t, barcode("u3", "3.00", codeUserPaying), ""), "alipay.trade.pay", "10003", "")
		time.Sleep(100 * time.Millisecond)
		if got := e.status(t, "u3"); got != "WAIT_BUYER_PAY" {
			t.Fatalf("trade_status = %s, want WAIT_BUYER_PAY during the default 5 s", got)
		}
	})
}

func TestTradeCreate(t *testing.T) {
	const buyer = "2088102177846880"
	create := func(no, amount string, extra map[string]any) map[string]any {
		b := map[string]any{"out_trade_no": no, "total_amount": amount, "subject": "小程序", "product_code": "JSAPI_PAY"}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	e := newEnv(t)
	rc := newReceiver(t, "success")
	first := e.post(t, request{method: "alipay.trade.create", biz: create("m1", "6.66", map[string]any{"buyer_id": buyer}), extra: url.Values{"notify_url": {rc.srv.URL}}})
	wantCode(t, first, "alipay.trade.create", "10000", "")
	if first.str("out_trade_no") != "m1" || len(first.str("trade_no")) != 28 {
		t.Fatalf("create answer: %s", first.raw)
	}
	tests := []struct {
		name    string
		biz     map[string]any
		code    string
		subCode string
	}{
		{"OKRepeatSameTrade", create("m1", "6.66", map[string]any{"buyer_id": buyer}), "10000", ""},
		{"OKOpenID", create("m2", "1.00", map[string]any{"buyer_open_id": "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"}), "10000", ""},
		{"ErrRepeatOtherAmount", create("m1", "6.67", map[string]any{"buyer_id": buyer}), "40004", "ACQ.CONTEXT_INCONSISTENT"},
		{"ErrNoBuyer", create("m3", "1.00", nil), "40002", "isv.missing-parameter"},
		{"ErrBadBuyer", create("m3", "1.00", map[string]any{"buyer_id": "1234"}), "40002", "isv.invalid-parameter"},
		{"ErrBadProduct", create("m3", "1.00", map[string]any{"buyer_id": buyer, "product_code": "QUICK_WAP_WAY"}), "40002", "isv.invalid-parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := e.post(t, request{method: "alipay.trade.create", biz: tt.biz})
			wantCode(t, rep, "alipay.trade.create", tt.code, tt.subCode)
			if tt.name == "OKRepeatSameTrade" && rep.str("trade_no") != first.str("trade_no") {
				t.Fatalf("repeat gave trade_no %s, want %s", rep.str("trade_no"), first.str("trade_no"))
			}
		})
	}
	t.Run("OKPaidByTheBuyer", func(t *testing.T) {
		mustPay(t, e, "m1")
		got := rc.received()
		if len(got) != 1 || got[0].Get("buyer_id") != buyer || got[0].Get("trade_no") != first.str("trade_no") {
			t.Fatalf("notifications: %v", got)
		}
		wantCode(t, e.post(t, request{method: "alipay.trade.create", biz: create("m1", "6.66", map[string]any{"buyer_id": buyer})}), "alipay.trade.create", "40004", "ACQ.TRADE_HAS_SUCCESS")
	})
}

// appOrder builds an alipay.trade.app.pay order string the way the SDKs do:
// signed common parameters, URL-encoded.
func (e *env) appOrder(r request) string {
	r.method = "alipay.trade.app.pay"
	return r.params(e.clock.Now()).Encode()
}

func TestPayOrderString(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	biz := func(no string) map[string]any {
		return map[string]any{"out_trade_no": no, "total_amount": "9.99", "subject": "App", "product_code": "QUICK_MSECURITY_PAY"}
	}
	notify := url.Values{"notify_url": {rc.srv.URL}}
	tests := []struct {
		name       string
		order      string
		success    bool
		wantErr    error
		wantStatus string
	}{
		{"OK", e.appOrder(request{biz: biz("a1"), extra: notify}), true, nil, "TRADE_SUCCESS"},
		{"ErrPaidTwice", e.appOrder(request{biz: biz("a1"), extra: notify}), true, alipaysim.ErrTradeNotPayable, "TRADE_SUCCESS"},
		{"OKFailedAttempt", e.appOrder(request{biz: biz("a2"), extra: notify}), false, nil, "WAIT_BUYER_PAY"},
		{"OKThenPaid", e.appOrder(request{biz: biz("a2"), extra: notify}), true, nil, "TRADE_SUCCESS"},
		{"OKLegacyRSA", e.appOrder(request{biz: biz("a3"), signType: "RSA"}), true, nil, "TRADE_SUCCESS"},
		{"ErrOtherKey", e.appOrder(request{biz: biz("a4"), key: otherKey}), true, alipaysim.ErrRequestRejected, ""},
		{"ErrTampered", strings.Replace(e.appOrder(request{biz: biz("a4")}), "9.99", "0.01", 1), true, alipaysim.ErrRequestRejected, ""},
		{"ErrSignTypeNotSigned", e.appOrder(request{biz: biz("a4"), skipSignType: true}), true, alipaysim.ErrRequestRejected, ""},
		{"ErrNotAppPay", request{method: "alipay.trade.precreate", biz: biz("a4")}.params(e.clock.Now()).Encode(), true, alipaysim.ErrRequestRejected, ""},
		{"ErrWrongProduct", e.appOrder(request{biz: map[string]any{"out_trade_no": "a4", "total_amount": "1", "subject": "s", "product_code": "QUICK_WAP_WAY"}}), true, alipaysim.ErrRequestRejected, ""},
		{"ErrDuplicateParam", e.appOrder(request{biz: biz("a4")}) + "&app_id=" + appID, true, alipaysim.ErrRequestRejected, ""},
		{"ErrNotAQueryString", "%zz", true, alipaysim.ErrRequestRejected, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.sim.PayOrderString(context.Background(), tt.order, tt.success)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("PayOrderString: %v, want %v", err, tt.wantErr)
			}
			if tt.wantStatus == "" {
				wantCode(t, e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": "a4"}), "alipay.trade.query", "40004", "ACQ.TRADE_NOT_EXIST")
				return
			}
			if got := e.status(t, orderNo(tt.order)); got != tt.wantStatus {
				t.Fatalf("trade_status = %s, want %s", got, tt.wantStatus)
			}
		})
	}
	if got := rc.received(); len(got) != 2 || got[0].Get("out_trade_no") != "a1" || got[1].Get("out_trade_no") != "a2" {
		t.Fatalf("notifications: %v", got)
	}
}

func orderNo(order string) string {
	v, _ := url.ParseQuery(order)
	var b struct {
		OutTradeNo string `json:"out_trade_no"`
	}
	_ = json.Unmarshal([]byte(v.Get("biz_content")), &b)
	return b.OutTradeNo
}

// browser is a cookie-less client that does not follow redirects, so that
// each hop of the cashier flow can be checked.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	formToken  = regexp.MustCompile(`name="sim_cashier" value="([^"]+)"`)
)

// page is one fetched HTML page.
type page struct {
	url  *url.URL
	body string
}

func get(t *testing.T, u string) page {
	t.Helper()
	resp, err := browser.Get(u)
	return fetch(t, resp, err)
}

func fetch(t *testing.T, resp *http.Response, err error) page {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return page{resp.Request.URL, string(b)}
}

// press submits the cashier's form with the given button and returns the
// answer, unfollowed.
func (p page) press(t *testing.T, button string) *http.Response {
	t.Helper()
	a, tok := formAction.FindStringSubmatch(p.body), formToken.FindStringSubmatch(p.body)
	if a == nil || tok == nil {
		t.Fatalf("no cashier form in %s", p.body)
	}
	target, err := p.url.Parse(a[1])
	if err != nil {
		t.Fatal(err)
	}
	resp, err := browser.PostForm(target.String(), url.Values{"sim_cashier": {tok[1]}, "action": {button}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestCashier(t *testing.T) {
	const returnURL, quitURL = "https://shop.example/return?order=1", "https://shop.example/cart"
	pageReq := func(method, no string, more map[string]any) request {
		biz := map[string]any{"out_trade_no": no, "total_amount": "12.34", "subject": "网页商品"}
		if method == "alipay.trade.wap.pay" {
			biz["product_code"], biz["quit_url"] = "QUICK_WAP_WAY", quitURL
		} else {
			biz["product_code"] = "FAST_INSTANT_TRADE_PAY"
		}
		for k, v := range more {
			biz[k] = v
		}
		return request{method: method, biz: biz, extra: url.Values{"return_url": {returnURL}}}
	}
	for _, method := range []string{"alipay.trade.wap.pay", "alipay.trade.page.pay"} {
		t.Run(method, func(t *testing.T) {
			e := newEnv(t)
			rc := newReceiver(t, "success")
			r := pageReq(method, "c1", nil)
			r.extra.Set("notify_url", rc.srv.URL)
			p := get(t, e.gateway+"?"+r.params(e.clock.Now()).Encode())
			for _, want := range []string{`<span id="total_amount">12.34</span>`, "网页商品", `id="out_trade_no">c1<`, `value="pay"`, `value="decline"`} {
				if !strings.Contains(p.body, want) {
					t.Fatalf("cashier page lacks %q:\n%s", want, p.body)
				}
			}
			if got := e.status(t, "c1"); got != "WAIT_BUYER_PAY" {
				t.Fatalf("trade_status after the page = %s", got)
			}

			resp := p.press(t, "pay")
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("pay answered %d, want 303", resp.StatusCode)
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || loc.Host != "shop.example" || loc.Path != "/return" {
				t.Fatalf("redirect to %q", resp.Header.Get("Location"))
			}
			back := loc.Query()
			if back.Get("order") != "1" {
				t.Fatalf("return_url's own query lost: %v", back)
			}
			back.Del("order") // the merchant's, not Alipay's
			if err := testVerify(&platformKey.PublicKey, "RSA2", testContent(back, "sign", "sign_type"), back.Get("sign")); err != nil {
				t.Fatalf("return signature: %v (%v)", err, back)
			}
			for k, want := range map[string]string{"method": method + ".return", "out_trade_no": "c1", "total_amount": "12.34", "app_id": appID, "auth_app_id": appID, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2"} {
				if back.Get(k) != want {
					t.Errorf("return %s = %q, want %q", k, back.Get(k), want)
				}
			}
			// The notification was delivered before the redirect.
			got := rc.received()
			if len(got) != 1 || got[0].Get("trade_status") != "TRADE_SUCCESS" || got[0].Get("trade_no") != back.Get("trade_no") {
				t.Fatalf("notifications: %v", got)
			}
			if st := e.status(t, "c1"); st != "TRADE_SUCCESS" {
				t.Fatalf("trade_status = %s", st)
			}
			// The same page cannot pay twice, and reopening it shows the error.
			if resp := p.press(t, "pay"); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("second pay answered %d, want 404", resp.StatusCode)
			}
			again := get(t, e.gateway+"?"+r.params(e.clock.Now()).Encode())
			if !strings.Contains(again.body, "ACQ.TRADE_HAS_SUCCESS") {
				t.Fatalf("reopened paid trade: %s", again.body)
			}
		})
	}

	t.Run("OKDeclineWap", func(t *testing.T) {
		e := newEnv(t)
		rc := newReceiver(t, "success")
		r := pageReq("alipay.trade.wap.pay", "d1", nil)
		r.extra.Set("notify_url", rc.srv.URL)
		p := get(t, e.gateway+"?"+r.params(e.clock.Now()).Encode())
		resp := p.press(t, "decline")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != quitURL {
			t.Fatalf("decline answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if st := e.status(t, "d1"); st != "WAIT_BUYER_PAY" || len(rc.received()) != 0 {
			t.Fatalf("after decline: %s, %d notifications", st, len(rc.received()))
		}
		// The buyer can come back and pay.
		if resp := p.press(t, "pay"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("pay after decline answered %d", resp.StatusCode)
		}
		if st := e.status(t, "d1"); st != "TRADE_SUCCESS" {
			t.Fatalf("trade_status = %s", st)
		}
	})

	t.Run("OKDeclinePageWithoutQuitURL", func(t *testing.T) {
		e := newEnv(t)
		p := get(t, e.gateway+"?"+pageReq("alipay.trade.page.pay", "d2", nil).params(e.clock.Now()).Encode())
		resp := p.press(t, "decline")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("decline answered %d", resp.StatusCode)
		}
	})

	t.Run("OKFormPost", func(t *testing.T) {
		// The official SDKs' pageExecute posts an auto-submitting form.
		e := newEnv(t)
		resp, err := browser.PostForm(e.gateway, pageReq("alipay.trade.page.pay", "f1", nil).params(e.clock.Now()))
		p := fetch(t, resp, err)
		if resp := p.press(t, "pay"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("pay answered %d", resp.StatusCode)
		}
		if st := e.status(t, "f1"); st != "TRADE_SUCCESS" {
			t.Fatalf("trade_status = %s", st)
		}
	})

	errTests := []struct {
		name    string
		params  url.Values
		subCode string
	}{
		{"ErrSignature", pageReq("alipay.trade.page.pay", "x1", nil).params(e0()), "isv.invalid-signature"},
		{"ErrTampered", func() url.Values {
			p := pageReq("alipay.trade.wap.pay", "x1", nil).params(e0())
			p.Set("biz_content", strings.Replace(p.Get("biz_content"), "12.34", "0.01", 1))
			return p
		}(), "isv.invalid-signature"},
		{"ErrNoProductCode", pageReq("alipay.trade.page.pay", "x1", map[string]any{"product_code": ""}).params(e0()), "isv.missing-parameter"},
		{"ErrWrongProductCode", pageReq("alipay.trade.page.pay", "x1", map[string]any{"product_code": "QUICK_WAP_WAY"}).params(e0()), "isv.invalid-parameter"},
		{"ErrQRPayMode", pageReq("alipay.trade.page.pay", "x1", map[string]any{"qr_pay_mode": "7"}).params(e0()), "isv.invalid-parameter"},
		{"ErrQuitURL", pageReq("alipay.trade.wap.pay", "x1", map[string]any{"quit_url": "javascript:alert(1)"}).params(e0()), "isv.invalid-parameter"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.name == "ErrSignature" {
				tt.params.Set("sign", testSign(otherKey, "RSA2", testContent(tt.params, "sign")))
			}
			p := get(t, e.gateway+"?"+tt.params.Encode())
			if !strings.Contains(p.body, `<code id="sub_code">`+tt.subCode+`</code>`) || formToken.MatchString(p.body) {
				t.Fatalf("want an error page with %s, got:\n%s", tt.subCode, p.body)
			}
			wantCode(t, e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": "x1"}), "alipay.trade.query", "40004", "ACQ.TRADE_NOT_EXIST")
		})
	}

	t.Run("ErrUnknownSession", func(t *testing.T) {
		e := newEnv(t)
		resp, err := browser.PostForm(e.gateway, url.Values{"sim_cashier": {"nope"}, "action": {"pay"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d, want 404", resp.StatusCode)
		}
	})

	t.Run("ErrAppPayThroughGateway", func(t *testing.T) {
		// app.pay is not a gateway call: only the app SDK takes it.
		e := newEnv(t)
		wantCode(t, e.post(t, request{method: "alipay.trade.app.pay", biz: map[string]any{"out_trade_no": "y", "total_amount": "1", "subject": "s"}}), "", "40002", "isv.invalid-method")
	})
}

// e0 is the timestamp of hand-built page requests that never reach a trade.
func e0() time.Time { return time.Date(2026, 11, 21, 10, 0, 0, 0, cst) }
