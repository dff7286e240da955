package channel

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/wechatpay"
	"github.com/polypay/polypay/sim/wechatsim"
)

// WechatConfig is the credential set of the wx (WeChat Pay API v3) family.
type WechatConfig struct {
	MchID               string `json:"mchid"`
	AppID               string `json:"appid"`
	MerchantSerialNo    string `json:"merchant_serial_no"`
	PrivateKey          string `json:"private_key"`
	APIv3Key            string `json:"api_v3_key"`
	PlatformPublicKey   string `json:"platform_public_key"`
	PlatformPublicKeyID string `json:"platform_public_key_id"`
	// AppSecret is the official account's AppSecret, for the web OAuth that
	// gives the hosted cashier's wx_pub its payer's openid. Optional, but
	// the cashier cannot offer wx_pub in live mode without it.
	AppSecret string `json:"app_secret,omitempty"`
	BaseURL   string `json:"base_url,omitempty"`
	Sandbox   bool   `json:"sandbox,omitempty"`
}

type wechatFamily struct {
	sim *wechatsim.Sim
	reg *Registry
}

func newWechatFamily(ctx context.Context, r *Registry) (*wechatFamily, error) {
	key, err := LoadOrCreateKey(ctx, r.db, r.box, "sim.wechatpay.platform_key")
	if err != nil {
		return nil, err
	}
	f := &wechatFamily{reg: r}
	f.sim = wechatsim.New(wechatsim.Options{PrivateKey: key, Merchant: f.merchant, Logger: r.log, Retry: r.scaled(wechatsim.DefaultRetry), FeeRate: SandboxFeeRate,
		WalletURL:  walletURL(r.PublicURL, "/sim/wechatpay"),
		HTTPClient: r.simHTTPClient()})
	return f, nil
}

func (f *wechatFamily) name() string { return "wx" }

func (f *wechatFamily) channels() []string {
	return []string{wechatpay.ChannelQR, wechatpay.ChannelApp, wechatpay.ChannelPub, wechatpay.ChannelLite, wechatpay.ChannelWap, wechatpay.ChannelScan}
}

func decodeWechat(raw json.RawMessage) (*WechatConfig, error) {
	var c WechatConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, polypay.ParamError("params", "wx credentials must be a JSON object: %v", err)
	}
	return &c, nil
}

func (f *wechatFamily) config(c *WechatConfig, simURL string) wechatpay.Config {
	base := c.BaseURL
	if c.Sandbox {
		base = simURL + "/sim/wechatpay"
	}
	return wechatpay.Config{MchID: c.MchID, AppID: c.AppID, MerchantSerialNo: c.MerchantSerialNo,
		PrivateKeyPEM: c.PrivateKey, APIv3Key: c.APIv3Key, PlatformPublicKeyPEM: c.PlatformPublicKey,
		PlatformPublicKeyID: c.PlatformPublicKeyID, BaseURL: base, HTTPClient: f.reg.http}
}

func (f *wechatFamily) connector(ch string, raw json.RawMessage, simURL string) (polypay.Channel, error) {
	c, err := decodeWechat(raw)
	if err != nil {
		return nil, err
	}
	return wechatpay.New(ch, f.config(c, simURL))
}

func (f *wechatFamily) validate(raw json.RawMessage) (string, error) {
	c, err := decodeWechat(raw)
	if err != nil {
		return "", err
	}
	for name, v := range map[string]string{"mchid": c.MchID, "appid": c.AppID, "merchant_serial_no": c.MerchantSerialNo,
		"private_key": c.PrivateKey, "api_v3_key": c.APIv3Key, "platform_public_key": c.PlatformPublicKey,
		"platform_public_key_id": c.PlatformPublicKeyID} {
		if v == "" {
			return "", polypay.ParamError("params["+name+"]", "缺少参数: %s", name)
		}
	}
	if _, err := wechatpay.New(wechatpay.ChannelQR, f.config(c, "http://127.0.0.1")); err != nil {
		return "", polypay.ParamError("params", "微信支付参数无效: %v", err)
	}
	if err := canSign(c.PrivateKey); err != nil {
		return "", polypay.ParamError("params[private_key]", "private_key cannot sign: %v", err)
	}
	return c.MchID, nil
}

