package wechatpay_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/wechatpay"
)

// TestV2Sign checks the v2 signature against WeChat's own worked example
// (签名算法: appid … nonce_str with key 192006250b4c09247ec02edce69f6a2d).
func TestV2Sign(t *testing.T) {
	const key = "192006250b4c09247ec02edce69f6a2d"
	kv := []string{"appid", "wxd930ea5d5a258f4f", "mch_id", "10000100", "device_info", "1000", "body", "test",
		"nonce_str", "ibuaiVcKdpRxkhJA", "sign", "ignored", "empty", ""}
	for _, tc := range []struct{ signType, want string }{
		{"", "9A0A8659F005D6984697E2CA0A9CF3B7"},
		{"MD5", "9A0A8659F005D6984697E2CA0A9CF3B7"},
		{"HMAC-SHA256", "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"},
	} {
		if got := wechatpay.V2Sign(key, tc.signType, kv...); got != tc.want {
			t.Errorf("%q signature %s, want %s", tc.signType, got, tc.want)
		}
	}
}

func TestParseV2Answer(t *testing.T) {
	cases := []struct {
		name, body string
		ok         bool
	}{
		{"Sent", `<xml><return_code><![CDATA[SUCCESS]]></return_code><result_code><![CDATA[SUCCESS]]></result_code><mch_billno>1</mch_billno><send_listid><![CDATA[100]]></send_listid></xml>`, true},
		{"Refused", `<xml><return_code>SUCCESS</return_code><result_code>FAIL</result_code><err_code>NOTENOUGH</err_code></xml>`, true},
		{"CallRefused", `<xml><return_code>FAIL</return_code><return_msg>签名错误</return_msg></xml>`, true},
		{"ErrNoReturnCode", `<xml><result_code>SUCCESS</result_code></xml>`, false},
		{"ErrNoResultCode", `<xml><return_code>SUCCESS</return_code></xml>`, false},
		{"ErrOddCode", `<xml><return_code>MAYBE</return_code></xml>`, false},
		{"ErrRoot", `<root><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code></root>`, false},
		{"ErrJSON", `{"return_code":"SUCCESS"}`, false},
		{"ErrEmpty", ``, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := wechatpay.ParseV2Answer([]byte(tc.body))
			if (err == nil) != tc.ok || (err == nil) != (a != nil) {
				t.Fatalf("ParseV2Answer = %+v, %v; want ok %v", a, err, tc.ok)
			}
		})
	}
}

