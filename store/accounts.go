package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

// The account system's tables (migration 0031): users, their balance
// transactions, balance bonuses and balance transfers.

const userCols = `app_id, livemode, id, type, name, email, mobile, gender, address, avatar, disabled, identified,
 available_balance, withdrawable_balance, metadata, created`

func scanUser(s scanner) (*polypay.User, error) {
	var u polypay.User
	var live, disabled, identified int
	var meta string
	err := s.Scan(&u.AppID, &live, &u.ID, &u.Type, &u.Name, &u.Email, &u.Mobile, &u.Gender, &u.Address, &u.Avatar,
		&disabled, &identified, &u.AvailableBalance, &u.WithdrawableBalance, &meta, &u.Created)
	if err != nil {
		return nil, err
	}
	u.Livemode, u.Disabled, u.Identified = live == 1, disabled == 1, identified == 1
	u.Metadata = []byte(meta)
	return &u, nil
}

// InsertUser stores a new user with a zero balance; an id the app already
// has in that mode fails with a unique violation.
func (tx *Tx) InsertUser(ctx context.Context, u *polypay.User) error {
	_, err := tx.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,0,?,?)`,
		u.AppID, b2i(u.Livemode), u.ID, u.Type, u.Name, u.Email, u.Mobile, u.Gender, u.Address, u.Avatar,
		b2i(u.Disabled), b2i(u.Identified), string(u.Metadata), u.Created)
	return err
}

// UpdateUser writes a user's profile fields (never the balances, which
// only MoveBalance changes).
func (tx *Tx) UpdateUser(ctx context.Context, u *polypay.User) error {
	_, err := tx.exec(ctx, `UPDATE users SET type=?, name=?, email=?, mobile=?, gender=?, address=?, avatar=?,
 disabled=?, identified=?, metadata=? WHERE app_id=? AND livemode=? AND id=?`,
		u.Type, u.Name, u.Email, u.Mobile, u.Gender, u.Address, u.Avatar, b2i(u.Disabled), b2i(u.Identified),
		string(u.Metadata), u.AppID, b2i(u.Livemode), u.ID)
	return err
}

// GetUser returns an app's user in a mode; ENotFound naming id otherwise.
func (tx *Tx) GetUser(ctx context.Context, appID string, live bool, id string) (*polypay.User, error) {
	u, err := scanUser(tx.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE app_id=? AND livemode=? AND id=?`,
		appID, b2i(live), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("user", id)
	}
	return u, err
}

// ListUsers pages through an app's users in a mode, by id.
func (tx *Tx) ListUsers(ctx context.Context, appID string, live bool, p Page) ([]*polypay.User, bool, error) {
	return listPage(ctx, tx, userCols, "users", []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}, p, scanUser)
}

// MoveBalance adds delta (negative: a debit) to a user's available
// balance in one conditional statement and returns the balance after it.
// ok is false, and nothing changes, when a debit would take the balance
// below zero: two concurrent debits can never both spend the same money,
// on SQLite or PostgreSQL.
func (tx *Tx) MoveBalance(ctx context.Context, appID string, live bool, user string, delta int64) (after int64, ok bool, err error) {
	res, err := tx.exec(ctx, `UPDATE users SET available_balance = available_balance + ?
 WHERE app_id=? AND livemode=? AND id=? AND available_balance + ? >= 0`, delta, appID, b2i(live), user, delta)
	if err != nil {
		return 0, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, false, err
	}
	err = tx.queryRow(ctx, `SELECT available_balance FROM users WHERE app_id=? AND livemode=? AND id=?`,
		appID, b2i(live), user).Scan(&after)
	return after, err == nil, err
}

const balanceTxnCols = `id, app_id, livemode, user_id, type, amount, available_balance, source, description, created`

func scanBalanceTxn(s scanner) (*polypay.BalanceTransaction, error) {
	var t polypay.BalanceTransaction
	var live int
	var typ string
	err := s.Scan(&t.ID, &t.AppID, &live, &t.User, &typ, &t.Amount, &t.AvailableBalance, &t.Source, &t.Description, &t.Created)
	if err != nil {
		return nil, err
	}
	t.Livemode, t.Type = live == 1, polypay.BalanceTxnType(typ)
	return &t, nil
}

// InsertBalanceTxn records one movement of a balance.
func (tx *Tx) InsertBalanceTxn(ctx context.Context, t *polypay.BalanceTransaction) error {
	_, err := tx.exec(ctx, `INSERT INTO balance_transactions (`+balanceTxnCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.AppID, b2i(t.Livemode), t.User, string(t.Type), t.Amount, t.AvailableBalance, t.Source, t.Description, t.Created)
	return err
}

// GetBalanceTxn returns an app's balance transaction in a mode.
func (tx *Tx) GetBalanceTxn(ctx context.Context, appID string, live bool, id string) (*polypay.BalanceTransaction, error) {
	t, err := scanBalanceTxn(tx.queryRow(ctx, `SELECT `+balanceTxnCols+` FROM balance_transactions
 WHERE id=? AND app_id=? AND livemode=?`, id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("balance_transaction", id)
	}
	return t, err
}

// ListBalanceTxns pages through an app's balance transactions, newest
// first, of one user when user is not empty.
func (tx *Tx) ListBalanceTxns(ctx context.Context, appID string, live bool, user string, p Page) ([]*polypay.BalanceTransaction, bool, error) {
	where, args := []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}
	if user != "" {
		where, args = append(where, "user_id = ?"), append(args, user)
	}
	return listPage(ctx, tx, balanceTxnCols, "balance_transactions", where, args, p, scanBalanceTxn)
}

