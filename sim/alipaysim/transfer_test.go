package alipaysim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/alipaysim"
)

const (
	methodTransfer = "alipay.fund.trans.uni.transfer"
	methodQuery    = "alipay.fund.trans.common.query"
)

// transferBiz is a uni.transfer to p by logon id (or user id), amount in
// yuan.
func transferBiz(outBizNo, amount string, p alipaysim.Payee, byUserID bool) map[string]any {
	info := map[string]any{"identity": p.LogonID, "identity_type": "ALIPAY_LOGON_ID", "name": p.Name}
	if byUserID {
		info = map[string]any{"identity": p.UserID, "identity_type": "ALIPAY_USER_ID"}
	}
	return map[string]any{"out_biz_no": outBizNo, "trans_amount": amount, "product_code": "TRANS_ACCOUNT_NO_PWD",
		"biz_scene": "DIRECT_TRANSFER", "order_title": "佣金", "payee_info": info}
}

// transfer sends a uni.transfer with notify_url.
func (e *env) transfer(t *testing.T, biz map[string]any, notifyURL string) reply {
	t.Helper()
	r := request{method: methodTransfer, biz: biz}
	if notifyURL != "" {
		r.extra = url.Values{"notify_url": {notifyURL}}
	}
	return e.post(t, r)
}

func (e *env) queryTransfer(t *testing.T, outBizNo string) reply {
	t.Helper()
	return e.call(t, methodQuery, map[string]any{"out_biz_no": outBizNo, "product_code": "TRANS_ACCOUNT_NO_PWD", "biz_scene": "DIRECT_TRANSFER"})
}

func wantStatus(t *testing.T, rep reply, status string) {
	t.Helper()
	if rep.str("code") != "10000" || rep.str("status") != status {
		t.Fatalf("answer %s, want 10000 %s", rep.raw, status)
	}
}

func TestTransferRefused(t *testing.T) {
	over := alipaysim.SandboxPayeeUnverified
	tests := []struct {
		name          string
		biz           func() map[string]any
		funds         int64 // 0 keeps the default
		code, subCode string
	}{
		{"ErrMissingOutBizNo", func() map[string]any {
			b := transferBiz("x", "1.00", alipaysim.SandboxPayee, false)
			delete(b, "out_biz_no")
			return b
		}, 0, "40002", "isv.missing-parameter"},
		{"ErrProductCode", func() map[string]any {
			b := transferBiz("x", "1.00", alipaysim.SandboxPayee, false)
			b["product_code"] = "STD_RED_PACKET"
			return b
		}, 0, "40002", "isv.invalid-parameter"},
		{"ErrLogonIDWithoutName", func() map[string]any {
			b := transferBiz("x", "1.00", alipaysim.SandboxPayee, false)
			delete(b["payee_info"].(map[string]any), "name")
			return b
		}, 0, "40002", "isv.missing-parameter"},
		{"ErrAmount", func() map[string]any { return transferBiz("x", "1.001", alipaysim.SandboxPayee, false) }, 0, "40002", "isv.invalid-parameter"},
		{"ErrBelowMinimum", func() map[string]any { return transferBiz("x", "0.09", alipaysim.SandboxPayee, false) }, 0, "40004", "EXCEED_LIMIT_SM_MIN_AMOUNT"},
		{"ErrUnknownPayee", func() map[string]any {
			return transferBiz("x", "1.00", alipaysim.Payee{LogonID: "nobody@sandbox.com", Name: "某人"}, false)
		}, 0, "40004", "PAYEE_NOT_EXIST"},
		{"ErrUserIDAsLogonID", func() map[string]any {
			b := transferBiz("x", "1.00", alipaysim.SandboxPayee, false)
			b["payee_info"].(map[string]any)["identity"] = alipaysim.SandboxPayee.UserID
			return b
		}, 0, "40004", "PAYEE_NOT_EXIST"},
		{"ErrNameMismatch", func() map[string]any {
			p := alipaysim.SandboxPayeePhone
			p.Name = "李四"
			return transferBiz("x", "1.00", p, false)
		}, 0, "40004", "PAYEE_USER_INFO_ERROR"},
		{"ErrUnverifiedDailyLimit", func() map[string]any { return transferBiz("x", "1000.01", over, true) }, 0, "40004", "EXCEED_LIMIT_UNRN_DM_AMOUNT"},
		{"ErrBalance", func() map[string]any { return transferBiz("x", "1.00", alipaysim.SandboxPayee, false) }, 99, "40004", "PAYER_BALANCE_NOT_ENOUGH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.funds != 0 {
				e.sim.SetFunds(appID, tt.funds)
			}
			before := e.sim.Funds(appID)
			wantCode(t, e.transfer(t, tt.biz(), ""), methodTransfer, tt.code, tt.subCode)
			if got := e.sim.Payouts(); len(got) != 0 {
				t.Fatalf("a refused transfer left orders %+v", got)
			}
			if got := e.sim.Funds(appID); got != before {
				t.Fatalf("funds %d after a refused transfer, want %d", got, before)
			}
			wantCode(t, e.queryTransfer(t, "x"), methodQuery, "40004", "ORDER_NOT_EXIST")
		})
	}
}

