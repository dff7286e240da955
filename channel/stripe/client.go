// Package stripe is the card connector on Stripe: it implements
// polypay.Channel, polypay.Authorizer and polypay.Statementer for the
// polypay channels "card" (a card from the vault) and "applepay" (an Apple
// Pay token through Stripe) on top of the official SDK
// (github.com/stripe/stripe-go/v85, API version 2026-03-25.dahlia), against
// the real API or the simulator (sim/stripesim).
//
// A charge is one PaymentIntent created and confirmed in one call with the
// PaymentMethod made from the card; every write carries an Idempotency-Key
// derived from polypay's ids, so repeating a call replays Stripe's first
// answer instead of charging twice. The PaymentIntent carries
// metadata[charge_id], by which it is found again when its id was lost.
package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay"
	sg "github.com/stripe/stripe-go/v85"
)

// Channel names served by this connector (polypay extensions: Ping++ has
// no Stripe channels).
const (
	ChannelCard     = "card"
	ChannelApplePay = "applepay"
)

// DefaultBaseURL is Stripe's API host.
const DefaultBaseURL = "https://api.stripe.com"

// Config holds one Stripe account's credentials.
type Config struct {
	AccountID     string // acct_..., the merchant id notifications are checked against
	SecretKey     string // sk_live_... or sk_test_...
	WebhookSecret string // whsec_..., the signing secret of the webhook endpoint
	// BaseURL is where the API is reached; "" means DefaultBaseURL.
	BaseURL    string
	HTTPClient *http.Client
	// Timeout bounds each API call (stripe-go's own retries included);
	// default 30 s. A call that runs out is reported as a transport error.
	Timeout time.Duration
	// MaxNetworkRetries is stripe-go's retry count for network errors,
	// 409 and 5xx (nil: stripe-go's default, 2).
	MaxNetworkRetries *int64
	// ReturnURL is where the cardholder's browser returns after a 3-D
	// Secure challenge when neither the request nor the charge's extra
	// names one.
	ReturnURL string
	// RegisterWebhook makes the connector ensure, once, that a webhook
	// endpoint for the notify URL it is given exists (sandbox accounts:
	// the simulator's endpoints are registered through the real API). Live
	// merchants register https://<polypay>/notify/stripe/<app>/live in
	// Stripe's dashboard themselves and paste its whsec secret.
	RegisterWebhook bool
	Logger          *slog.Logger
}

// Client is one Stripe account's connector for one channel.
type Client struct {
	channel string
	cfg     Config
	api     *sg.Client
	log     *slog.Logger

	mu       sync.Mutex
	webhooks map[string]bool // notify URLs known to have an endpoint
}

var (
	_ polypay.Channel     = (*Client)(nil)
	_ polypay.Authorizer  = (*Client)(nil)
	_ polypay.Statementer = (*Client)(nil)
)

// Events the connector handles and registers its endpoint for.
var Events = []string{
	"payment_intent.succeeded", "payment_intent.amount_capturable_updated", "payment_intent.payment_failed",
	"payment_intent.canceled", "charge.refunded", "refund.created", "refund.updated",
	"setup_intent.succeeded", "payment_method.detached",
}

// New builds the connector. EInvalid for another channel or credentials of
// the wrong shape.
func New(channel string, cfg Config) (*Client, error) {
	switch channel {
	case ChannelCard, ChannelApplePay:
	default:
		return nil, polypay.Errorf(polypay.EInvalid, "stripe: %q is not a Stripe channel", channel)
	}
	if !strings.HasPrefix(cfg.AccountID, "acct_") {
		return nil, polypay.Errorf(polypay.EInvalid, "stripe: account_id must start with acct_")
	}
	if !strings.HasPrefix(cfg.SecretKey, "sk_live_") && !strings.HasPrefix(cfg.SecretKey, "sk_test_") {
		return nil, polypay.Errorf(polypay.EInvalid, "stripe: secret_key must be a secret key (sk_live_... or sk_test_...)")
	}
	if !strings.HasPrefix(cfg.WebhookSecret, "whsec_") {
		return nil, polypay.Errorf(polypay.EInvalid, "stripe: webhook_secret must start with whsec_")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, polypay.Errorf(polypay.EInvalid, "stripe: base_url is not an http(s) URL")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 80 * time.Second}
	}
	if prefix := strings.TrimRight(u.Path, "/"); prefix != "" {
		// stripe-go refuses request paths not starting with /v1 or /v2:
		// it is given the host alone, and the path prefix (the simulator's
		// mount point) is added under it, on the wire.
		base = u.Scheme + "://" + u.Host
		cp := *hc
		rt := cp.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		cp.Transport = prefixTransport{prefix: prefix, rt: rt}
		hc = &cp
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bc := &sg.BackendConfig{URL: sg.String(base), HTTPClient: hc, MaxNetworkRetries: cfg.MaxNetworkRetries,
		// stripe-go's logger would print request failures itself; errors
		// are returned and reported by polypay instead.
		LeveledLogger: &sg.LeveledLogger{Level: sg.LevelNull}}
	b := sg.GetBackendWithConfig(sg.APIBackend, bc)
	api := sg.NewClient(cfg.SecretKey, sg.WithBackends(&sg.Backends{API: b, Connect: b, Uploads: b, MeterEvents: b}))
	return &Client{channel: channel, cfg: cfg, api: api, log: log, webhooks: map[string]bool{}}, nil
}

