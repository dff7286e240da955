package unionpay

import (
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/credkit"
)

// Credentials is the credential set of the upacp family (its schema is
// Family.Credentials), PEM throughout: the merchant signing key and its
// certificate (certId is the certificate's serial), UnionPay's root and
// middle certificates, and for applepay_upacp the Apple Pay merchant id.
// encrypt_cert, UnionPay's encryption certificate, encrypts the card
// numbers of payouts; it is optional (test environments take them in the
// clear).
type Credentials struct {
	MerID           string `json:"mer_id"`
	PrivateKey      string `json:"private_key"`
	SignCert        string `json:"sign_cert"`
	RootCert        string `json:"root_cert"`
	MiddleCert      string `json:"middle_cert"`
	EncryptCert     string `json:"encrypt_cert,omitempty"`
	AppleMerchantID string `json:"apple_merchant_id,omitempty"`
	BaseURL         string `json:"base_url,omitempty"`
	FileURL         string `json:"file_url,omitempty"`
	Sandbox         bool   `json:"sandbox,omitempty"`
	// SubMerID, SubMerName and SubMerAbbr are set by polypay, never by
	// hand: a sub-app registered as a sub-merchant of its platform
	// (平台类商户) runs on the platform's credentials with these added.
	SubMerID   string `json:"sub_mer_id,omitempty"`
	SubMerName string `json:"sub_mer_name,omitempty"`
	SubMerAbbr string `json:"sub_mer_abbr,omitempty"`
}

// DecodeCredentials reads the family's credentials; EInvalid when they are
// not a JSON object of their shape.
func DecodeCredentials(raw json.RawMessage) (*Credentials, error) {
	return credkit.DecodeAs[Credentials](Family.Name, raw)
}

// Config is the connector's configuration for the credentials (the URLs of
// sandbox ones and the HTTP client are the caller's).
func (c *Credentials) Config() Config {
	return Config{MerID: c.MerID, PrivateKeyPEM: c.PrivateKey, SignCertPEM: c.SignCert, RootCertPEM: c.RootCert,
		MiddleCertPEM: c.MiddleCert, EncryptCertPEM: c.EncryptCert, AppleMerchantID: c.AppleMerchantID, BaseURL: c.BaseURL, FileURL: c.FileURL,
		SubMerchant: SubMerchant{ID: c.SubMerID, Name: c.SubMerName, Abbr: c.SubMerAbbr}}
}

// ValidateCredentials checks credentials (the key can sign, the
// certificates chain) and returns the channel-side merchant id, the
// mer_id; EInvalid naming the parameter otherwise.
func ValidateCredentials(raw json.RawMessage) (string, error) {
	c, err := DecodeCredentials(raw)
	if err != nil {
		return "", err
	}
	if err := credkit.Missing(Family.Credentials, c); err != nil {
		return "", err
	}
	if err := credkit.CanSign(c.PrivateKey); err != nil {
		return "", polypay.ParamError("params[private_key]", "private_key cannot sign: %v", err)
	}
	if _, err := New(ChannelApp, c.Config()); err != nil {
		return "", polypay.ParamError("params", "银联参数无效: %v", err)
	}
	return c.MerID, nil
}

// RedactCredentials returns credentials safe to show: secrets replaced by
// fingerprints, and the signing certificate's certId.
func RedactCredentials(raw json.RawMessage) map[string]any {
	m, c := credkit.RedactRaw(&Family, raw, func(c *Credentials) bool { return c.Sandbox })
	if c == nil {
		return m
	}
	m["cert_id"] = ""
	if _, cert, err := KeyPair(c.PrivateKey, c.SignCert); err == nil {
		m["cert_id"] = cert.SerialNumber.String()
	}
	return m
}

// Hosts are UnionPay's own gateway hosts, production and test; FileHosts
// those of its statement downloads.
var (
	Hosts     = []string{credkit.HostOf(DefaultBaseURL), "gateway.test.95516.com"}
	FileHosts = []string{credkit.HostOf(DefaultFileURL), "filedownload.test.95516.com"}
)

// CredentialEndpoints lists the URLs live credentials name (none for
// sandbox ones, which reach the simulator).
func CredentialEndpoints(raw json.RawMessage) []credkit.Endpoint {
	c, err := DecodeCredentials(raw)
	if err != nil || c.Sandbox {
		return nil
	}
	return []credkit.Endpoint{{Param: "params[base_url]", URL: c.BaseURL, Official: Hosts},
		{Param: "params[file_url]", URL: c.FileURL, Official: FileHosts}}
}
