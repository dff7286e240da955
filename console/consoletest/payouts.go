package consoletest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
)

// Sandbox payees of the Alipay simulator (sim/alipaysim): the first is
// paid by any transfer, the frozen one takes a transfer and then fails it.
// Their names are the sandbox's, not real people's.
const (
	PayeeOK         = "payee@sandbox.com"
	PayeeOKName     = "沙箱环境"
	PayeeFrozen     = "frozen@sandbox.com"
	PayeeFrozenName = "王五"
)

// PayoutSeed is what SeedPayouts made in test mode.
type PayoutSeed struct {
	Paid           string // a transfer the sandbox paid
	Failed         string // a transfer the frozen payee failed
	Scheduled      string // a transfer above approve_above, waiting for approval
	Batch          string // a batch of two transfers, decided
	ScheduledBatch string // a batch waiting for approval (approve_batches)
	RedEnvelope    string // a wx_pub red envelope
	BatchRefund    string // a batch refund of two paid charges
}

// Caller is the test app calling core in a mode, as the API would.
func (e *Env) Caller(live bool) core.Caller {
	e.T.Helper()
	ctx := context.Background()
	var app *polypay.App
	if err := e.Node.DB.Read(ctx, func(tx *store.Tx) (err error) { app, err = tx.GetApp(ctx, e.App.AppID); return }); err != nil {
		e.T.Fatal(err)
	}
	return core.Caller{App: app, Live: live, RequestID: polypay.NewID("iar_")}
}

// SetPayoutSettings replaces the test app's test-mode approval rules.
func (e *Env) SetPayoutSettings(approveAbove int64, batches bool) {
	e.T.Helper()
	st := polypay.PayoutSettings{ApproveAbove: approveAbove, ApproveBatches: batches}
	if _, err := e.Node.Svc.PutPayoutSettings(context.Background(), e.Caller(false), st); err != nil {
		e.T.Fatal(err)
	}
}

// Transfer pays an Alipay sandbox payee in test mode through core (the
// API has no transfer routes to call yet) and returns the transfer id.
func (e *Env) Transfer(amount int64, payee, name string) string {
	e.T.Helper()
	out, err := e.Node.Svc.CreateTransfer(context.Background(), e.Caller(false), core.TransferParams{AppID: e.App.AppID,
		Channel: "alipay", OrderNo: OrderNo("TR"), Amount: amount, Type: "b2c", Currency: "cny", Recipient: payee,
		Description: "console test transfer", Extra: mustJSON(map[string]any{"recipient_name": name}), Metadata: json.RawMessage("{}")}, nil)
	if err != nil {
		e.T.Fatalf("transfer: %v", err)
	}
	return idOf(e, out)
}

// BatchTransfer pays the Alipay sandbox payees in one batch in test mode
// and returns the batch id.
func (e *Env) BatchTransfer(amounts ...int64) string {
	e.T.Helper()
	p := core.BatchTransferParams{AppID: e.App.AppID, BatchNo: OrderNo("BT"), Channel: "alipay", Description: "console test batch",
		Metadata: json.RawMessage("{}"), Currency: "cny", Type: "b2c"}
	for i, a := range amounts {
		acct, name := PayeeOK, PayeeOKName
		if i%2 == 1 {
			acct, name = PayeeFrozen, PayeeFrozenName
		}
		p.Recipients = append(p.Recipients, core.BatchRecipient{Account: acct, Amount: a, Name: name, Description: fmt.Sprintf("member %d", i)})
		p.Amount += a
	}
	out, err := e.Node.Svc.CreateBatchTransfer(context.Background(), e.Caller(false), p, nil)
	if err != nil {
		e.T.Fatalf("batch transfer: %v", err)
	}
	return idOf(e, out)
}

// SettleTransfer asks the sandbox about a pending test transfer until it
// is decided (core's test-mode retrieve does), and returns its status.
func (e *Env) SettleTransfer(id string) polypay.TransferStatus {
	e.T.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := e.Node.Svc.GetTransfer(context.Background(), e.Caller(false), id)
		if err != nil {
			e.T.Fatalf("transfer %s: %v", id, err)
		}
		st := polypay.TransferStatus(fieldOf(e, out, "status"))
		if st != polypay.TransferPending || time.Now().After(deadline) {
			return st
		}
	}
}

// SettleBatch retrieves a test batch until it is decided.
func (e *Env) SettleBatch(id string) polypay.BatchStatus {
	e.T.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := e.Node.Svc.GetBatchTransfer(context.Background(), e.Caller(false), id)
		if err != nil {
			e.T.Fatalf("batch %s: %v", id, err)
		}
		st := polypay.BatchStatus(fieldOf(e, out, "status"))
		if st.Decided() || time.Now().After(deadline) {
			return st
		}
	}
}

