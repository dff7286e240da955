package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

// Plan is what a subscription bills each period (migration 0040).
type Plan struct {
	ID            string
	AppID         string
	Livemode      bool
	Name          string
	Amount        int64
	Currency      string
	IntervalUnit  string // day, week, month, year
	IntervalCount int
	TrialDays     int
	Metadata      []byte
	Created       int64
}

// Subscription debits a signed agreement each period of its plan.
type Subscription struct {
	ID                 string
	AppID              string
	Livemode           bool
	PlanID             string
	AgreementID        string
	UserID             string
	Status             string // trialing, active, past_due, canceled
	Anchor             int64  // the first period's start: every period end is computed from it
	Periods            int    // periods begun (the current one is number Periods)
	CurrentPeriodStart int64
	CurrentPeriodEnd   int64
	TrialEnd           int64
	CancelAtPeriodEnd  bool
	CanceledAt         int64
	Credit             int64 // owed back by a downgrade, taken off the next invoices
	NextRun            int64
	Metadata           []byte
	Created            int64
}

// Invoice is one period's bill (or a plan change's proration) and its
// payment attempts.
type Invoice struct {
	ID             string
	AppID          string
	Livemode       bool
	SubscriptionID string
	Kind           string // period, proration
	PeriodStart    int64
	PeriodEnd      int64
	Amount         int64
	Currency       string
	Status         string // open, paid, uncollectible, void
	Attempts       int
	InFlight       bool // attempt Attempts was sent and its outcome not yet recorded
	NextAttempt    int64
	ChargeID       string
	FailureMsg     string
	Created        int64
	PaidAt         int64
}

const planCols = `id, app_id, livemode, name, amount, currency, interval_unit, interval_count, trial_days, metadata, created`

func scanPlan(s scanner) (*Plan, error) {
	var p Plan
	var live int
	var meta string
	err := s.Scan(&p.ID, &p.AppID, &live, &p.Name, &p.Amount, &p.Currency, &p.IntervalUnit, &p.IntervalCount, &p.TrialDays, &meta, &p.Created)
	p.Livemode, p.Metadata = live == 1, []byte(meta)
	return &p, err
}

// InsertPlan stores a plan.
func (tx *Tx) InsertPlan(ctx context.Context, p *Plan) error {
	_, err := tx.exec(ctx, `INSERT INTO plans (`+planCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`, p.ID, p.AppID, b2i(p.Livemode), p.Name,
		p.Amount, p.Currency, p.IntervalUnit, p.IntervalCount, p.TrialDays, jsonText(p.Metadata), p.Created)
	return err
}

// UpdatePlan writes a plan's name and metadata (its price never changes:
// subscriptions move to another plan).
func (tx *Tx) UpdatePlan(ctx context.Context, p *Plan) error {
	_, err := tx.exec(ctx, `UPDATE plans SET name=?, metadata=? WHERE id=?`, p.Name, jsonText(p.Metadata), p.ID)
	return err
}

// GetPlan returns an app's plan in a mode; ENotFound naming id.
func (tx *Tx) GetPlan(ctx context.Context, appID string, live bool, id string) (*Plan, error) {
	p, err := scanPlan(tx.queryRow(ctx, `SELECT `+planCols+` FROM plans WHERE id=? AND app_id=? AND livemode=?`, id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("plan", id)
	}
	return p, err
}

// ListPlans pages through an app's plans.
func (tx *Tx) ListPlans(ctx context.Context, appID string, live bool, p Page) ([]*Plan, bool, error) {
	return listPage(ctx, tx, planCols, "plans", []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}, p, scanPlan)
}

const subscriptionCols = `id, app_id, livemode, plan_id, agreement_id, user_id, status, anchor, periods, current_period_start,
 current_period_end, trial_end, cancel_at_period_end, canceled_at, credit, next_run, metadata, created`

func scanSubscription(s scanner) (*Subscription, error) {
	var x Subscription
	var live, cape int
	var meta string
	err := s.Scan(&x.ID, &x.AppID, &live, &x.PlanID, &x.AgreementID, &x.UserID, &x.Status, &x.Anchor, &x.Periods,
		&x.CurrentPeriodStart, &x.CurrentPeriodEnd, &x.TrialEnd, &cape, &x.CanceledAt, &x.Credit, &x.NextRun, &meta, &x.Created)
	x.Livemode, x.CancelAtPeriodEnd, x.Metadata = live == 1, cape == 1, []byte(meta)
	return &x, err
}

// InsertSubscription stores a subscription.
func (tx *Tx) InsertSubscription(ctx context.Context, x *Subscription) error {
	_, err := tx.exec(ctx, `INSERT INTO subscriptions (`+subscriptionCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		x.ID, x.AppID, b2i(x.Livemode), x.PlanID, x.AgreementID, x.UserID, x.Status, x.Anchor, x.Periods, x.CurrentPeriodStart,
		x.CurrentPeriodEnd, x.TrialEnd, b2i(x.CancelAtPeriodEnd), x.CanceledAt, x.Credit, x.NextRun, jsonText(x.Metadata), x.Created)
	return err
}

// UpdateSubscription writes what may change on a subscription.
func (tx *Tx) UpdateSubscription(ctx context.Context, x *Subscription) error {
	_, err := tx.exec(ctx, `UPDATE subscriptions SET plan_id=?, status=?, periods=?, current_period_start=?, current_period_end=?,
 trial_end=?, cancel_at_period_end=?, canceled_at=?, credit=?, next_run=?, metadata=? WHERE id=?`, x.PlanID, x.Status, x.Periods,
		x.CurrentPeriodStart, x.CurrentPeriodEnd, x.TrialEnd, b2i(x.CancelAtPeriodEnd), x.CanceledAt, x.Credit, x.NextRun,
		jsonText(x.Metadata), x.ID)
	return err
}

// GetSubscription returns an app's subscription in a mode; ENotFound.
func (tx *Tx) GetSubscription(ctx context.Context, appID string, live bool, id string) (*Subscription, error) {
	return oneSubscription(tx.queryRow(ctx, `SELECT `+subscriptionCols+` FROM subscriptions WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)), id)
}

