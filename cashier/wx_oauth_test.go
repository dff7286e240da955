package cashier_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/polypay/polypay/store"
)

const wechatUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.44 NetType/WIFI Language/zh_CN"

// wxBrowser is the WeChat browser: cookies, redirects followed by hand.
type wxBrowser struct {
	t *testing.T
	c *http.Client
}

func newWxBrowser(t *testing.T) *wxBrowser {
	jar, _ := cookiejar.New(nil)
	return &wxBrowser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *wxBrowser) do(method, u, form string) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != "" {
		body = strings.NewReader(form)
	}
	req, _ := http.NewRequest(method, u, body)
	req.Header.Set("User-Agent", wechatUA)
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(raw)
}

// choose picks wx_pub on the order's cashier page and returns where the
// cashier sent the browser (WeChat's authorize endpoint).
func (b *wxBrowser) choose(base, id, tok string) *url.URL {
	b.t.Helper()
	st, loc, body := b.do("POST", base+"/cashier/"+id+"/pay", "t="+url.QueryEscape(tok)+"&channel=wx_pub")
	if st != http.StatusSeeOther {
		b.t.Fatalf("choose wx_pub: %d %s", st, body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

func wxOrder(t *testing.T, nd *node, no string) (id, tok string) {
	t.Helper()
	_, o, raw := nd.do("POST", "/v1/orders", nd.orderBody(no))
	id, _ = o["id"].(string)
	if id == "" {
		t.Fatalf("order: %s", raw)
	}
	return id, strings.SplitN(o["cashier_url"].(string), "?t=", 2)[1]
}

func orderCharges(t *testing.T, nd *node, id string) []string {
	ctx := context.Background()
	var ids []string
	nd.n.DB.Read(ctx, func(tx *store.Tx) error {
		links, err := tx.OrderCharges(ctx, id)
		for _, l := range links {
			ids = append(ids, l.ChargeID)
		}
		return err
	})
	return ids
}

func TestWxPubOAuth(t *testing.T) {
	nd := start(t)
	id, tok := wxOrder(t, nd, "wx-oauth-1")
	b := newWxBrowser(t)
	auth := b.choose(nd.n.URL, id, tok)
	if !strings.HasPrefix(auth.String(), nd.n.URL+"/sim/wechatpay/oauth/") || !strings.HasSuffix(auth.Path, "/authorize") ||
		auth.Fragment != "wechat_redirect" {
		t.Fatalf("authorize URL %s", auth)
	}
	q := auth.Query()
	cb, _ := url.Parse(q.Get("redirect_uri"))
	if q.Get("scope") != "snsapi_base" || q.Get("response_type") != "code" || !strings.HasPrefix(q.Get("appid"), "wx") ||
		cb == nil || cb.String() != nd.n.URL+"/cashier/"+id+"/wx_oauth" || strings.Trim(q.Get("state"), "0123456789abcdef") != "" ||
		strings.Contains(auth.String(), tok) {
		t.Fatalf("authorize query %v", q)
	}
	if n := len(orderCharges(t, nd, id)); n != 0 {
		t.Fatalf("%d charges before the OAuth", n)
	}
	// The simulator answers the silent authorization at once.
	st, loc, body := b.do("GET", auth.String(), "")
	if st != http.StatusFound {
		t.Fatalf("authorize: %d %s", st, body)
	}
	back, _ := url.Parse(loc)
	code := back.Query().Get("code")
	if !strings.HasPrefix(loc, nd.n.URL+"/cashier/"+id+"/wx_oauth?") || code == "" || back.Query().Get("state") != q.Get("state") {
		t.Fatalf("authorize redirected to %s", loc)
	}

	// A tampered state is refused, makes no charge and does not spend the code.
	bad := strings.Replace(loc, "state="+q.Get("state"), "state="+strings.Repeat("0", len(q.Get("state"))), 1)
	if st, loc2, body := b.do("GET", bad, ""); st != http.StatusBadRequest || loc2 != "" || strings.Contains(body, tok) {
		t.Fatalf("tampered state: %d %q", st, loc2)
	}
	if n := len(orderCharges(t, nd, id)); n != 0 {
		t.Fatalf("%d charges after a tampered state", n)
	}

	// The callback exchanges the code, creates the charge and shows the JSAPI step.
	st, loc, body = b.do("GET", loc, "")
	if st != http.StatusSeeOther || loc != nd.n.URL+"/cashier/"+id+"?t="+url.QueryEscape(tok)+"&ch=wx_pub" {
		t.Fatalf("callback: %d %q %s", st, loc, body)
	}
	charges := orderCharges(t, nd, id)
	if len(charges) != 1 {
		t.Fatalf("charges %v", charges)
	}
	_, ch, raw := nd.do("GET", "/v1/charges/"+charges[0], nil)
	extra, _ := ch["extra"].(map[string]any)
	openid, _ := extra["open_id"].(string)
	if ch["channel"] != "wx_pub" || !strings.HasPrefix(openid, "o") || len(openid) < 20 || openid == "o_polypay_sandbox_payer" {
		t.Fatalf("charge %s", raw)
	}
	cred, _ := ch["credential"].(map[string]any)
	js, _ := cred["wx_pub"].(map[string]any)
	for _, k := range []string{"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"} {
		if js[k] == nil || js[k] == "" {
			t.Fatalf("credential lacks %s: %s", k, raw)
		}
	}
	st, _, page := b.do("GET", loc, "")
	if st != 200 || !strings.Contains(page, `data-state="jsapi"`) || !strings.Contains(page, "prepay_id=") || !strings.Contains(page, `id="wallet_link"`) {
		t.Fatalf("JSAPI page: %d %s", st, page)
	}

	// The same browser is the same payer: a second order gets the same openid.
	id2, tok2 := wxOrder(t, nd, "wx-oauth-2")
	_, loc2, _ := b.do("GET", b.choose(nd.n.URL, id2, tok2).String(), "")
	b.do("GET", loc2, "")
	if c2 := orderCharges(t, nd, id2); len(c2) != 1 {
		t.Fatalf("second order charges %v", c2)
	} else if _, ch2, _ := nd.do("GET", "/v1/charges/"+c2[0], nil); ch2["extra"].(map[string]any)["open_id"] != openid {
		t.Fatalf("second order openid %v, want %s", ch2["extra"], openid)
	}

	// Paying in the simulator pays the order.
	if s, _, raw := nd.do("POST", "/v1/test/charges/"+charges[0]+"/pay", map[string]any{"result": "success"}); s != 200 {
		t.Fatalf("pay: %d %s", s, raw)
	}
	if _, o, _ := nd.do("GET", "/v1/orders/"+id, nil); o["status"] != "paid" {
		t.Fatalf("order %v", o["status"])
	}
	if _, _, page := b.do("GET", loc, ""); !strings.Contains(page, `data-state="paid"`) {
		t.Fatalf("paid page %s", page)
	}
}

func TestWxPubOAuthCodeUsedOnce(t *testing.T) {
	nd := start(t)
	id, tok := wxOrder(t, nd, "wx-oauth-reuse")
	b := newWxBrowser(t)
	_, loc, _ := b.do("GET", b.choose(nd.n.URL, id, tok).String(), "")
	// Another order's round trip reuses the first one's code: the
	// exchange fails, and that order gets no charge.
	id2, tok2 := wxOrder(t, nd, "wx-oauth-reuse-2")
	_, loc2, _ := b.do("GET", b.choose(nd.n.URL, id2, tok2).String(), "")
	code := mustURL(t, loc).Query().Get("code")
	u2 := mustURL(t, loc2)
	q2 := u2.Query()
	q2.Set("code", code)
	u2.RawQuery = q2.Encode()
	if st, l, _ := b.do("GET", loc, ""); st != http.StatusSeeOther || !strings.HasSuffix(l, "&ch=wx_pub") {
		t.Fatalf("first use: %d %q", st, l)
	}
	st, l, _ := b.do("GET", u2.String(), "")
	if st != http.StatusSeeOther || l != nd.n.URL+"/cashier/"+id2+"?t="+url.QueryEscape(tok2)+"&err=oauth_failed" {
		t.Fatalf("reused code: %d %q", st, l)
	}
	if c := orderCharges(t, nd, id2); len(c) != 0 {
		t.Fatalf("reused code made charges %v", c)
	}
	if _, _, page := b.do("GET", l, ""); !strings.Contains(page, `id="error"`) || !strings.Contains(page, "微信授权未完成") {
		t.Fatalf("error page %s", page)
	}
	// The order's own fresh code still works.
	if st, l, _ := b.do("GET", loc2, ""); st != http.StatusSeeOther || !strings.HasSuffix(l, "&ch=wx_pub") {
		t.Fatalf("fresh code: %d %q", st, l)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
