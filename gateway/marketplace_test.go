package gateway_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store/storetest"
)

// market is a platform P with an agent A (level 1, paid on its user
// agent_user of P), shops M1 and M2 under A and M3 under P; A collects
// M1's fees, P those of M2 and M3.
type market struct {
	p, a       string
	aKey       string
	shops      []string // M1, M2, M3
	keys       []string
	collectors []string
}

func newMarket(t *testing.T, e *env) *market {
	t.Helper()
	e.newUser(t, "agent_user")
	mk := &market{p: e.app.AppID}
	sub := func(under, name, user string) (string, string) {
		body := map[string]any{"display_name": name, "onboarding": map[string]any{"business_name": name,
			"bank_account": map[string]any{"name": "全渠道", "bank": "中国工商银行", "number": "6216261000000000018"}}}
		if user != "" {
			body["user"] = user
		}
		r := ok(t, "sub-app "+name, e.do("POST", "/v1/apps/"+under+"/sub_apps", e.sk(), body))
		return r.str("id"), r.str("keys", "secret_key_test")
	}
	mk.a, mk.aKey = sub(mk.p, "Agent A", "agent_user")
	for i, under := range []string{mk.a, mk.a, mk.p} {
		id, key := sub(under, fmt.Sprintf("Shop M%d", i+1), "")
		mk.shops, mk.keys = append(mk.shops, id), append(mk.keys, key)
	}
	mk.collectors = []string{mk.a, mk.p, mk.p}
	for i, shop := range mk.shops {
		key := e.sk()
		if mk.collectors[i] == mk.a {
			key = mk.aKey
		}
		ok(t, "fee schedule", e.do("PUT", "/v1/apps/"+mk.collectors[i]+"/sub_apps/"+shop+"/fee_schedule", key, map[string]any{
			"rules":             []any{map[string]any{"channel": "alipay_qr", "percent_bp": 38, "minimum": 1}, map[string]any{"channel": "*", "percent_bp": 60, "minimum": 1}},
			"settle_delay_days": 1, "min_payout": 100}))
	}
	return mk
}

// sale is one payment of the marketplace and what the test expects of it.
type sale struct {
	shop     int
	order    string // "" for a plain charge
	charge   string
	channel  string
	amount   int64
	refunded int64
}

func feeOf(s *sale) int64 {
	bp := int64(60)
	if s.channel == "alipay_qr" {
		bp = 38
	}
	return max(s.amount*bp/10000, 1)
}

// shares is what a sale's royalties come to per recipient (app or
// app/user) after its refunds, computed here from the template (2 % to
// level 0, 1 % to level 1, proportional refunds, service_reserved).
func (mk *market) shares(s *sale) map[string]int64 {
	out := map[string]int64{}
	if s.order == "" {
		return out
	}
	l0, l1 := s.amount*200/10000, s.amount*100/10000
	given := map[string]int64{mk.p: l0}
	if s.shop < 2 {
		given[mk.a+"/agent_user"] = l1
	} else {
		given[mk.p] += l1 // M3's own level: service_reserved, to the platform
	}
	for k, v := range given {
		out[k] = v - v*s.refunded/s.amount
	}
	return out
}

// TestMarketplace: three shops on two levels of royalty take 200
// payments and 40 refunds; the next day royalties and shops are settled.
// Every shop's statements add up to its ledger balance and its payout,
// every fee and royalty is what the schedule and template say, the agent's
// user holds its royalties, the ledger check passes, and no shop reads
// another's objects.
func TestMarketplace(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		clock := &shiftClock{}
		e := start(t, b, func(c *gateway.Config) { c.Now = clock.now })
		mk := newMarket(t, e)
		tmpl := e.royaltyTemplate(t, "proportional", "service_reserved", 200, 100)
		d0 := time.Now().In(beijingTZ)
		day0 := time.Date(d0.Year(), d0.Month(), d0.Day(), 0, 0, 0, 0, beijingTZ)
		rng := rand.New(rand.NewSource(21))
		sales := make([]*sale, 0, 200)
		for i := range 200 {
			s := &sale{shop: i % 3, amount: int64(100 + rng.Intn(50000)), channel: "alipay_qr"}
			shop := mk.shops[s.shop]
			if i%4 == 3 {
				s.channel = "wx_pub_qr"
				body := e.chargeBody(fmt.Sprintf("MKT%05d", i), s.amount)
				body["app"], body["channel"], body["extra"] = map[string]any{"id": shop}, s.channel, map[string]any{"product_id": "p"}
				s.charge = ok(t, "charge", e.do("POST", "/v1/charges", e.sk(), body)).str("id")
				e.pay(s.charge)
			} else {
				s.order, s.charge = e.paidOrder(t, shop, fmt.Sprintf("MKT%05d", i), s.amount, map[string]any{"royalty_template": tmpl})
			}
			sales = append(sales, s)
		}
		for _, i := range rng.Perm(200)[:40] {
			s := sales[i]
			s.refunded = s.amount
			if i%2 == 0 {
				s.refunded = max(1, s.amount/3)
			}
			ok(t, "refund", e.do("POST", "/v1/charges/"+s.charge+"/refunds", e.sk(), map[string]any{"amount": s.refunded, "description": "退款"}))
		}
		waitFor(t, "40 refunds", func() bool {
			for _, s := range sales {
				if s.refunded > 0 && ok(t, "charge", e.do("GET", "/v1/charges/"+s.charge, e.sk(), nil)).num("amount_refunded") != s.refunded {
					return false
				}
			}
			return true
		})
		mk.checkShares(t, e, sales)

		// The next day: royalties settled to balances, shops paid out.
		clock.to(day0.AddDate(0, 0, 1).Add(time.Hour))
		date0, date1 := day0.Format("2006-01-02"), day0.AddDate(0, 0, 1).Format("2006-01-02")
		for _, shop := range mk.shops {
			st := ok(t, "royalty settlement", e.do("POST", "/v1/royalty_settlements", e.sk(), map[string]any{"payer_app": shop, "method": "balance"}))
			ok(t, "confirm", e.do("PUT", "/v1/royalty_settlements/"+st.str("id"), e.sk(), map[string]any{"status": "pending"}))
		}
		payouts := map[string]string{}
		for i, shop := range mk.shops {
			run := ok(t, "run", e.do("POST", "/v1/apps/"+mk.collectors[i]+"/sub_apps/"+shop+"/settlements", e.sk(), map[string]any{"date": date1}))
			payouts[shop] = run.JSON["data"].([]any)[0].(map[string]any)["id"].(string)
		}
		waitFor(t, "the payouts", func() bool {
			clock.advance(2 * time.Minute)
			if _, err := e.node.Svc.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			for i, shop := range mk.shops {
				r := ok(t, "run", e.do("GET", "/v1/apps/"+mk.collectors[i]+"/sub_apps/"+shop+"/settlements/"+payouts[shop], e.sk(), nil))
				if r.str("status") != "paid" {
					return false
				}
			}
			return true
		})
		mk.checkStatements(t, e, sales, date0, date1)
		checkLedger(t, e)
		mk.checkIsolation(t, e, sales)
	})
}

