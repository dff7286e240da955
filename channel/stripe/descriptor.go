package stripe

import (
	"time"

	"github.com/polypay/polypay"
)

// Family describes the stripe family (cards and Apple Pay through Stripe)
// to the rest of polypay (see polypay.Family); package channel registers
// it.
var Family = polypay.Family{
	Name:  "stripe",
	Brand: "card",
	Channels: []polypay.ChannelInfo{
		{Name: ChannelCard, Card: true, Cashier: &polypay.CashierInfo{Present: polypay.PresentCardForm,
			Label:           polypay.Label{Zh: "银行卡（Visa / Mastercard 等）", En: "Card (Visa, Mastercard, …)"},
			Clients:         []string{polypay.ClientMobile, polypay.ClientDesktop},
			ReturnURLParams: []string{"return_url"}},
			Extra: []polypay.ExtraParam{
				{Name: "source", Required: true, Doc: "a single-use token (tok_…, POST /v1/tokens) or a saved card (card_…, with customer); may be left out when customer or agreement is given"},
				{Name: "customer", Doc: "a customer (cus_…): its default card, or the card named by source"},
				{Name: "three_d_secure", Doc: "required or automatic (default: the app's card settings)"},
				{Name: "return_url", Doc: "http(s) URL the customer returns to after a 3-D Secure challenge"},
				{Name: "agreement", Doc: "agr_ id of a signed card agreement: an off-session payment on the saved card without the cardholder (no 3-D Secure; authentication_required when the issuer insists)"},
			}},
		{Name: ChannelApplePay, Brand: "applepay", Card: true,
			WalletToken: &polypay.WalletToken{Param: "apple_pay_token", Hint: "Apple Pay 的 PKPaymentToken.paymentData"},
			Extra: []polypay.ExtraParam{
				{Name: "apple_pay_token", Required: true, Doc: "the PKPaymentToken's paymentData object (not stored)"},
				{Name: "three_d_secure", Doc: "required or automatic"},
				{Name: "return_url", Doc: "http(s) URL the customer returns to after a 3-D Secure challenge"},
			}},
	},
	ChargeExpiry:  time.Hour,
	StatementZone: time.UTC,
	Credentials: []polypay.CredentialField{
		{Name: "account_id", Required: true,
			Hint: polypay.Label{Zh: "Stripe 账户 ID（acct_…）", En: "the Stripe account id (acct_…)"}},
		{Name: "secret_key", Secret: true, Required: true,
			Hint: polypay.Label{Zh: "密钥（live 用 sk_live_…）", En: "the secret key (sk_live_… for live)"}},
		{Name: "webhook_secret", Secret: true, Required: true,
			Hint: polypay.Label{Zh: "指向 /notify/stripe/<app>/live 的 webhook 端点的签名密钥（whsec_…）",
				En: "the signing secret (whsec_…) of the webhook endpoint for /notify/stripe/<app>/live"}},
		{Name: "base_url",
			Hint: polypay.Label{Zh: "API 地址，默认 " + DefaultBaseURL, En: "the API URL; default " + DefaultBaseURL}},
	},
}
