// Package gatewaytest starts a complete polypay node with one app for
// tests in other packages (cashier, browser tests), so that each does not
// wire its own.
package gatewaytest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
)

// Start runs a node on a free loopback port with a fresh SQLite store and
// creates an app named name; both go away when the test ends. mod may
// adjust the configuration.
func Start(t testing.TB, name string, mod func(*gateway.Config)) (*gateway.Node, *core.NewApp) {
	t.Helper()
	cfg := gateway.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PollInterval: 200 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	n, err := gateway.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Close(ctx)
	})
	app, err := n.CreateApp(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return n, app
}
