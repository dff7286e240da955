package alipay_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		cfg     alipay.Config
		wantErr bool
	}{
		{"OKPKCS1", alipay.ChannelQR, alipay.Config{AppID: appID, PrivateKeyPEM: merchantPKCS1, AlipayPublicKeyPEM: platformPub}, false},
		{"OKPKCS8", alipay.ChannelWap, alipay.Config{AppID: appID, PrivateKeyPEM: merchantPKCS8, AlipayPublicKeyPEM: platformPub}, false},
		{"OKLite", alipay.ChannelLite, alipay.Config{AppID: appID, PrivateKeyPEM: merchantPKCS1, AlipayPublicKeyPEM: platformPub}, false},
		{"ErrNotAlipay", "wx_pub_qr", alipay.Config{AppID: appID, PrivateKeyPEM: merchantPKCS1, AlipayPublicKeyPEM: platformPub}, true},
		{"ErrNoAppID", alipay.ChannelQR, alipay.Config{PrivateKeyPEM: merchantPKCS1, AlipayPublicKeyPEM: platformPub}, true},
		{"ErrPrivateKey", alipay.ChannelQR, alipay.Config{AppID: appID, PrivateKeyPEM: "not a key", AlipayPublicKeyPEM: platformPub}, true},
		{"ErrPublicKey", alipay.ChannelQR, alipay.Config{AppID: appID, PrivateKeyPEM: merchantPKCS1, AlipayPublicKeyPEM: merchantPKCS1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := alipay.New(tt.channel, tt.cfg)
			if tt.wantErr {
				wantCode(t, err, polypay.EInvalid, "")
				return
			}
			if err != nil || c == nil {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

func TestCreateCharge(t *testing.T) {
	e := newEnv(t)
	first := e.create(t, charge("ch_repeat", 1234))
	tests := []struct {
		name     string
		conn     func() *alipay.Client
		charge   *polypay.Charge
		wantCred string // exact credential, or "" for any qr_code URL
		code     string // wanted error code
		chCode   string
	}{
		{"OK", nil, charge("ch_ok", 1), "", "", ""},
		{"OKRepeatSameTrade", nil, charge("ch_repeat", 1234), first, "", ""},
		{"ErrRepeatOtherAmount", nil, charge("ch_repeat", 1235), "", polypay.EChannel, "ACQ.CONTEXT_INCONSISTENT"},
		{"ErrCurrency", nil, func() *polypay.Charge { c := charge("ch_usd", 100); c.Currency = "usd"; return c }(), "", polypay.EInvalid, ""},
		{"ErrAmountZero", nil, charge("ch_zero", 0), "", polypay.EInvalid, ""},
		{"ErrNoSubject", nil, func() *polypay.Charge { c := charge("ch_nosub", 100); c.Subject = ""; return c }(), "", polypay.EInvalid, ""},
		{"ErrPastTimeExpire", nil, func() *polypay.Charge {
			c := charge("ch_past", 100)
			c.TimeExpire = e.clock.Now().Add(-time.Minute).Unix()
			return c
		}(), "", polypay.EChannel, "isv.invalid-parameter"},
		{"ErrWapWithoutSuccessURL", func() *alipay.Client {
			c, err := alipay.New(alipay.ChannelWap, alipay.Config{AppID: appID, PrivateKeyPEM: merchantPKCS1, AlipayPublicKeyPEM: platformPub, Gateway: e.gateway})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, charge("ch_wap", 100), "", polypay.EInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := e.conn
			if tt.conn != nil {
				conn = tt.conn()
			}
			cred, err := conn.CreateCharge(context.Background(), polypay.ChannelRequest{Charge: tt.charge, NotifyURL: e.notifyURL})
			if tt.code != "" {
				wantCode(t, err, tt.code, tt.chCode)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var qr string
			if err := json.Unmarshal(cred, &qr); err != nil || !strings.HasPrefix(qr, "https://qr.alipay.com/") {
				t.Fatalf("credential %s is not a JSON qr_code URL (%v)", cred, err)
			}
			if tt.wantCred != "" && string(cred) != tt.wantCred {
				t.Fatalf("credential %s, want %s", cred, tt.wantCred)
			}
		})
	}
}

func TestPayNotification(t *testing.T) {
	e := newEnv(t)
	ch := charge("ch_pay", 1234)
	e.paid(t, ch)
	got := e.notifications() // delivered synchronously by Pay
	if len(got) != 1 || got[0].err != nil {
		t.Fatalf("notifications: %+v", got)
	}
	trade, err := e.conn.QueryCharge(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	n := got[0].n
	want := polypay.Trade{
		State:         polypay.TradePaid,
		OutTradeNo:    ch.ID,
		TransactionNo: trade.TransactionNo,
		Amount:        1234,
		PaidAt:        e.clock.Now().Unix(),
	}
	if n.Kind != polypay.NotifyTrade || n.MerchantID != appID || n.ID == "" {
		t.Errorf("kind %d merchant %q id %q", n.Kind, n.MerchantID, n.ID)
	}
	if n.Trade.State != want.State || n.Trade.OutTradeNo != want.OutTradeNo || n.Trade.TransactionNo != want.TransactionNo ||
		n.Trade.Amount != want.Amount || n.Trade.PaidAt != want.PaidAt || want.TransactionNo == "" {
		t.Errorf("trade = %+v, want %+v", n.Trade, want)
	}
	if n.Trade.Extra["buyer_account"] == nil {
		t.Errorf("extra = %v, want buyer_account", n.Trade.Extra)
	}
	if ds := e.sim.Notifications(ch.ID); len(ds) != 1 || !ds[0].Acked {
		t.Errorf("sim deliveries %+v, want one acknowledged", ds)
	}
}

func TestQueryCharge(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		setup  func(t *testing.T, e *env, ch *polypay.Charge)
		state  polypay.TradeState
		paid   bool // PaidAt and buyer_account expected
		amount int64
	}{
		{"NotFound", func(*testing.T, *env, *polypay.Charge) {}, polypay.TradeNotFound, false, 0},
		{"Pending", func(t *testing.T, e *env, ch *polypay.Charge) { e.create(t, ch) }, polypay.TradePending, false, 500},
		{"PendingAfterFailedAttempt", func(t *testing.T, e *env, ch *polypay.Charge) {
			e.create(t, ch)
			if err := e.sim.Pay(ctx, appID, ch.ID, false); err != nil {
				t.Fatal(err)
			}
		}, polypay.TradePending, false, 500},
		{"Paid", func(t *testing.T, e *env, ch *polypay.Charge) { e.paid(t, ch) }, polypay.TradePaid, true, 500},
		{"Closed", func(t *testing.T, e *env, ch *polypay.Charge) {
			e.create(t, ch)
			if err := e.conn.CloseCharge(ctx, ch); err != nil {
				t.Fatal(err)
			}
		}, polypay.TradeClosed, false, 500},
		{"ClosedByTimeExpire", func(t *testing.T, e *env, ch *polypay.Charge) {
			ch.TimeExpire = e.clock.Now().Add(15 * time.Minute).Unix()
			e.create(t, ch)
			e.clock.Add(15 * time.Minute)
		}, polypay.TradeClosed, false, 500},
		{"ClosedByFullRefund", func(t *testing.T, e *env, ch *polypay.Charge) {
			e.paid(t, ch)
			if _, err := e.conn.Refund(ctx, ch, &polypay.Refund{OrderNo: "re_full", Amount: 500, Currency: "cny"}, ""); err != nil {
				t.Fatal(err)
			}
		}, polypay.TradeClosed, true, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ch := charge("ch_q_"+tt.name, 500)
			tt.setup(t, e, ch)
			got, err := e.conn.QueryCharge(ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tt.state || got.OutTradeNo != ch.ID || got.Amount != tt.amount {
				t.Fatalf("got %+v, want state %s amount %d", got, tt.state, tt.amount)
			}
			if paid := got.PaidAt != 0 && got.Extra["buyer_account"] != nil; paid != tt.paid {
				t.Fatalf("paid facts = %v (PaidAt %d, extra %v), want %v", paid, got.PaidAt, got.Extra, tt.paid)
			}
		})
	}
}

func TestCloseCharge(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, e *env, ch *polypay.Charge)
		code   string
		chCode string
	}{
		{"OKPending", func(t *testing.T, e *env, ch *polypay.Charge) { e.create(t, ch) }, "", ""},
		{"OKNeverCreated", func(*testing.T, *env, *polypay.Charge) {}, "", ""},
		{"OKAlreadyClosed", func(t *testing.T, e *env, ch *polypay.Charge) {
			e.create(t, ch)
			if err := e.conn.CloseCharge(context.Background(), ch); err != nil {
				t.Fatal(err)
			}
		}, "", ""},
		{"ErrPaid", func(t *testing.T, e *env, ch *polypay.Charge) { e.paid(t, ch) }, polypay.EChannel, "ACQ.TRADE_STATUS_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ch := charge("ch_c_"+tt.name, 100)
			tt.setup(t, e, ch)
			err := e.conn.CloseCharge(context.Background(), ch)
			if tt.code != "" {
				wantCode(t, err, tt.code, tt.chCode)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr, err := e.conn.QueryCharge(context.Background(), ch); err != nil || (tr.State != polypay.TradeClosed && tr.State != polypay.TradeNotFound) {
				t.Fatalf("after close: %+v %v", tr, err)
			}
		})
	}
}

func TestRefund(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ch := charge("ch_refund", 1000)
	e.paid(t, ch)
	refund := func(no string, amount int64) *polypay.Refund {
		return &polypay.Refund{OrderNo: no, Amount: amount, Currency: "cny"}
	}
	// Steps run in order against one charge.
	steps := []struct {
		name        string
		refund      *polypay.Refund
		status      polypay.RefundStatus
		failureCode string
		errCode     string
		state       polypay.TradeState // trade state afterwards
	}{
		{"OKPartial", refund("re_1", 300), polypay.RefundSucceeded, "", "", polypay.TradePaid},
		{"OKRepeatSameRefund", refund("re_1", 300), polypay.RefundSucceeded, "", "", polypay.TradePaid},
		{"FailedOverRefund", refund("re_2", 701), polypay.RefundFailed, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "", polypay.TradePaid},
		{"ErrCurrency", &polypay.Refund{OrderNo: "re_3", Amount: 100, Currency: "usd"}, "", "", polypay.EInvalid, polypay.TradePaid},
		{"OKRestIsFullRefund", refund("re_4", 700), polypay.RefundSucceeded, "", "", polypay.TradeClosed},
		{"OKRepeatAfterFullRefund", refund("re_1", 300), polypay.RefundSucceeded, "", "", polypay.TradeClosed},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			res, err := e.conn.Refund(ctx, ch, s.refund, "https://unused.example/notify")
			if s.errCode != "" {
				wantCode(t, err, s.errCode, "")
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if res.Status != s.status || res.FailureCode != s.failureCode {
					t.Fatalf("got %+v, want %s %q", res, s.status, s.failureCode)
				}
				if s.status == polypay.RefundFailed && res.FailureMsg == "" {
					t.Fatal("failed refund without failure_msg")
				}
			}
			if tr, err := e.conn.QueryCharge(ctx, ch); err != nil || tr.State != s.state {
				t.Fatalf("trade after refund: %+v %v, want %s", tr, err, s.state)
			}
		})
	}
	t.Run("NeverRefundedMoreThanPaid", func(t *testing.T) {
		// The repeated re_1 must not have moved money twice: the last
		// refund notification reports the cumulative refund_fee.
		waitFor(t, "refund notifications", func() bool { return len(e.notifications()) == 3 })
		var max int64
		for _, r := range e.notifications() {
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.n.Kind == polypay.NotifyRefund && r.n.RefundTotal > max {
				max = r.n.RefundTotal
			}
		}
		if max != 1000 {
			t.Fatalf("cumulative refund_fee %d, want 1000", max)
		}
	})
	queries := []struct {
		name   string
		refund *polypay.Refund
		status polypay.RefundStatus
	}{
		{"QueryKnown", refund("re_1", 300), polypay.RefundSucceeded},
		{"QueryFailedIsPending", refund("re_2", 701), polypay.RefundPending},
		{"QueryUnknownIsPending", refund("re_x", 1), polypay.RefundPending},
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			res, err := e.conn.QueryRefund(ctx, ch, q.refund)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != q.status {
				t.Fatalf("status %s, want %s", res.Status, q.status)
			}
			if q.status == polypay.RefundSucceeded && (res.SucceededAt == 0 || res.TransactionNo == "") {
				t.Fatalf("succeeded refund without time or trade_no: %+v", res)
			}
		})
	}
	t.Run("ErrQueryOtherAmount", func(t *testing.T) {
		// re_1 refunded 300; a refund record claiming 301 must not be
		// confirmed by it.
		if _, err := e.conn.QueryRefund(ctx, ch, refund("re_1", 301)); err == nil {
			t.Fatal("QueryRefund confirmed a refund of another amount")
		}
	})
}

