package unionpay_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/polypay/polypay/channel/unionpay"
)

func readFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSignMatchesOpenSSL checks the signing string against the golden one
// and the digest and signature against openssl: signMethod 01 signs the
// lowercase hex SHA-256 of the signing string with RSA-SHA256.
func TestSignMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH")
	}
	var fields map[string]string
	if err := json.Unmarshal([]byte(readFile(t, "request_fields.json")), &fields); err != nil {
		t.Fatal(err)
	}
	want := readFile(t, "request_sign_content.txt")
	if got := unionpay.SigningString(fields); got != want {
		t.Fatalf("signing string\n got %s\nwant %s", got, want)
	}
	dir := t.TempDir()
	content := filepath.Join(dir, "content.txt")
	os.WriteFile(content, []byte(want), 0o600)
	out, err := exec.Command("openssl", "dgst", "-sha256", "-hex", "-r", content).Output()
	if err != nil {
		t.Fatal(err)
	}
	digestHex := strings.Fields(string(out))[0]
	sum := sha256.Sum256([]byte(want))
	if digestHex != hex.EncodeToString(sum[:]) {
		t.Fatalf("openssl digest %s, ours %x", digestHex, sum)
	}
	digestFile := filepath.Join(dir, "digest.txt")
	os.WriteFile(digestFile, []byte(digestHex), 0o600)

	block, _ := pem.Decode([]byte(readFile(t, "rsa2048_key.pem")))
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := unionpay.Sign(key, fields); err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(fields["signature"])
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OpenSSLSignsTheSame", func(t *testing.T) {
		theirs, err := exec.Command("openssl", "dgst", "-sha256", "-sign", filepath.Join("testdata", "rsa2048_key.pem"), digestFile).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(theirs, sig) {
			t.Fatal("openssl's PKCS#1 v1.5 signature differs from ours")
		}
	})
	verify := func(sig []byte) error {
		sf := filepath.Join(dir, "sig.bin")
		os.WriteFile(sf, sig, 0o600)
		return exec.Command("openssl", "dgst", "-sha256", "-verify", filepath.Join("testdata", "rsa2048_pub.pem"), "-signature", sf, digestFile).Run()
	}
	t.Run("OpenSSLVerifies", func(t *testing.T) {
		if err := verify(sig); err != nil {
			t.Fatalf("openssl -verify: %v", err)
		}
	})
	t.Run("ErrTamperedSignature", func(t *testing.T) {
		bad := append([]byte(nil), sig...)
		bad[10] ^= 1
		if verify(bad) == nil {
			t.Fatal("openssl verified a tampered signature")
		}
	})
}

func TestParseResponse(t *testing.T) {
	golden := readFile(t, "query_response.txt")
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"Simple", "a=1&b=2", map[string]string{"a": "1", "b": "2"}, false},
		{"EmptyValue", "a=&b=2", map[string]string{"a": "", "b": "2"}, false},
		{"EqualsInValue", "signature=YWJj==&x=1", map[string]string{"signature": "YWJj==", "x": "1"}, false},
		{"BracesHoldAmpersand", "r={a=1&b=2}&c=3", map[string]string{"r": "{a=1&b=2}", "c": "3"}, false},
		{"NestedBraces", "r={a={x&y}&b=2}", map[string]string{"r": "{a={x&y}&b=2}"}, false},
		{"TrailingNewline", "a=1\r\n", map[string]string{"a": "1"}, false},
		{"PEMValue", "c=-----BEGIN CERTIFICATE-----\r\nMII+/=\r\n-----END CERTIFICATE-----&d=1",
			map[string]string{"c": "-----BEGIN CERTIFICATE-----\r\nMII+/=\r\n-----END CERTIFICATE-----", "d": "1"}, false},
		{"ErrUnbalancedOpen", "r={a=1&b=2", nil, true},
		{"ErrUnbalancedClose", "r=a}&b=2", nil, true},
		{"ErrNoEquals", "abc", nil, true},
		{"ErrDuplicate", "a=1&a=2", nil, true},
		{"ErrEmptyKey", "=1", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := unionpay.ParseResponse(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("Golden", func(t *testing.T) {
		got, err := unionpay.ParseResponse(golden)
		if err != nil {
			t.Fatal(err)
		}
		if got["reqReserved"] != "{orderNo=A1&note=x=y}" || got["origRespMsg"] != "成功[0000000]" || got["txnAmt"] != "1000" || len(got) != 21 {
			t.Fatalf("golden answer parsed as %v (%d fields)", got, len(got))
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add("a=1&b=2")
	f.Add("r={a=1&b={c&d}}&x=")
	f.Add("r={")
	f.Add("}=&=")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := unionpay.ParseResponse(s)
		if err != nil {
			return
		}
		// Whatever parses has balanced values and no '&' at depth 0.
		for k, v := range m {
			if k == "" || strings.ContainsAny(k, "&{}") {
				t.Fatalf("bad key %q", k)
			}
			depth := 0
			for _, c := range v {
				switch c {
				case '{':
					depth++
				case '}':
					depth--
				case '&':
					if depth == 0 {
						t.Fatalf("value %q of %s holds a top-level '&'", v, k)
					}
				}
				if depth < 0 {
					t.Fatalf("value %q unbalanced", v)
				}
			}
		}
	})
}
