package core

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Withdrawals (提现): a user's balance paid out to their settle account by
// the transfer engine. Creating one takes the amount from the balance at
// once (status created); the merchant confirms it (pending), which sends a
// transfer of amount - user_fee under a number the withdrawal fixed when
// it was made, so a retried confirmation finds the same transfer. The
// transfer's outcome ends the withdrawal in the transaction that records
// it: paid → succeeded, failed or canceled → failed with the amount given
// back. A withdrawal canceled before confirmation gives it back too.

// WithdrawalParams are a withdrawal's parameters.
type WithdrawalParams struct {
	User          string          `json:"user"`
	Amount        int64           `json:"amount"`
	UserFee       int64           `json:"user_fee"`
	Channel       string          `json:"channel"`
	SettleAccount string          `json:"settle_account"` // empty: the user's on the channel
	OrderNo       string          `json:"order_no"`
	Description   string          `json:"description"`
	Metadata      json.RawMessage `json:"metadata"`
}

// CreateWithdrawal holds the amount from the user's balance and stores the
// withdrawal awaiting confirmation. The transfer it will send is checked
// by the channel's connector now, so a payee the channel would refuse is
// refused before any money is held.
func (s *Service) CreateWithdrawal(ctx context.Context, who Caller, p WithdrawalParams, hook Hook) (any, error) {
	if !slices.Contains(TransferChannels, p.Channel) {
		return nil, polypay.ParamError("channel", "不支持的付款渠道: %s（可用: wx, wx_pub, wx_lite, alipay, unionpay）", p.Channel)
	}
	if p.UserFee < 0 || p.UserFee >= p.Amount {
		return nil, polypay.ParamError("user_fee", "user_fee 须为 0 到 amount - 1 之间的整数")
	}
	acct, err := s.settleAccountFor(ctx, who, p.User, p.Channel, p.SettleAccount)
	if err != nil {
		return nil, err
	}
	w := &store.WithdrawalRow{ParamsHash: hashJSON(p)}
	w.Withdrawal = polypay.Withdrawal{ID: polypay.NewID("wd_"), AppID: who.App.ID, Livemode: who.Live, User: p.User,
		Amount: p.Amount, UserFee: p.UserFee, Channel: p.Channel, OrderNo: p.OrderNo, SettleAccount: acct.ID,
		TransferOrderNo: transferOrderNo(p.Channel, s.now()), Status: polypay.WithdrawalCreated, Description: p.Description,
		Metadata: p.Metadata}
	if err := s.checkWithdrawalTransfer(ctx, who, &w.Withdrawal, acct); err != nil {
		return nil, err
	}
	var out any
	err = s.write(ctx, func(tx Tx) error {
		old, err := tx.WithdrawalByOrderNo(ctx, w.AppID, w.Livemode, w.OrderNo)
		if err != nil {
			return err
		}
		if old != nil {
			if old.ParamsHash != w.ParamsHash {
				return polypay.ParamError("order_no", "提现订单号 %s 已被使用，且参数与原请求不同", w.OrderNo)
			}
			out = wire.FromWithdrawal(&old.Withdrawal)
			return runHook(hook, tx, out)
		}
		if err := s.holdWithdrawal(ctx, tx, who, w); err != nil {
			return err
		}
		out = wire.FromWithdrawal(&w.Withdrawal)
		return runHook(hook, tx, out)
	})
	if again, ok := retryOnce(ctx); ok && store.IsUniqueViolation(err) {
		return s.CreateWithdrawal(again, who, p, hook)
	}
	return out, err
}

// holdWithdrawal takes the amount from an active user's balance and
// stores the withdrawal with its postings.
func (s *Service) holdWithdrawal(ctx context.Context, tx Tx, who Caller, w *store.WithdrawalRow) error {
	if _, err := activeUser(ctx, tx, who, w.User, "user"); err != nil {
		return err
	}
	w.Created = tx.Now()
	bt, err := moveBalance(ctx, tx, who, w.User, -w.Amount, polypay.BalanceTxnWithdrawal, w.ID, w.Description, "amount")
	if err != nil {
		return err
	}
	w.BalanceTransaction = bt.ID
	if err := tx.InsertWithdrawal(ctx, w); err != nil {
		return err
	}
	return tx.Post(ctx, ledger.WithdrawalHeld(&w.Withdrawal))
}

