package stripesim

import "strconv"

func (s *Sim) createRefund(c *call) (int, any) {
	f := c.form
	if k, bad := unknownParams(f, "payment_intent", "charge", "amount", "reason", "metadata[", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	switch f.Get("reason") {
	case "", "duplicate", "fraudulent", "requested_by_customer":
	default:
		return invalid("reason", "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer")
	}
	s.mu.Lock()
	var pi *paymentIntent
	if id := f.Get("payment_intent"); id != "" {
		if pi = c.st.pis[id]; pi == nil {
			s.mu.Unlock()
			return invalidCode("resource_missing", "payment_intent", "No such payment_intent: '%s'", id)
		}
	} else if id := f.Get("charge"); id != "" {
		ch := c.st.charges[id]
		if ch == nil {
			s.mu.Unlock()
			return invalidCode("resource_missing", "charge", "No such charge: '%s'", id)
		}
		pi = c.st.pis[ch.PaymentIntent]
	} else {
		s.mu.Unlock()
		return invalid("", "One of the following params should be provided for this request: payment_intent or charge.")
	}
	ch := c.st.charges[pi.latestCharge]
	if pi.Status != "succeeded" || ch == nil {
		s.mu.Unlock()
		return invalidCode("payment_intent_unexpected_state", "payment_intent", "This PaymentIntent (%s) does not have a successful charge to refund.", pi.ID)
	}
	refundable := ch.AmountCaptured - refundedOf(c.st, ch.ID)
	if refundable <= 0 {
		s.mu.Unlock()
		return invalidCode("charge_already_refunded", "", "Charge %s has already been refunded.", ch.ID)
	}
	amount := refundable
	if v := f.Get("amount"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.mu.Unlock()
			return invalid("amount", "Invalid integer: %s", v)
		}
		if n > refundable {
			s.mu.Unlock()
			return invalidCode("amount_too_large", "amount", "Refund amount (%d) is greater than unrefunded amount on charge (%d)", n, refundable)
		}
		amount = n
	}
	now := s.now().Unix()
	re := &refund{ID: "re_" + randomString(24), Object: "refund", Amount: amount, Charge: ch.ID, Created: now,
		Currency: ch.Currency, Metadata: metadata(f), PaymentIntent: pi.ID, Status: "succeeded"}
	if r := f.Get("reason"); r != "" {
		re.Reason = str(r)
	}
	bt := s.balance(c.st, "refund", -amount, 0, ch.Currency, re.ID)
	re.BalanceTransaction = str(bt.ID)
	c.st.refunds[re.ID] = re
	c.st.refundList = append(c.st.refundList, re.ID)
	fails := cardFor(pi.pm.number).refundFails
	if fails {
		// Stripe's 4000000000005126 refunds are accepted, then fail at
		// the bank; this sim keeps them pending until they do.
		re.Status = "pending"
	}
	ch.AmountRefunded = ch.Amount - ch.AmountCaptured + refundedOf(c.st, ch.ID)
	ch.Refunded = ch.AmountRefunded >= ch.Amount
	evs := []pendingEvent{s.event(c.st, "refund.created", *re), s.event(c.st, "charge.refunded", *ch)}
	out := *re
	st := c.st
	s.mu.Unlock()
	s.dispatch(evs, false)
	if fails {
		s.bg.Go(func() {
			if !s.bg.Sleep(s.opts.EventDelay * 5) {
				return
			}
			s.mu.Lock()
			re.Status, re.FailureReason = "failed", str("expired_or_canceled_card")
			fb := s.balance(st, "refund_failure", amount, 0, re.Currency, re.ID)
			_ = fb
			ch.AmountRefunded = ch.Amount - ch.AmountCaptured + refundedOf(st, ch.ID)
			ch.Refunded = ch.AmountRefunded >= ch.Amount
			evs := []pendingEvent{s.event(st, "refund.updated", *re), s.event(st, "refund.failed", *re)}
			s.mu.Unlock()
			s.dispatch(evs, false)
		})
	}
	return 200, out
}

// refundedOf sums a charge's refunds that have not failed. Called with
// s.mu held.
func refundedOf(st *state, chargeID string) int64 {
	var n int64
	for _, id := range st.refundList {
		if r := st.refunds[id]; r.Charge == chargeID && r.Status != "failed" && r.Status != "canceled" {
			n += r.Amount
		}
	}
	return n
}

