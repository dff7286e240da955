package core

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// PayoutChannels finds the payout connectors of an app's channels.
type PayoutChannels interface {
	// Payouter returns the connector paying transfers on a transfer
	// channel (wx, wx_pub, wx_lite, alipay, unionpay); EInvalid naming
	// channel when polypay has none or the app has no credentials for it.
	Payouter(ctx context.Context, appID string, live bool, channel string) (polypay.Payouter, error)
	// RedEnvelopes returns the wx_pub connector's red envelope sender.
	RedEnvelopes(ctx context.Context, appID string, live bool) (polypay.RedEnvelopeSender, error)
	// PayoutFamily is the family whose notification route a transfer
	// channel's notifications use ("wx_pub" -> "wechat").
	PayoutFamily(channel string) string
}

// TransferChannels are the channels transfers may use (pingpp-compat §2.5;
// balance joins with the account system).
var TransferChannels = []string{"wx", "wx_pub", "wx_lite", "alipay", "unionpay"}

// TransferParams are the validated parameters of POST /v1/transfers.
type TransferParams struct {
	AppID       string          `json:"app"`
	Channel     string          `json:"channel"`
	OrderNo     string          `json:"order_no"`
	Amount      int64           `json:"amount"`
	Type        string          `json:"type"`
	Currency    string          `json:"currency"`
	Recipient   string          `json:"recipient"`
	Description string          `json:"description"`
	Extra       json.RawMessage `json:"extra"`
	Metadata    json.RawMessage `json:"metadata"`
}

// payouter is the app's payout connector for a transfer channel.
func (s *Service) payouter(ctx context.Context, appID string, live bool, channel string) (polypay.Payouter, error) {
	if channel == BalanceChannel {
		return balancePayouter{}, nil
	}
	if s.Payouts == nil {
		return nil, polypay.Errorf(polypay.ENotSupported, "payouts are not configured on this node")
	}
	return s.Payouts.Payouter(ctx, appID, live, channel)
}

// CreateTransfer pays one payee (企业付款). An order_no seen before in the
// app, mode and channel with the same parameters answers that transfer;
// with others it is refused naming order_no. The transfer is stored before
// the channel is called and marked sent, so a node that dies during the
// call leaves it to the poller, which queries before it ever sends again.
// A transfer above the app's approval threshold waits as scheduled.
func (s *Service) CreateTransfer(ctx context.Context, who Caller, p TransferParams, hook Hook) (any, error) {
	if p.AppID != who.App.ID {
		return nil, &polypay.Error{Code: polypay.EInvalid, Param: "app", Message: "app 不存在: " + p.AppID}
	}
	pay, err := s.payouter(ctx, who.App.ID, who.Live, p.Channel)
	if err != nil {
		return nil, err
	}
	t := s.newTransfer(who, p)
	if err := pay.CheckTransfer(&t.Transfer); err != nil {
		return nil, err
	}
	if p.Channel == BalanceChannel {
		if err := s.checkBalancePayee(ctx, who, p.Recipient); err != nil {
			return nil, err
		}
	}
	if err := s.sealTransfer(t); err != nil {
		return nil, err
	}
	settings, err := s.payoutSettings(ctx, who)
	if err != nil {
		return nil, err
	}
	if settings.ApproveAbove > 0 && t.Amount > settings.ApproveAbove {
		t.Status = polypay.TransferScheduled
	}
	stored, existing, err := s.storeTransfer(ctx, t, hook)
	if err != nil || existing {
		return stored, err
	}
	if t.Status == polypay.TransferPending {
		s.sendTransfer(ctx, t.ID)
	}
	return s.renderTransfer(ctx, who, t.ID, hook)
}

// newTransfer is the pending transfer p asks for, not yet stored.
func (s *Service) newTransfer(who Caller, p TransferParams) *store.TransferRow {
	t := &store.TransferRow{ParamsHash: s.secretHash("transfer", p)}
	t.Transfer = polypay.Transfer{ID: polypay.NewID("tr_"), AppID: who.App.ID, Livemode: who.Live, Channel: p.Channel,
		OrderNo: p.OrderNo, Type: p.Type, Amount: p.Amount, Currency: p.Currency, Recipient: p.Recipient,
		Description: p.Description, Extra: p.Extra, Metadata: p.Metadata, Status: polypay.TransferPending,
		Created: s.now().Unix(), CreatedBy: "api"}
	return t
}

