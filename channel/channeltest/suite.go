package channeltest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/sim/simfault"
)

// Run is the conformance suite every connector passes on its simulator:
// each channel's scene (create, pay, notification, query), then on the
// family's first channel refund, refund query and notification, the
// statement, the notifications through core (genuine, duplicated, forged,
// tampered, replayed, foreign, wrong amount and currency), close, decline,
// pre-authorization where the harness lists it, debit agreements where it
// has them (agreement_suite.go), and the faults.
func Run(t *testing.T, h Harness) {
	t.Helper()
	fam := h.Family
	if fam == nil || len(fam.Channels) == 0 {
		t.Fatal("the harness has no family descriptor with channels")
	}
	if reg := polypay.LookupFamily(fam.Name); reg != nil && reg != fam {
		t.Fatalf("family %q is registered with another descriptor", fam.Name)
	}
	s := &suite{fam: fam, faults: simfault.New(simfault.Config{}, 1)}
	s.sim = h.Start(t, s.faults.Handler)
	s.primary = fam.Channels[0].Name
	s.conn = s.sim.Conn(t, s.primary)
	s.rcv = newReceiver(t, s.conn)
	s.notifyURL = s.rcv.srv.URL + "/notify/" + fam.Name + "/app_conformance/test"

	t.Run("Scenes", func(t *testing.T) {
		for _, ch := range fam.ChannelNames() {
			t.Run(ch, func(t *testing.T) { s.scene(t, ch) })
		}
	})
	var p *paid
	steps(t, []step{
		{"Refund", func(t *testing.T) { p = s.refund(t) }},
		{"RefundQuery", func(t *testing.T) { s.refundQuery(t, p) }},
		{"RefundNotification", func(t *testing.T) { s.refundNotification(t, p) }},
		{"Statement", func(t *testing.T) { s.statement(t, p) }},
		{"Notify", func(t *testing.T) { Notify(t, s.family(), s.notifyCases(t, p)) }},
	})
	t.Run("Close", s.closeCases)
	t.Run("ErrForgedRequest", s.forgedRequest)
	t.Run("Decline", s.decline)
	t.Run("PreAuth", s.preAuth)
	t.Run("Agreements", s.agreements)
	t.Run("ProfitSharing", s.profitSharing)
	t.Run("Faults", s.faultCases)
}

type suite struct {
	fam       *polypay.Family
	sim       *Sim
	faults    *simfault.Faults
	primary   string
	conn      polypay.Channel // the primary channel's, which takes notifications
	rcv       *receiver
	notifyURL string
}

func (s *suite) family() Family {
	return Family{Name: s.fam.Name, Conn: s.conn, MerchantID: s.sim.MerchantID, TradeID: s.sim.TradeID}
}

type step struct {
	name string
	run  func(t *testing.T)
}

// steps runs dependent steps in order, stopping at the first that fails;
// it reports whether all passed.
func steps(t *testing.T, ss []step) bool {
	t.Helper()
	for _, st := range ss {
		if !t.Run(st.name, st.run) {
			return false
		}
	}
	return true
}

// paid is a charge the customer paid, with what the suite learned of it.
type paid struct {
	conn    polypay.Channel
	c       *polypay.Charge
	payment Notice // the payment notification
	n       *polypay.Notification
	r       *polypay.Refund
	refund  Notice // the refund notification
}

// create starts a charge as core does: the credential kept on the charge.
func (s *suite) create(t *testing.T, conn polypay.Channel, c *polypay.Charge, authorize bool) []byte {
	t.Helper()
	req := polypay.ChannelRequest{Charge: c, NotifyURL: s.notifyURL, AuthorizeOnly: authorize}
	if s.sim.Request != nil {
		s.sim.Request(&req)
	}
	cred, err := conn.CreateCharge(context.Background(), req)
	if err != nil {
		t.Fatalf("CreateCharge %s: %v", c.Channel, err)
	}
	if len(cred) == 0 {
		t.Fatalf("CreateCharge %s: empty credential", c.Channel)
	}
	c.Credential = cred
	return cred
}