// LockSubscription reads any subscription by id to change it (locked on
// PostgreSQL until the transaction ends).
func (tx *Tx) LockSubscription(ctx context.Context, id string) (*Subscription, error) {
	return oneSubscription(tx.queryRow(ctx, `SELECT `+subscriptionCols+` FROM subscriptions WHERE id=?`+tx.forUpdate(), id), id)
}

func oneSubscription(row scanner, id string) (*Subscription, error) {
	x, err := scanSubscription(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("subscription", id)
	}
	return x, err
}

// ListSubscriptions pages through an app's subscriptions (status "" for
// any).
func (tx *Tx) ListSubscriptions(ctx context.Context, appID string, live bool, status string, p Page) ([]*Subscription, bool, error) {
	where, args := []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}
	if status != "" {
		where, args = append(where, "status = ?"), append(args, status)
	}
	return listPage(ctx, tx, subscriptionCols, "subscriptions", where, args, p, scanSubscription)
}

// DueSubscriptions lists subscriptions the scheduler should look at now
// (a canceled one only while a debit of it is in flight).
func (tx *Tx) DueSubscriptions(ctx context.Context, now int64, limit int) ([]string, error) {
	return tx.ids(ctx, `SELECT id FROM subscriptions WHERE next_run <= ? ORDER BY next_run LIMIT ?`, now, limit)
}

// ClaimSubscription takes a due subscription for this node until lease
// (a conditional update: of nodes racing for it, one wins).
func (tx *Tx) ClaimSubscription(ctx context.Context, id string, now, lease int64) (bool, error) {
	return tx.claim(ctx, `UPDATE subscriptions SET next_run = ? WHERE id = ? AND next_run <= ?`, lease, id, now)
}

const invoiceCols = `id, app_id, livemode, subscription_id, kind, period_start, period_end, amount, currency, status, attempts,
 in_flight, next_attempt, charge_id, failure_msg, created, paid_at`

func scanInvoice(s scanner) (*Invoice, error) {
	var v Invoice
	var live, flight int
	err := s.Scan(&v.ID, &v.AppID, &live, &v.SubscriptionID, &v.Kind, &v.PeriodStart, &v.PeriodEnd, &v.Amount, &v.Currency,
		&v.Status, &v.Attempts, &flight, &v.NextAttempt, &v.ChargeID, &v.FailureMsg, &v.Created, &v.PaidAt)
	v.Livemode, v.InFlight = live == 1, flight == 1
	return &v, err
}

// InsertInvoice stores an invoice; a unique violation when its period (or
// proration moment) was billed already.
func (tx *Tx) InsertInvoice(ctx context.Context, v *Invoice) error {
	_, err := tx.exec(ctx, `INSERT INTO invoices (`+invoiceCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, v.ID, v.AppID,
		b2i(v.Livemode), v.SubscriptionID, v.Kind, v.PeriodStart, v.PeriodEnd, v.Amount, v.Currency, v.Status, v.Attempts,
		b2i(v.InFlight), v.NextAttempt, v.ChargeID, v.FailureMsg, v.Created, v.PaidAt)
	return err
}

// UpdateInvoice writes an invoice's payment state.
func (tx *Tx) UpdateInvoice(ctx context.Context, v *Invoice) error {
	_, err := tx.exec(ctx, `UPDATE invoices SET status=?, attempts=?, in_flight=?, next_attempt=?, charge_id=?, failure_msg=?, paid_at=?
 WHERE id=?`, v.Status, v.Attempts, b2i(v.InFlight), v.NextAttempt, v.ChargeID, v.FailureMsg, v.PaidAt, v.ID)
	return err
}

// OpenInvoices lists a subscription's unpaid invoices, oldest first.
func (tx *Tx) OpenInvoices(ctx context.Context, subID string) ([]*Invoice, error) {
	rows, err := tx.query(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE subscription_id = ? AND status = 'open' ORDER BY period_start, kind`, subID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Invoice
	for rows.Next() {
		v, err := scanInvoice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ListInvoices pages through a subscription's invoices, newest first.
func (tx *Tx) ListInvoices(ctx context.Context, appID string, live bool, subID string, p Page) ([]*Invoice, bool, error) {
	return listPage(ctx, tx, invoiceCols, "invoices", []string{"app_id = ?", "livemode = ?", "subscription_id = ?"},
		[]any{appID, b2i(live), subID}, p, scanInvoice)
}

// GetInvoice returns an invoice by id, in its app and mode.
func (tx *Tx) GetInvoice(ctx context.Context, appID string, live bool, id string) (*Invoice, error) {
	v, err := scanInvoice(tx.queryRow(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE id=? AND app_id=? AND livemode=?`, id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("invoice", id)
	}
	return v, err
}
