package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/channel/paypal"
	"github.com/polypay/polypay/credstore"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/sim/paypalsim"
	"github.com/polypay/polypay/store"
)

type paypalFamily struct {
	sim *paypalsim.Sim
	sb  *Sandbox
}

func newPaypalFamily(ctx context.Context, s *Sandbox, db *store.DB, box *seal.Box, client *http.Client) (*paypalFamily, error) {
	key, err := credstore.LoadOrCreateKey(ctx, db, box, "sim.paypal.webhook_key")
	if err != nil {
		return nil, err
	}
	f := &paypalFamily{sb: s}
	u := s.browserURL(f.path())
	if u == "" {
		u = s.simURL + f.path()
	}
	f.sim = paypalsim.New(paypalsim.Options{URL: u, PrivateKey: key, Merchant: f.merchant, Logger: s.log,
		Retry: s.scaled(paypalsim.DefaultRetry), HTTPClient: client})
	return f, nil
}

func (f *paypalFamily) name() string { return paypal.Family.Name }
func (f *paypalFamily) path() string { return "/sim/paypal" }

const payerIDAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func randomFrom(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// credentials makes a sandbox REST app. Its client id embeds the
// merchant's payer id ("A" + payer id + "_" + random), so that the
// simulator can find the app's credentials from the client id alone.
func (f *paypalFamily) credentials() (json.RawMessage, error) {
	const urlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	mid := randomFrom(payerIDAlphabet, 13)
	return json.Marshal(channel.PaypalConfig{ClientID: "A" + mid + "_" + randomFrom(urlSafe, 65),
		ClientSecret: "E" + randomFrom(urlSafe, 79), MerchantID: mid, Sandbox: true})
}

// merchant tells the simulator a sandbox REST app's credentials.
func (f *paypalFamily) merchant(clientID string) (*paypalsim.Merchant, bool) {
	if len(clientID) < 15 || clientID[0] != 'A' || clientID[14] != '_' {
		return nil, false
	}
	raw, ok := f.sb.sandboxConfig(paypal.Family.Name, clientID[1:14])
	if !ok {
		return nil, false
	}
	c, err := paypal.DecodeCredentials(raw)
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

func (f *paypalFamily) handler() http.Handler { return f.sim }

func (f *paypalFamily) close() { f.sim.Close() }

// PaypalSim is the built-in PayPal simulator (tests drive it directly).
func (s *Sandbox) PaypalSim() *paypalsim.Sim { return s.paypal.sim }
