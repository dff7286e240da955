package alipaysim_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-pay/gopay"
	gopayalipay "github.com/go-pay/gopay/alipay"

	"github.com/polypay/polypay/sim/alipaysim"
)

const (
	signMethod   = "alipay.user.agreement.page.sign"
	agrQuery     = "alipay.user.agreement.query"
	agrUnsign    = "alipay.user.agreement.unsign"
	tradePay     = "alipay.trade.pay"
	signReturn   = "https://shop.example/signed?u=7"
	otherAppID   = "2021000000000002"
	withholdingP = "GENERAL_WITHHOLDING_P"
)

// signReq is a page.sign request for 商家扣款 under external_agreement_no
// ext; more overrides biz_content fields (nil deletes one).
func signReq(ext, notifyURL string, more map[string]any) request {
	biz := map[string]any{
		"personal_product_code": withholdingP,
		"product_code":          "GENERAL_WITHHOLDING",
		"sign_scene":            "INDUSTRY|DIGITAL_MEDIA",
		"external_agreement_no": ext,
		"external_logon_id":     "shopuser7",
		"access_params":         map[string]any{"channel": "ALIPAYAPP"},
	}
	for k, v := range more {
		if v == nil {
			delete(biz, k)
		} else {
			biz[k] = v
		}
	}
	extra := url.Values{"return_url": {signReturn}}
	if notifyURL != "" {
		extra.Set("notify_url", notifyURL)
	}
	return request{method: signMethod, biz: biz, extra: extra}
}

// cycleRule is period_rule_params for 周期扣款.
func cycleRule(single string, payments int) map[string]any {
	return map[string]any{
		"personal_product_code": "CYCLE_PAY_AUTH_P", "product_code": "CYCLE_PAY_AUTH",
		"period_rule_params": map[string]any{"period_type": "MONTH", "period": 1, "execute_time": "2026-12-01",
			"single_amount": single, "total_payments": payments},
	}
}

func (e *env) signURL(r request) string { return e.gateway + "?" + r.params(e.clock.Now()).Encode() }

// sign signs through SignAgreement and returns the agreement_no.
func (e *env) sign(t *testing.T, r request) string {
	t.Helper()
	no, err := e.sim.SignAgreement(context.Background(), e.signURL(r))
	if err != nil {
		t.Fatalf("SignAgreement: %v", err)
	}
	return no
}

func debitBiz(no, amount, agreementNo string) map[string]any {
	return map[string]any{"out_trade_no": no, "total_amount": amount, "subject": "会员续费",
		"product_code": "GENERAL_WITHHOLDING", "agreement_params": map[string]any{"agreement_no": agreementNo}}
}

func (e *env) debit(t *testing.T, biz map[string]any, notifyURL string) reply {
	t.Helper()
	r := request{method: tradePay, biz: biz}
	if notifyURL != "" {
		r.extra = url.Values{"notify_url": {notifyURL}}
	}
	return e.post(t, r)
}

// wantNotice checks a notification's signature with the platform key and
// its fields.
func wantNotice(t *testing.T, v url.Values, want map[string]string) {
	t.Helper()
	if err := testVerify(&platformKey.PublicKey, "RSA2", testContent(v, "sign", "sign_type"), v.Get("sign")); err != nil {
		t.Fatalf("notification signature: %v (%v)", err, v)
	}
	for k, w := range want {
		if got := v.Get(k); got != w {
			t.Errorf("notification %s = %q, want %q", k, got, w)
		}
	}
}

var (
	signToken   = regexp.MustCompile(`name="sim_agreement" value="([^"]+)"`)
	userIDShape = regexp.MustCompile(`^2088\d{12}$`)
	noShape     = regexp.MustCompile(`^\d{20}$`)
)

