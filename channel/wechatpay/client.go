// Package wechatpay is the WeChat Pay API v3 connector: it implements
// polypay.Channel for Ping++'s WeChat channels on top of the official SDK
// (github.com/wechatpay-apiv3/wechatpay-go), and of go-pay/gopay for the one
// call the official SDK lacks (the payment-code call of wx_pub_scan),
// against the real API or the simulator (sim/wechatsim).
//
// Credentials are public-key mode: the merchant API key and its certificate
// serial sign requests; the WeChat Pay platform public key and its id
// (PUB_KEY_ID_...) verify responses and notifications.
//
// The same connector pays out (polypay.BatchPayouter, payout.go: WeChat's
// merchant transfers, on wx, wx_pub and wx_lite) and sends cash red
// envelopes (polypay.RedEnvelopeSender, redpack.go: WeChat's v2 XML calls,
// on wx_pub, with the optional APIv2 key and API certificate).
package wechatpay

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-pay/gopay"
	"github.com/go-pay/gopay/pkg/xhttp"
	gowx "github.com/go-pay/gopay/wechat/v3"
	"github.com/polypay/polypay"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/app"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/h5"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// Ping++ channel names served by this connector.
const (
	ChannelApp  = "wx"          // in-app (/v3/pay/transactions/app)
	ChannelPub  = "wx_pub"      // official account JSAPI (/v3/pay/transactions/jsapi)
	ChannelLite = "wx_lite"     // mini program, JSAPI as well
	ChannelQR   = "wx_pub_qr"   // merchant shows a QR code (/v3/pay/transactions/native)
	ChannelWap  = "wx_wap"      // mobile browser H5 (/v3/pay/transactions/h5)
	ChannelScan = "wx_pub_scan" // merchant scans the customer's code (/v3/pay/transactions/codepay)
)

// DefaultBaseURL is WeChat Pay's production API host.
const DefaultBaseURL = "https://api.mch.weixin.qq.com"

// Config holds one merchant's WeChat Pay credentials (public-key mode).
type Config struct {
	MchID string
	// AppID is the app, official account or mini program bound to MchID.
	AppID string
	// MerchantSerialNo is the serial number of the merchant API
	// certificate whose key is PrivateKeyPEM.
	MerchantSerialNo string
	// PrivateKeyPEM is the merchant API private key (apiclient_key.pem),
	// PKCS#8 or PKCS#1.
	PrivateKeyPEM string
	// APIv3Key is the 32-byte APIv3 key notifications are encrypted with.
	APIv3Key string
	// PlatformPublicKeyPEM is the WeChat Pay public key (SPKI PEM) and
	// PlatformPublicKeyID its id (PUB_KEY_ID_...), used to verify
	// responses and notifications.
	PlatformPublicKeyPEM string
	PlatformPublicKeyID  string
	// APIv2Key and APICertPEM (the merchant API certificate of
	// PrivateKeyPEM, apiclient_cert.pem) are for the v2 red envelope calls
	// (redpack.go); without them those calls are refused.
	APIv2Key   string
	APICertPEM string
	// BaseURL is where the API is reached; "" means DefaultBaseURL. Point
	// it at the simulator in test mode: requests to WeChat Pay's host are
	// rewritten to it (a path in it is prepended to every request path).
	BaseURL string
	// PageBaseURL is where a customer's browser opens WeChat's pages (the
	// entrusted debit's signing page); "" means DefaultBaseURL. In test
	// mode it is the simulator's public URL.
	PageBaseURL string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// SubMchID and SubAppID put the connector in partner mode (服务商模式,
	// partner.go): MchID is the service provider's and the payments are
	// the sub-merchant's. Set by polypay from a sub-app's registration.
	SubMchID string
	SubAppID string
}

