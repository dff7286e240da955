package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

// OrderCharge links a charge made for an order.
type OrderCharge struct {
	OrderID  string
	ChargeID string
	Channel  string
	Seq      int
	Created  int64
	// The discount rule the charge was created with and its amount; the
	// charge's amount is the order's amount minus DiscountAmount.
	DiscountID     string
	DiscountAmount int64
	// Partner is the other charge of a payment split between a user's
	// balance and a channel: the order is paid when both are.
	Partner string
}

const orderCols = `id, app_id, livemode, merchant_order_no, amount, currency, subject, body, description,
 channels, return_url, metadata, status, created, time_paid, time_expire, charge_id, cashier_token, params_hash, coupon_amount, discount_id, uid,
 coupon, client_ip, refunded`

func scanOrder(s scanner) (*polypay.Order, error) {
	var o polypay.Order
	var live, refunded int
	var chans, meta, status string
	err := s.Scan(&o.ID, &o.AppID, &live, &o.MerchantOrderNo, &o.Amount, &o.Currency, &o.Subject, &o.Body,
		&o.Description, &chans, &o.ReturnURL, &meta, &status, &o.Created, &o.TimePaid, &o.TimeExpire,
		&o.ChargeID, &o.CashierToken, &o.ParamsHash, &o.CouponAmount, &o.DiscountID, &o.UID,
		&o.Coupon, &o.ClientIP, &refunded)
	if err != nil {
		return nil, err
	}
	o.Livemode, o.Status, o.Refunded = live == 1, polypay.OrderStatus(status), refunded == 1
	o.Channels, o.Metadata = []byte(chans), []byte(meta)
	return &o, nil
}

// InsertOrder stores a new order; a repeated merchant_order_no in the same
// app and mode fails with a unique violation.
func (tx *Tx) InsertOrder(ctx context.Context, o *polypay.Order) error {
	_, err := tx.exec(ctx, `INSERT INTO orders (`+orderCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		o.ID, o.AppID, b2i(o.Livemode), o.MerchantOrderNo, o.Amount, o.Currency, o.Subject, o.Body, o.Description,
		string(o.Channels), o.ReturnURL, string(o.Metadata), string(o.Status), o.Created, o.TimePaid, o.TimeExpire,
		o.ChargeID, o.CashierToken, o.ParamsHash, o.CouponAmount, o.DiscountID, o.UID, o.Coupon, o.ClientIP, b2i(o.Refunded))
	return err
}

// UpdateOrder writes an order's mutable fields.
func (tx *Tx) UpdateOrder(ctx context.Context, o *polypay.Order) error {
	_, err := tx.exec(ctx, `UPDATE orders SET status=?, time_paid=?, charge_id=?, coupon_amount=?, discount_id=?, refunded=?,
 amount=?, subject=?, body=?, description=?, metadata=?, time_expire=?, coupon=? WHERE id=?`,
		string(o.Status), o.TimePaid, o.ChargeID, o.CouponAmount, o.DiscountID, b2i(o.Refunded),
		o.Amount, o.Subject, o.Body, o.Description, string(o.Metadata), o.TimeExpire, o.Coupon, o.ID)
	return err
}

// OrderFilter narrows an order list; empty fields do not filter.
type OrderFilter struct {
	UID, MerchantOrderNo, Status string
	Paid, Refunded               *bool
}

// ListOrders pages through an app's orders, newest first.
func (tx *Tx) ListOrders(ctx context.Context, appID string, live bool, f OrderFilter, p Page) ([]*polypay.Order, bool, error) {
	where, args := []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}
	for col, v := range map[string]string{"uid": f.UID, "merchant_order_no": f.MerchantOrderNo, "status": f.Status} {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	if f.Paid != nil {
		op := "<>"
		if *f.Paid {
			op = "="
		}
		where, args = append(where, "status "+op+" ?"), append(args, string(polypay.OrderPaid))
	}
	if f.Refunded != nil {
		where, args = append(where, "refunded = ?"), append(args, b2i(*f.Refunded))
	}
	return listPage(ctx, tx, orderCols, "orders", where, args, p, scanOrder)
}

