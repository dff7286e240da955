package alipay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
)

// CreateCharge starts the charge's trade and returns the JSON value of
// credential[<channel>] (Ping++ spec §3.3):
//
//   - alipay: {"orderInfo": "<signed alipay.trade.app.pay order string>"}
//     for the app SDK. No server call: Alipay learns of the trade when the
//     app submits the string.
//   - alipay_wap, alipay_pc_direct: every signed alipay.trade.wap.pay /
//     alipay.trade.page.pay parameter as a string field, plus channel_url =
//     the gateway, so that pingpp-js redirects the browser to
//     channel_url?<fields>. No server call either. return_url is
//     req.ReturnURL when set, else extra.success_url; extra.cancel_url is
//     wap's quit_url.
//   - alipay_qr: the qr_code URL of alipay.trade.precreate, a JSON string.
//   - alipay_scan: {} once alipay.trade.pay charged extra.scan_code: code
//     10000 (paid) or 10003 (the buyer is still confirming); QueryCharge
//     tells which. When the outcome is unknown (transport failure, 20000,
//     ACQ.SYSTEM_ERROR, unverifiable answer) the trade is reversed with
//     alipay.trade.cancel before the error is returned, so that a charge the
//     caller drops never keeps the buyer's money.
//   - alipay_lite: the trade_no of alipay.trade.create, a JSON string, for
//     my.tradePay.
//
// Repeating it for one charge is safe: the browser and app scenes only sign,
// and Alipay answers a repeated out_trade_no with the same trade (or its
// outcome, for alipay.trade.pay).
//
// Errors: EInvalid for an unusable charge (currency, amount, subject, or
// extra, with Param "extra[<field>]"), EChannel when Alipay refuses (e.g.
// ACQ.PAYMENT_AUTH_CODE_INVALID for a declined payment code).
func (c *Client) CreateCharge(ctx context.Context, req polypay.ChannelRequest) ([]byte, error) {
	ch := req.Charge
	if err := checkMoney(ch.Currency, ch.Amount); err != nil {
		return nil, err
	}
	if ch.Subject == "" {
		return nil, polypay.ParamError("subject", "alipay requires a subject")
	}
	e, err := parseExtra(ch.Extra)
	if err != nil {
		return nil, err
	}
	if req.Agreement != nil {
		return c.createDebit(ctx, req)
	}
	switch c.channel {
	case ChannelQR:
		hold, err := e.boolean("profit_sharing")
		if err != nil {
			return nil, err
		}
		return c.createQR(ctx, req, hold)
	case ChannelApp:
		if err := appExtra(e); err != nil {
			return nil, err
		}
		return c.createApp(req)
	case ChannelWap:
		p, err := wapExtra(e)
		if err != nil {
			return nil, err
		}
		return c.createWap(req, p)
	case ChannelPC:
		p, err := pcExtra(e)
		if err != nil {
			return nil, err
		}
		return c.createPC(req, p)
	case ChannelScan:
		p, err := scanExtra(e)
		if err != nil {
			return nil, err
		}
		return c.createScan(ctx, req, p)
	case ChannelLite:
		buyer, err := liteBuyer(e)
		if err != nil {
			return nil, err
		}
		return c.createLite(ctx, req, buyer)
	}
	return nil, polypay.ErrNotSupported(c.channel, "create")
}

// order is the biz_content every scene shares.
func (c *Client) order(req polypay.ChannelRequest, product string) sdk.Trade {
	ch := req.Charge
	t := sdk.Trade{
		AppAuthToken: c.token,
		NotifyURL:    req.NotifyURL,
		Subject:      ch.Subject,
		OutTradeNo:   ch.ID,
		TotalAmount:  formatYuan(ch.Amount),
		ProductCode:  product,
		Body:         ch.Body,
	}
	if ch.TimeExpire != 0 {
		t.TimeExpire = formatTime(ch.TimeExpire)
	}
	return t
}

// createQR opens a precreate trade; hold freezes its funds for
// settle-on-trade (extend_params.royalty_freeze, settle.go).
func (c *Client) createQR(ctx context.Context, req polypay.ChannelRequest, hold bool) ([]byte, error) {
	p := heldPreCreate{TradePreCreate: sdk.TradePreCreate{Trade: c.order(req, productF2F)}}
	if hold {
		p.ExtendParams = map[string]string{"royalty_freeze": "true"}
	}
	var rsp sdk.TradePreCreateRsp
	err := c.api.Request(ctx, p, &rsp)
	if err != nil {
		return nil, sdkError("precreate", err)
	}
	if rsp.Code != codeSuccess {
		return nil, apiError("precreate", rsp.Error)
	}
	if rsp.QRCode == "" {
		return nil, fmt.Errorf("alipay precreate: response has no qr_code")
	}
	return json.Marshal(rsp.QRCode)
}

