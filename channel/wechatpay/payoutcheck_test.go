package wechatpay_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/wechatpay"
)

// offline is a connector that never reaches a server: the checks need none.
func offline(t *testing.T, channel string) *wechatpay.Client {
	t.Helper()
	return newConn(t, channel, config("http://127.0.0.1:1"))
}

func validTransfer() *polypay.Transfer {
	return &polypay.Transfer{ID: "tr_0123456789abcdefABCDEF01", Channel: wechatpay.ChannelPub, OrderNo: "2026112100001",
		Type: "b2c", Amount: 1000, Currency: "cny", Recipient: openID, Description: "佣金", Extra: json.RawMessage(`{}`)}
}

func wantParam(t *testing.T, err error, param string) {
	t.Helper()
	var pe *polypay.Error
	if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || pe.Param != param {
		t.Fatalf("error %v, want EInvalid naming %q", err, param)
	}
}

func TestCheckTransfer(t *testing.T) {
	const name = "张三"
	cases := []struct {
		name    string
		channel string // connector's channel; "" wx_pub
		change  func(tr *polypay.Transfer)
		param   string // "" valid
	}{
		{name: "OK"},
		{name: "OKApp", channel: wechatpay.ChannelApp, change: func(tr *polypay.Transfer) { tr.Channel = wechatpay.ChannelApp }},
		{name: "OKLite", channel: wechatpay.ChannelLite, change: func(tr *polypay.Transfer) { tr.Channel = wechatpay.ChannelLite }},
		{name: "OKNoExtra", change: func(tr *polypay.Transfer) { tr.Extra = nil }},
		{name: "OKNullExtra", change: func(tr *polypay.Transfer) { tr.Extra = json.RawMessage(`null`) }},
		{name: "OKOrderNo32", change: func(tr *polypay.Transfer) { tr.OrderNo = strings.Repeat("aZ09", 8) }},
		{name: "OKName", change: func(tr *polypay.Transfer) { tr.Extra = json.RawMessage(`{"user_name":"` + name + `"}`) }},
		{name: "OKForceCheck", change: func(tr *polypay.Transfer) {
			tr.Extra = json.RawMessage(`{"user_name":"` + name + `","force_check":true}`)
		}},
		{name: "OKNameFrom2000Yuan", change: func(tr *polypay.Transfer) {
			tr.Amount, tr.Extra = 200000, json.RawMessage(`{"user_name":"`+name+`"}`)
		}},
		{name: "OKJustBelow2000Yuan", change: func(tr *polypay.Transfer) { tr.Amount = 199999 }},
		{name: "OKForceCheckFalse", change: func(tr *polypay.Transfer) { tr.Extra = json.RawMessage(`{"force_check":false}`) }},
		{name: "ErrQRChannel", channel: wechatpay.ChannelQR, change: func(tr *polypay.Transfer) { tr.Channel = "" }, param: "channel"},
		{name: "ErrOtherChannel", change: func(tr *polypay.Transfer) { tr.Channel = wechatpay.ChannelApp }, param: "channel"},
		{name: "ErrOrderNoEmpty", change: func(tr *polypay.Transfer) { tr.OrderNo = "" }, param: "order_no"},
		{name: "ErrOrderNo33", change: func(tr *polypay.Transfer) { tr.OrderNo = strings.Repeat("1", 33) }, param: "order_no"},
		{name: "ErrOrderNoUnderscore", change: func(tr *polypay.Transfer) { tr.OrderNo = "a_1" }, param: "order_no"},
		{name: "ErrOrderNoHan", change: func(tr *polypay.Transfer) { tr.OrderNo = "单号1" }, param: "order_no"},
		{name: "ErrB2B", change: func(tr *polypay.Transfer) { tr.Type = "b2b" }, param: "type"},
		{name: "ErrTypeEmpty", change: func(tr *polypay.Transfer) { tr.Type = "" }, param: "type"},
		{name: "ErrCurrency", change: func(tr *polypay.Transfer) { tr.Currency = "usd" }, param: "currency"},
		{name: "ErrAmountZero", change: func(tr *polypay.Transfer) { tr.Amount = 0 }, param: "amount"},
		{name: "ErrRecipientEmpty", change: func(tr *polypay.Transfer) { tr.Recipient = "" }, param: "recipient"},
		{name: "ErrRecipientLong", change: func(tr *polypay.Transfer) { tr.Recipient = strings.Repeat("o", 129) }, param: "recipient"},
		{name: "ErrExtraArray", change: func(tr *polypay.Transfer) { tr.Extra = json.RawMessage(`[]`) }, param: "extra"},
		{name: "ErrUserNameNumber", change: func(tr *polypay.Transfer) { tr.Extra = json.RawMessage(`{"user_name":1}`) }, param: "extra[user_name]"},
		{name: "ErrForceCheckString", change: func(tr *polypay.Transfer) { tr.Extra = json.RawMessage(`{"force_check":"true"}`) }, param: "extra[force_check]"},
		{name: "ErrNameMissingFrom2000Yuan", change: func(tr *polypay.Transfer) { tr.Amount = 200000 }, param: "extra[user_name]"},
		{name: "ErrForceCheckNoName", change: func(tr *polypay.Transfer) { tr.Extra = json.RawMessage(`{"force_check":true}`) }, param: "extra[user_name]"},
		{name: "ErrNameBelow30Fen", change: func(tr *polypay.Transfer) {
			tr.Amount, tr.Extra = 29, json.RawMessage(`{"user_name":"`+name+`"}`)
		}, param: "extra[user_name]"},
		{name: "ErrNameTooLong", change: func(tr *polypay.Transfer) {
			tr.Extra = json.RawMessage(`{"user_name":"` + strings.Repeat("名", 65) + `"}`)
		}, param: "extra[user_name]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := tc.channel
			if ch == "" {
				ch = wechatpay.ChannelPub
			}
			tr := validTransfer()
			if tc.change != nil {
				tc.change(tr)
			}
			err := offline(t, ch).CheckTransfer(tr)
			if tc.param == "" {
				if err != nil {
					t.Fatalf("CheckTransfer: %v", err)
				}
				return
			}
			wantParam(t, err, tc.param)
			if strings.Contains(err.Error(), name) {
				t.Fatalf("the error shows the payee's name: %v", err)
			}
		})
	}
}

