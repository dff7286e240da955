package gateway_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/gateway"
)

// TestRemoteSimulators: a node started with SimURL uses the simulators
// another process serves over the same store (polypay sim, the fault
// harness): payments go through that host's pay hook, the trades live
// there and survive the node's restart, and the node's public /sim/ pages
// are the host's, without the hook.
func TestRemoteSimulators(t *testing.T) {
	dir := t.TempDir()
	discard := slog.New(slog.NewJSONHandler(io.Discard, nil))
	db, box, err := gateway.OpenStore(ctx, gateway.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ln := mustListen(t)
	simURL := "http://" + ln.Addr().String()
	reg, err := channel.NewRegistry(ctx, db, box, simURL, discard, channel.WithPublicURL(simURL))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: reg.SimHostHandler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); reg.Close(); db.Close() })

	cfg := gateway.Config{Addr: "127.0.0.1:0", DataDir: dir, SimURL: simURL, Log: discard, PollInterval: time.Hour}
	n1, err := gateway.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	app, err := n1.CreateApp(ctx, "remote sim")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, node: n1, app: app}
	id := e.createCharge("RS0001", 300)
	if r := e.pay(id); r.JSON["paid"] != true {
		t.Fatalf("pay through the remote simulator: %s", r.Body)
	}
	mid, err := reg.SandboxMerchantID(ctx, app.AppID, "alipay")
	if err != nil {
		t.Fatal(err)
	}
	var held bool
	for _, tr := range reg.AlipaySim().Trades() {
		held = held || (tr.AppID == mid && tr.OutTradeNo == id && tr.Paid)
	}
	if !held {
		t.Fatal("the simulator host does not hold the paid trade")
	}
	if r := e.do("POST", "/sim/_pay", "", `{}`); r.Status != http.StatusNotFound {
		t.Errorf("pay hook on the public listener: %d, want 404", r.Status)
	}
	if r := e.do("GET", "/sim/alipay/wallet", "", nil); r.Status != http.StatusOK {
		t.Errorf("simulator wallet through the node: %d, want 200", r.Status)
	}

	// The node restarts; the channel still knows the trade and refunds it.
	if err := n1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n2, err := gateway.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n2.Close(ctx) })
	e.node = n2
	r := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), map[string]any{"amount": 100, "description": "after restart"})
	if r.Status != 200 || r.str("status") != "succeeded" {
		t.Fatalf("refund after restart: %d %s", r.Status, r.Body)
	}
	for _, tr := range reg.AlipaySim().Trades() {
		if tr.OutTradeNo == id && (len(tr.Refunds) != 1 || tr.Refunds[0].Amount != 100) {
			t.Fatalf("channel refunds %+v, want one of 100", tr.Refunds)
		}
	}
}
