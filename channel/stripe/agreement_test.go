package stripe_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/stripe"
)

// TestCardAgreements saves test cards for off-session payments and debits
// them: what the setup asks of the cardholder, and what the issuer says to
// a payment without them.
func TestCardAgreements(t *testing.T) {
	for _, c := range []struct {
		name, number string
		challenge    bool   // the setup runs a 3-D Secure challenge
		passed       bool   // the cardholder passes it
		signErr      string // SignAgreement's channel code
		state        polypay.AgreementState
		debitErr     string // the debit's channel code; "" paid
	}{
		{name: "frictionless", number: "4242424242424242", state: polypay.AgreementSigned},
		{name: "setup challenged, then exempt", number: "4000002500003155", challenge: true, passed: true, state: polypay.AgreementSigned},
		{name: "always authenticate", number: "4000002760003184", challenge: true, passed: true, state: polypay.AgreementSigned,
			debitErr: "authentication_required"},
		{name: "challenge failed", number: "4000003800000446", challenge: true, state: polypay.AgreementPending},
		{name: "declined at setup", number: "4000000000000002", signErr: "generic_decline"},
		{name: "short of funds later", number: "4000000000009995", state: polypay.AgreementSigned, debitErr: "insufficient_funds"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			a := &polypay.Agreement{ID: polypay.NewID("agr_"), AppID: "app_1", Channel: "card", ContractNo: "C" + polypay.NewID("x")[2:12],
				Status: polypay.AgreementCreated, Extra: json.RawMessage(`{}`), Created: time.Now().Unix()}
			cred, err := e.card.SignAgreement(ctx, polypay.AgreementRequest{Agreement: a, NotifyURL: e.notify.srv.URL,
				Card: &polypay.CardData{Number: c.number, ExpMonth: 12, ExpYear: time.Now().Year() + 2}})
			var pe *polypay.Error
			if c.signErr != "" {
				if !errors.As(err, &pe) || pe.Code != polypay.EChannel || pe.ChannelCode != c.signErr {
					t.Fatalf("SignAgreement = %s, %v; want the channel's %s", cred, err, c.signErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var cr stripe.Credential
			json.Unmarshal(cred, &cr)
			if got := cr.Status == "requires_action"; got != c.challenge {
				t.Fatalf("setup credential %s: challenge %v, want %v", cred, got, c.challenge)
			}
			a.Credential = cred
			if c.challenge {
				e.challenge(cr, map[bool]string{true: "123456", false: "000000"}[c.passed])
			}
			info, err := e.card.QueryAgreement(ctx, a)
			if err != nil || info.State != c.state {
				t.Fatalf("QueryAgreement = %+v, %v; want %s", info, err, c.state)
			}
			if c.state != polypay.AgreementSigned {
				return
			}
			e.notify.waitFor(t, "setup_intent.succeeded", func(n *polypay.Notification) bool {
				return n.Kind == polypay.NotifyAgreement && n.Agreement.ContractID == cr.ID && n.Agreement.State == polypay.AgreementSigned
			})
			a.ContractID, a.Status = info.ContractID, polypay.AgreementSucceeded
			ch := newCharge(1990)
			_, err = e.card.CreateCharge(ctx, polypay.ChannelRequest{Charge: ch, Agreement: a})
			if c.debitErr != "" {
				if !errors.As(err, &pe) || pe.Code != polypay.EChannel || pe.ChannelCode != c.debitErr {
					t.Fatalf("debit = %v; want the channel's %s", err, c.debitErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr := e.query(ch); tr.State != polypay.TradePaid || tr.ThreeDS != nil {
				t.Fatalf("debit = %+v, want paid without 3-D Secure (merchant-initiated)", tr)
			}
		})
	}
}

// TestCardAgreementAnotherContract: a SetupIntent that names another
// contract (metadata is the account's to write) is not the agreement's.
func TestCardAgreementAnotherContract(t *testing.T) {
	e := newEnv(t, nil)
	a := &polypay.Agreement{ID: polypay.NewID("agr_"), Channel: "card", ContractNo: "CONTRACT1", Status: polypay.AgreementCreated, Extra: json.RawMessage(`{}`)}
	cred, err := e.card.SignAgreement(ctx, polypay.AgreementRequest{Agreement: a,
		Card: &polypay.CardData{Number: "4242424242424242", ExpMonth: 12, ExpYear: time.Now().Year() + 2}})
	if err != nil {
		t.Fatal(err)
	}
	other := *a
	other.ContractNo, other.Credential = "CONTRACT2", cred
	if info, err := e.card.QueryAgreement(ctx, &other); err == nil {
		t.Fatalf("QueryAgreement of another contract's setup = %+v", info)
	}
	if _, err := e.card.CreateCharge(ctx, polypay.ChannelRequest{Charge: newCharge(1000), Agreement: &other}); err == nil {
		t.Fatal("debited a card saved for another contract")
	}
}