func (c *Client) createApp(req polypay.ChannelRequest) ([]byte, error) {
	s, err := c.api.TradeAppPay(sdk.TradeAppPay{Trade: c.order(req, productApp)})
	if err != nil {
		return nil, fmt.Errorf("alipay app pay: signing the order string: %w", err)
	}
	return marshal(map[string]string{"orderInfo": s})
}

func (c *Client) returnURL(req polypay.ChannelRequest, successURL string) string {
	if req.ReturnURL != "" {
		return req.ReturnURL
	}
	return successURL
}

func (c *Client) createWap(req polypay.ChannelRequest, x wapParams) ([]byte, error) {
	p := sdk.TradeWapPay{Trade: c.order(req, productWap), QuitURL: x.cancelURL}
	p.ReturnURL = c.returnURL(req, x.successURL)
	// TradeWapPay declares its own time_expire, which hides Trade's.
	p.TimeExpire = p.Trade.TimeExpire
	return c.browserCredential(p)
}

func (c *Client) createPC(req polypay.ChannelRequest, x pcParams) ([]byte, error) {
	p := sdk.TradePagePay{Trade: c.order(req, productPC), QRPayMode: x.qrPayMode, QRCodeWidth: x.qrcodeWidth}
	p.ReturnURL = c.returnURL(req, x.successURL)
	return c.browserCredential(p)
}

// browserCredential signs a page or wap payment and returns its parameters
// with channel_url, the form pingpp-js turns into a GET redirect.
func (c *Client) browserCredential(p sdk.Param) ([]byte, error) {
	values, err := c.api.URLValues(p)
	if err != nil {
		return nil, fmt.Errorf("alipay %s: signing: %w", p.APIName(), err)
	}
	fields := make(map[string]string, len(values)+1)
	for k := range values {
		fields[k] = values.Get(k)
	}
	fields["channel_url"] = c.browser
	return marshal(fields)
}

func (c *Client) createScan(ctx context.Context, req polypay.ChannelRequest, x scanParams) ([]byte, error) {
	p := sdk.TradePay{
		Trade:       c.order(req, productF2F),
		Scene:       "bar_code",
		AuthCode:    x.authCode,
		TerminalId:  x.terminalID,
		OperatorId:  x.operatorID,
		GoodsDetail: x.goods,
	}
	p.StoreId = x.storeID
	if x.provider != "" {
		p.ExtendParams = &sdk.ExtendParams{SysServiceProviderId: x.provider}
	}
	return c.tradePay(ctx, req.Charge, p, "pay")
}

// tradePay sends alipay.trade.pay (a scanned code or a debit) and settles
// its answer: {} once Alipay took it (10000 paid, 10003 the buyer is still
// confirming: QueryCharge tells which); an unknown outcome is reversed.
func (c *Client) tradePay(ctx context.Context, ch *polypay.Charge, p sdk.TradePay, op string) ([]byte, error) {
	rsp, err := c.api.TradePay(ctx, p)
	if err != nil {
		return c.afterUnknown(ctx, ch, sdkError(op, err))
	}
	switch rsp.Code {
	case codeSuccess, codePaying:
		if rsp.OutTradeNo != "" && rsp.OutTradeNo != ch.ID {
			return c.afterUnknown(ctx, ch, fmt.Errorf("alipay %s: asked for %q, got %q", op, ch.ID, rsp.OutTradeNo))
		}
		return []byte("{}"), nil
	}
	return c.afterUnknown(ctx, ch, apiError(op, rsp.Error))
}

// afterUnknown settles a payment-code call whose outcome is unknown:
// reverseIfUnknown's nil means the query showed the trade paid, which is a
// success like any other ({}: the caller queries the trade).
func (c *Client) afterUnknown(ctx context.Context, ch *polypay.Charge, cause error) ([]byte, error) {
	if err := c.reverseIfUnknown(ctx, ch, cause); err != nil {
		return nil, err
	}
	return []byte("{}"), nil
}

