package channel

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/paypal"
	"github.com/polypay/polypay/sim/paypalsim"
)

// PaypalConfig is the credential set of the paypal family: a PayPal REST
// app of the merchant's account.
type PaypalConfig = paypal.Credentials

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

func (f *paypalFamily) name() string       { return paypal.Family.Name }
func (f *paypalFamily) channels() []string { return paypal.Family.ChannelNames() }

func decodePaypal(raw json.RawMessage) (*PaypalConfig, error) { return paypal.DecodeCredentials(raw) }

func (f *paypalFamily) connector(_ string, raw json.RawMessage, simURL string) (polypay.Channel, error) {
	c, err := decodePaypal(raw)
	if err != nil {
		return nil, err
	}
	base := c.BaseURL
	if c.Sandbox {
		base = simURL + "/sim/paypal"
	}
	cfg := c.Config()
	cfg.BaseURL, cfg.HTTPClient = base, f.reg.http
	return paypal.New(cfg)
}

func (f *paypalFamily) validate(raw json.RawMessage) (string, error) {
	return paypal.ValidateCredentials(raw)
}

func (f *paypalFamily) redact(raw json.RawMessage) map[string]any {
	return paypal.RedactCredentials(raw)
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
	raw, ok := f.reg.sandboxConfig(paypal.Family.Name, clientID[1:14])
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
