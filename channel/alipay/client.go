// Package alipay is the Alipay OpenAPI connector: it implements
// polypay.Channel for Ping++'s Alipay channels on top of the typed requests
// of github.com/smartwalle/alipay/v3, against the real gateway or the
// simulator (sim/alipaysim).
package alipay

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
)

// Ping++ channel names served by this connector.
const (
	ChannelApp  = "alipay"           // app (alipay.trade.app.pay)
	ChannelWap  = "alipay_wap"       // mobile web (alipay.trade.wap.pay)
	ChannelPC   = "alipay_pc_direct" // PC web (alipay.trade.page.pay)
	ChannelQR   = "alipay_qr"        // merchant shows a QR code (alipay.trade.precreate)
	ChannelScan = "alipay_scan"      // merchant scans the buyer (alipay.trade.pay)
	ChannelLite = "alipay_lite"      // mini program (alipay.trade.create)
)

// DefaultGateway is Alipay's production OpenAPI gateway.
const DefaultGateway = "https://openapi.alipay.com/gateway.do"

// Config holds one merchant's Alipay credentials: public-key mode
// (AlipayPublicKeyPEM) or certificate mode (公钥证书模式: the three
// certificates), one or the other.
type Config struct {
	AppID string
	// PrivateKeyPEM is the app private key, PKCS#1 or PKCS#8 PEM.
	PrivateKeyPEM string
	// AlipayPublicKeyPEM is Alipay's platform public key (SPKI PEM) that
	// responses and notifications are verified with (public-key mode).
	AlipayPublicKeyPEM string
	// AppCertPEM is the app public key certificate Alipay issued for the
	// key of PrivateKeyPEM (appCertPublicKey_<app_id>.crt). Setting it,
	// AlipayCertPEM and AlipayRootCertPEM selects certificate mode:
	// requests then carry app_cert_sn and alipay_root_cert_sn, and
	// responses and notifications are verified with the key of
	// AlipayCertPEM (a response naming another alipay_cert_sn is refused).
	AppCertPEM string
	// AlipayCertPEM is Alipay's public key certificate
	// (alipayCertPublicKey_RSA2.crt, leaf first).
	AlipayCertPEM string
	// AlipayRootCertPEM is Alipay's root certificate file
	// (alipayRootCert.crt); it holds several certificates.
	AlipayRootCertPEM string
	// BrowserGateway is the gateway.do URL customers' browsers are sent to
	// (credential channel_url for wap and PC pay); empty means Gateway. The
	// sandbox serves server calls on loopback and browsers on the public URL.
	BrowserGateway string
	// Gateway is the gateway.do URL; empty means DefaultGateway. Point it
	// at the simulator in test mode.
	Gateway string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// AppAuthToken makes every call a service provider's for the merchant
	// that authorized AppID (第三方应用授权, app_auth_token): the trades
	// are the merchant's, signed with the provider's keys.
	AppAuthToken string
}

// Client is one merchant's Alipay connector for one Ping++ channel.
type Client struct {
	channel string
	appID   string
	gateway string
	browser string // channel_url for the customer's browser
	api     *sdk.Client
	http    *http.Client // for bill downloads; the SDK has its own copy
	token   string       // app_auth_token: acting for an authorizing merchant
}

var _ polypay.Channel = (*Client)(nil)

// New builds the connector for Ping++ channel name channel. It returns an
// EInvalid error for a channel that is not Alipay's or for unusable keys.
func New(channel string, cfg Config) (*Client, error) {
	switch channel {
	case ChannelApp, ChannelWap, ChannelPC, ChannelQR, ChannelScan, ChannelLite:
	default:
		return nil, polypay.Errorf(polypay.EInvalid, "alipay: %q is not an Alipay channel", channel)
	}
	if cfg.AppID == "" {
		return nil, polypay.Errorf(polypay.EInvalid, "alipay: app_id is required")
	}
	gateway := cfg.Gateway
	if gateway == "" {
		gateway = DefaultGateway
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	// production=false is deliberate even for the real gateway: in
	// production mode the SDK answers a response or notification naming an
	// unknown alipay_cert_sn by downloading that certificate unverified and
	// trusting it. In sandbox mode it refuses instead. The flag has no other
	// effect on the calls used here once the gateway URL is set explicitly.
	api, err := sdk.New(cfg.AppID, cfg.PrivateKeyPEM, false,
		sdk.WithSandboxGateway(gateway),
		sdk.WithHTTPClient(hc),
		sdk.WithTimeLocation(cst))
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "alipay: app private key is not an RSA PKCS#1 or PKCS#8 PEM key", Err: err}
	}
	if cfg.AppCertPEM != "" || cfg.AlipayCertPEM != "" || cfg.AlipayRootCertPEM != "" {
		if err := loadCerts(api, cfg); err != nil {
			return nil, err
		}
	} else if err := api.LoadAliPayPublicKey(cfg.AlipayPublicKeyPEM); err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "alipay: Alipay public key is not an RSA SPKI PEM key", Err: err}
	}
	browser := cfg.BrowserGateway
	if browser == "" {
		browser = gateway
	}
	return &Client{channel: channel, appID: cfg.AppID, gateway: gateway, browser: browser, api: api, http: hc, token: cfg.AppAuthToken}, nil
}