// reverseIfUnknown follows Alipay's rule for barcode payments: when the
// outcome of alipay.trade.pay is unknown, reverse the trade. A refusal
// (EChannel, EInvalid) took no money and is returned as is.
// It returns nil when a query shows the trade paid after all.
func (c *Client) reverseIfUnknown(ctx context.Context, ch *polypay.Charge, cause error) error {
	var pe *polypay.Error
	if errors.As(cause, &pe) {
		return cause
	}
	// The caller's context may be what failed; the reverse must still go out.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	// Ask first, as the channel prescribes: a payment the query shows
	// made is the outcome, and reversing it would give the money back
	// behind the back of whoever recorded it meanwhile (a notification).
	if t, err := c.QueryCharge(rctx, ch); err == nil && (t.State == polypay.TradePaid || t.State == polypay.TradeFinished) {
		return nil
	}
	if err := c.cancelTrade(rctx, ch); err != nil {
		return fmt.Errorf("%w (and the reversal's outcome is unknown too: %v)", cause, err)
	}
	return fmt.Errorf("%w (%w)", cause, polypay.ErrTradeReversed)
}

// closeScan reverses an unpaid barcode trade with alipay.trade.cancel, the
// operation Alipay prescribes for them: unlike close it also works while
// the buyer is still confirming, and whatever lands afterwards is returned.
// A trade the query already shows paid is not reversed (that would be a
// refund): it is the EChannel error ACQ.TRADE_HAS_SUCCESS.
func (c *Client) closeScan(ctx context.Context, ch *polypay.Charge) error {
	t, err := c.QueryCharge(ctx, ch)
	if err != nil {
		return err
	}
	if t.State == polypay.TradePaid || t.State == polypay.TradeFinished {
		return &polypay.Error{Code: polypay.EChannel, ChannelCode: "ACQ.TRADE_HAS_SUCCESS", Message: "交易已支付，不能撤销；请退款"}
	}
	return c.cancelTrade(ctx, ch)
}

// cancelTrade calls alipay.trade.cancel. Success is action close (nothing
// was paid) or refund (a payment that landed meanwhile went back in full):
// either way the trade is closed and no money is kept. retry_flag Y asks
// for the same call again, so that answer is a retryable error.
func (c *Client) cancelTrade(ctx context.Context, ch *polypay.Charge) error {
	rsp, err := c.api.TradeCancel(ctx, sdk.TradeCancel{AppAuthToken: c.token, OutTradeNo: ch.ID})
	if err != nil {
		return sdkError("cancel", err)
	}
	switch {
	case rsp.Code == codeSuccess:
		return nil
	case rsp.Code == codeBusiness && rsp.SubCode == subTradeNotExist:
		return nil
	case rsp.RetryFlag == "Y":
		return fmt.Errorf("alipay cancel: retry requested (%s %s: %s): %w", rsp.Code, rsp.SubCode, rsp.SubMsg, rsp.Error)
	}
	return apiError("cancel", rsp.Error)
}

func (c *Client) createLite(ctx context.Context, req polypay.ChannelRequest, buyer string) ([]byte, error) {
	p := sdk.TradeCreate{Trade: c.order(req, productLite)}
	// Ping++ calls it buyer_id; apps created since Alipay's switch to
	// OpenID only ever see the buyer's open_id, which goes in its own field.
	if isUserID(buyer) {
		p.BuyerId = buyer
	} else {
		p.BuyerOpenId = buyer
	}
	rsp, err := c.api.TradeCreate(ctx, p)
	if err != nil {
		return nil, sdkError("create", err)
	}
	if rsp.Code != codeSuccess {
		return nil, apiError("create", rsp.Error)
	}
	if rsp.TradeNo == "" {
		return nil, fmt.Errorf("alipay create: response has no trade_no")
	}
	if rsp.OutTradeNo != "" && rsp.OutTradeNo != req.Charge.ID {
		return nil, fmt.Errorf("alipay create: asked for %q, got %q", req.Charge.ID, rsp.OutTradeNo)
	}
	return json.Marshal(rsp.TradeNo)
}

// isUserID reports an Alipay user id: 2088 followed by 12 digits.
func isUserID(s string) bool {
	return len(s) == 16 && s[:4] == "2088" && digits(s)
}

// marshal encodes a credential without HTML escaping, so that URLs and
// query strings read as they are signed.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
