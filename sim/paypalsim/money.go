package paypalsim

import (
	"strconv"
	"strings"
)

// exponents are the decimals of the currencies PayPal accepts.
var exponents = map[string]int{
	"AUD": 2, "BRL": 2, "CAD": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2, "HKD": 2,
	"HUF": 0, "ILS": 2, "JPY": 0, "MYR": 2, "MXN": 2, "TWD": 0, "NZD": 2, "NOK": 2,
	"PHP": 2, "PLN": 2, "GBP": 2, "RUB": 2, "SGD": 2, "SEK": 2, "CHF": 2, "THB": 2,
	"USD": 2,
}

type money struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
}

func format(minor int64, cur string) string {
	exp := exponents[cur]
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor, 10)
	if exp > 0 {
		for len(s) <= exp {
			s = "0" + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func mk(minor int64, cur string) money { return money{CurrencyCode: cur, Value: format(minor, cur)} }

// parseMoney checks an amount as PayPal does and returns minor units; issue
// is PayPal's issue code when it is unacceptable.
func parseMoney(m money) (minor int64, issue string) {
	exp, ok := exponents[m.CurrencyCode]
	if !ok {
		return 0, "CURRENCY_NOT_SUPPORTED"
	}
	v := m.Value
	if v == "" || len(v) > 32 {
		return 0, "INVALID_PARAMETER_VALUE"
	}
	whole, frac, dot := strings.Cut(v, ".")
	if (whole == "" && frac == "") || (dot && frac == "") || !digits(whole) || !digits(frac) {
		return 0, "INVALID_PARAMETER_SYNTAX"
	}
	if len(frac) > exp {
		return 0, "DECIMAL_PRECISION"
	}
	if whole == "" {
		whole = "0"
	}
	n, err := strconv.ParseInt(whole+frac+strings.Repeat("0", exp-len(frac)), 10, 64)
	if err != nil || n > 999_999_999_999 {
		return 0, "INVALID_PARAMETER_VALUE"
	}
	if n <= 0 {
		return 0, "CANNOT_BE_ZERO_OR_NEGATIVE"
	}
	return n, ""
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// fee is the simulated PayPal fee on a payment: 3.49% plus a fixed part
// (0.49 in two-decimal currencies, 49 units in zero-decimal ones), rounded
// half up.
func fee(amount int64, cur string) int64 {
	return (amount*349+5000)/10000 + 49
}
