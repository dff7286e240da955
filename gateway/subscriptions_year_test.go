package gateway_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/store/storetest"
)

// TestSubscriptionsYear: a test clock drives monthly subscriptions on
// several agreements through a year, day by day, with two schedulers (as
// two nodes sharing the store would) running at once every day, and
// customers whose balance runs dry for days at a time. At the end every
// subscription has one invoice per period it lived (contiguous, none
// twice), each paid or given up after dunning, every paid invoice has its
// own paid charge, the ledger balances, and the money the channel took
// equals what the invoices say.
func TestSubscriptionsYear(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		if testing.Short() {
			t.Skip("a year of billing")
		}
		e := start(t, b, nil)
		clk := useClock(e)
		sim := e.node.Sandbox.AlipaySim()
		r := rand.New(rand.NewPCG(2027, 1))
		plan := ok(t, "plan", e.do("POST", "/v1/plans", e.sk(), map[string]any{"app": e.app.AppID, "amount": 1990, "currency": "cny",
			"interval": "month"})).str("id")
		type customer struct{ agr, no string }
		var customers []customer
		for i := 0; i < 4; i++ {
			agr, no := signedAgreement(t, e, "YEARAGR"+string(rune('A'+i)))
			customers = append(customers, customer{agr, no})
		}
		var subs []string
		for i := 0; i < 16; i++ {
			c := customers[i%len(customers)]
			subs = append(subs, ok(t, "sub", e.do("POST", "/v1/subscriptions", e.sk(), map[string]any{"app": e.app.AppID, "plan": plan,
				"agreement": c.agr})).str("id"))
			clk.advance(37 * time.Minute) // anchors spread over the day
		}
		for day := 0; day < 366; day++ {
			clk.advance(24 * time.Hour)
			for _, c := range customers {
				sim.SetAgreementBalance(c.no, r.IntN(10) != 0) // dry one day in ten
			}
			var wg sync.WaitGroup
			for w := 0; w < 2; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := e.node.Svc.RunSubscriptions(ctx); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
		}
		var paidTotal int64
		retried := 0
		for _, s := range subs {
			sub := ok(t, "get", e.do("GET", "/v1/subscriptions/"+s, e.sk(), nil))
			vs := e.invoices(t, s)
			starts := map[float64]bool{}
			charges := map[any]bool{}
			for i, v := range vs {
				if starts[v["period_start"].(float64)] {
					t.Fatalf("%s: period %v billed twice", s, v["period_start"])
				}
				starts[v["period_start"].(float64)] = true
				if i+1 < len(vs) && vs[i+1]["period_end"] != v["period_start"] {
					t.Fatalf("%s: periods not contiguous: %v then %v", s, vs[i+1], v)
				}
				if v["attempts"].(float64) > 1 {
					retried++
				}
				switch v["status"] {
				case "paid":
					if charges[v["charge"]] {
						t.Fatalf("%s: a charge paid two invoices", s)
					}
					charges[v["charge"]] = true
					ch := ok(t, "charge", e.do("GET", "/v1/charges/"+v["charge"].(string), e.sk(), nil))
					if ch.JSON["paid"] != true || ch.num("amount") != int64(v["amount"].(float64)) {
						t.Fatalf("%s: invoice %v's charge %s", s, v["id"], ch.Body)
					}
					paidTotal += ch.num("amount")
				case "uncollectible", "void":
				case "open":
					if sub.str("status") == "canceled" {
						t.Fatalf("%s: canceled with an open invoice %v", s, v)
					}
				default:
					t.Fatalf("%s: invoice %v", s, v)
				}
			}
			if sub.str("status") != "canceled" && len(vs) < 12 {
				t.Fatalf("%s (%s) lived the year with %d invoices", s, sub.str("status"), len(vs))
			}
		}
		if paidTotal == 0 || retried == 0 {
			t.Fatalf("paid %d, %d invoices retried: the year tested nothing", paidTotal, retried)
		}
		var took int64
		for _, a := range sim.Agreements() {
			took += a.Debited
		}
		if took != paidTotal {
			t.Fatalf("Alipay took %d, paid invoices say %d", took, paidTotal)
		}
		checkLedger(t, e)
	})
}
