package core

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// MaxBatchRefund is the most charges one batch refund may name (Ping++).
const MaxBatchRefund = 100

// BatchRefundParams are the validated parameters of POST /v1/batch_refunds.
type BatchRefundParams struct {
	AppID       string                    `json:"app"`
	BatchNo     string                    `json:"batch_no"`
	Charges     []polypay.BatchRefundItem `json:"charges"`
	Description string                    `json:"description"`
	Metadata    json.RawMessage           `json:"metadata"`
}

// CreateBatchRefund refunds up to 100 charges. Every charge is checked
// before anything is written (paid, not reversed, the amount within what
// is left to refund); the first that fails refuses the whole batch, named
// in the error. Each refund then goes through the ordinary refund path,
// and the refund's id is recorded on the batch in the transaction that
// creates it, so a node that dies midway never refunds a charge twice.
func (s *Service) CreateBatchRefund(ctx context.Context, who Caller, p BatchRefundParams, hook Hook) (any, error) {
	if p.AppID != who.App.ID {
		return nil, &polypay.Error{Code: polypay.EInvalid, Param: "app", Message: "app 不存在: " + p.AppID}
	}
	b := &store.BatchRefundRow{ParamsHash: hashJSON(p)}
	b.BatchRefund = polypay.BatchRefund{ID: newBatchID(s.now()), AppID: who.App.ID, Livemode: who.Live, BatchNo: p.BatchNo,
		Description: p.Description, Metadata: p.Metadata, Items: p.Charges, Status: polypay.BatchCreated, Created: s.now().Unix()}
	out, existing, err := s.storeBatchRefund(ctx, who, b, hook)
	if err != nil || existing {
		return out, err
	}
	s.runBatchRefund(ctx, who, b.ID)
	return s.renderBatchRefund(ctx, who, b.ID, hook)
}

// storeBatchRefund checks and inserts a new batch refund; for a batch_no
// already used it answers that batch (existing true) or refuses different
// parameters.
func (s *Service) storeBatchRefund(ctx context.Context, who Caller, b *store.BatchRefundRow, hook Hook) (any, bool, error) {
	var out any
	existing := false
	err := s.write(ctx, func(tx Tx) error {
		old, err := tx.BatchRefundByNo(ctx, b.AppID, b.Livemode, b.BatchNo)
		if err != nil {
			return err
		}
		if old != nil {
			if old.ParamsHash != b.ParamsHash {
				return polypay.ParamError("batch_no", "批次号 %s 已被使用，且参数与原请求不同", b.BatchNo)
			}
			existing = true
			if out, err = renderBatchRefundTx(ctx, tx, old); err != nil {
				return err
			}
			return runHook(hook, tx, out)
		}
		if err := checkBatchRefund(ctx, tx, who, b.Items); err != nil {
			return err
		}
		return tx.InsertBatchRefund(ctx, b)
	})
	if again, ok := retryOnce(ctx); ok && (store.IsUniqueViolation(err) || polypay.ErrorCode(err) == polypay.EInvalid) {
		// A concurrent request with the same batch_no stored first: its
		// insert collided with ours, or (read committed) its refunds had
		// already reserved the charges our check then found spent. Once
		// more finds that batch and answers it; a request that is really
		// wrong is refused again.
		return s.storeBatchRefund(again, who, b, hook)
	}
	return out, existing, err
}

// checkBatchRefund refuses the batch at its first charge that cannot be
// refunded as asked, and fills in each whole-remainder amount.
func checkBatchRefund(ctx context.Context, tx Tx, who Caller, items []polypay.BatchRefundItem) error {
	for i := range items {
		it := &items[i]
		c, err := tx.GetCharge(ctx, who.App.ID, who.Live, it.Charge)
		if polypay.ErrorCode(err) == polypay.ENotFound {
			return polypay.ParamError("charges", "charge %s 不存在", it.Charge)
		}
		if err != nil {
			return err
		}
		if !c.Paid() || c.Status == polypay.ChargeReversed {
			return polypay.ParamError("charges", "charge %s 未支付或已撤销，不能退款", c.ID)
		}
		reserved, err := tx.Reserved(ctx, c.ID)
		if err != nil {
			return err
		}
		left := c.AmountCaptured - reserved
		if it.Amount == 0 {
			it.Amount = left
		}
		if left <= 0 || it.Amount > left {
			return polypay.ParamError("charges", "charge %s 可退金额为 %d，不能退 %d", c.ID, left, it.Amount)
		}
	}
	return nil
}

// runBatchRefund creates the refunds a batch still lacks, then marks it
// pending: its refunds decide it (finishBatchRefund).
func (s *Service) runBatchRefund(ctx context.Context, who Caller, id string) {
	var b *store.BatchRefundRow
	if err := s.read(ctx, func(tx Tx) (err error) { b, err = tx.LockBatchRefund(ctx, id); return }); err != nil {
		s.Log.Error("reading batch refund", "batch", id, "err", err)
		return
	}
	for i, it := range b.Items {
		if it.Refund != "" {
			continue
		}
		rp := RefundParams{Amount: it.Amount, Description: firstOf(it.Description, b.Description), FundingSource: it.FundingSource,
			Metadata: json.RawMessage(`{"batch_refund":"` + b.ID + `"}`)}
		if _, err := s.CreateRefund(ctx, who, it.Charge, rp, s.recordBatchRefund(b.ID, i)); err != nil {
			s.Log.Warn("batch refund item refused", "batch", b.ID, "charge", it.Charge, "err", err)
		}
	}
	if err := s.write(ctx, func(tx Tx) error {
		cur, err := tx.LockBatchRefund(ctx, id)
		if err != nil || cur.Status != polypay.BatchCreated {
			return err
		}
		cur.Status = polypay.BatchPending
		return tx.UpdateBatchRefund(ctx, cur)
	}); err != nil {
		s.Log.Error("marking batch refund pending", "batch", id, "err", err)
	}
	s.finishBatchRefund(ctx, id)
}

