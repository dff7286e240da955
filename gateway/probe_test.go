package gateway_test

import (
	"testing"

	"github.com/polypay/polypay/store/storetest"
)

// TestProbeEveryFamily: the active probe (a query for a trade that does not
// exist) is harmless and answers "no such trade" on every channel family's
// simulator, so a healthy account of any family probes as healthy.
func TestProbeEveryFamily(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	if err := e.node.Registry.Provision(ctx, e.app.AppID); err != nil {
		t.Fatal(err)
	}
	fams := e.node.Registry.Families()
	if len(fams) < 5 {
		t.Fatalf("families = %v, want alipay, wx, upacp, stripe and paypal at least", fams)
	}
	for _, fam := range fams {
		t.Run(fam, func(t *testing.T) {
			if err := e.node.Registry.Probe(ctx, e.app.AppID, false, fam); err != nil {
				t.Fatalf("probe: %v", err)
			}
		})
	}
	// A probe must reach the channel: with the simulators' HTTP endpoints
	// gone, every family's probe fails.
	if err := e.node.StopSimulators(ctx); err != nil {
		t.Fatal(err)
	}
	for _, fam := range fams {
		t.Run(fam+"Unreachable", func(t *testing.T) {
			if err := e.node.Registry.Probe(ctx, e.app.AppID, false, fam); err == nil {
				t.Fatal("probe succeeded with the channel unreachable")
			}
		})
	}
}