// pressSign submits a signing page's form with the given button.
func (p page) pressSign(t *testing.T, button string) *http.Response {
	t.Helper()
	a, tok := formAction.FindStringSubmatch(p.body), signToken.FindStringSubmatch(p.body)
	if a == nil || tok == nil {
		t.Fatalf("no signing form in %s", p.body)
	}
	target, err := p.url.Parse(a[1])
	if err != nil {
		t.Fatal(err)
	}
	resp, err := browser.PostForm(target.String(), url.Values{"sim_agreement": {tok[1]}, "action": {button}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestAgreementSignPage(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	p := get(t, e.signURL(signReq("A1", rc.srv.URL, nil)))
	for _, want := range []string{`id="sign"`, `id="decline"`, `id="product">商家扣款<`, `id="external_agreement_no">A1<`, `id="app_id">` + appID + `<`} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("signing page lacks %q:\n%s", want, p.body)
		}
	}
	resp := p.pressSign(t, "sign")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign answered %d, want 303", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host != "shop.example" || loc.Path != "/signed" {
		t.Fatalf("redirect to %q", resp.Header.Get("Location"))
	}
	back := loc.Query()
	back.Del("u") // the merchant's own
	if err := testVerify(&platformKey.PublicKey, "RSA2", testContent(back, "sign", "sign_type"), back.Get("sign")); err != nil {
		t.Fatalf("return signature: %v (%v)", err, back)
	}
	no := back.Get("agreement_no")
	if !noShape.MatchString(no) || back.Get("status") != "NORMAL" || back.Get("external_agreement_no") != "A1" || back.Get("method") != signMethod+".return" {
		t.Fatalf("return: %v", back)
	}

	// The notification was delivered before the redirect.
	got := rc.received()
	if len(got) != 1 {
		t.Fatalf("%d notifications", len(got))
	}
	n := got[0]
	wantNotice(t, n, map[string]string{"notify_type": "dut_user_sign", "agreement_no": no, "external_agreement_no": "A1",
		"personal_product_code": withholdingP, "sign_scene": "INDUSTRY|DIGITAL_MEDIA", "status": "NORMAL", "app_id": appID,
		"charset": "utf-8", "version": "1.0", "sign_type": "RSA2", "sign_time": "2026-11-21 10:00:00",
		"valid_time": "2026-11-21 10:00:00", "invalid_time": "2115-02-01 00:00:00", "notify_time": "2026-11-21 10:00:00"})
	if !userIDShape.MatchString(n.Get("alipay_user_id")) || !strings.Contains(n.Get("alipay_logon_id"), "****") || n.Get("notify_id") == "" {
		t.Fatalf("notification customer fields: %v", n)
	}
	// gopay, an independent verifier, accepts it too.
	bm := gopay.BodyMap{}
	for k := range n {
		bm.Set(k, n.Get(k))
	}
	if ok, err := gopayalipay.VerifySign(barePublic(), bm); !ok || err != nil {
		t.Fatalf("gopay rejects the sign notification: %v", err)
	}
	d := e.sim.AgreementNotifications(no)
	if len(d) != 1 || !d[0].Acked || d[0].NotifyType != "dut_user_sign" {
		t.Fatalf("deliveries: %+v", d)
	}

	for name, biz := range map[string]map[string]any{
		"ByAgreementNo": {"agreement_no": no, "external_agreement_no": "ignored"},
		"ByExternalNo":  {"external_agreement_no": "A1", "personal_product_code": withholdingP, "sign_scene": "INDUSTRY|DIGITAL_MEDIA"},
	} {
		t.Run(name, func(t *testing.T) {
			q := e.call(t, agrQuery, biz)
			for k, w := range map[string]string{"code": "10000", "agreement_no": no, "status": "NORMAL", "external_agreement_no": "A1",
				"alipay_user_id": n.Get("alipay_user_id"), "principal_id": n.Get("alipay_user_id"), "alipay_logon_id": n.Get("alipay_logon_id"),
				"sign_time": "2026-11-21 10:00:00", "invalid_time": "2115-02-01 00:00:00", "personal_product_code": withholdingP,
				"sign_scene": "INDUSTRY|DIGITAL_MEDIA", "external_logon_id": "shopuser7"} {
				if got := q.str(k); got != w {
					t.Errorf("query %s = %q, want %q", k, got, w)
				}
			}
		})
	}
	// The page cannot sign twice.
	if resp := p.pressSign(t, "sign"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second sign answered %d, want 404", resp.StatusCode)
	}
}