// transferOrderNo is the order_no of a withdrawal's transfer, valid on
// its channel: 16 digits for UnionPay, letters and digits elsewhere.
func transferOrderNo(channel string, now time.Time) string {
	if channel == "unionpay" {
		n := newBatchID(now) // 18 digits: date, time and 6 random
		return n[2:]
	}
	return polypay.NewID("wd") // 26 letters and digits
}

// withdrawalTransfer is the transfer that pays a withdrawal out to acct
// (with its account number opened).
func withdrawalTransfer(w *polypay.Withdrawal, acct *polypay.SettleAccount) TransferParams {
	r := acct.Recipient
	extra := map[string]any{}
	recipient := r.Account
	switch w.Channel {
	case "alipay":
		extra["recipient_name"] = r.Name
	case "unionpay":
		recipient = ""
		extra["card_number"], extra["user_name"], extra["open_bank_code"] = r.Account, r.Name, r.OpenBankCode
		if r.OpenBank != "" {
			extra["open_bank"] = r.OpenBank
		}
	default: // WeChat: a real name is checked only when given, and only from 0.3 yuan
		if r.Name != "" && w.Amount-w.UserFee >= 30 {
			extra["user_name"] = r.Name
		}
	}
	raw, _ := json.Marshal(extra)
	desc := w.Description
	if desc == "" {
		desc = "余额提现"
	}
	typ := r.Type
	if typ == "" {
		typ = "b2c"
	}
	return TransferParams{AppID: w.AppID, Channel: w.Channel, OrderNo: w.TransferOrderNo, Amount: w.Amount - w.UserFee,
		Type: typ, Currency: "cny", Recipient: recipient, Description: desc, Extra: raw, Metadata: []byte(`{}`)}
}

// checkWithdrawalTransfer asks the channel's connector whether it would
// take the withdrawal's transfer; a refusal names settle_account.
func (s *Service) checkWithdrawalTransfer(ctx context.Context, who Caller, w *polypay.Withdrawal, acct *store.SettleAccountRow) error {
	pay, err := s.payouter(ctx, who.App.ID, who.Live, w.Channel)
	if err != nil {
		return err
	}
	open, err := s.openSettleAccount(acct)
	if err != nil {
		return err
	}
	t := s.newTransfer(who, withdrawalTransfer(w, open))
	if err := pay.CheckTransfer(&t.Transfer); err != nil {
		if pe, ok := err.(*polypay.Error); ok && pe.Code == polypay.EInvalid {
			return polypay.ParamError("settle_account", "结算账户不能用于渠道 %s 的付款: %s", w.Channel, pe.Message)
		}
		return err
	}
	return nil
}

// ConfirmWithdrawal (PUT status pending) sends a created withdrawal's
// transfer. Confirming a pending one again asks for the same transfer
// (its order_no is fixed), which finishes a confirmation a crash cut.
func (s *Service) ConfirmWithdrawal(ctx context.Context, who Caller, id string, hook Hook) (any, error) {
	var w *store.WithdrawalRow
	err := s.write(ctx, func(tx Tx) (err error) {
		if w, err = tx.GetWithdrawal(ctx, who.App.ID, who.Live, id); err != nil {
			return err
		}
		switch w.Status {
		case polypay.WithdrawalPending:
			return nil
		case polypay.WithdrawalCreated:
			w.Status, w.TimeConfirmed = polypay.WithdrawalPending, tx.Now()
			ok, err := tx.MoveWithdrawal(ctx, w, polypay.WithdrawalCreated)
			if err == nil && !ok {
				err = polypay.ParamError("status", "提现 %s 的状态已改变，请重新查询", id)
			}
			return err
		}
		return polypay.ParamError("status", "提现 %s 的状态是 %s，只有 created 的提现可以确认", id, w.Status)
	})
	if err != nil {
		return nil, err
	}
	if w.TransferID == "" {
		// A transfer that cannot be made failed the withdrawal: answer it.
		if err := s.sendWithdrawal(ctx, who, w); err != nil {
			if code := polypay.ErrorCode(err); code != polypay.EInvalid && code != polypay.ENotFound {
				return nil, err
			}
		}
	}
	return s.renderWithdrawal(ctx, who, id, hook)
}

