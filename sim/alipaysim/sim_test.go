package alipaysim_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/alipaysim"
)

func TestRequestRejected(t *testing.T) {
	e := newEnv(t)
	precreate := map[string]any{"out_trade_no": "o1", "total_amount": "1.00", "subject": "s"}
	tests := []struct {
		name             string
		req              request
		code, subCode    string
		protocolEnvelope bool
	}{
		{"ErrTamperedBizContent", request{method: "alipay.trade.precreate", biz: precreate, signed: func(p url.Values) {
			p.Set("biz_content", strings.Replace(p.Get("biz_content"), "1.00", "0.01", 1))
		}}, "40002", "isv.invalid-signature", true},
		{"ErrSignTypeNotSigned", request{method: "alipay.trade.precreate", biz: precreate, skipSignType: true}, "40002", "isv.invalid-signature", true},
		{"ErrOtherKey", request{method: "alipay.trade.precreate", biz: precreate, key: otherKey}, "40002", "isv.invalid-signature", true},
		{"ErrRSA1SignatureCalledRSA2", request{method: "alipay.trade.precreate", biz: precreate, signed: func(p url.Values) {
			// A SHA-1 signature presented as RSA2 must not pass.
			p.Set("sign", testSign(merchantKey, "RSA", testContent(p, "sign")))
		}}, "40002", "isv.invalid-signature", true},
		{"ErrUnknownApp", request{method: "alipay.trade.precreate", biz: precreate, extra: url.Values{"app_id": {"2021999999999999"}}}, "40002", "isv.invalid-app-id", true},
		{"ErrMissingSign", request{method: "alipay.trade.precreate", biz: precreate, signed: func(p url.Values) { p.Del("sign") }}, "40001", "isv.missing-signature", true},
		{"ErrUnknownSignType", request{method: "alipay.trade.precreate", biz: precreate, signType: "MD5"}, "40002", "isv.invalid-signature-type", true},
		{"ErrUnknownMethod", request{method: "alipay.trade.nosuch", biz: precreate}, "40002", "isv.invalid-method", true},
		{"ErrBadTimestamp", request{method: "alipay.trade.precreate", biz: precreate, extra: url.Values{"timestamp": {"2026/11/21"}}}, "40002", "isv.invalid-timestamp", true},
		{"ErrMissingSubject", request{method: "alipay.trade.precreate", biz: map[string]any{"out_trade_no": "o1", "total_amount": "1.00"}}, "40002", "isv.missing-parameter", true},
		{"ErrThreeDecimals", request{method: "alipay.trade.precreate", biz: map[string]any{"out_trade_no": "o1", "total_amount": "1.001", "subject": "s"}}, "40002", "isv.invalid-parameter", true},
		{"ErrZeroAmount", request{method: "alipay.trade.precreate", biz: map[string]any{"out_trade_no": "o1", "total_amount": "0.00", "subject": "s"}}, "40002", "isv.invalid-parameter", true},
		{"ErrPastTimeExpire", request{method: "alipay.trade.precreate", biz: map[string]any{"out_trade_no": "o1", "total_amount": "1.00", "subject": "s", "time_expire": "2020-01-01 00:00:00"}}, "40002", "isv.invalid-parameter", true},
		{"ErrBizNotJSON", request{method: "alipay.trade.query", signed: nil, extra: url.Values{"biz_content": {"{out_trade_no"}}}, "40002", "isv.invalid-parameter", true},
		{"ErrNoTradeRef", request{method: "alipay.trade.query", biz: map[string]any{}}, "40002", "isv.missing-parameter", true},
		{"ErrUnknownTrade", request{method: "alipay.trade.query", biz: map[string]any{"out_trade_no": "nope"}}, "40004", "ACQ.TRADE_NOT_EXIST", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := e.post(t, tt.req)
			wantCode(t, rep, tt.req.method, tt.code, tt.subCode)
		})
	}
	// None of the rejected precreates may have created the trade.
	wantCode(t, e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": "o1"}), "alipay.trade.query", "40004", "ACQ.TRADE_NOT_EXIST")
}

