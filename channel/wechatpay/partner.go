package wechatpay

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/polypay/polypay"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/partnerpayments"
	papp "github.com/wechatpay-apiv3/wechatpay-go/services/partnerpayments/app"
	ph5 "github.com/wechatpay-apiv3/wechatpay-go/services/partnerpayments/h5"
	pjsapi "github.com/wechatpay-apiv3/wechatpay-go/services/partnerpayments/jsapi"
	pnative "github.com/wechatpay-apiv3/wechatpay-go/services/partnerpayments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/app"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/h5"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
)

// Partner mode (服务商模式): the platform's merchant number (MchID, the
// service provider) takes payments for a sub-merchant (Config.SubMchID)
// through wechatpay-go's partner services: the trades, refunds and bills
// are the sub-merchant's, signed with the provider's keys, and
// notifications reach the provider. The payer's openid (extra.open_id) is
// under the provider's AppID. Payment codes, debit agreements and payouts
// are not served in partner mode.

func (c *Client) partner() bool { return c.subMchID != "" }

// createPartner places a partner prepay for the charge's channel.
func (c *Client) createPartner(ctx context.Context, req polypay.ChannelRequest, ex *extra, expire *time.Time, limitPay []string) ([]byte, error) {
	ch, str := req.Charge, core.String
	sp, sub, subApp := str(c.appID), str(c.subMchID), optional(c.subAppID)
	amount := func() (int64, string) { return ch.Amount, "CNY" }
	total, cur := amount()
	switch c.channel {
	case ChannelApp:
		rsp, _, err := (&papp.AppApiService{Client: c.api}).Prepay(ctx, papp.PrepayRequest{SpAppid: sp, SpMchid: str(c.mchID),
			SubAppid: subApp, SubMchid: sub, Description: str(ch.Subject), OutTradeNo: str(ch.ID), TimeExpire: expire,
			NotifyUrl: str(req.NotifyURL), GoodsTag: optional(ex.GoodsTag), LimitPay: limitPay,
			Amount: &papp.Amount{Total: core.Int64(total), Currency: str(cur)}, SettleInfo: settle[papp.SettleInfo](ex)})
		if err != nil {
			return nil, sdkError("prepay", err)
		}
		return c.appPayCredential(ctx, deref(rsp.PrepayId))
	case ChannelPub, ChannelLite:
		payer, err := partnerPayer(c, ex)
		if err != nil {
			return nil, err
		}
		rsp, _, err := (&pjsapi.JsapiApiService{Client: c.api}).PrepayWithRequestPayment(ctx, pjsapi.PrepayRequest{SpAppid: sp,
			SpMchid: str(c.mchID), SubAppid: subApp, SubMchid: sub, Description: str(ch.Subject), OutTradeNo: str(ch.ID),
			TimeExpire: expire, NotifyUrl: str(req.NotifyURL), GoodsTag: optional(ex.GoodsTag), LimitPay: limitPay,
			Amount: &pjsapi.Amount{Total: core.Int64(total), Currency: str(cur)}, Payer: payer, SettleInfo: settle[pjsapi.SettleInfo](ex)}, c.appID)
		if err != nil {
			return nil, sdkError("prepay", err)
		}
		return marshal(jsapiCredential{AppID: deref(rsp.Appid), TimeStamp: deref(rsp.TimeStamp), NonceStr: deref(rsp.NonceStr),
			Package: deref(rsp.Package), SignType: deref(rsp.SignType), PaySign: deref(rsp.PaySign)})
	case ChannelQR:
		if n := len(ex.ProductID); n < 1 || n > 32 {
			return nil, polypay.ParamError("extra[product_id]", "wx_pub_qr requires extra.product_id of 1 to 32 characters")
		}
		rsp, _, err := (&pnative.NativeApiService{Client: c.api}).Prepay(ctx, pnative.PrepayRequest{SpAppid: sp, SpMchid: str(c.mchID),
			SubAppid: subApp, SubMchid: sub, Description: str(ch.Subject), OutTradeNo: str(ch.ID), TimeExpire: expire,
			NotifyUrl: str(req.NotifyURL), GoodsTag: optional(ex.GoodsTag), LimitPay: limitPay,
			Amount: &pnative.Amount{Total: core.Int64(total), Currency: str(cur)}, SettleInfo: settle[pnative.SettleInfo](ex)})
		if err != nil {
			return nil, sdkError("prepay", err)
		}
		if deref(rsp.CodeUrl) == "" {
			return nil, errors.New("wechatpay prepay: answer has no code_url")
		}
		return marshal(deref(rsp.CodeUrl))
	case ChannelWap:
		if ch.ClientIP == "" {
			return nil, polypay.ParamError("client_ip", "wx_wap requires the customer's client_ip")
		}
		rsp, _, err := (&ph5.H5ApiService{Client: c.api}).Prepay(ctx, ph5.PrepayRequest{SpAppid: sp, SpMchid: str(c.mchID),
			SubAppid: subApp, SubMchid: sub, Description: str(ch.Subject), OutTradeNo: str(ch.ID), TimeExpire: expire,
			NotifyUrl: str(req.NotifyURL), GoodsTag: optional(ex.GoodsTag),
			Amount:     &ph5.Amount{Total: core.Int64(total), Currency: str(cur)},
			SceneInfo:  &ph5.SceneInfo{PayerClientIp: str(ch.ClientIP), H5Info: &ph5.H5Info{Type: str("Wap")}},
			SettleInfo: settle[ph5.SettleInfo](ex)})
		if err != nil {
			return nil, sdkError("prepay", err)
		}
		if deref(rsp.H5Url) == "" {
			return nil, errors.New("wechatpay prepay: answer has no h5_url")
		}
		return marshal(deref(rsp.H5Url))
	}
	return nil, polypay.ErrNotSupported(c.channel, "create in partner mode")
}

