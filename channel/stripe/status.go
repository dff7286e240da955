package stripe

import (
	"fmt"

	"github.com/polypay/polypay"
	sg "github.com/stripe/stripe-go/v85"
)

// tradeOf maps a PaymentIntent. Every status is listed; an unknown one is
// an error.
func tradeOf(pi *sg.PaymentIntent) (*polypay.Trade, error) {
	live := pi.Livemode
	t := &polypay.Trade{OutTradeNo: pi.Metadata["charge_id"], TransactionNo: pi.ID, TradeID: pi.ID, Amount: pi.Amount,
		Currency: string(pi.Currency), Livemode: &live}
	ch := pi.LatestCharge
	switch pi.Status {
	case sg.PaymentIntentStatusRequiresPaymentMethod:
		t.State = polypay.TradePending
		if e := pi.LastPaymentError; e != nil {
			// A failed attempt: the PaymentIntent waits for another card,
			// but this charge's attempt is over.
			t.State = polypay.TradeFailed
			t.FailureCode = string(e.DeclineCode)
			if t.FailureCode == "" {
				t.FailureCode = string(e.Code)
			}
			t.FailureMsg = e.Msg
		}
	case sg.PaymentIntentStatusRequiresConfirmation, sg.PaymentIntentStatusRequiresAction, sg.PaymentIntentStatusProcessing:
		t.State = polypay.TradePending
	case sg.PaymentIntentStatusRequiresCapture:
		t.State = polypay.TradeAuthorized
		t.AmountAuthorized = pi.AmountCapturable
	case sg.PaymentIntentStatusSucceeded:
		t.State = polypay.TradePaid
		t.Amount = pi.AmountReceived
		if ch != nil && ch.Created != 0 {
			t.PaidAt = ch.Created
		}
	case sg.PaymentIntentStatusCanceled:
		t.State = polypay.TradeClosed
	default:
		return nil, fmt.Errorf("stripe: unknown payment intent status %q", pi.Status)
	}
	if ch != nil && ch.PaymentMethodDetails != nil && ch.PaymentMethodDetails.Card != nil {
		card := ch.PaymentMethodDetails.Card
		t.ThreeDS = threeDSOf(card.ThreeDSecure)
		t.Extra = map[string]any{"card_brand": string(card.Brand), "card_last4": card.Last4}
		if card.Wallet != nil && card.Wallet.Type != "" {
			t.Extra["card_wallet"] = string(card.Wallet.Type)
		}
	}
	return t, nil
}

// threeDSOf reads the charge's 3-D Secure outcome. Liability shifts to the
// issuer when the cardholder was authenticated, or when authentication was
// attempted and acknowledged by the issuer (Stripe's liability shift rule);
// the charge has no explicit field for it.
func threeDSOf(d *sg.ChargePaymentMethodDetailsCardThreeDSecure) *polypay.ThreeDSResult {
	if d == nil || d.Result == "" {
		return nil
	}
	r := &polypay.ThreeDSResult{Flow: string(d.AuthenticationFlow), Version: d.Version}
	switch d.Result {
	case sg.ChargePaymentMethodDetailsCardThreeDSecureResultAuthenticated:
		r.Authenticated, r.LiabilityShift = true, true
	case sg.ChargePaymentMethodDetailsCardThreeDSecureResultAttemptAcknowledged:
		r.LiabilityShift = true
	case sg.ChargePaymentMethodDetailsCardThreeDSecureResultExempted, sg.ChargePaymentMethodDetailsCardThreeDSecureResultFailed,
		sg.ChargePaymentMethodDetailsCardThreeDSecureResultNotSupported, sg.ChargePaymentMethodDetailsCardThreeDSecureResultProcessingError:
	default:
		// An outcome this version does not know: report no protection.
	}
	return r
}

// refundStatusOf maps a Refund's status exhaustively.
func refundStatusOf(s sg.RefundStatus) (polypay.RefundStatus, error) {
	switch s {
	case sg.RefundStatusSucceeded:
		return polypay.RefundSucceeded, nil
	case sg.RefundStatusPending, sg.RefundStatusRequiresAction:
		return polypay.RefundPending, nil
	case sg.RefundStatusFailed, sg.RefundStatusCanceled:
		return polypay.RefundFailed, nil
	}
	return "", fmt.Errorf("stripe: unknown refund status %q", s)
}
