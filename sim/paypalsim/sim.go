// Package paypalsim is a stateful simulator of PayPal's REST API: OAuth
// client credentials, Orders v2 (create, get, patch, authorize, capture),
// Payments v2 (authorizations, captures, refunds), webhooks (registration,
// signed deliveries with PayPal's retries, verify-webhook-signature),
// transaction search, and the buyer's approval page.
//
// It is what the paypal connector and merchants' own PayPal SDKs talk to in
// test mode. Requests need a bearer token from POST /v1/oauth2/token
// (Basic client_id:secret); errors have PayPal's shapes (name, message,
// debug_id, details[issue]; OAuth's error/error_description); a
// PayPal-Request-Id on a POST replays the first answer for that id.
//
// Webhook deliveries are signed as PayPal signs them: SHA256withRSA over
// "<transmission_id>|<transmission_time>|<webhook_id>|<crc32(body)>", with
// the sim's key, whose self-signed certificate is served at the
// PAYPAL-CERT-URL. verify-webhook-signature checks exactly that.
//
// Buyers are played by Pay and PayAs (tests) or by a person at the
// approval page (GET <URL>/checkoutnow?token=<order id>). Sandbox buyers:
// BuyerEmail pays; DeclinedEmail's funding is declined, so capturing
// (or authorizing) their approved order gives a DECLINED capture (DENIED
// authorization). Unapproved and uncaptured orders expire OrderTTL after
// creation, lazily, when next looked at: GET then answers 404.
//
// State lives in memory behind one mutex and is lost on restart.
package paypalsim

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// Merchant is a merchant's REST app as the sim knows it.
type Merchant struct {
	ClientID   string
	Secret     string
	MerchantID string // the merchant account's payer id
	Email      string
}

// Options configures a Sim.
type Options struct {
	// URL is where browsers and API clients reach the sim (the approval
	// link, webhook certificate URL and HATEOAS links start with it).
	URL string
	// Merchant returns a REST app by client id; unknown ones get 401.
	// Never called with the sim's lock held.
	Merchant func(clientID string) (*Merchant, bool)
	// PrivateKey signs webhooks; a fresh 2048-bit key when nil.
	PrivateKey *rsa.PrivateKey
	HTTPClient *http.Client
	Now        func() time.Time
	// Retry is the gap before each webhook retry after a non-2xx answer;
	// nil means DefaultRetry, an empty non-nil slice disables retries.
	Retry  []time.Duration
	Logger *slog.Logger
}

// DefaultRetry approximates PayPal's documented behaviour, "up to 25
// times over the course of 3 days" [S for the individual gaps]: 25 retries,
// growing from 1 minute to 3 hours, about 2.9 days in all.
var DefaultRetry = func() []time.Duration {
	g := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute,
		32 * time.Minute, time.Hour, 2 * time.Hour}
	for len(g) < 25 {
		g = append(g, 3*time.Hour)
	}
	return g
}()

// OrderTTL is how long an order may wait for approval and capture.
const OrderTTL = 3 * time.Hour

// Sandbox buyers.
const (
	BuyerEmail    = "buyer@example.com"
	DeclinedEmail = "declined@example.com"
	BuyerPassword = "sandbox123"
)

var buyers = map[string]struct{ payerID, name string }{
	BuyerEmail:    {"QYR5Z8XDVJNXQ", "Sandbox Buyer"},
	DeclinedEmail: {"D3CL1N3DBUY3R", "Declined Buyer"},
}

// Sim is the simulated PayPal API; it is an http.Handler.
type Sim struct {
	url      string
	merchant func(string) (*Merchant, bool)
	key      *rsa.PrivateKey
	cert     []byte // PEM
	certName string
	now      func() time.Time
	log      *slog.Logger
	mux      *http.ServeMux

	// bg runs the webhook deliveries and their retries; Close stops them.
	bg         simkit.Group
	notifier   *simkit.Notifier
	deliveries simkit.Deliveries[Delivery] // by charge id

	idemMu sync.Mutex
	idem   map[string]*idemEntry

	mu       sync.Mutex
	tokens   map[string]token
	orders   map[string]*order
	auths    map[string]*auth
	captures map[string]*capture
	refunds  map[string]*refund
	webhooks map[string]*webhook // by id
	txns     map[string][]txn    // by merchant id
}

