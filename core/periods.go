package core

import "time"

// Billing periods. Every period end is computed from the subscription's
// anchor (its first period's start) and the period's number, never from
// the previous end: a month-end anchor keeps its day (Jan 31 → Feb 28 or
// 29 → Mar 31), in Beijing time, the day the merchant's customers live in.

// periodEnd is the end of period n (1-based) of a plan anchored at anchor.
func periodEnd(anchor int64, unit string, count, n int) int64 {
	t := time.Unix(anchor, 0).In(beijing)
	steps := count * n
	switch unit {
	case "day":
		return t.AddDate(0, 0, steps).Unix()
	case "week":
		return t.AddDate(0, 0, 7*steps).Unix()
	case "year":
		return addMonths(t, 12*steps).Unix()
	}
	return addMonths(t, steps).Unix()
}

// addMonths moves t by months, keeping its day unless the target month is
// shorter (then its last day), and its time of day.
func addMonths(t time.Time, months int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(months), 1, t.Hour(), t.Minute(), t.Second(), 0, t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}
