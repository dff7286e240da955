package polypay

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Family describes one channel family: a set of Ping++ channels sharing one
// set of merchant credentials, one connector and one notification URL. Each
// family exports its descriptor from its own folder (channel/alipay's
// alipay.Family, ...); package channel registers them all from one list
// (RegisterFamilies), and the rest of polypay asks the descriptors
// (LookupChannel, LookupFamily) instead of naming channels.
type Family struct {
	// Name is the family's id in notification URLs, the store, credentials
	// and reports ("alipay", "wx", "upacp").
	Name string
	// Aliases are other names the family answers to in LookupFamily.
	Aliases []string
	// Channels are the Ping++ channels the family charges on. The first is
	// the one the family's account is reached through when no charge names
	// a channel (notifications, statements, health probes).
	Channels []ChannelInfo
	// ChargeExpiry is how long an unpaid charge stays open when the
	// merchant gives no time_expire.
	ChargeExpiry time.Duration
	// StatementZone is the time zone the channel cuts its statement days in.
	StatementZone *time.Location
	// StatementPayouts: the family's statement lists its payouts
	// (StatementPayout lines), so reconciliation reports a paid transfer
	// no line names. Without it payouts are matched only when a line names
	// them.
	StatementPayouts bool
	// OrderNo is the family's order_no rule (Ping++ spec §2.2.1); the zero
	// value means DefaultOrderNo.
	OrderNo OrderNoRule
	// DiscountByFamily lets a cashier discount rule name the family instead
	// of one of its channels.
	DiscountByFamily bool
	// SandboxWallet is the path of the simulator's wallet page, where a
	// tester pays a QR or JSAPI credential in test mode; "" if none.
	SandboxWallet string
	// Credentials is the schema of the merchant's credentials for the
	// family (the params of POST /v1/apps/{app}/channels), in the order
	// they are checked and shown. It is not about a charge's credential.
	Credentials []CredentialField
	// Brand names the payment brand mark the cashier shows for the
	// family's channels (cashier/assets/brand/<Brand>.svg); a channel may
	// name its own (ChannelInfo.Brand).
	Brand string
}

// ChannelInfo describes one Ping++ channel of a family.
type ChannelInfo struct {
	Name string
	// Brand, when set, is the channel's own brand mark instead of its
	// family's (Apple Pay's channels in the card and UnionPay families).
	Brand string
	// QR: the customer is shown a QR code to scan (polled often while they
	// are likely scanning it).
	QR bool
	// Scan: the merchant scans the customer's payment code; the outcome is
	// known, or settled by query, within a minute of the create.
	Scan bool
	// Card: a card processor charges a card from the vault, or a wallet's
	// token (WalletToken).
	Card bool
	// WalletToken, for a card channel paid with a wallet's payment token
	// rather than a vault card, names the extra parameter carrying it.
	WalletToken *WalletToken
	// Cashier says how the hosted cashier offers the channel; nil when no
	// web page can drive it (app SDKs, mini programs, payment codes).
	Cashier *CashierInfo
	// Extra lists the charge extra parameters the channel's connector
	// reads, so that docs/channels.md (generated from the descriptors, and
	// checked against what creating a charge refuses) is the one place a
	// merchant learns them.
	Extra []ExtraParam
}

// ExtraParam is one parameter of a charge's extra on a channel.
type ExtraParam struct {
	Name string
	// Required parameters are refused when missing, with an error naming
	// extra[Name].
	Required bool
	Doc      string // what it holds, in English
}

// ChinaTime is Beijing time, the day of the China channels' statements. A
// fixed zone needs no tzdata.
var ChinaTime = time.FixedZone("Asia/Shanghai", 8*3600)

// WalletToken is the extra parameter of a wallet channel's token.
type WalletToken struct {
	Param string // "apple_pay_token"
	Hint  string // what the parameter holds, for the error naming it
}

// OrderNoRule bounds the length of a charge's order_no.
type OrderNoRule struct{ Min, Max int }

// DefaultOrderNo is Ping++'s order_no rule for most channels.
var DefaultOrderNo = OrderNoRule{Min: 1, Max: 32}

// Presentation is how the hosted cashier hands a charge's credential to the
// customer.
type Presentation string

const (
	// PresentQR: the credential is a string the page shows as a QR code.
	PresentQR Presentation = "qr"
	// PresentRedirect: the browser opens the credential, a URL string or a
	// form credential {"channel_url": ..., fields} as channel_url?fields
	// (what pingpp-js does).
	PresentRedirect Presentation = "redirect"
	// PresentForm: the browser POSTs the credential's fields to its
	// channel_url (CashierInfo.FormURL when it names none).
	PresentForm Presentation = "form"
	// PresentJSAPI: the credential is the parameters of a JS API call in
	// the channel's own app browser; the charge needs the payer's id from
	// the channel's web OAuth first.
	PresentJSAPI Presentation = "jsapi"
	// PresentCardForm: the cashier's card form comes first (the card goes
	// to the vault); a pending credential may carry the issuer's 3-D Secure
	// page in next_action.redirect_to_url.
	PresentCardForm Presentation = "card"
)

// The kinds of client the hosted cashier tells apart by User-Agent.
const (
	ClientWeChat = "wechat" // WeChat's in-app browser
	ClientAlipay = "alipay" // Alipay's in-app browser
	// ClientUnionPay is UnionPay's app (云闪付), whose browser says
	// "UnionPay/1.0 CloudPay" in its User-Agent.
	ClientUnionPay = "unionpay"
	ClientMobile   = "mobile"  // any other phone or tablet browser
	ClientDesktop  = "desktop" // everything else
)

