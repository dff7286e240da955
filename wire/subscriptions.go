package wire

import (
	"encoding/json"

	"github.com/polypay/polypay/store"
)

// Plan is polypay's plan: what a subscription bills each period.
type Plan struct {
	ID            string          `json:"id"`
	Object        string          `json:"object"`
	App           string          `json:"app"`
	Livemode      bool            `json:"livemode"`
	Name          string          `json:"name"`
	Amount        int64           `json:"amount"`
	Currency      string          `json:"currency"`
	Interval      string          `json:"interval"`
	IntervalCount int             `json:"interval_count"`
	TrialDays     int             `json:"trial_days"`
	Metadata      json.RawMessage `json:"metadata"`
	Created       int64           `json:"created"`
}

// FromPlan renders a plan.
func FromPlan(p *store.Plan) *Plan {
	return &Plan{ID: p.ID, Object: "plan", App: p.AppID, Livemode: p.Livemode, Name: p.Name, Amount: p.Amount, Currency: p.Currency,
		Interval: p.IntervalUnit, IntervalCount: p.IntervalCount, TrialDays: p.TrialDays, Metadata: object(p.Metadata), Created: p.Created}
}

// Subscription is polypay's subscription.
type Subscription struct {
	ID                 string          `json:"id"`
	Object             string          `json:"object"`
	App                string          `json:"app"`
	Livemode           bool            `json:"livemode"`
	Plan               string          `json:"plan"`
	Agreement          string          `json:"agreement"`
	User               *string         `json:"user"`
	Status             string          `json:"status"`
	CurrentPeriodStart int64           `json:"current_period_start"`
	CurrentPeriodEnd   int64           `json:"current_period_end"`
	TrialEnd           *int64          `json:"trial_end"`
	CancelAtPeriodEnd  bool            `json:"cancel_at_period_end"`
	CanceledAt         *int64          `json:"canceled_at"`
	Credit             int64           `json:"credit"`
	Metadata           json.RawMessage `json:"metadata"`
	Created            int64           `json:"created"`
}

// FromSubscription renders a subscription.
func FromSubscription(x *store.Subscription) *Subscription {
	return &Subscription{ID: x.ID, Object: "subscription", App: x.AppID, Livemode: x.Livemode, Plan: x.PlanID, Agreement: x.AgreementID,
		User: nullStr(x.UserID), Status: x.Status, CurrentPeriodStart: x.CurrentPeriodStart, CurrentPeriodEnd: x.CurrentPeriodEnd,
		TrialEnd: nullInt(x.TrialEnd), CancelAtPeriodEnd: x.CancelAtPeriodEnd, CanceledAt: nullInt(x.CanceledAt), Credit: x.Credit,
		Metadata: object(x.Metadata), Created: x.Created}
}

// Invoice is one period's bill of a subscription (or a plan change's
// proration) with its payment attempts.
type Invoice struct {
	ID           string  `json:"id"`
	Object       string  `json:"object"`
	App          string  `json:"app"`
	Livemode     bool    `json:"livemode"`
	Subscription string  `json:"subscription"`
	Kind         string  `json:"kind"`
	PeriodStart  int64   `json:"period_start"`
	PeriodEnd    int64   `json:"period_end"`
	Amount       int64   `json:"amount"`
	Currency     string  `json:"currency"`
	Status       string  `json:"status"`
	Attempts     int     `json:"attempts"`
	NextAttempt  *int64  `json:"next_attempt"`
	Charge       *string `json:"charge"`
	FailureMsg   *string `json:"failure_msg"`
	PaidAt       *int64  `json:"paid_at"`
	Created      int64   `json:"created"`
}

// FromInvoice renders an invoice.
func FromInvoice(v *store.Invoice) *Invoice {
	w := &Invoice{ID: v.ID, Object: "invoice", App: v.AppID, Livemode: v.Livemode, Subscription: v.SubscriptionID, Kind: v.Kind,
		PeriodStart: v.PeriodStart, PeriodEnd: v.PeriodEnd, Amount: v.Amount, Currency: v.Currency, Status: v.Status,
		Attempts: v.Attempts, Charge: nullStr(v.ChargeID), FailureMsg: nullStr(v.FailureMsg), PaidAt: nullInt(v.PaidAt), Created: v.Created}
	if v.Status == "open" {
		w.NextAttempt = nullInt(v.NextAttempt)
	}
	return w
}
