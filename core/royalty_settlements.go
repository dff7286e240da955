package core

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// RoyaltySettlementParams create a royalty settlement (Ping++'s
// royalty_settlements.create): which payer's unsettled royalties, how
// they are paid, and which of them.
type RoyaltySettlementParams struct {
	PayerApp     string
	Method       string
	RecipientApp string
	SourceUser   string
	CreatedGTE   int64
	CreatedLT    int64 // 0: up to now
	MinAmount    int64
	Currency     string
	IsPreview    bool
	Metadata     json.RawMessage
}

// Royalty settlement statuses.
const (
	settlementCreated  = "created"
	settlementPending  = "pending"
	settlementCanceled = "canceled"
)

// payerCaller is the caller acting as a settlement's payer app: its own
// app or one of its sub-apps.
func payerCaller(ctx context.Context, tx Tx, who Caller, payer string) (Caller, error) {
	if payer == who.App.ID {
		return who, nil
	}
	if _, err := tx.SubAppOf(ctx, who.App.ID, payer); err != nil {
		if polypay.ErrorCode(err) == polypay.ENotFound {
			err = polypay.ParamError("payer_app", "payer_app %s 不存在", payer)
		}
		return who, err
	}
	app, err := tx.GetApp(ctx, payer)
	if err == nil {
		who.App = app
	}
	return who, err
}

// CreateRoyaltySettlement groups a payer's unsettled royalties into one
// royalty transaction per recipient (its net: shares less take-backs) and
// stores them, created, for the merchant to confirm (status pending) or
// cancel; a preview only computes it. Recipients whose net is below
// min_amount (or not positive) are left for a later settlement.
func (s *Service) CreateRoyaltySettlement(ctx context.Context, who Caller, p RoyaltySettlementParams) (any, error) {
	if p.Method != store.RoyaltyMethodBal && !transferMethod(p.Method) {
		return nil, polypay.ParamError("method", "method 须为 balance（结算到用户余额）或付款渠道 alipay、wx、wx_pub、wx_lite、unionpay（付款到用户的结算账户）")
	}
	if p.Currency == "" {
		p.Currency = polypay.BalanceCurrency
	}
	if transferMethod(p.Method) && p.Currency != "cny" {
		return nil, polypay.ParamError("currency", "按渠道付款结算分润只支持 cny")
	}
	var out any
	err := s.write(ctx, func(tx Tx) error {
		payer, err := payerCaller(ctx, tx, who, p.PayerApp)
		if err != nil {
			return err
		}
		x, txns, claimed, err := s.buildSettlement(ctx, tx, payer, p)
		if err != nil {
			return err
		}
		if p.IsPreview {
			// A preview stores nothing: nothing it shows can be fetched.
			x.ID = ""
			for _, t := range txns {
				t.ID, t.SettlementID = "", ""
			}
			out = wire.FromRoyaltySettlement(x, txns)
			return nil
		}
		out = wire.FromRoyaltySettlement(x, txns)
		return saveSettlement(ctx, tx, x, txns, claimed)
	})
	return out, err
}

