package stripesim

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var currencyRe = regexp.MustCompile(`^[a-z]{3}$`)

func (s *Sim) createPaymentMethod(c *call) (int, any) {
	f := c.form
	if k, bad := unknownParams(f, "type", "card[number]", "card[exp_month]", "card[exp_year]", "card[cvc]", "card[token]",
		"billing_details[", "metadata[", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	if f.Get("type") != "card" {
		return invalid("type", "Invalid type: must be one of card (the simulator only has cards)")
	}
	now := s.now().Unix()
	pm := &paymentMethod{ID: "pm_" + randomString(24), Object: "payment_method", Type: "card", Created: now, Metadata: metadata(f)}
	if tok := f.Get("card[token]"); tok != "" {
		if f.Get("card[number]") != "" {
			return invalid("card[token]", "You cannot pass both card[token] and card[number].")
		}
		s.mu.Lock()
		src := c.st.tokens[tok]
		if src != nil {
			delete(c.st.tokens, tok) // tokens are single-use
		}
		s.mu.Unlock()
		if src == nil {
			return invalidCode("resource_missing", "card[token]", "No such token: '%s'", tok)
		}
		pm.number, pm.Card = src.number, src.Card
	} else {
		number := strings.ReplaceAll(f.Get("card[number]"), " ", "")
		if number == "" {
			return invalid("card[number]", "Missing required param: card[number].")
		}
		month, err1 := strconv.ParseInt(f.Get("card[exp_month]"), 10, 64)
		year, err2 := strconv.ParseInt(f.Get("card[exp_year]"), 10, 64)
		if err1 != nil || month < 1 || month > 12 {
			return cardError("invalid_expiry_month", "", "card[exp_month]", "Your card's expiration month is invalid.", nil)
		}
		if err2 != nil || year < 100 {
			return cardError("invalid_expiry_year", "", "card[exp_year]", "Your card's expiration year is invalid.", nil)
		}
		if t := s.now(); year < int64(t.Year()) || year == int64(t.Year()) && month < int64(t.Month()) {
			return cardError("invalid_expiry_year", "", "card[exp_year]", "Your card's expiration year is invalid.", nil)
		}
		if !luhn(number) {
			return cardError("incorrect_number", "", "card[number]", "Your card number is incorrect.", nil)
		}
		if cvc := f.Get("card[cvc]"); cvc != "" && (len(cvc) < 3 || len(cvc) > 4 || strings.Trim(cvc, "0123456789") != "") {
			return cardError("invalid_cvc", "", "card[cvc]", "Your card's security code is invalid.", nil)
		}
		tc := cardFor(number)
		pm.number = number
		pm.Card = pmCard{Brand: tc.brand, Country: "US", ExpMonth: month, ExpYear: year, Funding: "credit", Last4: number[len(number)-4:]}
		if f.Get("card[cvc]") != "" {
			pm.Card.Checks.CVCCheck = str("unchecked")
		}
	}
	s.mu.Lock()
	c.st.pms[pm.ID] = pm
	s.mu.Unlock()
	return 200, pm
}

// applePayData is the decrypted paymentData of a simulated Apple Pay token.
// A real token's data is encrypted for the merchant's payment processing
// certificate; the sandbox's is the same JSON in base64, unencrypted, since
// no Apple key exists offline.
type applePayData struct {
	PAN             string `json:"applicationPrimaryAccountNumber"`
	Expiration      string `json:"applicationExpirationDate"` // YYMMDD
	CurrencyCode    string `json:"currencyCode"`
	Amount          int64  `json:"transactionAmount"`
	DeviceID        string `json:"deviceManufacturerIdentifier"`
	PaymentDataType string `json:"paymentDataType"`
	PaymentData     struct {
		Cryptogram string `json:"onlinePaymentCryptogram"`
		ECI        string `json:"eciIndicator,omitempty"`
	} `json:"paymentData"`
}

type applePayToken struct {
	Version   string `json:"version"`
	Data      string `json:"data"`
	Signature string `json:"signature"`
	Header    struct {
		EphemeralPublicKey string `json:"ephemeralPublicKey"`
		PublicKeyHash      string `json:"publicKeyHash"`
		TransactionID      string `json:"transactionId"`
	} `json:"header"`
}

// ApplePayToken builds a simulated Apple Pay paymentData (PKPaymentToken's
// paymentData) for a device account number, as the sandbox wallet would.
func ApplePayToken(pan string, expMonth, expYear int) []byte {
	d := applePayData{PAN: pan, Expiration: sprintf("%02d%02d31", expYear%100, expMonth), CurrencyCode: "840",
		DeviceID: "040010030273", PaymentDataType: "3DSecure"}
	d.PaymentData.Cryptogram = base64.StdEncoding.EncodeToString([]byte(randomString(20)))
	d.PaymentData.ECI = "07"
	raw, _ := json.Marshal(d)
	var t applePayToken
	t.Version = "EC_v1"
	t.Data = base64.StdEncoding.EncodeToString(raw)
	t.Signature = base64.StdEncoding.EncodeToString([]byte("sandbox"))
	t.Header.EphemeralPublicKey = base64.StdEncoding.EncodeToString([]byte(randomString(65)))
	t.Header.PublicKeyHash = base64.StdEncoding.EncodeToString([]byte(randomString(32)))
	t.Header.TransactionID = strings.ToLower(randomString(32))
	out, _ := json.Marshal(t)
	return out
}

// createToken takes an Apple Pay token the way Stripe's iOS SDK sends it
// (pk_token = the paymentData JSON, pk_token_instrument_name,
// pk_token_payment_network, pk_token_transaction_id) and returns a card
// token (tok_...) for a PaymentMethod's card[token].
func (s *Sim) createToken(c *call) (int, any) {
	f := c.form
	if k, bad := unknownParams(f, "pk_token", "pk_token_instrument_name", "pk_token_payment_network", "pk_token_transaction_id", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	var t applePayToken
	if err := json.Unmarshal([]byte(f.Get("pk_token")), &t); err != nil || t.Version != "EC_v1" || t.Data == "" {
		return invalid("pk_token", "The Apple Pay token is malformed.")
	}
	raw, err := base64.StdEncoding.DecodeString(t.Data)
	var d applePayData
	if err == nil {
		err = json.Unmarshal(raw, &d)
	}
	if err != nil || !luhn(d.PAN) || len(d.Expiration) != 6 || d.PaymentData.Cryptogram == "" {
		return invalid("pk_token", "The Apple Pay token could not be decrypted.")
	}
	if id := f.Get("pk_token_transaction_id"); id != "" && id != t.Header.TransactionID {
		return invalid("pk_token_transaction_id", "pk_token_transaction_id does not match the token.")
	}
	yy, _ := strconv.Atoi(d.Expiration[:2])
	mm, _ := strconv.Atoi(d.Expiration[2:4])
	tc := cardFor(d.PAN)
	now := s.now().Unix()
	pm := &paymentMethod{number: d.PAN, Card: pmCard{Brand: tc.brand, Country: "US", ExpMonth: int64(mm), ExpYear: int64(2000 + yy),
		Funding: "credit", Last4: d.PAN[len(d.PAN)-4:], Wallet: &wallet{Type: "apple_pay", ApplePay: &struct{}{}}}}
	tok := &token{ID: "tok_" + randomString(24), Object: "token", Created: now, Type: "card",
		Card: tokenCard{ID: "card_" + randomString(24), Object: "card", Brand: brandName(tc.brand), Country: "US",
			ExpMonth: pm.Card.ExpMonth, ExpYear: pm.Card.ExpYear, Funding: "credit", Last4: pm.Card.Last4, TokenizationMethod: "apple_pay"}}
	s.mu.Lock()
	c.st.tokens[tok.ID] = pm
	s.mu.Unlock()
	return 200, tok
}

func brandName(b string) string {
	switch b {
	case "visa":
		return "Visa"
	case "mastercard":
		return "MasterCard"
	case "amex":
		return "American Express"
	}
	return "Unknown"
}

// cardError is a 402 card_error.
func cardError(code, decline, param, msg string, pi *paymentIntent) (int, any) {
	e := &apiErr{Type: "card_error", Code: code, DeclineCode: decline, Param: param, Message: msg,
		DocURL: "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")}
	if pi != nil {
		e.PaymentIntent = pi.render(nil)
		e.Charge = pi.latestCharge
		e.PaymentMethod = pi.pm
	}
	return 402, errBody{e}
}

func (s *Sim) createPaymentIntent(c *call) (int, any) {
	p, bad := parsePIParams(c.form)
	if bad != nil {
		return bad.status, bad.body
	}
	pi := s.newPaymentIntent(c.form, p)
	if id := c.form.Get("payment_method"); id != "" {
		s.mu.Lock()
		pi.pm = c.st.pms[id]
		s.mu.Unlock()
		if pi.pm == nil {
			return invalidCode("resource_missing", "payment_method", "No such PaymentMethod: '%s'", id)
		}
		pi.PaymentMethod = str(id)
		pi.Status = "requires_confirmation"
	}
	if p.confirm && pi.pm == nil {
		return invalid("payment_method", "You cannot confirm this PaymentIntent because it's missing a payment method.")
	}
	if status, body := s.checkCustomer(c, pi, p); status != 0 {
		return status, body
	}
	var tc testCard
	if pi.pm != nil {
		tc = cardFor(pi.pm.number)
	}
	if p.confirm && tc.processorError {
		return 500, errBody{&apiErr{Type: "api_error", Message: "An unknown error occurred while processing the card (simulated processor outage)."}}
	}
	if p.confirm && tc.slow {
		s.bg.Sleep(s.opts.SlowDelay)
	}
	var evs []pendingEvent
	s.mu.Lock()
	c.st.pis[pi.ID] = pi
	c.st.piOrder = append(c.st.piOrder, pi.ID)
	evs = append(evs, s.event(c.st, "payment_intent.created", pi.render(nil)))
	var status int
	var body any
	if p.confirm {
		status, body, evs = s.confirm(c, pi, tc, evs)
	} else {
		status, body = 200, pi.render(c.expand())
	}
	s.mu.Unlock()
	s.dispatch(evs, false)
	return status, body
}

// checkCustomer checks a PaymentIntent's customer: it exists, and a saved
// card is used with its own customer; off-session payments need one.
func (s *Sim) checkCustomer(c *call, pi *paymentIntent, p piParams) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := c.form.Get("customer")
	if id != "" {
		if c.st.customers[id] == nil {
			return invalidCode("resource_missing", "customer", "No such customer: '%s'", id)
		}
		pi.Customer = str(id)
	}
	if pi.pm != nil && pi.pm.Customer != nil && *pi.pm.Customer != id {
		return invalid("payment_method", "The provided PaymentMethod belongs to a Customer; to use it, pass customer=%s.", *pi.pm.Customer)
	}
	if p.offSession && (pi.pm == nil || pi.pm.Customer == nil) {
		return invalid("payment_method", "Off-session payments need a PaymentMethod attached to the customer (set it up with a SetupIntent first).")
	}
	pi.offSession = p.offSession
	return 0, nil
}

