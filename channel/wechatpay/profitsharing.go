package wechatpay

import (
	"context"
	"errors"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/profitsharing"
)

// Profit sharing (分账) through wechatpay-go's profitsharing services: a
// charge made with extra.profit_sharing holds its funds; its shares go to
// receivers the merchant added, a merchant receiver's share can be taken
// back (a return order, before a refund), and FinishShare unfreezes the
// rest for the merchant. In partner mode every call names the
// sub-merchant.

var _ polypay.ProfitSharer = (*Client)(nil)

// AddReceiver adds a receiver (MERCHANT_ID or PERSONAL_OPENID under the
// credentials' appid). Errors: EInvalid naming the field; EChannel.
func (c *Client) AddReceiver(ctx context.Context, r polypay.ProfitReceiver) error {
	typ := profitsharing.ReceiverType(r.Type)
	if r.Type != "MERCHANT_ID" && r.Type != "PERSONAL_OPENID" {
		return polypay.ParamError("type", "分账接收方类型须为 MERCHANT_ID 或 PERSONAL_OPENID")
	}
	if r.Account == "" {
		return polypay.ParamError("account", "缺少分账接收方账号 account")
	}
	rel := profitsharing.ReceiverRelationType(r.Relation)
	if r.Relation == "" {
		rel = profitsharing.RECEIVERRELATIONTYPE_PARTNER
	}
	req := profitsharing.AddReceiverRequest{Appid: core.String(c.appID), SubMchid: optional(c.subMchID), Type: &typ,
		Account: core.String(r.Account), RelationType: &rel, Name: optional(r.Name)}
	_, _, err := (&profitsharing.ReceiversApiService{Client: c.api}).AddReceiver(ctx, req)
	if err != nil {
		return sdkError("add receiver", err)
	}
	return nil
}

// ShareProfit splits a paid charge among receivers under orderNo (again
// with the same number answers the same order); finish also unfreezes
// what is left. Errors: EInvalid for splits polypay refuses; EChannel
// when WeChat Pay refuses (an unknown receiver, more than can be split,
// a charge not made for sharing).
func (c *Client) ShareProfit(ctx context.Context, ch *polypay.Charge, orderNo string, splits []polypay.ProfitSplit, finish bool) (*polypay.ProfitShare, error) {
	if ch.TransactionNo == "" {
		return nil, polypay.ParamError("charge", "charge %s has no WeChat Pay transaction_id: it is not paid", ch.ID)
	}
	if len(splits) == 0 {
		return nil, polypay.ParamError("receivers", "分账至少需要一个接收方")
	}
	rs := make([]profitsharing.CreateOrderReceiver, 0, len(splits))
	for _, s := range splits {
		if s.Amount < 1 {
			return nil, polypay.ParamError("amount", "分账金额须为正整数（分）")
		}
		desc := s.Description
		if desc == "" {
			desc = "分账"
		}
		rs = append(rs, profitsharing.CreateOrderReceiver{Type: core.String(s.Receiver.Type), Account: core.String(s.Receiver.Account),
			Amount: core.Int64(s.Amount), Description: core.String(desc)})
	}
	o, _, err := (&profitsharing.OrdersApiService{Client: c.api}).CreateOrder(ctx, profitsharing.CreateOrderRequest{
		Appid: core.String(c.appID), SubMchid: optional(c.subMchID), TransactionId: core.String(ch.TransactionNo),
		OutOrderNo: core.String(orderNo), Receivers: rs, UnfreezeUnsplit: core.Bool(finish)})
	if err != nil {
		return nil, sdkError("profit sharing", err)
	}
	return shareOf(o), nil
}

// QueryShare reads a profit-sharing order; ENotFound when WeChat Pay has
// none under orderNo.
func (c *Client) QueryShare(ctx context.Context, ch *polypay.Charge, orderNo string) (*polypay.ProfitShare, error) {
	o, _, err := (&profitsharing.OrdersApiService{Client: c.api}).QueryOrder(ctx, profitsharing.QueryOrderRequest{
		SubMchid: optional(c.subMchID), TransactionId: core.String(ch.TransactionNo), OutOrderNo: core.String(orderNo)})
	if err != nil {
		var ae *core.APIError
		if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound {
			return nil, polypay.NotFound("profit_sharing_order", orderNo)
		}
		return nil, sdkError("profit sharing query", err)
	}
	return shareOf(o), nil
}

// ReturnShare takes amount of a merchant receiver's share in orderNo
// back (before refunding the payment), under returnNo.
func (c *Client) ReturnShare(ctx context.Context, ch *polypay.Charge, orderNo, returnNo string, from polypay.ProfitReceiver, amount int64, desc string) (*polypay.ProfitReturn, error) {
	if from.Type != "MERCHANT_ID" {
		return nil, polypay.ParamError("receiver", "微信支付只能从商户类型的分账接收方回退")
	}
	if desc == "" {
		desc = "分账回退"
	}
	r, _, err := (&profitsharing.ReturnOrdersApiService{Client: c.api}).CreateReturnOrder(ctx, profitsharing.CreateReturnOrderRequest{
		SubMchid: optional(c.subMchID), OutOrderNo: core.String(orderNo), OutReturnNo: core.String(returnNo),
		ReturnMchid: core.String(from.Account), Amount: core.Int64(amount), Description: core.String(desc)})
	if err != nil {
		return nil, sdkError("profit sharing return", err)
	}
	out := &polypay.ProfitReturn{ReturnNo: deref(r.OutReturnNo), ReturnID: deref(r.ReturnId), Amount: derefInt(r.Amount)}
	if r.Result != nil {
		out.Result = string(*r.Result)
	}
	return out, nil
}

// FinishShare unfreezes what was not split (the merchant keeps it); its
// answer is an order of its own number orderNo.
func (c *Client) FinishShare(ctx context.Context, ch *polypay.Charge, orderNo, desc string) (*polypay.ProfitShare, error) {
	if desc == "" {
		desc = "解冻剩余资金"
	}
	o, _, err := (&profitsharing.OrdersApiService{Client: c.api}).UnfreezeOrder(ctx, profitsharing.UnfreezeOrderRequest{
		SubMchid: optional(c.subMchID), TransactionId: core.String(ch.TransactionNo), OutOrderNo: core.String(orderNo),
		Description: core.String(desc)})
	if err != nil {
		return nil, sdkError("profit sharing finish", err)
	}
	return shareOf(o), nil
}

func shareOf(o *profitsharing.OrdersEntity) *polypay.ProfitShare {
	s := &polypay.ProfitShare{OrderNo: deref(o.OutOrderNo), ShareID: deref(o.OrderId)}
	if o.State != nil {
		s.State = string(*o.State)
	}
	for _, r := range o.Receivers {
		res := polypay.ProfitSplitResult{Account: deref(r.Account), Amount: derefInt(r.Amount)}
		if r.Result != nil {
			res.Result = string(*r.Result)
		}
		if r.FailReason != nil {
			res.FailReason = string(*r.FailReason)
		}
		s.Splits = append(s.Splits, res)
	}
	return s
}

func derefInt(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
