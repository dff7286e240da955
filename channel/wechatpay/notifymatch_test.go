package wechatpay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
	"github.com/polypay/polypay/channel/wechatpay"
)

// TestNotifyMatch: notifications signed with the simulator's platform key
// and encrypted with the APIv3 key, but about another trade
// (transaction_id), amount or currency than the charge's, change nothing
// through core: not acknowledged, the charge and its refund stay as they
// were, no event, no posting.
func TestNotifyMatch(t *testing.T) {
	e := newEnv(t)
	ch := charge(wechatpay.ChannelQR, "notifymatch", 50000)
	e.paid(t, ch)
	conn := e.conns[ch.Channel]
	if _, err := conn.Refund(context.Background(), ch, &polypay.Refund{OrderNo: "rn_match1", Amount: 2000, Currency: "cny"}, e.notifyURL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "payment and refund notifications", func() bool { return len(e.notifications()) == 2 })
	got := e.notifications()
	if got[0].err != nil || got[1].err != nil {
		t.Fatalf("simulator's notifications: %v, %v", got[0].err, got[1].err)
	}
	payment, refund, transactionID := got[0], got[1], got[0].n.Trade.TransactionNo

	// signed sends the simulator's notification as it came, or with its
	// resource decrypted, changed by edit, encrypted and signed again.
	signed := func(rc received, event, original string, edit func(m map[string]any)) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			body, h := rc.body, rc.header
			if edit != nil {
				var env map[string]any
				if err := json.Unmarshal(rc.body, &env); err != nil {
					t.Fatal(err)
				}
				plain, err := openResource(apiV3Key, env["resource"].(map[string]any))
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				if err := json.Unmarshal(plain, &m); err != nil {
					t.Fatal(err)
				}
				edit(m)
				if plain, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
				body, h = notificationBody(event, original, plain), http.Header{}
				signHeaders(h, platformKey, keyID, time.Now().Unix(), body)
			}
			r := notifyRequest(body, h)
			r.Body = io.NopCloser(bytes.NewReader(body))
			return r
		}
	}
	amount := func(field string, v any) func(m map[string]any) {
		return func(m map[string]any) { m["amount"].(map[string]any)[field] = v }
	}
	other := func(m map[string]any) { m["transaction_id"] = "4200000000202611219999999999" }
	pending := polypay.Charge{ID: ch.ID, Channel: ch.Channel, Amount: ch.Amount, Currency: "cny"}
	paid := pending
	paid.Status, paid.TimePaid, paid.TransactionNo, paid.AmountCaptured = polypay.ChargePaid, 1, transactionID, ch.Amount
	rf := &polypay.Refund{OrderNo: "rn_match1", Amount: 2000}
	tx := func(edit func(map[string]any)) func(*testing.T) *http.Request {
		return signed(payment, "TRANSACTION.SUCCESS", "transaction", edit)
	}
	re := func(edit func(map[string]any)) func(*testing.T) *http.Request {
		return signed(refund, "REFUND.SUCCESS", "refund", edit)
	}

	channeltest.Notify(t, channeltest.Family{Name: "wx", Conn: conn, MerchantID: mchID, TradeID: wechatpay.TradeID}, []channeltest.NotifyCase{
		{Name: "OK", Charge: pending, Request: tx(nil),
			Outcome: "applied", Acked: true, Status: polypay.ChargePaid, Events: 1},
		{Name: "OKResigned", Charge: pending, Request: tx(func(map[string]any) {}),
			Outcome: "applied", Acked: true, Status: polypay.ChargePaid, Events: 1},
		{Name: "ErrAmountMismatch", Charge: pending, Request: tx(amount("total", 49999)),
			Outcome: "rejected_amount", Status: polypay.ChargePending},
		{Name: "ErrCurrencyMismatch", Charge: pending, Request: tx(amount("currency", "USD")),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		{Name: "ErrCurrencyMissing", Charge: pending, Request: tx(func(m map[string]any) { delete(m["amount"].(map[string]any), "currency") }),
			Outcome: "rejected_mismatch", Status: polypay.ChargePending},
		// A paid charge keeps its transaction_id: a payment of another
		// trade is not this charge's (before, it was acknowledged as a
		// duplicate).
		{Name: "ErrTradeIDMismatch", Charge: paid, Request: tx(other),
			Outcome: "rejected_mismatch", Status: polypay.ChargePaid},
		{Name: "OKRefund", Charge: paid, Refund: rf, Request: re(nil),
			Outcome: "applied", Acked: true, Status: polypay.ChargePaid, RefundStatus: polypay.RefundSucceeded, Events: 1},
		{Name: "ErrTradeIDMismatchRefund", Charge: paid, Refund: rf, Request: re(other),
			Outcome: "rejected_mismatch", Status: polypay.ChargePaid, RefundStatus: polypay.RefundPending},
		{Name: "ErrAmountMismatchRefund", Charge: paid, Refund: rf, Request: re(amount("total", 500000)),
			Outcome: "rejected_amount", Status: polypay.ChargePaid, RefundStatus: polypay.RefundPending},
	})
}