func (c *Client) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.Timeout)
}

// CreateCharge makes the PaymentMethod and creates and confirms the
// PaymentIntent. A decline is an EChannel error with the decline code; a
// processor failure or timeout is a plain error (the caller may retry, or
// use another processor).
func (c *Client) CreateCharge(ctx context.Context, req polypay.ChannelRequest) ([]byte, error) {
	ch := req.Charge
	if ch == nil {
		return nil, polypay.Errorf(polypay.EInvalid, "stripe: no charge")
	}
	c.ensureWebhook(ctx, req.NotifyURL)
	if req.Agreement != nil {
		return c.debit(ctx, req)
	}
	ex, err := parseExtra(ch.Extra)
	if err != nil {
		return nil, err
	}
	if (c.channel == ChannelCard && req.Card == nil) || (c.channel == ChannelApplePay && len(req.WalletToken) == 0) {
		// A repeated create without the card (it is never stored): the
		// first attempt's PaymentIntent, if Stripe made one, is the answer.
		if id, err := c.paymentIntentID(ctx, ch); err != nil {
			return nil, err
		} else if id != "" {
			pi, err := c.retrieve(ctx, id)
			if err != nil {
				return nil, err
			}
			return credential(pi)
		}
	}
	pm, err := c.paymentMethod(ctx, ch, req)
	if err != nil {
		return nil, err
	}
	returnURL := req.ReturnURL
	if returnURL == "" {
		returnURL = ex.ReturnURL
	}
	if returnURL == "" {
		returnURL = c.cfg.ReturnURL
	}
	threeDS := "automatic"
	if req.ThreeDS == polypay.ThreeDSRequired || (req.ThreeDS == "" && ex.ThreeDSecure == string(polypay.ThreeDSRequired)) {
		threeDS = "any"
	}
	p := &sg.PaymentIntentCreateParams{
		Amount:             sg.Int64(ch.Amount),
		Currency:           sg.String(ch.Currency),
		PaymentMethod:      sg.String(pm),
		PaymentMethodTypes: []*string{sg.String("card")},
		Confirm:            sg.Bool(true),
		PaymentMethodOptions: &sg.PaymentIntentCreatePaymentMethodOptionsParams{
			Card: &sg.PaymentIntentCreatePaymentMethodOptionsCardParams{RequestThreeDSecure: sg.String(threeDS)},
		},
	}
	if req.AuthorizeOnly {
		p.CaptureMethod = sg.String("manual")
	} else {
		p.CaptureMethod = sg.String("automatic")
	}
	if returnURL != "" {
		p.ReturnURL = sg.String(returnURL)
	}
	if ch.Subject != "" {
		p.Description = sg.String(ch.Subject)
	}
	p.AddMetadata("charge_id", ch.ID)
	p.AddMetadata("order_no", ch.OrderNo)
	p.IdempotencyKey = sg.String("polypay-pi-" + ch.ID)
	cctx, cancel := c.call(ctx)
	defer cancel()
	pi, err := c.api.V1PaymentIntents.Create(cctx, p)
	if err != nil {
		return nil, apiError("payment", err)
	}
	return credential(pi)
}

