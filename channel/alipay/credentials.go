package alipay

import (
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/credkit"
)

// Credentials is the credential set of the alipay family (its schema is
// Family.Credentials).
type Credentials struct {
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
	// AppAuthToken is set by polypay, never by hand: a sub-merchant's
	// authorization of the platform's app (credstore.Authorization) added
	// to the platform's credentials.
	AppAuthToken string `json:"app_auth_token,omitempty"`
}

// DecodeCredentials reads the family's credentials; EInvalid when they are
// not a JSON object of their shape.
func DecodeCredentials(raw json.RawMessage) (*Credentials, error) {
	return credkit.DecodeAs[Credentials](Family.Name, raw)
}

// Config is the connector's configuration for the credentials (the
// gateways and HTTP client are the caller's).
func (c *Credentials) Config() Config {
	return Config{AppID: c.AppID, PrivateKeyPEM: c.PrivateKey,
		AlipayPublicKeyPEM: c.AlipayPublicKey, AppCertPEM: c.AppCert, AlipayCertPEM: c.AlipayCert,
		AlipayRootCertPEM: c.AlipayRootCert, Gateway: c.Gateway, AppAuthToken: c.AppAuthToken}
}

// ValidateCredentials checks credentials (the keys parse and can sign) and
// returns the channel-side merchant id, the app id; EInvalid naming the
// parameter otherwise.
func ValidateCredentials(raw json.RawMessage) (string, error) {
	c, err := DecodeCredentials(raw)
	if err != nil {
		return "", err
	}
	if err := credkit.Missing(Family.Credentials, c); err != nil {
		return "", err
	}
	if c.AppCert != "" || c.AlipayCert != "" || c.AlipayRootCert != "" {
		for _, p := range []struct{ name, v string }{{"app_cert", c.AppCert}, {"alipay_cert", c.AlipayCert}, {"alipay_root_cert", c.AlipayRootCert}} {
			if p.v == "" {
				return "", credkit.MissingField(p.name)
			}
		}
	} else if c.AlipayPublicKey == "" {
		return "", credkit.MissingField("alipay_public_key")
	}
	cfg := c.Config()
	cfg.Gateway = "http://127.0.0.1/"
	if _, err := New(ChannelQR, cfg); err != nil {
		return "", polypay.ParamError("params", "支付宝参数无效: %v", err)
	}
	if err := credkit.CanSign(c.PrivateKey); err != nil {
		return "", polypay.ParamError("params[private_key]", "private_key cannot sign: %v", err)
	}
	return c.AppID, nil
}

// RedactCredentials returns credentials safe to show: secrets replaced by
// fingerprints.
func RedactCredentials(raw json.RawMessage) map[string]any {
	m, _ := credkit.RedactRaw(&Family, raw, func(c *Credentials) bool { return c.Sandbox })
	return m
}

// Hosts are Alipay's own gateway hosts, production and sandbox.
var Hosts = []string{credkit.HostOf(DefaultGateway), "openapi-sandbox.dl.alipaydev.com", "openapi.alipaydev.com"}

// CredentialEndpoints lists the URLs live credentials name (none for
// sandbox ones, which reach the simulator).
func CredentialEndpoints(raw json.RawMessage) []credkit.Endpoint {
	c, err := DecodeCredentials(raw)
	if err != nil || c.Sandbox {
		return nil
	}
	return []credkit.Endpoint{{Param: "params[gateway]", URL: c.Gateway, Official: Hosts}}
}
