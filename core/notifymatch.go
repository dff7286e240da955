package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// What MatchTrade reports: a verified, correctly signed message from a
// channel that is about another trade than the charge's (another
// PaymentIntent, order or trade number; another amount, currency or mode).
// Such a message is refused before anything is applied.
var (
	ErrTradeIDMismatch  = errors.New("the message is about another trade")
	ErrAmountMismatch   = errors.New("the amount is not the charge's")
	ErrCurrencyMismatch = errors.New("the currency is not the charge's")
	ErrModeMismatch     = errors.New("the mode is not the charge's")
)

type mismatch struct {
	kind   error
	detail string
}

func (m *mismatch) Error() string { return m.kind.Error() + ": " + m.detail }
func (m *mismatch) Unwrap() error { return m.kind }

func mismatched(kind error, format string, args ...any) error {
	return &mismatch{kind: kind, detail: fmt.Sprintf(format, args...)}
}

// MatchTrade is the one check every channel's word about a charge's trade
// passes before it is applied, whether it came in a verified notification
// (of any family, trade or refund) or as the answer to an active query.
// tradeID is the channel's id of the charge's trade as polypay keeps it
// (Channels.TradeID), "" when it keeps none. The trade must be the
// charge's:
//   - its out_trade_no, when stated, is the charge's id;
//   - its TradeID, when stated, is tradeID; a message that would mark the
//     charge paid or authorized must state it when polypay keeps one;
//   - its amount, when stated (always for paid), is the charge's: all of
//     it, or for a pre-authorization what was held or a captured part;
//   - its currency is the charge's, compared with SameCurrency (case
//     aside, UnionPay's 156 is cny); a message that would mark the charge
//     paid or authorized must state it;
//   - its mode, when the channel states one (Stripe's livemode), is the
//     charge's.
//
// The merchant the notification names and the app and mode of the URL it
// came to are checked by HandleNotification before the charge is looked
// up (in that app and mode only). It returns an error wrapping
// ErrTradeIDMismatch, ErrAmountMismatch, ErrCurrencyMismatch or
// ErrModeMismatch, nil when the trade is the charge's.
func MatchTrade(c *polypay.Charge, tradeID string, t *polypay.Trade) error {
	moves := t.State == polypay.TradePaid || t.State == polypay.TradeFinished || t.State == polypay.TradeAuthorized
	if err := matchTradeID(c, tradeID, t, moves); err != nil {
		return err
	}
	if err := matchAmount(c, t); err != nil {
		return err
	}
	if (t.Currency != "" || moves) && !polypay.SameCurrency(t.Currency, c.Currency) {
		return mismatched(ErrCurrencyMismatch, "channel says %q, charge is %q", t.Currency, c.Currency)
	}
	if t.Livemode != nil && *t.Livemode != c.Livemode {
		return mismatched(ErrModeMismatch, "channel says livemode %v, charge's is %v", *t.Livemode, c.Livemode)
	}
	return nil
}

// matchTradeID checks the trade's out_trade_no and the channel's id of
// it; moves says the trade would mark the charge paid or authorized.
func matchTradeID(c *polypay.Charge, tradeID string, t *polypay.Trade, moves bool) error {
	switch {
	case t.OutTradeNo != "" && t.OutTradeNo != c.ID:
		return mismatched(ErrTradeIDMismatch, "channel's out_trade_no is %s, charge is %s", t.OutTradeNo, c.ID)
	case tradeID != "" && t.TradeID != "" && t.TradeID != tradeID:
		return mismatched(ErrTradeIDMismatch, "channel's trade is %s, charge's is %s", t.TradeID, tradeID)
	case tradeID != "" && t.TradeID == "" && moves:
		return mismatched(ErrTradeIDMismatch, "channel names no trade, charge's is %s", tradeID)
	}
	return nil
}

// matchAmount checks the trade's amount: a paid trade's always, an
// authorization's hold and any other trade's amount when stated.
func matchAmount(c *polypay.Charge, t *polypay.Trade) error {
	switch t.State {
	case polypay.TradePaid, polypay.TradeFinished:
		// A pre-authorization may be captured for less than was held;
		// anything else must be paid exactly.
		if t.Amount != c.Amount && !capturedPart(c, t.Amount) {
			return mismatched(ErrAmountMismatch, "channel says %d, charge is %d", t.Amount, c.Amount)
		}
	case polypay.TradeAuthorized:
		if t.AmountAuthorized != 0 && t.AmountAuthorized != c.Amount {
			return mismatched(ErrAmountMismatch, "channel holds %d, charge is %d", t.AmountAuthorized, c.Amount)
		}
	default:
		if t.Amount != 0 && t.Amount != c.Amount && !capturedPart(c, t.Amount) {
			return mismatched(ErrAmountMismatch, "channel says %d, charge is %d", t.Amount, c.Amount)
		}
	}
	return nil
}

// capturedPart reports whether amount is a part of a pre-authorization's
// hold: captured for less than was held.
func capturedPart(c *polypay.Charge, amount int64) bool {
	return c.AuthOnly && amount > 0 && amount < c.Amount
}

// mismatchOutcome is the notification log's outcome for a refused trade:
// rejected_amount (the outcome amount mismatches always had) or
// rejected_mismatch, with the reason. Neither is acknowledged.
func mismatchOutcome(err error) polypay.NotifyOutcome {
	var m *mismatch
	if errors.As(err, &m) && m.kind == ErrAmountMismatch {
		return polypay.OutcomeRejectedAmount.With(m.detail)
	}
	return polypay.OutcomeRejectedMismatch.With(err.Error())
}

// refuseMismatch runs MatchTrade for applyTrade, on the locked charge,
// before anything changes: it returns the outcome of a refused trade, ""
// for one that may be applied.
func (s *Service) refuseMismatch(c *polypay.Charge, t *polypay.Trade, source string) polypay.NotifyOutcome {
	err := MatchTrade(c, s.Channels.TradeID(c), t)
	if err == nil {
		return ""
	}
	s.Log.Warn("channel's trade is not the charge's; refused", "charge", c.ID, "source", source, "err", err)
	return mismatchOutcome(err)
}

// refuseRefund runs MatchTrade on the trade a refund notification names
// (Alipay's trade_no and total_amount, WeChat's transaction_id, UnionPay's
// origQryId, Stripe's payment_intent and currency), which states nothing
// to apply to the charge itself: a refused one is recorded and its
// outcome returned; "" when the refund may be applied.
func (s *Service) refuseRefund(ctx context.Context, c *polypay.Charge, n *polypay.Notification, rec store.NotificationRecord) polypay.NotifyOutcome {
	t := n.Trade
	t.State = polypay.TradeUnknown
	err := MatchTrade(c, s.Channels.TradeID(c), &t)
	if err == nil {
		return ""
	}
	outcome := mismatchOutcome(err)
	rec.Outcome, rec.Detail = string(outcome), err.Error()
	s.record(ctx, rec)
	return outcome
}
