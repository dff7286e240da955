// Package risk decides, before any channel is called, whether a request
// that can spend or test a card or account goes ahead: the merchant's
// allow and block lists, blocks set by the built-in card-testing rules,
// velocity counters shared by every node through the store, and the
// merchant's own rules written in CEL. It refuses the attacker, not the
// merchant: every block is keyed by the attacker's facts (an IP, a card),
// never by the app.
package risk

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
)

// Kinds of facts a block or list entry is keyed by.
const (
	KindIP       = "ip"
	KindCard     = "card" // the vault's card fingerprint
	KindEmail    = "email"
	KindCustomer = "customer"
	KindDevice   = "device"
)

// Route says which path asks: each spends or tests a card or account.
type Route string

// The routes the engine is consulted on.
const (
	RouteToken   Route = "token"   // POST /v1/tokens (publishable key)
	RouteCharge  Route = "charge"  // POST /v1/charges
	RouteCashier Route = "cashier" // the cashier's card form
	RouteOrder   Route = "order"   // order and cashier creation
)

// Facts are what a decision looks at. IP is the merchant's client_ip on a
// charge, the peer (or trusted proxy's forwarded address) on
// browser-facing routes. Card is the vault's fingerprint of the card
// (per app and mode), never its number.
type Facts struct {
	AppID    string
	Live     bool
	Route    Route
	ChargeID string
	// OrderNo is the merchant's order_no: a blocked charge is never
	// stored, so its decision names the order, not a charge id.
	OrderNo string

	Channel  string
	Amount   int64
	Currency string

	// CanHold says the charge can be held for review (a card channel
	// that authorizes); a review decision on one that cannot is recorded
	// but holds nothing.
	CanHold bool

	IP         string
	Card       string
	BINCountry string
	Customer   string
	Email      string
	Device     string
}

// CanonicalIP returns ip in canonical form (IPv4-mapped IPv6 unmapped),
// "" when it is not an IP address: an invalid address is no fact.
func CanonicalIP(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return ""
	}
	return a.Unmap().WithZone("").String()
}

// key is the fixed-size form in which the store keeps a request's free
// text (email, device, customer): a request cannot grow a row, and the
// text itself is not kept.
func key(appID, kind, v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(appID + "\x00" + kind + "\x00" + v))
	return hex.EncodeToString(sum[:16])
}

// maskEmail keeps enough of an email for a merchant to recognise it in a
// decision record: "a***@example.com".
func maskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at < 1 {
		return ""
	}
	domain := e[at+1:]
	if len(domain) > 64 {
		domain = domain[:64]
	}
	return e[:1] + "***@" + domain
}
