package stripe_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
	"github.com/polypay/polypay/channel/stripe"
	"github.com/polypay/polypay/sim/stripesim"
)

// TestNotifyMatch: events signed with the simulator account's webhook
// secret, whose metadata[charge_id] names the charge, but whose
// PaymentIntent, amount, currency or mode is not the charge's, change
// nothing through core: not acknowledged, the charge and its refund stay as
// they were, no event, no posting. ErrForeignPaymentIntentJPY is issue 13's
// report: another PaymentIntent in jpy marked a 500 USD charge paid.
func TestNotifyMatch(t *testing.T) {
	e := newEnv(t, nil)
	// A 500 USD charge whose card is challenged: its PaymentIntent waits
	// at the simulator, and the charge keeps its id in the credential.
	c := newCharge(50000)
	cr := e.create(c, cardReq(c, "4000000000003220", ""))
	if cr.Status != "requires_action" || !strings.HasPrefix(cr.ID, "pi_") {
		t.Fatalf("credential = %+v, want a PaymentIntent requiring action", cr)
	}
	const foreign = "pi_3ForeignIntent0000000001"

	type intent struct {
		id       string
		amount   int64
		currency string
		live     bool
		status   string
	}
	mine := intent{cr.ID, 50000, "usd", false, "succeeded"}
	// signed posts an event about a PaymentIntent (or a refund of it)
	// carrying the charge's id in its metadata, signed as the simulator
	// signs for the account.
	signed := func(typ string, pi intent) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			obj := fmt.Sprintf(`{"id":%q,"object":"payment_intent","amount":%d,"amount_capturable":0,"amount_received":%d,"currency":%q,"livemode":%v,"status":%q,"latest_charge":null,"metadata":{"charge_id":%q,"order_no":%q}}`,
				pi.id, pi.amount, pi.amount, pi.currency, pi.live, pi.status, c.ID, c.OrderNo)
			if typ == "refund.updated" {
				obj = fmt.Sprintf(`{"id":"re_3Match0000000001","object":"refund","amount":2000,"currency":%q,"payment_intent":%q,"status":"succeeded","created":%d,"metadata":{"charge_id":%q,"refund_no":"rn_match1"}}`,
					pi.currency, pi.id, time.Now().Unix(), c.ID)
			}
			body := eventBody(typ, obj)
			if pi.live {
				body = strings.Replace(body, `"livemode":false`, `"livemode":true`, 1)
			}
			if !json.Valid([]byte(body)) {
				t.Fatalf("event is not JSON: %s", body)
			}
			r := httptest.NewRequest("POST", "/notify/stripe/app/test", strings.NewReader(body))
			r.Header.Set("Stripe-Signature", stripesim.Sign(e.acct.WebhookSecret, time.Now(), []byte(body)))
			return r
		}
	}
	with := func(f func(*intent)) intent { pi := mine; f(&pi); return pi }
	pending := polypay.Charge{ID: c.ID, OrderNo: c.OrderNo, Channel: c.Channel, Amount: c.Amount, Currency: "usd", Credential: c.Credential}
	paid := pending
	paid.Status, paid.TimePaid, paid.TransactionNo, paid.AmountCaptured = polypay.ChargePaid, 1, cr.ID, c.Amount
	rf := &polypay.Refund{OrderNo: "rn_match1", Amount: 2000}
	const succeeded = "payment_intent.succeeded"

	channeltest.Notify(t, channeltest.Family{Name: "stripe", Conn: e.card, MerchantID: e.acct.ID, TradeID: stripe.TradeID}, []channeltest.NotifyCase{
		{Name: "OK", Charge: pending, Request: signed(succeeded, mine),
			Outcome: "applied", Acked: true, Status: polypay.ChargePaid, Events: 1},
		{Name: "ErrForeignPaymentIntentJPY", Charge: pending, Request: signed(succeeded, intent{foreign, 50000, "jpy", false, "succeeded"}),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		{Name: "ErrTradeIDMismatch", Charge: pending, Request: signed(succeeded, with(func(pi *intent) { pi.id = foreign })),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		{Name: "ErrAmountMismatch", Charge: pending, Request: signed(succeeded, with(func(pi *intent) { pi.amount = 49999 })),
			Outcome: "rejected_amount", Status: polypay.ChargePending},
		{Name: "ErrCurrencyMismatch", Charge: pending, Request: signed(succeeded, with(func(pi *intent) { pi.currency = "jpy" })),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		{Name: "ErrModeMismatch", Charge: pending, Request: signed(succeeded, with(func(pi *intent) { pi.live = true })),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		// Canceling someone else's PaymentIntent does not close the charge.
		{Name: "OKCanceled", Charge: pending, Request: signed("payment_intent.canceled", with(func(pi *intent) { pi.status = "canceled" })),
			Outcome: "closed", Acked: true, Status: polypay.ChargeClosed},
		{Name: "ErrTradeIDMismatchCanceled", Charge: pending, Request: signed("payment_intent.canceled", with(func(pi *intent) { pi.id, pi.status = foreign, "canceled" })),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		{Name: "OKRefund", Charge: paid, Refund: rf, Request: signed("refund.updated", mine),
			Outcome: "applied", Acked: true, Status: polypay.ChargePaid, RefundStatus: polypay.RefundSucceeded, Events: 1},
		{Name: "ErrTradeIDMismatchRefund", Charge: paid, Refund: rf, Request: signed("refund.updated", with(func(pi *intent) { pi.id = foreign })),
			Outcome: "rejected_mismatch", Status: polypay.ChargePaid, RefundStatus: polypay.RefundPending},
		{Name: "ErrCurrencyMismatchRefund", Charge: paid, Refund: rf, Request: signed("refund.updated", with(func(pi *intent) { pi.currency = "jpy" })),
			Outcome: "rejected_mismatch", Status: polypay.ChargePaid, RefundStatus: polypay.RefundPending},
	})
}

// TestQueryFindsOnlyTheChargesPaymentIntent: when a charge lost its
// create's answer, its PaymentIntent is searched by metadata[charge_id],
// which any PaymentIntent of the account can carry; one for another
// amount or currency is not the charge's.
func TestQueryFindsOnlyTheChargesPaymentIntent(t *testing.T) {
	e := newEnv(t, nil)
	c := newCharge(50000)
	tests := []struct {
		name     string
		amount   int64
		currency string
		want     polypay.TradeState
	}{
		{"ErrCurrencyMismatch", 50000, "jpy", polypay.TradeNotFound},
		{"ErrAmountMismatch", 49999, "usd", polypay.TradeNotFound},
		{"OK", 50000, "usd", polypay.TradePaid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Charge X lost its create's answer; a PaymentIntent for
			// another amount or currency carries metadata[charge_id] X.
			other := *c
			other.ID = polypay.NewID("ch_")
			other.Amount, other.Currency = tc.amount, tc.currency
			e.create(&other, cardReq(&other, "4242424242424242", ""))
			mine := *c
			mine.ID, mine.Credential = other.ID, nil
			tr := e.query(&mine)
			if tr.State != tc.want {
				t.Fatalf("query of a charge without credential = %+v, want %s", tr, tc.want)
			}
		})
	}
}
