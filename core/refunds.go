package core

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// RefundParams are the validated parameters of POST /v1/charges/{id}/refunds.
type RefundParams struct {
	Amount        int64 // 0 = the whole refundable remainder
	Description   string
	Metadata      json.RawMessage
	FundingSource string
	recharge      string // the recharge whose refund this is (RefundRecharge)
}

// CreateRefund reserves the amount and records a pending refund in one
// transaction (so concurrent refunds can never exceed the paid amount), then
// asks the channel. The channel's answer is applied at once when it has
// one; otherwise the refund stays pending for the poller and the channel's
// notification. A refusal by the channel is a failed refund, not an HTTP error.
func (s *Service) CreateRefund(ctx context.Context, who Caller, chargeID string, p RefundParams, hook Hook) (any, error) {
	var c *polypay.Charge
	var r *polypay.Refund
	var out any
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		var err error
		c, err = tx.GetCharge(ctx, who.App.ID, who.Live, chargeID)
		if err != nil {
			return err
		}
		if !c.Paid() {
			return polypay.ParamError("charge", "订单 %s 尚未支付，不能退款", c.OrderNo)
		}
		if c.Status == polypay.ChargeReversed {
			return polypay.ParamError("charge", "订单 %s 已撤销，不能退款", c.OrderNo)
		}
		// A recharge's money is the user's balance now: refunding its
		// charge directly would pay it out twice. Only the recharge's own
		// refund (which takes the balance back in this transaction) may.
		if rc, err := tx.RechargeByOrderNo(ctx, c.AppID, c.Livemode, c.OrderNo); err != nil {
			return err
		} else if rc != nil && rc.ID != p.recharge {
			return polypay.ParamError("charge", "订单 %s 是充值 %s 的支付，请通过充值退款 /v1/apps/{app}/recharges/{id}/refunds 退款", c.OrderNo, rc.ID)
		}
		reserved, err := tx.Reserved(ctx, c.ID)
		if err != nil {
			return err
		}
		remaining := c.AmountCaptured - reserved
		if remaining <= 0 {
			return polypay.ParamError("charge", "不能对订单号 %s 发起退款，因为已经全额退款了。", c.OrderNo)
		}
		amount := p.Amount
		if amount == 0 {
			amount = remaining
		}
		ok, err := tx.ReserveRefund(ctx, c.ID, amount)
		if err != nil {
			return err
		}
		if !ok {
			return polypay.ParamError("amount", "退款金额 %d 超过可退金额 %d", amount, remaining)
		}
		id := polypay.NewID("re_")
		r = &polypay.Refund{
			ID: id, AppID: c.AppID, Livemode: c.Livemode, ChargeID: c.ID, ChargeOrderNo: c.OrderNo,
			OrderNo: strings.TrimPrefix(id, "re_"), Amount: amount, Currency: c.Currency,
			Status: polypay.RefundPending, Created: tx.Now(), Description: p.Description,
			Metadata: p.Metadata, FundingSource: p.FundingSource, Extra: json.RawMessage("{}"),
		}
		if err := tx.InsertRefund(ctx, r); err != nil {
			return err
		}
		c.Refunded = true
		w := wire.FromRefund(r)
		if c.Channel == BalanceChannel {
			// No channel to ask: the amount goes back to the balance now.
			if w, queued, err = s.refundToBalance(ctx, tx, c, r); err != nil {
				return err
			}
		}
		out = w
		return runHook(hook, tx, w)
	})
	s.kick(queued)
	if err != nil || c.Channel == BalanceChannel {
		return out, err
	}
	res, err := s.askRefund(ctx, c, r)
	if err != nil {
		// Unknown outcome: stays pending; the poller asks again.
		s.Log.Warn("refund request to channel failed; will retry", "refund", r.ID, "err", err)
		return out, nil
	}
	if res.Status == polypay.RefundPending {
		return out, nil
	}
	w, _, err := s.applyRefund(ctx, c.ID, r.OrderNo, res, 0, "refund response", hook, nil)
	if err != nil {
		return nil, err
	}
	if w != nil {
		out = w
	}
	return out, nil
}

func (s *Service) askRefund(ctx context.Context, c *polypay.Charge, r *polypay.Refund) (*polypay.RefundResult, error) {
	ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
	if err != nil {
		return nil, err
	}
	return ch.Refund(ctx, c, r, s.NotifyURL(s.Channels.Family(c.ChannelRoute()), c.AppID, c.Livemode))
}

// applyRefund applies a channel's word about a refund. cumulative, when
// non-zero, is the channel's total refunded for the charge after this
// refund (Alipay's refund_fee), which must cover this refund. It returns
// the refund rendered, and the outcome for the notification log.
func (s *Service) applyRefund(ctx context.Context, chargeID, orderNo string, res *polypay.RefundResult, cumulative int64, source string, hook Hook, rec *store.NotificationRecord) (any, polypay.NotifyOutcome, error) {
	var done refundApplied
	err := s.write(ctx, func(tx Tx) error {
		var err error
		done, err = s.applyRefundTx(ctx, tx, chargeID, orderNo, res, cumulative)
		if err == nil && done.out != nil {
			err = runHook(hook, tx, done.out)
		}
		if err == nil && rec != nil {
			r := *rec
			r.Outcome = string(done.outcome)
			err = tx.RecordNotification(ctx, r)
		}
		return err
	})
	s.kick(done.queued)
	if err == nil && done.outcome == polypay.OutcomeApplied {
		s.Log.Info("refund applied", "refund_no", orderNo, "status", res.Status, "source", source)
	}
	if err != nil {
		return nil, "", err
	}
	if done.outcome == polypay.OutcomeRejectedAmount {
		return nil, done.outcome, polypay.Errorf(polypay.EInvalid, "channel's refund amount (total %d, this refund %d) disagrees with ours", cumulative, res.Amount)
	}
	return done.out, done.outcome, nil
}