// piParams are a PaymentIntent create's checked parameters.
type piParams struct {
	amount            int64
	currency, capture string
	request3DS        string
	confirm           bool
	offSession        bool
}

// refusal is an error answer (status and body) a parameter check gives.
type refusal struct {
	status int
	body   any
}

func refuse(status int, body any) *refusal { return &refusal{status, body} }

// parsePIParams checks a PaymentIntent create's form as Stripe does:
// unknown parameters, the amount and its minimum, the currency, the
// capture method and 3-D Secure request, the payment method types.
func parsePIParams(f url.Values) (piParams, *refusal) {
	var p piParams
	if k, bad := unknownParams(f, "amount", "currency", "payment_method", "confirm", "capture_method", "return_url", "description",
		"payment_method_types[", "payment_method_options[card][request_three_d_secure]", "metadata[", "expand[",
		"statement_descriptor_suffix", "receipt_email", "customer", "off_session"); bad {
		return p, refuse(invalid(k, "Received unknown parameter: %s", k))
	}
	if r := p.parseAmount(f); r != nil {
		return p, r
	}
	if p.capture = f.Get("capture_method"); p.capture == "" {
		p.capture = "automatic_async"
	} else if p.capture != "automatic" && p.capture != "automatic_async" && p.capture != "manual" {
		return p, refuse(invalid("capture_method", "Invalid capture_method: must be one of automatic, automatic_async, or manual"))
	}
	if p.request3DS = f.Get("payment_method_options[card][request_three_d_secure]"); p.request3DS == "" {
		p.request3DS = "automatic"
	} else if p.request3DS != "automatic" && p.request3DS != "any" && p.request3DS != "challenge" {
		return p, refuse(invalid("payment_method_options[card][request_three_d_secure]", "Invalid request_three_d_secure: must be one of any, automatic, or challenge"))
	}
	for _, t := range values(f, "payment_method_types") {
		if t != "card" {
			return p, refuse(invalid("payment_method_types", "The payment method type %q is invalid (the simulator only has cards).", t))
		}
	}
	p.confirm = f.Get("confirm") == "true"
	switch f.Get("off_session") {
	case "", "false":
	case "true":
		if !p.confirm {
			return p, refuse(invalid("off_session", "off_session can only be used when confirm=true."))
		}
		p.offSession = true
	default:
		return p, refuse(invalid("off_session", "Invalid boolean: %s", f.Get("off_session")))
	}
	return p, nil
}

