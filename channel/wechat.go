package channel

import (
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/wechatpay"
)

// WechatConfig is the credential set of the wx (WeChat Pay API v3) family.
type WechatConfig = wechatpay.Credentials

type wechatFamily struct {
	reg *Registry
}

func (f *wechatFamily) name() string       { return wechatpay.Family.Name }
func (f *wechatFamily) channels() []string { return wechatpay.Family.ChannelNames() }

func decodeWechat(raw json.RawMessage) (*WechatConfig, error) {
	return wechatpay.DecodeCredentials(raw)
}

func (f *wechatFamily) config(c *WechatConfig) wechatpay.Config {
	base, page := c.BaseURL, ""
	if c.Sandbox {
		ep := f.reg.sandbox.Endpoints(f.name())
		base, page = ep.API, ep.Browser
	}
	cfg := c.Config()
	cfg.BaseURL, cfg.PageBaseURL, cfg.HTTPClient = base, page, f.reg.http
	return cfg
}

func (f *wechatFamily) connector(ch string, raw json.RawMessage) (polypay.Channel, error) {
	c, err := decodeWechat(raw)
	if err != nil {
		return nil, err
	}
	return wechatpay.New(ch, f.config(c))
}

func (f *wechatFamily) validate(raw json.RawMessage) (string, error) {
	return wechatpay.ValidateCredentials(raw)
}

func (f *wechatFamily) redact(raw json.RawMessage) map[string]any {
	return wechatpay.RedactCredentials(raw)
}
