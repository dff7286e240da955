package alipaysim_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/alipaysim"
)

// wpage is a fetched wallet page.
type wpage struct {
	status int
	body   string
}

func (p wpage) has(s string) bool { return strings.Contains(p.body, s) }

// id returns the text of the element with the given id (no nesting).
func (p wpage) id(id string) string {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

func (e *env) wallet() string { return strings.TrimSuffix(e.gateway, "/gateway.do") + "/wallet" }

func (e *env) walletPost(t *testing.T, form url.Values) wpage {
	t.Helper()
	return fetchPage(t)(http.PostForm(e.wallet(), form))
}

func fetchPage(t *testing.T) func(*http.Response, error) wpage {
	return func(resp *http.Response, err error) wpage { return readPage(t, resp, err) }
}

func readPage(t *testing.T, resp *http.Response, err error) wpage {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q", ct)
	}
	return wpage{resp.StatusCode, string(b)}
}

func TestWalletQRCode(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	qr := e.precreate(t, "w1", "12.30", rc.srv.URL).str("qr_code")

	p := fetchPage(t)(http.Get(e.wallet()))
	if p.status != 200 || !p.has(`id="code"`) || !p.has(`value="scan"`) {
		t.Fatalf("scan page: %d %s", p.status, p.body)
	}

	// Scanning: the code as a JSON string (Ping++'s credential value) works too.
	p = e.walletPost(t, url.Values{"action": {"scan"}, "code": {` "` + qr + `"` + "\n"}})
	if p.status != 200 || p.id("amount") != "12.30" || p.id("subject") != "测试商品" || p.id("out_trade_no") != "w1" {
		t.Fatalf("scanned: %d %s", p.status, p.body)
	}
	if !p.has(`value="` + qr + `"`) {
		t.Fatalf("confirm form does not carry the code: %s", p.body)
	}

	for _, pw := range []string{"", "12345", "1234567", "12345a", "１２３４５６"} {
		p = e.walletPost(t, url.Values{"action": {"pay"}, "code": {qr}, "password": {pw}})
		if p.status != 200 || !strings.Contains(p.id("error"), "wrong password") || p.id("amount") != "12.30" {
			t.Fatalf("password %q: %d %s", pw, p.status, p.body)
		}
	}
	if st := e.status(t, "w1"); st != "WAIT_BUYER_PAY" {
		t.Fatalf("after wrong passwords: %s", st)
	}
	if len(rc.received()) != 0 {
		t.Fatal("notified without payment")
	}

	p = e.walletPost(t, url.Values{"action": {"pay"}, "code": {qr}, "password": {"000000"}})
	if p.status != 200 || !strings.Contains(p.id("result"), "paid") || p.id("status") != "TRADE_SUCCESS" {
		t.Fatalf("pay: %d %s", p.status, p.body)
	}
	// The first notification attempt is made before the page answers.
	if got := rc.received(); len(got) != 1 || got[0].Get("trade_status") != "TRADE_SUCCESS" || got[0].Get("out_trade_no") != "w1" {
		t.Fatalf("notifications: %v", got)
	}
	if st := e.status(t, "w1"); st != "TRADE_SUCCESS" {
		t.Fatalf("after pay: %s", st)
	}

	// Posting again pays nothing twice.
	p = e.walletPost(t, url.Values{"action": {"pay"}, "code": {qr}, "password": {"000000"}})
	if p.status != 200 || !strings.Contains(p.id("result"), "already paid") {
		t.Fatalf("repeated pay: %d %s", p.status, p.body)
	}
	if len(rc.received()) != 1 {
		t.Fatal("notified twice")
	}
	// Scanning a paid code is refused.
	p = e.walletPost(t, url.Values{"action": {"scan"}, "code": {qr}})
	if p.status != http.StatusConflict || !strings.Contains(p.id("error"), "already paid") {
		t.Fatalf("scan paid: %d %s", p.status, p.body)
	}
}