// recordBatchRefund is the hook that writes a new refund's id on item i
// of the batch in the refund's own transaction.
func (s *Service) recordBatchRefund(batchID string, i int) Hook {
	return func(tx Tx, obj any) error {
		r, ok := obj.(*wire.Refund)
		if !ok {
			return nil
		}
		b, err := tx.LockBatchRefund(context.Background(), batchID)
		if err != nil || b.Items[i].Refund != "" {
			return err
		}
		b.Items[i].Refund = r.ID
		return tx.UpdateBatchRefund(context.Background(), b)
	}
}

// finishBatchRefund decides a pending batch once all its refunds are
// decided: succeeded, failed or partially_succeeded, announced by
// batch_refund.succeeded when any refund succeeded.
func (s *Service) finishBatchRefund(ctx context.Context, id string) {
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		queued = 0
		b, err := tx.LockBatchRefund(ctx, id)
		if err != nil || b.Status != polypay.BatchPending {
			return err
		}
		refunds, err := batchRefunds(ctx, tx, b)
		if err != nil {
			return err
		}
		ok, failed := 0, 0
		for _, it := range b.Items {
			switch r := refunds[it.Refund]; {
			case r == nil:
				failed++ // refused when it was asked (the charge changed meanwhile)
			case r.Status == polypay.RefundSucceeded:
				ok++
			case r.Status == polypay.RefundFailed:
				failed++
			default:
				return nil
			}
		}
		b.Status = map[bool]polypay.BatchStatus{true: polypay.BatchPartiallySucceeded, false: polypay.BatchSucceeded}[failed > 0]
		if ok == 0 {
			b.Status = polypay.BatchFailed
		} else {
			b.TimeSucceeded = tx.Now()
		}
		if err := tx.UpdateBatchRefund(ctx, b); err != nil || ok == 0 {
			return err
		}
		queued, err = s.emit(ctx, tx, b.AppID, b.Livemode, polypay.EventBatchRefundSucceeded, "", wire.FromBatchRefund(&b.BatchRefund, refunds))
		return err
	})
	s.kick(queued)
	if err != nil {
		s.Log.Error("finishing batch refund", "batch", id, "err", err)
	}
}

// batchRefunds are the refunds a batch made, by id.
func batchRefunds(ctx context.Context, tx Tx, b *store.BatchRefundRow) (map[string]*polypay.Refund, error) {
	out := map[string]*polypay.Refund{}
	for _, it := range b.Items {
		if it.Refund == "" {
			continue
		}
		r, err := tx.GetRefund(ctx, b.AppID, b.Livemode, it.Charge, it.Refund)
		if err != nil {
			return nil, err
		}
		out[r.ID] = r
	}
	return out, nil
}

// pollBatchRefunds finishes open batch refunds: a batch a node left
// midway gets its missing refunds, and a pending one is decided when its
// refunds are.
func (s *Service) pollBatchRefunds(ctx context.Context) (int, error) {
	var ids []string
	if err := s.read(ctx, func(tx Tx) (err error) { ids, err = tx.OpenBatchRefunds(ctx, 50); return }); err != nil {
		return 0, err
	}
	for _, id := range ids {
		var b *store.BatchRefundRow
		if err := s.read(ctx, func(tx Tx) (err error) { b, err = tx.LockBatchRefund(ctx, id); return }); err != nil {
			return 0, err
		}
		if b.Status == polypay.BatchCreated {
			app := &polypay.App{ID: b.AppID}
			s.runBatchRefund(ctx, Caller{App: app, Live: b.Livemode, RequestID: polypay.NewID("iar_")}, id)
			continue
		}
		s.finishBatchRefund(ctx, id)
	}
	return len(ids), nil
}

// GetBatchRefund answers a batch refund.
func (s *Service) GetBatchRefund(ctx context.Context, who Caller, id string) (any, error) {
	return s.renderBatchRefund(ctx, who, id, nil)
}

func (s *Service) renderBatchRefund(ctx context.Context, who Caller, id string, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		b, err := tx.GetBatchRefund(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		if out, err = renderBatchRefundTx(ctx, tx, b); err != nil {
			return err
		}
		return runHook(hook, tx, out)
	})
	return out, err
}

func renderBatchRefundTx(ctx context.Context, tx Tx, b *store.BatchRefundRow) (any, error) {
	refunds, err := batchRefunds(ctx, tx, b)
	if err != nil {
		return nil, err
	}
	return wire.FromBatchRefund(&b.BatchRefund, refunds), nil
}

// ListBatchRefunds pages an app's batch refunds newest first.
func (s *Service) ListBatchRefunds(ctx context.Context, who Caller, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "batch_refunds", who, p); err != nil {
			return err
		}
		bs, more, err := tx.ListBatchRefunds(ctx, who.App.ID, who.Live, p)
		if err != nil {
			return err
		}
		data := make([]any, 0, len(bs))
		for _, b := range bs {
			w, err := renderBatchRefundTx(ctx, tx, b)
			if err != nil {
				return err
			}
			data = append(data, w)
		}
		list = wire.NewList("/v1/batch_refunds", more, data)
		return nil
	})
	return list, err
}