// checkMoney enforces what Alipay can take: CNY only, 0.01 to 100,000,000.00.
func checkMoney(currency string, amount int64) error {
	if currency != "cny" {
		return polypay.ParamError("currency", "alipay only supports cny, not %q", currency)
	}
	if amount < minFen || amount > maxFen {
		return polypay.ParamError("amount", "alipay amounts are 1 to %d fen", int64(maxFen))
	}
	return nil
}

// QueryCharge asks alipay.trade.query for the trade. A trade Alipay does not
// know is TradeNotFound, not an error. Errors: EChannel when Alipay refuses,
// ENotSupported for an undocumented trade_status.
func (c *Client) QueryCharge(ctx context.Context, ch *polypay.Charge) (*polypay.Trade, error) {
	rsp, err := c.api.TradeQuery(ctx, sdk.TradeQuery{AppAuthToken: c.token, OutTradeNo: ch.ID})
	if err != nil {
		return nil, sdkError("query", err)
	}
	if rsp.Code != codeSuccess {
		if rsp.Code == codeBusiness && rsp.SubCode == subTradeNotExist {
			return &polypay.Trade{State: polypay.TradeNotFound, OutTradeNo: ch.ID}, nil
		}
		return nil, apiError("query", rsp.Error)
	}
	if rsp.OutTradeNo != ch.ID {
		// A signed answer about another trade is a gateway fault; booking it
		// against this charge would be worse than failing.
		return nil, fmt.Errorf("alipay query: asked for %q, got %q", ch.ID, rsp.OutTradeNo)
	}
	state, err := tradeState(rsp.TradeStatus)
	if err != nil {
		return nil, err
	}
	amount, err := parseYuan(rsp.TotalAmount)
	if err != nil {
		return nil, fmt.Errorf("alipay query: total_amount %q: %w", rsp.TotalAmount, err)
	}
	t := &polypay.Trade{
		State:         state,
		OutTradeNo:    rsp.OutTradeNo,
		TransactionNo: rsp.TradeNo,
		TradeID:       rsp.TradeNo,
		Amount:        amount,
		Currency:      currencyOf(rsp.TransCurrency),
	}
	if rsp.SendPayDate != "" {
		if t.PaidAt, err = parseTime(rsp.SendPayDate); err != nil {
			return nil, fmt.Errorf("alipay query: send_pay_date %q: %w", rsp.SendPayDate, err)
		}
	}
	if rsp.BuyerLogonId != "" {
		t.Extra = map[string]any{"buyer_account": rsp.BuyerLogonId}
	}
	return t, nil
}

// CloseCharge closes an unpaid trade with alipay.trade.close, or for
// alipay_scan reverses it with alipay.trade.cancel (see closeScan). A trade
// Alipay never created (the buyer never scanned, the browser never arrived)
// closes trivially. Errors: EChannel when Alipay refuses, e.g.
// ACQ.TRADE_STATUS_ERROR for a paid trade.
func (c *Client) CloseCharge(ctx context.Context, ch *polypay.Charge) error {
	if c.channel == ChannelScan {
		return c.closeScan(ctx, ch)
	}
	rsp, err := c.api.TradeClose(ctx, sdk.TradeClose{AppAuthToken: c.token, OutTradeNo: ch.ID})
	if err != nil {
		return sdkError("close", err)
	}
	if rsp.Code == codeSuccess || (rsp.Code == codeBusiness && rsp.SubCode == subTradeNotExist) {
		return nil
	}
	return apiError("close", rsp.Error)
}

// Refund asks alipay.trade.refund for r with out_request_no = r.OrderNo, so
// repeating it never refunds twice. Alipay sends the refund notification to
// the charge's notify_url; the refund call has no URL of its own, so
// notifyURL is unused. A business refusal (40004) is a failed refund, not an
// error. Errors: EInvalid for currency/amount, EChannel for other refusals;
// anything else (including 20000 and ACQ.SYSTEM_ERROR) leaves the outcome
// unknown and is safe to retry.
func (c *Client) Refund(ctx context.Context, ch *polypay.Charge, r *polypay.Refund, notifyURL string) (*polypay.RefundResult, error) {
	currency := r.Currency
	if currency == "" {
		currency = ch.Currency
	}
	if err := checkMoney(currency, r.Amount); err != nil {
		return nil, err
	}
	if r.OrderNo == "" {
		return nil, polypay.ParamError("order_no", "alipay refunds need an out_request_no")
	}
	p := sdk.TradeRefund{
		AppAuthToken: c.token,
		OutTradeNo:   ch.ID,
		RefundAmount: formatYuan(r.Amount),
		OutRequestNo: r.OrderNo,
		RefundReason: r.Description,
	}
	var rsp refundRsp
	if err := c.api.Request(ctx, p, &rsp); err != nil {
		return nil, sdkError("refund", err)
	}
	switch {
	case rsp.Code == codeSuccess && rsp.FundChange == "Y":
		res := &polypay.RefundResult{Status: polypay.RefundSucceeded, TransactionNo: rsp.TradeNo}
		if rsp.GmtRefundPay != "" {
			res.SucceededAt, _ = parseTime(rsp.GmtRefundPay) // informative only
		}
		return res, nil
	case rsp.Code == codeSuccess:
		// fund_change N: no money moved on this call, typically because the
		// out_request_no was refunded before. Alipay's advice is to ask the
		// refund query, which knows whether the refund really happened.
		return c.QueryRefund(ctx, ch, r)
	case rsp.Code == codeBusiness && rsp.SubCode != subSystemError:
		return &polypay.RefundResult{
			Status:      polypay.RefundFailed,
			FailureCode: rsp.SubCode,
			FailureMsg:  rsp.SubMsg,
		}, nil
	}
	return nil, apiError("refund", rsp.Error)
}