func (s *Service) buildSettlement(ctx context.Context, tx Tx, payer Caller, p RoyaltySettlementParams) (*store.RoyaltySettlement,
	[]*store.RoyaltyTransaction, map[string][]*store.Royalty, error) {
	rs, err := tx.Royalties(ctx, payer.App.ID, payer.Live, store.RoyaltyFilter{Payer: payer.App.ID, Status: store.RoyaltyCreated,
		RecipientApp: p.RecipientApp, SourceUser: p.SourceUser, CreatedGTE: p.CreatedGTE, CreatedLT: p.CreatedLT})
	if err != nil {
		return nil, nil, nil, err
	}
	now := tx.Now()
	x := &store.RoyaltySettlement{ID: polypay.NewID("rys_"), AppID: payer.App.ID, Livemode: payer.Live, Method: p.Method,
		Currency: p.Currency, Status: settlementCreated, Metadata: p.Metadata, Created: now}
	groups := map[string][]*store.Royalty{}
	for _, r := range rs {
		if r.Currency == p.Currency && r.Method == "" {
			k := r.RecipientApp + "\x00" + r.SourceUser + "\x00" + r.UserApp
			groups[k] = append(groups[k], r)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var txns []*store.RoyaltyTransaction
	claimed := map[string][]*store.Royalty{}
	for _, k := range keys {
		g := groups[k]
		var net int64
		for _, r := range g {
			net += r.Amount
		}
		if net <= 0 || net < p.MinAmount {
			continue
		}
		t := &store.RoyaltyTransaction{ID: polypay.NewID("ryx_"), SettlementID: x.ID, AppID: x.AppID, Livemode: x.Livemode,
			Currency: x.Currency, Amount: net, Status: settlementCreated, RecipientApp: g[0].RecipientApp, SourceUser: g[0].SourceUser,
			UserApp: g[0].UserApp, Created: now, Method: p.Method}
		txns, claimed[t.ID] = append(txns, t), g
		x.Amount += net
		x.Count++
	}
	if x.Count == 0 {
		return nil, nil, nil, polypay.ParamError("payer_app", "没有符合条件的待结算分润")
	}
	return x, txns, claimed, nil
}

func saveSettlement(ctx context.Context, tx Tx, x *store.RoyaltySettlement, txns []*store.RoyaltyTransaction,
	claimed map[string][]*store.Royalty) error {
	if err := tx.InsertRoyaltySettlement(ctx, x); err != nil {
		return err
	}
	for _, t := range txns {
		if err := tx.InsertRoyaltyTxn(ctx, t); err != nil {
			return err
		}
		for _, r := range claimed[t.ID] {
			ok, err := tx.ClaimRoyalty(ctx, r.ID, x.ID, t.ID)
			if err != nil {
				return err
			}
			if !ok {
				return polypay.ParamError("payer_app", "分润 %s 刚被另一结算占用，请重试", r.ID)
			}
		}
	}
	return nil
}

// GetRoyaltySettlement answers one settlement of the caller's app.
func (s *Service) GetRoyaltySettlement(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		x, err := tx.GetRoyaltySettlement(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		txns, err := tx.SettlementTxns(ctx, x.ID)
		out = wire.FromRoyaltySettlement(x, txns)
		return err
	})
	return out, err
}

// ListRoyaltySettlements pages through the settlements of payer (the
// caller's app when empty, or one of its sub-apps).
func (s *Service) ListRoyaltySettlements(ctx context.Context, who Caller, url, payer string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if payer != "" {
			var err error
			if who, err = payerCaller(ctx, tx, who, payer); err != nil {
				return err
			}
		}
		if err := checkCursor(ctx, tx, "royalty_settlements", who, p); err != nil {
			return err
		}
		xs, more, err := tx.ListRoyaltySettlements(ctx, who.App.ID, who.Live, p)
		if err != nil {
			return err
		}
		list, err = renderList(url, xs, more, func(x *store.RoyaltySettlement) (any, error) {
			txns, err := tx.SettlementTxns(ctx, x.ID)
			return wire.FromRoyaltySettlement(x, txns), err
		})
		return err
	})
	return list, err
}

// UpdateRoyaltySettlement confirms (status pending: pay every royalty
// transaction now) or cancels (status canceled: its royalties wait for
// another settlement) a created settlement.
func (s *Service) UpdateRoyaltySettlement(ctx context.Context, who Caller, id, status string) (any, error) {
	if status != settlementPending && status != settlementCanceled {
		return nil, polypay.ParamError("status", "status 须为 pending（确认结算）或 canceled（取消结算）")
	}
	var out any
	var sending []*store.RoyaltyTransaction
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		x, err := tx.GetRoyaltySettlement(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		if x.Status != settlementCreated {
			return polypay.ParamError("status", "分润结算 %s 已是 %s，不能再改为 %s", id, x.Status, status)
		}
		txns, err := tx.SettlementTxns(ctx, x.ID)
		if err != nil {
			return err
		}
		for _, t := range txns {
			if err := s.finishRoyaltyTxn(ctx, tx, x, t, status == settlementPending); err != nil {
				return err
			}
		}
		settlementTally(x, txns, tx.Now())
		ok, err := tx.UpdateRoyaltySettlement(ctx, x, settlementCreated)
		if err == nil && !ok {
			err = polypay.ParamError("status", "分润结算 %s 正被另一请求处理", id)
		}
		if err == nil {
			queued, err = s.settlementEnded(ctx, tx, x, txns)
		}
		out = wire.FromRoyaltySettlement(x, txns)
		sending = nil
		for _, t := range txns {
			if t.Status == settlementPending {
				sending = append(sending, t)
			}
		}
		return err
	})
	s.kick(queued)
	if err != nil || len(sending) == 0 {
		return out, err
	}
	for _, t := range sending {
		s.sendRoyaltyTransfer(ctx, t)
	}
	return s.GetRoyaltySettlement(ctx, who, id)
}

