package core

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// RechargeParams are a recharge's parameters: the user, the charge that
// pays it (any channel), the fee the merchant keeps and a bonus credited
// with it.
type RechargeParams struct {
	User        string
	Charge      ChargeParams
	UserFee     int64
	BonusAmount int64
	Description string
	Metadata    json.RawMessage
}

// CreateRecharge stores the recharge, then creates the charge that pays
// it. The recharge is keyed by its charge's order_no and stored first, so
// a payment recorded while the charge is created (a payment code paid at
// once) or after a crash between the two finds it and credits it. Nothing
// is credited now: the user's balance moves when the charge's verified
// payment arrives (creditRecharge). Retrying with the charge's order_no
// answers the same recharge; an order_no an ordinary charge used, or one
// used with other parameters, is refused.
func (s *Service) CreateRecharge(ctx context.Context, who Caller, p RechargeParams, hook Hook) (any, error) {
	if p.UserFee < 0 || p.UserFee >= p.Charge.Amount {
		return nil, polypay.ParamError("user_fee", "user_fee 须为 0 到 amount - 1 之间的整数")
	}
	if p.Charge.Currency != polypay.BalanceCurrency {
		return nil, polypay.ParamError("charge[currency]", "充值只支持 cny")
	}
	if isScan(p.Charge.Channel) {
		// A payment code's charge may be reversed at the channel after its
		// outcome was in doubt; taking back a balance already credited (and
		// perhaps spent) is not built, so recharges do not use them.
		return nil, polypay.ParamError("charge[channel]", "充值暂不支持付款码渠道 %s", p.Charge.Channel)
	}
	if p.Charge.Channel == BalanceChannel {
		// A balance paying a balance would be a transfer under another name.
		return nil, polypay.ParamError("charge[channel]", "充值不能使用 balance 渠道")
	}
	if p.Charge.AuthOnly {
		return nil, polypay.ParamError("charge[capture]", "未知参数: charge[%s]", "capture")
	}
	p.Charge.AppID = who.App.ID
	r, err := s.storeRecharge(ctx, who, p)
	if err != nil {
		return nil, err
	}
	var out any
	queued := 0
	_, err = s.CreateCharge(context.WithValue(ctx, rechargeKey{}, r.ChargeOrderNo), who, p.Charge, func(tx Tx, obj any) error {
		w, n, err := s.linkRecharge(ctx, tx, r, obj.(*wire.Charge))
		if err != nil {
			return err
		}
		out, queued = w, n
		return runHook(hook, tx, w)
	})
	s.kick(queued)
	if polypay.ErrorCode(err) == polypay.EInvalid {
		s.dropUnlinked(ctx, r)
	}
	return out, chargeParam(err)
}

// rechargeKey marks the context of a recharge's own charge creation: only
// it may use an order_no a recharge holds.
type rechargeKey struct{}

// heldByRecharge refuses an ordinary charge whose order_no a recharge
// holds (ctx is not that recharge's charge creation).
func (s *Service) heldByRecharge(ctx context.Context, who Caller, orderNo string) error {
	if mine, _ := ctx.Value(rechargeKey{}).(string); mine == orderNo {
		return nil
	}
	return s.read(ctx, func(tx Tx) error {
		r, err := tx.RechargeByOrderNo(ctx, who.App.ID, who.Live, orderNo)
		if err == nil && r != nil {
			err = polypay.ParamError("order_no", "订单号 %s 已被充值 %s 使用", orderNo, r.ID)
		}
		return err
	})
}

// dropUnlinked removes a recharge whose charge was refused and never
// stored, so the merchant may retry the order_no with corrected
// parameters.
func (s *Service) dropUnlinked(ctx context.Context, r *polypay.Recharge) {
	err := s.write(ctx, func(tx Tx) error {
		if c, err := tx.ChargeByOrderNo(ctx, r.AppID, r.Livemode, r.ChargeOrderNo); err != nil || c != nil {
			return err
		}
		return tx.DeleteUnlinkedRecharge(ctx, r.ID)
	})
	if err != nil {
		s.Log.Warn("removing a recharge whose charge was refused", "recharge", r.ID, "err", err)
	}
}

