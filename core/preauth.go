package core

import (
	"context"
	"errors"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/risk"
)

// HoldDuration is how long polypay keeps a pre-authorization's funds held
// before voiding it: card networks let most holds lapse after 7 days, so
// polypay releases them itself first rather than leave the customer's
// money blocked by a hold nobody will capture.
var HoldDuration = 7 * 24 * time.Hour

// CaptureParams are the parameters of POST /v1/charges/{id}/capture.
type CaptureParams struct {
	// Amount to capture, minor units, from 1 to the held amount; nil
	// captures the whole hold. A pointer, so that an explicit 0 can never
	// read as "everything".
	Amount *int64 `json:"amount"`
}

func (s *Service) authorizer(ctx context.Context, c *polypay.Charge) (polypay.Authorizer, error) {
	ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
	if err != nil {
		return nil, err
	}
	a, ok := ch.(polypay.Authorizer)
	if !ok {
		return nil, polypay.ErrNotSupported(c.Channel, "pre-authorization")
	}
	return a, nil
}

// capture and void tell the channel where to notify the outcome.
func (s *Service) capture(ctx context.Context, a polypay.Authorizer, c *polypay.Charge, amount int64) (*polypay.Trade, error) {
	return a.Capture(s.withNotifyURL(ctx, c), c, amount)
}

func (s *Service) void(ctx context.Context, a polypay.Authorizer, c *polypay.Charge) error {
	return a.Void(s.withNotifyURL(ctx, c), c)
}

func (s *Service) withNotifyURL(ctx context.Context, c *polypay.Charge) context.Context {
	return polypay.WithNotifyURL(ctx, s.NotifyURL(s.Channels.Family(c.ChannelRoute()), c.AppID, c.Livemode))
}

// Capture takes a held pre-authorization, all of it or a smaller amount.
// Capturing a charge already captured with the same amount returns it
// unchanged, so a merchant may retry a capture whose answer it lost.
func (s *Service) Capture(ctx context.Context, who Caller, id string, p CaptureParams, hook Hook) (any, error) {
	var c *polypay.Charge
	if err := s.read(ctx, func(tx Tx) (err error) {
		c, err = tx.GetCharge(ctx, who.App.ID, who.Live, id)
		return err
	}); err != nil {
		return nil, err
	}
	if !c.AuthOnly {
		return nil, polypay.ParamError("id", "charge %s was not created with capture=false, so there is nothing to capture", c.ID)
	}
	amount := c.Amount
	if p.Amount != nil {
		if *p.Amount < 1 || *p.Amount > c.Amount {
			return nil, polypay.ParamError("amount", "capture amount must be between 1 and the authorized amount %d", c.Amount)
		}
		amount = *p.Amount
	}
	switch c.Status {
	case polypay.ChargeAuthorized:
	case polypay.ChargePaid:
		if c.AmountCaptured == amount {
			return s.render(ctx, c.ID, hook)
		}
		return nil, polypay.ParamError("id", "charge %s was already captured (%d)", c.ID, c.AmountCaptured)
	case polypay.ChargePending:
		return nil, polypay.ParamError("id", "charge %s is not authorized yet: the customer has not completed payment", c.ID)
	default:
		return nil, polypay.ParamError("id", "charge %s is %s: its hold can no longer be captured", c.ID, c.Status)
	}
	a, err := s.authorizer(ctx, c)
	if err != nil {
		return nil, err
	}
	// The channel decides a race between capture and void: whichever
	// reaches it second is refused, and only the winner is applied here.
	t, err := s.capture(ctx, a, c, amount)
	if err != nil {
		return nil, channelErr(err)
	}
	if t.State != polypay.TradePaid && t.State != polypay.TradeFinished {
		return nil, &polypay.Error{Code: polypay.EChannel, Message: "渠道未确认扣款，状态为 " + string(t.State)}
	}
	if t.Amount == 0 {
		t.Amount = amount
	}
	if outcome, err := s.applyTrade(ctx, c.ID, t, "capture", nil); err != nil {
		return nil, err
	} else if outcome.Rejected() {
		s.Log.Error("capture result not applied", "charge", c.ID, "outcome", outcome)
		return nil, polypay.Errorf(polypay.EInternal, "capture result not applied: %s", outcome)
	}
	return s.render(ctx, c.ID, hook)
}

