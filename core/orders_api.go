package core

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Ping++'s order API (pingpp-compat §2.11): an order names a user (uid)
// and may redeem one of the user's coupons; POST /v1/orders/{id}/pay pays
// it through a channel, from the user's balance, or split between the two
// (balance_amount + charge_amount = actual_amount). A split is two
// ordinary charges that name each other (order_charges.partner): the
// balance part is debited at once, and the order is paid when the channel
// part is. Canceling the order (or its expiry) closes the channel part at
// the channel and refunds the balance part; a refund of the order refunds
// both parts, each an ordinary refund.

// splitPending marks a balance part whose channel part is not made yet.
const splitPending = "split"

// renderAccountFields fills the order's Ping++ account-system fields.
func (s *Service) renderAccountFields(ctx context.Context, tx orderCharges, o *polypay.Order, cs []*wire.Charge, out *wire.Order) error {
	out.Coupon, out.ClientIP = nullString(o.Coupon), nullString(o.ClientIP)
	out.ReceiptApp, out.ServiceApp, out.AvailableMethods = o.AppID, o.AppID, []string{}
	out.Refunded = o.Refunded
	for _, c := range cs {
		out.AmountRefunded += c.AmountRefunded
		if o.Status != polypay.OrderPaid && c.Paid && c.Channel == BalanceChannel {
			out.AmountPaid += c.AmountSettle // a split's balance part, paid ahead
		}
	}
	if o.UID == "" {
		return nil
	}
	u, err := tx.GetUser(ctx, o.AppID, o.Livemode, o.UID)
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return nil // a cashier order's uid need not be an account-system user
	}
	if err != nil {
		return err
	}
	out.AvailableBalance = u.AvailableBalance
	out.AvailableMethods = []string{BalanceChannel}
	return nil
}

func nullString(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// holdOrderCoupon checks the order's coupon and holds it for the order,
// in the transaction that stores the order; the order's coupon_amount is
// the coupon's discount. Of concurrent orders naming one coupon, one
// holds it and the others are refused naming coupon.
func holdOrderCoupon(ctx context.Context, tx Tx, o *polypay.Order, actual int64) error {
	if o.UID == "" {
		return polypay.ParamError("uid", "使用优惠券须填写 uid（优惠券所属用户）")
	}
	c, err := tx.GetCoupon(ctx, o.AppID, o.Livemode, o.UID, o.Coupon)
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return polypay.ParamError("coupon", "用户 %s 没有优惠券 %s", o.UID, o.Coupon)
	}
	if err != nil {
		return err
	}
	if !c.ValidAt(tx.Now()) || c.Order != "" {
		return polypay.ParamError("coupon", "优惠券 %s 已使用或不在有效期内", c.ID)
	}
	t, err := tx.GetCouponTemplate(ctx, o.AppID, o.Livemode, c.Template)
	if err != nil {
		return err
	}
	off := t.Off(o.Amount)
	if off == 0 {
		return polypay.ParamError("coupon", "订单金额 %d 未达到优惠券 %s 的使用门槛 %d", o.Amount, c.ID, t.AmountAvailable)
	}
	if actual != 0 && actual != o.Amount-off {
		return polypay.ParamError("actual_amount", "actual_amount 须为订单金额减去优惠券金额，即 %d", o.Amount-off)
	}
	if ok, err := tx.HoldCoupon(ctx, c.ID, o.ID); err != nil {
		return err
	} else if !ok {
		return polypay.ParamError("coupon", "优惠券 %s 已被其他订单使用", c.ID)
	}
	o.CouponAmount = off
	return nil
}

// redeemCoupon marks a paid order's coupon redeemed and announces it.
func (s *Service) redeemCoupon(ctx context.Context, tx orderBooks, o *polypay.Order) (int, error) {
	if o.Coupon == "" {
		return 0, nil
	}
	c, err := tx.GetCoupon(ctx, o.AppID, o.Livemode, o.UID, o.Coupon)
	if err != nil {
		return 0, err
	}
	c.Redeemed, c.ActualAmount, c.Order = true, o.CouponAmount, o.ID
	if err := tx.SetCoupon(ctx, c); err != nil {
		return 0, err
	}
	if err := tx.CountRedeemed(ctx, c.Template, 1); err != nil {
		return 0, err
	}
	t, err := tx.GetCouponTemplate(ctx, c.AppID, c.Livemode, c.Template)
	if err != nil {
		return 0, err
	}
	return s.emit(ctx, tx, o.AppID, o.Livemode, polypay.EventCouponRedeemed, "", wire.FromCoupon(c, t, tx.Now()))
}

