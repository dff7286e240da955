package core

import (
	"context"
	"encoding/json"
	"regexp"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Subscriptions (polypay's, Stripe-like): a plan billed each period by
// debiting the customer's signed agreement. The first period is billed
// when the subscription is made (after the plan's trial, if any); later
// periods by the scheduler (subscription_billing.go), exactly once each.

// PlanParams create a plan.
type PlanParams struct {
	Name          string
	Amount        int64
	Currency      string
	Interval      string
	IntervalCount int
	TrialDays     int
	Metadata      json.RawMessage
}

// CreatePlan stores a plan.
func (s *Service) CreatePlan(ctx context.Context, who Caller, p PlanParams) (any, error) {
	switch p.Interval {
	case "day", "week", "month", "year":
	default:
		return nil, polypay.ParamError("interval", "interval 须为 day、week、month 或 year")
	}
	if p.IntervalCount < 1 || p.IntervalCount > 366 {
		return nil, polypay.ParamError("interval_count", "interval_count 须为 1 到 366")
	}
	if p.Amount < 1 || p.Amount > MaxAmount {
		return nil, polypay.ParamError("amount", "amount 须为 1 到 %d 之间的整数（单位：分）", MaxAmount)
	}
	if !currencyRe.MatchString(p.Currency) {
		// The agreement's channel refuses a currency it does not take
		// when the first invoice is charged.
		return nil, polypay.ParamError("currency", "currency 须为小写的 3 位 ISO 4217 货币代码，如 cny")
	}
	if p.TrialDays < 0 || p.TrialDays > 730 {
		return nil, polypay.ParamError("trial_days", "trial_days 须为 0 到 730")
	}
	pl := &store.Plan{ID: polypay.NewID("plan_"), AppID: who.App.ID, Livemode: who.Live, Name: p.Name, Amount: p.Amount,
		Currency: p.Currency, IntervalUnit: p.Interval, IntervalCount: p.IntervalCount, TrialDays: p.TrialDays, Metadata: p.Metadata,
		Created: s.now().Unix()}
	if err := s.write(ctx, func(tx Tx) error { return tx.InsertPlan(ctx, pl) }); err != nil {
		return nil, err
	}
	return wire.FromPlan(pl), nil
}

// GetPlan answers one plan.
func (s *Service) GetPlan(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		p, err := tx.GetPlan(ctx, who.App.ID, who.Live, id)
		if err == nil {
			out = wire.FromPlan(p)
		}
		return err
	})
	return out, err
}

// ListPlans pages through an app's plans.
func (s *Service) ListPlans(ctx context.Context, who Caller, url string, p store.Page) (wire.List, error) {
	return listPage(ctx, s, who, "plans", url, p, func(tx Tx) ([]*store.Plan, bool, error) {
		return tx.ListPlans(ctx, who.App.ID, who.Live, p)
	}, func(x *store.Plan) any { return wire.FromPlan(x) })
}

// SubscriptionParams create a subscription.
type SubscriptionParams struct {
	Plan      string
	Agreement string
	User      string
	Metadata  json.RawMessage
}

// CreateSubscription starts a subscription on a signed agreement of the
// app: trialing until the plan's trial ends, else its first period is
// billed now (the answer says whether it was paid: active, or past_due
// and retried by the dunning schedule).
func (s *Service) CreateSubscription(ctx context.Context, who Caller, p SubscriptionParams) (any, error) {
	now := s.now().Unix()
	x := &store.Subscription{ID: polypay.NewID("sub_"), AppID: who.App.ID, Livemode: who.Live, PlanID: p.Plan, AgreementID: p.Agreement,
		UserID: p.User, Anchor: now, Metadata: p.Metadata, Created: now}
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		plan, err := tx.GetPlan(ctx, who.App.ID, who.Live, p.Plan)
		if err != nil {
			return paramNotFound(err, "plan")
		}
		a, err := tx.GetAgreement(ctx, who.App.ID, who.Live, p.Agreement)
		if err != nil {
			return paramNotFound(err, "agreement")
		}
		if a.Status != polypay.AgreementSucceeded {
			return polypay.ParamError("agreement", "签约 %s 状态为 %s，不能用于订阅", a.ID, a.Status)
		}
		if p.User != "" {
			if _, err := tx.GetUser(ctx, who.App.ID, who.Live, p.User); err != nil {
				return paramNotFound(err, "user")
			}
		}
		startSubscription(x, plan, now)
		if err := tx.InsertSubscription(ctx, x); err != nil {
			return err
		}
		if x.Status == subActive {
			if err := tx.InsertInvoice(ctx, newInvoice(x, plan, "period", x.CurrentPeriodStart, x.CurrentPeriodEnd, plan.Amount, now)); err != nil {
				return err
			}
		}
		queued, err = s.emit(ctx, tx, x.AppID, x.Livemode, polypay.EventSubscriptionCreated, who.RequestID, wire.FromSubscription(x))
		return err
	})
	s.kick(queued)
	if err != nil {
		return nil, err
	}
	s.runSubscription(ctx, x.ID, now)
	return s.GetSubscription(ctx, who, x.ID)
}

