package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

const discountCols = `id, app_id, livemode, channel, type, amount_off, percent_off, min_amount, label, created, deleted, first_payment_only`

func scanDiscount(s scanner) (*polypay.Discount, error) {
	var d polypay.Discount
	var live int
	var label string
	var first int
	if err := s.Scan(&d.ID, &d.AppID, &live, &d.Channel, &d.Type, &d.AmountOff, &d.PercentOff, &d.MinAmount,
		&label, &d.Created, &d.Deleted, &first); err != nil {
		return nil, err
	}
	d.Livemode, d.Label, d.FirstPaymentOnly = live == 1, []byte(label), first == 1
	return &d, nil
}

// InsertDiscount stores a new rule.
func (tx *Tx) InsertDiscount(ctx context.Context, d *polypay.Discount) error {
	_, err := tx.exec(ctx, `INSERT INTO discounts (`+discountCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		d.ID, d.AppID, b2i(d.Livemode), d.Channel, d.Type, d.AmountOff, d.PercentOff, d.MinAmount, string(d.Label),
		d.Created, d.Deleted, b2i(d.FirstPaymentOnly))
	return err
}

// Discounts lists the app's live (not deleted) rules in a mode, oldest first.
func (tx *Tx) Discounts(ctx context.Context, appID string, live bool) ([]*polypay.Discount, error) {
	rows, err := tx.query(ctx, `SELECT `+discountCols+` FROM discounts WHERE app_id=? AND livemode=? AND deleted=0 ORDER BY created, id`,
		appID, b2i(live))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*polypay.Discount
	for rows.Next() {
		d, err := scanDiscount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteDiscount marks the app's rule deleted and returns it; ENotFound if
// it does not exist in that app and mode or is already deleted.
func (tx *Tx) DeleteDiscount(ctx context.Context, appID string, live bool, id string) (*polypay.Discount, error) {
	d, err := scanDiscount(tx.queryRow(ctx, `SELECT `+discountCols+` FROM discounts WHERE id=? AND app_id=? AND livemode=? AND deleted=0`+tx.forUpdate(),
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("discount", id)
	}
	if err != nil {
		return nil, err
	}
	d.Deleted = tx.now
	if d.Deleted == 0 {
		d.Deleted = 1
	}
	_, err = tx.exec(ctx, `UPDATE discounts SET deleted=? WHERE id=?`, d.Deleted, d.ID)
	return d, err
}

// DiscountByID returns the app's rule in a mode, deleted or not; ENotFound
// otherwise.
func (tx *Tx) DiscountByID(ctx context.Context, appID string, live bool, id string) (*polypay.Discount, error) {
	d, err := scanDiscount(tx.queryRow(ctx, `SELECT `+discountCols+` FROM discounts WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("discount", id)
	}
	return d, err
}