func TestRefundNotification(t *testing.T) {
	e := newEnv(t)
	ch := charge("ch_rn", 1000)
	e.paid(t, ch)
	for _, r := range []*polypay.Refund{{OrderNo: "rn_1", Amount: 400, Currency: "cny"}, {OrderNo: "rn_2", Amount: 600, Currency: "cny"}} {
		want := len(e.notifications()) + 1
		if _, err := e.conn.Refund(context.Background(), ch, r, ""); err != nil {
			t.Fatal(err)
		}
		// Wait for each before the next: deliveries from goroutines may
		// otherwise arrive in either order.
		waitFor(t, "refund notification "+r.OrderNo, func() bool { return len(e.notifications()) == want })
	}
	got := e.notifications()[1:]
	tests := []struct {
		name     string
		refundNo string
		total    int64
		state    polypay.TradeState
	}{
		{"Partial", "rn_1", 400, polypay.TradePaid},
		{"Full", "rn_2", 1000, polypay.TradeClosed},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := got[i]
			if r.err != nil {
				t.Fatal(r.err)
			}
			n := r.n
			if n.Kind != polypay.NotifyRefund || n.RefundNo != tt.refundNo || n.RefundTotal != tt.total ||
				n.Trade.State != tt.state || n.Trade.Amount != 1000 || n.RefundAt != e.clock.Now().Unix() {
				t.Fatalf("got %+v", n)
			}
		})
	}
}

