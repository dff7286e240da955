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
func parseAmount(s, param string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	bad := polypay.ParamError(param, "amount %q must be a number with at most 2 decimals", s)
	if whole == "" || len(frac) > 2 || len(whole) > 15 {
		return 0, bad
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, bad
		}
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, bad
	}
	return n, nil
}
