package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/polypay/polypay"
)

// SettleAccountRow is a stored settle account with the sealed account
// number of a bank card (Recipient.Account is then masked).
type SettleAccountRow struct {
	polypay.SettleAccount
	Sealed string
}

const settleCols = `id, app_id, livemode, user_id, channel, recipient, recipient_sealed, created`

func scanSettle(s scanner) (*SettleAccountRow, error) {
	var a SettleAccountRow
	var live int
	var rec string
	if err := s.Scan(&a.ID, &a.AppID, &live, &a.User, &a.Channel, &rec, &a.Sealed, &a.Created); err != nil {
		return nil, err
	}
	a.Livemode = live == 1
	return &a, json.Unmarshal([]byte(rec), &a.Recipient)
}

// InsertSettleAccount stores a settle account; a second one of a user on
// a channel fails with a unique violation.
func (tx *Tx) InsertSettleAccount(ctx context.Context, a *SettleAccountRow) error {
	rec, _ := json.Marshal(a.Recipient)
	_, err := tx.exec(ctx, `INSERT INTO settle_accounts (`+settleCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		a.ID, a.AppID, b2i(a.Livemode), a.User, a.Channel, string(rec), a.Sealed, a.Created)
	return err
}

// GetSettleAccount returns a user's settle account.
func (tx *Tx) GetSettleAccount(ctx context.Context, appID string, live bool, user, id string) (*SettleAccountRow, error) {
	a, err := scanSettle(tx.queryRow(ctx, `SELECT `+settleCols+` FROM settle_accounts
 WHERE id=? AND app_id=? AND livemode=? AND user_id=?`, id, appID, b2i(live), user))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("settle_account", id)
	}
	return a, err
}

// DeleteSettleAccount removes a user's settle account.
func (tx *Tx) DeleteSettleAccount(ctx context.Context, appID string, live bool, user, id string) error {
	_, err := tx.exec(ctx, `DELETE FROM settle_accounts WHERE id=? AND app_id=? AND livemode=? AND user_id=?`,
		id, appID, b2i(live), user)
	return err
}

