package sandbox

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
	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/credkit"
	"github.com/polypay/polypay/credstore"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/sim/alipaysim"
	"github.com/polypay/polypay/store"
)

type alipayFamily struct {
	sim *alipaysim.Sim
	sb  *Sandbox
}

func newAlipayFamily(ctx context.Context, s *Sandbox, db *store.DB, box *seal.Box, client *http.Client) (*alipayFamily, error) {
	key, err := credstore.LoadOrCreateKey(ctx, db, box, "sim.alipay.platform_key")
	if err != nil {
		return nil, err
	}
	f := &alipayFamily{sb: s}
	f.sim = alipaysim.New(alipaysim.Options{PrivateKey: key, Merchant: f.merchantKey, Logger: s.log, Retry: s.scaled(alipaysim.DefaultRetry), FeeRate: FeeRate,
		HTTPClient: client})
	return f, nil
}

func (f *alipayFamily) name() string { return alipay.Family.Name }
func (f *alipayFamily) path() string { return "/sim/alipay" }

func (f *alipayFamily) credentials() (json.RawMessage, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000_000_000))
	return json.Marshal(channel.AlipayConfig{
		AppID:           fmt.Sprintf("2021%012d", n),
		PrivateKey:      string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
		AlipayPublicKey: f.sim.PublicKeyPEM(),
		Sandbox:         true,
	})
}

// merchantKey tells the simulator the public key of a sandbox app.
func (f *alipayFamily) merchantKey(appID string) (*rsa.PublicKey, bool) {
	raw, ok := f.sb.sandboxConfig(alipay.Family.Name, appID)
	if !ok {
		return nil, false
	}
	c, err := alipay.DecodeCredentials(raw)
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.sb.simURL+f.path()+"/gateway.do?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	res, err := f.sb.httpClient().Do(req)
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

func (f *alipayFamily) handler() http.Handler { return f.sim }

func (f *alipayFamily) close() { f.sim.Close() }

// AlipaySim is the built-in Alipay simulator (tests drive it directly).
func (s *Sandbox) AlipaySim() *alipaysim.Sim { return s.alipay.sim }
