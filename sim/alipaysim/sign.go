package alipaysim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"sort"
	"strings"
)

// signContent is Alipay's string-to-sign: every non-empty parameter except
// the skipped ones, keys in ASCII order, joined k=v&k=v with the raw
// (decoded, not URL-encoded) values. Requests skip only "sign" — sign_type
// is signed — while notifications skip "sign" and "sign_type".
func signContent(params url.Values, skip ...string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if params.Get(k) == "" || contains(skip, k) {
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
		b.WriteString(params.Get(k))
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hashFor maps sign_type to its digest: RSA2 is SHA-256, the legacy RSA is
// SHA-1. Anything else is not a signature type Alipay accepts.
func hashFor(signType string) (crypto.Hash, bool) {
	switch signType {
	case "RSA2":
		return crypto.SHA256, true
	case "RSA":
		return crypto.SHA1, true
	}
	return 0, false
}

func digest(h crypto.Hash, data []byte) []byte {
	if h == crypto.SHA1 {
		d := sha1.Sum(data)
		return d[:]
	}
	d := sha256.Sum256(data)
	return d[:]
}

var errSignature = errors.New("signature does not verify")

func verify(pub *rsa.PublicKey, signType string, content []byte, sign string) error {
	h, ok := hashFor(signType)
	if !ok {
		return errSignature
	}
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return errSignature
	}
	if err := rsa.VerifyPKCS1v15(pub, h, digest(h, content), sig); err != nil {
		return errSignature
	}
	return nil
}

func signBytes(key *rsa.PrivateKey, signType string, content []byte) (string, error) {
	h, ok := hashFor(signType)
	if !ok {
		h = crypto.SHA256
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, digest(h, content))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}
