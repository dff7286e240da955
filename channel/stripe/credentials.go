package stripe

import (
	"encoding/json"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/credkit"
)

// Credentials is the credential set of the stripe family (its schema is
// Family.Credentials).
//
// Live: the merchant creates a webhook endpoint in Stripe's dashboard for
// https://<polypay>/notify/stripe/<app>/live (events: Events, API version
// 2026-03-25.dahlia, which stripe-go requires of events) and pastes its
// signing secret as webhook_secret. Sandbox: the connector registers the
// endpoint with the simulator itself.
type Credentials struct {
	AccountID     string `json:"account_id"`     // acct_...
	SecretKey     string `json:"secret_key"`     // sk_live_... / sk_test_...
	WebhookSecret string `json:"webhook_secret"` // whsec_...
	BaseURL       string `json:"base_url,omitempty"`
	Sandbox       bool   `json:"sandbox,omitempty"`
}

// DecodeCredentials reads the family's credentials; EInvalid when they are
// not a JSON object of their shape.
func DecodeCredentials(raw json.RawMessage) (*Credentials, error) {
	return credkit.DecodeAs[Credentials](Family.Name, raw)
}

// Config is the connector's configuration for the credentials (the base
// URL of sandbox ones, the return page, HTTP client and logger are the
// caller's).
func (c *Credentials) Config() Config {
	return Config{AccountID: c.AccountID, SecretKey: c.SecretKey, WebhookSecret: c.WebhookSecret, BaseURL: c.BaseURL}
}

// ValidateCredentials checks credentials and returns the channel-side
// merchant id, the account id; EInvalid naming the parameter otherwise.
func ValidateCredentials(raw json.RawMessage) (string, error) {
	c, err := DecodeCredentials(raw)
	if err != nil {
		return "", err
	}
	if err := credkit.Missing(Family.Credentials, c); err != nil {
		return "", err
	}
	if c.Sandbox && !strings.HasPrefix(c.SecretKey, "sk_test_") {
		return "", polypay.ParamError("params[secret_key]", "sandbox credentials use a sk_test_ key")
	}
	if !c.Sandbox && strings.HasPrefix(c.SecretKey, "sk_test_") && c.BaseURL == "" {
		return "", polypay.ParamError("params[secret_key]", "live credentials need a sk_live_ key")
	}
	cfg := c.Config()
	if c.Sandbox {
		cfg.BaseURL = "http://127.0.0.1" // sandbox credentials reach the simulator, whatever they say
	}
	if _, err := New(ChannelCard, cfg); err != nil {
		return "", polypay.ParamError("params", "Stripe 参数无效: %v", err)
	}
	return c.AccountID, nil
}

// RedactCredentials returns credentials safe to show: secrets replaced by
// fingerprints.
func RedactCredentials(raw json.RawMessage) map[string]any {
	m, _ := credkit.RedactRaw(&Family, raw, func(c *Credentials) bool { return c.Sandbox })
	return m
}

// Hosts are Stripe's own API hosts.
var Hosts = []string{credkit.HostOf(DefaultBaseURL)}

// CredentialEndpoints lists the URLs live credentials name (none for
// sandbox ones, which reach the simulator).
func CredentialEndpoints(raw json.RawMessage) []credkit.Endpoint {
	c, err := DecodeCredentials(raw)
	if err != nil || c.Sandbox {
		return nil
	}
	return []credkit.Endpoint{{Param: "params[base_url]", URL: c.BaseURL, Official: Hosts}}
}
