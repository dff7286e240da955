package channel

import (
	"context"
	"fmt"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/wechatpay"
	"github.com/polypay/polypay/health"
	"github.com/polypay/polypay/sim/simfault"
)

// WithMonitor makes the registry hand out every connector decorated with
// m's circuit breaker, metrics, tracing and health observations, and
// lets m probe the accounts through them.
func WithMonitor(m *health.Monitor) Option {
	return func(r *Registry) {
		r.monitor = m
		m.SetProber(r)
	}
}

// guard decorates a connector for an account (fam may name one:
// "alipay@second"); without a monitor the connector is returned as is.
func (r *Registry) guard(appID string, live bool, fam string, c polypay.Channel) polypay.Channel {
	if r.monitor == nil {
		return c
	}
	return r.monitor.Wrap(health.Account{App: appID, Live: live, Name: fam}, c)
}

// Probe implements health.Prober: it asks the account for a trade that
// does not exist, which every channel answers without side effects.
func (r *Registry) Probe(ctx context.Context, a health.Account) error {
	base, account := splitAccount(a.Name)
	f, ok := r.families[base]
	if !ok {
		return fmt.Errorf("unknown channel family %q", base)
	}
	ch := f.channels()[0]
	c, err := r.Channel(ctx, a.App, a.Live, withAccount(ch, account))
	if err != nil {
		return err
	}
	probe := &polypay.Charge{ID: polypay.NewID("ch_"), AppID: a.App, Livemode: a.Live, Channel: ch, Account: account,
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

// SimFaults returns the fault knobs of a family's simulator (alipay, wx),
// or nil for a family without them.
func (r *Registry) SimFaults(family string) *simfault.MerchantFaults {
	switch family {
	case alipay.Family.Name:
		return &r.alipay.sim.Faults
	case wechatpay.Family.Name:
		return &r.wechat.sim.Faults
	}
	return nil
}
