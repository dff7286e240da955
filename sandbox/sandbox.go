// Package sandbox runs polypay's built-in channel simulators (sim/*sim)
// for test mode: it makes sandbox credentials they know, tells the
// channel registry where they are (channel.Sandbox), plays the customer
// in them (api.Sandbox) and serves them under /sim/. It is the one place
// simulators are wired into a node; package channel does not import it.
package sandbox

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/sim/simfault"
	"github.com/polypay/polypay/store"
)

// FeeRate is the fee the simulators take on each payment, in basis
// points (0.60%, the standard rate of both China wallets), so that test
// mode reconciliation has fees to post.
const FeeRate = 60

// simFamily is the simulator glue of one channel family.
type simFamily interface {
	// name is the family id ("alipay", "wx").
	name() string
	// path is where the simulator is served ("/sim/alipay").
	path() string
	// credentials makes fresh simulator credentials for an app.
	credentials() (json.RawMessage, error)
	// pay acts as the customer in the simulator.
	pay(ctx context.Context, merchantID string, c *polypay.Charge, success bool) error
	// handler serves the simulator's endpoints (below path).
	handler() http.Handler
	close()
}

// Sandbox is the simulators of every channel family.
type Sandbox struct {
	simURL   string
	simSpeed float64
	// publicURL is where customers' browsers reach this node (simulator
	// cashier pages).
	publicURL string
	// remote: the simulators at simURL are served by another process
	// (polypay sim, a test harness), which keeps their trades across this
	// node's restarts; this process's own simulator objects stay unused.
	remote bool
	// todaysBills: see WithTodaysBills.
	todaysBills bool
	// simClient, when set, is the simulators' client for notifications.
	simClient *http.Client
	log       *slog.Logger

	// reg is the registry whose credentials the simulators serve (Attach).
	reg *channel.Registry

	families map[string]simFamily // by family name
	alipay   *alipayFamily
	wechat   *wechatFamily
	unionpay *unionpayFamily
	stripe   *stripeFamily
	paypal   *paypalFamily
}

var (
	_ channel.Sandbox = (*Sandbox)(nil)
	_ simFamily       = (*alipayFamily)(nil)
	_ simFamily       = (*wechatFamily)(nil)
	_ simFamily       = (*unionpayFamily)(nil)
	_ simFamily       = (*stripeFamily)(nil)
	_ simFamily       = (*paypalFamily)(nil)
)

// Option adjusts a Sandbox.
type Option func(*Sandbox)

// WithSimSpeed makes the simulators' notification retry schedules run
// factor times faster (the real channels' gaps divided by factor), so that
// a merchant's tests can see retries without waiting a day.
func WithSimSpeed(factor float64) Option {
	return func(s *Sandbox) {
		if factor > 0 {
			s.simSpeed = factor
		}
	}
}

// WithPublicURL tells the sandbox where customers' browsers reach this
// node, for the simulators' pages.
func WithPublicURL(u string) Option {
	return func(s *Sandbox) { s.publicURL = strings.TrimRight(u, "/") }
}

// WithRemoteSim says that simURL is served by another process (see
// SimHostHandler), not by this one: customer payments (Pay) and the
// simulators' browser pages (Handler) go there, so that every node and
// every restart of a node sees the same simulated channel.
func WithRemoteSim() Option {
	return func(s *Sandbox) { s.remote = true }
}

// WithTodaysBills makes the Alipay and WeChat Pay simulators serve the
// statement of the current day as it stands, where the real channels (and
// the simulators by default) serve a day only once it has ended: a
// developer reconciles the test payments just made without waiting for
// tomorrow. Signed timestamps stay on the real clock.
func WithTodaysBills() Option {
	return func(s *Sandbox) { s.todaysBills = true }
}

// WithSimHTTPClient gives the simulators the client they send their
// notifications with (fault-injection tests wrap its transport).
func WithSimHTTPClient(c *http.Client) Option {
	return func(s *Sandbox) { s.simClient = c }
}

// New loads (or on first use creates) the simulators' platform keys and
// starts the simulators. simURL is where this process serves Handler()
// (or, WithRemoteSim, another process SimHostHandler()); sandbox
// connectors call it. The sandbox serves no credentials until Attach.
func New(ctx context.Context, db *store.DB, box *seal.Box, simURL string, log *slog.Logger, opts ...Option) (*Sandbox, error) {
	s := &Sandbox{simSpeed: 1, simURL: strings.TrimRight(simURL, "/"), log: log, families: map[string]simFamily{}}
	for _, o := range opts {
		o(s)
	}
	// Every simulator sends its notifications with the same client, so
	// that WithSimHTTPClient reaches all of them.
	client := s.simClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	var err error
	if s.alipay, err = newAlipayFamily(ctx, s, db, box, client); err != nil {
		return nil, err
	}
	if s.wechat, err = newWechatFamily(ctx, s, db, box, client); err != nil {
		return nil, err
	}
	if s.unionpay, err = newUnionPayFamily(ctx, s, db, box, client); err != nil {
		return nil, err
	}
	if s.paypal, err = newPaypalFamily(ctx, s, db, box, client); err != nil {
		return nil, err
	}
	s.stripe = newStripeFamily(s, client)
	for _, f := range []simFamily{s.alipay, s.wechat, s.unionpay, s.paypal, s.stripe} {
		s.families[f.name()] = f
	}
	if s.todaysBills {
		// A day's bill exists once the bill clock has passed it: a clock a
		// day ahead makes today's exist now.
		tomorrow := func() time.Time { return time.Now().Add(24 * time.Hour) }
		s.alipay.sim.SetBillClock(tomorrow)
		s.wechat.sim.SetBillClock(tomorrow)
	}
	return s, nil
}

