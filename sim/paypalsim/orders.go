package paypalsim

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

type order struct {
	id, clientID, merchantID, merchantEmail string
	intent, status                          string
	refID, customID, invoiceID, description string
	currency                                string
	amount                                  int64
	returnURL, cancelURL                    string
	approveRel                              string // "payer-action" or "approve"
	created, updated                        time.Time
	payerID, payerEmail, payerName          string
	declined                                bool // the buyer's funding is declined
	authIDs, captureIDs, refundIDs          []string
}

type auth struct {
	id, orderID, status string
	amount              int64
	captured            int64
	created, expires    time.Time
}

type capture struct {
	id, orderID, authID, status string
	amount, fee, refunded       int64
	invoiceID                   string
	created, updated            time.Time
}

type refund struct {
	id, captureID, orderID, status string
	amount                         int64
	invoiceID, customID, note      string
	created                        time.Time
}

// Wire shapes of the resources.

type link struct {
	Href   string `json:"href"`
	Rel    string `json:"rel"`
	Method string `json:"method"`
}

type payeeJSON struct {
	MerchantID   string `json:"merchant_id"`
	EmailAddress string `json:"email_address,omitempty"`
}

type related struct {
	RelatedIDs map[string]string `json:"related_ids"`
}

type captureJSON struct {
	ID                        string            `json:"id"`
	Status                    string            `json:"status"`
	StatusDetails             map[string]string `json:"status_details,omitempty"`
	Amount                    money             `json:"amount"`
	FinalCapture              bool              `json:"final_capture"`
	SellerProtection          map[string]any    `json:"seller_protection"`
	SellerReceivableBreakdown map[string]money  `json:"seller_receivable_breakdown,omitempty"`
	InvoiceID                 string            `json:"invoice_id,omitempty"`
	CustomID                  string            `json:"custom_id,omitempty"`
	Payee                     *payeeJSON        `json:"payee,omitempty"`
	SupplementaryData         *related          `json:"supplementary_data,omitempty"`
	CreateTime                string            `json:"create_time"`
	UpdateTime                string            `json:"update_time"`
	Links                     []link            `json:"links"`
}

type authJSON struct {
	ID                string     `json:"id"`
	Status            string     `json:"status"`
	Amount            money      `json:"amount"`
	InvoiceID         string     `json:"invoice_id,omitempty"`
	CustomID          string     `json:"custom_id,omitempty"`
	Payee             *payeeJSON `json:"payee,omitempty"`
	SupplementaryData *related   `json:"supplementary_data,omitempty"`
	ExpirationTime    string     `json:"expiration_time"`
	CreateTime        string     `json:"create_time"`
	UpdateTime        string     `json:"update_time"`
	Links             []link     `json:"links"`
}

type refundJSON struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	Amount      money      `json:"amount"`
	InvoiceID   string     `json:"invoice_id,omitempty"`
	CustomID    string     `json:"custom_id,omitempty"`
	NoteToPayer string     `json:"note_to_payer,omitempty"`
	Payer       *payeeJSON `json:"payer,omitempty"`
	CreateTime  string     `json:"create_time"`
	UpdateTime  string     `json:"update_time"`
	Links       []link     `json:"links"`
}

type paymentsJSON struct {
	Authorizations []authJSON    `json:"authorizations,omitempty"`
	Captures       []captureJSON `json:"captures,omitempty"`
	Refunds        []refundJSON  `json:"refunds,omitempty"`
}

type purchaseUnitJSON struct {
	ReferenceID string        `json:"reference_id"`
	Amount      money         `json:"amount"`
	Payee       payeeJSON     `json:"payee"`
	Description string        `json:"description,omitempty"`
	CustomID    string        `json:"custom_id,omitempty"`
	InvoiceID   string        `json:"invoice_id,omitempty"`
	Payments    *paymentsJSON `json:"payments,omitempty"`
}

type payerJSON struct {
	Name         map[string]string `json:"name"`
	EmailAddress string            `json:"email_address"`
	PayerID      string            `json:"payer_id"`
}

