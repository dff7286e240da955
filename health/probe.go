package health

import (
	"context"
	"sync"
	"time"

	"github.com/polypay/polypay/metrics"
	"github.com/polypay/polypay/store"
)

// RunProbes probes every configured account every ProbeInterval until ctx
// ends; it returns at once when probes are off.
func (m *Monitor) RunProbes(ctx context.Context) {
	if m.cfg.ProbeInterval <= 0 || m.db == nil {
		return
	}
	t := time.NewTicker(m.cfg.ProbeInterval)
	defer t.Stop()
	for {
		m.ProbeAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ProbeAll probes every configured account once, a few at a time.
func (m *Monitor) ProbeAll(ctx context.Context) {
	var refs []store.AccountRef
	if err := m.db.Read(ctx, func(tx *store.Tx) (err error) {
		refs, err = tx.ChannelAccounts(ctx, "", false)
		return
	}); err != nil {
		if ctx.Err() == nil {
			m.log.Error("health probes: listing accounts", "err", err)
		}
		return
	}
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, r := range refs {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m.Probe(ctx, Account{App: r.AppID, Live: r.Live, Name: r.Family})
		}()
	}
	wg.Wait()
}

// Probe makes one probe of an account and records it.
func (m *Monitor) Probe(ctx context.Context, a Account) ProbeResult {
	m.mu.Lock()
	p := m.prober
	m.mu.Unlock()
	if p == nil {
		return ProbeResult{}
	}
	pctx, cancel := context.WithTimeout(ProbeContext(ctx), m.cfg.ProbeTimeout)
	start := time.Now()
	err := p.Probe(pctx, a)
	cancel()
	res := ProbeResult{At: m.now().Unix(), OK: verdict(pctx, err) == nil, LatencyMS: time.Since(start).Milliseconds()}
	result := "ok"
	if !res.OK {
		res.Error = err.Error()
		if len(res.Error) > 200 {
			res.Error = res.Error[:200]
		}
		result = "error"
		if r, ok := NotAccepted(err); ok && r == "breaker_open" {
			result = "rejected"
		}
	}
	metrics.ChannelProbes.WithLabelValues(a.Family(), a.AccountName(), result).Inc()
	if result == "rejected" {
		// Nothing was sent: the breaker already says the account is down,
		// and by now it may have closed (a stale failure would degrade it).
		return res
	}
	t := m.tracker(a)
	t.mu.Lock()
	t.probe = res
	t.mu.Unlock()
	t.refresh()
	return res
}
