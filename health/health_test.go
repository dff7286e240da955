package health

import (
	"context"
	"errors"
	"net/http"
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
	m := New(Config{OpenTimeout: 100 * time.Millisecond, TripConsecutive: 3, MinRequests: 100}, nil, nil)
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
	if s := m.Snapshot(a); s.Breaker != "closed" {
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
	// is degraded (3 of 4 calls in the window failed) or healthy.
	if changes[0] != Down || changes[1] == Down {
		t.Fatalf("changes %v", changes)
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
