package core

import (
	"testing"
	"time"
)

func TestPeriodEnd(t *testing.T) {
	at := func(s string) int64 {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, beijing)
		if err != nil {
			t.Fatal(err)
		}
		return v.Unix()
	}
	for _, c := range []struct {
		anchor, unit string
		count, n     int
		want         string
	}{
		{"2027-01-31 10:00", "month", 1, 1, "2027-02-28 10:00"},
		{"2028-01-31 10:00", "month", 1, 1, "2028-02-29 10:00"},
		{"2027-01-31 10:00", "month", 1, 2, "2027-03-31 10:00"},
		{"2027-01-31 10:00", "month", 1, 3, "2027-04-30 10:00"},
		{"2027-03-30 00:00", "month", 1, 11, "2028-02-29 00:00"},
		{"2027-08-31 23:59", "month", 3, 2, "2028-02-29 23:59"},
		{"2028-02-29 08:00", "year", 1, 1, "2029-02-28 08:00"},
		{"2028-02-29 08:00", "year", 1, 4, "2032-02-29 08:00"},
		{"2027-12-31 12:00", "day", 1, 1, "2028-01-01 12:00"},
		{"2027-12-30 12:00", "week", 2, 1, "2028-01-13 12:00"},
		{"2027-05-15 09:30", "month", 1, 12, "2028-05-15 09:30"},
	} {
		got := time.Unix(periodEnd(at(c.anchor), c.unit, c.count, c.n), 0).In(beijing).Format("2006-01-02 15:04")
		if got != c.want {
			t.Errorf("%s + %d×%d %s: %s, want %s", c.anchor, c.n, c.count, c.unit, got, c.want)
		}
	}
}
