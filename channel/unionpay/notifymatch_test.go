package unionpay_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
	"github.com/polypay/polypay/channel/unionpay"
)

// TestNotifyMatch: back notifications signed with the simulator's signing
// certificate, but about another trade (queryId, origQryId), amount or
// currency than the charge's, change nothing through core: not
// acknowledged, the charge and its refund stay as they were, no event, no
// posting. currencyCode 156 is the charge's cny.
func TestNotifyMatch(t *testing.T) {
	f := newFixture(t)
	purchase, refund, finish := readFile(t, "notify_purchase.form"), readFile(t, "notify_refund.form"), readFile(t, "notify_preauth_finish.form")
	const (
		chargeID = "ch_0Rk3dF6wJx00101aBcDeFgHiJ"
		queryID  = "782611211030001234567" // the purchase's, and the hold's, in the golden forms
		otherID  = "782611219999999999999"
	)
	// signed posts a golden form changed by edit, signed as the simulator.
	signed := func(raw string, edit func(v url.Values)) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			v, err := url.ParseQuery(raw)
			if err != nil {
				t.Fatal(err)
			}
			if edit != nil {
				edit(v)
			}
			r := httptest.NewRequest("POST", "/notify/upacp/app/test", strings.NewReader(signForm(t, f.sim, v.Encode(), nil)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}
	}
	set := func(k, x string) func(v url.Values) { return func(v url.Values) { v.Set(k, x) } }
	pending := polypay.Charge{ID: chargeID, Channel: unionpay.ChannelApp, Amount: 1000, Currency: "cny"}
	paid := pending
	paid.Status, paid.TimePaid, paid.TransactionNo, paid.AmountCaptured = polypay.ChargePaid, 1, queryID, 1000
	held := pending
	held.AuthOnly, held.Status, held.TransactionNo = true, polypay.ChargeAuthorized, queryID
	held.TimeAuthorized, held.HoldExpire = time.Now().Unix(), time.Now().Unix()+86400
	rf := &polypay.Refund{OrderNo: "0Rk3dF7aaaa001XyZ0123abcd", Amount: 300}

	channeltest.Notify(t, channeltest.Family{Name: "upacp", Conn: f.conn, MerchantID: merID, TradeID: unionpay.TradeID}, []channeltest.NotifyCase{
		{Name: "OK", Charge: pending, Request: signed(purchase, nil),
			Outcome: "applied", Acked: true, Status: polypay.ChargePaid, Events: 1},
		{Name: "ErrAmountMismatch", Charge: pending, Request: signed(purchase, set("txnAmt", "999")),
			Outcome: "rejected_amount", Status: polypay.ChargePending},
		{Name: "ErrCurrencyMismatch", Charge: pending, Request: signed(purchase, set("currencyCode", "840")),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		{Name: "ErrCurrencyMissing", Charge: pending, Request: signed(purchase, func(v url.Values) { v.Del("currencyCode") }),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		// A paid charge keeps its purchase's queryId: a payment of another
		// order is not this charge's (before, a duplicate).
		{Name: "ErrTradeIDMismatch", Charge: paid, Request: signed(purchase, set("queryId", otherID)),
			Outcome: "rejected_mismatch", Status: polypay.ChargePaid},
		// A held charge keeps its hold's queryId: only the completion of
		// that hold (origQryId) captures it.
		{Name: "OKPreAuthFinish", Charge: held, Request: signed(finish, nil),
			Outcome: "applied", Acked: true, Status: polypay.ChargePaid, Events: 2},
		{Name: "ErrTradeIDMismatchPreAuthFinish", Charge: held, Request: signed(finish, set("origQryId", otherID)),
			Outcome: "rejected_mismatch", Status: polypay.ChargeAuthorized},
		{Name: "ErrCurrencyMismatchPreAuthFinish", Charge: held, Request: signed(finish, set("currencyCode", "392")),
			Outcome: "rejected_mismatch", Status: polypay.ChargeAuthorized},
		{Name: "OKRefund", Charge: paid, Refund: rf, Request: signed(refund, nil),
			Outcome: "applied", Acked: true, Status: polypay.ChargePaid, RefundStatus: polypay.RefundSucceeded, Events: 1},
		{Name: "ErrTradeIDMismatchRefund", Charge: paid, Refund: rf, Request: signed(refund, set("origQryId", otherID)),
			Outcome: "rejected_mismatch", Status: polypay.ChargePaid, RefundStatus: polypay.RefundPending},
	})
}
