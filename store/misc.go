package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

// IdemRecord is a stored response for an Idempotency-Key.
type IdemRecord struct {
	RequestHash string
	Status      int
	Response    []byte
}

// GetIdempotency returns the stored record for a key, or nil.
func (tx *Tx) GetIdempotency(ctx context.Context, appID string, live bool, key string) (*IdemRecord, error) {
	var r IdemRecord
	var body string
	err := tx.queryRow(ctx, `SELECT request_hash, status, response FROM idempotency_keys WHERE app_id=? AND livemode=? AND idem_key=?`,
		appID, b2i(live), key).Scan(&r.RequestHash, &r.Status, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	r.Response = []byte(body)
	return &r, err
}

// PutIdempotency stores the first result for a key. It fails with a unique
// violation when another request stored one first.
func (tx *Tx) PutIdempotency(ctx context.Context, appID string, live bool, key string, r IdemRecord) error {
	_, err := tx.exec(ctx, `INSERT INTO idempotency_keys (app_id, livemode, idem_key, request_hash, status, response, created)
 VALUES (?,?,?,?,?,?,?)`, appID, b2i(live), key, r.RequestHash, r.Status, string(r.Response), tx.now)
	return err
}

// NotificationRecord is the audit entry of one received channel notification.
type NotificationRecord struct {
	Channel  string
	AppID    string
	Live     bool
	NotifyID string
	ObjectID string
	Outcome  string // applied, duplicate, rejected_signature, rejected_amount, ...
	Detail   string
}

// RecordNotification appends to the notification audit log.
func (tx *Tx) RecordNotification(ctx context.Context, n NotificationRecord) error {
	_, err := tx.exec(ctx, `INSERT INTO notifications (id, channel, received, app_id, livemode, notify_id, object_id, outcome, detail)
 VALUES (?,?,?,?,?,?,?,?,?)`, polypay.NewID("ntf_"), n.Channel, tx.now, n.AppID, b2i(n.Live), n.NotifyID, n.ObjectID, n.Outcome, n.Detail)
	return err
}

// NotificationOutcomes returns the outcomes recorded for an app's
// notification URL, oldest first.
func (tx *Tx) NotificationOutcomes(ctx context.Context, appID string) ([]string, error) {
	return tx.ids(ctx, `SELECT outcome FROM notifications WHERE app_id=? ORDER BY `+tx.byteOrder("id"), appID)
}

// UpdateIdempotency replaces a key's stored response with a later state of
// the same operation (a refund that went from pending to succeeded).
func (tx *Tx) UpdateIdempotency(ctx context.Context, appID string, live bool, key string, response []byte) error {
	_, err := tx.exec(ctx, `UPDATE idempotency_keys SET response=? WHERE app_id=? AND livemode=? AND idem_key=?`,
		string(response), appID, b2i(live), key)
	return err
}

// CommitProbe durably commits one tiny row through the normal write path;
// called sequentially it measures the store's single-commit rate.
func (db *DB) CommitProbe(ctx context.Context) error {
	return db.Write(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO commit_probe (id, at) VALUES (?, ?)`, polypay.NewID("cp_"), tx.now)
		return err
	})
}

// SpendRequestSignature records a request signature (its digest) as used
// until expires (unix seconds). It reports false when the signature was
// already used: the request is a replay.
func (tx *Tx) SpendRequestSignature(ctx context.Context, digest string, expires int64) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO request_signatures (digest, expires) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING`, digest, expires)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Housekeeping limits, see Trim.
type TrimPolicy struct {
	// RejectedRetention: rejected notifications older than this (seconds)
	// are deleted.
	RejectedRetention int64
	// RejectedPerApp: an app keeps at most this many rejected
	// notifications, the newest.
	RejectedPerApp int
}

// rejectedOutcome selects the notification records of rejected
// notifications (unknown target, bad signature, foreign merchant...).
const rejectedOutcome = `outcome LIKE 'rejected%'`

// Trim deletes expired request signatures and rejected notifications
// beyond the retention and the per-app cap. It returns how many rows went.
func (tx *Tx) Trim(ctx context.Context, p TrimPolicy) (int64, error) {
	var total int64
	add := func(res sql.Result, err error) error {
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		total += n
		return err
	}
	if err := add(tx.exec(ctx, `DELETE FROM request_signatures WHERE expires < ?`, tx.now)); err != nil {
		return total, err
	}
	if p.RejectedRetention > 0 {
		if err := add(tx.exec(ctx, `DELETE FROM notifications WHERE `+rejectedOutcome+` AND received < ?`, tx.now-p.RejectedRetention)); err != nil {
			return total, err
		}
	}
	if p.RejectedPerApp <= 0 {
		return total, nil
	}
	apps, err := tx.ids(ctx, `SELECT app_id FROM notifications WHERE `+rejectedOutcome+` GROUP BY app_id HAVING COUNT(*) > ?`, p.RejectedPerApp)
	if err != nil {
		return total, err
	}
	for _, app := range apps {
		// The newest RejectedPerApp rows stay; the cut is the first row past them.
		var received int64
		var id string
		err := tx.queryRow(ctx, `SELECT received, id FROM notifications WHERE app_id=? AND `+rejectedOutcome+
			` ORDER BY received DESC, `+tx.byteOrder("id")+` DESC LIMIT 1 OFFSET ?`, app, p.RejectedPerApp).Scan(&received, &id)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return total, err
		}
		if err := add(tx.exec(ctx, `DELETE FROM notifications WHERE app_id=? AND `+rejectedOutcome+
			` AND (received < ? OR (received = ? AND `+tx.byteOrder("id")+` <= ?))`, app, received, received, id)); err != nil {
			return total, err
		}
	}
	return total, nil
}
