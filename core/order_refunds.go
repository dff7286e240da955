package core

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// OrderRefundParams are POST /v1/orders/{id}/order_refunds' parameters.
type OrderRefundParams struct {
	Charge        string
	ChargeAmount  *int64
	Description   string
	Metadata      json.RawMessage
	RefundMode    string
	FundingSource string
	// RoyaltyUsers names what this refund takes back of each user's
	// royalties on the order, instead of the template's refund_mode.
	RoyaltyUsers []RoyaltyRefundUser
}

// RoyaltyRefundUser is one entry of an order refund's royalty_users.
type RoyaltyRefundUser struct {
	User           string `json:"user"`
	AmountRefunded int64  `json:"amount_refunded"`
}

// orderParts are the charges that paid an order: its channel part and
// its balance part (either may be nil).
type orderParts struct{ channel, balance *polypay.Charge }

func paidParts(ctx context.Context, tx interface {
	OrderStore
	ChargeStore
}, o *polypay.Order) (orderParts, error) {
	var parts orderParts
	links, err := tx.OrderCharges(ctx, o.ID)
	if err != nil {
		return parts, err
	}
	ids := map[string]bool{o.ChargeID: true}
	for _, l := range links {
		if l.ChargeID == o.ChargeID && l.Partner != "" && l.Partner != splitPending {
			ids[l.Partner] = true
		}
	}
	for id := range ids {
		c, err := tx.GetCharge(ctx, o.AppID, o.Livemode, id)
		if err != nil {
			return parts, err
		}
		if c.Channel == BalanceChannel {
			parts.balance = c
		} else {
			parts.channel = c
		}
	}
	return parts, nil
}

// refundPlan is what an order refund takes from each part.
func refundPlan(parts orderParts, p OrderRefundParams) (charge, balance int64, err error) {
	left := func(c *polypay.Charge) int64 {
		if c == nil {
			return 0
		}
		return c.AmountCaptured - c.AmountRefunded
	}
	target := parts.channel
	if target == nil {
		target = parts.balance
	}
	if p.Charge != "" && (target == nil || (p.Charge != target.ID && (parts.balance == nil || p.Charge != parts.balance.ID))) {
		return 0, 0, polypay.ParamError("charge", "charge %s 不是支付该订单的 charge", p.Charge)
	}
	if p.Charge != "" && parts.balance != nil && p.Charge == parts.balance.ID {
		target = parts.balance
	}
	if p.ChargeAmount == nil {
		charge, balance = left(parts.channel), left(parts.balance)
	} else if *p.ChargeAmount <= 0 || *p.ChargeAmount > left(target) {
		return 0, 0, polypay.ParamError("charge_amount", "charge_amount 须在 1 到可退金额 %d 之间", left(target))
	} else if target == parts.balance {
		balance = *p.ChargeAmount
	} else {
		charge = *p.ChargeAmount
	}
	if charge+balance == 0 {
		return 0, 0, polypay.ParamError("id", "订单已全额退款")
	}
	return charge, balance, nil
}

// RefundOrder refunds a paid order: the balance part first (it settles
// at once, in the transaction that stores the order refund), then the
// channel part. A crash between the two leaves the order refund with its
// channel part planned; the poller makes it (finishOrderRefunds).
func (s *Service) RefundOrder(ctx context.Context, who Caller, orderID string, p OrderRefundParams, hook Hook) (any, error) {
	var o *polypay.Order
	var parts orderParts
	var chargeAmt, balanceAmt int64
	err := s.read(ctx, func(tx Tx) (err error) {
		if o, err = tx.GetOrder(ctx, who.App.ID, who.Live, orderID); err != nil {
			return err
		}
		if o.Status != polypay.OrderPaid {
			return polypay.ParamError("id", "订单 %s 尚未支付，不能退款", o.ID)
		}
		if parts, err = paidParts(ctx, tx, o); err != nil {
			return err
		}
		if chargeAmt, balanceAmt, err = refundPlan(parts, p); err != nil {
			return err
		}
		return checkRoyaltyRefund(ctx, tx, o, p.RoyaltyUsers, chargeAmt)
	})
	if err != nil {
		return nil, err
	}
	r := &store.OrderRefund{ID: polypay.NewID("or_"), OrderID: o.ID, AppID: o.AppID, Livemode: o.Livemode,
		ChargeAmount: chargeAmt, BalanceAmount: balanceAmt, Description: p.Description, Metadata: p.Metadata, RefundMode: p.RefundMode}
	if len(p.RoyaltyUsers) > 0 {
		r.RoyaltyUsers, _ = json.Marshal(p.RoyaltyUsers)
	}
	if chargeAmt > 0 {
		r.ChargeID = parts.channel.ID
	}
	if balanceAmt > 0 {
		r.BalanceCharge = parts.balance.ID
	}
	rp := RefundParams{Description: p.Description, Metadata: p.Metadata, FundingSource: p.FundingSource}
	first := true
	if balanceAmt > 0 {
		rp.Amount = balanceAmt
		if _, err := s.CreateRefund(ctx, who, r.BalanceCharge, rp, firstThen(func(tx Tx, obj any) error {
			r.BalanceRefund, r.Created = obj.(*wire.Refund).ID, tx.Now()
			return tx.InsertOrderRefund(ctx, r)
		}, nil)); err != nil {
			return nil, err
		}
		first = false
	}
	if chargeAmt > 0 {
		if err := s.refundChannelPart(ctx, who, r, rp, first); err != nil && first {
			return nil, err
		} else if err != nil {
			s.Log.Warn("order refund's channel part failed; the poller retries", "order_refund", r.ID, "err", err)
		}
	}
	var out any
	err = s.write(ctx, func(tx Tx) error {
		w, err := renderOrderRefund(ctx, tx, o, r)
		out = w
		if err == nil {
			err = runHook(hook, tx, w)
		}
		return err
	})
	return out, err
}

