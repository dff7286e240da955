package alipaysim_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/go-pay/gopay"
	gopayalipay "github.com/go-pay/gopay/alipay"
	"github.com/polypay/polypay/sim/alipaysim"
)

const certAppID = "2021000000000002" // the app in certificate mode

func parseCert(t *testing.T, p string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(p))
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", p)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// certEnv is a sim where certAppID (key merchantKey) uses certificate mode
// with an app certificate the sim issued, and appID public-key mode.
type certEnv struct {
	*env
	appCert string
}

func newCertEnv(t *testing.T) *certEnv {
	t.Helper()
	ce := &certEnv{}
	ce.env = newEnvWith(t, func(o *alipaysim.Options) {
		o.RootKey = otherKey
		merchant := o.Merchant
		o.Merchant = func(id string) (*rsa.PublicKey, bool) {
			if id == certAppID {
				return &merchantKey.PublicKey, true
			}
			return merchant(id)
		}
		o.CertMode = func(id string) (string, bool) {
			if id != certAppID {
				return "", false
			}
			sn, err := alipaysim.CertSN(ce.appCert)
			return sn, err == nil
		}
	})
	var err error
	if ce.appCert, err = ce.sim.IssueAppCert(certAppID, &merchantKey.PublicKey); err != nil {
		t.Fatal(err)
	}
	return ce
}

func TestCertificates(t *testing.T) {
	e := newCertEnv(t)
	root, ali, app := parseCert(t, e.sim.RootCertPEM()), parseCert(t, e.sim.AlipayCertPEM()), parseCert(t, e.appCert)

	t.Run("Chain", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AddCert(root)
		for name, c := range map[string]*x509.Certificate{"alipay": ali, "app": app} {
			if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Errorf("%s certificate does not chain to the root: %v", name, err)
			}
		}
		if !root.IsCA || root.SignatureAlgorithm != x509.SHA256WithRSA {
			t.Errorf("root: CA %v, %v", root.IsCA, root.SignatureAlgorithm)
		}
	})
	t.Run("Keys", func(t *testing.T) {
		if !platformKey.PublicKey.Equal(ali.PublicKey) {
			t.Error("the Alipay certificate does not hold the platform key")
		}
		if !merchantKey.PublicKey.Equal(app.PublicKey) {
			t.Error("the app certificate does not hold the app key")
		}
		if !otherKey.PublicKey.Equal(root.PublicKey) {
			t.Error("the root certificate does not hold Options.RootKey")
		}
	})
	t.Run("SerialsAgreeWithGopay", func(t *testing.T) {
		// gopay computes the serials independently of the sim.
		for _, tt := range []struct {
			name, pem, sim string
			gopay          func(any) (string, error)
		}{
			{"root", e.sim.RootCertPEM(), e.sim.RootCertSN(), gopayalipay.GetRootCertSN},
			{"alipay", e.sim.AlipayCertPEM(), e.sim.AlipayCertSN(), gopayalipay.GetCertSN},
		} {
			got, err := tt.gopay([]byte(tt.pem))
			if err != nil || got != tt.sim || len(got) != 32 {
				t.Errorf("%s: gopay %q (%v), sim %q", tt.name, got, err, tt.sim)
			}
		}
		sn, err := alipaysim.CertSN(e.appCert)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := gopayalipay.GetCertSN([]byte(e.appCert)); err != nil || got != sn {
			t.Errorf("app: gopay %q (%v), CertSN %q", got, err, sn)
		}
		if got, _ := alipaysim.CertSN(e.sim.AlipayCertPEM()); got != e.sim.AlipayCertSN() {
			t.Errorf("CertSN(AlipayCertPEM) = %q, AlipayCertSN %q", got, e.sim.AlipayCertSN())
		}
	})
	t.Run("Deterministic", func(t *testing.T) {
		again := newCertEnv(t)
		if again.sim.RootCertPEM() != e.sim.RootCertPEM() || again.sim.AlipayCertPEM() != e.sim.AlipayCertPEM() || again.appCert != e.appCert {
			t.Fatal("the same keys gave other certificates")
		}
		fresh := newEnv(t) // no RootKey: a root of its own
		if fresh.sim.RootCertSN() == e.sim.RootCertSN() {
			t.Fatal("two root keys gave the same root serial")
		}
	})
	t.Run("ErrCertSN", func(t *testing.T) {
		if _, err := alipaysim.CertSN(e.sim.PublicKeyPEM()); err == nil {
			t.Fatal("CertSN accepted a public key")
		}
	})
}

