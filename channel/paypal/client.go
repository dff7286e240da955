// Package paypal is the PayPal Orders v2 connector for Ping++'s paypal
// channel, on github.com/plutov/paypal/v4 (OAuth client credentials with
// the SDK's token cache, request building and error decoding), against
// PayPal's REST API or the simulator (sim/paypalsim).
//
// A charge is an order: CreateCharge places it (intent CAPTURE, or
// AUTHORIZE for pre-authorization) with PayPal-Request-Id = the charge id
// and returns the approval URL as the credential. PayPal moves no money
// when the buyer approves: the merchant must capture. The connector does
// that itself whenever it meets an APPROVED order (QueryCharge, or the
// CHECKOUT.ORDER.APPROVED webhook), under a PayPal-Request-Id derived from
// the charge id so that two nodes or a retry capture once.
//
// Closing: PayPal has no call that cancels an unapproved order (it expires
// about 3 hours after creation). CloseCharge therefore marks the order
// instead: it replaces purchase_units[0].custom_id with "closed:<charge
// id>" (PATCH, allowed while the order is CREATED or APPROVED), and the
// connector never captures or authorizes an order so marked. The mark
// lives in the order at PayPal, so every node and every later webhook
// sees it without local state. Only a capture that started before the
// PATCH can still land; core applies such a payment after close as real
// money and flags it.
package paypal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	sdk "github.com/plutov/paypal/v4"
	"github.com/polypay/polypay"
)

// Channel is the Ping++ channel name.
const Channel = "paypal"

// PayPal's API hosts.
const (
	LiveBaseURL    = "https://api-m.paypal.com"
	SandboxBaseURL = "https://api-m.sandbox.paypal.com"
)

// WebhookEvents are the event types the connector handles, and subscribes
// to when it registers its webhook.
var WebhookEvents = []string{
	"CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED",
	"PAYMENT.CAPTURE.PENDING", "PAYMENT.AUTHORIZATION.CREATED", "PAYMENT.AUTHORIZATION.VOIDED",
	"PAYMENT.CAPTURE.REFUNDED",
}

// Config is one merchant's PayPal REST app.
type Config struct {
	ClientID     string
	ClientSecret string
	// MerchantID is the merchant account's payer id (13 characters); the
	// order's payee, and the merchant notifications are checked against.
	MerchantID string
	// WebhookID is the id PayPal gave the webhook pointing at polypay's
	// notify URL; verify-webhook-signature needs it. Empty in sandbox mode,
	// where the connector registers the webhook itself.
	WebhookID string
	// BaseURL defaults to LiveBaseURL.
	BaseURL string
	// Sandbox makes the connector register its webhook (POST
	// /v1/notifications/webhooks) on first use of a notify URL.
	Sandbox    bool
	HTTPClient *http.Client
}

// Client is one merchant's PayPal connector.
type Client struct {
	api        *sdk.Client
	base       string
	merchantID string
	webhookID  string
	sandbox    bool

	mu       sync.Mutex
	webhooks map[string]string // notify URL path -> webhook id (sandbox)
}

var (
	_ polypay.Channel     = (*Client)(nil)
	_ polypay.Authorizer  = (*Client)(nil)
	_ polypay.Statementer = (*Client)(nil)
)

// New builds the connector. EInvalid for missing credentials.
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.MerchantID == "" {
		return nil, polypay.Errorf(polypay.EInvalid, "paypal: client_id, client_secret and merchant_id are required")
	}
	if cfg.WebhookID == "" && !cfg.Sandbox {
		return nil, polypay.Errorf(polypay.EInvalid, "paypal: webhook_id is required outside the sandbox")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = LiveBaseURL
	}
	api, err := sdk.NewClient(cfg.ClientID, cfg.ClientSecret, base)
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "paypal: " + err.Error(), Err: err}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	api.SetHTTPClient(hc)
	return &Client{api: api, base: base, merchantID: cfg.MerchantID, webhookID: cfg.WebhookID,
		sandbox: cfg.Sandbox, webhooks: map[string]string{}}, nil
}

// call sends one authenticated request. Every call asks for the full
// representation, so answers can be mapped without a second GET.
func (c *Client) call(ctx context.Context, method, path string, body any, requestID string, out any) error {
	var payload any
	if body != nil {
		payload = body
	}
	req, err := c.api.NewRequest(ctx, method, c.base+path, payload)
	if err != nil {
		return err
	}
	req.Header.Set("Prefer", "return=representation")
	if requestID != "" {
		req.Header.Set("PayPal-Request-Id", requestID)
	}
	return c.api.SendWithAuth(req, out)
}