type token struct {
	clientID string
	expires  time.Time
}

type idemEntry struct {
	mu     sync.Mutex
	done   bool
	status int
	header http.Header
	body   []byte
}

// New builds a simulator.
func New(o Options) *Sim {
	s := &Sim{url: strings.TrimRight(o.URL, "/"), merchant: o.Merchant, key: o.PrivateKey,
		now: o.Now, log: o.Logger, idem: map[string]*idemEntry{}, tokens: map[string]token{},
		orders: map[string]*order{}, auths: map[string]*auth{}, captures: map[string]*capture{}, refunds: map[string]*refund{},
		webhooks: map[string]*webhook{}, txns: map[string][]txn{}}
	if s.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		s.key = k
	}
	if s.merchant == nil {
		s.merchant = func(string) (*Merchant, bool) { return nil, false }
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.notifier = simkit.NewNotifier(&s.bg, simkit.NotifierOptions{Name: "paypalsim", Acked: simkit.Acked2xx,
		Retry: o.Retry, DefaultRetry: DefaultRetry, Client: o.HTTPClient, Timeout: 30 * time.Second, Now: s.now, Log: s.log})
	s.cert, s.certName = selfSignedCert(s.key)
	s.routes()
	return s
}

// Close stops pending webhook retries.
func (s *Sim) Close() { s.bg.Close() }

// SetURL changes where the sim says it is reachable (tests that learn the
// address after New).
func (s *Sim) SetURL(u string) {
	s.mu.Lock()
	s.url = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

func (s *Sim) baseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

func (s *Sim) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/oauth2/token", s.handleToken)
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request, m *Merchant)) {
		m.HandleFunc(pattern, s.authed(h))
	}
	api("POST /v2/checkout/orders", s.createOrder)
	api("GET /v2/checkout/orders/{id}", s.getOrder)
	api("PATCH /v2/checkout/orders/{id}", s.patchOrder)
	api("POST /v2/checkout/orders/{id}/authorize", s.completeOrder)
	api("POST /v2/checkout/orders/{id}/capture", s.completeOrder)
	api("GET /v2/payments/authorizations/{id}", s.getAuthorization)
	api("POST /v2/payments/authorizations/{id}/capture", s.captureAuthorization)
	api("POST /v2/payments/authorizations/{id}/void", s.voidAuthorization)
	api("GET /v2/payments/captures/{id}", s.getCapture)
	api("POST /v2/payments/captures/{id}/refund", s.refundCapture)
	api("GET /v2/payments/refunds/{id}", s.getRefund)
	api("POST /v1/notifications/webhooks", s.createWebhook)
	api("GET /v1/notifications/webhooks", s.listWebhooks)
	api("POST /v1/notifications/verify-webhook-signature", s.verifyWebhook)
	api("GET /v1/reporting/transactions", s.transactions)
	m.HandleFunc("GET /v1/notifications/certs/{name}", s.serveCert)
	m.HandleFunc("GET /checkoutnow", s.checkoutPage)
	m.HandleFunc("POST /checkoutnow", s.checkoutSubmit)
	s.mux = m
}

// ServeHTTP serves the API. Mount it with http.StripPrefix.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	s.mux.ServeHTTP(w, r)
}

// handleToken is POST /v1/oauth2/token (client credentials).
func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	m, known := (*Merchant)(nil), false
	if ok {
		m, known = s.merchant(id)
	}
	if !ok || !known || m.Secret != secret || m.ClientID != id {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client Authentication failed"})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "Grant Type is NULL or not client_credentials"})
		return
	}
	tok := "A21AA" + randomToken(60)
	s.mu.Lock()
	s.tokens[tok] = token{clientID: id, expires: s.now().Add(9 * time.Hour)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"scope":        "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund https://uri.paypal.com/services/reporting/search/read https://uri.paypal.com/services/applications/webhooks",
		"access_token": tok, "token_type": "Bearer", "app_id": "APP-" + strings.ToUpper(randomToken(17)),
		"expires_in": 32400, "nonce": s.now().UTC().Format(time.RFC3339) + randomToken(20),
	})
}

