package simkit

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// NotifierOptions is what a channel's notifications have of their own,
// besides their wire format (each Notice carries that).
type NotifierOptions struct {
	// Name prefixes the log messages ("alipaysim").
	Name string
	// Acked tells whether a reply acknowledges the notification in the
	// channel's own terms: Alipay wants 200 and exactly "success", WeChat
	// Pay 200 or 204, UnionPay 200, Stripe and PayPal any 2xx. reply is
	// the start of the body (64 KiB at most). Anything else is retried.
	// nil: Acked2xx.
	Acked func(status int, reply []byte) bool
	// Retry is the gap before each retry of an unacknowledged
	// notification, already scaled by any speed-up: nil means
	// DefaultRetry, an empty non-nil slice disables retries.
	Retry, DefaultRetry []time.Duration
	// Client sends the notifications (fault-injection tests give one whose
	// transport is simfault's); nil: a client with a 10 s timeout.
	Client *http.Client
	// Timeout bounds each attempt besides the client's own timeout; 0: no
	// further bound.
	Timeout time.Duration
	// Now times the attempts in the delivery log; nil: time.Now.
	Now func() time.Time
	// Lost reports whether notifications about a Notice's Key are lost on
	// the way (Hooks.Lost); nil: none are.
	Lost func(key string) bool
	// Log receives a line per attempt; nil discards.
	Log *slog.Logger
}

// Notifier delivers a simulator's asynchronous notifications and retries
// them on the channel's schedule until the receiver acknowledges, the
// schedule runs out, or its Group is closed.
//
// Pending retries live in memory, as the simulators' trades do, and end
// with the process or Close; "polypay sim" serves the simulators from a
// process of their own so that they outlive the nodes' restarts.
//
// Faults come through Client: simfault's transport drops, duplicates,
// delays and re-orders notifications, and the notifier sees what a
// channel would (a dropped notification or a lost reply is an attempt
// that failed, retried on schedule; a duplicate is the receiver's to
// deduplicate).
type Notifier struct {
	o  NotifierOptions
	bg *Group
}

// NewNotifier returns a Notifier whose retries run in bg.
func NewNotifier(bg *Group, o NotifierOptions) *Notifier {
	if o.Acked == nil {
		o.Acked = Acked2xx
	}
	if o.Retry == nil {
		o.Retry = o.DefaultRetry
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{o: o, bg: bg}
}

// Notice is one notification. Every attempt posts the same body to the
// same URL, as every channel resends a notification unchanged (the same
// notify_id, event id, ciphertext).
type Notice struct {
	// Key is what the notification is about (out_trade_no, charge id...):
	// the argument of NotifierOptions.Lost, and in the log.
	Key         string
	URL         string
	Body        []byte
	ContentType string
	// Header, when set, adds an attempt's other headers. Channels that
	// sign each transmission sign here, afresh on every attempt, since
	// receivers refuse stale timestamps. An error fails the attempt
	// without sending it.
	Header func(h http.Header) error
	// Record, when set, keeps an attempt in the simulator's delivery log.
	Record func(Delivery)
	// Attrs are added to each attempt's log line (key, value pairs).
	Attrs []any
}

// Delivery is one attempt to deliver a notification, as a simulator's
// delivery log shows it.
type Delivery struct {
	Attempt    int // 1 for the first delivery, then one per retry
	At         time.Time
	URL        string
	StatusCode int    // 0 when no HTTP response came back
	Reply      string // the start of the reply body
	Err        string // transport error, if any
	Acked      bool   // the reply acknowledged, in the channel's terms
}

// Send makes the first attempt of n now, with ctx, and returns when it is
// done; the retries, if it was not acknowledged, follow in the background.
// A nil n, or one without a URL (the trade named no notify URL), is not
// sent.
func (nt *Notifier) Send(ctx context.Context, n *Notice) {
	if n == nil || n.URL == "" {
		return
	}
	if !nt.attempt(ctx, n, 1) {
		nt.bg.Go(func() { nt.retry(n) })
	}
}

// Post sends n in the background, at once: the channel answers the call
// that caused it first and notifies afterwards.
func (nt *Notifier) Post(n *Notice) { nt.PostAfter(0, n) }

// PostAfter is Post with the first attempt delay after now.
func (nt *Notifier) PostAfter(delay time.Duration, n *Notice) {
	if n == nil || n.URL == "" {
		return
	}
	nt.bg.Go(func() {
		if delay > 0 && !nt.bg.Sleep(delay) {
			return
		}
		if !nt.attempt(nt.bg.Context(), n, 1) {
			nt.retry(n)
		}
	})
}

// retry resends n after each gap of the schedule until it is
// acknowledged, the schedule runs out, or the group is closed.
func (nt *Notifier) retry(n *Notice) {
	for i, gap := range nt.o.Retry {
		if !nt.bg.Sleep(gap) {
			return
		}
		if nt.attempt(nt.bg.Context(), n, i+2) {
			return
		}
	}
	if len(nt.o.Retry) > 0 {
		nt.o.Log.Warn(nt.o.Name+": notification never acknowledged, giving up", append([]any{"key", n.Key}, n.Attrs...)...)
	}
}

// maxReply is how much of a reply is read; the log keeps replyShown of it.
const (
	maxReply   = 64 << 10
	replyShown = 256
)

// attempt makes one attempt and records it.
func (nt *Notifier) attempt(ctx context.Context, n *Notice, attempt int) bool {
	if nt.bg.Context().Err() != nil {
		return false // closed: nothing is sent any more
	}
	d := Delivery{Attempt: attempt, At: nt.o.Now(), URL: n.URL}
	if err := nt.post(ctx, n, &d); err != nil {
		d.Err = err.Error()
	}
	if n.Record != nil {
		n.Record(d)
	}
	nt.o.Log.Info(nt.o.Name+": notification delivered", append([]any{"key", n.Key, "attempt", attempt,
		"status", d.StatusCode, "acked", d.Acked, "err", d.Err}, n.Attrs...)...)
	return d.Acked
}

func (nt *Notifier) post(ctx context.Context, n *Notice, d *Delivery) error {
	if nt.o.Lost != nil && nt.o.Lost(n.Key) {
		return ErrLost
	}
	if nt.o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, nt.o.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(n.Body))
	if err != nil {
		return err
	}
	if n.ContentType != "" {
		req.Header.Set("Content-Type", n.ContentType)
	}
	if n.Header != nil {
		if err := n.Header(req.Header); err != nil {
			return err
		}
	}
	resp, err := nt.o.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	d.StatusCode = resp.StatusCode
	d.Reply = string(reply[:min(len(reply), replyShown)])
	d.Acked = nt.o.Acked(resp.StatusCode, reply)
	return nil
}

// Acked2xx is the acknowledgement of channels that take any 2xx (Stripe,
// PayPal).
func Acked2xx(status int, _ []byte) bool { return status >= 200 && status < 300 }

// Deliveries is a simulator's delivery log: every attempt, by what the
// simulator lists them by (out_trade_no, account...), oldest first. The
// zero value is empty and ready; safe for concurrent use.
type Deliveries[T any] struct {
	mu sync.Mutex
	m  map[string][]T
}

// Add appends an attempt to key's list.
func (l *Deliveries[T]) Add(key string, d T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string][]T{}
	}
	l.m[key] = append(l.m[key], d)
}

// Of returns a copy of key's attempts, oldest first (nil when none).
func (l *Deliveries[T]) Of(key string) []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.m[key]...)
}
