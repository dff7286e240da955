package core_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

func TestMatchTrade(t *testing.T) {
	live, test := true, false
	usd := func(mod func(c *polypay.Charge)) *polypay.Charge {
		c := &polypay.Charge{ID: "ch_match", Amount: 50000, Currency: "usd", Status: polypay.ChargePending}
		if mod != nil {
			mod(c)
		}
		return c
	}
	paid := func(mod func(t *polypay.Trade)) *polypay.Trade {
		t := &polypay.Trade{State: polypay.TradePaid, OutTradeNo: "ch_match", TradeID: "pi_A", Amount: 50000, Currency: "usd"}
		if mod != nil {
			mod(t)
		}
		return t
	}
	cny := func(c *polypay.Charge) { c.Currency = "cny" }
	authOnly := func(c *polypay.Charge) { c.AuthOnly = true }
	tests := []struct {
		name    string
		charge  *polypay.Charge
		tradeID string // what polypay keeps for the charge
		trade   *polypay.Trade
		want    error
	}{
		{"OK", usd(nil), "pi_A", paid(nil), nil},
		{"OKNoTradeKept", usd(nil), "", paid(func(t *polypay.Trade) { t.TradeID = "pi_B" }), nil},
		{"OKCurrencyCase", usd(nil), "pi_A", paid(func(t *polypay.Trade) { t.Currency = "USD" }), nil},
		{"OKUnionPayNumeric", usd(cny), "", paid(func(t *polypay.Trade) { t.Currency = "156" }), nil},
		{"OKPartialCapture", usd(authOnly), "pi_A", paid(func(t *polypay.Trade) { t.Amount = 30000 }), nil},
		{"OKLivemode", usd(func(c *polypay.Charge) { c.Livemode = true }), "pi_A", paid(func(t *polypay.Trade) { t.Livemode = &live }), nil},
		{"OKClosedNamesNothing", usd(nil), "pi_A", &polypay.Trade{State: polypay.TradeClosed}, nil},
		{"OKPendingQuery", usd(nil), "pi_A", &polypay.Trade{State: polypay.TradePending, OutTradeNo: "ch_match", TradeID: "pi_A", Amount: 50000, Currency: "usd"}, nil},
		{"OKRefundWithoutState", usd(nil), "pi_A", &polypay.Trade{OutTradeNo: "ch_match", TradeID: "pi_A", Currency: "usd"}, nil},

		{"ErrTradeIDMismatch", usd(nil), "pi_A", paid(func(t *polypay.Trade) { t.TradeID = "pi_B" }), core.ErrTradeIDMismatch},
		{"ErrTradeIDMismatchJPY", usd(nil), "pi_A", paid(func(t *polypay.Trade) { t.TradeID, t.Currency = "pi_B", "jpy" }), core.ErrTradeIDMismatch},
		{"ErrTradeIDMissingWhenPaid", usd(nil), "pi_A", paid(func(t *polypay.Trade) { t.TradeID = "" }), core.ErrTradeIDMismatch},
		{"ErrTradeIDMissingWhenAuthorized", usd(authOnly), "pi_A", &polypay.Trade{State: polypay.TradeAuthorized, AmountAuthorized: 50000, Currency: "usd"}, core.ErrTradeIDMismatch},
		{"ErrTradeIDMismatchClosed", usd(nil), "pi_A", &polypay.Trade{State: polypay.TradeClosed, TradeID: "pi_B"}, core.ErrTradeIDMismatch},
		{"ErrOtherCharge", usd(nil), "", paid(func(t *polypay.Trade) { t.OutTradeNo = "ch_other" }), core.ErrTradeIDMismatch},
		{"ErrAmountMismatch", usd(nil), "pi_A", paid(func(t *polypay.Trade) { t.Amount = 49999 }), core.ErrAmountMismatch},
		{"ErrAmountMismatchOverCapture", usd(authOnly), "pi_A", paid(func(t *polypay.Trade) { t.Amount = 50001 }), core.ErrAmountMismatch},
		{"ErrAmountMismatchHold", usd(authOnly), "pi_A", paid(func(t *polypay.Trade) { t.State, t.Amount, t.AmountAuthorized = polypay.TradeAuthorized, 0, 1 }), core.ErrAmountMismatch},
		{"ErrAmountMismatchClosed", usd(nil), "", &polypay.Trade{State: polypay.TradeClosed, Amount: 1, Currency: "usd"}, core.ErrAmountMismatch},
		{"ErrCurrencyMismatch", usd(nil), "pi_A", paid(func(t *polypay.Trade) { t.Currency = "jpy" }), core.ErrCurrencyMismatch},
		{"ErrCurrencyMissingWhenPaid", usd(nil), "pi_A", paid(func(t *polypay.Trade) { t.Currency = "" }), core.ErrCurrencyMismatch},
		{"ErrCurrencyNumericOther", usd(cny), "", paid(func(t *polypay.Trade) { t.Currency = "840" }), core.ErrCurrencyMismatch},
		{"ErrCurrencyMismatchFailed", usd(nil), "", &polypay.Trade{State: polypay.TradeFailed, Currency: "eur"}, core.ErrCurrencyMismatch},
		{"ErrModeMismatch", usd(nil), "pi_A", paid(func(t *polypay.Trade) { t.Livemode = &live }), core.ErrModeMismatch},
		{"ErrModeMismatchLiveCharge", usd(func(c *polypay.Charge) { c.Livemode = true }), "pi_A", paid(func(t *polypay.Trade) { t.Livemode = &test }), core.ErrModeMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := core.MatchTrade(tc.charge, tc.tradeID, tc.trade)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("MatchTrade = %v, want %v", err, tc.want)
			}
		})
	}
}