// authed checks the bearer token and applies PayPal-Request-Id replay to
// POSTs.
func (s *Sim) authed(h func(w http.ResponseWriter, r *http.Request, m *Merchant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		t, known := s.tokens[tok]
		s.mu.Unlock()
		if !ok || !known || s.now().After(t.expires) {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"name": "AUTHENTICATION_FAILURE",
				"message": "Authentication failed due to invalid authentication credentials or a missing Authorization header.",
				"links":   []map[string]string{{"href": "https://developer.paypal.com/docs/api/overview/#error", "rel": "information_link"}}})
			return
		}
		m, known := s.merchant(t.clientID)
		if !known {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "The client is no longer known"})
			return
		}
		reqID := r.Header.Get("PayPal-Request-Id")
		if r.Method != http.MethodPost || reqID == "" {
			h(w, r, m)
			return
		}
		key := m.ClientID + " " + r.URL.Path + " " + reqID
		s.idemMu.Lock()
		e := s.idem[key]
		if e == nil {
			e = &idemEntry{}
			s.idem[key] = e
		}
		s.idemMu.Unlock()
		// One request per id at a time: a concurrent repeat waits for the
		// first answer and gets it.
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.done {
			for k, v := range e.header {
				w.Header()[k] = v
			}
			w.WriteHeader(e.status)
			w.Write(e.body)
			return
		}
		rec := &recorder{header: http.Header{}}
		h(rec, r, m)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		w.Write(rec.body.Bytes())
		if rec.status < 500 {
			e.done, e.status, e.header, e.body = true, rec.status, rec.header, rec.body.Bytes()
		}
	}
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Paypal-Debug-Id", debugID())
	w.WriteHeader(status)
	w.Write(b)
}

// apiError writes PayPal's error body. status picks the name and message.
func apiError(w http.ResponseWriter, status int, issue, description, field string) {
	names := map[int][2]string{
		400: {"INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."},
		403: {"NOT_AUTHORIZED", "Authorization failed due to insufficient permissions."},
		404: {"RESOURCE_NOT_FOUND", "The specified resource does not exist."},
		422: {"UNPROCESSABLE_ENTITY", "The requested action could not be performed, semantically incorrect, or failed business validation."},
	}
	n := names[status]
	detail := map[string]string{"issue": issue, "description": description}
	if field != "" {
		detail["field"], detail["location"] = field, "body"
	}
	writeJSON(w, status, map[string]any{"name": n[0], "message": n[1], "debug_id": debugID(),
		"details": []map[string]string{detail},
		"links":   []map[string]string{{"href": "https://developer.paypal.com/docs/api/orders/v2/#error-" + issue, "rel": "information_link", "method": "GET"}}})
}

func notFound(w http.ResponseWriter) {
	apiError(w, http.StatusNotFound, "INVALID_RESOURCE_ID", "Specified resource ID does not exist. Please check the resource ID and try again.", "")
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		apiError(w, http.StatusBadRequest, "MALFORMED_REQUEST_JSON", "The request body could not be read.", "")
		return false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return true // optional bodies (authorize, capture, void)
	}
	if err := json.Unmarshal(b, v); err != nil {
		apiError(w, http.StatusBadRequest, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.", "")
		return false
	}
	return true
}

// representation reports whether the client asked for the full resource.
func representation(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Prefer"), "return=representation")
}

const idAlphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// newID makes a PayPal-style id: 17 upper-case letters and digits.
func newID() string {
	b := make([]byte, 17)
	rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func debugID() string {
	b := make([]byte, 7)
	rand.Read(b)
	return hex.EncodeToString(b)[:13]
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
