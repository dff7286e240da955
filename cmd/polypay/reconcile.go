package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/reconcile"
)

// errOpen makes the process exit non-zero when discrepancies stay open.
var errOpen = errors.New("open discrepancies remain")

// reconcileCmd: polypay reconcile --date YYYY-MM-DD [--channel C] [--app APP] [--live].
// It starts this node's machinery in-process (store, channels, core; no
// listener for merchants) and reconciles each app and family. In test mode
// the statements must come from the simulators that took the payments,
// which keep their trades in memory: the ones the serving node recorded in
// the store (or --sim-url), never fresh ones of this process, whose empty
// books would make every test payment a discrepancy.
func reconcileCmd(args []string) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	cfg := storeFlags(fs)
	date := fs.String("date", "", "day to reconcile, YYYY-MM-DD in each channel's time zone (default: yesterday, Beijing time)")
	ch := fs.String("channel", "", "channel family or channel (alipay, wx, alipay_qr, ...); default: every family")
	app := fs.String("app", "", "app id; default: every app")
	live := fs.Bool("live", false, "reconcile live mode (default: test mode)")
	simURL := fs.String("sim-url", "", "test mode: URL of the simulators that took the payments (default: those of the node last started on this store)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *date == "" {
		*date = time.Now().In(reconcile.Shanghai).AddDate(0, 0, -1).Format("2006-01-02")
	}
	if !*live {
		u, err := sandboxHost(cfg, *simURL)
		if err != nil {
			return err
		}
		cfg.SimURL = u
	}
	cfg.Addr = "127.0.0.1:0"
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.PollInterval = time.Hour
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := gateway.Start(ctx, *cfg)
	if err != nil {
		return err
	}
	defer n.Close(context.Background())
	open, err := runReconcile(ctx, n, reconcileOpts{Day: *date, Channel: *ch, App: *app, Live: *live}, os.Stdout, os.Stderr)
	if err != nil {
		return err
	}
	if open > 0 {
		return fmt.Errorf("%w: %d", errOpen, open)
	}
	return nil
}

type reconcileOpts struct {
	Day, Channel, App string
	Live              bool
}

// runReconcile runs the reconciliations (reconcile.Daily.RunBatch),
// drawing a progress bar on stderr and printing the summary table and the
// open discrepancies on stdout. It returns how many discrepancies are open.
func runReconcile(ctx context.Context, n *gateway.Node, o reconcileOpts, stdout, stderr io.Writer) (int, error) {
	var bar *progressBar // one reconciliation at a time
	res, err := n.Daily.RunBatch(ctx, reconcile.Batch{Day: o.Day, Family: o.Channel, App: o.App, Live: o.Live,
		Start: func(label string) func(reconcile.Progress) {
			bar = &progressBar{w: stderr, label: label}
			return bar.update
		},
		Done: func(_ string, err error) { bar.done(err) },
	})
	if err != nil {
		return 0, err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tFAMILY\tDAY\tLINES\tMATCHED\tONLY_POLYPAY\tONLY_CHANNEL\tAMOUNT_DIFFERS\tSTATUS_DIFFERS\tSETTLED\tOPEN\tFEES_POSTED")
	for _, r := range res.Results {
		x := r.Run
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", x.AppID, x.Family, x.Day, x.StatementLines, x.Matched,
			x.OnlyPolypay, x.OnlyChannel, x.AmountDiffers, x.StatusDiffers, x.Settled, x.Open, x.FeeAmount)
	}
	tw.Flush()
	if res.Open > 0 {
		fmt.Fprintln(stdout)
		tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DISCREPANCY\tKIND\tCHARGE_OR_TRANSFER\tREFUND_NO\tCHANNEL\tPOLYPAY\tDETAIL")
		for _, r := range res.Results {
			for _, d := range r.Discrepancies {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d %s\t%d %s\t%s\n", d.ID, d.Kind, cmp.Or(d.ChargeID, d.TransferID), d.RefundNo, d.ChannelAmount,
					d.ChannelStatus, d.PolypayAmount, d.PolypayStatus, d.Detail)
			}
		}
		tw.Flush()
	}
	if len(res.Failures) > 0 {
		return res.Open, fmt.Errorf("%d reconciliations failed:\n  %s", len(res.Failures), strings.Join(res.Failures, "\n  "))
	}
	return res.Open, nil
}

// progressBar draws "label [#####.....] 12/40 step" on one line of a
// terminal, redrawn in place per step.
type progressBar struct {
	w     io.Writer
	label string
	last  string
}

const barWidth = 30

func (b *progressBar) update(p reconcile.Progress) {
	if p.Total <= 0 {
		return
	}
	filled := p.Done * barWidth / p.Total
	if filled > barWidth {
		filled = barWidth
	}
	line := fmt.Sprintf("\r%s [%s%s] %d/%d %-8s", b.label, strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), p.Done, p.Total, p.Step)
	if line != b.last {
		io.WriteString(b.w, line)
		b.last = line
	}
}

func (b *progressBar) done(err error) {
	if err != nil {
		fmt.Fprintf(b.w, "\r%s failed: %v\n", b.label, err)
		return
	}
	io.WriteString(b.w, "\n")
}
