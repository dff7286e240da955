package paypal

import (
	"encoding/json"
	"regexp"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/credkit"
)

// Credentials is the credential set of the paypal family (its schema is
// Family.Credentials): a PayPal REST app of the merchant's account.
//
// Live mode: create the webhook in PayPal's developer dashboard (REST app
// -> Webhooks) pointing at https://<polypay>/notify/paypal/<app>/live,
// subscribed to WebhookEvents, and configure the webhook_id PayPal shows;
// polypay verifies every event with it. In sandbox mode the connector
// registers the webhook itself and webhook_id stays empty.
type Credentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// MerchantID is the merchant account's payer id (13 characters).
	MerchantID string `json:"merchant_id"`
	WebhookID  string `json:"webhook_id,omitempty"`
	// BaseURL overrides https://api-m.paypal.com (for example PayPal's own
	// sandbox, https://api-m.sandbox.paypal.com).
	BaseURL string `json:"base_url,omitempty"`
	Sandbox bool   `json:"sandbox,omitempty"`
}

// DecodeCredentials reads the family's credentials; EInvalid when they are
// not a JSON object of their shape.
func DecodeCredentials(raw json.RawMessage) (*Credentials, error) {
	return credkit.DecodeAs[Credentials](Family.Name, raw)
}

// Config is the connector's configuration for the credentials (the base
// URL of sandbox ones and the HTTP client are the caller's).
func (c *Credentials) Config() Config {
	return Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, MerchantID: c.MerchantID,
		WebhookID: c.WebhookID, BaseURL: c.BaseURL, Sandbox: c.Sandbox}
}

var (
	// PayPal client ids and secrets are 80-character URL-safe strings;
	// accept a range around that rather than one length.
	credShape      = regexp.MustCompile(`^[A-Za-z0-9_-]{20,128}$`)
	payerIDShape   = regexp.MustCompile(`^[A-Z0-9]{13}$`)
	webhookIDShape = regexp.MustCompile(`^[A-Z0-9-]{10,64}$`)
)

// ValidateCredentials checks the credentials' shapes and returns the
// channel-side merchant id, the payer id; EInvalid naming the parameter
// otherwise. No token is fetched: in the sandbox the simulator may not know
// the app yet, and live credentials are checked on first use (an
// authentication failure is a channel error).
func ValidateCredentials(raw json.RawMessage) (string, error) {
	c, err := DecodeCredentials(raw)
	if err != nil {
		return "", err
	}
	if err := credkit.Missing(Family.Credentials, c); err != nil {
		return "", err
	}
	if !credShape.MatchString(c.ClientID) {
		return "", polypay.ParamError("params[client_id]", "client_id is not a PayPal REST app client id")
	}
	if !credShape.MatchString(c.ClientSecret) {
		return "", polypay.ParamError("params[client_secret]", "client_secret is not a PayPal REST app secret")
	}
	if !payerIDShape.MatchString(c.MerchantID) {
		return "", polypay.ParamError("params[merchant_id]", "merchant_id must be the account's 13-character payer id")
	}
	if !c.Sandbox {
		if c.WebhookID == "" {
			return "", polypay.ParamError("params[webhook_id]", "缺少参数: webhook_id (register https://<polypay>/notify/paypal/<app>/live as a webhook of the REST app)")
		}
		if !webhookIDShape.MatchString(c.WebhookID) {
			return "", polypay.ParamError("params[webhook_id]", "webhook_id is not a PayPal webhook id")
		}
	}
	return c.MerchantID, nil
}

// RedactCredentials returns credentials safe to show: secrets replaced by
// fingerprints.
func RedactCredentials(raw json.RawMessage) map[string]any {
	m, _ := credkit.RedactRaw(&Family, raw, func(c *Credentials) bool { return c.Sandbox })
	return m
}

// Hosts are PayPal's own API hosts, live and sandbox.
var Hosts = []string{credkit.HostOf(LiveBaseURL), credkit.HostOf(SandboxBaseURL)}

// CredentialEndpoints lists the URLs live credentials name (none for
// sandbox ones, which reach the simulator).
func CredentialEndpoints(raw json.RawMessage) []credkit.Endpoint {
	c, err := DecodeCredentials(raw)
	if err != nil || c.Sandbox {
		return nil
	}
	return []credkit.Endpoint{{Param: "params[base_url]", URL: c.BaseURL, Official: Hosts}}
}