func TestRequestAccepted(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		send func(t *testing.T, no string) reply
		// amount is what alipay.trade.query must report afterwards.
		amount string
	}{
		{"OK", func(t *testing.T, no string) reply {
			return e.post(t, request{method: "alipay.trade.precreate", biz: map[string]any{"out_trade_no": no, "total_amount": "12.30", "subject": "s"}})
		}, "12.30"},
		{"LegacyRSA", func(t *testing.T, no string) reply {
			return e.post(t, request{method: "alipay.trade.precreate", signType: "RSA", biz: map[string]any{"out_trade_no": no, "total_amount": "12", "subject": "s"}})
		}, "12.00"},
		{"AmountAsJSONNumber", func(t *testing.T, no string) reply {
			return e.post(t, request{method: "alipay.trade.precreate", biz: map[string]any{"out_trade_no": no, "total_amount": 0.1, "subject": "s"}})
		}, "0.10"},
		{"QueryStringIgnoredOnPost", func(t *testing.T, no string) reply {
			// gopay posts to gateway.do?charset=utf-8; a garbage sign in the
			// query must not be mixed into the signed form either.
			p := request{method: "alipay.trade.precreate", biz: map[string]any{"out_trade_no": no, "total_amount": "5.00", "subject": "s"}}.params(e.clock.Now())
			resp, err := http.PostForm(e.gateway+"?charset=utf-8&sign=AAAA", p)
			if err != nil {
				t.Fatal(err)
			}
			return readReply(t, resp, "")
		}, "5.00"},
		{"ParamsInQueryOnGet", func(t *testing.T, no string) reply {
			p := request{method: "alipay.trade.precreate", biz: map[string]any{"out_trade_no": no, "total_amount": "7.07", "subject": "s"}}.params(e.clock.Now())
			resp, err := http.Get(e.gateway + "?" + p.Encode())
			if err != nil {
				t.Fatal(err)
			}
			return readReply(t, resp, "")
		}, "7.07"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			no := "acc_" + tt.name
			rep := tt.send(t, no)
			wantCode(t, rep, "alipay.trade.precreate", "10000", "")
			if !strings.HasPrefix(rep.str("qr_code"), "https://qr.alipay.com/") || rep.str("out_trade_no") != no {
				t.Fatalf("precreate answer: %s", rep.raw)
			}
			q := e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": no})
			if q.str("trade_status") != "WAIT_BUYER_PAY" || q.str("total_amount") != tt.amount {
				t.Fatalf("got status %s amount %s, want WAIT_BUYER_PAY %s", q.str("trade_status"), q.str("total_amount"), tt.amount)
			}
		})
	}
}

// TestResponseSignatureOpenSSL checks the response signature with an
// implementation that shares no code with the sim or with Go's crypto.
func TestResponseSignatureOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	e := newEnv(t)
	rep := e.precreate(t, "ossl1", "0.01", "")
	dir := t.TempDir()
	sig, err := base64.StdEncoding.DecodeString(rep.sign)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"pub.pem": []byte(e.sim.PublicKeyPEM()), "data": rep.value, "sig": sig}
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
	// And it must fail over different bytes, or the check proves nothing.
	if err := os.WriteFile(filepath.Join(dir, "other"), append(rep.value, ' '), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := verify("other"); err == nil {
		t.Fatalf("openssl accepted a signature over other bytes: %s", out)
	}
}

func TestPrecreateRepeat(t *testing.T) {
	e := newEnv(t)
	first := e.precreate(t, "rep1", "9.99", "")
	tests := []struct {
		name    string
		setup   func(t *testing.T)
		amount  string
		subCode string // "" = same trade again
	}{
		{"OKSameAmount", nil, "9.99", ""},
		{"ErrOtherAmount", nil, "10.00", "ACQ.CONTEXT_INCONSISTENT"},
		{"ErrPaid", func(t *testing.T) {
			if err := e.sim.Pay(context.Background(), appID, "rep1", true); err != nil {
				t.Fatal(err)
			}
		}, "9.99", "ACQ.TRADE_HAS_SUCCESS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			rep := e.call(t, "alipay.trade.precreate", map[string]any{"out_trade_no": "rep1", "total_amount": tt.amount, "subject": "s"})
			if tt.subCode != "" {
				wantCode(t, rep, "alipay.trade.precreate", "40004", tt.subCode)
				return
			}
			if rep.str("qr_code") != first.str("qr_code") {
				t.Fatalf("qr_code = %s, want the first one %s", rep.str("qr_code"), first.str("qr_code"))
			}
		})
	}
}