// apiError turns a PayPal error into polypay's: a refusal (4xx other than
// 401, 408, 409 and 429) is EChannel with PayPal's issue code; anything
// else may be retried and is returned as is (wrapped).
func apiError(op string, err error) error {
	var er *sdk.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return fmt.Errorf("paypal %s: %w", op, err)
	}
	code := er.Response.StatusCode
	switch {
	case code == http.StatusUnauthorized:
		return &polypay.Error{Code: polypay.EChannel, ChannelCode: "AUTHENTICATION_FAILURE", Err: err,
			Message: "paypal " + op + ": authentication failed (check client_id and client_secret)"}
	case code == http.StatusRequestTimeout || code == http.StatusConflict || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("paypal %s: HTTP %d %s (debug_id %s): %w", op, code, er.Name, er.DebugID, err)
	}
	return &polypay.Error{Code: polypay.EChannel, ChannelCode: issue(er), Err: err,
		Message: fmt.Sprintf("paypal %s: %s (debug_id %s)", op, describe(er), er.DebugID)}
}

// issue is the first detail's issue code, else the error name.
func issue(er *sdk.ErrorResponse) string {
	if len(er.Details) > 0 && er.Details[0].Issue != "" {
		return er.Details[0].Issue
	}
	return er.Name
}

func describe(er *sdk.ErrorResponse) string {
	msg := er.Message
	if len(er.Details) > 0 && er.Details[0].Description != "" {
		msg += ": " + er.Details[0].Description
	}
	return msg
}

// statusOf is the HTTP status of a PayPal error response, 0 for others.
func statusOf(err error) (int, string) {
	var er *sdk.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode, issue(er)
	}
	return 0, ""
}

// browserURLs are where PayPal sends the buyer back: req.ReturnURL, else
// the charge's extra.return_url (the hosted cashier's own page), and
// extra.cancel_url, else the return URL (a cancelled approval leaves the
// order as it was, which the return page shows as still unpaid).
func browserURLs(req polypay.ChannelRequest) (ret, cancel string, err error) {
	var ex struct {
		ReturnURL string `json:"return_url"`
		CancelURL string `json:"cancel_url"`
	}
	if len(req.Charge.Extra) > 0 && json.Unmarshal(req.Charge.Extra, &ex) != nil {
		return "", "", polypay.ParamError("extra", "paypal extra must be an object with string return_url and cancel_url")
	}
	ret = req.ReturnURL
	if ret == "" {
		ret = ex.ReturnURL
	}
	cancel = ex.CancelURL
	if cancel == "" {
		cancel = ret
	}
	for name, u := range map[string]string{"return_url": ret, "cancel_url": cancel} {
		if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return "", "", polypay.ParamError("extra["+name+"]", "paypal %s must be an absolute http(s) URL", name)
		}
	}
	return ret, cancel, nil
}

// CreateCharge places the order and returns the approval URL (a JSON
// string, Ping++'s credential[paypal]). Repeating it for one charge
// returns the same order: PayPal replays the answer of a PayPal-Request-Id
// it has seen. Errors: EInvalid for an unusable charge, EChannel when
// PayPal refuses; anything else is a transport failure.
func (c *Client) CreateCharge(ctx context.Context, req polypay.ChannelRequest) ([]byte, error) {
	ch := req.Charge
	if ch.Amount < 1 {
		return nil, polypay.ParamError("amount", "paypal amounts are at least 1 minor unit")
	}
	value, err := FormatAmount(ch.Amount, ch.Currency)
	if err != nil {
		return nil, err
	}
	if len(ch.ID) > 127 {
		return nil, polypay.ParamError("id", "paypal custom_id and invoice_id take at most 127 characters")
	}
	if c.sandbox && req.NotifyURL != "" {
		if _, err := c.ensureWebhook(ctx, req.NotifyURL); err != nil {
			return nil, err
		}
	}
	returnURL, cancelURL, err := browserURLs(req)
	if err != nil {
		return nil, err
	}
	intent := intentCapture
	if req.AuthorizeOnly {
		intent = intentAuthorize
	}
	desc := []rune(ch.Subject)
	if len(desc) > 127 {
		desc = desc[:127]
	}
	body := createOrderRequest{
		Intent: intent,
		PurchaseUnits: []purchaseUnitRequest{{
			ReferenceID: ch.ID, CustomID: ch.ID, InvoiceID: ch.ID, Description: string(desc),
			Amount: money{CurrencyCode: strings.ToUpper(ch.Currency), Value: value},
			Payee:  &payee{MerchantID: c.merchantID},
		}},
	}
	ps := &paymentSource{}
	ps.PayPal = &struct {
		ExperienceContext *experienceContext `json:"experience_context,omitempty"`
	}{&experienceContext{ReturnURL: returnURL, CancelURL: cancelURL, UserAction: "PAY_NOW", ShippingPreference: "NO_SHIPPING"}}
	body.PaymentSource = ps
	var o order
	if err := c.call(ctx, http.MethodPost, "/v2/checkout/orders", body, ch.ID, &o); err != nil {
		return nil, apiError("create order", err)
	}
	for _, l := range o.Links {
		if l.Rel == "payer-action" || l.Rel == "approve" {
			return json.Marshal(l.Href)
		}
	}
	return nil, polypay.Errorf(polypay.EChannel, "paypal: order %s has no approval link", o.ID)
}