func TestWalletDecline(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	qr := e.precreate(t, "d1", "1", rc.srv.URL).str("qr_code")
	p := e.walletPost(t, url.Values{"action": {"decline"}, "code": {qr}})
	if p.status != 200 || !strings.Contains(p.id("result"), "declined") {
		t.Fatalf("decline: %d %s", p.status, p.body)
	}
	if st := e.status(t, "d1"); st != "WAIT_BUYER_PAY" || len(rc.received()) != 0 {
		t.Fatalf("after decline: %s, %d notifications", st, len(rc.received()))
	}
	// The buyer may scan again (GET ?code= works as a link) and pay.
	p = fetchPage(t)(http.Get(e.wallet() + "?code=" + url.QueryEscape(qr)))
	if p.status != 200 || p.id("amount") != "1.00" {
		t.Fatalf("rescan: %d %s", p.status, p.body)
	}
	p = e.walletPost(t, url.Values{"action": {"pay"}, "code": {qr}, "password": {"123456"}})
	if p.status != 200 || e.status(t, "d1") != "TRADE_SUCCESS" {
		t.Fatalf("pay after decline: %d %s", p.status, p.body)
	}
}

func TestWalletErrors(t *testing.T) {
	e := newEnv(t)
	for _, code := range []string{"", "https://qr.alipay.com/baxunknown", "28012345678901234567890123", "<script>alert(1)</script>", "weixin://wxpay/bizpayurl?pr=x"} {
		p := e.walletPost(t, url.Values{"action": {"scan"}, "code": {code}})
		if p.status != 404 || !strings.Contains(p.id("error"), "unknown code") || p.has("<script>") {
			t.Fatalf("code %q: %d %s", code, p.status, p.body)
		}
		p = e.walletPost(t, url.Values{"action": {"pay"}, "code": {code}, "password": {"123456"}})
		if p.status != 404 {
			t.Fatalf("pay %q: %d %s", code, p.status, p.body)
		}
	}

	// Closed, and expired, trades cannot be paid.
	closed := e.precreate(t, "c1", "1", "").str("qr_code")
	e.call(t, "alipay.trade.close", map[string]any{"out_trade_no": "c1"})
	rep := e.post(t, request{method: "alipay.trade.precreate", biz: map[string]any{"out_trade_no": "x1", "total_amount": "1", "subject": "s", "timeout_express": "5m"}})
	expired := rep.str("qr_code")
	e.clock.Add(6 * time.Minute)
	for _, code := range []string{closed, expired} {
		p := e.walletPost(t, url.Values{"action": {"scan"}, "code": {code}})
		if p.status != http.StatusConflict || !strings.Contains(p.id("error"), "closed or expired") {
			t.Fatalf("scan %s: %d %s", code, p.status, p.body)
		}
		p = e.walletPost(t, url.Values{"action": {"pay"}, "code": {code}, "password": {"123456"}})
		if p.status != http.StatusConflict {
			t.Fatalf("pay %s: %d %s", code, p.status, p.body)
		}
	}

	// Everything shown is escaped.
	qr := e.call(t, "alipay.trade.precreate", map[string]any{"out_trade_no": "e1", "total_amount": "1", "subject": `<img src=x onerror=alert(1)>"`}).str("qr_code")
	p := e.walletPost(t, url.Values{"action": {"scan"}, "code": {qr}})
	if p.status != 200 || p.has("<img") || !p.has("&lt;img") {
		t.Fatalf("not escaped: %s", p.body)
	}

	resp, err := http.NewRequest(http.MethodPut, e.wallet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(resp)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", res.StatusCode)
	}
}