func TestTradeTransitions(t *testing.T) {
	tests := []struct {
		name       string
		act        func(t *testing.T, e *env, no string) reply
		method     string
		subCode    string // expected 40004 sub_code, "" for success
		wantStatus string // trade_status afterwards
	}{
		{"CloseUnpaid", func(t *testing.T, e *env, no string) reply {
			return e.call(t, "alipay.trade.close", map[string]any{"out_trade_no": no})
		}, "alipay.trade.close", "", "TRADE_CLOSED"},
		{"CloseTwice", func(t *testing.T, e *env, no string) reply {
			e.call(t, "alipay.trade.close", map[string]any{"out_trade_no": no})
			return e.call(t, "alipay.trade.close", map[string]any{"out_trade_no": no})
		}, "alipay.trade.close", "", "TRADE_CLOSED"},
		{"ErrClosePaid", func(t *testing.T, e *env, no string) reply {
			mustPay(t, e, no)
			return e.call(t, "alipay.trade.close", map[string]any{"out_trade_no": no})
		}, "alipay.trade.close", "ACQ.TRADE_STATUS_ERROR", "TRADE_SUCCESS"},
		{"ErrCloseUnknown", func(t *testing.T, e *env, no string) reply {
			return e.call(t, "alipay.trade.close", map[string]any{"out_trade_no": no + "x"})
		}, "alipay.trade.close", "ACQ.TRADE_NOT_EXIST", "WAIT_BUYER_PAY"},
		{"CloseByTradeNo", func(t *testing.T, e *env, no string) reply {
			tradeNo := e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": no}).str("trade_no")
			return e.call(t, "alipay.trade.close", map[string]any{"trade_no": tradeNo})
		}, "alipay.trade.close", "", "TRADE_CLOSED"},
		{"CancelUnpaid", func(t *testing.T, e *env, no string) reply {
			rep := e.call(t, "alipay.trade.cancel", map[string]any{"out_trade_no": no})
			if rep.str("action") != "close" {
				t.Errorf("action = %q, want close", rep.str("action"))
			}
			return rep
		}, "alipay.trade.cancel", "", "TRADE_CLOSED"},
		{"CancelPaidRefunds", func(t *testing.T, e *env, no string) reply {
			mustPay(t, e, no)
			rep := e.call(t, "alipay.trade.cancel", map[string]any{"out_trade_no": no})
			if rep.str("action") != "refund" {
				t.Errorf("action = %q, want refund", rep.str("action"))
			}
			return rep
		}, "alipay.trade.cancel", "", "TRADE_CLOSED"},
		{"ExpiresAtTimeExpire", func(t *testing.T, e *env, no string) reply {
			no2 := no + "exp"
			exp := e.clock.Now().Add(10 * time.Minute).In(cst).Format("2006-01-02 15:04:05")
			rep := e.call(t, "alipay.trade.precreate", map[string]any{"out_trade_no": no2, "total_amount": "1.00", "subject": "s", "time_expire": exp})
			wantCode(t, rep, "alipay.trade.precreate", "10000", "")
			e.clock.Add(9 * time.Minute)
			if st := e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": no2}).str("trade_status"); st != "WAIT_BUYER_PAY" {
				t.Fatalf("before time_expire: %s", st)
			}
			e.clock.Add(time.Minute)
			if err := e.sim.Pay(context.Background(), appID, no2, true); !errors.Is(err, alipaysim.ErrTradeNotPayable) {
				t.Fatalf("Pay after expiry: %v, want ErrTradeNotPayable", err)
			}
			// The original trade (no time_expire) is unaffected; report the
			// expired one through the common check below.
			return e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": no2})
		}, "alipay.trade.query", "", "TRADE_CLOSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			no := "tt_" + tt.name
			e.precreate(t, no, "3.00", "")
			rep := tt.act(t, e, no)
			if tt.subCode != "" {
				wantCode(t, rep, tt.method, "40004", tt.subCode)
			} else {
				wantCode(t, rep, tt.method, "10000", "")
			}
			if tt.method == "alipay.trade.query" {
				if got := rep.str("trade_status"); got != tt.wantStatus {
					t.Fatalf("trade_status = %s, want %s", got, tt.wantStatus)
				}
				return
			}
			if got := e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": no}).str("trade_status"); got != tt.wantStatus {
				t.Fatalf("trade_status = %s, want %s", got, tt.wantStatus)
			}
		})
	}
}

func mustPay(t *testing.T, e *env, no string) {
	t.Helper()
	if err := e.sim.Pay(context.Background(), appID, no, true); err != nil {
		t.Fatal(err)
	}
}