// refundChannelPart refunds an order refund's channel part; first, the
// transaction that makes it also stores the order refund.
func (s *Service) refundChannelPart(ctx context.Context, who Caller, r *store.OrderRefund, rp RefundParams, first bool) error {
	rp.Amount = r.ChargeAmount
	_, err := s.CreateRefund(ctx, who, r.ChargeID, rp, firstThen(func(tx Tx, obj any) error {
		r.ChargeRefund = obj.(*wire.Refund).ID
		if len(r.RoyaltyUsers) > 0 {
			if err := tx.InsertRefundRoyaltyPlan(ctx, r.ChargeRefund, r.RoyaltyUsers); err != nil {
				return err
			}
		}
		if first {
			r.Created = tx.Now()
			return tx.InsertOrderRefund(ctx, r)
		}
		return tx.SetOrderRefundParts(ctx, r.ID, r.ChargeRefund, r.BalanceRefund)
	}, nil))
	return err
}

// finishOrderRefunds makes the channel parts of order refunds a crash
// left planned (the poller's).
func (s *Service) finishOrderRefunds(ctx context.Context, now int64) error {
	var rs []*store.OrderRefund
	if err := s.read(ctx, func(tx Tx) (err error) {
		rs, err = tx.UnfinishedOrderRefunds(ctx, now-60, 20)
		return err
	}); err != nil {
		return err
	}
	for _, r := range rs {
		who := Caller{App: &polypay.App{ID: r.AppID}, Live: r.Livemode}
		rp := RefundParams{Description: r.Description, Metadata: r.Metadata}
		if err := s.refundChannelPart(ctx, who, r, rp, false); err != nil {
			s.Log.Warn("finishing an order refund's channel part", "order_refund", r.ID, "err", err)
		}
	}
	return nil
}

// renderOrderRefund renders an order refund; its status is its parts':
// failed if one failed, succeeded when all did, else pending.
func renderOrderRefund(ctx context.Context, tx Tx, o *polypay.Order, r *store.OrderRefund) (*wire.OrderRefund, error) {
	w := &wire.OrderRefund{ID: r.ID, Object: "order_refund", Order: o.ID, App: o.AppID, Livemode: o.Livemode,
		UID: nullString(o.UID), MerchantOrderNo: o.MerchantOrderNo, Coupon: nullString(o.Coupon),
		Amount: r.ChargeAmount + r.BalanceAmount, BalanceAmount: r.BalanceAmount, ChargeAmount: r.ChargeAmount,
		BalanceRefund: nullString(r.BalanceRefund), Charge: nullString(r.ChargeID), ChargeRefund: nullString(r.ChargeRefund),
		Description: nullString(r.Description), RefundMode: nullString(r.RefundMode), Metadata: r.Metadata,
		Extra: json.RawMessage("{}"), Created: r.Created, Status: string(polypay.RefundSucceeded)}
	if len(w.Metadata) == 0 {
		w.Metadata = json.RawMessage("{}")
	}
	if o.Refunded {
		w.CouponAmount = o.CouponAmount
	}
	parts := []struct{ charge, refund string }{{r.BalanceCharge, r.BalanceRefund}, {r.ChargeID, r.ChargeRefund}}
	for _, part := range parts {
		if part.charge == "" {
			continue
		}
		if part.refund == "" {
			w.Status = string(polypay.RefundPending)
			continue
		}
		re, err := tx.GetRefund(ctx, o.AppID, o.Livemode, part.charge, part.refund)
		if err != nil {
			return nil, err
		}
		switch {
		case re.Status == polypay.RefundFailed:
			w.Status = string(polypay.RefundFailed)
		case re.Status != polypay.RefundSucceeded && w.Status != string(polypay.RefundFailed):
			w.Status = string(polypay.RefundPending)
		}
		if re.TimeSucceed > 0 && (w.TimeSucceed == nil || re.TimeSucceed > *w.TimeSucceed) {
			ts := re.TimeSucceed
			w.TimeSucceed = &ts
		}
	}
	if w.Status != string(polypay.RefundSucceeded) {
		w.TimeSucceed = nil
	}
	return w, nil
}

