package store_test

import (
	"fmt"
	"testing"

	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// TestRiskConsoleQueries: the risk overview's counts and the review
// queue, per app and mode and since a time, on every backend.
func TestRiskConsoleQueries(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			appA, appB := newApp(t, db), newApp(t, db)
			n := 0
			dec := func(app string, live bool, charge, action, rule string, created int64) store.RiskDecision {
				n++
				return store.RiskDecision{ID: fmt.Sprintf("rd_%03d", n), AppID: app, Live: live, ChargeID: charge, Route: "charge",
					Action: action, Rule: rule, Facts: []byte(`{"client_ip":"203.0.113.1"}`), Created: created}
			}
			ds := []store.RiskDecision{
				dec(appA, false, "", "block", "card_testing", 1000),
				dec(appA, false, "", "block", "card_testing", 1001),
				dec(appA, false, "", "block", "block_list", 1002),
				dec(appA, false, "", "block", "card_testing", 10), // before the window
				dec(appA, false, "ch_open", "review", "rr_1", 1003),
				dec(appA, false, "ch_done", "review", "rr_1", 1004),
				dec(appA, false, "ch_done", "review_closed", "rr_1", 1005),
				dec(appA, true, "ch_live", "review", "rr_1", 1006), // live mode
				dec(appB, false, "ch_b", "review", "rr_2", 1007),   // another app
				dec(appB, false, "", "block", "card_testing", 1008),
			}
			if err := db.Write(ctx, func(tx *store.Tx) error {
				for _, d := range ds {
					if err := tx.InsertRiskDecision(ctx, d); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			var counts, rules []store.RiskTally
			var facts [][]byte
			var open []store.RiskDecision
			if err := db.Read(ctx, func(tx *store.Tx) (err error) {
				if counts, err = tx.RiskDecisionCounts(ctx, appA, false, 500); err != nil {
					return err
				}
				if rules, err = tx.RiskTopRules(ctx, appA, false, "block", 500, 10); err != nil {
					return err
				}
				if facts, err = tx.RiskDecisionFacts(ctx, appA, false, "block", 500, 2); err != nil {
					return err
				}
				open, err = tx.RiskOpenReviews(ctx, appA, false, 10)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name      string
				got, want string
			}{
				{"Counts", fmt.Sprint(counts), "[{block 3} {review 2} {review_closed 1}]"},
				{"TopRules", fmt.Sprint(rules), "[{card_testing 2} {block_list 1}]"},
				{"FactsLimited", fmt.Sprint(len(facts)), "2"},
				{"OpenReviews", fmt.Sprint(len(open), " ", firstCharge(open)), "1 ch_open"},
			}
			for _, tc := range tests {
				if tc.got != tc.want {
					t.Errorf("%s = %s, want %s", tc.name, tc.got, tc.want)
				}
			}
		})
	}
}

func firstCharge(ds []store.RiskDecision) string {
	if len(ds) == 0 {
		return ""
	}
	return ds[0].ChargeID
}
