package console

import (
	"context"
	"net/http"
	"slices"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
)

// transferLine is a transfer as the pages list it.
type transferLine struct {
	T     *polypay.Transfer
	Payee payee
}

func transferLines(rows []*store.TransferRow) []transferLine {
	out := make([]transferLine, 0, len(rows))
	for _, t := range rows {
		out = append(out, transferLine{T: &t.Transfer, Payee: payeeOf(&t.Transfer)})
	}
	return out
}

// payoutListData is a tab of the payout lists; one of the slices is set.
type payoutListData struct {
	*payoutBase
	Tab          string // transfers, batches, red_envelopes or batch_refunds
	Transfers    []transferLine
	Batches      []*polypay.BatchTransfer
	Envelopes    []*polypay.RedEnvelope
	BatchRefunds []*polypay.BatchRefund
	More         string // cursor of the next page
	// The transfers tab's filters.
	Statuses, Channels []string
}

var transferStatuses = []string{"scheduled", "pending", "paid", "failed", "canceled"}

// payoutList is the handler of one list tab: section is its path suffix.
func (c *Console) payoutList(section, tab string, fill listFill) handler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		b, err := c.loadPayoutBase(r, p, section)
		if err != nil {
			c.failErr(w, r, p, err)
			return
		}
		d := &payoutListData{payoutBase: b, Tab: tab}
		ctx := r.Context()
		err = c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
			d.More, err = fill(ctx, tx, r, d)
			return err
		})
		if err != nil {
			c.failErr(w, r, p, err)
			return
		}
		c.render(w, p, http.StatusOK, "payouts", d)
	}
}

// listFill reads a tab's page of rows into d and returns the next page's
// cursor.
type listFill func(ctx context.Context, tx *store.Tx, r *http.Request, d *payoutListData) (string, error)

// fillTransfers lists transfers, narrowed by the channel and status
// filters (unknown values are ignored).
func fillTransfers(ctx context.Context, tx *store.Tx, r *http.Request, d *payoutListData) (string, error) {
	d.Statuses, d.Channels = transferStatuses, core.TransferChannels
	q := r.URL.Query()
	ch, st := q.Get("channel"), q.Get("status")
	if !slices.Contains(d.Channels, ch) {
		ch = ""
	}
	if !slices.Contains(d.Statuses, st) {
		st = ""
	}
	ts, more, err := tx.ListTransfers(ctx, d.App.ID, d.Live, ch, st, payoutPage(r))
	d.Transfers = transferLines(ts)
	return nextCursor(more, len(ts), func(i int) string { return ts[i].ID }), err
}

func fillBatches(ctx context.Context, tx *store.Tx, r *http.Request, d *payoutListData) (string, error) {
	bs, more, err := tx.ListBatchTransfers(ctx, d.App.ID, d.Live, payoutPage(r))
	for _, b := range bs {
		d.Batches = append(d.Batches, &b.BatchTransfer)
	}
	return nextCursor(more, len(bs), func(i int) string { return bs[i].ID }), err
}

func fillEnvelopes(ctx context.Context, tx *store.Tx, r *http.Request, d *payoutListData) (string, error) {
	rs, more, err := tx.ListRedEnvelopes(ctx, d.App.ID, d.Live, payoutPage(r))
	for _, e := range rs {
		d.Envelopes = append(d.Envelopes, &e.RedEnvelope)
	}
	return nextCursor(more, len(rs), func(i int) string { return rs[i].ID }), err
}

func fillBatchRefunds(ctx context.Context, tx *store.Tx, r *http.Request, d *payoutListData) (string, error) {
	bs, more, err := tx.ListBatchRefunds(ctx, d.App.ID, d.Live, payoutPage(r))
	for _, b := range bs {
		d.BatchRefunds = append(d.BatchRefunds, &b.BatchRefund)
	}
	return nextCursor(more, len(bs), func(i int) string { return bs[i].ID }), err
}

// nextCursor is the id the next page starts after, "" on the last page.
func nextCursor(more bool, n int, id func(int) string) string {
	if !more || n == 0 {
		return ""
	}
	return id(n - 1)
}
