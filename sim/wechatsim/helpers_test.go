package wechatsim_test

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/wechatsim"
)

const (
	mchid    = "1900000109"
	appid    = "wxd678efh567hg6787"
	serial   = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	apiV3Key = "0123456789abcdefghijABCDEFGHIJ01"
	keyID    = "PUB_KEY_ID_0119000001092026112100000000000001"
	apiV2Key = "v2KEY0123456789abcdefghijklmnop1"
)

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
	sim   *wechatsim.Sim
	base  string
	clock *clock
}

func merchants(id string) (*wechatsim.Merchant, bool) {
	if id != mchid {
		return nil, false
	}
	return &wechatsim.Merchant{MchID: mchid, AppIDs: []string{appid, "wx_other_app_0001"}, SerialNo: serial,
		PublicKey: &merchantKey.PublicKey, APIv3Key: apiV3Key, APIv2Key: apiV2Key}, true
}

func newEnv(t *testing.T, retry ...time.Duration) *env {
	t.Helper()
	if retry == nil {
		retry = []time.Duration{time.Hour} // never fires within a test
	}
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, cst)}
	s := wechatsim.New(wechatsim.Options{
		PrivateKey:  platformKey,
		PublicKeyID: keyID,
		Merchant:    merchants,
		Now:         clk.Now,
		Retry:       retry,
		UserPaying:  5 * time.Second,
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close) // runs first: stop retries before servers go away
	return &env{sim: s, base: srv.URL, clock: clk}
}

// request is one hand-built API call, signed by this file's own
// implementation of WECHATPAY2-SHA256-RSA2048.
type request struct {
	method string
	path   string // canonical URL: path and query
	body   any    // marshalled to JSON; a string is sent as is
	key    *rsa.PrivateKey
	serial string
	mchid  string
	skew   time.Duration // added to the timestamp
	// signPath, when set, is signed instead of path.
	signPath string
	// tamper changes the body after signing.
	tamper func([]byte) []byte
	// auth replaces the whole Authorization header.
	auth *string
	// accept is sent as Wechatpay-Serial.
	accept string
}

func authorization(key *rsa.PrivateKey, mch, serialNo, method, url string, ts int64, nonce string, body []byte) string {
	msg := method + "\n" + url + "\n" + strconv.FormatInt(ts, 10) + "\n" + nonce + "\n" + string(body) + "\n"
	d := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%d",serial_no="%s",signature="%s"`,
		mch, nonce, ts, serialNo, base64.StdEncoding.EncodeToString(sig))
}

// reply is a parsed answer whose signature, when the status is 2xx, has
// been checked against the platform key.
type reply struct {
	status int
	header http.Header
	raw    []byte
	fields map[string]any
}

func (r reply) str(k string) string {
	s, _ := r.fields[k].(string)
	return s
}

// num reads a number at a dotted path ("amount.total").
func (r reply) num(path ...string) int64 {
	var v any = r.fields
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	f, _ := v.(float64)
	return int64(f)
}

func (e *env) do(t *testing.T, r request) reply {
	t.Helper()
	return e.doAt(t, e.base, r)
}

func (e *env) doAt(t *testing.T, base string, r request) reply {
	t.Helper()
	var body []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	key, serialNo, mch := r.key, r.serial, r.mchid
	if key == nil {
		key = merchantKey
	}
	if serialNo == "" {
		serialNo = serial
	}
	if mch == "" {
		mch = mchid
	}
	signPath := r.path
	if r.signPath != "" {
		signPath = r.signPath
	}
	auth := authorization(key, mch, serialNo, r.method, signPath, e.clock.Now().Add(r.skew).Unix(), "n"+strconv.FormatInt(time.Now().UnixNano(), 36), body)
	if r.auth != nil {
		auth = *r.auth
	}
	if r.tamper != nil {
		body = r.tamper(body)
	}
	req, err := http.NewRequest(r.method, base+r.path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.accept != "" {
		req.Header.Set("Wechatpay-Serial", r.accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	rep := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := verifySigned(resp.Header, raw); err != nil {
			t.Fatalf("%s %s: response signature: %v", r.method, r.path, err)
		}
		if resp.Header.Get("Request-ID") == "" {
			t.Fatalf("%s %s: no Request-ID", r.method, r.path)
		}
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &rep.fields); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, raw)
		}
	}
	return rep
}

// verifySigned checks Wechatpay-Signature over TIMESTAMP\nNONCE\nBODY\n with
// the platform public key.
func verifySigned(h http.Header, body []byte) error {
	sig, err := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	if err != nil {
		return err
	}
	d := sha256.Sum256([]byte(h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(body) + "\n"))
	return rsa.VerifyPKCS1v15(&platformKey.PublicKey, crypto.SHA256, d[:], sig)
}

func wantError(t *testing.T, rep reply, status int, code string) {
	t.Helper()
	if rep.status != status || rep.str("code") != code || rep.str("message") == "" {
		t.Fatalf("got %d %s, want %d %s", rep.status, rep.raw, status, code)
	}
}

// order is a prepay body.
func order(no string, total int64, notifyURL string) map[string]any {
	return map[string]any{
		"appid": appid, "mchid": mchid, "description": "测试商品", "out_trade_no": no,
		"notify_url": notifyURL, "amount": map[string]any{"total": total, "currency": "CNY"},
	}
}

func (e *env) native(t *testing.T, no string, total int64, notifyURL string) reply {
	t.Helper()
	rep := e.do(t, request{method: "POST", path: "/v3/pay/transactions/native", body: order(no, total, notifyURL)})
	if rep.status != 200 {
		t.Fatalf("native %s: %d %s", no, rep.status, rep.raw)
	}
	return rep
}

func (e *env) query(t *testing.T, no string) reply {
	t.Helper()
	return e.do(t, request{method: "GET", path: "/v3/pay/transactions/out-trade-no/" + no + "?mchid=" + mchid})
}

func (e *env) state(t *testing.T, no string) string {
	t.Helper()
	rep := e.query(t, no)
	if rep.status != 200 {
		t.Fatalf("query %s: %d %s", no, rep.status, rep.raw)
	}
	return rep.str("trade_state")
}

// received is one notification as the receiver saw it.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a merchant notify endpoint answering from a script of
// statuses; the last one repeats.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	got      []received
	srv      *httptest.Server
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	rc := &receiver{statuses: statuses}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, received{r.Header.Clone(), body})
		status := rc.statuses[min(n, len(rc.statuses)-1)]
		rc.mu.Unlock()
		if status == http.StatusNoContent || status == http.StatusOK {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"code":"FAIL","message":"失败"}`)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// decrypt opens a notification resource with crypto/cipher directly:
// AES-256-GCM, key = the APIv3 key bytes, nonce = the 12-character nonce,
// AAD = associated_data, input = base64 ciphertext with the tag appended.
func decrypt(t *testing.T, key string, res map[string]any) []byte {
	t.Helper()
	plain, err := open(key, res)
	if err != nil {
		t.Fatalf("resource does not decrypt: %v", err)
	}
	return plain
}

func open(key string, res map[string]any) ([]byte, error) {
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	ct, err := base64.StdEncoding.DecodeString(res["ciphertext"].(string))
	if err != nil {
		return nil, err
	}
	return gcm.Open(nil, []byte(res["nonce"].(string)), ct, []byte(res["associated_data"].(string)))
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
