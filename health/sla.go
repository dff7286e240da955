package health

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/polypay/polypay/store"
)

// latencyBoundsMS are the upper bounds of the latency buckets shared by
// the window and the SLA figures; one more bucket holds slower calls.
var latencyBoundsMS = [...]float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000}

func latencyBucket(d time.Duration) int {
	ms := float64(d) / float64(time.Millisecond)
	for i, b := range latencyBoundsMS {
		if ms <= b {
			return i
		}
	}
	return len(latencyBoundsMS)
}

// percentile estimates the q-quantile in ms from bucket counts,
// interpolating linearly inside the bucket (as Prometheus'
// histogram_quantile does); 0 without data.
func percentile(hist []int64, q float64) float64 {
	var total int64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var cum int64
	for i, n := range hist {
		if n == 0 || float64(cum+n) < rank {
			cum += n
			continue
		}
		lo := 0.0
		if i > 0 {
			lo = latencyBoundsMS[i-1]
		}
		if i == len(latencyBoundsMS) {
			return lo // slower than the last bound: report the bound
		}
		hi := latencyBoundsMS[i]
		v := lo + (hi-lo)*(rank-float64(cum))/float64(n)
		return math.Round(v*10) / 10
	}
	return latencyBoundsMS[len(latencyBoundsMS)-1]
}

type slaKey struct {
	day    string
	a      Account
	source string
	bucket int
}

type slaCell struct{ ok, failed int64 }

func (m *Monitor) recordSLA(a Account, source string, bucket int, failed bool) {
	k := slaKey{day: m.now().UTC().Format(time.DateOnly), a: a, source: source, bucket: bucket}
	m.mu.Lock()
	c := m.sla[k]
	if c == nil {
		c = &slaCell{}
		m.sla[k] = c
	}
	if failed {
		c.failed++
	} else {
		c.ok++
	}
	m.mu.Unlock()
}

// Flush adds this node's counts since the last flush to the store.
func (m *Monitor) Flush(ctx context.Context) error {
	if m.db == nil {
		return nil
	}
	m.mu.Lock()
	pending := m.sla
	m.sla = map[slaKey]*slaCell{}
	m.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	rows := make([]store.SLACount, 0, len(pending))
	for k, c := range pending {
		rows = append(rows, store.SLACount{Day: k.day, AppID: k.a.App, Live: k.a.Live, Account: k.a.Name, Source: k.source,
			Bucket: k.bucket, OK: c.ok, Failed: c.failed})
	}
	sort.Slice(rows, func(i, j int) bool { // a fixed order avoids deadlocks between nodes on Postgres
		a, b := rows[i], rows[j]
		if a.AppID != b.AppID {
			return a.AppID < b.AppID
		}
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Day != b.Day {
			return a.Day < b.Day
		}
		if a.Live != b.Live {
			return !a.Live
		}
		return a.Bucket < b.Bucket
	})
	err := m.db.Write(ctx, func(tx *store.Tx) error { return tx.AddSLA(ctx, rows) })
	if err != nil {
		// Keep the counts for the next flush.
		m.mu.Lock()
		for k, c := range pending {
			if cur := m.sla[k]; cur != nil {
				cur.ok += c.ok
				cur.failed += c.failed
			} else {
				m.sla[k] = c
			}
		}
		m.mu.Unlock()
	}
	return err
}

// RunFlusher flushes the SLA counts every FlushInterval until ctx ends,
// then once more.
func (m *Monitor) RunFlusher(ctx context.Context) {
	t := time.NewTicker(m.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := m.Flush(fctx); err != nil {
				m.log.Error("flushing SLA counts", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := m.Flush(ctx); err != nil && ctx.Err() == nil {
				m.log.Error("flushing SLA counts", "err", err)
			}
		}
	}
}

// SLARow is one account's figures for a day from one source (probe,
// traffic) or both (all).
type SLARow struct {
	Object       string  `json:"object"`
	Date         string  `json:"date"`
	Channel      string  `json:"channel"`
	Family       string  `json:"family"`
	Account      string  `json:"account"`
	Livemode     bool    `json:"livemode"`
	Source       string  `json:"source"`
	Requests     int64   `json:"requests"` // attempted, including those refused by an open breaker
	Failures     int64   `json:"failures"`
	Rejected     int64   `json:"rejected"` // refused by an open breaker, never sent
	Availability float64 `json:"availability"`
	LatencyP50MS float64 `json:"latency_p50_ms"`
	LatencyP95MS float64 `json:"latency_p95_ms"`
	LatencyP99MS float64 `json:"latency_p99_ms"`
}

// Report returns an app's SLA figures for a day (YYYY-MM-DD, UTC) as
// stored, after flushing this node's counts.
func (m *Monitor) Report(ctx context.Context, appID string, live bool, day string) ([]SLARow, error) {
	if err := m.Flush(ctx); err != nil {
		return nil, err
	}
	var counts []store.SLACount
	if err := m.db.Read(ctx, func(tx *store.Tx) (err error) {
		counts, err = tx.SLA(ctx, appID, live, day)
		return
	}); err != nil {
		return nil, err
	}
	type agg struct {
		ok, failed, rejected int64
		hist                 []int64
	}
	byKey := map[[2]string]*agg{}
	var keys [][2]string
	add := func(k [2]string, c store.SLACount) {
		g := byKey[k]
		if g == nil {
			g = &agg{hist: make([]int64, len(latencyBoundsMS)+1)}
			byKey[k] = g
			keys = append(keys, k)
		}
		g.ok += c.OK
		g.failed += c.Failed
		if c.Bucket < 0 {
			g.rejected += c.OK + c.Failed
			return
		}
		if c.Bucket < len(g.hist) {
			g.hist[c.Bucket] += c.OK + c.Failed
		}
	}
	for _, c := range counts {
		add([2]string{c.Account, c.Source}, c)
		add([2]string{c.Account, "all"}, c)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	out := make([]SLARow, 0, len(keys))
	for _, k := range keys {
		g := byKey[k]
		a := Account{App: appID, Live: live, Name: k[0]}
		r := SLARow{Object: "channel_sla", Date: day, Channel: k[0], Family: a.Family(), Account: a.AccountName(), Livemode: live,
			Source: k[1], Requests: g.ok + g.failed, Failures: g.failed, Rejected: g.rejected,
			LatencyP50MS: percentile(g.hist, 0.5), LatencyP95MS: percentile(g.hist, 0.95), LatencyP99MS: percentile(g.hist, 0.99)}
		if r.Requests > 0 {
			r.Availability = math.Round(float64(g.ok)/float64(r.Requests)*1e6) / 1e6
		}
		out = append(out, r)
	}
	return out, nil
}
