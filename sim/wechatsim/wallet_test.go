package wechatsim_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/wechatsim"
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

func readPage(t *testing.T, resp *http.Response, err error) wpage {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q: %s", ct, b)
	}
	return wpage{resp.StatusCode, string(b)}
}

func (e *env) walletGet(t *testing.T, path string) wpage {
	t.Helper()
	resp, err := http.Get(e.base + path)
	return readPage(t, resp, err)
}

func (e *env) walletPost(t *testing.T, path string, form url.Values) wpage {
	t.Helper()
	resp, err := http.PostForm(e.base+path, form)
	return readPage(t, resp, err)
}

func TestWalletNative(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, 200)
	codeURL := e.native(t, "wn_0001", 1234, rc.srv.URL).str("code_url")

	p := e.walletGet(t, "/wallet")
	if p.status != 200 || !p.has(`id="code"`) {
		t.Fatalf("scan page: %d %s", p.status, p.body)
	}
	p = e.walletPost(t, "/wallet", url.Values{"action": {"scan"}, "code": {`"` + codeURL + `"`}})
	if p.status != 200 || p.id("amount") != "12.34" || p.id("subject") != "测试商品" || !strings.Contains(p.id("merchant"), mchid) {
		t.Fatalf("scanned: %d %s", p.status, p.body)
	}
	for _, pw := range []string{"", "12345", "abcdef", "1234567"} {
		p = e.walletPost(t, "/wallet", url.Values{"action": {"pay"}, "code": {codeURL}, "password": {pw}})
		if p.status != 200 || !strings.Contains(p.id("error"), "wrong password") {
			t.Fatalf("password %q: %d %s", pw, p.status, p.body)
		}
	}
	if st := e.state(t, "wn_0001"); st != "NOTPAY" || len(rc.received()) != 0 {
		t.Fatalf("after wrong passwords: %s, %d notifications", st, len(rc.received()))
	}
	p = e.walletPost(t, "/wallet", url.Values{"action": {"pay"}, "code": {codeURL}, "password": {"123456"}})
	if p.status != 200 || !strings.Contains(p.id("result"), "paid") || p.id("status") != "SUCCESS" {
		t.Fatalf("pay: %d %s", p.status, p.body)
	}
	// The first notification attempt is made before the page answers.
	if n := len(rc.received()); n != 1 {
		t.Fatalf("%d notifications, want 1", n)
	}
	if st := e.state(t, "wn_0001"); st != "SUCCESS" {
		t.Fatalf("after pay: %s", st)
	}
	p = e.walletPost(t, "/wallet", url.Values{"action": {"pay"}, "code": {codeURL}, "password": {"123456"}})
	if p.status != 200 || !strings.Contains(p.id("result"), "already paid") || len(rc.received()) != 1 {
		t.Fatalf("repeated pay: %d %s", p.status, p.body)
	}
	p = e.walletPost(t, "/wallet", url.Values{"action": {"scan"}, "code": {codeURL}})
	if p.status != http.StatusConflict || !strings.Contains(p.id("error"), "already paid") {
		t.Fatalf("scan paid: %d %s", p.status, p.body)
	}
}

func TestWalletDeclineAndPrepayID(t *testing.T) {
	e := newEnv(t)
	codeURL := e.native(t, "wd_0001", 100, "https://merchant.example/notify").str("code_url")
	p := e.walletPost(t, "/wallet", url.Values{"action": {"decline"}, "code": {codeURL}})
	if p.status != 200 || !strings.Contains(p.id("result"), "declined") || e.state(t, "wd_0001") != "NOTPAY" {
		t.Fatalf("decline: %d %s", p.status, p.body)
	}
	// Scanning again (as a link) still works.
	p = e.walletGet(t, "/wallet?code="+url.QueryEscape(codeURL))
	if p.status != 200 || p.id("amount") != "1.00" {
		t.Fatalf("rescan: %d %s", p.status, p.body)
	}

	// H5: the h5_url, with the redirect_url merchants append.
	h5 := order("wh_0001", 250, "https://merchant.example/notify")
	h5["scene_info"] = map[string]any{"payer_client_ip": "203.0.113.7", "h5_info": map[string]any{"type": "Wap"}}
	h5URL := e.do(t, request{method: "POST", path: "/v3/pay/transactions/h5", body: h5}).str("h5_url")
	code := h5URL + "&redirect_url=" + url.QueryEscape("https://merchant.example/back")
	p = e.walletPost(t, "/wallet", url.Values{"action": {"scan"}, "code": {code}})
	if p.status != 200 || p.id("amount") != "2.50" || p.id("out_trade_no") != "wh_0001" {
		t.Fatalf("scan h5_url: %d %s", p.status, p.body)
	}
	p = e.walletPost(t, "/wallet", url.Values{"action": {"pay"}, "code": {code}, "password": {"999999"}})
	if p.status != 200 || e.state(t, "wh_0001") != "SUCCESS" {
		t.Fatalf("pay h5: %d %s", p.status, p.body)
	}

	// App: the credential object carrying the prepay_id.
	prepayID := e.do(t, request{method: "POST", path: "/v3/pay/transactions/app", body: order("wa_0001", 300, "https://merchant.example/notify")}).str("prepay_id")
	cred := `{"appid":"` + appid + `","prepayId":"` + prepayID + `","packageValue":"Sign=WXPay"}`
	p = e.walletPost(t, "/wallet", url.Values{"action": {"pay"}, "code": {cred}, "password": {"000000"}})
	if p.status != 200 || e.state(t, "wa_0001") != "SUCCESS" {
		t.Fatalf("pay app: %d %s", p.status, p.body)
	}
}