type orderJSON struct {
	ID            string             `json:"id"`
	Intent        string             `json:"intent,omitempty"`
	Status        string             `json:"status"`
	PurchaseUnits []purchaseUnitJSON `json:"purchase_units,omitempty"`
	Payer         *payerJSON         `json:"payer,omitempty"`
	CreateTime    string             `json:"create_time,omitempty"`
	UpdateTime    string             `json:"update_time,omitempty"`
	Links         []link             `json:"links"`
}

// Rendering; called with s.mu held.

func (s *Sim) orderJSON(o *order, full bool) orderJSON {
	api := s.url + "/v2/checkout/orders/" + o.id
	j := orderJSON{ID: o.id, Status: o.status, Links: []link{{api, "self", "GET"}}}
	switch o.status {
	case "CREATED", "PAYER_ACTION_REQUIRED":
		j.Links = append(j.Links, link{s.url + "/checkoutnow?token=" + o.id, o.approveRel, "GET"}, link{api, "update", "PATCH"})
	case "APPROVED":
		verb := "capture"
		if o.intent == "AUTHORIZE" {
			verb = "authorize"
		}
		j.Links = append(j.Links, link{api, "update", "PATCH"}, link{api + "/" + verb, verb, "POST"})
	}
	if !full {
		return j
	}
	j.Intent, j.CreateTime, j.UpdateTime = o.intent, stamp(o.created), stamp(o.updated)
	if o.payerID != "" {
		first, last, _ := strings.Cut(o.payerName, " ")
		j.Payer = &payerJSON{Name: map[string]string{"given_name": first, "surname": last}, EmailAddress: o.payerEmail, PayerID: o.payerID}
	}
	pu := purchaseUnitJSON{ReferenceID: o.refID, Amount: mk(o.amount, o.currency), Description: o.description,
		Payee: payeeJSON{MerchantID: o.merchantID, EmailAddress: o.merchantEmail}, CustomID: o.customID, InvoiceID: o.invoiceID}
	if len(o.authIDs)+len(o.captureIDs)+len(o.refundIDs) > 0 {
		p := &paymentsJSON{}
		for _, id := range o.authIDs {
			p.Authorizations = append(p.Authorizations, s.authJSON(s.auths[id], false))
		}
		for _, id := range o.captureIDs {
			p.Captures = append(p.Captures, s.captureJSON(s.captures[id], false))
		}
		for _, id := range o.refundIDs {
			p.Refunds = append(p.Refunds, s.refundJSON(s.refunds[id], false))
		}
		pu.Payments = p
	}
	j.PurchaseUnits = []purchaseUnitJSON{pu}
	return j
}

func (s *Sim) captureJSON(c *capture, standalone bool) captureJSON {
	o := s.orders[c.orderID]
	j := captureJSON{ID: c.id, Status: c.status, Amount: mk(c.amount, o.currency), FinalCapture: true,
		SellerProtection: map[string]any{"status": "ELIGIBLE", "dispute_categories": []string{"ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"}},
		InvoiceID:        c.invoiceID, CustomID: o.customID, CreateTime: stamp(c.created), UpdateTime: stamp(c.updated),
		Links: []link{{s.url + "/v2/payments/captures/" + c.id, "self", "GET"}, {s.url + "/v2/payments/captures/" + c.id + "/refund", "refund", "POST"},
			{s.url + "/v2/checkout/orders/" + o.id, "up", "GET"}}}
	switch c.status {
	case "DECLINED":
		j.SellerProtection = map[string]any{"status": "NOT_ELIGIBLE"}
	case "PENDING":
		j.StatusDetails = map[string]string{"reason": "PENDING_REVIEW"}
	default:
		j.SellerReceivableBreakdown = map[string]money{"gross_amount": mk(c.amount, o.currency),
			"paypal_fee": mk(c.fee, o.currency), "net_amount": mk(c.amount-c.fee, o.currency)}
	}
	if standalone {
		j.Payee = &payeeJSON{MerchantID: o.merchantID, EmailAddress: o.merchantEmail}
		ids := map[string]string{"order_id": o.id}
		if c.authID != "" {
			ids["authorization_id"] = c.authID
		}
		j.SupplementaryData = &related{RelatedIDs: ids}
	}
	return j
}