// Client is one merchant's WeChat Pay connector for one Ping++ channel.
type Client struct {
	channel  string
	mchID    string
	appID    string
	apiV3Key string
	api      *core.Client
	download *core.Client // bill files: signed requests, unsigned answers
	verifier *verifiers.SHA256WithRSAPubkeyVerifier
	// responses verifies gopay's answers with the official SDK's
	// validator (platform key, key id, 5-minute window).
	responses *validators.WechatPayResponseValidator
	scan      *gowx.ClientV3 // wx_pub_scan only
	// v2 sends the red envelope calls; nil, with v2Err saying why, when
	// the credentials cannot (no APIv2 key and API certificate).
	v2    *v2Client
	v2Err error
	// pageBase is where browsers open WeChat's pages (Config.PageBaseURL).
	pageBase string
	// subMchID and subAppID: partner mode (partner.go).
	subMchID, subAppID string
}

var _ polypay.Channel = (*Client)(nil)

// New builds the connector for Ping++ channel name channel. It returns an
// EInvalid error for a channel that is not WeChat's, for missing
// credentials or for unusable keys.
func New(channel string, cfg Config) (*Client, error) {
	switch channel {
	case ChannelApp, ChannelPub, ChannelLite, ChannelQR, ChannelWap, ChannelScan:
	default:
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay: %q is not a WeChat Pay channel", channel)
	}
	for _, f := range []struct{ name, v string }{
		{"mchid", cfg.MchID}, {"appid", cfg.AppID}, {"merchant serial_no", cfg.MerchantSerialNo},
		{"platform public key id", cfg.PlatformPublicKeyID},
	} {
		if f.v == "" {
			return nil, polypay.Errorf(polypay.EInvalid, "wechatpay: %s is required", f.name)
		}
	}
	if len(cfg.APIv3Key) != 32 {
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay: the APIv3 key must be 32 bytes, not %d", len(cfg.APIv3Key))
	}
	key, err := parsePrivateKey(cfg.PrivateKeyPEM)
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "wechatpay: merchant private key is not an RSA PKCS#8 or PKCS#1 PEM key", Err: err}
	}
	pub, err := parsePublicKey(cfg.PlatformPublicKeyPEM)
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "wechatpay: platform public key is not an RSA SPKI PEM key", Err: err}
	}
	hc, err := httpClient(cfg.HTTPClient, cfg.BaseURL)
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "wechatpay: " + err.Error(), Err: err}
	}
	verifier := verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.PlatformPublicKeyID, *pub)
	api, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.MerchantSerialNo, key, cfg.PlatformPublicKeyID, pub),
		validatorOption{markedValidator{validators.NewWechatPayResponseValidator(verifier)}},
		option.WithHTTPClient(hc))
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "wechatpay: " + err.Error(), Err: err}
	}
	// Bill files come unsigned (their SHA-1 is in the signed answer that
	// links them), so they are fetched by a client that signs its request
	// but does not look for a response signature.
	download, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.MerchantSerialNo, key, cfg.PlatformPublicKeyID, pub),
		option.WithoutValidator(), option.WithHTTPClient(hc))
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "wechatpay: " + err.Error(), Err: err}
	}
	c := &Client{channel: channel, mchID: cfg.MchID, appID: cfg.AppID, apiV3Key: cfg.APIv3Key, api: api,
		download: download, verifier: verifier, responses: validators.NewWechatPayResponseValidator(verifier),
		pageBase: strings.TrimRight(cmp.Or(cfg.PageBaseURL, DefaultBaseURL), "/"), subMchID: cfg.SubMchID, subAppID: cfg.SubAppID}
	// Unusable v2 credentials only make the red envelope calls fail: the
	// charges do not need them.
	if c.v2, c.v2Err = newV2Client(cfg); c.v2 == nil && c.v2Err == nil {
		c.v2Err = errors.New("the credentials have no api_v2_key and api_cert")
	}
	if channel == ChannelScan {
		gp, err := gowx.NewClientV3(cfg.MchID, cfg.MerchantSerialNo, cfg.APIv3Key, cfg.PrivateKeyPEM)
		if err != nil {
			return nil, &polypay.Error{Code: polypay.EInvalid, Message: "wechatpay: merchant private key rejected by gopay", Err: err}
		}
		// gopay's own verification is left off on purpose: for an answer
		// naming an unknown Wechatpay-Serial it downloads /v3/certificates
		// and trusts what comes back, and it skips the timestamp window.
		// verifyGopay checks its answers with the official validator.
		gp.WxSerialNo = cfg.PlatformPublicKeyID
		xc := xhttp.NewClient()
		xc.HttpClient = hc // the same host rewriting
		gp.SetHttpClient(xc)
		c.scan = gp
	}
	return c, nil
}

