package bench

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polypay/polypay/webhook"
)

// receiver is the merchant's webhook endpoint: it verifies every
// X-Pingplusplus-Signature with polypay's public key, as a merchant must,
// and wakes whoever waits for a charge's charge.succeeded.
type receiver struct {
	pub []byte
	url string
	srv *http.Server

	received atomic.Int64 // verified deliveries
	badSig   atomic.Int64
	lastBad  atomic.Value // string

	mu    sync.Mutex
	slots map[string]*slot
}

type slot struct {
	ch   chan struct{}
	done bool
}

func newReceiver(pubPEM []byte) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{pub: pubPEM, url: "http://" + ln.Addr().String() + "/webhooks", slots: map[string]*slot{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) close() { r.srv.Close() }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(body, req.Header.Get(webhook.SignatureHeader), r.pub); err != nil {
		r.badSig.Add(1)
		r.lastBad.Store(err.Error())
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			Object struct {
				ID string `json:"id"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	r.received.Add(1)
	if ev.Type == "charge.succeeded" && ev.Data.Object.ID != "" {
		r.mu.Lock()
		s := r.slotLocked(ev.Data.Object.ID)
		if !s.done {
			s.done = true
			close(s.ch)
		}
		r.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) slotLocked(id string) *slot {
	s := r.slots[id]
	if s == nil {
		s = &slot{ch: make(chan struct{})}
		r.slots[id] = s
	}
	return s
}

// expect makes the slot for a charge before it can be paid, so a webhook
// that arrives before wait is called is not missed.
func (r *receiver) expect(id string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.slotLocked(id).ch
}

// wait blocks until charge id's verified charge.succeeded arrived.
func (r *receiver) wait(ctx context.Context, id string, ch <-chan struct{}) error {
	defer func() {
		r.mu.Lock()
		delete(r.slots, id)
		r.mu.Unlock()
	}()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// quiesce waits until no webhook has arrived for a while, so that one
// measurement's trailing deliveries do not load the next.
func (r *receiver) quiesce(max time.Duration) {
	deadline := time.Now().Add(max)
	last, stable := r.received.Load(), 0
	for stable < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		n := r.received.Load()
		if n == last {
			stable++
		} else {
			last, stable = n, 0
		}
	}
}
