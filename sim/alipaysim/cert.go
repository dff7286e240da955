package alipaysim

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"time"
)

// Certificate mode (公钥证书模式).
//
// Instead of exchanging bare public keys, the merchant holds three
// certificates: its app public key certificate (应用公钥证书, issued by
// Alipay for the app key), Alipay's public key certificate (支付宝公钥证书)
// and Alipay's root certificate (支付宝根证书). Requests then carry
// app_cert_sn and alipay_root_cert_sn, responses carry alipay_cert_sn, and
// each is md5hex(issuer DN + serial number in decimal) of its certificate;
// alipay_root_cert_sn joins, with "_", those of the root file's
// certificates signed SHA1- or SHA256-with-RSA. Notifications carry no
// serial. The signatures themselves do not change.
//
// The sim plays Alipay's CA: a self-signed root (RootCertPEM) issues the
// Alipay certificate over the platform key (AlipayCertPEM) and, on
// request, app certificates (IssueAppCert). Real Alipay puts an
// intermediate between the root and the leaves and ships it in the Alipay
// certificate file; the sim's chain has two levels. Both certificates are
// made once, the first time they are needed, and are byte-for-byte the same
// for the same Options.RootKey and PrivateKey: serials come from the keys,
// validity is fixed (2020 to 2049) and RSA PKCS#1 v1.5 signing is
// deterministic.

// certs is the sim's CA material.
type certs struct {
	root, alipay       *x509.Certificate
	rootPEM, alipayPEM string
	rootSN, alipaySN   string
	rootKey            *rsa.PrivateKey
}

var (
	certFrom = time.Date(2020, 1, 1, 0, 0, 0, 0, cst)
	certTo   = time.Date(2049, 12, 31, 23, 59, 59, 0, cst)
)

// certSN is Alipay's certificate serial: md5hex of the issuer's DN as Go
// (and the SDKs) print it, followed by the serial number in decimal.
func certSN(c *x509.Certificate) string {
	sum := md5.Sum([]byte(c.Issuer.String() + c.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}

// CertSN returns the serial Alipay uses for the first certificate of a PEM
// file: app_cert_sn for an app certificate, alipay_cert_sn for Alipay's.
func CertSN(certPEM string) (string, error) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return "", errors.New("alipaysim: no PEM certificate")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", err
	}
	return certSN(c), nil
}

// serialFor derives a positive 63-bit serial from a key, so that the same
// key always gets the same certificate.
func serialFor(pub *rsa.PublicKey, salt string) *big.Int {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic("alipaysim: marshalling an RSA public key cannot fail: " + err.Error())
	}
	sum := sha256.Sum256(append([]byte(salt), der...))
	n := new(big.Int).SetBytes(sum[:8])
	return n.Rsh(n, 1).Add(n, big.NewInt(1)) // 1 ≤ n < 2^63
}

func pemCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// certificates returns the sim's root and Alipay certificates, making them
// (and the root key, unless Options.RootKey gave one) on first use.
func (s *Sim) certificates() *certs {
	s.certOnce.Do(func() {
		key := s.rootKey
		if key == nil {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic("alipaysim: generating the root key: " + err.Error())
			}
			key = k
		}
		rootTmpl := &x509.Certificate{
			SerialNumber: serialFor(&key.PublicKey, "root"),
			Subject: pkix.Name{Country: []string{"CN"}, Organization: []string{"polypay simulator"},
				OrganizationalUnit: []string{"Certification Authority"}, CommonName: "polypay Alipay Simulator Root CA R1"},
			NotBefore:             certFrom,
			NotAfter:              certTo,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
			SignatureAlgorithm:    x509.SHA256WithRSA,
		}
		rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &key.PublicKey, key)
		if err != nil {
			panic("alipaysim: making the root certificate: " + err.Error())
		}
		root, err := x509.ParseCertificate(rootDER)
		if err != nil {
			panic("alipaysim: parsing the root certificate: " + err.Error())
		}
		aliTmpl := &x509.Certificate{
			SerialNumber: serialFor(&s.key.PublicKey, "alipay"),
			Subject: pkix.Name{Country: []string{"CN"}, Organization: []string{"polypay simulator"},
				OrganizationalUnit: []string{"Alipay"}, CommonName: "支付宝模拟器(polypay)"},
			NotBefore:          certFrom,
			NotAfter:           certTo,
			KeyUsage:           x509.KeyUsageDigitalSignature,
			SignatureAlgorithm: x509.SHA256WithRSA,
		}
		aliDER, err := x509.CreateCertificate(rand.Reader, aliTmpl, root, &s.key.PublicKey, key)
		if err != nil {
			panic("alipaysim: making the Alipay certificate: " + err.Error())
		}
		ali, err := x509.ParseCertificate(aliDER)
		if err != nil {
			panic("alipaysim: parsing the Alipay certificate: " + err.Error())
		}
		s.ca = &certs{
			root: root, alipay: ali,
			rootPEM: pemCert(rootDER), alipayPEM: pemCert(aliDER),
			rootSN: certSN(root), alipaySN: certSN(ali),
			rootKey: key,
		}
	})
	return s.ca
}

