package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// The subscription scheduler bills each due period exactly once across
// nodes and crashes:
//   - a node claims a due subscription by moving its next_run forward (a
//     lease): of nodes racing, one wins; a node that dies loses the lease;
//   - a period's invoice is unique per subscription and period start, made
//     in the transaction that advances the subscription;
//   - each payment attempt is a charge whose order_no is the invoice's id
//     and the attempt's number, marked in flight before the channel is
//     asked: a retry after a crash asks with the same order_no, which
//     answers the first charge (paid or not) instead of charging again;
//   - missed periods (the node was down) are billed one by one, at most
//     catchUp per run.

// DefaultDunning retries a failed debit after 1, 3 and 7 days.
var DefaultDunning = []time.Duration{24 * time.Hour, 72 * time.Hour, 168 * time.Hour}

const (
	subLease  = 120 // seconds a node holds a subscription it bills
	subRetry  = 60  // seconds before asking again about a debit in doubt
	catchUp   = 12  // periods billed per run at most
	subsBatch = 100 // subscriptions claimed per poll
)

func (s *Service) dunning() []time.Duration {
	if len(s.Dunning) > 0 {
		return s.Dunning
	}
	return DefaultDunning
}

// RunSubscriptions bills the subscriptions due now (the poller's).
func (s *Service) RunSubscriptions(ctx context.Context) (int, error) {
	now := s.now().Unix()
	var ids []string
	if err := s.read(ctx, func(tx Tx) (err error) { ids, err = tx.DueSubscriptions(ctx, now, subsBatch); return }); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if s.runSubscription(ctx, id, now) {
			n++
		}
	}
	return n, nil
}

// runSubscription claims a subscription and bills what is due on it;
// false when another node holds it.
func (s *Service) runSubscription(ctx context.Context, id string, now int64) bool {
	var claimed bool
	if err := s.write(ctx, func(tx Tx) (err error) { claimed, err = tx.ClaimSubscription(ctx, id, now, now+subLease); return }); err != nil || !claimed {
		return false
	}
	for i := 0; i < catchUp+3; i++ {
		more, err := s.subscriptionStep(ctx, id, now)
		if err != nil {
			s.Log.Warn("billing a subscription", "subscription", id, "err", err)
			s.setNextRun(ctx, id, now+subRetry)
			return true
		}
		if !more {
			return true
		}
	}
	s.setNextRun(ctx, id, now) // more periods to catch up: next run
	return true
}

func (s *Service) setNextRun(ctx context.Context, id string, at int64) {
	if err := s.write(ctx, func(tx Tx) error {
		x, err := tx.LockSubscription(ctx, id)
		if err != nil {
			return err
		}
		x.NextRun = at
		return tx.UpdateSubscription(ctx, x)
	}); err != nil {
		s.Log.Warn("scheduling a subscription", "subscription", id, "err", err)
	}
}

// subscriptionStep does one thing due on a subscription: an attempt on
// an open invoice, or the next period's invoice; more says whether to go
// on. When nothing is due it sets when to look again.
func (s *Service) subscriptionStep(ctx context.Context, id string, now int64) (bool, error) {
	var x *store.Subscription
	var open []*store.Invoice
	if err := s.read(ctx, func(tx Tx) (err error) {
		if x, err = tx.LockSubscription(ctx, id); err != nil {
			return err
		}
		open, err = tx.OpenInvoices(ctx, id)
		return err
	}); err != nil {
		return false, err
	}
	for _, v := range open {
		if v.InFlight || x.Status != subCanceled && v.NextAttempt <= now {
			return s.attemptInvoice(ctx, x, v, now)
		}
	}
	if x.Status == subCanceled {
		s.setNextRun(ctx, id, farFuture)
		return false, nil
	}
	if x.CurrentPeriodEnd <= now {
		return true, s.renew(ctx, id, now)
	}
	next := x.CurrentPeriodEnd
	for _, v := range open {
		next = min(next, v.NextAttempt)
	}
	s.setNextRun(ctx, id, next)
	return false, nil
}

