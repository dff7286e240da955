package alipay

import (
	"time"

	"github.com/polypay/polypay"
)

// Family describes the alipay family to the rest of polypay (see
// polypay.Family); package channel registers it.
var Family = polypay.Family{
	Name: "alipay",
	// ChannelQR first: the account's probe and statement channel. The
	// cashier lists PC before wap.
	Channels: []polypay.ChannelInfo{
		{Name: ChannelQR, QR: true, Cashier: &polypay.CashierInfo{Present: polypay.PresentQR,
			Label:   polypay.Label{Zh: "支付宝扫码支付", En: "Alipay: scan a QR code"},
			Prompt:  polypay.Label{Zh: "请打开支付宝，扫一扫下面的二维码", En: "Open Alipay and scan this QR code"},
			Clients: []string{polypay.ClientDesktop}}},
		{Name: ChannelPC, Cashier: &polypay.CashierInfo{Present: polypay.PresentRedirect,
			Label:           polypay.Label{Zh: "支付宝网页支付", En: "Alipay web checkout"},
			Clients:         []string{polypay.ClientDesktop},
			ReturnURLParams: []string{"success_url"}}},
		{Name: ChannelWap, Cashier: &polypay.CashierInfo{Present: polypay.PresentRedirect,
			Label:           polypay.Label{Zh: "支付宝", En: "Alipay"},
			Clients:         []string{polypay.ClientAlipay, polypay.ClientMobile},
			ReturnURLParams: []string{"success_url", "cancel_url"}}},
		{Name: ChannelApp},
		{Name: ChannelScan, Scan: true},
		{Name: ChannelLite},
	},
	ChargeExpiry:     24 * time.Hour,
	StatementZone:    polypay.ChinaTime,
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
