package gateway_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/polypay/polypay/store/storetest"
)

func TestChannelCredentials(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	priv := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	weakPriv := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(weak)}))
	path := "/v1/apps/" + e.app.AppID + "/channels"
	params := func(p map[string]any) map[string]any { return map[string]any{"channel": "alipay", "params": p} }
	type credCase struct {
		name   string
		key    string
		body   any
		status int
		param  string
	}
	tests := []credCase{
		{"ErrMissingPrivateKey", e.app.SecretKeyLive, params(map[string]any{"app_id": "2021000000000001", "alipay_public_key": pub}), 400, "params[private_key]"},
		{"ErrGarbageKey", e.app.SecretKeyLive, params(map[string]any{"app_id": "2021000000000001", "private_key": "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "alipay_public_key": pub}), 400, "params"},
		{"ErrWeakKey", e.app.SecretKeyLive, params(map[string]any{"app_id": "2021000000000001", "private_key": weakPriv, "alipay_public_key": pub}), 400, "params[private_key]"},
		{"ErrUnknownFamily", e.app.SecretKeyLive, map[string]any{"channel": "bitcoin", "params": map[string]any{}}, 400, "channel"},
		{"ErrTestKeyRealCredentials", e.sk(), params(map[string]any{"app_id": "2021000000000001", "private_key": priv, "alipay_public_key": pub}), 400, "params"},
		{"OKLive", e.app.SecretKeyLive, params(map[string]any{"app_id": "2021000000000001", "private_key": priv, "alipay_public_key": pub}), 200, ""},
	}
	// Certificate mode: the sandbox Alipay issues the certificates.
	sim := e.node.Sandbox.AlipaySim()
	appCert, err := sim.IssueAppCert("2021000000000002", &k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	otherCert, _ := sim.IssueAppCert("2021000000000002", &weak.PublicKey)
	certParams := func(app string) map[string]any {
		return params(map[string]any{"app_id": "2021000000000002", "private_key": priv, "app_cert": app,
			"alipay_cert": sim.AlipayCertPEM(), "alipay_root_cert": sim.RootCertPEM()})
	}
	tests = append(tests,
		credCase{"ErrCertNotForKey", e.app.SecretKeyLive, certParams(otherCert), 400, "params"},
		credCase{"OKLiveCertMode", e.app.SecretKeyLive, certParams(appCert), 200, ""},
	)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", path, tc.key, tc.body)
			if r.Status != tc.status || r.str("error", "param") != tc.param {
				t.Fatalf("got %d %s, want %d param %q", r.Status, r.Body, tc.status, tc.param)
			}
		})
	}
	got := e.do("GET", path+"/alipay", e.app.SecretKeyLive, nil)
	if got.Status != 200 || strings.Contains(string(got.Body), "PRIVATE KEY") || !strings.HasPrefix(got.str("params", "private_key"), "redacted sha256:") {
		t.Fatalf("describe leaks or fails: %d %s", got.Status, got.Body)
	}
	other, _ := e.node.CreateApp(ctx, "other")
	if r := e.do("GET", path+"/alipay", other.SecretKeyLive, nil); r.Status != 404 {
		t.Fatalf("another app's credentials: %d %s", r.Status, r.Body)
	}
	// Live charges now go to the configured (unreachable, real) host and
	// fail as a channel error, never touching the simulator.
	live := e.do("POST", "/v1/charges", e.app.SecretKeyLive, e.chargeBody("LIVECH1", 100))
	if live.Status == 200 {
		t.Fatalf("live charge succeeded without a reachable channel: %s", live.Body)
	}
}
