package channeltest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/sim/simfault"
)

// RunPayout is the payout conformance suite every payout connector passes
// on its simulator: CheckTransfer's refusals, a transfer created twice and
// paid once, its query, its notification (genuine, forged, duplicated)
// and statement line when the channel has them, a payout never made, the
// refusals (unknown payee, name mismatch, daily limit, insufficient funds,
// then a top-up), a lost answer, and a batch when the connector takes
// batches.
func RunPayout(t *testing.T, h PayoutHarness) {
	t.Helper()
	if h.Start == nil || h.Channel == "" || h.Family == "" {
		t.Fatal("the payout harness needs Family, Channel and Start")
	}
	s := &payoutSuite{h: h, faults: simfault.New(simfault.Config{}, 1)}
	s.sim = h.Start(t, s.faults.Handler)
	switch {
	case s.sim.Conn == nil || s.sim.Books == nil:
		t.Fatal("the payout simulator needs Conn and Books")
	case s.sim.SetFunds == nil || s.sim.TopUp == nil:
		t.Fatal("the payout simulator needs SetFunds and TopUp")
	}
	s.conn = s.sim.Conn(t)
	if s.sim.Forge != nil {
		ch, ok := s.conn.(polypay.Channel)
		if !ok {
			t.Fatal("the harness forges notifications; the connector is no polypay.Channel to parse them")
		}
		s.rcv = newReceiver(t, ch)
		s.notifyURL = s.rcv.srv.URL + "/notify/" + h.Family + "/app_conformance/test"
	} else {
		s.notifyURL = "http://127.0.0.1:9/notify/" + h.Family + "/app_conformance/test"
	}

	t.Run("CheckTransfer", s.checkCases)
	var p *payout
	steps(t, []step{
		{"Create", func(t *testing.T) { p = s.create(t) }},
		{"Query", func(t *testing.T) { s.queryPaid(t, p) }},
		{"PaysOnce", func(t *testing.T) { s.paysOnce(t, p.tr) }},
		{"Notification", func(t *testing.T) { s.notification(t, p) }},
		{"NotificationForged", func(t *testing.T) { s.forged(t, p) }},
		{"NotificationDuplicated", func(t *testing.T) { s.duplicated(t, p) }},
		{"Statement", func(t *testing.T) { s.statement(t, p) }},
	})
	t.Run("QueryNeverSent", s.neverSent)
	t.Run("ErrUnknownPayee", func(t *testing.T) { s.refused(t, s.sim.UnknownPayee) })
	t.Run("ErrNameMismatch", func(t *testing.T) { s.refused(t, s.sim.NameMismatch) })
	t.Run("ErrDailyLimit", func(t *testing.T) { s.refused(t, s.sim.DailyLimit) })
	t.Run("ErrInsufficientFunds", s.insufficientFunds)
	t.Run("TransferAnswerLost", s.answerLost)
	t.Run("Batch", s.batch)
}

type payoutSuite struct {
	h         PayoutHarness
	sim       *PayoutSim
	faults    *simfault.Faults
	conn      polypay.Payouter
	rcv       *receiver // nil when the channel does not notify payouts
	notifyURL string
}

// payout is a transfer the suite paid, with what it learned of it.
type payout struct {
	tr     *polypay.Transfer
	res    *polypay.PayoutResult // the query's answer once paid
	notice Notice                // the payout notification
	n      *polypay.Notification
}

// transfer builds a new transfer of amount to p, as core stores it.
func (s *payoutSuite) transfer(p Payee, amount int64) *polypay.Transfer {
	extra, err := json.Marshal(p.Extra)
	if err != nil || p.Extra == nil {
		extra = []byte("{}")
	}
	tr := &polypay.Transfer{ID: polypay.NewID("tr_"), AppID: "app_conformance", Channel: s.h.Channel,
		OrderNo: randomDigits(16), Type: "b2c", Amount: amount, Currency: "cny", Recipient: p.Recipient,
		Description: "conformance", Extra: extra, Metadata: []byte("{}"), Status: polypay.TransferPending,
		Created: time.Now().Unix()}
	if s.sim.Complete != nil {
		s.sim.Complete(tr)
	}
	return tr
}

func randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err)
		}
		b[i] = byte('1' + d.Int64()%9) // no leading zero anywhere
	}
	return string(b)
}

func (s *payoutSuite) request(tr *polypay.Transfer) polypay.PayoutRequest {
	return polypay.PayoutRequest{Transfer: tr, NotifyURL: s.notifyURL}
}

// checkCases: a valid transfer passes CheckTransfer; each spoilt one is
// EInvalid naming its parameter.
func (s *payoutSuite) checkCases(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		if err := s.conn.CheckTransfer(s.transfer(s.sim.Payee, DefaultPayoutAmount)); err != nil {
			t.Fatalf("CheckTransfer of a valid transfer: %v", err)
		}
	})
	cases := append([]PayoutInvalid{
		{Name: "ErrCurrency", Change: func(tr *polypay.Transfer) { tr.Currency = "usd" }, Param: "currency"},
		{Name: "ErrType", Change: func(tr *polypay.Transfer) { tr.Type = "c2c" }, Param: "type"},
		{Name: "ErrOrderNoMissing", Change: func(tr *polypay.Transfer) { tr.OrderNo = "" }, Param: "order_no"},
		{Name: "ErrOrderNoTooLong", Change: func(tr *polypay.Transfer) { tr.OrderNo = randomDigits(65) }, Param: "order_no"},
	}, s.sim.Invalid...)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			tr := s.transfer(s.sim.Payee, DefaultPayoutAmount)
			tc.Change(tr)
			err := s.conn.CheckTransfer(tr)
			var pe *polypay.Error
			if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || pe.Param != tc.Param {
				t.Fatalf("CheckTransfer = %v, want EInvalid naming %q", err, tc.Param)
			}
		})
	}
}

// send checks tr and asks the channel to pay it.
func (s *payoutSuite) send(t *testing.T, tr *polypay.Transfer) (*polypay.PayoutResult, error) {
	t.Helper()
	if err := s.conn.CheckTransfer(tr); err != nil {
		t.Fatalf("CheckTransfer: %v", err)
	}
	return s.conn.Transfer(context.Background(), s.request(tr))
}

// create pays a transfer to the valid payee, asking twice: both answers
// say it is taken.
func (s *payoutSuite) create(t *testing.T) *payout {
	p := &payout{tr: s.transfer(s.sim.Payee, DefaultPayoutAmount)}
	var first *polypay.PayoutResult
	for i := range 2 {
		res, err := s.send(t, p.tr)
		if err != nil {
			t.Fatalf("Transfer (call %d): %v", i+1, err)
		}
		if res.State != polypay.PayoutProcessing && res.State != polypay.PayoutPaid {
			t.Fatalf("Transfer (call %d) = %+v, want processing or paid", i+1, res)
		}
		if res.Amount != 0 && res.Amount != p.tr.Amount {
			t.Fatalf("Transfer (call %d) states %d, want %d", i+1, res.Amount, p.tr.Amount)
		}
		if first != nil && first.TransactionNo != "" && res.TransactionNo != "" && res.TransactionNo != first.TransactionNo {
			t.Fatalf("Transfer asked again names payout %q, the first %q: paid twice?", res.TransactionNo, first.TransactionNo)
		}
		first = res
	}
	return p
}

// settle has the simulator decide tr (Decide, or a query) and returns
// the channel's word once it is no longer processing.
func (s *payoutSuite) settle(t *testing.T, tr *polypay.Transfer) *polypay.PayoutResult {
	t.Helper()
	if s.sim.Decide != nil {
		s.sim.Decide(t, tr.PayoutNo())
	}
	var res *polypay.PayoutResult
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if res, err = s.conn.QueryTransfer(context.Background(), tr); err != nil {
			t.Fatalf("QueryTransfer: %v", err)
		}
		if res.State != polypay.PayoutProcessing || time.Now().After(deadline) {
			return res
		}
	}
}