// refundApplied is what applying a refund result did: the refund rendered
// (nil when refused), the events queued, and the outcome for the
// notification log.
type refundApplied struct {
	out     any
	queued  int
	outcome polypay.NotifyOutcome
}

// applyRefundTx applies a refund result inside tx: a result the refund's
// status cannot become is a duplicate, amounts the channel states must
// agree with ours, and a succeeded refund is posted and announced.
func (s *Service) applyRefundTx(ctx context.Context, tx refundBooks, chargeID, orderNo string, res *polypay.RefundResult, cumulative int64) (refundApplied, error) {
	r, err := tx.RefundByOrderNo(ctx, orderNo)
	if err != nil {
		return refundApplied{}, err
	}
	if chargeID != "" && r.ChargeID != chargeID {
		return refundApplied{}, polypay.NotFound("refund", orderNo) // another charge's refund number
	}
	if !r.Status.CanBecome(res.Status) {
		w := wire.FromRefund(r)
		return refundApplied{out: w, outcome: polypay.OutcomeDuplicate}, nil
	}
	c, err := tx.LockCharge(ctx, r.ChargeID)
	if err != nil {
		return refundApplied{}, err
	}
	if !refundAmountsAgree(c, r, res, cumulative) {
		return refundApplied{outcome: polypay.OutcomeRejectedAmount}, nil
	}
	r.Status = res.Status
	r.TransactionNo = res.TransactionNo
	r.FailureCode, r.FailureMsg = res.FailureCode, res.FailureMsg
	if err := settleRefund(ctx, tx, c, r, res); err != nil {
		return refundApplied{}, err
	}
	if err := tx.UpdateRefund(ctx, r); err != nil {
		return refundApplied{}, err
	}
	w := wire.FromRefund(r)
	queued := 0
	if r.Status == polypay.RefundSucceeded {
		if queued, err = s.emit(ctx, tx, r.AppID, r.Livemode, polypay.EventRefundSucceeded, "", w); err != nil {
			return refundApplied{}, err
		}
		n, err := s.orderRefunded(ctx, tx, c)
		if err != nil {
			return refundApplied{}, err
		}
		queued += n
		if err := s.unwindRoyalties(ctx, tx, c, r); err != nil {
			return refundApplied{}, err
		}
	}
	return refundApplied{out: w, queued: queued, outcome: polypay.OutcomeApplied}, nil
}

// refundAmountsAgree reports whether the amounts a channel states about
// refund r of charge c agree with ours. cumulative is the channel's total
// as it stood right after this refund: it covers this refund and never
// exceeds the charge. It cannot be compared with our amount_refunded,
// which may already count refunds the channel made after this one (their
// answers came first; notifications arrive in any order).
func refundAmountsAgree(c *polypay.Charge, r *polypay.Refund, res *polypay.RefundResult, cumulative int64) bool {
	if cumulative != 0 && (cumulative < r.Amount || cumulative > c.AmountCaptured) {
		return false
	}
	return res.Amount == 0 || res.Amount == r.Amount
}

// settleRefund books a refund's end on its charge: a succeeded refund
// adds to amount_refunded and is posted to the ledger; a failed one
// releases the amount it reserved.
func settleRefund(ctx context.Context, tx refundBooks, c *polypay.Charge, r *polypay.Refund, res *polypay.RefundResult) error {
	switch res.Status {
	case polypay.RefundSucceeded:
		r.TimeSucceed = res.SucceededAt
		if r.TimeSucceed == 0 {
			r.TimeSucceed = tx.Now()
		}
		c.AmountRefunded += r.Amount
		if err := tx.UpdateCharge(ctx, c); err != nil {
			return err
		}
		return tx.Post(ctx, ledger.Refunded(c, r))
	case polypay.RefundFailed:
		if err := tx.ReleaseRefund(ctx, c.ID, r.Amount); err != nil {
			return err
		}
		return rechargeRefundFailed(ctx, tx, c, r)
	}
	return nil
}

// GetRefund returns one refund of a charge.
func (s *Service) GetRefund(ctx context.Context, who Caller, chargeID, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		if ok, err := tx.ChargeExists(ctx, who.App.ID, who.Live, chargeID); err != nil {
			return err
		} else if !ok {
			return polypay.NotFound("charge", chargeID)
		}
		r, err := tx.GetRefund(ctx, who.App.ID, who.Live, chargeID, id)
		if err != nil {
			return err
		}
		out = wire.FromRefund(r)
		return nil
	})
	return out, err
}

// ListRefunds lists a charge's refunds.
func (s *Service) ListRefunds(ctx context.Context, who Caller, chargeID, after, before string, limit int) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		if ok, err := tx.ChargeExists(ctx, who.App.ID, who.Live, chargeID); err != nil {
			return err
		} else if !ok {
			return polypay.NotFound("charge", chargeID)
		}
		for param, cursor := range map[string]string{"starting_after": after, "ending_before": before} {
			if cursor == "" {
				continue
			}
			if ok, err := tx.RefundExists(ctx, chargeID, cursor); err != nil {
				return err
			} else if !ok {
				return polypay.ParamError(param, "未找到 refund : %s。", cursor)
			}
		}
		rs, more, err := tx.ListRefunds(ctx, chargeID, after, before, limit)
		if err != nil {
			return err
		}
		data := make([]any, len(rs))
		for i, r := range rs {
			data[i] = wire.FromRefund(r)
		}
		out = wire.NewList("/v1/charges/"+chargeID+"/refunds", more, data)
		return nil
	})
	return out, err
}