// storeRecharge stores a new recharge for p's charge order_no, or returns
// the one stored by an earlier attempt with the same parameters.
func (s *Service) storeRecharge(ctx context.Context, who Caller, p RechargeParams) (*polypay.Recharge, error) {
	r := &polypay.Recharge{ID: polypay.NewID("rch_"), AppID: who.App.ID, Livemode: who.Live, User: p.User,
		ChargeOrderNo: p.Charge.OrderNo, ParamsHash: hashJSON(p), Amount: p.Charge.Amount, UserFee: p.UserFee,
		BonusAmount: p.BonusAmount, Description: p.Description, Metadata: p.Metadata}
	err := s.write(ctx, func(tx Tx) error {
		old, err := tx.RechargeByOrderNo(ctx, r.AppID, r.Livemode, r.ChargeOrderNo)
		if err != nil {
			return err
		}
		if old != nil {
			if old.ParamsHash != r.ParamsHash {
				return polypay.ParamError("charge[order_no]", "订单号 %s 已被使用，且参数与原支付请求不同", r.ChargeOrderNo)
			}
			r = old
			return nil
		}
		if c, err := tx.ChargeByOrderNo(ctx, r.AppID, r.Livemode, r.ChargeOrderNo); err != nil {
			return err
		} else if c != nil {
			return polypay.ParamError("charge[order_no]", "订单号 %s 已被一笔支付使用", r.ChargeOrderNo)
		}
		if _, err := activeUser(ctx, tx, who, r.User, "user"); err != nil {
			return err
		}
		r.Created = tx.Now()
		return tx.InsertRecharge(ctx, r)
	})
	if again, ok := retryOnce(ctx); ok && store.IsUniqueViolation(err) {
		return s.storeRecharge(again, who, p)
	}
	return r, err
}

// linkRecharge records the recharge's charge, in the transaction that
// answers the charge. The charge row is locked first, as applyPaid locks
// it, so a payment recorded meanwhile is either seen here (and credited
// now) or sees the recharge (and credits it then).
func (s *Service) linkRecharge(ctx context.Context, tx Tx, r *polypay.Recharge, c *wire.Charge) (*wire.Recharge, int, error) {
	ch, err := tx.LockCharge(ctx, c.ID)
	if err != nil {
		return nil, 0, err
	}
	cur, err := tx.RechargeByOrderNo(ctx, r.AppID, r.Livemode, r.ChargeOrderNo)
	if err != nil {
		return nil, 0, err
	}
	if cur.ChargeID == "" {
		cur.ChargeID = ch.ID
		if err := tx.SetRechargeCharge(ctx, cur.ID, ch.ID); err != nil {
			return nil, 0, err
		}
	}
	queued := 0
	if ch.Paid() {
		if queued, err = s.creditRecharge(ctx, tx, ch); err != nil {
			return nil, 0, err
		}
		if cur, err = tx.RechargeByOrderNo(ctx, r.AppID, r.Livemode, r.ChargeOrderNo); err != nil {
			return nil, 0, err
		}
	}
	w, err := renderRecharge(ctx, tx, cur, nil)
	return w, queued, err
}

// renderRecharge renders a recharge with its charge (c, or the stored
// one when nil) and its bonus.
func renderRecharge(ctx context.Context, tx accountBooks, r *polypay.Recharge, c *wire.Charge) (*wire.Recharge, error) {
	if c == nil {
		ch, err := tx.GetCharge(ctx, r.AppID, r.Livemode, r.ChargeID)
		if err != nil {
			return nil, err
		}
		if c, err = RenderCharge(ctx, tx, ch); err != nil {
			return nil, err
		}
	}
	var bonus *polypay.BalanceBonus
	if r.BalanceBonus != "" {
		b, err := tx.GetBonus(ctx, r.AppID, r.Livemode, r.BalanceBonus)
		if err != nil {
			return nil, err
		}
		bonus = &b.BalanceBonus
	}
	return wire.FromRecharge(r, c, bonus), nil
}

