package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

// Coupon templates and coupons (migration 0035).

const couponTmplCols = `id, app_id, livemode, name, type, amount_off, percent_off, amount_available, max_circulation,
 max_user_circulation, time_start, time_end, duration, refundable, times_circulated, times_redeemed, metadata, created, deleted`

func scanCouponTmpl(s scanner) (*polypay.CouponTemplate, error) {
	var t polypay.CouponTemplate
	var live, refundable int
	var meta string
	err := s.Scan(&t.ID, &t.AppID, &live, &t.Name, &t.Type, &t.AmountOff, &t.PercentOff, &t.AmountAvailable,
		&t.MaxCirculation, &t.MaxUserCirculation, &t.TimeStart, &t.TimeEnd, &t.Duration, &refundable,
		&t.TimesCirculated, &t.TimesRedeemed, &meta, &t.Created, &t.Deleted)
	if err != nil {
		return nil, err
	}
	t.Livemode, t.Refundable, t.Metadata = live == 1, refundable == 1, []byte(meta)
	return &t, nil
}

// InsertCouponTemplate stores a new template.
func (tx *Tx) InsertCouponTemplate(ctx context.Context, t *polypay.CouponTemplate) error {
	_, err := tx.exec(ctx, `INSERT INTO coupon_templates (`+couponTmplCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.AppID, b2i(t.Livemode), t.Name, t.Type, t.AmountOff, t.PercentOff, t.AmountAvailable, t.MaxCirculation,
		t.MaxUserCirculation, t.TimeStart, t.TimeEnd, t.Duration, b2i(t.Refundable), 0, 0, string(t.Metadata), t.Created, 0)
	return err
}

// UpdateCouponTemplate writes a template's name, metadata and deletion.
func (tx *Tx) UpdateCouponTemplate(ctx context.Context, t *polypay.CouponTemplate) error {
	_, err := tx.exec(ctx, `UPDATE coupon_templates SET name=?, metadata=?, deleted=? WHERE id=? AND app_id=? AND livemode=?`,
		t.Name, string(t.Metadata), t.Deleted, t.ID, t.AppID, b2i(t.Livemode))
	return err
}