// QueryRefund asks alipay.trade.fastpay.refund.query. REFUND_SUCCESS is
// succeeded; no refund_status means Alipay has no successful refund under
// that out_request_no yet, which stays pending for the caller to decide.
// Errors: EChannel when Alipay refuses.
func (c *Client) QueryRefund(ctx context.Context, ch *polypay.Charge, r *polypay.Refund) (*polypay.RefundResult, error) {
	rsp, err := c.api.TradeFastPayRefundQuery(ctx, sdk.TradeFastPayRefundQuery{
		AppAuthToken: c.token,
		OutTradeNo:   ch.ID,
		OutRequestNo: r.OrderNo,
	})
	if err != nil {
		return nil, sdkError("refund query", err)
	}
	if rsp.Code != codeSuccess {
		return nil, apiError("refund query", rsp.Error)
	}
	status, err := refundStatus(rsp.RefundStatus)
	if err != nil {
		return nil, err
	}
	res := &polypay.RefundResult{Status: status, TransactionNo: rsp.TradeNo}
	if status != polypay.RefundSucceeded {
		return res, nil
	}
	if rsp.RefundAmount != "" {
		got, err := parseYuan(rsp.RefundAmount)
		if err != nil {
			return nil, fmt.Errorf("alipay refund query: refund_amount %q: %w", rsp.RefundAmount, err)
		}
		if got != r.Amount {
			// The out_request_no names a refund of another amount: ours was
			// not made, and calling it succeeded would hide that.
			return nil, fmt.Errorf("alipay refund query: %s refunded %d fen, expected %d", r.OrderNo, got, r.Amount)
		}
	}
	if rsp.GMTRefundPay != "" {
		res.SucceededAt, _ = parseTime(rsp.GMTRefundPay) // informative only
	}
	return res, nil
}

// apiError turns a signed, non-success Alipay answer into the polypay error
// contract. 20000 (and ACQ.SYSTEM_ERROR) mean Alipay does not know the
// outcome yet: that is not a refusal, so it is returned as a plain
// (retryable) error; everything else is an EChannel refusal keeping
// sub_code. The alipay error stays reachable with errors.As.
func apiError(op string, e sdk.Error) error {
	if e.Code == codeUnknown || e.SubCode == subSystemError {
		return fmt.Errorf("alipay %s: outcome unknown (%s %s: %s): %w", op, e.Code, e.SubCode, e.SubMsg, e)
	}
	if e.SubCode == subInvalidAppAuth {
		// The merchant cancelled the provider's authorization, or it
		// lapsed: nothing works for it until it authorizes again.
		// polypay's own words (not the channel's) tell the platform what to do.
		return &polypay.Error{Code: polypay.EChannel, ChannelCode: e.SubCode,
			Message: "支付宝第三方应用授权已失效（商户取消了授权或令牌已过期），请商户重新授权", Err: fmt.Errorf("%w: %w", polypay.ErrChannelAuthorization, e)}
	}
	pe := &polypay.Error{Code: polypay.EChannel, ChannelCode: e.SubCode, Message: e.SubMsg, ChannelMessage: e.SubMsg, Err: e}
	if pe.ChannelCode == "" {
		pe.ChannelCode = string(e.Code)
	}
	if pe.Message == "" {
		pe.Message, pe.ChannelMessage = string(e.Msg), string(e.Msg)
	}
	if pe.Message == "" {
		pe.Message = "alipay " + op + " failed with code " + string(e.Code)
	}
	return pe
}

// sdkError classifies an error returned by the SDK call itself.
func sdkError(op string, err error) error {
	var ae *sdk.Error
	if errors.As(err, &ae) {
		if ae.Code == codeSuccess || ae.Code == codePaying {
			// The SDK returns an unsigned response as an *Error; an unsigned
			// "success" is exactly what a forger would send.
			return fmt.Errorf("alipay %s: unsigned success response: %w", op, polypay.ErrBadSignature)
		}
		return apiError(op, *ae)
	}
	var b64 base64.CorruptInputError
	if errors.Is(err, rsa.ErrVerification) || errors.As(err, &b64) || errors.Is(err, sdk.ErrAliPublicKeyNotFound) {
		return fmt.Errorf("alipay %s: response signature: %w: %w", op, polypay.ErrBadSignature, err)
	}
	return fmt.Errorf("alipay %s: %w", op, err)
}