// ListSettleAccounts returns a user's settle accounts (a few: one per channel).
func (tx *Tx) ListSettleAccounts(ctx context.Context, appID string, live bool, user string) ([]*SettleAccountRow, error) {
	rows, err := tx.query(ctx, `SELECT `+settleCols+` FROM settle_accounts WHERE app_id=? AND livemode=? AND user_id=?
 ORDER BY `+tx.byteOrder("id"), appID, b2i(live), user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*SettleAccountRow
	for rows.Next() {
		a, err := scanSettle(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// WithdrawalRow is a stored withdrawal with its parameters' hash.
type WithdrawalRow struct {
	polypay.Withdrawal
	ParamsHash string
}

const withdrawalCols = `id, app_id, livemode, user_id, amount, user_fee, channel, order_no, settle_account, transfer_order_no,
 transfer_id, status, description, metadata, failure_msg, balance_transaction, params_hash, created, time_confirmed,
 time_succeeded, time_canceled`

func scanWithdrawal(s scanner) (*WithdrawalRow, error) {
	var w WithdrawalRow
	var live int
	var status, meta string
	err := s.Scan(&w.ID, &w.AppID, &live, &w.User, &w.Amount, &w.UserFee, &w.Channel, &w.OrderNo, &w.SettleAccount,
		&w.TransferOrderNo, &w.TransferID, &status, &w.Description, &meta, &w.FailureMsg, &w.BalanceTransaction,
		&w.ParamsHash, &w.Created, &w.TimeConfirmed, &w.TimeSucceeded, &w.TimeCanceled)
	if err != nil {
		return nil, err
	}
	w.Livemode, w.Status, w.Metadata = live == 1, polypay.WithdrawalStatus(status), []byte(meta)
	return &w, nil
}

// InsertWithdrawal stores a withdrawal; a used order_no fails with a
// unique violation.
func (tx *Tx) InsertWithdrawal(ctx context.Context, w *WithdrawalRow) error {
	_, err := tx.exec(ctx, `INSERT INTO withdrawals (`+withdrawalCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		w.ID, w.AppID, b2i(w.Livemode), w.User, w.Amount, w.UserFee, w.Channel, w.OrderNo, w.SettleAccount,
		w.TransferOrderNo, w.TransferID, string(w.Status), w.Description, string(w.Metadata), w.FailureMsg,
		w.BalanceTransaction, w.ParamsHash, w.Created, w.TimeConfirmed, w.TimeSucceeded, w.TimeCanceled)
	return err
}

// MoveWithdrawal changes a withdrawal's status from `from` to w.Status with
// its other mutable fields; ok is false, and nothing changes, when it is
// no longer in `from` (another request or the poller moved it first). A
// transfer id once recorded is never replaced, and a withdrawal whose
// transfer another transaction recorded meanwhile cannot be failed as
// unsent (failing it with an empty w.TransferID matches nothing then).
func (tx *Tx) MoveWithdrawal(ctx context.Context, w *WithdrawalRow, from polypay.WithdrawalStatus) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE withdrawals SET status=?, transfer_id=?, failure_msg=?, time_confirmed=?, time_succeeded=?,
 time_canceled=? WHERE id=? AND status=? AND (transfer_id = '' OR transfer_id = ?)`, string(w.Status), w.TransferID,
		w.FailureMsg, w.TimeConfirmed, w.TimeSucceeded, w.TimeCanceled, w.ID, string(from), w.TransferID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GetWithdrawal returns an app's withdrawal in a mode.
func (tx *Tx) GetWithdrawal(ctx context.Context, appID string, live bool, id string) (*WithdrawalRow, error) {
	w, err := scanWithdrawal(tx.queryRow(ctx, `SELECT `+withdrawalCols+` FROM withdrawals WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("withdrawal", id)
	}
	return w, err
}

// WithdrawalByOrderNo returns the withdrawal with an order_no, or nil.
func (tx *Tx) WithdrawalByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*WithdrawalRow, error) {
	w, err := scanWithdrawal(tx.queryRow(ctx, `SELECT `+withdrawalCols+` FROM withdrawals WHERE app_id=? AND livemode=? AND order_no=?`,
		appID, b2i(live), orderNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return w, err
}

// WithdrawalByTransfer returns the withdrawal a transfer pays out (by the
// transfer's channel and order_no), or nil.
func (tx *Tx) WithdrawalByTransfer(ctx context.Context, appID string, live bool, channel, orderNo string) (*WithdrawalRow, error) {
	w, err := scanWithdrawal(tx.queryRow(ctx, `SELECT `+withdrawalCols+` FROM withdrawals
 WHERE app_id=? AND livemode=? AND channel=? AND transfer_order_no=?`, appID, b2i(live), channel, orderNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return w, err
}

// ListWithdrawals pages through an app's withdrawals, newest first.
func (tx *Tx) ListWithdrawals(ctx context.Context, appID string, live bool, user, status string, p Page) ([]*WithdrawalRow, bool, error) {
	where, args := []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}
	if user != "" {
		where, args = append(where, "user_id = ?"), append(args, user)
	}
	if status != "" {
		where, args = append(where, "status = ?"), append(args, status)
	}
	return listPage(ctx, tx, withdrawalCols, "withdrawals", where, args, p, scanWithdrawal)
}

// UnsentWithdrawals returns withdrawals confirmed before confirmedBefore
// that have no transfer yet, longest waiting first.
func (tx *Tx) UnsentWithdrawals(ctx context.Context, confirmedBefore int64, limit int) ([]*WithdrawalRow, error) {
	rows, err := tx.query(ctx, `SELECT `+withdrawalCols+` FROM withdrawals WHERE status = 'pending' AND transfer_id = ''
 AND time_confirmed < ? ORDER BY time_confirmed LIMIT ?`, confirmedBefore, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*WithdrawalRow
	for rows.Next() {
		w, err := scanWithdrawal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// BatchWithdrawal is a stored batch withdrawal: the action (status pending
// to confirm, canceled to cancel) and the withdrawals it named.
type BatchWithdrawal struct {
	ID          string
	AppID       string
	Livemode    bool
	Status      string
	Withdrawals []string
	Created     int64
}

const batchWdCols = `id, app_id, livemode, status, withdrawals, created`

func scanBatchWd(s scanner) (*BatchWithdrawal, error) {
	var b BatchWithdrawal
	var live int
	var ids string
	if err := s.Scan(&b.ID, &b.AppID, &live, &b.Status, &ids, &b.Created); err != nil {
		return nil, err
	}
	b.Livemode = live == 1
	return &b, json.Unmarshal([]byte(ids), &b.Withdrawals)
}

// InsertBatchWithdrawal stores a batch withdrawal.
func (tx *Tx) InsertBatchWithdrawal(ctx context.Context, b *BatchWithdrawal) error {
	ids, _ := json.Marshal(b.Withdrawals)
	_, err := tx.exec(ctx, `INSERT INTO batch_withdrawals (`+batchWdCols+`) VALUES (?,?,?,?,?,?)`,
		b.ID, b.AppID, b2i(b.Livemode), b.Status, string(ids), b.Created)
	return err
}

// GetBatchWithdrawal returns an app's batch withdrawal in a mode.
func (tx *Tx) GetBatchWithdrawal(ctx context.Context, appID string, live bool, id string) (*BatchWithdrawal, error) {
	b, err := scanBatchWd(tx.queryRow(ctx, `SELECT `+batchWdCols+` FROM batch_withdrawals WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("batch_withdrawal", id)
	}
	return b, err
}

// ListBatchWithdrawals pages through an app's batch withdrawals.
func (tx *Tx) ListBatchWithdrawals(ctx context.Context, appID string, live bool, p Page) ([]*BatchWithdrawal, bool, error) {
	return listPage(ctx, tx, batchWdCols, "batch_withdrawals", []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}, p, scanBatchWd)
}
