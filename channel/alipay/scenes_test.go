package alipay_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/sim/alipaysim"
)

// sceneCharge is a charge on channel with the given extra (nil for none).
func sceneCharge(id, channel string, amount int64, extra map[string]any) *polypay.Charge {
	c := charge(id, amount)
	c.Channel = channel
	if extra != nil {
		b, err := json.Marshal(extra)
		if err != nil {
			panic(err)
		}
		c.Extra = b
	}
	return c
}

func (e *env) createOn(t *testing.T, conn *alipay.Client, ch *polypay.Charge) []byte {
	t.Helper()
	cred, err := conn.CreateCharge(context.Background(), polypay.ChannelRequest{Charge: ch, NotifyURL: e.notifyURL})
	if err != nil {
		t.Fatalf("CreateCharge: %v", err)
	}
	return cred
}

func (e *env) query(t *testing.T, conn *alipay.Client, ch *polypay.Charge) *polypay.Trade {
	t.Helper()
	tr, err := conn.QueryCharge(context.Background(), ch)
	if err != nil {
		t.Fatalf("QueryCharge: %v", err)
	}
	return tr
}

// wantPaidNotification checks the single notification delivered so far
// and the query that follows it.
func (e *env) wantPaid(t *testing.T, conn *alipay.Client, ch *polypay.Charge) {
	t.Helper()
	waitFor(t, "the payment notification", func() bool { return len(e.notifications()) == 1 })
	got := e.notifications()[0]
	if got.err != nil {
		t.Fatalf("ParseNotification: %v", got.err)
	}
	n := got.n
	if n.Kind != polypay.NotifyTrade || n.MerchantID != appID || n.Trade.State != polypay.TradePaid ||
		n.Trade.OutTradeNo != ch.ID || n.Trade.Amount != ch.Amount || n.Trade.TransactionNo == "" || n.Trade.PaidAt == 0 {
		t.Fatalf("notification: %+v", n)
	}
	tr := e.query(t, conn, ch)
	if tr.State != polypay.TradePaid || tr.TransactionNo != n.Trade.TransactionNo || tr.Amount != ch.Amount || tr.PaidAt != n.Trade.PaidAt {
		t.Fatalf("query after payment: %+v, notification %+v", tr, n.Trade)
	}
}

// verifyRequest checks a merchant request signature independently: every
// non-empty parameter but sign (sign_type included), sorted, RSA2 with the
// merchant's public key.
func verifyRequest(t *testing.T, v url.Values) {
	t.Helper()
	var pairs []string
	for k := range v {
		if k == "sign" || v.Get(k) == "" {
			continue
		}
		pairs = append(pairs, k+"="+v.Get(k))
	}
	sort.Strings(pairs)
	sig, err := base64.StdEncoding.DecodeString(v.Get("sign"))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	d := sha256.Sum256([]byte(strings.Join(pairs, "&")))
	if err := rsa.VerifyPKCS1v15(&merchantKey.PublicKey, crypto.SHA256, d[:], sig); err != nil {
		t.Fatalf("request signature: %v", err)
	}
}

// verifyReturn checks Alipay's synchronous return like a notification.
func verifyReturn(t *testing.T, v url.Values) {
	t.Helper()
	var pairs []string
	for k := range v {
		if k == "sign" || k == "sign_type" || v.Get(k) == "" {
			continue
		}
		pairs = append(pairs, k+"="+v.Get(k))
	}
	sort.Strings(pairs)
	sig, err := base64.StdEncoding.DecodeString(v.Get("sign"))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	d := sha256.Sum256([]byte(strings.Join(pairs, "&")))
	if err := rsa.VerifyPKCS1v15(&platformKey.PublicKey, crypto.SHA256, d[:], sig); err != nil {
		t.Fatalf("return signature: %v", err)
	}
}

func biz(t *testing.T, v url.Values) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(v.Get("biz_content")), &m); err != nil {
		t.Fatalf("biz_content %q: %v", v.Get("biz_content"), err)
	}
	return m
}

