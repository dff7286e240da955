package core

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// MaxFanOut bounds a batch on a channel without a batch call, which
// polypay pays out one transfer at a time (PayoutRate per second).
const MaxFanOut = 1000

// BatchRecipient is one payee of a batch transfer (Ping++'s recipients[]).
type BatchRecipient struct {
	Account      string `json:"account"`
	Amount       int64  `json:"amount"`
	Name         string `json:"name"`
	Description  string `json:"description,omitempty"`
	OpenBank     string `json:"open_bank,omitempty"`
	OpenBankCode string `json:"open_bank_code,omitempty"`
	AccountType  string `json:"account_type,omitempty"`
	BusinessCode string `json:"business_code,omitempty"`
	CardType     *int   `json:"card_type,omitempty"`
	ForceCheck   *bool  `json:"force_check,omitempty"`
}

// BatchTransferParams are the validated parameters of POST /v1/batch_transfers.
type BatchTransferParams struct {
	AppID       string           `json:"app"`
	BatchNo     string           `json:"batch_no"`
	Channel     string           `json:"channel"`
	Amount      int64            `json:"amount"`
	Description string           `json:"description"`
	Metadata    json.RawMessage  `json:"metadata"`
	Currency    string           `json:"currency"`
	Type        string           `json:"type"`
	Recipients  []BatchRecipient `json:"recipients"`
}

// newBatchID makes Ping++'s 18-digit batch id: yyMMddHHmmss then 6 random
// digits, so ids sort by creation.
func newBatchID(now time.Time) string {
	n, err := rand.Int(rand.Reader, big.NewInt(1e6))
	if err != nil {
		panic("polypay: crypto/rand failed: " + err.Error())
	}
	return now.UTC().Format("060102150405") + fmt.Sprintf("%06d", n.Int64())
}

// CreateBatchTransfer pays many payees: one transfer per recipient, all
// validated before anything is stored (the error names the first bad
// recipient), stored in one transaction with the batch. A channel with a
// batch call gets one call; otherwise polypay sends the transfers itself,
// rate-limited. With the app's approve_batches setting the batch waits as
// scheduled.
func (s *Service) CreateBatchTransfer(ctx context.Context, who Caller, p BatchTransferParams, hook Hook) (any, error) {
	if p.AppID != who.App.ID {
		return nil, &polypay.Error{Code: polypay.EInvalid, Param: "app", Message: "app 不存在: " + p.AppID}
	}
	pay, err := s.payouter(ctx, who.App.ID, who.Live, p.Channel)
	if err != nil {
		return nil, err
	}
	b, members, err := s.newBatch(who, p, pay)
	if err != nil {
		return nil, err
	}
	settings, err := s.payoutSettings(ctx, who)
	if err != nil {
		return nil, err
	}
	if settings.ApproveBatches {
		b.Status = polypay.BatchScheduled
		for _, t := range members {
			t.Status = polypay.TransferScheduled
		}
	}
	_, batchCall := pay.(polypay.BatchPayouter)
	out, existing, err := s.storeBatch(ctx, b, members, batchCall, hook)
	if err != nil || existing {
		return out, err
	}
	if b.Status == polypay.BatchPending {
		s.dispatchBatch(ctx, b.ID)
	}
	return s.renderBatch(ctx, who, b.ID, hook)
}

// newBatch builds the batch and its member transfers, checking each with
// the channel's rules.
func (s *Service) newBatch(who Caller, p BatchTransferParams, pay polypay.Payouter) (*store.BatchTransferRow, []*store.TransferRow, error) {
	limit := MaxFanOut
	if bp, ok := pay.(polypay.BatchPayouter); ok {
		limit = bp.MaxBatch()
	}
	if len(p.Recipients) == 0 || len(p.Recipients) > limit {
		return nil, nil, polypay.ParamError("recipients", "recipients 须有 1 到 %d 个收款人", limit)
	}
	var sum int64
	for _, r := range p.Recipients {
		sum += r.Amount
	}
	if sum != p.Amount {
		return nil, nil, polypay.ParamError("amount", "amount %d 与 recipients 的金额之和 %d 不等", p.Amount, sum)
	}
	now := s.now()
	b := &store.BatchTransferRow{ParamsHash: s.secretHash("batch_transfer", p)}
	b.BatchTransfer = polypay.BatchTransfer{ID: newBatchID(now), AppID: who.App.ID, Livemode: who.Live, BatchNo: p.BatchNo,
		Channel: p.Channel, Type: p.Type, Amount: p.Amount, Currency: p.Currency, Description: p.Description,
		Metadata: p.Metadata, Status: polypay.BatchPending, Created: now.Unix(), CreatedBy: "api"}
	members := make([]*store.TransferRow, 0, len(p.Recipients))
	for i, r := range p.Recipients {
		t := s.memberTransfer(b, i, r)
		if err := pay.CheckTransfer(&t.Transfer); err != nil {
			return nil, nil, recipientErr(i, err)
		}
		if err := s.sealTransfer(t); err != nil {
			return nil, nil, err
		}
		members = append(members, t)
	}
	return b, members, nil
}