// TestTransferDecidedOnQuery: a transfer is DEALING with its money taken;
// the query decides it, and the signed order.changed message follows.
func TestTransferDecidedOnQuery(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	rep := e.transfer(t, transferBiz("tb1", "12.34", alipaysim.SandboxPayee, false), rc.srv.URL)
	wantStatus(t, rep, "DEALING")
	if rep.str("order_id") == "" || rep.str("pay_fund_order_id") == "" || rep.str("out_biz_no") != "tb1" || rep.fields["trans_date"] != nil {
		t.Fatalf("uni.transfer answer %s", rep.raw)
	}
	if got, want := e.sim.Funds(appID), int64(alipaysim.DefaultFunds-1234); got != want {
		t.Fatalf("funds %d after an accepted transfer, want %d", got, want)
	}
	if n := len(rc.received()); n != 0 {
		t.Fatalf("%d messages before the transfer was decided", n)
	}
	q := e.queryTransfer(t, "tb1")
	wantStatus(t, q, "SUCCESS")
	if q.str("order_id") != rep.str("order_id") || q.str("trans_amount") != "12.34" || q.str("pay_date") != "2026-11-21 10:00:00" {
		t.Fatalf("query answer %s", q.raw)
	}
	waitFor(t, "the order.changed message", func() bool { return len(rc.received()) == 1 })
	v := rc.received()[0]
	if err := testVerify(&platformKey.PublicKey, "RSA2", testContent(v, "sign", "sign_type"), v.Get("sign")); err != nil {
		t.Fatalf("message signature: %v", err)
	}
	for k, want := range map[string]string{"msg_method": "alipay.fund.trans.order.changed", "app_id": appID, "version": "1.1", "sign_type": "RSA2"} {
		if v.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, v.Get(k), want)
		}
	}
	var biz map[string]string
	if err := json.Unmarshal([]byte(v.Get("biz_content")), &biz); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"out_biz_no": "tb1", "order_id": rep.str("order_id"), "status": "SUCCESS", "trans_amount": "12.34",
		"product_code": "TRANS_ACCOUNT_NO_PWD", "biz_scene": "DIRECT_TRANSFER", "pay_date": "2026-11-21 10:00:00"} {
		if biz[k] != want {
			t.Errorf("biz_content %s = %q, want %q", k, biz[k], want)
		}
	}
	e.queryTransfer(t, "tb1") // asking again decides nothing twice
	time.Sleep(20 * time.Millisecond)
	if n := len(rc.received()); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	if d := e.sim.PayoutNotifications("tb1"); len(d) != 1 || !d[0].Acked || d[0].PayoutStatus != "SUCCESS" {
		t.Fatalf("delivery log %+v", d)
	}
	p := e.sim.Payouts()
	if len(p) != 1 || p[0].Status != "SUCCESS" || p[0].Amount != 1234 || p[0].PayeeUserID != alipaysim.SandboxPayee.UserID {
		t.Fatalf("books %+v", p)
	}
}

