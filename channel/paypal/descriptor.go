package paypal

import (
	"time"

	"github.com/polypay/polypay"
)

// Family describes the paypal family to the rest of polypay (see
// polypay.Family); package channel registers it.
var Family = polypay.Family{
	Name:  "paypal",
	Brand: "paypal",
	Channels: []polypay.ChannelInfo{
		{Name: Channel, Cashier: &polypay.CashierInfo{Present: polypay.PresentRedirect,
			Label:           polypay.Label{Zh: "PayPal", En: "PayPal"},
			Clients:         []string{polypay.ClientMobile, polypay.ClientDesktop},
			ReturnURLParams: []string{"return_url"}},
			Extra: []polypay.ExtraParam{
				{Name: "return_url", Doc: "http(s) URL PayPal sends the buyer back to after approving"},
				{Name: "cancel_url", Doc: "http(s) URL for a cancelled approval (default return_url)"},
			}},
	},
	ChargeExpiry:  2 * time.Hour,
	StatementZone: time.UTC,
	Credentials: []polypay.CredentialField{
		{Name: "client_id", Required: true,
			Hint: polypay.Label{Zh: "PayPal REST 应用的 Client ID", En: "the client id of the PayPal REST app"}},
		{Name: "client_secret", Secret: true, Required: true,
			Hint: polypay.Label{Zh: "PayPal REST 应用的 Secret", En: "the secret of the PayPal REST app"}},
		{Name: "merchant_id", Required: true,
			Hint: polypay.Label{Zh: "商户账户的 Payer ID（13 位）", En: "the merchant account's payer id (13 characters)"}},
		{Name: "webhook_id",
			Hint: polypay.Label{Zh: "REST 应用中指向 /notify/paypal/<app>/live 的 webhook 的 ID；live 模式必填",
				En: "the id of the REST app's webhook for /notify/paypal/<app>/live; required in live mode"}},
		{Name: "base_url",
			Hint: polypay.Label{Zh: "API 地址，默认 " + LiveBaseURL + "（PayPal 沙箱为 " + SandboxBaseURL + "）",
				En: "the API URL; default " + LiveBaseURL + " (PayPal's sandbox: " + SandboxBaseURL + ")"}},
	},
}
