package alipay_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/channeltest"
)

// TestNotifyMatch: notifications signed with the simulator's key, but
// about another trade (trade_no), amount or currency than the charge's,
// change nothing through core: not acknowledged, the charge and its
// refund stay as they were, no event, no posting.
func TestNotifyMatch(t *testing.T) {
	e := newEnv(t)
	ch := charge("ch_notifymatch00000000001", 50000)
	e.paid(t, ch)
	if _, err := e.conn.Refund(context.Background(), ch, &polypay.Refund{OrderNo: "rn_match1", Amount: 2000, Currency: "cny"}, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "payment and refund notifications", func() bool { return len(e.notifications()) == 2 })
	got := e.notifications()
	if got[0].err != nil || got[1].err != nil {
		t.Fatalf("simulator's notifications: %v, %v", got[0].err, got[1].err)
	}
	payment, refund, tradeNo := string(got[0].body), string(got[1].body), got[0].n.Trade.TransactionNo

	// signed posts body as Alipay does, changed by edit and signed again
	// with the simulator's platform key.
	signed := func(body string, edit func(url.Values)) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			v, err := url.ParseQuery(body)
			if err != nil {
				t.Fatal(err)
			}
			if edit != nil {
				edit(v)
				signNotification(v, platformKey)
			}
			r := httptest.NewRequest("POST", "/notify/alipay/app/test", strings.NewReader(v.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}
	}
	pending := polypay.Charge{ID: ch.ID, Channel: ch.Channel, Amount: ch.Amount, Currency: "cny"}
	paid := pending
	paid.Status, paid.TimePaid, paid.TransactionNo, paid.AmountCaptured = polypay.ChargePaid, 1, tradeNo, ch.Amount
	rf := &polypay.Refund{OrderNo: "rn_match1", Amount: 2000}
	other := func(v url.Values) { v.Set("trade_no", "2026112122001400000000099999") }

	channeltest.Notify(t, channeltest.Family{Name: "alipay", Conn: e.conn, MerchantID: appID, TradeID: alipay.TradeID}, []channeltest.NotifyCase{
		{Name: "OK", Charge: pending, Request: signed(payment, nil),
			Outcome: "applied", Acked: true, Status: polypay.ChargePaid, Events: 1},
		{Name: "ErrAmountMismatch", Charge: pending, Request: signed(payment, func(v url.Values) { v.Set("total_amount", "499.99") }),
			Outcome: "rejected_amount", Status: polypay.ChargePending},
		{Name: "ErrCurrencyMismatch", Charge: pending, Request: signed(payment, func(v url.Values) { v.Set("trans_currency", "USD") }),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		// A paid charge keeps its trade_no: a payment of another trade is
		// not this charge's (before, it was acknowledged as a duplicate).
		{Name: "ErrTradeIDMismatch", Charge: paid, Request: signed(payment, other),
			Outcome: "rejected_mismatch", Status: polypay.ChargePaid},
		{Name: "OKRefund", Charge: paid, Refund: rf, Request: signed(refund, nil),
			Outcome: "applied", Acked: true, Status: polypay.ChargePaid, RefundStatus: polypay.RefundSucceeded, Events: 1},
		{Name: "ErrTradeIDMismatchRefund", Charge: paid, Refund: rf, Request: signed(refund, other),
			Outcome: "rejected_mismatch", Status: polypay.ChargePaid, RefundStatus: polypay.RefundPending},
		{Name: "ErrAmountMismatchRefund", Charge: paid, Refund: rf, Request: signed(refund, func(v url.Values) { v.Set("total_amount", "5000.00") }),
			Outcome: "rejected_amount", Status: polypay.ChargePaid, RefundStatus: polypay.RefundPending},
	})
}
