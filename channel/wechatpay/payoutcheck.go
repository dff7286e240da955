package wechatpay

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/polypay/polypay"
)

// Payout amounts where WeChat's rules on the payee's real name change.
const (
	// nameForbiddenBelow: below 0.3 yuan WeChat refuses a user_name.
	nameForbiddenBelow = 30
	// nameRequiredFrom: from 2000 yuan WeChat requires one.
	nameRequiredFrom = 200000
	// maxBatch is WeChat's limit of details in one transfer batch.
	maxBatch = 3000
)

// transferExtra is transfer.extra for the WeChat channels (Ping++ §2.5):
// the payee's real name, which WeChat checks against the openid's, and
// whether to make it required below 2000 yuan.
type transferExtra struct {
	UserName   string `json:"user_name"`
	ForceCheck bool   `json:"force_check"`
}

// payoutChannel reports whether WeChat's merchant transfers can pay on
// channel: the three whose users have an openid under the credentials'
// appid.
func payoutChannel(channel string) bool {
	return channel == ChannelApp || channel == ChannelPub || channel == ChannelLite
}

// CheckTransfer applies WeChat's rules to a new transfer (Ping++ §2.5):
// order_no of 1 to 32 letters and digits, type b2c, currency cny, the
// payee's openid as recipient, and extra.user_name (the payee's real name,
// which WeChat requires from 2000 yuan and refuses below 0.3 yuan) and
// extra.force_check (true makes user_name required). EInvalid naming the
// parameter; the name never appears in an error.
func (c *Client) CheckTransfer(t *polypay.Transfer) error {
	if !payoutChannel(c.channel) || (t.Channel != "" && t.Channel != c.channel) {
		return polypay.ParamError("channel", "微信企业付款只支持 wx、wx_pub、wx_lite 渠道")
	}
	if n := len(t.OrderNo); n < 1 || n > 32 || !alnum(t.OrderNo) {
		return polypay.ParamError("order_no", "微信企业付款的 order_no 应为 1 到 32 位字母或数字")
	}
	if t.Type != "b2c" {
		return polypay.ParamError("type", "微信企业付款只支持 type b2c")
	}
	if err := checkMoney(t.Currency, t.Amount); err != nil {
		return err
	}
	if t.Recipient == "" || len(t.Recipient) > 128 {
		return polypay.ParamError("recipient", "recipient 应为收款用户在 appid %s 下的 open_id", c.appID)
	}
	_, err := checkTransferExtra(t)
	return err
}

// checkTransferExtra reads and checks extra; the name's rules depend on
// the amount.
func checkTransferExtra(t *polypay.Transfer) (*transferExtra, error) {
	var ex transferExtra
	var raw map[string]json.RawMessage
	if len(t.Extra) > 0 && string(t.Extra) != "null" {
		if err := json.Unmarshal(t.Extra, &raw); err != nil {
			return nil, &polypay.Error{Code: polypay.EInvalid, Param: "extra", Message: "extra 应为对象", Err: err}
		}
	}
	if v, ok := raw["user_name"]; ok && json.Unmarshal(v, &ex.UserName) != nil {
		return nil, polypay.ParamError("extra[user_name]", "user_name 应为字符串")
	}
	if v, ok := raw["force_check"]; ok && json.Unmarshal(v, &ex.ForceCheck) != nil {
		return nil, polypay.ParamError("extra[force_check]", "force_check 应为布尔值 true 或 false")
	}
	n := utf8.RuneCountInString(ex.UserName)
	switch {
	case !utf8.ValidString(ex.UserName) || n > 64:
		return nil, polypay.ParamError("extra[user_name]", "user_name 应为收款用户的真实姓名，最多 64 个字符")
	case n == 0 && t.Amount >= nameRequiredFrom:
		return nil, polypay.ParamError("extra[user_name]", "微信企业付款 2000 元及以上须填写收款用户真实姓名 user_name")
	case n == 0 && ex.ForceCheck:
		return nil, polypay.ParamError("extra[user_name]", "force_check 为 true 时须填写收款用户真实姓名 user_name")
	case n > 0 && t.Amount < nameForbiddenBelow:
		return nil, polypay.ParamError("extra[user_name]", "微信企业付款低于 0.3 元时不能填写 user_name")
	}
	return &ex, nil
}

func alnum(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// remark is a transfer's text as WeChat takes it: at most 32 characters,
// never empty.
func remark(s, fallback string) string {
	if s == "" {
		s = fallback
	}
	if r := []rune(s); len(r) > 32 {
		s = string(r[:32])
	}
	return s
}
