package vault

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/polypay/polypay"
)

// Card brands, spelt as Ping++'s (and Stripe's) card objects spell them.
const (
	BrandVisa       = "Visa"
	BrandMasterCard = "MasterCard"
	BrandAmex       = "American Express"
	BrandUnionPay   = "UnionPay"
	BrandJCB        = "JCB"
	BrandDiscover   = "Discover"
	BrandDiners     = "Diners Club"
	BrandUnknown    = "unknown"
)

// Funding kinds.
const (
	FundingCredit  = "credit"
	FundingDebit   = "debit"
	FundingPrepaid = "prepaid"
	FundingUnknown = "unknown"
)

// CardInput is a card as a customer entered it, before it is sealed.
type CardInput struct {
	Number   string // digits only once validated
	ExpMonth int
	ExpYear  int // four digits once validated
	CVC      string
	Name     string
}

// String keeps fmt from printing the number (a CardInput should never be
// printed, but a careless log line must not be the leak).
func (c CardInput) String() string { return "card input ****" + last4(c.Number) }

// GoString keeps %#v from printing the number.
func (c CardInput) GoString() string { return c.String() }

func last4(n string) string {
	if len(n) < 4 {
		return ""
	}
	return n[len(n)-4:]
}

// Luhn reports whether a string of digits passes the Luhn (mod 10) check.
func Luhn(digits string) bool {
	if digits == "" {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// prefixIn reports whether the first n digits of number, read as an
// integer, lie in [lo, hi].
func prefixIn(number string, n, lo, hi int) bool {
	if len(number) < n {
		return false
	}
	v, err := strconv.Atoi(number[:n])
	return err == nil && v >= lo && v <= hi
}

// Brand names the card network from the number's issuer identification
// (BIN) ranges. 62 is UnionPay's range, including the 622126-622925 block
// Discover shares: in polypay's market those are UnionPay cards.
func Brand(number string) string {
	switch {
	case prefixIn(number, 1, 4, 4):
		return BrandVisa
	case prefixIn(number, 2, 51, 55), prefixIn(number, 4, 2221, 2720):
		return BrandMasterCard
	case prefixIn(number, 2, 34, 34), prefixIn(number, 2, 37, 37):
		return BrandAmex
	case prefixIn(number, 2, 62, 62), prefixIn(number, 2, 81, 81):
		return BrandUnionPay
	case prefixIn(number, 4, 3528, 3589):
		return BrandJCB
	case prefixIn(number, 4, 6011, 6011), prefixIn(number, 3, 644, 649), prefixIn(number, 2, 65, 65):
		return BrandDiscover
	case prefixIn(number, 3, 300, 305), prefixIn(number, 4, 3095, 3095), prefixIn(number, 2, 36, 36),
		prefixIn(number, 2, 38, 39):
		return BrandDiners
	}
	return BrandUnknown
}

// binInfo is what polypay knows of an issuer range without a BIN database:
// the documented test cards' funding and bank.
var binInfo = map[string]struct{ funding, bank string }{
	"424242": {FundingCredit, ""},
	"400005": {FundingDebit, ""},
	"555555": {FundingCredit, ""},
	"520082": {FundingDebit, ""},
	"510510": {FundingPrepaid, ""},
	"378282": {FundingCredit, ""},
	"371449": {FundingCredit, ""},
	"620000": {FundingDebit, "中国银联测试银行"},
	"356600": {FundingCredit, ""},
	"601111": {FundingCredit, ""},
}

// binCountries are the issuing countries (ISO 3166-1 alpha-2) polypay
// knows without a BIN database: the documented test cards', by their
// longest distinguishing prefix (Stripe's international test cards carry
// the country's numeric code in digits 7-9).
var binCountries = map[string]string{
	"424242": "US", "400005": "US", "555555": "US", "520082": "US", "510510": "US", "378282": "US", "371449": "US",
	"601111": "US", "356600": "JP", "620000": "CN",
	"4000000760": "BR", "4000001240": "CA", "4000004840": "MX", "4000000400": "AT", "4000000560": "BE",
	"4000002500": "FR", "4000002760": "DE", "4000003920": "JP", "4000008260": "GB", "4000001560": "CN",
}

// Country returns the issuing country of a card number, "" when polypay
// does not know it (the risk engine's `country`).
func Country(number string) string {
	for n := min(len(number), 10); n >= 6; n-- {
		if c, ok := binCountries[number[:n]]; ok {
			return c
		}
	}
	return ""
}

// Funding returns the card's funding kind and issuing bank when known.
func Funding(number string) (funding, bank string) {
	if len(number) >= 6 {
		if b, ok := binInfo[number[:6]]; ok {
			return b.funding, b.bank
		}
	}
	return FundingUnknown, ""
}

// CardParams starts the name of every card field's parameter
// (card[number], card[exp_month], ...): an error naming one is about the
// card the customer typed.
const CardParams = "card["

// NormalizeNumber strips the spaces and dashes people type between digit
// groups and validates the rest: digits only, 12-19 of them, Luhn. Errors
// name card[number] and never repeat the number.
func NormalizeNumber(raw string) (string, error) {
	if raw == "" {
		return "", polypay.ParamError("card[number]", "缺少参数: card[number]")
	}
	if len(raw) > 64 {
		return "", polypay.ParamError("card[number]", "card[number] 不是有效的卡号")
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == ' ' || c == '-':
		default:
			return "", polypay.ParamError("card[number]", "card[number] 只能包含数字")
		}
	}
	n := b.String()
	if len(n) < 12 || len(n) > 19 {
		return "", polypay.ParamError("card[number]", "card[number] 须为 12 到 19 位数字")
	}
	if !Luhn(n) {
		return "", polypay.ParamError("card[number]", "card[number] 不是有效的卡号（校验位错误）")
	}
	return n, nil
}

// Validate checks and normalises a card as entered, against the clock now:
// the number (see NormalizeNumber), an expiry that has not passed (a card
// is good through the last day of its expiry month), a CVC of 3 or 4
// digits when given (4 for American Express) and a name of at most 100
// characters.
func (c *CardInput) Validate(now time.Time) error {
	n, err := NormalizeNumber(c.Number)
	if err != nil {
		return err
	}
	c.Number = n
	if c.ExpMonth < 1 || c.ExpMonth > 12 {
		return polypay.ParamError("card[exp_month]", "card[exp_month] 须为 1 到 12 之间的整数")
	}
	if c.ExpYear >= 0 && c.ExpYear < 100 {
		c.ExpYear += 2000
	}
	y, m := now.UTC().Year(), int(now.UTC().Month())
	if c.ExpYear < 2000 || c.ExpYear > y+50 {
		return polypay.ParamError("card[exp_year]", "card[exp_year] 不是有效的年份")
	}
	if c.ExpYear < y || (c.ExpYear == y && c.ExpMonth < m) {
		return polypay.ParamError("card[exp_year]", "卡片已过期")
	}
	if c.CVC != "" {
		ok := len(c.CVC) == 3 || len(c.CVC) == 4
		for i := 0; i < len(c.CVC); i++ {
			if c.CVC[i] < '0' || c.CVC[i] > '9' {
				ok = false
			}
		}
		if !ok {
			return polypay.ParamError("card[cvc]", "card[cvc] 须为 3 或 4 位数字")
		}
		if Brand(n) == BrandAmex && len(c.CVC) != 4 {
			return polypay.ParamError("card[cvc]", "American Express 卡的 card[cvc] 须为 4 位数字")
		}
	}
	c.Name = strings.TrimSpace(c.Name)
	if !utf8.ValidString(c.Name) || utf8.RuneCountInString(c.Name) > 100 {
		return polypay.ParamError("card[name]", "card[name] 不能超过 100 个字符")
	}
	return nil
}
