package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/polypay/polypay"
)

// ConsoleUser is a person who signs in to the merchant console.
type ConsoleUser struct {
	ID       string
	Email    string
	Role     string
	Password string // encoded Argon2id hash with its parameters and salt
	Created  int64
	Disabled bool
	// Apps scopes the user to these apps; empty means every app.
	Apps []string
}

const consoleUserCols = `id, email, role, password, created, disabled, apps`

func scanConsoleUser(s scanner) (*ConsoleUser, error) {
	var u ConsoleUser
	var disabled int
	var apps string
	err := s.Scan(&u.ID, &u.Email, &u.Role, &u.Password, &u.Created, &disabled, &apps)
	u.Disabled, u.Apps = disabled == 1, strings.Fields(apps)
	return &u, err
}

// InsertConsoleUser stores a user; a unique violation when the email is taken.
func (tx *Tx) InsertConsoleUser(ctx context.Context, u *ConsoleUser) error {
	_, err := tx.exec(ctx, `INSERT INTO console_users (`+consoleUserCols+`) VALUES (?,?,?,?,?,?,?)`,
		u.ID, u.Email, u.Role, u.Password, u.Created, b2i(u.Disabled), strings.Join(u.Apps, " "))
	return err
}

// ConsoleUserByEmail returns the user, or nil when there is none.
func (tx *Tx) ConsoleUserByEmail(ctx context.Context, email string) (*ConsoleUser, error) {
	u, err := scanConsoleUser(tx.queryRow(ctx, `SELECT `+consoleUserCols+` FROM console_users WHERE email=?`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return u, err
}

// ListConsoleUsers lists every user by email.
func (tx *Tx) ListConsoleUsers(ctx context.Context) ([]*ConsoleUser, error) {
	rows, err := tx.query(ctx, `SELECT `+consoleUserCols+` FROM console_users ORDER BY email`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ConsoleUser
	for rows.Next() {
		u, err := scanConsoleUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountConsoleSignIn counts a sign-in attempt by one source for one email
// (key names both) as a failure before its password is checked, so that
// concurrent attempts, on one node or on several sharing PostgreSQL, are all
// counted: the count is one upsert that reads and increments the row under
// its lock, never a value read earlier and written back.
//
// An attempt made before the row's next_at is refused and not counted:
// allowed is false and nextAt says when to try again. Otherwise allowed is
// true, failed is the count with this attempt, and the next attempt must
// wait delay(failed) seconds (0: none), which nextAt then holds. A row idle
// until its expiry (forget seconds after its last counted attempt, which
// must exceed any delay) counts from 1 again. ClearConsoleSignIn undoes the
// count after a success.
func (tx *Tx) CountConsoleSignIn(ctx context.Context, key string, now, forget int64, delay func(failed int) int64) (allowed bool, failed int, nextAt int64, err error) {
	const t = `console_signin_throttle`
	err = tx.queryRow(ctx, `INSERT INTO `+t+` (id, failed, next_at, expires) VALUES (?, 1, 0, ?)
 ON CONFLICT (id) DO UPDATE SET
 failed = CASE WHEN `+t+`.expires <= ? THEN 1 WHEN `+t+`.next_at > ? THEN `+t+`.failed ELSE `+t+`.failed + 1 END,
 next_at = CASE WHEN `+t+`.expires <= ? THEN 0 ELSE `+t+`.next_at END,
 expires = CASE WHEN `+t+`.expires > ? AND `+t+`.next_at > ? THEN `+t+`.expires ELSE excluded.expires END
 RETURNING failed, next_at`, key, now+forget, now, now, now, now, now).Scan(&failed, &nextAt)
	if err != nil {
		return false, 0, 0, err
	}
	if nextAt > now {
		return false, failed, nextAt, nil
	}
	d := delay(failed)
	if d <= 0 {
		return true, failed, 0, nil
	}
	// The upsert holds the row's lock (PostgreSQL) or the single writer
	// (SQLite) until commit: no other attempt reads it in between.
	nextAt = now + d
	_, err = tx.exec(ctx, `UPDATE `+t+` SET next_at=? WHERE id=?`, nextAt, key)
	return true, failed, nextAt, err
}

// ClearConsoleSignIn forgets the attempts counted under key (after a
// successful sign-in).
func (tx *Tx) ClearConsoleSignIn(ctx context.Context, key string) error {
	_, err := tx.exec(ctx, `DELETE FROM console_signin_throttle WHERE id=?`, key)
	return err
}

// DeleteExpiredConsoleSignIns forgets the counts that expired by now.
func (tx *Tx) DeleteExpiredConsoleSignIns(ctx context.Context, now int64) error {
	_, err := tx.exec(ctx, `DELETE FROM console_signin_throttle WHERE expires <= ?`, now)
	return err
}

// SetConsolePassword replaces a user's password hash and ends their sessions.
func (tx *Tx) SetConsolePassword(ctx context.Context, userID, hash string) error {
	if _, err := tx.exec(ctx, `UPDATE console_users SET password=? WHERE id=?`, hash, userID); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `DELETE FROM console_sessions WHERE user_id=?`, userID)
	return err
}

// ConsoleSession is a signed-in browser.
type ConsoleSession struct {
	IDHash  string
	UserID  string
	CSRF    string
	Created int64
	Seen    int64
}

// InsertConsoleSession stores a new session.
func (tx *Tx) InsertConsoleSession(ctx context.Context, s *ConsoleSession) error {
	_, err := tx.exec(ctx, `INSERT INTO console_sessions (id_hash, user_id, csrf, created, seen) VALUES (?,?,?,?,?)`,
		s.IDHash, s.UserID, s.CSRF, s.Created, s.Seen)
	return err
}

// ConsoleSession returns a session and its user, or nils when unknown.
func (tx *Tx) ConsoleSession(ctx context.Context, idHash string) (*ConsoleSession, *ConsoleUser, error) {
	var s ConsoleSession
	var u ConsoleUser
	var disabled int
	var apps string
	// A disabled user's sessions are deleted when disabling; the join
	// condition refuses them anyway, should one survive.
	err := tx.queryRow(ctx, `SELECT s.id_hash, s.user_id, s.csrf, s.created, s.seen, u.id, u.email, u.role, u.password, u.created, u.disabled, u.apps
 FROM console_sessions s JOIN console_users u ON u.id = s.user_id WHERE s.id_hash=? AND u.disabled=0`, idHash).
		Scan(&s.IDHash, &s.UserID, &s.CSRF, &s.Created, &s.Seen, &u.ID, &u.Email, &u.Role, &u.Password, &u.Created, &disabled, &apps)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	u.Disabled, u.Apps = disabled == 1, strings.Fields(apps)
	return &s, &u, nil
}

// TouchConsoleSession moves a session's last activity to seen.
func (tx *Tx) TouchConsoleSession(ctx context.Context, idHash string, seen int64) error {
	_, err := tx.exec(ctx, `UPDATE console_sessions SET seen=? WHERE id_hash=?`, seen, idHash)
	return err
}

// DeleteConsoleSession ends a session.
func (tx *Tx) DeleteConsoleSession(ctx context.Context, idHash string) error {
	_, err := tx.exec(ctx, `DELETE FROM console_sessions WHERE id_hash=?`, idHash)
	return err
}

// DeleteStaleConsoleSessions removes sessions idle since before idleBefore
// or created before createdBefore.
func (tx *Tx) DeleteStaleConsoleSessions(ctx context.Context, idleBefore, createdBefore int64) error {
	_, err := tx.exec(ctx, `DELETE FROM console_sessions WHERE seen < ? OR created < ?`, idleBefore, createdBefore)
	return err
}

// ListApps lists every app, newest first.
func (tx *Tx) ListApps(ctx context.Context) ([]*polypay.App, error) {
	rows, err := tx.query(ctx, `SELECT id, name, created, request_public_key FROM apps ORDER BY created DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*polypay.App
	for rows.Next() {
		var a polypay.App
		if err := rows.Scan(&a.ID, &a.Name, &a.Created, &a.RequestPublicKey); err != nil {
			return nil, err
		}
		out = append(out, &a)
	}
	return out, rows.Err()
}

// APIKeyInfo describes an issued key without the key, which is not stored.
type APIKeyInfo struct {
	Hash    string
	Live    bool
	Kind    string
	Created int64
	Expires int64 // 0: never; a rolled key works until then
}

// APIKeys lists an app's keys that have not expired by now (unix seconds).
func (tx *Tx) APIKeys(ctx context.Context, appID string, now int64) ([]APIKeyInfo, error) {
	rows, err := tx.query(ctx, `SELECT key_hash, livemode, kind, created, expires FROM api_keys WHERE app_id=? AND (expires=0 OR expires>?)
 ORDER BY livemode, kind, created`, appID, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []APIKeyInfo
	for rows.Next() {
		var k APIKeyInfo
		var live int
		if err := rows.Scan(&k.Hash, &live, &k.Kind, &k.Created, &k.Expires); err != nil {
			return nil, err
		}
		k.Live = live == 1
		out = append(out, k)
	}
	return out, rows.Err()
}

// TxnFilter selects charges or refunds across apps and channels for the
// console's search.
type TxnFilter struct {
	AppID     string
	Apps      []string // when set, only these apps (a console user's scope)
	Mode      string   // "test", "live" or "" for both
	ID        string
	OrderNo   string // a refund matches by its own or its charge's order number
	Channel   string
	Status    string
	AmountMin *int64
	AmountMax *int64
	From, To  int64  // created in [From, To) unix seconds; 0: unbounded
	Before    string // page cursor: ids older than this one
	Limit     int
}

func (f TxnFilter) where(tx *Tx, p string) ([]string, []any) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.AppID != "" {
		add(p+"app_id = ?", f.AppID)
	}
	if len(f.Apps) > 0 {
		where = append(where, p+"app_id IN (?"+strings.Repeat(",?", len(f.Apps)-1)+")")
		for _, a := range f.Apps {
			args = append(args, a)
		}
	}
	switch f.Mode {
	case "test":
		add(p+"livemode = ?", 0)
	case "live":
		add(p+"livemode = ?", 1)
	}
	if f.ID != "" {
		add(p+"id = ?", f.ID)
	}
	if f.Status != "" {
		add(p+"status = ?", f.Status)
	}
	if f.AmountMin != nil {
		add(p+"amount >= ?", *f.AmountMin)
	}
	if f.AmountMax != nil {
		add(p+"amount <= ?", *f.AmountMax)
	}
	if f.From != 0 {
		add(p+"created >= ?", f.From)
	}
	if f.To != 0 {
		add(p+"created < ?", f.To)
	}
	if f.Before != "" {
		add(tx.byteOrder(p+"id")+" < ?", f.Before)
	}
	return where, args
}

func limitOf(f TxnFilter) int {
	if f.Limit <= 0 || f.Limit > 1000 {
		return 50
	}
	return f.Limit
}

// SearchCharges returns up to Limit charges newest first, and whether more
// follow.
func (tx *Tx) SearchCharges(ctx context.Context, f TxnFilter) ([]*polypay.Charge, bool, error) {
	where, args := f.where(tx, "")
	if f.OrderNo != "" {
		where, args = append(where, "order_no = ?"), append(args, f.OrderNo)
	}
	if f.Channel != "" {
		where, args = append(where, "channel = ?"), append(args, f.Channel)
	}
	limit := limitOf(f)
	q := `SELECT ` + chargeCols + ` FROM charges`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY ` + tx.byteOrder("id") + ` DESC LIMIT ?`
	rows, err := tx.query(ctx, q, append(args, limit+1)...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []*polypay.Charge
	for rows.Next() {
		c, err := scanCharge(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// RefundRow is a refund with its charge's channel.
type RefundRow struct {
	*polypay.Refund
	Channel string
}

// SearchRefunds returns up to Limit refunds newest first, and whether more
// follow.
func (tx *Tx) SearchRefunds(ctx context.Context, f TxnFilter) ([]RefundRow, bool, error) {
	where, args := f.where(tx, "r.")
	if f.OrderNo != "" {
		where, args = append(where, "(r.order_no = ? OR c.order_no = ?)"), append(args, f.OrderNo, f.OrderNo)
	}
	if f.Channel != "" {
		where, args = append(where, "c.channel = ?"), append(args, f.Channel)
	}
	limit := limitOf(f)
	q := `SELECT ` + refundCols + `, c.channel` + refundFrom
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY ` + tx.byteOrder("r.id") + ` DESC LIMIT ?`
	rows, err := tx.query(ctx, q, append(args, limit+1)...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []RefundRow
	for rows.Next() {
		var ch string
		r, err := scanRefund(refundRowScanner{rows, &ch})
		if err != nil {
			return nil, false, err
		}
		out = append(out, RefundRow{Refund: r, Channel: ch})
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// refundRowScanner appends the channel column to scanRefund's targets.
type refundRowScanner struct {
	s  scanner
	ch *string
}

func (r refundRowScanner) Scan(dest ...any) error { return r.s.Scan(append(dest, r.ch)...) }

// ChargeByID returns a charge of any app; ENotFound otherwise.
func (tx *Tx) ChargeByID(ctx context.Context, id string) (*polypay.Charge, error) {
	c, err := scanCharge(tx.queryRow(ctx, `SELECT `+chargeCols+` FROM charges WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("charge", id)
	}
	return c, err
}

// EventsAbout returns the app's events whose object is, or names (a
// refund names its charge), the object id; oldest first.
func (tx *Tx) EventsAbout(ctx context.Context, appID string, live bool, id string) ([]*polypay.Event, error) {
	quoted := `"` + id + `"`
	rows, err := tx.query(ctx, `SELECT id, app_id, livemode, type, created, object, request_id FROM events
 WHERE app_id=? AND livemode=? AND object LIKE ? ORDER BY `+tx.byteOrder("id"), appID, b2i(live), "%"+quoted+"%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*polypay.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		// LIKE treats "_" in ids as a wildcard: keep exact matches only.
		if strings.Contains(string(e.Object), quoted) {
			out = append(out, e)
		}
	}
	return out, rows.Err()
}

// Notification is one entry of the notification log.
type Notification struct {
	NotificationRecord
	ID       string
	Received int64
}

// NotificationsFor returns the log entries about any of the object ids
// (charge ids, refund order numbers), oldest first.
func (tx *Tx) NotificationsFor(ctx context.Context, objectIDs ...string) ([]Notification, error) {
	if len(objectIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(objectIDs))
	for i, id := range objectIDs {
		args[i] = id
	}
	rows, err := tx.query(ctx, `SELECT id, channel, received, app_id, livemode, notify_id, object_id, outcome, detail FROM notifications
 WHERE object_id IN (?`+strings.Repeat(",?", len(objectIDs)-1)+`) ORDER BY `+tx.byteOrder("id"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var n Notification
		var live int
		if err := rows.Scan(&n.ID, &n.Channel, &n.Received, &n.AppID, &live, &n.NotifyID, &n.ObjectID, &n.Outcome, &n.Detail); err != nil {
			return nil, err
		}
		n.Live = live == 1
		out = append(out, n)
	}
	return out, rows.Err()
}

// WebhookEndpoint returns an endpoint of any app (deleted ones too, so that
// their log stays readable); ENotFound otherwise.
func (tx *Tx) WebhookEndpoint(ctx context.Context, id string) (*polypay.WebhookEndpoint, bool, error) {
	var w polypay.WebhookEndpoint
	var live, deleted int
	err := tx.queryRow(ctx, `SELECT id, app_id, livemode, url, created, deleted FROM webhook_endpoints WHERE id=?`, id).
		Scan(&w.ID, &w.AppID, &live, &w.URL, &w.Created, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, polypay.NotFound("webhook_endpoint", id)
	}
	w.Livemode = live == 1
	return &w, deleted == 1, err
}

// EndpointDelivery is a delivery in an endpoint's log.
type EndpointDelivery struct {
	DeliveryLog
	EventType string
	Created   int64
}

// DeliveriesForEndpoint returns an endpoint's latest deliveries (newest
// first) with their attempts.
func (tx *Tx) DeliveriesForEndpoint(ctx context.Context, endpointID string, limit int) ([]*EndpointDelivery, error) {
	rows, err := tx.query(ctx, `SELECT d.id, d.event_id, d.status, d.created, e.type FROM deliveries d JOIN events e ON e.id = d.event_id
 WHERE d.endpoint_id=? ORDER BY `+tx.byteOrder("d.id")+` DESC LIMIT ?`, endpointID, limit)
	if err != nil {
		return nil, err
	}
	var out []*EndpointDelivery
	for rows.Next() {
		d := &EndpointDelivery{DeliveryLog: DeliveryLog{EndpointID: endpointID}}
		if err := rows.Scan(&d.ID, &d.EventID, &d.Status, &d.Created, &d.EventType); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, d := range out {
		if d.Attempts, err = tx.attempts(ctx, d.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (tx *Tx) attempts(ctx context.Context, deliveryID string) ([]Attempt, error) {
	rows, err := tx.query(ctx, `SELECT at, status_code, latency_ms, error, response FROM delivery_attempts WHERE delivery_id=? ORDER BY at`, deliveryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		if err := rows.Scan(&a.At, &a.StatusCode, &a.LatencyMS, &a.Error, &a.Response); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// RequeueDelivery queues the event of a delivery again, as a new delivery
// to the same endpoint due at nowMS, and returns the new delivery's id.
// The old delivery and its attempts stay in the log. ENotFound when the
// delivery is unknown or its endpoint was deleted.
func (tx *Tx) RequeueDelivery(ctx context.Context, deliveryID string, nowMS int64) (string, error) {
	var eventID, endpointID string
	err := tx.queryRow(ctx, `SELECT d.event_id, d.endpoint_id FROM deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
 WHERE d.id=? AND w.deleted=0`, deliveryID).Scan(&eventID, &endpointID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", polypay.NotFound("delivery", deliveryID)
	}
	if err != nil {
		return "", err
	}
	id := polypay.NewID("whd_")
	_, err = tx.exec(ctx, `INSERT INTO deliveries (id, event_id, endpoint_id, status, attempts, next_at, created)
 VALUES (?,?,?,'pending',0,?,?)`, id, eventID, endpointID, nowMS, tx.now)
	return id, err
}

// DayStat is one channel's charges created on one day.
type DayStat struct {
	Day        int64 // days since 1970-01-01 in the caller's time zone
	Channel    string
	Count      int64
	Paid       int64
	PaidAmount int64 // minor units
}

// DailyChannelStats counts charges per channel and day created since
// `since`; offset (seconds east of UTC) sets where days begin.
func (tx *Tx) DailyChannelStats(ctx context.Context, mode string, since, offset int64) ([]DayStat, error) {
	where, args := TxnFilter{Mode: mode, From: since}.where(tx, "")
	where = append(where, "1=1")
	rows, err := tx.query(ctx, `SELECT (created + ?) / 86400 AS d, channel, COUNT(*),
 CAST(SUM(CASE WHEN time_paid <> 0 THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(CASE WHEN time_paid <> 0 THEN amount ELSE 0 END) AS BIGINT)
 FROM charges WHERE `+strings.Join(where, " AND ")+` GROUP BY d, channel ORDER BY d, channel`, append([]any{offset}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DayStat
	for rows.Next() {
		var s DayStat
		if err := rows.Scan(&s.Day, &s.Channel, &s.Count, &s.Paid, &s.PaidAmount); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// DeliveryEndpoint reads the endpoint id of a delivery into ep; ENotFound
// for an unknown delivery.
func (tx *Tx) DeliveryEndpoint(ctx context.Context, deliveryID string, ep *string) error {
	err := tx.queryRow(ctx, `SELECT endpoint_id FROM deliveries WHERE id=?`, deliveryID).Scan(ep)
	if errors.Is(err, sql.ErrNoRows) {
		return polypay.NotFound("delivery", deliveryID)
	}
	return err
}
