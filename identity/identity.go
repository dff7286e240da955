// Package identity checks who a person is for a platform onboarding its
// merchants or paying out to people (Ping++'s POST /v1/identification):
// a name against an ID card number (id_card), or also a bank card and the
// phone number the bank holds (bank_card). A Verifier asks a provider;
// Sandbox is the test-mode provider with documented test identities.
// Nothing here keeps the numbers: Masked gives what may be stored.
package identity

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/polypay/polypay/vault"
)

// Check is one identity check.
type Check struct {
	Type       string // "id_card" or "bank_card"
	Name       string
	IDNumber   string // 18-character PRC resident ID number
	CardNumber string // bank_card only
	Phone      string // bank_card only, optional
}

// Result is a provider's answer: Code 0 when everything matched.
type Result struct {
	Code    int
	Message string
}

// Result codes.
const (
	Matched  = 0
	Mismatch = 3001 // the name, number, card or phone do not belong together
)

// Verifier asks an identity provider.
type Verifier interface {
	Verify(ctx context.Context, c Check) (Result, error)
}

// ValidIDNumber reports whether s is an 18-character resident ID number
// whose last character is its ISO 7064 MOD 11-2 check (GB 11643-1999).
func ValidIDNumber(s string) bool {
	if len(s) != 18 {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		d := s[i]
		if d < '0' || d > '9' {
			return false
		}
		sum += int(d-'0') * weights[i]
	}
	return s[17] == "10X98765432"[sum%11] || s[17] == 'x' && sum%11 == 2
}

// ValidName is a person's name as the providers take it: 2 to 30
// characters, no digits.
func ValidName(s string) bool {
	n := utf8.RuneCountInString(s)
	return n >= 2 && n <= 30 && !strings.ContainsAny(s, "0123456789")
}

// ValidCard is a bank card number: 12 to 19 digits passing the Luhn check.
func ValidCard(s string) bool {
	return len(s) >= 12 && len(s) <= 19 && vault.Luhn(s)
}

// ValidPhone is a mainland mobile number (11 digits starting 1).
func ValidPhone(s string) bool {
	if len(s) != 11 || s[0] != '1' {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

// Masked is what may be kept of a check: the name's first character and
// the numbers' last four.
func Masked(c Check) Check {
	last4 := func(s string) string {
		if len(s) <= 4 {
			return s
		}
		return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
	}
	name := ""
	if r, size := utf8.DecodeRuneInString(c.Name); size > 0 {
		name = string(r) + strings.Repeat("*", utf8.RuneCountInString(c.Name)-1)
	}
	return Check{Type: c.Type, Name: name, IDNumber: last4(c.IDNumber), CardNumber: last4(c.CardNumber), Phone: last4(c.Phone)}
}

// Sandbox is the test-mode provider. Its test identities: any well-formed
// name with a valid ID number matches, except the name 王不符 (a name that
// does not go with the number); for bank_card, any Luhn-valid card
// matches too, except cards ending 0000 (not the person's), and phone
// numbers in the 178 range, which the providers do not check.
type Sandbox struct{}

// MismatchName is the sandbox's name that never matches.
const MismatchName = "王不符"

// Verify implements Verifier.
func (Sandbox) Verify(_ context.Context, c Check) (Result, error) {
	switch {
	case c.Name == MismatchName:
		return Result{Code: Mismatch, Message: "姓名与身份证号不一致"}, nil
	case c.Type == "bank_card" && strings.HasSuffix(c.CardNumber, "0000"):
		return Result{Code: Mismatch, Message: "银行卡与身份信息不一致"}, nil
	case c.Type == "bank_card" && strings.HasPrefix(c.Phone, "178"):
		return Result{Code: Mismatch, Message: "不支持 178 号段的手机号"}, nil
	}
	return Result{Code: Matched, Message: "认证成功"}, nil
}
