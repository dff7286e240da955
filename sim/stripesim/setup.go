package stripesim

import (
	"context"
	"errors"
	"strings"
)

// Saved cards for off-session payments: Customers, SetupIntents (the
// cardholder authenticates once, on session, and the card is attached to
// the customer as set up for off_session use), PaymentIntents with
// customer and off_session=true (merchant-initiated: no 3-D Secure runs,
// the issuer may still insist with authentication_required), and detaching
// the card (the merchant's API call, or the customer removing it in
// Stripe's customer portal: payment_method.detached either way).

type customer struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Created     int64             `json:"created"`
	Description *string           `json:"description"`
	Email       *string           `json:"email"`
	Livemode    bool              `json:"livemode"`
	Metadata    map[string]string `json:"metadata"`
	Name        *string           `json:"name"`
}

type setupIntent struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	CancellationReason *string           `json:"cancellation_reason"`
	ClientSecret       string            `json:"client_secret"`
	Created            int64             `json:"created"`
	Customer           *string           `json:"customer"`
	Description        *string           `json:"description"`
	LastSetupError     *apiErr           `json:"last_setup_error"`
	Livemode           bool              `json:"livemode"`
	Metadata           map[string]string `json:"metadata"`
	NextAction         *nextAction       `json:"next_action"`
	PaymentMethod      *string           `json:"payment_method"`
	PaymentMethodTypes []string          `json:"payment_method_types"`
	Status             string            `json:"status"`
	Usage              string            `json:"usage"`

	returnURL  string
	request3DS string
	acsToken   string
	pm         *paymentMethod
}

func (si *setupIntent) render() setupIntent {
	out := *si
	out.Metadata = copyMeta(si.Metadata)
	return out
}