func (p *piParams) parseAmount(f url.Values) *refusal {
	amount, err := strconv.ParseInt(f.Get("amount"), 10, 64)
	if f.Get("amount") == "" {
		return refuse(invalid("amount", "Missing required param: amount."))
	}
	if err != nil || amount < 1 || amount > 99999999 {
		return refuse(invalid("amount", "Invalid integer: %s", f.Get("amount")))
	}
	cur := f.Get("currency")
	if !currencyRe.MatchString(cur) {
		return refuse(invalid("currency", "Invalid currency: %s", cur))
	}
	if amount < 50 && cur != "jpy" && cur != "krw" {
		return refuse(invalidCode("amount_too_small", "amount", "Amount must be at least 50 cents"))
	}
	p.amount, p.currency = amount, cur
	return nil
}

// newPaymentIntent makes the PaymentIntent a create describes, before any
// payment method is attached.
func (s *Sim) newPaymentIntent(f url.Values, p piParams) *paymentIntent {
	pi := &paymentIntent{ID: "pi_" + randomString(24), Object: "payment_intent", Amount: p.amount, CaptureMethod: p.capture,
		ConfirmationMethod: "automatic", Created: s.now().Unix(), Currency: p.currency, Metadata: metadata(f), Status: "requires_payment_method",
		PaymentMethodTypes: []string{"card"}, returnURL: f.Get("return_url"), request3DS: p.request3DS,
		PaymentMethodOptions: map[string]any{"card": map[string]any{"request_three_d_secure": p.request3DS}}}
	pi.ClientSecret = pi.ID + "_secret_" + randomString(24)
	if d := f.Get("description"); d != "" {
		pi.Description = str(d)
	}
	return pi
}

