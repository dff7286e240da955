// Package console is polypay's merchant console: server-rendered pages
// (html/template, embedded; no script) for apps, keys, channel credentials,
// charges and refunds across every channel, webhooks, charts, and the
// reconciliation results, behind users with roles, sessions and CSRF
// protection. The gateway mounts it at /console/.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Credentials sets and shows apps' channel credentials; the channel
// registry implements it (the same path as POST /v1/apps/{app}/channels).
type Credentials interface {
	// Configure validates and stores credentials; EInvalid naming the
	// parameter when they are unusable.
	Configure(ctx context.Context, appID string, live bool, family string, params json.RawMessage) error
	// Describe returns them with secrets replaced by fingerprints; ENotFound if unset.
	Describe(ctx context.Context, appID string, live bool, family string) (map[string]any, error)
	// ConfigureKeeping is Configure where the fields named in keep take
	// their stored values (secrets the form left blank).
	ConfigureKeeping(ctx context.Context, appID string, live bool, family string, params json.RawMessage, keep []string) error
}

// WebhookKeyRotation is the outcome of rotating an app's webhook signing key.
type WebhookKeyRotation struct {
	Generation   int
	SwitchAt     time.Time
	PublicKeyPEM string
}

// Config configures the console.
type Config struct {
	DB          *store.DB
	Svc         *core.Service
	Credentials Credentials
	Families    []string // channel families with credentials (alipay, wechat, ...)
	Channels    []string // channel names for the search form
	// CreateApp creates an app and provisions its sandbox credentials.
	CreateApp func(ctx context.Context, name string) (*core.NewApp, error)
	// Kick wakes the webhook dispatcher after a resend; may be nil.
	Kick func()
	// CheckWebhookURL applies the outbound policy to a webhook URL being
	// added (the API's check); nil accepts any http(s) URL.
	CheckWebhookURL func(ctx context.Context, url string, live bool) error
	// RotateWebhookKey publishes a new webhook signing key for the app and
	// mode, the old one signing for overlap (polypay app
	// rotate-webhook-key); nil hides the form.
	RotateWebhookKey func(ctx context.Context, appID string, live bool, overlap time.Duration) (*WebhookKeyRotation, error)
	// Recon is the reconciliation engine; nil until it is wired.
	Recon Recon
	Log   *slog.Logger
	Now   func() time.Time
	// Location sets where days begin for charts, searches and reports;
	// default China Standard Time (UTC+8).
	Location *time.Location
	// Secure marks the console as served over HTTPS (behind a TLS proxy):
	// cookies get Secure and the __Host- prefix. A request that arrived
	// over TLS is treated so anyway.
	Secure bool
	// PublicURL, when set, is an origin accepted for POSTs besides the
	// request's own host (a proxy may rewrite Host).
	PublicURL string
	// IdleTimeout and MaxAge end sessions (defaults 30 min and 12 h).
	IdleTimeout, MaxAge time.Duration
}

// Console serves the pages.
type Console struct {
	cfg   Config
	mux   *http.ServeMux
	pages map[string]*template.Template
	ips   ipLimiter
	swept atomic.Int64 // unix seconds of the last sweep of sign-in counts
}

// Mount is where the gateway serves the console.
const Mount = "/console/"

