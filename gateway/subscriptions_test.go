package gateway_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// testClock is a settable clock the node's service and store share.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time                 { return time.Unix(0, c.ns.Load()) }
func (c *testClock) set(t time.Time)                { c.ns.Store(t.UnixNano()) }
func (c *testClock) advance(d time.Duration)        { c.ns.Add(int64(d)) }
func (c *testClock) at(unix int64, d time.Duration) { c.set(time.Unix(unix, 0).Add(d)) }

func useClock(e *env) *testClock {
	c := &testClock{}
	c.set(time.Now())
	e.node.Svc.Now, e.node.DB.Now = c.now, c.now
	return c
}

// signedAgreement makes and signs (in the sandbox) an Alipay agreement,
// returning its id and Alipay's agreement number.
func signedAgreement(t *testing.T, e *env, no string) (string, string) {
	t.Helper()
	a := ok(t, "agreement", e.do("POST", "/v1/agreements", e.sk(), map[string]any{"app": e.app.AppID, "channel": "alipay", "contract_no": no}))
	s := ok(t, "sign", e.do("POST", "/v1/test/agreements/"+a.str("id")+"/sign", e.sk(), map[string]any{}))
	if s.str("status") != "succeeded" {
		t.Fatalf("not signed: %s", s.Body)
	}
	return a.str("id"), s.str("contract_id")
}

