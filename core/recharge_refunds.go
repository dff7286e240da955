package core

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Recharge refunds (Ping++'s 充值退款): a succeeded recharge is refunded
// once and in full. In one transaction the user's balance gives back what
// the recharge credited (amount - user_fee) and its bonus, and the refund
// of the recharge's charge for amount - user_fee is made (the merchant
// keeps the fee, as for withdrawals); a balance that cannot cover it is
// refused naming amount, and nothing changes. If the channel then refuses
// the refund, the value goes back to the user in the transaction that
// records the failure.

// RechargeRefundParams are POST .../recharges/{id}/refunds' parameters.
type RechargeRefundParams struct {
	Description   string
	Metadata      json.RawMessage
	FundingSource string
}

// RefundRecharge refunds a recharge; it answers the charge's refund.
func (s *Service) RefundRecharge(ctx context.Context, who Caller, id string, p RechargeRefundParams, hook Hook) (any, error) {
	var rc *polypay.Recharge
	if err := s.read(ctx, func(tx Tx) (err error) {
		rc, err = tx.GetRecharge(ctx, who.App.ID, who.Live, id)
		return err
	}); err != nil {
		return nil, err
	}
	switch {
	case !rc.Succeeded:
		return nil, polypay.ParamError("id", "充值 %s 尚未到账，不能退款", rc.ID)
	case rc.Refunded:
		return nil, polypay.ParamError("id", "充值 %s 已退款", rc.ID)
	}
	rp := RefundParams{Amount: rc.Amount - rc.UserFee, Description: p.Description, Metadata: p.Metadata,
		FundingSource: p.FundingSource, recharge: rc.ID}
	return s.CreateRefund(ctx, who, rc.ChargeID, rp, firstThen(func(tx Tx, obj any) error {
		re := obj.(*wire.Refund)
		if ok, err := tx.SetRechargeRefund(ctx, rc.ID, re.ID); err != nil {
			return err
		} else if !ok {
			return polypay.ParamError("id", "充值 %s 已退款", rc.ID)
		}
		take := rc.Amount - rc.UserFee + rc.BonusAmount
		if _, err := moveBalance(ctx, tx, who, rc.User, -take, polypay.BalanceTxnRechargeRefund, re.ID, p.Description, "amount"); err != nil {
			return err
		}
		return tx.Post(ctx, ledger.RechargeRefunded(rc, re.ID))
	}, hook))
}

// rechargeRefundFailed gives a recharge's value back to its user when the
// refund that took it failed, in the transaction recording the failure.
func rechargeRefundFailed(ctx context.Context, tx refundBooks, c *polypay.Charge, r *polypay.Refund) error {
	rc, err := tx.RechargeByOrderNo(ctx, c.AppID, c.Livemode, c.OrderNo)
	if err != nil || rc == nil || rc.RefundID != r.ID {
		return err
	}
	if ok, err := tx.SetRechargeRefund(ctx, rc.ID, ""); err != nil || !ok {
		return err
	}
	who := Caller{App: &polypay.App{ID: rc.AppID}, Live: rc.Livemode}
	give := rc.Amount - rc.UserFee + rc.BonusAmount
	if _, err := moveBalance(ctx, tx, who, rc.User, give, polypay.BalanceTxnRechargeRevoke, r.ID, r.Description, "amount"); err != nil {
		return err
	}
	return tx.Post(ctx, ledger.RechargeRefundReverted(rc, r.ID))
}

// ListRechargeRefunds lists a recharge's refunds (those of its charge).
func (s *Service) ListRechargeRefunds(ctx context.Context, who Caller, url, id string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		rc, err := tx.GetRecharge(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		data := []any{}
		if rc.ChargeID != "" {
			rs, _, err := tx.ListRefunds(ctx, rc.ChargeID, "", "", 100)
			if err != nil {
				return err
			}
			for _, r := range rs {
				data = append(data, wire.FromRefund(r))
			}
		}
		list = wire.NewList(url, false, data)
		return nil
	})
	return list, err
}

// GetRechargeRefund answers one of a recharge's refunds.
func (s *Service) GetRechargeRefund(ctx context.Context, who Caller, id, refundID string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		rc, err := tx.GetRecharge(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		r, err := tx.GetRefund(ctx, who.App.ID, who.Live, rc.ChargeID, refundID)
		if err == nil {
			out = wire.FromRefund(r)
		}
		return err
	})
	return out, err
}
