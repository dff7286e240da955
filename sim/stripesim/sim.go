// Package stripesim is a stateful simulator of the part of Stripe's API
// (https://api.stripe.com) that polypay's card connector uses, for test
// mode: PaymentMethods (cards and Apple Pay tokens), PaymentIntents with
// 3-D Secure, manual capture and cancel, refunds, balance transactions with
// fees, webhook endpoints and signed webhook events. It answers exactly as
// Stripe's API does for the official stripe-go SDK: form-encoded bodies with
// Stripe's bracket syntax, Bearer secret-key auth per account, Stripe's
// error JSON, Idempotency-Key replay (errors included), Stripe-Should-Retry.
//
// The test cards are listed in cards.go. Customers are played by the ACS
// page (a browser completes a 3-D Secure challenge with the code 123456)
// or by Pay in tests.
//
// Webhook events are signed with the account's whsec secret
// (Stripe-Signature: t=...,v1=hex(HMAC-SHA256(secret, "t.body"))) and sent
// to every webhook endpoint registered with POST /v1/webhook_endpoints
// whose enabled_events match; unacknowledged deliveries (anything but 2xx)
// are retried on DefaultRetry (exponential back-off over about three days,
// scaled by Options.Retry). The simulator gives every endpoint of an
// account the account's webhook secret, so that connectors configured with
// it verify every endpoint's events.
//
// All state lives in memory behind one mutex: it is per process and lost
// on restart, like a test-mode account that was reset.
package stripesim

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// APIVersion is the API version the simulator speaks and stamps on events
// by default (the one stripe-go v85 pins).
const APIVersion = "2026-03-25.dahlia"

// Account is a Stripe test-mode account as the sim knows it.
type Account struct {
	ID            string // acct_...
	SecretKey     string // sk_test_...
	WebhookSecret string // whsec_...
}

// Options configures a Sim.
type Options struct {
	// Account returns an account by id; sandbox secret keys name their
	// account (see AccountFromKey). Never called with the sim's lock held.
	Account func(id string) (*Account, bool)
	// PublicURL is where browsers reach this simulator (the ACS pages);
	// default http://<Host of the API request><MountPath>.
	PublicURL string
	MountPath string
	// HTTPClient delivers webhooks; default has a 10 s timeout.
	HTTPClient *http.Client
	Now        func() time.Time
	// Retry is the gap before each webhook retry; nil means DefaultRetry,
	// an empty non-nil slice disables retries.
	Retry []time.Duration
	// EventDelay is how long after the API answer the first delivery of
	// an event starts (Stripe delivers asynchronously). Default 100 ms.
	EventDelay time.Duration
	// SlowDelay is how long the slow test card takes to answer.
	// Default 35 s, beyond stripe-go's and polypay's timeouts.
	SlowDelay time.Duration
	Logger    *slog.Logger
}

// DefaultRetry approximates Stripe's documented webhook retry policy
// ("up to three days with an exponential back off" in live mode): gaps
// doubling from one minute, 12 retries over 68 hours.
var DefaultRetry = func() []time.Duration {
	out := make([]time.Duration, 12)
	for i := range out {
		out[i] = time.Minute << i
	}
	return out
}()

// Sim is the simulated Stripe API; it is an http.Handler.
type Sim struct {
	opts Options
	now  func() time.Time
	log  *slog.Logger
	mux  *http.ServeMux

	// bg runs the webhook deliveries, their retries and the failing
	// refunds; Close stops them.
	bg         simkit.Group
	notifier   *simkit.Notifier
	deliveries simkit.Deliveries[Delivery] // by account id

	mu       sync.Mutex
	accounts map[string]*state
	// failing accounts answer every PaymentIntent create with a 500
	// api_error before creating anything (a processor outage on the write
	// path while reads still work).
	failing map[string]bool
}

// FailCreates makes an account's PaymentIntent creates fail with HTTP 500
// (api_error) without creating anything, until called with false.
func (s *Sim) FailCreates(accountID string, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing == nil {
		s.failing = map[string]bool{}
	}
	s.failing[accountID] = fail
}