// paymentMethod makes the PaymentMethod: from the card, or from the Apple
// Pay token through a card token, as Stripe's iOS SDK does (POST /v1/tokens
// with pk_token, then card[token]). Its Idempotency-Key is derived from the
// charge id, so a repeated create reuses the same PaymentMethod (and the
// PaymentIntent's parameters stay the same for its replay).
func (c *Client) paymentMethod(ctx context.Context, ch *polypay.Charge, req polypay.ChannelRequest) (string, error) {
	p := &sg.PaymentMethodCreateParams{Type: sg.String("card")}
	switch c.channel {
	case ChannelCard:
		card := req.Card
		if card == nil || card.Number == "" {
			return "", polypay.ParamError("extra[card]", "card charges need the card (number, exp_month, exp_year)")
		}
		p = cardMethodParams(card)
	case ChannelApplePay:
		if len(req.WalletToken) == 0 {
			return "", polypay.ParamError("extra[apple_pay_token]", "applepay charges need the Apple Pay token")
		}
		var tok struct {
			Version string `json:"version"`
			Header  struct {
				TransactionID string `json:"transactionId"`
			} `json:"header"`
		}
		if err := json.Unmarshal(req.WalletToken, &tok); err != nil || tok.Version == "" {
			return "", polypay.ParamError("extra[apple_pay_token]", "the Apple Pay token is not a PKPaymentToken paymentData object")
		}
		tp := &sg.TokenCreateParams{}
		tp.AddExtra("pk_token", string(req.WalletToken))
		if tok.Header.TransactionID != "" {
			tp.AddExtra("pk_token_transaction_id", tok.Header.TransactionID)
		}
		tp.IdempotencyKey = sg.String("polypay-tok-" + ch.ID)
		cctx, cancel := c.call(ctx)
		t, err := c.api.V1Tokens.Create(cctx, tp)
		cancel()
		if err != nil {
			return "", apiError("apple pay token", err)
		}
		p.Card = &sg.PaymentMethodCreateCardParams{Token: sg.String(t.ID)}
	}
	p.IdempotencyKey = sg.String("polypay-pm-" + ch.ID)
	cctx, cancel := c.call(ctx)
	defer cancel()
	pm, err := c.api.V1PaymentMethods.Create(cctx, p)
	if err != nil {
		return "", apiError("payment method", err)
	}
	return pm.ID, nil
}

// cardMethodParams makes a card PaymentMethod's parameters.
func cardMethodParams(card *polypay.CardData) *sg.PaymentMethodCreateParams {
	p := &sg.PaymentMethodCreateParams{Type: sg.String("card"), Card: &sg.PaymentMethodCreateCardParams{Number: sg.String(card.Number),
		ExpMonth: sg.Int64(int64(card.ExpMonth)), ExpYear: sg.Int64(int64(card.ExpYear))}}
	if card.CVC != "" {
		p.Card.CVC = sg.String(card.CVC)
	}
	if card.Name != "" {
		p.BillingDetails = &sg.PaymentMethodCreateBillingDetailsParams{Name: sg.String(card.Name)}
	}
	return p
}

// extra are the charge's extra parameters the connector reads.
type extra struct {
	ReturnURL    string `json:"return_url"`
	ThreeDSecure string `json:"three_d_secure"`
}

func parseExtra(raw json.RawMessage) (extra, error) {
	var e extra
	if len(raw) == 0 {
		return e, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return e, polypay.ParamError("extra", "extra must be an object")
	}
	if v, ok := m["return_url"]; ok {
		if json.Unmarshal(v, &e.ReturnURL) != nil {
			return e, polypay.ParamError("extra[return_url]", "return_url must be a string")
		}
		if u, err := url.Parse(e.ReturnURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return e, polypay.ParamError("extra[return_url]", "return_url must be an http(s) URL")
		}
	}
	if v, ok := m["three_d_secure"]; ok {
		if json.Unmarshal(v, &e.ThreeDSecure) != nil || (e.ThreeDSecure != string(polypay.ThreeDSRequired) && e.ThreeDSecure != string(polypay.ThreeDSAutomatic)) {
			return e, polypay.ParamError("extra[three_d_secure]", "three_d_secure must be required or automatic")
		}
	}
	return e, nil
}

// Credential is the value under credential[card] / credential[applepay]:
// what the merchant's page needs to finish the payment (the 3-D Secure
// redirect when next_action is set).
type Credential struct {
	Object       string      `json:"object"`
	ID           string      `json:"id"`
	Status       string      `json:"status"`
	ClientSecret string      `json:"client_secret"`
	NextAction   *NextAction `json:"next_action"`
}