func (s *Sim) authJSON(a *auth, standalone bool) authJSON {
	o := s.orders[a.orderID]
	j := authJSON{ID: a.id, Status: a.status, Amount: mk(a.amount, o.currency), InvoiceID: o.invoiceID, CustomID: o.customID,
		ExpirationTime: stamp(a.expires), CreateTime: stamp(a.created), UpdateTime: stamp(a.created),
		Links: []link{{s.url + "/v2/payments/authorizations/" + a.id, "self", "GET"},
			{s.url + "/v2/payments/authorizations/" + a.id + "/capture", "capture", "POST"},
			{s.url + "/v2/payments/authorizations/" + a.id + "/void", "void", "POST"},
			{s.url + "/v2/checkout/orders/" + o.id, "up", "GET"}}}
	if standalone {
		j.Payee = &payeeJSON{MerchantID: o.merchantID, EmailAddress: o.merchantEmail}
		j.SupplementaryData = &related{RelatedIDs: map[string]string{"order_id": o.id}}
	}
	return j
}

func (s *Sim) refundJSON(rf *refund, standalone bool) refundJSON {
	o := s.orders[rf.orderID]
	j := refundJSON{ID: rf.id, Status: rf.status, Amount: mk(rf.amount, o.currency), InvoiceID: rf.invoiceID,
		CustomID: rf.customID, NoteToPayer: rf.note, CreateTime: stamp(rf.created), UpdateTime: stamp(rf.created),
		Links: []link{{s.url + "/v2/payments/refunds/" + rf.id, "self", "GET"}, {s.url + "/v2/payments/captures/" + rf.captureID, "up", "GET"}}}
	if standalone {
		j.Payer = &payeeJSON{MerchantID: o.merchantID, EmailAddress: o.merchantEmail}
	}
	return j
}

// Handlers.

type createOrderBody struct {
	Intent        string `json:"intent"`
	PurchaseUnits []struct {
		ReferenceID string     `json:"reference_id"`
		CustomID    string     `json:"custom_id"`
		InvoiceID   string     `json:"invoice_id"`
		Description string     `json:"description"`
		Amount      *money     `json:"amount"`
		Payee       *payeeJSON `json:"payee"`
	} `json:"purchase_units"`
	PaymentSource *struct {
		PayPal *struct {
			ExperienceContext *struct {
				ReturnURL string `json:"return_url"`
				CancelURL string `json:"cancel_url"`
			} `json:"experience_context"`
		} `json:"paypal"`
	} `json:"payment_source"`
	ApplicationContext *struct {
		ReturnURL string `json:"return_url"`
		CancelURL string `json:"cancel_url"`
	} `json:"application_context"`
}

