package alipay_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"testing"
	"time"

	gopayalipay "github.com/go-pay/gopay/alipay"
	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/sim/alipaysim"
)

// certMode is an env whose app uses certificate mode (公钥证书模式) in the
// sim, with an app certificate the sim issued for merchantKey.
type certMode struct {
	appCert string
}

func withCertMode(cm *certMode) envOption {
	return func(o *alipaysim.Options) {
		o.RootKey = otherKey // a fixed root: no key generation per test
		o.CertMode = func(id string) (string, bool) {
			if id != appID || cm.appCert == "" {
				return "", false
			}
			sn, err := alipaysim.CertSN(cm.appCert)
			return sn, err == nil
		}
	}
}

// newCertEnv is newEnv in certificate mode; e.conn (which also parses the
// notifications) is a certificate-mode connector.
func newCertEnv(t *testing.T) (*env, *certMode) {
	t.Helper()
	cm := &certMode{}
	e := newEnv(t, withCertMode(cm))
	var err error
	if cm.appCert, err = e.sim.IssueAppCert(appID, &merchantKey.PublicKey); err != nil {
		t.Fatal(err)
	}
	e.conn = e.certConn(t, alipay.ChannelQR, cm.appCert)
	return e, cm
}

func (e *env) certConfig(appCert string) alipay.Config {
	return alipay.Config{AppID: appID, PrivateKeyPEM: merchantPKCS8, AppCertPEM: appCert,
		AlipayCertPEM: e.sim.AlipayCertPEM(), AlipayRootCertPEM: e.sim.RootCertPEM(), Gateway: e.gateway}
}