// sendWithdrawal creates the withdrawal's transfer and records its id. A
// transfer the channel refuses ends the withdrawal when it is decided
// (endWithdrawal); one that cannot even be made (its settle account was
// deleted, or the connector refuses the payee now) fails it here, the
// amount given back.
func (s *Service) sendWithdrawal(ctx context.Context, who Caller, w *store.WithdrawalRow) error {
	acct, err := s.settleAccountByID(ctx, who, w.User, w.SettleAccount)
	if err != nil {
		return s.failUnsent(ctx, w, err)
	}
	open, err := s.openSettleAccount(acct)
	if err != nil {
		return err
	}
	_, err = s.CreateTransfer(ctx, who, withdrawalTransfer(&w.Withdrawal, open), func(tx Tx, obj any) error {
		cur, err := tx.GetWithdrawal(ctx, w.AppID, w.Livemode, w.ID)
		if err != nil || cur.TransferID != "" {
			return err
		}
		cur.TransferID = obj.(*wire.Transfer).ID
		_, err = tx.MoveWithdrawal(ctx, cur, cur.Status)
		return err
	})
	return s.failUnsent(ctx, w, err)
}

// failUnsent fails a confirmed withdrawal whose transfer cannot be made
// (err is a parameter or not-found error), giving the amount back; any
// other error is returned for the poller to try again. A transfer made
// by an earlier attempt (a crash before it was recorded here) is linked
// instead: that one is on its way, and its outcome ends the withdrawal.
func (s *Service) failUnsent(ctx context.Context, w *store.WithdrawalRow, err error) error {
	if code := polypay.ErrorCode(err); code != polypay.EInvalid && code != polypay.ENotFound {
		return err
	}
	queued := 0
	werr := s.write(ctx, func(tx Tx) error {
		queued = 0
		cur, gerr := tx.GetWithdrawal(ctx, w.AppID, w.Livemode, w.ID)
		if gerr != nil || cur.Status != polypay.WithdrawalPending || cur.TransferID != "" {
			return gerr
		}
		t, gerr := tx.TransferByOrderNo(ctx, cur.AppID, cur.Livemode, cur.Channel, cur.TransferOrderNo)
		if gerr != nil {
			return gerr
		}
		if t != nil {
			cur.TransferID = t.ID
			_, gerr = tx.MoveWithdrawal(ctx, cur, polypay.WithdrawalPending)
			return gerr
		}
		cur.Status, cur.FailureMsg = polypay.WithdrawalFailed, err.Error()
		moved, rerr := s.releaseWithdrawal(ctx, tx, cur, polypay.WithdrawalPending)
		if rerr != nil || !moved {
			return rerr
		}
		var eerr error
		queued, eerr = s.emit(ctx, tx, cur.AppID, cur.Livemode, polypay.EventWithdrawalFailed, "", wire.FromWithdrawal(&cur.Withdrawal))
		return eerr
	})
	s.kick(queued)
	if werr != nil {
		return werr
	}
	return err
}

