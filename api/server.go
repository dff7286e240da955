package api

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/apidoc"
	"github.com/polypay/polypay/clientip"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/outbound"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/vault"
	"github.com/polypay/polypay/wallet"
	"github.com/polypay/polypay/webhook"
	"github.com/polypay/polypay/wire"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// Sandbox is the test-mode side of the channels: their simulators.
type Sandbox interface {
	// Pay acts as the customer inside the charge's channel simulator,
	// which then sends its signed notification to polypay.
	Pay(ctx context.Context, c *polypay.Charge, success bool) error
	// Agreement acts as the customer signing a test-mode agreement (sign)
	// or ending it in the channel's app (!sign).
	Agreement(ctx context.Context, a *polypay.Agreement, sign bool) error
	// Handler serves the simulators' channel endpoints under /sim/.
	Handler() http.Handler
}

// Server is the HTTP front of polypay.
type Server struct {
	Svc *core.Service
	DB  *store.DB
	// Proxies are the trusted reverse proxies whose forwarded address is
	// the client's (nil: none, the TCP peer is the client).
	Proxies *clientip.Resolver
	// ReplySigner signs API replies (SignResponses): a node-wide key that
	// is never any app's webhook key, so no reply body verifies as a webhook.
	ReplySigner *webhook.Signer
	// WebhookKeys publishes each app and mode's webhook public key
	// (GET /v1/webhook_endpoints/public_key).
	WebhookKeys WebhookKeys
	Sandbox     Sandbox
	Credentials Credentials
	Log         *slog.Logger
	// SignResponses adds X-Pingplusplus-Signature to every API reply (Ping++'s
	// Java SDK can require it).
	SignResponses bool
	// Cashier serves the hosted cashier (/cashier/) and the demo store
	// (/demo); nil leaves them out.
	Cashier http.Handler
	// Vault keeps customers' cards (POST /v1/tokens, /v1/customers); nil
	// answers those endpoints with not_supported.
	Vault *vault.Vault
	// Reports serves GET /v1/apps/{app}/reports/daily; nil leaves it out.
	Reports Reports
	// Outbound is the policy webhook URLs are registered under (nil: the
	// default, no allowances); the dispatcher enforces the same one.
	Outbound *outbound.Policy

	// RateLimit is each secret key's sustained requests per second on this
	// node (0: unlimited), with bursts up to RateBurst.
	RateLimit float64
	RateBurst int
	// FailedAuthLimit is how many failed authentications per second a
	// client address may make (bursts of FailedAuthBurst) before every
	// request from it is answered 429 (0: unlimited).
	FailedAuthLimit float64
	FailedAuthBurst int
	// NotifyRateLimit is how many notifications per second one client
	// address may send to /notify (bursts of twice that; 0: unlimited).
	NotifyRateLimit float64

	draining atomic.Bool
	mux      *http.ServeMux
	keys     keyCache
	// limits: per secret key; authFails: failed authentications per
	// client address; notifyLimits: notifications per client address.
	limits, authFails, notifyLimits *limiter
}

