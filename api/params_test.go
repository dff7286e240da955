package api

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
)

func TestParseBodyAcceptsSDKEmptyForms(t *testing.T) {
	for _, raw := range []string{"", "null", "{}", "[]", " \n"} {
		t.Run(strconv.Quote(raw), func(t *testing.T) {
			b, err := parseBody([]byte(raw))
			if err != nil || len(b.m) != 0 {
				t.Fatalf("parseBody(%q) = %v, %v; want empty", raw, b, err)
			}
		})
	}
}

func TestParseChargeParamsExtraArray(t *testing.T) {
	// PHP sends "extra":[] and "metadata":[] for empty arrays.
	raw := `{"order_no":"A1","app":{"id":"app_x"},"channel":"alipay_qr","amount":1,"client_ip":"::1","currency":"cny","subject":"s","body":"b","extra":[],"metadata":[]}`
	p, err := parseChargeParams([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Extra) != "{}" || string(p.Metadata) != "{}" {
		t.Fatalf("extra %s metadata %s, want {} {}", p.Extra, p.Metadata)
	}
}

// FuzzParseChargeParams: any body yields params or a Ping++ parameter
// error, never a panic, and accepted amounts are always in range.
func FuzzParseChargeParams(f *testing.F) {
	f.Add([]byte(`{"order_no":"A1","app":{"id":"app_x"},"channel":"alipay_qr","amount":100,"client_ip":"127.0.0.1","currency":"cny","subject":"s","body":"b"}`))
	f.Add([]byte(`{"amount":1e3}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"metadata":{"a":{"b":1}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := parseChargeParams(raw)
		if err != nil {
			if polypay.ErrorCode(err) != polypay.EInvalid {
				t.Fatalf("error %v is not a parameter error", err)
			}
			return
		}
		if p.Amount <= 0 || p.Amount > 2147483647 || p.OrderNo == "" || p.AppID == "" {
			t.Fatalf("accepted bad params %+v", p)
		}
	})
}

func FuzzParseRefundParams(f *testing.F) {
	f.Add([]byte(`{"amount":1,"description":"d"}`))
	f.Add([]byte(`{"description":""}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := parseRefundParams(raw)
		if err == nil && p.Amount < 0 {
			t.Fatalf("accepted negative amount %+v", p)
		}
	})
}

// TestRequestSignatureOpenSSL signs requests with openssl, an
// implementation we did not write, the way each Ping++ SDK does.
func TestRequestSignatureOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyFile := filepath.Join(dir, "k.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	now := time.Unix(1700000000, 0)
	sign := func(msg string) string {
		cmd := exec.Command("openssl", "dgst", "-sha256", "-sign", keyFile)
		cmd.Stdin = strings.NewReader(msg)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(out)
	}
	ts := "1700000000"
	body := `{"amount":1}`
	tests := []struct {
		name, method, target, body, signed, ts string
		ok                                     bool
	}{
		{"OKPost", "POST", "/v1/charges", body, body + "/v1/charges" + ts, ts, true},
		{"OKGetQuery", "GET", "/v1/charges?app%5Bid%5D=app_1&limit=3", "", "/v1/charges?app%5Bid%5D=app_1&limit=3" + ts, ts, true},
		{"OKNodeTrailingQ", "GET", "/v1/charges/ch_1?", "", "/v1/charges/ch_1?" + ts, ts, true},
		{"OKPHPPostNoQuery", "POST", "/v1/charges?x=1", body, body + "/v1/charges" + ts, ts, true},
		{"ErrTamperedBody", "POST", "/v1/charges", `{"amount":2}`, body + "/v1/charges" + ts, ts, false},
		{"ErrOtherPath", "POST", "/v1/refunds", body, body + "/v1/charges" + ts, ts, false},
		{"ErrStale", "POST", "/v1/charges", body, body + "/v1/charges" + "1699990000", "1699990000", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, bytes.NewReader([]byte(tc.body)))
			r.Header.Set("Pingplusplus-Signature", sign(tc.signed))
			r.Header.Set("Pingplusplus-Request-Timestamp", tc.ts)
			err := verifyRequestSignature(r, []byte(tc.body), string(pub), now)
			if (err == nil) != tc.ok {
				t.Fatalf("verify: err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	t.Run("ErrMissingOnPost", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/v1/charges", nil)
		if err := verifyRequestSignature(r, nil, string(pub), now); err == nil {
			t.Fatal("unsigned POST accepted")
		}
	})
	for _, method := range []string{"GET", "DELETE"} {
		t.Run("ErrMissingOn"+method, func(t *testing.T) {
			r := httptest.NewRequest(method, "/v1/webhook_endpoints/we_1", nil)
			if err := verifyRequestSignature(r, nil, string(pub), now); err == nil {
				t.Fatalf("unsigned %s accepted", method)
			}
		})
	}
}

func FuzzVerifyRequestSignature(f *testing.F) {
	key, _ := rsa.GenerateKey(rand.Reader, 1024)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	f.Add("/v1/charges", "c2ln", "1700000000", []byte("{}"))
	f.Fuzz(func(t *testing.T, target, sig, ts string, body []byte) {
		// The verifier reads only the method, headers and raw request target,
		// so any target string the server could see is fair game.
		r := &http.Request{Method: "POST", RequestURI: target, Header: http.Header{}}
		r.Header.Set("Pingplusplus-Signature", sig)
		r.Header.Set("Pingplusplus-Request-Timestamp", ts)
		if verifyRequestSignature(r, body, pub, time.Unix(1700000000, 0)) == nil {
			t.Fatalf("random signature %q accepted", sig)
		}
	})
}

// FuzzListQuery: any query string yields list parameters in range or a
// Ping++ parameter error, never a panic.
func FuzzListQuery(f *testing.F) {
	f.Add("app%5Bid%5D=app_1&limit=3&created%5Bgt%5D=1&paid=True")
	f.Add("limit=101")
	f.Add("expand[]=app&starting_after=ch_x")
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/v1/charges", RawQuery: raw}}
		q, err := parseQuery(r, "app[id]", "limit", "paid", "created[gt]", "starting_after", "expand", "expand[]")
		if err != nil {
			if polypay.ErrorCode(err) != polypay.EInvalid {
				t.Fatalf("error %v is not a parameter error", err)
			}
			return
		}
		if n, err := q.limit(); err == nil && (n < 1 || n > 100) {
			t.Fatalf("limit %d accepted", n)
		}
		q.bool("paid")
		q.int("created[gt]")
		q.expands("app")
	})
}
