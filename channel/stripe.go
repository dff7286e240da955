package channel

import (
	"encoding/json"

	"github.com/polypay/polypay"
	stripech "github.com/polypay/polypay/channel/stripe"
)

// StripeConfig is the credential set of the stripe family (card and
// applepay through Stripe).
type StripeConfig = stripech.Credentials

type stripeFamily struct {
	reg *Registry
}

func (f *stripeFamily) name() string       { return stripech.Family.Name }
func (f *stripeFamily) channels() []string { return stripech.Family.ChannelNames() }

func decodeStripe(raw json.RawMessage) (*StripeConfig, error) { return stripech.DecodeCredentials(raw) }

func (f *stripeFamily) config(c *StripeConfig) stripech.Config {
	sim := f.reg.sandbox.Endpoints(f.name())
	// public is where browsers reach the simulator (ACS and return pages).
	public := sim.Browser
	if public == "" {
		public = sim.API
	}
	cfg := c.Config()
	cfg.HTTPClient, cfg.Logger, cfg.ReturnURL = f.reg.http, f.reg.log, public+"/return"
	if c.Sandbox {
		cfg.BaseURL = sim.API
		cfg.RegisterWebhook = true
	}
	return cfg
}

func (f *stripeFamily) connector(ch string, raw json.RawMessage) (polypay.Channel, error) {
	c, err := decodeStripe(raw)
	if err != nil {
		return nil, err
	}
	return stripech.New(ch, f.config(c))
}

func (f *stripeFamily) validate(raw json.RawMessage) (string, error) {
	return stripech.ValidateCredentials(raw)
}

func (f *stripeFamily) redact(raw json.RawMessage) map[string]any {
	return stripech.RedactCredentials(raw)
}