// Handler builds the routing table.
func (s *Server) Handler() http.Handler {
	s.limits = newLimiter(s.RateLimit, s.RateBurst)
	s.authFails = newLimiter(s.FailedAuthLimit, s.FailedAuthBurst)
	s.notifyLimits = newLimiter(s.NotifyRateLimit, int(2*s.NotifyRateLimit))
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	m.HandleFunc("GET /readyz", s.readyz)
	// The API reference, rendered from the same document the tests check
	// every exchange against (package apidoc); / leads to it.
	docs := apidoc.Handler()
	m.Handle("GET /openapi.json", docs)
	m.Handle("GET /docs", docs)
	m.Handle("GET /docs/style.css", docs)
	m.Handle("GET /{$}", http.RedirectHandler("/docs", http.StatusFound))

	m.HandleFunc("POST /v1/charges", s.authed(s.createCharge))
	m.HandleFunc("GET /v1/charges", s.authed(s.listCharges))
	m.HandleFunc("GET /v1/charges/{id}", s.authed(s.getCharge))
	m.HandleFunc("POST /v1/charges/{id}/reverse", s.authed(s.reverseCharge))
	m.HandleFunc("POST /v1/charges/{id}/capture", s.authed(s.captureCharge))
	m.HandleFunc("POST /v1/charges/{id}/risk_review", s.authed(s.reviewCharge))
	m.HandleFunc("POST /v1/charges/{id}/refunds", s.authed(s.createRefund))
	m.HandleFunc("GET /v1/charges/{id}/refunds", s.authed(s.listRefunds))
	m.HandleFunc("GET /v1/charges/{id}/refunds/{rid}", s.authed(s.getRefund))
	m.HandleFunc("GET /v1/events/{id}", s.authed(s.getEvent))
	m.HandleFunc("POST /v1/webhook_endpoints", s.authed(s.createWebhookEndpoint))
	m.HandleFunc("GET /v1/webhook_endpoints", s.authed(s.listWebhookEndpoints))
	m.HandleFunc("GET /v1/webhook_endpoints/public_key", s.authed(s.webhookPublicKey))
	m.HandleFunc("GET /v1/reply_public_key", s.authed(s.replyPublicKey))
	m.HandleFunc("DELETE /v1/webhook_endpoints/{id}", s.authed(s.deleteWebhookEndpoint))
	m.HandleFunc("POST /v1/test/charges/{id}/pay", s.authed(s.testPay))
	m.HandleFunc("POST /v1/test/agreements/{id}/sign", s.authed(s.testAgreement(true)))
	m.HandleFunc("POST /v1/test/agreements/{id}/terminate", s.authed(s.testAgreement(false)))
	m.HandleFunc("POST /v1/orders", s.authed(s.createOrder))
	m.HandleFunc("GET /v1/orders/{id}", s.authed(s.getOrder))
	m.HandleFunc("GET /v1/orders/{id}/charges", s.authed(s.listOrderCharges))
	m.HandleFunc("POST /v1/apps/{app}/discounts", s.authed(s.createDiscount))
	m.HandleFunc("GET /v1/apps/{app}/discounts", s.authed(s.listDiscounts))
	m.HandleFunc("DELETE /v1/apps/{app}/discounts/{id}", s.authed(s.deleteDiscount))
	m.HandleFunc("POST /v1/apps/{app}/cashier_settings", s.authed(s.setCashierSettings))
	m.HandleFunc("GET /v1/apps/{app}/cashier_settings", s.authed(s.getCashierSettings))
	m.HandleFunc("POST /v1/apps/{app}/settings", s.authed(s.setAppSettings))
	m.HandleFunc("GET /v1/apps/{app}/settings", s.authed(s.getAppSettings))
	m.HandleFunc("POST /v1/apps/{app}/card_settings", s.authed(s.setCardSettings))
	m.HandleFunc("GET /v1/apps/{app}/card_settings", s.authed(s.getCardSettings))
	m.HandleFunc("OPTIONS /v1/tokens", s.vaultPreflight)
	m.HandleFunc("POST /v1/tokens", s.vaultAuthed(s.vaultRoute(s.createToken)))
	m.HandleFunc("GET /v1/tokens/{id}", s.authed(s.vaultRoute(s.getToken)))
	m.HandleFunc("POST /v1/customers", s.authed(s.vaultRoute(s.createCustomer)))
	m.HandleFunc("GET /v1/customers", s.authed(s.vaultRoute(s.listCustomers)))
	m.HandleFunc("GET /v1/customers/{id}", s.authed(s.vaultRoute(s.getCustomer)))
	m.HandleFunc("PUT /v1/customers/{id}", s.authed(s.vaultRoute(s.updateCustomer)))
	m.HandleFunc("DELETE /v1/customers/{id}", s.authed(s.vaultRoute(s.deleteCustomer)))
	m.HandleFunc("POST /v1/customers/{id}/sources", s.authed(s.vaultRoute(s.createSource)))
	m.HandleFunc("GET /v1/customers/{id}/sources", s.authed(s.vaultRoute(s.listSources)))
	m.HandleFunc("GET /v1/customers/{id}/sources/{card}", s.authed(s.vaultRoute(s.getSource)))
	m.HandleFunc("DELETE /v1/customers/{id}/sources/{card}", s.authed(s.vaultRoute(s.deleteSource)))
	m.HandleFunc("GET /v1/apps/{app}/reports/daily", s.authed(s.dailyReport))
	if s.Cashier != nil {
		m.Handle("/cashier/", s.Cashier)
		m.Handle("GET /cashier.js", s.Cashier) // the popup script merchants include
		m.Handle("/demo", s.Cashier)
		m.Handle("/demo/", s.Cashier)
		m.Handle("/qr/", s.Cashier) // the shop's QR code pages
	}
	// polypay's browser wallet for offline payment codes (package wallet).
	m.Handle("/wallet/", wallet.Handler())
	m.Handle("GET /wallet", wallet.Handler())
	m.HandleFunc("POST /v1/apps/{app}/routes", s.authed(s.setRoutes))
	m.HandleFunc("GET /v1/apps/{app}/routes", s.authed(s.listRoutes))
	m.HandleFunc("GET /v1/channels/health", s.authed(s.channelHealth))
	s.riskRoutes(m)
	s.payoutRoutes(m)
	s.accountRoutes(m)
	s.orderRoutes(m)
	s.couponRoutes(m)
	s.agreementRoutes(m)
	s.subAppRoutes(m)
	s.royaltyRoutes(m)
	s.merchantRoutes(m)
	s.appAuthRoutes(m)
	m.HandleFunc("POST /v1/identification", s.authed(s.identify))
	s.subscriptionRoutes(m)
	s.paycodeRoutes(m)
	s.qrRoutes(m)
	s.withdrawalRoutes(m)
	m.HandleFunc("GET /v1/channels/sla", s.authed(s.channelSLA))
	if s.Credentials != nil {
		m.HandleFunc("POST /v1/apps/{app}/channels", s.authed(s.setChannel))
		m.HandleFunc("GET /v1/apps/{app}/channels/{channel}", s.authed(s.getChannel))
	}
	m.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &polypay.Error{Code: polypay.ENotFound, Param: "id", Message: "未找到资源: " + r.Method + " " + r.URL.Path})
	})

	m.HandleFunc("POST /notify/{family}/{app}/{mode}", s.notify)
	if s.Sandbox != nil {
		m.Handle("/sim/", s.Sandbox.Handler())
	}
	s.mux = m
	return s.middleware(m)
}

