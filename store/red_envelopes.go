package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

const redEnvelopeCols = `id, app_id, livemode, channel, order_no, amount, currency, recipient, subject, body, description,
 extra, metadata, status, created, received, refunded, transaction_no, failure_msg, params_hash, sent`

// RedEnvelopeRow is a stored red envelope with its parameters' hash and
// whether a send was attempted.
type RedEnvelopeRow struct {
	polypay.RedEnvelope
	ParamsHash string
	Sent       bool
}

func scanRedEnvelope(s scanner) (*RedEnvelopeRow, error) {
	var r RedEnvelopeRow
	var live, sent int
	var extra, meta, status string
	if err := s.Scan(&r.ID, &r.AppID, &live, &r.Channel, &r.OrderNo, &r.Amount, &r.Currency, &r.Recipient, &r.Subject,
		&r.Body, &r.Description, &extra, &meta, &status, &r.Created, &r.Received, &r.Refunded, &r.TransactionNo,
		&r.FailureMsg, &r.ParamsHash, &sent); err != nil {
		return nil, err
	}
	r.Livemode, r.Sent, r.Status = live == 1, sent == 1, polypay.RedEnvelopeStatus(status)
	r.Extra, r.Metadata = []byte(extra), []byte(meta)
	return &r, nil
}

// InsertRedEnvelope stores a new red envelope checked next at nextCheck;
// a repeated order_no in the app and mode is a unique violation.
func (tx *Tx) InsertRedEnvelope(ctx context.Context, r *RedEnvelopeRow, nextCheck int64) error {
	_, err := tx.exec(ctx, `INSERT INTO red_envelopes (`+redEnvelopeCols+`, next_check) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, r.AppID, b2i(r.Livemode), r.Channel, r.OrderNo, r.Amount, r.Currency, r.Recipient, r.Subject, r.Body,
		r.Description, string(r.Extra), string(r.Metadata), string(r.Status), r.Created, r.Received, r.Refunded,
		r.TransactionNo, r.FailureMsg, r.ParamsHash, b2i(r.Sent), nextCheck)
	return err
}

// UpdateRedEnvelope writes a red envelope's mutable fields.
func (tx *Tx) UpdateRedEnvelope(ctx context.Context, r *RedEnvelopeRow) error {
	_, err := tx.exec(ctx, `UPDATE red_envelopes SET status=?, received=?, refunded=?, transaction_no=?, failure_msg=?, sent=? WHERE id=?`,
		string(r.Status), r.Received, r.Refunded, r.TransactionNo, r.FailureMsg, b2i(r.Sent), r.ID)
	return err
}

// GetRedEnvelope returns the app's red envelope in a mode; ENotFound otherwise.
func (tx *Tx) GetRedEnvelope(ctx context.Context, appID string, live bool, id string) (*RedEnvelopeRow, error) {
	r, err := scanRedEnvelope(tx.queryRow(ctx, `SELECT `+redEnvelopeCols+` FROM red_envelopes WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("red_envelope", id)
	}
	return r, err
}

// LockRedEnvelope reads a red envelope for update.
func (tx *Tx) LockRedEnvelope(ctx context.Context, id string) (*RedEnvelopeRow, error) {
	r, err := scanRedEnvelope(tx.queryRow(ctx, `SELECT `+redEnvelopeCols+` FROM red_envelopes WHERE id=?`+tx.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("red_envelope", id)
	}
	return r, err
}

// RedEnvelopeByOrderNo finds a red envelope by order_no; nil when none.
func (tx *Tx) RedEnvelopeByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*RedEnvelopeRow, error) {
	r, err := scanRedEnvelope(tx.queryRow(ctx, `SELECT `+redEnvelopeCols+` FROM red_envelopes WHERE app_id=? AND livemode=? AND order_no=?`,
		appID, b2i(live), orderNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return r, err
}

// ListRedEnvelopes pages an app's red envelopes newest first.
func (tx *Tx) ListRedEnvelopes(ctx context.Context, appID string, live bool, p Page) ([]*RedEnvelopeRow, bool, error) {
	return listPage(ctx, tx, redEnvelopeCols, "red_envelopes", []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}, p, scanRedEnvelope)
}

// DueRedEnvelopes returns ids of undecided red envelopes whose check has come.
func (tx *Tx) DueRedEnvelopes(ctx context.Context, now int64, limit int) ([]string, error) {
	return tx.ids(ctx, `SELECT id FROM red_envelopes WHERE status IN ('sending', 'sent', 'refunding') AND next_check <= ? ORDER BY next_check LIMIT ?`, now, limit)
}

// ClaimRedEnvelope moves a due envelope's next check to next and reports
// whether this caller won it.
func (tx *Tx) ClaimRedEnvelope(ctx context.Context, id string, now, next int64) (bool, error) {
	return tx.claim(ctx, `UPDATE red_envelopes SET next_check = ? WHERE id = ? AND status IN ('sending', 'sent', 'refunding') AND next_check <= ?`, next, id, now)
}