// RootCertPEM returns the sim's root certificate (支付宝根证书,
// alipayRootCert.crt), the file merchants in certificate mode load as the
// Alipay root.
func (s *Sim) RootCertPEM() string { return s.certificates().rootPEM }

// AlipayCertPEM returns the sim's Alipay public key certificate (支付宝公钥
// 证书, alipayCertPublicKey_RSA2.crt): the platform key, issued by the root.
func (s *Sim) AlipayCertPEM() string { return s.certificates().alipayPEM }

// RootCertSN is the alipay_root_cert_sn that certificate-mode requests
// must carry.
func (s *Sim) RootCertSN() string { return s.certificates().rootSN }

// AlipayCertSN is the alipay_cert_sn of certificate-mode responses.
func (s *Sim) AlipayCertSN() string { return s.certificates().alipaySN }

// IssueAppCert issues an app public key certificate (应用公钥证书) for the
// app key pub, signed by the sim's root, as Alipay's console does from the
// merchant's CSR. The serial is derived from appID and the key, so issuing
// twice gives the same certificate. Register its CertSN through
// Options.CertMode to put the app in certificate mode.
func (s *Sim) IssueAppCert(appID string, pub *rsa.PublicKey) (string, error) {
	if appID == "" || pub == nil {
		return "", errors.New("alipaysim: IssueAppCert needs an app_id and a key")
	}
	ca := s.certificates()
	tmpl := &x509.Certificate{
		SerialNumber: serialFor(pub, "app:"+appID),
		Subject: pkix.Name{Country: []string{"CN"}, Organization: []string{"polypay simulator"},
			OrganizationalUnit: []string{"Alipay"}, CommonName: sellerID(appID) + "-" + appID},
		NotBefore:          certFrom,
		NotAfter:           certTo,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.root, pub, ca.rootKey)
	if err != nil {
		return "", err
	}
	return pemCert(der), nil
}

// rootSNAccepted tells whether a request's alipay_root_cert_sn names the
// sim's root: it is a "_"-joined list (one serial per RSA root in the
// merchant's root file), and the sim's root must be among them.
func (s *Sim) rootSNAccepted(sn string) bool {
	want := s.RootCertSN()
	for _, part := range strings.Split(sn, "_") {
		if part == want {
			return true
		}
	}
	return false
}

// checkCertMode applies certificate mode to a request of appID: a
// certificate-mode app must send both serials and they must match. [S: the
// sub_codes follow Alipay's isv.missing-/isv.invalid- pattern and its
// published names app-cert-not-exist and invalid-alipay-root-cert-sn.]
// An app in public-key mode has no app certificate to name, so a request
// of one carrying app_cert_sn is refused too. [U: what Alipay does then is
// not documented; refusing catches a connector configured half-way.]
func (s *Sim) checkCertMode(appID, appCertSN, rootCertSN string) (certMode bool, aerr *apiError) {
	want, ok := "", false
	if s.certMode != nil {
		want, ok = s.certMode(appID)
	}
	if !ok {
		if appCertSN != "" {
			return false, &apiError{"40002", "Invalid Arguments", "isv.app-cert-not-exist", "应用未使用公钥证书模式，证书不存在"}
		}
		return false, nil
	}
	switch {
	case appCertSN == "":
		return true, missing("app-cert-sn", "应用公钥证书序列号")
	case rootCertSN == "":
		return true, missing("alipay-root-cert-sn", "支付宝根证书序列号")
	case appCertSN != want:
		return true, &apiError{"40002", "Invalid Arguments", "isv.app-cert-not-exist", "应用公钥证书序列号不匹配，证书不存在"}
	case !s.rootSNAccepted(rootCertSN):
		return true, invalid("alipay-root-cert-sn", "无效的支付宝根证书序列号")
	}
	return true, nil
}
