package console

import (
	"strconv"
	"strings"

	"github.com/polypay/polypay"
)

// exponent is a currency's number of minor-unit digits (ISO 4217).
func exponent(currency string) int {
	switch strings.ToLower(currency) {
	case "jpy", "krw", "vnd", "clp", "isk":
		return 0
	case "bhd", "kwd", "omr", "jod", "tnd":
		return 3
	}
	return 2
}

// formatAmount renders minor units as a decimal string, exactly.
func formatAmount(minor int64, currency string) string {
	e := exponent(currency)
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if e > 0 {
		for len(s) <= e {
			s = "0" + s
		}
		s = s[:len(s)-e] + "." + s[len(s)-e:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// parseAmount reads a decimal amount in major units ("12.3", "12") as
// minor units with 2 digits, without floats; EInvalid names param.
func parseAmount(s, param string) (int64, error) { return parseMoney(s, param, "cny") }

// symbols are the currency signs the console shows before an amount. CNY
// and JPY share "¥" in everyday use; the console keeps "¥" for the yuan
// (most amounts here are in yuan) and writes the yen as "JP¥", as CLDR
// does in Chinese. Currencies without an entry show their ISO code.
var symbols = map[string]string{
	"cny": "¥", "jpy": "JP¥", "usd": "$", "hkd": "HK$", "eur": "€", "gbp": "£", "twd": "NT$", "krw": "₩",
	"sgd": "S$", "aud": "A$", "cad": "CA$", "mop": "MOP$",
}

// formatMoney renders minor units as money: "¥1.43", "$10.00", "JP¥500",
// "-¥0.05", with thousands separators ("¥1,234.56"); an unknown currency
// gets its code ("CHF 3.00"). Exact: no floats.
func formatMoney(minor int64, currency string) string {
	s := formatAmount(minor, currency)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if hasFrac {
		out += "." + frac
	}
	sym, ok := symbols[strings.ToLower(currency)]
	if !ok {
		sym = strings.ToUpper(currency) + " "
	}
	out = sym + out
	if neg {
		out = "-" + out
	}
	return out
}

// parseMoney reads a decimal amount in major units of currency as minor
// units, with at most the currency's decimals ("500" yen, "12.30" yuan);
// EInvalid names param.
func parseMoney(s, param, currency string) (int64, error) {
	e := exponent(currency)
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	bad := polypay.ParamError(param, "amount %q must be a number with at most %d decimals", s, e)
	if whole == "" || len(frac) > e || len(whole) > 15 {
		return 0, bad
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, bad
		}
	}
	for len(frac) < e {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, bad
	}
	return n, nil
}
