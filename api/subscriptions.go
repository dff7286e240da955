package api

import (
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// polypay's plans and subscriptions: a plan billed each period by
// debiting a signed agreement, with one invoice per period.
func (s *Server) subscriptionRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/plans", s.authed(s.createPlan))
	m.HandleFunc("GET /v1/plans", s.authed(s.listPlans))
	m.HandleFunc("GET /v1/plans/{id}", s.authed(s.getBy("id", s.Svc.GetPlan)))
	m.HandleFunc("POST /v1/subscriptions", s.authed(s.createSubscription))
	m.HandleFunc("GET /v1/subscriptions", s.authed(s.listSubscriptions))
	m.HandleFunc("GET /v1/subscriptions/{id}", s.authed(s.getBy("id", s.Svc.GetSubscription)))
	m.HandleFunc("PUT /v1/subscriptions/{id}", s.authed(s.updateSubscription))
	m.HandleFunc("DELETE /v1/subscriptions/{id}", s.authed(s.getBy("id", s.Svc.CancelSubscription)))
	m.HandleFunc("GET /v1/subscriptions/{id}/invoices", s.authed(s.listInvoices))
}

// appBody reads a create request's app, which must be the caller's.
func appBody(b *body, who core.Caller) error {
	appID, err := b.appID()
	if err != nil {
		return err
	}
	return checkApp(appID, who)
}

func (s *Server) createPlan(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	if err := appBody(b, who); err != nil {
		return err
	}
	var p core.PlanParams
	if p.Name, err = b.str("name", false, 64); err != nil {
		return err
	}
	if p.Amount, _, err = b.int("amount", true); err != nil {
		return err
	}
	if p.Currency, err = b.str("currency", true, 3); err != nil {
		return err
	}
	if p.Interval, err = b.str("interval", true, 8); err != nil {
		return err
	}
	count, given, err := b.int("interval_count", false)
	if err != nil {
		return err
	}
	if p.IntervalCount = 1; given {
		p.IntervalCount = int(min(max(count, -1), 1000))
	}
	trial, _, err := b.int("trial_days", false)
	if err != nil {
		return err
	}
	p.TrialDays = int(min(max(trial, -1), 1000))
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	out, err := s.Svc.CreatePlan(r.Context(), who, p)
	return s.answer(w, r, out, err)
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, nil, func(_ query, p store.Page) (wire.List, error) {
		return s.Svc.ListPlans(r.Context(), who, r.URL.Path, p)
	})
}

func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	if err := appBody(b, who); err != nil {
		return err
	}
	var p core.SubscriptionParams
	if p.Plan, err = b.str("plan", true, 64); err != nil {
		return err
	}
	if p.Agreement, err = b.str("agreement", true, 64); err != nil {
		return err
	}
	if p.User, err = b.str("user", false, 64); err != nil {
		return err
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	out, err := s.Svc.CreateSubscription(r.Context(), who, p)
	return s.answer(w, r, out, err)
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, []string{"status"}, func(q query, p store.Page) (wire.List, error) {
		status := q.v.Get("status")
		switch status {
		case "", "trialing", "active", "past_due", "canceled":
		default:
			return wire.List{}, polypay.ParamError("status", "status 须为 trialing、active、past_due 或 canceled")
		}
		return s.Svc.ListSubscriptions(r.Context(), who, r.URL.Path, status, p)
	})
}

func (s *Server) updateSubscription(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	var p core.SubscriptionUpdate
	if p.Plan, err = b.str("plan", false, 64); err != nil {
		return err
	}
	if _, ok := b.raw("cancel_at_period_end"); ok {
		v, err := b.bool("cancel_at_period_end", false)
		if err != nil {
			return err
		}
		p.CancelAtPeriodEnd = &v
	}
	if _, ok := b.raw("metadata"); ok {
		if p.Metadata, err = payoutMetadata(b); err != nil {
			return err
		}
	}
	if err := b.unknown(); err != nil {
		return err
	}
	if p.Plan == "" && p.CancelAtPeriodEnd == nil && p.Metadata == nil {
		return polypay.ParamError("plan", "须提供 plan、cancel_at_period_end 或 metadata")
	}
	out, err := s.Svc.UpdateSubscription(r.Context(), who, r.PathValue("id"), p)
	return s.answer(w, r, out, err)
}

func (s *Server) listInvoices(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, nil, func(_ query, p store.Page) (wire.List, error) {
		return s.Svc.ListInvoices(r.Context(), who, r.URL.Path, r.PathValue("id"), p)
	})
}
