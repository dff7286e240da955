package core

import (
	"context"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/reconcile"
)

// Reconciliation decides which differences a query may settle and checks
// the outcome; the queries and the state changes they lead to are core's.
var (
	_ reconcile.Settler = (*Service)(nil)
	_ reconcile.Emitter = (*Service)(nil)
)

// SettleCharge asks the channel about a charge and applies the answer
// through the same path as the poller (applyTrade), for reconciliation: a
// statement says the channel was paid while polypay still waits. It
// returns the charge as it is afterwards and the outcome (applied,
// duplicate, no_change, ...).
//
// Errors: ENotFound for an unknown charge; the connector's errors.
func (s *Service) SettleCharge(ctx context.Context, chargeID string) (*polypay.Charge, polypay.NotifyOutcome, error) {
	c, err := s.lockedCharge(ctx, chargeID)
	if err != nil {
		return nil, "", err
	}
	ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
	if err != nil {
		return nil, "", err
	}
	t, err := ch.QueryCharge(ctx, c)
	if err != nil {
		return nil, "", err
	}
	outcome := polypay.OutcomeNoChange
	switch t.State {
	case polypay.TradePaid, polypay.TradeFinished, polypay.TradeClosed, polypay.TradeAuthorized, polypay.TradeFailed:
		if outcome, err = s.applyTrade(ctx, c.ID, t, "reconcile", nil); err != nil {
			return nil, "", err
		}
	}
	c, err = s.lockedCharge(ctx, chargeID)
	return c, outcome, err
}

// SettleRefund asks the channel about a pending refund (by its order_no)
// and applies a final answer as the poller would. It returns the refund as
// it is afterwards.
//
// Errors: ENotFound for an unknown refund; the connector's errors.
func (s *Service) SettleRefund(ctx context.Context, orderNo string) (*polypay.Refund, error) {
	var c *polypay.Charge
	var r *polypay.Refund
	read := func() error {
		return s.read(ctx, func(tx Tx) error {
			var err error
			if r, err = tx.RefundByOrderNo(ctx, orderNo); err != nil {
				return err
			}
			c, err = tx.LockCharge(ctx, r.ChargeID)
			return err
		})
	}
	if err := read(); err != nil {
		return nil, err
	}
	if r.Status != polypay.RefundPending {
		return r, nil
	}
	ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
	if err != nil {
		return nil, err
	}
	res, err := ch.QueryRefund(ctx, c, r)
	if err != nil {
		return nil, err
	}
	if res.Status != polypay.RefundPending {
		if _, _, err := s.applyRefund(ctx, c.ID, orderNo, res, 0, "reconcile", nil, nil); err != nil {
			return nil, err
		}
	}
	return r, read()
}

func (s *Service) lockedCharge(ctx context.Context, id string) (*polypay.Charge, error) {
	var c *polypay.Charge
	err := s.read(ctx, func(tx Tx) error {
		var err error
		c, err = tx.LockCharge(ctx, id)
		return err
	})
	return c, err
}

// EmitSummary stores an event of typ (summary.daily.available) carrying a
// summary object for an app and queues its webhook deliveries.
func (s *Service) EmitSummary(ctx context.Context, appID string, live bool, typ string, obj any) error {
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		var err error
		queued, err = s.emit(ctx, tx, appID, live, typ, "", obj)
		return err
	})
	s.kick(queued)
	return err
}