// voidHold releases a pre-authorization's hold (POST .../reverse). A
// charge still waiting for the customer is closed at the channel instead.
func (s *Service) voidHold(ctx context.Context, c *polypay.Charge) (any, error) {
	switch c.Status {
	case polypay.ChargeReversed:
		return s.render(ctx, c.ID, nil)
	case polypay.ChargeAuthorized, polypay.ChargePending:
	default:
		return nil, polypay.ParamError("id", "charge %s is %s: there is no hold to void", c.ID, c.Status)
	}
	if c.Status == polypay.ChargePending {
		ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
		if err != nil {
			return nil, err
		}
		if err := ch.CloseCharge(ctx, c); err != nil {
			return nil, channelErr(err)
		}
	} else {
		a, err := s.authorizer(ctx, c)
		if err != nil {
			return nil, err
		}
		if err := s.void(ctx, a, c); err != nil {
			return nil, channelErr(err)
		}
	}
	if err := s.markVoided(ctx, c.ID, polypay.ChargeReversed, polypay.EventChargeReversed); err != nil {
		return nil, err
	}
	return s.render(ctx, c.ID, nil)
}

// markVoided records a released hold with its event, once.
func (s *Service) markVoided(ctx context.Context, id string, to polypay.ChargeStatus, event string) error {
	queued := 0
	err := s.write(ctx, func(tx Tx) (err error) {
		queued = 0
		c, err := tx.LockCharge(ctx, id)
		if err != nil {
			return err
		}
		if !c.Status.CanBecome(to) || c.Status == polypay.ChargeClosed || c.Paid() {
			// A capture (or another void) was applied first. The channel
			// lets only one of them succeed, so a void after a capture
			// means the channel and polypay disagree: say so loudly.
			if c.Paid() {
				s.Log.Error("hold voided at the channel but captured in polypay", "charge", id)
			}
			return nil
		}
		c.Status = to
		if err := tx.UpdateCharge(ctx, c); err != nil {
			return err
		}
		if queued, err = s.emitCharge(ctx, tx, c, event); err != nil {
			return err
		}
		outcome := risk.ReviewRejected
		if to != polypay.ChargeReversed {
			outcome = risk.ReviewExpired
		}
		closed, err := s.closeReview(ctx, tx, c, outcome)
		queued += closed
		return err
	})
	s.kick(queued)
	return err
}

func (s *Service) render(ctx context.Context, id string, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		c, err := tx.LockCharge(ctx, id)
		if err != nil {
			return err
		}
		w, err := RenderCharge(ctx, tx, c)
		if err != nil {
			return err
		}
		out = w
		return runHook(hook, tx, w)
	})
	return out, err
}

// expireHolds voids holds that reached HoldDuration uncaptured. Each is
// claimed in the store first, so one node voids it; a void that fails is
// tried again in ten minutes.
func (s *Service) expireHolds(ctx context.Context, now int64) (int, error) {
	var ids []string
	err := s.write(ctx, func(tx Tx) error {
		ids = nil
		due, err := tx.ExpiredHolds(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, id := range due {
			if ok, err := tx.ClaimHold(ctx, id, now, now+600); err != nil {
				return err
			} else if ok {
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := s.expireHold(ctx, id); err != nil {
			s.Log.Warn("voiding expired hold", "charge", id, "err", err)
		}
	}
	return len(ids), nil
}

func (s *Service) expireHold(ctx context.Context, id string) error {
	var c *polypay.Charge
	if err := s.read(ctx, func(tx Tx) (err error) { c, err = tx.LockCharge(ctx, id); return }); err != nil {
		return err
	}
	a, err := s.authorizer(ctx, c)
	if err != nil {
		return err
	}
	if err := s.void(ctx, a, c); err != nil {
		// Captured at the channel meanwhile (its word arrives by query or
		// notification): nothing to void.
		var pe *polypay.Error
		if errors.As(err, &pe) && pe.Code == polypay.EChannel {
			if t, qerr := a.(polypay.Channel).QueryCharge(ctx, c); qerr == nil && (t.State == polypay.TradePaid || t.State == polypay.TradeFinished) {
				_, err := s.applyTrade(ctx, c.ID, t, "query", nil)
				return err
			}
		}
		return err
	}
	return s.markVoided(ctx, c.ID, polypay.ChargeClosed, polypay.EventChargeHoldExpired)
}