// New builds the console.
func New(cfg Config) *Console {
	if cfg.Location == nil {
		cfg.Location = time.FixedZone("CST", 8*3600)
	}
	c := &Console{cfg: cfg, pages: parsePages()}
	m := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", staticHandler(http.FileServerFS(static))))
	m.HandleFunc("GET /console/login", c.loginPage)
	m.HandleFunc("POST /console/login", c.login)
	m.HandleFunc("POST /console/logout", c.authed(c.logout))
	m.HandleFunc("GET /console/{$}", c.authed(c.overview))
	m.HandleFunc("GET /console/apps", c.authed(c.apps))
	m.HandleFunc("GET /console/apps/{app}", c.authed(c.inApp(c.app)))
	m.HandleFunc("GET /console/charges", c.authed(c.charges))
	m.HandleFunc("GET /console/charges.csv", c.authed(c.chargesCSV))
	m.HandleFunc("GET /console/charges/{id}", c.authed(c.charge))
	m.HandleFunc("GET /console/refunds", c.authed(c.refunds))
	m.HandleFunc("GET /console/refunds.csv", c.authed(c.refundsCSV))
	m.HandleFunc("GET /console/webhooks/{ep}", c.authed(c.webhookLog))
	m.HandleFunc("GET /console/recon", c.authed(c.recon))
	m.HandleFunc("GET /console/reports", c.authed(c.reports))
	m.HandleFunc("GET /console/reports.csv", c.authed(c.reportsCSV))
	m.HandleFunc("GET /console/users", c.authed(c.users))
	m.HandleFunc("GET /console/apps/{app}/risk", c.authed(c.inApp(c.riskOverview)))
	m.HandleFunc("GET /console/apps/{app}/risk/lists", c.authed(c.inApp(c.riskLists)))
	m.HandleFunc("GET /console/apps/{app}/risk/rules", c.authed(c.inApp(c.riskRules)))
	m.HandleFunc("GET /console/apps/{app}/risk/review", c.authed(c.inApp(c.riskReview)))
	m.HandleFunc("GET /console/payouts", c.authed(c.payoutsIndex))
	m.HandleFunc("GET /console/apps/{app}/payouts", c.authed(c.inApp(c.payoutList("", "transfers", fillTransfers))))
	m.HandleFunc("GET /console/apps/{app}/payouts/batches", c.authed(c.inApp(c.payoutList("/batches", "batches", fillBatches))))
	m.HandleFunc("GET /console/apps/{app}/payouts/red-envelopes", c.authed(c.inApp(c.payoutList("/red-envelopes", "red_envelopes", fillEnvelopes))))
	m.HandleFunc("GET /console/apps/{app}/payouts/batch-refunds", c.authed(c.inApp(c.payoutList("/batch-refunds", "batch_refunds", fillBatchRefunds))))
	m.HandleFunc("GET /console/apps/{app}/payouts/approvals", c.authed(c.inApp(c.payoutApprovals)))
	m.HandleFunc("GET /console/apps/{app}/payouts/transfers/{id}", c.authed(c.inApp(c.payoutTransfer)))
	m.HandleFunc("GET /console/apps/{app}/payouts/batches/{id}", c.authed(c.inApp(c.payoutBatch)))
	m.HandleFunc("GET /console/apps/{app}/payouts/batch-refunds/{id}", c.authed(c.inApp(c.payoutBatchRefund)))
	m.HandleFunc("GET /console/apps/{app}/users", c.authed(c.inApp(c.accountUsers)))
	m.HandleFunc("GET /console/apps/{app}/users/{user}", c.authed(c.inApp(c.accountUser)))
	m.HandleFunc("GET /console/apps/{app}/coupon_templates", c.authed(c.inApp(c.couponTemplates)))
	m.HandleFunc("GET /console/apps/{app}/withdrawals", c.authed(c.inApp(c.withdrawals)))
	m.HandleFunc("GET /console/apps/{app}/counter", c.authed(c.inApp(c.counter)))
	m.HandleFunc("GET /console/apps/{app}/counter/feed", c.authed(c.inApp(c.counterFeedJSON)))
	m.HandleFunc("GET /console/apps/{app}/qr_codes", c.authed(c.inApp(c.qrCodes)))
	m.HandleFunc("GET /console/apps/{app}/qr_codes/print", c.authed(c.inApp(c.qrPrint)))
	m.HandleFunc("GET /console/apps/{app}/recurring", c.authed(c.inApp(c.recurring)))
	m.HandleFunc("GET /console/apps/{app}/sub_apps", c.authed(c.inApp(c.subApps)))
	m.HandleFunc("GET /console/apps/{app}/recurring/subscriptions/{id}", c.authed(c.inApp(c.subscriptionPage)))
	for _, p := range PostRoutes {
		m.HandleFunc("POST "+p.Pattern, c.authed(c.post(p.Action, c.postHandler(p.Pattern))))
	}
	m.HandleFunc("/console/", c.authed(func(w http.ResponseWriter, r *http.Request, p *page) {
		c.fail(w, r, p, http.StatusNotFound, "not_found", "")
	}))
	c.mux = m
	return c
}