func TestRefund(t *testing.T) {
	e := newEnv(t)
	e.precreate(t, "rf1", "10.00", "")
	e.precreate(t, "rf_unpaid", "10.00", "")
	mustPay(t, e, "rf1")
	refund := func(no, amount, reqNo string) reply {
		return e.call(t, "alipay.trade.refund", map[string]any{"out_trade_no": no, "refund_amount": amount, "out_request_no": reqNo})
	}
	// Steps run in order on one trade: each depends on the refunds before.
	steps := []struct {
		name                  string
		no, amount, reqNo     string
		subCode               string
		fundChange, refundFee string
		status                string
	}{
		{"OKPartial", "rf1", "3.00", "r1", "", "Y", "3.00", "TRADE_SUCCESS"},
		{"OKRepeatDoesNotRefundTwice", "rf1", "3.00", "r1", "", "N", "3.00", "TRADE_SUCCESS"},
		{"ErrRepeatOtherAmount", "rf1", "4.00", "r1", "ACQ.DISCORDANT_REPEAT_REQUEST", "", "", "TRADE_SUCCESS"},
		{"ErrOverRefund", "rf1", "7.01", "r2", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "", "", "TRADE_SUCCESS"},
		{"OKRestClosesTrade", "rf1", "7.00", "r3", "", "Y", "10.00", "TRADE_CLOSED"},
		{"ErrAfterFullRefund", "rf1", "0.01", "r4", "ACQ.TRADE_STATUS_ERROR", "", "", "TRADE_CLOSED"},
		{"ErrUnpaid", "rf_unpaid", "1.00", "u1", "ACQ.TRADE_STATUS_ERROR", "", "", "WAIT_BUYER_PAY"},
		{"ErrUnknownTrade", "rf_none", "1.00", "n1", "ACQ.TRADE_NOT_EXIST", "", "", ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			rep := refund(s.no, s.amount, s.reqNo)
			if s.subCode != "" {
				wantCode(t, rep, "alipay.trade.refund", "40004", s.subCode)
			} else {
				wantCode(t, rep, "alipay.trade.refund", "10000", "")
				if rep.str("fund_change") != s.fundChange || rep.str("refund_fee") != s.refundFee {
					t.Fatalf("fund_change %s refund_fee %s, want %s %s", rep.str("fund_change"), rep.str("refund_fee"), s.fundChange, s.refundFee)
				}
			}
			if s.status != "" {
				if got := e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": s.no}).str("trade_status"); got != s.status {
					t.Fatalf("trade_status = %s, want %s", got, s.status)
				}
			}
		})
	}
	t.Run("Query", func(t *testing.T) {
		for reqNo, want := range map[string]string{"r1": "REFUND_SUCCESS", "r3": "REFUND_SUCCESS", "r2": "", "zz": ""} {
			rep := e.call(t, "alipay.trade.fastpay.refund.query", map[string]any{"out_trade_no": "rf1", "out_request_no": reqNo})
			wantCode(t, rep, "alipay.trade.fastpay.refund.query", "10000", "")
			if got := rep.str("refund_status"); got != want {
				t.Errorf("%s: refund_status = %q, want %q", reqNo, got, want)
			}
		}
	})
}

func TestPay(t *testing.T) {
	tests := []struct {
		name       string
		no         string
		success    bool
		wantErr    error
		wantStatus string
		wantNotify int
	}{
		{"OK", "p1", true, nil, "TRADE_SUCCESS", 1},
		{"FailedAttemptStaysUnpaid", "p1", false, nil, "WAIT_BUYER_PAY", 0},
		{"ErrUnknownTrade", "nope", true, alipaysim.ErrTradeNotFound, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rc := newReceiver(t, "success")
			e.precreate(t, "p1", "1.00", rc.srv.URL)
			err := e.sim.Pay(context.Background(), appID, tt.no, tt.success)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Pay: %v, want %v", err, tt.wantErr)
			}
			if tt.wantStatus != "" {
				if got := e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": tt.no}).str("trade_status"); got != tt.wantStatus {
					t.Fatalf("trade_status = %s, want %s", got, tt.wantStatus)
				}
			}
			// Delivery is synchronous: no waiting is needed to see it.
			if got := len(rc.received()); got != tt.wantNotify {
				t.Fatalf("%d notifications, want %d", got, tt.wantNotify)
			}
		})
	}
	t.Run("ErrClosed", func(t *testing.T) {
		e := newEnv(t)
		e.precreate(t, "pc", "1.00", "")
		e.call(t, "alipay.trade.close", map[string]any{"out_trade_no": "pc"})
		if err := e.sim.Pay(context.Background(), appID, "pc", true); !errors.Is(err, alipaysim.ErrTradeNotPayable) {
			t.Fatalf("Pay: %v, want ErrTradeNotPayable", err)
		}
	})
}

