package wechatsim_test

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/wechatsim"
)

func TestRequestRejected(t *testing.T) {
	e := newEnv(t)
	e.native(t, "existing_1", 100, "https://merchant.example/notify")
	body := order("rej_000001", 100, "https://merchant.example/notify")
	with := func(k string, v any) map[string]any {
		m := order("rej_000001", 100, "https://merchant.example/notify")
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	garbage := "Bearer abc"
	noSig := `WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="n",timestamp="1",serial_no="` + serial + `"`
	native := "/v3/pay/transactions/native"
	tests := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"ErrTamperedBody", request{method: "POST", path: native, body: body, tamper: func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"total":100`, `"total":1`, 1))
		}}, 401, "SIGN_ERROR"},
		{"ErrOtherKey", request{method: "POST", path: native, body: body, key: otherKey}, 401, "SIGN_ERROR"},
		{"ErrWrongSerial", request{method: "POST", path: native, body: body, serial: "0000"}, 401, "SIGN_ERROR"},
		{"ErrUnknownMerchant", request{method: "POST", path: native, body: body, mchid: "1900009999"}, 401, "SIGN_ERROR"},
		{"ErrStaleTimestamp", request{method: "POST", path: native, body: body, skew: -6 * time.Minute}, 401, "SIGN_ERROR"},
		{"ErrFutureTimestamp", request{method: "POST", path: native, body: body, skew: 6 * time.Minute}, 401, "SIGN_ERROR"},
		{"ErrOtherURLSigned", request{method: "GET", path: "/v3/pay/transactions/out-trade-no/existing_1?mchid=" + mchid,
			signPath: "/v3/pay/transactions/out-trade-no/existing_2?mchid=" + mchid}, 401, "SIGN_ERROR"},
		{"ErrOtherScheme", request{method: "POST", path: native, body: body, auth: &garbage}, 401, "SIGN_ERROR"},
		{"ErrNoSignature", request{method: "POST", path: native, body: body, auth: &noSig}, 401, "SIGN_ERROR"},
		{"ErrNoDescription", request{method: "POST", path: native, body: with("description", nil)}, 400, "PARAM_ERROR"},
		{"ErrZeroAmount", request{method: "POST", path: native, body: with("amount", map[string]any{"total": 0})}, 400, "PARAM_ERROR"},
		{"ErrFractionalAmount", request{method: "POST", path: native, body: with("amount", map[string]any{"total": 1.5})}, 400, "PARAM_ERROR"},
		{"ErrCurrency", request{method: "POST", path: native, body: with("amount", map[string]any{"total": 1, "currency": "USD"})}, 400, "PARAM_ERROR"},
		{"ErrShortOutTradeNo", request{method: "POST", path: native, body: with("out_trade_no", "abc")}, 400, "PARAM_ERROR"},
		{"ErrOutTradeNoChars", request{method: "POST", path: native, body: with("out_trade_no", "abc/def")}, 400, "PARAM_ERROR"},
		{"ErrAppNotBound", request{method: "POST", path: native, body: with("appid", "wx0000000000000000")}, 400, "APPID_MCHID_NOT_MATCH"},
		{"ErrOtherMchidInBody", request{method: "POST", path: native, body: with("mchid", "1900009999")}, 400, "PARAM_ERROR"},
		{"ErrNotifyURLQuery", request{method: "POST", path: native, body: with("notify_url", "https://merchant.example/n?a=1")}, 400, "PARAM_ERROR"},
		{"ErrNoNotifyURL", request{method: "POST", path: native, body: with("notify_url", nil)}, 400, "PARAM_ERROR"},
		{"ErrPastTimeExpire", request{method: "POST", path: native, body: with("time_expire", "2026-11-21T09:59:00+08:00")}, 400, "PARAM_ERROR"},
		{"ErrTimeExpireFormat", request{method: "POST", path: native, body: with("time_expire", "2026-11-21 11:00:00")}, 400, "PARAM_ERROR"},
		{"ErrJSAPIWithoutOpenid", request{method: "POST", path: "/v3/pay/transactions/jsapi", body: body}, 400, "PARAM_ERROR"},
		{"ErrH5WithoutClientIP", request{method: "POST", path: "/v3/pay/transactions/h5", body: body}, 400, "PARAM_ERROR"},
		{"ErrNotJSON", request{method: "POST", path: native, body: "{appid"}, 400, "PARAM_ERROR"},
		{"ErrQueryWithoutMchid", request{method: "GET", path: "/v3/pay/transactions/out-trade-no/existing_1"}, 400, "PARAM_ERROR"},
		{"ErrQueryOtherMchid", request{method: "GET", path: "/v3/pay/transactions/out-trade-no/existing_1?mchid=1900009999"}, 400, "PARAM_ERROR"},
		{"ErrQueryUnknown", request{method: "GET", path: "/v3/pay/transactions/out-trade-no/rej_000001?mchid=" + mchid}, 404, "ORDER_NOT_EXIST"},
		{"ErrUnknownPath", request{method: "GET", path: "/v3/pay/nothing"}, 404, "NOT_FOUND"},
		{"ErrWrongMethod", request{method: "GET", path: native}, 405, "METHOD_NOT_ALLOWED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.do(t, tt.req), tt.status, tt.code)
		})
	}
	// None of the rejected calls may have created the trade.
	wantError(t, e.query(t, "rej_000001"), 404, "ORDER_NOT_EXIST")
}

func TestPrepay(t *testing.T) {
	e := newEnv(t)
	withPayer := func(no string) map[string]any {
		m := order(no, 100, "https://merchant.example/notify")
		m["payer"] = map[string]any{"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
		return m
	}
	withScene := func(no string) map[string]any {
		m := order(no, 100, "https://merchant.example/notify")
		m["scene_info"] = map[string]any{"payer_client_ip": "203.0.113.7", "h5_info": map[string]any{"type": "Wap"}}
		return m
	}
	tests := []struct {
		name      string
		path      string
		body      func(no string) map[string]any
		field     string
		prefix    string
		tradeType string
	}{
		{"Native", "/v3/pay/transactions/native", func(no string) map[string]any { return order(no, 100, "https://merchant.example/notify") },
			"code_url", "weixin://wxpay/bizpayurl?pr=", "NATIVE"},
		{"JSAPI", "/v3/pay/transactions/jsapi", withPayer, "prepay_id", "wx", "JSAPI"},
		{"App", "/v3/pay/transactions/app", func(no string) map[string]any { return order(no, 100, "https://merchant.example/notify") },
			"prepay_id", "wx", "APP"},
		{"H5", "/v3/pay/transactions/h5", withScene, "h5_url", "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx", "MWEB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			no := "pp_" + tt.name + "_01"
			rep := e.do(t, request{method: "POST", path: tt.path, body: tt.body(no)})
			if rep.status != 200 || len(rep.fields) != 1 || !strings.HasPrefix(rep.str(tt.field), tt.prefix) {
				t.Fatalf("got %d %s, want only %s starting %q", rep.status, rep.raw, tt.field, tt.prefix)
			}
			if tt.field == "h5_url" && !strings.Contains(string(rep.raw), "&package=") {
				t.Fatalf("h5_url is HTML-escaped: %s", rep.raw)
			}
			again := e.do(t, request{method: "POST", path: tt.path, body: tt.body(no)})
			if again.str(tt.field) != rep.str(tt.field) {
				t.Fatalf("repeat answered %s, want the first %s", again.raw, rep.raw)
			}
			changed := tt.body(no)
			changed["amount"] = map[string]any{"total": 101}
			wantError(t, e.do(t, request{method: "POST", path: tt.path, body: changed}), 403, "OUT_TRADE_NO_USED")
			q := e.query(t, no)
			if q.str("trade_state") != "NOTPAY" || q.num("amount", "total") != 100 || q.str("transaction_id") != "" || q.str("appid") != appid {
				t.Fatalf("query: %s", q.raw)
			}
			// The trade type is only reported once paid.
			if err := e.sim.Pay(context.Background(), mchid, no, true); err != nil {
				t.Fatal(err)
			}
			if q := e.query(t, no); q.str("trade_type") != tt.tradeType {
				t.Fatalf("trade_type = %q, want %s", q.str("trade_type"), tt.tradeType)
			}
		})
	}
}

// TestMounted checks the two ways the sim can be mounted under a prefix:
// stripped, or not (the canonical URL is found from "/v3/").
func TestMounted(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	mux.Handle("/stripped/", http.StripPrefix("/stripped", e.sim))
	mux.Handle("/raw/", e.sim)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for _, prefix := range []string{"/stripped", "/raw"} {
		t.Run(strings.Trim(prefix, "/"), func(t *testing.T) {
			no := "mnt" + strings.Trim(prefix, "/")
			rep := e.doAt(t, srv.URL+prefix, request{method: "POST", path: "/v3/pay/transactions/native", body: order(no, 5, "https://merchant.example/notify")})
			if rep.status != 200 || rep.str("code_url") == "" {
				t.Fatalf("got %d %s", rep.status, rep.raw)
			}
			if q := e.doAt(t, srv.URL+prefix, request{method: "GET", path: "/v3/pay/transactions/out-trade-no/" + no + "?mchid=" + mchid}); q.num("amount", "total") != 5 {
				t.Fatalf("query: %d %s", q.status, q.raw)
			}
		})
	}
}

func TestTradeTransitions(t *testing.T) {
	closeReq := func(no string) request {
		return request{method: "POST", path: "/v3/pay/transactions/out-trade-no/" + no + "/close", body: map[string]any{"mchid": mchid}}
	}
	pay := func(t *testing.T, e *env, no string) {
		if err := e.sim.Pay(context.Background(), mchid, no, true); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		act    func(t *testing.T, e *env, no string) reply
		status int
		code   string
		state  string // trade_state afterwards
	}{
		{"CloseUnpaid", func(t *testing.T, e *env, no string) reply { return e.do(t, closeReq(no)) }, 204, "", "CLOSED"},
		{"CloseTwice", func(t *testing.T, e *env, no string) reply {
			e.do(t, closeReq(no))
			return e.do(t, closeReq(no))
		}, 204, "", "CLOSED"},
		{"ErrClosePaid", func(t *testing.T, e *env, no string) reply {
			pay(t, e, no)
			return e.do(t, closeReq(no))
		}, 403, "ORDERPAID", "SUCCESS"},
		{"ErrCloseUnknown", func(t *testing.T, e *env, no string) reply { return e.do(t, closeReq(no+"x")) }, 404, "ORDER_NOT_EXIST", "NOTPAY"},
		{"ErrCloseWithoutMchid", func(t *testing.T, e *env, no string) reply {
			return e.do(t, request{method: "POST", path: "/v3/pay/transactions/out-trade-no/" + no + "/close", body: map[string]any{}})
		}, 400, "PARAM_ERROR", "NOTPAY"},
		{"ErrPrepayPaid", func(t *testing.T, e *env, no string) reply {
			pay(t, e, no)
			return e.do(t, request{method: "POST", path: "/v3/pay/transactions/native", body: order(no, 300, "https://merchant.example/notify")})
		}, 403, "ORDERPAID", "SUCCESS"},
		{"ErrPrepayClosed", func(t *testing.T, e *env, no string) reply {
			e.do(t, closeReq(no))
			return e.do(t, request{method: "POST", path: "/v3/pay/transactions/native", body: order(no, 300, "https://merchant.example/notify")})
		}, 400, "ORDER_CLOSED", "CLOSED"},
		{"PaidQueryByTransactionID", func(t *testing.T, e *env, no string) reply {
			pay(t, e, no)
			id := e.query(t, no).str("transaction_id")
			if len(id) != 28 {
				t.Fatalf("transaction_id %q is not 28 digits", id)
			}
			return e.do(t, request{method: "GET", path: "/v3/pay/transactions/id/" + id + "?mchid=" + mchid})
		}, 200, "", "SUCCESS"},
		{"ExpiresAtTimeExpire", func(t *testing.T, e *env, no string) reply {
			m := order(no+"e", 300, "https://merchant.example/notify")
			m["time_expire"] = e.clock.Now().Add(10 * time.Minute).In(cst).Format(time.RFC3339)
			if rep := e.do(t, request{method: "POST", path: "/v3/pay/transactions/native", body: m}); rep.status != 200 {
				t.Fatalf("prepay: %s", rep.raw)
			}
			e.clock.Add(10*time.Minute - time.Second)
			if st := e.state(t, no+"e"); st != "NOTPAY" {
				t.Fatalf("before time_expire: %s", st)
			}
			e.clock.Add(time.Second)
			if err := e.sim.Pay(context.Background(), mchid, no+"e", true); !errors.Is(err, wechatsim.ErrTradeNotPayable) {
				t.Fatalf("Pay after expiry: %v, want ErrTradeNotPayable", err)
			}
			e.do(t, closeReq(no)) // the original trade, checked below
			return e.query(t, no+"e")
		}, 200, "", "CLOSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			no := "tt_" + tt.name
			e.native(t, no, 300, "https://merchant.example/notify")
			rep := tt.act(t, e, no)
			if tt.code != "" {
				wantError(t, rep, tt.status, tt.code)
			} else if rep.status != tt.status {
				t.Fatalf("status %d, want %d: %s", rep.status, tt.status, rep.raw)
			}
			if tt.status == 204 && len(rep.raw) != 0 {
				t.Fatalf("204 with a body: %s", rep.raw)
			}
			if tt.status == 200 && rep.str("trade_state") != "" {
				if rep.str("trade_state") != tt.state {
					t.Fatalf("trade_state = %s, want %s", rep.str("trade_state"), tt.state)
				}
				return
			}
			if got := e.state(t, no); got != tt.state {
				t.Fatalf("trade_state = %s, want %s", got, tt.state)
			}
		})
	}
}

func codepayBody(no, authCode string, total int64) map[string]any {
	return map[string]any{
		"appid": appid, "mchid": mchid, "description": "门店消费", "out_trade_no": no,
		"payer":      map[string]any{"auth_code": authCode},
		"amount":     map[string]any{"total": total, "currency": "CNY"},
		"scene_info": map[string]any{"store_info": map[string]any{"out_id": "shop-1"}},
	}
}

func TestCodepay(t *testing.T) {
	const codepay = "/v3/pay/transactions/codepay"
	tests := []struct {
		name     string
		authCode string
		after    func(t *testing.T, e *env, no string)
		status   int
		code     string
		state    string // trade_state afterwards, "" for no trade
	}{
		{"OKPaysAtOnce", "134567890123456789", nil, 200, "", "SUCCESS"},
		{"OKPrefix10", "104567890123456789", nil, 200, "", "SUCCESS"},
		{"UserPaying", "130012345678901234", nil, 202, "USERPAYING", "USERPAYING"},
		{"UserPayingThenSuccess", "130012345678901234", func(t *testing.T, e *env, no string) {
			e.clock.Add(5 * time.Second)
		}, 202, "USERPAYING", "SUCCESS"},
		{"UserPayingThenPaid", "130012345678901234", func(t *testing.T, e *env, no string) {
			if err := e.sim.Pay(context.Background(), mchid, no, true); err != nil {
				t.Fatal(err)
			}
		}, 202, "USERPAYING", "SUCCESS"},
		{"UserPayingThenFailed", "130012345678901234", func(t *testing.T, e *env, no string) {
			if err := e.sim.Pay(context.Background(), mchid, no, false); err != nil {
				t.Fatal(err)
			}
		}, 202, "USERPAYING", "PAYERROR"},
		{"ReverseUnpaid", "130012345678901234", func(t *testing.T, e *env, no string) {
			rep := e.do(t, request{method: "POST", path: "/v3/pay/transactions/out-trade-no/" + no + "/reverse", body: map[string]any{"mchid": mchid, "appid": appid}})
			if rep.status != 200 || rep.str("out_trade_no") != no {
				t.Fatalf("reverse: %d %s", rep.status, rep.raw)
			}
		}, 202, "USERPAYING", "REVOKED"},
		{"ReversePaid", "134567890123456789", func(t *testing.T, e *env, no string) {
			e.do(t, request{method: "POST", path: "/v3/pay/transactions/out-trade-no/" + no + "/reverse", body: map[string]any{"mchid": mchid, "appid": appid}})
		}, 200, "", "REVOKED"},
		{"ErrPrefix16", "164567890123456789", nil, 400, "PARAM_ERROR", ""},
		{"ErrSeventeenDigits", "13456789012345678", nil, 400, "PARAM_ERROR", ""},
		{"ErrLetters", "13456789012345678a", nil, 400, "PARAM_ERROR", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			no := "cp_" + tt.name
			rep := e.do(t, request{method: "POST", path: codepay, body: codepayBody(no, tt.authCode, 250)})
			if tt.code != "" {
				wantError(t, rep, tt.status, tt.code)
			} else if rep.status != tt.status || rep.str("trade_state") != "SUCCESS" || rep.num("amount", "payer_total") != 250 || rep.str("transaction_id") == "" {
				t.Fatalf("got %d %s", rep.status, rep.raw)
			}
			if tt.after != nil {
				tt.after(t, e, no)
			}
			if tt.state == "" {
				wantError(t, e.query(t, no), 404, "ORDER_NOT_EXIST")
				return
			}
			if got := e.state(t, no); got != tt.state {
				t.Fatalf("trade_state = %s, want %s", got, tt.state)
			}
			if len(e.sim.Notifications(no)) != 0 {
				t.Fatal("a payment-code trade was notified")
			}
		})
	}
	t.Run("RepeatReportsTheTrade", func(t *testing.T) {
		e := newEnv(t)
		first := e.do(t, request{method: "POST", path: codepay, body: codepayBody("cp_repeat", "134567890123456789", 250)})
		again := e.do(t, request{method: "POST", path: codepay, body: codepayBody("cp_repeat", "134567890123456780", 250)})
		if again.status != 200 || again.str("transaction_id") != first.str("transaction_id") {
			t.Fatalf("repeat: %s, first %s", again.raw, first.raw)
		}
		wantError(t, e.do(t, request{method: "POST", path: codepay, body: codepayBody("cp_repeat", "134567890123456789", 251)}), 403, "OUT_TRADE_NO_USED")
	})
	t.Run("ErrReverseNotCodepay", func(t *testing.T) {
		e := newEnv(t)
		e.native(t, "cp_native", 100, "https://merchant.example/notify")
		wantError(t, e.do(t, request{method: "POST", path: "/v3/pay/transactions/out-trade-no/cp_native/reverse", body: map[string]any{"mchid": mchid, "appid": appid}}), 400, "INVALID_REQUEST")
	})
}

func TestRefund(t *testing.T) {
	e := newEnv(t)
	e.native(t, "rf_paid1", 1000, "https://merchant.example/notify")
	e.native(t, "rf_unpaid", 1000, "https://merchant.example/notify")
	if err := e.sim.Pay(context.Background(), mchid, "rf_paid1", true); err != nil {
		t.Fatal(err)
	}
	refund := func(no, refundNo string, amount, total int64) request {
		return request{method: "POST", path: "/v3/refund/domestic/refunds", body: map[string]any{
			"out_trade_no": no, "out_refund_no": refundNo, "reason": "退货",
			"amount": map[string]any{"refund": amount, "total": total, "currency": "CNY"},
		}}
	}
	// Steps run in order on one trade: each depends on the refunds before.
	steps := []struct {
		name   string
		req    request
		status int
		code   string
		state  string
	}{
		{"OKPartial", refund("rf_paid1", "rf_r1", 300, 1000), 200, "", "REFUND"},
		{"OKRepeatDoesNotRefundTwice", refund("rf_paid1", "rf_r1", 300, 1000), 200, "", "REFUND"},
		{"ErrRepeatOtherAmount", refund("rf_paid1", "rf_r1", 301, 1000), 400, "INVALID_REQUEST", "REFUND"},
		{"ErrOverRefund", refund("rf_paid1", "rf_r2", 701, 1000), 400, "INVALID_REQUEST", "REFUND"},
		{"ErrTotalMismatch", refund("rf_paid1", "rf_r3", 100, 999), 400, "INVALID_REQUEST", "REFUND"},
		{"ErrNoCurrency", request{method: "POST", path: "/v3/refund/domestic/refunds", body: map[string]any{
			"out_trade_no": "rf_paid1", "out_refund_no": "rf_r9", "amount": map[string]any{"refund": 1, "total": 1000},
		}}, 400, "PARAM_ERROR", "REFUND"},
		{"OKRest", refund("rf_paid1", "rf_r4", 700, 1000), 200, "", "REFUND"},
		{"ErrNothingLeft", refund("rf_paid1", "rf_r5", 1, 1000), 400, "INVALID_REQUEST", "REFUND"},
		{"ErrUnpaid", refund("rf_unpaid", "rf_u1", 100, 1000), 400, "INVALID_REQUEST", ""},
		{"ErrUnknownTrade", refund("rf_none01", "rf_n1", 100, 1000), 404, "RESOURCE_NOT_EXISTS", ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			rep := e.do(t, s.req)
			if s.code != "" {
				wantError(t, rep, s.status, s.code)
			} else if rep.status != 200 || rep.str("status") != "SUCCESS" || rep.str("refund_id") == "" || rep.str("success_time") == "" {
				t.Fatalf("got %d %s", rep.status, rep.raw)
			}
			if s.state != "" {
				if got := e.state(t, "rf_paid1"); got != s.state {
					t.Fatalf("trade_state = %s, want %s", got, s.state)
				}
			}
		})
	}
	queries := []struct {
		name   string
		no     string
		status int
		refund int64
	}{
		{"QueryFirst", "rf_r1", 200, 300},
		{"QueryRest", "rf_r4", 200, 700},
		{"QueryRefused", "rf_r2", 404, 0},
		{"QueryUnknown", "rf_zz1", 404, 0},
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			rep := e.do(t, request{method: "GET", path: "/v3/refund/domestic/refunds/" + q.no})
			if q.status == 404 {
				wantError(t, rep, 404, "RESOURCE_NOT_EXISTS")
				return
			}
			if rep.status != 200 || rep.num("amount", "refund") != q.refund || rep.num("amount", "total") != 1000 || rep.str("out_trade_no") != "rf_paid1" {
				t.Fatalf("got %d %s", rep.status, rep.raw)
			}
		})
	}
}

func TestPay(t *testing.T) {
	tests := []struct {
		name       string
		no         string
		success    bool
		wantErr    error
		wantState  string
		wantNotify int
	}{
		{"OK", "pay_p1", true, nil, "SUCCESS", 1},
		{"FailedAttemptStaysNotPay", "pay_p1", false, nil, "NOTPAY", 0},
		{"ErrUnknownTrade", "pay_none", true, wechatsim.ErrTradeNotFound, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rc := newReceiver(t, 204)
			e.native(t, "pay_p1", 100, rc.srv.URL+"/notify")
			err := e.sim.Pay(context.Background(), mchid, tt.no, tt.success)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Pay: %v, want %v", err, tt.wantErr)
			}
			if tt.wantState != "" {
				if got := e.state(t, tt.no); got != tt.wantState {
					t.Fatalf("trade_state = %s, want %s", got, tt.wantState)
				}
			}
			// Delivery is synchronous: no waiting is needed to see it.
			if got := len(rc.received()); got != tt.wantNotify {
				t.Fatalf("%d notifications, want %d", got, tt.wantNotify)
			}
		})
	}
	t.Run("ErrPaidTwice", func(t *testing.T) {
		e := newEnv(t)
		e.native(t, "pay_twice", 100, "https://merchant.example/notify")
		if err := e.sim.Pay(context.Background(), mchid, "pay_twice", true); err != nil {
			t.Fatal(err)
		}
		if err := e.sim.Pay(context.Background(), mchid, "pay_twice", true); !errors.Is(err, wechatsim.ErrTradeNotPayable) {
			t.Fatalf("Pay: %v, want ErrTradeNotPayable", err)
		}
	})
}

// TestNotificationContent verifies a payment and a refund notification with
// this file's own signature check and crypto/cipher decryption.
func TestNotificationContent(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, 204)
	e.native(t, "nc_0001", 250, rc.srv.URL+"/notify")
	if err := e.sim.Pay(context.Background(), mchid, "nc_0001", true); err != nil {
		t.Fatal(err)
	}
	rep := e.do(t, request{method: "POST", path: "/v3/refund/domestic/refunds", body: map[string]any{
		"out_trade_no": "nc_0001", "out_refund_no": "nc_r1", "notify_url": rc.srv.URL + "/refund",
		"amount": map[string]any{"refund": 100, "total": 250, "currency": "CNY"},
	}})
	if rep.status != 200 {
		t.Fatalf("refund: %s", rep.raw)
	}
	waitFor(t, "the refund notification", func() bool { return len(rc.received()) == 2 })
	tests := []struct {
		name      string
		event     string
		original  string
		want      map[string]any
		wantTotal int64
	}{
		{"Payment", "TRANSACTION.SUCCESS", "transaction", map[string]any{"trade_state": "SUCCESS", "out_trade_no": "nc_0001", "mchid": mchid, "appid": appid, "trade_type": "NATIVE"}, 250},
		{"Refund", "REFUND.SUCCESS", "refund", map[string]any{"refund_status": "SUCCESS", "out_trade_no": "nc_0001", "out_refund_no": "nc_r1", "mchid": mchid}, 250},
	}
	got := rc.received()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := got[i]
			if err := verifySigned(n.header, n.body); err != nil {
				t.Fatalf("notification signature: %v", err)
			}
			if n.header.Get("Wechatpay-Serial") != keyID || n.header.Get("Wechatpay-Signature-Type") != "WECHATPAY2-SHA256-RSA2048" {
				t.Fatalf("headers %v", n.header)
			}
			var env map[string]any
			if err := json.Unmarshal(n.body, &env); err != nil {
				t.Fatal(err)
			}
			if env["event_type"] != tt.event || env["resource_type"] != "encrypt-resource" || env["id"] == "" || env["summary"] == "" {
				t.Fatalf("envelope %s", n.body)
			}
			if _, err := time.Parse(time.RFC3339, env["create_time"].(string)); err != nil {
				t.Fatalf("create_time: %v", err)
			}
			res := env["resource"].(map[string]any)
			if res["algorithm"] != "AEAD_AES_256_GCM" || res["original_type"] != tt.original || res["associated_data"] != tt.original || len(res["nonce"].(string)) != 12 {
				t.Fatalf("resource %v", res)
			}
			var plain map[string]any
			if err := json.Unmarshal(decrypt(t, apiV3Key, res), &plain); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if plain[k] != v {
					t.Errorf("%s = %v, want %v", k, plain[k], v)
				}
			}
			if total := plain["amount"].(map[string]any)["total"].(float64); int64(total) != tt.wantTotal {
				t.Errorf("amount.total = %v, want %d", total, tt.wantTotal)
			}
			if _, err := time.Parse(time.RFC3339, plain["success_time"].(string)); err != nil {
				t.Errorf("success_time: %v", err)
			}
		})
	}
	t.Run("ErrOtherKeyDoesNotDecrypt", func(t *testing.T) {
		var env map[string]any
		if err := json.Unmarshal(got[0].body, &env); err != nil {
			t.Fatal(err)
		}
		res := env["resource"].(map[string]any)
		if _, err := open(apiV3Key, res); err != nil {
			t.Fatalf("untouched resource: %v", err)
		}
		res["associated_data"] = "refund"
		if _, err := open(apiV3Key, res); err == nil {
			t.Fatal("decrypted with the wrong associated data")
		}
		res["associated_data"] = "transaction"
		if _, err := open("0123456789abcdefghijABCDEFGHIJ02", res); err == nil {
			t.Fatal("decrypted with another APIv3 key")
		}
	})
}

func TestNotificationRetry(t *testing.T) {
	gap := 20 * time.Millisecond
	tests := []struct {
		name     string
		statuses []int
		attempts int
		acked    bool
	}{
		{"AckedFirst204", []int{204}, 1, true},
		{"AckedFirst200", []int{200}, 1, true},
		{"FailThenOK", []int{500, 204}, 2, true},
		{"BadRequestThenOK", []int{400, 404, 200}, 3, true},
		{"NeverAcked", []int{500}, 3, false}, // first try + 2 retries
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, gap, gap)
			rc := newReceiver(t, tt.statuses...)
			e.native(t, "rt_0001", 100, rc.srv.URL)
			if err := e.sim.Pay(context.Background(), mchid, "rt_0001", true); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "deliveries", func() bool { return len(e.sim.Notifications("rt_0001")) >= tt.attempts })
			time.Sleep(3 * gap) // nothing more may come after the last attempt
			ds := e.sim.Notifications("rt_0001")
			if len(ds) != tt.attempts {
				t.Fatalf("%d attempts, want %d: %+v", len(ds), tt.attempts, ds)
			}
			for i, d := range ds {
				if d.Attempt != i+1 || d.ID != ds[0].ID || d.EventType != "TRANSACTION.SUCCESS" {
					t.Errorf("attempt %d: %+v", i+1, d)
				}
				if wantAck := tt.acked && i == len(ds)-1; d.Acked != wantAck {
					t.Errorf("attempt %d acked = %v, want %v (status %d)", i+1, d.Acked, wantAck, d.StatusCode)
				}
			}
			got := rc.received()
			for i := range got {
				if string(got[i].body) != string(got[0].body) {
					t.Fatal("a retry sent another body")
				}
				if err := verifySigned(got[i].header, got[i].body); err != nil {
					t.Fatalf("attempt %d signature: %v", i+1, err)
				}
			}
		})
	}
	t.Run("CloseStopsRetries", func(t *testing.T) {
		e := newEnv(t, 50*time.Millisecond)
		rc := newReceiver(t, 500)
		e.native(t, "rt_c001", 100, rc.srv.URL)
		if err := e.sim.Pay(context.Background(), mchid, "rt_c001", true); err != nil {
			t.Fatal(err)
		}
		e.sim.Close()
		time.Sleep(100 * time.Millisecond)
		if got := len(rc.received()); got != 1 {
			t.Fatalf("receiver saw %d after Close, want only the first attempt", got)
		}
	})
}

// TestResponseSignatureOpenSSL checks a response signature with an
// implementation that shares no code with the sim or with Go's crypto.
func TestResponseSignatureOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	e := newEnv(t)
	rep := e.native(t, "ossl_1", 1, "https://merchant.example/notify")
	sig, err := base64.StdEncoding.DecodeString(rep.header.Get("Wechatpay-Signature"))
	if err != nil {
		t.Fatal(err)
	}
	msg := rep.header.Get("Wechatpay-Timestamp") + "\n" + rep.header.Get("Wechatpay-Nonce") + "\n" + string(rep.raw) + "\n"
	dir := t.TempDir()
	files := map[string][]byte{"pub.pem": []byte(e.sim.PublicKeyPEM()), "data": []byte(msg), "sig": sig, "other": []byte(msg + " ")}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(data string) (string, error) {
		out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", filepath.Join(dir, "pub.pem"),
			"-signature", filepath.Join(dir, "sig"), filepath.Join(dir, data)).CombinedOutput()
		return string(out), err
	}
	if out, err := verify("data"); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("openssl rejected the response signature: %v %s", err, out)
	}
	if out, err := verify("other"); err == nil {
		t.Fatalf("openssl accepted a signature over other bytes: %s", out)
	}
	if rep.header.Get("Wechatpay-Serial") != keyID {
		t.Fatalf("Wechatpay-Serial = %q, want %s", rep.header.Get("Wechatpay-Serial"), keyID)
	}
}

func TestCertificates(t *testing.T) {
	e := newEnv(t)
	rep := e.do(t, request{method: "GET", path: "/v3/certificates"})
	data, _ := rep.fields["data"].([]any)
	if rep.status != 200 || len(data) != 1 {
		t.Fatalf("got %d %s", rep.status, rep.raw)
	}
	c := data[0].(map[string]any)
	block, _ := pem.Decode(decrypt(t, apiV3Key, c["encrypt_certificate"].(map[string]any)))
	if block == nil {
		t.Fatal("the certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !platformKey.PublicKey.Equal(cert.PublicKey) {
		t.Fatal("the certificate is not over the platform key")
	}
	sn := strings.ToUpper(hex.EncodeToString(cert.SerialNumber.Bytes()))
	if c["serial_no"] != sn || len(sn) != 40 {
		t.Fatalf("serial_no %v, certificate serial %s", c["serial_no"], sn)
	}
	// A client that names the certificate gets answers signed under it.
	if got := e.do(t, request{method: "GET", path: "/v3/certificates", accept: sn}).header.Get("Wechatpay-Serial"); got != sn {
		t.Fatalf("Wechatpay-Serial = %q, want %s", got, sn)
	}
}

func TestTradeBill(t *testing.T) {
	e := newEnv(t)
	e.native(t, "bill_1", 1234, "https://merchant.example/notify")
	if err := e.sim.Pay(context.Background(), mchid, "bill_1", true); err != nil {
		t.Fatal(err)
	}
	e.do(t, request{method: "POST", path: "/v3/refund/domestic/refunds", body: map[string]any{
		"out_trade_no": "bill_1", "out_refund_no": "bill_r1", "amount": map[string]any{"refund": 34, "total": 1234, "currency": "CNY"},
	}})
	wantError(t, e.do(t, request{method: "GET", path: "/v3/bill/tradebill?bill_date=2026-11-21"}), 400, "INVALID_REQUEST")
	e.clock.Add(24 * time.Hour)
	wantError(t, e.do(t, request{method: "GET", path: "/v3/bill/tradebill?bill_date=2026-11-20"}), 400, "NO_STATEMENT_EXIST")
	wantError(t, e.do(t, request{method: "GET", path: "/v3/bill/tradebill?bill_date=20261121"}), 400, "PARAM_ERROR")
	rep := e.do(t, request{method: "GET", path: "/v3/bill/tradebill?bill_date=2026-11-21&bill_type=ALL"})
	dl, ok := strings.CutPrefix(rep.str("download_url"), "https://api.mch.weixin.qq.com")
	if rep.status != 200 || !ok || rep.str("hash_type") != "SHA1" {
		t.Fatalf("got %d %s", rep.status, rep.raw)
	}
	req, err := http.NewRequest("GET", e.base+dl, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", authorization(merchantKey, mchid, serial, "GET", dl, e.clock.Now().Unix(), "nonce1", nil))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	content, _ := io.ReadAll(resp.Body)
	sum := sha1.Sum(content)
	if resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != rep.str("hash_value") {
		t.Fatalf("download %d, sha1 %x, want %s", resp.StatusCode, sum, rep.str("hash_value"))
	}
	lines := strings.Split(strings.TrimSpace(string(content)), "\r\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "交易时间,") ||
		!strings.Contains(lines[1], "`bill_1,") || !strings.Contains(lines[1], "`SUCCESS,") || !strings.Contains(lines[1], "`12.34,") ||
		!strings.Contains(lines[2], "`REFUND,") || !strings.Contains(lines[2], "`bill_r1,") || !strings.Contains(lines[2], "`0.34,") ||
		lines[4] != "`2,`12.34,`0.34,`0.00,`0.00,`12.34,`0.34" {
		t.Fatalf("bill:\n%s", content)
	}
}

func TestPublicKey(t *testing.T) {
	e := newEnv(t)
	block, rest := pem.Decode([]byte(e.sim.PublicKeyPEM()))
	if block == nil || block.Type != "PUBLIC KEY" || len(rest) != 0 {
		t.Fatalf("not one SPKI PEM block: %q", e.sim.PublicKeyPEM())
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !platformKey.PublicKey.Equal(pub) || e.sim.PublicKeyID() != keyID {
		t.Fatal("PublicKeyPEM/PublicKeyID are not the platform key's")
	}
	if wechatsim.New(wechatsim.Options{PrivateKey: platformKey}).PublicKeyID() != wechatsim.DefaultPublicKeyID {
		t.Fatal("default public key id not used")
	}
}
