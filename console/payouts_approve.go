package console

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// The approval queue: transfers and batches an app's payout settings hold
// as scheduled, approved (sent) or canceled here by finance or an owner
// (ActApprovePayout) through core, which refuses a payout's creator as its
// approver; and the settings form (ActPayoutSettings, owner or admin).

// settingsCurrency is the currency approve_above is entered in: every
// payout channel pays CNY, and the setting is one number per app and mode.
const settingsCurrency = "cny"

// queueScan bounds the rows read to find scheduled payouts: the store
// filters transfers by status but not batches, nor single transfers from
// batch members, so the queue reads the newest rows and keeps those.
const queueScan = 1000

// recentApproved bounds the recently approved payouts shown.
const recentApproved = 20

// approvedLine is a payout someone approved: what, by whom, when.
type approvedLine struct {
	Kind, ID, Href   string
	Amount           int64
	Currency, Status string
	By               string
	At               int64
}

type approvalData struct {
	*payoutBase
	Transfers []transferLine
	Batches   []*polypay.BatchTransfer
	Truncated bool // more rows than queueScan: older scheduled payouts may be missing
	Recent    []approvedLine
	Settings  polypay.PayoutSettings
	// The settings form's values (kept after a refusal) and its error.
	ApproveAbove   string
	ApproveBatches bool
	FieldError     *fieldError
}

func (c *Console) payoutApprovals(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadPayoutBase(r, p, "/approvals")
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.renderApprovals(w, r, p, b, http.StatusOK, nil)
}

// renderApprovals shows the queue; form, when set, is a refused settings
// form shown again with its values and error.
func (c *Console) renderApprovals(w http.ResponseWriter, r *http.Request, p *page, b *payoutBase, status int, form *approvalData) {
	ctx := r.Context()
	d := &approvalData{payoutBase: b}
	err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		if d.Transfers, d.Batches, d.Truncated, err = scheduledPayouts(ctx, tx, b.App.ID, b.Live); err != nil {
			return err
		}
		if d.Recent, err = recentApprovals(ctx, tx, b); err != nil {
			return err
		}
		d.Settings, err = tx.PayoutSettings(ctx, b.App.ID, b.Live)
		return err
	})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d.ApproveAbove, d.ApproveBatches = "", d.Settings.ApproveBatches
	if d.Settings.ApproveAbove > 0 {
		d.ApproveAbove = formatAmount(d.Settings.ApproveAbove, settingsCurrency)
	}
	if form != nil {
		d.ApproveAbove, d.ApproveBatches, d.FieldError = form.ApproveAbove, form.ApproveBatches, form.FieldError
	}
	c.render(w, p, status, "payouts_approvals", d)
}

// scheduledPayouts are an app's single transfers and batches waiting for
// approval in a mode, newest first, read from at most queueScan rows of
// each table.
func scheduledPayouts(ctx context.Context, tx *store.Tx, appID string, live bool) ([]transferLine, []*polypay.BatchTransfer, bool, error) {
	var singles []*store.TransferRow
	truncated := false
	pg := store.Page{Limit: 100}
	for scanned := 0; ; {
		ts, more, err := tx.ListTransfers(ctx, appID, live, "", string(polypay.TransferScheduled), pg)
		if err != nil {
			return nil, nil, false, err
		}
		for _, t := range ts {
			if t.BatchID == "" {
				singles = append(singles, t)
			}
		}
		if scanned += len(ts); !more || len(ts) == 0 || scanned >= queueScan {
			truncated = truncated || more
			break
		}
		pg.StartingAfter = ts[len(ts)-1].ID
	}
	var batches []*polypay.BatchTransfer
	pg = store.Page{Limit: 100}
	for scanned := 0; ; {
		bs, more, err := tx.ListBatchTransfers(ctx, appID, live, pg)
		if err != nil {
			return nil, nil, false, err
		}
		for _, bt := range bs {
			if bt.Status == polypay.BatchScheduled {
				batches = append(batches, &bt.BatchTransfer)
			}
		}
		if scanned += len(bs); !more || len(bs) == 0 || scanned >= queueScan {
			truncated = truncated || more
			break
		}
		pg.StartingAfter = bs[len(bs)-1].ID
	}
	return transferLines(singles), batches, truncated, nil
}

// recentApprovals are the latest approved single transfers and batches
// among the newest 200 of each.
func recentApprovals(ctx context.Context, tx *store.Tx, b *payoutBase) ([]approvedLine, error) {
	ts, _, err := tx.ListTransfers(ctx, b.App.ID, b.Live, "", "", store.Page{Limit: 200})
	if err != nil {
		return nil, err
	}
	bs, _, err := tx.ListBatchTransfers(ctx, b.App.ID, b.Live, store.Page{Limit: 200})
	if err != nil {
		return nil, err
	}
	var out []approvedLine
	for _, t := range ts {
		if t.ApprovedAt != 0 && t.BatchID == "" {
			out = append(out, approvedLine{Kind: "transfer", ID: t.ID, Href: payoutObjectPath(b, "transfers", t.ID), Amount: t.Amount,
				Currency: t.Currency, Status: string(t.Status), By: b.Who(t.ApprovedBy), At: t.ApprovedAt})
		}
	}
	for _, bt := range bs {
		if bt.ApprovedAt != 0 {
			out = append(out, approvedLine{Kind: "batch", ID: bt.ID, Href: payoutObjectPath(b, "batches", bt.ID), Amount: bt.Amount,
				Currency: bt.Currency, Status: string(bt.Status), By: b.Who(bt.ApprovedBy), At: bt.ApprovedAt})
		}
	}
	slices.SortStableFunc(out, func(a, b approvedLine) int { return cmp.Compare(b.At, a.At) })
	return out[:min(len(out), recentApproved)], nil
}

