package gateway

import (
	"context"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/reconcile"
)

// consoleRecon shows the reconciliation engine's runs, discrepancies and
// reports in the console, which spans every app and both modes. Package
// reconcile decides what they hold (Run.Found, Reporter.AllApps); this
// only puts them in the console's types and words (reconcile cannot import
// console: console imports store, which implements reconcile.Store).
type consoleRecon struct {
	engine  *reconcile.Engine
	reports *reconcile.Reporter
}

var _ console.Recon = consoleRecon{}

func unix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

func (c consoleRecon) Runs(ctx context.Context, limit int) ([]console.ReconRun, error) {
	runs, err := c.engine.Runs(ctx, reconcile.RunFilter{Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]console.ReconRun, 0, len(runs))
	for _, r := range runs {
		status := r.Status
		if status == reconcile.RunDone {
			status = "succeeded" // the console's word (and its colour) for a finished run
		}
		out = append(out, console.ReconRun{ID: r.ID, AppID: r.AppID, Live: r.Live, Day: r.Day, Channel: r.Family, Status: status,
			Started: unix(r.Started), Finished: unix(r.Finished), Matched: int(r.Matched),
			Discrepancies: int(r.Found()), Open: int(r.Open), Error: r.Error})
	}
	return out, nil
}

func (c consoleRecon) Discrepancies(ctx context.Context, f console.DiscrepancyFilter) ([]console.Discrepancy, error) {
	sf := reconcile.DiscrepancyFilter{Family: f.Channel, Day: f.Day, RunID: f.RunID, Limit: f.Limit}
	if f.OpenOnly || f.ResolvedOnly {
		open := f.OpenOnly
		sf.Open = &open
	}
	ds, err := c.engine.Discrepancies(ctx, sf)
	if err != nil {
		return nil, err
	}
	out := make([]console.Discrepancy, 0, len(ds))
	for _, d := range ds {
		out = append(out, console.Discrepancy{ID: d.ID, RunID: d.RunID, Day: d.Day, Channel: d.Family, AppID: d.AppID, Live: d.Live,
			Kind: d.Kind, ChargeID: d.ChargeID, RefundID: d.RefundID, TransferID: d.TransferID, TradeNo: d.TransactionNo, OurAmount: d.PolypayAmount,
			TheirAmount: d.ChannelAmount, Currency: d.Currency, OurStatus: d.PolypayStatus, TheirStatus: d.ChannelStatus,
			Open: !d.Resolved, Note: d.Note, ResolvedBy: d.ResolvedBy, ResolvedAt: unix(d.ResolvedAt)})
	}
	return out, nil
}

// ConsoleRecon is the real engine as the console sees it, for a second
// console on the node's store (consoletest's clocked one).
func (n *Node) ConsoleRecon() console.Recon {
	return consoleRecon{engine: n.Recon, reports: n.Reports}
}

func (c consoleRecon) Resolve(ctx context.Context, id, note, by string) error {
	_, err := c.engine.ResolveDiscrepancy(ctx, id, by, note)
	return err
}

// DailyReport lists every app's day (reconcile.Reporter.AllApps), each row
// with its app and mode.
func (c consoleRecon) DailyReport(ctx context.Context, day string) ([]console.ReportRow, error) {
	reps, err := c.reports.AllApps(ctx, day)
	if err != nil {
		return nil, err
	}
	var out []console.ReportRow
	for _, rep := range reps {
		for _, r := range rep.Rows {
			out = append(out, console.ReportRow{Day: day, AppID: rep.App, Live: rep.Live, Channel: r.Channel, Currency: r.Currency,
				Count: r.Charges, Gross: r.Gross, Refunds: r.RefundAmount, Fees: r.Fees, Net: r.Net})
		}
	}
	return out, nil
}

// ConsoleCheckWebhookURL applies the dispatcher's outbound policy to a
// webhook URL added in the console, as POST /v1/webhook_endpoints does.
func (n *Node) ConsoleCheckWebhookURL(ctx context.Context, raw string, live bool) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := n.Dispatcher.Policy.CheckURLContext(ctx, raw, live); err != nil {
		return &polypay.Error{Code: polypay.EInvalid, Param: "url", Message: "url is not reachable under the outbound policy: " + err.Error(), Err: err}
	}
	return nil
}

// ConsoleRotateWebhookKey rotates an app's webhook signing key from the
// console, as `polypay app rotate-webhook-key --overlap` does.
func (n *Node) ConsoleRotateWebhookKey(ctx context.Context, appID string, live bool, overlap time.Duration) (*console.WebhookKeyRotation, error) {
	r, err := n.WebhookKeys.Rotate(ctx, appID, live, overlap)
	if err != nil {
		return nil, err
	}
	return &console.WebhookKeyRotation{Generation: r.Generation, SwitchAt: r.SwitchAt, PublicKeyPEM: string(r.PublicKeyPEM)}, nil
}
