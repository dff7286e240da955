package store

import (
	"context"
	"database/sql"
	"errors"
)

// ChannelRoutes returns the app's routing settings for a family in a mode
// as stored (a JSON object), or nil when none were set.
func (tx *Tx) ChannelRoutes(ctx context.Context, appID string, live bool, family string) ([]byte, error) {
	var s string
	err := tx.queryRow(ctx, `SELECT settings FROM channel_routes WHERE app_id=? AND livemode=? AND family=?`, appID, b2i(live), family).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// ListChannelRoutes returns every routing setting of the app in a mode.
func (tx *Tx) ListChannelRoutes(ctx context.Context, appID string, live bool) ([][]byte, error) {
	rows, err := tx.query(ctx, `SELECT settings FROM channel_routes WHERE app_id=? AND livemode=? ORDER BY family`, appID, b2i(live))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, []byte(s))
	}
	return out, rows.Err()
}

// PutChannelRoutes stores (replaces) routing settings; nil settings delete them.
func (tx *Tx) PutChannelRoutes(ctx context.Context, appID string, live bool, family string, settings []byte, updated int64) error {
	if settings == nil {
		_, err := tx.exec(ctx, `DELETE FROM channel_routes WHERE app_id=? AND livemode=? AND family=?`, appID, b2i(live), family)
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO channel_routes (app_id, livemode, family, settings, updated) VALUES (?,?,?,?,?)
 ON CONFLICT (app_id, livemode, family) DO UPDATE SET settings = excluded.settings, updated = excluded.updated`,
		appID, b2i(live), family, string(settings), updated)
	return err
}

// AccountRef names one configured channel account.
type AccountRef struct {
	AppID  string
	Live   bool
	Family string // "alipay" or "alipay@second"
}

// ChannelAccounts lists configured channel accounts: of one app and mode,
// or of every app when appID is "".
func (tx *Tx) ChannelAccounts(ctx context.Context, appID string, live bool) ([]AccountRef, error) {
	q, args := `SELECT app_id, livemode, family FROM channel_configs ORDER BY app_id, livemode, family`, []any(nil)
	if appID != "" {
		q, args = `SELECT app_id, livemode, family FROM channel_configs WHERE app_id=? AND livemode=? ORDER BY family`, []any{appID, b2i(live)}
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AccountRef
	for rows.Next() {
		var a AccountRef
		var l int
		if err := rows.Scan(&a.AppID, &l, &a.Family); err != nil {
			return nil, err
		}
		a.Live = l == 1
		out = append(out, a)
	}
	return out, rows.Err()
}

// SLACount is one SLA row: requests of a latency bucket.
type SLACount struct {
	Day     string // YYYY-MM-DD, UTC
	AppID   string
	Live    bool
	Account string // "alipay@second"
	Source  string // probe or traffic
	Bucket  int    // latency bucket index; -1 for requests never sent
	OK      int64
	Failed  int64
}

// AddSLA adds counts to the day's figures (nodes add theirs).
func (tx *Tx) AddSLA(ctx context.Context, cs []SLACount) error {
	for _, c := range cs {
		if _, err := tx.exec(ctx, `INSERT INTO channel_sla (day, app_id, livemode, account, source, bucket, ok, failed) VALUES (?,?,?,?,?,?,?,?)
 ON CONFLICT (day, app_id, livemode, account, source, bucket) DO UPDATE SET ok = channel_sla.ok + excluded.ok, failed = channel_sla.failed + excluded.failed`,
			c.Day, c.AppID, b2i(c.Live), c.Account, c.Source, c.Bucket, c.OK, c.Failed); err != nil {
			return err
		}
	}
	return nil
}

// SLA returns an app's figures for a day in a mode.
func (tx *Tx) SLA(ctx context.Context, appID string, live bool, day string) ([]SLACount, error) {
	rows, err := tx.query(ctx, `SELECT account, source, bucket, ok, failed FROM channel_sla WHERE day=? AND app_id=? AND livemode=?
 ORDER BY account, source, bucket`, day, appID, b2i(live))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SLACount
	for rows.Next() {
		c := SLACount{Day: day, AppID: appID, Live: live}
		if err := rows.Scan(&c.Account, &c.Source, &c.Bucket, &c.OK, &c.Failed); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Backlog counts the pending webhook deliveries and the charges and
// refunds whose background check is due at now (unix seconds).
func (tx *Tx) Backlog(ctx context.Context, now int64) (deliveries, charges, refunds int, err error) {
	if err = tx.queryRow(ctx, `SELECT COUNT(*) FROM deliveries WHERE status='pending'`).Scan(&deliveries); err != nil {
		return
	}
	if err = tx.queryRow(ctx, `SELECT COUNT(*) FROM charges WHERE status='pending' AND next_check <= ?`, now).Scan(&charges); err != nil {
		return
	}
	err = tx.queryRow(ctx, `SELECT COUNT(*) FROM refunds WHERE status='pending' AND next_check <= ?`, now).Scan(&refunds)
	return
}