// UserBalances calls fn with every user's balance (the ledger check's
// side of the users).
func (tx *Tx) UserBalances(ctx context.Context, fn func(appID string, live bool, user string, balance int64) error) error {
	rows, err := tx.query(ctx, `SELECT app_id, livemode, id, available_balance FROM users`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var app, id string
		var live int
		var bal int64
		if err := rows.Scan(&app, &live, &id, &bal); err != nil {
			return err
		}
		if err := fn(app, live == 1, id, bal); err != nil {
			return err
		}
	}
	return rows.Err()
}

// BalanceBonusRow is a stored bonus with its creation parameters' hash.
type BalanceBonusRow struct {
	polypay.BalanceBonus
	ParamsHash string
}

const bonusCols = `id, app_id, livemode, user_id, amount, order_no, description, metadata, balance_transaction, params_hash, created`

func scanBonus(s scanner) (*BalanceBonusRow, error) {
	var b BalanceBonusRow
	var live int
	var meta string
	err := s.Scan(&b.ID, &b.AppID, &live, &b.User, &b.Amount, &b.OrderNo, &b.Description, &meta, &b.BalanceTransaction,
		&b.ParamsHash, &b.Created)
	if err != nil {
		return nil, err
	}
	b.Livemode, b.Metadata = live == 1, []byte(meta)
	return &b, nil
}

// InsertBonus stores a bonus; a used order_no fails with a unique violation.
func (tx *Tx) InsertBonus(ctx context.Context, b *BalanceBonusRow) error {
	_, err := tx.exec(ctx, `INSERT INTO balance_bonuses (`+bonusCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		b.ID, b.AppID, b2i(b.Livemode), b.User, b.Amount, b.OrderNo, b.Description, string(b.Metadata),
		b.BalanceTransaction, b.ParamsHash, b.Created)
	return err
}

// GetBonus returns an app's bonus in a mode.
func (tx *Tx) GetBonus(ctx context.Context, appID string, live bool, id string) (*BalanceBonusRow, error) {
	b, err := scanBonus(tx.queryRow(ctx, `SELECT `+bonusCols+` FROM balance_bonuses WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("balance_bonus", id)
	}
	return b, err
}

// BonusByOrderNo returns the bonus with an order_no, or nil.
func (tx *Tx) BonusByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*BalanceBonusRow, error) {
	b, err := scanBonus(tx.queryRow(ctx, `SELECT `+bonusCols+` FROM balance_bonuses WHERE app_id=? AND livemode=? AND order_no=?`,
		appID, b2i(live), orderNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return b, err
}

// ListBonuses pages through an app's bonuses, newest first.
func (tx *Tx) ListBonuses(ctx context.Context, appID string, live bool, user string, p Page) ([]*BalanceBonusRow, bool, error) {
	where, args := []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}
	if user != "" {
		where, args = append(where, "user_id = ?"), append(args, user)
	}
	return listPage(ctx, tx, bonusCols, "balance_bonuses", where, args, p, scanBonus)
}

// BalanceTransferRow is a stored balance transfer with its parameters' hash.
type BalanceTransferRow struct {
	polypay.BalanceTransfer
	ParamsHash string
}

const balanceTransferCols = `id, app_id, livemode, user_id, recipient, amount, user_fee, order_no, description, metadata,
 user_balance_transaction, recipient_balance_transaction, params_hash, created`

func scanBalanceTransfer(s scanner) (*BalanceTransferRow, error) {
	var t BalanceTransferRow
	var live int
	var meta string
	err := s.Scan(&t.ID, &t.AppID, &live, &t.User, &t.Recipient, &t.Amount, &t.UserFee, &t.OrderNo, &t.Description, &meta,
		&t.UserBalanceTransaction, &t.RecipientBalanceTransaction, &t.ParamsHash, &t.Created)
	if err != nil {
		return nil, err
	}
	t.Livemode, t.Metadata = live == 1, []byte(meta)
	return &t, nil
}

// InsertBalanceTransfer stores a balance transfer; a used order_no fails
// with a unique violation.
func (tx *Tx) InsertBalanceTransfer(ctx context.Context, t *BalanceTransferRow) error {
	_, err := tx.exec(ctx, `INSERT INTO balance_transfers (`+balanceTransferCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.AppID, b2i(t.Livemode), t.User, t.Recipient, t.Amount, t.UserFee, t.OrderNo, t.Description,
		string(t.Metadata), t.UserBalanceTransaction, t.RecipientBalanceTransaction, t.ParamsHash, t.Created)
	return err
}

// GetBalanceTransfer returns an app's balance transfer in a mode.
func (tx *Tx) GetBalanceTransfer(ctx context.Context, appID string, live bool, id string) (*BalanceTransferRow, error) {
	t, err := scanBalanceTransfer(tx.queryRow(ctx, `SELECT `+balanceTransferCols+` FROM balance_transfers
 WHERE id=? AND app_id=? AND livemode=?`, id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("balance_transfer", id)
	}
	return t, err
}

// BalanceTransferByOrderNo returns the balance transfer with an order_no, or nil.
func (tx *Tx) BalanceTransferByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*BalanceTransferRow, error) {
	t, err := scanBalanceTransfer(tx.queryRow(ctx, `SELECT `+balanceTransferCols+` FROM balance_transfers
 WHERE app_id=? AND livemode=? AND order_no=?`, appID, b2i(live), orderNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return t, err
}

// ListBalanceTransfers pages through an app's balance transfers, newest
// first; user filters on either side.
func (tx *Tx) ListBalanceTransfers(ctx context.Context, appID string, live bool, user string, p Page) ([]*BalanceTransferRow, bool, error) {
	where, args := []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}
	if user != "" {
		where, args = append(where, "(user_id = ? OR recipient = ?)"), append(args, user, user)
	}
	return listPage(ctx, tx, balanceTransferCols, "balance_transfers", where, args, p, scanBalanceTransfer)
}
