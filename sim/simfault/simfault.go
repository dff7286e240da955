// Package simfault makes the channel simulators misbehave the way real
// channels do on a bad day, for fault-injection tests: their API answers
// 5xx or hangs (before or after doing the work, so the caller cannot know
// which), and their asynchronous notifications are dropped, duplicated,
// delayed and re-ordered.
//
// It needs nothing from the simulators beyond what they already take: wrap
// a simulator's http.Handler with [Faults.Handler] and give the simulator
// an http.Client whose transport is [Faults.Transport] for its
// notifications (alipaysim.Options.HTTPClient, wechatsim.Options.HTTPClient,
// or sandbox.WithSimHTTPClient for a node's simulators).
package simfault

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is the probability of each fault, from 0 to 1, per request or per
// notification attempt. The zero Config injects nothing.
type Config struct {
	// API faults (merchant -> channel calls).
	Fail5xx      float64 // answer 503 without doing anything
	Fail5xxAfter float64 // do the work, then answer 502: the reply is lost
	Hang         float64 // hang without doing anything, until the caller gives up or MaxHang
	HangAfter    float64 // do the work, then hang: the caller times out not knowing
	MaxHang      time.Duration

	// Notification faults (channel -> merchant).
	Drop      float64 // not sent; the simulator sees a failure and retries on its schedule
	LoseReply float64 // sent, but the reply is lost: the simulator retries a delivered notification
	Duplicate float64 // sent, and sent again later (0..MaxDelay)
	Delay     float64 // held back 0..MaxDelay before sending
	Reorder   float64 // parked until the next notification has been sent (or MaxDelay)
	MaxDelay  time.Duration
}

// Stats counts the faults injected so far.
type Stats struct {
	Requests, Fail5xx, Fail5xxAfter, Hang, HangAfter                     int64
	Notifications, Drop, LoseReply, Duplicate, Delay, Reorder, SendError int64
}

// Faults injects faults per its current Config; safe for concurrent use,
// and the Config may change at any time.
type Faults struct {
	mu  sync.Mutex
	cfg Config
	rng *rand.Rand

	// parked notifications wait for the next send to release them.
	parked chan struct{}

	requests, fail5xx, fail5xxAfter, hang, hangAfter                     atomic.Int64
	notifications, drop, loseReply, duplicate, delay, reorder, sendError atomic.Int64
}

// New returns Faults with cfg; seed makes the choices reproducible.
func New(cfg Config, seed uint64) *Faults {
	return &Faults{cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), parked: make(chan struct{})}
}

// Set replaces the configuration (Config{} stops all faults).
func (f *Faults) Set(cfg Config) {
	f.mu.Lock()
	f.cfg = cfg
	f.mu.Unlock()
}

// Stats returns the counts so far.
func (f *Faults) Stats() Stats {
	return Stats{Requests: f.requests.Load(), Fail5xx: f.fail5xx.Load(), Fail5xxAfter: f.fail5xxAfter.Load(),
		Hang: f.hang.Load(), HangAfter: f.hangAfter.Load(), Notifications: f.notifications.Load(),
		Drop: f.drop.Load(), LoseReply: f.loseReply.Load(), Duplicate: f.duplicate.Load(), Delay: f.delay.Load(),
		Reorder: f.reorder.Load(), SendError: f.sendError.Load()}
}

// pick draws one fault among the weighted ones (at most one applies), or
// -1; it also returns the config in force and a uniform draw for durations.
func (f *Faults) pick(probs ...float64) (int, Config, float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.rng.Float64()
	d := f.rng.Float64()
	for i, p := range probs {
		if x < p {
			return i, f.cfg, d
		}
		x -= p
	}
	return -1, f.cfg, d
}

func (f *Faults) config() Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// Handler wraps a simulator's handler with the API faults. Only requests
// that are channel API calls are affected (the buyer's wallet and cashier
// pages are not part of the merchant's integration).
func (f *Faults) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/wallet") {
			next.ServeHTTP(w, r)
			return
		}
		f.requests.Add(1)
		c := f.config()
		i, c, _ := f.pick(c.Fail5xx, c.Fail5xxAfter, c.Hang, c.HangAfter)
		switch i {
		case 0:
			f.fail5xx.Add(1)
			http.Error(w, "simfault: service unavailable", http.StatusServiceUnavailable)
		case 1:
			f.fail5xxAfter.Add(1)
			next.ServeHTTP(httptest.NewRecorder(), r) // the work is done; its answer is lost
			http.Error(w, "simfault: bad gateway", http.StatusBadGateway)
		case 2:
			f.hang.Add(1)
			hang(r.Context(), c.MaxHang)
			http.Error(w, "simfault: timed out", http.StatusGatewayTimeout)
		case 3:
			f.hangAfter.Add(1)
			next.ServeHTTP(httptest.NewRecorder(), r.WithContext(context.WithoutCancel(r.Context())))
			hang(r.Context(), c.MaxHang)
			http.Error(w, "simfault: timed out", http.StatusGatewayTimeout)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// hang waits until the caller gives up (its timeout, or its process dies)
// or max passes.
func hang(ctx context.Context, max time.Duration) {
	if max <= 0 {
		max = time.Minute
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// ErrDropped is what the simulator sees for a notification dropped or
// whose reply was lost.
var ErrDropped = errors.New("simfault: notification lost")

// Transport wraps base (nil: http.DefaultTransport) with the notification
// faults, for the simulators' notification client.
func (f *Faults) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{f: f, base: base}
}

type transport struct {
	f    *Faults
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	f := t.f
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	clone := func(ctx context.Context) *http.Request {
		r := req.Clone(ctx)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		return r
	}
	f.notifications.Add(1)
	c := f.config()
	i, c, d := f.pick(c.Drop, c.LoseReply, c.Duplicate, c.Delay, c.Reorder)
	wait := time.Duration(d * float64(c.MaxDelay))
	send := func(ctx context.Context) (*http.Response, error) {
		resp, err := t.base.RoundTrip(clone(ctx))
		if err != nil {
			f.sendError.Add(1)
		}
		f.release()
		return resp, err
	}
	switch i {
	case 0:
		f.drop.Add(1)
		return nil, ErrDropped
	case 1:
		f.loseReply.Add(1)
		if resp, err := send(req.Context()); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return nil, ErrDropped
	case 2:
		f.duplicate.Add(1)
		go func() {
			time.Sleep(wait)
			if resp, err := send(context.Background()); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	case 3:
		f.delay.Add(1)
		if !sleep(req.Context(), wait) {
			return nil, req.Context().Err()
		}
	case 4:
		f.reorder.Add(1)
		f.mu.Lock()
		parked := f.parked
		f.mu.Unlock()
		timer := time.NewTimer(c.MaxDelay)
		select {
		case <-parked: // a later notification went out first
		case <-timer.C:
		case <-req.Context().Done():
		}
		timer.Stop()
	}
	return send(req.Context())
}

// release lets every parked notification go: one sent after them has left.
func (f *Faults) release() {
	f.mu.Lock()
	close(f.parked)
	f.parked = make(chan struct{})
	f.mu.Unlock()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
