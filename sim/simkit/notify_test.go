package simkit_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/simfault"
	"github.com/polypay/polypay/sim/simkit"
)

// receiver is a merchant's notify endpoint answering statuses in turn (the
// last one forever), recording what it got.
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []hit
}

type hit struct {
	at     time.Time
	body   string
	header http.Header
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	rc := &receiver{statuses: statuses}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		status := rc.statuses[min(len(rc.got), len(rc.statuses)-1)]
		rc.got = append(rc.got, hit{time.Now(), string(b), r.Header.Clone()})
		rc.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, "reply "+strconv.Itoa(status))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) hits() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.got...)
}

// env is a notifier whose deliveries are logged under the notice's key.
type env struct {
	bg  *simkit.Group
	nt  *simkit.Notifier
	log simkit.Deliveries[simkit.Delivery]
}

func newEnv(t *testing.T, o simkit.NotifierOptions) *env {
	e := &env{bg: &simkit.Group{}}
	if o.Acked == nil {
		o.Acked = simkit.Acked2xx
	}
	if o.Retry == nil {
		o.Retry = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
	}
	e.nt = simkit.NewNotifier(e.bg, o)
	t.Cleanup(e.bg.Close)
	return e
}

func (e *env) notice(url string) *simkit.Notice {
	return &simkit.Notice{Key: "k1", URL: url, Body: []byte("n=1"), ContentType: "text/plain",
		Record: func(d simkit.Delivery) { e.log.Add("k1", d) }}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestNotifierRetry(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		acked    func(int, []byte) bool
		attempts int
		wantAck  bool
	}{
		{"AckedFirst", []int{200}, nil, 1, true},
		{"FailThenAcked", []int{500, 202}, nil, 2, true},
		{"NeverAcked", []int{503}, nil, 3, false}, // first try + 2 retries
		{"ChannelTerms", []int{200, 200}, func(status int, reply []byte) bool { return string(reply) == "success" }, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, simkit.NotifierOptions{Acked: tt.acked})
			rc := newReceiver(t, tt.statuses...)
			e.nt.Send(context.Background(), e.notice(rc.srv.URL))
			waitFor(t, "attempts", func() bool { return len(e.log.Of("k1")) >= tt.attempts })
			time.Sleep(40 * time.Millisecond) // nothing more may come
			ds := e.log.Of("k1")
			if len(ds) != tt.attempts || len(rc.hits()) != tt.attempts {
				t.Fatalf("got %d attempts, %d received; want %d: %+v", len(ds), len(rc.hits()), tt.attempts, ds)
			}
			for i, d := range ds {
				wantAck := tt.wantAck && i == len(ds)-1
				if d.Attempt != i+1 || d.Acked != wantAck || d.URL != rc.srv.URL || d.StatusCode != tt.statuses[min(i, len(tt.statuses)-1)] {
					t.Errorf("attempt %d: got %+v, want acked %v", i+1, d, wantAck)
				}
				if want := "reply " + strconv.Itoa(d.StatusCode); d.Reply != want {
					t.Errorf("attempt %d: got reply %q, want %q", i+1, d.Reply, want)
				}
			}
			for i, h := range rc.hits() {
				if h.body != "n=1" || h.header.Get("Content-Type") != "text/plain" {
					t.Errorf("attempt %d: got body %q, Content-Type %q; want the notice's", i+1, h.body, h.header.Get("Content-Type"))
				}
			}
		})
	}
}

func TestNotifierSchedule(t *testing.T) {
	gaps := []time.Duration{30 * time.Millisecond, 90 * time.Millisecond}
	tests := []struct {
		name string
		post func(e *env, n *simkit.Notice)
		// first is the least time before the first attempt.
		first time.Duration
	}{
		{"Send", func(e *env, n *simkit.Notice) { e.nt.Send(context.Background(), n) }, 0},
		{"Post", func(e *env, n *simkit.Notice) { e.nt.Post(n) }, 0},
		{"PostAfter", func(e *env, n *simkit.Notice) { e.nt.PostAfter(50*time.Millisecond, n) }, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, simkit.NotifierOptions{Retry: gaps})
			rc := newReceiver(t, 500)
			start := time.Now()
			tt.post(e, e.notice(rc.srv.URL))
			waitFor(t, "the schedule to run out", func() bool { return len(rc.hits()) == 3 })
			h := rc.hits()
			if got := h[0].at.Sub(start); got < tt.first {
				t.Errorf("first attempt after %v, want at least %v", got, tt.first)
			}
			for i, gap := range gaps {
				if got := h[i+1].at.Sub(h[i].at); got < gap {
					t.Errorf("retry %d after %v, want at least %v", i+1, got, gap)
				}
			}
		})
	}
}

func TestNotifierDefaultRetry(t *testing.T) {
	tests := []struct {
		name     string
		retry    []time.Duration
		attempts int
	}{
		{"Nil", nil, 2},
		{"EmptyDisables", []time.Duration{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bg := &simkit.Group{}
			t.Cleanup(bg.Close)
			nt := simkit.NewNotifier(bg, simkit.NotifierOptions{Acked: simkit.Acked2xx, Retry: tt.retry,
				DefaultRetry: []time.Duration{5 * time.Millisecond}})
			rc := newReceiver(t, 500)
			nt.Send(context.Background(), &simkit.Notice{URL: rc.srv.URL})
			time.Sleep(60 * time.Millisecond)
			if got := len(rc.hits()); got != tt.attempts {
				t.Fatalf("got %d attempts, want %d", got, tt.attempts)
			}
		})
	}
}