func (s *suite) query(t *testing.T, conn polypay.Channel, c *polypay.Charge) *polypay.Trade {
	t.Helper()
	tr, err := conn.QueryCharge(context.Background(), c)
	if err != nil {
		t.Fatalf("QueryCharge: %v", err)
	}
	return tr
}

// scene creates, pays and queries a charge on channel.
func (s *suite) scene(t *testing.T, channel string) *paid {
	t.Helper()
	p := &paid{conn: s.sim.Conn(t, channel), c: s.sim.Charge(channel, 1000)}
	if slices.Contains(s.sim.Unserved, channel) {
		req := polypay.ChannelRequest{Charge: p.c, NotifyURL: s.notifyURL}
		if _, err := p.conn.CreateCharge(context.Background(), req); polypay.ErrorCode(err) != polypay.ENotSupported {
			t.Fatalf("an unserved channel's create = %v, want ErrNotSupported", err)
		}
		return nil
	}
	var cred []byte
	steps(t, []step{
		{"Create", func(t *testing.T) { cred = s.create(t, p.conn, p.c, false) }},
		{"CreateAgain", func(t *testing.T) { s.create(t, p.conn, p.c, false) }},
		{"QueryUnpaid", func(t *testing.T) {
			switch tr := s.query(t, p.conn, p.c); tr.State {
			case polypay.TradeFailed, polypay.TradeClosed, polypay.TradeFinished:
				t.Fatalf("query before payment = %+v, want pending, not found (or paid by the create)", tr)
			}
		}},
		{"Pay", func(t *testing.T) { s.sim.Pay(t, p.c, cred, true) }},
		{"Notification", func(t *testing.T) {
			if slices.Contains(s.sim.Unnotified, channel) {
				t.Skip("the channel does not notify this channel's payments")
			}
			p.payment, p.n = s.paymentNotice(t, p.c)
		}},
		{"Query", func(t *testing.T) {
			tr := s.query(t, p.conn, p.c)
			if tr.State != polypay.TradePaid || tr.Amount != p.c.Amount || tr.OutTradeNo != p.c.ID || tr.TransactionNo == "" ||
				(p.n != nil && tr.TransactionNo != p.n.Trade.TransactionNo) {
				t.Fatalf("query after payment = %+v, want paid %d with the notification's transaction", tr, p.c.Amount)
			}
			p.c.Status, p.c.TimePaid, p.c.TransactionNo, p.c.AmountCaptured = polypay.ChargePaid, tr.PaidAt, tr.TransactionNo, tr.Amount
		}},
	})
	if t.Failed() {
		return nil
	}
	return p
}

// paymentNotice waits for the simulator's notification that c is paid.
func (s *suite) paymentNotice(t *testing.T, c *polypay.Charge) (Notice, *polypay.Notification) {
	t.Helper()
	d := s.rcv.wait(t, "payment notification of "+c.ID, func(d delivery) bool {
		n := d.n
		return n.Kind == polypay.NotifyTrade && n.Trade.OutTradeNo == c.ID && n.Trade.State == polypay.TradePaid &&
			(s.sim.Notice == nil || s.sim.Notice(d.Notice))
	})
	n := d.n
	if n.MerchantID != s.sim.MerchantID || n.Trade.Amount != c.Amount || n.Trade.TransactionNo == "" {
		t.Fatalf("payment notification = %+v, want merchant %s, amount %d and a transaction", n, s.sim.MerchantID, c.Amount)
	}
	return d.Notice, n
}

func (s *suite) refund(t *testing.T) *paid {
	p := s.scene(t, s.primary)
	if p == nil {
		t.FailNow()
	}
	p.r = &polypay.Refund{ID: polypay.NewID("re_"), OrderNo: polypay.NewID("re_")[3:], ChargeID: p.c.ID, Amount: 300,
		Currency: p.c.Currency, Created: time.Now().Unix(), Description: "conformance"}
	for range 2 { // asking twice is safe
		res, err := p.conn.Refund(context.Background(), p.c, p.r, s.notifyURL)
		if err != nil {
			t.Fatalf("Refund: %v", err)
		}
		if res.Status == polypay.RefundFailed || (res.Amount != 0 && res.Amount != p.r.Amount) {
			t.Fatalf("Refund = %+v, want %d pending or succeeded", res, p.r.Amount)
		}
	}
	return p
}