// NextAction is Stripe's next_action, reduced to the redirect.
type NextAction struct {
	Type          string         `json:"type"`
	RedirectToURL *RedirectToURL `json:"redirect_to_url,omitempty"`
}

// RedirectToURL is where the cardholder's browser goes for 3-D Secure.
type RedirectToURL struct {
	URL       string `json:"url"`
	ReturnURL string `json:"return_url"`
}

func credential(pi *sg.PaymentIntent) ([]byte, error) {
	return json.Marshal(Credential{Object: "payment_intent", ID: pi.ID, Status: string(pi.Status), ClientSecret: pi.ClientSecret,
		NextAction: nextAction(pi.NextAction)})
}

// nextAction reduces Stripe's next_action, a PaymentIntent's or a
// SetupIntent's (stripe-go has a type for each, of the same JSON), to its
// type and redirect; nil when there is none.
func nextAction(na any) *NextAction {
	b, err := json.Marshal(na)
	var out NextAction
	if err != nil || json.Unmarshal(b, &out) != nil || out.Type == "" {
		return nil
	}
	return &out
}

// paymentIntentID finds the charge's PaymentIntent id: from the credential,
// else by searching metadata[charge_id] (a create whose answer was lost).
// "" when Stripe has none.
func (c *Client) paymentIntentID(ctx context.Context, ch *polypay.Charge) (string, error) {
	var cr Credential
	if len(ch.Credential) > 0 && json.Unmarshal(ch.Credential, &cr) == nil && strings.HasPrefix(cr.ID, "pi_") {
		return cr.ID, nil
	}
	cctx, cancel := c.call(ctx)
	defer cancel()
	p := &sg.PaymentIntentSearchParams{}
	p.Query = fmt.Sprintf("metadata['charge_id']:'%s'", ch.ID)
	for pi, err := range c.api.V1PaymentIntents.Search(cctx, p).All(cctx) {
		if err != nil {
			return "", apiError("payment intent search", err)
		}
		// metadata is anyone's to write: the charge's own PaymentIntent
		// is also for its amount and currency.
		if pi.Metadata["charge_id"] == ch.ID && pi.Amount == ch.Amount && strings.EqualFold(string(pi.Currency), ch.Currency) {
			return pi.ID, nil
		}
	}
	return "", nil
}

func (c *Client) retrieve(ctx context.Context, id string) (*sg.PaymentIntent, error) {
	cctx, cancel := c.call(ctx)
	defer cancel()
	p := &sg.PaymentIntentRetrieveParams{}
	p.AddExpand("latest_charge")
	pi, err := c.api.V1PaymentIntents.Retrieve(cctx, id, p)
	if err != nil {
		return nil, apiError("payment intent", err)
	}
	return pi, nil
}

// QueryCharge reads the PaymentIntent with its latest charge.
func (c *Client) QueryCharge(ctx context.Context, ch *polypay.Charge) (*polypay.Trade, error) {
	id, err := c.paymentIntentID(ctx, ch)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return &polypay.Trade{State: polypay.TradeNotFound, OutTradeNo: ch.ID}, nil
	}
	pi, err := c.retrieve(ctx, id)
	if isMissing(err) {
		return &polypay.Trade{State: polypay.TradeNotFound, OutTradeNo: ch.ID}, nil
	}
	if err != nil {
		return nil, err
	}
	return c.trade(ch, pi)
}

func (c *Client) trade(ch *polypay.Charge, pi *sg.PaymentIntent) (*polypay.Trade, error) {
	if got := pi.Metadata["charge_id"]; got != ch.ID {
		return nil, fmt.Errorf("stripe: payment intent %s belongs to charge %q, not %s", pi.ID, got, ch.ID)
	}
	return tradeOf(pi)
}

// CloseCharge cancels an unpaid PaymentIntent.
func (c *Client) CloseCharge(ctx context.Context, ch *polypay.Charge) error {
	id, err := c.paymentIntentID(ctx, ch)
	if err != nil || id == "" {
		return err
	}
	return c.cancel(ctx, ch, id, "polypay-close-")
}

// Void releases an authorized hold (cancels the PaymentIntent).
func (c *Client) Void(ctx context.Context, ch *polypay.Charge) error {
	id, err := c.paymentIntentID(ctx, ch)
	if err != nil {
		return err
	}
	if id == "" {
		return polypay.Errorf(polypay.EChannel, "stripe: charge %s has no payment intent", ch.ID)
	}
	return c.cancel(ctx, ch, id, "polypay-void-")
}

