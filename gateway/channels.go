package gateway

import (
	"context"
	"log/slog"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/credstore"
	"github.com/polypay/polypay/health"
	"github.com/polypay/polypay/outbound"
	"github.com/polypay/polypay/sandbox"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/store"
)

// OpenChannels wires the channel registry: credentials sealed in db, the
// built-in simulators (served at simURL) for test mode, and connectors
// whose transport marks failures the channel never accepted
// (health.Transport). With mon, every connector is decorated by it and it
// probes the accounts through the registry. Close the sandbox when done.
func OpenChannels(ctx context.Context, db *store.DB, box *seal.Box, simURL string, log *slog.Logger, mon *health.Monitor, sim []sandbox.Option, opts ...channel.Option) (*channel.Registry, *sandbox.Sandbox, error) {
	sb, err := sandbox.New(ctx, db, box, simURL, log, sim...)
	if err != nil {
		return nil, nil, err
	}
	opts = append([]channel.Option{channel.WithTransport(&health.Transport{Base: outbound.GuardedTransport()})}, opts...)
	if mon != nil {
		opts = append(opts, channel.WithGuard(monitorGuard{mon}))
	}
	reg, err := channel.NewRegistry(credstore.New(db, box), sb, log, opts...)
	if err != nil {
		sb.Close()
		return nil, nil, err
	}
	sb.Attach(reg)
	if mon != nil {
		mon.SetProber(registryProber{reg})
	}
	return reg, sb, nil
}

// monitorGuard decorates connectors with a health monitor's circuit
// breaker, metrics, tracing and health observations.
type monitorGuard struct{ m *health.Monitor }

var _ channel.Guard = monitorGuard{}

func (g monitorGuard) Guard(appID string, live bool, account string, c polypay.Channel) polypay.Channel {
	return g.m.Wrap(health.Account{App: appID, Live: live, Name: account}, c)
}

// registryProber lets a health monitor probe accounts through the registry.
type registryProber struct{ r *channel.Registry }

var _ health.Prober = registryProber{}

func (p registryProber) Probe(ctx context.Context, a health.Account) error {
	return p.r.Probe(ctx, a.App, a.Live, a.Name)
}
