package polypay

import "strings"

// SameCurrency reports whether two ISO 4217 codes name one currency:
// alphabetic codes in any case ("usd", "USD"), or a numeric code, as
// UnionPay's currencyCode sends it ("156"), against its alphabetic one
// ("cny"). An empty or unknown numeric code matches nothing.
func SameCurrency(a, b string) bool {
	a, b = alphaCurrency(a), alphaCurrency(b)
	return a != "" && a == b
}

// numericCurrencies are the ISO 4217 numeric codes of the currencies the
// channels polypay connects to settle in.
var numericCurrencies = map[string]string{
	"156": "CNY", "344": "HKD", "446": "MOP", "901": "TWD", "840": "USD", "978": "EUR", "826": "GBP",
	"392": "JPY", "410": "KRW", "702": "SGD", "036": "AUD", "124": "CAD", "756": "CHF", "554": "NZD",
}

func alphaCurrency(c string) string {
	if a, ok := numericCurrencies[c]; ok {
		return a
	}
	if len(c) != 3 || c[0] >= '0' && c[0] <= '9' {
		return ""
	}
	return strings.ToUpper(c)
}
