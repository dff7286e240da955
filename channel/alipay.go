package channel

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/sim/alipaysim"
)

// AlipayConfig is the credential set of the alipay family.
type AlipayConfig struct {
	AppID           string `json:"app_id"`
	PrivateKey      string `json:"private_key"`
	AlipayPublicKey string `json:"alipay_public_key"`
	Gateway         string `json:"gateway,omitempty"`
	// Certificate mode (公钥证书模式): set all three instead of
	// alipay_public_key.
	AppCert        string `json:"app_cert,omitempty"`
	AlipayCert     string `json:"alipay_cert,omitempty"`
	AlipayRootCert string `json:"alipay_root_cert,omitempty"`
	// Sandbox credentials talk to the built-in simulator at the server's
	// current address, wherever it listens today.
	Sandbox bool `json:"sandbox,omitempty"`
}

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

func (f *alipayFamily) name() string { return "alipay" }

func (f *alipayFamily) channels() []string {
	return []string{alipay.ChannelQR, alipay.ChannelApp, alipay.ChannelWap, alipay.ChannelPC, alipay.ChannelScan, alipay.ChannelLite}
}

func decodeAlipay(raw json.RawMessage) (*AlipayConfig, error) {
	var c AlipayConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, polypay.ParamError("params", "alipay credentials must be a JSON object: %v", err)
	}
	return &c, nil
}

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
	return alipay.New(ch, alipay.Config{AppID: c.AppID, PrivateKeyPEM: c.PrivateKey,
		AlipayPublicKeyPEM: c.AlipayPublicKey, AppCertPEM: c.AppCert, AlipayCertPEM: c.AlipayCert,
		AlipayRootCertPEM: c.AlipayRootCert, Gateway: gw, BrowserGateway: browser, HTTPClient: f.reg.http})
}

func (f *alipayFamily) validate(raw json.RawMessage) (string, error) {
	c, err := decodeAlipay(raw)
	if err != nil {
		return "", err
	}
	required := map[string]string{"app_id": c.AppID, "private_key": c.PrivateKey}
	if c.AppCert != "" || c.AlipayCert != "" || c.AlipayRootCert != "" {
		required["app_cert"], required["alipay_cert"], required["alipay_root_cert"] = c.AppCert, c.AlipayCert, c.AlipayRootCert
	} else {
		required["alipay_public_key"] = c.AlipayPublicKey
	}
	for name, v := range required {
		if v == "" {
			return "", polypay.ParamError("params["+name+"]", "缺少参数: %s", name)
		}
	}
	if !c.Sandbox && c.Gateway == "" {
		c.Gateway = alipay.DefaultGateway
	}
	if _, err := alipay.New("alipay_qr", alipay.Config{AppID: c.AppID, PrivateKeyPEM: c.PrivateKey,
		AlipayPublicKeyPEM: c.AlipayPublicKey, AppCertPEM: c.AppCert, AlipayCertPEM: c.AlipayCert,
		AlipayRootCertPEM: c.AlipayRootCert, Gateway: "http://127.0.0.1/"}); err != nil {
		return "", polypay.ParamError("params", "支付宝参数无效: %v", err)
	}
	if err := canSign(c.PrivateKey); err != nil {
		return "", polypay.ParamError("params[private_key]", "private_key cannot sign: %v", err)
	}
	return c.AppID, nil
}

// parsePrivateKey reads an RSA private key in PKCS#1 or PKCS#8 PEM.
func parsePrivateKey(p string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, fmt.Errorf("not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	any, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("unreadable key: %v", err)
	}
	k, ok := any.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA key")
	}
	return k, nil
}

// canSign proves a PEM private key works by signing with it.
func canSign(p string) error {
	k, err := parsePrivateKey(p)
	if err != nil {
		return err
	}
	if k.N.BitLen() < 2048 {
		return fmt.Errorf("RSA key of %d bits; 2048 or more required", k.N.BitLen())
	}
	sum := sha256.Sum256([]byte("polypay"))
	_, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	return err
}

func fingerprint(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return "redacted sha256:" + hex.EncodeToString(h[:8])
}

func (f *alipayFamily) redact(raw json.RawMessage) map[string]any {
	c, err := decodeAlipay(raw)
	if err != nil {
		return map[string]any{}
	}
	return map[string]any{"app_id": c.AppID, "private_key": fingerprint(c.PrivateKey),
		"alipay_public_key": c.AlipayPublicKey, "app_cert": c.AppCert, "alipay_cert": c.AlipayCert,
		"alipay_root_cert": c.AlipayRootCert, "gateway": c.Gateway, "sandbox": c.Sandbox}
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
	raw, ok := f.reg.sandboxConfig("alipay", appID)
	if !ok {
		return nil, false
	}
	c, err := decodeAlipay(raw)
	if err != nil {
		return nil, false
	}
	k, err := parsePrivateKey(c.PrivateKey)
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
