package channel

import (
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/credkit"
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

// endpoint is a URL in live credentials that the connector calls; each
// family lists its own, with its channel's hosts
// (alipay.CredentialEndpoints, ...).
type endpoint = credkit.Endpoint

func (f *alipayFamily) endpoints(raw json.RawMessage) []endpoint {
	return alipay.CredentialEndpoints(raw)
}

func (f *wechatFamily) endpoints(raw json.RawMessage) []endpoint {
	return wechatpay.CredentialEndpoints(raw)
}

func (f *stripeFamily) endpoints(raw json.RawMessage) []endpoint {
	return stripech.CredentialEndpoints(raw)
}

func (f *paypalFamily) endpoints(raw json.RawMessage) []endpoint {
	return paypal.CredentialEndpoints(raw)
}

func (f *unionpayFamily) endpoints(raw json.RawMessage) []endpoint {
	return unionpay.CredentialEndpoints(raw)
}

// checkEndpoints refuses live credentials with a URL off the channel's
// hosts and the operator's; EInvalid naming the parameter.
func (r *Registry) checkEndpoints(f family, cfg json.RawMessage) error {
	for _, e := range f.endpoints(cfg) {
		if e.URL == "" {
			continue
		}
		if err := outbound.CheckChannelURL(e.URL, e.Official, r.allowHosts); err != nil {
			pe := polypay.ParamError(e.Param, "%s 不可用: %v（运维可用 --allow-channel-host 允许其他主机）", e.Param, err)
			pe.Err = err
			return pe
		}
	}
	return nil
}

// checkStored is checkEndpoints for stored live credentials, about to
// make a connector: the error names the account, not a request parameter.
func (r *Registry) checkStored(f family, key string, cfg json.RawMessage) error {
	if err := r.checkEndpoints(f, cfg); err != nil {
		pe := polypay.ParamError("channel", "渠道 %s 的 live 参数不可用，请重新配置: %v", key, err)
		pe.Err = err
		return pe
	}
	return nil
}