func (s *Sim) createCustomer(c *call) (int, any) {
	f := c.form
	if k, bad := unknownParams(f, "email", "name", "description", "metadata[", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	cu := &customer{ID: "cus_" + randomString(14), Object: "customer", Created: s.now().Unix(), Metadata: metadata(f)}
	for k, p := range map[string]**string{"email": &cu.Email, "name": &cu.Name, "description": &cu.Description} {
		if v := f.Get(k); v != "" {
			*p = str(v)
		}
	}
	s.mu.Lock()
	c.st.customers[cu.ID] = cu
	out := *cu
	s.mu.Unlock()
	return 200, out
}

func (s *Sim) getCustomer(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cu := c.st.customers[c.r.PathValue("id")]
	if cu == nil {
		return notFound("customer", c.r.PathValue("id"))
	}
	return 200, *cu
}

func (s *Sim) getPaymentMethod(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pm := c.st.pms[c.r.PathValue("id")]
	if pm == nil {
		return notFound("payment_method", c.r.PathValue("id"))
	}
	return 200, *pm
}

// detachPaymentMethod is the merchant's detach.
func (s *Sim) detachPaymentMethod(c *call) (int, any) {
	if k, bad := unknownParams(c.form, "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	s.mu.Lock()
	pm := c.st.pms[c.r.PathValue("id")]
	if pm == nil {
		s.mu.Unlock()
		return notFound("payment_method", c.r.PathValue("id"))
	}
	if pm.Customer == nil {
		s.mu.Unlock()
		return invalid("payment_method", "The payment method you provided is not attached to a customer so detachment is impossible.")
	}
	ev := s.detach(c.st, pm)
	out := *pm
	s.mu.Unlock()
	s.dispatch([]pendingEvent{ev}, false)
	return 200, out
}

// detach takes a card off its customer. Called with s.mu held.
func (s *Sim) detach(st *state, pm *paymentMethod) pendingEvent {
	pm.Customer, pm.offSession, pm.declineOffSession = nil, false, ""
	return s.event(st, "payment_method.detached", *pm)
}

// setupParams are a SetupIntent create's checked parameters.
type setupParams struct {
	customer, pm, usage, returnURL, request3DS string
	confirm                                    bool
}

func parseSetupParams(c *call) (setupParams, *refusal) {
	f := c.form
	if k, bad := unknownParams(f, "customer", "payment_method", "confirm", "usage", "return_url", "description", "metadata[", "expand[",
		"payment_method_types[", "payment_method_options[card][request_three_d_secure]"); bad {
		return setupParams{}, refuse(invalid(k, "Received unknown parameter: %s", k))
	}
	p := setupParams{customer: f.Get("customer"), pm: f.Get("payment_method"), usage: f.Get("usage"), returnURL: f.Get("return_url"),
		request3DS: f.Get("payment_method_options[card][request_three_d_secure]"), confirm: f.Get("confirm") == "true"}
	if p.usage == "" {
		p.usage = "off_session"
	} else if p.usage != "off_session" && p.usage != "on_session" {
		return p, refuse(invalid("usage", "Invalid usage: must be one of off_session or on_session"))
	}
	if p.request3DS == "" {
		p.request3DS = "automatic"
	} else if p.request3DS != "automatic" && p.request3DS != "any" && p.request3DS != "challenge" {
		return p, refuse(invalid("payment_method_options[card][request_three_d_secure]", "Invalid request_three_d_secure: must be one of any, automatic, or challenge"))
	}
	for _, t := range values(f, "payment_method_types") {
		if t != "card" {
			return p, refuse(invalid("payment_method_types", "The payment method type %q is invalid (the simulator only has cards).", t))
		}
	}
	if p.confirm && p.pm == "" {
		return p, refuse(invalid("payment_method", "You cannot confirm this SetupIntent because it's missing a payment method."))
	}
	return p, nil
}

func (s *Sim) createSetupIntent(c *call) (int, any) {
	p, bad := parseSetupParams(c)
	if bad != nil {
		return bad.status, bad.body
	}
	si := &setupIntent{ID: "seti_" + randomString(24), Object: "setup_intent", Created: s.now().Unix(), Metadata: metadata(c.form),
		PaymentMethodTypes: []string{"card"}, Status: "requires_payment_method", Usage: p.usage, returnURL: p.returnURL, request3DS: p.request3DS}
	si.ClientSecret = si.ID + "_secret_" + randomString(24)
	if d := c.form.Get("description"); d != "" {
		si.Description = str(d)
	}
	s.mu.Lock()
	if p.customer != "" {
		if c.st.customers[p.customer] == nil {
			s.mu.Unlock()
			return invalidCode("resource_missing", "customer", "No such customer: '%s'", p.customer)
		}
		si.Customer = str(p.customer)
	}
	if p.pm != "" {
		pm := c.st.pms[p.pm]
		if pm == nil {
			s.mu.Unlock()
			return invalidCode("resource_missing", "payment_method", "No such PaymentMethod: '%s'", p.pm)
		}
		if pm.Customer != nil && (si.Customer == nil || *pm.Customer != *si.Customer) {
			s.mu.Unlock()
			return invalid("payment_method", "The provided PaymentMethod is attached to another customer.")
		}
		si.pm, si.PaymentMethod, si.Status = pm, str(pm.ID), "requires_confirmation"
	}
	c.st.setis[si.ID] = si
	c.st.setiOrder = append(c.st.setiOrder, si.ID)
	evs := []pendingEvent{s.event(c.st, "setup_intent.created", si.render())}
	status, body := 200, any(si.render())
	if p.confirm {
		status, body, evs = s.confirmSetup(c, si, evs)
	}
	s.mu.Unlock()
	s.dispatch(evs, false)
	return status, body
}

// confirmSetup runs a SetupIntent's confirmation: 3-D Secure as the card
// decides (as for a payment), then a zero-amount check with the issuer.
// Called with s.mu held.
func (s *Sim) confirmSetup(c *call, si *setupIntent, evs []pendingEvent) (int, any, []pendingEvent) {
	tc := cardFor(si.pm.number)
	flow := tc.auto
	if si.request3DS == "any" || si.request3DS == "challenge" {
		flow = tc.any
	}
	if si.pm.Card.Wallet != nil {
		flow = "none"
	}
	if flow == "challenge" {
		si.Status, si.acsToken = "requires_action", randomString(24)
		ra := &redirectToURL{URL: s.publicURL(c.r) + "/acs/" + si.ID + "?token=" + si.acsToken}
		if si.returnURL != "" {
			ra.ReturnURL = str(si.returnURL)
		}
		si.NextAction = &nextAction{Type: "redirect_to_url", RedirectToURL: ra}
		evs = append(evs, s.event(c.st, "setup_intent.requires_action", si.render()))
		return 200, si.render(), evs
	}
	return s.finishSetup(c.st, si, tc, evs)
}

// finishSetup asks the issuer to accept the card for later payments: a
// card that declines fails the setup (except for insufficient funds, which
// a zero-amount check cannot be short of); otherwise the card is attached
// to the customer, set up for off-session payments when usage says so.
// Called with s.mu held.
func (s *Sim) finishSetup(st *state, si *setupIntent, tc testCard, evs []pendingEvent) (int, any, []pendingEvent) {
	si.NextAction, si.acsToken = nil, ""
	if tc.code != "" && tc.decline != "insufficient_funds" {
		si.Status = "requires_payment_method"
		si.LastSetupError = &apiErr{Type: "card_error", Code: tc.code, DeclineCode: tc.decline, Message: tc.message, PaymentMethod: si.pm,
			DocURL: "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(tc.code, "_", "-")}
		evs = append(evs, s.event(st, "setup_intent.setup_failed", si.render()))
		e := *si.LastSetupError
		e.PaymentMethod = nil
		return 402, errBody{&e}, evs
	}
	si.Status, si.LastSetupError = "succeeded", nil
	if si.Customer != nil {
		si.pm.Customer = str(*si.Customer)
		si.pm.offSession = si.Usage == "off_session"
		evs = append(evs, s.event(st, "payment_method.attached", *si.pm))
	}
	evs = append(evs, s.event(st, "setup_intent.succeeded", si.render()))
	return 200, si.render(), evs
}

// failSetupChallenge ends a failed 3-D Secure challenge of a setup.
// Called with s.mu held.
func (s *Sim) failSetupChallenge(st *state, si *setupIntent) []pendingEvent {
	si.NextAction, si.acsToken, si.Status = nil, "", "requires_payment_method"
	si.LastSetupError = &apiErr{Type: "invalid_request_error", Code: "setup_intent_authentication_failure",
		Message: "The latest attempt to set up the payment method has failed because authentication failed.",
		DocURL:  "https://stripe.com/docs/error-codes/setup-intent-authentication-failure"}
	return []pendingEvent{s.event(st, "setup_intent.setup_failed", si.render())}
}

func (s *Sim) getSetupIntent(c *call) (int, any) {
	if k, bad := unknownParams(c.form, "expand[", "client_secret"); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	si := c.st.setis[c.r.PathValue("id")]
	if si == nil {
		return notFound("setup_intent", c.r.PathValue("id"))
	}
	return 200, si.render()
}

// listSetupIntents lists the account's SetupIntents, newest first,
// filtered by customer or payment_method (no pagination past 100).
func (s *Sim) listSetupIntents(c *call) (int, any) {
	f := c.form
	if k, bad := unknownParams(f, "customer", "payment_method", "limit", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	limit, errp := limitOf(f.Get("limit"))
	if errp {
		return invalid("limit", "Invalid limit: must be between 1 and 100")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res := list{Object: "list", Data: []any{}, URL: "/v1/setup_intents"}
	for i := len(c.st.setiOrder) - 1; i >= 0; i-- {
		si := c.st.setis[c.st.setiOrder[i]]
		if cu := f.Get("customer"); cu != "" && (si.Customer == nil || *si.Customer != cu) {
			continue
		}
		if pm := f.Get("payment_method"); pm != "" && (si.PaymentMethod == nil || *si.PaymentMethod != pm) {
			continue
		}
		if len(res.Data) == limit {
			res.HasMore = true
			break
		}
		res.Data = append(res.Data, si.render())
	}
	return 200, res
}

func (s *Sim) cancelSetupIntent(c *call) (int, any) {
	if k, bad := unknownParams(c.form, "cancellation_reason", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	s.mu.Lock()
	si := c.st.setis[c.r.PathValue("id")]
	if si == nil {
		s.mu.Unlock()
		return notFound("setup_intent", c.r.PathValue("id"))
	}
	switch si.Status {
	case "requires_payment_method", "requires_confirmation", "requires_action":
	default:
		s.mu.Unlock()
		return invalidCode("setup_intent_unexpected_state", "", "You cannot cancel this SetupIntent because it has a status of %s.", si.Status)
	}
	si.Status, si.NextAction, si.acsToken = "canceled", nil, ""
	if r := c.form.Get("cancellation_reason"); r != "" {
		si.CancellationReason = str(r)
	}
	evs := []pendingEvent{s.event(c.st, "setup_intent.canceled", si.render())}
	out := si.render()
	s.mu.Unlock()
	s.dispatch(evs, false)
	return 200, out
}

// offSessionRefusal is how the issuer answers a merchant-initiated payment
// on pm, "" when it authorizes it without the cardholder: a card that
// always wants authentication (4000002760003184), or one that wants it
// and was never set up for off-session use, is refused with
// authentication_required; a decline the test arranged (DeclineOffSession)
// comes next.
func offSessionRefusal(pm *paymentMethod, tc testCard) (code, decline, message string) {
	switch {
	case tc.offSessionAuth, !pm.offSession && tc.auto == "challenge":
		return "authentication_required", "authentication_required", "Your card was declined. This transaction requires authentication."
	case pm.declineOffSession != "":
		return "card_declined", pm.declineOffSession, "Your card was declined."
	}
	return "", "", ""
}

// CompleteSetup acts as the cardholder on the pending 3-D Secure challenge
// of a SetupIntent: success completes the setup (then the issuer
// decides), false fails authentication. The first delivery of the
// resulting events is made before it returns.
func (s *Sim) CompleteSetup(ctx context.Context, accountID, setupIntentID string, success bool) error {
	s.mu.Lock()
	st := s.accounts[accountID]
	var si *setupIntent
	if st != nil {
		si = st.setis[setupIntentID]
	}
	if si == nil || si.Status != "requires_action" {
		s.mu.Unlock()
		return errors.New("stripesim: SetupIntent " + setupIntentID + " has no pending 3-D Secure challenge")
	}
	evs := s.completeSetupChallenge(st, si, success)
	s.mu.Unlock()
	s.dispatch(evs, true)
	return ctx.Err()
}

func (s *Sim) completeSetupChallenge(st *state, si *setupIntent, success bool) []pendingEvent {
	if !success {
		return s.failSetupChallenge(st, si)
	}
	_, _, evs := s.finishSetup(st, si, cardFor(si.pm.number), nil)
	return evs
}

// RemoveCard is the customer removing a saved card in Stripe's customer
// portal: it is detached, and payment_method.detached is delivered before
// RemoveCard returns.
func (s *Sim) RemoveCard(ctx context.Context, accountID, paymentMethodID string) error {
	s.mu.Lock()
	st := s.accounts[accountID]
	var pm *paymentMethod
	if st != nil {
		pm = st.pms[paymentMethodID]
	}
	if pm == nil || pm.Customer == nil {
		s.mu.Unlock()
		return errors.New("stripesim: payment method " + paymentMethodID + " is not a saved card")
	}
	ev := s.detach(st, pm)
	s.mu.Unlock()
	s.dispatch([]pendingEvent{ev}, true)
	return ctx.Err()
}

// DeclineOffSession makes the issuer decline every off-session payment on
// a saved card with decline (insufficient_funds, say) until called with "".
func (s *Sim) DeclineOffSession(accountID, paymentMethodID, decline string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.accounts[accountID]
	if st == nil || st.pms[paymentMethodID] == nil {
		return errors.New("stripesim: no payment method " + paymentMethodID)
	}
	st.pms[paymentMethodID].declineOffSession = decline
	return nil
}

// SetupIntentPaymentMethod returns the card a SetupIntent sets up.
func (s *Sim) SetupIntentPaymentMethod(accountID, setupIntentID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.accounts[accountID]
	if st == nil || st.setis[setupIntentID] == nil || st.setis[setupIntentID].pm == nil {
		return "", errors.New("stripesim: no SetupIntent " + setupIntentID + " with a payment method")
	}
	return st.setis[setupIntentID].pm.ID, nil
}

// OffSessionPaid counts an account's succeeded off-session payments and
// what they took (refunds not deducted).
func (s *Sim) OffSessionPaid(accountID string) (count int, amount int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.accounts[accountID]
	if st == nil {
		return 0, 0
	}
	for _, pi := range st.pis {
		if pi.offSession && pi.Status == "succeeded" {
			count++
			amount += pi.AmountReceived
		}
	}
	return count, amount
}