func wantBiz(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if w == nil {
			if _, ok := got[k]; ok {
				t.Errorf("biz_content.%s = %v, want absent", k, got[k])
			}
			continue
		}
		if g, _ := json.Marshal(got[k]); string(g) != mustJSON(w) {
			t.Errorf("biz_content.%s = %s, want %s", k, g, mustJSON(w))
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestCreateApp(t *testing.T) {
	e := newEnv(t)
	conn := e.connFor(t, alipay.ChannelApp)
	ch := sceneCharge("ch_app", alipay.ChannelApp, 1234, map[string]any{"rn_check": "T", "extern_token": "tok"})
	ch.TimeExpire = e.clock.Now().Add(time.Hour).Unix()
	cred := e.createOn(t, conn, ch)

	var obj map[string]json.RawMessage
	if err := json.Unmarshal(cred, &obj); err != nil || len(obj) != 1 {
		t.Fatalf("credential %s: want an object with orderInfo only (%v)", cred, err)
	}
	var orderInfo string
	if err := json.Unmarshal(obj["orderInfo"], &orderInfo); err != nil || orderInfo == "" {
		t.Fatalf("credential %s: orderInfo is not a string", cred)
	}
	v, err := url.ParseQuery(orderInfo)
	if err != nil {
		t.Fatal(err)
	}
	verifyRequest(t, v)
	for k, want := range map[string]string{"app_id": appID, "method": "alipay.trade.app.pay", "charset": "utf-8", "format": "JSON", "sign_type": "RSA2", "version": "1.0", "notify_url": e.notifyURL} {
		if v.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, v.Get(k), want)
		}
	}
	wantBiz(t, biz(t, v), map[string]any{"product_code": "QUICK_MSECURITY_PAY", "out_trade_no": "ch_app", "total_amount": "12.34",
		"subject": "测试商品", "body": "body", "time_expire": "2026-11-21 11:00:00"})
	if m := e.methods(); len(m) != 0 {
		t.Fatalf("app pay made server calls: %v", m)
	}
	if tr := e.query(t, conn, ch); tr.State != polypay.TradeNotFound {
		t.Fatalf("before the app: %+v", tr)
	}

	if err := e.sim.PayOrderString(context.Background(), orderInfo, true); err != nil {
		t.Fatalf("PayOrderString: %v", err)
	}
	e.wantPaid(t, conn, ch)

	// A second CreateCharge signs the same order: the app submitting it
	// lands on the same, already paid trade.
	var again map[string]string
	if err := json.Unmarshal(e.createOn(t, conn, ch), &again); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.PayOrderString(context.Background(), again["orderInfo"], true); !errors.Is(err, alipaysim.ErrTradeNotPayable) {
		t.Fatalf("second order string: %v, want ErrTradeNotPayable", err)
	}
	if n := len(e.notifications()); n != 1 {
		t.Fatalf("%d notifications, want 1", n)
	}
}

// merchantSite records the browser arriving on the merchant's pages.
type merchantSite struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits []*url.URL
}