// releaseCoupon gives an order's coupon back to its user: when the order
// is canceled unpaid, or refunded in full when the template says the
// coupon is refundable.
func releaseCoupon(ctx context.Context, tx CouponStore, o *polypay.Order, refund bool) error {
	if o.Coupon == "" {
		return nil
	}
	c, err := tx.GetCoupon(ctx, o.AppID, o.Livemode, o.UID, o.Coupon)
	if err != nil || c.Order != o.ID {
		return err
	}
	if refund {
		t, err := tx.GetCouponTemplate(ctx, c.AppID, c.Livemode, c.Template)
		if err != nil || !t.Refundable || !c.Redeemed {
			return err
		}
		if err := tx.CountRedeemed(ctx, c.Template, -1); err != nil {
			return err
		}
	}
	c.Order, c.Redeemed, c.ActualAmount = "", false, 0
	return tx.SetCoupon(ctx, c)
}

// OrderPayParams are POST /v1/orders/{id}/pay's parameters.
type OrderPayParams struct {
	Channel       string
	ChargeAmount  *int64
	BalanceAmount int64
	Extra         map[string]any
	TimeExpire    int64
	ChargeOrderNo string
}

// split is how a payment divides between balance and channel.
type split struct{ balance, charge int64 }

func orderSplit(o *polypay.Order, p OrderPayParams) (split, error) {
	actual := o.Amount - o.CouponAmount
	sp := split{balance: p.BalanceAmount}
	if p.Channel == BalanceChannel {
		if p.BalanceAmount != 0 {
			return sp, polypay.ParamError("balance_amount", "channel 为 balance 时不能再填写 balance_amount")
		}
		sp.balance = actual
		if p.ChargeAmount != nil && *p.ChargeAmount != actual {
			return sp, polypay.ParamError("charge_amount", "charge_amount 须等于订单实付金额 %d", actual)
		}
		return sp, nil
	}
	sp.charge = actual - sp.balance
	if p.ChargeAmount != nil && *p.ChargeAmount != sp.charge {
		return sp, polypay.ParamError("charge_amount", "charge_amount 与 balance_amount 之和须等于订单实付金额 %d", actual)
	}
	if sp.balance < 0 || sp.charge < 0 {
		return sp, polypay.ParamError("balance_amount", "balance_amount 须在 0 到订单实付金额 %d 之间", actual)
	}
	if sp.charge > 0 && p.Channel == "" {
		return sp, polypay.ParamError("channel", "缺少参数 channel")
	}
	if sp.balance > 0 && o.UID == "" {
		return sp, polypay.ParamError("balance_amount", "订单没有 uid，不能使用余额支付")
	}
	return sp, nil
}

var payLocks sync.Map // order id -> *sync.Mutex: one API payment at a time per order on this node

