package paypal

import (
	"strconv"
	"strings"

	"github.com/polypay/polypay"
)

// exponents are the decimal places of the currencies PayPal accepts
// (developer.paypal.com/api/rest/reference/currency-codes/). HUF, JPY and
// TWD take no decimals in PayPal's API.
var exponents = map[string]int{
	"AUD": 2, "BRL": 2, "CAD": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2, "HKD": 2,
	"HUF": 0, "ILS": 2, "JPY": 0, "MYR": 2, "MXN": 2, "TWD": 0, "NZD": 2, "NOK": 2,
	"PHP": 2, "PLN": 2, "GBP": 2, "RUB": 2, "SGD": 2, "SEK": 2, "CHF": 2, "THB": 2,
	"USD": 2,
}

// Exponent returns the decimal places PayPal uses for a currency (any
// case), false when PayPal does not take it.
func Exponent(currency string) (int, bool) {
	e, ok := exponents[strings.ToUpper(currency)]
	return e, ok
}

// FormatAmount writes minor units as PayPal's decimal string ("10.05",
// "1000" for JPY), exactly.
func FormatAmount(minor int64, currency string) (string, error) {
	exp, ok := Exponent(currency)
	if !ok {
		return "", polypay.ParamError("currency", "paypal does not support currency %q", currency)
	}
	if minor < 0 {
		return "", polypay.ParamError("amount", "amount must not be negative")
	}
	s := strconv.FormatInt(minor, 10)
	if exp == 0 {
		return s, nil
	}
	for len(s) <= exp {
		s = "0" + s
	}
	return s[:len(s)-exp] + "." + s[len(s)-exp:], nil
}

// ParseAmount reads PayPal's decimal string into minor units, exactly. It
// accepts at most the currency's decimals and an optional leading minus
// (transaction search reports refunds and fees negative).
func ParseAmount(value, currency string) (int64, error) {
	exp, ok := Exponent(currency)
	if !ok {
		return 0, polypay.Errorf(polypay.EChannel, "paypal: unknown currency %q", currency)
	}
	neg := strings.HasPrefix(value, "-")
	v := strings.TrimPrefix(value, "-")
	whole, frac, hasDot := strings.Cut(v, ".")
	if whole == "" || len(frac) > exp || (hasDot && frac == "") || !digits(whole) || !digits(frac) || len(whole) > 15 {
		return 0, polypay.Errorf(polypay.EChannel, "paypal: bad amount %q for %s", value, currency)
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, polypay.Errorf(polypay.EChannel, "paypal: bad amount %q for %s", value, currency)
	}
	if neg {
		n = -n
	}
	return n, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
