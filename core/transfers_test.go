package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
	"github.com/polypay/polypay/wire"
)

// payee is a fake payout channel's books: what it paid, by PayoutNo, and
// how it answers. It is the channel's side of the exactly-once contract:
// paying one PayoutNo twice is a defect it counts.
type payee struct {
	mu       sync.Mutex
	paid     map[string]int64
	sends    int
	dupPaid  int
	answer   func(no string) (polypay.PayoutState, error) // nil: paid at once
	loseSend func(no string) bool                         // the request never arrives
}

var errLost = errors.New("connection reset: outcome unknown")

func (p *payee) CheckTransfer(t *polypay.Transfer) error {
	if t.Recipient == "" {
		return polypay.ParamError("recipient", "recipient required")
	}
	return nil
}

func (p *payee) Transfer(_ context.Context, req polypay.PayoutRequest) (*polypay.PayoutResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	no := req.Transfer.PayoutNo()
	p.sends++
	if p.loseSend != nil && p.loseSend(no) {
		return nil, errLost
	}
	if req.Transfer.Recipient == "nobody" {
		return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: "PAYEE_NOT_EXIST", Message: "payee does not exist"}
	}
	if _, ok := p.paid[no]; ok {
		p.dupPaid++ // a channel keyed by PayoutNo pays once; we count the ask
	} else {
		p.paid[no] = req.Transfer.Amount
	}
	state, err := polypay.PayoutPaid, error(nil)
	if p.answer != nil {
		state, err = p.answer(no)
	}
	if err != nil {
		return nil, err
	}
	return &polypay.PayoutResult{State: state, Amount: req.Transfer.Amount, TransactionNo: "tx" + no}, nil
}

func (p *payee) QueryTransfer(_ context.Context, t *polypay.Transfer) (*polypay.PayoutResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	amt, ok := p.paid[t.PayoutNo()]
	if !ok {
		return &polypay.PayoutResult{State: polypay.PayoutNotFound}, nil
	}
	return &polypay.PayoutResult{State: polypay.PayoutPaid, Amount: amt, TransactionNo: "tx" + t.PayoutNo()}, nil
}

type onePayee struct{ p *payee }

func (o onePayee) Payouter(context.Context, string, bool, string) (polypay.Payouter, error) {
	return o.p, nil
}
func (o onePayee) RedEnvelopes(context.Context, string, bool) (polypay.RedEnvelopeSender, error) {
	return nil, polypay.ParamError("channel", "no red envelopes")
}
func (o onePayee) PayoutFamily(string) string { return "alipay" }

type payoutEnv struct {
	svc *core.Service
	db  *store.DB
	who core.Caller
	p   *payee
}

