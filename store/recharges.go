package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

const rechargeCols = `id, app_id, livemode, user_id, charge_order_no, charge_id, params_hash, amount, user_fee, bonus_amount,
 description, metadata, succeeded, time_succeeded, balance_transaction, balance_bonus, created, refunded, refund_id`

func scanRecharge(s scanner) (*polypay.Recharge, error) {
	var r polypay.Recharge
	var live, ok, refunded int
	var meta string
	err := s.Scan(&r.ID, &r.AppID, &live, &r.User, &r.ChargeOrderNo, &r.ChargeID, &r.ParamsHash, &r.Amount, &r.UserFee,
		&r.BonusAmount, &r.Description, &meta, &ok, &r.TimeSucceeded, &r.BalanceTransaction, &r.BalanceBonus, &r.Created,
		&refunded, &r.RefundID)
	if err != nil {
		return nil, err
	}
	r.Livemode, r.Succeeded, r.Metadata, r.Refunded = live == 1, ok == 1, []byte(meta), refunded == 1
	return &r, nil
}

// InsertRecharge stores a recharge; a second recharge of one charge
// order_no fails with a unique violation.
func (tx *Tx) InsertRecharge(ctx context.Context, r *polypay.Recharge) error {
	_, err := tx.exec(ctx, `INSERT INTO recharges (`+rechargeCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, r.AppID, b2i(r.Livemode), r.User, r.ChargeOrderNo, r.ChargeID, r.ParamsHash, r.Amount, r.UserFee,
		r.BonusAmount, r.Description, string(r.Metadata), b2i(r.Succeeded), r.TimeSucceeded, r.BalanceTransaction,
		r.BalanceBonus, r.Created, b2i(r.Refunded), r.RefundID)
	return err
}

// DeleteUnlinkedRecharge removes a recharge that never got its charge.
func (tx *Tx) DeleteUnlinkedRecharge(ctx context.Context, id string) error {
	_, err := tx.exec(ctx, `DELETE FROM recharges WHERE id=? AND charge_id='' AND succeeded=0`, id)
	return err
}

// SetRechargeRefund marks a succeeded recharge refunded by refundID, or
// (refundID "") no longer refunded; ok is false, and nothing changes, when
// it already was in that state: a recharge is refunded once.
func (tx *Tx) SetRechargeRefund(ctx context.Context, id, refundID string) (bool, error) {
	to := b2i(refundID != "")
	res, err := tx.exec(ctx, `UPDATE recharges SET refunded=?, refund_id=? WHERE id=? AND succeeded=1 AND refunded=?`,
		to, refundID, id, 1-to)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetRechargeCharge records the charge a recharge is paid by.
func (tx *Tx) SetRechargeCharge(ctx context.Context, id, chargeID string) error {
	_, err := tx.exec(ctx, `UPDATE recharges SET charge_id=? WHERE id=?`, chargeID, id)
	return err
}

// RechargeByOrderNo returns the recharge a charge order_no pays, or nil.
func (tx *Tx) RechargeByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*polypay.Recharge, error) {
	r, err := scanRecharge(tx.queryRow(ctx, `SELECT `+rechargeCols+` FROM recharges
 WHERE app_id=? AND livemode=? AND charge_order_no=?`, appID, b2i(live), orderNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return r, err
}

// MarkRechargeSucceeded records a recharge credited, once: ok is false when
// it already was.
func (tx *Tx) MarkRechargeSucceeded(ctx context.Context, r *polypay.Recharge) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE recharges SET succeeded=1, time_succeeded=?, balance_transaction=?, balance_bonus=?
 WHERE id=? AND succeeded=0`, r.TimeSucceeded, r.BalanceTransaction, r.BalanceBonus, r.ID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GetRecharge returns an app's recharge in a mode.
func (tx *Tx) GetRecharge(ctx context.Context, appID string, live bool, id string) (*polypay.Recharge, error) {
	r, err := scanRecharge(tx.queryRow(ctx, `SELECT `+rechargeCols+` FROM recharges WHERE id=? AND app_id=? AND livemode=?
 AND charge_id <> ''`, id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("recharge", id)
	}
	return r, err
}

// ListRecharges pages through an app's recharges, newest first.
func (tx *Tx) ListRecharges(ctx context.Context, appID string, live bool, user string, p Page) ([]*polypay.Recharge, bool, error) {
	where, args := []string{"app_id = ?", "livemode = ?", "charge_id <> ''"}, []any{appID, b2i(live)}
	if user != "" {
		where, args = append(where, "user_id = ?"), append(args, user)
	}
	return listPage(ctx, tx, rechargeCols, "recharges", where, args, p, scanRecharge)
}
