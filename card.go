package polypay

import (
	"context"
	"fmt"
	"log/slog"
)

// CardData is a card's sensitive data on its way from the vault to a card
// processor. It only ever lives in memory: every way of printing it shows
// the last four digits at most.
type CardData struct {
	Number   string // PAN, digits only
	ExpMonth int
	ExpYear  int    // four digits
	CVC      string // only on the first use after tokenization; never stored
	Name     string
}

// Last4 returns the last four digits of the number.
func (c *CardData) Last4() string {
	if c == nil || len(c.Number) < 4 {
		return ""
	}
	return c.Number[len(c.Number)-4:]
}

// String keeps fmt's %v and %s from printing the number.
func (c *CardData) String() string { return "card ****" + c.Last4() }

// GoString keeps %#v from printing the number.
func (c *CardData) GoString() string { return c.String() }

// Format keeps every fmt verb, %+v included, from printing the number.
func (c *CardData) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue keeps slog from printing the number.
func (c *CardData) LogValue() slog.Value { return slog.StringValue(c.String()) }

// ThreeDSMode says whether a card charge must be authenticated with 3-D
// Secure.
type ThreeDSMode string

const (
	// ThreeDSAutomatic lets the issuer decide (frictionless or challenge).
	ThreeDSAutomatic ThreeDSMode = "automatic"
	// ThreeDSRequired asks for authentication on every card charge.
	ThreeDSRequired ThreeDSMode = "required"
)

// ThreeDSResult is what 3-D Secure concluded for a card charge.
type ThreeDSResult struct {
	// Flow is "frictionless" or "challenge".
	Flow string `json:"flow"`
	// Authenticated is true when the cardholder was authenticated.
	Authenticated bool `json:"authenticated"`
	// LiabilityShift is true when fraud liability moved to the issuer.
	LiabilityShift bool   `json:"liability_shift"`
	Version        string `json:"version,omitempty"` // e.g. "2.2.0"
}

// Authorizer is implemented by connectors whose channel can hold funds and
// capture them later (pre-authorization). A connector that implements it
// honours ChannelRequest.AuthorizeOnly; one that does not is never asked to.
type Authorizer interface {
	// Capture takes amount (at most the authorized amount; 0 means all of
	// it) from an authorized trade and returns the trade after capture,
	// in state TradePaid with Trade.Amount the captured amount.
	// Capturing twice with the same amount is safe (the second returns the
	// same trade). EChannel when the hold is void or expired.
	Capture(ctx context.Context, c *Charge, amount int64) (*Trade, error)
	// Void releases an authorized, uncaptured hold; voiding a void hold
	// succeeds. EChannel when the trade was already captured.
	Void(ctx context.Context, c *Charge) error
}

type notifyURLKey struct{}

// WithNotifyURL gives an Authorizer's Capture and Void the URL their
// channel should notify the outcome to, for channels that notify captures
// and voids as they do payments (UnionPay's backUrl): the URL core gives
// CreateCharge. A context value rather than a parameter keeps Authorizer
// the same for every channel and passes through decorators.
func WithNotifyURL(ctx context.Context, url string) context.Context {
	return context.WithValue(ctx, notifyURLKey{}, url)
}

// NotifyURL is the URL WithNotifyURL put in ctx, "" if none.
func NotifyURL(ctx context.Context) string { s, _ := ctx.Value(notifyURLKey{}).(string); return s }
