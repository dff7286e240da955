package paypal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	sdk "github.com/plutov/paypal/v4"
	"github.com/polypay/polypay"
)

// ensureWebhook returns the id of this REST app's webhook for notifyURL,
// registering it (POST /v1/notifications/webhooks) when it has none.
// Sandbox only: live merchants register the URL in PayPal's dashboard and
// configure the webhook_id it shows.
func (c *Client) ensureWebhook(ctx context.Context, notifyURL string) (string, error) {
	u, err := url.Parse(notifyURL)
	if err != nil {
		return "", fmt.Errorf("paypal: notify url: %w", err)
	}
	c.mu.Lock()
	id := c.webhooks[u.Path]
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	if id, err = c.findWebhook(ctx, u.Path); err != nil || id != "" {
		return id, err
	}
	req := &sdk.CreateWebhookRequest{URL: notifyURL}
	for _, e := range WebhookEvents {
		req.EventTypes = append(req.EventTypes, sdk.WebhookEventType{Name: e})
	}
	wh, err := c.api.CreateWebhook(ctx, req)
	if err != nil {
		if code, is := statusOf(err); code == http.StatusBadRequest && is == "WEBHOOK_URL_ALREADY_EXISTS" {
			return c.findWebhook(ctx, u.Path) // another node registered it meanwhile
		}
		return "", apiError("create webhook", err)
	}
	c.mu.Lock()
	c.webhooks[u.Path] = wh.ID
	c.mu.Unlock()
	return wh.ID, nil
}

// findWebhook looks the app's webhooks up by the path of their URL.
func (c *Client) findWebhook(ctx context.Context, path string) (string, error) {
	list, err := c.api.ListWebhooks(ctx, sdk.AncorTypeApplication)
	if err != nil {
		return "", apiError("list webhooks", err)
	}
	for _, wh := range list.Webhooks {
		if u, err := url.Parse(wh.URL); err == nil && u.Path == path {
			c.mu.Lock()
			c.webhooks[path] = wh.ID
			c.mu.Unlock()
			return wh.ID, nil
		}
	}
	return "", nil
}

// ParseNotification verifies a webhook with PayPal
// (POST /v1/notifications/verify-webhook-signature, through the SDK's
// VerifyWebhookSignature, with the configured webhook_id) and parses it.
// Anything but verification_status SUCCESS is ErrBadSignature; a failed
// verification call is a transient error (PayPal sends the event again).
//
// Trust comes from verification; the trade, though, is read from PayPal
// afterwards for order events, because completing an approved order is
// the connector's job (see settle).
func (c *Client) ParseNotification(ctx context.Context, req polypay.NotifyRequest) (*polypay.Notification, error) {
	body := req.Body
	for _, h := range []string{"PAYPAL-TRANSMISSION-ID", "PAYPAL-TRANSMISSION-TIME", "PAYPAL-TRANSMISSION-SIG", "PAYPAL-CERT-URL", "PAYPAL-AUTH-ALGO"} {
		if req.Header.Get(h) == "" {
			return nil, fmt.Errorf("%w: header %s missing", polypay.ErrBadSignature, h)
		}
	}
	webhookID := c.webhookID
	if webhookID == "" && c.sandbox {
		id, err := c.findWebhook(ctx, req.Path)
		if err != nil {
			return nil, err
		}
		if id == "" {
			return nil, fmt.Errorf("%w: no webhook registered for %s", polypay.ErrBadSignature, req.Path)
		}
		webhookID = id
	}
	// The SDK reads the signature headers and the event from an
	// *http.Request.
	vr := &http.Request{Header: req.Header, Body: io.NopCloser(bytes.NewReader(body))}
	res, err := c.api.VerifyWebhookSignature(ctx, vr, webhookID)
	if err != nil {
		if code, _ := statusOf(err); code == http.StatusBadRequest {
			return nil, fmt.Errorf("%w: %v", polypay.ErrBadSignature, err)
		}
		return nil, fmt.Errorf("paypal: verifying webhook: %w", err)
	}
	if res.VerificationStatus != "SUCCESS" {
		return nil, fmt.Errorf("%w: verification_status %q", polypay.ErrBadSignature, res.VerificationStatus)
	}
	ev, res2, err := parseEvent(body)
	if err != nil {
		return nil, err
	}
	n := &polypay.Notification{ID: ev.ID, MerchantID: c.merchantID, Kind: polypay.NotifyTrade}
	if res2.merchant != "" {
		n.MerchantID = res2.merchant // core rejects a foreign one
	}
	switch ev.EventType {
	case "CHECKOUT.ORDER.APPROVED":
		o, err := c.getOrder(ctx, res2.orderID)
		if err != nil {
			return nil, apiError("get order", err)
		}
		t, err := c.settle(ctx, o, res2.chargeID)
		if err != nil {
			return nil, err
		}
		n.Trade = *t
	case "PAYMENT.CAPTURE.REFUNDED":
		n.Kind = polypay.NotifyRefund
		n.Trade.OutTradeNo = res2.chargeID
		n.Trade.Currency = res2.currency
		n.RefundNo, n.RefundAmount, n.RefundStatus, n.RefundAt = res2.refundNo, res2.amount, res2.refundStatus, res2.at
	default:
		n.Trade = *res2.trade
	}
	return n, nil
}

