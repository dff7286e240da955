package core

import "testing"

func TestScanWallet(t *testing.T) {
	for _, c := range []struct{ code, want string }{
		{"281234567890123456", "alipay_scan"},
		{"2512345678901234", "alipay_scan"},
		{"301234567890123456789012", "alipay_scan"},
		{"3012345678901234567890123", ""},
		{"251234567890123", ""},
		{"134567890123456789", "wx_pub_scan"},
		{"104567890123456789", "wx_pub_scan"},
		{"16456789012345678", ""},
		{"1345678901234567890", ""},
		{"9194287082942870829", "balance"},
		{"6212345678901234567", "upacp_scan"},
		{"621234567890123456", ""},
		{"6312345678901234567", ""},
		{"28123456789012345a", ""},
		{"", ""},
		{"2", ""},
	} {
		if got := scanWallet(c.code); got != c.want {
			t.Errorf("%q: %q, want %q", c.code, got, c.want)
		}
	}
}
