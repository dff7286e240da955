package alipaysim

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGolden checks the simulator against the connector's golden vectors
// (channel/alipay/testdata, made with openssl): the sim must build the same
// strings to sign, produce the same signatures and accept them, so that the
// sim and the connector cannot drift apart together.
func TestGolden(t *testing.T) {
	dir := filepath.Join("..", "..", "channel", "alipay", "testdata")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	block, _ := pem.Decode([]byte(read("rsa2048_key.pem")))
	if block == nil {
		t.Fatal("rsa2048_key.pem is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key := k.(*rsa.PrivateKey)

	tests := []struct {
		name string
		skip []string
	}{
		{"request", []string{"sign"}},
		{"notify", []string{"sign", "sign_type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]string
			if err := json.Unmarshal([]byte(read(tt.name+"_params.json")), &m); err != nil {
				t.Fatal(err)
			}
			p := url.Values{}
			for k, v := range m {
				p.Set(k, v)
			}
			want := read(tt.name + "_sign_content.txt")
			wantSign := strings.TrimSpace(read(tt.name + "_sign.b64"))
			if got := signContent(p, tt.skip...); got != want {
				t.Fatalf("string to sign\n got %s\nwant %s", got, want)
			}
			if err := verify(&key.PublicKey, "RSA2", []byte(want), wantSign); err != nil {
				t.Fatalf("the sim rejects the golden signature: %v", err)
			}
			got, err := signBytes(key, "RSA2", []byte(want))
			if err != nil {
				t.Fatal(err)
			}
			if got != wantSign {
				t.Fatalf("signature\n got %s\nwant %s", got, wantSign)
			}
		})
	}
}