// PostRoute is a state-changing route and the permission it needs.
type PostRoute struct {
	Pattern string
	Action  Action
}

// PostRoutes lists every POST route except sign-in and sign-out (which any
// signed-in role may use); tests walk it to check each one's role and CSRF
// checks.
var PostRoutes = []PostRoute{
	{"/console/apps", ActCreateApp},
	{"/console/apps/{app}/channels", ActSetChannel},
	{"/console/charges/{id}/refund", ActRefund},
	{"/console/deliveries/{id}/resend", ActResend},
	{"/console/recon/{id}/resolve", ActResolve},
	{"/console/apps/{app}/keys", ActRollKeys},
	{"/console/apps/{app}/webhook-key", ActRollKeys},
	{"/console/apps/{app}/webhooks", ActWebhooks},
	{"/console/apps/{app}/webhooks/{ep}/delete", ActWebhooks},
	{"/console/apps/{app}/webhooks/{ep}/test", ActWebhooks},
	{"/console/users", ActManageUsers},
	{"/console/users/{user}/role", ActManageUsers},
	{"/console/users/{user}/disable", ActManageUsers},
	{"/console/users/{user}/enable", ActManageUsers},
	{"/console/users/{user}/reset", ActManageUsers},
	{"/console/apps/{app}/risk/unblock", ActManageRisk},
	{"/console/apps/{app}/risk/lists", ActManageRisk},
	{"/console/apps/{app}/risk/lists/{id}/delete", ActManageRisk},
	{"/console/apps/{app}/risk/rules", ActManageRisk},
	{"/console/apps/{app}/risk/rules/dry-run", ActManageRisk},
	{"/console/apps/{app}/risk/rules/{id}", ActManageRisk},
	{"/console/apps/{app}/risk/rules/{id}/toggle", ActManageRisk},
	{"/console/apps/{app}/risk/rules/{id}/delete", ActManageRisk},
	{"/console/apps/{app}/risk/review/{id}/approve", ActReviewRisk},
	{"/console/apps/{app}/risk/review/{id}/reject", ActReviewRisk},
	{"/console/apps/{app}/payouts/transfers/{id}/approve", ActApprovePayout},
	{"/console/apps/{app}/payouts/transfers/{id}/cancel", ActApprovePayout},
	{"/console/apps/{app}/payouts/batches/{id}/approve", ActApprovePayout},
	{"/console/apps/{app}/payouts/batches/{id}/cancel", ActApprovePayout},
	{"/console/apps/{app}/payouts/settings", ActPayoutSettings},
	{"/console/apps/{app}/withdrawals/{id}/confirm", ActApprovePayout},
	{"/console/apps/{app}/withdrawals/{id}/cancel", ActApprovePayout},
	{"/console/apps/{app}/counter/confirm", ActCounter},
	{"/console/apps/{app}/counter/pay", ActCounter},
	{"/console/apps/{app}/counter/cancel", ActCounter},
	{"/console/apps/{app}/qr_codes", ActQRCodes},
	{"/console/apps/{app}/recurring/agreements/{id}/cancel", ActRecurring},
	{"/console/apps/{app}/recurring/subscriptions/{id}/cancel", ActRecurring},
	{"/console/apps/{app}/sub_apps", ActSubApps},
	{"/console/apps/{app}/sub_apps/{id}", ActSubApps},
}

