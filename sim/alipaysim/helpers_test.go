package alipaysim_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/alipaysim"
)

const appID = "2021000000000001"

var cst = time.FixedZone("CST", 8*3600)

// Keys are generated once per test binary: 2048-bit generation is the
// slowest thing these tests do.
var platformKey, merchantKey, otherKey *rsa.PrivateKey

func TestMain(m *testing.M) {
	for _, k := range []**rsa.PrivateKey{&platformKey, &merchantKey, &otherKey} {
		var err error
		if *k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// clock is a settable clock for the sim.
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

type env struct {
	sim     *alipaysim.Sim
	gateway string
	clock   *clock
}

func newEnv(t *testing.T, retry ...time.Duration) *env {
	t.Helper()
	if retry == nil {
		retry = []time.Duration{time.Hour} // never fires within a test
	}
	return newEnvWith(t, func(o *alipaysim.Options) { o.Retry = retry })
}

// newEnvWith is newEnv with the sim's options adjusted by mod.
func newEnvWith(t *testing.T, mod func(*alipaysim.Options)) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, cst)}
	o := alipaysim.Options{
		PrivateKey: platformKey,
		Merchant: func(id string) (*rsa.PublicKey, bool) {
			if id == appID {
				return &merchantKey.PublicKey, true
			}
			return nil, false
		},
		Now:   clk.Now,
		Retry: []time.Duration{time.Hour}, // never fires within a test
	}
	if mod != nil {
		mod(&o)
	}
	s := alipaysim.New(o)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close) // runs first: stop retries before servers go away
	return &env{sim: s, gateway: srv.URL + "/gateway.do", clock: clk}
}

// request is one hand-built gateway call, signed independently of the sim's
// code: this file re-implements Alipay's request signing from the spec.
type request struct {
	method   string
	biz      any
	extra    url.Values       // common params added before signing (notify_url...)
	key      *rsa.PrivateKey  // default merchantKey
	signType string           // default RSA2
	signed   func(url.Values) // tampering after signing
	// skipSignType signs without sign_type in the content, which Alipay
	// must reject (only notifications leave sign_type out).
	skipSignType bool
}

func (r request) params(now time.Time) url.Values {
	p := url.Values{
		"app_id":    {appID},
		"method":    {r.method},
		"format":    {"JSON"},
		"charset":   {"utf-8"},
		"sign_type": {"RSA2"},
		"timestamp": {now.In(cst).Format("2006-01-02 15:04:05")},
		"version":   {"1.0"},
	}
	if r.signType != "" {
		p.Set("sign_type", r.signType)
	}
	if r.biz != nil {
		b, err := json.Marshal(r.biz)
		if err != nil {
			panic(err)
		}
		p.Set("biz_content", string(b))
	}
	for k, v := range r.extra {
		p[k] = v
	}
	key := r.key
	if key == nil {
		key = merchantKey
	}
	skip := []string{"sign"}
	if r.skipSignType {
		skip = append(skip, "sign_type")
	}
	p.Set("sign", testSign(key, p.Get("sign_type"), testContent(p, skip...)))
	if r.signed != nil {
		r.signed(p)
	}
	return p
}