func TestNotificationRetried(t *testing.T) {
	e := newEnv(t, withRetry(20*time.Millisecond, 20*time.Millisecond))
	e.answers = []bool{false, true} // the merchant fails the first delivery
	ch := charge("ch_retry", 100)
	e.paid(t, ch)
	waitFor(t, "the retry", func() bool { return len(e.notifications()) == 2 })
	time.Sleep(60 * time.Millisecond) // an acknowledged notification is not sent again
	ds := e.sim.Notifications(ch.ID)
	if len(ds) != 2 || ds[0].Acked || !ds[1].Acked || ds[0].Reply != "fail" || ds[1].Reply != "success" {
		t.Fatalf("deliveries %+v, want fail then success", ds)
	}
	got := e.notifications()
	if len(got) != 2 || got[0].err != nil || got[1].err != nil || got[0].n.ID != got[1].n.ID {
		t.Fatalf("notifications %+v: want the same notification twice", got)
	}
}

func TestSignatures(t *testing.T) {
	e := newEnv(t)
	ch := charge("ch_sig", 100)
	e.create(t, ch)
	tests := []struct {
		name  string
		conn  *alipay.Client
		check func(t *testing.T, err error)
	}{
		{"ErrResponseSignature", newConn(t, e.gateway, merchantPKCS1, otherPub), func(t *testing.T, err error) {
			if !errors.Is(err, polypay.ErrBadSignature) {
				t.Fatalf("%v, want ErrBadSignature", err)
			}
		}},
		{"ErrRequestSignature", newConn(t, e.gateway, string(pemPKCS1(otherKey)), platformPub), func(t *testing.T, err error) {
			wantCode(t, err, polypay.EChannel, "isv.invalid-signature")
		}},
		{"OK", e.conn, func(t *testing.T, err error) {
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.conn.QueryCharge(context.Background(), ch)
			tt.check(t, err)
		})
	}
}