func (s *payoutSuite) queryPaid(t *testing.T, p *payout) {
	res := s.settle(t, p.tr)
	if res.State != polypay.PayoutPaid || res.Amount != p.tr.Amount || res.TransactionNo == "" {
		t.Fatalf("QueryTransfer = %+v, want paid %d with a transaction_no", res, p.tr.Amount)
	}
	again, err := s.conn.QueryTransfer(context.Background(), p.tr)
	if err != nil || again.State != polypay.PayoutPaid || again.TransactionNo != res.TransactionNo {
		t.Fatalf("QueryTransfer again = %+v, %v; want it paid as before (%s)", again, err, res.TransactionNo)
	}
	p.res = res
}

// paysOnce: the simulator's books hold exactly one paid payout of tr.
func (s *payoutSuite) paysOnce(t *testing.T, tr *polypay.Transfer) {
	t.Helper()
	books := s.sim.Books(t, tr.PayoutNo())
	if len(books) != 1 || books[0].State != polypay.PayoutPaid || books[0].Amount != tr.Amount {
		t.Fatalf("the simulator's books hold %+v under %s, want one paid payout of %d", books, tr.PayoutNo(), tr.Amount)
	}
}

// nothingPaid: the simulator's books hold no paid payout of tr.
func (s *payoutSuite) nothingPaid(t *testing.T, tr *polypay.Transfer) {
	t.Helper()
	for _, e := range s.sim.Books(t, tr.PayoutNo()) {
		if e.State != polypay.PayoutFailed {
			t.Fatalf("the simulator's books hold %+v under %s, want nothing paid", e, tr.PayoutNo())
		}
	}
}

func (s *payoutSuite) skipUnnotified(t *testing.T) {
	t.Helper()
	if s.rcv == nil {
		t.Skip("the channel sends no payout notifications (the harness has no Forge)")
	}
}

// notification: the simulator notified the payout paid, and the
// connector reads it as the query did.
func (s *payoutSuite) notification(t *testing.T, p *payout) {
	s.skipUnnotified(t)
	no := p.tr.PayoutNo()
	d := s.rcv.wait(t, "payout notification of "+no, func(d delivery) bool {
		return d.n.Kind == polypay.NotifyPayout && d.n.PayoutNo == no && d.n.Payout != nil && d.n.Payout.State == polypay.PayoutPaid
	})
	n := d.n
	if (s.sim.MerchantID != "" && n.MerchantID != s.sim.MerchantID) || (n.Payout.Amount != 0 && n.Payout.Amount != p.tr.Amount) ||
		(n.Payout.TransactionNo != "" && n.Payout.TransactionNo != p.res.TransactionNo) {
		t.Fatalf("payout notification = %+v %+v, want merchant %q, amount %d, payout %s", n, n.Payout, s.sim.MerchantID, p.tr.Amount, p.res.TransactionNo)
	}
	p.notice, p.n = d.Notice, n
}

// parse reads a notification with the connector, as core's handler does.
func (s *payoutSuite) parse(n Notice) (*polypay.Notification, error) {
	return s.rcv.conn.ParseNotification(context.Background(), polypay.NewNotifyRequest(n.request(), n.Body))
}

func (s *payoutSuite) forged(t *testing.T, p *payout) {
	s.skipUnnotified(t)
	got, err := s.parse(s.sim.Forge(t, p.notice))
	if !errors.Is(err, polypay.ErrBadSignature) {
		t.Fatalf("a forged payout notification parsed as %+v, %v; want polypay.ErrBadSignature", got, err)
	}
}

// duplicated: the same notification again reads the same, and no money
// moves again.
func (s *payoutSuite) duplicated(t *testing.T, p *payout) {
	s.skipUnnotified(t)
	for range 2 {
		n, err := s.parse(p.notice)
		if err != nil {
			t.Fatalf("the notification delivered again: %v", err)
		}
		if n.Kind != polypay.NotifyPayout || n.PayoutNo != p.n.PayoutNo || n.Payout == nil || *n.Payout != *p.n.Payout {
			t.Fatalf("the notification delivered again reads %+v, first %+v", n, p.n)
		}
	}
	s.paysOnce(t, p.tr)
}