func (f *wechatFamily) redact(raw json.RawMessage) map[string]any {
	c, err := decodeWechat(raw)
	if err != nil {
		return map[string]any{}
	}
	return map[string]any{"mchid": c.MchID, "appid": c.AppID, "merchant_serial_no": c.MerchantSerialNo,
		"private_key": fingerprint(c.PrivateKey), "api_v3_key": fingerprint(c.APIv3Key),
		"platform_public_key": c.PlatformPublicKey, "platform_public_key_id": c.PlatformPublicKeyID,
		"app_secret": redactOptional(c.AppSecret), "base_url": c.BaseURL, "sandbox": c.Sandbox}
}

func (f *wechatFamily) sandbox() (json.RawMessage, error) {
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
	appid := make([]byte, 8)
	rand.Read(appid)
	v3 := make([]byte, 32)
	polypay.RandomBase62(v3)
	secret := make([]byte, 16)
	rand.Read(secret)
	return json.Marshal(WechatConfig{
		MchID:               fmt.Sprintf("%d", 1_000_000_000+n.Int64()),
		AppID:               "wx" + hex.EncodeToString(appid),
		MerchantSerialNo:    fmt.Sprintf("%X", serial),
		PrivateKey:          string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		APIv3Key:            string(v3),
		PlatformPublicKey:   f.sim.PublicKeyPEM(),
		PlatformPublicKeyID: f.sim.PublicKeyID(),
		AppSecret:           hex.EncodeToString(secret),
		Sandbox:             true,
	})
}

// merchant tells the simulator a sandbox merchant's keys.
func (f *wechatFamily) merchant(mchid string) (*wechatsim.Merchant, bool) {
	raw, ok := f.reg.sandboxConfig("wx", mchid)
	if !ok {
		return nil, false
	}
	c, err := decodeWechat(raw)
	if err != nil {
		return nil, false
	}
	rk, err := parsePrivateKey(c.PrivateKey)
	if err != nil {
		return nil, false
	}
	return &wechatsim.Merchant{MchID: c.MchID, AppIDs: []string{c.AppID}, SerialNo: c.MerchantSerialNo,
		PublicKey: &rk.PublicKey, APIv3Key: c.APIv3Key, AppSecret: sandboxAppSecret(c)}, true
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

func (f *wechatFamily) mount(m *http.ServeMux) {
	m.Handle("/sim/wechatpay/", http.StripPrefix("/sim/wechatpay", f.sim))
}

func (f *wechatFamily) close() { f.sim.Close() }

// WechatSim is the built-in WeChat Pay simulator (tests drive it directly).
func (r *Registry) WechatSim() *wechatsim.Sim { return r.wechat.sim }

func walletURL(public, path string) string {
	if public == "" {
		return ""
	}
	return public + path
}

func redactOptional(secret string) string {
	if secret == "" {
		return ""
	}
	return fingerprint(secret)
}

// sandboxAppSecret is a sandbox account's AppSecret; credentials
// provisioned before app_secret existed get one derived from their APIv3
// key, which the simulator and the cashier then agree on.
func sandboxAppSecret(c *WechatConfig) string {
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
// for an app and mode: the authorize endpoint the browser is sent to, the
// access_token endpoint the code is exchanged at (server side), and the
// official account's appid and AppSecret. In sandbox mode the endpoints are
// the simulator's, on PublicURL. EInvalid when the app has no wx
// credentials in that mode, or live ones without app_secret.
func (r *Registry) WechatOAuth(ctx context.Context, appID string, live bool) (authorizeBase, tokenBase, appid, secret string, err error) {
	raw, mchid, err := r.config(ctx, appID, live, "wx")
	if err != nil {
		return "", "", "", "", err
	}
	if raw == nil && !live {
		if err := r.Provision(ctx, appID); err != nil {
			return "", "", "", "", err
		}
		if raw, mchid, err = r.config(ctx, appID, live, "wx"); err != nil {
			return "", "", "", "", err
		}
	}
	if raw == nil {
		return "", "", "", "", polypay.ParamError("channel", "应用尚未配置渠道 wx 的 live 参数")
	}
	c, err := decodeWechat(raw)
	if err != nil {
		return "", "", "", "", err
	}
	if c.Sandbox {
		if live {
			return "", "", "", "", polypay.ParamError("channel", "live wx credentials are sandbox ones")
		}
		base := r.PublicURL
		if base == "" {
			base = r.simURL
		}
		sim := base + "/sim/wechatpay/oauth/" + url.PathEscape(mchid)
		// The code exchange is server to server: through simURL.
		return sim + "/authorize", r.simURL + "/sim/wechatpay/oauth/" + url.PathEscape(mchid) + "/access_token",
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
