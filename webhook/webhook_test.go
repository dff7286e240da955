package webhook_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polypay/polypay/webhook"
)

func newSigner(t *testing.T) (*webhook.Signer, *rsa.PrivateKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := webhook.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s, k
}

func TestVerify(t *testing.T) {
	s, _ := newSigner(t)
	old, _ := newSigner(t)
	body := []byte(`{"id":"evt_1","object":"event","acct_display_name":"xx公司"}`)
	sig := s.Sign(body)
	tests := []struct {
		name string
		body []byte
		sig  string
		keys [][]byte
		want error
	}{
		{"OK", body, sig, [][]byte{s.PublicKeyPEM()}, nil},
		{"OKRotation", body, sig, [][]byte{old.PublicKeyPEM(), s.PublicKeyPEM()}, nil},
		{"ErrNoSignature", body, "", [][]byte{s.PublicKeyPEM()}, webhook.ErrNoSignature},
		{"ErrTampered", []byte(strings.Replace(string(body), "evt_1", "evt_2", 1)), sig, [][]byte{s.PublicKeyPEM()}, webhook.ErrBadSignature},
		{"ErrWrongKey", body, sig, [][]byte{old.PublicKeyPEM()}, webhook.ErrBadSignature},
		{"ErrNotBase64", body, "%%%", [][]byte{s.PublicKeyPEM()}, webhook.ErrBadSignature},
		{"ErrBadKey", body, sig, [][]byte{[]byte("not a key")}, webhook.ErrBadKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := webhook.Verify(tc.body, tc.sig, tc.keys...)
			if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestOpenSSLVerifiesSignature: an implementation we did not write accepts
// our webhook signatures with the public key we publish.
func TestOpenSSLVerifiesSignature(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	s, _ := newSigner(t)
	dir := t.TempDir()
	body := []byte(`{"type":"charge.succeeded","data":{"object":{"subject":"测试"}}}`)
	sig, _ := base64.StdEncoding.DecodeString(s.Sign(body))
	files := map[string][]byte{"pub.pem": s.PublicKeyPEM(), "body": body, "sig": sig, "other": []byte(string(body) + " ")}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(data string) error {
		return exec.Command("openssl", "dgst", "-sha256", "-verify", filepath.Join(dir, "pub.pem"),
			"-signature", filepath.Join(dir, "sig"), filepath.Join(dir, data)).Run()
	}
	if err := run("body"); err != nil {
		t.Fatalf("openssl rejected our signature: %v", err)
	}
	if err := run("other"); err == nil {
		t.Fatal("openssl accepted the signature over other bytes")
	}
}
