package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/polypay/polypay"
	sg "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"
)

// ParseNotification verifies Stripe-Signature with the webhook secret
// (HMAC-SHA256, several v1 signatures allowed, 300 s tolerance) through
// stripe-go's webhook package, which also requires "object":"event" and an
// api_version of stripe-go's release train, and parses the event.
// MerchantID is the event's account, or for a direct (non-Connect) account,
// which Stripe's events do not name, the configured account id.
func (c *Client) ParseNotification(ctx context.Context, req polypay.NotifyRequest) (*polypay.Notification, error) {
	ev, err := webhook.ConstructEventWithOptions(req.Body, req.Header.Get("Stripe-Signature"), c.cfg.WebhookSecret, webhook.ConstructEventOptions{})
	if err != nil {
		switch {
		case errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrNotSigned),
			errors.Is(err, webhook.ErrInvalidHeader), errors.Is(err, webhook.ErrTooOld):
			return nil, fmt.Errorf("%w: %v", polypay.ErrBadSignature, err)
		}
		return nil, fmt.Errorf("stripe webhook: %v", err)
	}
	n, err := parseEvent(&ev, c.cfg.AccountID)
	if err != nil {
		return nil, err
	}
	if n.Kind == polypay.NotifyAgreement {
		return n, c.addSetupIntent(ctx, n)
	}
	c.addChargeDetails(ctx, n)
	return n, nil
}

// addChargeDetails completes a verified payment event with what Stripe
// only gives on an expanded read: events carry latest_charge as a bare id,
// so the 3-D Secure outcome and card details come from retrieving the
// PaymentIntent. Without them the event is still applied.
func (c *Client) addChargeDetails(ctx context.Context, n *polypay.Notification) {
	if n.Kind != polypay.NotifyTrade || n.Trade.ThreeDS != nil || !strings.HasPrefix(n.Trade.TransactionNo, "pi_") {
		return
	}
	switch n.Trade.State {
	case polypay.TradePaid, polypay.TradeAuthorized, polypay.TradeFailed:
	default:
		return
	}
	pi, err := c.retrieve(ctx, n.Trade.TransactionNo)
	if err != nil {
		return
	}
	full, err := tradeOf(pi)
	if err != nil {
		return
	}
	n.Trade.ThreeDS = full.ThreeDS
	if n.Trade.Extra == nil {
		n.Trade.Extra = full.Extra
	}
}

func parseEvent(ev *sg.Event, account string) (*polypay.Notification, error) {
	n := &polypay.Notification{ID: ev.ID, MerchantID: account}
	if ev.Account != "" {
		n.MerchantID = ev.Account
	}
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		return nil, fmt.Errorf("stripe webhook %s: no data.object", ev.ID)
	}
	raw := ev.Data.Raw
	if strings.HasPrefix(string(ev.Type), "setup_intent.") || strings.HasPrefix(string(ev.Type), "payment_method.") {
		return agreementEvent(ev, n)
	}
	switch t := string(ev.Type); t {
	case "payment_intent.succeeded", "payment_intent.amount_capturable_updated", "payment_intent.payment_failed", "payment_intent.canceled":
		var pi sg.PaymentIntent
		if err := json.Unmarshal(raw, &pi); err != nil {
			return nil, fmt.Errorf("stripe webhook %s: %v", ev.ID, err)
		}
		tr, err := tradeOf(&pi)
		if err != nil {
			return nil, err
		}
		// The event names the state it reports; a snapshot in another
		// state is not what it claims to be.
		want := map[string]polypay.TradeState{"payment_intent.succeeded": polypay.TradePaid,
			"payment_intent.amount_capturable_updated": polypay.TradeAuthorized,
			"payment_intent.payment_failed":            polypay.TradeFailed, "payment_intent.canceled": polypay.TradeClosed}[t]
		if tr.State != want {
			return nil, fmt.Errorf("stripe webhook %s: %s carries a payment intent in status %s", ev.ID, t, pi.Status)
		}
		if tr.State == polypay.TradePaid && tr.PaidAt == 0 {
			tr.PaidAt = ev.Created
		}
		n.Kind, n.Trade = polypay.NotifyTrade, *tr
	case "refund.created", "refund.updated", "refund.failed":
		var re sg.Refund
		if err := json.Unmarshal(raw, &re); err != nil {
			return nil, fmt.Errorf("stripe webhook %s: %v", ev.ID, err)
		}
		n.Trade.OutTradeNo, n.Trade.Currency = re.Metadata["charge_id"], string(re.Currency)
		if re.PaymentIntent != nil {
			n.Trade.TradeID = re.PaymentIntent.ID
		}
		st, err := refundStatusOf(re.Status)
		if err != nil {
			return nil, err
		}
		if st == polypay.RefundPending {
			// Nothing to apply yet: acknowledged as a no-op on the charge.
			n.Kind = polypay.NotifyTrade
			break
		}
		n.Kind, n.RefundNo, n.RefundAmount, n.RefundStatus, n.RefundAt = polypay.NotifyRefund, re.Metadata["refund_no"], re.Amount, st, re.Created
		if n.RefundNo == "" {
			return nil, fmt.Errorf("stripe webhook %s: refund %s has no metadata[refund_no]", ev.ID, re.ID)
		}
	case "charge.refunded":
		// The refund itself arrives as refund.created/refund.updated,
		// which name polypay's refund; this one changes nothing.
		var ch sg.Charge
		if err := json.Unmarshal(raw, &ch); err != nil {
			return nil, fmt.Errorf("stripe webhook %s: %v", ev.ID, err)
		}
		n.Kind, n.Trade.OutTradeNo, n.Trade.Currency = polypay.NotifyTrade, ch.Metadata["charge_id"], string(ch.Currency)
		if ch.PaymentIntent != nil {
			n.Trade.TradeID = ch.PaymentIntent.ID
		}
	default:
		return nil, polypay.ErrNotSupported("stripe", "event "+t)
	}
	if n.Trade.OutTradeNo == "" || !strings.HasPrefix(n.Trade.OutTradeNo, "ch_") {
		return nil, fmt.Errorf("stripe webhook %s: no polypay charge in metadata[charge_id]", ev.ID)
	}
	// metadata[charge_id] is only what whoever made the object wrote: any
	// PaymentIntent of the account can carry it. core matches the
	// PaymentIntent (TradeID), amount, currency and mode with the charge's.
	live := ev.Livemode
	n.Trade.Livemode = &live
	return n, nil
}

// TradeID is the PaymentIntent polypay keeps for a charge: the one its
// credential names (the create's answer), else its transaction_no.
func TradeID(c *polypay.Charge) string {
	var cr Credential
	if len(c.Credential) > 0 && json.Unmarshal(c.Credential, &cr) == nil && strings.HasPrefix(cr.ID, "pi_") {
		return cr.ID
	}
	return c.TransactionNo
}

// Ack answers Stripe: 2xx acknowledges, anything else has Stripe retry.
func (c *Client) Ack(ok bool) polypay.NotifyReply {
	if ok {
		return polypay.NotifyReply{Status: http.StatusOK, ContentType: "application/json", Body: []byte(`{"received":true}`)}
	}
	return polypay.NotifyReply{Status: http.StatusBadRequest, ContentType: "application/json", Body: []byte(`{"received":false}`)}
}
