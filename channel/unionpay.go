package channel

import (
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/unionpay"
)

// UnionPayConfig is the credential set of the upacp (UnionPay online
// gateway) family.
type UnionPayConfig = unionpay.Credentials

type unionpayFamily struct {
	reg *Registry
}

func (f *unionpayFamily) name() string       { return unionpay.Family.Name }
func (f *unionpayFamily) channels() []string { return unionpay.Family.ChannelNames() }

func decodeUnionPay(raw json.RawMessage) (*UnionPayConfig, error) {
	return unionpay.DecodeCredentials(raw)
}

func (f *unionpayFamily) config(c *UnionPayConfig) unionpay.Config {
	cfg := c.Config()
	cfg.HTTPClient = f.reg.http
	if c.Sandbox {
		sim := f.reg.sandbox.Endpoints(f.name())
		cfg.BaseURL, cfg.FileURL, cfg.Test = sim.API, sim.API+"/filedownload/", true
		// Browsers post the front form to the node's public address.
		cfg.FrontURL = sim.Browser
	}
	return cfg
}

func (f *unionpayFamily) connector(ch string, raw json.RawMessage) (polypay.Channel, error) {
	c, err := decodeUnionPay(raw)
	if err != nil {
		return nil, err
	}
	return unionpay.New(ch, f.config(c))
}

func (f *unionpayFamily) validate(raw json.RawMessage) (string, error) {
	return unionpay.ValidateCredentials(raw)
}

func (f *unionpayFamily) redact(raw json.RawMessage) map[string]any {
	return unionpay.RedactCredentials(raw)
}
