package console

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// transferData is a transfer's page.
type transferData struct {
	*payoutBase
	T        *polypay.Transfer
	Payee    payee
	Sent     bool // a send to the channel was attempted
	Timeline []entry
	// Own: the signed-in user asked for it, so another must approve it.
	Own bool
}

func (c *Console) payoutTransfer(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadPayoutBase(r, p, "")
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	ctx := r.Context()
	d := transferData{payoutBase: b}
	err = c.cfg.DB.Read(ctx, func(tx *store.Tx) error {
		t, err := tx.GetTransfer(ctx, b.App.ID, b.Live, r.PathValue("id"))
		if err != nil {
			return err
		}
		d.T, d.Payee, d.Sent, d.Own = &t.Transfer, payeeOf(&t.Transfer), t.Sent, t.CreatedBy == p.User.ID
		d.Timeline, err = c.transferTimeline(ctx, tx, p, b, &t.Transfer)
		return err
	})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	p.Title = p.T("payout_transfer") + " " + d.T.ID
	c.render(w, p, http.StatusOK, "payouts_transfer", d)
}

// transferTimeline gathers what is recorded about a transfer, oldest
// first: its creation and approval, the channel's notifications, its
// events with their webhook attempts, and its outcome. A cancel records no
// time, so it comes last.
func (c *Console) transferTimeline(ctx context.Context, tx *store.Tx, p *page, b *payoutBase, t *polypay.Transfer) ([]entry, error) {
	sec := func(s int64) int64 { return s * 1000 }
	out := []entry{{At: sec(t.Created), Kind: "created", Title: p.T("ev_payout_created") + " · " + b.Who(t.CreatedBy),
		Detail: fmt.Sprintf("%s %s %s · %s", t.Channel, formatAmount(t.Amount, t.Currency), strings.ToUpper(t.Currency), t.OrderNo), OK: true}}
	if t.ApprovedAt != 0 {
		out = append(out, entry{At: sec(t.ApprovedAt), Kind: "approved", Title: p.T("ev_payout_approved") + " · " + b.Who(t.ApprovedBy), OK: true})
	}
	ns, err := tx.NotificationsFor(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for _, n := range ns {
		if n.AppID != t.AppID {
			continue
		}
		out = append(out, entry{At: sec(n.Received), Kind: "notification", Title: p.T("ev_notification") + " (" + n.Channel + ")",
			Detail: strings.TrimSpace(n.NotifyID + " " + n.Detail), Outcome: n.Outcome,
			OK: strings.HasPrefix(n.Outcome, "applied") || n.Outcome == "duplicate" || n.Outcome == "no_change"})
	}
	evs, failedAt, err := c.eventEntries(ctx, tx, p, t.AppID, t.Livemode, t.ID, polypay.EventTransferFailed)
	if err != nil {
		return nil, err
	}
	out = append(out, evs...)
	switch t.Status {
	case polypay.TransferPaid:
		out = append(out, entry{At: sec(t.TimeTransferred), Kind: "paid", Title: p.T("ev_payout_paid"), Detail: t.TransactionNo, OK: true})
	case polypay.TransferFailed:
		// No failure time is stored: the transfer.failed event's, else its creation's.
		out = append(out, entry{At: max(failedAt, sec(t.Created)), Kind: "failed", Title: p.T("ev_payout_failed"),
			Detail: strings.TrimSpace(t.FailureCode + " " + t.FailureMsg)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	if t.Status == polypay.TransferCanceled {
		out = append(out, entry{Kind: "canceled", Title: p.T("ev_payout_canceled"), OK: true})
	}
	return out, nil
}

// eventEntries are the app's events about an object, each followed by its
// webhook attempts, and the time (ms) of the first event of type mark.
func (c *Console) eventEntries(ctx context.Context, tx *store.Tx, p *page, appID string, live bool, id, mark string) ([]entry, int64, error) {
	evs, err := tx.EventsAbout(ctx, appID, live, id)
	if err != nil {
		return nil, 0, err
	}
	var out []entry
	var markAt int64
	for _, e := range evs {
		at := e.Created * 1000
		if e.Type == mark && markAt == 0 {
			markAt = at
		}
		out = append(out, entry{At: at, Kind: "event", Title: p.T("ev_event") + " " + e.Type, Detail: e.ID, OK: true})
		ds, err := tx.DeliveriesForEvent(ctx, e.ID)
		if err != nil {
			return nil, 0, err
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
	return out, markAt, nil
}

// batchData is a batch transfer's page.
type batchData struct {
	*payoutBase
	B        *polypay.BatchTransfer
	Members  []transferLine
	Count    map[polypay.TransferStatus]int
	Timeline []entry
	Own      bool
}

func (c *Console) payoutBatch(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadPayoutBase(r, p, "/batches")
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	ctx := r.Context()
	d := batchData{payoutBase: b, Count: map[polypay.TransferStatus]int{}}
	err = c.cfg.DB.Read(ctx, func(tx *store.Tx) error {
		bt, err := tx.GetBatchTransfer(ctx, b.App.ID, b.Live, r.PathValue("id"))
		if err != nil {
			return err
		}
		d.B, d.Own = &bt.BatchTransfer, bt.CreatedBy == p.User.ID
		members, err := tx.BatchMembers(ctx, bt.ID)
		if err != nil {
			return err
		}
		d.Members = transferLines(members)
		for _, m := range members {
			d.Count[m.Status]++
		}
		d.Timeline, _, err = c.eventEntries(ctx, tx, p, bt.AppID, bt.Livemode, bt.ID, "")
		return err
	})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	p.Title = p.T("payout_batch") + " " + d.B.ID
	c.render(w, p, http.StatusOK, "payouts_batch", d)
}

// batchRefundLine is one charge of a batch refund with the refund made
// for it (nil until there is one).
type batchRefundLine struct {
	Item     polypay.BatchRefundItem
	Currency string // the charge's
	Refund   *polypay.Refund
}

type batchRefundData struct {
	*payoutBase
	B     *polypay.BatchRefund
	Lines []batchRefundLine
}

func (c *Console) payoutBatchRefund(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadPayoutBase(r, p, "/batch-refunds")
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	ctx := r.Context()
	d := batchRefundData{payoutBase: b}
	err = c.cfg.DB.Read(ctx, func(tx *store.Tx) error {
		br, err := tx.GetBatchRefund(ctx, b.App.ID, b.Live, r.PathValue("id"))
		if err != nil {
			return err
		}
		d.B = &br.BatchRefund
		d.Lines, err = batchRefundLines(ctx, tx, br)
		return err
	})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	p.Title = p.T("payout_batch_refund") + " " + d.B.ID
	c.render(w, p, http.StatusOK, "payouts_batch_refund", d)
}

func batchRefundLines(ctx context.Context, tx *store.Tx, br *store.BatchRefundRow) ([]batchRefundLine, error) {
	out := make([]batchRefundLine, 0, len(br.Items))
	for _, it := range br.Items {
		l := batchRefundLine{Item: it}
		ch, err := tx.GetCharge(ctx, br.AppID, br.Livemode, it.Charge)
		if err != nil {
			return nil, err
		}
		l.Currency = ch.Currency
		if it.Refund != "" {
			if l.Refund, err = tx.GetRefund(ctx, br.AppID, br.Livemode, it.Charge, it.Refund); err != nil {
				return nil, err
			}
		}
		out = append(out, l)
	}
	return out, nil
}
