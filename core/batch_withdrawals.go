package core

import (
	"context"
	"strconv"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// MaxBatchWithdrawals bounds one batch withdrawal.
const MaxBatchWithdrawals = 100

// CreateBatchWithdrawal confirms (status pending) or cancels (canceled)
// many withdrawals at once. All must be the app's, in this mode, and
// still created; the first that is not is refused by its index before
// anything changes. Each is then confirmed or canceled as on its own, so
// a crash midway leaves the rest created, to be batched again.
func (s *Service) CreateBatchWithdrawal(ctx context.Context, who Caller, ids []string, status string, hook Hook) (any, error) {
	b := &store.BatchWithdrawal{ID: polypay.NewID("bwd_"), AppID: who.App.ID, Livemode: who.Live, Status: status, Withdrawals: ids}
	err := s.write(ctx, func(tx Tx) error {
		for i, id := range ids {
			w, err := tx.GetWithdrawal(ctx, who.App.ID, who.Live, id)
			if polypay.ErrorCode(err) == polypay.ENotFound {
				return polypay.ParamError(indexed("withdrawals", i), "提现 %s 不存在", id)
			}
			if err != nil {
				return err
			}
			if w.Status != polypay.WithdrawalCreated {
				return polypay.ParamError(indexed("withdrawals", i), "提现 %s 的状态是 %s，不是 created", id, w.Status)
			}
		}
		b.Created = tx.Now()
		return tx.InsertBatchWithdrawal(ctx, b)
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		var err error
		if status == "canceled" {
			_, err = s.CancelWithdrawal(ctx, who, id, nil)
		} else {
			_, err = s.ConfirmWithdrawal(ctx, who, id, nil)
		}
		if err != nil {
			s.Log.Warn("batch withdrawal member", "batch", b.ID, "withdrawal", id, "err", err)
		}
	}
	return s.renderBatchWithdrawal(ctx, who, b.ID, hook)
}

func indexed(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }

func (s *Service) renderBatchWithdrawal(ctx context.Context, who Caller, id string, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		b, err := tx.GetBatchWithdrawal(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		w, err := batchWithdrawalWire(ctx, tx, b)
		if err != nil {
			return err
		}
		out = w
		return runHook(hook, tx, w)
	})
	return out, err
}

func batchWithdrawalWire(ctx context.Context, tx Tx, b *store.BatchWithdrawal) (*wire.BatchWithdrawal, error) {
	ws := make([]*polypay.Withdrawal, 0, len(b.Withdrawals))
	for _, id := range b.Withdrawals {
		w, err := tx.GetWithdrawal(ctx, b.AppID, b.Livemode, id)
		if err != nil {
			return nil, err
		}
		ws = append(ws, &w.Withdrawal)
	}
	return wire.FromBatchWithdrawal(b.ID, b.AppID, b.Livemode, b.Status, b.Created, ws), nil
}

// GetBatchWithdrawal answers a batch withdrawal with its withdrawals as
// they are now.
func (s *Service) GetBatchWithdrawal(ctx context.Context, who Caller, id string) (any, error) {
	return s.renderBatchWithdrawal(ctx, who, id, nil)
}

// ListBatchWithdrawals lists batch withdrawals, newest first.
func (s *Service) ListBatchWithdrawals(ctx context.Context, who Caller, url string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "batch_withdrawals", who, p); err != nil {
			return err
		}
		bs, more, err := tx.ListBatchWithdrawals(ctx, who.App.ID, who.Live, p)
		if err != nil {
			return err
		}
		list, err = renderList(url, bs, more, func(b *store.BatchWithdrawal) (any, error) { return batchWithdrawalWire(ctx, tx, b) })
		return err
	})
	return list, err
}