// memberTransfer is recipient i of batch b as a transfer. Its order_no is
// 16 digits (the batch id's last 12 and the index), which every payout
// channel accepts; its BatchNo is the batch number polypay gives a channel
// with a batch call (the batch id).
func (s *Service) memberTransfer(b *store.BatchTransferRow, i int, r BatchRecipient) *store.TransferRow {
	t := &store.TransferRow{}
	t.Transfer = polypay.Transfer{ID: polypay.NewID("tr_"), AppID: b.AppID, Livemode: b.Livemode, Channel: b.Channel,
		OrderNo: fmt.Sprintf("%s%04d", b.ID[len(b.ID)-12:], i), BatchID: b.ID, BatchNo: b.ID, Type: b.Type,
		Amount: r.Amount, Currency: b.Currency, Recipient: r.Account, Description: firstOf(r.Description, b.Description),
		Metadata: json.RawMessage("{}"), Status: polypay.TransferPending, Created: b.Created, CreatedBy: b.CreatedBy}
	t.Extra = recipientExtra(b.Channel, r)
	if b.Channel == "unionpay" {
		t.Recipient = ""
	}
	return t
}

// recipientExtra maps a recipient's fields to the channel's transfer
// extra (pingpp-compat §2.5).
func recipientExtra(channel string, r BatchRecipient) json.RawMessage {
	x := map[string]any{}
	set := func(k, v string) {
		if v != "" {
			x[k] = v
		}
	}
	switch channel {
	case "alipay":
		set("recipient_name", r.Name)
		set("recipient_account_type", r.AccountType)
	case "unionpay":
		set("card_number", r.Account)
		set("user_name", r.Name)
		set("open_bank", r.OpenBank)
		set("open_bank_code", r.OpenBankCode)
	default: // WeChat
		set("user_name", r.Name)
		if r.ForceCheck != nil {
			x["force_check"] = *r.ForceCheck
		}
	}
	b, _ := json.Marshal(x)
	return b
}

// recipientErr names the recipient a channel's refusal is about.
func recipientErr(i int, err error) error {
	pe, ok := err.(*polypay.Error)
	if !ok || pe.Code != polypay.EInvalid {
		return err
	}
	out := *pe
	out.Param = fmt.Sprintf("recipients[%d]", i)
	if pe.Param != "" {
		out.Param += "[" + pe.Param + "]"
	}
	return &out
}

// storeBatch inserts the batch and its members in one transaction; a
// batch_no used before answers that batch, or is refused with other
// parameters.
//
// Members of a fan-out batch are due at once (whichever of dispatchBatch
// and the poller claims one sends it); those of a batch call are left to
// that call, the poller asking only later.
func (s *Service) storeBatch(ctx context.Context, b *store.BatchTransferRow, members []*store.TransferRow, batchCall bool, hook Hook) (any, bool, error) {
	var out any
	existing := false
	err := s.write(ctx, func(tx Tx) error {
		old, err := tx.BatchTransferByNo(ctx, b.AppID, b.Livemode, b.BatchNo)
		if err != nil {
			return err
		}
		if old != nil {
			if old.ParamsHash != b.ParamsHash {
				return polypay.ParamError("batch_no", "批次号 %s 已被使用，且参数与原请求不同", b.BatchNo)
			}
			existing = true
			if out, err = renderBatchTx(ctx, tx, old); err != nil {
				return err
			}
			return runHook(hook, tx, out)
		}
		if err := tx.InsertBatchTransfer(ctx, b); err != nil {
			return err
		}
		due := tx.Now()
		if batchCall {
			due += QuerySchedule[0]
		}
		for _, t := range members {
			if err := tx.InsertTransfer(ctx, t, due); err != nil {
				return err
			}
		}
		return nil
	})
	if again, ok := retryOnce(ctx); ok && store.IsUniqueViolation(err) {
		return s.storeBatch(again, b, members, batchCall, hook)
	}
	return out, existing, err
}

