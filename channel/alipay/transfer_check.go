package alipay

import (
	"unicode/utf8"

	"github.com/polypay/polypay"
)

// Ping++'s values of extra.recipient_account_type, and the identity_type
// alipay.fund.trans.uni.transfer wants for each.
const (
	accountLogonID = "ALIPAY_LOGONID" // an email or a phone number (default)
	accountUserID  = "ALIPAY_USERID"  // 2088 followed by 12 digits

	identityLogonID = "ALIPAY_LOGON_ID"
	identityUserID  = "ALIPAY_USER_ID"
)

// Limits of a transfer to an Alipay account.
const (
	minTransferFen   = 10  // TRANS_ACCOUNT_NO_PWD takes 0.10 yuan and up
	maxRecipientName = 50  // Ping++'s extra.recipient_name
	maxIdentity      = 100 // payee_info.identity
	maxOrderTitle    = 200 // order_title, from the description
)

// payeeParams is what CheckTransfer reads of a transfer for payee_info.
type payeeParams struct {
	identity     string
	identityType string
	name         string
}

// CheckTransfer implements polypay.Payouter: Ping++'s rules for an alipay
// transfer (pingpp-compat §2.5) and Alipay's for a transfer to an Alipay
// account. Errors: EInvalid naming the parameter.
func (c *Client) CheckTransfer(t *polypay.Transfer) error {
	_, err := transferParams(t)
	return err
}

// transferParams checks t and returns its payee.
func transferParams(t *polypay.Transfer) (payeeParams, error) {
	var p payeeParams
	switch {
	case t.OrderNo == "" || len(t.OrderNo) > 64 || !alnum(t.OrderNo):
		return p, polypay.ParamError("order_no", "支付宝企业付款的 order_no 须为 1 到 64 位字母或数字")
	case t.Type != "b2c" && t.Type != "b2b":
		return p, polypay.ParamError("type", "type 须为 b2c 或 b2b")
	case t.Currency != "cny":
		return p, polypay.ParamError("currency", "支付宝企业付款只支持 cny")
	case t.Amount < minTransferFen || t.Amount > maxFen:
		return p, polypay.ParamError("amount", "支付宝企业付款金额须为 %d 到 %d 分", int64(minTransferFen), int64(maxFen))
	case t.Recipient == "":
		return p, polypay.ParamError("recipient", "缺少参数 recipient（收款方支付宝账号）")
	case len(t.Recipient) > maxIdentity || !printable(t.Recipient):
		return p, polypay.ParamError("recipient", "recipient 不是有效的支付宝账号")
	case utf8.RuneCountInString(t.Description) > maxOrderTitle:
		return p, polypay.ParamError("description", "description 不能超过 %d 个字符", maxOrderTitle)
	}
	e, err := parseExtra(t.Extra)
	if err != nil {
		return p, err
	}
	if p.name, err = e.str("recipient_name", true); err != nil {
		return p, err
	}
	if utf8.RuneCountInString(p.name) > maxRecipientName || !printable(p.name) {
		return p, polypay.ParamError(param("recipient_name"), "%s 须为 1 到 %d 个字符", param("recipient_name"), maxRecipientName)
	}
	kind, err := e.str("recipient_account_type", false)
	if err != nil {
		return p, err
	}
	p.identity = t.Recipient
	switch kind {
	case "", accountLogonID:
		p.identityType = identityLogonID
	case accountUserID:
		if !userID(t.Recipient) {
			return p, polypay.ParamError("recipient", "recipient_account_type 为 ALIPAY_USERID 时 recipient 须为 2088 开头的 16 位数字")
		}
		p.identityType = identityUserID
	default:
		return p, polypay.ParamError(param("recipient_account_type"), "%s 须为 ALIPAY_LOGONID 或 ALIPAY_USERID", param("recipient_account_type"))
	}
	return p, nil
}

// userID: an Alipay user id, 2088 followed by 12 digits.
func userID(s string) bool { return len(s) == 16 && s[:4] == "2088" && digits(s) }

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// printable: valid UTF-8 without control characters, which no account or
// name holds.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