// parsed is what an event's resource says.
type parsed struct {
	chargeID, orderID, merchant string
	trade                       *polypay.Trade
	refundNo, currency          string
	amount                      int64
	refundStatus                polypay.RefundStatus
	at                          int64
}

// parseEvent reads a verified event's resource. Unknown event types are
// ENotSupported: polypay subscribes only to WebhookEvents.
func parseEvent(body []byte) (*event, *parsed, error) {
	var env struct {
		event
		Resource json.RawMessage `json:"resource"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, nil, polypay.Errorf(polypay.EInvalid, "paypal webhook: %v", err)
	}
	ev := &env.event
	if ev.ID == "" || len(env.Resource) == 0 {
		return nil, nil, polypay.Errorf(polypay.EInvalid, "paypal webhook without id or resource")
	}
	p := &parsed{}
	bad := func(err error) (*event, *parsed, error) {
		return nil, nil, polypay.Errorf(polypay.EInvalid, "paypal webhook %s %s: %v", ev.EventType, ev.ID, err)
	}
	switch ev.EventType {
	case "CHECKOUT.ORDER.APPROVED":
		var o order
		if err := json.Unmarshal(env.Resource, &o); err != nil {
			return bad(err)
		}
		if o.ID == "" || len(o.PurchaseUnits) == 0 {
			return bad(fmt.Errorf("order without id or purchase unit"))
		}
		p.orderID, p.chargeID = o.ID, chargeIDOf(o.PurchaseUnits[0].CustomID)
		if pe := o.PurchaseUnits[0].Payee; pe != nil {
			p.merchant = pe.MerchantID
		}
	case "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.PENDING":
		var cp capture
		if err := json.Unmarshal(env.Resource, &cp); err != nil {
			return bad(err)
		}
		p.chargeID = chargeIDOf(cp.CustomID)
		if cp.Payee != nil {
			p.merchant = cp.Payee.MerchantID
		}
		t, err := captureTrade(&polypay.Trade{OutTradeNo: p.chargeID}, &cp)
		if err != nil {
			return nil, nil, err
		}
		p.trade = t
	case "PAYMENT.AUTHORIZATION.CREATED", "PAYMENT.AUTHORIZATION.VOIDED":
		var a authorization
		if err := json.Unmarshal(env.Resource, &a); err != nil {
			return bad(err)
		}
		p.chargeID = chargeIDOf(a.CustomID)
		if a.Payee != nil {
			p.merchant = a.Payee.MerchantID
		}
		t, err := authorizationTrade(&polypay.Trade{OutTradeNo: p.chargeID}, &a)
		if err != nil {
			return nil, nil, err
		}
		p.trade = t
	case "PAYMENT.CAPTURE.REFUNDED":
		var rf refund
		if err := json.Unmarshal(env.Resource, &rf); err != nil {
			return bad(err)
		}
		if rf.InvoiceID == "" {
			return bad(fmt.Errorf("refund %s without invoice_id", rf.ID))
		}
		st, err := refundStatus(rf.Status)
		if err != nil {
			return nil, nil, err
		}
		amount, err := ParseAmount(rf.Amount.Value, rf.Amount.CurrencyCode)
		if err != nil {
			return nil, nil, err
		}
		p.chargeID, p.refundNo, p.amount, p.refundStatus, p.currency = rf.CustomID, rf.InvoiceID, amount, st, rf.Amount.CurrencyCode
		p.at = unixTime(rf.UpdateTime)
		if rf.Payer != nil {
			p.merchant = rf.Payer.MerchantID
		}
		if st == polypay.RefundPending {
			return nil, nil, &polypay.Error{Code: polypay.ENotSupported, Message: "paypal refund webhook for a pending refund"}
		}
	default:
		return nil, nil, &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("paypal webhook event %q is not supported", ev.EventType)}
	}
	if p.chargeID == "" {
		return bad(fmt.Errorf("resource without custom_id"))
	}
	return ev, p, nil
}

// Ack answers PayPal: any 2xx acknowledges, anything else makes PayPal
// send the event again (up to 25 times over 3 days).
func (c *Client) Ack(ok bool) polypay.NotifyReply {
	if ok {
		return polypay.NotifyReply{Status: http.StatusOK}
	}
	return polypay.NotifyReply{Status: http.StatusInternalServerError}
}
