package alipay_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
)

// orderChanged is an alipay.fund.trans.order.changed message with biz as
// its biz_content, signed with key (nil: unsigned).
func orderChanged(biz string, change func(url.Values)) url.Values {
	v := url.Values{
		"notify_id": {"2026112100222100000000000001"}, "utc_timestamp": {"1795226400000"},
		"msg_method": {"alipay.fund.trans.order.changed"}, "app_id": {appID}, "version": {"1.1"},
		"charset": {"utf-8"}, "sign_type": {"RSA2"}, "biz_content": {biz},
	}
	if change != nil {
		change(v)
	}
	return v
}

const paidBiz = `{"action_type":"FINISH","biz_scene":"DIRECT_TRANSFER","order_id":"20261121110070000000000000000001",` +
	`"origin_interface":"alipay.fund.trans.uni.transfer","out_biz_no":"PAYOUT000000000000000001","pay_date":"2026-11-21 10:00:05",` +
	`"pay_fund_order_id":"20261121110070000000000000000002","product_code":"TRANS_ACCOUNT_NO_PWD","status":"SUCCESS","trans_amount":"12.34"}`

func payoutConn(t testing.TB) *alipay.Client {
	conn, err := alipay.New(alipay.ChannelApp, alipay.Config{AppID: appID, PrivateKeyPEM: merchantPKCS1, AlipayPublicKeyPEM: platformPub, Gateway: "http://127.0.0.1:1/unused"})
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func TestParsePayoutNotification(t *testing.T) {
	conn := payoutConn(t)
	signed := func(biz string, change func(url.Values)) url.Values {
		v := orderChanged(biz, change)
		signNotification(v, platformKey)
		return v
	}
	tests := []struct {
		name string
		body url.Values
		want *polypay.PayoutResult
		code string // polypay error code when refused; "sig" for ErrBadSignature
	}{
		{"OKPaid", signed(paidBiz, nil), &polypay.PayoutResult{State: polypay.PayoutPaid, Amount: 1234,
			TransactionNo: "20261121110070000000000000000001", PaidAt: 1795226405}, ""},
		{"OKAmountNumber", signed(`{"out_biz_no":"P1","order_id":"O1","status":"DEALING","trans_amount":12.3}`, nil),
			&polypay.PayoutResult{State: polypay.PayoutProcessing, Amount: 1230, TransactionNo: "O1"}, ""},
		{"OKFailed", signed(`{"out_biz_no":"P1","order_id":"O1","status":"FAIL","trans_amount":"1.00","error_code":"PAYEE_ACCOUNT_STATUS_ERROR","fail_reason":"收款方账户状态异常"}`, nil),
			&polypay.PayoutResult{State: polypay.PayoutFailed, Amount: 100, TransactionNo: "O1", FailureCode: "PAYEE_ACCOUNT_STATUS_ERROR", FailureMsg: "收款方账户状态异常"}, ""},
		{"OKRefundNoReason", signed(`{"out_biz_no":"P1","order_id":"O1","status":"REFUND"}`, nil),
			&polypay.PayoutResult{State: polypay.PayoutFailed, TransactionNo: "O1", FailureCode: "REFUND"}, ""},
		{"OKCertSNIgnored", func() url.Values {
			v := signed(paidBiz, nil)
			v.Set("alipay_cert_sn", "whatever")
			return v
		}(), &polypay.PayoutResult{State: polypay.PayoutPaid, Amount: 1234, TransactionNo: "20261121110070000000000000000001", PaidAt: 1795226405}, ""},
		{"ErrForged", func() url.Values {
			v := orderChanged(paidBiz, nil)
			signNotification(v, otherKey)
			return v
		}(), nil, "sig"},
		{"ErrUnsigned", orderChanged(paidBiz, nil), nil, "sig"},
		{"ErrTampered", func() url.Values {
			v := signed(paidBiz, nil)
			v.Set("biz_content", `{"out_biz_no":"PAYOUT000000000000000001","status":"SUCCESS","trans_amount":"99.00"}`)
			return v
		}(), nil, "sig"},
		{"ErrMethod", signed(paidBiz, func(v url.Values) { v.Set("msg_method", "alipay.fund.trans.refund.success") }), nil, polypay.ENotSupported},
		{"ErrStatus", signed(`{"out_biz_no":"P1","status":"ODD"}`, nil), nil, polypay.ENotSupported},
		{"ErrProduct", signed(`{"out_biz_no":"P1","status":"SUCCESS","product_code":"STD_RED_PACKET"}`, nil), nil, polypay.ENotSupported},
		{"ErrEncrypted", signed(paidBiz, func(v url.Values) { v.Set("encrypt_type", "AES") }), nil, polypay.ENotSupported},
		{"ErrNoOutBizNo", signed(`{"status":"SUCCESS"}`, nil), nil, polypay.EInvalid},
		{"ErrNoApp", signed(paidBiz, func(v url.Values) { v.Del("app_id") }), nil, polypay.EInvalid},
		{"ErrBizNotJSON", signed(`{"out_biz_no":`, nil), nil, polypay.EInvalid},
		{"ErrAmountThirdDecimal", signed(`{"out_biz_no":"P1","status":"SUCCESS","trans_amount":"1.001"}`, nil), nil, polypay.EInvalid},
		{"ErrAmountNegative", signed(`{"out_biz_no":"P1","status":"SUCCESS","trans_amount":-1}`, nil), nil, polypay.EInvalid},
		{"ErrAmountZero", signed(`{"out_biz_no":"P1","status":"SUCCESS","trans_amount":"0.00"}`, nil), nil, polypay.EInvalid},
		{"ErrPayDate", signed(`{"out_biz_no":"P1","status":"SUCCESS","pay_date":"yesterday"}`, nil), nil, polypay.EInvalid},
	}
	r := httptest.NewRequest("POST", "/notify/alipay/app_x/test", nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := conn.ParseNotification(context.Background(), polypay.NewNotifyRequest(r, []byte(tt.body.Encode())))
			switch {
			case tt.code == "sig":
				if !errors.Is(err, polypay.ErrBadSignature) {
					t.Fatalf("ParseNotification = %+v, %v; want ErrBadSignature", n, err)
				}
				return
			case tt.code != "":
				if polypay.ErrorCode(err) != tt.code || n != nil {
					t.Fatalf("ParseNotification = %+v, %v; want %s", n, err, tt.code)
				}
				return
			case err != nil:
				t.Fatalf("ParseNotification: %v", err)
			}
			var biz struct {
				OutBizNo string `json:"out_biz_no"`
			}
			_ = json.Unmarshal([]byte(tt.body.Get("biz_content")), &biz)
			if n.Kind != polypay.NotifyPayout || n.MerchantID != appID || n.PayoutNo != biz.OutBizNo || n.ID != tt.body.Get("notify_id") {
				t.Fatalf("notification = %+v", n)
			}
			if *n.Payout != *tt.want {
				t.Fatalf("payout = %+v, want %+v", *n.Payout, *tt.want)
			}
		})
	}
}