// transferMethod reports whether a settlement method pays through the
// transfer engine (a payout channel), rather than to balances.
func transferMethod(m string) bool {
	switch m {
	case "alipay", "wx", "wx_pub", "wx_lite", "unionpay":
		return true
	}
	return false
}

// settlementTally counts a settlement's transactions by status and sets
// its status: pending while a transfer is on its way, then succeeded,
// failed, partially_succeeded or canceled.
func settlementTally(x *store.RoyaltySettlement, txns []*store.RoyaltyTransaction, now int64) {
	x.AmountSucceeded, x.AmountFailed, x.AmountCanceled = 0, 0, 0
	x.CountSucceeded, x.CountFailed, x.CountCanceled = 0, 0, 0
	pending := false
	for _, t := range txns {
		switch t.Status {
		case store.RoyaltySucceeded:
			x.CountSucceeded, x.AmountSucceeded = x.CountSucceeded+1, x.AmountSucceeded+t.Amount
		case "failed":
			x.CountFailed, x.AmountFailed = x.CountFailed+1, x.AmountFailed+t.Amount
		case settlementCanceled:
			x.CountCanceled, x.AmountCanceled = x.CountCanceled+1, x.AmountCanceled+t.Amount
		default:
			pending = true
		}
	}
	if pending {
		x.Status, x.TimeFinished = settlementPending, 0
		return
	}
	x.Status, x.TimeFinished = settlementOutcome(x), now
}

func settlementOutcome(x *store.RoyaltySettlement) string {
	switch {
	case x.CountCanceled == x.Count:
		return settlementCanceled
	case x.CountSucceeded == x.Count:
		return store.RoyaltySucceeded
	case x.CountFailed == x.Count:
		return "failed"
	}
	return "partially_succeeded"
}

// finishRoyaltyTxn pays one royalty transaction (pay) or cancels it, and
// moves its royalties on: settled, or back to unsettled for another
// settlement when it was canceled or could not be paid.
func (s *Service) finishRoyaltyTxn(ctx context.Context, tx Tx, x *store.RoyaltySettlement, t *store.RoyaltyTransaction, pay bool) error {
	t.Status = settlementCanceled
	switch {
	case pay && transferMethod(t.Method):
		// Paid by a transfer after this transaction commits; its
		// royalties wait for the transfer's outcome (endRoyaltyTxn).
		t.Status, t.TransferOrderNo = settlementPending, transferOrderNo(t.Method, time.Unix(tx.Now(), 0))
		return tx.UpdateRoyaltyTxn(ctx, t)
	case pay:
		if err := payRoyaltyTxn(ctx, tx, t); err != nil {
			return err
		}
	}
	if err := tx.UpdateRoyaltyTxn(ctx, t); err != nil {
		return err
	}
	return settleRoyalties(ctx, tx, x.AppID, x.Livemode, x.ID, x.Method, t)
}

// settleRoyalties moves a finished royalty transaction's royalties on:
// settled when it succeeded, back to unsettled (for another settlement)
// when it failed or was canceled.
func settleRoyalties(ctx context.Context, tx Tx, payer string, live bool, settlement, method string, t *store.RoyaltyTransaction) error {
	rs, err := tx.Royalties(ctx, payer, live, store.RoyaltyFilter{Payer: payer, Settlement: settlement})
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.RoyaltyTransaction != t.ID {
			continue
		}
		if t.Status == store.RoyaltySucceeded {
			r.Status, r.Method, r.TimeSettled = store.RoyaltySucceeded, method, tx.Now()
		} else {
			r.Status, r.RoyaltySettlement, r.RoyaltyTransaction = store.RoyaltyCreated, "", ""
		}
		if err := tx.UpdateRoyalty(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// payRoyaltyTxn credits a royalty transaction's recipient: a user's
// balance (in the user's app) or an app's own merchant balance, with the
// postings in both books. A recipient user that is gone or disabled
// fails the transaction, saying why.
func payRoyaltyTxn(ctx context.Context, tx Tx, t *store.RoyaltyTransaction) error {
	if t.SourceUser != "" {
		to := Caller{App: &polypay.App{ID: t.UserApp}, Live: t.Livemode}
		u, err := tx.GetUser(ctx, t.UserApp, t.Livemode, t.SourceUser)
		switch {
		case polypay.ErrorCode(err) == polypay.ENotFound:
			t.Status, t.FailureMsg = "failed", "分润用户不存在"
			return nil
		case err != nil:
			return err
		case u.Disabled:
			t.Status, t.FailureMsg = "failed", "分润用户已被禁用"
			return nil
		case t.Currency != polypay.BalanceCurrency:
			t.Status, t.FailureMsg = "failed", "用户余额只能接收人民币分润"
			return nil
		}
		bt, err := moveBalance(ctx, tx, to, t.SourceUser, t.Amount, polypay.BalanceTxnRoyalty, t.ID, "royalty", "status")
		if err != nil {
			return err
		}
		t.BalanceTransaction = bt.ID
	}
	t.Status = store.RoyaltySucceeded
	pay := t.Payment()
	if err := tx.Post(ctx, ledger.RoyaltyPaid(pay)); err != nil {
		return err
	}
	if recv := ledger.RoyaltyReceived(pay); len(recv.Lines) > 0 {
		return tx.Post(ctx, recv)
	}
	return nil
}

// GetRoyaltyTxn answers one royalty transaction its payer or recipient
// may see.
func (s *Service) GetRoyaltyTxn(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		t, err := tx.GetRoyaltyTxn(ctx, who.App.ID, who.Live, id)
		if err == nil {
			out = wire.FromRoyaltyTxn(t)
		}
		return err
	})
	return out, err
}