func TestAgreementDecline(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	p := get(t, e.signURL(signReq("D1", rc.srv.URL, nil)))
	if resp := p.pressSign(t, "decline"); resp.StatusCode != http.StatusOK {
		t.Fatalf("decline answered %d", resp.StatusCode)
	}
	if n := len(e.sim.Agreements()); n != 0 || len(rc.received()) != 0 {
		t.Fatalf("after decline: %d agreements, %d notifications", n, len(rc.received()))
	}
	wantCode(t, e.call(t, agrQuery, map[string]any{"external_agreement_no": "D1"}), agrQuery, "40004", "USER_AGREEMENT_NOT_EXIST")
}

func TestAgreementSignRefused(t *testing.T) {
	tests := []struct {
		name    string
		req     request
		tamper  func(url.Values)
		subCode string
	}{
		{"ForgedSignature", signReq("X1", "", nil), func(p url.Values) { p.Set("sign", testSign(otherKey, "RSA2", testContent(p, "sign"))) }, "isv.invalid-signature"},
		{"TamperedBiz", signReq("X1", "", nil), func(p url.Values) {
			p.Set("biz_content", strings.Replace(p.Get("biz_content"), "X1", "X2", 1))
		}, "isv.invalid-signature"},
		{"TamperedNotifyURL", signReq("X1", "https://shop.example/n", nil), func(p url.Values) { p.Set("notify_url", "https://evil.example/n") }, "isv.invalid-signature"},
		{"NoPersonalProduct", signReq("X1", "", map[string]any{"personal_product_code": nil}), nil, "isv.missing-parameter"},
		{"UnknownPersonalProduct", signReq("X1", "", map[string]any{"personal_product_code": "FOO_P"}), nil, "isv.invalid-parameter"},
		{"ProductMismatch", signReq("X1", "", map[string]any{"product_code": "CYCLE_PAY_AUTH"}), nil, "isv.invalid-parameter"},
		{"NoAccessParams", signReq("X1", "", map[string]any{"access_params": nil}), nil, "isv.missing-parameter"},
		{"BadChannel", signReq("X1", "", map[string]any{"access_params": map[string]any{"channel": "PC"}}), nil, "isv.invalid-parameter"},
		{"ExternalNoNotAlnum", signReq("X_1", "", nil), nil, "isv.invalid-parameter"},
		{"DefaultSceneWithExternalNo", signReq("X1", "", map[string]any{"sign_scene": nil}), nil, "isv.invalid-parameter"},
		{"BadValidity", signReq("X1", "", map[string]any{"sign_validity_period": "3y"}), nil, "isv.invalid-parameter"},
		{"CycleWithoutRule", signReq("X1", "", map[string]any{"personal_product_code": "CYCLE_PAY_AUTH_P", "product_code": "CYCLE_PAY_AUTH"}), nil, "isv.missing-parameter"},
		{"CycleShortDays", signReq("X1", "", map[string]any{"personal_product_code": "CYCLE_PAY_AUTH_P", "product_code": "CYCLE_PAY_AUTH",
			"period_rule_params": map[string]any{"period_type": "DAY", "period": 3, "execute_time": "2026-12-01", "single_amount": "1.00"}}), nil, "isv.invalid-parameter"},
		{"CycleBadAmount", signReq("X1", "", cycleRule("1.001", 0)), nil, "isv.invalid-parameter"},
		{"BadReturnURL", func() request {
			r := signReq("X1", "", nil)
			r.extra.Set("return_url", "javascript:alert(1)")
			return r
		}(), nil, "isv.invalid-parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.req.signed = tt.tamper
			u := e.signURL(tt.req)
			p := get(t, u)
			if !strings.Contains(p.body, `<code id="sub_code">`+tt.subCode+`</code>`) || signToken.MatchString(p.body) {
				t.Fatalf("want an error page with %s, got:\n%s", tt.subCode, p.body)
			}
			_, err := e.sim.SignAgreement(context.Background(), u)
			if !errors.Is(err, alipaysim.ErrRequestRejected) || !strings.Contains(err.Error(), tt.subCode) {
				t.Fatalf("SignAgreement: %v, want ErrRequestRejected with %s", err, tt.subCode)
			}
			if n := len(e.sim.Agreements()); n != 0 {
				t.Fatalf("%d agreements made", n)
			}
		})
	}
}