// URL is where the sandbox connectors reach the simulators: this
// process's simulator listener, or the remote host (WithRemoteSim).
func (s *Sandbox) URL() string { return s.simURL }

// Attach gives the simulators the registry whose test-mode credentials
// they serve (the registry made with this sandbox).
func (s *Sandbox) Attach(reg *channel.Registry) { s.reg = reg }

// Close stops the simulators' retry timers.
func (s *Sandbox) Close() {
	for _, f := range s.families {
		f.close()
	}
}

func (s *Sandbox) scaled(gaps []time.Duration) []time.Duration {
	out := make([]time.Duration, len(gaps))
	for i, g := range gaps {
		out[i] = time.Duration(float64(g) / s.simSpeed)
	}
	return out
}

// browserURL is where customers' browsers reach path on this node, ""
// when its public URL is unknown.
func (s *Sandbox) browserURL(path string) string {
	if s.publicURL == "" {
		return ""
	}
	return s.publicURL + path
}

// Credentials implements channel.Sandbox.
func (s *Sandbox) Credentials(family string) (json.RawMessage, error) {
	f, ok := s.families[family]
	if !ok {
		return nil, polypay.Errorf(polypay.EInternal, "no simulator for channel family %s", family)
	}
	return f.credentials()
}

// Endpoints implements channel.Sandbox.
func (s *Sandbox) Endpoints(family string) channel.SimEndpoints {
	f, ok := s.families[family]
	if !ok {
		return channel.SimEndpoints{}
	}
	return channel.SimEndpoints{API: s.simURL + f.path(), Browser: s.browserURL(f.path())}
}

// sandboxConfig finds the sandbox credentials naming a channel-side
// merchant id, for a simulator verifying a request.
func (s *Sandbox) sandboxConfig(fam, merchantID string) (json.RawMessage, bool) {
	if s.reg == nil {
		return nil, false
	}
	return s.reg.SandboxConfig(fam, merchantID)
}

// Pay implements api.Sandbox: the customer pays (or fails to) in the
// charge's simulator, which notifies polypay as the real channel would.
func (s *Sandbox) Pay(ctx context.Context, c *polypay.Charge, success bool) error {
	if c.Livemode {
		return polypay.ParamError("", "live charges cannot be paid in the sandbox")
	}
	f, ok := s.familyOf(c.Channel)
	if !ok || s.reg == nil {
		return polypay.ParamError("id", "charge %s does not use a sandbox channel", c.ID)
	}
	account := f.name()
	if c.Account != "" {
		account += "@" + c.Account
	}
	cfg, merchantID, err := s.reg.Config(ctx, c.AppID, false, account)
	if err != nil {
		return err
	}
	if cfg == nil || !channel.IsSandbox(cfg) {
		return polypay.ParamError("id", "charge %s does not use a sandbox channel", c.ID)
	}
	if s.remote {
		return s.payRemote(ctx, c, success)
	}
	return f.pay(ctx, merchantID, c, success)
}

// familyOf finds the simulator of a Ping++ channel's family.
func (s *Sandbox) familyOf(ch string) (simFamily, bool) {
	if s.reg == nil || strings.Contains(ch, "@") || !s.reg.Supported(ch) {
		return nil, false
	}
	f, ok := s.families[s.reg.Family(ch)]
	return f, ok
}

// Handler implements api.Sandbox: the simulators' endpoints under /sim/
// (with WithRemoteSim, a proxy to them).
func (s *Sandbox) Handler() http.Handler {
	if s.remote {
		return s.remoteHandler()
	}
	return s.localHandler()
}

// localHandler serves this process's simulators.
func (s *Sandbox) localHandler() http.Handler {
	m := http.NewServeMux()
	names := make([]string, 0, len(s.families))
	for n := range s.families {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := s.families[n]
		m.Handle(f.path()+"/", http.StripPrefix(f.path(), f.handler()))
	}
	return m
}

// httpClient is the client the sandbox plays the customer's browser with:
// the registry's connectors' client.
func (s *Sandbox) httpClient() *http.Client {
	if s.reg == nil {
		return &http.Client{Timeout: 30 * time.Second}
	}
	return s.reg.HTTPClient()
}

// SimFaults returns the fault knobs of a family's simulator (alipay, wx),
// or nil for a family without them.
func (s *Sandbox) SimFaults(family string) *simfault.MerchantFaults {
	switch family {
	case s.alipay.name():
		return &s.alipay.sim.Faults
	case s.wechat.name():
		return &s.wechat.sim.Faults
	}
	return nil
}
