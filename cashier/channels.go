package cashier

import (
	"slices"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
)

// How the cashier offers each channel (which clients, its label, how its
// credential is shown, the extra parameters it sets) is the channel's
// family descriptor's (polypay.ChannelInfo.Cashier): the cashier names no
// channel.

// cashierInfo is how the cashier offers a channel; nil for a channel it
// cannot offer.
func cashierInfo(ch string) *polypay.CashierInfo {
	c, _ := polypay.LookupChannel(ch)
	return c.Cashier
}

// presents reports whether the cashier shows ch's credential as p.
func presents(ch string, p polypay.Presentation) bool {
	ci := cashierInfo(ch)
	return ci != nil && ci.Present == p
}

// presentedAs is the first cashier channel whose credential is shown as p
// (the card form's channel, the JSAPI one), "" when none is.
func presentedAs(p polypay.Presentation) string {
	for _, ch := range polypay.CashierChannels() {
		if presents(ch, p) {
			return ch
		}
	}
	return ""
}

// sandboxWallet is the simulator's wallet page for ch's family, where a
// tester pays in test mode.
func sandboxWallet(ch string) string {
	if _, f := polypay.LookupChannel(ch); f != nil {
		return f.SandboxWallet
	}
	return ""
}

// fitting lists the channels a kind of client can pay with, in the
// cashier's order.
func fitting(client string) []string {
	var out []string
	for _, ch := range polypay.CashierChannels() {
		if slices.Contains(cashierInfo(ch).Clients, client) {
			out = append(out, ch)
		}
	}
	return out
}

// ChannelsFor returns the order's allowed channels that fit the client.
func ChannelsFor(allowed []string, ua string) []string {
	var out []string
	for _, ch := range fitting(ClientKind(ua)) {
		for _, a := range allowed {
			if a == ch {
				out = append(out, ch)
			}
		}
	}
	return out
}

// channelLabel is a channel's name in the cashier: the app's label, else
// polypay's.
func channelLabel(cs *core.CashierSettings, ch, lang string) string {
	if s := cs.Label(ch, lang); s != "" {
		return s
	}
	if ci := cashierInfo(ch); ci != nil {
		return ci.Label.In(lang)
	}
	return ""
}

// isJSAPI reports whether the cashier pays ch with a JS API call in the
// channel's app browser (after the channel's web OAuth).
func isJSAPI(ch string) bool { return presents(ch, polypay.PresentJSAPI) }
