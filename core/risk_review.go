package core

import (
	"context"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/risk"
)

// Failure codes of a charge closed unsent by its risk review.
const (
	FailureRiskRejected = "risk_rejected"       // the merchant rejected the review
	FailureRiskExpired  = "risk_review_expired" // nobody reviewed it before time_expire
)

// DecideReview approves or rejects a charge's open risk review
// (POST /v1/charges/{id}/risk_review). A card charge held as an
// authorization is captured (approve) or voided (reject); a charge held
// unsent is sent to its channel, or closed unsent with failure_code
// risk_rejected. Approving an approved charge whose sending failed sends it
// again (same out_trade_no); anything else not open is refused naming id.
func (s *Service) DecideReview(ctx context.Context, who Caller, id string, approve bool, hook Hook) (any, error) {
	var c *polypay.Charge
	if err := s.read(ctx, func(tx Tx) (err error) {
		c, err = tx.GetCharge(ctx, who.App.ID, who.Live, id)
		return err
	}); err != nil {
		return nil, err
	}
	switch {
	case c.RiskReview == polypay.ReviewOpen && c.AuthOnly:
		if approve {
			return s.Capture(ctx, who, id, CaptureParams{}, hook)
		}
		return s.Reverse(ctx, who, id)
	case c.HeldUnsent() && !approve:
		return s.rejectHeld(ctx, c.ID, polypay.ReviewRejected, hook)
	case c.HeldUnsent() || (approve && awaitingSend(c)):
		return s.sendHeld(ctx, c.ID, hook)
	case approve && c.RiskReview == polypay.ReviewApproved, !approve && c.RiskReview == polypay.ReviewRejected:
		return s.render(ctx, c.ID, hook) // the same decision again: its answer
	}
	return nil, polypay.ParamError("id", "支付 %s 没有待审核的风控复核", c.ID)
}

// awaitingSend: an approved held charge whose sending failed (no
// credential yet, still pending).
func awaitingSend(c *polypay.Charge) bool {
	return c.RiskReview == polypay.ReviewApproved && !c.AuthOnly && c.Status == polypay.ChargePending && len(c.Credential) == 0
}

// sendHeld approves a held charge and sends it. The approval is committed
// first (review closed, risk.review_closed queued, the poller told to ask
// the channel soon), then the channel is called; a failed call leaves the
// charge approved without a credential, to be sent by approving again or
// by a create retried with its order_no.
func (s *Service) sendHeld(ctx context.Context, id string, hook Hook) (any, error) {
	queued := 0
	var c *polypay.Charge
	err := s.write(ctx, func(tx Tx) (err error) {
		queued = 0
		if c, err = tx.LockCharge(ctx, id); err != nil {
			return err
		}
		if !c.HeldUnsent() {
			return nil // approved meanwhile by another request
		}
		if c.Status != polypay.ChargePending || s.now().Unix() >= c.TimeExpire {
			return polypay.ParamError("id", "支付 %s 已过期，不能再发往渠道", c.ID)
		}
		if queued, err = s.closeReview(ctx, tx, c, risk.ReviewApproved); err != nil {
			return err
		}
		return tx.ScheduleCheck(ctx, c.ID, tx.Now()+QuerySchedule[0])
	})
	s.kick(queued)
	if err != nil {
		return nil, err
	}
	if c.Status == polypay.ChargePending && len(c.Credential) == 0 {
		if err := s.resend(ctx, c); err != nil {
			return nil, err
		}
	}
	return s.render(ctx, c.ID, hook)
}

// rejectHeld closes a held charge unsent: failure_code risk_rejected (or
// risk_review_expired), charge.failed and risk.review_closed; a rejection
// counts as a failed attempt for the risk engine's velocity rules.
func (s *Service) rejectHeld(ctx context.Context, id, outcome string, hook Hook) (any, error) {
	queued := 0
	err := s.write(ctx, func(tx Tx) (err error) {
		queued = 0
		c, err := tx.LockCharge(ctx, id)
		if err != nil || !c.HeldUnsent() || c.Status != polypay.ChargePending {
			return err // decided meanwhile: answer the charge as it is
		}
		c.Status, c.FailureCode, c.FailureMsg = polypay.ChargeClosed, FailureRiskRejected, "风控复核未通过"
		if outcome == polypay.ReviewExpired {
			c.FailureCode, c.FailureMsg = FailureRiskExpired, "风控复核超时"
		} else if err := risk.FailedTx(ctx, tx, c.ID); err != nil {
			return err
		}
		closed, err := s.closeReview(ctx, tx, c, outcome)
		if err != nil {
			return err
		}
		queued, err = s.emitCharge(ctx, tx, c, polypay.EventChargeFailed)
		queued += closed
		return err
	})
	s.kick(queued)
	if err != nil {
		return nil, err
	}
	return s.render(ctx, id, hook)
}
