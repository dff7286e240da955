package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/polypay/polypay"
)

const batchTransferCols = `id, app_id, livemode, batch_no, channel, type, amount, currency, description, metadata,
 status, created, time_succeeded, failure_msg, created_by, approved_by, approved_at, params_hash`

// BatchTransferRow is a stored batch transfer with its parameters' hash.
type BatchTransferRow struct {
	polypay.BatchTransfer
	ParamsHash string
}

func scanBatchTransfer(s scanner) (*BatchTransferRow, error) {
	var b BatchTransferRow
	var live int
	var meta, status string
	err := s.Scan(&b.ID, &b.AppID, &live, &b.BatchNo, &b.Channel, &b.Type, &b.Amount, &b.Currency, &b.Description,
		&meta, &status, &b.Created, &b.TimeSucceeded, &b.FailureMsg, &b.CreatedBy, &b.ApprovedBy, &b.ApprovedAt, &b.ParamsHash)
	if err != nil {
		return nil, err
	}
	b.Livemode, b.Metadata, b.Status = live == 1, []byte(meta), polypay.BatchStatus(status)
	return &b, nil
}

// InsertBatchTransfer stores a new batch; a repeated batch_no in the app
// and mode is a unique violation.
func (tx *Tx) InsertBatchTransfer(ctx context.Context, b *BatchTransferRow) error {
	_, err := tx.exec(ctx, `INSERT INTO batch_transfers (`+batchTransferCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		b.ID, b.AppID, b2i(b.Livemode), b.BatchNo, b.Channel, b.Type, b.Amount, b.Currency, b.Description,
		string(b.Metadata), string(b.Status), b.Created, b.TimeSucceeded, b.FailureMsg, b.CreatedBy, b.ApprovedBy,
		b.ApprovedAt, b.ParamsHash)
	return err
}

// UpdateBatchTransfer writes a batch's mutable fields.
func (tx *Tx) UpdateBatchTransfer(ctx context.Context, b *BatchTransferRow) error {
	_, err := tx.exec(ctx, `UPDATE batch_transfers SET status=?, time_succeeded=?, failure_msg=?, approved_by=?, approved_at=? WHERE id=?`,
		string(b.Status), b.TimeSucceeded, b.FailureMsg, b.ApprovedBy, b.ApprovedAt, b.ID)
	return err
}

// GetBatchTransfer returns the app's batch in a mode; ENotFound otherwise.
func (tx *Tx) GetBatchTransfer(ctx context.Context, appID string, live bool, id string) (*BatchTransferRow, error) {
	b, err := scanBatchTransfer(tx.queryRow(ctx, `SELECT `+batchTransferCols+` FROM batch_transfers WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("batch_transfer", id)
	}
	return b, err
}

// LockBatchTransfer reads a batch for update.
func (tx *Tx) LockBatchTransfer(ctx context.Context, id string) (*BatchTransferRow, error) {
	b, err := scanBatchTransfer(tx.queryRow(ctx, `SELECT `+batchTransferCols+` FROM batch_transfers WHERE id=?`+tx.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("batch_transfer", id)
	}
	return b, err
}

// BatchTransferByNo finds a batch by batch_no; nil when none.
func (tx *Tx) BatchTransferByNo(ctx context.Context, appID string, live bool, batchNo string) (*BatchTransferRow, error) {
	b, err := scanBatchTransfer(tx.queryRow(ctx, `SELECT `+batchTransferCols+` FROM batch_transfers WHERE app_id=? AND livemode=? AND batch_no=?`,
		appID, b2i(live), batchNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return b, err
}

// ListBatchTransfers pages an app's batches newest first.
func (tx *Tx) ListBatchTransfers(ctx context.Context, appID string, live bool, p Page) ([]*BatchTransferRow, bool, error) {
	return listPage(ctx, tx, batchTransferCols, "batch_transfers", []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}, p, scanBatchTransfer)
}

// OpenBatchTransfers lists undecided batches (pending), for the poller.
func (tx *Tx) OpenBatchTransfers(ctx context.Context, limit int) ([]string, error) {
	return tx.ids(ctx, `SELECT id FROM batch_transfers WHERE status = 'pending' ORDER BY id LIMIT ?`, limit)
}

// PayoutExists reports whether the app has id in a payout table (a
// cursor's check).
func (tx *Tx) PayoutExists(ctx context.Context, table, appID string, live bool, id string) (bool, error) {
	switch table {
	case "transfers", "batch_transfers", "red_envelopes", "batch_refunds",
		"users", "balance_transactions", "balance_bonuses", "balance_transfers", "recharges", "withdrawals", "batch_withdrawals",
		"coupon_templates", "coupons", "orders", "qr_codes", "agreements", "plans", "subscriptions",
		"royalty_templates", "royalty_settlements":
	case "sub_apps":
		// A sub-app is its parent's, in both modes.
		var n int
		err := tx.queryRow(ctx, `SELECT COUNT(*) FROM sub_apps WHERE app_id=? AND parent_app=? AND deleted=0`, id, appID).Scan(&n)
		return n > 0, err
	default:
		return false, fmt.Errorf("store: no payout table %s", table)
	}
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id=? AND app_id=? AND livemode=?`, id, appID, b2i(live)).Scan(&n)
	return n > 0, err
}

const batchRefundCols = `id, app_id, livemode, batch_no, description, metadata, items, status, created, time_succeeded, params_hash`

// BatchRefundRow is a stored batch refund with its parameters' hash.
type BatchRefundRow struct {
	polypay.BatchRefund
	ParamsHash string
}

func scanBatchRefund(s scanner) (*BatchRefundRow, error) {
	var b BatchRefundRow
	var live int
	var meta, items, status string
	if err := s.Scan(&b.ID, &b.AppID, &live, &b.BatchNo, &b.Description, &meta, &items, &status, &b.Created,
		&b.TimeSucceeded, &b.ParamsHash); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(items), &b.Items); err != nil {
		return nil, fmt.Errorf("batch refund %s: items: %w", b.ID, err)
	}
	b.Livemode, b.Metadata, b.Status = live == 1, []byte(meta), polypay.BatchStatus(status)
	return &b, nil
}

