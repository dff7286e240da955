package alipay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
	"github.com/smartwalle/nsign"
)

// The golden vectors in testdata (see testdata/README.md) pin Alipay's RSA2
// signature: the parameter set, the sorted string to sign and the base64
// signature, made with openssl. These tests recompute both with the code
// the connector signs and verifies with, and check the signatures with
// openssl itself.

const goldenAppID = "2021000000000001"

func readGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// goldenParams reads a *_params.json file as the form values it stands for.
func goldenParams(t *testing.T, name string) url.Values {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(readGolden(t, name)), &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	v := url.Values{}
	for k, s := range m {
		v.Set(k, s)
	}
	return v
}

// goldenClient is a connector whose app key and Alipay public key are both
// the golden test key.
func goldenClient(t *testing.T, gateway string) *Client {
	t.Helper()
	c, err := New(ChannelQR, Config{
		AppID:              goldenAppID,
		PrivateKeyPEM:      readGolden(t, "rsa2048_key.pem"),
		AlipayPublicKeyPEM: readGolden(t, "rsa2048_pub.pem"),
		Gateway:            gateway,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sdkContent is the string smartwalle/alipay's signer signs: its own
// Encoder with the given keys ignored.
func sdkContent(t *testing.T, v url.Values, ignore ...string) string {
	t.Helper()
	opts := &nsign.SignOptions{Ignores: map[string]struct{}{}}
	for _, k := range ignore {
		opts.Ignores[k] = struct{}{}
	}
	b, err := sdk.Encoder{}.EncodeValues(new(bytes.Buffer), v, opts)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// opensslVerify checks sig (base64) over content with the golden public key
// using the openssl CLI, an implementation sharing no code with Go's.
func opensslVerify(t *testing.T, content, sigB64 string) error {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sigB64))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{"sig": sig, "data": []byte(content)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", filepath.Join("testdata", "rsa2048_pub.pem"),
		"-signature", filepath.Join(dir, "sig"), filepath.Join(dir, "data")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		return errors.New("openssl: " + strings.TrimSpace(string(out)))
	}
	return nil
}

func TestGoldenRequest(t *testing.T) {
	params := goldenParams(t, "request_params.json")
	wantContent := readGolden(t, "request_sign_content.txt")
	wantSign := strings.TrimSpace(readGolden(t, "request_sign.b64"))
	c := goldenClient(t, "http://127.0.0.1/gateway.do")

	t.Run("SignContent", func(t *testing.T) {
		if got := sdkContent(t, params, "sign"); got != wantContent {
			t.Fatalf("string to sign\n got %s\nwant %s", got, wantContent)
		}
		if !strings.Contains(wantContent, "&sign_type=RSA2&") {
			t.Fatal("a request's string to sign must include sign_type")
		}
	})
	t.Run("Signature", func(t *testing.T) {
		sig, err := c.api.SignValues(params)
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.StdEncoding.EncodeToString(sig); got != wantSign {
			t.Fatalf("signature\n got %s\nwant %s", got, wantSign)
		}
	})
	t.Run("OpenSSL", func(t *testing.T) {
		if err := opensslVerify(t, wantContent, wantSign); err != nil {
			t.Fatal(err)
		}
		// Leaving sign_type out (the notification rule) must not verify.
		if err := opensslVerify(t, strings.Replace(wantContent, "&sign_type=RSA2", "", 1), wantSign); err == nil {
			t.Fatal("openssl accepted the signature over the string without sign_type")
		}
	})
	t.Run("ConnectorSends", func(t *testing.T) {
		// The golden parameters are what CreateCharge really sends for the
		// golden charge; only timestamp (the SDK reads the wall clock) and
		// hence sign differ, and that sign verifies by the same rule.
		got := make(chan url.Values, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseForm(); err == nil {
				select {
				case got <- r.PostForm:
				default:
				}
			}
			http.Error(w, "captured", http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		c := goldenClient(t, srv.URL+"/gateway.do")
		ch := &polypay.Charge{ID: "ch_golden0000000000000001", Amount: 29, Currency: "cny",
			Subject: "金色测试 Golden & Co.", Body: "向量=1 <b>",
			TimeExpire: time.Date(2026, 11, 21, 12, 0, 0, 0, cst).Unix()}
		_, _ = c.CreateCharge(context.Background(), polypay.ChannelRequest{Charge: ch,
			NotifyURL: "https://merchant.example/notify/alipay_qr?app=app_1&n=2"})
		var sent url.Values
		select {
		case sent = <-got:
		default:
			t.Fatal("the connector sent no request")
		}
		for k := range params {
			if k != "timestamp" && sent.Get(k) != params.Get(k) {
				t.Errorf("%s = %q, want %q", k, sent.Get(k), params.Get(k))
			}
		}
		for k := range sent {
			if !params.Has(k) && k != "sign" {
				t.Errorf("unexpected parameter %s=%q", k, sent.Get(k))
			}
		}
		if _, err := time.ParseInLocation(timeLayout, sent.Get("timestamp"), cst); err != nil {
			t.Errorf("timestamp %q: %v", sent.Get("timestamp"), err)
		}
		sig, err := base64.StdEncoding.DecodeString(sent.Get("sign"))
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256([]byte(sdkContent(t, sent, "sign")))
		if err := rsa.VerifyPKCS1v15(goldenPub(t), crypto.SHA256, d[:], sig); err != nil {
			t.Fatalf("the connector's own request signature: %v", err)
		}
	})
}

func TestGoldenNotification(t *testing.T) {
	params := goldenParams(t, "notify_params.json")
	wantContent := readGolden(t, "notify_sign_content.txt")
	wantSign := strings.TrimSpace(readGolden(t, "notify_sign.b64"))
	c := goldenClient(t, "http://127.0.0.1/gateway.do")

	t.Run("SignContent", func(t *testing.T) {
		if got := sdkContent(t, params, "sign", "sign_type"); got != wantContent {
			t.Fatalf("string to sign\n got %s\nwant %s", got, wantContent)
		}
		if strings.Contains(wantContent, "sign_type") {
			t.Fatal("a notification's string to sign must leave sign_type out")
		}
	})
	t.Run("Signature", func(t *testing.T) {
		sig, err := c.api.SignValues(params, nsign.WithIgnore("sign", "sign_type"))
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.StdEncoding.EncodeToString(sig); got != wantSign {
			t.Fatalf("signature\n got %s\nwant %s", got, wantSign)
		}
	})
	t.Run("OpenSSL", func(t *testing.T) {
		if err := opensslVerify(t, wantContent, wantSign); err != nil {
			t.Fatal(err)
		}
	})

	body := func(mod func(url.Values)) []byte {
		v := url.Values{}
		for k, s := range params {
			v[k] = append([]string(nil), s...)
		}
		v.Set("sign", wantSign)
		if mod != nil {
			mod(v)
		}
		return []byte(v.Encode())
	}
	parse := func(b []byte) (*polypay.Notification, error) {
		r := httptest.NewRequest(http.MethodPost, "/notify/alipay_qr", bytes.NewReader(b))
		return c.ParseNotification(context.Background(), polypay.NewNotifyRequest(r, b))
	}
	t.Run("ConnectorAccepts", func(t *testing.T) {
		n, err := parse(body(nil))
		if err != nil {
			t.Fatal(err)
		}
		paid, _ := parseTime("2026-11-21 10:00:05")
		want := polypay.Trade{State: polypay.TradePaid, OutTradeNo: "ch_golden0000000000000001",
			TransactionNo: "2026112122001400000000000001", Amount: 29, PaidAt: paid}
		if n.Kind != polypay.NotifyTrade || n.ID != "2026112100222100005000000000000001" || n.MerchantID != goldenAppID ||
			n.Trade.State != want.State || n.Trade.OutTradeNo != want.OutTradeNo || n.Trade.TransactionNo != want.TransactionNo ||
			n.Trade.Amount != want.Amount || n.Trade.PaidAt != want.PaidAt {
			t.Fatalf("got %+v, want trade %+v", n, want)
		}
	})
	t.Run("ErrBadSignatureTampered", func(t *testing.T) {
		_, err := parse(body(func(v url.Values) { v.Set("total_amount", "0.30") }))
		if !errors.Is(err, polypay.ErrBadSignature) {
			t.Fatalf("tampered notification: %v, want ErrBadSignature", err)
		}
	})
}

func goldenPub(t *testing.T) *rsa.PublicKey {
	t.Helper()
	block, _ := pem.Decode([]byte(readGolden(t, "rsa2048_pub.pem")))
	if block == nil {
		t.Fatal("rsa2048_pub.pem is not PEM")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("rsa2048_pub.pem holds a %T", k)
	}
	return pub
}