func (s *Sim) createOrder(w http.ResponseWriter, r *http.Request, m *Merchant) {
	var b createOrderBody
	if !decode(w, r, &b) {
		return
	}
	if b.Intent != "CAPTURE" && b.Intent != "AUTHORIZE" {
		apiError(w, 400, "INVALID_PARAMETER_VALUE", "The value of intent must be CAPTURE or AUTHORIZE.", "/intent")
		return
	}
	if len(b.PurchaseUnits) == 0 {
		apiError(w, 400, "MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.", "/purchase_units")
		return
	}
	if len(b.PurchaseUnits) > 1 {
		// PayPal takes up to 10; the simulator only one.
		apiError(w, 422, "UNSUPPORTED_PURCHASE_UNITS", "The simulator takes a single purchase unit.", "/purchase_units")
		return
	}
	pu := b.PurchaseUnits[0]
	if pu.Amount == nil {
		apiError(w, 400, "MISSING_REQUIRED_PARAMETER", "A required field / parameter is missing.", "/purchase_units/@reference_id=='default'/amount")
		return
	}
	amount, issue := parseMoney(*pu.Amount)
	if issue != "" {
		status := 422
		if issue == "INVALID_PARAMETER_SYNTAX" || issue == "INVALID_PARAMETER_VALUE" {
			status = 400
		}
		apiError(w, status, issue, "The amount is not acceptable: "+issue+".", "/purchase_units/@reference_id=='default'/amount/value")
		return
	}
	for _, f := range []struct {
		v    string
		max  int
		name string
	}{{pu.CustomID, 127, "custom_id"}, {pu.InvoiceID, 127, "invoice_id"}, {pu.Description, 127, "description"}, {pu.ReferenceID, 256, "reference_id"}} {
		if len([]rune(f.v)) > f.max {
			apiError(w, 400, "INVALID_STRING_MAX_LENGTH", "The value of a field is too long.", "/purchase_units/@reference_id=='default'/"+f.name)
			return
		}
	}
	if pu.Payee != nil && pu.Payee.MerchantID != "" && pu.Payee.MerchantID != m.MerchantID {
		apiError(w, 422, "PAYEE_ACCOUNT_INVALID", "Payee account specified is invalid. Please check the payee.merchant_id specified and try again.", "/purchase_units/@reference_id=='default'/payee/merchant_id")
		return
	}
	now := s.now()
	o := &order{id: newID(), clientID: m.ClientID, merchantID: m.MerchantID, merchantEmail: m.Email, intent: b.Intent,
		status: "CREATED", refID: pu.ReferenceID, customID: pu.CustomID, invoiceID: pu.InvoiceID, description: pu.Description,
		currency: pu.Amount.CurrencyCode, amount: amount, approveRel: "approve", created: now, updated: now}
	if o.refID == "" {
		o.refID = "default"
	}
	if ps := b.PaymentSource; ps != nil && ps.PayPal != nil {
		o.approveRel = "payer-action"
		o.status = "PAYER_ACTION_REQUIRED"
		if ec := ps.PayPal.ExperienceContext; ec != nil {
			o.returnURL, o.cancelURL = ec.ReturnURL, ec.CancelURL
		}
	} else if ac := b.ApplicationContext; ac != nil {
		o.returnURL, o.cancelURL = ac.ReturnURL, ac.CancelURL
	}
	for _, u := range []string{o.returnURL, o.cancelURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") {
			apiError(w, 400, "INVALID_PARAMETER_SYNTAX", "return_url and cancel_url must be absolute http(s) URLs.", "/payment_source/paypal/experience_context/return_url")
			return
		}
	}
	s.mu.Lock()
	s.orders[o.id] = o
	j := s.orderJSON(o, representation(r))
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, j)
}

// liveOrder returns the client's order, expiring it when it waited too
// long; nil when there is none. Called with s.mu held.
func (s *Sim) liveOrder(id, clientID string) *order {
	o := s.orders[id]
	if o == nil || o.clientID != clientID {
		return nil
	}
	switch o.status {
	case "CREATED", "PAYER_ACTION_REQUIRED", "APPROVED":
		if s.now().Sub(o.created) > OrderTTL {
			delete(s.orders, id)
			return nil
		}
	}
	return o
}

func (s *Sim) getOrder(w http.ResponseWriter, r *http.Request, m *Merchant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.liveOrder(r.PathValue("id"), m.ClientID)
	if o == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, s.orderJSON(o, true))
}