func (s *suite) refundQuery(t *testing.T, p *paid) {
	var res *polypay.RefundResult
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if res, err = p.conn.QueryRefund(context.Background(), p.c, p.r); err != nil {
			t.Fatalf("QueryRefund: %v", err)
		}
		if res.Status != polypay.RefundPending || time.Now().After(deadline) {
			break
		}
	}
	if res.Status != polypay.RefundSucceeded || (res.Amount != 0 && res.Amount != p.r.Amount) {
		t.Fatalf("QueryRefund = %+v, want %d succeeded", res, p.r.Amount)
	}
}

func (s *suite) refundNotification(t *testing.T, p *paid) {
	d := s.rcv.wait(t, "refund notification of "+p.r.OrderNo, func(d delivery) bool {
		return d.n.Kind == polypay.NotifyRefund && d.n.RefundNo == p.r.OrderNo
	})
	n := d.n
	if n.Trade.OutTradeNo != p.c.ID || n.MerchantID != s.sim.MerchantID || n.RefundStatus == polypay.RefundFailed ||
		(n.RefundAmount != 0 && n.RefundAmount != p.r.Amount) {
		t.Fatalf("refund notification = %+v, want charge %s refunded %d", n, p.c.ID, p.r.Amount)
	}
	p.refund = d.Notice
}

func (s *suite) statement(t *testing.T, p *paid) {
	st, ok := p.conn.(polypay.Statementer)
	if s.sim.StatementDay == nil {
		switch {
		case ok && s.sim.NoStatements != "":
			_, err := st.Statement(context.Background(), time.Now().Format("2006-01-02"))
			if polypay.ErrorCode(err) != polypay.ENotSupported {
				t.Fatalf("Statement with no statements in this mode (%s) = %v, want ErrNotSupported", s.sim.NoStatements, err)
			}
			t.Skip(s.sim.NoStatements)
		case ok:
			t.Fatal("the connector is a polypay.Statementer; the harness has no StatementDay")
		}
		t.Skip("the family has no statements")
	}
	if !ok {
		t.Fatal("the harness has a StatementDay; the connector is no polypay.Statementer")
	}
	lines, err := st.Statement(context.Background(), s.sim.StatementDay(t))
	if err != nil {
		t.Fatalf("Statement: %v", err)
	}
	var payments, refunds int
	for _, l := range lines {
		switch {
		case l.Kind == polypay.StatementPayment && l.OutTradeNo == p.c.ID:
			payments++
			if l.Amount != p.c.Amount || l.TransactionNo == "" {
				t.Errorf("payment line = %+v, want %d", l, p.c.Amount)
			}
		case l.Kind == polypay.StatementRefund && l.RefundNo == p.r.OrderNo:
			refunds++
			if l.Amount != p.r.Amount {
				t.Errorf("refund line = %+v, want %d", l, p.r.Amount)
			}
		}
	}
	if payments != 1 || refunds != 1 {
		t.Fatalf("statement has %d payment and %d refund lines of the charge, want 1 and 1: %+v", payments, refunds, lines)
	}
}

