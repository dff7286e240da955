package console

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// timeline gathers everything recorded about a charge, oldest first:
// creation, processor attempts (the requests to channels that polypay
// records), authorisation and payment, notifications from the notification
// log with their outcome, events, webhook delivery attempts, and refunds.
// Polypay does not log each channel query; their effect shows as the
// state changes and events they caused.
func (c *Console) timeline(ctx context.Context, tx *store.Tx, p *page, ch *polypay.Charge, refunds []*polypay.Refund) ([]entry, error) {
	sec := func(s int64) int64 { return s * 1000 }
	out := []entry{{At: sec(ch.Created), Kind: "created", Title: p.T("ev_created"),
		Detail: fmt.Sprintf("%s %s %s · %s", ch.Channel, formatAmount(ch.Amount, ch.Currency), strings.ToUpper(ch.Currency), ch.OrderNo), OK: true}}
	if len(ch.Attempts) > 0 {
		out = append(out, entry{At: sec(ch.Created), Kind: "request", Title: p.T("ev_request"), Detail: string(ch.Attempts), OK: true})
	}
	if ch.TimeAuthorized != 0 {
		out = append(out, entry{At: sec(ch.TimeAuthorized), Kind: "authorized", Title: p.T("ev_authorized"), OK: true})
	}
	if ch.TimePaid != 0 {
		out = append(out, entry{At: sec(ch.TimePaid), Kind: "paid", Title: p.T("ev_paid"), Detail: ch.TransactionNo, OK: true})
	}
	if ch.FailureCode != "" {
		out = append(out, entry{At: sec(ch.Created), Kind: "failed", Title: p.T("ev_failed"), Detail: ch.FailureCode + " " + ch.FailureMsg})
	}
	objects := []string{ch.ID}
	for _, r := range refunds {
		objects = append(objects, r.OrderNo)
		out = append(out, entry{At: sec(r.Created), Kind: "refund", Title: p.T("ev_refund") + " " + r.ID,
			Detail: formatAmount(r.Amount, r.Currency) + " " + strings.ToUpper(r.Currency) + " " + r.Description, Outcome: string(r.Status),
			OK: r.Status != polypay.RefundFailed})
		if r.TimeSucceed != 0 {
			out = append(out, entry{At: sec(r.TimeSucceed), Kind: "refund", Title: p.T("ev_refund_done") + " " + r.ID, Detail: r.TransactionNo, OK: true})
		}
	}
	ns, err := tx.NotificationsFor(ctx, objects...)
	if err != nil {
		return nil, err
	}
	for _, n := range ns {
		if n.AppID != ch.AppID {
			continue // another app's object with a colliding number
		}
		out = append(out, entry{At: sec(n.Received), Kind: "notification", Title: p.T("ev_notification") + " (" + n.Channel + ")",
			Detail: strings.TrimSpace(n.NotifyID + " " + n.Detail), Outcome: n.Outcome, OK: strings.HasPrefix(n.Outcome, "applied") || n.Outcome == "duplicate" || n.Outcome == "no_change"})
	}
	evs, err := tx.EventsAbout(ctx, ch.AppID, ch.Livemode, ch.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		out = append(out, entry{At: sec(e.Created), Kind: "event", Title: p.T("ev_event") + " " + e.Type, Detail: e.ID, OK: true})
		ds, err := tx.DeliveriesForEvent(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			for _, a := range d.Attempts {
				detail := fmt.Sprintf("%s → %s · HTTP %d · %d ms", e.ID, d.EndpointID, a.StatusCode, a.LatencyMS)
				if a.Error != "" {
					detail += " · " + a.Error
				}
				out = append(out, entry{At: a.At, Kind: "webhook", Title: p.T("ev_webhook") + " " + e.Type, Detail: detail,
					Outcome: d.Status, OK: a.StatusCode >= 200 && a.StatusCode < 300})
			}
		}
	}
	rs, err := c.riskEntries(ctx, tx, p, ch)
	if err != nil {
		return nil, err
	}
	out = append(out, rs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out, nil
}

// When formats an entry's time.
func (p *page) When(ms int64) string {
	return p.Time(ms / 1000)
}
