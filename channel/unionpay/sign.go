package unionpay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay"
)

// UnionPayOrg is the organisation name UnionPay's signing certificates
// carry as the third '@'-separated part of their CN
// (CN=041@<code>@中国银联股份有限公司@<seq>); the official SDKs refuse a
// signPubKeyCert whose CN names anyone else, because any CFCA customer can
// get a certificate chained to the same roots.
const UnionPayOrg = "中国银联股份有限公司"

// SigningString is the string UnionPay signs: every non-empty field except
// signature, sorted by key, joined as k=v with '&', values raw (not
// URL-encoded).
func SigningString(v map[string]string) string {
	keys := make([]string, 0, len(v))
	for k, x := range v {
		if k == "signature" || x == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v[k])
	}
	return b.String()
}

// digest is signMethod=01's input: the lowercase hex SHA-256 of the
// signing string, itself hashed again by RSA-SHA256.
func digest(v map[string]string) []byte {
	h := sha256.Sum256([]byte(SigningString(v)))
	d := []byte(hex.EncodeToString(h[:]))
	sum := sha256.Sum256(d)
	return sum[:]
}

// Sign sets v["signature"] (signMethod 01: RSA-PKCS1v15-SHA256 over the
// hex digest).
func Sign(key *rsa.PrivateKey, v map[string]string) error {
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest(v))
	if err != nil {
		return err
	}
	v["signature"] = base64.StdEncoding.EncodeToString(sig)
	return nil
}

// verifyWith checks v's signature with pub.
func verifyWith(pub *rsa.PublicKey, v map[string]string) error {
	sig, err := base64.StdEncoding.DecodeString(v["signature"])
	if err != nil || len(sig) == 0 {
		return polypay.ErrBadSignature
	}
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest(v), sig) != nil {
		return polypay.ErrBadSignature
	}
	return nil
}

// verifier checks UnionPay's signatures: the signPubKeyCert a message
// carries must chain to the configured root through the middle
// certificate, be valid now and be UnionPay's own, and then the signature
// must verify with its key. Verified certificates are cached by PEM.
type verifier struct {
	roots, middles *x509.CertPool
	now            func() time.Time

	mu    sync.Mutex
	cache map[string]verifiedCert
}

type verifiedCert struct {
	pub      *rsa.PublicKey
	notAfter time.Time
}

func newVerifier(rootPEM, middlePEM string, now func() time.Time) (*verifier, error) {
	root, err := parseCert(rootPEM)
	if err != nil {
		return nil, fmt.Errorf("root_cert: %w", err)
	}
	v := &verifier{roots: x509.NewCertPool(), middles: x509.NewCertPool(), now: now, cache: map[string]verifiedCert{}}
	v.roots.AddCert(root)
	if middlePEM != "" {
		mid, err := parseCert(middlePEM)
		if err != nil {
			return nil, fmt.Errorf("middle_cert: %w", err)
		}
		v.middles.AddCert(mid)
	}
	return v, nil
}

func parseCert(p string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

// unionPayCN reports whether a certificate's CN names UnionPay in the
// position the official SDKs read.
func unionPayCN(c *x509.Certificate) bool {
	parts := strings.Split(c.Subject.CommonName, "@")
	return len(parts) > 2 && parts[2] == UnionPayOrg
}

// verify returns ErrBadSignature for anything short of a verified message
// signed by UnionPay.
func (vf *verifier) verify(v map[string]string) error {
	if v["signMethod"] != "01" {
		return fmt.Errorf("%w: signMethod %q", polypay.ErrBadSignature, v["signMethod"])
	}
	certPEM := v["signPubKeyCert"]
	vf.mu.Lock()
	vc, ok := vf.cache[certPEM]
	vf.mu.Unlock()
	if !ok {
		c, err := parseCert(certPEM)
		if err != nil {
			return fmt.Errorf("%w: signPubKeyCert: %v", polypay.ErrBadSignature, err)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: vf.roots, Intermediates: vf.middles,
			CurrentTime: vf.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			return fmt.Errorf("%w: signPubKeyCert does not chain to the UnionPay root: %v", polypay.ErrBadSignature, err)
		}
		if !unionPayCN(c) {
			return fmt.Errorf("%w: signPubKeyCert is not UnionPay's (CN %q)", polypay.ErrBadSignature, c.Subject.CommonName)
		}
		k, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: signPubKeyCert has no RSA key", polypay.ErrBadSignature)
		}
		vc = verifiedCert{pub: k, notAfter: c.NotAfter}
		vf.mu.Lock()
		vf.cache[certPEM] = vc
		vf.mu.Unlock()
	} else if vf.now().After(vc.notAfter) {
		return fmt.Errorf("%w: signPubKeyCert expired", polypay.ErrBadSignature)
	}
	return verifyWith(vc.pub, v)
}

// ParseResponse reads a synchronous answer: raw k=v pairs joined by '&',
// values not URL-encoded. A value may itself hold '&' and '=' inside
// braces (reserved fields such as {a=1&b=2}), so '&' only separates pairs
// at brace depth 0. A key seen twice is an error: it would let a forged
// copy shadow a signed one.
func ParseResponse(s string) (map[string]string, error) {
	out := map[string]string{}
	s = strings.TrimRight(s, "\r\n")
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("unionpay: malformed answer near %q", clip(s))
		}
		key := s[:eq]
		if strings.ContainsAny(key, "&{}") {
			return nil, fmt.Errorf("unionpay: malformed key %q", clip(key))
		}
		rest := s[eq+1:]
		depth, end := 0, len(rest)
	scan:
		for i := 0; i < len(rest); i++ {
			switch rest[i] {
			case '{':
				depth++
			case '}':
				if depth == 0 {
					return nil, fmt.Errorf("unionpay: unbalanced '}' in %s", key)
				}
				depth--
			case '&':
				if depth == 0 {
					end = i
					break scan
				}
			}
		}
		if depth != 0 {
			return nil, fmt.Errorf("unionpay: unbalanced '{' in %s", key)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("unionpay: field %s repeated", key)
		}
		out[key] = rest[:end]
		if end == len(rest) {
			break
		}
		s = rest[end+1:]
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