// TestNotificationContent verifies a payment and a refund notification with
// this file's own implementation of Alipay's notification signature.
func TestNotificationContent(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	e.precreate(t, "n1", "2.50", rc.srv.URL)
	mustPay(t, e, "n1")
	e.call(t, "alipay.trade.refund", map[string]any{"out_trade_no": "n1", "refund_amount": "1.00", "out_request_no": "nr1"})
	waitFor(t, "the refund notification", func() bool { return len(rc.received()) == 2 })
	tests := []struct {
		name string
		want map[string]string
		none []string
	}{
		{"Payment", map[string]string{"trade_status": "TRADE_SUCCESS", "total_amount": "2.50", "app_id": appID, "out_trade_no": "n1", "notify_type": "trade_status_sync", "sign_type": "RSA2"},
			[]string{"out_biz_no", "refund_fee", "gmt_refund", "gmt_close"}},
		{"Refund", map[string]string{"trade_status": "TRADE_SUCCESS", "total_amount": "2.50", "out_biz_no": "nr1", "refund_fee": "1.00"}, []string{"gmt_close"}},
	}
	got := rc.received()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := got[i]
			if err := testVerify(&platformKey.PublicKey, "RSA2", testContent(v, "sign", "sign_type"), v.Get("sign")); err != nil {
				t.Fatalf("notification signature: %v", err)
			}
			for k, vs := range v {
				if len(vs) != 1 || vs[0] == "" {
					t.Errorf("field %s = %q: every field must be sent once and non-empty", k, vs)
				}
			}
			for k, want := range tt.want {
				if v.Get(k) != want {
					t.Errorf("%s = %q, want %q", k, v.Get(k), want)
				}
			}
			for _, k := range []string{"notify_id", "notify_time", "trade_no", "buyer_id", "seller_id", "gmt_payment", "gmt_create", "charset", "version"} {
				if v.Get(k) == "" {
					t.Errorf("%s missing", k)
				}
			}
			for _, k := range tt.none {
				if v.Has(k) {
					t.Errorf("%s = %q should be absent", k, v.Get(k))
				}
			}
		})
	}
}

func TestNotificationRetry(t *testing.T) {
	gap := 20 * time.Millisecond
	tests := []struct {
		name     string
		answers  []string
		attempts int // total deliveries until acked or the schedule ends
		acked    bool
	}{
		{"AckedFirst", []string{"success"}, 1, true},
		{"FailThenSuccess", []string{"fail", "success"}, 2, true},
		{"ServerErrorThenSuccess", []string{"500", "500", "success"}, 3, true},
		{"NotExactlySuccess", []string{"success\n", "SUCCESS", "success"}, 3, true},
		{"NeverAcked", []string{"fail"}, 3, false}, // first try + 2 retries
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, gap, gap)
			rc := newReceiver(t, tt.answers...)
			e.precreate(t, "r1", "1.00", rc.srv.URL)
			mustPay(t, e, "r1")
			waitFor(t, "deliveries", func() bool { return len(e.sim.Notifications("r1")) >= tt.attempts })
			time.Sleep(3 * gap) // nothing more may come after the last attempt
			ds := e.sim.Notifications("r1")
			if len(ds) != tt.attempts {
				t.Fatalf("%d attempts, want %d: %+v", len(ds), tt.attempts, ds)
			}
			for i, d := range ds {
				if d.Attempt != i+1 || d.NotifyID != ds[0].NotifyID {
					t.Errorf("attempt %d: %+v", i+1, d)
				}
				if wantAck := tt.acked && i == len(ds)-1; d.Acked != wantAck {
					t.Errorf("attempt %d acked = %v, want %v (reply %q)", i+1, d.Acked, wantAck, d.Reply)
				}
			}
			if got := len(rc.received()); got != tt.attempts {
				t.Fatalf("receiver saw %d, want %d", got, tt.attempts)
			}
		})
	}
	t.Run("CloseStopsRetries", func(t *testing.T) {
		e := newEnv(t, 50*time.Millisecond)
		rc := newReceiver(t, "fail")
		e.precreate(t, "c1", "1.00", rc.srv.URL)
		mustPay(t, e, "c1")
		e.sim.Close()
		time.Sleep(100 * time.Millisecond)
		if got := len(rc.received()); got != 1 {
			t.Fatalf("receiver saw %d after Close, want only the first attempt", got)
		}
	})
}

func TestPublicKeyPEM(t *testing.T) {
	e := newEnv(t)
	block, rest := pem.Decode([]byte(e.sim.PublicKeyPEM()))
	if block == nil || block.Type != "PUBLIC KEY" || len(rest) != 0 {
		t.Fatalf("not one SPKI PEM block: %q", e.sim.PublicKeyPEM())
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !platformKey.PublicKey.Equal(pub) {
		t.Fatal("PublicKeyPEM is not the platform key's public half")
	}
}