// PayOrderAPI pays an order through the API (Ping++'s orders.pay).
func (s *Service) PayOrderAPI(ctx context.Context, who Caller, id string, p OrderPayParams) (*wire.Order, error) {
	mu, _ := payLocks.LoadOrStore(id, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	o, links, err := s.orderWithLinks(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if !o.Status.CanBecome(polypay.OrderPaid) {
		return nil, polypay.ParamError("id", "订单 %s 状态为 %s，不可再支付", o.ID, o.Status)
	}
	if s.OrderExpired(o) {
		return nil, polypay.ParamError("time_expire", "订单 %s 已过期", o.ID)
	}
	sp, err := orderSplit(o, p)
	if err != nil {
		return nil, err
	}
	balanceID, err := s.paidBalancePart(ctx, o, links, sp)
	if err != nil {
		return nil, err
	}
	seq := len(links) + 1
	if sp.balance > 0 && balanceID == "" {
		if balanceID, err = s.payBalancePart(ctx, who, o, sp, seq, p); err != nil {
			return nil, err
		}
		seq++
	}
	if sp.charge > 0 && !s.openChannelPart(ctx, o, links, sp, balanceID, p.Channel) {
		if err := s.payChannelPart(ctx, who, o, sp, seq, balanceID, p); err != nil {
			return nil, err
		}
	}
	return s.GetOrder(ctx, who, o.ID)
}

// openChannelPart reports whether the order already has an open charge
// for this channel part (same channel, amount and balance partner): a
// retried pay answers it instead of starting a second payment.
func (s *Service) openChannelPart(ctx context.Context, o *polypay.Order, links []store.OrderCharge, sp split, balanceID, channel string) bool {
	found := false
	_ = s.read(ctx, func(tx Tx) error {
		for _, l := range links {
			if l.Channel != channel || l.Partner != balanceID {
				continue
			}
			c, err := tx.GetCharge(ctx, o.AppID, o.Livemode, l.ChargeID)
			if err != nil {
				return err
			}
			found = found || (c.Status == polypay.ChargePending && c.Amount == sp.charge && len(c.Credential) > 0)
		}
		return nil
	})
	return found
}

func (s *Service) orderWithLinks(ctx context.Context, who Caller, id string) (*polypay.Order, []store.OrderCharge, error) {
	var o *polypay.Order
	var links []store.OrderCharge
	err := s.read(ctx, func(tx Tx) (err error) {
		if o, err = tx.GetOrder(ctx, who.App.ID, who.Live, id); err != nil {
			return err
		}
		links, err = tx.OrderCharges(ctx, o.ID)
		return err
	})
	return o, links, err
}

// paidBalancePart finds a split's balance part already paid (a second
// attempt at the channel part reuses it); it must be of the same amount.
func (s *Service) paidBalancePart(ctx context.Context, o *polypay.Order, links []store.OrderCharge, sp split) (string, error) {
	var found *polypay.Charge
	err := s.read(ctx, func(tx Tx) error {
		for _, l := range links {
			if l.Channel != BalanceChannel || l.Partner == "" {
				continue
			}
			c, err := tx.GetCharge(ctx, o.AppID, o.Livemode, l.ChargeID)
			if err != nil {
				return err
			}
			if c.Paid() && c.AmountRefunded == 0 && !c.Refunded {
				found = c
			}
		}
		return nil
	})
	if err != nil || found == nil {
		return "", err
	}
	if sp.charge == 0 || sp.balance != found.Amount {
		return "", polypay.ParamError("balance_amount", "订单已从余额支付 %d，balance_amount 须相同；如需更改请先取消订单", found.Amount)
	}
	return found.ID, nil
}

// orderChargeParams are the parameters of one of the order's charges.
func orderChargeParams(o *polypay.Order, channel string, amount int64, seq int, p OrderPayParams, extra any) ChargeParams {
	ex, _ := json.Marshal(extra)
	if extra == nil || string(ex) == "null" {
		ex = []byte("{}")
	}
	meta, _ := json.Marshal(map[string]string{"order_id": o.ID, "merchant_order_no": o.MerchantOrderNo})
	no := fmt.Sprintf("%s%02d", o.ID, seq)
	if p.ChargeOrderNo != "" && channel != BalanceChannel {
		no = p.ChargeOrderNo
	}
	exp := o.TimeExpire
	if p.TimeExpire != 0 && p.TimeExpire < exp {
		exp = p.TimeExpire
	}
	ip := o.ClientIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	return ChargeParams{OrderNo: no, AppID: o.AppID, Channel: channel, Amount: amount, ClientIP: ip, Currency: o.Currency,
		Subject: o.Subject, Body: o.Body, Description: o.Description, Extra: ex, Metadata: meta, TimeExpire: exp}
}

// payBalancePart debits the user for the balance part and links it, in
// one transaction; paid whole from the balance, the order is paid in it.
func (s *Service) payBalancePart(ctx context.Context, who Caller, o *polypay.Order, sp split, seq int, p OrderPayParams) (string, error) {
	cp := orderChargeParams(o, BalanceChannel, sp.balance, seq, p, map[string]string{"user": o.UID})
	var id string
	queued := 0
	_, err := s.CreateCharge(ctx, who, cp, func(tx Tx, obj any) error {
		w := obj.(*wire.Charge)
		id = w.ID
		if _, err := tx.OrderByID(ctx, o.ID); err != nil { // locks the order against a concurrent part
			return err
		}
		links, err := tx.OrderCharges(ctx, o.ID)
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Channel == BalanceChannel && l.Partner != "" {
				c, err := tx.GetCharge(ctx, o.AppID, o.Livemode, l.ChargeID)
				if err != nil {
					return err
				}
				if c.Paid() && !c.Refunded {
					return polypay.ParamError("balance_amount", "订单 %s 正在另一请求中从余额支付", o.ID)
				}
			}
		}
		l := store.OrderCharge{OrderID: o.ID, ChargeID: w.ID, Channel: BalanceChannel, Seq: seq, Created: tx.Now(),
			DiscountAmount: o.CouponAmount}
		if sp.charge > 0 {
			l.Partner = splitPending
		}
		if err := tx.InsertOrderCharge(ctx, l); err != nil {
			return err
		}
		if sp.charge > 0 {
			return nil
		}
		c, err := tx.GetCharge(ctx, o.AppID, o.Livemode, w.ID)
		if err != nil {
			return err
		}
		_, queued, err = s.markOrderPaid(ctx, tx, o.ID, c)
		return err
	})
	s.kick(queued)
	return id, err
}

// linkedCharge reports whether CreateCharge answered a charge this order
// already links (a replayed charge_order_no); a charge of anything else
// under that order_no is refused naming charge_order_no.
func linkedCharge(ctx context.Context, tx Tx, o *polypay.Order, w *wire.Charge) (bool, error) {
	links, err := tx.OrderCharges(ctx, o.ID)
	if err != nil {
		return false, err
	}
	for _, l := range links {
		if l.ChargeID == w.ID {
			return true, nil
		}
	}
	var md struct {
		OrderID string `json:"order_id"`
	}
	_ = json.Unmarshal(w.Metadata, &md)
	if md.OrderID != o.ID || w.Paid {
		return false, polypay.ParamError("charge_order_no", "charge_order_no %s 已被其他支付使用", w.OrderNo)
	}
	return false, nil
}

// payChannelPart creates the channel part and links it to its balance
// part. If the channel refuses, a balance part made for it is refunded at
// once: no money stays taken for an order that cannot be paid.
func (s *Service) payChannelPart(ctx context.Context, who Caller, o *polypay.Order, sp split, seq int, balanceID string, p OrderPayParams) error {
	cp := orderChargeParams(o, p.Channel, sp.charge, seq, p, p.Extra)
	_, err := s.CreateCharge(ctx, who, cp, func(tx Tx, obj any) error {
		w := obj.(*wire.Charge)
		if linked, err := linkedCharge(ctx, tx, o, w); err != nil || linked {
			return err // a replay of this very payment: linked already
		}
		l := store.OrderCharge{OrderID: o.ID, ChargeID: w.ID, Channel: p.Channel, Seq: seq, Created: tx.Now(),
			DiscountAmount: o.CouponAmount, Partner: balanceID}
		if err := tx.InsertOrderCharge(ctx, l); err != nil {
			return err
		}
		if balanceID != "" {
			return tx.SetOrderChargePartner(ctx, o.ID, balanceID, w.ID)
		}
		return nil
	})
	s.ChannelHealth().Record(o.AppID, o.Livemode, p.Channel, err, s.now())
	if err != nil && balanceID != "" {
		if _, rerr := s.CreateRefund(ctx, who, balanceID, RefundParams{Description: "渠道下单失败，退回余额"}, nil); rerr != nil {
			s.Log.Error("refunding an order's balance part after its channel part failed", "order", o.ID, "err", rerr)
		}
	}
	return err
}