func newPayoutEnv(t *testing.T, b storetest.Backend) *payoutEnv {
	db := b.Open(t)
	app, err := core.CreateApp(context.Background(), db, "t")
	if err != nil {
		t.Fatal(err)
	}
	p := &payee{paid: map[string]int64{}}
	svc := &core.Service{DB: db, Channels: oneChannel{}, Payouts: onePayee{p}, BaseURL: "http://127.0.0.1",
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	return &payoutEnv{svc: svc, db: db, who: core.Caller{App: &polypay.App{ID: app.AppID}}, p: p}
}

func (e *payoutEnv) transfer(t *testing.T, orderNo, recipient string, amount int64) *wire.Transfer {
	t.Helper()
	out, err := e.svc.CreateTransfer(context.Background(), e.who, core.TransferParams{AppID: e.who.App.ID, Channel: "alipay",
		OrderNo: orderNo, Amount: amount, Type: "b2c", Currency: "cny", Recipient: recipient, Description: "payout",
		Extra: json.RawMessage(`{"recipient_name":"张三"}`), Metadata: json.RawMessage(`{}`)}, nil)
	if err != nil {
		t.Fatalf("create transfer %s: %v", orderNo, err)
	}
	return out.(*wire.Transfer)
}

// pollLater runs the poller as if d had passed.
func (e *payoutEnv) pollLater(t *testing.T, d time.Duration) {
	t.Helper()
	e.svc.Now = func() time.Time { return time.Now().Add(d) }
	defer func() { e.svc.Now = nil }()
	if _, err := e.svc.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (e *payoutEnv) status(t *testing.T, id string) string {
	t.Helper()
	out, err := e.svc.GetTransfer(context.Background(), core.Caller{App: e.who.App, Live: true}, id)
	if err == nil {
		t.Fatalf("live key read a test transfer: %v", out)
	}
	var st string
	e.db.Read(context.Background(), func(tx *store.Tx) error {
		tr, err := tx.GetTransfer(context.Background(), e.who.App.ID, false, id)
		if err == nil {
			st = string(tr.Status)
		}
		return err
	})
	return st
}

// TestTransferExactlyOnce: whatever the channel answers, or fails to, a
// transfer is paid once, decided once, and its books agree.
func TestTransferExactlyOnce(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(p *payee)
		poll     bool
		want     string
		wantSend int
	}{
		{"PaidAtOnce", nil, false, "paid", 1},
		{"ProcessingThenQueried", func(p *payee) {
			p.answer = func(string) (polypay.PayoutState, error) { return polypay.PayoutProcessing, nil }
		}, true, "paid", 1},
		{"ReplyLostQueriedNotResent", func(p *payee) {
			p.answer = func(string) (polypay.PayoutState, error) { return "", errLost }
		}, true, "paid", 1},
		{"NeverArrivedSentAgain", func(p *payee) {
			lost := true
			p.loseSend = func(string) bool { l := lost; lost = false; return l }
		}, true, "paid", 2},
		{"Refused", nil, false, "failed", 1},
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					e := newPayoutEnv(t, b)
					if tc.setup != nil {
						tc.setup(e.p)
					}
					recipient := "payee@example.com"
					if tc.name == "Refused" {
						recipient = "nobody"
					}
					tr := e.transfer(t, "T"+tc.name[:4], recipient, 500)
					if tc.poll {
						if tr.Status != "pending" {
							t.Fatalf("after create: %s, want pending", tr.Status)
						}
						e.pollLater(t, 10*time.Second)
						e.pollLater(t, 30*time.Second) // a second poll changes nothing
					}
					if got := e.status(t, tr.ID); got != tc.want {
						t.Fatalf("status %s, want %s", got, tc.want)
					}
					if e.p.sends != tc.wantSend || e.p.dupPaid != 0 {
						t.Fatalf("sends %d (want %d), paid twice %d", e.p.sends, tc.wantSend, e.p.dupPaid)
					}
					if _, probs, err := ledger.Check(context.Background(), e.db); err != nil || len(probs) != 0 {
						t.Fatalf("ledger: %v %v", probs, err)
					}
				})
			}
		})
	}
}

// TestTransferOrderNoAndApproval: an order_no repeats only with the same
// parameters; above the approval threshold a transfer waits scheduled, its
// creator cannot approve it, a finance user can, and a scheduled one can
// be canceled instead.
func TestTransferOrderNoAndApproval(t *testing.T) {
	ctx := context.Background()
	e := newPayoutEnv(t, storetest.Backends(t)[0])
	first := e.transfer(t, "SAME1", "payee@example.com", 300)
	if again := e.transfer(t, "SAME1", "payee@example.com", 300); again.ID != first.ID || e.p.sends != 1 {
		t.Fatalf("same order_no: %s vs %s, %d sends", again.ID, first.ID, e.p.sends)
	}
	_, err := e.svc.CreateTransfer(ctx, e.who, core.TransferParams{AppID: e.who.App.ID, Channel: "alipay", OrderNo: "SAME1",
		Amount: 301, Type: "b2c", Currency: "cny", Recipient: "payee@example.com", Description: "payout"}, nil)
	if pe, ok := err.(*polypay.Error); !ok || pe.Param != "order_no" {
		t.Fatalf("same order_no, other amount: %v", err)
	}
	if _, err := e.svc.PutPayoutSettings(ctx, e.who, polypay.PayoutSettings{ApproveAbove: 1000}); err != nil {
		t.Fatal(err)
	}
	big := e.transfer(t, "BIG1", "payee@example.com", 5000)
	other := e.transfer(t, "BIG2", "payee@example.com", 5000)
	if big.Status != "scheduled" || e.p.sends != 1 {
		t.Fatalf("above the threshold: %s after %d sends", big.Status, e.p.sends)
	}
	steps := []struct {
		name  string
		do    func() error
		param string
	}{
		{"CreatorCannotApprove", func() error { _, err := e.svc.ApproveTransfer(ctx, e.who, big.ID, "api"); return err }, "id"},
		{"FinanceApproves", func() error { _, err := e.svc.ApproveTransfer(ctx, e.who, big.ID, "usr_finance"); return err }, ""},
		{"ApproveTwice", func() error { _, err := e.svc.ApproveTransfer(ctx, e.who, big.ID, "usr_finance"); return err }, "id"},
		{"CancelSent", func() error { _, err := e.svc.CancelTransfer(ctx, e.who, big.ID, nil); return err }, "status"},
		{"CancelScheduled", func() error { _, err := e.svc.CancelTransfer(ctx, e.who, other.ID, nil); return err }, ""},
		{"ApproveCanceled", func() error { _, err := e.svc.ApproveTransfer(ctx, e.who, other.ID, "usr_finance"); return err }, "id"},
	}
	for _, s := range steps {
		err := s.do()
		pe, _ := err.(*polypay.Error)
		if (s.param == "" && err != nil) || (s.param != "" && (pe == nil || pe.Param != s.param)) {
			t.Fatalf("%s: %v, want param %q", s.name, err, s.param)
		}
	}
	if got := e.status(t, big.ID); got != "paid" {
		t.Fatalf("approved transfer %s", got)
	}
	if got := e.status(t, other.ID); got != "canceled" || e.p.sends != 2 {
		t.Fatalf("canceled transfer %s after %d sends", got, e.p.sends)
	}
}