// TestTransferRepeat: the same out_biz_no pays once; with other
// parameters it is refused.
func TestTransferRepeat(t *testing.T) {
	e := newEnv(t)
	first := e.transfer(t, transferBiz("tr1", "5.00", alipaysim.SandboxPayee, false), "")
	again := e.transfer(t, transferBiz("tr1", "5.00", alipaysim.SandboxPayee, false), "")
	wantStatus(t, again, "DEALING")
	if again.str("order_id") != first.str("order_id") {
		t.Fatalf("repeat opened order %s, first %s", again.str("order_id"), first.str("order_id"))
	}
	wantCode(t, e.transfer(t, transferBiz("tr1", "5.01", alipaysim.SandboxPayee, false), ""), methodTransfer, "40004", "PAYMENT_INFO_INCONSISTENCY")
	wantCode(t, e.transfer(t, transferBiz("tr1", "5.00", alipaysim.SandboxPayeePhone, false), ""), methodTransfer, "40004", "PAYMENT_INFO_INCONSISTENCY")
	wantStatus(t, e.queryTransfer(t, "tr1"), "SUCCESS")
	wantStatus(t, e.transfer(t, transferBiz("tr1", "5.00", alipaysim.SandboxPayee, false), ""), "SUCCESS")
	if got, want := e.sim.Funds(appID), int64(alipaysim.DefaultFunds-500); got != want {
		t.Fatalf("funds %d, want %d: paid more than once", got, want)
	}
	if p := e.sim.Payouts(); len(p) != 1 {
		t.Fatalf("books %+v, want one order", p)
	}
}

// TestTransferFails: a frozen payee's transfer, or one decided to fail,
// ends FAIL with the money back.
func TestTransferFails(t *testing.T) {
	tests := []struct {
		name   string
		payee  alipaysim.Payee
		decide func(e *env) // nil: the query decides
	}{
		{"FrozenPayee", alipaysim.SandboxPayeeFrozen, nil},
		{"DecidedFail", alipaysim.SandboxPayee, func(e *env) {
			if err := e.sim.DecidePayout(context.Background(), appID, "tf1", true); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rc := newReceiver(t, "success")
			wantStatus(t, e.transfer(t, transferBiz("tf1", "3.00", tt.payee, true), rc.srv.URL), "DEALING")
			if tt.decide != nil {
				tt.decide(e)
			}
			q := e.queryTransfer(t, "tf1")
			wantStatus(t, q, "FAIL")
			if q.str("error_code") != "PAYEE_ACCOUNT_STATUS_ERROR" || q.str("fail_reason") == "" || q.fields["pay_date"] != nil {
				t.Fatalf("query answer %s", q.raw)
			}
			if got := e.sim.Funds(appID); got != alipaysim.DefaultFunds {
				t.Fatalf("funds %d after a failed transfer, want them all back", got)
			}
			waitFor(t, "the FAIL message", func() bool { return len(rc.received()) == 1 })
			var biz map[string]string
			if err := json.Unmarshal([]byte(rc.received()[0].Get("biz_content")), &biz); err != nil || biz["status"] != "FAIL" || biz["error_code"] != "PAYEE_ACCOUNT_STATUS_ERROR" {
				t.Fatalf("message biz_content %v %v", biz, err)
			}
		})
	}
}

// TestTransferHold: with HoldPayouts a query leaves the transfer DEALING;
// DecidePayout decides it once.
func TestTransferHold(t *testing.T) {
	e := newEnvWith(t, func(o *alipaysim.Options) { o.HoldPayouts = true; o.Retry = []time.Duration{time.Hour} })
	wantStatus(t, e.transfer(t, transferBiz("th1", "1.00", alipaysim.SandboxPayee, false), ""), "DEALING")
	wantStatus(t, e.queryTransfer(t, "th1"), "DEALING")
	if err := e.sim.DecidePayout(context.Background(), appID, "th1", false); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.queryTransfer(t, "th1"), "SUCCESS")
	if err := e.sim.DecidePayout(context.Background(), appID, "th1", true); !errors.Is(err, alipaysim.ErrPayoutDecided) {
		t.Fatalf("deciding again = %v, want ErrPayoutDecided", err)
	}
	if err := e.sim.DecidePayout(context.Background(), appID, "nope", false); !errors.Is(err, alipaysim.ErrPayoutNotFound) {
		t.Fatalf("deciding an unknown transfer = %v, want ErrPayoutNotFound", err)
	}
}