func validEnvelope() *polypay.RedEnvelope {
	return &polypay.RedEnvelope{ID: "red_0123456789abcdefABCDEF01", Channel: wechatpay.ChannelPub, OrderNo: "123456",
		Amount: 100, Currency: "cny", Recipient: openID, Subject: "新年红包", Body: "恭喜发财", Description: "感谢参与",
		Extra: json.RawMessage(`{"send_name":"测试商户"}`), Created: 1795500000}
}

func TestCheckRedEnvelope(t *testing.T) {
	noV2 := config("http://127.0.0.1:1")
	noV2.APIv2Key, noV2.APICertPEM = "", ""
	badV2 := config("http://127.0.0.1:1")
	badV2.APICertPEM = certPEM(otherKey, serial)
	cases := []struct {
		name    string
		channel string
		cfg     *wechatpay.Config
		change  func(r *polypay.RedEnvelope)
		param   string
	}{
		{name: "OK"},
		{name: "OKMax", change: func(r *polypay.RedEnvelope) { r.Amount = 20000 }},
		{name: "OK28Digits", change: func(r *polypay.RedEnvelope) { r.OrderNo = strings.Repeat("9", 28) }},
		{name: "OKScene", change: func(r *polypay.RedEnvelope) {
			r.Amount, r.Extra = 30, json.RawMessage(`{"send_name":"测试商户","scene_id":"PRODUCT_1"}`)
		}},
		{name: "OKSceneMax", change: func(r *polypay.RedEnvelope) {
			r.Amount, r.Extra = 499900, json.RawMessage(`{"send_name":"测试商户","scene_id":"PRODUCT_8"}`)
		}},
		{name: "OKLimits", change: func(r *polypay.RedEnvelope) {
			r.Subject, r.Body, r.Description = strings.Repeat("a", 32), strings.Repeat("b", 128), strings.Repeat("c", 255)
		}},
		{name: "ErrChannel", channel: wechatpay.ChannelApp, change: func(r *polypay.RedEnvelope) { r.Channel = "" }, param: "channel"},
		{name: "ErrNoV2Credentials", cfg: &noV2, param: "channel"},
		{name: "ErrV2CertOfAnotherKey", cfg: &badV2, param: "channel"},
		{name: "ErrOrderNoEmpty", change: func(r *polypay.RedEnvelope) { r.OrderNo = "" }, param: "order_no"},
		{name: "ErrOrderNoLetters", change: func(r *polypay.RedEnvelope) { r.OrderNo = "12a" }, param: "order_no"},
		{name: "ErrOrderNo29", change: func(r *polypay.RedEnvelope) { r.OrderNo = strings.Repeat("1", 29) }, param: "order_no"},
		{name: "ErrCurrency", change: func(r *polypay.RedEnvelope) { r.Currency = "usd" }, param: "currency"},
		{name: "ErrRecipient", change: func(r *polypay.RedEnvelope) { r.Recipient = "" }, param: "recipient"},
		{name: "ErrSubjectEmpty", change: func(r *polypay.RedEnvelope) { r.Subject = "" }, param: "subject"},
		{name: "ErrSubject33Bytes", change: func(r *polypay.RedEnvelope) { r.Subject = strings.Repeat("红", 11) }, param: "subject"},
		{name: "ErrBody", change: func(r *polypay.RedEnvelope) { r.Body = strings.Repeat("b", 129) }, param: "body"},
		{name: "ErrBodyEmpty", change: func(r *polypay.RedEnvelope) { r.Body = "" }, param: "body"},
		{name: "ErrDescriptionEmpty", change: func(r *polypay.RedEnvelope) { r.Description = "" }, param: "description"},
		{name: "ErrDescription256", change: func(r *polypay.RedEnvelope) { r.Description = strings.Repeat("c", 256) }, param: "description"},
		{name: "ErrExtraString", change: func(r *polypay.RedEnvelope) { r.Extra = json.RawMessage(`"x"`) }, param: "extra"},
		{name: "ErrSendNameMissing", change: func(r *polypay.RedEnvelope) { r.Extra = json.RawMessage(`{}`) }, param: "extra[send_name]"},
		{name: "ErrSendNameNull", change: func(r *polypay.RedEnvelope) { r.Extra = nil }, param: "extra[send_name]"},
		{name: "ErrSendName33Bytes", change: func(r *polypay.RedEnvelope) {
			r.Extra = json.RawMessage(`{"send_name":"` + strings.Repeat("x", 33) + `"}`)
		}, param: "extra[send_name]"},
		{name: "ErrSendNameNumber", change: func(r *polypay.RedEnvelope) { r.Extra = json.RawMessage(`{"send_name":7}`) }, param: "extra[send_name]"},
		{name: "ErrScene", change: func(r *polypay.RedEnvelope) {
			r.Extra = json.RawMessage(`{"send_name":"测试商户","scene_id":"PRODUCT_9"}`)
		}, param: "extra[scene_id]"},
		{name: "ErrBelow1YuanNoScene", change: func(r *polypay.RedEnvelope) { r.Amount = 99 }, param: "extra[scene_id]"},
		{name: "ErrAbove200YuanNoScene", change: func(r *polypay.RedEnvelope) { r.Amount = 20001 }, param: "extra[scene_id]"},
		{name: "ErrBelow30Fen", change: func(r *polypay.RedEnvelope) {
			r.Amount, r.Extra = 29, json.RawMessage(`{"send_name":"测试商户","scene_id":"PRODUCT_1"}`)
		}, param: "amount"},
		{name: "ErrAbove4999Yuan", change: func(r *polypay.RedEnvelope) {
			r.Amount, r.Extra = 499901, json.RawMessage(`{"send_name":"测试商户","scene_id":"PRODUCT_1"}`)
		}, param: "amount"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch, cfg := tc.channel, config("http://127.0.0.1:1")
			if ch == "" {
				ch = wechatpay.ChannelPub
			}
			if tc.cfg != nil {
				cfg = *tc.cfg
			}
			r := validEnvelope()
			if tc.change != nil {
				tc.change(r)
			}
			err := newConn(t, ch, cfg).CheckRedEnvelope(r)
			if tc.param == "" {
				if err != nil {
					t.Fatalf("CheckRedEnvelope: %v", err)
				}
				return
			}
			wantParam(t, err, tc.param)
		})
	}
}