func (s *Sim) getRefund(c *call) (int, any) {
	if k, bad := unknownParams(c.form, "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	re := c.st.refunds[c.r.PathValue("id")]
	if re == nil {
		return notFound("refund", c.r.PathValue("id"))
	}
	return 200, *re
}

// listRefunds lists refunds newest first, filtered by payment_intent or
// charge, with Stripe's cursor pagination.
func (s *Sim) listRefunds(c *call) (int, any) {
	f := c.form
	if k, bad := unknownParams(f, "payment_intent", "charge", "limit", "starting_after", "ending_before", "created[", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	limit, errp := limitOf(f.Get("limit"))
	if errp {
		return invalid("limit", "Invalid limit: must be between 1 and 100")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []any
	var ids []string
	for i := len(c.st.refundList) - 1; i >= 0; i-- {
		re := c.st.refunds[c.st.refundList[i]]
		if pi := f.Get("payment_intent"); pi != "" && re.PaymentIntent != pi {
			continue
		}
		if ch := f.Get("charge"); ch != "" && re.Charge != ch {
			continue
		}
		all = append(all, *re)
		ids = append(ids, re.ID)
	}
	data, more := page(all, ids, f.Get("starting_after"), limit)
	return 200, list{Object: "list", Data: data, HasMore: more, URL: "/v1/refunds"}
}

func limitOf(v string) (int, bool) {
	if v == "" {
		return 10, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, true
	}
	return n, false
}

// page cuts one page after the starting_after cursor.
func page(all []any, ids []string, after string, limit int) ([]any, bool) {
	start := 0
	if after != "" {
		for i, id := range ids {
			if id == after {
				start = i + 1
			}
		}
	}
	if start > len(all) {
		start = len(all)
	}
	end := start + limit
	if end > len(all) {
		end = len(all)
	}
	out := append([]any{}, all[start:end]...)
	return out, end < len(all)
}

// listBalanceTransactions lists balance transactions newest first, with
// created[gte|gt|lte|lt], type, and expand[]=data.source.
func (s *Sim) listBalanceTransactions(c *call) (int, any) {
	f := c.form
	if k, bad := unknownParams(f, "created[gte]", "created[gt]", "created[lte]", "created[lt]", "created", "limit",
		"starting_after", "ending_before", "type", "currency", "payout", "source", "expand["); bad {
		return invalid(k, "Received unknown parameter: %s", k)
	}
	limit, errp := limitOf(f.Get("limit"))
	if errp {
		return invalid("limit", "Invalid limit: must be between 1 and 100")
	}
	bound := func(k string) (int64, bool, bool) {
		v := f.Get(k)
		if v == "" {
			return 0, false, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return n, true, err != nil
	}
	var lo, hi [2]int64
	var hasLo, hasHi [2]bool
	var bad bool
	var b bool
	lo[0], hasLo[0], b = bound("created[gte]")
	bad = bad || b
	lo[1], hasLo[1], b = bound("created[gt]")
	bad = bad || b
	hi[0], hasHi[0], b = bound("created[lte]")
	bad = bad || b
	hi[1], hasHi[1], b = bound("created[lt]")
	bad = bad || b
	if bad {
		return invalid("created", "Invalid timestamp")
	}
	expandSource := false
	for _, e := range c.expand() {
		if e == "data.source" {
			expandSource = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []any
	var ids []string
	for i := len(c.st.bts) - 1; i >= 0; i-- {
		bt := c.st.bts[i]
		if hasLo[0] && bt.Created < lo[0] || hasLo[1] && bt.Created <= lo[1] || hasHi[0] && bt.Created > hi[0] || hasHi[1] && bt.Created >= hi[1] {
			continue
		}
		if t := f.Get("type"); t != "" && bt.Type != t {
			continue
		}
		out := *bt
		out.Source = bt.source
		if expandSource {
			if ch := c.st.charges[bt.source]; ch != nil {
				cp := *ch
				out.Source = &cp
			} else if re := c.st.refunds[bt.source]; re != nil {
				cp := *re
				out.Source = &cp
			}
		}
		all = append(all, out)
		ids = append(ids, bt.ID)
	}
	data, more := page(all, ids, f.Get("starting_after"), limit)
	return 200, list{Object: "list", Data: data, HasMore: more, URL: "/v1/balance_transactions"}
}