// CreateCharge places the order and returns the credential of the channel
// (Ping++ §3.3): an object for wx, wx_pub and wx_lite, the code_url or
// h5_url string for wx_pub_qr and wx_wap, and {} for wx_pub_scan, whose
// outcome the caller learns with QueryCharge. Repeating it for one charge
// is safe: WeChat Pay answers the same prepay for the same order, and a
// repeated payment-code call reports the trade instead of paying twice.
// Errors: EInvalid for an unusable charge or extra, EChannel when WeChat
// Pay refuses, ErrBadSignature (wrapped) for an answer that does not
// verify; anything else is a transport failure.
func (c *Client) CreateCharge(ctx context.Context, req polypay.ChannelRequest) ([]byte, error) {
	ch := req.Charge
	if err := checkMoney(ch.Currency, ch.Amount); err != nil {
		return nil, err
	}
	if ch.Subject == "" {
		return nil, polypay.ParamError("subject", "wechatpay requires a subject (description)")
	}
	if n := len([]rune(ch.Subject)); n > 127 {
		return nil, polypay.ParamError("subject", "wechatpay takes at most 127 characters of subject, not %d", n)
	}
	if len(ch.ID) < 6 || len(ch.ID) > 32 {
		return nil, polypay.ParamError("id", "wechatpay out_trade_no must be 6 to 32 characters")
	}
	ex, err := parseExtra(ch.Extra)
	if err != nil {
		return nil, err
	}
	if req.Agreement != nil {
		if err := c.notForPartner("debit"); err != nil {
			return nil, err
		}
		return c.createDebit(ctx, req)
	}
	var expire *time.Time
	if ch.TimeExpire != 0 {
		t := time.Unix(ch.TimeExpire, 0).In(cst)
		expire = &t
	}
	var limitPay []string
	if ex.LimitPay != "" {
		limitPay = []string{ex.LimitPay}
	}
	if c.partner() {
		return c.createPartner(ctx, req, ex, expire, limitPay)
	}
	str := core.String
	goodsTag := optional(ex.GoodsTag)

	switch c.channel {
	case ChannelApp:
		svc := app.AppApiService{Client: c.api}
		rsp, _, err := svc.PrepayWithRequestPayment(ctx, app.PrepayRequest{
			Appid: str(c.appID), Mchid: str(c.mchID), Description: str(ch.Subject), OutTradeNo: str(ch.ID),
			TimeExpire: expire, NotifyUrl: str(req.NotifyURL), GoodsTag: goodsTag, LimitPay: limitPay,
			Amount:     &app.Amount{Total: core.Int64(ch.Amount), Currency: str("CNY")},
			SettleInfo: settle[app.SettleInfo](ex),
		})
		if err != nil {
			return nil, sdkError("prepay", err)
		}
		ts, err := strconv.ParseInt(deref(rsp.TimeStamp), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("wechatpay prepay: SDK timestamp %q: %w", deref(rsp.TimeStamp), err)
		}
		return marshal(appCredential{
			AppID: c.appID, PartnerID: deref(rsp.PartnerId), PrepayID: deref(rsp.PrepayId), NonceStr: deref(rsp.NonceStr),
			TimeStamp: ts, PackageValue: deref(rsp.Package), Sign: deref(rsp.Sign),
		})
	case ChannelPub, ChannelLite:
		if ex.OpenID == "" {
			return nil, polypay.ParamError("extra[open_id]", "%s requires extra.open_id, the payer's openid under app %s", c.channel, c.appID)
		}
		svc := jsapi.JsapiApiService{Client: c.api}
		rsp, _, err := svc.PrepayWithRequestPayment(ctx, jsapi.PrepayRequest{
			Appid: str(c.appID), Mchid: str(c.mchID), Description: str(ch.Subject), OutTradeNo: str(ch.ID),
			TimeExpire: expire, NotifyUrl: str(req.NotifyURL), GoodsTag: goodsTag, LimitPay: limitPay,
			Amount:     &jsapi.Amount{Total: core.Int64(ch.Amount), Currency: str("CNY")},
			Payer:      &jsapi.Payer{Openid: str(ex.OpenID)},
			SettleInfo: settle[jsapi.SettleInfo](ex),
		})
		if err != nil {
			return nil, sdkError("prepay", err)
		}
		return marshal(jsapiCredential{
			AppID: deref(rsp.Appid), TimeStamp: deref(rsp.TimeStamp), NonceStr: deref(rsp.NonceStr),
			Package: deref(rsp.Package), SignType: deref(rsp.SignType), PaySign: deref(rsp.PaySign),
		})
	case ChannelQR:
		if n := len(ex.ProductID); n < 1 || n > 32 {
			return nil, polypay.ParamError("extra[product_id]", "wx_pub_qr requires extra.product_id of 1 to 32 characters")
		}
		svc := native.NativeApiService{Client: c.api}
		rsp, _, err := svc.Prepay(ctx, native.PrepayRequest{
			Appid: str(c.appID), Mchid: str(c.mchID), Description: str(ch.Subject), OutTradeNo: str(ch.ID),
			TimeExpire: expire, NotifyUrl: str(req.NotifyURL), GoodsTag: goodsTag, LimitPay: limitPay,
			Amount:     &native.Amount{Total: core.Int64(ch.Amount), Currency: str("CNY")},
			SettleInfo: settle[native.SettleInfo](ex),
		})
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
		svc := h5.H5ApiService{Client: c.api}
		rsp, _, err := svc.Prepay(ctx, h5.PrepayRequest{
			Appid: str(c.appID), Mchid: str(c.mchID), Description: str(ch.Subject), OutTradeNo: str(ch.ID),
			TimeExpire: expire, NotifyUrl: str(req.NotifyURL), GoodsTag: goodsTag,
			Amount:     &h5.Amount{Total: core.Int64(ch.Amount), Currency: str("CNY")},
			SceneInfo:  &h5.SceneInfo{PayerClientIp: str(ch.ClientIP), H5Info: &h5.H5Info{Type: str("Wap")}},
			SettleInfo: settle[h5.SettleInfo](ex),
		})
		if err != nil {
			return nil, sdkError("prepay", err)
		}
		if deref(rsp.H5Url) == "" {
			return nil, errors.New("wechatpay prepay: answer has no h5_url")
		}
		return marshal(deref(rsp.H5Url))
	}
	return c.codepay(ctx, ch, ex)
}

