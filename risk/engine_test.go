package risk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

var ctx = context.Background()

// clock is a settable time for the engine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	db    *store.DB
	eng   *risk.Engine
	clock *clock
	app   string
}

func forEachStore(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			c := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
			fn(t, &fixture{db: db, eng: &risk.Engine{Store: risk.OnDB(db), Now: c.Now}, clock: c, app: newApp(t, db)})
		})
	}
}

func newApp(t *testing.T, db *store.DB) string {
	t.Helper()
	id := polypay.NewAppID()
	if err := db.Write(ctx, func(tx *store.Tx) error {
		return tx.InsertApp(ctx, &polypay.App{ID: id, Name: "t", Created: tx.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

// try is one card attempt: decided, and when allowed counted with its
// outcome, as the charge path does.
func (f *fixture) try(t *testing.T, app, ip, card string, failed bool) risk.Decision {
	t.Helper()
	facts := risk.Facts{AppID: app, Route: risk.RouteCharge, Channel: "card", Amount: 100, Currency: "usd", IP: ip, Card: card,
		ChargeID: polypay.NewID("ch_")}
	d, err := f.eng.Decide(ctx, facts)
	if err != nil {
		t.Fatal(err)
	}
	if d.Blocked() {
		return d
	}
	if err := f.eng.Attempt(ctx, facts, false); err != nil {
		t.Fatal(err)
	}
	if failed {
		if err := f.db.Write(ctx, func(tx *store.Tx) error { return risk.FailedTx(ctx, tx, facts.ChargeID) }); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestCardTesting(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		const attacker, honest = "203.0.113.7", "198.51.100.20"
		for i := range 5 {
			if d := f.try(t, f.app, attacker, fmt.Sprintf("fp_stolen_%d", i), true); d.Blocked() {
				t.Fatalf("attempt %d blocked before the threshold: %+v", i+1, d)
			}
		}
		d := f.try(t, f.app, attacker, "fp_stolen_5", true)
		if !d.Blocked() || d.Rule != risk.RuleCardTesting {
			t.Fatalf("6th card from the attacker = %+v, want blocked by card_testing", d)
		}
		if err := d.Err(); polypay.ErrorCode(err) != polypay.ERiskBlocked || !strings.Contains(err.Error(), "card_testing") {
			t.Fatalf("Err = %v", err)
		}
		// The block holds for the attacker's IP (IPv4-mapped too) with any card.
		for _, ip := range []string{attacker, "::ffff:" + attacker} {
			if d := f.try(t, f.app, ip, "fp_good", false); !d.Blocked() {
				t.Fatalf("attacker at %s allowed with a new card", ip)
			}
		}
		// Honest customers of the same app, and the same IP at another app, pay.
		if d := f.try(t, f.app, honest, "fp_honest", false); d.Blocked() {
			t.Fatalf("honest customer blocked: %+v", d)
		}
		other := newApp(t, f.db)
		if d := f.try(t, other, attacker, "fp_x", false); d.Blocked() {
			t.Fatalf("another app blocked: %+v", d)
		}
		// After the block and the window, the IP may try again.
		f.clock.Add(risk.DefaultCardTesting.BlockFor + time.Minute)
		if d := f.try(t, f.app, attacker, "fp_later", false); d.Blocked() {
			t.Fatalf("still blocked after the block ended: %+v", d)
		}
	})
}

func TestCardTestingThresholds(t *testing.T) {
	tests := []struct {
		name     string
		cards    int
		failures int
		blocked  bool
	}{
		{"OKFewCards", 4, 4, false},
		{"OKMostlySucceeding", 5, 2, false},
		{"ErrThreeOfFiveFailed", 5, 3, true},
		{"ErrAllFailed", 8, 8, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, f *fixture) {
				for i := range tc.cards {
					f.try(t, f.app, "192.0.2.1", fmt.Sprintf("fp_%d", i), i < tc.failures)
				}
				if d := f.try(t, f.app, "192.0.2.1", "fp_next", false); d.Blocked() != tc.blocked {
					t.Fatalf("blocked = %v, want %v (%+v)", d.Blocked(), tc.blocked, d)
				}
			})
		})
	}
}

func TestCardSpread(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		for i := range 5 {
			f.try(t, f.app, fmt.Sprintf("192.0.2.%d", i+1), "fp_one_card", true)
		}
		if d := f.try(t, f.app, "192.0.2.99", "fp_one_card", false); !d.Blocked() || d.Rule != risk.RuleCardSpread {
			t.Fatalf("one card from a sixth IP = %+v, want card_spread", d)
		}
		if d := f.try(t, f.app, "192.0.2.99", "fp_another", false); d.Blocked() {
			t.Fatalf("the IP is not the attacker here: %+v", d)
		}
	})
}