// patchOrder is PATCH /v2/checkout/orders/{id}: JSON Patch on the fields
// PayPal lets a merchant change before completion (custom_id, invoice_id,
// description of the purchase unit).
func (s *Sim) patchOrder(w http.ResponseWriter, r *http.Request, m *Merchant) {
	var ops []struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	if !decode(w, r, &ops) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.liveOrder(r.PathValue("id"), m.ClientID)
	if o == nil {
		notFound(w)
		return
	}
	if o.status != "CREATED" && o.status != "PAYER_ACTION_REQUIRED" && o.status != "APPROVED" {
		apiError(w, 422, "ORDER_ALREADY_COMPLETED", "The order cannot be patched after it is completed.", "")
		return
	}
	prefix := "/purchase_units/@reference_id=='" + o.refID + "'/"
	type change struct {
		dst *string
		v   string
	}
	var changes []change
	for _, op := range ops {
		if op.Op != "replace" && op.Op != "add" {
			apiError(w, 422, "PATCH_OPERATION_NOT_SUPPORTED", "Operation "+op.Op+" is not supported for this path.", op.Path)
			return
		}
		field, ok := strings.CutPrefix(op.Path, prefix)
		v, isStr := op.Value.(string)
		if !ok || !isStr || len(v) > 127 {
			apiError(w, 422, "INVALID_PATCH_PATH", "The specified field cannot be patched.", op.Path)
			return
		}
		switch field {
		case "custom_id":
			changes = append(changes, change{&o.customID, v})
		case "invoice_id":
			changes = append(changes, change{&o.invoiceID, v})
		case "description":
			changes = append(changes, change{&o.description, v})
		default:
			apiError(w, 422, "INVALID_PATCH_PATH", "The specified field cannot be patched.", op.Path)
			return
		}
	}
	for _, c := range changes {
		*c.dst = c.v
	}
	o.updated = s.now()
	w.WriteHeader(http.StatusNoContent)
}

// completeOrder is POST .../{id}/capture and .../{id}/authorize.
func (s *Sim) completeOrder(w http.ResponseWriter, r *http.Request, m *Merchant) {
	var ignored map[string]any
	if !decode(w, r, &ignored) {
		return
	}
	verb := "CAPTURE"
	if strings.HasSuffix(r.URL.Path, "/authorize") {
		verb = "AUTHORIZE"
	}
	s.mu.Lock()
	o := s.liveOrder(r.PathValue("id"), m.ClientID)
	if o == nil {
		s.mu.Unlock()
		notFound(w)
		return
	}
	switch {
	case o.intent != verb:
		s.mu.Unlock()
		apiError(w, 422, "ACTION_DOES_NOT_MATCH_INTENT", "Order was created with an intent of "+o.intent+".", "")
		return
	case o.status == "COMPLETED" && verb == "CAPTURE":
		s.mu.Unlock()
		apiError(w, 422, "ORDER_ALREADY_CAPTURED", "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.", "")
		return
	case o.status == "COMPLETED":
		s.mu.Unlock()
		apiError(w, 422, "ORDER_ALREADY_AUTHORIZED", "Order already authorized. If 'intent=AUTHORIZE' only one authorization per order is allowed.", "")
		return
	case o.status != "APPROVED":
		s.mu.Unlock()
		apiError(w, 422, "ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.", "")
		return
	}
	now := s.now()
	o.status, o.updated = "COMPLETED", now
	var ev *simkit.Notice
	if verb == "CAPTURE" {
		c := &capture{id: newID(), orderID: o.id, status: "COMPLETED", amount: o.amount, invoiceID: o.invoiceID, created: now, updated: now}
		if o.declined {
			c.status = "DECLINED"
		} else {
			c.fee = fee(c.amount, o.currency)
			s.recordPayment(o, c)
		}
		s.captures[c.id] = c
		o.captureIDs = append(o.captureIDs, c.id)
		typ := "PAYMENT.CAPTURE.COMPLETED"
		if c.status == "DECLINED" {
			typ = "PAYMENT.CAPTURE.DENIED"
		}
		ev = s.event(o.clientID, typ, "capture", o.invoiceID, s.captureJSON(c, true))
	} else {
		a := &auth{id: newID(), orderID: o.id, status: "CREATED", amount: o.amount, created: now, expires: now.Add(29 * 24 * time.Hour)}
		typ := "PAYMENT.AUTHORIZATION.CREATED"
		if o.declined {
			a.status, typ = "DENIED", "PAYMENT.AUTHORIZATION.DENIED"
		}
		s.auths[a.id] = a
		o.authIDs = append(o.authIDs, a.id)
		ev = s.event(o.clientID, typ, "authorization", o.invoiceID, s.authJSON(a, true))
	}
	j := s.orderJSON(o, representation(r))
	s.mu.Unlock()
	s.notifier.Post(ev)
	writeJSON(w, http.StatusCreated, j)
}
