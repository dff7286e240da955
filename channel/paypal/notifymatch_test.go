package paypal

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
)

// TestNotifyMatch: webhooks that verify with PayPal (the simulator signs
// them) and whose custom_id names the charge, but whose order, amount or
// currency is not the charge's, change nothing through core: not
// acknowledged, the charge and its refund stay as they were, no event, no
// posting.
func TestNotifyMatch(t *testing.T) {
	e := setup(t)
	c := charge(50000, "usd")
	e.create(t, c, false) // registers the notify URL's webhook, as in sandbox
	order := OrderID(c)
	if order == "" {
		t.Fatalf("credential %s names no order", c.Credential)
	}
	u, err := url.Parse(e.notify)
	if err != nil {
		t.Fatal(err)
	}
	webhookID, err := e.client.ensureWebhook(ctx, e.notify)
	if err != nil || webhookID == "" {
		t.Fatalf("webhook: %q %v", webhookID, err)
	}
	const foreign = "5O190127TN364715T"

	type money struct{ currency, value string }
	usd := money{"USD", "500.00"}
	// signed sends an event signed by the simulator for the webhook.
	signed := func(body string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := httptest.NewRequest("POST", u.Path, strings.NewReader(body))
			for k, v := range e.sim.SignWebhook(webhookID, []byte(body)) {
				r.Header[k] = v
			}
			return r
		}
	}
	// captured is PAYMENT.CAPTURE.COMPLETED of a capture of order ("" for
	// none named).
	captured := func(orderID string, m money) func(t *testing.T) *http.Request {
		related := ""
		if orderID != "" {
			related = fmt.Sprintf(`,"supplementary_data":{"related_ids":{"order_id":%q}}`, orderID)
		}
		return signed(fmt.Sprintf(`{"id":"WH-MATCH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource_type":"capture","resource":{"id":"3C679366HH908993F","status":"COMPLETED","amount":{"currency_code":%q,"value":%q},"final_capture":true,"invoice_id":%q,"custom_id":%q,"payee":{"merchant_id":%q},"create_time":"2026-11-21T10:00:00Z"%s}}`,
			m.currency, m.value, c.ID, c.ID, testMerchant, related))
	}
	refunded := func(m money) func(t *testing.T) *http.Request {
		return signed(fmt.Sprintf(`{"id":"WH-MATCH-2","event_type":"PAYMENT.CAPTURE.REFUNDED","resource_type":"refund","resource":{"id":"1JU08902781691411","status":"COMPLETED","amount":{"currency_code":%q,"value":%q},"invoice_id":"rn_match1","custom_id":%q,"payer":{"merchant_id":%q},"update_time":"2026-11-21T11:00:00Z"}}`,
			m.currency, m.value, c.ID, testMerchant))
	}
	pending := polypay.Charge{ID: c.ID, Channel: c.Channel, Amount: c.Amount, Currency: "usd", Credential: c.Credential}
	paid := pending
	paid.Status, paid.TimePaid, paid.TransactionNo, paid.AmountCaptured = polypay.ChargePaid, 1, "3C679366HH908993F", c.Amount
	rf := &polypay.Refund{OrderNo: "rn_match1", Amount: 2000}

	channeltest.Notify(t, channeltest.Family{Name: "paypal", Conn: e.client, MerchantID: testMerchant, TradeID: TradeID}, []channeltest.NotifyCase{
		{Name: "OK", Charge: pending, Request: captured(order, usd),
			Outcome: "applied", Acked: true, Status: polypay.ChargePaid, Events: 1},
		{Name: "ErrAmountMismatch", Charge: pending, Request: captured(order, money{"USD", "499.99"}),
			Outcome: "rejected_amount", Status: polypay.ChargePending},
		{Name: "ErrCurrencyMismatch", Charge: pending, Request: captured(order, money{"JPY", "50000"}),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		// Any order of the REST app can carry the charge's custom_id.
		{Name: "ErrTradeIDMismatch", Charge: pending, Request: captured(foreign, usd),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		{Name: "ErrTradeIDMissing", Charge: pending, Request: captured("", usd),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		{Name: "OKRefund", Charge: paid, Refund: rf, Request: refunded(money{"USD", "20.00"}),
			Outcome: "applied", Acked: true, Status: polypay.ChargePaid, RefundStatus: polypay.RefundSucceeded, Events: 1},
		{Name: "ErrCurrencyMismatchRefund", Charge: paid, Refund: rf, Request: refunded(money{"JPY", "2000"}),
			Outcome: "rejected_mismatch", Status: polypay.ChargePaid, RefundStatus: polypay.RefundPending},
	})
}