// InsertBatchRefund stores a new batch refund.
func (tx *Tx) InsertBatchRefund(ctx context.Context, b *BatchRefundRow) error {
	items, err := json.Marshal(b.Items)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO batch_refunds (`+batchRefundCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		b.ID, b.AppID, b2i(b.Livemode), b.BatchNo, b.Description, string(b.Metadata), string(items), string(b.Status),
		b.Created, b.TimeSucceeded, b.ParamsHash)
	return err
}

// UpdateBatchRefund writes a batch refund's items and status.
func (tx *Tx) UpdateBatchRefund(ctx context.Context, b *BatchRefundRow) error {
	items, err := json.Marshal(b.Items)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `UPDATE batch_refunds SET items=?, status=?, time_succeeded=? WHERE id=?`,
		string(items), string(b.Status), b.TimeSucceeded, b.ID)
	return err
}

// GetBatchRefund returns the app's batch refund in a mode; ENotFound otherwise.
func (tx *Tx) GetBatchRefund(ctx context.Context, appID string, live bool, id string) (*BatchRefundRow, error) {
	b, err := scanBatchRefund(tx.queryRow(ctx, `SELECT `+batchRefundCols+` FROM batch_refunds WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("batch_refund", id)
	}
	return b, err
}

// LockBatchRefund reads a batch refund for update.
func (tx *Tx) LockBatchRefund(ctx context.Context, id string) (*BatchRefundRow, error) {
	b, err := scanBatchRefund(tx.queryRow(ctx, `SELECT `+batchRefundCols+` FROM batch_refunds WHERE id=?`+tx.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("batch_refund", id)
	}
	return b, err
}

// BatchRefundByNo finds a batch refund by batch_no; nil when none.
func (tx *Tx) BatchRefundByNo(ctx context.Context, appID string, live bool, batchNo string) (*BatchRefundRow, error) {
	b, err := scanBatchRefund(tx.queryRow(ctx, `SELECT `+batchRefundCols+` FROM batch_refunds WHERE app_id=? AND livemode=? AND batch_no=?`,
		appID, b2i(live), batchNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return b, err
}

// ListBatchRefunds pages an app's batch refunds newest first.
func (tx *Tx) ListBatchRefunds(ctx context.Context, appID string, live bool, p Page) ([]*BatchRefundRow, bool, error) {
	return listPage(ctx, tx, batchRefundCols, "batch_refunds", []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}, p, scanBatchRefund)
}

// OpenBatchRefunds lists undecided batch refunds, for the poller.
func (tx *Tx) OpenBatchRefunds(ctx context.Context, limit int) ([]string, error) {
	return tx.ids(ctx, `SELECT id FROM batch_refunds WHERE status IN ('created', 'pending') ORDER BY id LIMIT ?`, limit)
}

// PayoutSettings returns an app's payout approval rules in a mode (zero
// values when never set).
func (tx *Tx) PayoutSettings(ctx context.Context, appID string, live bool) (polypay.PayoutSettings, error) {
	var s polypay.PayoutSettings
	var batches int
	err := tx.queryRow(ctx, `SELECT approve_above, approve_batches, updated FROM payout_settings WHERE app_id=? AND livemode=?`,
		appID, b2i(live)).Scan(&s.ApproveAbove, &batches, &s.Updated)
	if errors.Is(err, sql.ErrNoRows) {
		return polypay.PayoutSettings{}, nil
	}
	s.ApproveBatches = batches == 1
	return s, err
}

// PutPayoutSettings replaces an app's payout approval rules in a mode.
func (tx *Tx) PutPayoutSettings(ctx context.Context, appID string, live bool, s polypay.PayoutSettings) error {
	_, err := tx.exec(ctx, `INSERT INTO payout_settings (app_id, livemode, approve_above, approve_batches, updated) VALUES (?,?,?,?,?)
 ON CONFLICT (app_id, livemode) DO UPDATE SET approve_above = excluded.approve_above, approve_batches = excluded.approve_batches, updated = excluded.updated`,
		appID, b2i(live), s.ApproveAbove, b2i(s.ApproveBatches), s.Updated)
	return err
}
