package unionpay

import (
	"time"

	"github.com/polypay/polypay"
)

// Family describes the upacp (UnionPay online gateway) family to the rest
// of polypay (see polypay.Family); package channel registers it.
var Family = polypay.Family{
	Name:    "upacp",
	Brand:   "unionpay",
	Aliases: []string{"unionpay"},
	// ChannelApp first: the account's probe and statement channel. The
	// cashier lists PC before wap.
	Channels: []polypay.ChannelInfo{
		{Name: ChannelApp},
		{Name: ChannelPC, Cashier: &polypay.CashierInfo{Present: polypay.PresentForm,
			Label:           polypay.Label{Zh: "银联在线支付", En: "UnionPay online"},
			Clients:         []string{polypay.ClientDesktop},
			ReturnURLParams: []string{"result_url"},
			FormURL:         FrontURL},
			Extra: []polypay.ExtraParam{
				{Name: "result_url", Required: true, Doc: "http(s) URL the customer returns to (UnionPay's frontUrl)"},
			}},
		{Name: ChannelWap, Cashier: &polypay.CashierInfo{Present: polypay.PresentForm,
			Label:           polypay.Label{Zh: "银联支付", En: "UnionPay"},
			Clients:         []string{polypay.ClientMobile, polypay.ClientUnionPay},
			ReturnURLParams: []string{"result_url"},
			FormURL:         FrontURL},
			Extra: []polypay.ExtraParam{
				{Name: "result_url", Required: true, Doc: "http(s) URL the customer returns to (UnionPay's frontUrl)"},
			}},
		{Name: ChannelApplePay, Brand: "applepay"},
		{Name: ChannelScan, Scan: true, Extra: []polypay.ExtraParam{
			{Name: "scan_code", Required: true, Doc: "the customer's UnionPay payment code (19 digits from 62)"},
			{Name: "terminal_id", Required: true, Doc: "the counter's terminal id, up to 32 characters (sent as UnionPay's termId when it is 8 letters or digits at most)"},
		}},
	},
	ChargeExpiry:     24 * time.Hour,
	StatementZone:    polypay.ChinaTime,
	StatementPayouts: true, // the account log / settlement file lists payouts
	OrderNo:          polypay.OrderNoRule{Min: 8, Max: 40},
	Credentials: []polypay.CredentialField{
		{Name: "mer_id", Required: true,
			Hint: polypay.Label{Zh: "银联商户号（15 位）", En: "the UnionPay merchant id (15 characters)"}},
		{Name: "private_key", Secret: true, Required: true,
			Hint: polypay.Label{Zh: "商户签名私钥（PEM）", En: "the merchant signing key (PEM)"}},
		{Name: "sign_cert", Required: true,
			Hint: polypay.Label{Zh: "商户签名证书（PEM），其序列号即 certId", En: "the merchant signing certificate (PEM); its serial is the certId"}},
		{Name: "root_cert", Required: true,
			Hint: polypay.Label{Zh: "银联根证书（PEM）", En: "UnionPay's root certificate (PEM)"}},
		{Name: "middle_cert",
			Hint: polypay.Label{Zh: "银联中级证书（PEM）", En: "UnionPay's middle certificate (PEM)"}},
		{Name: "encrypt_cert",
			Hint: polypay.Label{Zh: "银联敏感信息加密证书（PEM），代付时加密卡号；测试环境可不填", En: "UnionPay's encryption certificate (PEM), which encrypts card numbers of payouts; optional in the test environment"}},
		{Name: "apple_merchant_id",
			Hint: polypay.Label{Zh: "Apple Pay 商户 ID（applepay_upacp 用）", En: "the Apple Pay merchant id (for applepay_upacp)"}},
		{Name: "base_url",
			Hint: polypay.Label{Zh: "网关地址，默认 " + DefaultBaseURL, En: "the gateway URL; default " + DefaultBaseURL}},
		{Name: "file_url",
			Hint: polypay.Label{Zh: "对账文件下载地址，默认 " + DefaultFileURL, En: "the statement download URL; default " + DefaultFileURL}},
	},
}
