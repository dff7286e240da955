package channeltest

// READY: payout suite API stable

import (
	"net/http"
	"testing"

	"github.com/polypay/polypay"
)

// PayoutHarness is what one payout channel (Alipay, WeChat Pay, UnionPay)
// gives the payout conformance suite, RunPayout (payout_suite.go). Fields
// may be added (optional ones only); none will change.
type PayoutHarness struct {
	// Family is the family in the notify URL the suite hands the
	// connector: /notify/{Family}/app_conformance/test.
	Family string
	// Channel is the Ping++ channel of the suite's transfers (alipay,
	// wx_pub, unionpay).
	Channel string
	// Start runs the channel's simulator with its API behind wrap (the
	// suite's fault injector: the simulator's http.Handler goes through
	// it) and returns the channel's side of it. Start cleans up through t.
	Start func(t *testing.T, wrap func(http.Handler) http.Handler) *PayoutSim
}

// DefaultPayoutAmount is the amount of the suite's transfers, in fen,
// unless a case says otherwise: above every channel's minimum.
const DefaultPayoutAmount = 1000

// PayoutSim is a channel's simulator as the payout suite drives it.
type PayoutSim struct {
	// MerchantID is the channel-side merchant payout notifications name
	// (Notification.MerchantID); "" skips that check.
	MerchantID string
	// Conn is the connector on the simulator. If it is a
	// polypay.BatchPayouter the batch case runs too. When the channel
	// notifies payouts (Forge set) it must be a polypay.Channel: its
	// ParseNotification reads them.
	Conn func(t *testing.T) polypay.Payouter
	// Complete, if set, finishes a transfer the suite built (an order_no
	// of the channel's shape, extra the channel needs on every payout)
	// before CheckTransfer. The suite's transfer has a new id, a 16-digit
	// order_no, type b2c, currency cny, the payee's recipient and extra.
	Complete func(t *polypay.Transfer)

	// Payee is a payee the simulator pays.
	Payee Payee
	// UnknownPayee, NameMismatch and DailyLimit are payees (and amounts)
	// the simulator refuses: no such account; an account whose real name
	// is not the one given; a payee past its daily limit with this
	// transfer.
	UnknownPayee, NameMismatch, DailyLimit PayoutRefusal

	// SetFunds sets the merchant's available funds at the simulator to
	// fen exactly; TopUp adds fen to them (the simulator's own top-up
	// path, an HTTP endpoint where it has one). Both are required.
	SetFunds func(t *testing.T, fen int64)
	TopUp    func(t *testing.T, fen int64)
	// FundsCode is the channel's code for insufficient funds (Alipay
	// PAYER_BALANCE_NOT_ENOUGH, WeChat NOT_ENOUGH); "" checks none.
	FundsCode string

	// Decide, if set, makes the simulator decide the pending payout
	// payoutNo now (as its admin endpoint does). nil: the simulator
	// decides a payout when it is queried, and the suite polls
	// QueryTransfer.
	Decide func(t *testing.T, payoutNo string)
	// Books returns what the simulator's own books hold under payoutNo
	// (Transfer.PayoutNo): one entry per payout it made, whatever the
	// merchant believes. Required: the suite checks that money left once.
	Books func(t *testing.T, payoutNo string) []PayoutBookEntry

	// Forge rewrites a payout notification the simulator delivered so
	// that it is signed the way the channel signs, with a key that is not
	// the simulator's. nil: the channel sends no payout notifications,
	// and the notification cases are skipped.
	Forge func(t *testing.T, n Notice) Notice

	// StatementDay, if set, returns the day (YYYY-MM-DD in the channel's
	// statement zone) whose statement holds the payouts made so far,
	// moving the simulator's clock past it first if its statements wait
	// for the day's end. nil: the suite does not look for payouts in
	// statements.
	StatementDay func(t *testing.T) string

	// Invalid are the channel's own CheckTransfer refusals, besides the
	// suite's (currency, type, order_no).
	Invalid []PayoutInvalid
}

// Payee is who a transfer pays: the transfer's recipient and extra.
type Payee struct {
	Recipient string
	Extra     map[string]any
}

// PayoutRefusal is a transfer the channel refuses, or accepts and fails:
// nothing may be paid.
type PayoutRefusal struct {
	Payee Payee
	// Amount is the transfer's amount; 0 means DefaultPayoutAmount.
	Amount int64
	// Code is the channel's code the refusal (polypay.Error.ChannelCode)
	// or the failure (PayoutResult.FailureCode) carries; "" checks none.
	Code string
	// None, when set, says why the channel has no such refusal; the case
	// is skipped with it.
	None string
}

// PayoutInvalid is one CheckTransfer refusal: Change spoils a valid
// transfer, and the error must be EInvalid naming Param.
type PayoutInvalid struct {
	Name   string
	Change func(t *polypay.Transfer)
	Param  string
}

// PayoutBookEntry is one payout in the simulator's books.
type PayoutBookEntry struct {
	Amount int64
	// State is the payout's state there: processing, paid or failed
	// (failed payouts moved no money, or gave it back).
	State polypay.PayoutState
}
