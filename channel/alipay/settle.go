package alipay

import (
	"context"
	"fmt"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
)

// Settle-on-trade (分账): an alipay_qr charge made with extra.profit_sharing
// freezes its funds (extend_params.royalty_freeze); receivers are bound
// with alipay.trade.royalty.relation.bind, a paid trade is split with
// alipay.trade.order.settle (royalty_finish unfreezes the rest) and read
// back with alipay.trade.order.settle.query. Alipay takes a share back only
// together with a refund (refund_royalty_parameters), so ReturnShare is
// not served. Receiver types are Alipay's: userId (2088…) or loginName.

var _ polypay.ProfitSharer = (*Client)(nil)

// heldPreCreate is alipay.trade.precreate with extend_params as a map:
// the SDK's ExtendParams has no royalty_freeze.
type heldPreCreate struct {
	sdk.TradePreCreate
	ExtendParams map[string]string `json:"extend_params,omitempty"`
}

// payload is an API call built field by field (amounts as yuan strings,
// never floats), acting for the authorizing merchant when there is one.
func (c *Client) payload(method string) *sdk.Payload {
	p := sdk.NewPayload(method)
	if c.token != "" {
		p.AddParam("app_auth_token", c.token)
	}
	return p
}

// AddReceiver binds a receiver (type userId or loginName). Errors:
// EInvalid naming the field; EChannel.
func (c *Client) AddReceiver(ctx context.Context, r polypay.ProfitReceiver) error {
	if r.Type != "userId" && r.Type != "loginName" {
		return polypay.ParamError("type", "支付宝分账接收方类型须为 userId 或 loginName")
	}
	if r.Account == "" {
		return polypay.ParamError("account", "缺少分账接收方账号 account")
	}
	recv := map[string]string{"type": r.Type, "account": r.Account}
	if r.Name != "" {
		recv["name"] = r.Name
	}
	p := c.payload("alipay.trade.royalty.relation.bind").
		AddBizField("receiver_list", []map[string]string{recv}).
		AddBizField("out_request_no", polypay.NewID("RB"))
	var rsp struct {
		sdk.Error
		ResultCode string `json:"result_code"`
	}
	if err := c.api.Request(ctx, p, &rsp); err != nil {
		return sdkError("relation bind", err)
	}
	if rsp.Code != codeSuccess {
		return apiError("relation bind", rsp.Error)
	}
	return nil
}

// ShareProfit splits a paid trade under orderNo (out_request_no: again
// answers the same settle); finish unfreezes the rest. The splits are read
// back from the settle query.
func (c *Client) ShareProfit(ctx context.Context, ch *polypay.Charge, orderNo string, splits []polypay.ProfitSplit, finish bool) (*polypay.ProfitShare, error) {
	if ch.TransactionNo == "" {
		return nil, polypay.ParamError("charge", "charge %s has no Alipay trade_no: it is not paid", ch.ID)
	}
	if len(splits) == 0 {
		return nil, polypay.ParamError("receivers", "分账至少需要一个接收方")
	}
	params := make([]map[string]string, 0, len(splits))
	for _, s := range splits {
		if s.Amount < 1 {
			return nil, polypay.ParamError("amount", "分账金额须为正整数（分）")
		}
		params = append(params, map[string]string{"royalty_type": "transfer", "trans_in_type": s.Receiver.Type,
			"trans_in": s.Receiver.Account, "amount": formatYuan(s.Amount), "desc": s.Description})
	}
	return c.settle(ctx, ch, orderNo, params, finish)
}

func (c *Client) settle(ctx context.Context, ch *polypay.Charge, orderNo string, params []map[string]string, finish bool) (*polypay.ProfitShare, error) {
	p := c.payload("alipay.trade.order.settle").AddBizField("out_request_no", orderNo).AddBizField("trade_no", ch.TransactionNo).
		AddBizField("royalty_parameters", params)
	if finish {
		p.AddBizField("extend_params", map[string]string{"royalty_finish": "true"})
	}
	var rsp struct {
		sdk.Error
		TradeNo  string `json:"trade_no"`
		SettleNo string `json:"settle_no"`
	}
	if err := c.api.Request(ctx, p, &rsp); err != nil {
		return nil, sdkError("settle", err)
	}
	if rsp.Code != codeSuccess {
		return nil, apiError("settle", rsp.Error)
	}
	if rsp.TradeNo != "" && rsp.TradeNo != ch.TransactionNo {
		return nil, fmt.Errorf("alipay settle: asked about trade %s, got %s", ch.TransactionNo, rsp.TradeNo)
	}
	share, err := c.QueryShare(ctx, ch, orderNo)
	if err != nil {
		return nil, err
	}
	if finish {
		share.State = "FINISHED"
	}
	return share, nil
}

// QueryShare reads a settle back; ENotFound when Alipay has none under
// orderNo.
func (c *Client) QueryShare(ctx context.Context, ch *polypay.Charge, orderNo string) (*polypay.ProfitShare, error) {
	p := c.payload("alipay.trade.order.settle.query").AddBizField("out_request_no", orderNo).AddBizField("trade_no", ch.TransactionNo)
	var rsp struct {
		sdk.Error
		SettleNo          string `json:"settle_no"`
		RoyaltyDetailList []struct {
			TransIn   string `json:"trans_in"`
			Amount    string `json:"amount"`
			State     string `json:"state"`
			ErrorCode string `json:"error_code"`
		} `json:"royalty_detail_list"`
	}
	if err := c.api.Request(ctx, p, &rsp); err != nil {
		return nil, sdkError("settle query", err)
	}
	if rsp.Code != codeSuccess {
		if rsp.SubCode == "ACQ.SETTLE_NOT_EXIST" {
			return nil, polypay.NotFound("profit_sharing_order", orderNo)
		}
		return nil, apiError("settle query", rsp.Error)
	}
	share := &polypay.ProfitShare{OrderNo: orderNo, ShareID: rsp.SettleNo, State: "PROCESSING"}
	for _, d := range rsp.RoyaltyDetailList {
		amt, err := parseYuan(d.Amount)
		if err != nil {
			return nil, fmt.Errorf("alipay settle query: amount %q: %w", d.Amount, err)
		}
		share.Splits = append(share.Splits, polypay.ProfitSplitResult{Account: d.TransIn, Amount: amt, Result: d.State, FailReason: d.ErrorCode})
	}
	return share, nil
}

// ReturnShare is not served: Alipay takes a share back only with a refund
// of the payment (refund_royalty_parameters).
func (c *Client) ReturnShare(ctx context.Context, ch *polypay.Charge, orderNo, returnNo string, from polypay.ProfitReceiver, amount int64, desc string) (*polypay.ProfitReturn, error) {
	return nil, polypay.ErrNotSupported(c.channel, "taking a share back without a refund (Alipay returns shares with refunds only)")
}

// FinishShare unfreezes what was not split: a settle of no split with
// royalty_finish.
func (c *Client) FinishShare(ctx context.Context, ch *polypay.Charge, orderNo, desc string) (*polypay.ProfitShare, error) {
	return c.settle(ctx, ch, orderNo, []map[string]string{}, true)
}
