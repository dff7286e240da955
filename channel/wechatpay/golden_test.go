package wechatpay_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/wechatpay"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// The golden vectors in testdata (see testdata/README.md) pin the request
// signature and the notification resource encryption of API v3.

const goldenSerial = "6B3C1F2A9D8E7F605142332415069788A9B0C1D2"

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func goldenKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode([]byte(golden(t, "rsa2048_key.pem")))
	if block == nil {
		t.Fatal("rsa2048_key.pem is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

// goldenConn is a connector whose merchant key and platform key are both
// the golden test key.
func goldenConn(t *testing.T, channel, base string) *wechatpay.Client {
	t.Helper()
	c, err := wechatpay.New(channel, wechatpay.Config{
		MchID: mchID, AppID: appID, MerchantSerialNo: goldenSerial, PrivateKeyPEM: golden(t, "rsa2048_key.pem"),
		APIv3Key: apiV3Key, PlatformPublicKeyPEM: golden(t, "rsa2048_pub.pem"), PlatformPublicKeyID: keyID, BaseURL: base,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// opensslVerify checks a base64 signature over message with the golden
// public key using the openssl CLI.
func opensslVerify(t *testing.T, message, sigB64 string) error {
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
	for name, b := range map[string][]byte{"sig": sig, "data": []byte(message)} {
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

type goldenRequest struct {
	Method       string `json:"method"`
	CanonicalURL string `json:"canonical_url"`
	Timestamp    string `json:"timestamp"`
	Nonce        string `json:"nonce"`
	Body         string `json:"body"`
}

func TestGoldenRequestSignature(t *testing.T) {
	key := goldenKey(t)
	for _, name := range []string{"sign_post", "sign_get"} {
		t.Run(name, func(t *testing.T) {
			var r goldenRequest
			if err := json.Unmarshal([]byte(golden(t, name+".json")), &r); err != nil {
				t.Fatal(err)
			}
			wantMsg := golden(t, name+"_message.txt")
			wantSig := strings.TrimSpace(golden(t, name+"_signature.b64"))

			ts, err := strconv.ParseInt(r.Timestamp, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			// The SDK's own message format, as GenerateAuthorizationHeader
			// fills it.
			msg := fmt.Sprintf(consts.SignatureMessageFormat, r.Method, r.CanonicalURL, ts, r.Nonce, r.Body)
			if msg != wantMsg {
				t.Fatalf("string to sign\n got %q\nwant %q", msg, wantMsg)
			}
			// The SDK's signer, as the connector installs it.
			s := &signers.SHA256WithRSASigner{MchID: mchID, CertificateSerialNo: goldenSerial, PrivateKey: key}
			res, err := s.Sign(context.Background(), msg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Signature != wantSig {
				t.Fatalf("signature\n got %s\nwant %s", res.Signature, wantSig)
			}
			if err := opensslVerify(t, wantMsg, wantSig); err != nil {
				t.Fatal(err)
			}
			// Without the trailing newline it must not verify.
			if err := opensslVerify(t, strings.TrimSuffix(wantMsg, "\n"), wantSig); err == nil {
				t.Fatal("openssl accepted the signature over the message without its last \\n")
			}
		})
	}
}

// TestGoldenConnectorSigns checks that what the connector really sends is
// signed by the golden rule: the string rebuilt from the request on the
// wire (method, path + query, Authorization's timestamp and nonce, body)
// verifies under the golden public key.
func TestGoldenConnectorSigns(t *testing.T) {
	key := goldenKey(t)
	type captured struct {
		method, uri, auth string
		body              []byte
	}
	got := make(chan captured, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case got <- captured{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), b}:
		default:
		}
		http.Error(w, `{"code":"SYSTEM_ERROR","message":"captured"}`, http.StatusInternalServerError)
	}))
	defer srv.Close()
	ctx := context.Background()

	qr := goldenConn(t, wechatpay.ChannelQR, srv.URL)
	_, _ = qr.CreateCharge(ctx, polypay.ChannelRequest{Charge: charge(wechatpay.ChannelQR, "golden", 29), NotifyURL: "https://merchant.example/notify/wechatpay"})
	_, _ = qr.QueryCharge(ctx, charge(wechatpay.ChannelQR, "golden", 29))

	for _, want := range []string{http.MethodPost, http.MethodGet} {
		var c captured
		select {
		case c = <-got:
		default:
			t.Fatalf("no %s request reached the server", want)
		}
		if c.method != want {
			t.Fatalf("method %s, want %s", c.method, want)
		}
		f := authFields(t, c.auth)
		if f["mchid"] != mchID || f["serial_no"] != goldenSerial || len(f["nonce_str"]) < 16 {
			t.Fatalf("Authorization %q", c.auth)
		}
		msg := c.method + "\n" + c.uri + "\n" + f["timestamp"] + "\n" + f["nonce_str"] + "\n" + string(c.body) + "\n"
		sig, err := base64.StdEncoding.DecodeString(f["signature"])
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256([]byte(msg))
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d[:], sig); err != nil {
			t.Fatalf("%s %s: the connector's signature does not follow the golden rule: %v", c.method, c.uri, err)
		}
	}
}

// authFields splits `WECHATPAY2-SHA256-RSA2048 k="v",k="v"`.
func authFields(t *testing.T, h string) map[string]string {
	t.Helper()
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || scheme != "WECHATPAY2-SHA256-RSA2048" {
		t.Fatalf("Authorization %q", h)
	}
	out := map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			t.Fatalf("Authorization field %q in %q", kv, h)
		}
		out[k] = v[1 : len(v)-1]
	}
	return out
}

type goldenResource struct {
	APIv3Key       string `json:"apiv3_key"`
	Algorithm      string `json:"algorithm"`
	OriginalType   string `json:"original_type"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
	Ciphertext     string `json:"ciphertext"`
}

func TestGoldenNotificationResource(t *testing.T) {
	var res goldenResource
	if err := json.Unmarshal([]byte(golden(t, "notify_resource.json")), &res); err != nil {
		t.Fatal(err)
	}
	plain := golden(t, "notify_resource_plain.json")
	if res.APIv3Key != apiV3Key {
		t.Fatalf("the golden APIv3 key differs from the tests' %q", apiV3Key)
	}

	t.Run("CryptoCipher", func(t *testing.T) {
		// Written here against crypto/cipher, sharing nothing with the SDK.
		block, err := aes.NewCipher([]byte(res.APIv3Key))
		if err != nil {
			t.Fatal(err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := base64.StdEncoding.DecodeString(res.Ciphertext)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) != len(plain)+aead.Overhead() {
			t.Fatalf("ciphertext is %d bytes, want plaintext %d + tag %d", len(ct), len(plain), aead.Overhead())
		}
		got, err := aead.Open(nil, []byte(res.Nonce), ct, []byte(res.AssociatedData))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != plain {
			t.Fatalf("plaintext\n got %s\nwant %s", got, plain)
		}
		if seal := aead.Seal(nil, []byte(res.Nonce), []byte(plain), []byte(res.AssociatedData)); !bytes.Equal(seal, ct) {
			t.Fatal("encrypting the plaintext does not give the golden ciphertext")
		}
	})
	t.Run("SDKDecrypt", func(t *testing.T) {
		// The function ParseNotification decrypts with.
		got, err := utils.DecryptAES256GCM(res.APIv3Key, res.AssociatedData, res.Nonce, res.Ciphertext)
		if err != nil || got != plain {
			t.Fatalf("DecryptAES256GCM = %q, %v", got, err)
		}
	})

	conn := goldenConn(t, wechatpay.ChannelQR, "http://127.0.0.1:1")
	envelope := func(r goldenResource) []byte {
		b, err := json.Marshal(map[string]any{
			"id": "EV-golden-1", "create_time": "2026-11-21T10:00:06+08:00", "resource_type": "encrypt-resource",
			"event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
			"resource": map[string]any{"original_type": r.OriginalType, "algorithm": r.Algorithm,
				"ciphertext": r.Ciphertext, "associated_data": r.AssociatedData, "nonce": r.Nonce},
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	parse := func(r goldenResource) (*polypay.Notification, error) {
		// The headers are signed now: the SDK refuses timestamps older than
		// five minutes. Only the resource is golden.
		body := envelope(r)
		h := http.Header{}
		signHeaders(h, goldenKey(t), keyID, time.Now().Unix(), body)
		return conn.ParseNotification(context.Background(), polypay.NewNotifyRequest(notifyRequest(body, h), body))
	}
	t.Run("ConnectorParses", func(t *testing.T) {
		n, err := parse(res)
		if err != nil {
			t.Fatal(err)
		}
		paid := time.Date(2026, 11, 21, 10, 0, 5, 0, time.FixedZone("CST", 8*3600)).Unix()
		if n.Kind != polypay.NotifyTrade || n.ID != "EV-golden-1" || n.MerchantID != mchID ||
			n.Trade.State != polypay.TradePaid || n.Trade.OutTradeNo != "ch_golden0000000000000001" ||
			n.Trade.TransactionNo != "4200000000202611210000000001" || n.Trade.Amount != 29 || n.Trade.PaidAt != paid {
			t.Fatalf("notification %+v", n)
		}
	})
	t.Run("ErrBadSignatureTamperedCiphertext", func(t *testing.T) {
		ct, _ := base64.StdEncoding.DecodeString(res.Ciphertext)
		ct[0] ^= 1
		r := res
		r.Ciphertext = base64.StdEncoding.EncodeToString(ct)
		if _, err := parse(r); !errors.Is(err, polypay.ErrBadSignature) {
			t.Fatalf("tampered ciphertext: %v, want ErrBadSignature", err)
		}
	})
	t.Run("ErrBadSignatureOtherAssociatedData", func(t *testing.T) {
		r := res
		r.AssociatedData = "refund"
		if _, err := parse(r); !errors.Is(err, polypay.ErrBadSignature) {
			t.Fatalf("other associated_data: %v, want ErrBadSignature", err)
		}
	})
}
