package risk

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// DryRunResult is what a condition would have matched.
type DryRunResult struct {
	Object  string   `json:"object"`
	Charges int      `json:"charges"` // examined
	Matched int      `json:"matched"`
	Errors  int      `json:"errors"` // evaluations that failed (a missing counter, the cost limit)
	Sample  []string `json:"sample"` // up to 20 matching charge ids, newest first
	Since   int64    `json:"since"`
}

// dryRunMax bounds the charges a dry run reads.
const dryRunMax = 5000

// DryRun evaluates a condition against the app's charges created since
// (at most the newest 5000), with each charge's own facts (amount,
// currency, channel, client_ip, extra) and the velocity counters as they
// stand now: it tells a merchant what a rule would catch before saving it.
func (a *Admin) DryRun(ctx context.Context, appID string, live bool, condition string, since int64) (*DryRunResult, error) {
	prg, err := Compile("condition", condition)
	if err != nil {
		return nil, err
	}
	out := &DryRunResult{Object: "risk_dry_run", Since: since, Sample: []string{}}
	err = a.DB.Read(ctx, func(tx *store.Tx) error {
		charges, _, err := tx.ListCharges(ctx, store.ChargeFilter{AppID: appID, Live: live, CreatedGTE: &since, Limit: dryRunMax})
		if err != nil {
			return err
		}
		cfg := Config{}.withDefaults()
		now := a.Now()
		for _, c := range charges {
			f := factsOf(c)
			cs, err := counters(ctx, tx, f, cfg, now, allNeeds)
			if err != nil {
				return err
			}
			out.Charges++
			ok, err := prg.Match(vars(f, cs))
			switch {
			case err != nil:
				out.Errors++
			case ok:
				out.Matched++
				if len(out.Sample) < 20 {
					out.Sample = append(out.Sample, c.ID)
				}
			}
		}
		return nil
	})
	return out, err
}

// factsOf are a stored charge's facts as a dry run sees them (its card
// fingerprint is not on the charge: card rules see "").
func factsOf(c *polypay.Charge) Facts {
	var x struct {
		Customer string `json:"customer"`
		DeviceID string `json:"device_id"`
		Email    string `json:"email"`
	}
	_ = json.Unmarshal(c.Extra, &x)
	return Facts{AppID: c.AppID, Live: c.Livemode, Route: RouteCharge, ChargeID: c.ID, Channel: c.Channel, Amount: c.Amount,
		Currency: c.Currency, IP: CanonicalIP(c.ClientIP), Customer: x.Customer, Email: x.Email, Device: x.DeviceID}
}
