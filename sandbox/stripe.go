package sandbox

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel"
	stripech "github.com/polypay/polypay/channel/stripe"
	"github.com/polypay/polypay/sim/stripesim"
)

type stripeFamily struct {
	sim *stripesim.Sim
	sb  *Sandbox
}

func newStripeFamily(s *Sandbox, client *http.Client) *stripeFamily {
	f := &stripeFamily{sb: s}
	// public is where browsers reach the simulator (ACS and return pages).
	public := s.browserURL(f.path())
	if public == "" {
		public = s.simURL + f.path()
	}
	f.sim = stripesim.New(stripesim.Options{Account: f.account, PublicURL: public, Logger: s.log,
		Retry: s.scaled(stripesim.DefaultRetry), HTTPClient: client})
	return f
}

func (f *stripeFamily) name() string { return stripech.Family.Name }
func (f *stripeFamily) path() string { return "/sim/stripe" }

func (f *stripeFamily) credentials() (json.RawMessage, error) {
	a := stripesim.NewAccount()
	return json.Marshal(channel.StripeConfig{AccountID: a.ID, SecretKey: a.SecretKey, WebhookSecret: a.WebhookSecret, Sandbox: true})
}

// account tells the simulator a sandbox account's keys.
func (f *stripeFamily) account(id string) (*stripesim.Account, bool) {
	raw, ok := f.sb.sandboxConfig(stripech.Family.Name, id)
	if !ok {
		return nil, false
	}
	c, err := stripech.DecodeCredentials(raw)
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

func (f *stripeFamily) handler() http.Handler { return f.sim }

func (f *stripeFamily) close() { f.sim.Close() }

// StripeSim is the built-in Stripe simulator (tests drive it directly).
func (s *Sandbox) StripeSim() *stripesim.Sim { return s.stripe.sim }
