package gateway_test

import (
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store/storetest"
)

// authorized creates a paypal pre-authorization (capture=false) and has
// the simulated buyer approve it, so that its funds are held.
func (e *env) authorized(t *testing.T, orderNo string, amount int64) string {
	t.Helper()
	body := e.chargeBody(orderNo, amount)
	body["channel"], body["currency"], body["capture"] = "paypal", "usd", false
	r := e.do("POST", "/v1/charges", e.sk(), body)
	if r.Status != 200 || r.JSON["capture"] != false || r.JSON["authorized"] != false {
		t.Fatalf("create pre-authorization: %d %s", r.Status, r.Body)
	}
	id := r.str("id")
	if p := e.pay(id); p.JSON["authorized"] != true || p.JSON["paid"] != false || p.num("time_hold_expire") == 0 {
		t.Fatalf("after approval: %s", p.Body)
	}
	return id
}

// TestPreAuthorization: hold, capture less than held, refund bounded by the
// capture; void; expiry; and a capture racing a void, where exactly one
// wins and polypay agrees with the channel.
func TestPreAuthorization(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()

		t.Run("CaptureLess", func(t *testing.T) {
			id := e.authorized(t, "PA0001", 1000)
			steps := []struct {
				name, path, body string
				status           int
				check            func(r *resp) bool
			}{
				{"ErrCaptureTooMuch", "/capture", `{"amount":1001}`, 400, nil},
				{"Capture", "/capture", `{"amount":600}`, 200, func(r *resp) bool {
					return r.JSON["paid"] == true && r.num("amount_captured") == 600 && r.num("amount") == 1000 && r.JSON["authorized"] == false
				}},
				{"CaptureRepeated", "/capture", `{"amount":600}`, 200, func(r *resp) bool { return r.num("amount_captured") == 600 }},
				{"ErrCaptureOtherAmount", "/capture", `{"amount":500}`, 400, nil},
				{"ErrVoidCaptured", "/reverse", `{}`, 400, nil},
				{"ErrRefundOverCaptured", "/refunds", `{"amount":601,"description":"x"}`, 400, nil},
				{"RefundAllCaptured", "/refunds", `{"description":"rest"}`, 200, func(r *resp) bool { return r.num("amount") == 600 && r.str("status") == "succeeded" }},
			}
			for _, s := range steps {
				r := e.do("POST", "/v1/charges/"+id+s.path, e.sk(), s.body)
				if r.Status != s.status || (s.check != nil && !s.check(r)) {
					t.Fatalf("%s: %d %s", s.name, r.Status, r.Body)
				}
			}
			for _, typ := range []string{"charge.authorized", "charge.captured", "charge.succeeded"} {
				waitFor(t, typ, func() bool { return rc.count(id, typ) == 1 })
			}
		})

		t.Run("Void", func(t *testing.T) {
			id := e.authorized(t, "PA0002", 700)
			r := e.do("POST", "/v1/charges/"+id+"/reverse", e.sk(), `{}`)
			if r.Status != 200 || r.JSON["reversed"] != true || r.JSON["paid"] != false {
				t.Fatalf("void: %d %s", r.Status, r.Body)
			}
			if r := e.do("POST", "/v1/charges/"+id+"/capture", e.sk(), `{}`); r.Status != 400 {
				t.Fatalf("capture after void: %d %s", r.Status, r.Body)
			}
			if r := e.do("POST", "/v1/charges/"+id+"/reverse", e.sk(), `{}`); r.Status != 200 || r.JSON["reversed"] != true {
				t.Fatalf("void repeated: %d %s", r.Status, r.Body)
			}
			waitFor(t, "charge.reversed", func() bool { return rc.count(id, "charge.reversed") == 1 })
		})

		t.Run("HoldExpires", func(t *testing.T) {
			id := e.authorized(t, "PA0003", 800)
			e.node.Svc.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
			_, err := e.node.Svc.Poll(ctx)
			e.node.Svc.Now = nil
			if err != nil {
				t.Fatal(err)
			}
			r := e.do("GET", "/v1/charges/"+id, e.sk(), nil)
			if r.JSON["authorized"] != false || r.JSON["paid"] != false {
				t.Fatalf("after expiry: %s", r.Body)
			}
			if r := e.do("POST", "/v1/charges/"+id+"/capture", e.sk(), `{}`); r.Status != 400 {
				t.Fatalf("capture after expiry: %d %s", r.Status, r.Body)
			}
			waitFor(t, "charge.hold_expired", func() bool { return rc.count(id, "charge.hold_expired") == 1 })
		})

		t.Run("CaptureRacesVoid", func(t *testing.T) {
			for i := 0; i < 5; i++ {
				id := e.authorized(t, "PA01"+string(rune('0'+i))+"0", 900)
				var wg sync.WaitGroup
				results := make([]*resp, 2)
				for j, path := range []string{"/capture", "/reverse"} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						results[j] = e.do("POST", "/v1/charges/"+id+path, e.sk(), `{}`)
					}()
				}
				wg.Wait()
				won := 0
				for _, r := range results {
					if r.Status == 200 {
						won++
					}
				}
				final := e.do("GET", "/v1/charges/"+id, e.sk(), nil)
				captured, voided := final.JSON["paid"] == true, final.JSON["reversed"] == true
				if won != 1 || captured == voided {
					t.Fatalf("capture %d %s / void %d %s -> %s", results[0].Status, results[0].Body, results[1].Status, results[1].Body, final.Body)
				}
				// The channel must agree with polypay: ask it directly.
				if out := e.do("POST", "/v1/charges/"+id+"/capture", e.sk(), `{}`); captured != (out.Status == 200) {
					t.Fatalf("polypay says captured=%v, a repeated capture answers %d %s", captured, out.Status, out.Body)
				}
			}
		})

		if _, probs, err := ledger.Check(ctx, e.node.DB); err != nil || len(probs) > 0 {
			t.Fatalf("ledger: %v %v", probs, err)
		}
	})
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
