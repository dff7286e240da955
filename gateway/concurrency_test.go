package gateway_test

import (
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// parallel runs fn n times at once and returns the status codes seen.
func parallel(n int, fn func(i int) *resp) (map[int]int, []*resp) {
	var mu sync.Mutex
	codes := map[int]int{}
	out := make([]*resp, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := fn(i)
			mu.Lock()
			codes[r.Status]++
			out[i] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return codes, out
}

func TestConcurrency(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		countCharges := func() int {
			var n int
			e.node.DB.Read(ctx, func(tx *store.Tx) error {
				cs, _, err := tx.ListCharges(ctx, store.ChargeFilter{AppID: e.app.AppID, Limit: 100})
				n = len(cs)
				return err
			})
			return n
		}
		t.Run("RefundsOnOneCharge", func(t *testing.T) {
			id := e.createCharge("CC00001", 50)
			e.pay(id)
			codes, _ := parallel(100, func(int) *resp {
				return e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), `{"amount":1,"description":"c"}`)
			})
			if codes[200] != 50 || codes[400] != 50 {
				t.Fatalf("statuses %v, want 50 x 200 and 50 x 400", codes)
			}
			if got := e.do("GET", "/v1/charges/"+id, e.sk(), nil).num("amount_refunded"); got != 50 {
				t.Fatalf("amount_refunded = %d, want 50", got)
			}
		})
		t.Run("CreatesWithOneOrderNo", func(t *testing.T) {
			before := countCharges()
			codes, rs := parallel(100, func(int) *resp { return e.do("POST", "/v1/charges", e.sk(), e.chargeBody("CC00002", 100)) })
			ids := map[string]bool{}
			for _, r := range rs {
				ids[r.str("id")] = true
			}
			if codes[200] != 100 || len(ids) != 1 || countCharges() != before+1 {
				t.Fatalf("statuses %v, %d distinct ids, %d new charges; want 100 x 200, one charge", codes, len(ids), countCharges()-before)
			}
		})
		t.Run("CreatesWithOneIdempotencyKey", func(t *testing.T) {
			before := countCharges()
			codes, rs := parallel(100, func(int) *resp {
				return e.do("POST", "/v1/charges", e.sk(), e.chargeBody("CC00003", 100), "Idempotency-Key", "cc-key")
			})
			for _, r := range rs[1:] {
				if r.Status == 200 && r.str("id") != rs[0].str("id") {
					t.Fatalf("different charges under one key: %s / %s", r.str("id"), rs[0].str("id"))
				}
			}
			if codes[200] != 100 || countCharges() != before+1 {
				t.Fatalf("statuses %v, %d new charges; want 100 x 200, one charge", codes, countCharges()-before)
			}
		})
		t.Run("NotificationRacesQuery", func(t *testing.T) {
			rc := e.listen()
			proxy := newNotifyProxy(t, e.node.URL)
			e.node.Svc.BaseURL = proxy.srv.URL
			defer func() { e.node.Svc.BaseURL = e.node.URL }()
			proxy.mu.Lock()
			proxy.drop = true
			proxy.mu.Unlock()
			id := e.createCharge("CC00004", 100)
			e.pay(id)
			proxy.mu.Lock()
			proxy.drop = false
			proxy.mu.Unlock()
			rec := proxy.last(t)
			e.node.Svc.Now = func() time.Time { return time.Now().Add(20 * time.Second) }
			defer func() { e.node.Svc.Now = nil }()
			var wg sync.WaitGroup
			for i := 0; i < 10; i++ {
				wg.Add(2)
				go func() { defer wg.Done(); proxy.send(t, rec) }()
				go func() { defer wg.Done(); e.node.Svc.Poll(ctx) }()
			}
			wg.Wait()
			time.Sleep(300 * time.Millisecond)
			if n := rc.count(id, "charge.succeeded"); n != 1 {
				t.Fatalf("%d charge.succeeded webhooks, want exactly 1", n)
			}
		})
		if _, probs, err := ledger.Check(ctx, e.node.DB); err != nil || len(probs) > 0 {
			t.Fatalf("ledger: %v %v", probs, err)
		}
	})
}

func TestRateLimitPerKey(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], func(c *gateway.Config) { c.RateLimit = 5 })
	other, err := e.node.CreateApp(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	codes, rs := parallel(40, func(int) *resp { return e.do("GET", "/v1/charges?app[id]="+e.app.AppID, e.sk(), nil) })
	if codes[429] == 0 || codes[200] == 0 {
		t.Fatalf("statuses %v, want some 200 and some 429", codes)
	}
	for _, r := range rs {
		if r.Status == 429 && r.str("error", "type") != "invalid_request_error" {
			t.Fatalf("429 body %s", r.Body)
		}
	}
	// Another key has its own budget.
	if r := e.do("GET", "/v1/charges?app[id]="+other.AppID, other.SecretKeyTest, nil); r.Status != 200 {
		t.Fatalf("other key limited too: %d %s", r.Status, r.Body)
	}
}
