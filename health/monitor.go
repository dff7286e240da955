// Package health watches polypay's channel accounts: every call a
// connector makes (real traffic) and periodic harmless probes feed a
// sliding window and a circuit breaker per account, which give the account
// a state (healthy, degraded, down). Routing, the cashier, the health API,
// metrics and merchant events all read that state. It also accumulates the
// per-day SLA figures.
//
// State is per node: each node judges the accounts from its own calls
// (what it can reach is what matters to it). SLA figures are summed in the
// store across nodes.
package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polypay/polypay/metrics"
	"github.com/polypay/polypay/store"
	"github.com/sony/gobreaker/v2"
)

// State is a channel account's health.
type State string

const (
	Healthy  State = "healthy"  // answering, few errors, normal latency
	Degraded State = "degraded" // answering, but errors or latency are high, or the last probe failed
	Down     State = "down"     // circuit breaker open (or half-open, testing recovery): nothing is sent
)

// Account names one channel account of an app in a mode.
type Account struct {
	App  string
	Live bool
	Name string // the family, with "@account" for a named account: "alipay@second"
}

// Family is the account's channel family ("alipay").
func (a Account) Family() string { f, _, _ := strings.Cut(a.Name, "@"); return f }

// AccountName is the account's name, "default" for the family's default.
func (a Account) AccountName() string {
	if _, acc, ok := strings.Cut(a.Name, "@"); ok {
		return acc
	}
	return "default"
}

// Config tunes the monitor; zero fields take the defaults in brackets.
type Config struct {
	// Window is the sliding window of passive signals [5m]. It starts
	// afresh when the breaker closes after an outage, as the breaker's own
	// counts do: the outage's failures (and its failed probe) are not
	// evidence against the account once a call has shown it answers again.
	Window time.Duration
	// MinRequests is how many calls in the window it takes to judge the
	// error rate or latency, and to trip the breaker on the error rate [5].
	MinRequests int
	// DegradedErrorRate marks an account degraded [0.1].
	DegradedErrorRate float64
	// SlowP95 marks an account degraded when the window's p95 latency
	// reaches it [3s].
	SlowP95 time.Duration
	// TripConsecutive consecutive failures open the breaker [5]; so does
	// an error rate of TripErrorRate over at least MinRequests calls [0.5].
	TripConsecutive uint32
	TripErrorRate   float64
	// OpenTimeout is how long an open breaker refuses everything before it
	// lets one request (a probe, or real traffic when no probe comes) test
	// recovery [30s].
	OpenTimeout time.Duration
	// ProbeInterval is the gap between active probes of each configured
	// account; 0 turns probes off.
	ProbeInterval time.Duration
	// ProbeTimeout bounds one probe [5s].
	ProbeTimeout time.Duration
	// FlushInterval is how often SLA counts are written to the store [10s].
	FlushInterval time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Window, 5*time.Minute)
	def(&c.SlowP95, 3*time.Second)
	def(&c.OpenTimeout, 30*time.Second)
	def(&c.ProbeTimeout, 5*time.Second)
	def(&c.FlushInterval, 10*time.Second)
	if c.MinRequests <= 0 {
		c.MinRequests = 5
	}
	if c.DegradedErrorRate <= 0 {
		c.DegradedErrorRate = 0.1
	}
	if c.TripErrorRate <= 0 {
		c.TripErrorRate = 0.5
	}
	if c.TripConsecutive == 0 {
		c.TripConsecutive = 5
	}
	return c
}

// Change is an account's move from one state to another.
type Change struct {
	Account  Account
	From, To State
	Reason   string
	At       time.Time
}

// Prober makes one harmless call to an account (a query for a trade that
// does not exist) through its guarded connector.
type Prober interface {
	Probe(ctx context.Context, a Account) error
}

// Monitor tracks every account this node has used or probed. Safe for
// concurrent use.
type Monitor struct {
	cfg Config
	db  *store.DB
	log *slog.Logger
	// Now is the clock of the window and the SLA days (the breaker keeps
	// real time: gobreaker reads time.Now itself).
	Now func() time.Time
	// OnChange is told of every state change, in order, off the call path.
	OnChange func(Change)

	mu     sync.Mutex
	accts  map[Account]*tracker
	sla    map[slaKey]*slaCell
	prober Prober

	changes chan Change
	stop    chan struct{}
	done    chan struct{}
}

// New returns a monitor; db stores the SLA figures (nil keeps none).
func New(cfg Config, db *store.DB, log *slog.Logger) *Monitor {
	if log == nil {
		log = slog.Default()
	}
	m := &Monitor{cfg: cfg.withDefaults(), db: db, log: log, accts: map[Account]*tracker{}, sla: map[slaKey]*slaCell{},
		changes: make(chan Change, 1024), stop: make(chan struct{}), done: make(chan struct{})}
	go m.notify()
	return m
}

