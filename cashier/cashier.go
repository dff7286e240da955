// Package cashier serves polypay's hosted cashier (收银台): the page a
// merchant sends a customer to with an order's cashier URL. It lists the
// order's channels that fit the customer's client, creates the charge for
// the one chosen (through core, like any charge), shows its QR code or
// redirect, follows the payment live (Server-Sent Events, with a polling
// fallback) and shows the result only once the server holds the verified
// payment. It also serves the test-mode demo store under /demo.
//
// Merchants integrate it three ways: a redirect to the hosted page; a popup
// (the merchant page includes /cashier.js, whose PolypayCashier.open shows
// the cashier in an overlay); or an iframe of the page in embed mode
// (?embed=1), which reports its status to the parent with postMessage. Only
// the order's merchant origin (that of its return_url) and the app's
// cashier_settings.allowed_origins may frame the cashier, enforced with CSP
// frame-ancestors, and messages go only to one of them: the one the page's
// ?parent= names (cashier.js sends its page's origin), else the first.
//
// Per app and mode, cashier settings (core.CashierSettings) order, relabel
// and disable channels and give the merchant's display name and logo;
// channels whose charge creations keep failing are hidden for a while
// (core.ChannelHealth, per node). Each channel shows its payment brand's
// mark (brand.go). The layout follows the window width (the stylesheet's
// media query) and, for phones, the User-Agent (docs/cashier.md).
//
// Pages are html/template with a little hand-written script, all embedded;
// every page carries a strict Content-Security-Policy.
package cashier

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/clientip"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/ratelimit"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/vault"
	"github.com/polypay/polypay/wire"
)

//go:embed assets
var assets embed.FS

var tmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"yuan": yuan,
	"sub":  func(a, b int64) int64 { return a - b },
}).ParseFS(assets, "assets/*.html"))

// CSP is the policy of every cashier and demo page: only polypay's own
// script, style and images, no inline code, no framing. An embedded cashier
// page (?embed=1) replaces frame-ancestors 'none' with the order's merchant
// origin (embedCSP).
const CSP = cspBase + "frame-ancestors 'none'"

const cspBase = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; "

// embedCSP is the policy of an embedded cashier page that origins may frame.
func embedCSP(origins []string) string {
	if len(origins) == 0 {
		return CSP
	}
	return cspBase + "frame-ancestors " + strings.Join(origins, " ")
}

