package unionpaysim

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// EncryptCertSerial is the serial (UnionPay's encryptCertId, in decimal)
// of the sim's encryption certificate.
const EncryptCertSerial = 69629715989

// EncryptCertCN is the CN of the sim's encryption certificate.
const EncryptCertCN = "041@Z12400000000000@中国银联股份有限公司@00000002"

// EncryptCertPEM is the certificate merchants encrypt card numbers with
// (UnionPay's acp_*_enc.cer); its serial is the encryptCertId they send.
func (s *Sim) EncryptCertPEM() string { return s.encCertPEM }

// decryptAccNo reads a request's accNo: RSA-PKCS#1 v1.5 ciphertext in
// base64 under the sim's encryption certificate when encryptCertId is
// set, the plain number otherwise (UnionPay's test environment takes
// both; the "旧规范" form sends it plain). The number is 1 to 32 digits.
func (s *Sim) decryptAccNo(v map[string]string) (string, *apiError) {
	acc := v["accNo"]
	if id := v["encryptCertId"]; id != "" {
		if id != s.encCertID {
			return "", fail("10", "encryptCertId")
		}
		ct, err := base64.StdEncoding.DecodeString(acc)
		if err != nil {
			return "", fail("10", "accNo")
		}
		pt, err := rsa.DecryptPKCS1v15(rand.Reader, s.encKey, ct)
		if err != nil {
			return "", fail("10", "accNo")
		}
		acc = string(pt)
	}
	if acc == "" || len(acc) > 32 || strings.Trim(acc, "0123456789") != "" {
		return "", fail("10", "accNo")
	}
	return acc, nil
}

// parseBraced reads UnionPay's composite fields, {k=v&k=v}: customerInfo
// (after its base64) and reserved. Values are raw; a value holding '&' or
// braces cannot be told apart, which is why merchants must not send them.
// A key seen twice, or anything but one braced group, is malformed.
func parseBraced(s string) (map[string]string, bool) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, false
	}
	out := map[string]string{}
	inner := s[1 : len(s)-1]
	if inner == "" {
		return out, true
	}
	for _, pair := range strings.Split(inner, "&") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" || strings.ContainsAny(k, "{}") || strings.ContainsAny(v, "{}") {
			return nil, false
		}
		if _, dup := out[k]; dup {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

// customerName reads customerNm from a customerInfo field (base64 of
// {customerNm=...&...}; encrypted sensitive parts, encryptedInfo, are
// not needed for a payout and left alone). ok is false when customerInfo
// is malformed or names nobody.
func customerName(info string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(info)
	if err != nil || !utf8.Valid(raw) {
		return "", false
	}
	m, ok := parseBraced(string(raw))
	if !ok || m["customerNm"] == "" {
		return "", false
	}
	return m["customerNm"], true
}