// SeedPayouts gives the test app's payout pages something to show in test
// mode: paid and failed transfers, a decided batch, a red envelope, a
// batch refund of two paid charges, and, once approval is required
// (above 100.00 yuan, and for every batch), a scheduled transfer and a
// scheduled batch.
func (e *Env) SeedPayouts() PayoutSeed {
	e.T.Helper()
	var s PayoutSeed
	e.SetPayoutSettings(0, false)
	s.Paid = e.Transfer(1234, PayeeOK, PayeeOKName)
	e.SettleTransfer(s.Paid)
	s.Failed = e.Transfer(2000, PayeeFrozen, PayeeFrozenName)
	e.SettleTransfer(s.Failed)
	s.Batch = e.BatchTransfer(300, 400)
	e.SettleBatch(s.Batch)
	s.RedEnvelope = e.RedEnvelope(500)
	s.BatchRefund = e.BatchRefund()
	e.SetPayoutSettings(10000, true)
	s.Scheduled = e.Transfer(25000, PayeeOK, PayeeOKName)
	s.ScheduledBatch = e.BatchTransfer(12000, 800)
	return s
}

// RedEnvelope stores a received wx_pub red envelope in test mode. The
// sandbox's wx_pub credentials have no api_v2_key and api_cert, which
// WeChat's v2 red envelope calls need, so core cannot send one in test
// mode; the console only shows envelopes, so the store is enough.
func (e *Env) RedEnvelope(amount int64) string {
	e.T.Helper()
	ctx := context.Background()
	now := time.Now().Unix()
	r := &store.RedEnvelopeRow{ParamsHash: "console-test", Sent: true}
	r.RedEnvelope = polypay.RedEnvelope{ID: polypay.NewID("red_"), AppID: e.App.AppID, Channel: "wx_pub",
		OrderNo: fmt.Sprintf("%d", time.Now().UnixNano()%1e10), Amount: amount, Currency: "cny",
		Recipient: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", Subject: "新年红包", Body: "恭喜发财", Description: "console test",
		Extra: mustJSON(map[string]any{"send_name": "polypay"}), Metadata: json.RawMessage("{}"),
		Status: polypay.RedEnvelopeReceived, Created: now - 60, Received: now, TransactionNo: "1000041701201901013000000000"}
	if err := e.Node.DB.Write(ctx, func(tx *store.Tx) error { return tx.InsertRedEnvelope(ctx, r, now+86400) }); err != nil {
		e.T.Fatal(err)
	}
	return r.ID
}

// BatchRefund pays two charges and refunds them in one batch refund.
func (e *Env) BatchRefund() string {
	e.T.Helper()
	var items []polypay.BatchRefundItem
	for i, amount := range []int64{700, 900} {
		id := e.Charge("alipay_qr", OrderNo("BR")+fmt.Sprint(i), amount, "batch refund")
		e.Pay(id)
		items = append(items, polypay.BatchRefundItem{Charge: id, Amount: amount - 100, Description: "batch refund item"})
	}
	out, err := e.Node.Svc.CreateBatchRefund(context.Background(), e.Caller(false), core.BatchRefundParams{AppID: e.App.AppID,
		BatchNo: OrderNo("BR"), Charges: items, Description: "console test batch refund", Metadata: json.RawMessage("{}")}, nil)
	if err != nil {
		e.T.Fatalf("batch refund: %v", err)
	}
	return idOf(e, out)
}

// OwnTransfer stores a scheduled test transfer as if the console user
// with that email had asked for it (CreatedBy is their id), for the rule
// that nobody approves their own payout. Nothing creates such a transfer
// yet (core sets CreatedBy "api"), so it goes into the store directly.
func (e *Env) OwnTransfer(email string, amount int64) string {
	e.T.Helper()
	ctx := context.Background()
	var u *store.ConsoleUser
	if err := e.Node.DB.Read(ctx, func(tx *store.Tx) (err error) { u, err = tx.ConsoleUserByEmail(ctx, email); return }); err != nil || u == nil {
		e.T.Fatalf("user %s: %v", email, err)
	}
	t := &store.TransferRow{ParamsHash: "console-test"}
	t.Transfer = polypay.Transfer{ID: polypay.NewID("tr_"), AppID: e.App.AppID, Channel: "alipay", OrderNo: OrderNo("OWN"),
		Type: "b2c", Amount: amount, Currency: "cny", Recipient: PayeeOK, Description: "own transfer",
		Extra: mustJSON(map[string]any{"recipient_name": PayeeOKName}), Metadata: json.RawMessage("{}"),
		Status: polypay.TransferScheduled, Created: time.Now().Unix(), CreatedBy: u.ID}
	if err := e.Node.DB.Write(ctx, func(tx *store.Tx) error { return tx.InsertTransfer(ctx, t, time.Now().Unix()+3600) }); err != nil {
		e.T.Fatal(err)
	}
	return t.ID
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// idOf reads the id of an object core returned (its wire form).
func idOf(e *Env, v any) string {
	e.T.Helper()
	id := fieldOf(e, v, "id")
	if id == "" {
		e.T.Fatalf("no id in %v", v)
	}
	return id
}

func fieldOf(e *Env, v any, key string) string {
	e.T.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.T.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		e.T.Fatal(err)
	}
	s, _ := m[key].(string)
	return strings.TrimSpace(s)
}
