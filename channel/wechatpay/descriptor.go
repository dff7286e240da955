package wechatpay

import (
	"time"

	"github.com/polypay/polypay"
)

// Family describes the wx (WeChat Pay API v3) family to the rest of
// polypay (see polypay.Family); package channel registers it.
var Family = polypay.Family{
	Name:  "wx",
	Brand: "wechatpay",
	// ChannelQR first: the account's probe and statement channel. The
	// cashier lists wap before JSAPI.
	Channels: []polypay.ChannelInfo{
		{Name: ChannelQR, QR: true, Cashier: &polypay.CashierInfo{Present: polypay.PresentQR,
			Label:        polypay.Label{Zh: "微信扫码支付", En: "WeChat Pay: scan a QR code"},
			Prompt:       polypay.Label{Zh: "请打开微信，扫一扫下面的二维码", En: "Open WeChat and scan this QR code"},
			Clients:      []string{polypay.ClientDesktop},
			OrderIDParam: "product_id"},
			Extra: []polypay.ExtraParam{
				{Name: "product_id", Required: true, Doc: "the product id in the QR code, 1 to 32 characters"},
				{Name: "limit_pay", Doc: "no_credit: no credit cards"},
				{Name: "goods_tag", Doc: "WeChat Pay's goods_tag (coupons)"},
				{Name: "profit_sharing", Doc: "true: hold the payment's funds for profit sharing (分账: settle_info.profit_sharing); test mode only until an API drives the split"},
			}},
		{Name: ChannelWap, Cashier: &polypay.CashierInfo{Present: polypay.PresentRedirect,
			Label:   polypay.Label{Zh: "微信支付", En: "WeChat Pay"},
			Clients: []string{polypay.ClientMobile}},
			Extra: []polypay.ExtraParam{
				{Name: "goods_tag", Doc: "WeChat Pay's goods_tag (coupons); the charge's client_ip is required"},
				{Name: "profit_sharing", Doc: "true: hold the payment's funds for profit sharing (分账: settle_info.profit_sharing); test mode only until an API drives the split"},
			}},
		{Name: ChannelPub, Cashier: &polypay.CashierInfo{Present: polypay.PresentJSAPI,
			Label:   polypay.Label{Zh: "微信支付", En: "WeChat Pay"},
			Clients: []string{polypay.ClientWeChat}},
			Extra: []polypay.ExtraParam{
				{Name: "open_id", Required: true, Doc: "the payer's openid under the credentials' appid"},
				{Name: "limit_pay", Doc: "no_credit: no credit cards"},
				{Name: "goods_tag", Doc: "WeChat Pay's goods_tag (coupons)"},
				{Name: "profit_sharing", Doc: "true: hold the payment's funds for profit sharing (分账: settle_info.profit_sharing); test mode only until an API drives the split"},
			}},
		{Name: ChannelApp, Extra: []polypay.ExtraParam{
			{Name: "limit_pay", Doc: "no_credit: no credit cards"},
			{Name: "goods_tag", Doc: "WeChat Pay's goods_tag (coupons)"},
			{Name: "profit_sharing", Doc: "true: hold the payment's funds for profit sharing (分账: settle_info.profit_sharing); test mode only until an API drives the split"},
			{Name: "agreement", Doc: "agr_ id of a signed agreement on this channel: a debit without the customer (pay/pappayapply with its contract_id)"},
		}},
		{Name: ChannelLite, Extra: []polypay.ExtraParam{
			{Name: "open_id", Required: true, Doc: "the payer's openid under the mini program's appid"},
			{Name: "limit_pay", Doc: "no_credit: no credit cards"},
			{Name: "goods_tag", Doc: "WeChat Pay's goods_tag (coupons)"},
			{Name: "profit_sharing", Doc: "true: hold the payment's funds for profit sharing (分账: settle_info.profit_sharing); test mode only until an API drives the split"},
		}},
		{Name: ChannelScan, Scan: true, Extra: []polypay.ExtraParam{
			{Name: "scan_code", Required: true, Doc: "the customer's payment code"},
			{Name: "terminal_id", Doc: "the merchant's store or terminal (default polypay)"},
			{Name: "goods_tag", Doc: "WeChat Pay's goods_tag (coupons)"},
		}},
	},
	ChargeExpiry:     2 * time.Hour,
	StatementZone:    polypay.ChinaTime,
	DiscountByFamily: true,
	SandboxWallet:    "/sim/wechatpay/wallet",
	Credentials: []polypay.CredentialField{
		{Name: "mchid", Required: true,
			Hint: polypay.Label{Zh: "微信支付商户号", En: "the WeChat Pay merchant id"}},
		{Name: "appid", Required: true,
			Hint: polypay.Label{Zh: "与商户号绑定的公众号、小程序或 App 的 AppID", En: "the AppID of the official account, mini program or app bound to the merchant"}},
		{Name: "merchant_serial_no", Required: true,
			Hint: polypay.Label{Zh: "商户 API 证书序列号", En: "the serial number of the merchant API certificate"}},
		{Name: "private_key", Secret: true, Required: true,
			Hint: polypay.Label{Zh: "商户 API 私钥（apiclient_key.pem）", En: "the merchant API private key (apiclient_key.pem)"}},
		{Name: "api_v3_key", Secret: true, Required: true,
			Hint: polypay.Label{Zh: "APIv3 密钥（32 字节）", En: "the APIv3 key (32 bytes)"}},
		{Name: "platform_public_key", Required: true,
			Hint: polypay.Label{Zh: "微信支付公钥（PEM）", En: "the WeChat Pay public key (PEM)"}},
		{Name: "platform_public_key_id", Required: true,
			Hint: polypay.Label{Zh: "微信支付公钥 ID（PUB_KEY_ID_…）", En: "the WeChat Pay public key id (PUB_KEY_ID_…)"}},
		{Name: "app_secret", Secret: true,
			Hint: polypay.Label{Zh: "公众号的 AppSecret；收银台在 live 模式下提供 wx_pub 时必填（网页授权取 openid）",
				En: "the official account's AppSecret; the cashier needs it to offer wx_pub in live mode (web OAuth for the openid)"}},
		{Name: "api_v2_key", Secret: true,
			Hint: polypay.Label{Zh: "APIv2 密钥（32 个字符）；发红包（v2 接口）时必填", En: "the APIv2 key (32 characters); red envelopes (v2 API) need it"}},
		{Name: "api_cert",
			Hint: polypay.Label{Zh: "商户 API 证书（apiclient_cert.pem，与 private_key 配对）；发红包时作为 TLS 客户端证书，必填",
				En: "the merchant API certificate (apiclient_cert.pem, of private_key); red envelopes present it as the TLS client certificate"}},
		{Name: "base_url",
			Hint: polypay.Label{Zh: "API 地址，默认 " + DefaultBaseURL, En: "the API URL; default " + DefaultBaseURL}},
	},
}
