// Package credkit holds what the channel families share in handling a
// merchant's channel credentials: decoding them, checking them against the
// family's schema (polypay.Family.Credentials), redacting the secret fields
// and the keys' checks. Families import it; it imports no family.
package credkit

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"

	"github.com/polypay/polypay"
)

// Decode reads a family's credentials into c; EInvalid naming params when
// they are not a JSON object of the right shape.
func Decode(family string, raw json.RawMessage, c any) error {
	if err := json.Unmarshal(raw, c); err != nil {
		return polypay.ParamError("params", "%s credentials must be a JSON object: %v", family, err)
	}
	return nil
}

// RedactRaw decodes a family's stored credentials and returns them safe to
// show (Redact), with whether they are sandbox ones; an undecodable value
// shows as empty. The decoded credentials come back too (nil on error),
// for a family that shows something derived from them.
func RedactRaw[T any](f *polypay.Family, raw json.RawMessage, sandbox func(*T) bool) (map[string]any, *T) {
	c, err := DecodeAs[T](f.Name, raw)
	if err != nil {
		return map[string]any{}, nil
	}
	m := Redact(f.Credentials, c)
	m["sandbox"] = sandbox(c)
	return m, c
}

// DecodeAs is Decode into a new T: each family's DecodeCredentials.
func DecodeAs[T any](family string, raw json.RawMessage) (*T, error) {
	var c T
	if err := Decode(family, raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// values reads the string fields of decoded credentials by their JSON
// names (an unset one is "").
func values(c any) map[string]string {
	b, _ := json.Marshal(c)
	var m map[string]any
	json.Unmarshal(b, &m)
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// Missing returns EInvalid naming the first field the schema requires that
// c (decoded credentials) leaves empty, nil when none is.
func Missing(fields []polypay.CredentialField, c any) error {
	v := values(c)
	for _, f := range fields {
		if f.Required && v[f.Name] == "" {
			return MissingField(f.Name)
		}
	}
	return nil
}

// MissingField is the error for a credential field that must be set.
func MissingField(name string) error {
	return polypay.ParamError("params["+name+"]", "缺少参数: %s", name)
}

// Redact returns every field of the schema as c (decoded credentials) has
// it, secrets replaced by their fingerprints: a required secret always, an
// optional one when set (unset it stays "").
func Redact(fields []polypay.CredentialField, c any) map[string]any {
	v := values(c)
	out := make(map[string]any, len(fields)+1)
	for _, f := range fields {
		s := v[f.Name]
		switch {
		case f.Secret && (f.Required || s != ""):
			out[f.Name] = Fingerprint(s)
		default:
			out[f.Name] = s
		}
	}
	return out
}

// Fingerprint is how a secret is shown: a prefix of its SHA-256.
func Fingerprint(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return "redacted sha256:" + hex.EncodeToString(h[:8])
}

// ParsePrivateKey reads an RSA private key in PKCS#1 or PKCS#8 PEM.
func ParsePrivateKey(p string) (*rsa.PrivateKey, error) {
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

// CanSign proves a PEM private key works by signing with it.
func CanSign(p string) error {
	k, err := ParsePrivateKey(p)
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

// Endpoint is a URL in live credentials that the connector calls.
type Endpoint struct {
	Param    string   // the credential's parameter, "params[gateway]"
	URL      string   // "" when unset: the connector's default
	Official []string // the channel's own hosts for it
}

// HostOf is the host of a URL the program names (it panics on a bad one).
func HostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	return p.Hostname()
}