func TestWalletTradeNoAndOrderString(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")

	// Mini program: the trade_no of alipay.trade.create.
	created := e.post(t, request{method: "alipay.trade.create", extra: url.Values{"notify_url": {rc.srv.URL}},
		biz: map[string]any{"out_trade_no": "l1", "total_amount": "3.00", "subject": "Lite", "buyer_id": "2088000000000001"}})
	tradeNo := created.str("trade_no")
	p := e.walletPost(t, url.Values{"action": {"scan"}, "code": {tradeNo}})
	if p.status != 200 || p.id("amount") != "3.00" || p.id("trade_no") != tradeNo {
		t.Fatalf("scan trade_no: %d %s", p.status, p.body)
	}
	p = e.walletPost(t, url.Values{"action": {"pay"}, "code": {tradeNo}, "password": {"654321"}})
	if p.status != 200 || e.status(t, "l1") != "TRADE_SUCCESS" {
		t.Fatalf("pay trade_no: %d %s", p.status, p.body)
	}

	// App: the signed order string, pasted as the credential object.
	order := e.appOrder(request{extra: url.Values{"notify_url": {rc.srv.URL}},
		biz: map[string]any{"out_trade_no": "a1", "total_amount": "9.99", "subject": "App", "product_code": "QUICK_MSECURITY_PAY"}})
	cred := `{"orderInfo":"` + order + `"}`
	p = e.walletPost(t, url.Values{"action": {"scan"}, "code": {cred}})
	if p.status != 200 || p.id("amount") != "9.99" || p.id("out_trade_no") != "a1" {
		t.Fatalf("scan order string: %d %s", p.status, p.body)
	}
	p = e.walletPost(t, url.Values{"action": {"pay"}, "code": {cred}, "password": {"1"}})
	if !strings.Contains(p.id("error"), "wrong password") {
		t.Fatalf("order string wrong password: %d %s", p.status, p.body)
	}
	p = e.walletPost(t, url.Values{"action": {"pay"}, "code": {order}, "password": {"111111"}})
	if p.status != 200 || e.status(t, "a1") != "TRADE_SUCCESS" {
		t.Fatalf("pay order string: %d %s", p.status, p.body)
	}
	if n := len(rc.received()); n != 2 {
		t.Fatalf("%d notifications, want 2", n)
	}
	// A tampered order string is refused before anything is shown.
	p = e.walletPost(t, url.Values{"action": {"scan"}, "code": {strings.Replace(order, "9.99", "0.01", 1)}})
	if p.status != 404 || !strings.Contains(p.id("error"), "isv.invalid-signature") {
		t.Fatalf("tampered: %d %s", p.status, p.body)
	}
}

func TestWalletPaymentCode(t *testing.T) {
	e := newEnvWith(t, func(o *alipaysim.Options) { o.UserPayingFor = 50 * time.Millisecond })
	tests := []struct {
		outcome, prefix, code, status string
	}{
		{"", "28", "10000", "TRADE_SUCCESS"},
		{"pay", "28", "10000", "TRADE_SUCCESS"},
		{"paying", "29", "10003", "WAIT_BUYER_PAY"},
		{"decline", "30", "40004", ""},
		{"<bogus>", "28", "10000", "TRADE_SUCCESS"},
	}
	for i, tt := range tests {
		p := fetchPage(t)(http.Get(e.wallet() + "/code?outcome=" + url.QueryEscape(tt.outcome)))
		code := p.id("payment_code")
		if p.status != 200 || len(code) != 18 || !strings.HasPrefix(code, tt.prefix) || p.has("<bogus>") {
			t.Fatalf("outcome %q: %d code %q %s", tt.outcome, p.status, code, p.body)
		}
		if strings.ReplaceAll(p.id("payment_code_display"), " ", "") != code {
			t.Fatalf("displayed code differs: %s", p.body)
		}
		no := "pc" + string(rune('a'+i))
		rep := e.call(t, "alipay.trade.pay", map[string]any{"out_trade_no": no, "total_amount": "2.00", "subject": "POS", "scene": "bar_code", "auth_code": code})
		if rep.str("code") != tt.code {
			t.Fatalf("outcome %q: alipay.trade.pay answered %s", tt.outcome, rep.raw)
		}
		if tt.status != "" && rep.str("code") == "10000" && e.status(t, no) != tt.status {
			t.Fatalf("outcome %q: status %s", tt.outcome, e.status(t, no))
		}
		if tt.outcome == "paying" {
			waitFor(t, "the user-paying trade to be paid", func() bool { return e.status(t, no) == "TRADE_SUCCESS" })
		}
	}
	if a, b := alipaysim.NewPaymentCode("pay"), alipaysim.NewPaymentCode("pay"); a == b {
		t.Fatalf("payment codes repeat: %s", a)
	}
}