// OrderID reads the order id from a charge's credential, the approval URL
// whose token parameter PayPal sets to the order id. "" when the charge
// has no credential (its create never got an answer).
func OrderID(c *polypay.Charge) string {
	var href string
	if json.Unmarshal(c.Credential, &href) != nil || href == "" {
		return ""
	}
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	return u.Query().Get("token")
}

func (c *Client) getOrder(ctx context.Context, id string) (*order, error) {
	var o order
	if err := c.call(ctx, http.MethodGet, "/v2/checkout/orders/"+url.PathEscape(id), nil, "", &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// QueryCharge reads the order, capturing (or authorizing) it first when
// the buyer has approved it. TradeNotFound when PayPal has no such order
// (never created, or expired unapproved). Errors: EChannel when PayPal
// refuses, ENotSupported for an undocumented status.
func (c *Client) QueryCharge(ctx context.Context, ch *polypay.Charge) (*polypay.Trade, error) {
	id := OrderID(ch)
	if id == "" {
		return &polypay.Trade{State: polypay.TradeNotFound, OutTradeNo: ch.ID}, nil
	}
	o, err := c.getOrder(ctx, id)
	if err != nil {
		if code, _ := statusOf(err); code == http.StatusNotFound {
			return &polypay.Trade{State: polypay.TradeNotFound, OutTradeNo: ch.ID}, nil
		}
		return nil, apiError("get order", err)
	}
	return c.settle(ctx, o, ch.ID)
}

// settle completes an approved order of chargeID and maps the result.
func (c *Client) settle(ctx context.Context, o *order, chargeID string) (*polypay.Trade, error) {
	if len(o.PurchaseUnits) == 0 {
		return nil, polypay.Errorf(polypay.EChannel, "paypal: order %s has no purchase unit", o.ID)
	}
	custom := o.PurchaseUnits[0].CustomID
	if chargeIDOf(custom) != chargeID {
		return nil, polypay.Errorf(polypay.EChannel, "paypal: order %s belongs to %q, not charge %s", o.ID, custom, chargeID)
	}
	if custom != chargeID {
		// Closed by CloseCharge: never completed by us.
		switch o.Status {
		case orderCreated, orderSaved, orderPayerAction, orderApproved:
			return &polypay.Trade{State: polypay.TradeClosed, OutTradeNo: chargeID, TradeID: o.ID}, nil
		}
		return orderState(o)
	}
	if o.Status == orderApproved {
		done, err := c.complete(ctx, o)
		if err != nil {
			return nil, err
		}
		if done.Status == "" { // a refusal that leaves the order as it was
			return &polypay.Trade{State: polypay.TradeFailed, OutTradeNo: chargeID, TradeID: o.ID, FailureCode: done.ID, FailureMsg: "PayPal refused the buyer's funding source"}, nil
		}
		o = done
	}
	return orderState(o)
}

// complete captures (intent CAPTURE) or authorizes (AUTHORIZE) an approved
// order. The request id is derived from the charge id, so repeats and
// concurrent callers get PayPal's one answer. An order completed
// meanwhile is read again. INSTRUMENT_DECLINED (the buyer must pick
// another funding source) comes back as an order without status whose ID
// is the issue.
func (c *Client) complete(ctx context.Context, o *order) (*order, error) {
	chargeID := o.PurchaseUnits[0].CustomID
	verb := "capture"
	if o.Intent == intentAuthorize {
		verb = "authorize"
	}
	var done order
	err := c.call(ctx, http.MethodPost, "/v2/checkout/orders/"+url.PathEscape(o.ID)+"/"+verb, struct{}{}, verb+"-"+chargeID, &done)
	if err == nil {
		return &done, nil
	}
	switch code, is := statusOf(err); {
	case code == http.StatusUnprocessableEntity && (is == issueOrderCaptured || is == issueOrderAuthed):
		got, gerr := c.getOrder(ctx, o.ID)
		if gerr != nil {
			return nil, apiError("get order", gerr)
		}
		return got, nil
	case code == http.StatusUnprocessableEntity && is == "INSTRUMENT_DECLINED":
		return &order{ID: is}, nil
	}
	return nil, apiError(verb+" order", err)
}

// CloseCharge marks an unapproved or approved order closed (see the
// package comment) so that it is never captured, and lets PayPal expire
// it. Closing an unknown, voided or declined order succeeds. EChannel
// when the order is paid or authorized.
func (c *Client) CloseCharge(ctx context.Context, ch *polypay.Charge) error {
	id := OrderID(ch)
	if id == "" {
		return nil
	}
	for attempt := 0; attempt < 2; attempt++ {
		o, err := c.getOrder(ctx, id)
		if err != nil {
			if code, _ := statusOf(err); code == http.StatusNotFound {
				return nil
			}
			return apiError("get order", err)
		}
		if len(o.PurchaseUnits) == 0 || chargeIDOf(o.PurchaseUnits[0].CustomID) != ch.ID {
			return polypay.Errorf(polypay.EChannel, "paypal: order %s is not charge %s's", id, ch.ID)
		}
		pu := o.PurchaseUnits[0]
		switch o.Status {
		case orderCreated, orderSaved, orderPayerAction, orderApproved:
			if pu.CustomID != ch.ID {
				return nil
			}
			path := fmt.Sprintf("/purchase_units/@reference_id=='%s'/custom_id", pu.ReferenceID)
			err := c.call(ctx, http.MethodPatch, "/v2/checkout/orders/"+url.PathEscape(id),
				[]patchOp{{Op: "replace", Path: path, Value: closedMarkPrefix + ch.ID}}, "", nil)
			if err == nil {
				return nil
			}
			if code, _ := statusOf(err); code != http.StatusUnprocessableEntity {
				return apiError("mark order closed", err)
			}
			continue // completed meanwhile: look again
		}
		t, err := orderState(o)
		if err != nil {
			return err
		}
		switch t.State {
		case polypay.TradeClosed, polypay.TradeFailed:
			return nil
		}
		return &polypay.Error{Code: polypay.EChannel, ChannelCode: "ORDER_ALREADY_COMPLETED",
			Message: fmt.Sprintf("paypal order %s is %s and cannot be closed", id, t.State)}
	}
	return polypay.Errorf(polypay.EChannel, "paypal: order %s changed while closing", id)
}

// Refund refunds part of the charge's capture. PayPal-Request-Id is the
// refund's order_no, so a repeat returns the same refund; invoice_id
// carries the order_no too, which the PAYMENT.CAPTURE.REFUNDED webhook
// echoes. A refusal (for example REFUND_AMOUNT_EXCEEDED) is a failed
// refund; transport failures are errors.
func (c *Client) Refund(ctx context.Context, ch *polypay.Charge, r *polypay.Refund, notifyURL string) (*polypay.RefundResult, error) {
	currency := r.Currency
	if currency == "" {
		currency = ch.Currency
	}
	value, err := FormatAmount(r.Amount, currency)
	if err != nil {
		return nil, err
	}
	if r.OrderNo == "" {
		return nil, polypay.ParamError("order_no", "paypal refunds need an order_no")
	}
	captureID, err := c.captureID(ctx, ch)
	if err != nil {
		return nil, err
	}
	note := []rune(r.Description)
	if len(note) > 255 {
		note = note[:255]
	}
	var rf refund
	err = c.call(ctx, http.MethodPost, "/v2/payments/captures/"+url.PathEscape(captureID)+"/refund",
		refundRequest{Amount: money{CurrencyCode: strings.ToUpper(currency), Value: value}, InvoiceID: r.OrderNo,
			CustomID: ch.ID, NoteToPayer: string(note)}, r.OrderNo, &rf)
	if err != nil {
		if e := apiError("refund", err); polypay.ErrorCode(e) == polypay.EChannel {
			var pe *polypay.Error
			errors.As(e, &pe)
			if pe.ChannelCode != "AUTHENTICATION_FAILURE" {
				return &polypay.RefundResult{Status: polypay.RefundFailed, FailureCode: pe.ChannelCode, FailureMsg: pe.Message}, nil
			}
			return nil, e
		}
		return nil, apiError("refund", err)
	}
	return refundResult(&rf, currency)
}

// captureID is the charge's capture: its transaction_no once paid, else
// the order's latest completed capture.
func (c *Client) captureID(ctx context.Context, ch *polypay.Charge) (string, error) {
	if ch.TransactionNo != "" {
		return ch.TransactionNo, nil
	}
	id := OrderID(ch)
	if id == "" {
		return "", polypay.Errorf(polypay.EChannel, "paypal: charge %s has no order", ch.ID)
	}
	o, err := c.getOrder(ctx, id)
	if err != nil {
		return "", apiError("get order", err)
	}
	if len(o.PurchaseUnits) > 0 && o.PurchaseUnits[0].Payments != nil {
		cps := o.PurchaseUnits[0].Payments.Captures
		for i := len(cps) - 1; i >= 0; i-- {
			if cps[i].Status != "DECLINED" && cps[i].Status != "FAILED" && cps[i].Status != "PENDING" {
				return cps[i].ID, nil
			}
		}
	}
	return "", polypay.Errorf(polypay.EChannel, "paypal: order %s has no completed capture", id)
}

func refundResult(rf *refund, currency string) (*polypay.RefundResult, error) {
	st, err := refundStatus(rf.Status)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(rf.Amount.CurrencyCode, currency) {
		return nil, polypay.Errorf(polypay.EChannel, "paypal: refund %s is in %s, not %s", rf.ID, rf.Amount.CurrencyCode, currency)
	}
	amount, err := ParseAmount(rf.Amount.Value, rf.Amount.CurrencyCode)
	if err != nil {
		return nil, err
	}
	res := &polypay.RefundResult{Status: st, Amount: amount, TransactionNo: rf.ID}
	switch st {
	case polypay.RefundSucceeded:
		res.SucceededAt = unixTime(rf.UpdateTime)
		if res.SucceededAt == 0 {
			res.SucceededAt = unixTime(rf.CreateTime)
		}
	case polypay.RefundFailed:
		res.FailureCode, res.FailureMsg = "refund_"+strings.ToLower(rf.Status), "PayPal refund "+rf.Status
		if rf.StatusDetails != nil && rf.StatusDetails.Reason != "" {
			res.FailureCode = rf.StatusDetails.Reason
		}
	}
	return res, nil
}

// QueryRefund reads the refund (GET /v2/payments/refunds/{id}), whose id is
// the refund's transaction_no or found among the order's refunds by
// invoice_id = order_no. A refund PayPal does not know stays pending: the
// request never arrived, and repeating it is safe.
func (c *Client) QueryRefund(ctx context.Context, ch *polypay.Charge, r *polypay.Refund) (*polypay.RefundResult, error) {
	currency := r.Currency
	if currency == "" {
		currency = ch.Currency
	}
	id := r.TransactionNo
	if id == "" {
		oid := OrderID(ch)
		if oid == "" {
			return &polypay.RefundResult{Status: polypay.RefundPending}, nil
		}
		o, err := c.getOrder(ctx, oid)
		if err != nil {
			return nil, apiError("get order", err)
		}
		if len(o.PurchaseUnits) > 0 && o.PurchaseUnits[0].Payments != nil {
			for _, rf := range o.PurchaseUnits[0].Payments.Refunds {
				if rf.InvoiceID == r.OrderNo {
					id = rf.ID
				}
			}
		}
		if id == "" {
			return &polypay.RefundResult{Status: polypay.RefundPending}, nil
		}
	}
	var rf refund
	if err := c.call(ctx, http.MethodGet, "/v2/payments/refunds/"+url.PathEscape(id), nil, "", &rf); err != nil {
		if code, _ := statusOf(err); code == http.StatusNotFound {
			return &polypay.RefundResult{Status: polypay.RefundPending}, nil
		}
		return nil, apiError("get refund", err)
	}
	if rf.InvoiceID != "" && rf.InvoiceID != r.OrderNo {
		return nil, polypay.Errorf(polypay.EChannel, "paypal: refund %s is %s's, not %s's", id, rf.InvoiceID, r.OrderNo)
	}
	return refundResult(&rf, currency)
}

// Capture captures amount (0: all) of the charge's authorization, first
// authorizing an approved AUTHORIZE order. The request id is derived from
// the charge id and amount, so capturing twice with one amount returns
// one capture. EChannel when there is no live hold (not approved, voided,
// expired, closed, already captured for another amount).
func (c *Client) Capture(ctx context.Context, ch *polypay.Charge, amount int64) (*polypay.Trade, error) {
	o, a, err := c.authorization(ctx, ch)
	if err != nil {
		return nil, err
	}
	t := &polypay.Trade{OutTradeNo: ch.ID, TradeID: o.ID}
	if a.Status == "CAPTURED" || a.Status == "PARTIALLY_CAPTURED" {
		cps := o.PurchaseUnits[0].Payments.Captures
		if len(cps) > 0 {
			t, err := captureTrade(t, &cps[len(cps)-1])
			if err != nil {
				return nil, err
			}
			if amount == 0 || amount == t.Amount {
				return t, nil
			}
		}
		return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: "AUTHORIZATION_ALREADY_CAPTURED",
			Message: fmt.Sprintf("paypal authorization %s is already captured", a.ID)}
	}
	req := captureAuthRequest{InvoiceID: ch.ID, FinalCapture: true}
	if amount != 0 {
		v, err := FormatAmount(amount, a.Amount.CurrencyCode)
		if err != nil {
			return nil, err
		}
		req.Amount = &money{CurrencyCode: a.Amount.CurrencyCode, Value: v}
	}
	var cp capture
	if err := c.call(ctx, http.MethodPost, "/v2/payments/authorizations/"+url.PathEscape(a.ID)+"/capture", req,
		"capture-"+ch.ID+"-"+strconv.FormatInt(amount, 10), &cp); err != nil {
		return nil, apiError("capture authorization", err)
	}
	return captureTrade(t, &cp)
}

// Void voids the charge's authorization; voiding a voided one succeeds.
// EChannel when it was captured or there is none.
func (c *Client) Void(ctx context.Context, ch *polypay.Charge) error {
	_, a, err := c.authorization(ctx, ch)
	if err != nil {
		return err
	}
	switch a.Status {
	case "VOIDED":
		return nil
	case "CREATED", "PENDING":
	default:
		return &polypay.Error{Code: polypay.EChannel, ChannelCode: "AUTHORIZATION_" + a.Status,
			Message: fmt.Sprintf("paypal authorization %s is %s and cannot be voided", a.ID, a.Status)}
	}
	err = c.call(ctx, http.MethodPost, "/v2/payments/authorizations/"+url.PathEscape(a.ID)+"/void", struct{}{}, "void-"+ch.ID, nil)
	if err != nil {
		if code, is := statusOf(err); code == http.StatusUnprocessableEntity && is == "PREVIOUSLY_VOIDED" {
			return nil
		}
		return apiError("void authorization", err)
	}
	return nil
}

// authorization finds the order's latest authorization, authorizing an
// approved order first.
func (c *Client) authorization(ctx context.Context, ch *polypay.Charge) (*order, *authorization, error) {
	id := OrderID(ch)
	if id == "" {
		return nil, nil, polypay.Errorf(polypay.EChannel, "paypal: charge %s has no order", ch.ID)
	}
	o, err := c.getOrder(ctx, id)
	if err != nil {
		return nil, nil, apiError("get order", err)
	}
	if len(o.PurchaseUnits) == 0 || o.PurchaseUnits[0].CustomID != ch.ID {
		return nil, nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: "ORDER_CLOSED",
			Message: fmt.Sprintf("paypal order %s is closed or not charge %s's", id, ch.ID)}
	}
	if o.Intent != intentAuthorize {
		return nil, nil, polypay.Errorf(polypay.EChannel, "paypal order %s has intent %s, not AUTHORIZE", id, o.Intent)
	}
	if o.Status == orderApproved {
		if o, err = c.complete(ctx, o); err != nil {
			return nil, nil, err
		}
		if o.Status == "" {
			return nil, nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: o.ID, Message: "paypal refused the buyer's funding source"}
		}
	}
	pu := o.PurchaseUnits[0]
	if pu.Payments == nil || len(pu.Payments.Authorizations) == 0 {
		return nil, nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: "ORDER_NOT_APPROVED",
			Message: fmt.Sprintf("paypal order %s is %s and holds no authorization", id, o.Status)}
	}
	return o, &pu.Payments.Authorizations[len(pu.Payments.Authorizations)-1], nil
}