// checkShares: each shop's royalties, as listed, are the template's; the
// agent's user received its shares on its balance once settled.
func (mk *market) checkShares(t *testing.T, e *env, sales []*sale) {
	t.Helper()
	for _, s := range sales {
		if s.order == "" {
			continue
		}
		want := mk.shares(s)
		got := e.royaltiesOf(t, mk.shops[s.shop], s.order)
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("order %s (shop %d, %d, refunded %d): shares %v, want %v", s.order, s.shop+1, s.amount, s.refunded, got, want)
			}
		}
	}
}

// checkStatements: for every shop, day 0's statement has its payments,
// refunds, fees and royalties as computed here, and its closing is day
// 1's opening; day 1's payout empties it. The agent's user holds its
// royalties; each collector's fee income is its shops' fees.
func (mk *market) checkStatements(t *testing.T, e *env, sales []*sale, date0, date1 string) {
	t.Helper()
	agent, income := int64(0), map[string]int64{}
	for i, shop := range mk.shops {
		var pay, refund, fee, royalty int64
		for _, s := range sales {
			if s.shop != i {
				continue
			}
			pay, refund, fee = pay+s.amount, refund+s.refunded, fee+feeOf(s)
			income[mk.collectors[i]] += feeOf(s)
			for k, v := range mk.shares(s) {
				royalty += v
				if k == mk.a+"/agent_user" {
					agent += v
				}
			}
		}
		path := "/v1/apps/" + shop + "/statements/"
		st0 := ok(t, "statement", e.do("GET", path+date0, mk.keys[i], nil))
		want := pay - refund - fee - royalty
		if total(st0, "payment") != pay || total(st0, "refund") != -refund || total(st0, "platform_fee") != -fee ||
			total(st0, "royalty") != -royalty || opening(st0) != 0 || closing(st0) != want {
			t.Fatalf("shop %d day 0: payments %d refunds %d fees %d royalties %d closing %d; statement %s", i+1, pay, refund, fee, royalty, want, st0.Body)
		}
		st1 := ok(t, "statement", e.do("GET", path+date1, mk.keys[i], nil))
		if opening(st1) != want || total(st1, "payout") != -want || closing(st1) != 0 {
			t.Fatalf("shop %d day 1: want %d paid out: %s", i+1, want, st1.Body)
		}
	}
	if bal := e.balanceOf(t, "agent_user"); bal != agent {
		t.Fatalf("agent_user's balance %d, want its royalties %d", bal, agent)
	}
	sum, probs, err := ledger.Check(ctx, e.node.DB)
	if err != nil || len(probs) > 0 {
		t.Fatalf("ledger check: %v %v", probs, err)
	}
	for app, want := range income {
		if got := -sum.Balances[fmt.Sprintf("%s/test/cny/fee_income", app)]; got != want {
			t.Fatalf("%s's fee income %d, want %d (%v)", app, got, want, sum.Balances)
		}
	}
}

// checkIsolation: a shop reads its own charge, order, royalties and
// statement, and none of another shop's; the agent reads its shops' but
// not M3's.
func (mk *market) checkIsolation(t *testing.T, e *env, sales []*sale) {
	t.Helper()
	first := map[int]*sale{}
	for _, s := range sales {
		if first[s.shop] == nil && s.order != "" {
			first[s.shop] = s
		}
	}
	for i := range mk.shops {
		for j := range mk.shops {
			s := first[j]
			paths := []string{"/v1/charges/" + s.charge, "/v1/orders/" + s.order,
				"/v1/royalties?order=" + s.order, "/v1/apps/" + mk.shops[j] + "/statements/2026-01-01"}
			for _, p := range paths {
				r := e.do("GET", p, mk.keys[i], nil)
				visible := r.Status == 200 && (p[:14] != "/v1/royalties?" || len(ids(r)) > 0)
				if visible != (i == j) {
					t.Fatalf("shop %d reading shop %d's %s: %d %s", i+1, j+1, p, r.Status, r.Body)
				}
			}
		}
	}
	for j, want := range []bool{true, true, false} {
		if r := e.do("GET", "/v1/charges/"+first[j].charge, mk.aKey, nil); (r.Status == 200) != want {
			t.Fatalf("the agent reading shop %d's charge: %d", j+1, r.Status)
		}
	}
}