// codepay charges the payment code the merchant scanned (wx_pub_scan). A
// 200 answer is a paid trade, 202 USERPAYING one waiting for the
// customer's password; both return {} and the caller queries the trade.
// When the outcome is unknown the trade is reversed (reverseIfUnknown).
func (c *Client) codepay(ctx context.Context, ch *polypay.Charge, ex *extra) ([]byte, error) {
	if ex.ScanCode == "" {
		return nil, polypay.ParamError("extra[scan_code]", "wx_pub_scan requires extra.scan_code, the customer's payment code")
	}
	store := ex.TerminalID
	if store == "" {
		store = "polypay"
	}
	bm := gopay.BodyMap{}
	bm.Set("appid", c.appID).Set("mchid", c.mchID).Set("description", ch.Subject).Set("out_trade_no", ch.ID).
		SetBodyMap("payer", func(b gopay.BodyMap) { b.Set("auth_code", ex.ScanCode) }).
		SetBodyMap("amount", func(b gopay.BodyMap) { b.Set("total", ch.Amount).Set("currency", "CNY") }).
		SetBodyMap("scene_info", func(b gopay.BodyMap) {
			b.SetBodyMap("store_info", func(s gopay.BodyMap) { s.Set("out_id", store) })
			if ch.ClientIP != "" {
				b.Set("device_ip", ch.ClientIP)
			}
		})
	if ex.GoodsTag != "" {
		bm.Set("goods_tag", ex.GoodsTag)
	}
	rsp, err := c.scan.V3TransactionCodePay(ctx, bm)
	if err != nil || rsp == nil {
		return c.afterUnknown(ctx, ch, fmt.Errorf("wechatpay codepay: %w", err))
	}
	switch {
	case rsp.Code == gowx.Success:
		if err := c.verifyGopay(ctx, rsp.SignInfo); err != nil {
			return c.afterUnknown(ctx, ch, fmt.Errorf("wechatpay codepay: %w: %w", polypay.ErrBadSignature, err))
		}
		if rsp.Response.OutTradeNo != ch.ID {
			return c.afterUnknown(ctx, ch, fmt.Errorf("wechatpay codepay: asked for %q, got %q", ch.ID, rsp.Response.OutTradeNo))
		}
	case rsp.Code == http.StatusAccepted && rsp.ErrResponse.Code == "USERPAYING":
	default:
		return c.afterUnknown(ctx, ch, statusError("codepay", rsp.Code, rsp.ErrResponse.Code, rsp.ErrResponse.Message, errors.New(rsp.Error)))
	}
	return []byte("{}"), nil
}