// closeCases: closing an unpaid trade, one never created, a paid one;
// querying one never created.
func (s *suite) closeCases(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		c := s.sim.Charge(s.primary, 1000)
		s.create(t, s.conn, c, false)
		if err := s.conn.CloseCharge(ctx, c); err != nil {
			skipUnsupported(t, err)
			t.Fatalf("CloseCharge: %v", err)
		}
		if tr := s.query(t, s.conn, c); tr.State != polypay.TradeClosed && tr.State != polypay.TradeNotFound {
			t.Fatalf("query after close = %+v, want closed", tr)
		}
	})
	t.Run("OKNeverCreated", func(t *testing.T) {
		if err := s.conn.CloseCharge(ctx, s.sim.Charge(s.primary, 1000)); err != nil {
			skipUnsupported(t, err)
			t.Fatalf("CloseCharge of a trade never created: %v", err)
		}
	})
	t.Run("QueryNeverCreated", func(t *testing.T) {
		if tr := s.query(t, s.conn, s.sim.Charge(s.primary, 1000)); tr.State != polypay.TradeNotFound {
			t.Fatalf("query of a trade never created = %+v, want not found", tr)
		}
	})
	t.Run("ErrPaid", func(t *testing.T) {
		p := s.scene(t, s.primary)
		if p == nil {
			t.FailNow()
		}
		if err := p.conn.CloseCharge(ctx, p.c); polypay.ErrorCode(err) != polypay.EChannel && polypay.ErrorCode(err) != polypay.ENotSupported {
			t.Fatalf("CloseCharge of a paid trade = %v, want an EChannel error", err)
		}
		if tr := s.query(t, p.conn, p.c); tr.State != polypay.TradePaid {
			t.Fatalf("query after closing a paid trade = %+v, want paid", tr)
		}
	})
}

// forgedRequest: a charge, close and refund signed with a key that is not
// the merchant's are refused, and the refused create left no trade.
func (s *suite) forgedRequest(t *testing.T) {
	if s.sim.Forger == nil {
		t.Fatal("the harness has no Forger: every family shows its simulator checks who signs")
	}
	ctx := context.Background()
	forger := s.sim.Forger(t)
	c := s.sim.Charge(s.primary, 1000)
	req := polypay.ChannelRequest{Charge: c, NotifyURL: s.notifyURL}
	if s.sim.Request != nil {
		s.sim.Request(&req)
	}
	if cred, err := forger.CreateCharge(ctx, req); err == nil {
		t.Fatalf("the simulator took a charge signed with another key: %s", cred)
	}
	if tr := s.query(t, s.conn, c); tr.State != polypay.TradeNotFound {
		t.Fatalf("query after a refused forged create = %+v, want not found", tr)
	}
	p := s.scene(t, s.primary)
	if p == nil {
		t.FailNow()
	}
	r := &polypay.Refund{ID: polypay.NewID("re_"), OrderNo: polypay.NewID("re_")[3:], ChargeID: p.c.ID, Amount: p.c.Amount,
		Currency: p.c.Currency, Created: time.Now().Unix()}
	if res, err := forger.Refund(ctx, p.c, r, s.notifyURL); err == nil && res.Status != polypay.RefundFailed {
		t.Fatalf("the simulator took a refund signed with another key: %+v", res)
	}
	if res, err := s.conn.QueryRefund(ctx, p.c, r); err == nil && res.Status == polypay.RefundSucceeded {
		t.Fatalf("the forged refund is at the channel: %+v", res)
	}
	if tr := s.query(t, s.conn, p.c); tr.State != polypay.TradePaid {
		t.Fatalf("query after a refused forged refund = %+v, want paid", tr)
	}
}

// decline: the customer declines; nothing is paid, and the charge closes.
func (s *suite) decline(t *testing.T) {
	c := s.sim.Charge(s.primary, 1000)
	cred := s.create(t, s.conn, c, false)
	s.sim.Pay(t, c, cred, false)
	if tr := s.query(t, s.conn, c); tr.State == polypay.TradePaid || tr.State == polypay.TradeAuthorized {
		t.Fatalf("query after a decline = %+v, want unpaid", tr)
	}
	for _, d := range s.rcv.all() {
		if d.n != nil && d.n.Trade.OutTradeNo == c.ID && d.n.Trade.State == polypay.TradePaid {
			t.Fatalf("a declined charge was notified paid: %+v", d.n)
		}
	}
	if err := s.conn.CloseCharge(context.Background(), c); err != nil {
		skipUnsupported(t, err)
		t.Fatalf("CloseCharge after a decline: %v", err)
	}
	switch tr := s.query(t, s.conn, c); tr.State {
	case polypay.TradeClosed, polypay.TradeFailed, polypay.TradeNotFound:
	default:
		t.Fatalf("query after a decline and close = %+v, want closed", tr)
	}
}

