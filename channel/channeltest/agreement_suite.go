package channeltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/sim/simfault"
)

// The agreement cases: an agreement queried before it is signed, signed
// (its notification, genuine, duplicated, re-signed, forged, tampered; the
// query), debited (paid, queried, refunded), a debit the channel refuses,
// one whose answer is lost, the agreement ended by the customer at the
// channel (notified, queried, debits refused) and by the merchant
// (queried, ended again); the family's channels that do not sign refuse to.

// foreignMerchant is another channel-side merchant a tampered notification
// names.
const foreignMerchant = "1900009999"

type agreementSuite struct {
	*suite
	h    *AgreementHarness
	conn polypay.Channel // Channel's connector: it signs and debits
	ag   polypay.Agreer
}

// signing is an agreement the suite signs, with what it learned of it.
type signing struct {
	a      *polypay.Agreement
	cred   []byte // SignAgreement's credential
	notice Notice // the signed notification
	n      *polypay.Notification
}

// agreements runs the agreement cases when the harness has them.
func (s *suite) agreements(t *testing.T) {
	h := s.sim.Agreements
	if s.sim.NoAgreements != "" {
		ag, ok := s.conn.(polypay.Agreer)
		if !ok {
			t.Fatal("NoAgreements is set but the connector is no polypay.Agreer")
		}
		a := &polypay.Agreement{ID: polypay.NewID("agr_"), Channel: s.primary, ContractNo: polypay.NewID("C")}
		if _, err := ag.SignAgreement(context.Background(), polypay.AgreementRequest{Agreement: a}); polypay.ErrorCode(err) != polypay.ENotSupported {
			t.Fatalf("SignAgreement with NoAgreements (%s) = %v, want ErrNotSupported", s.sim.NoAgreements, err)
		}
		return
	}
	if h == nil {
		if _, ok := s.conn.(polypay.Agreer); ok {
			t.Fatal("the connector is a polypay.Agreer; the harness has no Agreements")
		}
		t.Skip("the family signs no debit agreements")
	}
	if h.Channel == "" || h.Sign == nil || h.UserTerminate == nil || h.DebitFails == nil {
		t.Fatal("the agreement harness needs Channel, Sign, UserTerminate and DebitFails")
	}
	conn := s.sim.Conn(t, h.Channel)
	ag, ok := conn.(polypay.Agreer)
	if !ok {
		t.Fatalf("the %s connector is no polypay.Agreer", h.Channel)
	}
	as := &agreementSuite{suite: s, h: h, conn: conn, ag: ag}
	t.Run("ErrChannelCannotSign", as.otherChannels)
	var g *signing
	if !steps(t, []step{
		{"QueryUnsigned", func(t *testing.T) { g = as.start(t) }},
		{"Sign", func(t *testing.T) { as.sign(t, g) }},
		{"Notification", func(t *testing.T) { as.signNotification(t, g) }},
		{"Query", func(t *testing.T) { as.querySigned(t, g) }},
	}) {
		return
	}
	t.Run("NotificationDuplicated", func(t *testing.T) { as.duplicated(t, g) })
	t.Run("NotificationResigned", func(t *testing.T) { as.resigned(t, g) })
	t.Run("ErrNotificationForged", func(t *testing.T) { as.forged(t, g) })
	t.Run("ErrNotificationTampered", func(t *testing.T) { as.tampered(t, g) })
	t.Run("Debit", func(t *testing.T) { as.debit(t, g) })
	t.Run("ErrDebitFails", func(t *testing.T) { as.debitFails(t, g) })
	t.Run("DebitAnswerLost", func(t *testing.T) { as.debitAnswerLost(t, g) })
	steps(t, []step{
		{"UserTerminated", func(t *testing.T) { as.userTerminated(t, g) }},
		{"ErrDebitAfterUserTerminated", func(t *testing.T) { as.debitRefused(t, g, "") }},
	})
	t.Run("MerchantTerminated", as.merchantTerminated)
}