func TestAgreementDebit(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	no := e.sign(t, signReq("P1", "", nil))
	ag := e.sim.Agreements()[0]

	rep := e.debit(t, debitBiz("d1", "25.00", no), rc.srv.URL)
	for k, w := range map[string]string{"code": "10000", "out_trade_no": "d1", "total_amount": "25.00", "receipt_amount": "25.00",
		"buyer_user_id": ag.AlipayUserID, "gmt_payment": "2026-11-21 10:00:00"} {
		if got := rep.str(k); got != w {
			t.Errorf("debit %s = %q, want %q", k, got, w)
		}
	}
	if bills, _ := rep.fields["fund_bill_list"].([]any); len(bills) != 1 || rep.str("trade_no") == "" {
		t.Fatalf("debit: %s", rep.raw)
	}
	waitFor(t, "the trade notification", func() bool { return len(rc.received()) == 1 })
	wantNotice(t, rc.received()[0], map[string]string{"notify_type": "trade_status_sync", "trade_status": "TRADE_SUCCESS",
		"out_trade_no": "d1", "trade_no": rep.str("trade_no"), "buyer_id": ag.AlipayUserID, "total_amount": "25.00"})

	// An ordinary trade from here on.
	q := e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": "d1"})
	if q.str("trade_status") != "TRADE_SUCCESS" || q.str("buyer_user_id") != ag.AlipayUserID {
		t.Fatalf("query: %s", q.raw)
	}
	rf := e.call(t, "alipay.trade.refund", map[string]any{"out_trade_no": "d1", "refund_amount": "5.00", "out_request_no": "r1"})
	if rf.str("code") != "10000" || rf.str("refund_fee") != "5.00" {
		t.Fatalf("refund: %s", rf.raw)
	}

	// A repeated out_trade_no answers the paid trade and pays nothing.
	again := e.debit(t, debitBiz("d1", "25.00", no), rc.srv.URL)
	if again.str("code") != "10000" || again.str("trade_no") != rep.str("trade_no") {
		t.Fatalf("repeat: %s", again.raw)
	}
	wantCode(t, e.debit(t, debitBiz("d1", "26.00", no), ""), tradePay, "40004", "ACQ.CONTEXT_INCONSISTENT")
	if got := e.sim.Agreements()[0]; got.Debits != 1 || got.Debited != 2500 {
		t.Fatalf("agreement after repeats: %+v", got)
	}
	if q := e.call(t, agrQuery, map[string]any{"agreement_no": no}); q.str("last_deduct_time") != "2026-11-21 10:00:00" {
		t.Fatalf("last_deduct_time: %s", q.raw)
	}
}