// New builds a simulator.
func New(o Options) *Sim {
	s := &Sim{opts: o, now: o.Now, log: o.Logger, accounts: map[string]*state{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.notifier = simkit.NewNotifier(&s.bg, simkit.NotifierOptions{Name: "stripesim", Acked: simkit.Acked2xx,
		Retry: o.Retry, DefaultRetry: DefaultRetry, Client: o.HTTPClient, Now: s.now, Log: s.log})
	if s.opts.EventDelay == 0 {
		s.opts.EventDelay = 100 * time.Millisecond
	}
	if s.opts.SlowDelay == 0 {
		s.opts.SlowDelay = 35 * time.Second
	}
	m := http.NewServeMux()
	api := func(pattern string, h func(*call) (int, any)) { m.HandleFunc(pattern, s.api(h)) }
	api("POST /v1/payment_methods", s.createPaymentMethod)
	api("GET /v1/payment_methods/{id}", s.getPaymentMethod)
	api("POST /v1/payment_methods/{id}/detach", s.detachPaymentMethod)
	api("POST /v1/tokens", s.createToken)
	api("POST /v1/customers", s.createCustomer)
	api("GET /v1/customers/{id}", s.getCustomer)
	api("POST /v1/setup_intents", s.createSetupIntent)
	api("GET /v1/setup_intents", s.listSetupIntents)
	api("GET /v1/setup_intents/{id}", s.getSetupIntent)
	api("POST /v1/setup_intents/{id}/cancel", s.cancelSetupIntent)
	api("POST /v1/payment_intents", s.createPaymentIntent)
	api("GET /v1/payment_intents/search", s.searchPaymentIntents)
	api("GET /v1/payment_intents/{id}", s.getPaymentIntent)
	api("POST /v1/payment_intents/{id}/capture", s.capturePaymentIntent)
	api("POST /v1/payment_intents/{id}/cancel", s.cancelPaymentIntent)
	api("POST /v1/refunds", s.createRefund)
	api("GET /v1/refunds", s.listRefunds)
	api("GET /v1/refunds/{id}", s.getRefund)
	api("GET /v1/balance_transactions", s.listBalanceTransactions)
	api("POST /v1/webhook_endpoints", s.createWebhookEndpoint)
	api("GET /v1/webhook_endpoints", s.listWebhookEndpoints)
	m.HandleFunc("GET /acs/{id}", s.acsPage)
	m.HandleFunc("POST /acs/{id}", s.acsSubmit)
	m.HandleFunc("GET /return", s.returnPage)
	s.mux = m
	return s
}

// Close stops webhook retries and waits for deliveries under way.
func (s *Sim) Close() { s.bg.Close() }

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// AccountFromKey returns the account id a sandbox secret key names:
// sandbox keys are "sk_test_" + the 16 characters after "acct_" + a random
// tail, so the sim can find the account without a key index.
func AccountFromKey(key string) string {
	rest, ok := strings.CutPrefix(key, "sk_test_")
	if !ok || len(rest) < 16 {
		return ""
	}
	return "acct_" + rest[:16]
}

// NewAccount makes fresh sandbox credentials.
func NewAccount() Account {
	id := randomString(16)
	return Account{ID: "acct_" + id, SecretKey: "sk_test_" + id + randomString(40), WebhookSecret: "whsec_" + randomString(32)}
}

// state is one account's objects.
type state struct {
	acct       Account
	pms        map[string]*paymentMethod
	tokens     map[string]*paymentMethod // tok_ -> card it stands for
	customers  map[string]*customer
	setis      map[string]*setupIntent
	setiOrder  []string
	pis        map[string]*paymentIntent
	piOrder    []string
	charges    map[string]*charge
	refunds    map[string]*refund
	refundList []string
	bts        []*balanceTransaction
	endpoints  []*webhookEndpoint
	idem       map[string]*idemEntry
}

type idemEntry struct {
	route    string
	hash     string
	done     bool
	status   int
	body     []byte
	inFlight bool
}

// call is one authenticated API request.
type call struct {
	r    *http.Request
	st   *state
	form url.Values
}

// apiErr is Stripe's error object (also last_payment_error).
type apiErr struct {
	Type          string         `json:"type"`
	Code          string         `json:"code,omitempty"`
	DeclineCode   string         `json:"decline_code,omitempty"`
	Message       string         `json:"message"`
	Param         string         `json:"param,omitempty"`
	Charge        string         `json:"charge,omitempty"`
	DocURL        string         `json:"doc_url,omitempty"`
	PaymentIntent any            `json:"payment_intent,omitempty"`
	PaymentMethod *paymentMethod `json:"payment_method,omitempty"`
	RequestLogURL string         `json:"request_log_url,omitempty"`
}

type errBody struct {
	Error *apiErr `json:"error"`
}

func invalid(param, format string, args ...any) (int, any) {
	return 400, errBody{&apiErr{Type: "invalid_request_error", Param: param, Message: sprintf(format, args...)}}
}

func invalidCode(code, param, format string, args ...any) (int, any) {
	return 400, errBody{&apiErr{Type: "invalid_request_error", Code: code, Param: param, Message: sprintf(format, args...)}}
}

func notFound(kind, id string) (int, any) {
	return 404, errBody{&apiErr{Type: "invalid_request_error", Code: "resource_missing", Param: "id",
		Message: sprintf("No such %s: '%s'", kind, id)}}
}

// api wraps a handler with Stripe's authentication, form parsing and
// idempotency. A write with an Idempotency-Key stores its first answer
// (errors and 500s included, as Stripe does) and replays it for the same
// parameters; other parameters are an idempotency_error, and a request
// arriving while the first is still running gets 409 idempotency_key_in_use.
func (s *Sim) api(h func(*call) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Request-Id", "req_"+randomString(14))
		st, status, body := s.authenticate(r)
		if st == nil {
			writeJSON(w, status, body)
			return
		}
		var form url.Values
		if r.Method == http.MethodPost {
			raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err == nil {
				form, err = url.ParseQuery(string(raw))
			}
			if err != nil {
				writeJSON(w, 400, errBody{&apiErr{Type: "invalid_request_error", Message: "Invalid request body: could not parse form data"}})
				return
			}
		} else {
			form = r.URL.Query()
		}
		c := &call{r: r, st: st, form: form}
		s.mu.Lock()
		failing := s.failing[st.acct.ID] && r.Method == http.MethodPost && r.URL.Path == "/v1/payment_intents"
		s.mu.Unlock()
		if failing {
			writeJSON(w, 500, errBody{&apiErr{Type: "api_error", Message: "An unknown error occurred on Stripe's end (simulated outage)."}})
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || key == "" {
			status, body := h(c)
			writeJSON(w, status, body)
			return
		}
		if len(key) > 255 {
			writeJSON(w, 400, errBody{&apiErr{Type: "invalid_request_error", Message: "Idempotency-Key must be 255 characters or fewer"}})
			return
		}
		route, hash := r.Method+" "+r.URL.Path, formHash(form)
		s.mu.Lock()
		e := st.idem[key]
		switch {
		case e != nil && (e.route != route || e.hash != hash):
			s.mu.Unlock()
			w.Header().Set("Stripe-Should-Retry", "false")
			writeJSON(w, 400, errBody{&apiErr{Type: "idempotency_error", Message: sprintf(
				"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", key)}})
			return
		case e != nil && e.inFlight:
			s.mu.Unlock()
			w.Header().Set("Stripe-Should-Retry", "true")
			writeJSON(w, 409, errBody{&apiErr{Type: "idempotency_error", Code: "idempotency_key_in_use",
				Message: "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): " + key + ". Please try again later."}})
			return
		case e != nil:
			s.mu.Unlock()
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Original-Request", "req_replayed")
			if e.status >= 500 {
				// Retrying the same key can only replay the same failure.
				w.Header().Set("Stripe-Should-Retry", "false")
			}
			writeRaw(w, e.status, e.body)
			return
		}
		e = &idemEntry{route: route, hash: hash, inFlight: true}
		st.idem[key] = e
		s.mu.Unlock()
		status, body = h(c)
		b, _ := json.Marshal(body)
		s.mu.Lock()
		if status == 400 || status == 401 || status == 404 {
			// Stripe saves no result when validation fails before the
			// endpoint ran: the key can be used again.
			if !isCardOrState(body) {
				delete(st.idem, key)
			} else {
				e.inFlight, e.done, e.status, e.body = false, true, status, b
			}
		} else {
			e.inFlight, e.done, e.status, e.body = false, true, status, b
		}
		s.mu.Unlock()
		writeRaw(w, status, b)
	}
}

// isCardOrState tells errors raised by the endpoint's own logic (stored
// under the key) from parameter validation (not stored).
func isCardOrState(body any) bool {
	eb, ok := body.(errBody)
	if !ok || eb.Error == nil {
		return true
	}
	return eb.Error.Type == "card_error" || eb.Error.Code == "payment_intent_unexpected_state" ||
		eb.Error.Code == "charge_already_refunded" || eb.Error.Code == "amount_too_large"
}

func (s *Sim) authenticate(r *http.Request) (*state, int, any) {
	key := ""
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		key = strings.TrimSpace(strings.TrimPrefix(a, "Bearer "))
	} else if u, _, ok := r.BasicAuth(); ok {
		key = u
	}
	if key == "" {
		return nil, 401, errBody{&apiErr{Type: "invalid_request_error",
			Message: "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."}}
	}
	bad := func() (*state, int, any) {
		return nil, 401, errBody{&apiErr{Type: "invalid_request_error", Code: "api_key_invalid",
			Message: "Invalid API Key provided: " + maskKey(key)}}
	}
	if strings.HasPrefix(key, "sk_live_") || strings.HasPrefix(key, "rk_live_") {
		return bad()
	}
	id := AccountFromKey(key)
	if id == "" || s.opts.Account == nil {
		return bad()
	}
	acct, ok := s.opts.Account(id)
	if !ok || acct == nil || subtle.ConstantTimeCompare([]byte(acct.SecretKey), []byte(key)) != 1 {
		return bad()
	}
	return s.state(*acct), 0, nil
}

// state returns an account's objects, creating them on first use and
// refreshing the account's secrets.
func (s *Sim) state(a Account) *state {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.accounts[a.ID]
	if st == nil {
		st = &state{pms: map[string]*paymentMethod{}, tokens: map[string]*paymentMethod{}, pis: map[string]*paymentIntent{},
			customers: map[string]*customer{}, setis: map[string]*setupIntent{},
			charges: map[string]*charge{}, refunds: map[string]*refund{}, idem: map[string]*idemEntry{}}
		s.accounts[a.ID] = st
	}
	st.acct = a
	return st
}

func maskKey(k string) string {
	if len(k) <= 12 {
		return "****"
	}
	return k[:8] + "*********" + k[len(k)-4:]
}

func formHash(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		for _, x := range v[k] {
			h.Write([]byte(k + "=" + x + "\x00"))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, _ := json.Marshal(body)
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Stripe-Version", APIVersion)
	w.WriteHeader(status)
	w.Write(b)
}

// unknownParams reports the first parameter not allowed, as Stripe does
// ("Received unknown parameter: x"). Allowed entries are exact names or
// prefixes ending in "[" (metadata[, expand[).
func unknownParams(form url.Values, allowed ...string) (string, bool) {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
next:
	for _, k := range keys {
		for _, a := range allowed {
			if k == a || strings.HasSuffix(a, "[") && strings.HasPrefix(k, a) {
				continue next
			}
		}
		return k, true
	}
	return "", false
}

// values collects a Stripe list parameter: name[0]=a&name[1]=b or name[]=a.
func values(form url.Values, name string) []string {
	type iv struct {
		i int
		v string
	}
	var out []iv
	for k, vs := range form {
		if k == name+"[]" {
			for _, v := range vs {
				out = append(out, iv{1 << 30, v})
			}
			continue
		}
		idx, ok := strings.CutPrefix(k, name+"[")
		if !ok || !strings.HasSuffix(idx, "]") {
			continue
		}
		n, err := atoi(strings.TrimSuffix(idx, "]"))
		if err != nil {
			continue
		}
		for _, v := range vs {
			out = append(out, iv{n, v})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].i < out[b].i })
	r := make([]string, len(out))
	for i, x := range out {
		r[i] = x.v
	}
	return r
}

// metadata collects metadata[k]=v.
func metadata(form url.Values) map[string]string {
	m := map[string]string{}
	for k, vs := range form {
		if key, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(key, "]") && len(vs) > 0 {
			m[strings.TrimSuffix(key, "]")] = vs[0]
		}
	}
	return m
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randomString(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alnum)))
	for i := range b {
		x, _ := rand.Int(rand.Reader, max)
		b[i] = alnum[x.Int64()]
	}
	return string(b)
}

// publicURL is where browsers reach the sim.
func (s *Sim) publicURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return strings.TrimRight(s.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.opts.MountPath
}
