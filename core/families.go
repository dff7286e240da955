package core

import (
	"time"

	"github.com/polypay/polypay"
)

// What core needs to know of a channel it asks the channel's family
// descriptor (polypay.LookupChannel), registered by package channel; a
// channel no family has is none of these.

// isQR reports whether a channel shows the customer a QR code.
func isQR(channel string) bool {
	c, _ := polypay.LookupChannel(channel)
	return c.QR
}

// isScan reports whether a channel is a merchant-scans-customer scene.
func isScan(channel string) bool {
	c, _ := polypay.LookupChannel(channel)
	return c.Scan
}

// isCard reports whether a channel charges a card through a card processor
// (a card from the vault, or a wallet token such as Apple Pay's).
func isCard(channel string) bool {
	c, _ := polypay.LookupChannel(channel)
	return c.Card
}

// fallbackExpiry is the expiry of a charge whose family sets none.
const fallbackExpiry = 2 * time.Hour

// chargeExpiry is how long an unpaid charge of a family stays open when
// the merchant gives no time_expire.
func chargeExpiry(family string) time.Duration {
	if f := polypay.LookupFamily(family); f != nil && f.ChargeExpiry > 0 {
		return f.ChargeExpiry
	}
	return fallbackExpiry
}

// cardChannel is the channel of vault cards, whose processors the card
// settings list ("" when no family has one).
func cardChannel() string {
	for _, f := range polypay.RegisteredFamilies() {
		for _, c := range f.Channels {
			if c.Card && c.WalletToken == nil {
				return c.Name
			}
		}
	}
	return ""
}

// CashierChannels are the channels a browser can pay an order with, in the
// order the cashier lists them (polypay.CashierChannels). App-SDK,
// mini-program and scan channels are not among them: no web page can drive
// those.
func CashierChannels() []string { return polypay.CashierChannels() }

// DiscountFamilies are the channel families a rule may name instead of one
// channel.
func DiscountFamilies() []string {
	var out []string
	for _, f := range polypay.RegisteredFamilies() {
		if f.DiscountByFamily {
			out = append(out, f.Name)
		}
	}
	return out
}