func TestWalletErrors(t *testing.T) {
	e := newEnv(t)
	for _, code := range []string{"", "weixin://wxpay/bizpayurl?pr=nothere", "https://qr.alipay.com/bax1", "<script>x</script>"} {
		p := e.walletPost(t, "/wallet", url.Values{"action": {"scan"}, "code": {code}})
		if p.status != 404 || !strings.Contains(p.id("error"), "unknown code") || p.has("<script>") {
			t.Fatalf("code %q: %d %s", code, p.status, p.body)
		}
	}
	closed := e.native(t, "wc_0001", 100, "https://merchant.example/notify").str("code_url")
	if rep := e.do(t, request{method: "POST", path: "/v3/pay/transactions/out-trade-no/wc_0001/close", body: map[string]any{"mchid": mchid}}); rep.status != 204 {
		t.Fatalf("close: %d %s", rep.status, rep.raw)
	}
	exp := order("wx_0001", 100, "https://merchant.example/notify")
	exp["time_expire"] = e.clock.Now().Add(time.Minute).Format(time.RFC3339)
	expired := e.do(t, request{method: "POST", path: "/v3/pay/transactions/native", body: exp}).str("code_url")
	e.clock.Add(2 * time.Minute)
	for _, code := range []string{closed, expired} {
		for _, action := range []string{"scan", "pay", "decline"} {
			p := e.walletPost(t, "/wallet", url.Values{"action": {action}, "code": {code}, "password": {"123456"}})
			if p.status != http.StatusConflict || !strings.Contains(p.id("error"), "closed or expired") {
				t.Fatalf("%s %s: %d %s", action, code, p.status, p.body)
			}
		}
	}
	// Everything shown is escaped.
	o := order("we_0001", 100, "https://merchant.example/notify")
	o["description"] = `<img src=x onerror=alert(1)>`
	code := e.do(t, request{method: "POST", path: "/v3/pay/transactions/native", body: o}).str("code_url")
	p := e.walletPost(t, "/wallet", url.Values{"action": {"scan"}, "code": {code}})
	if p.status != 200 || p.has("<img") || !p.has("&lt;img") {
		t.Fatalf("not escaped: %s", p.body)
	}
	// An out_trade_no named "wallet" is still an API path.
	rep := e.query(t, "wallet")
	if rep.status != 404 || rep.str("code") != "ORDER_NOT_EXIST" {
		t.Fatalf("API path ending in /wallet: %d %s", rep.status, rep.raw)
	}
}

