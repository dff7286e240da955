package store

import (
	"context"
)

// The console's risk pages read recorded decisions in aggregate: counts by
// action, the rules and addresses behind blocks, and the reviews still
// open. Every query is bounded to one app and mode.

// RiskTally is a key (an action, a rule, an address) and how often it occurred.
type RiskTally struct {
	Key   string
	Count int
}

// RiskDecisionCounts counts an app's decisions created since (unix
// seconds) by action, most frequent first.
func (tx *Tx) RiskDecisionCounts(ctx context.Context, appID string, live bool, since int64) ([]RiskTally, error) {
	return tx.riskCounts(ctx, `SELECT action, COUNT(*) FROM risk_decisions WHERE app_id=? AND livemode=? AND created>=?
		GROUP BY action ORDER BY COUNT(*) DESC, action`, appID, b2i(live), since)
}

// RiskTopRules counts an app's decisions with the action since, by rule,
// most frequent first.
func (tx *Tx) RiskTopRules(ctx context.Context, appID string, live bool, action string, since int64, limit int) ([]RiskTally, error) {
	return tx.riskCounts(ctx, `SELECT rule, COUNT(*) FROM risk_decisions WHERE app_id=? AND livemode=? AND action=? AND created>=?
		GROUP BY rule ORDER BY COUNT(*) DESC, rule LIMIT ?`, appID, b2i(live), action, since, limit)
}

func (tx *Tx) riskCounts(ctx context.Context, q string, args ...any) ([]RiskTally, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RiskTally
	for rows.Next() {
		var c RiskTally
		if err := rows.Scan(&c.Key, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RiskDecisionFacts returns the facts JSON of an app's newest decisions
// with the action since, at most limit of them. The facts are JSON text
// whose SQL functions differ between SQLite and PostgreSQL, so callers
// aggregate them (top addresses) in Go.
func (tx *Tx) RiskDecisionFacts(ctx context.Context, appID string, live bool, action string, since int64, limit int) ([][]byte, error) {
	rows, err := tx.query(ctx, `SELECT facts FROM risk_decisions WHERE app_id=? AND livemode=? AND action=? AND created>=?
		ORDER BY created DESC, id DESC LIMIT ?`, appID, b2i(live), action, since, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, err
		}
		out = append(out, []byte(f))
	}
	return out, rows.Err()
}

// RiskOpenReviews lists an app's "review" decisions on a charge that no
// "review_closed" decision has ended yet, newest first (see
// risk.CloseReviewTx, which records the closing one).
func (tx *Tx) RiskOpenReviews(ctx context.Context, appID string, live bool, limit int) ([]RiskDecision, error) {
	rows, err := tx.query(ctx, `SELECT d.id, d.charge_id, d.route, d.action, d.rule, d.facts, d.created FROM risk_decisions d
		WHERE d.app_id=? AND d.livemode=? AND d.action='review' AND d.charge_id<>''
		AND NOT EXISTS (SELECT 1 FROM risk_decisions c WHERE c.charge_id=d.charge_id AND c.app_id=d.app_id
			AND c.livemode=d.livemode AND c.action='review_closed')
		ORDER BY d.created DESC, d.id DESC LIMIT ?`, appID, b2i(live), limit)
	if err != nil {
		return nil, err
	}
	return scanRiskDecisions(rows, appID, live)
}