func (c *call) expand() []string {
	return values(c.form, "expand")
}

// confirm runs a confirmation: 3-D Secure as the card and
// request_three_d_secure decide, then the authorization. Called with s.mu
// held.
func (s *Sim) confirm(c *call, pi *paymentIntent, tc testCard, evs []pendingEvent) (int, any, []pendingEvent) {
	flow := tc.auto
	if pi.request3DS == "any" || pi.request3DS == "challenge" {
		flow = tc.any
	}
	if pi.pm.Card.Wallet != nil {
		// Apple Pay payments carry the device's cryptogram: the
		// cardholder was authenticated on the device, no 3DS runs.
		flow = "none"
	}
	if pi.offSession {
		// Merchant-initiated: out of 3-D Secure's scope, but the issuer
		// may still refuse without the cardholder.
		if code, decline, msg := offSessionRefusal(pi.pm, tc); code != "" {
			tc.code, tc.decline, tc.message = code, decline, msg
		}
		return s.authorize(c.st, pi, tc, "none", c.expand(), evs)
	}
	if flow == "challenge" {
		pi.Status = "requires_action"
		pi.acsToken = randomString(24)
		u := s.publicURL(c.r) + "/acs/" + pi.ID + "?token=" + pi.acsToken
		ra := &redirectToURL{URL: u}
		if pi.returnURL != "" {
			ra.ReturnURL = str(pi.returnURL)
		}
		pi.NextAction = &nextAction{Type: "redirect_to_url", RedirectToURL: ra}
		evs = append(evs, s.event(c.st, "payment_intent.requires_action", pi.render(nil)))
		return 200, pi.render(c.expand(), c.st.charges), evs
	}
	return s.authorize(c.st, pi, tc, flow, c.expand(), evs)
}