// Drain makes /readyz fail so load balancers stop sending new requests
// while in-flight ones finish.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.Ping(ctx); err != nil {
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyCaller
	keyState
)

// reqState is what the middleware learns about a request while it is
// served: whether it authenticated (only then is the reply signed, so an
// anonymous client cannot make polypay spend an RSA signature, or sign a
// body of its choosing).
type reqState struct {
	authed bool
	lang   polypay.Lang // the app's error_language, once authenticated (errlang.go)
}

func markAuthenticated(r *http.Request) {
	if st, ok := r.Context().Value(keyState).(*reqState); ok {
		st.authed = true
	}
}

func authenticated(r *http.Request) bool {
	st, ok := r.Context().Value(keyState).(*reqState)
	return ok && st.authed
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(keyRequestID).(string)
	return id
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (flushing and
// deadlines for the cashier's Server-Sent Events).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.ResponseWriter.Write(b)
}

// middleware gives every request an id (iar_..., as Ping++ events carry)
// and one structured log line. Headers and bodies are never logged: they
// carry keys and customer data.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := polypay.NewID("iar_")
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		ctx = context.WithValue(ctx, keyState, &reqState{})
		ctx, span := startSpan(ctx, r, id)
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("X-Request-Id", id)
		r2 := r.WithContext(ctx)
		next.ServeHTTP(sw, r2) // the mux sets r2.Pattern
		endSpan(span, r2, sw.status, time.Since(start))
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			return
		}
		s.Log.Info("request", "request_id", id, "method", r.Method, "route", r2.Pattern, "path", logPath(r.URL.Path),
			"status", sw.status, "duration_ms", float64(time.Since(start).Microseconds())/1000)
	})
}

// writeJSON sends an API reply. Ping++'s Node SDK only writes its request
// after a fresh connect, so API replies close the connection (spec §1.9).
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := wire.Marshal(v)
	if err != nil {
		s.Log.Error("encoding reply", "request_id", requestID(r), "err", err)
		status, b = 500, []byte(`{"error":{"type":"api_error","message":"服务器内部错误"}}`)
	}
	s.writeRaw(w, r, status, b)
}

