package core

import (
	"context"
	"slices"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Settle accounts: where a user's withdrawals are paid, one per channel.
// A bank card's number (UnionPay) is sealed with the master key; the API
// shows it masked.

// SettleAccountParams are a settle account's parameters.
type SettleAccountParams struct {
	Channel   string
	Recipient polypay.SettleRecipient
}

// CreateSettleAccount adds a user's settle account on a channel.
func (s *Service) CreateSettleAccount(ctx context.Context, who Caller, user string, p SettleAccountParams, hook Hook) (any, error) {
	if !slices.Contains(TransferChannels, p.Channel) {
		return nil, polypay.ParamError("channel", "不支持的付款渠道: %s（可用: wx, wx_pub, wx_lite, alipay, unionpay）", p.Channel)
	}
	a := &store.SettleAccountRow{SettleAccount: polypay.SettleAccount{ID: polypay.NewID("sa_"), AppID: who.App.ID,
		Livemode: who.Live, User: user, Channel: p.Channel, Recipient: p.Recipient}}
	if p.Channel == "unionpay" {
		if s.Box == nil {
			return nil, polypay.Errorf(polypay.ENotSupported, "this node has no master key to seal a payee's card number")
		}
		a.Sealed = s.Box.Seal("settle_account:"+a.ID, []byte(p.Recipient.Account))
		a.Recipient.Account = maskNumber(p.Recipient.Account)
	}
	var out any
	err := s.write(ctx, func(tx Tx) error {
		if _, err := activeUser(ctx, tx, who, user, "user"); err != nil {
			return err
		}
		a.Created = tx.Now()
		if err := tx.InsertSettleAccount(ctx, a); err != nil {
			return err
		}
		out = wire.FromSettleAccount(&a.SettleAccount)
		return runHook(hook, tx, out)
	})
	if store.IsUniqueViolation(err) {
		return nil, polypay.ParamError("channel", "用户 %s 在渠道 %s 已有结算账户", user, p.Channel)
	}
	return out, err
}

// GetSettleAccount answers one of a user's settle accounts.
func (s *Service) GetSettleAccount(ctx context.Context, who Caller, user, id string) (any, error) {
	a, err := s.settleAccountByID(ctx, who, user, id)
	if err != nil {
		return nil, err
	}
	return wire.FromSettleAccount(&a.SettleAccount), nil
}

// ListSettleAccounts lists a user's settle accounts.
func (s *Service) ListSettleAccounts(ctx context.Context, who Caller, url, user string) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if _, err := tx.GetUser(ctx, who.App.ID, who.Live, user); err != nil {
			return err
		}
		as, err := tx.ListSettleAccounts(ctx, who.App.ID, who.Live, user)
		data := make([]any, 0, len(as))
		for _, a := range as {
			data = append(data, wire.FromSettleAccount(&a.SettleAccount))
		}
		list = wire.NewList(url, false, data)
		return err
	})
	return list, err
}

// DeleteSettleAccount removes a user's settle account; withdrawals made
// to it keep its id.
func (s *Service) DeleteSettleAccount(ctx context.Context, who Caller, user, id string) (any, error) {
	err := s.write(ctx, func(tx Tx) error {
		if _, err := tx.GetSettleAccount(ctx, who.App.ID, who.Live, user, id); err != nil {
			return err
		}
		return tx.DeleteSettleAccount(ctx, who.App.ID, who.Live, user, id)
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": id, "object": "settle_account", "deleted": true}, nil
}

func (s *Service) settleAccountByID(ctx context.Context, who Caller, user, id string) (*store.SettleAccountRow, error) {
	var a *store.SettleAccountRow
	err := s.read(ctx, func(tx Tx) (err error) { a, err = tx.GetSettleAccount(ctx, who.App.ID, who.Live, user, id); return })
	return a, err
}

// settleAccountFor is the settle account a withdrawal names (id), or the
// user's on its channel; a missing one is refused naming settle_account.
func (s *Service) settleAccountFor(ctx context.Context, who Caller, user, channel, id string) (*store.SettleAccountRow, error) {
	var found *store.SettleAccountRow
	err := s.read(ctx, func(tx Tx) error {
		as, err := tx.ListSettleAccounts(ctx, who.App.ID, who.Live, user)
		for _, a := range as {
			if (id == "" || a.ID == id) && a.Channel == channel {
				found = a
			}
		}
		return err
	})
	if err == nil && found == nil {
		err = polypay.ParamError("settle_account", "用户 %s 在渠道 %s 没有结算账户", user, channel)
	}
	return found, err
}

// openSettleAccount is a with its sealed account number restored, for a
// transfer only.
func (s *Service) openSettleAccount(a *store.SettleAccountRow) (*polypay.SettleAccount, error) {
	out := a.SettleAccount
	if a.Sealed == "" {
		return &out, nil
	}
	if s.Box == nil {
		return nil, polypay.Errorf(polypay.ENotSupported, "this node has no master key to open a payee's card number")
	}
	plain, err := s.Box.Open("settle_account:"+a.ID, a.Sealed)
	if err != nil {
		return nil, err
	}
	out.Recipient.Account = string(plain)
	return &out, nil
}
