// Package webhook signs outgoing events the Ping++ way (RSA-SHA256 over the
// raw body, base64, in X-Pingplusplus-Signature) and delivers them from the
// durable outbox with retries and a delivery log.
package webhook

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
)

// SignatureHeader carries the signature, spelt as Ping++ merchants read it.
const SignatureHeader = "X-Pingplusplus-Signature"

// Signer signs bodies with one RSA key: an app and mode's webhook key
// (Keys) or the node's API reply key.
type Signer struct {
	key    *rsa.PrivateKey
	pubPEM []byte
}

// NewSigner wraps an RSA private key.
func NewSigner(key *rsa.PrivateKey) (*Signer, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	key.Precompute()
	return &Signer{key: key, pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}, nil
}

// Sign returns base64(RSASSA-PKCS1-v1_5(SHA-256(body))).
func (s *Signer) Sign(body []byte) string {
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		panic("webhook: signing failed: " + err.Error()) // only on a broken key
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// PublicKeyPEM is the SPKI PEM merchants verify with (Ping++ SDKs parse
// "BEGIN PUBLIC KEY").
func (s *Signer) PublicKeyPEM() []byte { return s.pubPEM }

// Sentinel errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: no signature")
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrBadKey       = errors.New("webhook: public key is not an RSA SPKI PEM")
)

// Verify checks a signature the way a merchant does: any of the given public
// keys (several during key rotation) may match.
func Verify(body []byte, signature string, publicKeysPEM ...[]byte) error {
	if signature == "" {
		return ErrNoSignature
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	sum := sha256.Sum256(body)
	for _, p := range publicKeysPEM {
		pub, err := ParsePublicKey(p)
		if err != nil {
			return err
		}
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil {
			return nil
		}
	}
	return ErrBadSignature
}

// ParsePublicKey reads an RSA public key in SPKI or PKCS#1 PEM.
func ParsePublicKey(p []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(p)
	if block == nil {
		return nil, ErrBadKey
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
		}
		if rk, ok := k.(*rsa.PublicKey); ok {
			return rk, nil
		}
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
		}
		return k, nil
	}
	return nil, ErrBadKey
}

// SignedTestPayload signs body with key, for merchants' and our own tests.
func SignedTestPayload(key *rsa.PrivateKey, body []byte) (string, error) {
	s, err := NewSigner(key)
	if err != nil {
		return "", err
	}
	return s.Sign(body), nil
}
