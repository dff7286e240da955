package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/store"
)

// errDryRun rolls back a reset that was only counted.
var errDryRun = errors.New("dry run")

// sandboxCmd: polypay sandbox reset [--app APP] [--yes].
func sandboxCmd(args []string, stdout io.Writer) error {
	if len(args) < 1 || args[0] != "reset" {
		return errors.New("sandbox: want reset [--app APP] [--yes]")
	}
	fs := flag.NewFlagSet("sandbox reset", flag.ContinueOnError)
	cfg := storeFlags(fs)
	app := fs.String("app", "", "app id; default: every app")
	yes := fs.Bool("yes", false, "delete; without it the command only counts what it would delete")
	live := fs.Bool("live", false, "refused: live data is never reset")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	// The flag exists only so that "--live" gets this answer instead of an
	// unknown-flag error an operator might try to get around.
	if *live {
		return errors.New("sandbox reset: refusing to touch live mode; it clears test-mode data only")
	}
	ctx := context.Background()
	db, _, err := gateway.OpenStore(ctx, *cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	return sandboxReset(ctx, db, *app, *yes, stdout)
}

// sandboxReset clears (or, without yes, counts in a transaction it rolls
// back) the test-mode data of app ("" for every app) and prints the rows
// per table.
func sandboxReset(ctx context.Context, db *store.DB, app string, yes bool, stdout io.Writer) error {
	var cleared *store.SandboxCleared
	err := db.Write(ctx, func(tx *store.Tx) (err error) {
		if cleared, err = tx.ResetTestMode(ctx, app); err != nil {
			return err
		}
		if !yes {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return err
	}
	scope := "every app"
	if app != "" {
		scope = "app " + app
	}
	verb := "deleted"
	if !yes {
		verb = "would delete"
	}
	fmt.Fprintf(stdout, "sandbox reset (%s, test mode): %s %d rows\n", scope, verb, cleared.Total())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS")
	for _, t := range cleared.Tables {
		fmt.Fprintf(tw, "%s\t%d\n", t.Table, t.Rows)
	}
	tw.Flush()
	if !yes {
		fmt.Fprintln(stdout, "nothing was deleted: run again with --yes to delete")
	}
	return nil
}

// recordSandboxHost notes in the store where the simulators of a node (or
// of "polypay sim") are served, for sandboxHost. A failure is only logged:
// the node serves without it, and reconcile then says what is missing.
func recordSandboxHost(ctx context.Context, db *store.DB, url string, log *slog.Logger) {
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.RecordSandboxHost(ctx, url) }); err != nil {
		log.Warn("sandbox: could not record where the simulators are served; polypay reconcile in test mode will need --sim-url", "err", err)
	}
}

// sandboxHost is the URL of the simulators whose books a test-mode
// reconciliation reads: explicit when given, else the one recorded by the
// node started last on the store. It must answer: the simulators keep
// their trades in memory, so once that process is gone its statements are.
func sandboxHost(cfg *gateway.Config, explicit string) (string, error) {
	u := strings.TrimRight(explicit, "/")
	if u == "" {
		ctx := context.Background()
		db, _, err := gateway.OpenStore(ctx, *cfg)
		if err != nil {
			return "", err
		}
		err = db.Read(ctx, func(tx *store.Tx) (err error) { u, err = tx.SandboxHost(ctx); return err })
		db.Close()
		if err != nil {
			return "", err
		}
		if u == "" {
			return "", errors.New("test mode: no node has served simulators on this store yet; start 'polypay serve' (or 'polypay sim') on it and take the test payments there, or pass --sim-url")
		}
	}
	if err := simAnswers(u); err != nil {
		return "", fmt.Errorf("test mode: the simulators at %s do not answer (%v); they hold the test payments' trades in memory, so reconcile while the node (or 'polypay sim') that took them runs, or pass --sim-url", u, err)
	}
	return u, nil
}

// simAnswers checks that an HTTP server answers at u; any status will do.
func simAnswers(u string) error {
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(u + "/sim/")
	if err != nil {
		return err
	}
	res.Body.Close()
	return nil
}