// dispatchBatch sends a pending batch: in one call on a channel that has
// one (all members marked sent first), otherwise one transfer at a time,
// each claimed first so that the poller and this node never both send it.
func (s *Service) dispatchBatch(ctx context.Context, batchID string) {
	var members []*store.TransferRow
	var b *store.BatchTransferRow
	if err := s.read(ctx, func(tx Tx) (err error) {
		if b, err = tx.LockBatchTransfer(ctx, batchID); err != nil {
			return err
		}
		members, err = tx.BatchMembers(ctx, batchID)
		return err
	}); err != nil {
		s.Log.Error("reading batch transfer", "batch", batchID, "err", err)
		return
	}
	pay, err := s.payouter(ctx, b.AppID, b.Livemode, b.Channel)
	if err != nil {
		s.Log.Error("finding payout connector", "batch", batchID, "err", err)
		return
	}
	if bp, ok := pay.(polypay.BatchPayouter); ok {
		s.sendBatch(ctx, bp, b, members, false)
		return
	}
	go s.fanOut(context.WithoutCancel(ctx), members)
}

// fanOut sends a batch's transfers one by one at PayoutRate.
func (s *Service) fanOut(ctx context.Context, members []*store.TransferRow) {
	for _, t := range members {
		won := false
		err := s.write(ctx, func(tx Tx) (err error) {
			now := s.now().Unix()
			won, err = tx.ClaimTransfer(ctx, t.ID, now, now+60)
			return err
		})
		if err != nil {
			s.logTransferErr("claiming batch member", t.ID, err)
			continue
		}
		if won {
			s.checkTransfer(ctx, t.ID)
		}
	}
}

// sendBatch sends the batch's pending members not yet sent in one batch
// call keyed by the batch id (again is false), or, when the channel said
// it holds no such batch, all its pending members again under the same
// key (again is true), which the channel accepts once.
func (s *Service) sendBatch(ctx context.Context, bp polypay.BatchPayouter, b *store.BatchTransferRow, members []*store.TransferRow, again bool) {
	var reqs []polypay.PayoutRequest
	err := s.write(ctx, func(tx Tx) error {
		reqs = nil
		for _, m := range members {
			t, err := tx.LockTransfer(ctx, m.ID)
			if err != nil {
				return err
			}
			if t.Status != polypay.TransferPending || (t.Sent && !again) {
				continue
			}
			t.Sent = true
			if err := tx.UpdateTransfer(ctx, t); err != nil {
				return err
			}
			open, err := s.openTransfer(t)
			if err != nil {
				return err
			}
			reqs = append(reqs, polypay.PayoutRequest{Transfer: open, NotifyURL: s.payoutNotifyURL(t)})
		}
		return nil
	})
	if err != nil || len(reqs) == 0 {
		s.logTransferErr("marking batch sent", b.ID, err)
		return
	}
	results, err := bp.TransferBatch(ctx, b.ID, reqs)
	for i, r := range reqs {
		var res *polypay.PayoutResult
		if err == nil && i < len(results) {
			res = results[i]
		}
		row := &store.TransferRow{Transfer: *r.Transfer}
		if err == nil && res == nil {
			continue // no answer for it: the poller queries
		}
		s.settleTransfer(ctx, row, res, err, "create")
	}
}

// advanceBatch decides a batch once none of its transfers is undecided:
// succeeded, failed or partially_succeeded, announced (on any success) by
// batch_transfer.succeeded, as Ping++ does.
func (s *Service) advanceBatch(ctx context.Context, tx Tx, batchID string) (int, error) {
	b, err := tx.LockBatchTransfer(ctx, batchID)
	if err != nil || b.Status.Decided() {
		return 0, err
	}
	members, err := tx.BatchMembers(ctx, batchID)
	if err != nil {
		return 0, err
	}
	paid, failed := 0, 0
	for _, t := range members {
		switch t.Status {
		case polypay.TransferPaid:
			paid++
		case polypay.TransferFailed, polypay.TransferCanceled:
			failed++
		default:
			return 0, nil
		}
	}
	switch {
	case failed == 0:
		b.Status = polypay.BatchSucceeded
	case paid == 0:
		b.Status = polypay.BatchFailed
	default:
		b.Status = polypay.BatchPartiallySucceeded
	}
	if paid > 0 {
		b.TimeSucceeded = tx.Now()
	}
	if err := tx.UpdateBatchTransfer(ctx, b); err != nil {
		return 0, err
	}
	if paid == 0 {
		return 0, nil
	}
	w := wire.FromBatchTransfer(&b.BatchTransfer, members)
	return s.emit(ctx, tx, b.AppID, b.Livemode, polypay.EventBatchTransferSucceeded, "", w)
}

// GetBatchTransfer answers a batch; in test mode its pending transfers are
// asked about first (Ping++'s test mode); those not yet sent are left to
// the fan-out and the poller.
func (s *Service) GetBatchTransfer(ctx context.Context, who Caller, id string) (any, error) {
	if !who.Live {
		var members []*store.TransferRow
		if err := s.read(ctx, func(tx Tx) (err error) {
			if _, err = tx.GetBatchTransfer(ctx, who.App.ID, who.Live, id); err != nil {
				return err
			}
			members, err = tx.BatchMembers(ctx, id)
			return err
		}); err != nil {
			return nil, err
		}
		for _, t := range members {
			if t.Status == polypay.TransferPending {
				s.queryTest(ctx, t.ID)
			}
		}
	}
	return s.renderBatch(ctx, who, id, nil)
}

