package polypay_test

import (
	"testing"

	"github.com/polypay/polypay"
)

func TestCheckText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		kind polypay.Text
		ok   bool
	}{
		{"OKPlain", "商品 A-1 (x2)", polypay.Line, true},
		{"OKNoBreakSpace", "a\u00a0b", polypay.Line, true},
		{"OKReplacementChar", "a\ufffdb", polypay.Line, true},
		{"OKLinesTabLFCR", "a\tb\r\nc", polypay.Lines, true},
		{"ErrNUL", "a\x00b", polypay.Lines, false},
		{"ErrUS", "a\x1fb", polypay.Lines, false},
		{"ErrESC", "\x1b[2J", polypay.Lines, false},
		{"ErrDEL", "a\x7fb", polypay.Lines, false},
		{"ErrC1First", "a\u0080b", polypay.Lines, false},
		{"ErrC1NEL", "a\u0085b", polypay.Lines, false},
		{"ErrC1Last", "a\u009fb", polypay.Lines, false},
		{"ErrLineTab", "a\tb", polypay.Line, false},
		{"ErrLineLF", "a\nb", polypay.Line, false},
		{"ErrLineCR", "a\rb", polypay.Line, false},
		{"ErrInvalidUTF8", "a\xffb", polypay.Lines, false},
		{"ErrTruncatedUTF8", "a\xe5\x95", polypay.Lines, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := polypay.CheckText("subject", tc.in, tc.kind)
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckText(%q) = %v, want nil", tc.in, err)
				}
				return
			}
			if polypay.ErrorCode(err) != polypay.EInvalid || err.(*polypay.Error).Param != "subject" {
				t.Fatalf("CheckText(%q) = %v, want EInvalid on subject", tc.in, err)
			}
		})
	}
}