func TestTransferInstant(t *testing.T) {
	e := newEnvWith(t, func(o *alipaysim.Options) { o.InstantPayouts = true; o.Retry = []time.Duration{time.Hour} })
	rc := newReceiver(t, "success")
	rep := e.transfer(t, transferBiz("ti1", "1.00", alipaysim.SandboxPayee, false), rc.srv.URL)
	wantStatus(t, rep, "SUCCESS")
	if rep.str("trans_date") == "" {
		t.Fatalf("a paid transfer without trans_date: %s", rep.raw)
	}
	waitFor(t, "the message", func() bool { return len(rc.received()) == 1 })
}

// TestTransferDailyLimit: an unverified payee takes 1,000.00 yuan a day,
// across apps' transfers, and more the next day.
func TestTransferDailyLimit(t *testing.T) {
	e := newEnv(t)
	p := alipaysim.SandboxPayeeUnverified
	wantStatus(t, e.transfer(t, transferBiz("td1", "600.00", p, true), ""), "DEALING")
	wantStatus(t, e.transfer(t, transferBiz("td2", "400.00", p, true), ""), "DEALING")
	wantCode(t, e.transfer(t, transferBiz("td3", "0.10", p, true), ""), methodTransfer, "40004", "EXCEED_LIMIT_UNRN_DM_AMOUNT")
	e.clock.Add(24 * time.Hour)
	wantStatus(t, e.transfer(t, transferBiz("td3", "0.10", p, true), ""), "DEALING")
}

func TestTransferQueryRefused(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.transfer(t, transferBiz("tq1", "1.00", alipaysim.SandboxPayee, false), ""), "DEALING")
	tests := []struct {
		name          string
		biz           map[string]any
		code, subCode string
	}{
		{"ErrNoProductCode", map[string]any{"out_biz_no": "tq1", "biz_scene": "DIRECT_TRANSFER"}, "40002", "isv.missing-parameter"},
		{"ErrNoNumber", map[string]any{"product_code": "TRANS_ACCOUNT_NO_PWD", "biz_scene": "DIRECT_TRANSFER"}, "40002", "isv.missing-parameter"},
		{"ErrOtherProduct", map[string]any{"out_biz_no": "tq1", "product_code": "STD_RED_PACKET", "biz_scene": "DIRECT_TRANSFER"}, "40004", "ORDER_NOT_EXIST"},
		{"ErrUnknownOrderID", map[string]any{"order_id": "20261121110070000000000000000000"}, "40004", "ORDER_NOT_EXIST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, e.call(t, methodQuery, tt.biz), methodQuery, tt.code, tt.subCode)
		})
	}
	if p := e.sim.Payouts(); len(p) != 1 || p[0].Status != "DEALING" {
		t.Fatalf("refused queries decided the transfer: %+v", p)
	}
}

func TestAccountQuery(t *testing.T) {
	e := newEnv(t)
	e.sim.SetFunds(appID, 123456)
	rep := e.call(t, "alipay.fund.account.query", map[string]any{"alipay_user_id": e.sim.PartnerID(appID), "account_type": "ACCTRANS_ACCOUNT"})
	if rep.str("code") != "10000" || rep.str("available_amount") != "1234.56" {
		t.Fatalf("account query %s", rep.raw)
	}
	wantCode(t, e.call(t, "alipay.fund.account.query", map[string]any{"alipay_user_id": "2088000000000000"}),
		"alipay.fund.account.query", "40004", "PERMIT_CHECK_PERM_LIMITED")
}

