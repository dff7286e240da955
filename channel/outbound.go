package channel

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/paypal"
	stripech "github.com/polypay/polypay/channel/stripe"
	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/channel/wechatpay"
	"github.com/polypay/polypay/outbound"
)

// Live credentials name the hosts polypay sends its signed calls to (and
// the poller its queries): a merchant able to configure them could point
// polypay at any host, an internal one included. So every URL in live
// credentials must be on one of the channel's official hosts, over https,
// or on a host the operator allows (WithAllowedHosts). It is checked when
// the credentials are configured and again whenever a live connector is
// built from stored ones, so a row written before this rule, or straight
// into the store, cannot be used either. Sandbox credentials name no URL:
// they always reach the simulators.

// WithAllowedHosts lets live credentials point at these hosts besides the
// channels' own ("host" for any port, or "host:port"; http allowed): an
// egress proxy, a mock in a staging deployment (--allow-channel-host).
func WithAllowedHosts(hosts []string) Option {
	return func(r *Registry) { r.allowHosts = append([]string(nil), hosts...) }
}

// endpoint is a URL in live credentials that the connector calls.
type endpoint struct {
	param    string   // the credential's parameter, "params[gateway]"
	url      string   // "" when unset: the connector's default
	official []string // the channel's own hosts for it
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	return p.Hostname()
}

// The channels' own hosts, production and the channels' sandboxes.
var (
	alipayHosts   = []string{hostOf(alipay.DefaultGateway), "openapi-sandbox.dl.alipaydev.com", "openapi.alipaydev.com"}
	wechatHosts   = []string{hostOf(wechatpay.DefaultBaseURL), "api2.mch.weixin.qq.com"}
	stripeHosts   = []string{hostOf(stripech.DefaultBaseURL)}
	paypalHosts   = []string{hostOf(paypal.LiveBaseURL), hostOf(paypal.SandboxBaseURL)}
	unionpayHosts = []string{hostOf(unionpay.DefaultBaseURL), "gateway.test.95516.com"}
	unionpayFiles = []string{hostOf(unionpay.DefaultFileURL), "filedownload.test.95516.com"}
)

func (f *alipayFamily) endpoints(raw json.RawMessage) []endpoint {
	c, err := decodeAlipay(raw)
	if err != nil || c.Sandbox {
		return nil
	}
	return []endpoint{{"params[gateway]", c.Gateway, alipayHosts}}
}

func (f *wechatFamily) endpoints(raw json.RawMessage) []endpoint {
	c, err := decodeWechat(raw)
	if err != nil || c.Sandbox {
		return nil
	}
	return []endpoint{{"params[base_url]", c.BaseURL, wechatHosts}}
}

func (f *stripeFamily) endpoints(raw json.RawMessage) []endpoint {
	c, err := decodeStripe(raw)
	if err != nil || c.Sandbox {
		return nil
	}
	return []endpoint{{"params[base_url]", c.BaseURL, stripeHosts}}
}

func (f *paypalFamily) endpoints(raw json.RawMessage) []endpoint {
	c, err := decodePaypal(raw)
	if err != nil || c.Sandbox {
		return nil
	}
	return []endpoint{{"params[base_url]", c.BaseURL, paypalHosts}}
}

func (f *unionpayFamily) endpoints(raw json.RawMessage) []endpoint {
	c, err := decodeUnionPay(raw)
	if err != nil || c.Sandbox {
		return nil
	}
	return []endpoint{{"params[base_url]", c.BaseURL, unionpayHosts}, {"params[file_url]", c.FileURL, unionpayFiles}}
}

// checkEndpoints refuses live credentials with a URL off the channel's
// hosts and the operator's; EInvalid naming the parameter.
func (r *Registry) checkEndpoints(f family, cfg json.RawMessage) error {
	for _, e := range f.endpoints(cfg) {
		if e.url == "" {
			continue
		}
		if err := outbound.CheckChannelURL(e.url, e.official, r.allowHosts); err != nil {
			return &polypay.Error{Code: polypay.EInvalid, Param: e.param, Err: err,
				Message: fmt.Sprintf("%s 不可用: %v (the operator may allow other hosts with --allow-channel-host)", e.param, err)}
		}
	}
	return nil
}

// checkStored is checkEndpoints for stored live credentials, about to
// make a connector: the error names the account, not a request parameter.
func (r *Registry) checkStored(f family, key string, cfg json.RawMessage) error {
	if err := r.checkEndpoints(f, cfg); err != nil {
		return &polypay.Error{Code: polypay.EInvalid, Param: "channel", Err: err,
			Message: fmt.Sprintf("渠道 %s 的 live 参数不可用，请重新配置: %v", key, err.(*polypay.Error).Message)}
	}
	return nil
}