func (e *env) certConn(t *testing.T, channel, appCert string) *alipay.Client {
	t.Helper()
	c, err := alipay.New(channel, e.certConfig(appCert))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestModes runs the same merchant's life against the sim in public-key
// mode and in certificate mode: QR payment and its notification, query,
// refund and its notification, refund query, close, a wap payment through
// the cashier, an app order string, and the next day's bill.
func TestModes(t *testing.T) {
	for _, mode := range []string{"PublicKey", "Certificate"} {
		t.Run(mode, func(t *testing.T) {
			var (
				e       *env
				appCert string
			)
			if mode == "Certificate" {
				var cm *certMode
				e, cm = newCertEnv(t)
				appCert = cm.appCert
			} else {
				e = newEnv(t)
			}
			conn := func(channel string) *alipay.Client {
				if appCert != "" {
					return e.certConn(t, channel, appCert)
				}
				return e.connFor(t, channel)
			}
			ctx := context.Background()

			qr := charge("ch_mode_qr", 1234)
			e.paid(t, qr)
			e.wantPaid(t, e.conn, qr)

			res, err := e.conn.Refund(ctx, qr, &polypay.Refund{OrderNo: "re_mode_1", Amount: 234, Currency: "cny"}, "")
			if err != nil || res.Status != polypay.RefundSucceeded {
				t.Fatalf("Refund: %+v, %v", res, err)
			}
			waitFor(t, "the refund notification", func() bool { return len(e.notifications()) == 2 })
			if got := e.notifications()[1]; got.err != nil || got.n.Kind != polypay.NotifyRefund || got.n.RefundNo != "re_mode_1" || got.n.RefundTotal != 234 {
				t.Fatalf("refund notification: %+v, %v", got.n, got.err)
			}
			if res, err := e.conn.QueryRefund(ctx, qr, &polypay.Refund{OrderNo: "re_mode_1", Amount: 234}); err != nil || res.Status != polypay.RefundSucceeded {
				t.Fatalf("QueryRefund: %+v, %v", res, err)
			}

			unpaid := charge("ch_mode_close", 100)
			e.create(t, unpaid)
			if err := e.conn.CloseCharge(ctx, unpaid); err != nil {
				t.Fatalf("CloseCharge: %v", err)
			}
			if tr := e.query(t, e.conn, unpaid); tr.State != polypay.TradeClosed {
				t.Fatalf("after close: %+v", tr)
			}

			// Wap: the browser brings the signed parameters, serials included.
			site := newMerchantSite(t)
			wap := sceneCharge("ch_mode_wap", alipay.ChannelWap, 500, map[string]any{"success_url": site.srv.URL + "/ok"})
			var fields map[string]string
			if err := json.Unmarshal(e.createOn(t, conn(alipay.ChannelWap), wap), &fields); err != nil {
				t.Fatal(err)
			}
			if _, has := fields["app_cert_sn"]; has != (appCert != "") {
				t.Fatalf("wap credential %v: app_cert_sn present = %v in %s mode", fields, has, mode)
			}
			if final, _ := cashier(t, redirectURL(t, fields), "pay", "5.00"); final.Path != "/ok" {
				t.Fatalf("the browser ended on %s", final)
			}
			waitFor(t, "the wap notification", func() bool { return len(e.notifications()) == 3 })

			// App: the order string the app SDK submits.
			app := sceneCharge("ch_mode_app", alipay.ChannelApp, 300, nil)
			var cred map[string]string
			if err := json.Unmarshal(e.createOn(t, conn(alipay.ChannelApp), app), &cred); err != nil {
				t.Fatal(err)
			}
			if err := e.sim.PayOrderString(ctx, cred["orderInfo"], true); err != nil {
				t.Fatalf("PayOrderString: %v", err)
			}
			waitFor(t, "the app notification", func() bool { return len(e.notifications()) == 4 })
			for i, got := range e.notifications() {
				if got.err != nil {
					t.Fatalf("notification %d: %v", i, got.err)
				}
				if v, _ := url.ParseQuery(string(got.body)); v.Has("alipay_cert_sn") {
					t.Fatalf("notification %d carries alipay_cert_sn", i)
				}
			}

			e.clock.Add(24 * time.Hour)
			rows, err := e.conn.DownloadBill(ctx, "2026-11-21")
			if err != nil {
				t.Fatalf("DownloadBill: %v", err)
			}
			if len(rows) != 4 { // qr, its refund, wap, app
				t.Fatalf("bill rows: %+v", rows)
			}

			// Every server call carried the serials in certificate mode, and
			// none in public-key mode. gopay computes them independently.
			var wantApp, wantRoot string
			if appCert != "" {
				if wantApp, err = gopayalipay.GetCertSN([]byte(appCert)); err != nil {
					t.Fatal(err)
				}
				if wantRoot, err = gopayalipay.GetRootCertSN([]byte(e.sim.RootCertPEM())); err != nil {
					t.Fatal(err)
				}
			}
			e.mu.Lock()
			calls := append([]url.Values(nil), e.calls...)
			e.mu.Unlock()
			if len(calls) < 6 {
				t.Fatalf("only %d server calls", len(calls))
			}
			for _, c := range calls {
				if c.Get("app_cert_sn") != wantApp || c.Get("alipay_root_cert_sn") != wantRoot {
					t.Fatalf("%s: app_cert_sn %q alipay_root_cert_sn %q, want %q %q", c.Get("method"),
						c.Get("app_cert_sn"), c.Get("alipay_root_cert_sn"), wantApp, wantRoot)
				}
			}
			if appCert != "" && (fields["app_cert_sn"] != wantApp || fields["alipay_root_cert_sn"] != wantRoot) {
				t.Fatalf("wap credential serials %q %q", fields["app_cert_sn"], fields["alipay_root_cert_sn"])
			}
		})
	}
}

func TestCertModeErrors(t *testing.T) {
	e, cm := newCertEnv(t)
	ctx := context.Background()
	otherCert, err := e.sim.IssueAppCert("2021000000000099", &otherKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ecRoot := ecdsaCert(t)

	t.Run("New", func(t *testing.T) {
		tests := []struct {
			name string
			mod  func(*alipay.Config)
		}{
			{"ErrNoRoot", func(c *alipay.Config) { c.AlipayRootCertPEM = "" }},
			{"ErrNoAlipayCert", func(c *alipay.Config) { c.AlipayCertPEM = "" }},
			{"ErrNoAppCert", func(c *alipay.Config) { c.AppCertPEM = "" }},
			{"ErrAlsoPublicKey", func(c *alipay.Config) { c.AlipayPublicKeyPEM = e.sim.PublicKeyPEM() }},
			{"ErrAppCertOfAnotherKey", func(c *alipay.Config) { c.AppCertPEM = otherCert }},
			{"ErrAppCertNotACert", func(c *alipay.Config) { c.AppCertPEM = merchantPKCS1 }},
			{"ErrAlipayCertNotACert", func(c *alipay.Config) { c.AlipayCertPEM = e.sim.PublicKeyPEM() }},
			{"ErrAlipayCertNotRSA", func(c *alipay.Config) { c.AlipayCertPEM = ecRoot }},
			{"ErrRootNotRSA", func(c *alipay.Config) { c.AlipayRootCertPEM = ecRoot }},
			{"ErrRootGarbage", func(c *alipay.Config) { c.AlipayRootCertPEM = "not a certificate" }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cfg := e.certConfig(cm.appCert)
				tt.mod(&cfg)
				_, err := alipay.New(alipay.ChannelQR, cfg)
				wantCode(t, err, polypay.EInvalid, "")
			})
		}
		t.Run("OKRootFileWithOtherCerts", func(t *testing.T) {
			// Alipay's root file mixes RSA roots with others (ECC, SM2).
			cfg := e.certConfig(cm.appCert)
			cfg.AlipayRootCertPEM = ecRoot + e.sim.RootCertPEM()
			c, err := alipay.New(alipay.ChannelQR, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreateCharge(ctx, polypay.ChannelRequest{Charge: charge("ch_cert_mixed", 100), NotifyURL: e.notifyURL}); err != nil {
				t.Fatalf("CreateCharge: %v", err)
			}
		})
	})
	t.Run("ErrPublicKeyConnectorOnCertApp", func(t *testing.T) {
		c := newConn(t, e.gateway, merchantPKCS1, e.sim.PublicKeyPEM())
		_, err := c.CreateCharge(ctx, polypay.ChannelRequest{Charge: charge("ch_cert_pk", 100), NotifyURL: e.notifyURL})
		wantCode(t, err, polypay.EChannel, "isv.missing-app-cert-sn")
	})
	t.Run("ErrOtherRoot", func(t *testing.T) {
		cfg := e.certConfig(cm.appCert)
		cfg.AlipayRootCertPEM = otherCert // RSA-signed, but not the sim's root
		c, err := alipay.New(alipay.ChannelQR, cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CreateCharge(ctx, polypay.ChannelRequest{Charge: charge("ch_cert_root", 100), NotifyURL: e.notifyURL})
		wantCode(t, err, polypay.EChannel, "isv.invalid-alipay-root-cert-sn")
	})
	t.Run("ErrBadSignatureUnknownAlipayCert", func(t *testing.T) {
		// The answer names the sim's alipay_cert_sn; a connector that was
		// given another Alipay certificate has no key for it and refuses
		// the answer rather than trusting a key it was not given.
		cfg := e.certConfig(cm.appCert)
		cfg.AlipayCertPEM = otherCert
		c, err := alipay.New(alipay.ChannelQR, cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.QueryCharge(ctx, charge("ch_cert_unknown", 100))
		if !errors.Is(err, polypay.ErrBadSignature) {
			t.Fatalf("QueryCharge: %v, want ErrBadSignature", err)
		}
	})
	t.Run("ErrBadSignatureNotificationOtherKey", func(t *testing.T) {
		// Notifications carry no serial: they are checked with the Alipay
		// certificate's key, and one signed with another key fails.
		// A serial added to the form (unsigned, as the SDK treats it) does
		// not choose the key either.
		v := url.Values{"notify_id": {"n1"}, "notify_type": {"trade_status_sync"}, "app_id": {appID}, "out_trade_no": {"ch_x"},
			"trade_no": {"2026112122001400000000000009"}, "trade_status": {"TRADE_SUCCESS"}, "total_amount": {"1.00"}}
		for _, tt := range []struct {
			name string
			key  *rsa.PrivateKey
			ok   bool
		}{{"OtherKey", otherKey, false}, {"PlatformKey", platformKey, true}} {
			w := url.Values{}
			for k, x := range v {
				w[k] = x
			}
			signNotification(w, tt.key)
			w.Set("alipay_cert_sn", "0123456789abcdef0123456789abcdef")
			n, err := e.conn.ParseNotification(ctx, polypay.NotifyRequest{Body: []byte(w.Encode())})
			if tt.ok && err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if !tt.ok && !errors.Is(err, polypay.ErrBadSignature) {
				t.Fatalf("%s: %+v, %v; want ErrBadSignature", tt.name, n, err)
			}
		}
	})
}

// ecdsaCert is a self-signed ECDSA certificate: neither a usable Alipay
// certificate nor an RSA root.
func ecdsaCert(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "EC root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
