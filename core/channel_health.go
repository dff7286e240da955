package core

import (
	"sync"
	"time"

	"github.com/polypay/polypay"
)

// Channel health for the cashier, from what it sees itself (the channel
// accounts' own health is the health package's, see Service.Health): a
// channel whose last UnhealthyAfter
// charge creations for an app and mode (through PayOrder) all failed with a
// channel error (polypay.EChannel) within UnhealthyWindow is unhealthy, and
// the cashier hides it, until UnhealthyWindow has passed since the last of
// those failures or a creation on it succeeds. Errors of other kinds
// (invalid parameters, the database) neither count nor reset the streak.
//
// The record is in memory and per node: each polypay node learns on its
// own, and a restart forgets.
const (
	UnhealthyAfter  = 3
	UnhealthyWindow = 5 * time.Minute
)

// ChannelHealth records recent charge creation outcomes per app, mode and
// channel. Safe for concurrent use.
type ChannelHealth struct {
	mu    sync.Mutex
	fails map[healthKey][]time.Time // the latest consecutive channel failures, at most UnhealthyAfter
}

type healthKey struct {
	app     string
	live    bool
	channel string
}

// NewChannelHealth returns an empty record.
func NewChannelHealth() *ChannelHealth {
	return &ChannelHealth{fails: map[healthKey][]time.Time{}}
}

// ChannelHealth is the service's record of channel health (one per
// Service, created on first use).
func (s *Service) ChannelHealth() *ChannelHealth {
	s.healthOnce.Do(func() { s.health = NewChannelHealth() })
	return s.health
}

// Record notes the outcome of one charge creation at now: err nil is a
// success, an EChannel error a channel failure; other errors are ignored.
func (h *ChannelHealth) Record(appID string, live bool, channel string, err error, now time.Time) {
	k := healthKey{appID, live, channel}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil:
		delete(h.fails, k)
	case polypay.ErrorCode(err) == polypay.EChannel:
		f := append(h.fails[k], now)
		if len(f) > UnhealthyAfter {
			f = append([]time.Time(nil), f[len(f)-UnhealthyAfter:]...)
		}
		h.fails[k] = f
	}
}

// Healthy reports whether a channel is healthy at now.
func (h *ChannelHealth) Healthy(appID string, live bool, channel string, now time.Time) bool {
	k := healthKey{appID, live, channel}
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.fails[k]
	if len(f) < UnhealthyAfter {
		return true
	}
	first, last := f[0], f[len(f)-1]
	if last.Sub(first) > UnhealthyWindow || now.Sub(last) >= UnhealthyWindow {
		if now.Sub(last) >= UnhealthyWindow {
			delete(h.fails, k) // expired: start over
		}
		return true
	}
	return false
}
