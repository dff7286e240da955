package alipay

import (
	"time"

	"github.com/polypay/polypay"
)

// Family describes the alipay family to the rest of polypay (see
// polypay.Family); package channel registers it.
var Family = polypay.Family{
	Name:  "alipay",
	Brand: "alipay",
	// ChannelQR first: the account's probe and statement channel. The
	// cashier lists PC before wap.
	Channels: []polypay.ChannelInfo{
		{Name: ChannelQR, QR: true, Cashier: &polypay.CashierInfo{Present: polypay.PresentQR,
			Label:   polypay.Label{Zh: "支付宝扫码支付", En: "Alipay: scan a QR code"},
			Prompt:  polypay.Label{Zh: "请打开支付宝，扫一扫下面的二维码", En: "Open Alipay and scan this QR code"},
			Clients: []string{polypay.ClientDesktop}},
			Extra: []polypay.ExtraParam{
				{Name: "profit_sharing", Doc: "true: freeze the payment's funds for settle-on-trade (分账: extend_params.royalty_freeze); test mode only until an API drives the split"},
			}},
		{Name: ChannelPC, Cashier: &polypay.CashierInfo{Present: polypay.PresentRedirect,
			Label:           polypay.Label{Zh: "支付宝网页支付", En: "Alipay web checkout"},
			Clients:         []string{polypay.ClientDesktop},
			ReturnURLParams: []string{"success_url"}},
			Extra: []polypay.ExtraParam{
				{Name: "success_url", Required: true, Doc: "http(s) URL the buyer returns to after paying"},
				{Name: "qr_pay_mode", Doc: "Alipay's qr_pay_mode, 0 to 4"},
				{Name: "qrcode_width", Doc: "QR code width in pixels (with qr_pay_mode 4)"},
				{Name: "enable_anti_phishing_key", Doc: "boolean; checked, not used (legacy service)"},
				{Name: "exter_invoke_ip", Doc: "string; checked, not used (legacy service)"},
			}},
		{Name: ChannelWap, Cashier: &polypay.CashierInfo{Present: polypay.PresentRedirect,
			Label:           polypay.Label{Zh: "支付宝", En: "Alipay"},
			Clients:         []string{polypay.ClientAlipay, polypay.ClientMobile},
			ReturnURLParams: []string{"success_url", "cancel_url"}},
			Extra: []polypay.ExtraParam{
				{Name: "success_url", Required: true, Doc: "http(s) URL the buyer returns to after paying"},
				{Name: "cancel_url", Doc: "http(s) URL the buyer goes to on leaving (Alipay's quit_url)"},
				{Name: "app_pay", Doc: "boolean: pay in the Alipay app (cancel_url is then not used)"},
				{Name: "new_version", Doc: "boolean; checked, not used"},
			}},
		{Name: ChannelApp, Extra: []polypay.ExtraParam{
			{Name: "extern_token", Doc: "string; checked, not forwarded (legacy service)"},
			{Name: "rn_check", Doc: "T or F; checked, not forwarded (legacy service)"},
			{Name: "agreement", Doc: "agr_ id of a signed agreement on this channel: a debit without the customer (alipay.trade.pay with agreement_params), paid at once"},
		}},
		{Name: ChannelScan, Scan: true, Extra: []polypay.ExtraParam{
			{Name: "scan_code", Required: true, Doc: "the customer's payment code, up to 32 characters"},
			{Name: "terminal_id", Required: true, Doc: "the merchant's terminal, up to 32 characters"},
			{Name: "operator_id", Doc: "the cashier operator"},
			{Name: "store_id", Doc: "the merchant's store"},
			{Name: "sys_service_provider_id", Doc: "the service provider's PID"},
			{Name: "goods_list", Doc: "[{goods_id, goods_name, quantity, price (fen), goods_category, body, show_url}]"},
		}},
		{Name: ChannelLite, Extra: []polypay.ExtraParam{
			{Name: "buyer_id", Required: true, Doc: "the payer's Alipay user id, up to 64 characters"},
		}},
	},
	ChargeExpiry:     24 * time.Hour,
	StatementZone:    polypay.ChinaTime,
	StatementPayouts: true, // the account log / settlement file lists payouts
	OrderNo:          polypay.OrderNoRule{Min: 1, Max: 64},
	DiscountByFamily: true,
	SandboxWallet:    "/sim/alipay/wallet",
	Credentials: []polypay.CredentialField{
		{Name: "app_id", Required: true,
			Hint: polypay.Label{Zh: "支付宝开放平台应用的 APPID", En: "the APPID of the app on Alipay's open platform"}},
		{Name: "private_key", Secret: true, Required: true,
			Hint: polypay.Label{Zh: "应用私钥（RSA2，PEM，PKCS#1 或 PKCS#8）", En: "the app's private key (RSA2, PEM, PKCS#1 or PKCS#8)"}},
		{Name: "alipay_public_key",
			Hint: polypay.Label{Zh: "支付宝公钥（PEM）；公钥模式必填", En: "Alipay's public key (PEM); required in public-key mode"}},
		{Name: "app_cert",
			Hint: polypay.Label{Zh: "应用公钥证书（PEM）；证书模式下与 alipay_cert、alipay_root_cert 一同填写，代替 alipay_public_key",
				En: "the app's public key certificate (PEM); certificate mode sets it with alipay_cert and alipay_root_cert instead of alipay_public_key"}},
		{Name: "alipay_cert",
			Hint: polypay.Label{Zh: "支付宝公钥证书（PEM）；证书模式", En: "Alipay's public key certificate (PEM); certificate mode"}},
		{Name: "alipay_root_cert",
			Hint: polypay.Label{Zh: "支付宝根证书（PEM）；证书模式", En: "Alipay's root certificate (PEM); certificate mode"}},
		{Name: "gateway",
			Hint: polypay.Label{Zh: "网关地址，默认 " + DefaultGateway, En: "the gateway URL; default " + DefaultGateway}},
	},
}
