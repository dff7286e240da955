package risk

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"

	"github.com/polypay/polypay/store"
)

// Summary is what the console's risk overview shows of an app and mode
// since a time: decisions by action, and who and what caused the blocks.
type Summary struct {
	Since    int64
	ByAction map[string]int // block, review, require_3ds, allow (lists or allow rules)
	TopRules []store.RiskTally
	TopIPs   []store.RiskTally
	// IPsFrom is how many block decisions TopIPs was counted over (the
	// newest summaryFacts of them).
	IPsFrom int
}

// summaryFacts bounds the block decisions read to rank addresses: the
// store caps decisions per app anyway, and an attack's top address shows
// in its newest decisions.
const summaryFacts = 10000

// Summarize counts an app's decisions since (unix seconds).
func (a *Admin) Summarize(ctx context.Context, appID string, live bool, since int64, top int) (*Summary, error) {
	s := &Summary{Since: since, ByAction: map[string]int{}}
	err := a.DB.Read(ctx, func(tx *store.Tx) error {
		counts, err := tx.RiskDecisionCounts(ctx, appID, live, since)
		if err != nil {
			return err
		}
		for _, c := range counts {
			s.ByAction[c.Key] = c.Count
		}
		if s.TopRules, err = tx.RiskTopRules(ctx, appID, live, string(Block), since, top); err != nil {
			return err
		}
		facts, err := tx.RiskDecisionFacts(ctx, appID, live, string(Block), since, summaryFacts)
		s.IPsFrom = len(facts)
		s.TopIPs = topIPs(facts, top)
		return err
	})
	return s, err
}

// topIPs ranks the client_ip of decisions' facts, most frequent first;
// decisions without an address (a card token) are not counted.
func topIPs(facts [][]byte, top int) []store.RiskTally {
	n := map[string]int{}
	for _, f := range facts {
		var x struct {
			IP string `json:"client_ip"`
		}
		if json.Unmarshal(f, &x) == nil && x.IP != "" {
			n[x.IP]++
		}
	}
	out := make([]store.RiskTally, 0, len(n))
	for k, v := range n {
		out = append(out, store.RiskTally{Key: k, Count: v})
	}
	slices.SortFunc(out, func(a, b store.RiskTally) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key))
	})
	return out[:min(top, len(out))]
}

// OpenReviews lists the decisions that put a charge on hold for review and
// that no capture, void or expiry has closed yet, newest first.
func (a *Admin) OpenReviews(ctx context.Context, appID string, live bool, limit int) ([]*DecisionOut, error) {
	var out []*DecisionOut
	err := a.DB.Read(ctx, func(tx *store.Tx) error {
		ds, err := tx.RiskOpenReviews(ctx, appID, live, limit)
		for _, d := range ds {
			out = append(out, decisionOut(d))
		}
		return err
	})
	return out, err
}