func (s *payoutSuite) statement(t *testing.T, p *payout) {
	if s.sim.StatementDay == nil {
		t.Skip("the harness offers no statements")
	}
	st, ok := s.conn.(polypay.Statementer)
	if !ok {
		t.Fatal("the harness has a StatementDay; the connector is no polypay.Statementer")
	}
	lines, err := st.Statement(context.Background(), s.sim.StatementDay(t))
	if err != nil {
		t.Fatalf("Statement: %v", err)
	}
	var found int
	for _, l := range lines {
		if l.Kind == polypay.StatementPayout && l.PayoutNo == p.tr.PayoutNo() {
			found++
			if l.Amount != p.tr.Amount || l.TransactionNo == "" {
				t.Errorf("payout line = %+v, want %d with a transaction_no", l, p.tr.Amount)
			}
		}
	}
	if found != 1 {
		t.Fatalf("the statement has %d lines of payout %s, want 1: %+v", found, p.tr.PayoutNo(), lines)
	}
}

// neverSent: a payout the channel never received is not found.
func (s *payoutSuite) neverSent(t *testing.T) {
	tr := s.transfer(s.sim.Payee, DefaultPayoutAmount)
	res, err := s.conn.QueryTransfer(context.Background(), tr)
	if err != nil || res.State != polypay.PayoutNotFound {
		t.Fatalf("QueryTransfer of a payout never sent = %+v, %v; want not found", res, err)
	}
}

// refused: the channel refuses the transfer (EChannel) or fails it, with
// its code; nothing is paid, and a query does not say otherwise.
func (s *payoutSuite) refused(t *testing.T, r PayoutRefusal) {
	if r.None != "" {
		t.Skip(r.None)
	}
	if r.Payee.Recipient == "" && r.Payee.Extra == nil {
		t.Fatal("the harness gives no payee for this refusal (set None to skip it)")
	}
	amount := r.Amount
	if amount == 0 {
		amount = DefaultPayoutAmount
	}
	tr := s.transfer(r.Payee, amount)
	s.expectRefused(t, tr, r.Code)
}

// expectRefused sends tr and checks that it ends refused or failed with
// code (any code when ""), and that nothing was paid.
func (s *payoutSuite) expectRefused(t *testing.T, tr *polypay.Transfer, code string) {
	t.Helper()
	res, err := s.send(t, tr)
	switch {
	case err != nil:
		var pe *polypay.Error
		if !errors.As(err, &pe) || pe.Code != polypay.EChannel {
			t.Fatalf("Transfer = %v, want an EChannel refusal or a failed payout", err)
		}
		if code != "" && pe.ChannelCode != code {
			t.Fatalf("Transfer refused with channel code %q, want %q (%v)", pe.ChannelCode, code, err)
		}
	case res.State == polypay.PayoutPaid || res.State == polypay.PayoutNotFound:
		t.Fatalf("Transfer = %+v, want refused or failed", res)
	default:
		if res.State == polypay.PayoutProcessing {
			res = s.settle(t, tr)
		}
		if res.State != polypay.PayoutFailed || (code != "" && res.FailureCode != code) {
			t.Fatalf("the payout ended %+v, want failed with code %q", res, code)
		}
	}
	if q, err := s.conn.QueryTransfer(context.Background(), tr); err != nil || (q.State != polypay.PayoutFailed && q.State != polypay.PayoutNotFound) {
		t.Fatalf("QueryTransfer of a refused payout = %+v, %v; want failed or not found", q, err)
	}
	s.nothingPaid(t, tr)
}

