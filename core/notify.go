package core

import (
	"context"
	"errors"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// HandleNotification verifies and applies one asynchronous notification
// sent to /notify/{family}/{app}/{mode}. Every notification is recorded in
// the audit log with its outcome; only a verified one naming this app's
// channel merchant, a charge of this app and the charge's exact amount can
// change anything. It returns the answer to the channel in the channel's
// own format, for the HTTP layer to write: acknowledged when the outcome
// is (polypay.NotifyOutcome.Acked), refused otherwise (so a genuine
// notification that met a transient failure is sent again).
//
// Errors: ENotFound when family, app or mode is not a notification target
// (nothing is recorded then); no other.
func (s *Service) HandleNotification(ctx context.Context, req polypay.NotifyRequest, family, appID string, live bool) (polypay.NotifyReply, error) {
	// An unknown family, app or mode is not a notification target: it is
	// answered 404 before anything is recorded, counted or logged, since
	// every part of the path is the sender's text.
	ch, merchantID, err := s.Channels.ForNotification(ctx, family, appID, live)
	if err != nil {
		return polypay.NotifyReply{}, &polypay.Error{Code: polypay.ENotFound, Message: "unknown notification target", Err: err}
	}
	rec := store.NotificationRecord{Channel: family, AppID: appID, Live: live}
	var counted polypay.NotifyOutcome // the outcome, for the metrics
	var paidAt int64
	defer func() { s.countNotification(family, counted, paidAt) }()
	// refuse records a notification refused before it reached the charge.
	refuse := func(o polypay.NotifyOutcome, detail string) polypay.NotifyReply {
		rec.Outcome, rec.Detail = string(o), detail
		s.record(ctx, rec)
		counted = o
		return ch.Ack(o.Acked())
	}
	n, err := ch.ParseNotification(ctx, req)
	if err != nil {
		if !errors.Is(err, polypay.ErrBadSignature) {
			return refuse(polypay.OutcomeRejectedMalformed, err.Error()), nil
		}
		return refuse(polypay.OutcomeRejectedSignature, err.Error()), nil
	}
	rec.NotifyID, rec.ObjectID = n.ID, n.Trade.OutTradeNo
	if n.MerchantID != merchantID {
		return refuse(polypay.OutcomeRejectedForeign, "notification names merchant "+n.MerchantID), nil
	}
	if n.Kind == polypay.NotifyAgreement {
		outcome, id, err := s.applyAgreementNotification(ctx, appID, live, n.Agreement)
		if err != nil {
			return refuse(polypay.OutcomeError, err.Error()), nil
		}
		rec.ObjectID, rec.Outcome, counted = id, string(outcome), outcome
		s.record(ctx, rec)
		return ch.Ack(outcome.Acked()), nil
	}
	if n.Kind == polypay.NotifyPayout {
		rec.ObjectID = polypay.TransferIDOf(n.PayoutNo)
		outcome, err := s.applyPayoutNotification(ctx, appID, live, n)
		if err != nil {
			return refuse(polypay.OutcomeError, err.Error()), nil
		}
		counted, rec.Outcome = outcome, string(outcome)
		s.record(ctx, rec)
		return ch.Ack(outcome.Acked()), nil
	}
	// The charge must be this app's, in this mode.
	var c *polypay.Charge
	err = s.read(ctx, func(tx Tx) error {
		var err error
		c, err = tx.GetCharge(ctx, appID, live, n.Trade.OutTradeNo)
		return err
	})
	if err != nil {
		if polypay.ErrorCode(err) == polypay.EInternal {
			return refuse(polypay.OutcomeError, err.Error()), nil
		}
		return refuse(polypay.OutcomeRejectedUnknownCharge, err.Error()), nil
	}
	// Applied notifications are logged in the transaction that applies
	// them; only those rejected on the way are logged separately.
	var outcome polypay.NotifyOutcome
	switch n.Kind {
	case polypay.NotifyRefund:
		rec.ObjectID = n.RefundNo
		if outcome = s.refuseRefund(ctx, c, n, rec); outcome != "" {
			break // another trade's refund: recorded, not acknowledged
		}
		res := &polypay.RefundResult{Status: polypay.RefundSucceeded, SucceededAt: n.RefundAt, Amount: n.RefundAmount}
		if n.RefundStatus == polypay.RefundFailed {
			res = &polypay.RefundResult{Status: polypay.RefundFailed, FailureCode: "refund_failed", FailureMsg: "渠道通知退款失败", Amount: n.RefundAmount}
		}
		_, outcome, err = s.applyRefund(ctx, c.ID, n.RefundNo, res, n.RefundTotal, "notification", nil, &rec)
		if polypay.ErrorCode(err) == polypay.EInvalid { // logged by applyRefund
			s.Log.Warn("refund notification rejected", "app", rec.AppID, "refund_no", n.RefundNo, "err", err)
			outcome, err = polypay.OutcomeRejectedAmount, nil
		} else if polypay.ErrorCode(err) == polypay.ENotFound {
			outcome, err = polypay.OutcomeRejectedUnknownRefund, nil
			rec.Outcome = string(outcome)
			s.record(ctx, rec)
		}
	default:
		outcome, err = s.applyTrade(ctx, c.ID, &n.Trade, "notification", &rec)
		if err == nil && outcome.Anomalous() {
			s.Log.Warn("notification not applied", "channel", rec.Channel, "app", rec.AppID, "object", rec.ObjectID, "outcome", outcome)
		}
	}
	if err != nil {
		return refuse(polypay.OutcomeError, err.Error()), nil
	}
	counted = outcome
	if n.Kind == polypay.NotifyTrade && (n.Trade.State == polypay.TradePaid || n.Trade.State == polypay.TradeFinished) && outcome.Applied() {
		paidAt = n.Trade.PaidAt
	}
	return ch.Ack(outcome.Acked()), nil
}

func (s *Service) record(ctx context.Context, rec store.NotificationRecord) {
	if len(rec.Detail) > 500 {
		rec.Detail = rec.Detail[:500]
	}
	if err := s.write(ctx, func(tx Tx) error { return tx.RecordNotification(ctx, rec) }); err != nil {
		s.Log.Error("recording notification", "err", err)
	}
	if polypay.NotifyOutcome(rec.Outcome).Anomalous() {
		s.Log.Warn("notification not applied", "channel", rec.Channel, "app", rec.AppID, "object", rec.ObjectID, "outcome", rec.Outcome, "detail", rec.Detail)
	}
}