func (e *env) invoices(t *testing.T, sub string) []map[string]any {
	t.Helper()
	r := ok(t, "invoices", e.do("GET", "/v1/subscriptions/"+sub+"/invoices?limit=100", e.sk(), nil))
	var out []map[string]any
	for _, d := range r.JSON["data"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

func (e *env) runBilling(t *testing.T) {
	t.Helper()
	if _, err := e.node.Svc.RunSubscriptions(ctx); err != nil {
		t.Fatal(err)
	}
}

// eventCount counts the events stored about an object (webhooks wait for
// real time, the test's clock runs ahead).
func (e *env) eventCount(t *testing.T, id, typ string) int {
	t.Helper()
	n := 0
	err := e.node.DB.Read(ctx, func(tx *store.Tx) error {
		evs, err := tx.EventsAbout(ctx, e.app.AppID, false, id)
		for _, ev := range evs {
			if ev.Type == typ {
				n++
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func countStatus(vs []map[string]any, status string) int {
	n := 0
	for _, v := range vs {
		if v["status"] == status {
			n++
		}
	}
	return n
}

// TestSubscriptions: a monthly subscription on an Alipay agreement is
// billed at once, then each period exactly once however often the
// scheduler runs; a refused debit is retried after 1 and 3 days (past_due,
// then active again when it pays); missed months are caught up one by
// one; a plan change is prorated to the day (an upgrade billed at once, a
// downgrade credited to the next invoice); cancel at the period's end
// stops it; dunning that runs out cancels it; another app sees nothing.
func TestSubscriptions(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		clk := useClock(e)
		rc := e.listen()
		sim := e.node.Sandbox.AlipaySim()
		agr, agrNo := signedAgreement(t, e, "SUBAGR001")
		plan := ok(t, "plan", e.do("POST", "/v1/plans", e.sk(), map[string]any{"app": e.app.AppID, "name": "会员月卡", "amount": 3000,
			"currency": "cny", "interval": "month"})).str("id")
		big := ok(t, "plan", e.do("POST", "/v1/plans", e.sk(), map[string]any{"app": e.app.AppID, "name": "会员月卡 Plus", "amount": 6000,
			"currency": "cny", "interval": "month"})).str("id")
		refused(t, "bad interval", e.do("POST", "/v1/plans", e.sk(), map[string]any{"app": e.app.AppID, "amount": 1, "currency": "cny", "interval": "fortnight"}), 400, "interval")

		sub := ok(t, "subscribe", e.do("POST", "/v1/subscriptions", e.sk(), map[string]any{"app": e.app.AppID, "plan": plan, "agreement": agr}))
		id := sub.str("id")
		if sub.str("status") != "active" {
			t.Fatalf("subscription %s", sub.Body)
		}
		if vs := e.invoices(t, id); len(vs) != 1 || vs[0]["status"] != "paid" || vs[0]["amount"] != 3000.0 || vs[0]["charge"] == nil {
			t.Fatalf("first invoice %v", vs)
		}
		waitFor(t, "created and renewed", func() bool {
			return rc.count(id, "subscription.created") == 1 && rc.count(id, "subscription.renewed") == 1
		})

		// The next month: billed once, however often the scheduler runs.
		clk.at(sub.num("current_period_end"), time.Minute)
		for i := 0; i < 3; i++ {
			e.runBilling(t)
		}
		if vs := e.invoices(t, id); len(vs) != 2 || countStatus(vs, "paid") != 2 {
			t.Fatalf("after one month %v", vs)
		}

		// A refused debit: past_due, retried a day later, paid after three.
		sim.SetAgreementBalance(agrNo, false)
		cur := ok(t, "get", e.do("GET", "/v1/subscriptions/"+id, e.sk(), nil))
		clk.at(cur.num("current_period_end"), time.Minute)
		e.runBilling(t)
		if g := ok(t, "get", e.do("GET", "/v1/subscriptions/"+id, e.sk(), nil)); g.str("status") != "past_due" {
			t.Fatalf("after a refused debit %s", g.Body)
		}
		clk.advance(25 * time.Hour)
		e.runBilling(t)
		vs := e.invoices(t, id)
		if vs[0]["status"] != "open" || vs[0]["attempts"] != 2.0 {
			t.Fatalf("after the first retry %v", vs[0])
		}
		sim.SetAgreementBalance(agrNo, true)
		clk.advance(73 * time.Hour)
		e.runBilling(t)
		if g := ok(t, "get", e.do("GET", "/v1/subscriptions/"+id, e.sk(), nil)); g.str("status") != "active" {
			t.Fatalf("after the paid retry %s", g.Body)
		}
		if n := e.eventCount(t, id, "subscription.payment_failed"); n != 2 {
			t.Fatalf("%d payment_failed events, want 2", n)
		}

		// Three missed months are billed one by one, once.
		cur = ok(t, "get", e.do("GET", "/v1/subscriptions/"+id, e.sk(), nil))
		clk.at(cur.num("current_period_end"), 2*31*24*time.Hour+time.Hour)
		e.runBilling(t)
		e.runBilling(t)
		if vs := e.invoices(t, id); len(vs) != 6 || countStatus(vs, "paid") != 6 {
			t.Fatalf("after catching up %d invoices: %v", len(vs), vs)
		}

		// Upgrade mid-period: the rest of the month at the new price now;
		// downgrade back: the difference is credited to the next invoice.
		up := ok(t, "upgrade", e.do("PUT", "/v1/subscriptions/"+id, e.sk(), map[string]any{"plan": big}))
		if up.str("plan") != big {
			t.Fatalf("upgrade %s", up.Body)
		}
		vs = e.invoices(t, id)
		if vs[0]["kind"] != "proration" || vs[0]["status"] != "paid" || vs[0]["amount"].(float64) <= 0 || vs[0]["amount"].(float64) > 3000 {
			t.Fatalf("proration %v", vs[0])
		}
		down := ok(t, "downgrade", e.do("PUT", "/v1/subscriptions/"+id, e.sk(), map[string]any{"plan": plan}))
		credit := down.num("credit")
		if credit <= 0 || credit > 3000 {
			t.Fatalf("downgrade credit %d", credit)
		}
		refused(t, "another interval", e.do("PUT", "/v1/subscriptions/"+id, e.sk(), map[string]any{"plan": ok(t, "yearly", e.do("POST", "/v1/plans", e.sk(),
			map[string]any{"app": e.app.AppID, "amount": 30000, "currency": "cny", "interval": "year"})).str("id")}), 400, "plan")

		// Cancel at the period's end: the next renewal cancels instead.
		ok(t, "cancel at end", e.do("PUT", "/v1/subscriptions/"+id, e.sk(), map[string]any{"cancel_at_period_end": true}))
		clk.at(down.num("current_period_end"), time.Minute)
		e.runBilling(t)
		if g := ok(t, "get", e.do("GET", "/v1/subscriptions/"+id, e.sk(), nil)); g.str("status") != "canceled" {
			t.Fatalf("after the period end %s", g.Body)
		}
		if n := len(e.invoices(t, id)); n != 7 {
			t.Fatalf("%d invoices after cancel", n)
		}
		if n := e.eventCount(t, id, "subscription.canceled"); n != 1 {
			t.Fatalf("%d canceled events, want 1", n)
		}

		// Dunning runs out: after the third retry fails, it is canceled.
		sub2 := ok(t, "second", e.do("POST", "/v1/subscriptions", e.sk(), map[string]any{"app": e.app.AppID, "plan": plan, "agreement": agr}))
		sim.SetAgreementBalance(agrNo, false)
		clk.at(sub2.num("current_period_end"), time.Minute)
		e.runBilling(t)
		for _, d := range []time.Duration{25 * time.Hour, 73 * time.Hour, 169 * time.Hour} {
			clk.advance(d)
			e.runBilling(t)
		}
		g := ok(t, "get", e.do("GET", "/v1/subscriptions/"+sub2.str("id"), e.sk(), nil))
		vs = e.invoices(t, sub2.str("id"))
		if g.str("status") != "canceled" || vs[0]["status"] != "uncollectible" || vs[0]["attempts"] != 4.0 {
			t.Fatalf("after dunning ran out: %s %v", g.Body, vs[0])
		}
		sim.SetAgreementBalance(agrNo, true)

		// Isolation.
		other, err := e.node.CreateApp(ctx, "other")
		if err != nil {
			t.Fatal(err)
		}
		refused(t, "other app", e.do("GET", "/v1/subscriptions/"+id, other.SecretKeyTest, nil), 404, "id")
		refused(t, "live", e.do("GET", "/v1/subscriptions/"+id, e.app.SecretKeyLive, nil), 404, "id")
		refused(t, "other app's plan", e.do("GET", "/v1/plans/"+plan, other.SecretKeyTest, nil), 404, "id")
		refused(t, "other app's invoices", e.do("GET", "/v1/subscriptions/"+id+"/invoices", other.SecretKeyTest, nil), 404, "id")
		refused(t, "other app subscribes with this agreement", e.do("POST", "/v1/subscriptions", other.SecretKeyTest,
			map[string]any{"app": other.AppID, "plan": plan, "agreement": agr}), 400, "plan")
	})
}

// TestSubscriptionsConcurrentBilling: two schedulers (as two nodes would)
// run at the same moment over many due subscriptions; every period is
// billed exactly once.
func TestSubscriptionsConcurrentBilling(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		clk := useClock(e)
		agr, _ := signedAgreement(t, e, "SUBAGR002")
		plan := ok(t, "plan", e.do("POST", "/v1/plans", e.sk(), map[string]any{"app": e.app.AppID, "amount": 100, "currency": "cny",
			"interval": "day"})).str("id")
		const n = 12
		var subs []string
		for i := 0; i < n; i++ {
			subs = append(subs, ok(t, "sub", e.do("POST", "/v1/subscriptions", e.sk(), map[string]any{"app": e.app.AppID, "plan": plan,
				"agreement": agr, "metadata": map[string]any{"i": fmt.Sprint(i)}})).str("id"))
		}
		clk.advance(3*24*time.Hour + time.Minute) // three more days each
		var wg sync.WaitGroup
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := 0; r < 3; r++ {
					if _, err := e.node.Svc.RunSubscriptions(ctx); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		e.runBilling(t)
		for _, s := range subs {
			vs := e.invoices(t, s)
			if len(vs) != 4 || countStatus(vs, "paid") != 4 {
				t.Fatalf("%s: %d invoices %v", s, len(vs), vs)
			}
			seen := map[any]bool{}
			for _, v := range vs {
				if seen[v["charge"]] {
					t.Fatalf("%s: a charge paid two invoices", s)
				}
				seen[v["charge"]] = true
			}
		}
	})
}

// TestSubscriptionChargeClosedUnsent is what the year of billing found: a
// node died after storing an attempt's charge and before asking the
// channel; the poller then closed the charge (the channel knew nothing of
// it), and the invoice waited for it forever. The attempt now counts as
// failed and the next one, with its own order_no, pays.
func TestSubscriptionChargeClosedUnsent(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	clk := useClock(e)
	sim := e.node.Sandbox.AlipaySim()
	agr, agrNo := signedAgreement(t, e, "SUBCLOSED1")
	plan := ok(t, "plan", e.do("POST", "/v1/plans", e.sk(), map[string]any{"app": e.app.AppID, "amount": 500, "currency": "cny",
		"interval": "month"})).str("id")
	sub := ok(t, "subscribe", e.do("POST", "/v1/subscriptions", e.sk(), map[string]any{"app": e.app.AppID, "plan": plan, "agreement": agr}))
	id := sub.str("id")
	sim.SetAgreementBalance(agrNo, false)
	clk.at(sub.num("current_period_end"), time.Minute)
	e.runBilling(t) // attempt 1 refused
	clk.advance(25 * time.Hour)
	e.runBilling(t) // attempt 2 refused
	inv := e.invoices(t, id)[0]
	if inv["status"] != "open" || inv["attempts"] != 2.0 {
		t.Fatalf("invoice after two refusals %v", inv)
	}
	// Put attempt 2 back as a crash leaves it: in flight, its charge
	// closed by the poller's query without a refusal.
	if err := e.node.DB.Write(ctx, func(tx *store.Tx) error {
		c, err := tx.ChargeByOrderNo(ctx, e.app.AppID, false, "SUB"+strings.TrimPrefix(inv["id"].(string), "inv_")+"02")
		if err != nil {
			return err
		}
		c.Status, c.FailureCode, c.FailureMsg = polypay.ChargeClosed, "", ""
		if err := tx.UpdateCharge(ctx, c); err != nil {
			return err
		}
		v, err := tx.GetInvoice(ctx, e.app.AppID, false, inv["id"].(string))
		if err != nil {
			return err
		}
		v.InFlight, v.ChargeID, v.FailureMsg = true, "", ""
		if err := tx.UpdateInvoice(ctx, v); err != nil {
			return err
		}
		x, err := tx.LockSubscription(ctx, id)
		if err != nil {
			return err
		}
		x.NextRun = clk.now().Unix()
		return tx.UpdateSubscription(ctx, x)
	}); err != nil {
		t.Fatal(err)
	}
	sim.SetAgreementBalance(agrNo, true)
	e.runBilling(t)
	inv = e.invoices(t, id)[0]
	if inv["status"] != "open" || inv["attempts"] != 2.0 || !strings.Contains(fmt.Sprint(inv["failure_msg"]), "已关闭") {
		t.Fatalf("the closed attempt: %v", inv)
	}
	clk.advance(73 * time.Hour)
	e.runBilling(t)
	if inv = e.invoices(t, id)[0]; inv["status"] != "paid" || inv["attempts"] != 3.0 {
		t.Fatalf("the next attempt: %v", inv)
	}
}
