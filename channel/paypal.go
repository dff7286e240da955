package channel

import (
	"encoding/json"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/paypal"
)

// PaypalConfig is the credential set of the paypal family: a PayPal REST
// app of the merchant's account.
type PaypalConfig = paypal.Credentials

type paypalFamily struct {
	reg *Registry
}

func (f *paypalFamily) name() string       { return paypal.Family.Name }
func (f *paypalFamily) channels() []string { return paypal.Family.ChannelNames() }

func decodePaypal(raw json.RawMessage) (*PaypalConfig, error) { return paypal.DecodeCredentials(raw) }

func (f *paypalFamily) connector(_ string, raw json.RawMessage) (polypay.Channel, error) {
	c, err := decodePaypal(raw)
	if err != nil {
		return nil, err
	}
	base := c.BaseURL
	if c.Sandbox {
		base = f.reg.sandbox.Endpoints(f.name()).API
	}
	cfg := c.Config()
	cfg.BaseURL, cfg.HTTPClient = base, f.reg.http
	return paypal.New(cfg)
}

func (f *paypalFamily) validate(raw json.RawMessage) (string, error) {
	return paypal.ValidateCredentials(raw)
}

func (f *paypalFamily) redact(raw json.RawMessage) map[string]any {
	return paypal.RedactCredentials(raw)
}

// probeCharge makes the health probe ask PayPal for an order that does not
// exist (GET /v2/checkout/orders/{id} answers 404), instead of answering
// "no trade" without a call for want of an order id.
func (f *paypalFamily) probeCharge(c *polypay.Charge) {
	c.Credential, _ = json.Marshal("https://www.paypal.com/checkoutnow?token=PROBE" + strings.ToUpper(c.ID[3:]))
}