func TestNotifierClose(t *testing.T) {
	e := newEnv(t, simkit.NotifierOptions{Retry: []time.Duration{30 * time.Millisecond}})
	rc := newReceiver(t, 500)
	e.nt.Send(context.Background(), e.notice(rc.srv.URL))
	e.bg.Close()
	e.nt.Send(context.Background(), e.notice(rc.srv.URL))
	e.nt.Post(e.notice(rc.srv.URL))
	time.Sleep(60 * time.Millisecond)
	if got := len(rc.hits()); got != 1 {
		t.Fatalf("receiver got %d, want only the attempt before Close", got)
	}
	if got := len(e.log.Of("k1")); got != 1 {
		t.Fatalf("%d attempts logged, want 1", got)
	}
}

func TestNotifierNotSent(t *testing.T) {
	e := newEnv(t, simkit.NotifierOptions{})
	e.nt.Send(context.Background(), nil)
	e.nt.Post(nil)
	e.nt.Send(context.Background(), e.notice("")) // no notify URL
	time.Sleep(30 * time.Millisecond)
	if got := e.log.Of("k1"); got != nil {
		t.Fatalf("got %+v, want no attempt", got)
	}
}

func TestNotifierLost(t *testing.T) {
	var hooks simkit.Hooks
	e := newEnv(t, simkit.NotifierOptions{Lost: hooks.Lost})
	rc := newReceiver(t, 200)
	hooks.LoseNotifications("k1")
	e.nt.Send(context.Background(), e.notice(rc.srv.URL))
	waitFor(t, "the retries", func() bool { return len(e.log.Of("k1")) == 3 })
	for _, d := range e.log.Of("k1") {
		if d.Err != simkit.ErrLost.Error() || d.Acked {
			t.Errorf("got %+v, want lost", d)
		}
	}
	if got := len(rc.hits()); got != 0 {
		t.Fatalf("receiver got %d lost notifications", got)
	}
}

func TestNotifierHeader(t *testing.T) {
	tests := []struct {
		name     string
		fail     bool
		attempts int // that reach the receiver
	}{
		{"FreshEachAttempt", false, 3},
		{"ErrNotSent", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, simkit.NotifierOptions{})
			rc := newReceiver(t, 500)
			n, calls := e.notice(rc.srv.URL), 0
			n.Header = func(h http.Header) error {
				calls++
				h.Set("Signature", strconv.Itoa(calls))
				if tt.fail {
					return errors.New("no key")
				}
				return nil
			}
			e.nt.Send(context.Background(), n)
			waitFor(t, "the retries", func() bool { return len(e.log.Of("k1")) == 3 })
			h := rc.hits()
			if len(h) != tt.attempts {
				t.Fatalf("receiver got %d, want %d", len(h), tt.attempts)
			}
			for i := range h {
				if got, want := h[i].header.Get("Signature"), strconv.Itoa(i+1); got != want {
					t.Errorf("attempt %d signed %q, want %q", i+1, got, want)
				}
			}
			if d := e.log.Of("k1")[0]; tt.fail && (d.Err != "no key" || d.StatusCode != 0) {
				t.Errorf("got %+v, want the header error", d)
			}
		})
	}
}

// TestNotifierFaults runs the notifier through simfault's transport, as
// the fault harness does: whatever the network does, the notifier counts
// its own attempts and stops once one is acknowledged.
func TestNotifierFaults(t *testing.T) {
	tests := []struct {
		name     string
		cfg      simfault.Config
		attempts int // logged by the notifier
		received int // by the merchant
	}{
		{"Drop", simfault.Config{Drop: 1}, 3, 0},
		{"LoseReply", simfault.Config{LoseReply: 1}, 3, 3},
		{"Duplicate", simfault.Config{Duplicate: 1, MaxDelay: 10 * time.Millisecond}, 1, 2},
		{"Reorder", simfault.Config{Reorder: 1, MaxDelay: 10 * time.Millisecond}, 1, 1},
		{"Delay", simfault.Config{Delay: 1, MaxDelay: 10 * time.Millisecond}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := simfault.New(tt.cfg, 1)
			e := newEnv(t, simkit.NotifierOptions{Client: &http.Client{Transport: f.Transport(nil)}})
			rc := newReceiver(t, 200)
			e.nt.Post(e.notice(rc.srv.URL))
			waitFor(t, "the attempts", func() bool { return len(e.log.Of("k1")) >= tt.attempts })
			time.Sleep(60 * time.Millisecond)
			ds := e.log.Of("k1")
			if len(ds) != tt.attempts || len(rc.hits()) != tt.received {
				t.Fatalf("got %d attempts, %d received; want %d, %d: %+v", len(ds), len(rc.hits()), tt.attempts, tt.received, ds)
			}
			if last := ds[len(ds)-1]; last.Acked != (tt.received > 0 && tt.cfg.LoseReply == 0) {
				t.Fatalf("last attempt %+v", last)
			}
		})
	}
}

func TestDeliveriesCopy(t *testing.T) {
	var l simkit.Deliveries[int]
	if got := l.Of("a"); got != nil {
		t.Fatalf("got %v from an empty log, want nil", got)
	}
	l.Add("a", 1)
	got := l.Of("a")
	got[0] = 9
	l.Add("a", 2)
	if got := l.Of("a"); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("got %v, want [1 2]", got)
	}
}