func TestLists(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		add := func(list, kind, value string, expires int64) {
			if err := f.db.Write(ctx, func(tx *store.Tx) error {
				return tx.InsertRiskListEntry(ctx, store.RiskListEntry{ID: polypay.NewID("rl_"), AppID: f.app, List: list,
					Kind: kind, Value: value, Expires: expires, Created: tx.Now()})
			}); err != nil {
				t.Fatal(err)
			}
		}
		add("block", "ip", "10.0.0.0/8", 0)
		add("allow", "ip", "10.1.2.3", 0)
		add("block", "email", "Fraud@Example.com", 0)
		add("block", "card", "fp_expired_entry", f.clock.Now().Unix()-1)
		tests := []struct {
			name  string
			facts risk.Facts
			want  risk.Action
			rule  string
		}{
			{"BlockCIDR", risk.Facts{IP: "10.9.9.9"}, risk.Block, risk.RuleBlockList},
			{"AllowWins", risk.Facts{IP: "10.1.2.3"}, risk.Allow, risk.RuleAllowList},
			{"EmailCaseBlind", risk.Facts{IP: "192.0.2.1", Email: "fraud@example.COM"}, risk.Block, risk.RuleBlockList},
			{"ExpiredEntry", risk.Facts{IP: "192.0.2.1", Card: "fp_expired_entry"}, risk.Allow, ""},
			{"Unlisted", risk.Facts{IP: "192.0.2.1"}, risk.Allow, ""},
		}
		for _, tc := range tests {
			tc.facts.AppID, tc.facts.Route = f.app, risk.RouteCharge
			d, err := f.eng.Decide(ctx, tc.facts)
			if err != nil || d.Action != tc.want || d.Rule != tc.rule {
				t.Errorf("%s: %+v, %v; want %s by %q", tc.name, d, err, tc.want, tc.rule)
			}
		}
		// Lists are per app and mode.
		d, _ := f.eng.Decide(ctx, risk.Facts{AppID: f.app, Live: true, IP: "10.9.9.9"})
		if d.Blocked() {
			t.Fatal("a test-mode list applied in live mode")
		}
	})
}

func TestMerchantRules(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		put := func(id, cond, action string, prio int, enabled bool) {
			if err := f.db.Write(ctx, func(tx *store.Tx) error {
				return tx.PutRiskRule(ctx, &store.RiskRule{ID: id, AppID: f.app, Name: id + " name", Condition: cond, Action: action,
					Priority: prio, Enabled: enabled, Created: tx.Now(), Updated: tx.Now()})
			}); err != nil {
				t.Fatal(err)
			}
		}
		put("rr_big", `amount >= 100000 && currency == "usd"`, "review", 10, true)
		put("rr_country", `country in ["XX", "YY"]`, "block", 20, true)
		put("rr_3ds", `channel == "card" && velocity["card_attempts"] >= 1`, "require_3ds", 30, true)
		put("rr_off", `true`, "block", 1, false)
		put("rr_broken", `velocity["no_such_counter"] > 1`, "block", 5, true) // fails at run time: skipped
		put("rr_net", `cidr("100.64.0.0/10").containsIP(ip(client_ip))`, "block", 40, true)
		tests := []struct {
			name  string
			facts risk.Facts
			want  risk.Action
			rule  string
		}{
			{"Review", risk.Facts{Amount: 150000, Currency: "usd", IP: "192.0.2.1"}, risk.Review, "rr_big"},
			{"Block", risk.Facts{Amount: 100, Currency: "usd", BINCountry: "XX", IP: "192.0.2.1"}, risk.Block, "rr_country"},
			{"PriorityOrder", risk.Facts{Amount: 150000, Currency: "usd", BINCountry: "XX", IP: "192.0.2.1"}, risk.Review, "rr_big"},
			{"CIDR", risk.Facts{Amount: 1, IP: "100.64.1.1"}, risk.Block, "rr_net"},
			{"NoMatch", risk.Facts{Amount: 100, Currency: "cny", IP: "192.0.2.1"}, risk.Allow, ""},
		}
		for _, tc := range tests {
			tc.facts.AppID, tc.facts.Route, tc.facts.Channel = f.app, risk.RouteCharge, "alipay_qr"
			d, err := f.eng.Decide(ctx, tc.facts)
			if err != nil || d.Action != tc.want || d.Rule != tc.rule {
				t.Errorf("%s: %+v, %v; want %s by %q", tc.name, d, err, tc.want, tc.rule)
			}
		}
		// Counters feed rules: a card's second attempt must pass 3-D Secure.
		f.try(t, f.app, "192.0.2.50", "fp_c", false)
		d, err := f.eng.Decide(ctx, risk.Facts{AppID: f.app, Route: risk.RouteCharge, Channel: "card", Amount: 100, Currency: "cny", IP: "192.0.2.51", Card: "fp_c"})
		if err != nil || d.Action != risk.Require3DS || d.Counters["card_attempts"] != 1 {
			t.Fatalf("second attempt of a card = %+v, %v; want require_3ds", d, err)
		}
		// Every decision that acted is recorded, facts without a card number.
		var ds []store.RiskDecision
		if err := f.db.Read(ctx, func(tx *store.Tx) (err error) { ds, err = tx.RiskDecisions(ctx, f.app, false, "", 100); return }); err != nil {
			t.Fatal(err)
		}
		if len(ds) != 5 {
			t.Fatalf("%d decisions recorded, want 5", len(ds))
		}
	})
}