// CashierInfo is how the hosted cashier offers a channel.
type CashierInfo struct {
	Present Presentation
	// Label names the channel on the cashier's buttons (the app's cashier
	// settings may replace it).
	Label Label
	// Prompt tells the customer what to do with the credential (the QR
	// code: which app scans it).
	Prompt Label
	// Clients are the kinds of client that can pay with it (ClientWeChat,
	// ...).
	Clients []string
	// ReturnURLParams are extra parameters the cashier sets to its own page
	// when it creates the charge, for the channel to send the browser back.
	ReturnURLParams []string
	// OrderIDParam, if set, is an extra parameter set to the order's id.
	OrderIDParam string
	// FormURL is where a PresentForm credential without channel_url goes.
	FormURL string
}

// Label is a text in the languages polypay's pages speak.
type Label struct{ Zh, En string }

// In returns the text in lang ("en"; anything else is Chinese).
func (l Label) In(lang string) string {
	if lang == "en" {
		return l.En
	}
	return l.Zh
}

// CredentialField is one field of a family's merchant credentials.
type CredentialField struct {
	Name string // the JSON key, "private_key"
	// Secret fields are never shown back: describing the credentials shows
	// a fingerprint instead.
	Secret bool
	// Required fields must be set; others are optional or required only
	// with other fields (Hint says when).
	Required bool
	Hint     Label
}

// Channel returns the family's channel named name.
func (f *Family) Channel(name string) (ChannelInfo, bool) {
	for _, c := range f.Channels {
		if c.Name == name {
			return c, true
		}
	}
	return ChannelInfo{}, false
}

// ChannelNames lists the family's channels in its order.
func (f *Family) ChannelNames() []string {
	out := make([]string, len(f.Channels))
	for i, c := range f.Channels {
		out[i] = c.Name
	}
	return out
}

// Rule returns the family's order_no rule.
func (f *Family) Rule() OrderNoRule {
	if f.OrderNo == (OrderNoRule{}) {
		return DefaultOrderNo
	}
	return f.OrderNo
}

var families struct {
	mu        sync.RWMutex
	list      []*Family
	byName    map[string]*Family // names and aliases
	byChannel map[string]*Family
}

// RegisterFamilies makes families known to LookupFamily and LookupChannel,
// after those registered before. A name or channel registered twice, or a
// family without channels, is a programming error: it panics, registering
// none of fs.
func RegisterFamilies(fs ...*Family) {
	families.mu.Lock()
	defer families.mu.Unlock()
	names, channels := map[string]*Family{}, map[string]*Family{}
	for _, f := range fs {
		if len(f.Channels) == 0 {
			panic(fmt.Sprintf("polypay: channel family %q has no channels", f.Name))
		}
		for _, n := range append([]string{f.Name}, f.Aliases...) {
			if families.byName[n] != nil || names[n] != nil {
				panic(fmt.Sprintf("polypay: channel family %q registered twice", n))
			}
			names[n] = f
		}
		for _, c := range f.Channels {
			if families.byChannel[c.Name] != nil || channels[c.Name] != nil {
				panic(fmt.Sprintf("polypay: channel %q registered twice", c.Name))
			}
			channels[c.Name] = f
		}
	}
	if families.byName == nil {
		families.byName, families.byChannel = map[string]*Family{}, map[string]*Family{}
	}
	for n, f := range names {
		families.byName[n] = f
	}
	for c, f := range channels {
		families.byChannel[c] = f
	}
	families.list = append(families.list, fs...)
}

// RegisteredFamilies lists the registered families in registration order.
func RegisteredFamilies() []*Family {
	families.mu.RLock()
	defer families.mu.RUnlock()
	return append([]*Family(nil), families.list...)
}

// LookupFamily returns the family named name (or one of its aliases); nil
// when none is. name is a family, not an account of one ("alipay@shop2").
func LookupFamily(name string) *Family {
	families.mu.RLock()
	defer families.mu.RUnlock()
	return families.byName[name]
}

// LookupChannel returns a channel's description and its family; the zero
// ChannelInfo and nil for a channel no family has (a name on an account,
// "card@backup", is not a channel).
func LookupChannel(name string) (ChannelInfo, *Family) {
	families.mu.RLock()
	f := families.byChannel[name]
	families.mu.RUnlock()
	if f == nil {
		return ChannelInfo{}, nil
	}
	c, _ := f.Channel(name)
	return c, f
}

// OrderNoFor is the order_no rule of a channel: its family's. A channel no
// family has gets the rule of the family its name starts with (Ping++
// names a family's channels after it), else DefaultOrderNo.
func OrderNoFor(channel string) OrderNoRule {
	if _, f := LookupChannel(channel); f != nil {
		return f.Rule()
	}
	for _, f := range RegisteredFamilies() {
		if strings.HasPrefix(channel, f.Name) {
			return f.Rule()
		}
	}
	return DefaultOrderNo
}

// CashierChannels are the channels the hosted cashier can offer, in the
// order it lists them: QR codes first (a desktop customer scans one without
// leaving the page), then the others, family by family in registration
// order, each family's in its descriptor's order.
func CashierChannels() []string {
	var qr, rest []string
	for _, f := range RegisteredFamilies() {
		for _, c := range f.Channels {
			switch {
			case c.Cashier == nil:
			case c.Cashier.Present == PresentQR:
				qr = append(qr, c.Name)
			default:
				rest = append(rest, c.Name)
			}
		}
	}
	return append(qr, rest...)
}
