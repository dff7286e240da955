package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
)

// fakeChannel is a connector whose queries answer what query says.
type fakeChannel struct {
	polypay.Channel // unused methods panic
	query           func() (*polypay.Trade, error)
	calls           int
}

func (f *fakeChannel) QueryCharge(ctx context.Context, c *polypay.Charge) (*polypay.Trade, error) {
	f.calls++
	return f.query()
}

func TestBreakerOpensAndCloses(t *testing.T) {
	m := New(Config{OpenTimeout: 100 * time.Millisecond, TripConsecutive: 3, MinRequests: 4}, nil, nil)
	defer m.Close()
	var changes []State
	done := make(chan State, 10)
	m.OnChange = func(c Change) { done <- c.To }
	a := Account{App: "app_1", Name: "alipay@second"}
	down := errors.New("connection reset")
	fake := &fakeChannel{query: func() (*polypay.Trade, error) { return nil, down }}
	ch := m.Wrap(a, fake)
	c := &polypay.Charge{ID: "ch_1"}

	for i := 0; i < 3; i++ {
		if _, err := ch.QueryCharge(context.Background(), c); !errors.Is(err, down) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if s := m.Snapshot(a); s.Status != Down || s.Breaker != "open" || s.Window.Failures != 3 {
		t.Fatalf("after 3 failures: %+v", s)
	}
	// Open: nothing is sent, and the caller learns it was not accepted.
	_, err := ch.QueryCharge(context.Background(), c)
	if reason, ok := NotAccepted(err); !ok || reason != "breaker_open" || fake.calls != 3 {
		t.Fatalf("open breaker: err %v, calls %d", err, fake.calls)
	}
	if m.Usable(a) {
		t.Fatal("a down account is usable")
	}
	// After the timeout one request tests recovery and closes the breaker.
	time.Sleep(120 * time.Millisecond)
	fake.query = func() (*polypay.Trade, error) { return &polypay.Trade{State: polypay.TradeNotFound}, nil }
	if _, err := ch.QueryCharge(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	// The outage's failures are forgotten with it: 3 of 4 calls failed,
	// but the account answers again.
	if s := m.Snapshot(a); s.Breaker != "closed" || s.Status != Healthy || s.Window.Requests != 1 || s.Window.Failures != 0 {
		t.Fatalf("after a success in half-open: %+v", s)
	}
	// A business refusal is an answer, not a failure.
	fake.query = func() (*polypay.Trade, error) {
		return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: "ACQ.TRADE_NOT_EXIST"}
	}
	for i := 0; i < 5; i++ {
		ch.QueryCharge(context.Background(), c)
	}
	if s := m.Snapshot(a); s.Breaker != "closed" {
		t.Fatalf("refusals opened the breaker: %+v", s)
	}
	for len(changes) < 2 {
		select {
		case s := <-done:
			changes = append(changes, s)
		case <-time.After(2 * time.Second):
			t.Fatalf("changes %v", changes)
		}
	}
	// healthy -> down (open) is reported; half-open stays down; closing
	// makes it healthy again.
	if changes[0] != Down || changes[1] != Healthy {
		t.Fatalf("changes %v", changes)
	}
}

// proberFunc probes with a function.
type proberFunc func(ctx context.Context, a Account) error

func (f proberFunc) Probe(ctx context.Context, a Account) error { return f(ctx, a) }

// TestProbeRecoveryIsHealthy: failed probes open the breaker; a probe the
// open breaker refuses is not a probe result; the probe that closes it
// makes the account healthy at once, without a stale "last probe failed"
// or the outage's failures degrading it on the way.
func TestProbeRecoveryIsHealthy(t *testing.T) {
	m := New(Config{OpenTimeout: 100 * time.Millisecond, TripConsecutive: 3, MinRequests: 4, ProbeInterval: time.Hour}, nil, nil)
	defer m.Close()
	changes := make(chan Change, 10)
	m.OnChange = func(c Change) { changes <- c }
	a := Account{App: "app_1", Name: "alipay@second"}
	down := errors.New("connection reset")
	fake := &fakeChannel{query: func() (*polypay.Trade, error) { return nil, down }}
	ch := m.Wrap(a, fake)
	m.SetProber(proberFunc(func(ctx context.Context, _ Account) error {
		_, err := ch.QueryCharge(ctx, &polypay.Charge{ID: "ch_probe"})
		return err
	}))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if p := m.Probe(ctx, a); p.OK {
			t.Fatalf("probe %d of a down account: %+v", i, p)
		}
	}
	if p := m.Probe(ctx, a); p.OK || fake.calls != 3 {
		t.Fatalf("probe with the breaker open: %+v, calls %d", p, fake.calls)
	}
	if s := m.Snapshot(a); s.Status != Down || s.LastProbe == nil || strings.Contains(s.LastProbe.Error, "breaker_open") {
		t.Fatalf("after a refused probe: %+v, last probe %+v", s, s.LastProbe)
	}
	time.Sleep(120 * time.Millisecond)
	fake.query = func() (*polypay.Trade, error) { return &polypay.Trade{State: polypay.TradeNotFound}, nil }
	if p := m.Probe(ctx, a); !p.OK {
		t.Fatalf("probe after recovery: %+v", p)
	}
	if s := m.Snapshot(a); s.Status != Healthy || s.Breaker != "closed" || s.Window.Failures != 0 || s.LastProbe == nil || !s.LastProbe.OK {
		t.Fatalf("after recovery: %+v, last probe %+v", s, s.LastProbe)
	}
	var got []string
	for len(got) < 3 {
		select {
		case c := <-changes:
			got = append(got, fmt.Sprintf("%s->%s", c.From, c.To))
		case <-time.After(2 * time.Second):
			t.Fatalf("changes %v", got)
		}
	}
	// The first failed probe degrades it; the third opens the breaker.
	if want := []string{"healthy->degraded", "degraded->down", "down->healthy"}; !slices.Equal(got, want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
}

func TestVerdict(t *testing.T) {
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		want error
	}{
		{"OK", ctx, nil, nil},
		{"Refusal", ctx, &polypay.Error{Code: polypay.EChannel, ChannelCode: "ACQ.TRADE_HAS_SUCCESS"}, nil},
		{"SystemError", ctx, &polypay.Error{Code: polypay.EChannel, ChannelCode: "SYSTEM_ERROR"}, errFailure},
		{"Transport", ctx, errors.New("EOF"), errFailure},
		{"NotAccepted", ctx, &NotAcceptedError{Reason: "http_503"}, errFailure},
		{"BadSignature", ctx, polypay.ErrBadSignature, errFailure},
		{"CallerGone", canceled, context.Canceled, errExcluded},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := verdict(c.ctx, c.err); got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestTransportMarksNotAccepted(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		want   bool
	}{{"503", 503, true}, {"502", 502, true}, {"500", 500, false}, {"504", 504, false}, {"200", 200, false}} {
		t.Run(c.name, func(t *testing.T) {
			tr := &Transport{Base: rtFunc(func(*http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: c.status, Body: http.NoBody}, nil
			})}
			req, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
			_, err := tr.RoundTrip(req)
			if _, got := NotAccepted(err); got != c.want {
				t.Fatalf("status %d: not accepted = %v", c.status, got)
			}
		})
	}
	// Nothing listens on port 1: the dial fails before anything is sent.
	_, err := (&http.Client{Transport: &Transport{}}).Get("http://127.0.0.1:1/")
	if r, ok := NotAccepted(err); !ok || r != "connect" {
		t.Fatalf("refused connection: %v", err)
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPercentile(t *testing.T) {
	h := make([]int64, len(latencyBoundsMS)+1)
	h[latencyBucket(3*time.Millisecond)] = 50  // 0-5 ms
	h[latencyBucket(70*time.Millisecond)] = 50 // 50-100 ms
	if p := percentile(h, 0.5); p != 5 {
		t.Errorf("p50 = %v, want 5", p)
	}
	if p := percentile(h, 0.99); p < 95 || p > 100 {
		t.Errorf("p99 = %v, want 95..100", p)
	}
	if p := percentile(make([]int64, len(h)), 0.5); p != 0 {
		t.Errorf("empty p50 = %v", p)
	}
}