func TestAgreementDebitRefused(t *testing.T) {
	e := newEnv(t)
	no := e.sign(t, signReq("R1", "", nil))
	ended := e.sign(t, signReq("R2", "", nil))
	wantCode(t, e.call(t, agrUnsign, map[string]any{"agreement_no": ended}), agrUnsign, "10000", "")
	e.sim.SetAgreementBalance(no, false)

	tests := []struct {
		name          string
		biz           map[string]any
		code, subCode string
	}{
		{"Unknown", debitBiz("t1", "1.00", "20260000000000000000"), "40004", "ACQ.AGREEMENT_NOT_EXIST"},
		{"Unsigned", debitBiz("t2", "1.00", ended), "40004", "ACQ.AGREEMENT_INVALID"},
		{"NoBalance", debitBiz("t3", "1.00", no), "40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH"},
		{"OtherProduct", func() map[string]any {
			b := debitBiz("t4", "1.00", no)
			b["product_code"] = "CYCLE_PAY_AUTH"
			return b
		}(), "40004", "ACQ.AGREEMENT_NOT_EXIST"},
		{"NoAgreementParams", func() map[string]any {
			b := debitBiz("t5", "1.00", no)
			delete(b, "agreement_params")
			return b
		}(), "40002", "isv.missing-parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, e.debit(t, tt.biz, ""), tradePay, tt.code, tt.subCode)
			// A refused debit opens no trade.
			wantCode(t, e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": tt.biz["out_trade_no"]}), "alipay.trade.query", "40004", "ACQ.TRADE_NOT_EXIST")
		})
	}
	// With money again, the same order goes through.
	e.sim.SetAgreementBalance(no, true)
	if rep := e.debit(t, debitBiz("t3", "1.00", no), ""); rep.str("code") != "10000" {
		t.Fatalf("debit after the balance came back: %s", rep.raw)
	}
}

func TestAgreementUnsign(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	no := e.sign(t, signReq("U1", "", nil))
	r := request{method: agrUnsign, biz: map[string]any{"agreement_no": no}, extra: url.Values{"notify_url": {rc.srv.URL}}}
	e.clock.Add(time.Hour)
	wantCode(t, e.post(t, r), agrUnsign, "10000", "")
	waitFor(t, "the unsign notification", func() bool { return len(rc.received()) == 1 })
	wantNotice(t, rc.received()[0], map[string]string{"notify_type": "dut_user_unsign", "agreement_no": no, "status": "UNSIGN",
		"external_agreement_no": "U1", "unsign_time": "2026-11-21 11:00:00", "sign_time": "2026-11-21 10:00:00"})

	if q := e.call(t, agrQuery, map[string]any{"agreement_no": no}); q.str("code") != "10000" || q.str("status") != "UNSIGN" {
		t.Fatalf("query after unsign: %s", q.raw)
	}
	wantCode(t, e.debit(t, debitBiz("u1", "1.00", no), ""), tradePay, "40004", "ACQ.AGREEMENT_INVALID")

	// Unsigning again succeeds and tells nobody.
	wantCode(t, e.post(t, r), agrUnsign, "10000", "")
	time.Sleep(50 * time.Millisecond)
	if n := len(rc.received()); n != 1 {
		t.Fatalf("%d notifications after a second unsign", n)
	}
	wantCode(t, e.call(t, agrUnsign, map[string]any{"agreement_no": "20269999999999999999"}), agrUnsign, "40004", "USER_AGREEMENT_NOT_EXIST")
	wantCode(t, e.call(t, agrUnsign, map[string]any{}), agrUnsign, "40002", "isv.missing-parameter")

	// Signing the same external_agreement_no again makes a new agreement.
	renewed := e.sign(t, signReq("U1", "", nil))
	q := e.call(t, agrQuery, map[string]any{"external_agreement_no": "U1"})
	if renewed == no || q.str("agreement_no") != renewed || q.str("status") != "NORMAL" {
		t.Fatalf("re-signed %s (was %s): %s", renewed, no, q.raw)
	}
}

