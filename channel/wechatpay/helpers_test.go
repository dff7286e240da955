package wechatpay_test

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/wechatpay"
	"github.com/polypay/polypay/sim/wechatsim"
)

const (
	mchID    = "1900000109"
	appID    = "wxd678efh567hg6787"
	serial   = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	apiV3Key = "0123456789abcdefghijABCDEFGHIJ01"
	keyID    = "PUB_KEY_ID_0119000001092026112100000000000001"
	openID   = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
	apiV2Key = "v2KEY0123456789abcdefghijklmnop1"
)

var allChannels = []string{wechatpay.ChannelApp, wechatpay.ChannelPub, wechatpay.ChannelLite, wechatpay.ChannelQR, wechatpay.ChannelWap, wechatpay.ChannelScan}

// Keys are generated once per test binary; 2048-bit generation dominates
// the run time otherwise.
var (
	platformKey, merchantKey, otherKey *rsa.PrivateKey
	merchantPKCS1, merchantPKCS8       string
	platformPub, otherPub, merchantPub string
	// merchantCert is the merchant API certificate (apiclient_cert.pem)
	// of merchantKey, under the serial the v3 calls sign with.
	merchantCert string
)

func TestMain(m *testing.M) {
	for _, k := range []**rsa.PrivateKey{&platformKey, &merchantKey, &otherKey} {
		var err error
		if *k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	}
	merchantPKCS1 = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(merchantKey)}))
	merchantPKCS8 = pkcs8(merchantKey)
	platformPub, otherPub, merchantPub = spki(&platformKey.PublicKey), spki(&otherKey.PublicKey), spki(&merchantKey.PublicKey)
	merchantCert = certPEM(merchantKey, serial)
	os.Exit(m.Run())
}

func pkcs8(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// certPEM self-signs a certificate of key with serial (hex).
func certPEM(key *rsa.PrivateKey, serialHex string) string {
	sn, ok := new(big.Int).SetString(serialHex, 16)
	if !ok {
		panic("bad serial " + serialHex)
	}
	tpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: mchID + " (test merchant)"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func spki(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// clock starts at the real time: the SDK checks response and notification
// timestamps against its own clock, as it does in production.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// received is one notification as the test merchant endpoint saw it.
type received struct {
	header http.Header
	body   []byte
	n      *polypay.Notification
	err    error
}

// env is the connectors talking to the simulator over real HTTP, with a
// merchant notify endpoint that parses notifications with a connector.
type env struct {
	sim       *wechatsim.Sim
	clock     *clock
	base      string
	notifyURL string
	conns     map[string]*wechatpay.Client

	mu      sync.Mutex
	got     []received
	answers []bool // ack per notification; the last one repeats
}

func config(base string) wechatpay.Config {
	return wechatpay.Config{
		MchID: mchID, AppID: appID, MerchantSerialNo: serial, PrivateKeyPEM: merchantPKCS8, APIv3Key: apiV3Key,
		PlatformPublicKeyPEM: platformPub, PlatformPublicKeyID: keyID, BaseURL: base,
		APIv2Key: apiV2Key, APICertPEM: merchantCert,
	}
}

func newEnv(t *testing.T, retry ...time.Duration) *env {
	t.Helper()
	return newEnvWith(t, nil, retry...)
}

// newEnvWith is newEnv with the simulator's handler behind wrap (nil: none).
func newEnvWith(t *testing.T, wrap func(http.Handler) http.Handler, retry ...time.Duration) *env {
	t.Helper()
	return newEnvOpts(t, wrap, nil, retry...)
}

// newEnvOpts is newEnvWith with the simulator's options changed by opts
// (nil: none).
func newEnvOpts(t *testing.T, wrap func(http.Handler) http.Handler, opts func(*wechatsim.Options), retry ...time.Duration) *env {
	t.Helper()
	if retry == nil {
		retry = []time.Duration{time.Hour}
	}
	e := &env{clock: &clock{t: time.Now()}, answers: []bool{true}, conns: map[string]*wechatpay.Client{}}
	o := wechatsim.Options{
		PrivateKey:  platformKey,
		PublicKeyID: keyID,
		Merchant:    simMerchant,
		Now:         e.clock.Now,
		Retry:       retry,
		UserPaying:  5 * time.Second,
		FeeRate:     60,
	}
	if opts != nil {
		opts(&o)
	}
	e.sim = wechatsim.New(o)
	// Mounted as the registry would: under a prefix, stripped.
	var simHandler http.Handler = e.sim
	if wrap != nil {
		simHandler = wrap(e.sim)
	}
	mux := http.NewServeMux()
	mux.Handle("/sim/wechatpay/", http.StripPrefix("/sim/wechatpay", simHandler))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.base = srv.URL + "/sim/wechatpay"
	for _, ch := range allChannels {
		e.conns[ch] = newConn(t, ch, config(e.base))
	}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		conn := e.conns[wechatpay.ChannelQR]
		n, err := conn.ParseNotification(r.Context(), polypay.NewNotifyRequest(r, body))
		e.mu.Lock()
		ack := e.answers[min(len(e.got), len(e.answers)-1)]
		e.got = append(e.got, received{r.Header.Clone(), body, n, err})
		e.mu.Unlock()
		conn.Ack(err == nil && ack).WriteResponse(w)
	}))
	t.Cleanup(rcv.Close)
	t.Cleanup(e.sim.Close) // runs first: no retry may outlive the receiver
	e.notifyURL = rcv.URL + "/notify/wechatpay/app_1/test"
	return e
}