// newAgreement is a new agreement on channel as core keeps it unsigned.
func (as *agreementSuite) newAgreement(channel string) *polypay.Agreement {
	no := "C" + randomDigits(20)
	a := &polypay.Agreement{}
	if as.h.NewAgreement != nil {
		a = as.h.NewAgreement(no)
	}
	if a.ID == "" {
		a.ID = polypay.NewID("agr_")
	}
	if a.ContractNo == "" {
		a.ContractNo = no
	}
	if a.Status == "" {
		a.Status = polypay.AgreementCreated
	}
	if a.Created == 0 {
		a.Created = time.Now().Unix()
	}
	if len(a.Metadata) == 0 {
		a.Metadata = []byte("{}")
	}
	a.AppID, a.Livemode, a.Channel = "app_conformance", false, channel
	return a
}

// otherChannels: the family's channels that do not sign refuse to, as a
// parameter error naming the channel.
func (as *agreementSuite) otherChannels(t *testing.T) {
	none := true
	for _, ch := range as.fam.ChannelNames() {
		if ch == as.h.Channel || slices.Contains(as.h.AlsoSign, ch) {
			continue
		}
		none = false
		t.Run(ch, func(t *testing.T) {
			ag, ok := as.sim.Conn(t, ch).(polypay.Agreer)
			if !ok {
				t.Skip("the connector is no polypay.Agreer: core refuses the channel itself")
			}
			req := polypay.AgreementRequest{Agreement: as.newAgreement(ch), NotifyURL: as.notifyURL}
			cred, err := ag.SignAgreement(context.Background(), req)
			var pe *polypay.Error
			if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || pe.Param != "channel" {
				t.Fatalf("SignAgreement on %s = %s, %v; want an EInvalid error naming \"channel\"", ch, cred, err)
			}
		})
	}
	if none {
		t.Skip("every channel of the family signs agreements")
	}
}

// start makes an agreement and its credential (asking twice, which is
// safe), and queries it unsigned: pending or not found.
func (as *agreementSuite) start(t *testing.T) *signing {
	g := &signing{a: as.newAgreement(as.h.Channel)}
	for i := range 2 {
		cred, err := as.ag.SignAgreement(context.Background(), polypay.AgreementRequest{Agreement: g.a, NotifyURL: as.notifyURL, Card: as.h.Card})
		if err != nil {
			t.Fatalf("SignAgreement (call %d): %v", i+1, err)
		}
		if len(cred) == 0 || !json.Valid(cred) {
			t.Fatalf("SignAgreement (call %d) credential %q, want JSON", i+1, cred)
		}
		g.cred = cred
	}
	g.a.Credential = g.cred
	info := as.queryAgreement(t, g.a)
	if info.State != polypay.AgreementPending && info.State != polypay.AgreementNotFound {
		t.Fatalf("QueryAgreement before signing = %+v, want pending or not found", info)
	}
	return g
}

func (as *agreementSuite) queryAgreement(t *testing.T, a *polypay.Agreement) *polypay.AgreementInfo {
	t.Helper()
	info, err := as.ag.QueryAgreement(context.Background(), a)
	if err != nil {
		t.Fatalf("QueryAgreement: %v", err)
	}
	return info
}

// sign has the customer sign; the channel's number becomes ContractID.
func (as *agreementSuite) sign(t *testing.T, g *signing) {
	id := as.h.Sign(t, g.a, g.cred)
	if id == "" {
		t.Fatal("the harness's Sign returned no contract id")
	}
	g.a.ContractID = id
}

// signNotification: the channel's notification reads signed, naming both
// numbers and the merchant.
func (as *agreementSuite) signNotification(t *testing.T, g *signing) {
	d := as.agreementNotice(t, g.a, polypay.AgreementSigned)
	g.notice, g.n = d.Notice, d.n
}