func TestWalletPaymentCode(t *testing.T) {
	e := newEnv(t)
	const codepay = "/v3/pay/transactions/codepay"
	for i := range 50 {
		p := e.walletGet(t, "/wallet/code")
		code := p.id("payment_code")
		if p.status != 200 || len(code) != 18 || !strings.HasPrefix(code, "13") || strings.HasPrefix(code, "1300") || p.has(`id="confirm"`) {
			t.Fatalf("pay code: %d %q %s", p.status, code, p.body)
		}
		if i == 0 {
			rep := e.do(t, request{method: "POST", path: codepay, body: codepayBody("wpc_pay", code, 100)})
			if rep.status != 200 || rep.str("trade_state") != "SUCCESS" {
				t.Fatalf("codepay: %d %s", rep.status, rep.raw)
			}
		}
	}

	paying := func(no string) string {
		t.Helper()
		p := e.walletGet(t, "/wallet/code?outcome=paying")
		code := p.id("payment_code")
		if p.status != 200 || len(code) != 18 || !strings.HasPrefix(code, "1300") || !p.has(`id="confirm"`) || !p.has(`id="cancel"`) {
			t.Fatalf("paying code: %d %q %s", p.status, code, p.body)
		}
		if no != "" {
			rep := e.do(t, request{method: "POST", path: codepay, body: codepayBody(no, code, 200)})
			if rep.status != 202 || rep.str("code") != "USERPAYING" {
				t.Fatalf("codepay: %d %s", rep.status, rep.raw)
			}
		}
		return code
	}

	// Not scanned yet.
	code := paying("")
	p := e.walletPost(t, "/wallet/code", url.Values{"action": {"confirm"}, "code": {code}, "password": {"123456"}})
	if p.status != 404 {
		t.Fatalf("unscanned: %d %s", p.status, p.body)
	}

	// Confirm: wrong password first, then the right one.
	code = paying("wpc_confirm")
	p = e.walletPost(t, "/wallet/code", url.Values{"action": {"confirm"}, "code": {code}, "password": {"12"}})
	if p.status != 200 || !strings.Contains(p.id("error"), "wrong password") || e.state(t, "wpc_confirm") != "USERPAYING" {
		t.Fatalf("wrong password: %d %s", p.status, p.body)
	}
	p = e.walletPost(t, "/wallet/code", url.Values{"action": {"confirm"}, "code": {code}, "password": {"123456"}})
	if p.status != 200 || p.id("status") != "SUCCESS" || e.state(t, "wpc_confirm") != "SUCCESS" {
		t.Fatalf("confirm: %d %s", p.status, p.body)
	}
	p = e.walletPost(t, "/wallet/code", url.Values{"action": {"cancel"}, "code": {code}})
	if p.status != 200 || !strings.Contains(p.id("result"), "already paid") {
		t.Fatalf("cancel after paid: %d %s", p.status, p.body)
	}

	// Cancel: PAYERROR, as when the customer gives up on the phone.
	code = paying("wpc_cancel")
	p = e.walletPost(t, "/wallet/code", url.Values{"action": {"cancel"}, "code": {code}})
	if p.status != 200 || p.id("status") != "PAYERROR" || e.state(t, "wpc_cancel") != "PAYERROR" {
		t.Fatalf("cancel: %d %s", p.status, p.body)
	}
	p = e.walletPost(t, "/wallet/code", url.Values{"action": {"confirm"}, "code": {code}, "password": {"123456"}})
	if p.status != http.StatusConflict {
		t.Fatalf("confirm after cancel: %d %s", p.status, p.body)
	}

	// Left alone, the code pays after UserPaying.
	paying("wpc_later")
	e.clock.Add(5 * time.Second)
	if st := e.state(t, "wpc_later"); st != "SUCCESS" {
		t.Fatalf("after UserPaying: %s", st)
	}
	if c := wechatsim.NewPaymentCode("paying"); !strings.HasPrefix(c, "1300") || len(c) != 18 {
		t.Fatalf("NewPaymentCode(paying) = %s", c)
	}
}

func TestWalletMounted(t *testing.T) {
	e := newEnv(t)
	codeURL := e.native(t, "wm_0001", 100, "https://merchant.example/notify").str("code_url")
	mux := http.NewServeMux()
	mux.Handle("/sim/wechatpay/", http.StripPrefix("/sim/wechatpay", e.sim))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/sim/wechatpay/wallet")
	p := readPage(t, resp, err)
	if p.status != 200 || !p.has(`action="wallet"`) || !p.has(`href="wallet/code"`) {
		t.Fatalf("mounted wallet: %d %s", p.status, p.body)
	}
	resp, err = http.PostForm(srv.URL+"/sim/wechatpay/wallet", url.Values{"code": {codeURL}})
	if p = readPage(t, resp, err); p.status != 200 || p.id("amount") != "1.00" {
		t.Fatalf("mounted scan: %d %s", p.status, p.body)
	}
	resp, err = http.Get(srv.URL + "/sim/wechatpay/wallet/code")
	if p = readPage(t, resp, err); p.status != 200 || !p.has(`href="../wallet"`) || !p.has(`action="code"`) {
		t.Fatalf("mounted code page: %d %s", p.status, p.body)
	}
}