// GetCouponTemplate returns an app's template in a mode (deleted ones
// too: their coupons still render them); ENotFound naming id otherwise.
func (tx *Tx) GetCouponTemplate(ctx context.Context, appID string, live bool, id string) (*polypay.CouponTemplate, error) {
	t, err := scanCouponTmpl(tx.queryRow(ctx, `SELECT `+couponTmplCols+` FROM coupon_templates WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("coupon_template", id)
	}
	return t, err
}

// ListCouponTemplates pages through an app's templates not deleted.
func (tx *Tx) ListCouponTemplates(ctx context.Context, appID string, live bool, p Page) ([]*polypay.CouponTemplate, bool, error) {
	return listPage(ctx, tx, couponTmplCols, "coupon_templates", []string{"app_id = ?", "livemode = ?", "deleted = 0"},
		[]any{appID, b2i(live)}, p, scanCouponTmpl)
}

// CirculateCoupon counts one more coupon issued from a template, unless
// that would pass its max_circulation or it is deleted: one conditional
// statement, so concurrent issues never pass the limit on either store.
func (tx *Tx) CirculateCoupon(ctx context.Context, id string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE coupon_templates SET times_circulated = times_circulated + 1
 WHERE id=? AND deleted = 0 AND (max_circulation = 0 OR times_circulated < max_circulation)`, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CountRedeemed moves a template's times_redeemed by delta.
func (tx *Tx) CountRedeemed(ctx context.Context, id string, delta int64) error {
	_, err := tx.exec(ctx, `UPDATE coupon_templates SET times_redeemed = times_redeemed + ? WHERE id=?`, delta, id)
	return err
}

const couponCols = `id, app_id, livemode, user_id, template_id, time_start, time_end, order_id, redeemed, actual_amount,
 user_times_circulated, metadata, created`

func scanCoupon(s scanner) (*polypay.Coupon, error) {
	var c polypay.Coupon
	var live, redeemed int
	var meta string
	err := s.Scan(&c.ID, &c.AppID, &live, &c.User, &c.Template, &c.TimeStart, &c.TimeEnd, &c.Order, &redeemed,
		&c.ActualAmount, &c.UserTimesCirculated, &meta, &c.Created)
	if err != nil {
		return nil, err
	}
	c.Livemode, c.Redeemed, c.Metadata = live == 1, redeemed == 1, []byte(meta)
	return &c, nil
}

// InsertCoupon stores an issued coupon; the user's n-th coupon of a
// template twice fails with a unique violation.
func (tx *Tx) InsertCoupon(ctx context.Context, c *polypay.Coupon) error {
	_, err := tx.exec(ctx, `INSERT INTO coupons (`+couponCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.AppID, b2i(c.Livemode), c.User, c.Template, c.TimeStart, c.TimeEnd, c.Order, b2i(c.Redeemed),
		c.ActualAmount, c.UserTimesCirculated, string(c.Metadata), c.Created)
	return err
}

// UserCouponCount is how many coupons of a template a user was issued.
func (tx *Tx) UserCouponCount(ctx context.Context, templateID, user string) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM coupons WHERE template_id=? AND user_id=?`, templateID, user).Scan(&n)
	return n, err
}

// GetCoupon returns a user's coupon; ENotFound naming id otherwise.
func (tx *Tx) GetCoupon(ctx context.Context, appID string, live bool, user, id string) (*polypay.Coupon, error) {
	c, err := scanCoupon(tx.queryRow(ctx, `SELECT `+couponCols+` FROM coupons WHERE id=? AND app_id=? AND livemode=? AND user_id=?`,
		id, appID, b2i(live), user))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("coupon", id)
	}
	return c, err
}

// ListCoupons pages through an app's coupons of one user or one template,
// redeemed or not when redeemed is not nil.
func (tx *Tx) ListCoupons(ctx context.Context, appID string, live bool, user, templateID string, redeemed *bool, p Page) ([]*polypay.Coupon, bool, error) {
	where, args := []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}
	if user != "" {
		where, args = append(where, "user_id = ?"), append(args, user)
	}
	if templateID != "" {
		where, args = append(where, "template_id = ?"), append(args, templateID)
	}
	if redeemed != nil {
		where, args = append(where, "redeemed = ?"), append(args, b2i(*redeemed))
	}
	return listPage(ctx, tx, couponCols, "coupons", where, args, p, scanCoupon)
}

// AvailableCoupons counts a user's coupons that are neither redeemed nor
// held by an order and valid at now.
func (tx *Tx) AvailableCoupons(ctx context.Context, appID string, live bool, user string, now int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM coupons WHERE app_id=? AND livemode=? AND user_id=? AND redeemed=0
 AND order_id='' AND time_start <= ? AND (time_end = 0 OR time_end > ?)`, appID, b2i(live), user, now, now).Scan(&n)
	return n, err
}

// HoldCoupon reserves a coupon for an order, only if no order holds it
// and it is not redeemed: of concurrent orders naming one coupon, one
// gets it.
func (tx *Tx) HoldCoupon(ctx context.Context, id, orderID string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE coupons SET order_id=? WHERE id=? AND order_id='' AND redeemed=0`, orderID, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetCoupon writes a coupon's order, redemption and metadata.
func (tx *Tx) SetCoupon(ctx context.Context, c *polypay.Coupon) error {
	_, err := tx.exec(ctx, `UPDATE coupons SET order_id=?, redeemed=?, actual_amount=?, metadata=? WHERE id=?`,
		c.Order, b2i(c.Redeemed), c.ActualAmount, string(c.Metadata), c.ID)
	return err
}

// DeleteCoupon deletes a coupon no order holds.
func (tx *Tx) DeleteCoupon(ctx context.Context, id string) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM coupons WHERE id=? AND order_id='' AND redeemed=0`, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
