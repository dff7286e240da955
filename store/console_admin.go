package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/polypay/polypay"
)

// ConsoleUserByID returns a user; ENotFound when there is none.
func (tx *Tx) ConsoleUserByID(ctx context.Context, id string) (*ConsoleUser, error) {
	u, err := scanConsoleUser(tx.queryRow(ctx, `SELECT `+consoleUserCols+` FROM console_users WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("user", id)
	}
	return u, err
}

// UpdateConsoleUser sets a user's role, disabled flag and app scope.
// Disabling ends the user's sessions. ENotFound for an unknown id.
func (tx *Tx) UpdateConsoleUser(ctx context.Context, u *ConsoleUser) error {
	res, err := tx.exec(ctx, `UPDATE console_users SET role=?, disabled=?, apps=? WHERE id=?`,
		u.Role, b2i(u.Disabled), strings.Join(u.Apps, " "), u.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return polypay.NotFound("user", u.ID)
	}
	if !u.Disabled {
		return nil
	}
	_, err = tx.exec(ctx, `DELETE FROM console_sessions WHERE user_id=?`, u.ID)
	return err
}

// CountActiveOwners counts enabled owners with every app in scope: the
// console refuses to demote or disable the last one.
func (tx *Tx) CountActiveOwners(ctx context.Context) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM console_users WHERE role='owner' AND disabled=0 AND apps=''`).Scan(&n)
	return n, err
}

// RollAPIKeys makes the app's current keys of one mode expire at expires
// (unix seconds; keys already expiring sooner keep their time) and stores
// the hashes of their replacements, one per kind in hashes.
func (tx *Tx) RollAPIKeys(ctx context.Context, appID string, live bool, expires int64, hashes map[string]string) error {
	if _, err := tx.exec(ctx, `UPDATE api_keys SET expires=? WHERE app_id=? AND livemode=? AND (expires=0 OR expires>?)`,
		expires, appID, b2i(live), expires); err != nil {
		return err
	}
	for _, kind := range []string{KeySecret, KeyPublishable} {
		if h, ok := hashes[kind]; ok {
			if err := tx.InsertAPIKey(ctx, h, appID, live, kind); err != nil {
				return err
			}
		}
	}
	return nil
}

// InsertTestEvent stores an event and queues it for one endpoint only (a
// test event sent from the console), in one transaction.
func (tx *Tx) InsertTestEvent(ctx context.Context, e *polypay.Event, endpointID string, nowMS int64) (string, error) {
	if _, err := tx.exec(ctx, `INSERT INTO events (id, app_id, livemode, type, created, object, request_id) VALUES (?,?,?,?,?,?,?)`,
		e.ID, e.AppID, b2i(e.Livemode), e.Type, e.Created, string(e.Object), e.RequestID); err != nil {
		return "", err
	}
	id := polypay.NewID("whd_")
	_, err := tx.exec(ctx, `INSERT INTO deliveries (id, event_id, endpoint_id, status, attempts, next_at, created)
 VALUES (?,?,?,'pending',0,?,?)`, id, e.ID, endpointID, nowMS, tx.now)
	return id, err
}

// StatsFilter selects the charges and refunds the console's overview
// counts: a mode ("" both), the apps in the user's scope (nil: all) and a
// creation-time window [From, To).
type StatsFilter struct {
	Mode     string
	Apps     []string
	From, To int64
	// Bucket is the bucket width in seconds (86400: days, 3600: hours);
	// Offset (seconds east of UTC) sets where buckets begin.
	Bucket, Offset int64
}

func (f StatsFilter) where(tx *Tx, p string) (string, []any) {
	where, args := TxnFilter{Mode: f.Mode, Apps: f.Apps, From: f.From, To: f.To}.where(tx, p)
	where = append(where, "1=1")
	return strings.Join(where, " AND "), args
}

// BucketStat is one channel's charges in one currency created in one bucket.
type BucketStat struct {
	Bucket     int64 // (created + offset) / bucket width
	Channel    string
	Currency   string
	Count      int64
	Paid       int64
	PaidAmount int64 // minor units
}

// ChannelStats counts charges per bucket, channel and currency.
func (tx *Tx) ChannelStats(ctx context.Context, f StatsFilter) ([]BucketStat, error) {
	if f.Bucket <= 0 {
		f.Bucket = 86400
	}
	where, args := f.where(tx, "")
	rows, err := tx.query(ctx, `SELECT (created + ?) / ? AS b, channel, currency, COUNT(*),
 CAST(SUM(CASE WHEN time_paid <> 0 THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(CASE WHEN time_paid <> 0 THEN amount ELSE 0 END) AS BIGINT)
 FROM charges WHERE `+where+` GROUP BY b, channel, currency ORDER BY b, channel, currency`, append([]any{f.Offset, f.Bucket}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BucketStat
	for rows.Next() {
		var s BucketStat
		if err := rows.Scan(&s.Bucket, &s.Channel, &s.Currency, &s.Count, &s.Paid, &s.PaidAmount); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RefundStat is one channel's succeeded refunds in one currency.
type RefundStat struct {
	Channel  string
	Currency string
	Count    int64
	Amount   int64 // minor units
}

// RefundStats sums succeeded refunds created in the window per channel and
// currency.
func (tx *Tx) RefundStats(ctx context.Context, f StatsFilter) ([]RefundStat, error) {
	where, args := f.where(tx, "r.")
	rows, err := tx.query(ctx, `SELECT c.channel, r.currency, COUNT(*), CAST(SUM(r.amount) AS BIGINT)
 FROM refunds r JOIN charges c ON c.id = r.charge_id WHERE r.status='succeeded' AND `+where+`
 GROUP BY c.channel, r.currency ORDER BY c.channel, r.currency`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RefundStat
	for rows.Next() {
		var s RefundStat
		if err := rows.Scan(&s.Channel, &s.Currency, &s.Count, &s.Amount); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// LatestPaid returns the time (unix seconds) of the latest payment in the
// apps (nil: all), 0 when there is none.
func (tx *Tx) LatestPaid(ctx context.Context, apps []string) (int64, error) {
	where, args := StatsFilter{Apps: apps}.where(tx, "")
	var t sql.NullInt64
	err := tx.queryRow(ctx, `SELECT MAX(time_paid) FROM charges WHERE time_paid <> 0 AND `+where, args...).Scan(&t)
	return t.Int64, err
}
