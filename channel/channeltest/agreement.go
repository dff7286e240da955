package channeltest

import (
	"testing"

	"github.com/polypay/polypay"
)

// AgreementHarness is what a family whose connector signs debit
// agreements (polypay.Agreer) gives the suite: Sim.Agreements. The
// agreement cases (agreement_suite.go) sign on Channel, read the
// channel's notifications on the suite's notify URL, debit (charges whose
// ChannelRequest.Agreement is the signed agreement), and end agreements
// both ways. Fields may be added (optional ones only).
type AgreementHarness struct {
	// Channel is the channel the suite signs and debits on; its
	// connector (Sim.Conn) must be a polypay.Agreer.
	Channel string
	// AlsoSign lists the family's other channels that sign agreements.
	// Every channel of the family neither Channel nor listed here must
	// refuse SignAgreement with an EInvalid error naming "channel" (or
	// have a connector that is no polypay.Agreer).
	AlsoSign []string
	// NewAgreement, if set, is a new agreement under contractNo as core
	// keeps it before signing, with the extra the channel needs; the
	// suite fills what it leaves empty (id, app, channel, status,
	// created). nil: the suite's own, without extra.
	NewAgreement func(contractNo string) *polypay.Agreement
	// Card, for a card channel, is the card the customer signs with
	// (polypay.AgreementRequest.Card); nil for wallets.
	Card *polypay.CardData
	// Sign has the simulator's customer sign a at the channel; cred is
	// SignAgreement's credential. It returns the channel's number of the
	// agreement (what becomes Agreement.ContractID); the channel then
	// notifies the signing to the request's notify URL.
	Sign func(t *testing.T, a *polypay.Agreement, cred []byte) (contractID string)
	// UserTerminate has the customer end the signed agreement a at the
	// channel (in its app); the channel notifies it to the notify URL
	// given at signing.
	UserTerminate func(t *testing.T, a *polypay.Agreement)
	// DebitFails makes the channel refuse the next debits of a (fail: the
	// customer is short of money) or take them again (!fail).
	DebitFails func(t *testing.T, a *polypay.Agreement, fail bool)
	// DebitFailCode is the channel's code of that refusal
	// (polypay.Error.ChannelCode); "" checks none.
	DebitFailCode string
	// Resign, if set, rewrites an agreement notification the simulator
	// delivered, as Sim.Resign does a payment's; nil: Sim.Resign takes
	// agreement notifications too. The suite changes only Change.Merchant.
	Resign func(t *testing.T, n Notice, change Change, signing Signing) Notice
}