// creditRecharge runs in the transaction that records a charge paid: if
// the charge pays a recharge not yet credited, the user gets amount -
// user_fee (and the bonus), with balance transactions, postings and
// recharge.succeeded. A duplicate or late notification finds it credited
// and changes nothing.
func (s *Service) creditRecharge(ctx context.Context, tx accountBooks, c *polypay.Charge) (int, error) {
	r, err := tx.RechargeByOrderNo(ctx, c.AppID, c.Livemode, c.OrderNo)
	if err != nil || r == nil || r.Succeeded || (r.ChargeID != "" && r.ChargeID != c.ID) {
		return 0, err
	}
	if c.AmountCaptured != r.Amount {
		// Not the payment the recharge asked for: credit nothing.
		s.Log.Warn("recharge charge paid another amount; not credited", "recharge", r.ID, "charge", c.ID,
			"paid", c.AmountCaptured, "amount", r.Amount)
		return 0, nil
	}
	if r.ChargeID == "" {
		// Paid before its creation linked it (a payment code paid at once).
		r.ChargeID = c.ID
		if err := tx.SetRechargeCharge(ctx, r.ID, c.ID); err != nil {
			return 0, err
		}
	}
	who := Caller{App: &polypay.App{ID: r.AppID}, Live: r.Livemode}
	r.Succeeded, r.TimeSucceeded = true, tx.Now()
	bt, err := moveBalance(ctx, tx, who, r.User, r.Amount-r.UserFee, polypay.BalanceTxnRecharge, r.ID, r.Description, "amount")
	if err != nil {
		return 0, err
	}
	r.BalanceTransaction = bt.ID
	queued := 0
	if r.BonusAmount > 0 {
		b := &store.BalanceBonusRow{ParamsHash: "recharge"}
		b.BalanceBonus = polypay.BalanceBonus{ID: polypay.NewID("bb_"), AppID: r.AppID, Livemode: r.Livemode, User: r.User,
			Amount: r.BonusAmount, OrderNo: "recharge_" + r.ID, Description: r.Description, Metadata: []byte("{}")}
		// A disabled user still gets what they paid for and its bonus.
		if queued, err = s.creditBonus(ctx, tx, who, b); err != nil {
			return 0, err
		}
		r.BalanceBonus = b.ID
	}
	if ok, err := tx.MarkRechargeSucceeded(ctx, r); err != nil {
		return 0, err
	} else if !ok {
		// The charge row is locked, so this cannot race; if it ever does,
		// roll the credit back rather than pay twice.
		return 0, errors.New("core: recharge " + r.ID + " was credited concurrently")
	}
	if err := tx.Post(ctx, ledger.RechargeCredited(r)); err != nil {
		return 0, err
	}
	w, err := renderRecharge(ctx, tx, r, nil)
	if err != nil {
		return 0, err
	}
	n, err := s.emit(ctx, tx, r.AppID, r.Livemode, polypay.EventRechargeSucceeded, "", w)
	return queued + n, err
}

// GetRecharge answers one recharge with its charge.
func (s *Service) GetRecharge(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		r, err := tx.GetRecharge(ctx, who.App.ID, who.Live, id)
		if err == nil {
			out, err = renderRecharge(ctx, tx, r, nil)
		}
		return err
	})
	return out, err
}

// ListRecharges lists recharges, newest first, of one user when user is
// not empty.
func (s *Service) ListRecharges(ctx context.Context, who Caller, url, user string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "recharges", who, p); err != nil {
			return err
		}
		rs, more, err := tx.ListRecharges(ctx, who.App.ID, who.Live, user, p)
		if err != nil {
			return err
		}
		data := make([]any, 0, len(rs))
		for _, r := range rs {
			w, err := renderRecharge(ctx, tx, r, nil)
			if err != nil {
				return err
			}
			data = append(data, w)
		}
		list = wire.NewList(url, more, data)
		return nil
	})
	return list, err
}

// chargeParam names a charge parameter's error as the embedded charge's
// (charge[channel]).
func chargeParam(err error) error {
	var pe *polypay.Error
	if errors.As(err, &pe) && pe.Param != "" && !strings.HasPrefix(pe.Param, "charge[") {
		pe.Param = polypay.NestParam("charge", pe.Param)
	}
	return err
}
