package channel

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/credkit"
	"github.com/polypay/polypay/sim/alipaysim"
)

// AlipayConfig is the credential set of the alipay family.
type AlipayConfig = alipay.Credentials

type alipayFamily struct {
	sim *alipaysim.Sim
	reg *Registry
}

func newAlipayFamily(ctx context.Context, r *Registry) (*alipayFamily, error) {
	key, err := LoadOrCreateKey(ctx, r.db, r.box, "sim.alipay.platform_key")
	if err != nil {
		return nil, err
	}
	f := &alipayFamily{reg: r}
	f.sim = alipaysim.New(alipaysim.Options{PrivateKey: key, Merchant: f.merchantKey, Logger: r.log, Retry: r.scaled(alipaysim.DefaultRetry), FeeRate: SandboxFeeRate,
		HTTPClient: r.simHTTPClient()})
	return f, nil
}

func (f *alipayFamily) name() string       { return alipay.Family.Name }
func (f *alipayFamily) channels() []string { return alipay.Family.ChannelNames() }

func decodeAlipay(raw json.RawMessage) (*AlipayConfig, error) { return alipay.DecodeCredentials(raw) }

func (f *alipayFamily) connector(ch string, raw json.RawMessage, simURL string) (polypay.Channel, error) {
	c, err := decodeAlipay(raw)
	if err != nil {
		return nil, err
	}
	gw, browser := c.Gateway, ""
	if c.Sandbox {
		gw = simURL + "/sim/alipay/gateway.do"
		browser = f.reg.PublicURL + "/sim/alipay/gateway.do"
	}
	cfg := c.Config()
	cfg.Gateway, cfg.BrowserGateway, cfg.HTTPClient = gw, browser, f.reg.http
	return alipay.New(ch, cfg)
}

func (f *alipayFamily) validate(raw json.RawMessage) (string, error) {
	return alipay.ValidateCredentials(raw)
}

func (f *alipayFamily) redact(raw json.RawMessage) map[string]any {
	return alipay.RedactCredentials(raw)
}

func (f *alipayFamily) sandbox() (json.RawMessage, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000_000_000))
	return json.Marshal(AlipayConfig{
		AppID:           fmt.Sprintf("2021%012d", n),
		PrivateKey:      string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
		AlipayPublicKey: f.sim.PublicKeyPEM(),
		Sandbox:         true,
	})
}

// merchantKey tells the simulator the public key of a sandbox app.
func (f *alipayFamily) merchantKey(appID string) (*rsa.PublicKey, bool) {
	raw, ok := f.reg.sandboxConfig(alipay.Family.Name, appID)
	if !ok {
		return nil, false
	}
	c, err := decodeAlipay(raw)
	if err != nil {
		return nil, false
	}
	k, err := credkit.ParsePrivateKey(c.PrivateKey)
	if err != nil {
		return nil, false
	}
	return &k.PublicKey, true
}

func (f *alipayFamily) pay(ctx context.Context, merchantID string, c *polypay.Charge, success bool) error {
	var err error
	switch c.Channel {
	case alipay.ChannelApp:
		// The app SDK hands the signed order string to Alipay.
		var cred struct {
			OrderInfo string `json:"orderInfo"`
		}
		if err := json.Unmarshal(c.Credential, &cred); err != nil || cred.OrderInfo == "" {
			return polypay.Errorf(polypay.EInvalid, "charge %s has no order string", c.ID)
		}
		err = f.sim.PayOrderString(ctx, cred.OrderInfo, success)
	case alipay.ChannelWap, alipay.ChannelPC:
		// The customer's browser opens the cashier page first (that is
		// when Alipay creates the trade), then pays.
		if err := f.openCashier(ctx, c); err != nil {
			return err
		}
		err = f.sim.Pay(ctx, merchantID, c.ID, success)
	case alipay.ChannelScan:
		return polypay.ParamError("id", "alipay_scan charges are paid with the customer's payment code (extra.scan_code) when created")
	default:
		err = f.sim.Pay(ctx, merchantID, c.ID, success)
	}
	if err != nil {
		return polypay.Errorf(polypay.EChannel, "simulator: %v", err)
	}
	return nil
}

// openCashier does what pingpp-js does with a wap/PC credential: a GET of
// channel_url with every other field as a parameter.
func (f *alipayFamily) openCashier(ctx context.Context, c *polypay.Charge) error {
	var fields map[string]string
	if err := json.Unmarshal(c.Credential, &fields); err != nil {
		return polypay.Errorf(polypay.EInvalid, "charge %s has no form credential", c.ID)
	}
	q := url.Values{}
	for k, v := range fields {
		if k != "channel_url" {
			q.Set(k, v)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.reg.simURL+"/sim/alipay/gateway.do?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	res, err := f.reg.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return polypay.Errorf(polypay.EChannel, "simulator cashier page answered %d", res.StatusCode)
	}
	return nil
}

func (f *alipayFamily) mount(m *http.ServeMux) {
	m.Handle("/sim/alipay/", http.StripPrefix("/sim/alipay", f.sim))
}

func (f *alipayFamily) close() { f.sim.Close() }

// AlipaySim is the built-in Alipay simulator (tests drive it directly).
func (r *Registry) AlipaySim() *alipaysim.Sim { return r.alipay.sim }