// Subscription statuses.
const (
	subTrialing = "trialing"
	subActive   = "active"
	subPastDue  = "past_due"
	subCanceled = "canceled"
)

// startSubscription sets a new subscription's first period: the trial,
// or period 1 from now (billed at once: next_run now).
func startSubscription(x *store.Subscription, plan *store.Plan, now int64) {
	x.NextRun = now
	if plan.TrialDays > 0 {
		x.Status, x.TrialEnd = subTrialing, now+int64(plan.TrialDays)*86400
		x.Anchor, x.CurrentPeriodStart, x.CurrentPeriodEnd, x.NextRun = x.TrialEnd, now, x.TrialEnd, x.TrialEnd
		return
	}
	x.Status, x.Periods = subActive, 1
	x.CurrentPeriodStart, x.CurrentPeriodEnd = now, periodEnd(x.Anchor, plan.IntervalUnit, plan.IntervalCount, 1)
}

func newInvoice(x *store.Subscription, plan *store.Plan, kind string, start, end, amount, now int64) *store.Invoice {
	return &store.Invoice{ID: polypay.NewID("inv_"), AppID: x.AppID, Livemode: x.Livemode, SubscriptionID: x.ID, Kind: kind,
		PeriodStart: start, PeriodEnd: end, Amount: amount, Currency: plan.Currency, Status: "open", NextAttempt: now, Created: now}
}

// paramNotFound turns a not-found object into a parameter error naming
// the parameter that named it.
func paramNotFound(err error, param string) error {
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return polypay.ParamError(param, "%s 不存在", param)
	}
	return err
}

// GetSubscription answers one subscription.
func (s *Service) GetSubscription(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		x, err := tx.GetSubscription(ctx, who.App.ID, who.Live, id)
		if err == nil {
			out = wire.FromSubscription(x)
		}
		return err
	})
	return out, err
}

// ListSubscriptions pages through an app's subscriptions.
func (s *Service) ListSubscriptions(ctx context.Context, who Caller, url, status string, p store.Page) (wire.List, error) {
	return listPage(ctx, s, who, "subscriptions", url, p, func(tx Tx) ([]*store.Subscription, bool, error) {
		return tx.ListSubscriptions(ctx, who.App.ID, who.Live, status, p)
	}, func(x *store.Subscription) any { return wire.FromSubscription(x) })
}

// ListInvoices pages through a subscription's invoices.
func (s *Service) ListInvoices(ctx context.Context, who Caller, url, subID string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if _, err := tx.GetSubscription(ctx, who.App.ID, who.Live, subID); err != nil {
			return err
		}
		vs, more, err := tx.ListInvoices(ctx, who.App.ID, who.Live, subID, p)
		if err != nil {
			return err
		}
		list, err = renderList(url, vs, more, func(v *store.Invoice) (any, error) { return wire.FromInvoice(v), nil })
		return err
	})
	return list, err
}

// SubscriptionUpdate is PUT /v1/subscriptions/{id}.
type SubscriptionUpdate struct {
	Plan              string
	CancelAtPeriodEnd *bool
	Metadata          json.RawMessage
}

