package paypalsim

import (
	"net/http"
)

// Payments v2: authorizations, captures, refunds. Resources of another
// REST app are 404, as at PayPal.

func (s *Sim) ownAuth(id, clientID string) *auth {
	a := s.auths[id]
	if a == nil || s.orders[a.orderID] == nil || s.orders[a.orderID].clientID != clientID {
		return nil
	}
	return a
}

func (s *Sim) getAuthorization(w http.ResponseWriter, r *http.Request, m *Merchant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ownAuth(r.PathValue("id"), m.ClientID)
	if a == nil {
		notFound(w)
		return
	}
	s.expireAuth(a)
	writeJSON(w, http.StatusOK, s.authJSON(a, true))
}

// expireAuth ends an authorization past its expiration_time.
func (s *Sim) expireAuth(a *auth) {
	if (a.status == "CREATED" || a.status == "PARTIALLY_CAPTURED") && s.now().After(a.expires) {
		a.status = "EXPIRED"
	}
}

func (s *Sim) captureAuthorization(w http.ResponseWriter, r *http.Request, m *Merchant) {
	var b struct {
		Amount       *money `json:"amount"`
		InvoiceID    string `json:"invoice_id"`
		FinalCapture *bool  `json:"final_capture"`
		NoteToPayer  string `json:"note_to_payer"`
	}
	if !decode(w, r, &b) {
		return
	}
	s.mu.Lock()
	a := s.ownAuth(r.PathValue("id"), m.ClientID)
	if a == nil {
		s.mu.Unlock()
		notFound(w)
		return
	}
	s.expireAuth(a)
	o := s.orders[a.orderID]
	fail := func(issue, desc string) {
		s.mu.Unlock()
		apiError(w, 422, issue, desc, "")
	}
	switch a.status {
	case "VOIDED":
		fail("AUTHORIZATION_VOIDED", "A voided authorization cannot be captured or reauthorized.")
		return
	case "EXPIRED":
		fail("AUTHORIZATION_EXPIRED", "An expired authorization cannot be captured.")
		return
	case "CAPTURED":
		fail("AUTHORIZATION_ALREADY_CAPTURED", "Authorization has been previously captured and hence cannot be captured again.")
		return
	case "DENIED":
		fail("AUTHORIZATION_DENIED", "A denied authorization cannot be captured.")
		return
	}
	amount := a.amount - a.captured
	if b.Amount != nil {
		if b.Amount.CurrencyCode != o.currency {
			fail("CURRENCY_MISMATCH", "Currency of capture must be the same as currency of authorization.")
			return
		}
		n, issue := parseMoney(*b.Amount)
		if issue != "" {
			fail(issue, "The amount is not acceptable.")
			return
		}
		amount = n
	}
	if amount > a.amount-a.captured {
		fail("MAX_CAPTURE_AMOUNT_EXCEEDED", "Capture amount exceeds allowable limit.")
		return
	}
	now := s.now()
	inv := b.InvoiceID
	if inv == "" {
		inv = o.invoiceID
	}
	c := &capture{id: newID(), orderID: o.id, authID: a.id, status: "COMPLETED", amount: amount, invoiceID: inv, created: now, updated: now}
	c.fee = fee(amount, o.currency)
	s.captures[c.id] = c
	o.captureIDs = append(o.captureIDs, c.id)
	a.captured += amount
	a.status = "PARTIALLY_CAPTURED"
	if (b.FinalCapture == nil || *b.FinalCapture) || a.captured == a.amount {
		a.status = "CAPTURED"
	}
	s.recordPayment(o, c)
	ev := s.event(o.clientID, "PAYMENT.CAPTURE.COMPLETED", "capture", o.invoiceID, s.captureJSON(c, true))
	j := s.captureJSON(c, true)
	s.mu.Unlock()
	s.notifier.Post(ev)
	writeJSON(w, http.StatusCreated, j)
}

