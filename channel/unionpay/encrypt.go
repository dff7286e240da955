package unionpay

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
)

// encrypter encrypts sensitive fields the way UnionPay's 5.1.0 messages
// carry them ("新规范"): RSA PKCS#1 v1.5 under the public key of UnionPay's
// encryption certificate (acp_*_enc.cer), base64, with the certificate's
// serial in decimal as encryptCertId. Without one configured, a payout's
// accNo travels in the clear, which UnionPay's test environment takes
// ("旧规范"); production merchants configure the certificate.
type encrypter struct {
	certID string
	pub    *rsa.PublicKey
}

// newEncrypter reads the encryption certificate. It must chain to the
// configured UnionPay root, as signPubKeyCert must, so that a wrong
// certificate cannot send card numbers to someone else's key.
func newEncrypter(certPEM string, vf *verifier) (*encrypter, error) {
	c, err := parseCert(certPEM)
	if err != nil {
		return nil, err
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: vf.roots, Intermediates: vf.middles, CurrentTime: vf.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("does not chain to the UnionPay root: %v", err)
	}
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("has no RSA key")
	}
	return &encrypter{certID: c.SerialNumber.String(), pub: pub}, nil
}

func (e *encrypter) encrypt(s string) (string, error) {
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, e.pub, []byte(s))
	if err != nil {
		return "", fmt.Errorf("unionpay: encrypting: %w", err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// customerInfo is the cardholder field as UnionPay encodes it: base64 of
// {customerNm=...}. The name is not one of the fields UnionPay encrypts
// (encryptedInfo holds phone number, CVN2 and expiry, which a payout does
// not send), so it is the same with or without an encryption certificate.
func customerInfo(name string) string {
	return base64.StdEncoding.EncodeToString([]byte("{customerNm=" + name + "}"))
}