func TestAgreementUserUnsign(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	ctx := context.Background()
	no := e.sign(t, signReq("W1", rc.srv.URL, nil))
	if err := e.sim.UserUnsign(ctx, otherAppID, no); !errors.Is(err, alipaysim.ErrAgreementNotFound) {
		t.Fatalf("UserUnsign by another app: %v", err)
	}
	if err := e.sim.UserUnsign(ctx, appID, no); err != nil {
		t.Fatal(err)
	}
	got := rc.received()
	if len(got) != 2 {
		t.Fatalf("%d notifications, want sign and unsign", len(got))
	}
	wantNotice(t, got[1], map[string]string{"notify_type": "dut_user_unsign", "agreement_no": no, "status": "UNSIGN"})
	if err := e.sim.UserUnsign(ctx, appID, no); err != nil || len(rc.received()) != 2 {
		t.Fatalf("second UserUnsign: %v, %d notifications", err, len(rc.received()))
	}

	// The wallet page does the same.
	wallet := strings.TrimSuffix(e.gateway, "/gateway.do") + "/wallet/agreements"
	no2 := e.sign(t, signReq("W2", rc.srv.URL, nil))
	list := fetchPage(t)(http.Get(wallet))
	if list.status != http.StatusOK || !list.has(no) || !list.has(no2) {
		t.Fatalf("wallet list: %d %s", list.status, list.body)
	}
	one := fetchPage(t)(http.Get(wallet + "?agreement_no=" + no2))
	if one.id("status") != "NORMAL" || !one.has(`id="unsign"`) {
		t.Fatalf("wallet agreement page: %s", one.body)
	}
	done := fetchPage(t)(http.PostForm(wallet, url.Values{"agreement_no": {no2}, "action": {"unsign"}}))
	if done.status != http.StatusOK || done.id("status") != "UNSIGN" || done.has(`id="unsign"`) {
		t.Fatalf("after terminate: %d %s", done.status, done.body)
	}
	got = rc.received()
	if len(got) != 4 || got[3].Get("agreement_no") != no2 || got[3].Get("notify_type") != "dut_user_unsign" {
		t.Fatalf("notifications: %v", got)
	}
	if p := fetchPage(t)(http.Get(wallet + "?agreement_no=nope")); p.status != http.StatusNotFound {
		t.Fatalf("unknown agreement page: %d", p.status)
	}
}

func TestAgreementOtherApp(t *testing.T) {
	e := newEnvWith(t, func(o *alipaysim.Options) {
		o.Merchant = func(id string) (*rsa.PublicKey, bool) {
			switch id {
			case appID:
				return &merchantKey.PublicKey, true
			case otherAppID:
				return &otherKey.PublicKey, true
			}
			return nil, false
		}
	})
	no := e.sign(t, signReq("O1", "", nil))
	other := func(method string, biz map[string]any) reply {
		return e.post(t, request{method: method, biz: biz, key: otherKey, extra: url.Values{"app_id": {otherAppID}}})
	}
	wantCode(t, other(agrQuery, map[string]any{"agreement_no": no}), agrQuery, "40004", "USER_AGREEMENT_NOT_EXIST")
	wantCode(t, other(agrQuery, map[string]any{"external_agreement_no": "O1"}), agrQuery, "40004", "USER_AGREEMENT_NOT_EXIST")
	wantCode(t, other(agrUnsign, map[string]any{"agreement_no": no}), agrUnsign, "40004", "USER_AGREEMENT_NOT_EXIST")
	wantCode(t, other(tradePay, debitBiz("o1", "1.00", no)), tradePay, "40004", "ACQ.AGREEMENT_NOT_EXIST")
	if q := e.call(t, agrQuery, map[string]any{"agreement_no": no}); q.str("status") != "NORMAL" {
		t.Fatalf("the owner's view: %s", q.raw)
	}
}

