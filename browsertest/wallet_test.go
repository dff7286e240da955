package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// walletCase is one simulator's wallet and the QR charge it pays.
type walletCase struct {
	name    string
	channel string
	extra   map[string]any
	wallet  string // path of the wallet on the node
	prefix  string // what the QR credential looks like
}

var walletCases = []walletCase{
	{"Alipay", "alipay_qr", nil, "/sim/alipay/wallet", "https://qr.alipay.com/"},
	{"WeChat", "wx_pub_qr", map[string]any{"product_id": "P001"}, "/sim/wechatpay/wallet", "weixin://wxpay/bizpayurl?pr="},
}

// scan opens the wallet, pastes the code, presses scan and returns the
// HTTP status of the page that answers.
func scan(t *testing.T, b *browser, walletURL, code string) int64 {
	t.Helper()
	if resp := b.open(walletURL); resp.Status != 200 {
		t.Fatalf("wallet page answered %d", resp.Status)
	}
	b.do(chromedp.SetValue(chromedp.ID("code"), code))
	return b.click("#scan").Status
}

// mustScan is scan for a code that must show the order.
func mustScan(t *testing.T, b *browser, walletURL, code string) {
	t.Helper()
	if status := scan(t, b, walletURL, code); status != 200 {
		t.Fatalf("scan answered %d: %s", status, b.body())
	}
}

// TestWalletPaysQRCharge: the customer scans the QR charge's code in the
// simulated wallet, is refused with a wrong password (the charge stays
// unpaid), then pays with the right one; polypay learns it from the
// simulator's signed notification.
func TestWalletPaysQRCharge(t *testing.T) {
	nd := startNode(t)
	b := newBrowser(t)
	for _, wc := range walletCases {
		t.Run(wc.name, func(t *testing.T) {
			c := nd.createCharge(wc.channel, 1234, wc.extra)
			id := c["id"].(string)
			code, _ := credential(t, c).(string)
			if !strings.HasPrefix(code, wc.prefix) {
				t.Fatalf("credential %q", code)
			}

			mustScan(t, b, nd.n.URL+wc.wallet, code)
			if got := b.text("amount"); got != "12.34" {
				t.Fatalf("amount shown %q, want 12.34", got)
			}
			if got := b.text("subject"); got != "浏览器测试 <商品>" {
				t.Fatalf("subject shown %q", got)
			}
			if got := b.text("merchant"); got == "" {
				t.Fatal("no merchant shown")
			}

			// Wrong password: refused, nothing paid.
			b.do(chromedp.SendKeys(chromedp.ID("password"), "12345"))
			b.click("#pay")
			if got := b.text("error"); !strings.Contains(got, "wrong password") {
				t.Fatalf("after a wrong password: %q: %s", got, b.body())
			}
			if nd.paid(id) {
				t.Fatal("charge paid after a wrong password")
			}

			// Right password (any six digits): paid.
			b.do(chromedp.SendKeys(chromedp.ID("password"), "246810"))
			if resp := b.click("#pay"); resp.Status != 200 {
				t.Fatalf("pay answered %d: %s", resp.Status, b.body())
			}
			if got := b.text("result"); !strings.Contains(got, "paid") || strings.Contains(got, "already") {
				t.Fatalf("result %q: %s", got, b.body())
			}
			// The first notification attempt completes before the result
			// page is shown, so the charge is paid already.
			got := nd.charge(id)
			if got["paid"] != true || got["transaction_no"] == "" || got["time_paid"] == nil {
				t.Fatalf("charge after paying: %v", got)
			}

			// Scanning the paid code again is refused.
			if status := scan(t, b, nd.n.URL+wc.wallet, code); status != http.StatusConflict {
				t.Fatalf("scanning a paid code answered %d", status)
			}
			if got := b.text("error"); !strings.Contains(got, "already paid") {
				t.Fatalf("scanning a paid code: %q", got)
			}
		})
	}
}

// TestWalletDecline: declining leaves the charge unpaid and the code still
// payable, as both wallets do.
func TestWalletDecline(t *testing.T) {
	nd := startNode(t)
	b := newBrowser(t)
	for _, wc := range walletCases {
		t.Run(wc.name, func(t *testing.T) {
			c := nd.createCharge(wc.channel, 100, wc.extra)
			id := c["id"].(string)
			code := credential(t, c).(string)
			mustScan(t, b, nd.n.URL+wc.wallet, code)
			b.click("#decline")
			if got := b.text("result"); !strings.Contains(got, "declined") {
				t.Fatalf("after decline: %q: %s", got, b.body())
			}
			if got := nd.charge(id); got["paid"] != false {
				t.Fatalf("charge after decline: %v", got)
			}
			// Scanning again still works, and pays.
			mustScan(t, b, nd.n.URL+wc.wallet, code)
			b.do(chromedp.SendKeys(chromedp.ID("password"), "000000"))
			b.click("#pay")
			if !strings.Contains(b.text("result"), "paid") {
				t.Fatalf("pay after decline: %s", b.body())
			}
			nd.waitPaid(id)
		})
	}
}

