package reconcile_test

import (
	"testing"
	"time"

	"github.com/polypay/polypay/reconcile"
)

func TestDailyDue(t *testing.T) {
	d := &reconcile.Daily{}
	at := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04 -0700", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tt := range []struct {
		name string
		now  time.Time
		want string
	}{
		{"BeforeTen", at("2026-11-22 09:59 +0800"), ""},
		{"AtTen", at("2026-11-22 10:00 +0800"), "2026-11-21"},
		{"LateUTCSameBeijingDay", at("2026-11-22 03:00 +0000"), "2026-11-21"},
		{"UTCEveningIsNextBeijingDay", at("2026-11-22 17:00 +0000"), ""},
		{"UTCEveningAfterTen", at("2026-11-23 02:30 +0000"), "2026-11-22"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := d.Due(tt.now); got != tt.want {
				t.Fatalf("Due(%v) = %q, want %q", tt.now, got, tt.want)
			}
		})
	}
}