// partnerPayer is the JSAPI payer: extra.open_id, the payer's openid under
// the provider's app (sp_openid). An openid under the sub-merchant's own
// app (sub_openid) is not taken yet.
func partnerPayer(c *Client, ex *extra) (*pjsapi.Payer, error) {
	if ex.OpenID == "" {
		return nil, polypay.ParamError("extra[open_id]", "%s requires extra.open_id, the payer's openid under app %s", c.channel, c.appID)
	}
	return &pjsapi.Payer{SpOpenid: core.String(ex.OpenID)}, nil
}

// appPayCredential signs the app's payment request for a prepay_id, as
// the app SDK expects it (appid, partnerid, prepayid, package, noncestr,
// timestamp, sign), with the provider's merchant key.
func (c *Client) appPayCredential(ctx context.Context, prepayID string) ([]byte, error) {
	if prepayID == "" {
		return nil, errors.New("wechatpay prepay: answer has no prepay_id")
	}
	appID := c.appID
	if c.subAppID != "" {
		appID = c.subAppID
	}
	ts, nonce := time.Now().Unix(), randomNonce()
	msg := fmt.Sprintf("%s\n%d\n%s\n%s\n", appID, ts, nonce, prepayID)
	sig, err := c.api.Sign(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("wechatpay prepay: signing the app request: %w", err)
	}
	return marshal(appCredential{AppID: appID, PartnerID: c.subMchID, PrepayID: prepayID, NonceStr: nonce, TimeStamp: ts,
		PackageValue: "Sign=WXPay", Sign: sig.Signature})
}

// queryPartner asks for a sub-merchant trade by out_trade_no.
func (c *Client) queryPartner(ctx context.Context, ch *polypay.Charge) (*polypay.Trade, error) {
	tx, _, err := (&pjsapi.JsapiApiService{Client: c.api}).QueryOrderByOutTradeNo(ctx, pjsapi.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(ch.ID), SpMchid: core.String(c.mchID), SubMchid: core.String(c.subMchID)})
	if err != nil {
		var ae *core.APIError
		if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && ae.Code == codeOrderNotExist {
			return &polypay.Trade{State: polypay.TradeNotFound, OutTradeNo: ch.ID}, nil
		}
		return nil, sdkError("query", err)
	}
	if deref(tx.SubMchid) != c.subMchID {
		return nil, fmt.Errorf("wechatpay query: asked about sub-merchant %s, got %s", c.subMchID, deref(tx.SubMchid))
	}
	return tradeOf(ch.ID, fromPartner(tx))
}

