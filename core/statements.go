package core

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"time"

	"github.com/polypay/polypay/ledger"
)

// Statements: a sub-app's day (Beijing time) as its book records it, per
// currency: what the gateway owed the merchant at the day's start
// (opening), every entry of the day on that balance (payments, refunds,
// fees, royalties, payouts), and what it owed at the day's end (closing):
// opening plus the lines is closing, and closing is the merchant account's
// balance in the ledger at that time.

// StatementLine is one entry of a statement.
type StatementLine struct {
	Time   int64  `json:"time"`
	Kind   string `json:"kind"`
	Ref    string `json:"ref"`
	Amount int64  `json:"amount"`
}

// CurrencyStatement is a statement's part in one currency.
type CurrencyStatement struct {
	Currency string           `json:"currency"`
	Opening  int64            `json:"opening"`
	Closing  int64            `json:"closing"`
	Totals   map[string]int64 `json:"totals"`
	Lines    []StatementLine  `json:"lines"`
}

// Statement is a sub-app's statement of one day.
type Statement struct {
	Object     string              `json:"object"`
	App        string              `json:"app"`
	Livemode   bool                `json:"livemode"`
	Date       string              `json:"date"`
	Currencies []CurrencyStatement `json:"currencies"`
}

// statementKind names what moved the merchant's balance.
func statementKind(refType string) string {
	switch refType {
	case ledger.RefCharge, ledger.RefReversal, ledger.RefBalancePayment:
		return "payment"
	case ledger.RefRefund, ledger.RefBalanceRefund:
		return "refund"
	case ledger.RefPlatformFee:
		return "platform_fee"
	case ledger.RefFee:
		return "channel_fee"
	case ledger.RefRoyalty, ledger.RefRoyaltyManual, ledger.RefRoyaltyReceived:
		return "royalty"
	case ledger.RefTransfer, ledger.RefRedEnvelope, ledger.RefRedEnvelopeRefund:
		return "payout"
	}
	return "other"
}

// GetStatement answers sub's statement of date (the caller's own app or
// one of its sub-apps), in the caller's mode.
func (s *Service) GetStatement(ctx context.Context, who Caller, sub, date string) (*Statement, error) {
	d, err := settleDay(date)
	if err != nil {
		return nil, err
	}
	from, to := d.Unix(), d.Add(day).Unix()
	st := &Statement{Object: "statement", App: sub, Livemode: who.Live, Date: date, Currencies: []CurrencyStatement{}}
	err = s.read(ctx, func(tx Tx) error {
		if err := ownOrSub(ctx, tx, who, sub); err != nil {
			return err
		}
		curs, err := tx.BookCurrencies(ctx, sub, who.Live)
		if err != nil {
			return err
		}
		for _, cur := range curs {
			cs, err := currencyStatement(ctx, tx, sub, who.Live, cur, from, to)
			if err != nil {
				return err
			}
			st.Currencies = append(st.Currencies, cs)
		}
		return nil
	})
	return st, err
}

func currencyStatement(ctx context.Context, tx Tx, app string, live bool, cur string, from, to int64) (CurrencyStatement, error) {
	cs := CurrencyStatement{Currency: cur, Totals: map[string]int64{}, Lines: []StatementLine{}}
	var err error
	if cs.Opening, err = tx.MerchantBalance(ctx, app, live, cur, from); err != nil {
		return cs, err
	}
	lines, err := tx.MerchantLines(ctx, app, live, cur, from, to)
	if err != nil {
		return cs, err
	}
	cs.Closing = cs.Opening
	for _, l := range lines {
		k := statementKind(l.RefType)
		cs.Lines = append(cs.Lines, StatementLine{Time: l.Created, Kind: k, Ref: l.RefID, Amount: l.Amount})
		cs.Totals[k] += l.Amount
		cs.Closing += l.Amount
	}
	return cs, nil
}

// CSV renders a statement: one row per line, then each currency's
// opening, totals and closing.
func (st *Statement) CSV() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"date", "currency", "time", "kind", "ref", "amount"})
	for _, cs := range st.Currencies {
		_ = w.Write([]string{st.Date, cs.Currency, "", "opening", "", strconv.FormatInt(cs.Opening, 10)})
		for _, l := range cs.Lines {
			_ = w.Write([]string{st.Date, cs.Currency, time.Unix(l.Time, 0).In(beijing).Format(time.RFC3339), l.Kind, l.Ref,
				strconv.FormatInt(l.Amount, 10)})
		}
		for _, k := range sortedKinds(cs.Totals) {
			_ = w.Write([]string{st.Date, cs.Currency, "", "total_" + k, "", strconv.FormatInt(cs.Totals[k], 10)})
		}
		_ = w.Write([]string{st.Date, cs.Currency, "", "closing", "", strconv.FormatInt(cs.Closing, 10)})
	}
	w.Flush()
	return b.Bytes()
}

func sortedKinds(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for _, k := range []string{"payment", "refund", "platform_fee", "channel_fee", "royalty", "payout", "other"} {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	return out
}
