package unionpaysim

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const merID = "777290058110048"

var merchantKey, strangerKey = mustKey(), mustKey()

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

type backend struct {
	sim *Sim
	srv *httptest.Server

	mu       sync.Mutex
	notified []url.Values
	hook     *httptest.Server
}

func newBackend(t *testing.T) *backend {
	b := &backend{}
	b.sim = New(Options{Merchant: func(id string) (*Merchant, bool) {
		if id != merID {
			return nil, false
		}
		return &Merchant{MerID: merID, CertID: "123456789", PublicKey: &merchantKey.PublicKey}, true
	}})
	b.srv = httptest.NewServer(b.sim)
	b.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		b.mu.Lock()
		b.notified = append(b.notified, r.PostForm)
		b.mu.Unlock()
	}))
	t.Cleanup(func() { b.sim.Close(); b.srv.Close(); b.hook.Close() })
	return b
}

func (b *backend) request(txnType, orderID string, key *rsa.PrivateKey, mod func(map[string]string)) map[string]string {
	v := map[string]string{"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "certId": "123456789", "merId": merID,
		"accessType": "0", "txnType": txnType, "txnSubType": "01", "bizType": "000201", "channelType": "08",
		"orderId": orderID, "txnTime": time.Now().In(cst).Format("20060102150405"), "txnAmt": "1000", "currencyCode": "156",
		"backUrl": b.hook.URL, "frontUrl": "https://merchant.example/r"}
	if mod != nil {
		mod(v)
	}
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, hashed(v))
	v["signature"] = base64.StdEncoding.EncodeToString(sig)
	return v
}

func post(t *testing.T, u string, v map[string]string) (int, string) {
	t.Helper()
	f := url.Values{}
	for k, x := range v {
		f.Set(k, x)
	}
	res, err := http.PostForm(u, f)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func answer(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kv := range strings.Split(body, "&") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

func TestRequestsAreAuthenticated(t *testing.T) {
	b := newBackend(t)
	app := b.srv.URL + "/gateway/api/appTransReq.do"
	tests := []struct {
		name, code string
		key        *rsa.PrivateKey
		mod        func(map[string]string)
	}{
		{"ErrStrangerKey", "11", strangerKey, nil},
		{"ErrCertID", "11", merchantKey, func(v map[string]string) { v["certId"] = "999" }},
		{"ErrUnknownMerchant", "31", merchantKey, func(v map[string]string) { v["merId"] = "777000000000000" }},
		{"ErrMissingAmount", "13", merchantKey, func(v map[string]string) { delete(v, "txnAmt") }},
		{"ErrVersion", "10", merchantKey, func(v map[string]string) { v["version"] = "5.0.0" }},
		{"OK", "00", merchantKey, nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, body := post(t, app, b.request("01", "ord0000000"+string(rune('a'+i)), tc.key, tc.mod))
			a := answer(t, body)
			if st != 200 || a["respCode"] != tc.code || a["signature"] == "" || !strings.Contains(a["signPubKeyCert"], "BEGIN CERTIFICATE") {
				t.Fatalf("answer %d %s, want respCode %s", st, body, tc.code)
			}
			if tc.code == "00" && len(a["tn"]) != 21 {
				t.Fatalf("tn = %q", a["tn"])
			}
		})
	}
}

// TestCardPage walks the browser flow: the form, a wrong SMS code, then
// payment, which posts the signed front notification to frontUrl and the
// back notification to backUrl.
func TestCardPage(t *testing.T) {
	b := newBackend(t)
	_, page := post(t, b.srv.URL+"/gateway/api/frontTransReq.do", b.request("01", "ordFront0001", merchantKey, nil))
	if !strings.Contains(page, `name="card"`) || !strings.Contains(page, "10.00") {
		t.Fatalf("card page: %s", page)
	}
	tn := between(page, `name="tn" value="`, `"`)
	pay := b.srv.URL + "/cashier/pay"
	if _, p := post(t, pay, map[string]string{"tn": tn, "card": TestCard, "sms": "000000", "action": "pay"}); !strings.Contains(p, "短信验证码错误") {
		t.Fatalf("wrong sms accepted: %s", p)
	}
	if _, p := post(t, pay, map[string]string{"tn": tn, "card": "6216261000000000019", "sms": TestSMSCode, "action": "pay"}); !strings.Contains(p, "卡号无效") {
		t.Fatalf("bad card accepted: %s", p)
	}
	_, ret := post(t, pay, map[string]string{"tn": tn, "card": TestCard, "sms": TestSMSCode, "action": "pay"})
	if !strings.Contains(ret, `action="https://merchant.example/r"`) || !strings.Contains(ret, `name="signature"`) {
		t.Fatalf("return page: %s", ret)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.notified) != 1 || b.notified[0].Get("orderId") != "ordFront0001" || b.notified[0].Get("respCode") != "00" {
		t.Fatalf("back notifications = %v", b.notified)
	}
	v := map[string]string{}
	for k := range b.notified[0] {
		v[k] = b.notified[0].Get(k)
	}
	cert := parsePEM(t, v["signPubKeyCert"])
	if !verify(cert.PublicKey.(*rsa.PublicKey), v) {
		t.Fatal("back notification does not verify with its signPubKeyCert")
	}
}

func TestApplePayToken(t *testing.T) {
	b := newBackend(t)
	_, body := post(t, b.srv.URL+"/gateway/api/appTransReq.do", b.request("01", "ordApple0001", merchantKey, nil))
	tn := answer(t, body)["tn"]
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		token []byte
		ok    bool
	}{
		{"ErrWrongAmount", NewApplePayToken(999, TestCard), false},
		{"ErrBadCard", NewApplePayToken(1000, "6216261000000000019"), false},
		{"ErrGarbage", []byte(`{"paymentData":{}}`), false},
		{"OK", NewApplePayToken(1000, TestCard), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := b.sim.ApplePay(ctx, tn, tc.token, true); (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}

func parsePEM(t *testing.T, p string) *x509.Certificate {
	t.Helper()
	c, err := parseCertPEM(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parseCertPEM(p string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("not PEM")
	}
	return x509.ParseCertificate(b.Bytes)
}