// insufficientFunds: with too little money the payout is refused and
// nothing is paid; after a top-up the next one is paid.
func (s *payoutSuite) insufficientFunds(t *testing.T) {
	s.sim.SetFunds(t, DefaultPayoutAmount-1)
	s.expectRefused(t, s.transfer(s.sim.Payee, DefaultPayoutAmount), s.sim.FundsCode)
	s.sim.TopUp(t, 1_000_000_00)
	tr := s.transfer(s.sim.Payee, DefaultPayoutAmount)
	if res, err := s.send(t, tr); err != nil || (res.State != polypay.PayoutProcessing && res.State != polypay.PayoutPaid) {
		t.Fatalf("Transfer after a top-up = %+v, %v; want it taken", res, err)
	}
	if res := s.settle(t, tr); res.State != polypay.PayoutPaid {
		t.Fatalf("the payout after a top-up ended %+v, want paid", res)
	}
	s.paysOnce(t, tr)
}

// answerLost: the channel takes the transfer and its answer is lost. The
// connector must not call that a refusal (its outcome is unknown); asking
// again is safe and pays once.
func (s *payoutSuite) answerLost(t *testing.T) {
	tr := s.transfer(s.sim.Payee, DefaultPayoutAmount)
	if err := s.conn.CheckTransfer(tr); err != nil {
		t.Fatalf("CheckTransfer: %v", err)
	}
	s.faults.Set(simfault.Config{Fail5xxAfter: 1})
	_, lost := s.conn.Transfer(context.Background(), s.request(tr))
	s.faults.Set(simfault.Config{})
	if lost == nil {
		t.Log("the connector got over the lost answer by itself")
	}
	var pe *polypay.Error
	if errors.As(lost, &pe) && (pe.Code == polypay.EChannel || pe.Code == polypay.EInvalid) {
		t.Fatalf("a lost answer came back as a refusal (%v): core would record a payout failed that the channel took", lost)
	}
	if res, err := s.conn.Transfer(context.Background(), s.request(tr)); err != nil || (res.State != polypay.PayoutProcessing && res.State != polypay.PayoutPaid) {
		t.Fatalf("Transfer asked again = %+v, %v; want it taken", res, err)
	}
	if res := s.settle(t, tr); res.State != polypay.PayoutPaid {
		t.Fatalf("the payout ended %+v, want paid", res)
	}
	s.paysOnce(t, tr)
}

// batch: a connector taking batches pays each transfer of a batch once,
// even when the batch is sent twice.
func (s *payoutSuite) batch(t *testing.T) {
	bp, ok := s.conn.(polypay.BatchPayouter)
	if !ok {
		t.Skip("the connector takes no batches")
	}
	if bp.MaxBatch() < 2 {
		t.Fatalf("MaxBatch = %d, want at least 2", bp.MaxBatch())
	}
	batchNo := "B" + randomDigits(20)
	trs := []*polypay.Transfer{s.transfer(s.sim.Payee, DefaultPayoutAmount), s.transfer(s.sim.Payee, DefaultPayoutAmount+1)}
	reqs := make([]polypay.PayoutRequest, len(trs))
	for i, tr := range trs {
		tr.BatchNo = batchNo
		if err := bp.CheckTransfer(tr); err != nil {
			t.Fatalf("CheckTransfer: %v", err)
		}
		reqs[i] = s.request(tr)
	}
	for call := range 2 {
		res, err := bp.TransferBatch(context.Background(), batchNo, reqs)
		if err != nil {
			t.Fatalf("TransferBatch (call %d): %v", call+1, err)
		}
		if len(res) != len(reqs) {
			t.Fatalf("TransferBatch (call %d) answered %d results for %d transfers", call+1, len(res), len(reqs))
		}
		for i, r := range res {
			if r == nil || (r.State != polypay.PayoutProcessing && r.State != polypay.PayoutPaid) {
				t.Fatalf("TransferBatch (call %d) result %d = %+v, want processing or paid", call+1, i, r)
			}
		}
	}
	for _, tr := range trs {
		if res := s.settle(t, tr); res.State != polypay.PayoutPaid || res.Amount != tr.Amount {
			t.Fatalf("batch payout %s ended %+v, want paid %d", tr.PayoutNo(), res, tr.Amount)
		}
		s.paysOnce(t, tr)
	}
}