func (s *Service) payoutSettings(ctx context.Context, who Caller) (polypay.PayoutSettings, error) {
	var st polypay.PayoutSettings
	err := s.read(ctx, func(tx Tx) (err error) {
		st, err = tx.PayoutSettings(ctx, who.App.ID, who.Live)
		return err
	})
	return st, err
}

// storeTransfer inserts a new transfer; for an order_no already used it
// answers that transfer (existing true) or refuses different parameters.
func (s *Service) storeTransfer(ctx context.Context, t *store.TransferRow, hook Hook) (any, bool, error) {
	var out any
	existing := false
	err := s.write(ctx, func(tx Tx) error {
		old, err := tx.TransferByOrderNo(ctx, t.AppID, t.Livemode, t.Channel, t.OrderNo)
		if err != nil {
			return err
		}
		if old != nil {
			if old.ParamsHash != t.ParamsHash {
				return polypay.ParamError("order_no", "付款订单号 %s 已被使用，且参数与原请求不同", t.OrderNo)
			}
			existing, out = true, wire.FromTransfer(&old.Transfer)
			return runHook(hook, tx, out)
		}
		return tx.InsertTransfer(ctx, t, tx.Now()+transferQueryAfter(0))
	})
	if again, ok := retryOnce(ctx); ok && store.IsUniqueViolation(err) {
		// A concurrent request with the same order_no stored first.
		return s.storeTransfer(again, t, hook)
	}
	return out, existing, err
}

// transferQueryAfter is how long after its creation (age, seconds) a
// pending transfer is next asked about: the charges' query schedule.
func transferQueryAfter(age int64) int64 {
	for _, a := range QuerySchedule {
		if a > age {
			return a - age
		}
	}
	return 3600
}

// sendTransfer sends a pending transfer to its channel once it is marked
// sent in the store, and applies the answer. A refusal (EChannel, or
// EInvalid from the connector) fails the transfer: nothing was paid. Any
// other error leaves it pending: the outcome is unknown, and the poller
// queries before anything is sent again.
//
// Marking it sent is also the claim on the first send: of two callers
// racing (the poller, a batch's fan-out, a test-mode retrieve), only the
// one that marks it sends.
func (s *Service) sendTransfer(ctx context.Context, id string) {
	var t *store.TransferRow
	won := false
	err := s.write(ctx, func(tx Tx) (err error) {
		won = false
		if t, err = tx.LockTransfer(ctx, id); err != nil || t.Status != polypay.TransferPending || t.Sent {
			return err
		}
		t.Sent, won = true, true
		return tx.UpdateTransfer(ctx, t)
	})
	if err != nil || !won {
		s.logTransferErr("marking transfer sent", id, err)
		return
	}
	res, err := s.callTransfer(ctx, t)
	s.settleTransfer(ctx, t, res, err, "create")
}

// callTransfer asks the channel to pay t (its sealed extra opened for
// this call only).
func (s *Service) callTransfer(ctx context.Context, t *store.TransferRow) (*polypay.PayoutResult, error) {
	pay, err := s.payouter(ctx, t.AppID, t.Livemode, t.Channel)
	if err != nil {
		return nil, err
	}
	open, err := s.openTransfer(t)
	if err != nil {
		return nil, err
	}
	return pay.Transfer(ctx, polypay.PayoutRequest{Transfer: open, NotifyURL: s.payoutNotifyURL(t)})
}

func (s *Service) payoutNotifyURL(t *store.TransferRow) string {
	return s.NotifyURL(s.Payouts.PayoutFamily(t.Channel), t.AppID, t.Livemode)
}

// settleTransfer applies the answer to a send or query: a refusal fails
// the transfer; a transport error changes nothing.
func (s *Service) settleTransfer(ctx context.Context, t *store.TransferRow, res *polypay.PayoutResult, err error, source string) {
	var pe *polypay.Error
	switch {
	case err == nil:
		_, err = s.applyPayout(ctx, t.ID, res, source)
	case errors.As(err, &pe) && (pe.Code == polypay.EChannel || pe.Code == polypay.EInvalid):
		code := pe.ChannelCode
		if code == "" {
			code = "transfer_failed"
		}
		_, err = s.applyPayout(ctx, t.ID, &polypay.PayoutResult{State: polypay.PayoutFailed, FailureCode: code, FailureMsg: pe.Message}, source)
	default:
		s.Log.Warn("transfer outcome unknown: the poller queries it", "transfer", t.ID, "err", err)
		return
	}
	s.logTransferErr("applying transfer result", t.ID, err)
}

func (s *Service) logTransferErr(what, id string, err error) {
	if err != nil {
		s.Log.Error(what, "transfer", id, "err", err)
	}
}

