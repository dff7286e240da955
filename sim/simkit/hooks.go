// Package simkit holds what the channel simulators share: the Notifier
// that delivers their asynchronous notifications on each channel's retry
// schedule, the Group their background work runs in, the buyer's wallet
// pages, and what every simulator offers tests alike: statement tampering,
// lost notifications, a bill clock and the fee rule. The real channels
// have none of these hooks.
package simkit

import (
	"errors"
	"sync"
	"time"
)

// ErrLost is the transport error recorded for a notification lost on
// purpose (LoseNotifications).
var ErrLost = errors.New("notification lost in transit (test hook)")

// Hooks are a simulator's test hooks; the zero value has none set. Safe
// for concurrent use; its lock is a leaf, so a simulator may call it while
// holding its own.
type Hooks struct {
	mu        sync.Mutex
	tamper    map[string]func(rows [][]string) [][]string
	lost      map[string]bool
	billClock func() time.Time
}

// TamperBill makes the bill of merchant for day (YYYY-MM-DD in the
// channel's zone) pass through fn before it is written: fn gets the detail
// rows as the channel prints them and returns the rows to print, so a test
// can drop, add or alter lines. The simulator computes the totals from what
// fn returns, as the channel's own file would be self-consistent. A nil fn
// removes the hook.
func (h *Hooks) TamperBill(merchant, day string, fn func(rows [][]string) [][]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tamper == nil {
		h.tamper = map[string]func([][]string) [][]string{}
	}
	if fn == nil {
		delete(h.tamper, merchant+"/"+day)
		return
	}
	h.tamper[merchant+"/"+day] = fn
}

// Tamper returns the hook TamperBill set for merchant and day, or nil.
func (h *Hooks) Tamper(merchant, day string) func(rows [][]string) [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tamper[merchant+"/"+day]
}

// LoseNotifications makes every notification about trade outTradeNo (and
// its refunds) get lost on the way, now and on every retry, as if the
// network dropped them: only an active query can then tell the merchant.
func (h *Hooks) LoseNotifications(outTradeNo string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost == nil {
		h.lost = map[string]bool{}
	}
	h.lost[outTradeNo] = true
}

// Lost reports whether notifications about outTradeNo are lost.
func (h *Hooks) Lost(outTradeNo string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lost[outTradeNo]
}

// SetBillClock makes bill availability follow now instead of the
// simulator's clock: a day has a bill once now has passed it. Tests set it a
// day ahead to fetch the bill of the day they just made traffic on, while
// every signed timestamp stays on the simulator's clock (the SDKs refuse
// answers more than five minutes off). nil restores the simulator's clock.
func (h *Hooks) SetBillClock(now func() time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.billClock = now
}

// BillNow is the time that decides which bills exist, given the
// simulator's now.
func (h *Hooks) BillNow(now time.Time) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.billClock != nil {
		return h.billClock()
	}
	return now
}

// Fee is a channel's fee on amount minor units at rate basis points,
// rounded half up.
func Fee(amount, rate int64) int64 { return (amount*rate + 5000) / 10000 }