func TestAck(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
		body string
	}{
		{"OK", true, "success"},
		{"Retry", false, "fail"},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			e.conn.Ack(tt.ok).WriteResponse(w)
			if w.Code != 200 || w.Body.String() != tt.body {
				t.Fatalf("got %d %q, want 200 %q", w.Code, w.Body.String(), tt.body)
			}
		})
	}
}

// stubGateway answers each method with a scripted response value, signed
// with the platform key unless the script says otherwise. It covers answers
// the simulator never gives (fund_change N for a refund that did not
// happen, 20000, unsigned or tampered responses).
type stubAnswer struct {
	value  string // the *_response JSON value
	sign   bool
	tamper bool // sign, then change the value
}

func stubGateway(t *testing.T, answers map[string]stubAnswer) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
			return
		}
		method := r.PostForm.Get("method")
		a, ok := answers[method]
		if !ok {
			t.Errorf("unexpected call %s", method)
			http.Error(w, "unexpected", http.StatusNotFound)
			return
		}
		out := `{"` + strings.ReplaceAll(method, ".", "_") + `_response":` + a.value
		if a.sign {
			d := sha256.Sum256([]byte(a.value))
			sig, err := rsa.SignPKCS1v15(rand.Reader, platformKey, crypto.SHA256, d[:])
			if err != nil {
				t.Error(err)
			}
			if a.tamper {
				out = strings.Replace(out, `"Y"`, `"N"`, 1)
				out = strings.Replace(out, `"0.00"`, `"9.99"`, 1)
			}
			out += `,"sign":"` + base64.StdEncoding.EncodeToString(sig) + `"`
		}
		_, _ = io.WriteString(w, out+"}")
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/gateway.do"
}