// FuzzParsePayoutNotification: whatever arrives, a payout is only read
// from a message the platform key signed, and it says what the message
// says.
func FuzzParsePayoutNotification(f *testing.F) {
	conn := payoutConn(f)
	for _, biz := range []string{paidBiz,
		`{"out_biz_no":"P1","order_id":"O1","status":"FAIL","trans_amount":1.5,"error_code":"PAYEE_NOT_EXIST"}`,
		`{"out_biz_no":"P1","status":"DEALING"}`} {
		v := orderChanged(biz, nil)
		signNotification(v, platformKey)
		f.Add(v.Encode())
	}
	f.Add("msg_method=alipay.fund.trans.order.changed&sign=AAAA&biz_content=%7B%7D")
	f.Add("")
	r := httptest.NewRequest("POST", "/notify/alipay/app_x/test", nil)
	f.Fuzz(func(t *testing.T, body string) {
		n, err := conn.ParseNotification(context.Background(), polypay.NewNotifyRequest(r, []byte(body)))
		if err != nil {
			if n != nil {
				t.Fatal("notification returned with an error")
			}
			return
		}
		v, perr := url.ParseQuery(body)
		if perr != nil {
			t.Fatalf("accepted a body that is not a form: %v", perr)
		}
		if err := verifyNotification(v); err != nil {
			t.Fatalf("accepted a message whose signature does not verify: %v", err)
		}
		if n.Kind != polypay.NotifyPayout {
			return // a trade notification: FuzzParseNotification's business
		}
		var biz struct {
			OutBizNo    string          `json:"out_biz_no"`
			TransAmount json.RawMessage `json:"trans_amount"`
		}
		if err := json.Unmarshal([]byte(v.Get("biz_content")), &biz); err != nil {
			t.Fatalf("accepted biz_content that is not JSON: %v", err)
		}
		if n.PayoutNo != biz.OutBizNo || n.PayoutNo == "" || n.MerchantID != v.Get("app_id") || n.Payout == nil {
			t.Fatalf("notification %+v, body says %q %q", n, biz.OutBizNo, v.Get("app_id"))
		}
		if len(biz.TransAmount) > 0 && string(biz.TransAmount) != "null" {
			var s string
			if json.Unmarshal(biz.TransAmount, &s) != nil {
				s = string(biz.TransAmount)
			}
			if want := fen(t, s); n.Payout.Amount != want || want <= 0 {
				t.Fatalf("amount %d, body says %s", n.Payout.Amount, biz.TransAmount)
			}
		}
	})
}