// TestWalletUnknownCode: a code the simulator does not know gets an error
// page, and nothing pasted is executed.
func TestWalletUnknownCode(t *testing.T) {
	nd := startNode(t)
	b := newBrowser(t)
	for _, wc := range walletCases {
		t.Run(wc.name, func(t *testing.T) {
			if status := scan(t, b, nd.n.URL+wc.wallet, wc.prefix+`x"><script>document.title="pwned"</script>`); status != http.StatusNotFound {
				t.Fatalf("unknown code answered %d", status)
			}
			if got := b.text("error"); !strings.Contains(got, "unknown code") {
				t.Fatalf("unknown code: %q", got)
			}
			if b.has("password") {
				t.Fatal("password asked for an unknown code")
			}
			ctx, cancel := b.step()
			defer cancel()
			if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || title == "pwned" {
				t.Fatalf("title %q, %v", title, err)
			}
		})
	}
}

// merchant is the merchant's site a cashier returns the buyer to.
type merchant struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits []*url.URL
}

func newMerchant(t *testing.T) *merchant {
	m := &merchant{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		m.mu.Lock()
		m.hits = append(m.hits, r.URL)
		m.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>merchant</title><p id="merchant_page">` + r.URL.Path + `</p>`))
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *merchant) last() *url.URL {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.hits) == 0 {
		return nil
	}
	return m.hits[len(m.hits)-1]
}

// TestAlipayCashier: the browser opens the wap / PC credential the way
// pingpp-js does (channel_url?fields), presses pay on the simulated cashier
// and lands on success_url with Alipay's signed return parameters; the
// charge is paid. Declining a wap payment goes to cancel_url unpaid.
func TestAlipayCashier(t *testing.T) {
	nd := startNode(t)
	b := newBrowser(t)
	m := newMerchant(t)
	for _, tc := range []struct{ channel, method string }{
		{"alipay_wap", "alipay.trade.wap.pay"},
		{"alipay_pc_direct", "alipay.trade.page.pay"},
	} {
		t.Run(tc.channel, func(t *testing.T) {
			extra := map[string]any{"success_url": m.srv.URL + "/success?shop=1"}
			if tc.channel == "alipay_wap" {
				extra["cancel_url"] = m.srv.URL + "/cancel"
			}
			c := nd.createCharge(tc.channel, 2599, extra)
			id := c["id"].(string)
			cashier := channelURL(t, credential(t, c))
			if !strings.HasPrefix(cashier, nd.n.URL+"/sim/alipay/gateway.do?") {
				t.Fatalf("channel_url %s", cashier)
			}
			if resp := b.open(cashier); resp.Status != 200 {
				t.Fatalf("cashier answered %d", resp.Status)
			}
			if got := b.text("total_amount"); got != "25.99" {
				t.Fatalf("cashier amount %q: %s", got, b.body())
			}
			if nd.paid(id) {
				t.Fatal("paid before pressing pay")
			}
			if resp := b.click(`button[value="pay"]`); resp.Status != 200 {
				t.Fatalf("return page answered %d", resp.Status)
			}
			loc, err := url.Parse(b.location())
			if err != nil {
				t.Fatal(err)
			}
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != m.srv.URL+"/success" {
				t.Fatalf("landed on %s, want success_url", loc)
			}
			q := loc.Query()
			if q.Get("shop") != "1" || q.Get("method") != tc.method+".return" || q.Get("out_trade_no") != id ||
				q.Get("total_amount") != "25.99" || q.Get("trade_no") == "" || q.Get("sign") == "" || q.Get("sign_type") != "RSA2" {
				t.Fatalf("return parameters %v", q)
			}
			if hit := m.last(); hit == nil || hit.Query().Get("trade_no") != q.Get("trade_no") {
				t.Fatalf("merchant saw %v", hit)
			}
			got := nd.charge(id)
			if got["paid"] != true || got["transaction_no"] != q.Get("trade_no") {
				t.Fatalf("charge after the cashier: %v", got)
			}
		})
	}

	t.Run("alipay_wap/decline", func(t *testing.T) {
		c := nd.createCharge("alipay_wap", 100, map[string]any{"success_url": m.srv.URL + "/success", "cancel_url": m.srv.URL + "/cancel"})
		id := c["id"].(string)
		b.open(channelURL(t, credential(t, c)))
		b.click(`button[value="decline"]`)
		if loc := b.location(); !strings.HasPrefix(loc, m.srv.URL+"/cancel") {
			t.Fatalf("declined to %s, want cancel_url", loc)
		}
		if nd.paid(id) {
			t.Fatal("paid after decline")
		}
	})
}

// TestPaymentCodePage: the wallet's payment code, chosen on the page,
// pays a scan charge created with it as extra.scan_code.
func TestPaymentCodePage(t *testing.T) {
	nd := startNode(t)
	b := newBrowser(t)

	readCode := func(t *testing.T, page, outcome string) string {
		t.Helper()
		b.open(nd.n.URL + page)
		b.do(chromedp.SetValue(chromedp.ID("outcome"), outcome))
		b.click("#refresh")
		code := b.text("payment_code")
		if len(code) != 18 || strings.ReplaceAll(b.text("payment_code_display"), " ", "") != code {
			t.Fatalf("payment code %q: %s", code, b.body())
		}
		return code
	}

	t.Run("Alipay", func(t *testing.T) {
		code := readCode(t, "/sim/alipay/wallet/code", "pay")
		if !strings.HasPrefix(code, "28") {
			t.Fatalf("pay code %s", code)
		}
		c := nd.createCharge("alipay_scan", 880, map[string]any{"scan_code": code, "terminal_id": "T001"})
		if c["paid"] != true {
			t.Fatalf("scan charge with the wallet's code: %v", c)
		}

		code = readCode(t, "/sim/alipay/wallet/code", "paying")
		if !strings.HasPrefix(code, "29") {
			t.Fatalf("paying code %s", code)
		}
		c = nd.createCharge("alipay_scan", 880, map[string]any{"scan_code": code, "terminal_id": "T001"})
		if c["paid"] != false {
			t.Fatalf("user-paying charge paid at once: %v", c)
		}
		nd.waitPaid(c["id"].(string)) // the buyer confirms after UserPayingFor; the poller sees it

		code = readCode(t, "/sim/alipay/wallet/code", "decline")
		if !strings.HasPrefix(code, "30") {
			t.Fatalf("decline code %s", code)
		}
		if status, c := nd.tryCharge("alipay_scan", 880, map[string]any{"scan_code": code, "terminal_id": "T001"}); status == 200 && c["paid"] == true {
			t.Fatalf("declined code paid: %d %v", status, c)
		}
	})

	t.Run("WeChat", func(t *testing.T) {
		code := readCode(t, "/sim/wechatpay/wallet/code", "pay")
		if !strings.HasPrefix(code, "13") || strings.HasPrefix(code, "1300") {
			t.Fatalf("pay code %s", code)
		}
		c := nd.createCharge("wx_pub_scan", 660, map[string]any{"scan_code": code})
		if c["paid"] != true {
			t.Fatalf("scan charge with the wallet's code: %v", c)
		}

		// A 1300 code waits for the password; the customer confirms it on
		// the same page while the charge is user-paying.
		code = readCode(t, "/sim/wechatpay/wallet/code", "paying")
		if !strings.HasPrefix(code, "1300") {
			t.Fatalf("paying code %s", code)
		}
		c = nd.createCharge("wx_pub_scan", 660, map[string]any{"scan_code": code})
		id := c["id"].(string)
		if c["paid"] != false {
			t.Fatalf("user-paying charge paid at once: %v", c)
		}
		b.do(chromedp.SendKeys(chromedp.ID("password"), "13579"))
		b.click("#confirm")
		if got := b.text("error"); !strings.Contains(got, "wrong password") {
			t.Fatalf("wrong password on confirm: %q: %s", got, b.body())
		}
		b.do(chromedp.SendKeys(chromedp.ID("password"), "135790"))
		b.click("#confirm")
		if got := b.text("status"); got != "SUCCESS" {
			t.Fatalf("confirm: %s", b.body())
		}
		nd.waitPaid(id)

		// Cancelling instead leaves the charge unpaid.
		code = readCode(t, "/sim/wechatpay/wallet/code", "paying")
		c = nd.createCharge("wx_pub_scan", 660, map[string]any{"scan_code": code})
		b.click("#cancel")
		if got := b.text("status"); got != "PAYERROR" {
			t.Fatalf("cancel: %s", b.body())
		}
		if nd.paid(c["id"].(string)) {
			t.Fatal("paid after the customer cancelled")
		}
	})
}