// GetOrderRefund answers one of an order's refunds.
func (s *Service) GetOrderRefund(ctx context.Context, who Caller, orderID, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		o, err := tx.GetOrder(ctx, who.App.ID, who.Live, orderID)
		if err != nil {
			return err
		}
		r, err := tx.GetOrderRefund(ctx, who.App.ID, who.Live, o.ID, id)
		if err != nil {
			return err
		}
		out, err = renderOrderRefund(ctx, tx, o, r)
		return err
	})
	return out, err
}

// ListOrderRefunds lists an order's refunds, newest first.
func (s *Service) ListOrderRefunds(ctx context.Context, who Caller, url, orderID string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		o, err := tx.GetOrder(ctx, who.App.ID, who.Live, orderID)
		if err != nil {
			return err
		}
		rs, more, err := tx.ListOrderRefunds(ctx, who.App.ID, who.Live, o.ID, p)
		if err != nil {
			return err
		}
		list, err = renderList(url, rs, more, func(r *store.OrderRefund) (any, error) { return renderOrderRefund(ctx, tx, o, r) })
		return err
	})
	return list, err
}

// orderRefunded runs in the transaction where a refund of charge c
// succeeded: when every part that paid c's order is now refunded in full,
// the order is marked refunded, a refundable coupon goes back to its user
// and order.refunded is announced.
func (s *Service) orderRefunded(ctx context.Context, tx refundBooks, c *polypay.Charge) (int, error) {
	orderID := orderOf(c)
	if orderID == "" || c.AmountRefunded < c.AmountCaptured {
		return 0, nil
	}
	o, err := tx.OrderByID(ctx, orderID)
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return 0, nil
	}
	if err != nil || o.Status != polypay.OrderPaid || o.Refunded || o.AppID != c.AppID {
		return 0, err
	}
	parts, err := paidParts(ctx, tx, o)
	if err != nil {
		return 0, err
	}
	for _, p := range []*polypay.Charge{parts.channel, parts.balance} {
		if p == nil {
			continue
		}
		if p.ID == c.ID {
			p = c // this transaction's copy, with the refund counted
		}
		if p.AmountRefunded < p.AmountCaptured {
			return 0, nil
		}
	}
	o.Refunded = true
	if err := tx.UpdateOrder(ctx, o); err != nil {
		return 0, err
	}
	if err := releaseCoupon(ctx, tx, o, true); err != nil {
		return 0, err
	}
	w, err := s.renderOrder(ctx, tx, o)
	if err != nil {
		return 0, err
	}
	return s.emit(ctx, tx, o.AppID, o.Livemode, polypay.EventOrderRefunded, "", w)
}

// checkRoyaltyRefund refuses an order refund's royalty_users that the
// order cannot give: users without royalties on it, more than they keep,
// or take-backs on a refund with no channel part (take-backs follow the
// channel refund).
func checkRoyaltyRefund(ctx context.Context, tx Tx, o *polypay.Order, users []RoyaltyRefundUser, chargeAmt int64) error {
	if len(users) == 0 {
		return nil
	}
	if chargeAmt == 0 {
		return polypay.ParamError("royalty_users", "只有渠道支付部分的退款可以指定退回的分润")
	}
	all, err := tx.Royalties(ctx, o.AppID, o.Livemode, store.RoyaltyFilter{Payer: o.AppID, OrderID: o.ID})
	if err != nil {
		return err
	}
	kept := map[string]int64{}
	for _, g := range byRecipient(all) {
		if g.first.SourceUser != "" {
			kept[g.first.SourceUser] += g.given - g.taken
		}
	}
	seen := map[string]bool{}
	for _, u := range users {
		if u.User == "" || seen[u.User] || u.AmountRefunded < 1 || u.AmountRefunded > kept[u.User] {
			return polypay.ParamError("royalty_users", "royalty_users 的 %s 须是该订单的分润用户，且退回 1 到其剩余分润 %d 之间，不能重复", u.User, kept[u.User])
		}
		seen[u.User] = true
	}
	return nil
}
