package cashier_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/gateway/gatewaytest"
	"github.com/polypay/polypay/health"
	"github.com/polypay/polypay/sim/simfault"
)

// TestCashierHidesDownChannel: when the only WeChat Pay account goes
// down in the simulator and probes open its breaker, the cashier hides
// wx_pub_qr; once a probe finds it back, the cashier shows it again.
func TestCashierHidesDownChannel(t *testing.T) {
	n, a := gatewaytest.Start(t, "cashier health", func(c *gateway.Config) {
		c.PollInterval = time.Hour
		c.Health = health.Config{OpenTimeout: 200 * time.Millisecond, TripConsecutive: 3}
	})
	nd := &node{t: t, n: n, app: a}
	_, _, cu := nd.newOrder(nd.orderBody("hide-1"))
	show := func() string { _, p := nd.page(cu); return strings.Join(buttons(p), " ") }
	if got := show(); got != "alipay_qr wx_pub_qr alipay_pc_direct upacp_pc card paypal" {
		t.Fatalf("healthy: %q", got)
	}
	ctx := context.Background()
	mch, err := n.Registry.SandboxMerchantID(ctx, a.AppID, "wx")
	if err != nil {
		t.Fatal(err)
	}
	wx := health.Account{App: a.AppID, Name: "wx"}
	n.Sandbox.SimFaults("wx").Set(mch, simfault.Fault{Down: true})
	for i := 0; i < 3; i++ {
		if p := n.Health.Probe(ctx, wx); p.OK {
			t.Fatalf("probe of a down account succeeded: %+v", p)
		}
	}
	if s := n.Health.State(wx); s != health.Down {
		t.Fatalf("state after 3 failed probes: %s", s)
	}
	if got := show(); got != "alipay_qr alipay_pc_direct upacp_pc card paypal" {
		t.Fatalf("down channel shown: %q", got)
	}
	n.Sandbox.SimFaults("wx").Set(mch, simfault.Fault{})
	time.Sleep(250 * time.Millisecond) // the breaker lets a probe through
	if p := n.Health.Probe(ctx, wx); !p.OK {
		t.Fatalf("probe after recovery: %+v", p)
	}
	if got := show(); got != "alipay_qr wx_pub_qr alipay_pc_direct upacp_pc card paypal" {
		t.Fatalf("recovered channel hidden: %q", got)
	}
}
