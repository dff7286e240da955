package reconcile

import (
	"context"
	"fmt"
	"strings"
)

// Batch selects the reconciliations of one day that `polypay reconcile`
// runs: every app or one, every family or one, in one mode.
type Batch struct {
	Day    string // YYYY-MM-DD in each family's zone
	Family string // a family or one of its channels (alipay_qr); "" every family
	App    string // "" every app
	Live   bool
	// Start, when set, is called as each reconciliation starts, with its
	// label ("app family day"); the function it returns, when not nil, is
	// told the run's progress.
	Start func(label string) func(Progress)
	// Done, when set, is called as each reconciliation ends, with its
	// error.
	Done func(label string, err error)
}

// BatchResult is what a batch did.
type BatchResult struct {
	Results  []*Result // the reconciliations that finished, in order
	Failures []string  // "label: error" of those that failed
	Open     int       // discrepancies the finished ones left open
}

// RunBatch runs a batch's reconciliations one after another: each app (or
// b.App) and each family (or b.Family's) the app has credentials for in the
// mode. One that fails is listed in Failures and the others go on. Unlike
// RunDay it claims nothing and sends no summary events.
//
// Errors: an error naming the families for an unknown b.Family; the
// store's and Configured's errors.
func (d *Daily) RunBatch(ctx context.Context, b Batch) (*BatchResult, error) {
	fams := d.Families.Families()
	if b.Family != "" {
		fam := d.Families.Family(b.Family)
		if d.Families.FamilyChannels(fam) == nil {
			return nil, fmt.Errorf("unknown channel %q (families: %s)", b.Family, strings.Join(fams, ", "))
		}
		fams = []string{fam}
	}
	apps := []string{b.App}
	if b.App == "" {
		if err := d.Engine.Store.ReadRecon(ctx, func(tx Tx) error {
			var err error
			apps, err = tx.AppIDs(ctx)
			return err
		}); err != nil {
			return nil, err
		}
	}
	out := &BatchResult{}
	for _, app := range apps {
		for _, fam := range fams {
			if ok, err := d.Configured(ctx, app, b.Live, fam); err != nil {
				return nil, err
			} else if !ok {
				continue
			}
			d.runOne(ctx, b, Request{AppID: app, Live: b.Live, Family: fam, Day: b.Day}, out)
		}
	}
	return out, nil
}

// runOne runs one reconciliation of a batch and adds its outcome to out.
func (d *Daily) runOne(ctx context.Context, b Batch, req Request, out *BatchResult) {
	label := req.AppID + " " + req.Family + " " + req.Day
	if b.Start != nil {
		req.Progress = b.Start(label)
	}
	res, err := d.Engine.Run(ctx, req)
	if b.Done != nil {
		b.Done(label, err)
	}
	if err != nil {
		out.Failures = append(out.Failures, label+": "+err.Error())
		return
	}
	out.Results = append(out.Results, res)
	out.Open += int(res.Run.Open)
}
