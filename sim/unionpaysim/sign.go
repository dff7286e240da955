package unionpaysim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"sort"
	"strings"
	"time"
)

// signingString: non-empty fields but signature, sorted, k=v joined by '&'.
func signingString(v map[string]string) string {
	keys := make([]string, 0, len(v))
	for k, x := range v {
		if k != "signature" && x != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + v[k]
	}
	return strings.Join(parts, "&")
}

// hashed is SHA-256 of the lowercase hex SHA-256 of the signing string:
// what signMethod 01 signs with RSA-SHA256.
func hashed(v map[string]string) []byte {
	h := sha256.Sum256([]byte(signingString(v)))
	sum := sha256.Sum256([]byte(hex.EncodeToString(h[:])))
	return sum[:]
}

func (s *Sim) sign(v map[string]string) {
	v["signPubKeyCert"] = s.signCertPEM
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.signKey, crypto.SHA256, hashed(v))
	if err != nil {
		panic("unionpaysim: signing: " + err.Error())
	}
	v["signature"] = base64.StdEncoding.EncodeToString(sig)
}

func verify(pub *rsa.PublicKey, v map[string]string) bool {
	sig, err := base64.StdEncoding.DecodeString(v["signature"])
	return err == nil && rsa.VerifyPKCS1v15(pub, crypto.SHA256, hashed(v), sig) == nil
}

// The sim's PKI: a root, a middle CA and the signing certificate, named as
// UnionPay's are (the signing CN's third '@' part is the company name the
// SDKs check). Templates are fixed so the same keys always give the same
// certificates, byte for byte, across restarts and nodes.
var certEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// SignCertCN is the CN of the simulator's signing certificate.
const SignCertCN = "041@Z12400000000000@中国银联股份有限公司@00000001"

func issue(serial int64, subject pkix.Name, isCA bool, pub *rsa.PublicKey, parent *x509.Certificate, parentKey *rsa.PrivateKey) (*x509.Certificate, []byte) {
	t := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: subject,
		NotBefore: certEpoch, NotAfter: certEpoch.AddDate(30, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true, IsCA: isCA,
	}
	if isCA {
		t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if parent == nil {
		parent = t
	}
	der, err := x509.CreateCertificate(rand.Reader, t, parent, pub, parentKey)
	if err != nil {
		panic("unionpaysim: issuing a certificate: " + err.Error())
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func name(cn string) pkix.Name {
	return pkix.Name{Country: []string{"CN"}, Organization: []string{"China Financial Certification Authority"}, CommonName: cn}
}