// verifyGopay checks the signature headers gopay collected over the exact
// answer bytes, as the official SDK checks its own answers.
func (c *Client) verifyGopay(ctx context.Context, si *gowx.SignInfo) error {
	if si == nil {
		return errors.New("no signature information")
	}
	h := http.Header{}
	h.Set("Wechatpay-Timestamp", si.HeaderTimestamp)
	h.Set("Wechatpay-Nonce", si.HeaderNonce)
	h.Set("Wechatpay-Signature", si.HeaderSignature)
	h.Set("Wechatpay-Serial", si.HeaderSerial)
	return c.responses.Validate(ctx, &http.Response{Header: h, Body: io.NopCloser(strings.NewReader(si.SignBody))})
}

func parseExtra(raw []byte) (*extra, error) {
	var ex extra
	if len(raw) == 0 || string(raw) == "null" {
		return &ex, nil
	}
	if err := json.Unmarshal(raw, &ex); err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Param: "extra", Message: "extra is not an object of strings: " + err.Error(), Err: err}
	}
	if ex.LimitPay != "" && ex.LimitPay != "no_credit" {
		return nil, polypay.ParamError("extra[limit_pay]", "limit_pay can only be no_credit")
	}
	if len(ex.GoodsTag) > 32 {
		return nil, polypay.ParamError("extra[goods_tag]", "goods_tag is at most 32 characters")
	}
	return &ex, nil
}

// checkMoney enforces what WeChat Pay can take: CNY only, at least 1 fen.
func checkMoney(currency string, amount int64) error {
	if currency != "cny" {
		return polypay.ParamError("currency", "wechatpay only supports cny, not %q", currency)
	}
	if amount < 1 {
		return polypay.ParamError("amount", "wechatpay amounts are at least 1 fen")
	}
	return nil
}

