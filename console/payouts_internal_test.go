package console

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/polypay/polypay"
)

// TestPayeeOf: a payee's account is shown, a card number never in full,
// whether core masked it (UnionPay's extra) or it came in elsewhere.
func TestPayeeOf(t *testing.T) {
	tests := []struct {
		name      string
		t         polypay.Transfer
		acct, who string
	}{
		{"AlipayEmail", polypay.Transfer{Channel: "alipay", Recipient: "payee@sandbox.com", Extra: json.RawMessage(`{"recipient_name":"沙箱环境"}`)}, "payee@sandbox.com", "沙箱环境"},
		{"AlipayPhone", polypay.Transfer{Channel: "alipay", Recipient: "13800138000"}, "13800138000", ""},
		{"AlipayUserID", polypay.Transfer{Channel: "alipay", Recipient: "2088102180000011"}, "2088102180000011", ""},
		{"UserIDShapeElsewhere", polypay.Transfer{Channel: "wx", Recipient: "2088102180000011"}, "208810******0011", ""},
		{"WeChatOpenID", polypay.Transfer{Channel: "wx_pub", Recipient: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", Extra: json.RawMessage(`{"user_name":"张三"}`)}, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "张三"},
		{"UnionPayMasked", polypay.Transfer{Channel: "unionpay", Extra: json.RawMessage(`{"card_number":"622202******1234","user_name":"李四"}`)}, "622202******1234", "李四"},
		{"UnionPayPlain", polypay.Transfer{Channel: "unionpay", Extra: json.RawMessage(`{"card_number":"6222021234567891234"}`)}, "622202*********1234", ""},
		{"UnionPayRecipient", polypay.Transfer{Channel: "unionpay", Recipient: "6222021234567891234"}, "622202*********1234", ""},
		{"CardAsRecipient", polypay.Transfer{Channel: "wx", Recipient: "4242424242424242"}, "424242******4242", ""},
		{"StarsHidingNothing", polypay.Transfer{Channel: "unionpay", Recipient: "*6222021234567891234"}, "*62220**********1234", ""},
		{"ShortUnionPay", polypay.Transfer{Channel: "unionpay", Recipient: "12345"}, "*****", ""},
		{"BadExtra", polypay.Transfer{Channel: "alipay", Recipient: "a@b.c", Extra: json.RawMessage(`[1]`)}, "a@b.c", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := payeeOf(&tc.t)
			if got.Account != tc.acct || got.Name != tc.who {
				t.Fatalf("payeeOf = %+v, want %q %q", got, tc.acct, tc.who)
			}
			digits := 0
			for _, r := range got.Account {
				if r >= '0' && r <= '9' {
					digits++
				}
			}
			if (tc.t.Channel == "unionpay" || (cardLike(tc.t.Recipient) && tc.t.Channel != "alipay")) && digits > 10 {
				t.Fatalf("%q shows %d digits of a card number", got.Account, digits)
			}
		})
	}
}

// TestPayoutMessages: every payout page string has both languages.
func TestPayoutMessages(t *testing.T) {
	for k, v := range payoutMessages {
		if strings.TrimSpace(v[0]) == "" || strings.TrimSpace(v[1]) == "" {
			t.Errorf("%s lacks a translation: %q", k, v)
		}
	}
}