// TestBatchTransferFanOut: a channel without a batch call gets one
// transfer per recipient; a refused payee makes the batch partially
// succeeded, announced once.
func TestBatchTransferFanOut(t *testing.T) {
	ctx := context.Background()
	e := newPayoutEnv(t, storetest.Backends(t)[0])
	p := core.BatchTransferParams{AppID: e.who.App.ID, BatchNo: "BATCH0000001", Channel: "alipay", Amount: 600,
		Description: "payroll", Currency: "cny", Type: "b2c", Recipients: []core.BatchRecipient{
			{Account: "a@example.com", Amount: 100, Name: "甲"}, {Account: "nobody", Amount: 200, Name: "乙"},
			{Account: "c@example.com", Amount: 300, Name: "丙"}}}
	bad := p
	bad.Amount = 601
	if _, err := e.svc.CreateBatchTransfer(ctx, e.who, bad, nil); err == nil || err.(*polypay.Error).Param != "amount" {
		t.Fatalf("sum mismatch: %v", err)
	}
	out, err := e.svc.CreateBatchTransfer(ctx, e.who, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := out.(*wire.BatchTransfer).ID
	var got *wire.BatchTransfer
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		w, err := e.svc.GetBatchTransfer(ctx, core.Caller{App: e.who.App, Live: true}, id)
		if err == nil {
			t.Fatalf("live key read a test batch: %v", w)
		}
		if w, _ = e.svc.GetBatchTransfer(ctx, e.who, id); w.(*wire.BatchTransfer).Status != "pending" {
			got = w.(*wire.BatchTransfer)
			break
		}
	}
	if got == nil || got.Status != "partially_succeeded" || len(got.Recipients) != 3 || got.Recipients[1].Status != "failed" {
		t.Fatalf("batch: %+v", got)
	}
	// One send each: a test-mode retrieve racing the fan-out only queries,
	// so it never sends a transfer whose send is in flight a second time.
	if e.p.sends != 3 || e.p.dupPaid != 0 || len(e.p.paid) != 2 || e.p.paid[got.Recipients[0].Transfer[3:]] != 100 {
		t.Fatalf("sends %d, dup %d, paid %v", e.p.sends, e.p.dupPaid, e.p.paid)
	}
	events := 0
	e.db.Read(ctx, func(tx *store.Tx) error {
		evs, err := tx.EventsAbout(ctx, e.who.App.ID, false, id)
		for _, ev := range evs {
			if ev.Type == polypay.EventBatchTransferSucceeded {
				events++
			}
		}
		return err
	})
	if events != 1 {
		t.Fatalf("%d batch_transfer.succeeded events, want 1", events)
	}
	if _, probs, err := ledger.Check(ctx, e.db); err != nil || len(probs) != 0 {
		t.Fatalf("ledger: %v %v", probs, err)
	}
}