func (c *Console) postHandler(pattern string) handler {
	switch pattern {
	case "/console/apps":
		return c.orgWide(c.createApp)
	case "/console/apps/{app}/channels":
		return c.inApp(c.setChannel)
	case "/console/charges/{id}/refund":
		return c.refund
	case "/console/deliveries/{id}/resend":
		return c.resend
	case "/console/recon/{id}/resolve":
		return c.resolve
	case "/console/apps/{app}/keys":
		return c.inApp(c.rollKeys)
	case "/console/apps/{app}/webhook-key":
		return c.inApp(c.rotateWebhookKey)
	case "/console/apps/{app}/webhooks":
		return c.inApp(c.addWebhook)
	case "/console/apps/{app}/webhooks/{ep}/delete":
		return c.inApp(c.deleteWebhook)
	case "/console/apps/{app}/webhooks/{ep}/test":
		return c.inApp(c.testWebhook)
	case "/console/users":
		return c.orgWide(c.inviteUser)
	case "/console/users/{user}/role":
		return c.orgWide(c.userAction(c.setRole))
	case "/console/users/{user}/disable":
		return c.orgWide(c.userAction(c.disableUser))
	case "/console/users/{user}/enable":
		return c.orgWide(c.userAction(c.enableUser))
	case "/console/users/{user}/reset":
		return c.orgWide(c.userAction(c.resetPassword))
	}
	if h := c.riskPostHandler(pattern); h != nil {
		return c.inApp(h)
	}
	if h := c.payoutPostHandler(pattern); h != nil {
		return c.inApp(h)
	}
	switch pattern {
	case "/console/apps/{app}/withdrawals/{id}/confirm":
		return c.inApp(c.withdrawalDecide(true))
	case "/console/apps/{app}/withdrawals/{id}/cancel":
		return c.inApp(c.withdrawalDecide(false))
	case "/console/apps/{app}/counter/confirm":
		return c.inApp(c.counterConfirm)
	case "/console/apps/{app}/counter/pay":
		return c.inApp(c.counterPay)
	case "/console/apps/{app}/counter/cancel":
		return c.inApp(c.counterCancel)
	case "/console/apps/{app}/qr_codes":
		return c.inApp(c.qrCreate)
	case "/console/apps/{app}/sub_apps":
		return c.inApp(c.subAppCreate)
	case "/console/apps/{app}/sub_apps/{id}":
		return c.inApp(c.subAppUpdate)
	case "/console/apps/{app}/recurring/agreements/{id}/cancel":
		return c.inApp(c.recurringCancel("agreement"))
	case "/console/apps/{app}/recurring/subscriptions/{id}/cancel":
		return c.inApp(c.recurringCancel("subscription"))
	}
	panic("console: no handler for " + pattern)
}

func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

func (c *Console) now() time.Time {
	if c.cfg.Now != nil {
		return c.cfg.Now()
	}
	return time.Now()
}

func (c *Console) log() *slog.Logger {
	if c.cfg.Log != nil {
		return c.cfg.Log
	}
	return slog.Default()
}

func (c *Console) idle() time.Duration {
	if c.cfg.IdleTimeout > 0 {
		return c.cfg.IdleTimeout
	}
	return 30 * time.Minute
}

func (c *Console) maxAge() time.Duration {
	if c.cfg.MaxAge > 0 {
		return c.cfg.MaxAge
	}
	return 12 * time.Hour
}

// csp allows only the console's own stylesheet: no script at all, no
// inline styles, no framing, forms posting only back here.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP sets the security headers every console response carries.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if !strings.HasPrefix(r.URL.Path, "/console/static/") {
		h.Set("Cache-Control", "no-store")
	}
	if c.secure(r) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	c.mux.ServeHTTP(w, r)
}

func (c *Console) secure(r *http.Request) bool { return c.cfg.Secure || r.TLS != nil }