// TestMchBillNo: WeChat's mch_id + yyyymmdd + 10 digits where the order_no
// fits, the order_no itself otherwise; never the same for two order_nos.
func TestMchBillNo(t *testing.T) {
	conn := offline(t, wechatpay.ChannelPub)
	created := int64(1795500000) // 2026-11-24 Beijing
	cases := []struct{ orderNo, want string }{
		{"1", mchID + "20261124" + "0000000001"},
		{"1234567890", mchID + "20261124" + "1234567890"},
		{"0000000001", "0000000001"}, // a leading zero would alias "1"
		{"01", "01"},
		{"12345678901", "12345678901"},
		{strings.Repeat("7", 28), strings.Repeat("7", 28)},
	}
	seen := map[string]string{}
	for _, tc := range cases {
		r := validEnvelope()
		r.OrderNo, r.Created = tc.orderNo, created
		got := conn.MchBillNo(r)
		if got != tc.want {
			t.Errorf("MchBillNo(%s) = %s, want %s", tc.orderNo, got, tc.want)
		}
		if len(got) > 28 {
			t.Errorf("MchBillNo(%s) = %s: longer than 28", tc.orderNo, got)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("order_nos %s and %s share mch_billno %s", other, tc.orderNo, got)
		}
		seen[got] = tc.orderNo
		if again := conn.MchBillNo(r); again != got {
			t.Errorf("MchBillNo is not deterministic: %s then %s", got, again)
		}
	}
}