// agreementNotice waits for the notification that a is in state, and
// checks what it names.
func (as *agreementSuite) agreementNotice(t *testing.T, a *polypay.Agreement, state polypay.AgreementState) delivery {
	t.Helper()
	d := as.rcv.wait(t, string(state)+" notification of agreement "+a.ContractNo, func(d delivery) bool {
		return d.n.Kind == polypay.NotifyAgreement && d.n.Agreement != nil &&
			d.n.Agreement.ContractNo == a.ContractNo && d.n.Agreement.State == state
	})
	if n := d.n; n.Agreement.ContractID != a.ContractID || n.MerchantID != as.sim.MerchantID {
		t.Fatalf("%s notification = %s, want contract id %q and merchant %s", state, noticeString(n), a.ContractID, as.sim.MerchantID)
	}
	return d
}

// querySigned: the channel says signed, found by its number and by the
// merchant's alone (polypay's refresh of an agreement whose notification
// was lost knows only that); polypay then has it succeeded.
func (as *agreementSuite) querySigned(t *testing.T, g *signing) {
	unknown := *g.a
	unknown.ContractID = ""
	for _, a := range []*polypay.Agreement{g.a, &unknown} {
		info := as.queryAgreement(t, a)
		if info.State != polypay.AgreementSigned || info.ContractID != g.a.ContractID ||
			(info.ContractNo != "" && info.ContractNo != g.a.ContractNo) {
			t.Fatalf("QueryAgreement after signing, asked with contract id %q = %+v, want signed %s (%s)",
				a.ContractID, info, g.a.ContractID, g.a.ContractNo)
		}
		g.a.TimeSucceeded = info.At
	}
	g.a.Status = polypay.AgreementSucceeded
}

// parse reads a notification with the connector, as core's handler does.
func (as *agreementSuite) parse(n Notice) (*polypay.Notification, error) {
	return as.rcv.conn.ParseNotification(context.Background(), polypay.NewNotifyRequest(n.request(), n.Body))
}

func (as *agreementSuite) resign(t *testing.T, n Notice, ch Change, sg Signing) Notice {
	t.Helper()
	if as.h.Resign != nil {
		return as.h.Resign(t, n, ch, sg)
	}
	return as.sim.Resign(t, n, ch, sg)
}

// sameAgreementNotice reports whether n reads as the first parse did.
func sameAgreementNotice(n, first *polypay.Notification) bool {
	return n.Kind == first.Kind && n.ID == first.ID && n.MerchantID == first.MerchantID &&
		n.Agreement != nil && *n.Agreement == *first.Agreement
}

// noticeString shows a parsed notification with its agreement.
func noticeString(n *polypay.Notification) string {
	if n == nil || n.Agreement == nil {
		return fmt.Sprintf("%+v", n)
	}
	return fmt.Sprintf("{Kind:%d ID:%s MerchantID:%s Agreement:%+v}", n.Kind, n.ID, n.MerchantID, *n.Agreement)
}

// duplicated: the same notification delivered again reads the same.
func (as *agreementSuite) duplicated(t *testing.T, g *signing) {
	for i := range 2 {
		n, err := as.parse(g.notice)
		if err != nil || !sameAgreementNotice(n, g.n) {
			t.Fatalf("the notification parsed again (%d) = %s, %v; first %s", i+1, noticeString(n), err, noticeString(g.n))
		}
	}
}

// resigned: the notification signed again with the channel's key reads
// the same, so the forged and tampered cases test the signature alone.
func (as *agreementSuite) resigned(t *testing.T, g *signing) {
	n, err := as.parse(as.resign(t, g.notice, Change{}, SignGenuine))
	if err != nil || !sameAgreementNotice(n, g.n) {
		t.Fatalf("the notification re-signed genuinely = %s, %v; want it read as %s", noticeString(n), err, noticeString(g.n))
	}
}

