package core

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// BonusParams are a balance bonus's parameters (赠送余额).
type BonusParams struct {
	User        string          `json:"user"`
	Amount      int64           `json:"amount"`
	OrderNo     string          `json:"order_no"`
	Description string          `json:"description"`
	Metadata    json.RawMessage `json:"metadata"`
}

// CreateBonus gives a user stored value. The order_no is the merchant's
// key: the same order_no with the same parameters answers the same bonus,
// with others it is refused; concurrent requests credit once.
func (s *Service) CreateBonus(ctx context.Context, who Caller, p BonusParams, hook Hook) (any, error) {
	b := &store.BalanceBonusRow{ParamsHash: hashJSON(p)}
	b.BalanceBonus = polypay.BalanceBonus{ID: polypay.NewID("bb_"), AppID: who.App.ID, Livemode: who.Live, User: p.User,
		Amount: p.Amount, OrderNo: p.OrderNo, Description: p.Description, Metadata: p.Metadata}
	var out any
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		queued = 0
		old, err := tx.BonusByOrderNo(ctx, b.AppID, b.Livemode, b.OrderNo)
		if err != nil {
			return err
		}
		if old != nil {
			if old.ParamsHash != b.ParamsHash {
				return polypay.ParamError("order_no", "赠送订单号 %s 已被使用，且参数与原请求不同", b.OrderNo)
			}
			out = wire.FromBonus(&old.BalanceBonus)
			return runHook(hook, tx, out)
		}
		if queued, err = s.giveBonus(ctx, tx, who, b); err != nil {
			return err
		}
		out = wire.FromBonus(&b.BalanceBonus)
		return runHook(hook, tx, out)
	})
	if again, ok := retryOnce(ctx); ok && store.IsUniqueViolation(err) {
		return s.CreateBonus(again, who, p, hook) // a concurrent request stored it first
	}
	s.kick(queued)
	return out, err
}

// giveBonus credits an active user and records the bonus, its postings
// and event.
func (s *Service) giveBonus(ctx context.Context, tx Tx, who Caller, b *store.BalanceBonusRow) (int, error) {
	if _, err := activeUser(ctx, tx, who, b.User, "user"); err != nil {
		return 0, err
	}
	return s.creditBonus(ctx, tx, who, b)
}

// creditBonus credits the user and records the bonus, its postings and
// event.
func (s *Service) creditBonus(ctx context.Context, tx accountBooks, who Caller, b *store.BalanceBonusRow) (int, error) {
	b.Created = tx.Now()
	bt, err := moveBalance(ctx, tx, who, b.User, b.Amount, polypay.BalanceTxnBonus, b.ID, b.Description, "amount")
	if err != nil {
		return 0, err
	}
	b.BalanceTransaction = bt.ID
	if err := tx.InsertBonus(ctx, b); err != nil {
		return 0, err
	}
	if err := tx.Post(ctx, ledger.BonusGiven(&b.BalanceBonus)); err != nil {
		return 0, err
	}
	return s.emit(ctx, tx, b.AppID, b.Livemode, polypay.EventBalanceBonusSucceeded, who.RequestID, wire.FromBonus(&b.BalanceBonus))
}

// GetBonus answers one balance bonus.
func (s *Service) GetBonus(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		b, err := tx.GetBonus(ctx, who.App.ID, who.Live, id)
		if err == nil {
			out = wire.FromBonus(&b.BalanceBonus)
		}
		return err
	})
	return out, err
}

// ListBonuses lists balance bonuses, newest first.
func (s *Service) ListBonuses(ctx context.Context, who Caller, url, user string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "balance_bonuses", who, p); err != nil {
			return err
		}
		bs, more, err := tx.ListBonuses(ctx, who.App.ID, who.Live, user, p)
		data := make([]any, 0, len(bs))
		for _, b := range bs {
			data = append(data, wire.FromBonus(&b.BalanceBonus))
		}
		list = wire.NewList(url, more, data)
		return err
	})
	return list, err
}

// BalanceTransferParams are a balance transfer's parameters (余额转账).
type BalanceTransferParams struct {
	User        string          `json:"user"`
	Recipient   string          `json:"recipient"`
	Amount      int64           `json:"amount"`
	UserFee     int64           `json:"user_fee"`
	OrderNo     string          `json:"order_no"`
	Description string          `json:"description"`
	Metadata    json.RawMessage `json:"metadata"`
}