// QueryCharge asks for the trade by out_trade_no. A trade WeChat Pay does
// not know is TradeNotFound, not an error. Errors: EChannel when WeChat Pay
// refuses, ENotSupported for an undocumented trade_state, ErrBadSignature
// (wrapped) for an answer that does not verify.
func (c *Client) QueryCharge(ctx context.Context, ch *polypay.Charge) (*polypay.Trade, error) {
	if isDebit(ch) {
		return c.queryDebit(ctx, ch)
	}
	if c.partner() {
		return c.queryPartner(ctx, ch)
	}
	svc := jsapi.JsapiApiService{Client: c.api}
	tx, _, err := svc.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(ch.ID), Mchid: core.String(c.mchID),
	})
	if err != nil {
		var ae *core.APIError
		if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && ae.Code == codeOrderNotExist {
			return &polypay.Trade{State: polypay.TradeNotFound, OutTradeNo: ch.ID}, nil
		}
		return nil, sdkError("query", err)
	}
	return tradeOf(ch.ID, tx)
}

func tradeOf(id string, tx *payments.Transaction) (*polypay.Trade, error) {
	if deref(tx.OutTradeNo) != id {
		// A signed answer about another trade is a gateway fault; booking
		// it against this charge would be worse than failing.
		return nil, fmt.Errorf("wechatpay query: asked for %q, got %q", id, deref(tx.OutTradeNo))
	}
	state, err := tradeState(deref(tx.TradeState))
	if err != nil {
		return nil, err
	}
	t := &polypay.Trade{State: state, OutTradeNo: id, TransactionNo: deref(tx.TransactionId), TradeID: deref(tx.TransactionId)}
	if tx.Amount != nil && tx.Amount.Total != nil {
		t.Amount = *tx.Amount.Total
	}
	if tx.Amount != nil {
		t.Currency = deref(tx.Amount.Currency)
	}
	if s := deref(tx.SuccessTime); s != "" {
		if t.PaidAt, err = parseTime(s); err != nil {
			return nil, fmt.Errorf("wechatpay query: success_time %q: %w", s, err)
		}
	}
	t.Extra = paidExtra(tx.Payer, deref(tx.BankType))
	return t, nil
}

// paidExtra is what Ping++ echoes in charge.extra after a WeChat payment.
func paidExtra(payer *payments.TransactionPayer, bankType string) map[string]any {
	ex := map[string]any{}
	if payer != nil && deref(payer.Openid) != "" {
		ex["open_id"] = *payer.Openid
	}
	if bankType != "" {
		ex["bank_type"] = bankType
	}
	if len(ex) == 0 {
		return nil
	}
	return ex
}

// CloseCharge closes an unpaid trade. A trade WeChat Pay never created
// closes trivially. wx_pub_scan trades are reversed instead (WeChat Pay's
// way to end a payment-code trade), but only once a query shows them
// unpaid: a reverse would refund a paid one. Errors: EChannel when WeChat
// Pay refuses, e.g. ORDERPAID for a paid trade.
func (c *Client) CloseCharge(ctx context.Context, ch *polypay.Charge) error {
	if c.channel == ChannelScan {
		return c.closeScan(ctx, ch)
	}
	if c.partner() {
		return c.closePartner(ctx, ch)
	}
	svc := jsapi.JsapiApiService{Client: c.api}
	_, err := svc.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String(ch.ID), Mchid: core.String(c.mchID)})
	var ae *core.APIError
	if err == nil || errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && ae.Code == codeOrderNotExist {
		return nil
	}
	return sdkError("close", err)
}

// closeScan reverses an unpaid payment-code trade, once a query shows it
// unpaid: a reverse would refund a paid one, which is the EChannel error
// ORDERPAID instead.
func (c *Client) closeScan(ctx context.Context, ch *polypay.Charge) error {
	t, err := c.QueryCharge(ctx, ch)
	if err != nil {
		return err
	}
	switch t.State {
	case polypay.TradeNotFound:
		return nil
	case polypay.TradePaid:
		return &polypay.Error{Code: polypay.EChannel, ChannelCode: "ORDERPAID", Message: "该订单已支付，不能关闭；请退款"}
	}
	return c.reverse(ctx, ch)
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

// reverseIfUnknown follows WeChat Pay's rule for payment codes: when the
// outcome of the payment-code call is unknown (transport failure, 5xx, an
// answer that does not verify), reverse the trade so that nothing stays
// charged. A refusal (EChannel, EInvalid) took no money and is returned as
// is.
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
	if err := c.reverse(rctx, ch); err != nil {
		return fmt.Errorf("%w (reversing the trade failed too: %v)", cause, err)
	}
	return fmt.Errorf("%w (%w)", cause, polypay.ErrTradeReversed)
}