// ExpiredHeldOrders lists unpaid orders past their expiry that hold a
// coupon or a paid balance part, for the poller to cancel (which gives
// both back).
func (tx *Tx) ExpiredHeldOrders(ctx context.Context, now int64, limit int) ([]string, error) {
	return tx.ids(ctx, `SELECT o.id FROM orders o WHERE o.status = ? AND o.time_expire <= ? AND (o.coupon <> ''
 OR EXISTS (SELECT 1 FROM order_charges oc WHERE oc.order_id = o.id AND oc.partner <> '')) ORDER BY o.id LIMIT ?`,
		string(polypay.OrderCreated), now, limit)
}

// GetOrder returns the app's order in the given mode; ENotFound otherwise.
func (tx *Tx) GetOrder(ctx context.Context, appID string, live bool, id string) (*polypay.Order, error) {
	o, err := scanOrder(tx.queryRow(ctx, `SELECT `+orderCols+` FROM orders WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("order", id)
	}
	return o, err
}

// OrderByID returns any order by id (the cashier checks its token);
// ENotFound if none. In a write transaction it locks the row.
func (tx *Tx) OrderByID(ctx context.Context, id string) (*polypay.Order, error) {
	o, err := scanOrder(tx.queryRow(ctx, `SELECT `+orderCols+` FROM orders WHERE id=?`+tx.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("order", id)
	}
	return o, err
}

// OrderByMerchantNo finds an order by the merchant's order number, or nil.
func (tx *Tx) OrderByMerchantNo(ctx context.Context, appID string, live bool, no string) (*polypay.Order, error) {
	o, err := scanOrder(tx.queryRow(ctx, `SELECT `+orderCols+` FROM orders WHERE app_id=? AND livemode=? AND merchant_order_no=?`,
		appID, b2i(live), no))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return o, err
}

// InsertOrderCharge links a charge to an order.
func (tx *Tx) InsertOrderCharge(ctx context.Context, oc OrderCharge) error {
	_, err := tx.exec(ctx, `INSERT INTO order_charges (order_id, charge_id, channel, seq, created, discount_id, discount_amount, partner) VALUES (?,?,?,?,?,?,?,?)`,
		oc.OrderID, oc.ChargeID, oc.Channel, oc.Seq, oc.Created, oc.DiscountID, oc.DiscountAmount, oc.Partner)
	return err
}

// SetOrderChargePartner names a split charge's partner.
func (tx *Tx) SetOrderChargePartner(ctx context.Context, orderID, chargeID, partner string) error {
	_, err := tx.exec(ctx, `UPDATE order_charges SET partner=? WHERE order_id=? AND charge_id=?`, partner, orderID, chargeID)
	return err
}

// OrderCharges lists an order's charges, oldest first.
func (tx *Tx) OrderCharges(ctx context.Context, orderID string) ([]OrderCharge, error) {
	rows, err := tx.query(ctx, `SELECT order_id, charge_id, channel, seq, created, discount_id, discount_amount, partner FROM order_charges WHERE order_id=? ORDER BY seq`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OrderCharge
	for rows.Next() {
		var oc OrderCharge
		if err := rows.Scan(&oc.OrderID, &oc.ChargeID, &oc.Channel, &oc.Seq, &oc.Created, &oc.DiscountID, &oc.DiscountAmount, &oc.Partner); err != nil {
			return nil, err
		}
		out = append(out, oc)
	}
	return out, rows.Err()
}

// PaidOrderChannels lists the channels of the charges that paid the uid's
// paid orders in an app and mode (one entry per paid order).
func (tx *Tx) PaidOrderChannels(ctx context.Context, appID string, live bool, uid string) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT oc.channel FROM orders o JOIN order_charges oc ON oc.order_id = o.id AND oc.charge_id = o.charge_id
 WHERE o.app_id=? AND o.livemode=? AND o.uid=? AND o.status=?`, appID, b2i(live), uid, string(polypay.OrderPaid))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ch string
		if err := rows.Scan(&ch); err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, rows.Err()
}
