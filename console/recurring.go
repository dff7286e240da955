package console

import (
	"net/http"
	"net/url"

	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

var agreementCancel = core.AgreementUpdate{Status: "canceled"}

// Recurring payments: an app's debit agreements, its plans and
// subscriptions, and a subscription's periods (its invoices) with the
// next debit. Owners, admins and finance (ActRecurring) cancel an
// agreement (ended at the channel first) or a subscription, through core
// as the API does.

type recurringData struct {
	*accountBase
	Agreements    []*wire.Agreement
	Plans         []*wire.Plan
	Subscriptions []*wire.Subscription
	Sub           *wire.Subscription
	Invoices      []*wire.Invoice
	NextDebit     int64
}

// RecurringHref is the recurring page (suffix "" or "/subscriptions/{id}")
// in the page's mode.
func (b *accountBase) RecurringHref(suffix string) string {
	return "/console/apps/" + url.PathEscape(b.App.ID) + "/recurring" + suffix + "?mode=" + b.Mode
}

// Money renders an amount of a currency.
func (b *accountBase) Money(minor int64, cur string) string { return formatMoney(minor, cur) }

func (c *Console) recurring(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := &recurringData{accountBase: b}
	pg, ctx, who := store.Page{Limit: pageSize}, r.Context(), b.caller()
	al, err := c.cfg.Svc.ListAgreements(ctx, who, "/v1/agreements", store.AgreementFilter{}, pg)
	if err == nil {
		d.Agreements = dataOf[*wire.Agreement](al)
		var pl wire.List
		if pl, err = c.cfg.Svc.ListPlans(ctx, who, "/v1/plans", pg); err == nil {
			d.Plans = dataOf[*wire.Plan](pl)
		}
	}
	if err == nil {
		var sl wire.List
		if sl, err = c.cfg.Svc.ListSubscriptions(ctx, who, "/v1/subscriptions", "", pg); err == nil {
			d.Subscriptions = dataOf[*wire.Subscription](sl)
		}
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	p.Title = p.T("rec_title") + " · " + b.App.Name
	c.render(w, p, http.StatusOK, "recurring", d)
}

// subscriptionPage shows one subscription with its periods.
func (c *Console) subscriptionPage(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	id, ctx, who := r.PathValue("id"), r.Context(), b.caller()
	out, err := c.cfg.Svc.GetSubscription(ctx, who, id)
	var l wire.List
	if err == nil {
		l, err = c.cfg.Svc.ListInvoices(ctx, who, "/v1/subscriptions/"+id+"/invoices", id, store.Page{Limit: 100})
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := &recurringData{accountBase: b, Sub: out.(*wire.Subscription), Invoices: dataOf[*wire.Invoice](l)}
	d.NextDebit = nextDebit(d.Sub, d.Invoices)
	p.Title = p.T("rec_subscription") + " " + id
	c.render(w, p, http.StatusOK, "subscription", d)
}

// nextDebit is when the subscription is next debited: the earliest retry
// of an open invoice, else its period's end; 0 when canceled.
func nextDebit(s *wire.Subscription, vs []*wire.Invoice) int64 {
	if s.Status == "canceled" {
		return 0
	}
	next := s.CurrentPeriodEnd
	for _, v := range vs {
		if v.NextAttempt != nil && *v.NextAttempt < next {
			next = *v.NextAttempt
		}
	}
	if s.CancelAtPeriodEnd && next == s.CurrentPeriodEnd {
		return 0
	}
	return next
}

// recurringCancel cancels an agreement ({kind} agreements) or a
// subscription ({kind} subscriptions).
func (c *Console) recurringCancel(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		b, err := c.loadAccountBase(r, p)
		id := r.PathValue("id")
		if err == nil && kind == "agreement" {
			_, err = c.cfg.Svc.UpdateAgreement(r.Context(), b.caller(), id, agreementCancel)
		} else if err == nil {
			_, err = c.cfg.Svc.CancelSubscription(r.Context(), b.caller(), id)
		}
		if err != nil {
			c.failErr(w, r, p, err)
			return
		}
		c.log().Info("console: "+kind+" canceled", "user", p.User.ID, "app", b.App.ID, "live", b.Live, kind, id)
		back := b.RecurringHref("")
		if kind == "subscription" {
			back = b.RecurringHref("/subscriptions/" + url.PathEscape(id))
		}
		http.Redirect(w, r, back+"&done=saved", http.StatusSeeOther)
	}
}