// authorize asks the "issuer" after authentication (flow none,
// frictionless or challenge). Called with s.mu held.
func (s *Sim) authorize(st *state, pi *paymentIntent, tc testCard, flow string, expand []string, evs []pendingEvent) (int, any, []pendingEvent) {
	now := s.now().Unix()
	pi.NextAction = nil
	ch := &charge{ID: "ch_" + randomString(24), Object: "charge", Amount: pi.Amount, Created: now, Currency: pi.Currency,
		Metadata: copyMeta(pi.Metadata), PaymentIntent: pi.ID, PaymentMethod: pi.pm.ID,
		PaymentMethodDetails: paymentMethodDetails{Type: "card", Card: chargeCard{pmCard: pi.pm.Card}}}
	if flow != "none" {
		ch.PaymentMethodDetails.Card.ThreeDSecure = &threeDSecure{AuthenticationFlow: str(flow), Result: "authenticated",
			ElectronicCommerceIndicator: str("05"), TransactionID: uuid(), Version: "2.2.0"}
	}
	if pi.pm.Card.Checks.CVCCheck != nil {
		ch.PaymentMethodDetails.Card.Checks.CVCCheck = str("pass")
	}
	st.charges[ch.ID] = ch
	pi.latestCharge = ch.ID
	if tc.code != "" {
		ch.Status = "failed"
		ch.FailureCode, ch.FailureMessage = str(tc.code), str(tc.message)
		ch.Outcome = outcome{NetworkStatus: "declined_by_network", Reason: str(tc.decline), RiskLevel: "normal",
			SellerMessage: "The bank did not return any further details with this decline.", Type: "issuer_declined"}
		if tc.code == "incorrect_cvc" {
			ch.PaymentMethodDetails.Card.Checks.CVCCheck = str("fail")
		}
		pi.Status = "requires_payment_method"
		pi.LastPaymentError = &apiErr{Type: "card_error", Code: tc.code, DeclineCode: tc.decline, Message: tc.message,
			Charge: ch.ID, PaymentMethod: pi.pm, DocURL: "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(tc.code, "_", "-")}
		evs = append(evs, s.event(st, "charge.failed", ch), s.event(st, "payment_intent.payment_failed", pi.render(nil)))
		status, body := cardError(tc.code, tc.decline, "", tc.message, pi)
		return status, body, evs
	}
	ch.Status, ch.Paid = "succeeded", true
	ch.Outcome = outcome{NetworkStatus: "approved_by_network", RiskLevel: "normal", SellerMessage: "Payment complete.", Type: "authorized"}
	pi.LastPaymentError = nil
	evs = append(evs, s.event(st, "charge.succeeded", ch))
	if pi.CaptureMethod == "manual" {
		pi.Status, pi.AmountCapturable = "requires_capture", pi.Amount
		evs = append(evs, s.event(st, "payment_intent.amount_capturable_updated", pi.render(nil)))
	} else {
		s.capture(st, pi, ch, pi.Amount)
		evs = append(evs, s.event(st, "payment_intent.succeeded", pi.render(nil)))
	}
	return 200, pi.render(expand, st.charges), evs
}

// capture moves amount of an authorized charge into the balance.
func (s *Sim) capture(st *state, pi *paymentIntent, ch *charge, amount int64) {
	pi.Status, pi.AmountReceived, pi.AmountCapturable = "succeeded", amount, 0
	ch.Captured, ch.AmountCaptured = true, amount
	if amount < ch.Amount {
		// The uncaptured remainder is released and shows as refunded.
		ch.AmountRefunded = ch.Amount - amount
	}
	bt := s.balance(st, "charge", amount, Fee(amount), ch.Currency, ch.ID)
	ch.BalanceTransaction = str(bt.ID)
}

func (s *Sim) balance(st *state, typ string, amount, fee int64, currency, source string) *balanceTransaction {
	now := s.now()
	cat := typ
	if typ == "refund_failure" {
		cat = "refund_failure"
	}
	bt := &balanceTransaction{ID: "txn_" + randomString(24), Object: "balance_transaction", Amount: amount,
		AvailableOn: now.Add(2 * 24 * time.Hour).Unix(), Created: now.Unix(), Currency: currency, Fee: fee,
		FeeDetails: []feeDetail{}, Net: amount - fee, ReportingCategory: cat, Status: "pending", Type: typ, source: source}
	if fee != 0 {
		bt.FeeDetails = append(bt.FeeDetails, feeDetail{Amount: fee, Currency: currency, Description: "Stripe processing fees", Type: "stripe_fee"})
	}
	st.bts = append(st.bts, bt)
	return bt
}

func copyMeta(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// render is the PaymentIntent as the API shows it; latest_charge is
// expanded when asked.
func (pi *paymentIntent) render(expand []string, charges ...map[string]*charge) paymentIntent {
	out := *pi
	out.Metadata = copyMeta(pi.Metadata)
	out.LatestCharge = nil
	if pi.latestCharge != "" {
		out.LatestCharge = pi.latestCharge
		for _, e := range expand {
			if e == "latest_charge" && len(charges) > 0 {
				if ch := charges[0][pi.latestCharge]; ch != nil {
					cp := *ch
					out.LatestCharge = &cp
				}
			}
		}
	}
	return out
}

func (s *Sim) getPaymentIntent(c *call) (int, any) {
	if k, bad := unknownParams(c.form, "expand[", "client_secret"); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pi := c.st.pis[c.r.PathValue("id")]
	if pi == nil {
		return notFound("payment_intent", c.r.PathValue("id"))
	}
	return 200, pi.render(c.expand(), c.st.charges)
}

var searchRe = regexp.MustCompile(`^metadata\['([^']+)'\]:'([^']*)'$`)

// searchPaymentIntents supports the one query form the connector uses:
// metadata['key']:'value'.
func (s *Sim) searchPaymentIntents(c *call) (int, any) {
	if k, bad := unknownParams(c.form, "query", "limit", "page", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	m := searchRe.FindStringSubmatch(strings.TrimSpace(c.form.Get("query")))
	if m == nil {
		return invalid("query", "The simulator supports only queries of the form metadata['key']:'value'.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res := searchResult{Object: "search_result", Data: []any{}, URL: "/v1/payment_intents/search"}
	for i := len(c.st.piOrder) - 1; i >= 0; i-- {
		pi := c.st.pis[c.st.piOrder[i]]
		if pi.Metadata[m[1]] == m[2] {
			res.Data = append(res.Data, pi.render(nil))
		}
	}
	return 200, res
}

func (s *Sim) capturePaymentIntent(c *call) (int, any) {
	if k, bad := unknownParams(c.form, "amount_to_capture", "metadata[", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	s.mu.Lock()
	pi := c.st.pis[c.r.PathValue("id")]
	if pi == nil {
		s.mu.Unlock()
		return notFound("payment_intent", c.r.PathValue("id"))
	}
	if pi.Status != "requires_capture" {
		s.mu.Unlock()
		return invalidCode("payment_intent_unexpected_state", "", "This PaymentIntent could not be captured because it has a status of %s. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.", pi.Status)
	}
	amount := pi.AmountCapturable
	if v := c.form.Get("amount_to_capture"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.mu.Unlock()
			return invalid("amount_to_capture", "Invalid integer: %s", v)
		}
		if n > pi.AmountCapturable {
			s.mu.Unlock()
			return invalidCode("amount_too_large", "amount_to_capture", "The amount to capture (%d) is greater than the amount capturable (%d).", n, pi.AmountCapturable)
		}
		amount = n
	}
	ch := c.st.charges[pi.latestCharge]
	s.capture(c.st, pi, ch, amount)
	evs := []pendingEvent{s.event(c.st, "charge.captured", ch), s.event(c.st, "payment_intent.succeeded", pi.render(nil))}
	out := pi.render(c.expand(), c.st.charges)
	s.mu.Unlock()
	s.dispatch(evs, false)
	return 200, out
}

func (s *Sim) cancelPaymentIntent(c *call) (int, any) {
	if k, bad := unknownParams(c.form, "cancellation_reason", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	reason := c.form.Get("cancellation_reason")
	switch reason {
	case "", "duplicate", "fraudulent", "requested_by_customer", "abandoned":
	default:
		return invalid("cancellation_reason", "Invalid cancellation_reason")
	}
	s.mu.Lock()
	pi := c.st.pis[c.r.PathValue("id")]
	if pi == nil {
		s.mu.Unlock()
		return notFound("payment_intent", c.r.PathValue("id"))
	}
	switch pi.Status {
	case "requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing":
	default:
		s.mu.Unlock()
		return invalidCode("payment_intent_unexpected_state", "", "You cannot cancel this PaymentIntent because it has a status of %s. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.", pi.Status)
	}
	if ch := c.st.charges[pi.latestCharge]; ch != nil && pi.Status == "requires_capture" {
		ch.AmountRefunded, ch.Refunded = ch.Amount, true // the hold is released
	}
	now := s.now().Unix()
	pi.Status, pi.CanceledAt, pi.AmountCapturable, pi.NextAction = "canceled", &now, 0, nil
	if reason != "" {
		pi.CancellationReason = str(reason)
	}
	evs := []pendingEvent{s.event(c.st, "payment_intent.canceled", pi.render(nil))}
	out := pi.render(c.expand(), c.st.charges)
	s.mu.Unlock()
	s.dispatch(evs, false)
	return 200, out
}

// completeChallenge ends a 3-D Secure challenge: passed, the authorization
// runs; failed, the PaymentIntent goes back to requires_payment_method with
// payment_intent_authentication_failure, as Stripe does. Called with s.mu held.
func (s *Sim) completeChallenge(st *state, pi *paymentIntent, passed bool) []pendingEvent {
	pi.NextAction, pi.acsToken = nil, ""
	if !passed {
		pi.Status = "requires_payment_method"
		pi.LastPaymentError = &apiErr{Type: "invalid_request_error", Code: "payment_intent_authentication_failure",
			Message:       "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
			PaymentMethod: pi.pm, DocURL: "https://stripe.com/docs/error-codes/payment-intent-authentication-failure"}
		return []pendingEvent{s.event(st, "payment_intent.payment_failed", pi.render(nil))}
	}
	_, _, evs := s.authorize(st, pi, cardFor(pi.pm.number), "challenge", nil, nil)
	return evs
}

// uuid is a random RFC 4122 version 4 id (3DS transaction ids).
func uuid() string {
	b := []byte(strings.ToLower(randomString(32)))
	const hexd = "0123456789abcdef"
	for i := range b {
		b[i] = hexd[int(b[i])%16]
	}
	b[12] = '4'
	return string(b[:8]) + "-" + string(b[8:12]) + "-" + string(b[12:16]) + "-" + string(b[16:20]) + "-" + string(b[20:])
}

func encodeQuery(u string, q url.Values) string {
	if strings.Contains(u, "?") {
		return u + "&" + q.Encode()
	}
	return u + "?" + q.Encode()
}
