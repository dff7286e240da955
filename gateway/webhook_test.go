package gateway_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// TestWebhookRetriesAndLog: a failing endpoint is retried on the schedule
// until it answers 2xx, and every attempt is in the delivery log.
func TestWebhookRetriesAndLog(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, func(c *gateway.Config) {
			c.WebhookSchedule = []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}
		})
		rc := e.listen()
		rc.mu.Lock()
		rc.fail = 2
		rc.mu.Unlock()
		id := e.createCharge("WH00001", 100)
		e.pay(id)
		evs := rc.waitEvents(t, 1)
		var logs []*store.DeliveryLog
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			e.node.DB.Read(ctx, func(tx *store.Tx) (err error) {
				logs, err = tx.DeliveriesForEvent(ctx, evs[0]["id"].(string))
				return
			})
			if len(logs) == 1 && logs[0].Status != "pending" {
				break
			}
		}
		if len(logs) != 1 || logs[0].Status != "succeeded" || len(logs[0].Attempts) != 3 {
			for _, l := range logs {
				t.Logf("delivery %s %s attempts %+v", l.ID, l.Status, l.Attempts)
			}
			t.Fatalf("delivery log: want one delivery, succeeded after 3 attempts")
		}
		codes := []int{logs[0].Attempts[0].StatusCode, logs[0].Attempts[1].StatusCode, logs[0].Attempts[2].StatusCode}
		if codes[0] != 500 || codes[1] != 500 || codes[2] != 200 {
			t.Fatalf("attempt statuses = %v, want 500 500 200", codes)
		}
	})
}

// TestWebhookGivesUp: after the last scheduled retry the delivery is failed
// and not sent again.
func TestWebhookGivesUp(t *testing.T) {
	b := storetest.Backends(t)[0]
	e := start(t, b, func(c *gateway.Config) { c.WebhookSchedule = []time.Duration{20 * time.Millisecond} })
	rc := e.listen()
	rc.mu.Lock()
	rc.fail = 100
	rc.mu.Unlock()
	e.pay(e.createCharge("WH00002", 100))
	time.Sleep(1500 * time.Millisecond)
	rc.mu.Lock()
	calls := rc.calls
	rc.mu.Unlock()
	if calls != 2 {
		t.Fatalf("endpoint called %d times, want 2 (first attempt + 1 retry)", calls)
	}
}

// TestOutboxSurvivesRestart: an event committed while the merchant was
// unreachable is delivered by the next process on the same data.
func TestOutboxSurvivesRestart(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		cfg := func(c *gateway.Config) { c.WebhookSchedule = []time.Duration{100 * time.Millisecond} }
		e := start(t, b, cfg)
		rc := e.listen()
		addr := strings.TrimSuffix(strings.TrimPrefix(rc.URL, "http://"), "/hook")
		rc.srv.Close() // the merchant is down
		id := e.createCharge("WH00003", 100)
		e.pay(id)
		if err := e.node.Close(ctx); err != nil {
			t.Fatal(err)
		}
		// The merchant comes back on the same address, and a new process
		// starts on the same store.
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("cannot re-listen on %s: %v", addr, err)
		}
		rc.srv = &http.Server{Handler: http.HandlerFunc(rc.serve)}
		go rc.srv.Serve(ln)
		t.Cleanup(func() { rc.srv.Close() })
		e2 := start(t, b, cfg)
		defer func() {
			if t.Failed() {
				e2.node.DB.Read(ctx, func(tx *store.Tx) error {
					n, err := tx.NextDeliveryAt(ctx)
					t.Logf("next delivery at %d (now %d) err %v", n, time.Now().UnixMilli(), err)
					return nil
				})
			}
		}()
		evs := rc.waitEvents(t, 1)
		obj := evs[0]["data"].(map[string]any)["object"].(map[string]any)
		if evs[0]["type"] != "charge.succeeded" || obj["id"] != id {
			t.Fatalf("event after restart = %v", evs[0])
		}
	})
}