// skipUnsupported skips the rest of a test whose operation the channel
// lacks, if err is the typed error saying so.
func skipUnsupported(t *testing.T, err error) {
	t.Helper()
	var pe *polypay.Error
	if errors.As(err, &pe) && pe.Code == polypay.ENotSupported {
		t.Skipf("the channel lacks the operation: %v", err)
	}
}

// preAuth holds, captures and voids on each channel the harness lists.
func (s *suite) preAuth(t *testing.T) {
	if len(s.sim.PreAuth) == 0 {
		if _, ok := s.conn.(polypay.Authorizer); ok {
			t.Fatal("the connector is a polypay.Authorizer; the harness lists no pre-authorization channel")
		}
		t.Skip("the family has no pre-authorization")
	}
	ctx := polypay.WithNotifyURL(context.Background(), s.notifyURL)
	for _, ch := range s.sim.PreAuth {
		t.Run(ch, func(t *testing.T) {
			conn := s.sim.Conn(t, ch)
			a, ok := conn.(polypay.Authorizer)
			if !ok {
				t.Fatalf("the %s connector is no polypay.Authorizer", ch)
			}
			hold := func(t *testing.T) *polypay.Charge {
				c := s.sim.Charge(ch, 1000)
				c.AuthOnly = true
				s.sim.Pay(t, c, s.create(t, conn, c, true), true)
				s.rcv.wait(t, "authorization notification of "+c.ID, func(d delivery) bool {
					return d.n.Trade.OutTradeNo == c.ID && d.n.Trade.State == polypay.TradeAuthorized
				})
				if tr := s.query(t, conn, c); tr.State != polypay.TradeAuthorized || tr.AmountAuthorized != c.Amount {
					t.Fatalf("query of a hold = %+v, want authorized %d", tr, c.Amount)
				}
				return c
			}
			t.Run("Capture", func(t *testing.T) {
				c := hold(t)
				tr, err := a.Capture(ctx, c, 600)
				if err != nil {
					t.Fatalf("Capture: %v", err)
				}
				if tr.State != polypay.TradePaid && tr.State != polypay.TradePending {
					t.Fatalf("Capture = %+v, want paid", tr)
				}
				if tr := s.query(t, conn, c); tr.State != polypay.TradePaid || tr.Amount != 600 {
					t.Fatalf("query after capturing 600 = %+v, want paid 600", tr)
				}
			})
			t.Run("Void", func(t *testing.T) {
				c := hold(t)
				if err := a.Void(ctx, c); err != nil {
					t.Fatalf("Void: %v", err)
				}
				if tr := s.query(t, conn, c); tr.State != polypay.TradeClosed {
					t.Fatalf("query after void = %+v, want closed", tr)
				}
			})
		})
	}
}