// Config returns the effective configuration.
func (m *Monitor) Config() Config { return m.cfg }

// SetProber installs what the probes call.
func (m *Monitor) SetProber(p Prober) {
	m.mu.Lock()
	m.prober = p
	m.mu.Unlock()
}

func (m *Monitor) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Close stops the change notifications (after delivering those queued).
func (m *Monitor) Close() {
	select {
	case <-m.stop:
		return
	default:
	}
	close(m.stop)
	<-m.done
}

func (m *Monitor) notify() {
	defer close(m.done)
	for {
		select {
		case c := <-m.changes:
			m.deliver(c)
		case <-m.stop:
			for {
				select {
				case c := <-m.changes:
					m.deliver(c)
				default:
					return
				}
			}
		}
	}
}

func (m *Monitor) deliver(c Change) {
	m.log.Warn("channel account health changed", "app", c.Account.App, "live", c.Account.Live, "channel", c.Account.Name,
		"from", c.From, "to", c.To, "reason", c.Reason)
	if m.OnChange != nil {
		m.OnChange(c)
	}
}

// tracker is one account's breaker, window and state. Lock order: never
// hold t.mu while calling the breaker (its state callback takes t.mu).
type tracker struct {
	m       *Monitor
	acct    Account
	br      *gobreaker.TwoStepCircuitBreaker[struct{}]
	brState atomic.Int32

	mu     sync.Mutex
	win    []winBucket
	state  State
	since  time.Time
	reason string
	probe  ProbeResult
}

// ProbeResult is the latest active probe of an account.
type ProbeResult struct {
	At        int64  `json:"at"` // unix seconds
	OK        bool   `json:"ok"`
	LatencyMS int64  `json:"latency_ms"`
	Error     string `json:"error,omitempty"`
}

const winSlots = 10

type winBucket struct {
	idx      int64
	ok, fail int
	hist     [len(latencyBoundsMS) + 1]int
}

// errFailure and errExcluded are what the breaker is told (it only
// needs the verdict; the real error goes back to the caller).
var (
	errFailure  = errors.New("failure")
	errExcluded = errors.New("excluded")
)

func (m *Monitor) tracker(a Account) *tracker {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.accts[a]; t != nil {
		return t
	}
	t := &tracker{m: m, acct: a, win: make([]winBucket, winSlots), state: Healthy, since: m.now()}
	cfg := m.cfg
	t.br = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name: a.Name, MaxRequests: 1, Interval: cfg.Window, BucketPeriod: cfg.Window / winSlots, Timeout: cfg.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= cfg.TripConsecutive ||
				c.Requests >= uint32(cfg.MinRequests) && float64(c.TotalFailures) >= cfg.TripErrorRate*float64(c.Requests)
		},
		IsSuccessful: func(err error) bool { return err == nil },
		IsExcluded:   func(err error) bool { return errors.Is(err, errExcluded) },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			t.brState.Store(int32(to))
			metrics.ChannelBreaker.WithLabelValues(a.App, metrics.Live(a.Live), a.Family(), a.AccountName()).Set(float64(to))
			if to == gobreaker.StateClosed {
				t.forgetOutage() // recovered: judge it on the calls from now on
			}
			t.refresh()
		},
	})
	m.accts[a] = t
	metrics.ChannelBreaker.WithLabelValues(a.App, metrics.Live(a.Live), a.Family(), a.AccountName()).Set(0)
	t.setGauge(Healthy)
	return t
}

func (t *tracker) setGauge(s State) {
	a := t.acct
	for _, st := range []State{Healthy, Degraded, Down} {
		v := 0.0
		if st == s {
			v = 1
		}
		metrics.ChannelHealth.WithLabelValues(a.App, metrics.Live(a.Live), a.Family(), a.AccountName(), string(st)).Set(v)
	}
}

// allow asks the breaker for permission to send; done must be called
// with the verdict.
func (t *tracker) allow() (func(verdict error), error) {
	return t.br.Allow()
}

// observe records one sent call (or a probe) in the window.
func (t *tracker) observe(lat time.Duration, failed bool) {
	now := t.m.now()
	idx := now.UnixNano() / int64(t.m.cfg.Window/winSlots)
	t.mu.Lock()
	b := &t.win[idx%winSlots]
	if b.idx != idx {
		*b = winBucket{idx: idx}
	}
	if failed {
		b.fail++
	} else {
		b.ok++
	}
	b.hist[latencyBucket(lat)]++
	t.mu.Unlock()
	t.refresh()
}

// forgetOutage empties the window and drops a failed probe result: what
// happened before the breaker closed does not degrade the account after.
func (t *tracker) forgetOutage() {
	t.mu.Lock()
	clear(t.win)
	if !t.probe.OK {
		t.probe = ProbeResult{}
	}
	t.mu.Unlock()
}