// ListRoyaltyTxns pages through the royalty transactions the caller's app
// pays or receives, of one settlement when settlement is not empty.
func (s *Service) ListRoyaltyTxns(ctx context.Context, who Caller, url, settlement string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if settlement != "" {
			// A settlement's transactions are its payer's: an ancestor of
			// the payer lists them as the payer.
			payer, err := tx.AppOfObject(ctx, "royalty_settlements", settlement)
			if err != nil {
				return err
			}
			if as, err := payerCaller(ctx, tx, who, payer); err == nil {
				who = as
			} else if polypay.ErrorCode(err) != polypay.EInvalid {
				return err
			}
		}
		if err := visibleCursor(p, func(id string) error {
			_, err := tx.GetRoyaltyTxn(ctx, who.App.ID, who.Live, id)
			return err
		}); err != nil {
			return err
		}
		xs, more, err := tx.ListRoyaltyTxns(ctx, who.App.ID, who.Live, settlement, p)
		if err != nil {
			return err
		}
		list, err = renderList(url, xs, more, func(t *store.RoyaltyTransaction) (any, error) { return wire.FromRoyaltyTxn(t), nil })
		return err
	})
	return list, err
}

// sendRoyaltyTransfer makes the transfer paying a pending royalty
// transaction to its recipient user's settle account on the method's
// channel, from the payer's funds, and links it. A recipient it cannot be
// made for (an app, no settle account, a payee the channel refuses) fails
// the transaction, its royalties unsettled again; other errors leave it to
// the poller.
func (s *Service) sendRoyaltyTransfer(ctx context.Context, t *store.RoyaltyTransaction) {
	p, err := s.royaltyTransfer(ctx, t)
	if err == nil {
		payer := Caller{App: &polypay.App{ID: t.AppID}, Live: t.Livemode}
		_, err = s.CreateTransfer(ctx, payer, p, func(tx Tx, obj any) error {
			cur, err := tx.GetRoyaltyTxn(ctx, t.AppID, t.Livemode, t.ID)
			if err != nil || cur.TransferID != "" || cur.Status != settlementPending {
				return err
			}
			cur.TransferID = obj.(*wire.Transfer).ID
			_, err = tx.MoveRoyaltyTxn(ctx, cur, settlementPending)
			return err
		})
	}
	if code := polypay.ErrorCode(err); err != nil && (code == polypay.EInvalid || code == polypay.ENotFound) {
		queued := 0
		err = s.write(ctx, func(tx Tx) error {
			cur, gerr := tx.GetRoyaltyTxn(ctx, t.AppID, t.Livemode, t.ID)
			if gerr != nil || cur.Status != settlementPending || cur.TransferID != "" {
				return gerr
			}
			queued, gerr = s.endRoyaltyTxnWith(ctx, tx, cur, false, errorText(err))
			return gerr
		})
		s.kick(queued)
	}
	if err != nil {
		s.Log.Warn("royalty transfer not sent", "royalty_transaction", t.ID, "err", err)
	}
}

