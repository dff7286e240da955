package alipaysim

import (
	"errors"
	"time"
)

// errLost is the transport error recorded for a notification lost on
// purpose (LoseNotifications).
var errLost = errors.New("notification lost in transit (test hook)")

// TamperBill makes the trade bill of merchant (app_id) for day (YYYY-MM-DD,
// Beijing time) pass through fn before it is written: fn gets the detail
// rows as the channel prints them (cells in the order of BillColumns, the
// spreadsheet guards included) and returns the rows to print, so a test can
// drop, add or alter lines. The totals are computed from what fn returns,
// as the channel's own file would be self-consistent. A nil fn removes the
// hook. For tests only: the real channel has no such thing.
func (s *Sim) TamperBill(merchant, day string, fn func(rows [][]string) [][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fn == nil {
		delete(s.tamper, merchant+"/"+day)
		return
	}
	s.tamper[merchant+"/"+day] = fn
}

// LoseNotifications makes every notification about trade outTradeNo (and
// its refunds) get lost on the way, now and on every retry, as if the
// network dropped them: only an active query can then tell the merchant.
// For tests only.
func (s *Sim) LoseNotifications(outTradeNo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost[outTradeNo] = true
}

// fee is the channel's fee on amount fen at rate basis points, rounded
// half up to the fen.
func fee(amount, rate int64) int64 { return (amount*rate + 5000) / 10000 }

// SetBillClock makes bill availability follow now instead of the sim's
// clock: a day has a bill once now has passed it. Tests set it a day ahead
// to fetch the bill of the day they just made traffic on, while every
// signed timestamp stays on the sim's clock (the SDKs refuse answers more
// than five minutes off). nil restores the sim's clock. For tests only.
func (s *Sim) SetBillClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.billClock = now
}

// billNow is the time that decides which bills exist. Called with s.mu held.
func (s *Sim) billNow(now time.Time) time.Time {
	if s.billClock != nil {
		return s.billClock()
	}
	return now
}