// EmbedOrigins are the origins that may embed an order's cashier: the
// order's merchant origin (MerchantOrigin) and the app's allowed_origins.
func EmbedOrigins(o *polypay.Order, cs *core.CashierSettings) []string {
	var out []string
	if m := MerchantOrigin(o); m != "" {
		out = append(out, m)
	}
	for _, a := range cs.AllowedOrigins {
		if !contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// requestedParent is requested when it may embed the page, else "".
func requestedParent(origins []string, requested string) string {
	if contains(origins, requested) {
		return requested
	}
	return ""
}

// parentOrigin picks where an embedded page posts its messages: the
// requested origin when it may embed the page, else the first that may.
func parentOrigin(origins []string, requested string) string {
	if p := requestedParent(origins, requested); p != "" {
		return p
	}
	if len(origins) > 0 {
		return origins[0]
	}
	return ""
}

// Config wires a cashier.
type Config struct {
	Svc *core.Service
	DB  *store.DB
	Log *slog.Logger
	// NewDemoApp creates (and provisions the sandbox channels of) the demo
	// store's app; nil disables /demo.
	NewDemoApp func(ctx context.Context) (*core.NewApp, error)
	// WebhookPublicKeys returns the public keys an app's webhooks in a
	// mode verify with now (webhook.Published.All); the demo store checks
	// its own app's test-mode webhooks with them.
	WebhookPublicKeys func(ctx context.Context, appID string, live bool) ([][]byte, error)
	// StreamFor bounds one Server-Sent Events stream (the browser
	// reconnects); default 50s.
	StreamFor time.Duration
	// WechatOAuth gives the official-account web OAuth parameters of an
	// app and mode for wx_pub (sandbox.Sandbox.WechatOAuth); nil uses
	// Svc.Channels when it has that method.
	WechatOAuth WechatOAuthFunc
	// HTTPClient exchanges OAuth codes; default a 10s-timeout client.
	HTTPClient *http.Client
	// Vault tokenizes the card form's card; nil hides the card channel.
	Vault *vault.Vault
	// Proxies are the trusted reverse proxies whose forwarded address is
	// the customer's (nil: the TCP peer is).
	Proxies *clientip.Resolver
}

// Cashier is the HTTP handler for /cashier/ and /demo.
type Cashier struct {
	cfg  Config
	mux  *http.ServeMux
	done chan struct{}
	once sync.Once
	demo *demo
	// qrOrders bounds the orders a shop QR code without a use limit makes
	// (per code, and per client address): the code is public, printed on
	// a counter, and each order is a row and a channel request.
	qrOrders, qrClients *ratelimit.Keyed
}

// New builds the cashier.
func New(cfg Config) *Cashier {
	if cfg.StreamFor == 0 {
		cfg.StreamFor = 50 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	c := &Cashier{cfg: cfg, mux: http.NewServeMux(), done: make(chan struct{}),
		qrOrders: ratelimit.New(qrCodeRate, qrCodeBurst), qrClients: ratelimit.New(qrClientRate, qrClientBurst)}
	// The merchant's popup script: /cashier.js, and under /cashier/ too
	// (the API server routes only /cashier/ here so far).
	c.mux.HandleFunc("GET /cashier.js", c.sdk)
	c.mux.HandleFunc("GET /cashier/cashier.js", c.sdk)
	c.mux.HandleFunc("GET /cashier/page.js", c.static)
	c.mux.HandleFunc("GET /cashier/cashier.css", c.static)
	c.mux.HandleFunc("GET /cashier/static/brand/{file}", c.brand)
	c.mux.HandleFunc("GET /cashier/favicon.svg", c.favicon)
	c.mux.HandleFunc("GET /cashier/static/logo/{file}", c.logo)
	c.mux.HandleFunc("GET /cashier/{id}", c.page)
	c.mux.HandleFunc("POST /cashier/{id}", c.frontReturn)
	c.mux.HandleFunc("POST /cashier/{id}/pay", c.pay)
	c.mux.HandleFunc("POST /cashier/{id}/card", c.payCard)
	c.mux.HandleFunc("GET /cashier/{id}/qr.png", c.qr)
	c.mux.HandleFunc("GET /cashier/{id}/events", c.events)
	c.mux.HandleFunc("GET /cashier/{id}/status", c.status)
	c.mux.HandleFunc("GET /cashier/{id}/wx_oauth", c.wxOAuthCallback)
	c.qrRoutes()
	if cfg.NewDemoApp != nil {
		c.demo = &demo{c: c, events: map[string][]demoEvent{}}
		c.mux.HandleFunc("GET /demo", c.demo.home)
		c.mux.HandleFunc("POST /demo/buy", c.demo.buy)
		c.mux.HandleFunc("GET /demo/result", c.demo.result)
		c.mux.HandleFunc("POST /demo/webhook", c.demo.webhook)
		c.mux.HandleFunc("GET /demo/logo.png", c.demo.logo)
	}
	return c
}

// Close ends the open event streams (before a graceful shutdown).
func (c *Cashier) Close() { c.once.Do(func() { close(c.done) }) }

func (c *Cashier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // the cashier URL carries its token
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

func (c *Cashier) static(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/cashier/")
	types := map[string]string{"page.js": "text/javascript; charset=utf-8", "cashier.css": "text/css; charset=utf-8"}
	typ, ok := types[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b)
}

// sdk serves cashier.js, the script merchant pages include for the popup.
func (c *Cashier) sdk(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("assets/sdk.js")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b)
}

// MerchantOrigin is the web origin allowed to embed an order's cashier and
// to receive its messages: that of the order's return_url ("" when it has
// none, or one that cannot be written safely into a header).
func MerchantOrigin(o *polypay.Order) string {
	if o.ReturnURL == "" {
		return ""
	}
	u, err := url.Parse(o.ReturnURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	for _, r := range host + port {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':') {
			return "" // IPv6 literals and anything odd: not embeddable
		}
	}
	if strings.Contains(host, ":") || host == "" {
		return ""
	}
	origin := u.Scheme + "://" + host
	if port != "" {
		origin += ":" + port
	}
	return origin
}

// lang picks zh or en from Accept-Language (zh when nothing matches).
func lang(r *http.Request) string {
	best, bestQ := "zh", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		tag = strings.ToLower(tag)
		var l string
		switch {
		case strings.HasPrefix(tag, "zh"):
			l = "zh"
		case strings.HasPrefix(tag, "en"):
			l = "en"
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// Client kinds, from the User-Agent.
const (
	ClientWeChat   = polypay.ClientWeChat
	ClientAlipay   = polypay.ClientAlipay
	ClientUnionPay = polypay.ClientUnionPay
	ClientMobile   = polypay.ClientMobile
	ClientDesktop  = polypay.ClientDesktop
)

// ClientKind classifies a User-Agent.
func ClientKind(ua string) string {
	switch {
	case strings.Contains(ua, "MicroMessenger"):
		return ClientWeChat
	case strings.Contains(ua, "AlipayClient"):
		return ClientAlipay
	case strings.Contains(ua, "UnionPay/") || strings.Contains(ua, "CloudPay"):
		return ClientUnionPay
	case strings.Contains(ua, "Mobi"), strings.Contains(ua, "Android"), strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPad"):
		return ClientMobile
	}
	return ClientDesktop
}

func yuan(fen int64) string {
	s := strconv.FormatInt(fen/100, 10) + "."
	f := fen % 100
	if f < 10 {
		s += "0"
	}
	return s + strconv.FormatInt(f, 10)
}

// view is what page.html renders.
type formField struct{ Name, Value string }

type view struct {
	T          map[string]string
	Lang       string
	State      string // choose, qr, redirect, jsapi, waiting, review, paid, expired
	Order      *polypay.Order
	Token      string
	SelfURL    string
	Channels   []channelView
	Channel    string
	ChannelLbl string
	// Payable and DiscountLbl: the chosen charge's amount and its
	// discount's label when a discount applies.
	Payable     int64
	DiscountLbl string
	QRContent   string
	QRImage     string
	Prompt      string // what to do with the QR code
	PayURL      string
	Credential  string
	// FormAction and FormFields: a channel page the browser must POST to
	// (UnionPay's front gateway).
	FormAction string
	FormFields []formField
	Error      string
	ReturnURL  string
	Via        string
	Sandbox    bool
	WalletURL  string
	// Embed is the iframe/popup mode (?embed=1): no page chrome, status
	// posted to the parent at ParentOrigin, no redirect to ReturnURL.
	Embed        bool
	ParentOrigin string
	ParentParam  string // the ?parent= the page was asked for, if allowed
	Settings     *core.CashierSettings
	// Merchant and LogoURL are the app's display_name and logo.
	Merchant, LogoURL string
	// Phone is a phone's client by its User-Agent: the phone layout at any
	// width (narrow windows get it from the stylesheet's media query).
	Phone bool
	// Brand is the chosen channel's mark, Networks the card networks'.
	Brand    string
	Networks []string
	// Balance is the order's user's balance, when the order allows paying
	// from it (allowed_channels has "balance" and uid names an active user).
	Balance *balanceView
}

// balanceView is the balance button: what the user has, and whether it
// falls short of what the order asks.
type balanceView struct {
	Available int64
	Short     bool
}

// channelView is one channel button; Discount is the label of the best
// discount rule for it and Payable what the customer would pay (0 when no
// rule applies). The server recomputes both when the channel is chosen.
type channelView struct {
	ID, Label, Discount string
	Payable             int64
	Brand               string   // the mark's path
	Networks            []string // the marks' paths of a card channel's networks
}

func (c *Cashier) render(w http.ResponseWriter, status int, name string, v any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := tmpl.ExecuteTemplate(w, name, v); err != nil {
		c.cfg.Log.Error("cashier template", "template", name, "err", err)
	}
}

// order loads the order a request names; a wrong id or token is a 404.
func (c *Cashier) order(w http.ResponseWriter, r *http.Request, token string) *polypay.Order {
	o, err := c.cfg.Svc.OrderForCashier(r.Context(), r.PathValue("id"), token)
	if err != nil {
		if polypay.ErrorCode(err) == polypay.ENotFound {
			http.Error(w, "404 not found", http.StatusNotFound)
		} else {
			c.cfg.Log.Error("cashier: loading order", "err", err)
			http.Error(w, "500 internal error", http.StatusInternalServerError)
		}
		return nil
	}
	return o
}

func (c *Cashier) selfURL(o *polypay.Order, extra ...string) string {
	u := c.cfg.Svc.BaseURL + "/cashier/" + o.ID + "?t=" + url.QueryEscape(o.CashierToken)
	for i := 0; i+1 < len(extra); i += 2 {
		u += "&" + extra[i] + "=" + url.QueryEscape(extra[i+1])
	}
	return u
}

// embedArgs are the selfURL arguments that keep embed mode (and the
// parent origin it reports to).
func embedArgs(embed bool, parent string) []string {
	if !embed {
		return nil
	}
	if parent != "" {
		return []string{"embed", "1", "parent", parent}
	}
	return []string{"embed", "1"}
}

// settings loads the order's app's cashier settings; on error it answers 500.
func (c *Cashier) settings(w http.ResponseWriter, r *http.Request, o *polypay.Order) *core.CashierSettings {
	cs, err := c.cfg.Svc.CashierSettingsFor(r.Context(), o.AppID, o.Livemode)
	if err != nil {
		c.cfg.Log.Error("cashier: loading settings", "order", o.ID, "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return nil
	}
	return cs
}

// visibleChannels are the channels the cashier offers for an order to a
// client: the order's channels that fit it, arranged by the app's settings,
// without unhealthy ones.
func (c *Cashier) visibleChannels(o *polypay.Order, cs *core.CashierSettings, ua string) []string {
	var out []string
	for _, ch := range cs.Arrange(ChannelsFor(core.OrderChannels(o), ua)) {
		if presents(ch, polypay.PresentCardForm) && c.cfg.Vault == nil {
			continue
		}
		if c.cfg.Svc.ChannelHealthy(o.AppID, o.Livemode, ch) {
			out = append(out, ch)
		}
	}
	return out
}

func (c *Cashier) page(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := c.order(w, r, q.Get("t"))
	if o == nil {
		return
	}
	cs := c.settings(w, r, o)
	if cs == nil {
		return
	}
	l := lang(r)
	embed := q.Get("embed") == "1"
	v := &view{T: texts[l], Lang: l, Order: o, Token: o.CashierToken, ReturnURL: o.ReturnURL,
		Via: q.Get("via"), Sandbox: !o.Livemode, Error: q.Get("err"), Embed: embed, Settings: cs}
	v.brand(cs, r.UserAgent())
	if embed {
		// Only the merchant's origins may frame it and hear from it.
		origins := EmbedOrigins(o, cs)
		v.ParentOrigin = parentOrigin(origins, q.Get("parent"))
		w.Header().Set("Content-Security-Policy", embedCSP(origins))
	}
	if embed {
		v.ParentParam = requestedParent(EmbedOrigins(o, cs), q.Get("parent"))
	}
	v.SelfURL = c.selfURL(o, embedArgs(embed, v.ParentParam)...)
	if v.Error != "" {
		v.Error = v.T["err_"+v.Error]
	}
	switch {
	case o.Status == polypay.OrderPaid:
		v.State = "paid"
		c.render(w, http.StatusOK, "page.html", v)
		return
	case o.Status != polypay.OrderCreated || c.cfg.Svc.OrderExpired(o):
		v.State = "expired"
		c.render(w, http.StatusOK, "page.html", v)
		return
	}
	if ch := q.Get("ch"); ch != "" {
		if c.showCharge(r, o, ch, v) {
			if v.State == "form" && o.Livemode {
				if u, err := url.Parse(v.FormAction); err == nil {
					h := w.Header()
					h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"),
						"form-action 'self'", "form-action 'self' "+u.Scheme+"://"+u.Host, 1))
				}
			}
			c.render(w, http.StatusOK, "page.html", v)
			return
		}
	}
	if card := presentedAs(polypay.PresentCardForm); q.Get("card") == "1" && card != "" &&
		contains(c.visibleChannels(o, cs, r.UserAgent()), card) && c.cfg.Vault != nil {
		v.State, v.Channel, v.ChannelLbl = "card", card, channelLabel(cs, card, l)
		v.Brand, v.Networks = brandPath(BrandOf(card)), networksOf(card)
		c.render(w, http.StatusOK, "page.html", v)
		return
	}
	v.State = "choose"
	rules, err := c.cfg.Svc.OrderRules(r.Context(), o)
	if err != nil {
		c.cfg.Log.Error("cashier: loading discounts", "order", o.ID, "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	visible := c.visibleChannels(o, cs, r.UserAgent())
	if slices.ContainsFunc(visible, isJSAPI) && o.Livemode {
		// Choosing a JSAPI channel (wx_pub) redirects the form's POST to
		// WeChat's OAuth.
		h := w.Header()
		h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"),
			"form-action 'self'", "form-action 'self' "+wxOAuthOrigin, 1))
	}
	v.Balance = c.balance(r.Context(), o)
	for _, ch := range visible {
		cv := channelView{ID: ch, Label: channelLabel(cs, ch, l), Brand: brandPath(BrandOf(ch)), Networks: networksOf(ch)}
		if d, off := core.BestDiscount(rules, ch, c.cfg.Svc.Channels.Family(ch), o.Amount); d != nil {
			cv.Discount, cv.Payable = core.DiscountLabel(d, l), o.Amount-off
		}
		v.Channels = append(v.Channels, cv)
	}
	c.render(w, http.StatusOK, "page.html", v)
}

// frontReturn takes the customer back from a channel that returns by a
// form POST to the page (UnionPay's frontUrl): the posted fields are not
// trusted (the result page waits for the verified notification), so it
// only turns the POST into a GET of the page.
func (c *Cashier) frontReturn(w http.ResponseWriter, r *http.Request) {
	o := c.order(w, r, r.URL.Query().Get("t"))
	if o == nil {
		return
	}
	http.Redirect(w, r, c.selfURL(o), http.StatusSeeOther)
}

// showCharge fills the view for the order's pending charge on ch.
func (c *Cashier) showCharge(r *http.Request, o *polypay.Order, ch string, v *view) bool {
	ch0, err := c.cfg.Svc.OrderCharge(r.Context(), o, ch)
	if err == nil && ch0 != nil && ch0.Status == polypay.ChargePending && ch0.HeldUnsent() {
		// Held for the merchant's risk review: a neutral wait, reloaded
		// until the charge is sent (its credential appears) or closed.
		v.Channel, v.ChannelLbl, v.State = ch, channelLabel(v.Settings, ch, v.Lang), "review"
		return true
	}
	if err != nil || ch0 == nil || ch0.Status != polypay.ChargePending || len(ch0.Credential) == 0 {
		return false
	}
	v.Channel = ch
	if ch0.Amount != o.Amount {
		v.Payable = ch0.Amount
		v.DiscountLbl = c.chargeDiscountLabel(r.Context(), o, ch0, v.Lang)
	}
	v.ChannelLbl = channelLabel(v.Settings, ch, v.Lang)
	v.Brand = brandPath(BrandOf(ch))
	ci := cashierInfo(ch)
	if ci == nil {
		ci = &polypay.CashierInfo{Present: polypay.PresentRedirect}
	}
	switch ci.Present {
	case polypay.PresentQR:
		var s string
		if json.Unmarshal(ch0.Credential, &s) != nil {
			return false
		}
		v.State, v.QRContent, v.Prompt = "qr", s, ci.Prompt.In(v.Lang)
		v.QRImage = "/cashier/" + o.ID + "/qr.png?t=" + url.QueryEscape(o.CashierToken) + "&ch=" + url.QueryEscape(ch)
		if !o.Livemode {
			v.WalletURL = sandboxWallet(ch)
		}
	case polypay.PresentJSAPI:
		v.State, v.Credential = "jsapi", string(ch0.Credential)
		v.WalletURL = sandboxWallet(ch)
	case polypay.PresentCardForm:
		// A card charge still pending waits for 3-D Secure: the issuer's
		// page, reached by a plain link (a form's redirect to another
		// origin would be stopped by form-action).
		var pi struct {
			NextAction *struct {
				RedirectToURL struct {
					URL string `json:"url"`
				} `json:"redirect_to_url"`
			} `json:"next_action"`
		}
		if json.Unmarshal(ch0.Credential, &pi) != nil || pi.NextAction == nil || !strings.HasPrefix(pi.NextAction.RedirectToURL.URL, "http") {
			v.State = "waiting"
			return true
		}
		v.State, v.PayURL = "redirect", pi.NextAction.RedirectToURL.URL
	case polypay.PresentForm:
		var fields map[string]string
		if json.Unmarshal(ch0.Credential, &fields) != nil {
			return false
		}
		// Without channel_url the form goes to the channel's own gateway.
		action := cmp.Or(fields["channel_url"], ci.FormURL)
		if !strings.HasPrefix(action, "http") {
			return false
		}
		v.State, v.FormAction = "form", action
		names := make([]string, 0, len(fields))
		for k := range fields {
			if k != "channel_url" {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			v.FormFields = append(v.FormFields, formField{k, fields[k]})
		}
	default:
		u, ok := redirectURL(ch0.Credential)
		if !ok {
			return false
		}
		v.State, v.PayURL = "redirect", u
	}
	return true
}

// chargeDiscountLabel is the label of the rule a charge's metadata names
// (the rule may have been deleted since; its row remains).
func (c *Cashier) chargeDiscountLabel(ctx context.Context, o *polypay.Order, ch *polypay.Charge, lang string) string {
	var md map[string]string
	_ = json.Unmarshal(ch.Metadata, &md)
	id := md["discount_id"]
	if id == "" {
		return ""
	}
	var d *polypay.Discount
	_ = c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		d, err = tx.DiscountByID(ctx, o.AppID, o.Livemode, id)
		return err
	})
	if d == nil {
		return ""
	}
	return core.DiscountLabel(d, lang)
}

// redirectURL turns a redirect credential into the URL the browser opens:
// a string (wx_wap's h5_url) as is, or a form credential (alipay_wap,
// alipay_pc_direct) as channel_url?<the other fields>, as pingpp-js does.
func redirectURL(cred []byte) (string, bool) {
	var s string
	if json.Unmarshal(cred, &s) == nil {
		return s, strings.HasPrefix(s, "http")
	}
	var fields map[string]any
	if json.Unmarshal(cred, &fields) != nil {
		return "", false
	}
	base, _ := fields["channel_url"].(string)
	if base == "" {
		return "", false
	}
	qv := url.Values{}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "channel_url" {
			continue
		}
		switch x := fields[k].(type) {
		case string:
			qv.Set(k, x)
		default:
			b, _ := json.Marshal(x)
			qv.Set(k, string(b))
		}
	}
	return base + "?" + qv.Encode(), true
}

// clientIP is the customer's address: the TCP peer, or behind a trusted
// proxy (--trusted-proxy) the address it forwarded for; 127.0.0.1 when
// there is none (a test's pipe), as charges require one.
func (c *Cashier) clientIP(r *http.Request) string {
	if ip := c.cfg.Proxies.Of(r); ip != "" {
		return ip
	}
	return "127.0.0.1"
}

// screen asks the risk engine about a card entered in the card form.
func (c *Cashier) screen(ctx context.Context, f risk.Facts) (bool, error) {
	if c.cfg.Svc.Risk == nil {
		return false, nil
	}
	d, err := c.cfg.Svc.Risk.Decide(ctx, f)
	return d.Blocked(), err
}

// cardTestFailed counts an invalid card typed into the form as a failed
// card test.
func (c *Cashier) cardTestFailed(ctx context.Context, f risk.Facts, err error) {
	var pe *polypay.Error
	if c.cfg.Svc.Risk == nil || !errors.As(err, &pe) || !strings.HasPrefix(pe.Param, vault.CardParams) {
		return
	}
	if aerr := c.cfg.Svc.Risk.Attempt(ctx, f, true); aerr != nil {
		c.cfg.Log.Warn("cashier: counting a failed card", "err", aerr)
	}
}

// postedOrder reads a cashier form POST of at most limit bytes: the order
// its token names, the app's settings and the embed arguments to carry on.
// ok false means the answer was written.
func (c *Cashier) postedOrder(w http.ResponseWriter, r *http.Request, limit int64) (o *polypay.Order, cs *core.CashierSettings, em []string, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "400 bad request", http.StatusBadRequest)
		return nil, nil, nil, false
	}
	if o = c.order(w, r, r.PostForm.Get("t")); o == nil {
		return nil, nil, nil, false
	}
	if cs = c.settings(w, r, o); cs == nil {
		return nil, nil, nil, false
	}
	em = embedArgs(false, "")
	if r.PostForm.Get("embed") == "1" {
		em = embedArgs(true, requestedParent(EmbedOrigins(o, cs), r.PostForm.Get("parent")))
	}
	return o, cs, em, true
}

