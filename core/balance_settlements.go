package core

import (
	"context"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Balance settlements (Ping++'s 余额结算, whose object Ping++'s SDKs only
// read and whose fields are unconfirmed): polypay keeps one for every paid
// charge on the balance channel, the user's value settled to the
// merchant. It is that charge seen from the account system, so its id is
// the charge's with "bs_" for "ch_", and it cannot disagree with it.

const settlementPrefix = "bs_"

func settlementOf(c *polypay.Charge) *wire.BalanceSettlement {
	return &wire.BalanceSettlement{ID: settlementPrefix + strings.TrimPrefix(c.ID, "ch_"), Object: "balance_settlement",
		App: c.AppID, Livemode: c.Livemode, User: balanceUserOf(c), Amount: c.AmountCaptured, AmountRefunded: c.AmountRefunded,
		Currency: c.Currency, Charge: c.ID, Order: nullString(orderOf(c)), Status: "succeeded", TimeSucceeded: c.TimePaid,
		Created: c.Created}
}

// settlementCharge is the charge a settlement id names, or ENotFound
// naming what.
func settlementCharge(ctx context.Context, tx Tx, who Caller, id, what string) (*polypay.Charge, error) {
	rest, ok := strings.CutPrefix(id, settlementPrefix)
	var c *polypay.Charge
	var err error = polypay.NotFound(what, id)
	if ok {
		c, err = tx.GetCharge(ctx, who.App.ID, who.Live, "ch_"+rest)
	}
	if err == nil && (c.Channel != BalanceChannel || !c.Paid()) {
		err = polypay.NotFound(what, id)
	}
	if polypay.ErrorCode(err) == polypay.ENotFound {
		err = polypay.NotFound(what, id)
	}
	return c, err
}

// GetBalanceSettlement answers one balance settlement.
func (s *Service) GetBalanceSettlement(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		c, err := settlementCharge(ctx, tx, who, id, "balance_settlement")
		if err == nil {
			out = settlementOf(c)
		}
		return err
	})
	return out, err
}

// ListBalanceSettlements lists the app's balance settlements, newest
// first; a cursor must name one of them.
func (s *Service) ListBalanceSettlements(ctx context.Context, who Caller, url string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		paid := true
		f := store.ChargeFilter{AppID: who.App.ID, Live: who.Live, Channel: BalanceChannel, Paid: &paid, Limit: p.Limit}
		for _, cur := range []struct {
			id  string
			dst *string
		}{{p.StartingAfter, &f.StartingAfter}, {p.EndingBefore, &f.EndingBefore}} {
			if cur.id == "" {
				continue
			}
			c, err := settlementCharge(ctx, tx, who, cur.id, "balance_settlement")
			if err != nil {
				return err
			}
			*cur.dst = c.ID
		}
		cs, more, err := tx.ListCharges(ctx, f)
		if err != nil {
			return err
		}
		data := make([]any, 0, len(cs))
		for _, c := range cs {
			data = append(data, settlementOf(c))
		}
		list = wire.NewList(url, more, data)
		return nil
	})
	return list, err
}