func (s *Sim) voidAuthorization(w http.ResponseWriter, r *http.Request, m *Merchant) {
	s.mu.Lock()
	a := s.ownAuth(r.PathValue("id"), m.ClientID)
	if a == nil {
		s.mu.Unlock()
		notFound(w)
		return
	}
	s.expireAuth(a)
	switch a.status {
	case "VOIDED":
		s.mu.Unlock()
		apiError(w, 422, "PREVIOUSLY_VOIDED", "Authorization has been previously voided and hence cannot be voided again.", "")
		return
	case "CAPTURED", "PARTIALLY_CAPTURED":
		s.mu.Unlock()
		apiError(w, 422, "PREVIOUSLY_CAPTURED", "Authorization has been previously captured and hence cannot be voided.", "")
		return
	case "EXPIRED", "DENIED":
		s.mu.Unlock()
		apiError(w, 422, "AUTHORIZATION_"+a.status, "The authorization cannot be voided.", "")
		return
	}
	a.status = "VOIDED"
	o := s.orders[a.orderID]
	j := s.authJSON(a, true)
	ev := s.event(o.clientID, "PAYMENT.AUTHORIZATION.VOIDED", "authorization", o.invoiceID, j)
	s.mu.Unlock()
	s.notifier.Post(ev)
	if representation(r) {
		writeJSON(w, http.StatusOK, j)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) ownCapture(id, clientID string) *capture {
	c := s.captures[id]
	if c == nil || s.orders[c.orderID] == nil || s.orders[c.orderID].clientID != clientID {
		return nil
	}
	return c
}

func (s *Sim) getCapture(w http.ResponseWriter, r *http.Request, m *Merchant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ownCapture(r.PathValue("id"), m.ClientID)
	if c == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, s.captureJSON(c, true))
}

func (s *Sim) refundCapture(w http.ResponseWriter, r *http.Request, m *Merchant) {
	var b struct {
		Amount      *money `json:"amount"`
		InvoiceID   string `json:"invoice_id"`
		CustomID    string `json:"custom_id"`
		NoteToPayer string `json:"note_to_payer"`
	}
	if !decode(w, r, &b) {
		return
	}
	s.mu.Lock()
	c := s.ownCapture(r.PathValue("id"), m.ClientID)
	if c == nil {
		s.mu.Unlock()
		notFound(w)
		return
	}
	o := s.orders[c.orderID]
	fail := func(issue, desc string) {
		s.mu.Unlock()
		apiError(w, 422, issue, desc, "")
	}
	switch c.status {
	case "REFUNDED":
		fail("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")
		return
	case "DECLINED", "FAILED", "PENDING":
		fail("REFUND_NOT_ALLOWED", "Refund cannot be issued for a capture that is "+c.status+".")
		return
	}
	amount := c.amount - c.refunded
	if b.Amount != nil {
		if b.Amount.CurrencyCode != o.currency {
			fail("CURRENCY_MISMATCH", "Refund must be in the same currency as the capture.")
			return
		}
		n, issue := parseMoney(*b.Amount)
		if issue != "" {
			fail(issue, "The amount is not acceptable.")
			return
		}
		amount = n
	}
	if amount > c.amount-c.refunded {
		fail("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the capture amount that has not yet been refunded.")
		return
	}
	if len(b.InvoiceID) > 127 || len(b.CustomID) > 127 || len([]rune(b.NoteToPayer)) > 255 {
		s.mu.Unlock()
		apiError(w, 400, "INVALID_STRING_MAX_LENGTH", "The value of a field is too long.", "")
		return
	}
	custom := b.CustomID
	if custom == "" {
		custom = o.customID
	}
	now := s.now()
	rf := &refund{id: newID(), captureID: c.id, orderID: o.id, status: "COMPLETED", amount: amount, invoiceID: b.InvoiceID,
		customID: custom, note: b.NoteToPayer, created: now}
	s.refunds[rf.id] = rf
	o.refundIDs = append(o.refundIDs, rf.id)
	c.refunded += amount
	c.status, c.updated = "PARTIALLY_REFUNDED", now
	if c.refunded == c.amount {
		c.status = "REFUNDED"
	}
	s.recordRefund(o, c, rf)
	j := s.refundJSON(rf, true)
	ev := s.event(o.clientID, "PAYMENT.CAPTURE.REFUNDED", "refund", o.invoiceID, j)
	s.mu.Unlock()
	s.notifier.Post(ev)
	writeJSON(w, http.StatusCreated, j)
}

func (s *Sim) getRefund(w http.ResponseWriter, r *http.Request, m *Merchant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rf := s.refunds[r.PathValue("id")]
	if rf == nil || s.orders[rf.orderID] == nil || s.orders[rf.orderID].clientID != m.ClientID {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, s.refundJSON(rf, true))
}