// fromPartner reads a partner Transaction as a merchant one: the openid
// is whichever the payer has.
func fromPartner(tx *partnerpayments.Transaction) *payments.Transaction {
	out := &payments.Transaction{Mchid: tx.SubMchid, Appid: tx.SpAppid, OutTradeNo: tx.OutTradeNo, TransactionId: tx.TransactionId,
		TradeType: tx.TradeType, TradeState: tx.TradeState, TradeStateDesc: tx.TradeStateDesc, BankType: tx.BankType,
		SuccessTime: tx.SuccessTime, Attach: tx.Attach}
	if tx.Amount != nil {
		out.Amount = &payments.TransactionAmount{Total: tx.Amount.Total, PayerTotal: tx.Amount.PayerTotal, Currency: tx.Amount.Currency,
			PayerCurrency: tx.Amount.PayerCurrency}
	}
	if tx.Payer != nil {
		openid := tx.Payer.SpOpenid
		if deref(tx.Payer.SubOpenid) != "" {
			openid = tx.Payer.SubOpenid
		}
		out.Payer = &payments.TransactionPayer{Openid: openid}
	}
	return out
}

// closePartner closes a sub-merchant's unpaid trade.
func (c *Client) closePartner(ctx context.Context, ch *polypay.Charge) error {
	_, err := (&pjsapi.JsapiApiService{Client: c.api}).CloseOrder(ctx, pjsapi.CloseOrderRequest{OutTradeNo: core.String(ch.ID),
		SpMchid: core.String(c.mchID), SubMchid: core.String(c.subMchID)})
	var ae *core.APIError
	if err == nil || errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && ae.Code == codeOrderNotExist {
		return nil
	}
	return sdkError("close", err)
}

// notForPartner refuses what partner mode does not serve.
func (c *Client) notForPartner(op string) error {
	if c.partner() {
		return polypay.ErrNotSupported(c.channel, op+" in partner mode (sub_mchid "+c.subMchID+")")
	}
	return nil
}

func randomNonce() string {
	return strconv.FormatInt(time.Now().UnixNano(), 36) + polypay.NewID("")[12:]
}

var _ polypay.SubMerchantChecker = (*Client)(nil)

// CheckSubMerchant asks WeChat Pay whether sub is a sub-merchant bound to
// this provider: a query for a trade nobody made answers ORDER_NOT_EXIST
// for a bound one and NO_AUTH (or a parameter error) otherwise. Errors:
// EInvalid naming sub_mchid when it is not usable; the query's others.
func (c *Client) CheckSubMerchant(ctx context.Context, sub string) error {
	probe := *c
	probe.subMchID = sub
	_, err := probe.queryPartner(ctx, &polypay.Charge{ID: "polypaybindcheck0"})
	var pe *polypay.Error
	if errors.As(err, &pe) && (pe.Code == polypay.EChannel || pe.Code == polypay.EInvalid) {
		return polypay.ParamError("sub_mchid", "微信支付不认可特约商户 %s 与服务商 %s 的绑定: %s", sub, c.mchID, cmp.Or(pe.ChannelMessage, pe.Message))
	}
	return err
}

// settleInfo is any of the SDK's SettleInfo types: one field,
// profit_sharing.
type settleInfo interface {
	app.SettleInfo | jsapi.SettleInfo | native.SettleInfo | h5.SettleInfo |
		papp.SettleInfo | pjsapi.SettleInfo | pnative.SettleInfo | ph5.SettleInfo
}

// settle is a prepay's settle_info: funds held for profit sharing when
// the charge asks for it (extra.profit_sharing), else none.
func settle[T settleInfo](ex *extra) *T {
	if !ex.ProfitSharing {
		return nil
	}
	var v T
	b, _ := json.Marshal(map[string]bool{"profit_sharing": true})
	_ = json.Unmarshal(b, &v)
	return &v
}
