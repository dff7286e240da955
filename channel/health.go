package channel

import (
	"context"
	"fmt"

	"github.com/polypay/polypay"
)

// Guard decorates the connectors the registry hands out with cross-cutting
// behaviour (health.Monitor's circuit breaker, metrics, tracing and health
// observations, through an adapter where the node is wired).
type Guard interface {
	// Guard returns c decorated for an app's account ("alipay",
	// "alipay@second") in a mode.
	Guard(appID string, live bool, account string, c polypay.Channel) polypay.Channel
}

// WithGuard makes the registry hand out every connector decorated by g.
func WithGuard(g Guard) Option {
	return func(r *Registry) { r.guard = g }
}

// decorate decorates a connector for an account (fam may name one:
// "alipay@second"); without a guard the connector is returned as is.
func (r *Registry) decorate(appID string, live bool, fam string, c polypay.Channel) polypay.Channel {
	if r.guard == nil {
		return c
	}
	return r.guard.Guard(appID, live, fam, c)
}

// Probe asks an app's account ("alipay", "alipay@second") in a mode for a
// trade that does not exist, which every channel answers without side
// effects (health probes call it). Errors: whatever Channel and the
// connector's QueryCharge return; an error too when the channel reports a
// trade.
func (r *Registry) Probe(ctx context.Context, appID string, live bool, name string) error {
	base, account := splitAccount(name)
	f, ok := r.families[base]
	if !ok {
		return fmt.Errorf("unknown channel family %q", base)
	}
	ch := f.channels()[0]
	c, err := r.Channel(ctx, appID, live, withAccount(ch, account))
	if err != nil {
		return err
	}
	probe := &polypay.Charge{ID: polypay.NewID("ch_"), AppID: appID, Livemode: live, Channel: ch, Account: account,
		Amount: 1, Currency: "cny", Status: polypay.ChargePending}
	if pc, ok := f.(probeCharger); ok {
		pc.probeCharge(probe)
	}
	t, err := c.QueryCharge(ctx, probe)
	if err != nil {
		return err
	}
	if t.State != polypay.TradeNotFound {
		return fmt.Errorf("probe: the channel reports a trade for a fresh id (state %q)", t.State)
	}
	return nil
}

// probeCharger is implemented by families whose connector can only look a
// trade up by an id the channel gave it (PayPal's order id): the probe
// charge then names an id no trade has, so that the probe really asks.
type probeCharger interface{ probeCharge(c *polypay.Charge) }
