package paypal

import (
	"fmt"
	"strings"
	"time"

	"github.com/polypay/polypay"
)

// Statuses of Orders v2 orders, and of Payments v2 captures,
// authorizations and refunds, as PayPal documents them.
const (
	orderCreated       = "CREATED"
	orderSaved         = "SAVED"
	orderApproved      = "APPROVED"
	orderVoided        = "VOIDED"
	orderCompleted     = "COMPLETED"
	orderPayerAction   = "PAYER_ACTION_REQUIRED"
	intentCapture      = "CAPTURE"
	intentAuthorize    = "AUTHORIZE"
	closedMarkPrefix   = "closed:"
	issueNotFound      = "RESOURCE_NOT_FOUND"
	issueOrderCaptured = "ORDER_ALREADY_CAPTURED"
	issueOrderAuthed   = "ORDER_ALREADY_AUTHORIZED"
)

// orderState maps an order that is not APPROVED (the connector completes
// approved orders before mapping). A COMPLETED order is what its latest
// capture, or else its latest authorization, says. The switch is
// exhaustive; an undocumented status is ENotSupported, never a guess.
func orderState(o *order) (*polypay.Trade, error) {
	if len(o.PurchaseUnits) == 0 {
		return nil, polypay.Errorf(polypay.EChannel, "paypal: order %s has no purchase unit", o.ID)
	}
	pu := o.PurchaseUnits[0]
	t := &polypay.Trade{OutTradeNo: chargeIDOf(pu.CustomID), TradeID: o.ID}
	switch o.Status {
	case orderCreated, orderSaved, orderPayerAction, orderApproved:
		t.State = polypay.TradePending
		return t, nil
	case orderVoided:
		t.State = polypay.TradeClosed
		return t, nil
	case orderCompleted:
		if pu.Payments != nil && len(pu.Payments.Captures) > 0 {
			return captureTrade(t, &pu.Payments.Captures[len(pu.Payments.Captures)-1])
		}
		if pu.Payments != nil && len(pu.Payments.Authorizations) > 0 {
			return authorizationTrade(t, &pu.Payments.Authorizations[len(pu.Payments.Authorizations)-1])
		}
		return nil, polypay.Errorf(polypay.EChannel, "paypal: completed order %s has neither capture nor authorization", o.ID)
	}
	return nil, &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("paypal order status %q is not supported", o.Status)}
}

// captureTrade fills t from a capture. Refunded captures stay paid: polypay
// tracks the refunds itself.
func captureTrade(t *polypay.Trade, cp *capture) (*polypay.Trade, error) {
	amount, err := ParseAmount(cp.Amount.Value, cp.Amount.CurrencyCode)
	if err != nil {
		return nil, err
	}
	t.TransactionNo, t.Currency = cp.ID, cp.Amount.CurrencyCode
	t.TradeID = orderOf(t, cp.SupplementaryData)
	switch cp.Status {
	case "COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED":
		t.State, t.Amount, t.PaidAt = polypay.TradePaid, amount, unixTime(cp.CreateTime)
	case "PENDING":
		// eCheck, review or an unconfirmed receiving currency: no money yet.
		t.State = polypay.TradePending
	case "DECLINED", "FAILED":
		t.State = polypay.TradeFailed
		t.FailureCode = "capture_" + strings.ToLower(cp.Status)
		t.FailureMsg = "PayPal capture " + cp.Status
		if cp.StatusDetails != nil && cp.StatusDetails.Reason != "" {
			t.FailureCode = cp.StatusDetails.Reason
		}
	default:
		return nil, &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("paypal capture status %q is not supported", cp.Status)}
	}
	return t, nil
}

// authorizationTrade fills t from an authorization that has no capture.
func authorizationTrade(t *polypay.Trade, a *authorization) (*polypay.Trade, error) {
	amount, err := ParseAmount(a.Amount.Value, a.Amount.CurrencyCode)
	if err != nil {
		return nil, err
	}
	t.TransactionNo, t.Currency = a.ID, a.Amount.CurrencyCode
	t.TradeID = orderOf(t, a.SupplementaryData)
	switch a.Status {
	case "CREATED":
		t.State, t.AmountAuthorized = polypay.TradeAuthorized, amount
	case "PENDING", "CAPTURED", "PARTIALLY_CAPTURED":
		// PENDING: under review. CAPTURED without a capture on the order
		// is a view caught mid-update; the next query sees the capture.
		t.State = polypay.TradePending
	case "VOIDED", "EXPIRED":
		t.State = polypay.TradeClosed
	case "DENIED":
		t.State, t.FailureCode, t.FailureMsg = polypay.TradeFailed, "authorization_denied", "PayPal authorization DENIED"
	default:
		return nil, &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("paypal authorization status %q is not supported", a.Status)}
	}
	return t, nil
}

// orderOf is the order a capture or authorization belongs to: the one t
// was read from, else the one its supplementary_data names (webhooks).
func orderOf(t *polypay.Trade, sd *supplementaryData) string {
	if t.TradeID != "" || sd == nil {
		return t.TradeID
	}
	return sd.RelatedIDs.OrderID
}

// TradeID is the PayPal order polypay keeps for a charge: the one its
// credential's approval URL names. custom_id is anyone's to write on the
// REST app's orders; the order id is the charge's own.
func TradeID(c *polypay.Charge) string { return OrderID(c) }

// refundStatus maps a Payments v2 refund status.
func refundStatus(s string) (polypay.RefundStatus, error) {
	switch s {
	case "COMPLETED":
		return polypay.RefundSucceeded, nil
	case "PENDING":
		return polypay.RefundPending, nil
	case "CANCELLED", "FAILED":
		return polypay.RefundFailed, nil
	}
	return "", &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("paypal refund status %q is not supported", s)}
}

// chargeIDOf reads the charge id from a purchase unit's custom_id, which
// CloseCharge may have marked.
func chargeIDOf(customID string) string { return strings.TrimPrefix(customID, closedMarkPrefix) }

// unixTime reads PayPal's RFC 3339 times; 0 when absent or unreadable.
func unixTime(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0
	}
	return t.Unix()
}