func TestRefundOutcomes(t *testing.T) {
	const (
		refundN       = `{"code":"10000","msg":"Success","trade_no":"2026112122001","out_trade_no":"ch_x","fund_change":"N","refund_fee":"0.00"}`
		refundY       = `{"code":"10000","msg":"Success","trade_no":"2026112122001","out_trade_no":"ch_x","fund_change":"Y","refund_fee":"1.00"}`
		queryNoStatus = `{"code":"10000","msg":"Success","trade_no":"2026112122001","out_trade_no":"ch_x","out_request_no":"re_x"}`
		querySuccess  = `{"code":"10000","msg":"Success","trade_no":"2026112122001","out_trade_no":"ch_x","out_request_no":"re_x","refund_amount":"1.00","refund_status":"REFUND_SUCCESS","gmt_refund_pay":"2026-11-21 10:00:00"}`
		unknown       = `{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}`
		systemError   = `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR","sub_msg":"系统错误"}`
		refused       = `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SELLER_BALANCE_NOT_ENOUGH","sub_msg":"卖家余额不足"}`
	)
	tests := []struct {
		name    string
		answers map[string]stubAnswer
		status  polypay.RefundStatus // wanted result, or "" for an error
		check   func(t *testing.T, err error)
	}{
		{"FundChangeNNotRefundedIsPending", map[string]stubAnswer{
			"alipay.trade.refund":               {refundN, true, false},
			"alipay.trade.fastpay.refund.query": {queryNoStatus, true, false},
		}, polypay.RefundPending, nil},
		{"FundChangeNConfirmedByQuery", map[string]stubAnswer{
			"alipay.trade.refund":               {refundN, true, false},
			"alipay.trade.fastpay.refund.query": {querySuccess, true, false},
		}, polypay.RefundSucceeded, nil},
		{"RefusedIsFailed", map[string]stubAnswer{"alipay.trade.refund": {refused, true, false}}, polypay.RefundFailed, nil},
		{"ErrUnknownOutcomeRetryable", map[string]stubAnswer{"alipay.trade.refund": {unknown, true, false}}, "", func(t *testing.T, err error) {
			if err == nil || polypay.ErrorCode(err) != polypay.EInternal {
				t.Fatalf("%v: want a plain (retryable) error", err)
			}
		}},
		{"ErrSystemErrorRetryable", map[string]stubAnswer{"alipay.trade.refund": {systemError, true, false}}, "", func(t *testing.T, err error) {
			if err == nil || polypay.ErrorCode(err) != polypay.EInternal {
				t.Fatalf("%v: want a plain (retryable) error", err)
			}
		}},
		{"ErrUnsignedSuccess", map[string]stubAnswer{"alipay.trade.refund": {refundY, false, false}}, "", func(t *testing.T, err error) {
			if !errors.Is(err, polypay.ErrBadSignature) {
				t.Fatalf("%v: want ErrBadSignature", err)
			}
		}},
		{"ErrTamperedResponse", map[string]stubAnswer{"alipay.trade.refund": {refundY, true, true}}, "", func(t *testing.T, err error) {
			if !errors.Is(err, polypay.ErrBadSignature) {
				t.Fatalf("%v: want ErrBadSignature", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := newConn(t, stubGateway(t, tt.answers), merchantPKCS1, platformPub)
			res, err := conn.Refund(context.Background(), charge("ch_x", 100), &polypay.Refund{OrderNo: "re_x", Amount: 100, Currency: "cny"}, "")
			if tt.check != nil {
				tt.check(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status {
				t.Fatalf("status %s, want %s (%+v)", res.Status, tt.status, res)
			}
		})
	}
}
