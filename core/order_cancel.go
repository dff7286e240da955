package core

import (
	"context"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// OrderUpdate is PUT /v1/orders/{id}: fields of an unpaid order without
// charges, or Status "canceled".
type OrderUpdate struct {
	Status      string
	Amount      *int64
	Subject     *string
	Body        *string
	Description *string
	TimeExpire  int64
	Metadata    []byte
}

// UpdateOrder changes or cancels an order.
func (s *Service) UpdateOrder(ctx context.Context, who Caller, id string, p OrderUpdate) (*wire.Order, error) {
	if p.Status == string(polypay.OrderCanceled) {
		if err := s.CancelOrder(ctx, who, id); err != nil {
			return nil, err
		}
		return s.GetOrder(ctx, who, id)
	}
	err := s.write(ctx, func(tx Tx) error {
		o, err := tx.GetOrder(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		if o.Status != polypay.OrderCreated {
			return polypay.ParamError("id", "订单 %s 状态为 %s，不能修改", o.ID, o.Status)
		}
		links, err := tx.OrderCharges(ctx, o.ID)
		if err != nil {
			return err
		}
		if p.Amount != nil {
			if len(links) > 0 || o.Coupon != "" {
				return polypay.ParamError("amount", "订单已发起支付或使用了优惠券，不能修改金额")
			}
			o.Amount = *p.Amount
		}
		applyOrderText(o, p)
		if p.TimeExpire != 0 {
			if p.TimeExpire <= tx.Now() {
				return polypay.ParamError("time_expire", "time_expire 必须晚于当前时间")
			}
			o.TimeExpire = p.TimeExpire
		}
		return tx.UpdateOrder(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	return s.GetOrder(ctx, who, id)
}

func applyOrderText(o *polypay.Order, p OrderUpdate) {
	if p.Subject != nil {
		o.Subject = *p.Subject
	}
	if p.Body != nil {
		o.Body = *p.Body
	}
	if p.Description != nil {
		o.Description = *p.Description
	}
	if p.Metadata != nil {
		o.Metadata = p.Metadata
	}
}

// CancelOrder closes an unpaid order: its open charges are asked about
// and closed at their channels first (a charge found paid pays the order,
// and the cancel is refused), then the order is canceled with its coupon
// given back in one transaction, and last a split's balance part is
// refunded to the user.
func (s *Service) CancelOrder(ctx context.Context, who Caller, id string) error {
	o, links, err := s.orderWithLinks(ctx, who, id)
	if err != nil {
		return err
	}
	if o.Status != polypay.OrderCreated {
		return polypay.ParamError("status", "订单 %s 状态为 %s，不能取消", o.ID, o.Status)
	}
	return s.cancelOrder(ctx, o, links)
}

func (s *Service) cancelOrder(ctx context.Context, o *polypay.Order, links []store.OrderCharge) error {
	for _, l := range links {
		if l.Channel != BalanceChannel {
			if err := s.closeOrderCharge(ctx, o, l.ChargeID); err != nil {
				return err
			}
		}
	}
	if o, err := s.RefreshOrder(ctx, o); err != nil {
		return err
	} else if o.Status != polypay.OrderCreated {
		return polypay.ParamError("status", "订单 %s 已支付，不能取消", o.ID)
	}
	err := s.write(ctx, func(tx Tx) error {
		cur, err := tx.OrderByID(ctx, o.ID)
		if err != nil {
			return err
		}
		if !cur.Status.CanBecome(polypay.OrderCanceled) {
			return polypay.ParamError("status", "订单 %s 状态为 %s，不能取消", cur.ID, cur.Status)
		}
		cur.Status = polypay.OrderCanceled
		if err := tx.UpdateOrder(ctx, cur); err != nil {
			return err
		}
		return releaseCoupon(ctx, tx, cur, false)
	})
	if err != nil {
		return err
	}
	return s.refundBalanceParts(ctx, o, links)
}

// closeOrderCharge asks the channel about an open charge and applies what
// it says; one still open is closed at the channel, then locally.
func (s *Service) closeOrderCharge(ctx context.Context, o *polypay.Order, chargeID string) error {
	var c *polypay.Charge
	if err := s.read(ctx, func(tx Tx) (err error) {
		c, err = tx.GetCharge(ctx, o.AppID, o.Livemode, chargeID)
		return err
	}); err != nil || c.Status != polypay.ChargePending {
		return err
	}
	ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
	if err != nil {
		return err
	}
	return s.queryThenClose(ctx, c, ch, true, "order canceled")
}

// refundBalanceParts gives a canceled order's paid balance parts back.
func (s *Service) refundBalanceParts(ctx context.Context, o *polypay.Order, links []store.OrderCharge) error {
	who := Caller{App: &polypay.App{ID: o.AppID}, Live: o.Livemode}
	for _, l := range links {
		if l.Channel != BalanceChannel {
			continue
		}
		var c *polypay.Charge
		if err := s.read(ctx, func(tx Tx) (err error) {
			c, err = tx.GetCharge(ctx, o.AppID, o.Livemode, l.ChargeID)
			return err
		}); err != nil {
			return err
		}
		if !c.Paid() || c.Refunded {
			continue
		}
		if _, err := s.CreateRefund(ctx, who, c.ID, RefundParams{Description: "订单取消，退回余额"}, nil); err != nil {
			return err
		}
	}
	return nil
}

// cancelExpiredOrders cancels unpaid orders past their expiry that hold a
// coupon or a paid balance part, giving both back (the poller's).
func (s *Service) cancelExpiredOrders(ctx context.Context, now int64) (int, error) {
	var ids []string
	if err := s.read(ctx, func(tx Tx) (err error) {
		ids, err = tx.ExpiredHeldOrders(ctx, now, 50)
		return err
	}); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		var o *polypay.Order
		var links []store.OrderCharge
		if err := s.read(ctx, func(tx Tx) (err error) {
			if o, err = tx.OrderByID(ctx, id); err != nil {
				return err
			}
			links, err = tx.OrderCharges(ctx, id)
			return err
		}); err != nil {
			return n, err
		}
		if err := s.cancelOrder(ctx, o, links); err != nil {
			s.Log.Warn("canceling an expired order", "order", id, "err", err)
			continue
		}
		n++
	}
	return n, nil
}

// ListOrders lists the app's orders, newest first.
func (s *Service) ListOrders(ctx context.Context, who Caller, url string, f store.OrderFilter, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "orders", who, p); err != nil {
			return err
		}
		os, more, err := tx.ListOrders(ctx, who.App.ID, who.Live, f, p)
		if err != nil {
			return err
		}
		list, err = renderList(url, os, more, func(o *polypay.Order) (any, error) { return s.renderOrder(ctx, tx, o) })
		return err
	})
	return list, err
}

// GetOrderCharge answers one of an order's charges.
func (s *Service) GetOrderCharge(ctx context.Context, who Caller, orderID, chargeID string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		o, err := tx.GetOrder(ctx, who.App.ID, who.Live, orderID)
		if err != nil {
			return err
		}
		links, err := tx.OrderCharges(ctx, o.ID)
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.ChargeID == chargeID {
				c, err := tx.GetCharge(ctx, o.AppID, o.Livemode, chargeID)
				if err != nil {
					return err
				}
				out, err = RenderCharge(ctx, tx, c)
				return err
			}
		}
		return polypay.NotFound("charge", chargeID)
	})
	return out, err
}
