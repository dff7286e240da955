package risk_test

import (
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/risk"
)

func TestCheckListEntry(t *testing.T) {
	tests := []struct {
		list, kind, value string
		want, param       string
	}{
		{"block", "ip", "203.0.113.7", "203.0.113.7", ""},
		{"block", "ip", "::ffff:203.0.113.7", "203.0.113.7", ""},
		{"block", "ip", "10.1.2.3/8", "10.0.0.0/8", ""},
		{"allow", "ip", "2001:db8::1", "2001:db8::1", ""},
		{"block", "email", "Fraud@Example.COM", "fraud@example.com", ""},
		{"block", "card", "9f86d081884c7d65", "9f86d081884c7d65", ""},
		{"block", "device", "dev-123", "dev-123", ""},
		{"deny", "ip", "1.2.3.4", "", "list"},
		{"block", "phone", "1", "", "kind"},
		{"block", "ip", "", "", "value"},
		{"block", "ip", "999.1.1.1", "", "value"},
		{"block", "ip", "fe80::1%eth0", "", "value"},
		{"block", "email", "no-at-sign", "", "value"},
		{"block", "email", "a b@example.com", "", "value"},
		{"block", "customer", "bad\x00id", "", "value"},
		{"block", "device", strings.Repeat("d", 129), "", "value"},
	}
	for _, tc := range tests {
		got, err := risk.CheckListEntry(tc.list, tc.kind, tc.value)
		var pe *polypay.Error
		switch {
		case tc.param == "" && (err != nil || got != tc.want):
			t.Errorf("%s %s %q = %q, %v; want %q", tc.list, tc.kind, tc.value, got, err, tc.want)
		case tc.param != "" && (!errorsAs(err, &pe) || pe.Param != tc.param):
			t.Errorf("%s %s %q: err %v, want one naming %s", tc.list, tc.kind, tc.value, err, tc.param)
		}
	}
}

func FuzzCheckListEntry(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "10.0.0.0/8", "::1", "a@b.c", "fp_1", "", "1.2.3.4/33"} {
		f.Add("block", "ip", s)
		f.Add("allow", "email", s)
	}
	f.Fuzz(func(t *testing.T, list, kind, value string) {
		got, err := risk.CheckListEntry(list, kind, value)
		if err != nil {
			if polypay.ErrorCode(err) != polypay.EInvalid {
				t.Fatalf("error %v is not a parameter error", err)
			}
			return
		}
		if got == "" || len(got) > 254 {
			t.Fatalf("accepted %q as %q", value, got)
		}
		// Normal forms are fixed points.
		if again, err := risk.CheckListEntry(list, kind, got); err != nil || again != got {
			t.Fatalf("%q normalised to %q, then to %q, %v", value, got, again, err)
		}
	})
}
