package core

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// HandleNotification verifies and applies one asynchronous notification
// sent to /notify/{family}/{app}/{mode}. Every notification is recorded in
// the audit log with its outcome; only a verified one naming this app's
// channel merchant, a charge of this app and the charge's exact amount can
// change anything. It answers the channel in the channel's own format:
// acknowledged when applied or already applied, refused otherwise (so a
// genuine notification that met a transient failure is sent again).
func (s *Service) HandleNotification(ctx context.Context, w http.ResponseWriter, r *http.Request, family, appID string, live bool, body []byte) {
	// An unknown family, app or mode is not a notification target: it is
	// answered 404 before anything is recorded, counted or logged, since
	// every part of the path is the sender's text.
	ch, merchantID, err := s.Channels.ForNotification(ctx, family, appID, live)
	if err != nil {
		http.Error(w, "unknown notification target", http.StatusNotFound)
		return
	}
	rec := store.NotificationRecord{Channel: family, AppID: appID, Live: live}
	var counted string // the outcome, for the metrics
	var paidAt int64
	defer func() { s.countNotification(family, counted, paidAt) }()
	n, err := ch.ParseNotification(ctx, r, body)
	if err != nil {
		rec.Outcome, rec.Detail = "rejected_signature", err.Error()
		if !errors.Is(err, polypay.ErrBadSignature) {
			rec.Outcome = "rejected_malformed"
		}
		s.record(ctx, rec)
		counted = rec.Outcome
		ch.Ack(w, false)
		return
	}
	rec.NotifyID, rec.ObjectID = n.ID, n.Trade.OutTradeNo
	if n.MerchantID != merchantID {
		rec.Outcome, rec.Detail = "rejected_foreign", "notification names merchant "+n.MerchantID
		s.record(ctx, rec)
		counted = rec.Outcome
		ch.Ack(w, false)
		return
	}
	// The charge must be this app's, in this mode.
	var c *polypay.Charge
	err = s.DB.Read(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.GetCharge(ctx, appID, live, n.Trade.OutTradeNo)
		return err
	})
	if err != nil {
		rec.Outcome, rec.Detail = "rejected_unknown_charge", err.Error()
		if polypay.ErrorCode(err) == polypay.EInternal {
			rec.Outcome = "error"
		}
		s.record(ctx, rec)
		counted = rec.Outcome
		ch.Ack(w, false)
		return
	}
	// Applied notifications are logged in the transaction that applies
	// them; only those rejected on the way are logged separately.
	outcome := ""
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
			outcome, err = "rejected_amount", nil
		} else if polypay.ErrorCode(err) == polypay.ENotFound {
			rec.Outcome = "rejected_unknown_refund"
			s.record(ctx, rec)
			counted = rec.Outcome
			outcome, err = rec.Outcome, nil
		}
	default:
		outcome, err = s.applyTrade(ctx, c.ID, &n.Trade, "notification", &rec)
		if err == nil && outcome != "applied" && outcome != "applied_after_close" && outcome != "duplicate" && outcome != "closed" && outcome != "no_change" {
			s.Log.Warn("notification not applied", "channel", rec.Channel, "app", rec.AppID, "object", rec.ObjectID, "outcome", outcome)
		}
	}
	if err != nil {
		rec.Outcome, rec.Detail = "error", err.Error()
		s.record(ctx, rec)
		counted = rec.Outcome
		ch.Ack(w, false)
		return
	}
	counted = outcome
	if n.Kind == polypay.NotifyTrade && (n.Trade.State == polypay.TradePaid || n.Trade.State == polypay.TradeFinished) && strings.HasPrefix(outcome, "applied") {
		paidAt = n.Trade.PaidAt
	}
	ok := outcome == "applied" || outcome == "applied_after_close" || outcome == "duplicate" || outcome == "closed" || outcome == "no_change" ||
		len(outcome) > 8 && outcome[:8] == "ignored:"
	ch.Ack(w, ok)
}

func (s *Service) record(ctx context.Context, rec store.NotificationRecord) {
	if len(rec.Detail) > 500 {
		rec.Detail = rec.Detail[:500]
	}
	if err := s.DB.Write(ctx, func(tx *store.Tx) error { return tx.RecordNotification(ctx, rec) }); err != nil {
		s.Log.Error("recording notification", "err", err)
	}
	if rec.Outcome != "applied" && rec.Outcome != "applied_after_close" && rec.Outcome != "duplicate" && rec.Outcome != "closed" && rec.Outcome != "no_change" {
		s.Log.Warn("notification not applied", "channel", rec.Channel, "app", rec.AppID, "object", rec.ObjectID, "outcome", rec.Outcome, "detail", rec.Detail)
	}
}
