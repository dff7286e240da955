package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/channel/credkit"
	"github.com/polypay/polypay/channel/wechatpay"
	"github.com/polypay/polypay/credstore"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/sim/wechatsim"
	"github.com/polypay/polypay/store"
)

type wechatFamily struct {
	sim *wechatsim.Sim
	sb  *Sandbox
}

func newWechatFamily(ctx context.Context, s *Sandbox, db *store.DB, box *seal.Box, client *http.Client) (*wechatFamily, error) {
	key, err := credstore.LoadOrCreateKey(ctx, db, box, "sim.wechatpay.platform_key")
	if err != nil {
		return nil, err
	}
	f := &wechatFamily{sb: s}
	f.sim = wechatsim.New(wechatsim.Options{PrivateKey: key, Merchant: f.merchant, Logger: s.log, Retry: s.scaled(wechatsim.DefaultRetry), FeeRate: FeeRate,
		WalletURL:  s.browserURL(f.path()),
		HTTPClient: client})
	return f, nil
}

func (f *wechatFamily) name() string { return wechatpay.Family.Name }
func (f *wechatFamily) path() string { return "/sim/wechatpay" }

func (f *wechatFamily) credentials() (json.RawMessage, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(9_000_000_000))
	serial := make([]byte, 20)
	rand.Read(serial)
	serial[0] &= 0x7f // a certificate serial is a positive number
	cert, err := sandboxAPICert(k, serial)
	if err != nil {
		return nil, err
	}
	v2 := make([]byte, 32)
	polypay.RandomBase62(v2)
	appid := make([]byte, 8)
	rand.Read(appid)
	v3 := make([]byte, 32)
	polypay.RandomBase62(v3)
	secret := make([]byte, 16)
	rand.Read(secret)
	return json.Marshal(channel.WechatConfig{
		MchID:               fmt.Sprintf("%d", 1_000_000_000+n.Int64()),
		AppID:               "wx" + hex.EncodeToString(appid),
		MerchantSerialNo:    fmt.Sprintf("%X", serial),
		PrivateKey:          string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		APIv3Key:            string(v3),
		PlatformPublicKey:   f.sim.PublicKeyPEM(),
		PlatformPublicKeyID: f.sim.PublicKeyID(),
		AppSecret:           hex.EncodeToString(secret),
		APIv2Key:            string(v2),
		APICert:             cert,
		Sandbox:             true,
	})
}

// sandboxAPICert is the merchant API certificate of a sandbox account: a
// self-signed certificate of its private key whose serial is the
// account's merchant_serial_no, as WeChat issues apiclient_cert.pem (red
// envelopes use it as their TLS client certificate).
func sandboxAPICert(k *rsa.PrivateKey, serial []byte) (string, error) {
	tmpl := &x509.Certificate{SerialNumber: new(big.Int).SetBytes(serial), Subject: pkix.Name{CommonName: "polypay sandbox merchant"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

// merchant tells the simulator a sandbox merchant's keys.
func (f *wechatFamily) merchant(mchid string) (*wechatsim.Merchant, bool) {
	raw, ok := f.sb.sandboxConfig(wechatpay.Family.Name, mchid)
	if !ok {
		return nil, false
	}
	c, err := wechatpay.DecodeCredentials(raw)
	if err != nil {
		return nil, false
	}
	rk, err := credkit.ParsePrivateKey(c.PrivateKey)
	if err != nil {
		return nil, false
	}
	return &wechatsim.Merchant{MchID: c.MchID, AppIDs: []string{c.AppID}, SerialNo: c.MerchantSerialNo,
		PublicKey: &rk.PublicKey, APIv3Key: c.APIv3Key, AppSecret: sandboxAppSecret(c), APIv2Key: c.APIv2Key}, true
}

func (f *wechatFamily) pay(ctx context.Context, merchantID string, c *polypay.Charge, success bool) error {
	if c.Channel == wechatpay.ChannelScan {
		return polypay.ParamError("id", "wx_pub_scan charges are paid with the customer's payment code (extra.scan_code) when created")
	}
	if err := f.sim.Pay(ctx, merchantID, c.ID, success); err != nil {
		return polypay.Errorf(polypay.EChannel, "simulator: %v", err)
	}
	return nil
}

func (f *wechatFamily) handler() http.Handler { return f.sim }

func (f *wechatFamily) close() { f.sim.Close() }

// WechatSim is the built-in WeChat Pay simulator (tests drive it directly).
func (s *Sandbox) WechatSim() *wechatsim.Sim { return s.wechat.sim }

// sandboxAppSecret is a sandbox account's AppSecret; credentials
// provisioned before app_secret existed get one derived from their APIv3
// key, which the simulator and the cashier then agree on.
func sandboxAppSecret(c *channel.WechatConfig) string {
	if c.AppSecret != "" {
		return c.AppSecret
	}
	h := sha256.Sum256([]byte("polypay sandbox app_secret\x00" + c.APIv3Key))
	return hex.EncodeToString(h[:16])
}

// WeChat's official-account web OAuth endpoints.
const (
	WechatOAuthAuthorize   = "https://open.weixin.qq.com/connect/oauth2/authorize"
	WechatOAuthAccessToken = "https://api.weixin.qq.com/sns/oauth2/access_token"
)

// WechatOAuth tells the hosted cashier how to get a wx_pub payer's openid
// for an app and mode (cashier.WechatOAuthFunc): the authorize endpoint
// the browser is sent to, the access_token endpoint the code is exchanged
// at (server side), and the official account's appid and AppSecret. In
// sandbox mode the endpoints are the simulator's, on the public URL.
// EInvalid when the app has no wx credentials in that mode, or live ones
// without app_secret.
func (s *Sandbox) WechatOAuth(ctx context.Context, appID string, live bool) (authorizeBase, tokenBase, appid, secret string, err error) {
	if s.reg == nil {
		return "", "", "", "", polypay.Errorf(polypay.EInternal, "sandbox: no channel registry attached")
	}
	raw, mchid, err := s.reg.Config(ctx, appID, live, wechatpay.Family.Name)
	if err != nil {
		return "", "", "", "", err
	}
	if raw == nil && !live {
		if err := s.reg.Provision(ctx, appID); err != nil {
			return "", "", "", "", err
		}
		if raw, mchid, err = s.reg.Config(ctx, appID, live, wechatpay.Family.Name); err != nil {
			return "", "", "", "", err
		}
	}
	if raw == nil {
		return "", "", "", "", polypay.ParamError("channel", "应用尚未配置渠道 wx 的 live 参数")
	}
	c, err := wechatpay.DecodeCredentials(raw)
	if err != nil {
		return "", "", "", "", err
	}
	if c.Sandbox {
		if live {
			return "", "", "", "", polypay.ParamError("channel", "live wx credentials are sandbox ones")
		}
		base := s.publicURL
		if base == "" {
			base = s.simURL
		}
		sim := base + "/sim/wechatpay/oauth/" + url.PathEscape(mchid)
		// The code exchange is server to server: through simURL.
		return sim + "/authorize", s.simURL + "/sim/wechatpay/oauth/" + url.PathEscape(mchid) + "/access_token",
			c.AppID, sandboxAppSecret(c), nil
	}
	if !live {
		return "", "", "", "", polypay.ParamError("channel", "test mode only uses the simulator for wx")
	}
	if c.AppSecret == "" {
		return "", "", "", "", polypay.ParamError("params[app_secret]", "wx credentials have no app_secret (the official account's AppSecret), which wx_pub in the cashier needs")
	}
	return WechatOAuthAuthorize, WechatOAuthAccessToken, c.AppID, c.AppSecret, nil
}