// UpdateSubscription changes a subscription: cancel at the period's end
// (or not), metadata, or its plan. A plan change takes effect now, prorated
// to the day: a dearer plan's share of the rest of the period is billed at
// once (a proration invoice), a cheaper one's is owed back as credit taken
// off the next invoices. Plans of another interval are refused.
func (s *Service) UpdateSubscription(ctx context.Context, who Caller, id string, p SubscriptionUpdate) (any, error) {
	now := s.now().Unix()
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		x, err := s.lockOwnSubscription(ctx, tx, who, id)
		if err != nil {
			return err
		}
		if x.Status == subCanceled {
			return polypay.ParamError("id", "订阅 %s 已取消", x.ID)
		}
		if p.CancelAtPeriodEnd != nil {
			x.CancelAtPeriodEnd = *p.CancelAtPeriodEnd
		}
		if p.Metadata != nil {
			x.Metadata = p.Metadata
		}
		if p.Plan != "" && p.Plan != x.PlanID {
			if err := changePlan(ctx, tx, x, p.Plan, now); err != nil {
				return err
			}
		}
		return tx.UpdateSubscription(ctx, x)
	})
	s.kick(queued)
	if err != nil {
		return nil, err
	}
	s.runSubscription(ctx, id, now)
	return s.GetSubscription(ctx, who, id)
}

func (s *Service) lockOwnSubscription(ctx context.Context, tx Tx, who Caller, id string) (*store.Subscription, error) {
	if _, err := tx.GetSubscription(ctx, who.App.ID, who.Live, id); err != nil {
		return nil, err
	}
	return tx.LockSubscription(ctx, id)
}

// changePlan moves x to plan id now, prorated to the day over the rest of
// the current period.
func changePlan(ctx context.Context, tx Tx, x *store.Subscription, id string, now int64) error {
	old, err := tx.GetPlan(ctx, x.AppID, x.Livemode, x.PlanID)
	if err != nil {
		return err
	}
	plan, err := tx.GetPlan(ctx, x.AppID, x.Livemode, id)
	if err != nil {
		return paramNotFound(err, "plan")
	}
	if plan.IntervalUnit != old.IntervalUnit || plan.IntervalCount != old.IntervalCount || plan.Currency != old.Currency {
		return polypay.ParamError("plan", "新计划的周期与币种须与原计划相同")
	}
	x.PlanID = plan.ID
	if x.Status == subTrialing {
		return nil // nothing was billed yet
	}
	days := (x.CurrentPeriodEnd - x.CurrentPeriodStart + 86399) / 86400
	left := (x.CurrentPeriodEnd - now + 86399) / 86400
	if days <= 0 || left <= 0 {
		return nil
	}
	delta := (plan.Amount - old.Amount) * left / days
	switch {
	case delta > 0:
		x.NextRun = now // billed at once
		return tx.InsertInvoice(ctx, newInvoice(x, plan, "proration", now, x.CurrentPeriodEnd, delta, now))
	case delta < 0:
		x.Credit += -delta
	}
	return nil
}

// CancelSubscription ends a subscription now: no more periods are billed,
// and open invoices are voided.
func (s *Service) CancelSubscription(ctx context.Context, who Caller, id string) (any, error) {
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		x, err := s.lockOwnSubscription(ctx, tx, who, id)
		if err != nil {
			return err
		}
		if x.Status == subCanceled {
			return nil
		}
		queued, err = s.endSubscription(ctx, tx, x, "void")
		return err
	})
	s.kick(queued)
	if err != nil {
		return nil, err
	}
	return s.GetSubscription(ctx, who, id)
}

// endSubscription cancels x, closing its open invoices as status says
// (void: the merchant's cancel; uncollectible: dunning gave up), and
// announces it.
func (s *Service) endSubscription(ctx context.Context, tx Tx, x *store.Subscription, status string) (int, error) {
	open, err := tx.OpenInvoices(ctx, x.ID)
	if err != nil {
		return 0, err
	}
	x.NextRun = farFuture
	for _, v := range open {
		if v.InFlight {
			x.NextRun = tx.Now() // its debit may yet land: the scheduler records it
			continue
		}
		v.Status = status
		if err := tx.UpdateInvoice(ctx, v); err != nil {
			return 0, err
		}
	}
	x.Status, x.CanceledAt = subCanceled, tx.Now()
	if err := tx.UpdateSubscription(ctx, x); err != nil {
		return 0, err
	}
	return s.emit(ctx, tx, x.AppID, x.Livemode, polypay.EventSubscriptionCanceled, "", wire.FromSubscription(x))
}

// farFuture is a next_run never due.
const farFuture = int64(1) << 62

// currencyRe is an ISO 4217 code as the API takes it.
var currencyRe = regexp.MustCompile(`^[a-z]{3}$`)