// applyPayout records a channel's decision on a transfer in one
// transaction: status, ledger (paid: merchant funds at the channel to the
// payee), event, and its batch's progress. Decided transfers never change;
// an amount that differs from the transfer's is refused.
func (s *Service) applyPayout(ctx context.Context, id string, res *polypay.PayoutResult, source string) (polypay.NotifyOutcome, error) {
	outcome, queued := polypay.OutcomeIgnored, 0
	err := s.write(ctx, func(tx Tx) error {
		queued, outcome = 0, polypay.OutcomeIgnored
		t, err := tx.LockTransfer(ctx, id)
		if err != nil {
			return err
		}
		if res.Amount != 0 && res.Amount != t.Amount {
			outcome = polypay.OutcomeRejectedAmount
			s.Log.Warn("payout amount differs", "transfer", id, "source", source, "channel_amount", res.Amount, "amount", t.Amount)
			return nil
		}
		to, typ := payoutTarget(res.State)
		if to == "" {
			return nil // still processing, or unknown to the channel
		}
		if !t.Status.CanBecome(to) {
			outcome = polypay.OutcomeDuplicate
			return nil
		}
		if queued, err = s.decideTransfer(ctx, tx, t, to, typ, res); err != nil {
			return err
		}
		outcome = polypay.OutcomeApplied
		return nil
	})
	s.kick(queued)
	return outcome, err
}

// payoutTarget maps a channel's decision to the transfer status and event.
func payoutTarget(st polypay.PayoutState) (polypay.TransferStatus, string) {
	switch st {
	case polypay.PayoutPaid:
		return polypay.TransferPaid, polypay.EventTransferSucceeded
	case polypay.PayoutFailed:
		return polypay.TransferFailed, polypay.EventTransferFailed
	}
	return "", ""
}

// decideTransfer writes a transfer's final status with its postings and
// event, and moves its batch on.
func (s *Service) decideTransfer(ctx context.Context, tx Tx, t *store.TransferRow, to polypay.TransferStatus, typ string, res *polypay.PayoutResult) (int, error) {
	t.Status = to
	if to == polypay.TransferPaid {
		t.TimeTransferred, t.TransactionNo = res.PaidAt, res.TransactionNo
		if t.TimeTransferred == 0 {
			t.TimeTransferred = tx.Now()
		}
		if err := tx.Post(ctx, ledger.TransferPaid(&t.Transfer)); err != nil {
			return 0, err
		}
		if t.Channel == BalanceChannel {
			if err := creditBalanceTransfer(ctx, tx, &t.Transfer); err != nil {
				return 0, err
			}
		}
	} else {
		t.FailureCode, t.FailureMsg = res.FailureCode, res.FailureMsg
		if t.FailureMsg == "" {
			t.FailureMsg = t.FailureCode
		}
	}
	if err := tx.UpdateTransfer(ctx, t); err != nil {
		return 0, err
	}
	queued, err := s.emit(ctx, tx, t.AppID, t.Livemode, typ, "", wire.FromTransfer(&t.Transfer))
	if err != nil {
		return queued, err
	}
	ended, err := s.endPayoutOwners(ctx, tx, &t.Transfer)
	if err != nil || t.BatchID == "" {
		return queued + ended, err
	}
	n, err := s.advanceBatch(ctx, tx, t.BatchID)
	return queued + ended + n, err
}

// GetTransfer answers a transfer. In test mode a pending transfer is
// settled first, as Ping++'s test mode does on retrieve: polypay asks the
// simulator, which decides it, and the webhook fires then.
func (s *Service) GetTransfer(ctx context.Context, who Caller, id string) (any, error) {
	if !who.Live {
		if err := s.settleTest(ctx, who, id); err != nil {
			return nil, err
		}
	}
	return s.renderTransfer(ctx, who, id, nil)
}

// settleTest checks a test-mode pending transfer with its channel now.
func (s *Service) settleTest(ctx context.Context, who Caller, id string) error {
	var t *store.TransferRow
	if err := s.read(ctx, func(tx Tx) (err error) { t, err = tx.GetTransfer(ctx, who.App.ID, who.Live, id); return }); err != nil {
		return err
	}
	if t.Status == polypay.TransferPending {
		s.queryTest(ctx, t.ID)
	}
	return nil
}