func TestAgreementDuplicateExternalNo(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	first := e.sign(t, signReq("S1", rc.srv.URL, nil))
	// The page says so, and confirming it answers the same agreement.
	p := get(t, e.signURL(signReq("S1", rc.srv.URL, nil)))
	if !strings.Contains(p.body, `id="existing">`+first+`<`) {
		t.Fatalf("page does not show the existing agreement:\n%s", p.body)
	}
	resp := p.pressSign(t, "sign")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("agreement_no") != first {
		t.Fatalf("second page sign: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if again := e.sign(t, signReq("S1", rc.srv.URL, nil)); again != first {
		t.Fatalf("SignAgreement again = %s, want %s", again, first)
	}
	if n := len(e.sim.Agreements()); n != 1 || len(rc.received()) != 1 {
		t.Fatalf("%d agreements, %d notifications", n, len(rc.received()))
	}
	// Another external_agreement_no is another agreement.
	if other := e.sign(t, signReq("S2", "", nil)); other == first {
		t.Fatal("S2 got S1's agreement")
	}
}

func TestAgreementCycle(t *testing.T) {
	e := newEnv(t)
	r := signReq("C1", "", cycleRule("10.00", 2))
	p := get(t, e.signURL(r))
	for _, want := range []string{`id="product">周期扣款<`, `id="single_amount">10.00<`, `id="period">每 1 个月<`, `id="total_payments">2<`} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("signing page lacks %q:\n%s", want, p.body)
		}
	}
	no := e.sign(t, r)
	cycle := func(out, amount string) map[string]any {
		b := debitBiz(out, amount, no)
		b["product_code"] = "CYCLE_PAY_AUTH"
		return b
	}
	wantCode(t, e.debit(t, cycle("c0", "10.01"), ""), tradePay, "40004", "ACQ.CYCLE_PAY_SINGLE_FEE_EXCEED")
	wantCode(t, e.debit(t, debitBiz("c0", "1.00", no), ""), tradePay, "40004", "ACQ.AGREEMENT_NOT_EXIST")
	for _, out := range []string{"c1", "c2"} {
		if rep := e.debit(t, cycle(out, "10.00"), ""); rep.str("code") != "10000" {
			t.Fatalf("debit %s: %s", out, rep.raw)
		}
	}
	wantCode(t, e.debit(t, cycle("c3", "1.00"), ""), tradePay, "40004", "ACQ.CYCLE_PAY_TOTAL_TIMES_EXCEED")
	q := e.call(t, agrQuery, map[string]any{"agreement_no": no})
	if q.str("single_quota") != "10.00" || q.str("next_deduct_time") != "2027-02-01" || q.str("personal_product_code") != "CYCLE_PAY_AUTH_P" {
		t.Fatalf("cycle query: %s", q.raw)
	}
}

func TestAgreementValidity(t *testing.T) {
	e := newEnv(t)
	no := e.sign(t, signReq("V1", "", map[string]any{"sign_validity_period": "30d"}))
	if q := e.call(t, agrQuery, map[string]any{"agreement_no": no}); q.str("invalid_time") != "2026-12-21 10:00:00" {
		t.Fatalf("invalid_time: %s", q.raw)
	}
	e.clock.Add(31 * 24 * time.Hour)
	wantCode(t, e.debit(t, debitBiz("v1", "1.00", no), ""), tradePay, "40004", "ACQ.AGREEMENT_INVALID")
}

// TestSignAgreementAppLink signs through the app's link, the form an app
// hands the Alipay app (sign_params holds the encoded request).
func TestSignAgreementAppLink(t *testing.T) {
	e := newEnv(t)
	params := signReq("L1", "", nil).params(e.clock.Now()).Encode()
	link := "alipays://platformapi/startapp?appId=60000157&appClearTop=false&startMultApp=YES&sign_params=" + url.QueryEscape(params)
	for name, u := range map[string]string{"AppLink": link, "BareQuery": params} {
		t.Run(name, func(t *testing.T) {
			no, err := e.sim.SignAgreement(context.Background(), u)
			if err != nil || !noShape.MatchString(no) {
				t.Fatalf("SignAgreement: %q, %v", no, err)
			}
		})
	}
}

// TestAgreementSignFormPost: the official SDKs' pageExecute posts an
// auto-submitting form instead of a GET.
func TestAgreementSignFormPost(t *testing.T) {
	e := newEnv(t)
	resp, err := browser.PostForm(e.gateway, signReq("F1", "", nil).params(e.clock.Now()))
	p := fetch(t, resp, err)
	if resp := p.pressSign(t, "sign"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign answered %d", resp.StatusCode)
	}
	if a := e.sim.Agreements(); len(a) != 1 || a[0].ExternalAgreementNo != "F1" || a[0].Status != "NORMAL" {
		t.Fatalf("agreements: %+v", a)
	}
}