// faultCases: the channel's API fails, or does the work and its answer is
// lost; asking again is safe and moves no money twice.
func (s *suite) faultCases(t *testing.T) {
	ctx := context.Background()
	t.Run("ErrQueryUnavailable", func(t *testing.T) {
		c := s.sim.Charge(s.primary, 1000)
		s.create(t, s.conn, c, false)
		s.faults.Set(simfault.Config{Fail5xx: 1})
		_, err := s.conn.QueryCharge(ctx, c)
		s.faults.Set(simfault.Config{})
		if err == nil {
			t.Fatal("QueryCharge with the channel down succeeded")
		}
	})
	t.Run("RefundAnswerLost", func(t *testing.T) {
		p := s.scene(t, s.primary)
		if p == nil {
			t.FailNow()
		}
		r := &polypay.Refund{ID: polypay.NewID("re_"), OrderNo: polypay.NewID("re_")[3:], ChargeID: p.c.ID, Amount: 400,
			Currency: p.c.Currency, Created: time.Now().Unix()}
		s.faults.Set(simfault.Config{Fail5xxAfter: 1})
		_, lost := p.conn.Refund(ctx, p.c, r, s.notifyURL)
		s.faults.Set(simfault.Config{})
		if lost == nil {
			t.Log("the connector got over the lost answer by itself")
		}
		res, err := p.conn.Refund(ctx, p.c, r, s.notifyURL)
		if err != nil || res.Status == polypay.RefundFailed {
			t.Fatalf("Refund asked again = %+v, %v; want it taken", res, err)
		}
		// A second refund of the rest is refused if the first went
		// through twice.
		rest := &polypay.Refund{ID: polypay.NewID("re_"), OrderNo: polypay.NewID("re_")[3:], ChargeID: p.c.ID, Amount: p.c.Amount - r.Amount,
			Currency: p.c.Currency, Created: time.Now().Unix()}
		if res, err := p.conn.Refund(ctx, p.c, rest, s.notifyURL); err != nil || res.Status == polypay.RefundFailed {
			t.Fatalf("refund of the rest = %+v, %v: the lost refund was made twice", res, err)
		}
	})
	t.Run("ErrRefundOverAmount", func(t *testing.T) {
		p := s.scene(t, s.primary)
		if p == nil {
			t.FailNow()
		}
		r := &polypay.Refund{ID: polypay.NewID("re_"), OrderNo: polypay.NewID("re_")[3:], ChargeID: p.c.ID, Amount: p.c.Amount + 1,
			Currency: p.c.Currency, Created: time.Now().Unix()}
		res, err := p.conn.Refund(ctx, p.c, r, s.notifyURL)
		if err == nil && res.Status != polypay.RefundFailed {
			t.Fatalf("refund over the charge = %+v, want refused", res)
		}
	})
	t.Run("ErrMalformedNotification", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/notify/"+s.fam.Name+"/app_conformance/test", bytes.NewReader([]byte("{not a notification")))
		_, err := s.conn.ParseNotification(ctx, polypay.NewNotifyRequest(req, []byte("{not a notification")))
		if err == nil {
			t.Fatal("ParseNotification took garbage")
		}
	})
}

