package vault

import (
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
)

func TestLuhn(t *testing.T) {
	tests := []struct {
		name   string
		number string
		want   bool
	}{
		{"Visa", "4242424242424242", true},
		{"MasterCard", "5555555555554444", true},
		{"Amex", "378282246310005", true},
		{"UnionPay", "6200000000000005", true},
		{"Diners", "30569309025904", true},
		{"ErrCheckDigit", "4242424242424241", false},
		{"ErrTransposed", "2424424242424242", false},
		{"ErrEmpty", "", false},
		{"ErrNonDigit", "42424242424242a2", false},
		{"Zeros", "0000000000000000", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Luhn(tc.number); got != tc.want {
				t.Fatalf("Luhn = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBrand(t *testing.T) {
	tests := []struct {
		number string
		want   string
	}{
		{"4242424242424242", BrandVisa},
		{"4000056655665556", BrandVisa},
		{"5555555555554444", BrandMasterCard},
		{"2223003122003222", BrandMasterCard},
		{"2720999999999996", BrandMasterCard},
		{"2721000000000004", BrandUnknown},
		{"378282246310005", BrandAmex},
		{"371449635398431", BrandAmex},
		{"6200000000000005", BrandUnionPay},
		{"6222000000000002", BrandUnionPay}, // the block Discover shares
		{"3566002020360505", BrandJCB},
		{"3527999999999999", BrandUnknown},
		{"6011111111111117", BrandDiscover},
		{"6445644564456445", BrandDiscover},
		{"6500000000000002", BrandDiscover},
		{"30569309025904", BrandDiners},
		{"36227206271667", BrandDiners},
		{"3095000000000003", BrandDiners},
		{"3060000000000000", BrandUnknown},
		{"1234567812345670", BrandUnknown},
		{"9", BrandUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.number, func(t *testing.T) {
			if got := Brand(tc.number); got != tc.want {
				t.Fatalf("Brand = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFunding(t *testing.T) {
	tests := []struct{ number, funding string }{
		{"4242424242424242", FundingCredit},
		{"4000056655665556", FundingDebit},
		{"5105105105105100", FundingPrepaid},
		{"6200000000000005", FundingDebit},
		{"4111111111111111", FundingUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.number, func(t *testing.T) {
			if got, _ := Funding(tc.number); got != tc.funding {
				t.Fatalf("Funding = %q, want %q", got, tc.funding)
			}
		})
	}
}

var clock = time.Date(2030, 6, 15, 12, 0, 0, 0, time.UTC)

func TestValidate(t *testing.T) {
	ok := CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2031, CVC: "123", Name: "Li Lei"}
	tests := []struct {
		name  string
		mod   func(*CardInput)
		param string // "" means valid
		check func(t *testing.T, c CardInput)
	}{
		{"OK", func(c *CardInput) {}, "", nil},
		{"Spaces", func(c *CardInput) { c.Number = "4242 4242 4242 4242" }, "", func(t *testing.T, c CardInput) {
			if c.Number != "4242424242424242" {
				t.Fatalf("number not normalised")
			}
		}},
		{"Dashes", func(c *CardInput) { c.Number = "4242-4242-4242-4242" }, "", nil},
		{"TwoDigitYear", func(c *CardInput) { c.ExpYear = 31 }, "", func(t *testing.T, c CardInput) {
			if c.ExpYear != 2031 {
				t.Fatalf("ExpYear = %d, want 2031", c.ExpYear)
			}
		}},
		{"ThisMonth", func(c *CardInput) { c.ExpYear, c.ExpMonth = 2030, 6 }, "", nil},
		{"NoCVC", func(c *CardInput) { c.CVC = "" }, "", nil},
		{"AmexCVC4", func(c *CardInput) { c.Number, c.CVC = "378282246310005", "1234" }, "", nil},
		{"ErrNoNumber", func(c *CardInput) { c.Number = "" }, "card[number]", nil},
		{"ErrLetters", func(c *CardInput) { c.Number = "4242x24242424242" }, "card[number]", nil},
		{"ErrShort", func(c *CardInput) { c.Number = "42424242426" }, "card[number]", nil},
		{"ErrLong", func(c *CardInput) { c.Number = "42424242424242424242" }, "card[number]", nil},
		{"ErrLuhn", func(c *CardInput) { c.Number = "4242424242424241" }, "card[number]", nil},
		{"ErrMonth0", func(c *CardInput) { c.ExpMonth = 0 }, "card[exp_month]", nil},
		{"ErrMonth13", func(c *CardInput) { c.ExpMonth = 13 }, "card[exp_month]", nil},
		{"ErrExpiredLastMonth", func(c *CardInput) { c.ExpYear, c.ExpMonth = 2030, 5 }, "card[exp_year]", nil},
		{"ErrExpiredYear", func(c *CardInput) { c.ExpYear = 2029 }, "card[exp_year]", nil},
		{"ErrFarFuture", func(c *CardInput) { c.ExpYear = 2099 }, "card[exp_year]", nil},
		{"ErrCVCShort", func(c *CardInput) { c.CVC = "12" }, "card[cvc]", nil},
		{"ErrCVCLong", func(c *CardInput) { c.CVC = "12345" }, "card[cvc]", nil},
		{"ErrCVCLetters", func(c *CardInput) { c.CVC = "12a" }, "card[cvc]", nil},
		{"ErrAmexCVC3", func(c *CardInput) { c.Number, c.CVC = "378282246310005", "123" }, "card[cvc]", nil},
		{"ErrNameLong", func(c *CardInput) { c.Name = strings.Repeat("名", 101) }, "card[name]", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			raw := c.Number
			err := c.Validate(clock)
			if tc.param == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				return
			}
			var pe *polypay.Error
			if err == nil {
				t.Fatalf("Validate = nil, want an error on %s", tc.param)
			}
			pe, _ = err.(*polypay.Error)
			if pe == nil || pe.Code != polypay.EInvalid || pe.Param != tc.param {
				t.Fatalf("Validate = %#v, want EInvalid on %s", err, tc.param)
			}
			if len(raw) >= 12 && strings.Contains(err.Error(), raw[:12]) {
				t.Fatalf("error %q repeats the card number", err)
			}
		})
	}
}

func TestCardInputDoesNotPrint(t *testing.T) {
	c := CardInput{Number: "4242424242424242", CVC: "123"}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "424242424242") || strings.Contains(s, "123") {
			t.Fatalf("printed %q", s)
		}
	}
}

func TestCountry(t *testing.T) {
	for _, tc := range []struct{ number, want string }{
		{"4242424242424242", "US"},
		{"4000000760000002", "BR"},
		{"4000001240000000", "CA"},
		{"6200000000000005", "CN"},
		{"4000000000000002", ""}, // a decline card: no country documented
		{"42", ""},
	} {
		if got := Country(tc.number); got != tc.want {
			t.Errorf("Country(%s) = %q, want %q", tc.number, got, tc.want)
		}
	}
}