// reverse calls the payment-code reverse: the trade ends REVOKED, and a
// payment that landed meanwhile goes back in full. A trade WeChat Pay never
// created reverses trivially.
func (c *Client) reverse(ctx context.Context, ch *polypay.Charge) error {
	bm := gopay.BodyMap{}
	bm.Set("mchid", c.mchID).Set("appid", c.appID)
	rsp, err := c.scan.V3TransactionCodePayReverse(ctx, ch.ID, bm)
	if err != nil || rsp == nil {
		return fmt.Errorf("wechatpay reverse: %w", err)
	}
	switch {
	case rsp.Code == gowx.Success:
		if err := c.verifyGopay(ctx, rsp.SignInfo); err != nil {
			return fmt.Errorf("wechatpay reverse: %w: %w", polypay.ErrBadSignature, err)
		}
		return nil
	case rsp.Code == http.StatusNoContent:
		return nil
	case rsp.Code == http.StatusNotFound && rsp.ErrResponse.Code == codeOrderNotExist:
		return nil
	}
	return statusError("reverse", rsp.Code, rsp.ErrResponse.Code, rsp.ErrResponse.Message, errors.New(rsp.Error))
}

// Refund asks for a refund of r with out_refund_no = r.OrderNo, so
// repeating it never refunds twice, and notify_url = notifyURL. A business
// refusal (HTTP 400, 403 or 404: over-refund, unpaid trade, no such trade)
// is a failed refund carrying WeChat Pay's code, not an error. Errors:
// EInvalid for currency/amount, EChannel for a refused signature (401);
// anything else (429, 5xx, transport, a response that does not verify)
// leaves the outcome unknown and is safe to retry.
func (c *Client) Refund(ctx context.Context, ch *polypay.Charge, r *polypay.Refund, notifyURL string) (*polypay.RefundResult, error) {
	currency := r.Currency
	if currency == "" {
		currency = ch.Currency
	}
	if err := checkMoney(currency, r.Amount); err != nil {
		return nil, err
	}
	if r.OrderNo == "" {
		return nil, polypay.ParamError("order_no", "wechatpay refunds need an out_refund_no")
	}
	req := refunddomestic.CreateRequest{
		SubMchid:    optional(c.subMchID),
		OutTradeNo:  core.String(ch.ID),
		OutRefundNo: core.String(r.OrderNo),
		NotifyUrl:   optional(notifyURL),
		Amount:      &refunddomestic.AmountReq{Refund: core.Int64(r.Amount), Total: core.Int64(ch.Amount), Currency: core.String("CNY")},
	}
	if r.Description != "" {
		reason := []rune(r.Description)
		if len(reason) > 80 {
			reason = reason[:80]
		}
		req.Reason = core.String(string(reason))
	}
	svc := refunddomestic.RefundsApiService{Client: c.api}
	rsp, _, err := svc.Create(ctx, req)
	if err != nil {
		var ae *core.APIError
		if errors.As(err, &ae) && (ae.StatusCode == http.StatusBadRequest || ae.StatusCode == http.StatusForbidden || ae.StatusCode == http.StatusNotFound) {
			msg := ae.Message
			if msg == "" {
				msg = "wechatpay refund refused with code " + ae.Code
			}
			return &polypay.RefundResult{Status: polypay.RefundFailed, FailureCode: ae.Code, FailureMsg: msg}, nil
		}
		return nil, sdkError("refund", err)
	}
	return refundResult(ch, r, rsp)
}

