package core

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// The account system (Ping++ §2.11): an app's users, their stored value,
// and what moves it. Every movement is one transaction: the balance change
// (a conditional update that never overdraws), its balance transaction,
// the object, the ledger postings and the event.

// UserParams are a user's profile fields; on update a nil field is left
// as it is.
type UserParams struct {
	ID         string
	Type       *string
	Name       *string
	Email      *string
	Mobile     *string
	Gender     *string
	Address    *string
	Avatar     *string
	Disabled   *bool
	Identified *bool
	Metadata   json.RawMessage
}

func (p UserParams) apply(u *polypay.User) {
	for _, f := range []struct {
		to   *string
		from *string
	}{{&u.Type, p.Type}, {&u.Name, p.Name}, {&u.Email, p.Email}, {&u.Mobile, p.Mobile}, {&u.Gender, p.Gender},
		{&u.Address, p.Address}, {&u.Avatar, p.Avatar}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if p.Disabled != nil {
		u.Disabled = *p.Disabled
	}
	if p.Identified != nil {
		u.Identified = *p.Identified
	}
	if p.Metadata != nil {
		u.Metadata = p.Metadata
	}
}

// CreateUser adds a user under the merchant's id, with a zero balance.
func (s *Service) CreateUser(ctx context.Context, who Caller, p UserParams, hook Hook) (any, error) {
	u := &polypay.User{ID: p.ID, AppID: who.App.ID, Livemode: who.Live, Type: "customer", Metadata: []byte("{}")}
	p.apply(u)
	var out any
	err := s.write(ctx, func(tx Tx) error {
		if _, err := tx.GetUser(ctx, u.AppID, u.Livemode, u.ID); err == nil {
			return polypay.ParamError("id", "用户 %s 已存在", u.ID)
		} else if polypay.ErrorCode(err) != polypay.ENotFound {
			return err
		}
		u.Created = tx.Now()
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
		out = wire.FromUser(u)
		return runHook(hook, tx, out)
	})
	if store.IsUniqueViolation(err) {
		return nil, polypay.ParamError("id", "用户 %s 已存在", u.ID)
	}
	return out, err
}

// UpdateUser changes a user's profile; balances change only by their
// movements.
func (s *Service) UpdateUser(ctx context.Context, who Caller, id string, p UserParams, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		u, err := tx.GetUser(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		p.apply(u)
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if out, err = renderUser(ctx, tx, u); err != nil {
			return err
		}
		return runHook(hook, tx, out)
	})
	return out, err
}

// renderUser renders a user with the coupons it can use now and its
// settle accounts. polypay keeps no separate bucket of bonus value: every
// withdrawal waits for the merchant's confirmation, so all of the balance
// is withdrawable.
func renderUser(ctx context.Context, tx Tx, u *polypay.User) (*wire.User, error) {
	w := wire.FromUser(u)
	w.WithdrawableBalance = u.AvailableBalance
	n, err := tx.AvailableCoupons(ctx, u.AppID, u.Livemode, u.ID, tx.Now())
	if err != nil {
		return nil, err
	}
	w.AvailableCoupons = n
	as, err := tx.ListSettleAccounts(ctx, u.AppID, u.Livemode, u.ID)
	for _, a := range as {
		w.SettleAccounts = append(w.SettleAccounts, wire.FromSettleAccount(&a.SettleAccount))
	}
	return w, err
}

// GetUser answers one of the app's users.
func (s *Service) GetUser(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		u, err := tx.GetUser(ctx, who.App.ID, who.Live, id)
		if err == nil {
			out, err = renderUser(ctx, tx, u)
		}
		return err
	})
	return out, err
}

// ListUsers lists the app's users by id.
func (s *Service) ListUsers(ctx context.Context, who Caller, url string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "users", who, p); err != nil {
			return err
		}
		us, more, err := tx.ListUsers(ctx, who.App.ID, who.Live, p)
		if err != nil {
			return err
		}
		list, err = renderList(url, us, more, func(u *polypay.User) (any, error) { return renderUser(ctx, tx, u) })
		return err
	})
	return list, err
}

// activeUser is an app's user that may move money: it exists and is not
// disabled. param names the request parameter that named it.
func activeUser(ctx context.Context, tx AccountStore, who Caller, id, param string) (*polypay.User, error) {
	u, err := tx.GetUser(ctx, who.App.ID, who.Live, id)
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return nil, polypay.ParamError(param, "用户 %s 不存在", id)
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, polypay.ParamError(param, "用户 %s 已被禁用", id)
	}
	return u, nil
}

// moveBalance changes a user's balance by delta and records the balance
// transaction; a debit the balance cannot cover is refused naming param.
func moveBalance(ctx context.Context, tx AccountStore, who Caller, user string, delta int64, typ polypay.BalanceTxnType,
	source, desc, param string) (*polypay.BalanceTransaction, error) {
	after, ok, err := tx.MoveBalance(ctx, who.App.ID, who.Live, user, delta)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, polypay.ParamError(param, "用户 %s 的余额不足", user)
	}
	t := &polypay.BalanceTransaction{ID: polypay.NewID("btx_"), AppID: who.App.ID, Livemode: who.Live, User: user, Type: typ,
		Amount: delta, AvailableBalance: after, Source: source, Description: desc, Created: tx.Now()}
	return t, tx.InsertBalanceTxn(ctx, t)
}

// GetBalanceTxn answers one balance transaction.
func (s *Service) GetBalanceTxn(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		t, err := tx.GetBalanceTxn(ctx, who.App.ID, who.Live, id)
		if err == nil {
			out = wire.FromBalanceTxn(t)
		}
		return err
	})
	return out, err
}

// ListBalanceTxns lists balance transactions, newest first, of one user
// when user is not empty.
func (s *Service) ListBalanceTxns(ctx context.Context, who Caller, url, user string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "balance_transactions", who, p); err != nil {
			return err
		}
		ts, more, err := tx.ListBalanceTxns(ctx, who.App.ID, who.Live, user, p)
		data := make([]any, 0, len(ts))
		for _, t := range ts {
			data = append(data, wire.FromBalanceTxn(t))
		}
		list = wire.NewList(url, more, data)
		return err
	})
	return list, err
}
