package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

// RiskAttempt is one attempt to spend or test a card or account, as the
// risk engine counts it. Keys are fixed-size: IP canonical, the others
// hashed by the engine.
type RiskAttempt struct {
	ID, AppID                     string
	Live                          bool
	ChargeID                      string
	IP, Card, Email, Device, Cust string
	Failed                        bool
	AtMS                          int64
}

// InsertRiskAttempt stores an attempt.
func (tx *Tx) InsertRiskAttempt(ctx context.Context, a RiskAttempt) error {
	_, err := tx.exec(ctx, `INSERT INTO risk_attempts (id, app_id, livemode, charge_id, ip, card, email, device, customer, failed, at_ms)
 VALUES (?,?,?,?,?,?,?,?,?,?,?)`, a.ID, a.AppID, b2i(a.Live), a.ChargeID, a.IP, a.Card, a.Email, a.Device, a.Cust, b2i(a.Failed), a.AtMS)
	return err
}

// MarkRiskAttemptFailed marks the attempt of a charge failed (declined,
// 3-D Secure failed); it reports whether there was one.
func (tx *Tx) MarkRiskAttemptFailed(ctx context.Context, chargeID string) (bool, error) {
	if chargeID == "" {
		return false, nil
	}
	res, err := tx.exec(ctx, `UPDATE risk_attempts SET failed=1 WHERE charge_id=?`, chargeID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RiskCount is a velocity counter over a window: attempts, how many
// failed, and how many distinct cards (for an IP, email, device or
// customer) or IPs (for a card) they used.
type RiskCount struct {
	Attempts, Failures, Distinct int64
}

// riskKeys are the columns a counter may be keyed by, each with the column
// whose distinct values it counts.
var riskKeys = map[string]string{"ip": "card", "card": "ip", "email": "card", "device": "card", "customer": "card"}

// RiskCounts counts an app's attempts in a mode keyed by kind=value since
// sinceMS. Empty values of the distinct column are not counted.
func (tx *Tx) RiskCounts(ctx context.Context, appID string, live bool, kind, value string, sinceMS int64) (RiskCount, error) {
	distinct, ok := riskKeys[kind]
	if !ok {
		return RiskCount{}, polypay.Errorf(polypay.EInternal, "no risk counter keyed by %q", kind)
	}
	var c RiskCount
	var failures sql.NullInt64
	err := tx.queryRow(ctx, `SELECT COUNT(*), SUM(failed), COUNT(DISTINCT NULLIF(`+distinct+`, '')) FROM risk_attempts
 WHERE app_id=? AND livemode=? AND `+kind+`=? AND at_ms>=?`, appID, b2i(live), value, sinceMS).Scan(&c.Attempts, &failures, &c.Distinct)
	c.Failures = failures.Int64
	return c, err
}

// RiskBlock refuses a fact (kind "ip" or "card") of an app and mode until
// Until (unix seconds), because Rule fired.
type RiskBlock struct {
	AppID       string
	Live        bool
	Kind, Value string
	Rule        string
	Until       int64
	Created     int64
}

// PutRiskBlock sets or extends a block.
func (tx *Tx) PutRiskBlock(ctx context.Context, b RiskBlock) error {
	_, err := tx.exec(ctx, `INSERT INTO risk_blocks (app_id, livemode, kind, value, rule, until, created) VALUES (?,?,?,?,?,?,?)
 ON CONFLICT (app_id, livemode, kind, value) DO UPDATE SET rule=excluded.rule, until=excluded.until, created=excluded.created`,
		b.AppID, b2i(b.Live), b.Kind, b.Value, b.Rule, b.Until, b.Created)
	return err
}

// RiskBlocked returns the block in force at now on kind=value, or nil.
func (tx *Tx) RiskBlocked(ctx context.Context, appID string, live bool, kind, value string, now int64) (*RiskBlock, error) {
	b := RiskBlock{AppID: appID, Live: live, Kind: kind, Value: value}
	err := tx.queryRow(ctx, `SELECT rule, until, created FROM risk_blocks WHERE app_id=? AND livemode=? AND kind=? AND value=? AND until>?`,
		appID, b2i(live), kind, value, now).Scan(&b.Rule, &b.Until, &b.Created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &b, err
}

// ListRiskBlocks lists an app's blocks in force at now, newest first.
func (tx *Tx) ListRiskBlocks(ctx context.Context, appID string, live bool, now int64, limit int) ([]RiskBlock, error) {
	rows, err := tx.query(ctx, `SELECT kind, value, rule, until, created FROM risk_blocks WHERE app_id=? AND livemode=? AND until>?
 ORDER BY created DESC LIMIT ?`, appID, b2i(live), now, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RiskBlock
	for rows.Next() {
		b := RiskBlock{AppID: appID, Live: live}
		if err := rows.Scan(&b.Kind, &b.Value, &b.Rule, &b.Until, &b.Created); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// DeleteRiskBlock lifts a block; it reports whether there was one.
func (tx *Tx) DeleteRiskBlock(ctx context.Context, appID string, live bool, kind, value string) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM risk_blocks WHERE app_id=? AND livemode=? AND kind=? AND value=?`, appID, b2i(live), kind, value)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RiskListEntry is one entry of an app's allow or block list.
type RiskListEntry struct {
	ID, AppID   string
	Live        bool
	List        string // "allow" or "block"
	Kind, Value string
	Note        string
	Expires     int64 // unix seconds, 0 never
	Created     int64
}

// InsertRiskListEntry adds an entry; the same list, kind and value twice
// is a unique violation.
func (tx *Tx) InsertRiskListEntry(ctx context.Context, e RiskListEntry) error {
	_, err := tx.exec(ctx, `INSERT INTO risk_lists (id, app_id, livemode, list, kind, value, note, expires, created) VALUES (?,?,?,?,?,?,?,?,?)`,
		e.ID, e.AppID, b2i(e.Live), e.List, e.Kind, e.Value, e.Note, e.Expires, e.Created)
	return err
}

// DeleteRiskListEntry removes an app's entry; ENotFound when it has none.
func (tx *Tx) DeleteRiskListEntry(ctx context.Context, appID string, live bool, id string) error {
	res, err := tx.exec(ctx, `DELETE FROM risk_lists WHERE app_id=? AND livemode=? AND id=?`, appID, b2i(live), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = polypay.NotFound("risk_list_entry", id)
		}
		return err
	}
	return nil
}

// RiskListEntries lists an app's entries not expired at now.
func (tx *Tx) RiskListEntries(ctx context.Context, appID string, live bool, now int64) ([]RiskListEntry, error) {
	rows, err := tx.query(ctx, `SELECT id, list, kind, value, note, expires, created FROM risk_lists
 WHERE app_id=? AND livemode=? AND (expires=0 OR expires>?) ORDER BY created, id`, appID, b2i(live), now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RiskListEntry
	for rows.Next() {
		e := RiskListEntry{AppID: appID, Live: live}
		if err := rows.Scan(&e.ID, &e.List, &e.Kind, &e.Value, &e.Note, &e.Expires, &e.Created); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// RiskRule is one of an app's rules: a CEL condition and an action.
type RiskRule struct {
	ID, AppID string
	Live      bool
	Name      string
	Condition string
	Action    string
	Priority  int
	Enabled   bool
	Created   int64
	Updated   int64
}

const riskRuleCols = `id, name, condition, action, priority, enabled, created, updated`

func scanRiskRule(sc interface{ Scan(...any) error }, appID string, live bool) (*RiskRule, error) {
	r := RiskRule{AppID: appID, Live: live}
	var enabled int
	if err := sc.Scan(&r.ID, &r.Name, &r.Condition, &r.Action, &r.Priority, &enabled, &r.Created, &r.Updated); err != nil {
		return nil, err
	}
	r.Enabled = enabled == 1
	return &r, nil
}

// PutRiskRule inserts or replaces an app's rule.
func (tx *Tx) PutRiskRule(ctx context.Context, r *RiskRule) error {
	_, err := tx.exec(ctx, `INSERT INTO risk_rules (id, app_id, livemode, `+riskRuleCols[4:]+`) VALUES (?,?,?,?,?,?,?,?,?,?)
 ON CONFLICT (id) DO UPDATE SET name=excluded.name, condition=excluded.condition, action=excluded.action,
 priority=excluded.priority, enabled=excluded.enabled, updated=excluded.updated`,
		r.ID, r.AppID, b2i(r.Live), r.Name, r.Condition, r.Action, r.Priority, b2i(r.Enabled), r.Created, r.Updated)
	return err
}

// GetRiskRule returns an app's rule; ENotFound for another app's or mode's.
func (tx *Tx) GetRiskRule(ctx context.Context, appID string, live bool, id string) (*RiskRule, error) {
	r, err := scanRiskRule(tx.queryRow(ctx, `SELECT `+riskRuleCols+` FROM risk_rules WHERE app_id=? AND livemode=? AND id=?`,
		appID, b2i(live), id), appID, live)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("risk_rule", id)
	}
	return r, err
}

// DeleteRiskRule removes an app's rule; ENotFound when it has none.
func (tx *Tx) DeleteRiskRule(ctx context.Context, appID string, live bool, id string) error {
	res, err := tx.exec(ctx, `DELETE FROM risk_rules WHERE app_id=? AND livemode=? AND id=?`, appID, b2i(live), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = polypay.NotFound("risk_rule", id)
		}
		return err
	}
	return nil
}

// RiskRules lists an app's rules in evaluation order: priority, then age.
func (tx *Tx) RiskRules(ctx context.Context, appID string, live bool) ([]*RiskRule, error) {
	rows, err := tx.query(ctx, `SELECT `+riskRuleCols+` FROM risk_rules WHERE app_id=? AND livemode=? ORDER BY priority, created, id`,
		appID, b2i(live))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*RiskRule
	for rows.Next() {
		r, err := scanRiskRule(rows, appID, live)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RiskDecision is a recorded decision: which rule acted, on what.
type RiskDecision struct {
	ID, AppID string
	Live      bool
	ChargeID  string
	Route     string
	Action    string
	Rule      string
	Facts     []byte // JSON: facts and counters, never a card number
	Created   int64
}

// InsertRiskDecision records a decision.
func (tx *Tx) InsertRiskDecision(ctx context.Context, d RiskDecision) error {
	_, err := tx.exec(ctx, `INSERT INTO risk_decisions (id, app_id, livemode, charge_id, route, action, rule, facts, created) VALUES (?,?,?,?,?,?,?,?,?)`,
		d.ID, d.AppID, b2i(d.Live), d.ChargeID, d.Route, d.Action, d.Rule, string(d.Facts), d.Created)
	return err
}

// RiskDecisions lists an app's decisions, newest first: those of one
// charge when chargeID is set.
func (tx *Tx) RiskDecisions(ctx context.Context, appID string, live bool, chargeID string, limit int) ([]RiskDecision, error) {
	q := `SELECT id, charge_id, route, action, rule, facts, created FROM risk_decisions WHERE app_id=? AND livemode=?`
	args := []any{appID, b2i(live)}
	if chargeID != "" {
		q += ` AND charge_id=?`
		args = append(args, chargeID)
	}
	rows, err := tx.query(ctx, q+` ORDER BY created DESC, id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return scanRiskDecisions(rows, appID, live)
}

// scanRiskDecisions reads rows of (id, charge_id, route, action, rule,
// facts, created) of one app and mode, and closes them.
func scanRiskDecisions(rows *sql.Rows, appID string, live bool) ([]RiskDecision, error) {
	defer rows.Close()
	var out []RiskDecision
	for rows.Next() {
		d := RiskDecision{AppID: appID, Live: live}
		var facts string
		if err := rows.Scan(&d.ID, &d.ChargeID, &d.Route, &d.Action, &d.Rule, &facts, &d.Created); err != nil {
			return nil, err
		}
		d.Facts = []byte(facts)
		out = append(out, d)
	}
	return out, rows.Err()
}

// TrimRisk forgets attempts older than beforeMS, blocks that ended, and
// each app's decisions past the newest perApp.
func (tx *Tx) TrimRisk(ctx context.Context, beforeMS int64, perApp int) (int64, error) {
	var total int64
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM risk_attempts WHERE at_ms < ?`, []any{beforeMS}},
		{`DELETE FROM risk_blocks WHERE until < ?`, []any{tx.now}},
	} {
		res, err := tx.exec(ctx, q.sql, q.args...)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
	}
	apps, err := tx.ids(ctx, `SELECT app_id FROM risk_decisions GROUP BY app_id HAVING COUNT(*) > ?`, perApp)
	if err != nil {
		return total, err
	}
	for _, app := range apps {
		var created int64
		if err := tx.queryRow(ctx, `SELECT created FROM risk_decisions WHERE app_id=? ORDER BY created DESC LIMIT 1 OFFSET ?`,
			app, perApp).Scan(&created); err != nil {
			return total, err
		}
		res, err := tx.exec(ctx, `DELETE FROM risk_decisions WHERE app_id=? AND created <= ?`, app, created)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
