package unionpay

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/polypay/polypay"
)

// payee is a unionpay transfer's extra (pingpp-compat §2.5): the card and
// its holder, and the bank fields Ping++ asks for. UnionPay's payout
// routes by the card number alone, so the bank fields are checked for
// compatibility and not sent.
type payee struct {
	CardNumber   string // never in logs or errors
	UserName     string // the holder's name (a company's for b2b); never in logs
	OpenBankCode string
	OpenBank     string
	Prov         string
	City         string // 上海 when not given, as Ping++ defaults it
	SubBank      string
}

// Limits of a unionpay transfer (Ping++'s rules; UnionPay's txnAmt is at
// most 12 digits).
const (
	maxOrderNo  = 16
	maxCard     = 32
	maxUserName = 100
	maxBankText = 100
	maxFen      = 99_999_999_999
)

// CheckTransfer checks a unionpay transfer before anything is stored:
// order_no 1-16 digits, type b2c or b2b, currency cny, the amount, and
// extra (readPayee). EInvalid naming the parameter; no error repeats the
// card number or the name.
func (c *Client) CheckTransfer(t *polypay.Transfer) error {
	if err := c.platformOnly("payouts"); err != nil {
		return err
	}
	_, err := checkTransfer(t)
	return err
}

func checkTransfer(t *polypay.Transfer) (*payee, error) {
	switch {
	case t.OrderNo == "":
		return nil, polypay.ParamError("order_no", "缺少参数 %s", "order_no")
	case len(t.OrderNo) > maxOrderNo || !digits(t.OrderNo):
		return nil, polypay.ParamError("order_no", "%s 无效: %s", "order_no", "unionpay 渠道须为 1-16 位数字")
	case t.Type != "b2c" && t.Type != "b2b":
		return nil, polypay.ParamError("type", "%s 无效: %s", "type", "须为 b2c 或 b2b")
	case t.Currency != "cny":
		return nil, polypay.ParamError("currency", "currency 目前只支持 cny")
	case t.Amount <= 0 || t.Amount > maxFen:
		return nil, polypay.ParamError("amount", "amount 须为 1 到 %d 之间的整数（单位：分）", int64(maxFen))
	}
	return readPayee(t.Extra)
}

// readPayee reads and checks a transfer's extra.
func readPayee(raw json.RawMessage) (*payee, error) {
	m := map[string]json.RawMessage{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, polypay.ParamError("extra", "extra 格式错误: %v", err)
		}
	}
	p := &payee{}
	fields := []struct {
		name string
		dst  *string
	}{{"card_number", &p.CardNumber}, {"user_name", &p.UserName}, {"open_bank_code", &p.OpenBankCode},
		{"open_bank", &p.OpenBank}, {"prov", &p.Prov}, {"city", &p.City}, {"sub_bank", &p.SubBank}}
	for _, f := range fields {
		v, err := extraString(m, f.name)
		if err != nil {
			return nil, err
		}
		*f.dst = v
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	if p.City == "" {
		p.City = "上海"
	}
	return p, nil
}

func param(name string) string { return "extra[" + name + "]" }

// extraString is extra's name as a string, "" when absent or null.
func extraString(m map[string]json.RawMessage, name string) (string, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", polypay.ParamError(param(name), "%s 必须是字符串", param(name))
	}
	return s, nil
}

func (p *payee) check() error {
	switch n := p.CardNumber; {
	case n == "":
		return polypay.ParamError(param("card_number"), "缺少参数 %s", param("card_number"))
	case !digits(n):
		return polypay.ParamError(param("card_number"), "%s 必须是数字", param("card_number"))
	case len(n) > maxCard:
		return polypay.ParamError(param("card_number"), "%s 不能超过 %d 个字符", param("card_number"), maxCard)
	}
	if p.UserName == "" {
		return polypay.ParamError(param("user_name"), "缺少参数 %s", param("user_name"))
	}
	if err := checkText("user_name", p.UserName, maxUserName); err != nil {
		return err
	}
	// customerInfo and reserved are {k=v&k=v} with no escaping: these
	// characters would change what UnionPay reads.
	if strings.ContainsAny(p.UserName, "&={}") {
		return polypay.ParamError(param("user_name"), "%s 无效: %s", param("user_name"), "不能含有 & = { } 字符")
	}
	switch {
	case p.OpenBankCode == "" && p.OpenBank == "":
		return polypay.ParamError(param("open_bank_code"), "缺少参数: extra[%s]（%s）", "open_bank_code", "或 extra[open_bank]")
	case p.OpenBankCode != "" && utf8.RuneCountInString(p.OpenBankCode) != 4:
		return polypay.ParamError(param("open_bank_code"), "%s 无效: %s", param("open_bank_code"), "须为 4 个字符")
	}
	for _, f := range []struct{ name, v string }{{"open_bank_code", p.OpenBankCode}, {"open_bank", p.OpenBank},
		{"prov", p.Prov}, {"city", p.City}, {"sub_bank", p.SubBank}} {
		if f.v == "" {
			continue
		}
		if err := checkText(f.name, f.v, maxBankText); err != nil {
			return err
		}
	}
	return nil
}

// checkText: 1 to max characters, no surrounding spaces, no control
// characters.
func checkText(name, s string, max int) error {
	if utf8.RuneCountInString(s) > max || strings.TrimSpace(s) != s {
		return polypay.ParamError(param(name), "%s 须为 1-%d 个字符、首尾无空白的字符串", param(name), max)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return polypay.ParamError(param(name), "%s 无效: %s", param(name), "不能含有控制字符")
	}
	return nil
}
