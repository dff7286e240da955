package channel

import (
	"context"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/health"
)

// payoutVia names, for each transfer channel, the charge channel whose
// connector (and credentials) pays it out: a WeChat transfer uses the
// appid of its own scene, UnionPay's payouts the upacp merchant.
var payoutVia = map[string]string{
	"wx": "wx", "wx_pub": "wx_pub", "wx_lite": "wx_lite", "alipay": "alipay", "unionpay": "upacp",
}

// Payouter implements core.PayoutChannels: the connector paying transfers
// on a transfer channel for an app in a mode. Payouts bypass the charge
// path's circuit breaker: a payout is never routed to another account, and
// its outcome is settled by query, not retried elsewhere.
func (r *Registry) Payouter(ctx context.Context, appID string, live bool, channel string) (polypay.Payouter, error) {
	via, ok := payoutVia[channel]
	if !ok {
		return nil, polypay.ParamError("channel", "不支持的付款渠道: %s（可用: wx, wx_pub, wx_lite, alipay, unionpay）", channel)
	}
	c, err := r.Channel(ctx, appID, live, via)
	if err != nil {
		return nil, err
	}
	p, ok := health.Unwrap(c).(polypay.Payouter)
	if !ok {
		return nil, polypay.ParamError("channel", "渠道 %s 的连接器尚不支持付款", channel)
	}
	return p, nil
}

// RedEnvelopes implements core.PayoutChannels: the wx_pub connector's red
// envelope sender.
func (r *Registry) RedEnvelopes(ctx context.Context, appID string, live bool) (polypay.RedEnvelopeSender, error) {
	c, err := r.Channel(ctx, appID, live, "wx_pub")
	if err != nil {
		return nil, err
	}
	s, ok := health.Unwrap(c).(polypay.RedEnvelopeSender)
	if !ok {
		return nil, polypay.ParamError("channel", "渠道 wx_pub 的连接器尚不支持红包")
	}
	return s, nil
}

// PayoutFamily implements core.PayoutChannels: the family whose
// notification route a transfer channel's notifications use.
func (r *Registry) PayoutFamily(channel string) string {
	if via, ok := payoutVia[channel]; ok {
		return r.Family(via)
	}
	return channel
}