// CreateBalanceTransfer moves value from one user to another, less the
// fee the merchant keeps, in one transaction: the debit is refused when
// the sender's balance cannot cover it, however many transfers race.
func (s *Service) CreateBalanceTransfer(ctx context.Context, who Caller, p BalanceTransferParams, hook Hook) (any, error) {
	if p.User == p.Recipient {
		return nil, polypay.ParamError("recipient", "不能转账给自己")
	}
	if p.UserFee < 0 || p.UserFee >= p.Amount {
		return nil, polypay.ParamError("user_fee", "user_fee 须为 0 到 amount - 1 之间的整数")
	}
	t := &store.BalanceTransferRow{ParamsHash: hashJSON(p)}
	t.BalanceTransfer = polypay.BalanceTransfer{ID: polypay.NewID("btr_"), AppID: who.App.ID, Livemode: who.Live, User: p.User,
		Recipient: p.Recipient, Amount: p.Amount, UserFee: p.UserFee, OrderNo: p.OrderNo, Description: p.Description,
		Metadata: p.Metadata}
	var out any
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		queued = 0
		old, err := tx.BalanceTransferByOrderNo(ctx, t.AppID, t.Livemode, t.OrderNo)
		if err != nil {
			return err
		}
		if old != nil {
			if old.ParamsHash != t.ParamsHash {
				return polypay.ParamError("order_no", "转账订单号 %s 已被使用，且参数与原请求不同", t.OrderNo)
			}
			out = wire.FromBalanceTransfer(&old.BalanceTransfer)
			return runHook(hook, tx, out)
		}
		if queued, err = s.moveBetween(ctx, tx, who, t); err != nil {
			return err
		}
		out = wire.FromBalanceTransfer(&t.BalanceTransfer)
		return runHook(hook, tx, out)
	})
	if again, ok := retryOnce(ctx); ok && store.IsUniqueViolation(err) {
		return s.CreateBalanceTransfer(again, who, p, hook)
	}
	s.kick(queued)
	return out, err
}

// moveBetween debits the sender and credits the recipient. The two rows
// change in id order, so two transfers in opposite directions lock them in
// the same order and never deadlock.
func (s *Service) moveBetween(ctx context.Context, tx Tx, who Caller, t *store.BalanceTransferRow) (int, error) {
	if _, err := activeUser(ctx, tx, who, t.User, "user"); err != nil {
		return 0, err
	}
	if _, err := activeUser(ctx, tx, who, t.Recipient, "recipient"); err != nil {
		return 0, err
	}
	t.Created = tx.Now()
	debit := func() (err error) {
		bt, err := moveBalance(ctx, tx, who, t.User, -t.Amount, polypay.BalanceTxnTransferOut, t.ID, t.Description, "amount")
		if err == nil {
			t.UserBalanceTransaction = bt.ID
		}
		return err
	}
	credit := func() (err error) {
		bt, err := moveBalance(ctx, tx, who, t.Recipient, t.Amount-t.UserFee, polypay.BalanceTxnReceipts, t.ID, t.Description, "recipient")
		if err == nil {
			t.RecipientBalanceTransaction = bt.ID
		}
		return err
	}
	steps := []func() error{debit, credit}
	if t.Recipient < t.User {
		steps = []func() error{credit, debit}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return 0, err
		}
	}
	if err := tx.InsertBalanceTransfer(ctx, t); err != nil {
		return 0, err
	}
	if err := tx.Post(ctx, ledger.BalanceTransferred(&t.BalanceTransfer)); err != nil {
		return 0, err
	}
	return s.emit(ctx, tx, t.AppID, t.Livemode, polypay.EventBalanceTransferSucceeded, who.RequestID,
		wire.FromBalanceTransfer(&t.BalanceTransfer))
}

// GetBalanceTransfer answers one balance transfer.
func (s *Service) GetBalanceTransfer(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		t, err := tx.GetBalanceTransfer(ctx, who.App.ID, who.Live, id)
		if err == nil {
			out = wire.FromBalanceTransfer(&t.BalanceTransfer)
		}
		return err
	})
	return out, err
}

// ListBalanceTransfers lists balance transfers, newest first; user filters
// on either side.
func (s *Service) ListBalanceTransfers(ctx context.Context, who Caller, url, user string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "balance_transfers", who, p); err != nil {
			return err
		}
		ts, more, err := tx.ListBalanceTransfers(ctx, who.App.ID, who.Live, user, p)
		data := make([]any, 0, len(ts))
		for _, t := range ts {
			data = append(data, wire.FromBalanceTransfer(&t.BalanceTransfer))
		}
		list = wire.NewList(url, more, data)
		return err
	})
	return list, err
}
