package channel

import (
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
)

// AlipayConfig is the credential set of the alipay family.
type AlipayConfig = alipay.Credentials

type alipayFamily struct {
	reg *Registry
}

func (f *alipayFamily) name() string       { return alipay.Family.Name }
func (f *alipayFamily) channels() []string { return alipay.Family.ChannelNames() }

func decodeAlipay(raw json.RawMessage) (*AlipayConfig, error) { return alipay.DecodeCredentials(raw) }

func (f *alipayFamily) connector(ch string, raw json.RawMessage) (polypay.Channel, error) {
	c, err := decodeAlipay(raw)
	if err != nil {
		return nil, err
	}
	gw, browser := c.Gateway, ""
	if c.Sandbox {
		sim := f.reg.sandbox.Endpoints(f.name())
		gw = sim.API + "/gateway.do"
		if sim.Browser != "" {
			browser = sim.Browser + "/gateway.do"
		}
	}
	cfg := c.Config()
	cfg.Gateway, cfg.BrowserGateway, cfg.HTTPClient = gw, browser, f.reg.http
	return alipay.New(ch, cfg)
}

func (f *alipayFamily) validate(raw json.RawMessage) (string, error) {
	return alipay.ValidateCredentials(raw)
}

func (f *alipayFamily) redact(raw json.RawMessage) map[string]any {
	return alipay.RedactCredentials(raw)
}
