package gateway_test

import (
	"encoding/csv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/store/storetest"
)

var beijingTZ = time.FixedZone("CST", 8*3600)

// shiftClock is a node clock running at real time plus an offset the
// test moves forward (whole days later, for T+N settlement).
type shiftClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *shiftClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// advance moves the clock forward by d.
func (c *shiftClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// to moves the clock to at (never back).
func (c *shiftClock) to(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := time.Until(at); d > c.off {
		c.off = d
	}
}

// settledMerchant is a sub-app M with a bank account, its fee schedule
// (alipay_qr 0.38 %, anything else 0.6 %, minimum 1; T+1, a 10 % reserve
// of the last 7 days, minimum payout 100), paid 10000 on alipay_qr and
// 5000 on wx_pub_qr, with 2000 of the first refunded.
func settledMerchant(t *testing.T, e *env) (sub, key string) {
	t.Helper()
	m := ok(t, "sub-app", e.do("POST", "/v1/apps/"+e.app.AppID+"/sub_apps", e.sk(), map[string]any{"display_name": "Shop M",
		"onboarding": map[string]any{"business_name": "M 商店", "bank_account": map[string]any{"name": "全渠道", "bank": "中国工商银行",
			"number": "6216261000000000018"}}}))
	sub, key = m.str("id"), m.str("keys", "secret_key_test")
	fs := ok(t, "fee schedule", e.do("PUT", "/v1/apps/"+e.app.AppID+"/sub_apps/"+sub+"/fee_schedule", e.sk(), map[string]any{
		"rules":             []any{map[string]any{"channel": "alipay_qr", "percent_bp": 38, "minimum": 1}, map[string]any{"channel": "*", "percent_bp": 60, "minimum": 1}},
		"settle_delay_days": 1, "holdback_bp": 1000, "holdback_days": 7, "min_payout": 100}))
	if fs.str("collector") != e.app.AppID || fs.str("payout_channel") != "unionpay" {
		t.Fatalf("fee schedule %s", fs.Body)
	}
	for i, c := range []struct {
		channel string
		amount  int64
	}{{"alipay_qr", 10000}, {"wx_pub_qr", 5000}} {
		body := e.chargeBody("MSET000"+string(rune('1'+i)), c.amount)
		body["app"], body["channel"] = map[string]any{"id": sub}, c.channel
		if c.channel == "wx_pub_qr" {
			body["extra"] = map[string]any{"product_id": "p1"}
		}
		ch := ok(t, "charge", e.do("POST", "/v1/charges", e.sk(), body))
		e.pay(ch.str("id"))
		if i == 0 {
			ok(t, "refund", e.do("POST", "/v1/charges/"+ch.str("id")+"/refunds", e.sk(), map[string]any{"amount": 2000, "description": "退"}))
		}
	}
	return sub, key
}

// TestMerchantSettlement: a sub-app's fees are booked with its payments
// in its book and its platform's; a T+1 run on the payment day settles
// nothing, the next day's pays what is owed less the reserve to the bank
// account through the transfer engine, once however often it runs; the
// day's statements (JSON and CSV) tie opening, lines and closing to the
// ledger; a sub-app without a bank account fails its run and owes it
// again; nobody else reads any of it.
func TestMerchantSettlement(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		clock := &shiftClock{}
		e := start(t, b, func(c *gateway.Config) { c.Now = clock.now })
		rc := e.listen() // the platform's endpoint hears its shops' settlements
		sub, key := settledMerchant(t, e)
		base := "/v1/apps/" + e.app.AppID + "/sub_apps/" + sub
		d0 := time.Now().In(beijingTZ)
		day0 := time.Date(d0.Year(), d0.Month(), d0.Day(), 0, 0, 0, 0, beijingTZ)
		date0, date1 := day0.Format("2006-01-02"), day0.AddDate(0, 0, 1).Format("2006-01-02")
		waitFor(t, "the refund", func() bool {
			st := ok(t, "statement", e.do("GET", base+"/statements/"+date0, e.sk(), nil))
			return len(st.JSON["currencies"].([]any)) == 1 && closing(st) == 12932
		})

		same := ok(t, "same-day run", e.do("POST", base+"/settlements", e.sk(), map[string]any{"date": date0}))
		if runs := same.JSON["data"].([]any); len(runs) != 1 || runs[0].(map[string]any)["status"] != "skipped" {
			t.Fatalf("a T+1 run on the payment day: %s", same.Body)
		}
		refused(t, "a future day", e.do("POST", base+"/settlements", e.sk(), map[string]any{"date": date1}), 400, "date")

		clock.to(day0.AddDate(0, 0, 1).Add(time.Hour))
		run := ok(t, "next-day run", e.do("POST", base+"/settlements", e.sk(), map[string]any{"date": date1}))
		r := run.JSON["data"].([]any)[0].(map[string]any)
		// Owed 10000-38+5000-30-2000 = 12932; the reserve is 10 % of 15000.
		if r["eligible"] != float64(12932) || r["holdback"] != float64(1500) || r["amount"] != float64(11432) {
			t.Fatalf("run %s", run.Body)
		}
		// UnionPay decides a payout when asked: the poller asks.
		var paid *resp
		waitFor(t, "the payout", func() bool {
			clock.advance(2 * time.Minute)
			if _, err := e.node.Svc.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			paid = ok(t, "run", e.do("GET", base+"/settlements/"+r["id"].(string), e.sk(), nil))
			return paid.str("status") == "paid"
		})
		if ev := rc.awaitEvent(t, r["id"].(string), "settlement.paid"); ev["amount"] != float64(11432) {
			t.Fatalf("settlement.paid %v", ev)
		}
		tr := ok(t, "its transfer", e.do("GET", "/v1/transfers/"+paid.str("transfer"), key, nil))
		if tr.num("amount") != 11432 || tr.str("channel") != "unionpay" || tr.str("status") != "paid" {
			t.Fatalf("transfer %s", tr.Body)
		}
		if again := ok(t, "again", e.do("POST", base+"/settlements", e.sk(), map[string]any{"date": date1})); len(again.JSON["data"].([]any)) != 0 {
			t.Fatalf("a second run of the day: %s", again.Body)
		}
		if l := ok(t, "runs", e.do("GET", base+"/settlements", e.sk(), nil)); len(ids(l)) != 2 {
			t.Fatalf("runs %s", l.Body)
		}

		st0 := ok(t, "M's own statement of day 0", e.do("GET", "/v1/apps/"+sub+"/statements/"+date0, key, nil))
		if closing(st0) != 12932 || total(st0, "platform_fee") != -68 || total(st0, "refund") != -2000 || total(st0, "payment") != 15000 {
			t.Fatalf("statement day 0 %s", st0.Body)
		}
		st1 := ok(t, "statement day 1", e.do("GET", base+"/statements/"+date1, e.sk(), nil))
		if opening(st1) != 12932 || total(st1, "payout") != -11432 || closing(st1) != 1500 {
			t.Fatalf("statement day 1 %s", st1.Body)
		}
		c := e.do("GET", base+"/statements/"+date0+"?format=csv", e.sk(), nil)
		rows, err := csv.NewReader(strings.NewReader(string(c.Body))).ReadAll()
		if err != nil || c.Status != 200 || len(rows) < 8 || rows[len(rows)-1][3] != "closing" || rows[len(rows)-1][5] != "12932" {
			t.Fatalf("CSV statement %d %v %q", c.Status, err, c.Body)
		}
		checkLedger(t, e)
		nRun := settlementRefusals(t, e, clock, day0, sub, key, base)
		rc.awaitEvent(t, nRun, "settlement.failed")
	})
}