// windowStats sums the live buckets; t.mu held.
func (t *tracker) windowStats(now time.Time) (ok, fail int, hist []int64) {
	idx := now.UnixNano() / int64(t.m.cfg.Window/winSlots)
	hist = make([]int64, len(latencyBoundsMS)+1)
	for _, b := range t.win {
		if b.idx > idx-winSlots && b.idx <= idx {
			ok += b.ok
			fail += b.fail
			for i, n := range b.hist {
				hist[i] += int64(n)
			}
		}
	}
	return
}

// refresh recomputes the state and reports a change.
func (t *tracker) refresh() {
	cfg := t.m.cfg
	now := t.m.now()
	t.mu.Lock()
	st, reason := Healthy, ""
	switch gobreaker.State(t.brState.Load()) {
	case gobreaker.StateOpen:
		st, reason = Down, "circuit breaker open"
	case gobreaker.StateHalfOpen:
		st, reason = Down, "circuit breaker half-open: testing recovery"
	default:
		ok, fail, hist := t.windowStats(now)
		n := ok + fail
		switch {
		case n >= cfg.MinRequests && float64(fail) >= cfg.DegradedErrorRate*float64(n):
			st, reason = Degraded, fmt.Sprintf("%d of %d calls failed in the last %s", fail, n, cfg.Window)
		case n >= cfg.MinRequests && percentile(hist, 0.95) >= float64(cfg.SlowP95.Milliseconds()):
			st, reason = Degraded, fmt.Sprintf("p95 latency %.0f ms in the last %s", percentile(hist, 0.95), cfg.Window)
		case t.probe.At != 0 && !t.probe.OK && cfg.ProbeInterval > 0 && now.Unix()-t.probe.At <= int64(3*cfg.ProbeInterval/time.Second)+1:
			st, reason = Degraded, "last probe failed: "+t.probe.Error
		}
	}
	var ch *Change
	if st != t.state {
		ch = &Change{Account: t.acct, From: t.state, To: st, Reason: reason, At: now}
		t.state, t.since = st, now
		t.setGauge(st)
	}
	t.reason = reason
	t.mu.Unlock()
	if ch != nil {
		select {
		case t.m.changes <- *ch:
		default:
			t.m.log.Error("health change dropped: queue full", "channel", t.acct.Name)
		}
	}
}

// State returns an account's state, advancing an open breaker whose
// timeout has passed to half-open.
func (m *Monitor) State(a Account) State {
	t := m.tracker(a)
	t.br.State() // may move open -> half-open (and refresh)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// Usable reports whether routing and the cashier should use an account:
// it is not down. With probes off, nothing would ever test a half-open
// account, so real traffic is let through to do it.
func (m *Monitor) Usable(a Account) bool {
	t := m.tracker(a)
	if m.cfg.ProbeInterval == 0 && t.br.State() == gobreaker.StateHalfOpen {
		return true
	}
	return m.State(a) != Down
}

// Status is an account's health as GET /v1/channels/health shows it.
type Status struct {
	Object    string       `json:"object"`
	Channel   string       `json:"channel"` // "alipay" or "alipay@second"
	Family    string       `json:"family"`
	Account   string       `json:"account"` // "default" or the account name
	Livemode  bool         `json:"livemode"`
	Status    State        `json:"status"`
	Reason    string       `json:"reason,omitempty"`
	Since     int64        `json:"since"`
	Breaker   string       `json:"breaker"` // closed, half-open, open
	Window    WindowStats  `json:"window"`
	LastProbe *ProbeResult `json:"last_probe"`
}

// WindowStats are the passive signals over the sliding window.
type WindowStats struct {
	Seconds      int     `json:"seconds"`
	Requests     int     `json:"requests"`
	Failures     int     `json:"failures"`
	ErrorRate    float64 `json:"error_rate"`
	LatencyP50MS float64 `json:"latency_p50_ms"`
	LatencyP95MS float64 `json:"latency_p95_ms"`
}

// Snapshot returns an account's status.
func (m *Monitor) Snapshot(a Account) Status {
	t := m.tracker(a)
	br := t.br.State()
	t.mu.Lock()
	defer t.mu.Unlock()
	ok, fail, hist := t.windowStats(m.now())
	s := Status{Object: "channel_health", Channel: a.Name, Family: a.Family(), Account: a.AccountName(), Livemode: a.Live,
		Status: t.state, Reason: t.reason, Since: t.since.Unix(), Breaker: br.String(),
		Window: WindowStats{Seconds: int(m.cfg.Window / time.Second), Requests: ok + fail, Failures: fail,
			LatencyP50MS: percentile(hist, 0.5), LatencyP95MS: percentile(hist, 0.95)}}
	if n := ok + fail; n > 0 {
		s.Window.ErrorRate = float64(fail) / float64(n)
	}
	if t.probe.At != 0 {
		p := t.probe
		s.LastProbe = &p
	}
	return s
}
