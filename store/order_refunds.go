package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/polypay/polypay"
)

// OrderRefund is Ping++'s order refund: the refund of an order's balance
// part and of its channel part, each an ordinary refund of its charge.
// ChargeRefund and BalanceRefund are the refunds' ids once made.
type OrderRefund struct {
	ID            string
	OrderID       string
	AppID         string
	Livemode      bool
	ChargeID      string
	ChargeAmount  int64
	ChargeRefund  string
	BalanceCharge string
	BalanceAmount int64
	BalanceRefund string
	Description   string
	Metadata      json.RawMessage
	RefundMode    string
	Created       int64
	// RoyaltyUsers is what the refund takes back of each user's royalties
	// (JSON [{user, amount_refunded}]), empty for the template's way.
	RoyaltyUsers []byte
}

const orderRefundCols = `id, order_id, app_id, livemode, charge_id, charge_amount, charge_refund, balance_charge, balance_amount,
 balance_refund, description, metadata, refund_mode, created, royalty_users`

func scanOrderRefund(s scanner) (*OrderRefund, error) {
	var r OrderRefund
	var live int
	var meta string
	var users string
	err := s.Scan(&r.ID, &r.OrderID, &r.AppID, &live, &r.ChargeID, &r.ChargeAmount, &r.ChargeRefund, &r.BalanceCharge,
		&r.BalanceAmount, &r.BalanceRefund, &r.Description, &meta, &r.RefundMode, &r.Created, &users)
	if users != "" {
		r.RoyaltyUsers = []byte(users)
	}
	if err != nil {
		return nil, err
	}
	r.Livemode, r.Metadata = live == 1, []byte(meta)
	return &r, nil
}

// InsertOrderRefund stores an order refund.
func (tx *Tx) InsertOrderRefund(ctx context.Context, r *OrderRefund) error {
	_, err := tx.exec(ctx, `INSERT INTO order_refunds (`+orderRefundCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, r.OrderID, r.AppID, b2i(r.Livemode), r.ChargeID, r.ChargeAmount, r.ChargeRefund, r.BalanceCharge,
		r.BalanceAmount, r.BalanceRefund, r.Description, string(r.Metadata), r.RefundMode, r.Created, string(r.RoyaltyUsers))
	return err
}

// SetOrderRefundParts records the refunds made for an order refund.
func (tx *Tx) SetOrderRefundParts(ctx context.Context, id, chargeRefund, balanceRefund string) error {
	_, err := tx.exec(ctx, `UPDATE order_refunds SET charge_refund=?, balance_refund=? WHERE id=?`, chargeRefund, balanceRefund, id)
	return err
}

// GetOrderRefund returns an order's refund; ENotFound naming id otherwise.
func (tx *Tx) GetOrderRefund(ctx context.Context, appID string, live bool, orderID, id string) (*OrderRefund, error) {
	r, err := scanOrderRefund(tx.queryRow(ctx, `SELECT `+orderRefundCols+` FROM order_refunds
 WHERE id=? AND order_id=? AND app_id=? AND livemode=?`, id, orderID, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("order_refund", id)
	}
	return r, err
}

// ListOrderRefunds pages through an order's refunds, newest first.
func (tx *Tx) ListOrderRefunds(ctx context.Context, appID string, live bool, orderID string, p Page) ([]*OrderRefund, bool, error) {
	return listPage(ctx, tx, orderRefundCols, "order_refunds", []string{"app_id = ?", "livemode = ?", "order_id = ?"},
		[]any{appID, b2i(live), orderID}, p, scanOrderRefund)
}

// UnfinishedOrderRefunds lists order refunds created before a time whose
// planned channel part was never made (a crash between its two parts).
func (tx *Tx) UnfinishedOrderRefunds(ctx context.Context, createdBefore int64, limit int) ([]*OrderRefund, error) {
	rows, err := tx.query(ctx, `SELECT `+orderRefundCols+` FROM order_refunds
 WHERE charge_amount > 0 AND charge_refund = '' AND created < ? ORDER BY id LIMIT ?`, createdBefore, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*OrderRefund
	for rows.Next() {
		r, err := scanOrderRefund(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