// settlementRefusals: bad schedules and dates name their parameter; a
// sub-app without a bank account fails its run (returned); another
// sub-app, another platform and the live key see nothing of M's.
func settlementRefusals(t *testing.T, e *env, clock *shiftClock, day0 time.Time, sub, key, base string) string {
	t.Helper()
	date0 := day0.Format("2006-01-02")
	for _, c := range []struct {
		what  string
		body  map[string]any
		param string
	}{
		{"unknown channel", map[string]any{"rules": []any{map[string]any{"channel": "nope", "percent_bp": 1}}}, "rules"},
		{"over 100 %", map[string]any{"rules": []any{map[string]any{"channel": "*", "percent_bp": 10001}}}, "rules"},
		{"negative fixed", map[string]any{"rules": []any{map[string]any{"channel": "*", "fixed": -1}}}, "rules"},
		{"delay", map[string]any{"settle_delay_days": 31}, "settle_delay_days"},
		{"holdback", map[string]any{"holdback_bp": -1}, "holdback_bp"},
		{"payout channel", map[string]any{"payout_channel": "alipay"}, "payout_channel"},
		{"unknown field", map[string]any{"colour": 1}, "rules"},
	} {
		refused(t, c.what, e.do("PUT", base+"/fee_schedule", e.sk(), c.body), 400, c.param)
	}
	refused(t, "bad date", e.do("POST", base+"/settlements", e.sk(), map[string]any{"date": "07/12/2026"}), 400, "date")
	refused(t, "bad statement date", e.do("GET", base+"/statements/yesterday", e.sk(), nil), 400, "date")

	// No bank account: the run fails and the money stays owed.
	n := ok(t, "sub-app N", e.do("POST", "/v1/apps/"+e.app.AppID+"/sub_apps", e.sk(), map[string]any{"display_name": "Shop N"}))
	nID, nKey := n.str("id"), n.str("keys", "secret_key_test")
	nBase := "/v1/apps/" + e.app.AppID + "/sub_apps/" + nID
	ok(t, "N's schedule", e.do("PUT", nBase+"/fee_schedule", e.sk(), map[string]any{"settle_delay_days": 0}))
	body := e.chargeBody("MSETN001", 800)
	body["app"] = map[string]any{"id": nID}
	e.pay(ok(t, "N's charge", e.do("POST", "/v1/charges", e.sk(), body)).str("id"))
	// N's payment was on day 1 (the clock's), settled T+0 once day 2 began.
	clock.to(day0.AddDate(0, 0, 2).Add(time.Hour))
	run := ok(t, "N's run", e.do("POST", nBase+"/settlements", e.sk(), map[string]any{"date": day0.AddDate(0, 0, 1).Format("2006-01-02")}))
	if r := run.JSON["data"].([]any)[0].(map[string]any); r["status"] != "failed" || r["amount"] != float64(800) ||
		!strings.Contains(r["failure_msg"].(string), "银行账户") {
		t.Fatalf("N's run without a bank account %s", run.Body)
	}

	for _, c := range []struct{ what, path, key string }{
		{"N reads M's statement", "/v1/apps/" + nID + "/sub_apps/" + sub + "/statements/" + date0, nKey},
		{"M reads N's runs", "/v1/apps/" + sub + "/sub_apps/" + nID + "/settlements", key},
		{"M reads its platform's view of N", nBase + "/settlements", key},
	} {
		if r := e.do("GET", c.path, c.key, nil); r.Status != 404 {
			t.Fatalf("%s: %d %s", c.what, r.Status, r.Body)
		}
	}
	if l := ok(t, "live runs", e.do("GET", base+"/settlements", e.app.SecretKeyLive, nil)); len(ids(l)) != 0 {
		t.Fatalf("the live key sees test runs: %s", l.Body)
	}
	refused(t, "M sets its own schedule", e.do("PUT", "/v1/apps/"+sub+"/sub_apps/"+sub+"/fee_schedule", key, map[string]any{}), 404, "id")
	return run.JSON["data"].([]any)[0].(map[string]any)["id"].(string)
}

func firstCurrency(st *resp) map[string]any {
	cs, _ := st.JSON["currencies"].([]any)
	if len(cs) == 0 {
		return map[string]any{}
	}
	return cs[0].(map[string]any)
}

func closing(st *resp) int64 { v, _ := firstCurrency(st)["closing"].(float64); return int64(v) }
func opening(st *resp) int64 { v, _ := firstCurrency(st)["opening"].(float64); return int64(v) }
func total(st *resp, kind string) int64 {
	t, _ := firstCurrency(st)["totals"].(map[string]any)
	v, _ := t[kind].(float64)
	return int64(v)
}
