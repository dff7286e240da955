package api

import (
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
)

// parseTokenRequest is the whole token parameter path: body (JSON or form)
// to validated card.
func parseTokenRequest(raw []byte, form bool) (TokenParams, error) {
	r := httptest.NewRequest("POST", "/v1/tokens", nil)
	if form {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r.Header.Set("Content-Type", "application/json")
	}
	b, err := vaultBody(r, raw)
	if err != nil {
		return TokenParams{}, err
	}
	p, err := parseTokenParams(b)
	if err != nil {
		return p, err
	}
	return p, p.Card.Validate(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
}

func TestParseTokenParams(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		form  bool
		param string // "" means OK
		check func(t *testing.T, p TokenParams)
	}{
		{"JSON", `{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123","name":"Li"},"customer":"cus_abc"}`, false, "",
			func(t *testing.T, p TokenParams) {
				if p.Card.Number != "4242424242424242" || p.Card.ExpMonth != 12 || p.Card.ExpYear != 2031 || p.Card.CVC != "123" ||
					p.Card.Name != "Li" || p.Customer != "cus_abc" {
					t.Fatalf("parsed %v exp %d/%d name %q customer %q", p.Card, p.Card.ExpMonth, p.Card.ExpYear, p.Card.Name, p.Customer)
				}
			}},
		{"JSONStringsAndApp", `{"card":{"number":"4242 4242 4242 4242","exp_month":"07","exp_year":"31"},"app":{"id":"app_x"}}`, false, "",
			func(t *testing.T, p TokenParams) {
				if p.Card.ExpMonth != 7 || p.Card.ExpYear != 2031 || p.App != "app_x" || p.Card.Number != "4242424242424242" {
					t.Fatalf("parsed exp %d/%d app %q", p.Card.ExpMonth, p.Card.ExpYear, p.App)
				}
			}},
		{"JSONNumberAsNumber", `{"card":{"number":6200000000000005,"exp_month":1,"exp_year":2030}}`, false, "",
			func(t *testing.T, p TokenParams) {
				if p.Card.Number != "6200000000000005" {
					t.Fatal("number taken through a float")
				}
			}},
		{"Form", `card%5Bnumber%5D=5555-5555-5555-4444&card%5Bexp_month%5D=12&card%5Bexp_year%5D=2031&card%5Bcvc%5D=321`, true, "", nil},
		{"ErrNoCard", `{}`, false, "card[number]", nil},
		{"ErrCardNotObject", `{"card":"4242424242424242"}`, false, "card", nil},
		{"ErrNoNumber", `{"card":{"exp_month":12,"exp_year":2031}}`, false, "card[number]", nil},
		{"ErrNoMonth", `{"card":{"number":"4242424242424242","exp_year":2031}}`, false, "card[exp_month]", nil},
		{"ErrMonthFloat", `{"card":{"number":"4242424242424242","exp_month":1.5,"exp_year":2031}}`, false, "card[exp_month]", nil},
		{"ErrYearWord", `{"card":{"number":"4242424242424242","exp_month":1,"exp_year":"soon"}}`, false, "card[exp_year]", nil},
		{"ErrExpired", `{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2029}}`, false, "card[exp_year]", nil},
		{"ErrLuhn", `{"card":{"number":"4242424242424241","exp_month":12,"exp_year":2031}}`, false, "card[number]", nil},
		{"ErrCVC", `{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"1"}}`, false, "card[cvc]", nil},
		{"ErrCVCNumber", `{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":1.5}}`, false, "card[cvc]", nil},
		{"ErrUnknownCardField", `{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"pin":"1"}}`, false, "card[pin]", nil},
		{"ErrUnknownTop", `{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031},"colour":"red"}`, false, "colour", nil},
		{"ErrBadCustomer", `{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031},"customer":"4242424242424242"}`, false, "customer", nil},
		{"ErrFormDeepKey", `card%5Ba%5D%5Bb%5D=1`, true, "card[a][b]", nil},
		{"ErrFormRepeated", `card%5Bnumber%5D=1&card%5Bnumber%5D=2`, true, "card[number]", nil},
		{"ErrJSON", `{"card":`, false, "", nil}, // a parse error names no parameter
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseTokenRequest([]byte(tc.raw), tc.form)
			if strings.HasPrefix(tc.name, "Err") {
				var pe *polypay.Error
				if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || pe.Param != tc.param {
					t.Fatalf("err = %v, want EInvalid on %q", err, tc.param)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}

func TestRedactDigits(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/v1/customers/4242424242424242", "/v1/customers/***"},
		{"/v1/customers/4242 4242 4242 4242/sources", "/v1/customers/***/sources"},
		{"card[5555-5555-5555-4444]", "card[***]"},
		{"/v1/charges/ch_123456", "/v1/charges/ch_123456"},
		{"created 1700000000", "created ***"}, // a timestamp is collateral
	}
	for _, tc := range tests {
		if got := redactDigits(tc.in); got != tc.want {
			t.Errorf("redactDigits(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

var digitRun = regexp.MustCompile(`[0-9]{12,}`)

// FuzzParseTokenParams: the parser never panics, and what it says about a
// bad request never repeats a long run of the request's digits.
func FuzzParseTokenParams(f *testing.F) {
	f.Add([]byte(`{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}}`), false)
	f.Add([]byte(`{"card":{"number":"4242424242424241","exp_month":12,"exp_year":2031}}`), false)
	f.Add([]byte(`{"card":{"number":6200000000000005,"exp_month":"1","exp_year":"30"},"customer":"cus_x"}`), false)
	f.Add([]byte(`{"card":{"4242424242424242":1}}`), false)
	f.Add([]byte(`card%5Bnumber%5D=4242+4242+4242+4242&card%5Bexp_month%5D=12&card%5Bexp_year%5D=2031`), true)
	f.Add([]byte(`card[5555555555554444]=1`), true)
	f.Fuzz(func(t *testing.T, raw []byte, form bool) {
		p, err := parseTokenRequest(raw, form)
		if err == nil {
			if !vaultLuhn(p.Card.Number) {
				t.Fatalf("accepted a number failing Luhn")
			}
			return
		}
		var pe *polypay.Error
		if !errors.As(err, &pe) {
			t.Fatalf("non-application error %T", err)
		}
		for _, run := range digitRun.FindAllString(pe.Message+" "+pe.Param, -1) {
			if strings.Contains(strings.NewReplacer(" ", "", "-", "").Replace(string(raw)), run) {
				t.Fatalf("error %q repeats request digits", pe.Message)
			}
		}
	})
}

func vaultLuhn(n string) bool {
	sum, dbl := 0, false
	for i := len(n) - 1; i >= 0; i-- {
		d := int(n[i] - '0')
		if dbl {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		dbl = !dbl
	}
	return len(n) >= 12 && sum%10 == 0
}
