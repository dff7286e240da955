package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

const transferCols = `id, app_id, livemode, channel, order_no, batch_id, batch_no, type, amount, currency,
 recipient, description, extra, extra_sealed, metadata, status, created, time_transferred, transaction_no,
 failure_code, failure_msg, created_by, approved_by, approved_at, params_hash, sent`

// TransferRow is a stored transfer with what only the store and core see:
// the sealed part of extra, the creation parameters' hash and whether a
// send was attempted.
type TransferRow struct {
	polypay.Transfer
	ExtraSealed string
	ParamsHash  string
	Sent        bool
}

func scanTransfer(s scanner) (*TransferRow, error) {
	var t TransferRow
	var live, sent int
	var extra, meta, status string
	err := s.Scan(&t.ID, &t.AppID, &live, &t.Channel, &t.OrderNo, &t.BatchID, &t.BatchNo, &t.Type, &t.Amount,
		&t.Currency, &t.Recipient, &t.Description, &extra, &t.ExtraSealed, &meta, &status, &t.Created,
		&t.TimeTransferred, &t.TransactionNo, &t.FailureCode, &t.FailureMsg, &t.CreatedBy, &t.ApprovedBy,
		&t.ApprovedAt, &t.ParamsHash, &sent)
	if err != nil {
		return nil, err
	}
	t.Livemode, t.Sent = live == 1, sent == 1
	t.Status = polypay.TransferStatus(status)
	t.Extra, t.Metadata = []byte(extra), []byte(meta)
	return &t, nil
}

// InsertTransfer stores a new transfer whose first check is due at
// nextCheck. A repeated order_no in the same app, mode and channel fails
// with a unique violation.
func (tx *Tx) InsertTransfer(ctx context.Context, t *TransferRow, nextCheck int64) error {
	_, err := tx.exec(ctx, `INSERT INTO transfers (`+transferCols+`, next_check)
 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.AppID, b2i(t.Livemode), t.Channel, t.OrderNo, t.BatchID, t.BatchNo, t.Type, t.Amount, t.Currency,
		t.Recipient, t.Description, string(t.Extra), t.ExtraSealed, string(t.Metadata), string(t.Status), t.Created,
		t.TimeTransferred, t.TransactionNo, t.FailureCode, t.FailureMsg, t.CreatedBy, t.ApprovedBy, t.ApprovedAt,
		t.ParamsHash, b2i(t.Sent), nextCheck)
	return err
}

// UpdateTransfer writes a transfer's mutable fields.
func (tx *Tx) UpdateTransfer(ctx context.Context, t *TransferRow) error {
	_, err := tx.exec(ctx, `UPDATE transfers SET status=?, time_transferred=?, transaction_no=?, failure_code=?,
 failure_msg=?, approved_by=?, approved_at=?, sent=?, batch_no=? WHERE id=?`,
		string(t.Status), t.TimeTransferred, t.TransactionNo, t.FailureCode, t.FailureMsg, t.ApprovedBy,
		t.ApprovedAt, b2i(t.Sent), t.BatchNo, t.ID)
	return err
}

// GetTransfer returns the app's transfer in a mode; ENotFound otherwise.
func (tx *Tx) GetTransfer(ctx context.Context, appID string, live bool, id string) (*TransferRow, error) {
	t, err := scanTransfer(tx.queryRow(ctx, `SELECT `+transferCols+` FROM transfers WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("transfer", id)
	}
	return t, err
}

// LockTransfer reads a transfer for update.
func (tx *Tx) LockTransfer(ctx context.Context, id string) (*TransferRow, error) {
	t, err := scanTransfer(tx.queryRow(ctx, `SELECT `+transferCols+` FROM transfers WHERE id=?`+tx.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("transfer", id)
	}
	return t, err
}

// TransferByOrderNo finds a transfer by its order_no; nil when none.
func (tx *Tx) TransferByOrderNo(ctx context.Context, appID string, live bool, channel, orderNo string) (*TransferRow, error) {
	t, err := scanTransfer(tx.queryRow(ctx, `SELECT `+transferCols+` FROM transfers WHERE app_id=? AND livemode=? AND channel=? AND order_no=?`,
		appID, b2i(live), channel, orderNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return t, err
}

// ListTransfers pages an app's transfers newest first; channel and
// status narrow it when set.
func (tx *Tx) ListTransfers(ctx context.Context, appID string, live bool, channel, status string, p Page) ([]*TransferRow, bool, error) {
	where, args := []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}
	if channel != "" {
		where, args = append(where, "channel = ?"), append(args, channel)
	}
	if status != "" {
		where, args = append(where, "status = ?"), append(args, status)
	}
	return listPage(ctx, tx, transferCols, "transfers", where, args, p, scanTransfer)
}

// BatchMembers returns a batch's transfers in the order they were made.
func (tx *Tx) BatchMembers(ctx context.Context, batchID string) ([]*TransferRow, error) {
	rows, err := tx.query(ctx, `SELECT `+transferCols+` FROM transfers WHERE batch_id = ? ORDER BY `+tx.byteOrder("id"), batchID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*TransferRow
	for rows.Next() {
		t, err := scanTransfer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TransferExists reports whether the app has the transfer in that mode.
func (tx *Tx) TransferExists(ctx context.Context, appID string, live bool, id string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM transfers WHERE id=? AND app_id=? AND livemode=?`, id, appID, b2i(live)).Scan(&n)
	return n > 0, err
}

// DueTransfers returns ids of pending transfers whose next check has come.
func (tx *Tx) DueTransfers(ctx context.Context, now int64, limit int) ([]string, error) {
	return tx.ids(ctx, `SELECT id FROM transfers WHERE status = 'pending' AND next_check <= ? ORDER BY next_check LIMIT ?`, now, limit)
}

// ClaimTransfer moves a due transfer's next check to next and reports
// whether this caller won it.
func (tx *Tx) ClaimTransfer(ctx context.Context, id string, now, next int64) (bool, error) {
	return tx.claim(ctx, `UPDATE transfers SET next_check = ? WHERE id = ? AND status = 'pending' AND next_check <= ?`, next, id, now)
}

// ScheduleTransfer sets when a pending transfer is next checked.
func (tx *Tx) ScheduleTransfer(ctx context.Context, id string, at int64) error {
	_, err := tx.exec(ctx, `UPDATE transfers SET next_check = ? WHERE id = ? AND status = 'pending'`, at, id)
	return err
}

// Member is the transfer itself (wire renders batch members through it).
func (t *TransferRow) Member() *polypay.Transfer { return &t.Transfer }
