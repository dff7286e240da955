package wechatpay

import (
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/credkit"
)

// Credentials is the credential set of the wx family (its schema is
// Family.Credentials).
type Credentials struct {
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
	// APIv2Key and APICert are for the v2 calls that still need them, the
	// cash red envelopes: the APIv2 key signs them and the merchant API
	// certificate (apiclient_cert.pem, whose key is PrivateKey) is their
	// TLS client certificate. Optional: without them red envelopes are
	// refused.
	APIv2Key string `json:"api_v2_key,omitempty"`
	APICert  string `json:"api_cert,omitempty"`
	BaseURL  string `json:"base_url,omitempty"`
	Sandbox  bool   `json:"sandbox,omitempty"`
	// SubMchID and SubAppID are set by polypay, never by hand: a
	// sub-merchant registered under the platform (partner mode,
	// credstore.ProviderFields) added to the platform's credentials.
	SubMchID string `json:"sub_mchid,omitempty"`
	SubAppID string `json:"sub_appid,omitempty"`
}

// DecodeCredentials reads the family's credentials; EInvalid when they are
// not a JSON object of their shape.
func DecodeCredentials(raw json.RawMessage) (*Credentials, error) {
	return credkit.DecodeAs[Credentials](Family.Name, raw)
}

// Config is the connector's configuration for the credentials (the base
// URL of sandbox ones and the HTTP client are the caller's).
func (c *Credentials) Config() Config {
	return Config{MchID: c.MchID, AppID: c.AppID, MerchantSerialNo: c.MerchantSerialNo,
		PrivateKeyPEM: c.PrivateKey, APIv3Key: c.APIv3Key, PlatformPublicKeyPEM: c.PlatformPublicKey,
		PlatformPublicKeyID: c.PlatformPublicKeyID, APIv2Key: c.APIv2Key, APICertPEM: c.APICert, BaseURL: c.BaseURL,
		SubMchID: c.SubMchID, SubAppID: c.SubAppID}
}

// ValidateCredentials checks credentials (the keys parse and can sign) and
// returns the channel-side merchant id, the mchid; EInvalid naming the
// parameter otherwise.
func ValidateCredentials(raw json.RawMessage) (string, error) {
	c, err := DecodeCredentials(raw)
	if err != nil {
		return "", err
	}
	if err := credkit.Missing(Family.Credentials, c); err != nil {
		return "", err
	}
	cfg := c.Config()
	if c.Sandbox {
		cfg.BaseURL = "http://127.0.0.1" // sandbox credentials reach the simulator, whatever they say
	}
	if _, err := New(ChannelQR, cfg); err != nil {
		return "", polypay.ParamError("params", "微信支付参数无效: %v", err)
	}
	if err := credkit.CanSign(c.PrivateKey); err != nil {
		return "", polypay.ParamError("params[private_key]", "private_key cannot sign: %v", err)
	}
	if err := checkV2Credentials(c); err != nil {
		return "", err
	}
	return c.MchID, nil
}

// RedactCredentials returns credentials safe to show: secrets replaced by
// fingerprints.
func RedactCredentials(raw json.RawMessage) map[string]any {
	m, _ := credkit.RedactRaw(&Family, raw, func(c *Credentials) bool { return c.Sandbox })
	return m
}

// Hosts are WeChat Pay's own API hosts.
var Hosts = []string{credkit.HostOf(DefaultBaseURL), "api2.mch.weixin.qq.com"}

// CredentialEndpoints lists the URLs live credentials name (none for
// sandbox ones, which reach the simulator).
func CredentialEndpoints(raw json.RawMessage) []credkit.Endpoint {
	c, err := DecodeCredentials(raw)
	if err != nil || c.Sandbox {
		return nil
	}
	return []credkit.Endpoint{{Param: "params[base_url]", URL: c.BaseURL, Official: Hosts}}
}
