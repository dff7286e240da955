package channel

import (
	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/paypal"
	stripech "github.com/polypay/polypay/channel/stripe"
	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/channel/wechatpay"
)

// tradeIDs is what a family knows of its channel's trades: which id,
// kept on a charge, names the trade the charge opened (see
// polypay.Trade.TradeID). Every family has it.
type tradeIDs interface {
	tradeID(c *polypay.Charge) string
}

var (
	_ tradeIDs = (*alipayFamily)(nil)
	_ tradeIDs = (*wechatFamily)(nil)
	_ tradeIDs = (*unionpayFamily)(nil)
	_ tradeIDs = (*stripeFamily)(nil)
	_ tradeIDs = (*paypalFamily)(nil)
)

func (f *alipayFamily) tradeID(c *polypay.Charge) string   { return alipay.TradeID(c) }
func (f *wechatFamily) tradeID(c *polypay.Charge) string   { return wechatpay.TradeID(c) }
func (f *unionpayFamily) tradeID(c *polypay.Charge) string { return unionpay.TradeID(c) }
func (f *stripeFamily) tradeID(c *polypay.Charge) string   { return stripech.TradeID(c) }
func (f *paypalFamily) tradeID(c *polypay.Charge) string   { return paypal.TradeID(c) }

// TradeID implements core.Channels: the channel's id of a charge's trade
// as polypay keeps it, "" when it keeps none (or polypay has no such
// channel, whose charges no message can name anyway).
func (r *Registry) TradeID(c *polypay.Charge) string {
	f, ok := r.byChan[c.Channel].(tradeIDs)
	if !ok {
		return ""
	}
	return f.tradeID(c)
}