func TestCertModeRequests(t *testing.T) {
	e := newCertEnv(t)
	appSN, _ := alipaysim.CertSN(e.appCert)
	rootSN := e.sim.RootCertSN()
	tests := []struct {
		name          string
		app           string
		sn            url.Values
		code, subCode string
	}{
		{"OK", certAppID, url.Values{"app_cert_sn": {appSN}, "alipay_root_cert_sn": {rootSN}}, "10000", ""},
		{"OKRootAmongOthers", certAppID, url.Values{"app_cert_sn": {appSN}, "alipay_root_cert_sn": {"687b59193f3f462dd5336e5abf83c5d8_" + rootSN}}, "10000", ""},
		{"ErrNoAppCertSN", certAppID, url.Values{"alipay_root_cert_sn": {rootSN}}, "40001", "isv.missing-app-cert-sn"},
		{"ErrNoRootCertSN", certAppID, url.Values{"app_cert_sn": {appSN}}, "40001", "isv.missing-alipay-root-cert-sn"},
		{"ErrOtherAppCert", certAppID, url.Values{"app_cert_sn": {strings.Repeat("0", 32)}, "alipay_root_cert_sn": {rootSN}}, "40002", "isv.app-cert-not-exist"},
		{"ErrOtherRoot", certAppID, url.Values{"app_cert_sn": {appSN}, "alipay_root_cert_sn": {"687b59193f3f462dd5336e5abf83c5d8"}}, "40002", "isv.invalid-alipay-root-cert-sn"},
		{"ErrPublicKeyAppSendsCertSN", appID, url.Values{"app_cert_sn": {appSN}, "alipay_root_cert_sn": {rootSN}}, "40002", "isv.app-cert-not-exist"},
		{"OKPublicKeyApp", appID, nil, "10000", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			no := "cm_" + tt.name
			r := request{
				method: "alipay.trade.precreate",
				biz:    map[string]any{"out_trade_no": no, "total_amount": "1.00", "subject": "证书模式"},
				extra:  url.Values{"app_id": {tt.app}},
			}
			for k, v := range tt.sn {
				r.extra[k] = v
			}
			rep := e.post(t, r)
			wantCode(t, rep, r.method, tt.code, tt.subCode)
			wantSN := ""
			if tt.code == "10000" && tt.app == certAppID {
				wantSN = e.sim.AlipayCertSN()
			}
			if rep.certSN != wantSN {
				t.Fatalf("alipay_cert_sn %q, want %q: %s", rep.certSN, wantSN, rep.raw)
			}
		})
	}
	t.Run("BusinessErrorCarriesCertSN", func(t *testing.T) {
		r := request{method: "alipay.trade.query", biz: map[string]any{"out_trade_no": "cm_none"},
			extra: url.Values{"app_id": {certAppID}, "app_cert_sn": {appSN}, "alipay_root_cert_sn": {rootSN}}}
		rep := e.post(t, r)
		wantCode(t, rep, r.method, "40004", "ACQ.TRADE_NOT_EXIST")
		if rep.certSN != e.sim.AlipayCertSN() {
			t.Fatalf("signed 40004 without alipay_cert_sn: %s", rep.raw)
		}
	})
	t.Run("NotificationHasNoCertSN", func(t *testing.T) {
		rc := newReceiver(t, "success")
		r := request{method: "alipay.trade.precreate",
			biz:   map[string]any{"out_trade_no": "cm_notify", "total_amount": "1.00", "subject": "证书模式"},
			extra: url.Values{"app_id": {certAppID}, "app_cert_sn": {appSN}, "alipay_root_cert_sn": {rootSN}, "notify_url": {rc.srv.URL}}}
		wantCode(t, e.post(t, r), r.method, "10000", "")
		if err := e.sim.Pay(context.Background(), certAppID, "cm_notify", true); err != nil {
			t.Fatal(err)
		}
		got := rc.received()
		if len(got) != 1 {
			t.Fatalf("%d notifications", len(got))
		}
		if got[0].Has("alipay_cert_sn") {
			t.Fatalf("notification carries alipay_cert_sn: %v", got[0])
		}
		if err := testVerify(&platformKey.PublicKey, "RSA2", testContent(got[0], "sign", "sign_type"), got[0].Get("sign")); err != nil {
			t.Fatalf("notification signature: %v", err)
		}
	})
}

// TestGopayCertMode runs gopay in certificate mode against the sim: it
// sends the serials it computes from the PEMs, and finds and checks the
// signature of answers that carry alipay_cert_sn.
func TestGopayCertMode(t *testing.T) {
	e := newCertEnv(t)
	key := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(merchantKey))
	c, err := gopayalipay.NewClient(certAppID, key, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetCertSnByContent([]byte(e.appCert), []byte(e.sim.RootCertPEM()), []byte(e.sim.AlipayCertPEM())); err != nil {
		t.Fatal(err)
	}
	c.AutoVerifySign([]byte(e.sim.AlipayCertPEM()))
	c.SetHttpClient(newGopay(t, e.gateway).GetHttpClient()) // the transport to the sim
	ctx := context.Background()
	pre, err := c.TradePrecreate(ctx, gopay.BodyMap{"out_trade_no": "gpc1", "total_amount": "3.00", "subject": "gopay 证书"})
	if err != nil {
		t.Fatalf("TradePrecreate: %v", err)
	}
	if pre.Response.Code != "10000" || pre.AlipayCertSn != e.sim.AlipayCertSN() || pre.SignData == "" {
		t.Fatalf("precreate: %+v cert_sn %q", pre.Response, pre.AlipayCertSn)
	}
	if err := e.sim.Pay(ctx, certAppID, "gpc1", true); err != nil {
		t.Fatal(err)
	}
	q, err := c.TradeQuery(ctx, gopay.BodyMap{"out_trade_no": "gpc1"})
	if err != nil {
		t.Fatalf("TradeQuery: %v", err)
	}
	if q.Response.TradeStatus != "TRADE_SUCCESS" || q.Response.TotalAmount != "3.00" {
		t.Fatalf("query: %+v", q.Response)
	}
	// gopay refuses an answer naming another Alipay certificate.
	if err := c.SetCertSnByContent([]byte(e.appCert), []byte(e.sim.RootCertPEM()), []byte(e.appCert)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TradeQuery(ctx, gopay.BodyMap{"out_trade_no": "gpc1"}); !errors.Is(err, gopay.CertNotMatchErr) {
		t.Fatalf("TradeQuery expecting another alipay_cert_sn: %v, want CertNotMatchErr", err)
	}
}