func TestRedpackStatus(t *testing.T) {
	for in, want := range map[string]polypay.RedEnvelopeStatus{
		"SENDING": polypay.RedEnvelopeSending, "SENT": polypay.RedEnvelopeSent, "FAILED": polypay.RedEnvelopeFailed,
		"RECEIVED": polypay.RedEnvelopeReceived, "RFUND_ING": polypay.RedEnvelopeRefunding, "REFUND": polypay.RedEnvelopeRefund,
	} {
		if got, err := wechatpay.RedpackStatus(in); got != want || err != nil {
			t.Errorf("%s: %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "REFUNDING", "sent"} {
		if _, err := wechatpay.RedpackStatus(in); polypay.ErrorCode(err) != polypay.ENotSupported {
			t.Errorf("%q: %v, want ENotSupported", in, err)
		}
	}
}

func TestTransferStates(t *testing.T) {
	for in, want := range map[string]polypay.PayoutState{
		"INIT": polypay.PayoutProcessing, "WAIT_PAY": polypay.PayoutProcessing, "PROCESSING": polypay.PayoutProcessing,
		"SUCCESS": polypay.PayoutPaid, "FAIL": polypay.PayoutFailed,
	} {
		if got, err := wechatpay.DetailState(in); got != want || err != nil {
			t.Errorf("detail %s: %s, %v; want %s", in, got, err, want)
		}
	}
	for in, want := range map[string]polypay.PayoutState{
		"WAIT_PAY": polypay.PayoutProcessing, "ACCEPTED": polypay.PayoutProcessing, "PROCESSING": polypay.PayoutProcessing,
		"CLOSED": polypay.PayoutFailed, "FINISHED": polypay.PayoutNotFound,
	} {
		if got, err := wechatpay.BatchState(in); got != want || err != nil {
			t.Errorf("batch %s: %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "BANK_REFUND", "success"} {
		if _, err := wechatpay.DetailState(in); polypay.ErrorCode(err) != polypay.ENotSupported {
			t.Errorf("detail %q: %v, want ENotSupported", in, err)
		}
		if _, err := wechatpay.BatchState(in); polypay.ErrorCode(err) != polypay.ENotSupported {
			t.Errorf("batch %q: %v, want ENotSupported", in, err)
		}
	}
	// Every documented fail reason has its own text; an unknown one a
	// generic text naming it.
	for _, code := range []string{"ACCOUNT_FROZEN", "REAL_NAME_CHECK_FAIL", "NAME_NOT_CORRECT", "OPENID_INVALID",
		"TRANSFER_QUOTA_EXCEED", "DAY_RECEIVED_QUOTA_EXCEED", "MONTH_RECEIVED_QUOTA_EXCEED", "DAY_RECEIVED_COUNT_EXCEED",
		"PRODUCT_AUTH_CHECK_FAIL", "OVERDUE_CLOSE", "ID_CARD_NOT_CORRECT", "ACCOUNT_NOT_EXIST", "TRANSFER_RISK",
		"OTHER_FAIL_REASON_TYPE", "REALNAME_ACCOUNT_RECEIVED_QUOTA_EXCEED", "RECEIVE_ACCOUNT_NOT_PERMMIT",
		"PAYEE_ACCOUNT_ABNORMAL", "PAYER_ACCOUNT_ABNORMAL", "TRANSFER_SCENE_UNAVAILABLE", "TRANSFER_SCENE_INVALID",
		"TRANSFER_REMARK_SET_FAIL", "RECEIVE_ACCOUNT_NOT_CONFIGURE", "BLOCK_B2C_USERLIMITAMOUNT_BSRULE_MONTH",
		"BLOCK_B2C_USERLIMITAMOUNT_MONTH", "MERCHANT_REJECT", "MERCHANT_NOT_CONFIRM", "NOT_ENOUGH"} {
		if msg := wechatpay.FailReasonMsg(code); strings.Contains(msg, code) {
			t.Errorf("fail reason %s has no text of its own: %q", code, msg)
		}
	}
	if msg := wechatpay.FailReasonMsg("NEW_REASON"); !strings.Contains(msg, "NEW_REASON") {
		t.Errorf("an unknown reason's text %q does not name it", msg)
	}
}

// FuzzParseV2Answer: no body panics the parser, and an answer it takes
// has a known return_code (and a result_code when the call was taken),
// as WeChat's XML says.
func FuzzParseV2Answer(f *testing.F) {
	f.Add([]byte(`<xml><return_code><![CDATA[SUCCESS]]></return_code><result_code>SUCCESS</result_code><status>RECEIVED</status><hblist><hbinfo><openid>o1</openid><amount>100</amount><rcv_time>2026-11-21 10:00:00</rcv_time></hbinfo></hblist></xml>`))
	f.Add([]byte(`<xml><return_code>FAIL</return_code><return_msg>签名错误</return_msg></xml>`))
	f.Add([]byte(`<xml><return_code>SUCCESS</return_code><result_code>FAIL</result_code><err_code>NOT_FOUND</err_code></xml>`))
	f.Add([]byte(`<xml><return_code>SUCCESS</return_code><return_code>FAIL</return_code></xml>`))
	f.Add([]byte(`<!DOCTYPE xml [<!ENTITY a "b">]><xml>&a;</xml>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := wechatpay.ParseV2Answer(body)
		if err != nil {
			if a != nil {
				t.Fatal("an answer with an error")
			}
			return
		}
		var raw struct {
			XMLName    xml.Name
			ReturnCode string `xml:"return_code"`
		}
		if xml.Unmarshal(body, &raw) != nil || raw.XMLName.Local != "xml" {
			t.Fatalf("took an answer that is not <xml>: %q", body)
		}
		if (a.ReturnCode != "SUCCESS" && a.ReturnCode != "FAIL") || (a.ReturnCode == "SUCCESS" && a.ResultCode != "SUCCESS" && a.ResultCode != "FAIL") {
			t.Fatalf("took return_code %q result_code %q", a.ReturnCode, a.ResultCode)
		}
	})
}

// FuzzParseBatchPayload: no payload panics the parser, and one it takes
// names a merchant, a batch number of letters and digits, an end state
// and 1 to 3000 details.
func FuzzParseBatchPayload(f *testing.F) {
	f.Add([]byte(`{"mchid":"1900000109","out_batch_no":"abc123","batch_id":"1","batch_status":"FINISHED","total_num":1,"total_amount":100,"success_num":1,"success_amount":100}`))
	f.Add([]byte(`{"mchid":"1900000109","out_batch_no":"abc123","batch_status":"CLOSED","total_num":2,"close_reason":"OVERDUE_CLOSE"}`))
	f.Add([]byte(`{"mchid":"1","out_batch_no":"a/b","batch_status":"FINISHED","total_num":1}`))
	f.Add([]byte(`{"total_num":1e9}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, plain []byte) {
		p, err := wechatpay.ParseBatchPayload(plain)
		if err != nil {
			if p != nil {
				t.Fatal("a payload with an error")
			}
			return
		}
		if p.Mchid == "" || p.OutBatchNo == "" || len(p.OutBatchNo) > 32 || strings.ContainsAny(p.OutBatchNo, "/?#% ") ||
			(p.BatchStatus != "FINISHED" && p.BatchStatus != "CLOSED") || p.TotalNum < 1 || p.TotalNum > 3000 {
			t.Fatalf("took %+v from %q", p, plain)
		}
	})
}