// renew ends the current period: the subscription is canceled if asked
// to at the period's end, else the next period begins with its invoice
// (credit owed taken off).
func (s *Service) renew(ctx context.Context, id string, now int64) error {
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		x, err := tx.LockSubscription(ctx, id)
		if err != nil || x.Status == subCanceled || x.CurrentPeriodEnd > now {
			return err
		}
		if x.CancelAtPeriodEnd {
			queued, err = s.endSubscription(ctx, tx, x, "void")
			return err
		}
		plan, err := tx.GetPlan(ctx, x.AppID, x.Livemode, x.PlanID)
		if err != nil {
			return err
		}
		x.Periods++
		if x.Status == subTrialing {
			x.Status = subActive
		}
		x.CurrentPeriodStart, x.CurrentPeriodEnd = x.CurrentPeriodEnd, periodEnd(x.Anchor, plan.IntervalUnit, plan.IntervalCount, x.Periods)
		used := min(x.Credit, plan.Amount)
		x.Credit -= used
		if err := tx.InsertInvoice(ctx, newInvoice(x, plan, "period", x.CurrentPeriodStart, x.CurrentPeriodEnd, plan.Amount-used, tx.Now())); err != nil {
			return err
		}
		return tx.UpdateSubscription(ctx, x)
	})
	s.kick(queued)
	return err
}

// invoiceOrderNo is attempt n's order_no: the same for every try of that
// attempt, so a repeated create answers the first charge.
func invoiceOrderNo(invoiceID string, attempt int) string {
	return fmt.Sprintf("SUB%s%02d", invoiceID[len("inv_"):], attempt)
}