// writeRaw sends a reply body; only authenticated requests' replies are
// signed.
func (s *Server) writeRaw(w http.ResponseWriter, r *http.Request, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Connection", "close")
	if s.SignResponses && s.ReplySigner != nil && authenticated(r) {
		h.Set(webhook.SignatureHeader, s.ReplySigner.Sign(b))
	}
	w.WriteHeader(status)
	w.Write(b)
}

func maskKey(k string) string {
	if len(k) <= 12 {
		return "***"
	}
	return k[:8] + "***" + k[len(k)-4:]
}

// bearerKey extracts the secret key from Basic (NODE, GO) or Bearer (PHP,
// JAVA, PY) authorization.
func bearerKey(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if v, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(v)
	}
	if v, ok := strings.CutPrefix(h, "Basic "); ok {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			return ""
		}
		user, _, _ := strings.Cut(string(raw), ":")
		return user
	}
	return ""
}

type authedHandler func(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error

// authed authenticates the secret key, reads the (bounded) body, checks the
// request signature when the app registered a key, and turns the handler's
// error into a Ping++ error reply.
func (s *Server) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, raw, err := s.authenticate(w, r)
		if err == nil {
			err = h(w, r, who, raw)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	}
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (core.Caller, []byte, error) {
	key := bearerKey(r)
	ip := s.peerIP(r)
	// A client address that keeps failing to authenticate is refused
	// before any store lookup (guessing keys costs a token each, and
	// made-up keys never reach the per-key limiter); a key known to be
	// good still passes, so an attacker behind a merchant's NAT does not
	// lock the merchant out.
	if s.authFails.Exhausted(ip) {
		if _, ok := s.keys.cached(core.KeyHash(key)); !ok {
			return core.Caller{}, nil, &polypay.Error{Code: polypay.ERateLimited, Message: "认证失败次数过多，请稍后重试"}
		}
	}
	fail := func(e *polypay.Error) (core.Caller, []byte, error) {
		s.authFails.Allow(ip)
		return core.Caller{}, nil, e
	}
	if key == "" {
		return fail(&polypay.Error{Code: polypay.EUnauthorized, Message: "未提供 API KEY，请在 Authorization 头中以 HTTP Basic（sk_...:）或 Bearer 方式提供 Secret Key。"})
	}
	badKey := polypay.Errorf(polypay.EUnauthorized, "提供了无效的 API KEY: %s。", maskKey(key))
	if !strings.HasPrefix(key, "sk_test_") && !strings.HasPrefix(key, "sk_live_") || len(key) > 128 {
		return fail(badKey)
	}
	hash := core.KeyHash(key)
	who, err := s.keys.lookup(r.Context(), s.DB, hash)
	who.RequestID = requestID(r)
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return fail(badKey)
	}
	if err != nil {
		return who, nil, err
	}
	noteAppLanguage(r, who.App)
	if !s.limits.Allow(hash) {
		// Ping++'s SDKs map 429 to a rate-limit error (PHP, JAVA) or an API
		// error (PY); NODE maps by type.
		return who, nil, &polypay.Error{Code: polypay.ERateLimited, Message: "请求过于频繁，请稍后重试"}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return who, nil, &polypay.Error{Code: polypay.ETooLarge, Message: "请求体不能超过 1 MiB"}
		}
		return who, nil, polypay.ParamError("", "读取请求体失败")
	}
	if who.App.RequestPublicKey != "" {
		if err := s.checkRequestSignature(r, raw, who.App.RequestPublicKey); err != nil {
			return fail(err.(*polypay.Error))
		}
	}
	if who, err = s.actFor(r.Context(), r, who, raw); err != nil {
		return who, nil, err
	}
	markAuthenticated(r)
	return who, raw, nil
}

// maxLoggedPath bounds the path in a log line: the path is the client's
// text, and a log must not grow by what a client chooses to send.
const maxLoggedPath = 160

func logPath(p string) string {
	if len(p) > maxLoggedPath {
		p = strings.ToValidUTF8(p[:maxLoggedPath], "") + "…"
	}
	return redactDigits(p)
}