// payoutObjectPath is a transfer's or batch's page (kind "transfers",
// "batches" or "batch-refunds") in the base's mode.
func payoutObjectPath(b *payoutBase, kind, id string) string {
	return "/console/apps/" + url.PathEscape(b.App.ID) + "/payouts/" + kind + "/" + url.PathEscape(id) + "?mode=" + b.Mode
}

// payoutDecide approves or cancels a scheduled transfer or batch (kind
// "transfers" or "batches") through core, the console user as approver.
// Core refuses (400) anything not scheduled, a batch member on its own,
// and a payout's creator approving it; another app's or mode's object is
// not found (404).
func (c *Console) payoutDecide(kind string, approve bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		b, err := c.loadPayoutBase(r, p, "/approvals")
		id := r.PathValue("id")
		if err == nil {
			err = c.decidePayout(r.Context(), b, kind, id, approve, p.User.ID)
		}
		if err != nil {
			c.failErr(w, r, p, err)
			return
		}
		done := "payout_canceled"
		if approve {
			done = "payout_approved"
		}
		c.log().Info("console: payout "+strings.TrimPrefix(done, "payout_"), "user", p.User.ID, "app", b.App.ID, "live", b.Live, "kind", kind, "id", id)
		to := payoutPath(b.App.ID, "/approvals", b.Mode)
		if r.PostForm.Get("from") == "detail" {
			to = payoutObjectPath(b, kind, id)
		}
		http.Redirect(w, r, to+"&done="+done+"&ref="+url.QueryEscape(id), http.StatusSeeOther)
	}
}

func (c *Console) decidePayout(ctx context.Context, b *payoutBase, kind, id string, approve bool, approver string) error {
	who := b.caller()
	var err error
	switch {
	case kind == "transfers" && approve:
		_, err = c.cfg.Svc.ApproveTransfer(ctx, who, id, approver)
	case kind == "transfers":
		_, err = c.cfg.Svc.CancelTransfer(ctx, who, id, nil)
	case approve:
		_, err = c.cfg.Svc.ApproveBatchTransfer(ctx, who, id, approver)
	default:
		_, err = c.cfg.Svc.CancelBatchTransfer(ctx, who, id, nil)
	}
	return err
}

// payoutSettingsPost replaces the app's payout settings in the form's
// mode; a bad amount shows the form again with the error beside it.
func (c *Console) payoutSettingsPost(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadPayoutBase(r, p, "/approvals")
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	form := &approvalData{ApproveAbove: strings.TrimSpace(r.PostForm.Get("approve_above")), ApproveBatches: r.PostForm.Get("approve_batches") == "1"}
	st := polypay.PayoutSettings{ApproveBatches: form.ApproveBatches}
	if form.ApproveAbove != "" {
		st.ApproveAbove, err = parseMoney(form.ApproveAbove, "approve_above", settingsCurrency)
	}
	if err == nil {
		_, err = c.cfg.Svc.PutPayoutSettings(r.Context(), b.caller(), st)
	}
	if fe, ok := asFieldError(err); ok {
		form.FieldError = &fe
		p.Error = p.T("bad_request") + fe.Message
		c.renderApprovals(w, r, p, b, http.StatusBadRequest, form)
		return
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: payout settings saved", "user", p.User.ID, "app", b.App.ID, "live", b.Live,
		"approve_above", st.ApproveAbove, "approve_batches", st.ApproveBatches)
	http.Redirect(w, r, payoutPath(b.App.ID, "/approvals", b.Mode)+"&done=saved", http.StatusSeeOther)
}

// payoutFlash shows the confirmation of an approval or a cancel (newPage
// knows only the shared confirmations).
func payoutFlash(r *http.Request, p *page) {
	q := r.URL.Query()
	switch k := q.Get("done"); k {
	case "payout_approved", "payout_canceled":
		p.Flash = p.T(k)
		if ref := q.Get("ref"); idLike(ref) {
			p.Flash += ref
		}
	}
}

// payoutPostHandler is the handler of a payout POST route in PostRoutes;
// nil for any other pattern.
func (c *Console) payoutPostHandler(pattern string) handler {
	return map[string]handler{
		"/console/apps/{app}/payouts/transfers/{id}/approve": c.payoutDecide("transfers", true),
		"/console/apps/{app}/payouts/transfers/{id}/cancel":  c.payoutDecide("transfers", false),
		"/console/apps/{app}/payouts/batches/{id}/approve":   c.payoutDecide("batches", true),
		"/console/apps/{app}/payouts/batches/{id}/cancel":    c.payoutDecide("batches", false),
		"/console/apps/{app}/payouts/settings":               c.payoutSettingsPost,
	}[pattern]
}