// CancelWithdrawal (PUT status canceled) gives a created withdrawal's
// amount back; a confirmed one cannot be called back.
func (s *Service) CancelWithdrawal(ctx context.Context, who Caller, id string, hook Hook) (any, error) {
	err := s.write(ctx, func(tx Tx) error {
		w, err := tx.GetWithdrawal(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		switch w.Status {
		case polypay.WithdrawalCanceled:
			return nil
		case polypay.WithdrawalCreated:
			w.Status, w.TimeCanceled = polypay.WithdrawalCanceled, tx.Now()
			moved, err := s.releaseWithdrawal(ctx, tx, w, polypay.WithdrawalCreated)
			if err == nil && !moved {
				err = polypay.ParamError("status", "提现 %s 的状态已改变，请重新查询", id)
			}
			return err
		}
		return polypay.ParamError("status", "提现 %s 的状态是 %s，只有 created 的提现可以取消", id, w.Status)
	})
	if err != nil {
		return nil, err
	}
	return s.renderWithdrawal(ctx, who, id, hook)
}

// releaseWithdrawal moves w (now canceled or failed) out of `from` and
// gives its amount back, with its postings.
// It reports whether w moved (false: another transaction moved it first,
// and nothing was given back here).
func (s *Service) releaseWithdrawal(ctx context.Context, tx Tx, w *store.WithdrawalRow, from polypay.WithdrawalStatus) (bool, error) {
	ok, err := tx.MoveWithdrawal(ctx, w, from)
	if err != nil || !ok {
		return false, err
	}
	who := Caller{App: &polypay.App{ID: w.AppID}, Live: w.Livemode}
	if _, err := moveBalance(ctx, tx, who, w.User, w.Amount, polypay.BalanceTxnWdRevoke, w.ID, w.Description, "amount"); err != nil {
		return false, err
	}
	return true, tx.Post(ctx, ledger.WithdrawalReleased(&w.Withdrawal))
}

// endWithdrawal ends the withdrawal a decided transfer pays out, in the
// transaction that decides the transfer: paid → succeeded; failed or
// canceled → failed, the amount given back. A transfer that is no
// withdrawal's, or a withdrawal already ended, changes nothing.
func (s *Service) endWithdrawal(ctx context.Context, tx Tx, t *polypay.Transfer) (int, error) {
	w, err := tx.WithdrawalByTransfer(ctx, t.AppID, t.Livemode, t.Channel, t.OrderNo)
	if err != nil || w == nil || w.Status != polypay.WithdrawalPending || (w.TransferID != "" && w.TransferID != t.ID) {
		return 0, err
	}
	from := w.Status
	w.TransferID = t.ID
	typ := polypay.EventWithdrawalFailed
	if t.Status == polypay.TransferPaid {
		w.Status, w.TimeSucceeded, typ = polypay.WithdrawalSucceeded, tx.Now(), polypay.EventWithdrawalSucceeded
		if ok, err := tx.MoveWithdrawal(ctx, w, from); err != nil || !ok {
			return 0, err
		}
		if err := tx.Post(ctx, ledger.WithdrawalPaid(&w.Withdrawal)); err != nil {
			return 0, err
		}
	} else {
		w.Status, w.FailureMsg = polypay.WithdrawalFailed, t.FailureMsg
		if t.Status == polypay.TransferCanceled {
			w.FailureMsg = "付款已取消"
		}
		if moved, err := s.releaseWithdrawal(ctx, tx, w, from); err != nil || !moved {
			return 0, err
		}
	}
	return s.emit(ctx, tx, w.AppID, w.Livemode, typ, "", wire.FromWithdrawal(&w.Withdrawal))
}

func (s *Service) renderWithdrawal(ctx context.Context, who Caller, id string, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		w, err := tx.GetWithdrawal(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		out = wire.FromWithdrawal(&w.Withdrawal)
		return runHook(hook, tx, out)
	})
	return out, err
}

// GetWithdrawal answers one withdrawal. In test mode a pending one's
// transfer is asked about first, as transfers are on retrieve.
func (s *Service) GetWithdrawal(ctx context.Context, who Caller, id string) (any, error) {
	if !who.Live {
		var w *store.WithdrawalRow
		if err := s.read(ctx, func(tx Tx) (err error) { w, err = tx.GetWithdrawal(ctx, who.App.ID, who.Live, id); return }); err != nil {
			return nil, err
		}
		if w.Status == polypay.WithdrawalPending && w.TransferID != "" {
			s.queryTest(ctx, w.TransferID)
		}
	}
	return s.renderWithdrawal(ctx, who, id, nil)
}

// ListWithdrawals lists withdrawals, newest first, by user and status.
func (s *Service) ListWithdrawals(ctx context.Context, who Caller, url, user, status string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "withdrawals", who, p); err != nil {
			return err
		}
		ws, more, err := tx.ListWithdrawals(ctx, who.App.ID, who.Live, user, status, p)
		data := make([]any, 0, len(ws))
		for _, w := range ws {
			data = append(data, wire.FromWithdrawal(&w.Withdrawal))
		}
		list = wire.NewList(url, more, data)
		return err
	})
	return list, err
}

// WithdrawalSendAfter is how long (seconds after its confirmation) a
// withdrawal may be without its transfer before the poller creates it: a node that died between the
// confirmation and the transfer leaves it so, and the merchant may not
// confirm again.
const WithdrawalSendAfter = 60

// pollWithdrawals creates the transfers of confirmed withdrawals that have
// none. The transfer's order_no is the withdrawal's, so a node racing this
// one, or a late confirmation, finds the same transfer.
func (s *Service) pollWithdrawals(ctx context.Context, now int64) (int, error) {
	var stuck []*store.WithdrawalRow
	err := s.read(ctx, func(tx Tx) (err error) {
		stuck, err = tx.UnsentWithdrawals(ctx, now-WithdrawalSendAfter, 50)
		return err
	})
	for _, w := range stuck {
		who := Caller{App: &polypay.App{ID: w.AppID}, Live: w.Livemode}
		if err := s.sendWithdrawal(ctx, who, w); err != nil {
			s.Log.Warn("sending a confirmed withdrawal's transfer", "withdrawal", w.ID, "err", err)
		}
	}
	return len(stuck), err
}
