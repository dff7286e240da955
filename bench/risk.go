package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/store"
)

// riskRules is how many merchant rules the risk measurement installs; the
// facts it screens carry an IP, a card, an email, a device and a customer,
// so five velocity counters are read per decision.
const riskRules = 20

// riskCost measures what the risk engine adds to a charge: one decision
// with riskRules rules (none matching, so all are evaluated) and five
// counters over a window holding earlier attempts, on this store, one at a
// time. Its p99 is reported beside the create workload's.
func (b *storeBench) riskCost(ctx context.Context, db *store.DB) error {
	app, err := newRiskApp(ctx, db)
	if err != nil {
		return err
	}
	eng := &risk.Engine{Store: risk.OnDB(db)}
	facts := func(seq int) risk.Facts {
		return risk.Facts{AppID: app, Route: risk.RouteCharge, ChargeID: fmt.Sprintf("ch_bench%08d", seq), Channel: "card",
			Amount: 1000, Currency: "usd", IP: fmt.Sprintf("198.51.100.%d", seq%200+1), Card: fmt.Sprintf("fp%d", seq%500),
			Email: fmt.Sprintf("c%d@example.com", seq%300), Device: fmt.Sprintf("dev%d", seq%300), Customer: fmt.Sprintf("cus%d", seq%300)}
	}
	for i := 0; i < 2000; i++ { // counters with something to count
		if err := eng.Attempt(ctx, facts(i), i%7 == 0); err != nil {
			return err
		}
	}
	res := b.m.loop(1, b.o.duration, func(_, seq int) (bool, error) {
		d, err := eng.Decide(ctx, facts(seq))
		return err == nil && d.Action == risk.Allow, err
	})
	if res.firstErr != nil {
		return fmt.Errorf("risk decisions: %w", res.firstErr)
	}
	b.sr.RiskRules, b.sr.RiskCounters = riskRules, 5
	b.sr.RiskDecideP50, b.sr.RiskDecideP99 = res.percentile(0.50), res.percentile(0.99)
	b.p.f("  %-58s %10.2f ms p99  (p50 %.2f ms; one decision, %d rules, 5 counters)\n",
		"risk screening per charge", b.sr.RiskDecideP99, b.sr.RiskDecideP50, riskRules)
	return nil
}

// newRiskApp makes an app with riskRules rules that read facts and
// counters but never match.
func newRiskApp(ctx context.Context, db *store.DB) (string, error) {
	id := polypay.NewAppID()
	return id, db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertApp(ctx, &polypay.App{ID: id, Name: "bench risk", Created: tx.Now()}); err != nil {
			return err
		}
		conds := []string{`amount > 100000000`, `velocity["ip_cards"] > 1000`, `velocity["card_ips"] > 1000`,
			`email.endsWith("@fraud.invalid")`, `velocity["device_cards"] > 1000 && channel == "card"`,
			`country in ["XX", "YY", "ZZ"]`, `cidr("100.64.0.0/10").containsIP(ip(client_ip))`}
		now := time.Now().Unix()
		for i := 0; i < riskRules; i++ {
			r := &store.RiskRule{ID: fmt.Sprintf("rr_bench%02d", i), AppID: id, Name: fmt.Sprint("rule ", i),
				Condition: conds[i%len(conds)], Action: "block", Priority: i, Enabled: true, Created: now, Updated: now}
			if err := tx.PutRiskRule(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
}
