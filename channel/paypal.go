package channel

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/paypal"
	"github.com/polypay/polypay/sim/paypalsim"
)

// PaypalConfig is the credential set of the paypal family: a PayPal REST
// app of the merchant's account.
//
// Live mode: create the webhook in PayPal's developer dashboard (REST app
// -> Webhooks) pointing at https://<polypay>/notify/paypal/<app>/live,
// subscribed to paypal.WebhookEvents, and configure the webhook_id PayPal
// shows; polypay verifies every event with it. In sandbox mode the
// connector registers the webhook itself and webhook_id stays empty.
type PaypalConfig struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// MerchantID is the merchant account's payer id (13 characters).
	MerchantID string `json:"merchant_id"`
	WebhookID  string `json:"webhook_id,omitempty"`
	// BaseURL overrides https://api-m.paypal.com (for example PayPal's own
	// sandbox, https://api-m.sandbox.paypal.com).
	BaseURL string `json:"base_url,omitempty"`
	Sandbox bool   `json:"sandbox,omitempty"`
}

type paypalFamily struct {
	sim *paypalsim.Sim
	reg *Registry
}

func newPaypalFamily(ctx context.Context, r *Registry) (*paypalFamily, error) {
	key, err := LoadOrCreateKey(ctx, r.db, r.box, "sim.paypal.webhook_key")
	if err != nil {
		return nil, err
	}
	f := &paypalFamily{reg: r}
	u := walletURL(r.PublicURL, "/sim/paypal")
	if u == "" {
		u = r.simURL + "/sim/paypal"
	}
	f.sim = paypalsim.New(paypalsim.Options{URL: u, PrivateKey: key, Merchant: f.merchant, Logger: r.log,
		Retry: r.scaled(paypalsim.DefaultRetry), HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	return f, nil
}

func (f *paypalFamily) name() string       { return "paypal" }
func (f *paypalFamily) channels() []string { return []string{paypal.Channel} }

func decodePaypal(raw json.RawMessage) (*PaypalConfig, error) {
	var c PaypalConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, polypay.ParamError("params", "paypal credentials must be a JSON object: %v", err)
	}
	return &c, nil
}

func (f *paypalFamily) connector(_ string, raw json.RawMessage, simURL string) (polypay.Channel, error) {
	c, err := decodePaypal(raw)
	if err != nil {
		return nil, err
	}
	base := c.BaseURL
	if c.Sandbox {
		base = simURL + "/sim/paypal"
	}
	return paypal.New(paypal.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, MerchantID: c.MerchantID,
		WebhookID: c.WebhookID, BaseURL: base, Sandbox: c.Sandbox, HTTPClient: f.reg.http})
}

var (
	// PayPal client ids and secrets are 80-character URL-safe strings;
	// accept a range around that rather than one length.
	paypalCredShape = regexp.MustCompile(`^[A-Za-z0-9_-]{20,128}$`)
	paypalPayerID   = regexp.MustCompile(`^[A-Z0-9]{13}$`)
	paypalWebhookID = regexp.MustCompile(`^[A-Z0-9-]{10,64}$`)
)

// validate checks the credentials' shapes. No token is fetched: in the
// sandbox the simulator may not know the app yet, and live credentials
// are checked on first use (an authentication failure is a channel error).
func (f *paypalFamily) validate(raw json.RawMessage) (string, error) {
	c, err := decodePaypal(raw)
	if err != nil {
		return "", err
	}
	for name, v := range map[string]string{"client_id": c.ClientID, "client_secret": c.ClientSecret, "merchant_id": c.MerchantID} {
		if v == "" {
			return "", polypay.ParamError("params["+name+"]", "缺少参数: %s", name)
		}
	}
	if !paypalCredShape.MatchString(c.ClientID) {
		return "", polypay.ParamError("params[client_id]", "client_id is not a PayPal REST app client id")
	}
	if !paypalCredShape.MatchString(c.ClientSecret) {
		return "", polypay.ParamError("params[client_secret]", "client_secret is not a PayPal REST app secret")
	}
	if !paypalPayerID.MatchString(c.MerchantID) {
		return "", polypay.ParamError("params[merchant_id]", "merchant_id must be the account's 13-character payer id")
	}
	if !c.Sandbox {
		if c.WebhookID == "" {
			return "", polypay.ParamError("params[webhook_id]", "缺少参数: webhook_id (register https://<polypay>/notify/paypal/<app>/live as a webhook of the REST app)")
		}
		if !paypalWebhookID.MatchString(c.WebhookID) {
			return "", polypay.ParamError("params[webhook_id]", "webhook_id is not a PayPal webhook id")
		}
	}
	return c.MerchantID, nil
}

func (f *paypalFamily) redact(raw json.RawMessage) map[string]any {
	c, err := decodePaypal(raw)
	if err != nil {
		return map[string]any{}
	}
	return map[string]any{"client_id": c.ClientID, "client_secret": fingerprint(c.ClientSecret), "merchant_id": c.MerchantID,
		"webhook_id": c.WebhookID, "base_url": c.BaseURL, "sandbox": c.Sandbox}
}

const payerIDAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func randomFrom(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// sandbox makes a sandbox REST app. Its client id embeds the merchant's
// payer id ("A" + payer id + "_" + random), so that the simulator can find
// the app's credentials from the client id alone.
func (f *paypalFamily) sandbox() (json.RawMessage, error) {
	const urlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	mid := randomFrom(payerIDAlphabet, 13)
	return json.Marshal(PaypalConfig{ClientID: "A" + mid + "_" + randomFrom(urlSafe, 65),
		ClientSecret: "E" + randomFrom(urlSafe, 79), MerchantID: mid, Sandbox: true})
}

// merchant tells the simulator a sandbox REST app's credentials.
func (f *paypalFamily) merchant(clientID string) (*paypalsim.Merchant, bool) {
	if len(clientID) < 15 || clientID[0] != 'A' || clientID[14] != '_' {
		return nil, false
	}
	raw, ok := f.reg.sandboxConfig("paypal", clientID[1:14])
	if !ok {
		return nil, false
	}
	c, err := decodePaypal(raw)
	if err != nil || c.ClientID != clientID {
		return nil, false
	}
	return &paypalsim.Merchant{ClientID: c.ClientID, Secret: c.ClientSecret, MerchantID: c.MerchantID,
		Email: "sb-" + c.MerchantID + "@business.example.com"}, true
}

func (f *paypalFamily) pay(ctx context.Context, merchantID string, c *polypay.Charge, success bool) error {
	if err := f.sim.Pay(ctx, merchantID, c.ID, success); err != nil {
		return polypay.Errorf(polypay.EChannel, "simulator: %v", err)
	}
	return nil
}

func (f *paypalFamily) mount(m *http.ServeMux) {
	m.Handle("/sim/paypal/", http.StripPrefix("/sim/paypal", f.sim))
}

func (f *paypalFamily) close() { f.sim.Close() }

// PaypalSim is the built-in PayPal simulator (tests drive it directly).
func (r *Registry) PaypalSim() *paypalsim.Sim { return r.paypal.sim }

// probeCharge makes the health probe ask PayPal for an order that does not
// exist (GET /v2/checkout/orders/{id} answers 404), instead of answering
// "no trade" without a call for want of an order id.
func (f *paypalFamily) probeCharge(c *polypay.Charge) {
	c.Credential, _ = json.Marshal("https://www.paypal.com/checkoutnow?token=PROBE" + strings.ToUpper(c.ID[3:]))
}