// QueryRefund asks for the refund by out_refund_no. A refund number WeChat
// Pay does not know stays pending: the refund request never arrived, and
// only the caller can decide to send it again (safely, under the same
// number). Errors: EChannel when WeChat Pay refuses, ENotSupported for an
// undocumented status.
func (c *Client) QueryRefund(ctx context.Context, ch *polypay.Charge, r *polypay.Refund) (*polypay.RefundResult, error) {
	svc := refunddomestic.RefundsApiService{Client: c.api}
	rsp, _, err := svc.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(r.OrderNo),
		SubMchid: optional(c.subMchID)})
	if err != nil {
		var ae *core.APIError
		if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound {
			return &polypay.RefundResult{Status: polypay.RefundPending}, nil
		}
		return nil, sdkError("refund query", err)
	}
	return refundResult(ch, r, rsp)
}

func refundResult(ch *polypay.Charge, r *polypay.Refund, rsp *refunddomestic.Refund) (*polypay.RefundResult, error) {
	if deref(rsp.OutRefundNo) != r.OrderNo || deref(rsp.OutTradeNo) != ch.ID {
		return nil, fmt.Errorf("wechatpay refund: asked for %s/%s, got %s/%s", ch.ID, r.OrderNo, deref(rsp.OutTradeNo), deref(rsp.OutRefundNo))
	}
	if rsp.Amount == nil || rsp.Amount.Refund == nil || *rsp.Amount.Refund != r.Amount {
		// The out_refund_no names a refund of another amount: ours was not
		// made, and calling it succeeded would hide that.
		got := int64(-1)
		if rsp.Amount != nil && rsp.Amount.Refund != nil {
			got = *rsp.Amount.Refund
		}
		return nil, fmt.Errorf("wechatpay refund: %s refunds %d fen, expected %d", r.OrderNo, got, r.Amount)
	}
	status := ""
	if rsp.Status != nil {
		status = string(*rsp.Status)
	}
	st, err := refundStatus(status)
	if err != nil {
		return nil, err
	}
	res := &polypay.RefundResult{Status: st, TransactionNo: deref(rsp.RefundId)}
	switch st {
	case polypay.RefundSucceeded:
		if rsp.SuccessTime != nil {
			res.SucceededAt = rsp.SuccessTime.Unix()
		}
	case polypay.RefundFailed:
		res.FailureCode, res.FailureMsg = status, refundFailureMsg[status]
	}
	return res, nil
}

// WeChat Pay error codes the connector acts on.
const codeOrderNotExist = "ORDER_NOT_EXIST"

// sdkError classifies an error from an official SDK call.
func sdkError(op string, err error) error {
	var ae *core.APIError
	if errors.As(err, &ae) {
		return statusError(op, ae.StatusCode, ae.Code, ae.Message, ae)
	}
	if errors.Is(err, errResponseSignature) {
		return fmt.Errorf("wechatpay %s: %w: %w", op, polypay.ErrBadSignature, err)
	}
	return fmt.Errorf("wechatpay %s: %w", op, err)
}

// statusError turns a non-2xx WeChat Pay answer into the polypay error
// contract: 429 and 5xx leave the outcome unknown and are plain (retryable)
// errors; every other status is an EChannel refusal keeping WeChat Pay's
// code. The cause stays reachable with errors.As.
func statusError(op string, status int, code, message string, cause error) error {
	if status == http.StatusTooManyRequests || status >= 500 || status == 0 {
		return fmt.Errorf("wechatpay %s: outcome unknown (HTTP %d %s: %s): %w", op, status, code, message, cause)
	}
	pe := &polypay.Error{Code: polypay.EChannel, ChannelCode: code, Message: message, ChannelMessage: message, Err: cause}
	if pe.ChannelCode == "" {
		pe.ChannelCode = strconv.Itoa(status)
	}
	if pe.Message == "" {
		pe.Message = fmt.Sprintf("wechatpay %s failed with HTTP %d", op, status)
	}
	return pe
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