// answerChannel answers every query with one trade (fault injection: a
// channel answering about another trade); the rest is flakyChannel's.
type answerChannel struct {
	flakyChannel
	trade polypay.Trade
}

func (a *answerChannel) QueryCharge(context.Context, *polypay.Charge) (*polypay.Trade, error) {
	t := a.trade
	return &t, nil
}

// keptTrade is oneChannel keeping one trade id for every charge.
type keptTrade struct {
	oneChannel
	id string
}

func (k keptTrade) TradeID(*polypay.Charge) string { return k.id }

// TestPollRefusesOtherTrades: the poller's query answers pass the same
// check as notifications: a query about charge X that comes back with
// another charge's or another PaymentIntent's trade, or another amount,
// currency or mode, changes nothing.
func TestPollRefusesOtherTrades(t *testing.T) {
	ctx := context.Background()
	live := true
	ok := polypay.Trade{State: polypay.TradePaid, OutTradeNo: "ch_pollmatch0000000000001", TradeID: "pi_A", TransactionNo: "pi_A",
		Amount: 50000, Currency: "usd", PaidAt: time.Now().Unix()}
	with := func(f func(t *polypay.Trade)) polypay.Trade { t := ok; f(&t); return t }
	tests := []struct {
		name   string
		answer polypay.Trade
		want   polypay.ChargeStatus
		events int
	}{
		{"OK", ok, polypay.ChargePaid, 1},
		{"ErrTradeIDMismatch", with(func(t *polypay.Trade) { t.TradeID, t.TransactionNo = "pi_B", "pi_B" }), polypay.ChargePending, 0},
		{"ErrTradeIDMismatchOtherCharge", with(func(t *polypay.Trade) { t.OutTradeNo = "ch_someoneelse000000000001" }), polypay.ChargePending, 0},
		{"ErrAmountMismatch", with(func(t *polypay.Trade) { t.Amount = 5000 }), polypay.ChargePending, 0},
		{"ErrCurrencyMismatch", with(func(t *polypay.Trade) { t.Currency = "jpy" }), polypay.ChargePending, 0},
		{"ErrModeMismatch", with(func(t *polypay.Trade) { t.Livemode = &live }), polypay.ChargePending, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, b := range storetest.Backends(t) {
				t.Run(b.Name, func(t *testing.T) {
					db := b.Open(t)
					app, err := core.CreateApp(ctx, db, "t")
					if err != nil {
						t.Fatal(err)
					}
					now := time.Now().Unix()
					c := &polypay.Charge{ID: ok.OutTradeNo, AppID: app.AppID, Channel: "card", OrderNo: "POLL1", ClientIP: "127.0.0.1",
						Amount: 50000, AmountSettle: 50000, Currency: "usd", Subject: "s", Body: "b", Extra: []byte("{}"), Metadata: []byte("{}"),
						Status: polypay.ChargePending, Created: now - 60, TimeExpire: now + 3600}
					if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertCharge(ctx, c, now-1) }); err != nil {
						t.Fatal(err)
					}
					svc := &core.Service{DB: db, Channels: keptTrade{oneChannel{&answerChannel{trade: tc.answer}}, "pi_A"},
						BaseURL: "http://127.0.0.1", Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
					if _, err := svc.Poll(ctx); err != nil {
						t.Fatal(err)
					}
					err = db.Read(ctx, func(tx *store.Tx) error {
						got, err := tx.GetCharge(ctx, app.AppID, false, c.ID)
						if err != nil {
							return err
						}
						if got.Status != tc.want || (tc.want == polypay.ChargePending && got.TransactionNo != "") {
							t.Errorf("charge status = %s, transaction_no %q; want %s", got.Status, got.TransactionNo, tc.want)
						}
						evs, err := tx.EventsAbout(ctx, app.AppID, false, c.ID)
						if err != nil {
							return err
						}
						if len(evs) != tc.events {
							t.Errorf("events = %d, want %d", len(evs), tc.events)
						}
						wantLedger := int64(0)
						if tc.want == polypay.ChargePaid {
							wantLedger = c.Amount
						}
						if sum, err := tx.LedgerSum(ctx, ledger.RefCharge, c.ID, ledger.ChannelAccount(c.Channel)); err != nil || sum != wantLedger {
							t.Errorf("ledger = %d (%v), want %d", sum, err, wantLedger)
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				})
			}
		})
	}
}
