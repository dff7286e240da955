package channel

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/polypay/polypay"
	stripech "github.com/polypay/polypay/channel/stripe"
	"github.com/polypay/polypay/sim/stripesim"
)

// StripeConfig is the credential set of the stripe family (card and
// applepay through Stripe).
type StripeConfig = stripech.Credentials

type stripeFamily struct {
	sim *stripesim.Sim
	reg *Registry
	// public is where browsers reach the simulator (ACS and return pages).
	public string
}

func newStripeFamily(r *Registry) *stripeFamily {
	f := &stripeFamily{reg: r, public: walletURL(r.PublicURL, "/sim/stripe")}
	if f.public == "" {
		f.public = r.simURL + "/sim/stripe"
	}
	f.sim = stripesim.New(stripesim.Options{Account: f.account, PublicURL: f.public, Logger: r.log,
		Retry: r.scaled(stripesim.DefaultRetry), HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	return f
}

func (f *stripeFamily) name() string       { return stripech.Family.Name }
func (f *stripeFamily) channels() []string { return stripech.Family.ChannelNames() }

func decodeStripe(raw json.RawMessage) (*StripeConfig, error) { return stripech.DecodeCredentials(raw) }

func (f *stripeFamily) config(c *StripeConfig, simURL string) stripech.Config {
	cfg := c.Config()
	cfg.HTTPClient, cfg.Logger, cfg.ReturnURL = f.reg.http, f.reg.log, f.public+"/return"
	if c.Sandbox {
		cfg.BaseURL = simURL + "/sim/stripe"
		cfg.RegisterWebhook = true
	}
	return cfg
}

func (f *stripeFamily) connector(ch string, raw json.RawMessage, simURL string) (polypay.Channel, error) {
	c, err := decodeStripe(raw)
	if err != nil {
		return nil, err
	}
	return stripech.New(ch, f.config(c, simURL))
}

func (f *stripeFamily) validate(raw json.RawMessage) (string, error) {
	return stripech.ValidateCredentials(raw)
}

func (f *stripeFamily) redact(raw json.RawMessage) map[string]any {
	return stripech.RedactCredentials(raw)
}

func (f *stripeFamily) sandbox() (json.RawMessage, error) {
	a := stripesim.NewAccount()
	return json.Marshal(StripeConfig{AccountID: a.ID, SecretKey: a.SecretKey, WebhookSecret: a.WebhookSecret, Sandbox: true})
}

// account tells the simulator a sandbox account's keys.
func (f *stripeFamily) account(id string) (*stripesim.Account, bool) {
	raw, ok := f.reg.sandboxConfig(stripech.Family.Name, id)
	if !ok {
		return nil, false
	}
	c, err := decodeStripe(raw)
	if err != nil {
		return nil, false
	}
	return &stripesim.Account{ID: c.AccountID, SecretKey: c.SecretKey, WebhookSecret: c.WebhookSecret}, true
}

func (f *stripeFamily) pay(ctx context.Context, merchantID string, c *polypay.Charge, success bool) error {
	if err := f.sim.Pay(ctx, merchantID, c.ID, success); err != nil {
		return polypay.Errorf(polypay.EChannel, "simulator: %v", err)
	}
	return nil
}

func (f *stripeFamily) mount(m *http.ServeMux) {
	m.Handle("/sim/stripe/", http.StripPrefix("/sim/stripe", f.sim))
}

func (f *stripeFamily) close() { f.sim.Close() }

// StripeSim is the built-in Stripe simulator (tests drive it directly).
func (r *Registry) StripeSim() *stripesim.Sim {
	return r.families[stripech.Family.Name].(*stripeFamily).sim
}