// TestFundDesk drives the top-up and decide endpoints over HTTP, mounted
// under a prefix as a polypay node serves them.
func TestFundDesk(t *testing.T) {
	e := newEnv(t)
	base := strings.TrimSuffix(e.gateway, "/gateway.do")
	post := func(path string, form url.Values) (int, map[string]string) {
		t.Helper()
		res, err := http.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		return decodeDesk(t, res)
	}
	e.sim.SetFunds(appID, 0)
	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
		want   map[string]string
	}{
		{"TopUp", "/fund/topup", url.Values{"app_id": {appID}, "amount": {"500.5"}}, 200, map[string]string{"app_id": appID, "available_amount": "500.50"}},
		{"TopUpAgain", "/fund/topup", url.Values{"app_id": {appID}, "amount": {"0.50"}}, 200, map[string]string{"available_amount": "501.00"}},
		{"ErrTopUpAmount", "/fund/topup", url.Values{"app_id": {appID}, "amount": {"-1"}}, 400, nil},
		{"ErrTopUpZero", "/fund/topup", url.Values{"app_id": {appID}, "amount": {"0"}}, 400, nil},
		{"ErrNoApp", "/fund/topup", url.Values{"amount": {"1"}}, 400, nil},
		{"ErrDecideUnknown", "/fund/decide", url.Values{"app_id": {appID}, "out_biz_no": {"none"}}, 404, nil},
		{"ErrDecideOutcome", "/fund/decide", url.Values{"app_id": {appID}, "out_biz_no": {"none"}, "outcome": {"maybe"}}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, got := post(tt.path, tt.form)
			if status != tt.status {
				t.Fatalf("status %d %v, want %d", status, got, tt.status)
			}
			for k, want := range tt.want {
				if got[k] != want {
					t.Fatalf("%s = %q, want %q", k, got[k], want)
				}
			}
		})
	}
	t.Run("Balance", func(t *testing.T) {
		res, err := http.Get(base + "/fund?app_id=" + appID)
		if err != nil {
			t.Fatal(err)
		}
		if status, got := decodeDesk(t, res); status != 200 || got["available_amount"] != "501.00" {
			t.Fatalf("balance %d %v", status, got)
		}
	})
	t.Run("Decide", func(t *testing.T) {
		wantStatus(t, e.transfer(t, transferBiz("fd1", "1.00", alipaysim.SandboxPayee, false), ""), "DEALING")
		if status, got := post("/fund/decide", url.Values{"app_id": {appID}, "out_biz_no": {"fd1"}, "outcome": {"fail"}}); status != 200 || got["status"] != "FAIL" {
			t.Fatalf("decide %d %v", status, got)
		}
		if status, _ := post("/fund/decide", url.Values{"app_id": {appID}, "out_biz_no": {"fd1"}}); status != http.StatusConflict {
			t.Fatalf("deciding again: %d, want 409", status)
		}
		if got := e.sim.Funds(appID); got != 50100 {
			t.Fatalf("funds %d after a failed transfer, want 50100", got)
		}
	})
	t.Run("ErrMethod", func(t *testing.T) {
		res, err := http.Get(base + "/fund/topup?app_id=" + appID + "&amount=1")
		if err != nil {
			t.Fatal(err)
		}
		if status, _ := decodeDesk(t, res); status != http.StatusMethodNotAllowed {
			t.Fatalf("GET top-up: %d, want 405", status)
		}
	})
}

func decodeDesk(t *testing.T, res *http.Response) (int, map[string]string) {
	t.Helper()
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("fund desk answered %d %q: %v", res.StatusCode, body, err)
	}
	return res.StatusCode, m
}

func TestAddPayee(t *testing.T) {
	e := newEnvWith(t, func(o *alipaysim.Options) { o.Payees = []alipaysim.Payee{}; o.Retry = []time.Duration{time.Hour} })
	wantCode(t, e.transfer(t, transferBiz("ta1", "1.00", alipaysim.SandboxPayee, false), ""), methodTransfer, "40004", "PAYEE_NOT_EXIST")
	tests := []struct {
		name string
		p    alipaysim.Payee
		ok   bool
	}{
		{"OK", alipaysim.SandboxPayee, true},
		{"ErrTaken", alipaysim.SandboxPayee, false},
		{"ErrUserID", alipaysim.Payee{UserID: "2089000000000000", Name: "x"}, false},
		{"ErrNoName", alipaysim.Payee{UserID: "2088000000000099"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.sim.AddPayee(tt.p); (err == nil) != tt.ok {
				t.Fatalf("AddPayee = %v, want ok %v", err, tt.ok)
			}
		})
	}
	wantStatus(t, e.transfer(t, transferBiz("ta1", "1.00", alipaysim.SandboxPayee, false), ""), "DEALING")
}