func (s *Service) renderBatch(ctx context.Context, who Caller, id string, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		b, err := tx.GetBatchTransfer(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		if out, err = renderBatchTx(ctx, tx, b); err != nil {
			return err
		}
		return runHook(hook, tx, out)
	})
	return out, err
}

func renderBatchTx(ctx context.Context, tx Tx, b *store.BatchTransferRow) (any, error) {
	members, err := tx.BatchMembers(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	return wire.FromBatchTransfer(&b.BatchTransfer, members), nil
}

// ListBatchTransfers pages an app's batches newest first.
func (s *Service) ListBatchTransfers(ctx context.Context, who Caller, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "batch_transfers", who, p); err != nil {
			return err
		}
		bs, more, err := tx.ListBatchTransfers(ctx, who.App.ID, who.Live, p)
		if err != nil {
			return err
		}
		data := make([]any, 0, len(bs))
		for _, b := range bs {
			w, err := renderBatchTx(ctx, tx, b)
			if err != nil {
				return err
			}
			data = append(data, w)
		}
		list = wire.NewList("/v1/batch_transfers", more, data)
		return nil
	})
	return list, err
}

// CancelBatchTransfer cancels a batch still scheduled, with its transfers.
func (s *Service) CancelBatchTransfer(ctx context.Context, who Caller, id string, hook Hook) (any, error) {
	err := s.write(ctx, func(tx Tx) error {
		b, err := tx.GetBatchTransfer(ctx, who.App.ID, who.Live, id)
		if err != nil || b.Status == polypay.BatchCanceled {
			return err
		}
		if b.Status != polypay.BatchScheduled {
			return polypay.ParamError("status", "批量付款 %s 的状态是 %s，只有 scheduled 的批次可以取消", b.ID, b.Status)
		}
		return s.setBatchMembers(ctx, tx, b, polypay.BatchCanceled, polypay.TransferCanceled, "", 0, 0)
	})
	if err != nil {
		return nil, err
	}
	return s.renderBatch(ctx, who, id, hook)
}

// ApproveBatchTransfer releases a scheduled batch for sending; its creator
// may not approve it.
func (s *Service) ApproveBatchTransfer(ctx context.Context, who Caller, id, approver string) (any, error) {
	var b0 *store.BatchTransferRow
	if err := s.read(ctx, func(tx Tx) (err error) { b0, err = tx.GetBatchTransfer(ctx, who.App.ID, who.Live, id); return }); err != nil {
		return nil, err
	}
	pay, err := s.payouter(ctx, who.App.ID, who.Live, b0.Channel)
	if err != nil {
		return nil, err
	}
	// As at creation: fan-out members are due at once (dispatchBatch or the
	// poller claims each), a batch call's are left to that call.
	var delay int64
	if _, ok := pay.(polypay.BatchPayouter); ok {
		delay = QuerySchedule[0]
	}
	err = s.write(ctx, func(tx Tx) error {
		b, err := tx.GetBatchTransfer(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		switch {
		case b.Status != polypay.BatchScheduled:
			return polypay.ParamError("id", "批量付款 %s 不在待审批状态", b.ID)
		case b.CreatedBy == approver:
			return polypay.ParamError("id", "不能审批自己发起的批量付款 %s", b.ID)
		}
		return s.setBatchMembers(ctx, tx, b, polypay.BatchPending, polypay.TransferPending, approver, tx.Now(), delay)
	})
	if err != nil {
		return nil, err
	}
	s.dispatchBatch(ctx, id)
	return s.renderBatch(ctx, who, id, nil)
}

// setBatchMembers moves a scheduled batch and its scheduled transfers on.
func (s *Service) setBatchMembers(ctx context.Context, tx Tx, b *store.BatchTransferRow, bs polypay.BatchStatus, ts polypay.TransferStatus, approver string, at, delay int64) error {
	b.Status, b.ApprovedBy, b.ApprovedAt = bs, approver, at
	if err := tx.UpdateBatchTransfer(ctx, b); err != nil {
		return err
	}
	members, err := tx.BatchMembers(ctx, b.ID)
	if err != nil {
		return err
	}
	for _, t := range members {
		if t.Status != polypay.TransferScheduled {
			continue
		}
		t.Status, t.ApprovedBy, t.ApprovedAt = ts, approver, at
		if err := tx.UpdateTransfer(ctx, t); err != nil {
			return err
		}
		if ts == polypay.TransferPending {
			if err := tx.ScheduleTransfer(ctx, t.ID, tx.Now()+delay); err != nil {
				return err
			}
		}
	}
	return nil
}
