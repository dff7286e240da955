package polypay

import "encoding/json"

// ChargeStatus is the gateway's internal state of a charge. Ping++'s wire
// format exposes it only through paid, reversed and time_expire.
type ChargeStatus string

const (
	ChargePending  ChargeStatus = "pending"  // created, waiting for the customer
	ChargePaid     ChargeStatus = "paid"     // the channel confirmed payment
	ChargeClosed   ChargeStatus = "closed"   // expired or closed unpaid
	ChargeReversed ChargeStatus = "reversed" // cancelled by the merchant, or a hold voided
	// ChargeAuthorized: a pre-authorization whose funds are held, waiting
	// for capture (then paid), void (reversed) or the hold's expiry (closed).
	ChargeAuthorized ChargeStatus = "authorized"
)

// CanBecome is the charge transition table. A transition not listed here
// never happens, whatever a notification claims.
func (s ChargeStatus) CanBecome(to ChargeStatus) bool {
	switch s {
	case ChargePending:
		return to == ChargePaid || to == ChargeClosed || to == ChargeReversed || to == ChargeAuthorized
	case ChargeAuthorized:
		return to == ChargePaid || to == ChargeReversed || to == ChargeClosed
	case ChargeClosed:
		// A payment can land after we closed locally if the channel's close
		// failed; the channel's signed word wins, and the money is real.
		return to == ChargePaid
	case ChargePaid:
		return to == ChargeReversed
	}
	return false
}

// Charge is a payment request. Amounts are minor units of Currency.
type Charge struct {
	ID             string
	AppID          string
	Livemode       bool
	Channel        string
	OrderNo        string
	ClientIP       string
	Amount         int64
	AmountSettle   int64
	Currency       string // ISO 4217, lower case as Ping++ sends it
	Subject        string
	Body           string
	Description    string
	Extra          json.RawMessage // object
	Metadata       json.RawMessage // object
	Status         ChargeStatus
	Created        int64
	TimePaid       int64 // 0 = null
	TimeExpire     int64
	TransactionNo  string
	AmountRefunded int64 // succeeded refunds only
	Refunded       bool  // true once any refund exists
	FailureCode    string
	FailureMsg     string
	Credential     json.RawMessage // value under credential[channel]
	// Pre-authorization (capture=false at creation): AuthOnly marks the
	// charge; TimeAuthorized and HoldExpire (unix seconds) bound the hold.
	AuthOnly       bool
	TimeAuthorized int64
	HoldExpire     int64
	// AmountCaptured is what was taken: the amount for an ordinary charge
	// once paid, the captured amount (at most Amount) for a
	// pre-authorization. Refunds are bounded by it.
	AmountCaptured int64
	// ThreeDS is the 3-D Secure outcome of a card charge, nil if none ran.
	ThreeDS *ThreeDSResult
	// Attempts lists the processors tried for a card charge, in order
	// (fallback after a processor error), as JSON; nil when only one.
	Attempts json.RawMessage
	// Account names the channel account (processor) that took the charge
	// when it is not the family's default one; every later call for the
	// charge (query, capture, refund) goes to the same account.
	Account string
	// ParamsHash fingerprints the creation parameters so that a repeated
	// order_no can be told apart from a conflicting one.
	ParamsHash string
	// RiskReview is the charge's risk review: "" when none was opened,
	// otherwise one of the Review* states.
	RiskReview string
}

// Risk review states of a charge (Charge.RiskReview). A review is opened
// by a risk rule's "review" action; the merchant approves or rejects it,
// or it expires with the charge (or its hold).
const (
	ReviewOpen     = "open"
	ReviewApproved = "approved" // captured (a hold) or sent to its channel
	ReviewRejected = "rejected" // voided (a hold) or closed unsent
	ReviewExpired  = "expired"  // ran out unreviewed
)

// HeldUnsent reports whether the charge waits for its risk review before
// polypay sends it to the channel: such a charge has no credential, and
// nothing exists at the channel. (A card charge under review is held as
// an authorization instead: AuthOnly.)
func (c *Charge) HeldUnsent() bool { return c.RiskReview == ReviewOpen && !c.AuthOnly }

// Paid reports whether the charge has been paid (and possibly reversed later).
func (c *Charge) Paid() bool { return c.TimePaid != 0 }

// ChannelRoute is the channel to ask about this charge: its channel, with
// its account when it is not the family's default ("card@backup").
func (c *Charge) ChannelRoute() string {
	if c.Account == "" {
		return c.Channel
	}
	return c.Channel + "@" + c.Account
}
