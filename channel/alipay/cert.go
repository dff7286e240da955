package alipay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
)

// loadCerts sets up certificate mode (公钥证书模式) with the SDK's own
// loaders: LoadAppCertPublicKey (app_cert_sn), LoadAliPayRootCert
// (alipay_root_cert_sn) and LoadAlipayCertPublicKey (the verifying key,
// filed under its alipay_cert_sn). Each serial is md5hex(issuer DN + serial
// in decimal); the root's joins with "_" those of the RSA-signed (SHA-1 or
// SHA-256) certificates of the root file.
//
// The SDK takes some unusable input without complaint (a root file without
// an RSA root gives an empty serial, a non-RSA Alipay certificate loads no
// key, an app certificate for another key is sent along anyway), so those
// are checked here first: each would only show up later as Alipay refusing
// every call, or as every answer failing verification.
func loadCerts(api *sdk.Client, cfg Config) error {
	bad := func(msg string, err error) error {
		return &polypay.Error{Code: polypay.EInvalid, Message: "alipay: " + msg, Err: err}
	}
	if cfg.AppCertPEM == "" || cfg.AlipayCertPEM == "" || cfg.AlipayRootCertPEM == "" {
		return bad("certificate mode needs the app certificate, the Alipay certificate and the Alipay root certificate", nil)
	}
	if cfg.AlipayPublicKeyPEM != "" {
		return bad("configure either the Alipay public key or the Alipay certificates, not both", nil)
	}
	appCert, err := firstCert(cfg.AppCertPEM)
	if err != nil {
		return bad("the app certificate is not an X.509 PEM certificate", err)
	}
	key, err := privateKey(cfg.PrivateKeyPEM)
	if err != nil {
		return bad("app private key is not an RSA PKCS#1 or PKCS#8 key", err)
	}
	if !key.PublicKey.Equal(appCert.PublicKey) {
		return bad("the app certificate is not for the app private key", nil)
	}
	aliCert, err := firstCert(cfg.AlipayCertPEM)
	if err != nil {
		return bad("the Alipay certificate is not an X.509 PEM certificate", err)
	}
	if _, ok := aliCert.PublicKey.(*rsa.PublicKey); !ok {
		return bad("the Alipay certificate does not hold an RSA key", nil)
	}
	if !hasRSARoot(cfg.AlipayRootCertPEM) {
		return bad("the Alipay root certificate file holds no SHA1/SHA256-with-RSA certificate", nil)
	}
	if err := api.LoadAppCertPublicKey(cfg.AppCertPEM); err != nil {
		return bad("the app certificate is unusable", err)
	}
	if err := api.LoadAliPayRootCert(cfg.AlipayRootCertPEM); err != nil {
		return bad("the Alipay root certificate is unusable", err)
	}
	if err := api.LoadAlipayCertPublicKey(cfg.AlipayCertPEM); err != nil {
		return bad("the Alipay certificate is unusable", err)
	}
	return nil
}

// der reads key or certificate bytes the way the SDK does: PEM when the
// text starts with '-', else bare base64 as Alipay's console shows them.
func der(s string) ([]byte, error) {
	if s != "" && s[0] == '-' {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, errors.New("no PEM block")
		}
		return block.Bytes, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// firstCert parses the first certificate of a file, the one the SDK uses.
func firstCert(s string) (*x509.Certificate, error) {
	b, err := der(s)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(b)
}

func privateKey(s string) (*rsa.PrivateKey, error) {
	b, err := der(s)
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

// hasRSARoot tells whether a root file holds a certificate that counts
// toward alipay_root_cert_sn. Certificates Go cannot parse (Alipay's file
// has an SM2 one) are skipped, as the SDK skips them.
func hasRSARoot(s string) bool {
	rest := []byte(s)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return false
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err == nil && (c.SignatureAlgorithm == x509.SHA256WithRSA || c.SignatureAlgorithm == x509.SHA1WithRSA) {
			return true
		}
	}
}
