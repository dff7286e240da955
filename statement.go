package polypay

import "context"

// StatementKind tells what a statement line records.
type StatementKind string

const (
	StatementPayment StatementKind = "payment" // money in for a trade (a capture, for pre-authorizations)
	StatementRefund  StatementKind = "refund"  // money back to the customer
	StatementPayout  StatementKind = "payout"  // money out to a payee (a transfer); PayoutNo set
)

// StatementLine is one line of a channel's own statement (Alipay's trade
// bill, WeChat's trade bill, UnionPay's settlement file, Stripe's balance
// transactions, PayPal's transaction search), in the channel's words but
// polypay's units.
type StatementLine struct {
	Kind          StatementKind
	OutTradeNo    string // our charge id as the channel knows it
	TransactionNo string // the channel's trade number
	RefundNo      string // our refund order_no, for refunds
	PayoutNo      string // the transfer's PayoutNo, for payouts
	Amount        int64  // minor units, positive for payments and refunds alike
	Fee           int64  // the channel's fee on this line, minor units (may be 0)
	Currency      string // ISO 4217, lower case
	At            int64  // unix seconds the money moved
}

// Statementer is implemented by connectors that can fetch the channel's
// statement for one day. day is YYYY-MM-DD in the channel's own time zone
// (Asia/Shanghai for the China channels, UTC for Stripe and PayPal).
// ENotFound when the channel has no statement for that day yet.
type Statementer interface {
	Statement(ctx context.Context, day string) ([]StatementLine, error)
}