// simMerchant is the test merchant as the simulator knows it.
func simMerchant(id string) (*wechatsim.Merchant, bool) {
	if id != mchID {
		return nil, false
	}
	return &wechatsim.Merchant{MchID: mchID, AppIDs: []string{appID}, SerialNo: serial, PublicKey: &merchantKey.PublicKey,
		APIv3Key: apiV3Key, APIv2Key: apiV2Key}, true
}

func newConn(t *testing.T, channel string, cfg wechatpay.Config) *wechatpay.Client {
	t.Helper()
	c, err := wechatpay.New(channel, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) notifications() []received {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]received(nil), e.got...)
}

// charge makes a charge of a channel with the extra that channel needs.
// ids are 27 characters like polypay's.
func charge(channel, name string, amount int64) *polypay.Charge {
	id := "ch_" + name
	for len(id) < 27 {
		id += "0"
	}
	c := &polypay.Charge{ID: id, Channel: channel, Amount: amount, Currency: "cny", Subject: "测试商品", Body: "body", ClientIP: "203.0.113.7"}
	switch channel {
	case wechatpay.ChannelPub, wechatpay.ChannelLite:
		c.Extra = json.RawMessage(`{"open_id":"` + openID + `"}`)
	case wechatpay.ChannelQR:
		c.Extra = json.RawMessage(`{"product_id":"p_1"}`)
	case wechatpay.ChannelScan:
		c.Extra = json.RawMessage(`{"scan_code":"134567890123456789","terminal_id":"pos-1"}`)
	}
	return c
}

func (e *env) create(t *testing.T, ch *polypay.Charge) []byte {
	t.Helper()
	cred, err := e.conns[ch.Channel].CreateCharge(context.Background(), polypay.ChannelRequest{Charge: ch, NotifyURL: e.notifyURL})
	if err != nil {
		t.Fatalf("CreateCharge %s: %v", ch.Channel, err)
	}
	return cred
}

// paid creates and pays a charge; a payment notification is delivered
// before this returns. wx_pub_scan charges are paid by CreateCharge.
func (e *env) paid(t *testing.T, ch *polypay.Charge) {
	t.Helper()
	e.create(t, ch)
	if ch.Channel == wechatpay.ChannelScan {
		return
	}
	if err := e.sim.Pay(context.Background(), mchID, ch.ID, true); err != nil {
		t.Fatalf("Pay: %v", err)
	}
}

func wantCode(t *testing.T, err error, code, channelCode string) {
	t.Helper()
	var pe *polypay.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *polypay.Error with code %s", err, err, code)
	}
	if pe.Code != code || pe.ChannelCode != channelCode {
		t.Fatalf("error code %s/%s, want %s/%s (%v)", pe.Code, pe.ChannelCode, code, channelCode, err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// signHeaders is this file's own WeChat Pay signature: SHA256withRSA over
// TIMESTAMP\nNONCE\nBODY\n, in the four Wechatpay-* headers.
func signHeaders(h http.Header, key *rsa.PrivateKey, serialNo string, ts int64, body []byte) {
	nonce := "n" + strconv.FormatInt(time.Now().UnixNano(), 36)
	d := sha256.Sum256([]byte(strconv.FormatInt(ts, 10) + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		panic(err)
	}
	h.Set("Wechatpay-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Serial", serialNo)
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
}

func gcm(key string) cipher.AEAD {
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		panic(err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return g
}

// openResource decrypts a notification resource with crypto/cipher directly.
func openResource(key string, res map[string]any) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(res["ciphertext"].(string))
	if err != nil {
		return nil, err
	}
	return gcm(key).Open(nil, []byte(res["nonce"].(string)), ct, []byte(res["associated_data"].(string)))
}

// notificationBody builds a notification envelope around plaintext,
// encrypted with crypto/cipher directly.
func notificationBody(event, original string, plaintext []byte) []byte {
	nonce := "0123456789ab"
	ct := gcm(apiV3Key).Seal(nil, []byte(nonce), plaintext, []byte(original))
	b, err := json.Marshal(map[string]any{
		"id": "EV-test-1", "create_time": "2026-11-21T10:00:00+08:00", "resource_type": "encrypt-resource",
		"event_type": event, "summary": "s",
		"resource": map[string]any{"original_type": original, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(ct), "associated_data": original, "nonce": nonce},
	})
	if err != nil {
		panic(err)
	}
	return b
}

func notifyRequest(body []byte, h http.Header) *http.Request {
	r := httptest.NewRequest("POST", "/notify/wechatpay/app_1/test", strings.NewReader("the body is passed separately"))
	for k, v := range h {
		r.Header[k] = v
	}
	return r
}