func (c *Cashier) pay(w http.ResponseWriter, r *http.Request) {
	o, cs, em, ok := c.postedOrder(w, r, 16<<10)
	if !ok {
		return
	}
	ch := r.PostForm.Get("channel")
	if ch == core.BalanceChannel {
		c.payFromBalance(w, r, o, em)
		return
	}
	ci := cashierInfo(ch)
	if ci == nil || !contains(c.visibleChannels(o, cs, r.UserAgent()), ch) {
		http.Redirect(w, r, c.selfURL(o, append(em, "err", "channel")...), http.StatusSeeOther)
		return
	}
	switch ci.Present {
	case polypay.PresentJSAPI:
		// JSAPI needs the payer's openid: WeChat's web OAuth first, and
		// the charge is created when it comes back (wxOAuthCallback).
		c.startWxOAuth(w, r, o, em)
		return
	case polypay.PresentCardForm:
		// The card form comes first; the charge is made when it is sent.
		http.Redirect(w, r, c.selfURL(o, append(em, "card", "1")...), http.StatusSeeOther)
		return
	}
	extra := map[string]any{}
	if ci.OrderIDParam != "" {
		extra[ci.OrderIDParam] = o.ID
	}
	for _, k := range ci.ReturnURLParams {
		extra[k] = c.selfURL(o)
	}
	if _, err := c.cfg.Svc.PayOrder(r.Context(), o, ch, c.clientIP(r), extra); err != nil {
		c.cfg.Log.Warn("cashier: creating charge", "order", o.ID, "channel", ch, "err", err)
		code := "channel_down"
		switch polypay.ErrorCode(err) {
		case polypay.EInvalid:
			code = "state"
		case polypay.ERiskBlocked:
			code = "risk" // neutral: the customer is not told which rule
		}
		http.Redirect(w, r, c.selfURL(o, append(em, "err", code)...), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, c.selfURL(o, append(em, "ch", ch)...), http.StatusSeeOther)
}

// balance is the order's user's balance for the balance button, or nil
// when the order does not allow paying from it.
func (c *Cashier) balance(ctx context.Context, o *polypay.Order) *balanceView {
	if o.UID == "" || !contains(core.OrderChannels(o), core.BalanceChannel) {
		return nil
	}
	u, err := c.cfg.Svc.GetUser(ctx, core.Caller{App: &polypay.App{ID: o.AppID}, Live: o.Livemode}, o.UID)
	w, ok := u.(*wire.User)
	if err != nil || !ok || w.Disabled {
		return nil
	}
	return &balanceView{Available: w.AvailableBalance, Short: w.AvailableBalance < o.Amount-o.CouponAmount}
}

// payFromBalance pays the order from its user's balance: a balance
// charge, paid at once, then the page shows the order paid.
func (c *Cashier) payFromBalance(w http.ResponseWriter, r *http.Request, o *polypay.Order, em []string) {
	if c.balance(r.Context(), o) == nil {
		http.Redirect(w, r, c.selfURL(o, append(em, "err", "channel")...), http.StatusSeeOther)
		return
	}
	if _, err := c.cfg.Svc.PayOrder(r.Context(), o, core.BalanceChannel, c.clientIP(r), map[string]any{"user": o.UID}); err != nil {
		c.cfg.Log.Warn("cashier: paying from balance", "order", o.ID, "err", err)
		code := "channel_down"
		if polypay.ErrorCode(err) == polypay.EInvalid {
			code = "balance"
		}
		http.Redirect(w, r, c.selfURL(o, append(em, "err", code)...), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, c.selfURL(o, em...), http.StatusSeeOther)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *Cashier) qr(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := c.order(w, r, q.Get("t"))
	if o == nil {
		return
	}
	ch := q.Get("ch")
	charge, err := c.cfg.Svc.OrderCharge(r.Context(), o, ch)
	var content string
	if err != nil || charge == nil || !presents(ch, polypay.PresentQR) || charge.Status != polypay.ChargePending ||
		json.Unmarshal(charge.Credential, &content) != nil || content == "" {
		http.NotFound(w, r)
		return
	}
	png, err := qrcode.Encode(content, qrcode.Medium, 320)
	if err != nil {
		c.cfg.Log.Error("cashier: encoding QR", "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}

// state is what the live status reports: pending, paid or expired.
func (c *Cashier) state(o *polypay.Order) string {
	switch {
	case o.Status == polypay.OrderPaid:
		return "paid"
	case o.Status != polypay.OrderCreated || c.cfg.Svc.OrderExpired(o):
		return "expired"
	}
	return "pending"
}

// status is the polling fallback: {"status": "pending"|"paid"|"expired"}.
func (c *Cashier) status(w http.ResponseWriter, r *http.Request) {
	o := c.order(w, r, r.URL.Query().Get("t"))
	if o == nil {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"status": c.state(o)})
}

// events streams the order's status as Server-Sent Events: one "status"
// event at once and on every change, until paid or expired or StreamFor
// has passed (EventSource then reconnects).
func (c *Cashier) events(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	o := c.order(w, r, token)
	if o == nil {
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(c.cfg.StreamFor + 10*time.Second))
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	last := ""
	send := func(st string) bool {
		if st == last {
			return true
		}
		last = st
		if _, err := w.Write([]byte("retry: 2000\nevent: status\ndata: {\"status\":\"" + st + "\"}\n\n")); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	stop := time.After(c.cfg.StreamFor)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		st := c.state(o)
		if !send(st) || st != "pending" {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-c.done:
			return
		case <-stop:
			return
		case <-tick.C:
		}
		cur, err := c.cfg.Svc.OrderForCashier(r.Context(), o.ID, token)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				c.cfg.Log.Warn("cashier: event stream", "order", o.ID, "err", err)
			}
			return
		}
		o = cur
	}
}