func (c *Client) cancel(ctx context.Context, ch *polypay.Charge, id, keyPrefix string) error {
	p := &sg.PaymentIntentCancelParams{}
	p.IdempotencyKey = sg.String(keyPrefix + ch.ID)
	cctx, cancel := c.call(ctx)
	_, err := c.api.V1PaymentIntents.Cancel(cctx, id, p)
	cancel()
	if err == nil {
		return nil
	}
	if !isCode(err, "payment_intent_unexpected_state") {
		return apiError("cancel", err)
	}
	// Already canceled is done; succeeded cannot be undone here.
	pi, rerr := c.retrieve(ctx, id)
	if rerr != nil {
		return rerr
	}
	switch pi.Status {
	case sg.PaymentIntentStatusCanceled:
		return nil
	case sg.PaymentIntentStatusSucceeded:
		return &polypay.Error{Code: polypay.EChannel, ChannelCode: "payment_intent_unexpected_state",
			Message: "Stripe: 订单已支付，不能关闭或撤销授权（请退款）"}
	}
	return apiError("cancel", err)
}

// Capture captures amount (0: all) of an authorized PaymentIntent.
func (c *Client) Capture(ctx context.Context, ch *polypay.Charge, amount int64) (*polypay.Trade, error) {
	id, err := c.paymentIntentID(ctx, ch)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, polypay.Errorf(polypay.EChannel, "stripe: charge %s has no payment intent", ch.ID)
	}
	p := &sg.PaymentIntentCaptureParams{}
	if amount > 0 {
		p.AmountToCapture = sg.Int64(amount)
	}
	p.IdempotencyKey = sg.String("polypay-capture-" + ch.ID + "-" + strconv.FormatInt(amount, 10))
	cctx, cancel := c.call(ctx)
	pi, err := c.api.V1PaymentIntents.Capture(cctx, id, p)
	cancel()
	if err != nil {
		if !isCode(err, "payment_intent_unexpected_state") {
			return nil, apiError("capture", err)
		}
		// Captured before with another key (or lost answer): the same
		// capture is done when the amounts agree.
		cur, rerr := c.retrieve(ctx, id)
		if rerr != nil {
			return nil, rerr
		}
		if cur.Status != sg.PaymentIntentStatusSucceeded || (amount > 0 && cur.AmountReceived != amount) {
			return nil, apiError("capture", err)
		}
		pi = cur
	}
	return c.trade(ch, pi)
}

// isMissing reports Stripe's 404 resource_missing.
func isMissing(err error) bool {
	var se *sg.Error
	return errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound
}

func isCode(err error, code string) bool {
	var se *sg.Error
	return errors.As(err, &se) && string(se.Code) == code
}

// apiError turns a stripe-go error into polypay's: card_error and other
// refusals by Stripe are EChannel with the decline code (or the error
// code) as ChannelCode; api_error, rate limits, 5xx, 409 and transport
// failures stay plain errors, which callers treat as retryable (or fall
// back to another processor on).
func apiError(op string, err error) error {
	var se *sg.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("stripe %s: %w", op, err)
	}
	switch {
	case se.Type == sg.ErrorTypeAPI, se.Type == sg.ErrorTypeRateLimit, se.HTTPStatusCode >= 500,
		se.HTTPStatusCode == http.StatusConflict, se.HTTPStatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("stripe %s: %s %d: %s", op, se.Type, se.HTTPStatusCode, se.Msg)
	}
	code := string(se.DeclineCode)
	if code == "" {
		code = string(se.Code)
	}
	if code == "" {
		code = string(se.Type)
	}
	msg := se.Msg
	if se.Type == sg.ErrorTypeCard {
		msg = "银行卡支付失败: " + msg
	} else {
		msg = "Stripe: " + msg
	}
	return &polypay.Error{Code: polypay.EChannel, ChannelCode: code, Message: msg, ChannelMessage: se.Msg, Err: fmt.Errorf("stripe %s: %s (%s)", op, se.Type, se.Code)}
}

// prefixTransport puts a path prefix before every request path.
type prefixTransport struct {
	prefix string
	rt     http.RoundTripper
}

func (p prefixTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Path = p.prefix + r.URL.Path
	if r.URL.RawPath != "" {
		r.URL.RawPath = p.prefix + r.URL.RawPath
	}
	return p.rt.RoundTrip(r)
}