func newMerchantSite(t *testing.T) *merchantSite {
	m := &merchantSite{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.hits = append(m.hits, r.URL)
		m.mu.Unlock()
		_, _ = io.WriteString(w, "merchant page "+r.URL.Path)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	formToken  = regexp.MustCompile(`name="sim_cashier" value="([^"]+)"`)
)

// redirectURL is what pingpp-js does with a wap/pc credential: GET
// channel_url + "?" + every other field as k=encodeURIComponent(v).
func redirectURL(t *testing.T, fields map[string]string) string {
	t.Helper()
	var parts []string
	for k, v := range fields {
		if k != "channel_url" {
			parts = append(parts, k+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	return fields["channel_url"] + "?" + strings.Join(parts, "&")
}

// cashier opens the cashier page as the buyer's browser and presses a
// button; the browser follows redirects. It returns the final page's URL
// and body.
func cashier(t *testing.T, start, button string, want ...string) (*url.URL, string) {
	t.Helper()
	resp, err := http.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cashier page: status %d: %s", resp.StatusCode, body)
	}
	for _, w := range want {
		if !strings.Contains(string(body), w) {
			t.Fatalf("cashier page lacks %q:\n%s", w, body)
		}
	}
	a, tok := formAction.FindSubmatch(body), formToken.FindSubmatch(body)
	if a == nil || tok == nil {
		t.Fatalf("no cashier form:\n%s", body)
	}
	target, err := resp.Request.URL.Parse(string(a[1]))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.PostForm(target.String(), url.Values{"sim_cashier": {string(tok[1])}, "action": {button}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after %s: status %d: %s", button, resp.StatusCode, body)
	}
	return resp.Request.URL, string(body)
}

func browserFields(t *testing.T, cred []byte) map[string]string {
	t.Helper()
	var fields map[string]string // fails on any non-string value
	if err := json.Unmarshal(cred, &fields); err != nil {
		t.Fatalf("credential %s is not an object of strings: %v", cred, err)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"app_id", "biz_content", "channel_url", "charset", "format", "method", "notify_url", "return_url", "sign", "sign_type", "timestamp", "version"}
	if _, ok := fields["app_auth_token"]; ok {
		// A service provider's form for a merchant (signed like the rest).
		want = append([]string{"app_auth_token"}, want...)
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("credential fields %v, want %v", keys, want)
	}
	v := url.Values{}
	for k, f := range fields {
		if k != "channel_url" {
			v.Set(k, f)
		}
	}
	verifyRequest(t, v)
	return fields
}

func TestCreateBrowser(t *testing.T) {
	tests := []struct {
		channel, method, product string
		extra                    func(site string) map[string]any
		wantBiz                  func(site string) map[string]any
	}{
		{alipay.ChannelWap, "alipay.trade.wap.pay", "QUICK_WAP_WAY",
			func(site string) map[string]any {
				return map[string]any{"success_url": site + "/ok", "cancel_url": site + "/cancel", "new_version": true}
			},
			func(site string) map[string]any { return map[string]any{"quit_url": site + "/cancel"} }},
		{alipay.ChannelPC, "alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY",
			func(site string) map[string]any {
				return map[string]any{"success_url": site + "/ok", "qr_pay_mode": "4", "qrcode_width": 200, "enable_anti_phishing_key": false}
			},
			func(site string) map[string]any { return map[string]any{"qr_pay_mode": "4", "qrcode_width": "200"} }},
	}
	for _, tt := range tests {
		t.Run(tt.channel, func(t *testing.T) {
			e := newEnv(t)
			site := newMerchantSite(t)
			conn := e.connFor(t, tt.channel)
			ch := sceneCharge("ch_"+tt.channel, tt.channel, 1234, tt.extra(site.srv.URL))
			ch.TimeExpire = e.clock.Now().Add(30 * time.Minute).Unix()
			fields := browserFields(t, e.createOn(t, conn, ch))
			want := map[string]string{"app_id": appID, "method": tt.method, "charset": "utf-8", "format": "JSON", "sign_type": "RSA2",
				"version": "1.0", "notify_url": e.notifyURL, "return_url": site.srv.URL + "/ok", "channel_url": e.gateway}
			for k, w := range want {
				if fields[k] != w {
					t.Errorf("%s = %q, want %q", k, fields[k], w)
				}
			}
			b := tt.wantBiz(site.srv.URL)
			b["product_code"], b["out_trade_no"], b["total_amount"], b["time_expire"] = tt.product, ch.ID, "12.34", "2026-11-21 10:30:00"
			wantBiz(t, biz(t, url.Values{"biz_content": {fields["biz_content"]}}), b)
			if m := e.methods(); len(m) != 0 {
				t.Fatalf("browser pay made server calls: %v", m)
			}

			final, _ := cashier(t, redirectURL(t, fields), "pay", "12.34", "测试商品")
			if final.Path != "/ok" {
				t.Fatalf("the browser ended on %s, want the success_url", final)
			}
			back := final.Query()
			verifyReturn(t, back)
			if back.Get("method") != tt.method+".return" || back.Get("out_trade_no") != ch.ID || back.Get("total_amount") != "12.34" || back.Get("app_id") != appID {
				t.Fatalf("synchronous return: %v", back)
			}
			e.wantPaid(t, conn, ch)
		})
	}
}

func TestBrowserDeclineThenClose(t *testing.T) {
	e := newEnv(t)
	site := newMerchantSite(t)
	conn := e.connFor(t, alipay.ChannelWap)
	ch := sceneCharge("ch_decline", alipay.ChannelWap, 500, map[string]any{"success_url": site.srv.URL + "/ok", "cancel_url": site.srv.URL + "/cancel"})
	fields := browserFields(t, e.createOn(t, conn, ch))
	final, _ := cashier(t, redirectURL(t, fields), "decline")
	if final.Path != "/cancel" {
		t.Fatalf("decline ended on %s, want the cancel_url", final)
	}
	if tr := e.query(t, conn, ch); tr.State != polypay.TradePending {
		t.Fatalf("after decline: %+v", tr)
	}
	if err := conn.CloseCharge(context.Background(), ch); err != nil {
		t.Fatalf("CloseCharge: %v", err)
	}
	if m := e.methods(); !slices.Contains(m, "alipay.trade.close") || slices.Contains(m, "alipay.trade.cancel") {
		t.Fatalf("wap close used %v, want alipay.trade.close", m)
	}
	if tr := e.query(t, conn, ch); tr.State != polypay.TradeClosed {
		t.Fatalf("after close: %+v", tr)
	}
	if n := len(e.notifications()); n != 0 {
		t.Fatalf("%d notifications for an unpaid trade", n)
	}
}

func TestBrowserOptions(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name    string
		channel string
		extra   map[string]any
		req     polypay.ChannelRequest
		want    map[string]string // credential fields
		biz     map[string]any
	}{
		{"AppPayDropsQuitURL", alipay.ChannelWap, map[string]any{"success_url": "https://m.example/ok", "cancel_url": "https://m.example/no", "app_pay": true},
			polypay.ChannelRequest{}, map[string]string{"return_url": "https://m.example/ok"}, map[string]any{"quit_url": nil}},
		{"AppPayAsString", alipay.ChannelWap, map[string]any{"success_url": "https://m.example/ok", "cancel_url": "https://m.example/no", "app_pay": "true"},
			polypay.ChannelRequest{}, nil, map[string]any{"quit_url": nil}},
		{"ReturnURLOverridesSuccessURL", alipay.ChannelPC, map[string]any{"success_url": "https://m.example/ok"},
			polypay.ChannelRequest{ReturnURL: "https://gw.example/return/ch"}, map[string]string{"return_url": "https://gw.example/return/ch"}, map[string]any{"qr_pay_mode": nil}},
		{"NoTimeExpire", alipay.ChannelPC, map[string]any{"success_url": "http://m.example/ok?a=1&b=2"},
			polypay.ChannelRequest{}, map[string]string{"return_url": "http://m.example/ok?a=1&b=2"}, map[string]any{"time_expire": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			req.Charge = sceneCharge("ch_opt", tt.channel, 100, tt.extra)
			req.NotifyURL = e.notifyURL
			cred, err := e.connFor(t, tt.channel).CreateCharge(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			fields := browserFields(t, cred)
			for k, w := range tt.want {
				if fields[k] != w {
					t.Errorf("%s = %q, want %q", k, fields[k], w)
				}
			}
			wantBiz(t, biz(t, url.Values{"biz_content": {fields["biz_content"]}}), tt.biz)
			if strings.Contains(string(cred), `\u0026`) {
				t.Errorf("credential is HTML-escaped: %s", cred)
			}
		})
	}
}

const (
	codePaysNow    = "281234567890123456"
	codeUserPaying = "291234567890123456"
	codeDeclined   = "301234567890123456"
)

func scanCharge(id, code string) *polypay.Charge {
	return sceneCharge(id, alipay.ChannelScan, 1000, map[string]any{"scan_code": code, "terminal_id": "T001"})
}

func TestCreateScan(t *testing.T) {
	t.Run("OKPaidAtOnce", func(t *testing.T) {
		e := newEnv(t)
		conn := e.connFor(t, alipay.ChannelScan)
		ch := sceneCharge("ch_scan", alipay.ChannelScan, 1000, map[string]any{
			"scan_code": codePaysNow, "terminal_id": "T001", "operator_id": "op7", "store_id": "S01", "sys_service_provider_id": "2088000000000000",
			"goods_list": []map[string]any{{"goods_id": "g1", "goods_name": "咖啡", "quantity": 2, "price": "500", "goods_category": "food"}},
		})
		if cred := e.createOn(t, conn, ch); string(cred) != "{}" {
			t.Fatalf("credential %s, want {}", cred)
		}
		pay := e.lastCall(t, "alipay.trade.pay")
		wantBiz(t, biz(t, pay), map[string]any{"scene": "bar_code", "auth_code": codePaysNow, "terminal_id": "T001", "operator_id": "op7",
			"store_id": "S01", "out_trade_no": "ch_scan", "total_amount": "10.00", "product_code": "FACE_TO_FACE_PAYMENT",
			"goods_detail": []map[string]any{{"goods_id": "g1", "alipay_goods_id": "", "goods_name": "咖啡", "quantity": 2, "price": "5.00", "goods_category": "food", "body": "", "show_url": ""}}})
		if p := biz(t, pay)["extend_params"].(map[string]any)["sys_service_provider_id"]; p != "2088000000000000" {
			t.Errorf("sys_service_provider_id = %v", p)
		}
		e.wantPaid(t, conn, ch)
		// Repeating the create learns the same outcome and pays nothing twice.
		if cred := e.createOn(t, conn, ch); string(cred) != "{}" {
			t.Fatalf("repeat credential %s", cred)
		}
		time.Sleep(20 * time.Millisecond)
		if n := len(e.notifications()); n != 1 {
			t.Fatalf("%d notifications, want 1", n)
		}
		// A paid scan is not reversed by CloseCharge.
		wantCode(t, conn.CloseCharge(context.Background(), ch), polypay.EChannel, "ACQ.TRADE_HAS_SUCCESS")
		if slices.Contains(e.methods(), "alipay.trade.cancel") {
			t.Fatal("CloseCharge reversed a paid trade")
		}
		if tr := e.query(t, conn, ch); tr.State != polypay.TradePaid {
			t.Fatalf("after CloseCharge: %+v", tr)
		}
	})
	t.Run("OKUserPayingThenPaid", func(t *testing.T) {
		e := newEnv(t, withUserPaying(100*time.Millisecond))
		conn := e.connFor(t, alipay.ChannelScan)
		ch := scanCharge("ch_paying", codeUserPaying)
		if cred := e.createOn(t, conn, ch); string(cred) != "{}" {
			t.Fatalf("credential %s, want {}", cred)
		}
		if tr := e.query(t, conn, ch); tr.State != polypay.TradePending {
			t.Fatalf("while the buyer confirms: %+v", tr)
		}
		e.wantPaid(t, conn, ch)
	})
	t.Run("ErrDeclined", func(t *testing.T) {
		e := newEnv(t)
		conn := e.connFor(t, alipay.ChannelScan)
		ch := scanCharge("ch_declined", codeDeclined)
		_, err := conn.CreateCharge(context.Background(), polypay.ChannelRequest{Charge: ch, NotifyURL: e.notifyURL})
		wantCode(t, err, polypay.EChannel, "ACQ.PAYMENT_AUTH_CODE_INVALID")
		if m := e.methods(); !slices.Equal(m, []string{"alipay.trade.pay"}) {
			t.Fatalf("calls %v: a refusal takes no money and needs no reverse", m)
		}
		if tr := e.query(t, conn, ch); tr.State != polypay.TradeNotFound {
			t.Fatalf("after a decline: %+v", tr)
		}
		if err := conn.CloseCharge(context.Background(), ch); err != nil {
			t.Fatalf("CloseCharge of a trade never created: %v", err)
		}
	})
	t.Run("OKCloseReversesWhileUserPaying", func(t *testing.T) {
		e := newEnv(t, withUserPaying(100*time.Millisecond))
		conn := e.connFor(t, alipay.ChannelScan)
		ch := scanCharge("ch_reverse", codeUserPaying)
		e.createOn(t, conn, ch)
		if err := conn.CloseCharge(context.Background(), ch); err != nil {
			t.Fatalf("CloseCharge: %v", err)
		}
		if m := e.methods(); !slices.Contains(m, "alipay.trade.cancel") || slices.Contains(m, "alipay.trade.close") {
			t.Fatalf("scan close used %v, want alipay.trade.cancel", m)
		}
		time.Sleep(200 * time.Millisecond) // past the buyer's confirmation
		if tr := e.query(t, conn, ch); tr.State != polypay.TradeClosed {
			t.Fatalf("after reverse: %+v", tr)
		}
		if n := len(e.notifications()); n != 0 {
			t.Fatalf("%d notifications for a reversed trade", n)
		}
	})
	lost := `{"error_response":{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}}`
	t.Run("OKUnknownOutcomeQueriedPaid", func(t *testing.T) {
		// Alipay charged the code but its answer was lost: the query shows
		// the payment, which is the outcome. Reversing it would hand the
		// money back while a notification may already have recorded it.
		e := newEnv(t)
		e.lose = map[string]string{"alipay.trade.pay": lost}
		conn := e.connFor(t, alipay.ChannelScan)
		ch := scanCharge("ch_lost", codePaysNow)
		if _, err := conn.CreateCharge(context.Background(), polypay.ChannelRequest{Charge: ch, NotifyURL: e.notifyURL}); err != nil {
			t.Fatalf("CreateCharge: %v, want success (the query shows it paid)", err)
		}
		if tr := e.query(t, conn, ch); tr.State != polypay.TradePaid {
			t.Fatalf("after the lost answer: %+v, want paid", tr)
		}
	})
	t.Run("OKUnknownOutcomeReversed", func(t *testing.T) {
		// The answer and the query are both lost: the connector must
		// reverse, so that the caller dropping the charge keeps no money
		// from the buyer, and say so (ErrTradeReversed).
		e := newEnv(t)
		e.lose = map[string]string{"alipay.trade.pay": lost, "alipay.trade.query": lost}
		conn := e.connFor(t, alipay.ChannelScan)
		ch := scanCharge("ch_lost", codePaysNow)
		_, err := conn.CreateCharge(context.Background(), polypay.ChannelRequest{Charge: ch, NotifyURL: e.notifyURL})
		if err == nil || polypay.ErrorCode(err) != polypay.EInternal || !errors.Is(err, polypay.ErrTradeReversed) {
			t.Fatalf("CreateCharge: %v, want a retryable error saying the trade was reversed", err)
		}
		delete(e.lose, "alipay.trade.query")
		if tr := e.query(t, conn, ch); tr.State != polypay.TradeClosed {
			t.Fatalf("after the reverse: %+v", tr)
		}
	})
}

func TestCreateLite(t *testing.T) {
	const buyer = "2088102177846880"
	e := newEnv(t)
	conn := e.connFor(t, alipay.ChannelLite)
	ch := sceneCharge("ch_lite", alipay.ChannelLite, 666, map[string]any{"buyer_id": buyer})
	cred := e.createOn(t, conn, ch)
	var tradeNo string
	if err := json.Unmarshal(cred, &tradeNo); err != nil || len(tradeNo) != 28 {
		t.Fatalf("credential %s is not a JSON trade_no", cred)
	}
	wantBiz(t, biz(t, e.lastCall(t, "alipay.trade.create")), map[string]any{"buyer_id": buyer, "product_code": "JSAPI_PAY", "out_trade_no": "ch_lite", "total_amount": "6.66"})
	if again := e.createOn(t, conn, ch); string(again) != string(cred) {
		t.Fatalf("repeat credential %s, want %s", again, cred)
	}
	if tr := e.query(t, conn, ch); tr.State != polypay.TradePending || tr.TransactionNo != tradeNo {
		t.Fatalf("before payment: %+v", tr)
	}
	if err := e.sim.Pay(context.Background(), appID, ch.ID, true); err != nil {
		t.Fatal(err)
	}
	e.wantPaid(t, conn, ch)
	if n := e.notifications()[0]; n.n.Trade.TransactionNo != tradeNo || !strings.Contains(string(n.body), "buyer_id="+buyer) {
		t.Fatalf("notification for another buyer or trade: %s", n.body)
	}

	t.Run("OKOpenID", func(t *testing.T) {
		const openID = "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"
		e.createOn(t, conn, sceneCharge("ch_lite_open", alipay.ChannelLite, 100, map[string]any{"buyer_id": openID}))
		wantBiz(t, biz(t, e.lastCall(t, "alipay.trade.create")), map[string]any{"buyer_open_id": openID, "buyer_id": ""})
	})
}

func TestCreateExtraInvalid(t *testing.T) {
	e := newEnv(t)
	ok := "https://m.example/ok"
	tests := []struct {
		name, channel string
		extra         any
		param         string
	}{
		{"ErrNotObject", alipay.ChannelWap, []string{"x"}, "extra"},
		{"ErrAppRnCheck", alipay.ChannelApp, map[string]any{"rn_check": "Y"}, "extra[rn_check]"},
		{"ErrAppExternToken", alipay.ChannelApp, map[string]any{"extern_token": 5}, "extra[extern_token]"},
		{"ErrWapNoSuccessURL", alipay.ChannelWap, map[string]any{"cancel_url": ok}, "extra[success_url]"},
		{"ErrWapEmptySuccessURL", alipay.ChannelWap, map[string]any{"success_url": ""}, "extra[success_url]"},
		{"ErrWapSuccessURLNotString", alipay.ChannelWap, map[string]any{"success_url": 1}, "extra[success_url]"},
		{"ErrWapRelativeURL", alipay.ChannelWap, map[string]any{"success_url": "/ok"}, "extra[success_url]"},
		{"ErrWapFTP", alipay.ChannelWap, map[string]any{"success_url": "ftp://m.example/ok"}, "extra[success_url]"},
		{"ErrWapNoHost", alipay.ChannelWap, map[string]any{"success_url": "https:///ok"}, "extra[success_url]"},
		{"ErrWapCancelURL", alipay.ChannelWap, map[string]any{"success_url": ok, "cancel_url": "javascript:alert(1)"}, "extra[cancel_url]"},
		{"ErrWapAppPay", alipay.ChannelWap, map[string]any{"success_url": ok, "app_pay": "yes"}, "extra[app_pay]"},
		{"ErrPCNoSuccessURL", alipay.ChannelPC, map[string]any{}, "extra[success_url]"},
		{"ErrPCNoExtra", alipay.ChannelPC, nil, "extra[success_url]"},
		{"ErrPCQRPayMode", alipay.ChannelPC, map[string]any{"success_url": ok, "qr_pay_mode": "5"}, "extra[qr_pay_mode]"},
		{"ErrPCQRCodeWidth", alipay.ChannelPC, map[string]any{"success_url": ok, "qrcode_width": "wide"}, "extra[qrcode_width]"},
		{"ErrScanNoCode", alipay.ChannelScan, map[string]any{"terminal_id": "T1"}, "extra[scan_code]"},
		{"ErrScanNoTerminal", alipay.ChannelScan, map[string]any{"scan_code": codePaysNow}, "extra[terminal_id]"},
		{"ErrScanGoodsNotList", alipay.ChannelScan, map[string]any{"scan_code": codePaysNow, "terminal_id": "T1", "goods_list": "g"}, "extra[goods_list]"},
		{"ErrScanGoodsPrice", alipay.ChannelScan, map[string]any{"scan_code": codePaysNow, "terminal_id": "T1",
			"goods_list": []map[string]any{{"goods_id": "g", "goods_name": "n", "quantity": 1, "price": "1.50"}}}, "extra[goods_list]"},
		{"ErrScanGoodsQuantity", alipay.ChannelScan, map[string]any{"scan_code": codePaysNow, "terminal_id": "T1",
			"goods_list": []map[string]any{{"goods_id": "g", "goods_name": "n", "quantity": 0, "price": "150"}}}, "extra[goods_list]"},
		{"ErrLiteNoBuyer", alipay.ChannelLite, map[string]any{}, "extra[buyer_id]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := charge("ch_bad", 100)
			ch.Channel = tt.channel
			if tt.extra != nil {
				ch.Extra, _ = json.Marshal(tt.extra)
			}
			_, err := e.connFor(t, tt.channel).CreateCharge(context.Background(), polypay.ChannelRequest{Charge: ch, NotifyURL: e.notifyURL})
			var pe *polypay.Error
			if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || pe.Param != tt.param {
				t.Fatalf("error %v, want EInvalid for %s", err, tt.param)
			}
		})
	}
	if m := e.methods(); len(m) != 0 {
		t.Fatalf("invalid extras reached the gateway: %v", m)
	}
}
