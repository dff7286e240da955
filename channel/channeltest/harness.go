package channeltest

import (
	"net/http"
	"testing"

	"github.com/polypay/polypay"
)

// Harness is what one channel family gives the conformance suite (Run):
// its descriptor's name and how to start its simulator.
type Harness struct {
	// Family is the family's descriptor (channel/<family>/descriptor.go):
	// its channels are the scenes the suite runs, its first channel the
	// one the other cases use. Where the families are registered
	// (package channel), it must be the one polypay.LookupFamily knows.
	Family *polypay.Family
	// Start runs the family's simulator with its API behind wrap (the
	// suite's fault injector: the simulator's http.Handler goes through
	// it) and returns the family's side of it. Start cleans up through t.
	Start func(t *testing.T, wrap func(http.Handler) http.Handler) *Sim
}

// Sim is a family's simulator as the suite drives it.
type Sim struct {
	// MerchantID is the channel-side merchant notifications name.
	MerchantID string
	// TradeID is the family's core.Channels.TradeID.
	TradeID func(*polypay.Charge) string
	// Conn is the family's connector for a channel, on the simulator.
	Conn func(t *testing.T, channel string) polypay.Channel
	// Forger is the primary channel's connector as someone without the
	// merchant's key would build it: the merchant's id, but a signing key
	// (or secret) the simulator does not hold for it. The simulator must
	// refuse everything it sends, as the channel would.
	Forger func(t *testing.T) polypay.Channel
	// Charge is a new charge of amount on channel, with what the channel
	// needs (its extra, a currency it takes). Each call gives a new id.
	Charge func(channel string, amount int64) *polypay.Charge
	// Request, if set, completes a charge's request (a card, a wallet
	// token) before CreateCharge.
	Request func(req *polypay.ChannelRequest)
	// Pay has the simulator's customer pay the created charge (ok) or
	// decline it; cred is CreateCharge's credential. A channel whose
	// create pays (payment codes, wallet tokens) has nothing to do.
	Pay func(t *testing.T, c *polypay.Charge, cred []byte, ok bool)
	// Resign rewrites a notification the simulator delivered: change
	// applied, then signed as signing says.
	Resign func(t *testing.T, n Notice, change Change, signing Signing) Notice
	// Notice, if set, picks which of a charge's payment notifications the
	// notification cases start from (PayPal's capture rather than its
	// approval); nil takes the first.
	Notice func(n Notice) bool
	// Unnotified lists the channels whose payments the channel does not
	// notify (WeChat Pay's payment code: the create's answer or a query
	// is the outcome); their scenes skip the notification.
	Unnotified []string
	// Unserved lists the channels the connector refuses in this mode (a
	// service provider's partner mode without payment codes): their scene
	// checks that CreateCharge answers polypay.ErrNotSupported.
	Unserved []string
	// NoAgreements says why a connector that is a polypay.Agreer signs no
	// agreements in this mode; the agreement cases then check that
	// SignAgreement answers polypay.ErrNotSupported.
	NoAgreements string
	// ProfitSharing, if set, is how the family splits payments at the
	// channel (profit_suite.go); nil: it does not, and its primary
	// connector must be no polypay.ProfitSharer.
	ProfitSharing *ProfitHarness
	// PreAuth lists the channels that take AuthorizeOnly; their
	// connector implements polypay.Authorizer.
	PreAuth []string
	// StatementDay, if set, returns the day (YYYY-MM-DD in the family's
	// statement zone) whose statement holds what was paid so far, moving
	// the simulator's clock past it first if its statements wait for the
	// day's end. nil: the family has no statements (polypay.Statementer).
	StatementDay func(t *testing.T) string
	// NoStatements says why a connector that is a polypay.Statementer has
	// no statements in this mode (a platform's sub-merchant: the platform
	// downloads them); the statement case then checks that Statement
	// answers polypay.ErrNotSupported.
	NoStatements string
	// Agreements, if set, are the family's debit agreements
	// (agreement.go); nil: the family signs none, and its primary
	// connector must be no polypay.Agreer.
	Agreements *AgreementHarness
}

// Notice is one notification as the simulator POSTed it.
type Notice struct {
	URL    string // where it was POSTed (the notify URL)
	Path   string
	Header http.Header
	Body   []byte
}

// Change is what a test changes in a notification before it is signed
// again; zero fields keep what the simulator sent.
type Change struct {
	// Amount is the amount the notification states in minor units: the
	// charge's for a payment, the refund's for a refund.
	Amount int64
	// Currency is an ISO 4217 code, lower case; the family writes it as
	// its channel does.
	Currency string
	// Merchant is another channel-side merchant or app to name.
	Merchant string
}

// Signing says how a rewritten notification is signed.
type Signing int

const (
	// SignGenuine signs as the simulator does, with its key.
	SignGenuine Signing = iota
	// SignForged signs the way the channel does, with a key that is not
	// the simulator's.
	SignForged
	// SignKept keeps the signature the simulator sent (a notification
	// tampered with on the way).
	SignKept
)

func (s Signing) String() string {
	return [...]string{"genuine", "forged", "kept"}[s]
}
