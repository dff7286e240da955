package unionpay

import (
	"unicode/utf8"

	"github.com/polypay/polypay"
)

// SubMerchant is a platform merchant's sub-merchant (平台类商户的二级商户):
// a platform's sub-app registered with UnionPay under the platform's
// merId. Its calls go out on the platform's certificate with accessType 2
// and subMerId, subMerName and subMerAbbr; UnionPay keeps the trades as
// the sub-merchant's, so every later call for them names it again.
type SubMerchant struct {
	ID   string // subMerId, up to 15 letters or digits
	Name string // subMerName, the registered name, up to 40 characters
	Abbr string // subMerAbbr, what the cardholder's statement shows, up to 16 characters
}

// accessPlatform is accessType for a platform merchant's sub-merchants.
const accessPlatform = "2"

// check accepts an empty SubMerchant or a complete one.
func (s SubMerchant) check() error {
	if s == (SubMerchant{}) {
		return nil
	}
	return s.Validate()
}

// Validate checks a sub-merchant's fields, EInvalid naming the parameter.
func (s SubMerchant) Validate() error {
	switch {
	case s.ID == "" || len(s.ID) > 15 || !alnum(s.ID):
		return polypay.ParamError("sub_mer_id", "sub_mer_id 须为银联登记的二级商户代码（1–15 位字母或数字）")
	case s.Name == "" || utf8.RuneCountInString(s.Name) > 40:
		return polypay.ParamError("sub_mer_name", "sub_mer_name 须为二级商户名称（1–40 个字）")
	case s.Abbr == "" || utf8.RuneCountInString(s.Abbr) > 16:
		return polypay.ParamError("sub_mer_abbr", "sub_mer_abbr 须为二级商户简称（1–16 个字）")
	}
	return nil
}

// add puts the sub-merchant's fields on a request.
func (s SubMerchant) add(f map[string]string) {
	if s.ID == "" {
		return
	}
	f["accessType"] = accessPlatform
	f["subMerId"], f["subMerName"], f["subMerAbbr"] = s.ID, s.Name, s.Abbr
}

// platformOnly refuses what only the platform does for itself: statement
// files and payouts are the merId's own business, not a sub-merchant's.
func (c *Client) platformOnly(what string) error {
	if c.sub.ID == "" {
		return nil
	}
	return polypay.ErrNotSupported(c.channel, what+" for a platform's sub-merchant (the platform's own app has them)")
}

var _ polypay.SubMerchantNamer = (*Client)(nil)

// CheckSubMerchantFields implements polypay.SubMerchantNamer. UnionPay has
// no call that looks a sub-merchant up: its registration is offline, and
// a wrong one shows on the first payment (respCode 31).
func (c *Client) CheckSubMerchantFields(f map[string]string) (string, error) {
	if c.sub.ID != "" {
		return "", polypay.ParamError("channel", "上级应用自身是平台类商户的二级商户，不能再登记二级商户")
	}
	s := SubMerchant{ID: f["sub_mer_id"], Name: f["sub_mer_name"], Abbr: f["sub_mer_abbr"]}
	if err := s.Validate(); err != nil {
		return "", err
	}
	if s.ID == c.merID {
		return "", polypay.ParamError("sub_mer_id", "sub_mer_id 不能是平台自身的商户号")
	}
	return s.ID, nil
}
