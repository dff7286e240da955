package unionpay_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/sim/unionpaysim"
)

// TestScanOutcomes: a scanned UnionPay code pays at once (and notifies),
// is declined by the issuer, or waits for the customer, whose trade lapses
// at the 2-minute payTimeout and can then be closed; a bad code or
// terminal is refused before anything is sent; a pre-authorization is not
// offered.
func TestScanOutcomes(t *testing.T) {
	f := newFixture(t)
	c := f.client(t, unionpay.ChannelScan, nil)
	scan := func(code, terminal string) (*polypay.Charge, error) {
		ch := newCharge(unionpay.ChannelScan, 1500)
		ch.Extra, _ = json.Marshal(map[string]string{"scan_code": code, "terminal_id": terminal})
		_, err := c.CreateCharge(ctx, polypay.ChannelRequest{Charge: ch, NotifyURL: f.notify.URL})
		return ch, err
	}
	query := func(ch *polypay.Charge) polypay.TradeState {
		tr, err := c.QueryCharge(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		return tr.State
	}
	paid, err := scan(unionpaysim.NewPaymentCode(unionpaysim.CodePays), "POS00001")
	if err != nil {
		t.Fatal(err)
	}
	if n := f.waitNotifications(t, 1)[0]; n.Trade.State != polypay.TradePaid || n.Trade.OutTradeNo != paid.ID || n.Trade.Amount != 1500 {
		t.Fatalf("notification %+v", n.Trade)
	}
	if st := query(paid); st != polypay.TradePaid {
		t.Fatalf("paid code: %s", st)
	}
	declined, err := scan(unionpaysim.NewPaymentCode(unionpaysim.CodeDeclines), "POS-LONG-TERMINAL-NAME")
	if err != nil {
		t.Fatal(err)
	}
	if st := query(declined); st != polypay.TradeFailed {
		t.Fatalf("declined code: %s", st)
	}
	waiting, err := scan(unionpaysim.NewPaymentCode(unionpaysim.CodeConfirms), "POS00001")
	if err != nil {
		t.Fatal(err)
	}
	if st := query(waiting); st != polypay.TradePending {
		t.Fatalf("waiting code: %s", st)
	}
	if err := c.CloseCharge(ctx, waiting); polypay.ErrorCode(err) != polypay.ENotSupported {
		t.Fatalf("closing a waiting code's trade: %v", err)
	}
	f.mu.Lock()
	f.skew = 3 * time.Minute // past the payTimeout
	f.mu.Unlock()
	if st := query(waiting); st != polypay.TradeFailed {
		t.Fatalf("lapsed code: %s", st)
	}
	if err := f.sim.PayCode(ctx, merID, mustOrderID(t, waiting.ID), true); err == nil {
		t.Fatal("the customer confirmed a lapsed trade")
	}
	for _, bad := range []struct{ code, terminal, param string }{
		{"621234567890123456", "POS1", "extra[scan_code]"},
		{"2812345678901234567", "POS1", "extra[scan_code]"},
		{unionpaysim.NewPaymentCode(unionpaysim.CodePays), "", "extra[terminal_id]"},
	} {
		var pe *polypay.Error
		if _, err := scan(bad.code, bad.terminal); !errors.As(err, &pe) || pe.Param != bad.param {
			t.Errorf("%s/%s: %v", bad.code, bad.terminal, err)
		}
	}
	ch := newCharge(unionpay.ChannelScan, 100)
	if _, err := c.CreateCharge(ctx, polypay.ChannelRequest{Charge: ch, NotifyURL: f.notify.URL, AuthorizeOnly: true}); polypay.ErrorCode(err) != polypay.ENotSupported {
		t.Fatalf("pre-authorization on upacp_scan: %v", err)
	}
}

func mustOrderID(t *testing.T, chargeID string) string {
	id, err := unionpay.OrderID(chargeID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