// cookieName: over HTTPS the __Host- prefix makes the browser insist on
// Secure, Path=/ and no Domain, so a sibling subdomain cannot plant one.
func (c *Console) cookieName(r *http.Request, base string) string {
	if c.secure(r) {
		return "__Host-" + base
	}
	return base
}

const (
	sessionCookie = "polypay_session"
	loginCookie   = "polypay_login"
)

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(r, base), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteLaxMode})
}

func (c *Console) cookie(r *http.Request, base string) string {
	ck, err := r.Cookie(c.cookieName(r, base))
	if err != nil {
		return ""
	}
	return ck.Value
}

type handler func(w http.ResponseWriter, r *http.Request, p *page)

// authed loads the session; without one, pages redirect to sign-in and
// other requests get 401.
func (c *Console) authed(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := c.newPage(w, r)
		s, err := c.loadSession(r.Context(), c.cookie(r, sessionCookie))
		if err != nil {
			c.fail(w, r, p, http.StatusInternalServerError, "error", "")
			c.log().Error("console: loading session", "err", err)
			return
		}
		if s == nil {
			if r.Method == http.MethodGet {
				next := r.URL.RequestURI()
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape(next), http.StatusSeeOther)
				return
			}
			c.fail(w, r, p, http.StatusUnauthorized, "session_expired", "")
			return
		}
		p.sess = s
		p.User, p.Role, p.CSRF = s.user, s.role, s.csrf
		h(w, r, p)
	}
}

// maxForm bounds POST bodies (credentials with PEM keys fit easily).
const maxForm = 256 << 10

// post guards a state-changing route: same origin, the session's CSRF
// token, and a role allowed to take the action, all checked before the
// handler runs.
func (c *Console) post(a Action, h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if !c.sameOrigin(r) || r.ParseForm() != nil || !tokenEqual(r.PostForm.Get("csrf"), p.sess.csrf) {
			c.fail(w, r, p, http.StatusForbidden, "csrf_failed", "")
			return
		}
		if !p.Role.Can(a) {
			c.log().Warn("console: action refused", "user", p.User.ID, "role", p.Role, "action", a)
			c.fail(w, r, p, http.StatusForbidden, "forbidden", "")
			return
		}
		h(w, r, p)
	}
}

// sameOrigin rejects cross-site POSTs by their Origin (or, from browsers
// that omit it, Sec-Fetch-Site or Referer). A request with none of them
// is not from a browser form and still needs the CSRF token.
func (c *Console) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
			return s == "same-origin"
		}
		o = r.Header.Get("Referer")
		if o == "" {
			return true
		}
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false // includes Origin: null
	}
	scheme := "http"
	if c.secure(r) {
		scheme = "https"
	}
	if u.Scheme == scheme && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	if c.cfg.PublicURL != "" {
		if pu, err := url.Parse(c.cfg.PublicURL); err == nil && pu.Scheme == u.Scheme && strings.EqualFold(pu.Host, u.Host) {
			return true
		}
	}
	return false
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// errStatus maps an application error to a status and a message safe to
// show; internal errors are logged and shown generically.
func (c *Console) errStatus(err error) (int, string, string) {
	var pe *polypay.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case polypay.EInvalid, polypay.EConflict, polypay.EChannel, polypay.ENotSupported:
			return http.StatusBadRequest, "bad_request", pe.Message
		case polypay.ENotFound:
			return http.StatusNotFound, "not_found", ""
		}
	}
	c.log().Error("console", "err", err)
	return http.StatusInternalServerError, "error", ""
}

func (c *Console) failErr(w http.ResponseWriter, r *http.Request, p *page, err error) {
	status, key, detail := c.errStatus(err)
	c.fail(w, r, p, status, key, detail)
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *page, status int, key, detail string) {
	p.Title = T(p.Lang, "error")
	p.Error = T(p.Lang, key) + detail
	c.render(w, p, status, "error", nil)
}