func (as *agreementSuite) forged(t *testing.T, g *signing) {
	n, err := as.parse(as.resign(t, g.notice, Change{}, SignForged))
	if !errors.Is(err, polypay.ErrBadSignature) {
		t.Fatalf("a forged agreement notification parsed as %s, %v; want polypay.ErrBadSignature", noticeString(n), err)
	}
}

// tampered: another merchant written into the notification, its signature
// kept, is refused; signed genuinely, the same change reads through (so
// the change was made).
func (as *agreementSuite) tampered(t *testing.T, g *signing) {
	change := Change{Merchant: foreignMerchant}
	n, err := as.parse(as.resign(t, g.notice, change, SignGenuine))
	if errors.Is(err, polypay.ErrBadSignature) || (err == nil && n.MerchantID != foreignMerchant) {
		t.Fatalf("the notification changed and signed genuinely = %s, %v; want it to name merchant %s", noticeString(n), err, foreignMerchant)
	}
	n, err = as.parse(as.resign(t, g.notice, change, SignKept))
	if !errors.Is(err, polypay.ErrBadSignature) {
		t.Fatalf("a tampered agreement notification parsed as %s, %v; want polypay.ErrBadSignature", noticeString(n), err)
	}
}

// debitRequest is a charge on the agreement's channel debiting a, as core
// makes it: extra.agreement names it, the request carries it.
func (as *agreementSuite) debitRequest(t *testing.T, a *polypay.Agreement, amount int64) polypay.ChannelRequest {
	t.Helper()
	c := as.sim.Charge(as.h.Channel, amount)
	extra := map[string]any{}
	if len(c.Extra) > 0 {
		if err := json.Unmarshal(c.Extra, &extra); err != nil {
			t.Fatalf("the harness's charge extra: %v", err)
		}
	}
	extra["agreement"] = a.ID
	var err error
	if c.Extra, err = json.Marshal(extra); err != nil {
		t.Fatal(err)
	}
	return polypay.ChannelRequest{Charge: c, NotifyURL: as.notifyURL, Agreement: a}
}

// debit: a debit pays at once without the customer, is queried and
// notified paid, and is refunded like any payment.
func (as *agreementSuite) debit(t *testing.T, g *signing) {
	req := as.debitRequest(t, g.a, 1000)
	c := req.Charge
	cred, err := as.conn.CreateCharge(context.Background(), req)
	if err != nil {
		t.Fatalf("CreateCharge debiting the agreement: %v", err)
	}
	c.Credential = cred
	tr := as.query(t, as.conn, c)
	if tr.State != polypay.TradePaid || tr.Amount != c.Amount || tr.OutTradeNo != c.ID || tr.TransactionNo == "" {
		t.Fatalf("query after the debit = %+v, want paid %d with a transaction", tr, c.Amount)
	}
	p := &paid{conn: as.conn, c: c}
	if !slices.Contains(as.sim.Unnotified, as.h.Channel) {
		if p.payment, p.n = as.paymentNotice(t, c); p.n.Trade.TransactionNo != tr.TransactionNo {
			t.Fatalf("debit notification names transaction %q, the query %q", p.n.Trade.TransactionNo, tr.TransactionNo)
		}
	}
	c.Status, c.TimePaid, c.TransactionNo, c.AmountCaptured = polypay.ChargePaid, tr.PaidAt, tr.TransactionNo, tr.Amount
	p.r = &polypay.Refund{ID: polypay.NewID("re_"), OrderNo: polypay.NewID("re_")[3:], ChargeID: c.ID, Amount: c.Amount,
		Currency: c.Currency, Created: time.Now().Unix(), Description: "conformance debit"}
	res, err := as.conn.Refund(context.Background(), c, p.r, as.notifyURL)
	if err != nil || res.Status == polypay.RefundFailed {
		t.Fatalf("Refund of the debit = %+v, %v; want it taken", res, err)
	}
	as.refundQuery(t, p)
}

// debitFails: a debit the channel refuses is an EChannel error, and no
// trade is paid.
func (as *agreementSuite) debitFails(t *testing.T, g *signing) {
	as.h.DebitFails(t, g.a, true)
	defer as.h.DebitFails(t, g.a, false)
	as.debitRefused(t, g, as.h.DebitFailCode)
}