// attemptInvoice collects an open invoice: a new attempt (or the one in
// flight) debits the subscription's agreement, and the outcome is
// recorded. more is false while the outcome is unknown.
func (s *Service) attemptInvoice(ctx context.Context, x *store.Subscription, v *store.Invoice, now int64) (bool, error) {
	if v.Amount == 0 {
		return true, s.invoicePaid(ctx, v.ID, x.ID, "")
	}
	var app *polypay.App
	var a *polypay.Agreement
	var plan *store.Plan
	err := s.write(ctx, func(tx Tx) (err error) {
		if app, err = tx.GetApp(ctx, x.AppID); err != nil {
			return err
		}
		if a, err = tx.GetAgreement(ctx, x.AppID, x.Livemode, x.AgreementID); err != nil {
			return err
		}
		if plan, err = tx.GetPlan(ctx, x.AppID, x.Livemode, x.PlanID); err != nil {
			return err
		}
		if !v.InFlight {
			v.Attempts, v.InFlight = v.Attempts+1, true
			return tx.UpdateInvoice(ctx, v)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if a.Status != polypay.AgreementSucceeded {
		return true, s.invoiceFailed(ctx, v.ID, x.ID, "", "签约已取消："+a.ID, true)
	}
	extra, _ := json.Marshal(map[string]string{"agreement": a.ID})
	meta, _ := json.Marshal(map[string]string{"subscription": x.ID, "invoice": v.ID})
	subject := plan.Name
	if subject == "" {
		subject = "订阅"
	}
	p := ChargeParams{OrderNo: invoiceOrderNo(v.ID, v.Attempts), AppID: x.AppID, Channel: a.Channel, Amount: v.Amount,
		ClientIP: "127.0.0.1", Currency: v.Currency, Subject: subject, Body: subject, Extra: extra, Metadata: meta}
	out, err := s.CreateCharge(ctx, Caller{App: app, Live: x.Livemode}, p, nil)
	var pe *polypay.Error
	switch {
	case err == nil && out.(*wire.Charge).Paid:
		return true, s.invoicePaid(ctx, v.ID, x.ID, out.(*wire.Charge).ID)
	case err == nil && out.(*wire.Charge).FailureCode != nil:
		c := out.(*wire.Charge)
		return true, s.invoiceFailed(ctx, v.ID, x.ID, c.ID, failureText(c), false)
	case errors.As(err, &pe) && (pe.Code == polypay.EChannel || pe.Code == polypay.EInvalid || pe.Code == polypay.ERiskBlocked):
		return true, s.invoiceFailed(ctx, v.ID, x.ID, "", pe.Message, false)
	case err != nil:
		return false, err // unknown: the same order_no is asked again
	}
	// Neither paid nor refused: waiting for the channel's word, unless the
	// charge ended unpaid without a refusal (a node died between storing
	// it and asking the channel, which then knew nothing of it): then the
	// attempt failed, and the next one has an order_no of its own.
	if ended, err := s.chargeEndedUnpaid(ctx, out.(*wire.Charge).ID); err != nil || ended {
		if err != nil {
			return false, err
		}
		return true, s.invoiceFailed(ctx, v.ID, x.ID, out.(*wire.Charge).ID, "扣款未完成：charge 已关闭，渠道没有这笔扣款", false)
	}
	s.setNextRun(ctx, x.ID, now+subRetry)
	return false, nil
}

// chargeEndedUnpaid reports whether a charge is closed or reversed.
func (s *Service) chargeEndedUnpaid(ctx context.Context, id string) (bool, error) {
	var c *polypay.Charge
	if err := s.read(ctx, func(tx Tx) (err error) { c, err = tx.LockCharge(ctx, id); return }); err != nil {
		return false, err
	}
	return c.Status == polypay.ChargeClosed || c.Status == polypay.ChargeReversed, nil
}

func failureText(c *wire.Charge) string {
	if c.FailureMsg != nil {
		return *c.FailureMsg
	}
	return *c.FailureCode
}

// invoicePaid records a collected invoice: the subscription is active
// (unless canceled meanwhile) and subscription.renewed announces it.
func (s *Service) invoicePaid(ctx context.Context, invoiceID, subID, chargeID string) error {
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		x, err := tx.LockSubscription(ctx, subID)
		if err != nil {
			return err
		}
		v, err := tx.GetInvoice(ctx, x.AppID, x.Livemode, invoiceID)
		if err != nil || v.Status == "paid" {
			return err
		}
		v.Status, v.InFlight, v.ChargeID, v.PaidAt, v.FailureMsg = "paid", false, chargeID, tx.Now(), ""
		if err := tx.UpdateInvoice(ctx, v); err != nil {
			return err
		}
		if x.Status == subPastDue {
			x.Status = subActive
			if err := tx.UpdateSubscription(ctx, x); err != nil {
				return err
			}
		}
		queued, err = s.emit(ctx, tx, x.AppID, x.Livemode, polypay.EventSubscriptionRenewed, "", wire.FromSubscription(x))
		return err
	})
	s.kick(queued)
	return err
}

// invoiceFailed records a refused debit: retried as the dunning schedule
// says (the subscription past_due), or, after the last retry or when the
// agreement is gone (final), uncollectible and the subscription canceled.
func (s *Service) invoiceFailed(ctx context.Context, invoiceID, subID, chargeID, msg string, final bool) error {
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		x, err := tx.LockSubscription(ctx, subID)
		if err != nil {
			return err
		}
		v, err := tx.GetInvoice(ctx, x.AppID, x.Livemode, invoiceID)
		if err != nil || v.Status != "open" {
			return err
		}
		v.InFlight, v.ChargeID, v.FailureMsg = false, chargeID, msg
		if n, err := s.emit(ctx, tx, x.AppID, x.Livemode, polypay.EventSubscriptionPaymentFailed, "", wire.FromSubscription(x)); err != nil {
			return err
		} else {
			queued += n
		}
		plan := s.dunning()
		if final || v.Attempts > len(plan) {
			v.Status = "uncollectible"
			if err := tx.UpdateInvoice(ctx, v); err != nil {
				return err
			}
			if x.Status == subCanceled {
				return nil
			}
			n, err := s.endSubscription(ctx, tx, x, "uncollectible")
			queued += n
			return err
		}
		v.NextAttempt = tx.Now() + int64(plan[v.Attempts-1]/time.Second)
		if err := tx.UpdateInvoice(ctx, v); err != nil {
			return err
		}
		if x.Status != subCanceled {
			x.Status = subPastDue
		}
		return tx.UpdateSubscription(ctx, x)
	})
	s.kick(queued)
	return err
}