// queryTest asks the channel about a sent test-mode transfer and applies a
// final answer. It never sends: a retrieve racing the send in flight would
// find nothing at the channel yet and send the payout a second time. The
// poller and the fan-out, which claim a transfer first, are the senders.
func (s *Service) queryTest(ctx context.Context, id string) {
	if _, err := s.SettleTransfer(ctx, id); err != nil {
		s.Log.Warn("querying test-mode transfer on retrieve", "transfer", id, "err", err)
	}
}

func (s *Service) renderTransfer(ctx context.Context, who Caller, id string, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		t, err := tx.GetTransfer(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		out = wire.FromTransfer(&t.Transfer)
		return runHook(hook, tx, out)
	})
	return out, err
}

// ListTransfers pages an app's transfers newest first.
func (s *Service) ListTransfers(ctx context.Context, who Caller, channel, status string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "transfers", who, p); err != nil {
			return err
		}
		ts, more, err := tx.ListTransfers(ctx, who.App.ID, who.Live, channel, status, p)
		if err != nil {
			return err
		}
		data := make([]any, 0, len(ts))
		for _, t := range ts {
			data = append(data, wire.FromTransfer(&t.Transfer))
		}
		list = wire.NewList("/v1/transfers", more, data)
		return nil
	})
	return list, err
}

// checkCursor refuses a starting_after / ending_before that names no
// object of the app and mode in table.
func checkCursor(ctx context.Context, tx Tx, table string, who Caller, p store.Page) error {
	for param, id := range map[string]string{"starting_after": p.StartingAfter, "ending_before": p.EndingBefore} {
		if id == "" {
			continue
		}
		ok, err := tx.PayoutExists(ctx, table, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		if !ok {
			return polypay.ParamError(param, "%s 不存在: %s", param, id)
		}
	}
	return nil
}

// CancelTransfer cancels a transfer still scheduled (waiting for
// approval); anything already sent cannot be called back.
func (s *Service) CancelTransfer(ctx context.Context, who Caller, id string, hook Hook) (any, error) {
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		t, err := tx.GetTransfer(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		switch {
		case t.Status == polypay.TransferCanceled:
			return nil
		case t.Status != polypay.TransferScheduled:
			return polypay.ParamError("status", "付款 %s 的状态是 %s，只有 scheduled 的付款可以取消", t.ID, t.Status)
		case t.BatchID != "":
			return polypay.ParamError("id", "付款 %s 属于批量付款 %s，请取消整个批次", t.ID, t.BatchID)
		}
		t.Status = polypay.TransferCanceled
		if err := tx.UpdateTransfer(ctx, t); err != nil {
			return err
		}
		queued, err = s.endPayoutOwners(ctx, tx, &t.Transfer)
		return err
	})
	s.kick(queued)
	if err != nil {
		return nil, err
	}
	return s.renderTransfer(ctx, who, id, hook)
}

// ApproveTransfer releases a scheduled transfer for sending, recording
// who approved it and when. Its creator may not approve it.
func (s *Service) ApproveTransfer(ctx context.Context, who Caller, id, approver string) (any, error) {
	err := s.write(ctx, func(tx Tx) error {
		t, err := tx.GetTransfer(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		if err := approvable(t.Status, t.BatchID, t.CreatedBy, approver, t.ID); err != nil {
			return err
		}
		t.Status, t.ApprovedBy, t.ApprovedAt = polypay.TransferPending, approver, tx.Now()
		return tx.UpdateTransfer(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	s.sendTransfer(ctx, id)
	return s.renderTransfer(ctx, who, id, nil)
}

// approvable refuses approving anything but a scheduled single transfer,
// and approving one's own payout.
func approvable(st polypay.TransferStatus, batchID, createdBy, approver, id string) error {
	switch {
	case st != polypay.TransferScheduled:
		return polypay.ParamError("id", "付款 %s 不在待审批状态", id)
	case batchID != "":
		return polypay.ParamError("id", "付款 %s 属于批量付款 %s，请审批整个批次", id, batchID)
	case createdBy == approver:
		return polypay.ParamError("id", "不能审批自己发起的付款 %s", id)
	}
	return nil
}

// endPayoutOwners ends what a decided transfer paid out for, in the
// transaction that decides it: a withdrawal, a settlement run, a royalty
// transaction (at most one of them). It returns the events queued.
func (s *Service) endPayoutOwners(ctx context.Context, tx Tx, t *polypay.Transfer) (int, error) {
	total := 0
	for _, end := range []func(context.Context, Tx, *polypay.Transfer) (int, error){s.endWithdrawal, s.endSettlement, s.endRoyaltyTxn} {
		n, err := end(ctx, tx, t)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