// debitRefused: a debit of g is refused (EChannel, with code unless "")
// and the query shows nothing paid.
func (as *agreementSuite) debitRefused(t *testing.T, g *signing, code string) {
	t.Helper()
	req := as.debitRequest(t, g.a, 1000)
	cred, err := as.conn.CreateCharge(context.Background(), req)
	var pe *polypay.Error
	if !errors.As(err, &pe) || pe.Code != polypay.EChannel {
		t.Fatalf("CreateCharge debiting = %s, %v; want an EChannel refusal", cred, err)
	}
	if code != "" && pe.ChannelCode != code {
		t.Fatalf("the debit was refused with channel code %q, want %q (%v)", pe.ChannelCode, code, err)
	}
	switch tr := as.query(t, as.conn, req.Charge); tr.State {
	case polypay.TradePaid, polypay.TradeFinished, polypay.TradeAuthorized:
		t.Fatalf("query after a refused debit = %+v, want nothing paid", tr)
	}
}

// debitAnswerLost: the channel's API does the work and its answers are
// lost (the connector's follow-up query or reversal too). Whatever the
// connector makes of it, it must not contradict the channel: no success
// for a debit not paid, no refusal (EChannel, EInvalid: core records the
// charge failed) for one paid.
func (as *agreementSuite) debitAnswerLost(t *testing.T, g *signing) {
	req := as.debitRequest(t, g.a, 1000)
	as.faults.Set(simfault.Config{Fail5xxAfter: 1})
	_, err := as.conn.CreateCharge(context.Background(), req)
	as.faults.Set(simfault.Config{})
	tr := as.query(t, as.conn, req.Charge)
	isPaid := tr.State == polypay.TradePaid || tr.State == polypay.TradeFinished
	code := polypay.ErrorCode(err)
	switch {
	case err == nil && !isPaid:
		t.Fatalf("CreateCharge with its answer lost succeeded; the channel has %+v", tr)
	case isPaid && (code == polypay.EChannel || code == polypay.EInvalid):
		t.Fatalf("CreateCharge with its answer lost = %v, a refusal; the channel has it paid: %+v", err, tr)
	}
	t.Logf("the connector answered %v; the channel has %s", err, tr.State)
}

// userTerminated: the customer ends the agreement at the channel; it is
// notified and queried terminated.
func (as *agreementSuite) userTerminated(t *testing.T, g *signing) {
	as.h.UserTerminate(t, g.a)
	as.agreementNotice(t, g.a, polypay.AgreementTerminated)
	if info := as.queryAgreement(t, g.a); info.State != polypay.AgreementTerminated {
		t.Fatalf("QueryAgreement after the customer ended it = %+v, want terminated", info)
	}
	g.a.Status, g.a.CanceledBy, g.a.TimeCanceled = polypay.AgreementCanceled, "user", time.Now().Unix()
}

// merchantTerminated: the merchant ends a signed agreement; the channel
// says terminated, ending it again succeeds, and debits are refused.
func (as *agreementSuite) merchantTerminated(t *testing.T) {
	g := as.start(t)
	as.sign(t, g)
	as.querySigned(t, g)
	for i := range 2 {
		if err := as.ag.TerminateAgreement(context.Background(), g.a, as.notifyURL); err != nil {
			t.Fatalf("TerminateAgreement (call %d): %v", i+1, err)
		}
		if info := as.queryAgreement(t, g.a); info.State != polypay.AgreementTerminated {
			t.Fatalf("QueryAgreement after TerminateAgreement (call %d) = %+v, want terminated", i+1, info)
		}
		g.a.Status, g.a.CanceledBy, g.a.TimeCanceled = polypay.AgreementCanceled, "merchant", time.Now().Unix()
	}
	as.debitRefused(t, g, "")
}