// notifyCases are the notifications through core, made from the
// simulator's own payment and refund notifications of p.
func (s *suite) notifyCases(t *testing.T, p *paid) []NotifyCase {
	c := p.c
	pending := polypay.Charge{ID: c.ID, OrderNo: c.OrderNo, Channel: c.Channel, Amount: c.Amount, Currency: c.Currency, Credential: c.Credential}
	paidCharge := pending
	paidCharge.Status, paidCharge.TimePaid, paidCharge.TransactionNo, paidCharge.AmountCaptured = polypay.ChargePaid, 1, c.TransactionNo, c.Amount
	rf := &polypay.Refund{OrderNo: p.r.OrderNo, Amount: p.r.Amount}
	currency := "usd"
	if c.Currency == "usd" {
		currency = "jpy"
	}
	as := func(n Notice, ch Change, sg Signing) func(*testing.T) *http.Request {
		return func(t *testing.T) *http.Request { return s.sim.Resign(t, n, ch, sg).request() }
	}
	pay, refund := p.payment.sender(), p.refund.sender()
	return []NotifyCase{
		{Name: "OK", Charge: pending, Request: pay,
			Outcome: polypay.OutcomeApplied, Acked: true, Status: polypay.ChargePaid, Events: 1},
		{Name: "OKDuplicated", Charge: pending, Earlier: []func(*testing.T) *http.Request{pay}, Request: pay,
			Outcome: polypay.OutcomeDuplicate, Acked: true, Status: polypay.ChargePaid, Events: 1},
		{Name: "OKResigned", Charge: pending, Request: as(p.payment, Change{}, SignGenuine),
			Outcome: polypay.OutcomeApplied, Acked: true, Status: polypay.ChargePaid, Events: 1},
		{Name: "ErrForged", Charge: pending, Request: as(p.payment, Change{}, SignForged),
			Outcome: polypay.OutcomeRejectedSignature, Status: polypay.ChargePending},
		{Name: "ErrTampered", Charge: pending, Request: as(p.payment, Change{Amount: 1}, SignKept),
			Outcome: polypay.OutcomeRejectedSignature, Status: polypay.ChargePending},
		// The payment notification, late, after the refund: nothing changes.
		{Name: "OKReplayedAfterRefund", Charge: paidCharge, Refund: rf, Earlier: []func(*testing.T) *http.Request{refund}, Request: pay,
			Outcome: polypay.OutcomeDuplicate, Acked: true, Status: polypay.ChargePaid, RefundStatus: polypay.RefundSucceeded, Events: 1},
		{Name: "ErrForeignApp", Charge: pending, Request: as(p.payment, Change{Merchant: "1900009999"}, SignGenuine),
			Outcome: polypay.OutcomeRejectedForeign, Status: polypay.ChargePending},
		{Name: "ErrAmountMismatch", Charge: pending, Request: as(p.payment, Change{Amount: c.Amount - 1}, SignGenuine),
			Outcome: polypay.OutcomeRejectedAmount, Status: polypay.ChargePending},
		{Name: "ErrCurrencyMismatch", Charge: pending, Request: as(p.payment, Change{Currency: currency}, SignGenuine),
			Outcome: polypay.OutcomeRejectedMismatch, Status: polypay.ChargePending},
		{Name: "OKRefund", Charge: paidCharge, Refund: rf, Request: refund,
			Outcome: polypay.OutcomeApplied, Acked: true, Status: polypay.ChargePaid, RefundStatus: polypay.RefundSucceeded, Events: 1},
		{Name: "OKRefundDuplicated", Charge: paidCharge, Refund: rf, Earlier: []func(*testing.T) *http.Request{refund}, Request: refund,
			Outcome: polypay.OutcomeDuplicate, Acked: true, Status: polypay.ChargePaid, RefundStatus: polypay.RefundSucceeded, Events: 1},
		{Name: "ErrRefundForged", Charge: paidCharge, Refund: rf, Request: as(p.refund, Change{}, SignForged),
			Outcome: polypay.OutcomeRejectedSignature, Status: polypay.ChargePaid, RefundStatus: polypay.RefundPending},
		{Name: "ErrRefundForeignApp", Charge: paidCharge, Refund: rf, Request: as(p.refund, Change{Merchant: "1900009999"}, SignGenuine),
			Outcome: polypay.OutcomeRejectedForeign, Status: polypay.ChargePaid, RefundStatus: polypay.RefundPending},
	}
}

// request is the notification as the channel POSTs it.
func (n Notice) request() *http.Request {
	r := httptest.NewRequest("POST", n.Path, bytes.NewReader(n.Body))
	for k, v := range n.Header {
		r.Header[k] = append([]string(nil), v...)
	}
	return r
}

func (n Notice) sender() func(*testing.T) *http.Request {
	return func(*testing.T) *http.Request { return n.request() }
}

// delivery is one notification the suite's endpoint took.
type delivery struct {
	Notice
	n   *polypay.Notification
	err error
}

// receiver is the merchant's notify endpoint: it parses every
// notification with the connector and acknowledges those that verify.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []delivery
	conn polypay.Channel
}

func newReceiver(t *testing.T, conn polypay.Channel) *receiver {
	r := &receiver{conn: conn}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		d := delivery{Notice: Notice{URL: r.srv.URL + req.URL.Path, Path: req.URL.Path, Header: req.Header.Clone(), Body: body}}
		d.n, d.err = conn.ParseNotification(req.Context(), polypay.NewNotifyRequest(req, body))
		r.mu.Lock()
		r.got = append(r.got, d)
		r.mu.Unlock()
		conn.Ack(d.err == nil).WriteResponse(w)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// wait returns the first parsed notification ok accepts.
func (r *receiver) wait(t *testing.T, what string, ok func(delivery) bool) delivery {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		for _, d := range r.all() {
			if d.err == nil && ok(d) {
				return d
			}
		}
	}
	var errs []error
	for _, d := range r.all() {
		errs = append(errs, d.err)
	}
	t.Fatalf("no %s arrived; %d notifications, errors %v", what, len(errs), errors.Join(errs...))
	return delivery{}
}