func testContent(p url.Values, skip ...string) string {
	var pairs []string
	for k := range p {
		v := p.Get(k)
		if v == "" || contains(skip, k) {
			continue
		}
		pairs = append(pairs, k+"="+v)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func testDigest(signType, content string) (crypto.Hash, []byte) {
	if signType == "RSA" {
		d := sha1.Sum([]byte(content))
		return crypto.SHA1, d[:]
	}
	d := sha256.Sum256([]byte(content))
	return crypto.SHA256, d[:]
}

func testSign(key *rsa.PrivateKey, signType, content string) string {
	h, d := testDigest(signType, content)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, d)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func testVerify(pub *rsa.PublicKey, signType, content, sign string) error {
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return err
	}
	h, d := testDigest(signType, content)
	return rsa.VerifyPKCS1v15(pub, h, d, sig)
}

// reply is a parsed gateway answer.
type reply struct {
	raw    []byte
	key    string         // "alipay_trade_query_response" or "error_response"
	value  []byte         // exact bytes of the response value
	fields map[string]any // the value decoded
	sign   string         // "" when unsigned
	certSN string         // alipay_cert_sn, certificate mode only
}

func (r reply) str(k string) string {
	s, _ := r.fields[k].(string)
	return s
}

// post sends a request and parses the answer. A signed answer is verified
// the way gopay finds it (text between `_response":` and `,"sign":`) and
// must be the same bytes smartwalle/alipay sees as the raw JSON value.
func (e *env) post(t *testing.T, r request) reply {
	t.Helper()
	resp, err := http.PostForm(e.gateway, r.params(e.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return readReply(t, resp, r.signType)
}

func readReply(t *testing.T, resp *http.Response, signType string) reply {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, raw)
	}
	var rep reply
	rep.raw = raw
	for k, v := range top {
		switch {
		case k == "sign":
			if err := json.Unmarshal(v, &rep.sign); err != nil {
				t.Fatal(err)
			}
		case k == "alipay_cert_sn":
			if err := json.Unmarshal(v, &rep.certSN); err != nil {
				t.Fatal(err)
			}
		case strings.HasSuffix(k, "_response"):
			if rep.key != "" {
				t.Fatalf("two response keys in %s", raw)
			}
			rep.key, rep.value = k, v
		default:
			t.Fatalf("unexpected top-level key %q in %s", k, raw)
		}
	}
	if err := json.Unmarshal(rep.value, &rep.fields); err != nil {
		t.Fatal(err)
	}
	if rep.sign != "" {
		start := bytes.Index(raw, []byte(`_response":`)) + len(`_response":`)
		end := bytes.Index(raw, []byte(`,"sign":`))
		if rep.certSN != "" {
			// gopay's certificate-mode slice; the serial must sit between
			// the value and the signature.
			end = bytes.Index(raw, []byte(`,"alipay_cert_sn":`))
			if !bytes.HasSuffix(raw, []byte(`,"alipay_cert_sn":"`+rep.certSN+`","sign":"`+rep.sign+`"}`)) {
				t.Fatalf("alipay_cert_sn is not between the value and sign in %s", raw)
			}
		}
		if start < len(`_response":`) || end < start || !bytes.Equal(raw[start:end], rep.value) {
			t.Fatalf("gopay-style extraction differs from the JSON value in %s", raw)
		}
		if signType == "" {
			signType = "RSA2"
		}
		if err := testVerify(&platformKey.PublicKey, signType, string(rep.value), rep.sign); err != nil {
			t.Fatalf("response signature: %v in %s", err, raw)
		}
	}
	return rep
}

// precreate makes a trade through the raw protocol.
func (e *env) precreate(t *testing.T, outTradeNo, amount, notifyURL string) reply {
	t.Helper()
	r := request{
		method: "alipay.trade.precreate",
		biz:    map[string]any{"out_trade_no": outTradeNo, "total_amount": amount, "subject": "测试商品"},
	}
	if notifyURL != "" {
		r.extra = url.Values{"notify_url": {notifyURL}}
	}
	rep := e.post(t, r)
	if rep.str("code") != "10000" {
		t.Fatalf("precreate %s: %s", outTradeNo, rep.raw)
	}
	return rep
}

func (e *env) call(t *testing.T, method string, biz map[string]any) reply {
	t.Helper()
	return e.post(t, request{method: method, biz: biz})
}

// wantCode fails unless the reply carries code/sub_code in the expected
// envelope: 40004 inside the signed method response, 4000x protocol errors
// as an unsigned error_response.
func wantCode(t *testing.T, rep reply, method, code, subCode string) {
	t.Helper()
	if got := rep.str("code"); got != code {
		t.Fatalf("code = %s, want %s: %s", got, code, rep.raw)
	}
	if got := rep.str("sub_code"); got != subCode {
		t.Fatalf("sub_code = %q, want %q: %s", got, subCode, rep.raw)
	}
	wantKey := strings.ReplaceAll(method, ".", "_") + "_response"
	if code == "40001" || code == "40002" {
		wantKey = "error_response"
	}
	if rep.key != wantKey {
		t.Fatalf("response key = %s, want %s: %s", rep.key, wantKey, rep.raw)
	}
	if signed := rep.sign != ""; signed != (wantKey != "error_response") {
		t.Fatalf("signed = %v for %s: %s", signed, wantKey, rep.raw)
	}
}

// receiver is a merchant notify endpoint that answers from a script.
type receiver struct {
	mu      sync.Mutex
	answers []string // per call; the last one repeats
	got     []url.Values
	srv     *httptest.Server
}

func newReceiver(t *testing.T, answers ...string) *receiver {
	rc := &receiver{answers: answers}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v, err := url.ParseQuery(string(body))
		if err != nil || r.Method != http.MethodPost {
			http.Error(w, fmt.Sprint("bad notification ", err), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, v)
		answer := rc.answers[min(n, len(rc.answers)-1)]
		rc.mu.Unlock()
		if answer == "500" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) received() []url.Values {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]url.Values(nil), rc.got...)
}

// waitFor polls cond until it holds or a generous deadline passes.
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