// royaltyTransfer is the transfer paying t to its recipient's settle
// account (opened) on the method's channel.
func (s *Service) royaltyTransfer(ctx context.Context, t *store.RoyaltyTransaction) (TransferParams, error) {
	if t.SourceUser == "" {
		return TransferParams{}, polypay.ParamError("method", "分润接收方是 app %s 而不是用户，不能按渠道付款结算（请用 balance）", t.RecipientApp)
	}
	owner := Caller{App: &polypay.App{ID: t.UserApp}, Live: t.Livemode}
	acct, err := s.settleAccountFor(ctx, owner, t.SourceUser, t.Method, "")
	if err != nil {
		return TransferParams{}, err
	}
	open, err := s.openSettleAccount(acct)
	if err != nil {
		return TransferParams{}, err
	}
	w := &polypay.Withdrawal{AppID: t.AppID, Channel: t.Method, TransferOrderNo: t.TransferOrderNo, Amount: t.Amount, Description: "分润结算"}
	return withdrawalTransfer(w, open), nil
}

// endRoyaltyTxn ends the royalty transaction a decided transfer pays, in
// the transaction that decides the transfer.
func (s *Service) endRoyaltyTxn(ctx context.Context, tx Tx, tr *polypay.Transfer) (int, error) {
	t, err := tx.RoyaltyTxnByTransfer(ctx, tr.AppID, tr.Livemode, tr.Channel, tr.OrderNo)
	if err != nil || t == nil || t.Status != settlementPending {
		return 0, err
	}
	t.TransferID = tr.ID
	msg := tr.FailureMsg
	if tr.Status == polypay.TransferCanceled {
		msg = "付款已取消"
	}
	return s.endRoyaltyTxnWith(ctx, tx, t, tr.Status == polypay.TransferPaid, msg)
}

// endRoyaltyTxnWith records a pending royalty transaction's outcome, its
// postings when paid, its royalties' and its settlement's.
func (s *Service) endRoyaltyTxnWith(ctx context.Context, tx Tx, t *store.RoyaltyTransaction, paid bool, failure string) (int, error) {
	t.Status = "failed"
	if paid {
		t.Status, failure = store.RoyaltySucceeded, ""
	}
	t.FailureMsg = failure
	ok, err := tx.MoveRoyaltyTxn(ctx, t, settlementPending)
	if err != nil || !ok {
		return 0, err
	}
	if paid {
		if err := tx.Post(ctx, ledger.RoyaltyPaid(t.Payment())); err != nil {
			return 0, err
		}
	}
	if err := settleRoyalties(ctx, tx, t.AppID, t.Livemode, t.SettlementID, t.Method, t); err != nil {
		return 0, err
	}
	x, err := tx.GetRoyaltySettlement(ctx, t.AppID, t.Livemode, t.SettlementID)
	if err != nil {
		return 0, err
	}
	txns, err := tx.SettlementTxns(ctx, x.ID)
	if err != nil {
		return 0, err
	}
	settlementTally(x, txns, tx.Now())
	if moved, err := tx.UpdateRoyaltySettlement(ctx, x, settlementPending); err != nil || !moved {
		return 0, err
	}
	return s.settlementEnded(ctx, tx, x, txns)
}

// settlementEnded announces a royalty settlement that has just ended:
// royalty_settlement.succeeded when a transaction was paid, .failed when
// none was; nothing while it is pending or when it was canceled.
func (s *Service) settlementEnded(ctx context.Context, tx Tx, x *store.RoyaltySettlement, txns []*store.RoyaltyTransaction) (int, error) {
	typ := ""
	switch x.Status {
	case store.RoyaltySucceeded, "partially_succeeded":
		typ = polypay.EventRoyaltySettlementSucceeded
	case "failed":
		typ = polypay.EventRoyaltySettlementFailed
	default:
		return 0, nil
	}
	return s.emit(ctx, tx, x.AppID, x.Livemode, typ, "", wire.FromRoyaltySettlement(x, txns))
}

// pollRoyaltyTransfers sends the transfers a crash left unmade.
func (s *Service) pollRoyaltyTransfers(ctx context.Context) (int, error) {
	var unsent []*store.RoyaltyTransaction
	if err := s.read(ctx, func(tx Tx) (err error) { unsent, err = tx.UnsentRoyaltyTxns(ctx, 50); return }); err != nil {
		return 0, err
	}
	for _, t := range unsent {
		s.sendRoyaltyTransfer(ctx, t)
	}
	return len(unsent), nil
}

// errorText is an error's message for a failure_msg: an application
// error's own words, without its code and parameter.
func errorText(err error) string {
	var pe *polypay.Error
	if errors.As(err, &pe) && pe.Message != "" {
		return pe.Message
	}
	return err.Error()
}
