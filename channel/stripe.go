package channel

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/polypay/polypay"
	stripech "github.com/polypay/polypay/channel/stripe"
	"github.com/polypay/polypay/sim/stripesim"
)

// StripeConfig is the credential set of the stripe family (card and
// applepay through Stripe).
//
// Live: the merchant creates a webhook endpoint in Stripe's dashboard for
// https://<polypay>/notify/stripe/<app>/live (events: stripechannel.Events,
// API version 2026-03-25.dahlia, which stripe-go requires of events) and
// pastes its signing secret as webhook_secret. Sandbox: the connector
// registers the endpoint with the simulator itself.
type StripeConfig struct {
	AccountID     string `json:"account_id"`     // acct_...
	SecretKey     string `json:"secret_key"`     // sk_live_... / sk_test_...
	WebhookSecret string `json:"webhook_secret"` // whsec_...
	BaseURL       string `json:"base_url,omitempty"`
	Sandbox       bool   `json:"sandbox,omitempty"`
}

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

func (f *stripeFamily) name() string { return "stripe" }

func (f *stripeFamily) channels() []string {
	return []string{stripech.ChannelCard, stripech.ChannelApplePay}
}

func decodeStripe(raw json.RawMessage) (*StripeConfig, error) {
	var c StripeConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, polypay.ParamError("params", "stripe credentials must be a JSON object: %v", err)
	}
	return &c, nil
}

func (f *stripeFamily) config(c *StripeConfig, simURL string) stripech.Config {
	cfg := stripech.Config{AccountID: c.AccountID, SecretKey: c.SecretKey, WebhookSecret: c.WebhookSecret,
		BaseURL: c.BaseURL, HTTPClient: f.reg.http, Logger: f.reg.log, ReturnURL: f.public + "/return"}
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
	c, err := decodeStripe(raw)
	if err != nil {
		return "", err
	}
	for name, v := range map[string]string{"account_id": c.AccountID, "secret_key": c.SecretKey, "webhook_secret": c.WebhookSecret} {
		if v == "" {
			return "", polypay.ParamError("params["+name+"]", "缺少参数: %s", name)
		}
	}
	if c.Sandbox && !strings.HasPrefix(c.SecretKey, "sk_test_") {
		return "", polypay.ParamError("params[secret_key]", "sandbox credentials use a sk_test_ key")
	}
	if !c.Sandbox && strings.HasPrefix(c.SecretKey, "sk_test_") && c.BaseURL == "" {
		return "", polypay.ParamError("params[secret_key]", "live credentials need a sk_live_ key")
	}
	if _, err := stripech.New(stripech.ChannelCard, f.config(c, "http://127.0.0.1")); err != nil {
		return "", polypay.ParamError("params", "Stripe 参数无效: %v", err)
	}
	return c.AccountID, nil
}

func (f *stripeFamily) redact(raw json.RawMessage) map[string]any {
	c, err := decodeStripe(raw)
	if err != nil {
		return map[string]any{}
	}
	return map[string]any{"account_id": c.AccountID, "secret_key": fingerprint(c.SecretKey),
		"webhook_secret": fingerprint(c.WebhookSecret), "base_url": c.BaseURL, "sandbox": c.Sandbox}
}

func (f *stripeFamily) sandbox() (json.RawMessage, error) {
	a := stripesim.NewAccount()
	return json.Marshal(StripeConfig{AccountID: a.ID, SecretKey: a.SecretKey, WebhookSecret: a.WebhookSecret, Sandbox: true})
}

// account tells the simulator a sandbox account's keys.
func (f *stripeFamily) account(id string) (*stripesim.Account, bool) {
	raw, ok := f.reg.sandboxConfig("stripe", id)
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
func (r *Registry) StripeSim() *stripesim.Sim { return r.families["stripe"].(*stripeFamily).sim }