func TestCompile(t *testing.T) {
	tests := []struct {
		name, cond string
		ok         bool
	}{
		{"OK", `amount > 100 && email.endsWith("@example.com")`, true},
		{"OKVelocity", `velocity["ip_cards"] >= 3`, true},
		{"ErrEmpty", ` `, false},
		{"ErrSyntax", `amount >`, false},
		{"ErrUnknownFact", `balance > 1`, false},
		{"ErrNotBool", `amount + 1`, false},
		{"ErrTypes", `amount == "100"`, false},
		{"ErrTooLong", strings.Repeat("a", risk.MaxCondition+1), false},
	}
	for _, tc := range tests {
		_, err := risk.Compile("condition", tc.cond)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Compile = %v", tc.name, err)
		}
		if err != nil {
			var pe *polypay.Error
			if !errorsAs(err, &pe) || pe.Param != "condition" {
				t.Errorf("%s: error %v does not name the parameter", tc.name, err)
			}
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{`amount > 1`, `velocity["ip_cards"] >= 3 && route == "token"`, `cidr("10.0.0.0/8").containsIP(ip(client_ip))`,
		`[1,2,3].all(x, x > 0)`, `email.matches("^a.*")`, `"a" + "b" == "ab"`} {
		f.Add(s)
	}
	vars := map[string]any{}
	f.Fuzz(func(t *testing.T, cond string) {
		c, err := risk.Compile("condition", cond)
		if err != nil {
			if polypay.ErrorCode(err) != polypay.EInvalid {
				t.Fatalf("Compile error %v is not a parameter error", err)
			}
			return
		}
		_, _ = c.Match(vars) // must not panic or run away (cost limit)
	})
}

func errorsAs(err error, target **polypay.Error) bool { return errors.As(err, target) }

func TestDryRun(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		for i, amt := range []int64{100, 200000, 300000} {
			c := &polypay.Charge{ID: polypay.NewID("ch_"), AppID: f.app, Channel: "alipay_qr", OrderNo: fmt.Sprint("DRY", i), ClientIP: "192.0.2.1",
				Amount: amt, AmountSettle: amt, Currency: "cny", Subject: "s", Body: "b", Extra: []byte(`{"email":"a@b.c"}`),
				Metadata: []byte("{}"), Status: polypay.ChargePending, Created: f.clock.Now().Unix() - 60, TimeExpire: f.clock.Now().Unix() + 3600, ParamsHash: "h"}
			if err := f.db.Write(ctx, func(tx *store.Tx) error { return tx.InsertCharge(ctx, c, 0) }); err != nil {
				t.Fatal(err)
			}
		}
		a := &risk.Admin{DB: f.db, Now: func() int64 { return f.clock.Now().Unix() }}
		since := f.clock.Now().Add(-24 * time.Hour).Unix()
		res, err := a.DryRun(ctx, f.app, false, `amount >= 150000 && email == "a@b.c"`, since)
		if err != nil || res.Charges != 3 || res.Matched != 2 || len(res.Sample) != 2 {
			t.Fatalf("DryRun = %+v, %v", res, err)
		}
		if _, err := a.DryRun(ctx, f.app, false, `amount >`, since); polypay.ErrorCode(err) != polypay.EInvalid {
			t.Fatalf("bad condition: %v", err)
		}
		if res, _ := a.DryRun(ctx, f.app, true, `true`, since); res.Charges != 0 {
			t.Fatalf("live dry run saw test charges: %+v", res)
		}
	})
}
