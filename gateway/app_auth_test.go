package gateway_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// noRedirect is an HTTP client that shows redirects instead of following.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorizeInBrowser plays a merchant on Alipay's authorization page
// (the simulator's) for the link polypay gave, and follows the redirect
// back to polypay's callback; it returns the callback's status and page.
func authorizeInBrowser(t *testing.T, link, merchantApp string) (int, string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("merchant_app_id", merchantApp)
	form := u.Scheme + "://" + u.Host + u.Path
	rsp, err := noRedirect.PostForm(form, q)
	if err != nil || rsp.StatusCode != http.StatusSeeOther {
		t.Fatalf("authorization page: %v %v", rsp, err)
	}
	rsp.Body.Close()
	back, err := http.Get(rsp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	defer back.Body.Close()
	b, _ := io.ReadAll(back.Body)
	return back.StatusCode, string(b)
}

// TestAlipayAppAuthorization: a sub-merchant authorizes its platform's
// Alipay app on Alipay's page (the simulator's); the platform then takes
// its payments with app_auth_token: the trade is the merchant's at
// Alipay, its notification verifies, it refunds; the token is renewed;
// once the merchant revokes it, payments are refused saying so. Bad
// links and codes change nothing, and the token is never stored or shown
// in the clear.
func TestAlipayAppAuthorization(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		m := ok(t, "sub-app", e.do("POST", "/v1/apps/"+e.app.AppID+"/sub_apps", e.sk(), map[string]any{"display_name": "授权店"}))
		sub, subKey := m.str("id"), m.str("keys", "secret_key_test")
		path := "/v1/apps/" + e.app.AppID + "/sub_apps/" + sub + "/authorizations/alipay"
		st := ok(t, "status", e.do("GET", path, e.sk(), nil))
		if st.str("status") != "none" || !strings.Contains(st.str("authorize_url"), "appToAppAuth.htm") {
			t.Fatalf("before: %s", st.Body)
		}
		const merchantApp = "2021000000000999"
		if code, page := authorizeInBrowser(t, st.str("authorize_url"), merchantApp); code != 200 || !strings.Contains(page, "授权成功") {
			t.Fatalf("callback: %d %s", code, page)
		}
		st = ok(t, "status", e.do("GET", path, e.sk(), nil))
		if st.str("status") != "active" || st.str("auth_app_id") != merchantApp {
			t.Fatalf("after: %s", st.Body)
		}

		// A payment for the merchant, on the platform's app with its token.
		body := e.chargeBody("AUTH0001", 800)
		body["app"] = map[string]any{"id": sub}
		ch := ok(t, "charge", e.do("POST", "/v1/charges", e.sk(), body))
		if p := e.pay(ch.str("id")); p.JSON["paid"] != true {
			t.Fatalf("pay: %s", p.Body)
		}
		found := false
		for _, tr := range e.node.Sandbox.AlipaySim().Trades() {
			if tr.OutTradeNo == ch.str("id") {
				found = tr.AppID == merchantApp && tr.Paid
			}
		}
		if !found {
			t.Fatal("the trade is not the merchant's at Alipay")
		}
		ok(t, "refund", e.do("POST", "/v1/charges/"+ch.str("id")+"/refunds", e.sk(), map[string]any{"amount": 300, "description": "r"}))
		e.settle("/v1/charges/"+ch.str("id")+"/refunds/"+ids(ok(t, "refunds", e.do("GET", "/v1/charges/"+ch.str("id")+"/refunds", e.sk(), nil)))[0], "succeeded")

		// Renewed: a new token, payments go on.
		if r := ok(t, "refresh", e.do("POST", path, e.sk(), map[string]any{"refresh": true})); r.str("status") != "active" {
			t.Fatalf("refresh: %s", r.Body)
		}
		body["order_no"] = "AUTH0002"
		ok(t, "charge after the refresh", e.do("POST", "/v1/charges", e.sk(), body))

		// Revoked at Alipay: refused, saying so.
		sandboxApp := mustMerchant(t, e)
		if !e.node.Sandbox.AlipaySim().RevokeAppAuth(sandboxApp, merchantApp) {
			t.Fatal("no authorization to revoke")
		}
		body["order_no"] = "AUTH0003"
		if r := e.do("POST", "/v1/charges", e.sk(), body); r.Status < 400 || !strings.Contains(r.str("error", "message"), "授权已失效") {
			t.Fatalf("a payment after the merchant revoked: %d %s", r.Status, r.Body)
		}

		// Bad links, codes and callers.
		if code, _ := fetchPage(t, e.node.URL+"/oauth/alipay/callback?app_auth_code=x&state=v1:AAAA"); code != 400 {
			t.Fatalf("a forged state: %d", code)
		}
		refused(t, "a bad code", e.do("POST", path, e.sk(), map[string]any{"app_auth_code": "nope"}), 400, "app_auth_code")
		refused(t, "neither", e.do("POST", path, e.sk(), map[string]any{}), 400, "app_auth_code")
		refused(t, "unionpay", e.do("GET", "/v1/apps/"+e.app.AppID+"/sub_apps/"+sub+"/authorizations/unionpay", e.sk(), nil), 400, "family")
		if r := e.do("GET", "/v1/apps/"+sub+"/sub_apps/"+sub+"/authorizations/alipay", subKey, nil); r.Status != 404 {
			t.Fatalf("the merchant reads its own authorization as a platform: %d", r.Status)
		}
		var dump []string
		if err := e.node.DB.Read(ctx, func(tx *store.Tx) (err error) { dump, err = tx.DumpTable(ctx, "channel_configs"); return }); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.Join(dump, "\n"), "app_auth_token") {
			t.Fatal("an authorization is stored in the clear")
		}
	})
}

// TestAlipayAuthorizationRenewal: the node renews a merchant's
// authorization with its refresh token before the token expires, two
// nodes at once included (each renewal is a named job one node claims);
// the merchant's payments go on with the new token; authorizations not
// yet due are left alone.
func TestAlipayAuthorizationRenewal(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		sub := ok(t, "sub-app", e.do("POST", "/v1/apps/"+e.app.AppID+"/sub_apps", e.sk(), map[string]any{"display_name": "续期店"})).str("id")
		path := "/v1/apps/" + e.app.AppID + "/sub_apps/" + sub + "/authorizations/alipay"
		st := ok(t, "status", e.do("GET", path, e.sk(), nil))
		if code, _ := authorizeInBrowser(t, st.str("authorize_url"), "2021000000000888"); code != 200 {
			t.Fatalf("callback: %d", code)
		}
		before, err := e.node.Registry.OwnAuthorization(ctx, sub, false, "alipay")
		if err != nil || before == nil {
			t.Fatalf("authorization: %+v, %v", before, err)
		}
		if n, err := e.node.Registry.RenewAuthorizations(ctx, time.Now(), "node-a"); err != nil || n != 0 {
			t.Fatalf("renewed %d a year before expiry (%v)", n, err)
		}
		late := time.Unix(before.ExpiresAt, 0).Add(-channel.RenewBefore / 2)
		var wg sync.WaitGroup
		var total atomic.Int64
		for _, owner := range []string{"node-a", "node-b"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := e.node.Registry.RenewAuthorizations(ctx, late, owner)
				if err != nil {
					t.Error(err)
				}
				total.Add(int64(n))
			}()
		}
		wg.Wait()
		after, err := e.node.Registry.OwnAuthorization(ctx, sub, false, "alipay")
		if err != nil || after == nil || after.Token == before.Token || after.RefreshToken == before.RefreshToken || total.Load() < 1 {
			t.Fatalf("renewed %d: before %+v, after %+v (%v)", total.Load(), before, after, err)
		}
		body := e.chargeBody("RENEW0001", 500)
		body["app"] = map[string]any{"id": sub}
		ch := ok(t, "charge after renewal", e.do("POST", "/v1/charges", e.sk(), body))
		if p := e.pay(ch.str("id")); p.JSON["paid"] != true {
			t.Fatalf("pay: %s", p.Body)
		}
	})
}

func fetchPage(t *testing.T, u string) (int, string) {
	t.Helper()
	r, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

// TestWechatPartnerMode: a sub-app registered as a sub-merchant of its
// platform's WeChat Pay account (checked with WeChat Pay) takes payments
// in partner mode: the trade is the sub-merchant's, the notification
// (to the provider) verifies and pays the charge, refunds work; once the
// sub-merchant unbinds, payments are refused and it cannot register
// again; a malformed number is refused naming sub_mchid.
func TestWechatPartnerMode(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		m := ok(t, "sub-app", e.do("POST", "/v1/apps/"+e.app.AppID+"/sub_apps", e.sk(), map[string]any{"display_name": "特约商户"}))
		sub := m.str("id")
		path := "/v1/apps/" + e.app.AppID + "/sub_apps/" + sub + "/authorizations/wx"
		if st := ok(t, "status", e.do("GET", path, e.sk(), nil)); st.str("status") != "none" {
			t.Fatalf("before: %s", st.Body)
		}
		refused(t, "malformed", e.do("POST", path, e.sk(), map[string]any{"sub_mchid": "12ab"}), 400, "sub_mchid")
		refused(t, "a long sub_appid", e.do("POST", path, e.sk(), map[string]any{"sub_mchid": "1900000109", "sub_appid": strings.Repeat("w", 33)}), 400, "sub_appid")
		const subMch = "1900000109"
		if st := ok(t, "register", e.do("POST", path, e.sk(), map[string]any{"sub_mchid": subMch})); st.str("status") != "active" || st.str("sub_mchid") != subMch {
			t.Fatalf("registered: %s", st.Body)
		}

		body := e.chargeBody("WXSP0001", 900)
		body["app"], body["channel"], body["extra"] = map[string]any{"id": sub}, "wx_pub_qr", map[string]any{"product_id": "p1"}
		ch := ok(t, "charge", e.do("POST", "/v1/charges", e.sk(), body))
		if p := e.pay(ch.str("id")); p.JSON["paid"] != true {
			t.Fatalf("pay: %s", p.Body)
		}
		waitFor(t, "paid", func() bool {
			return ok(t, "charge", e.do("GET", "/v1/charges/"+ch.str("id"), e.sk(), nil)).JSON["paid"] == true
		})
		sim := e.node.Sandbox.WechatSim()
		found := false
		for _, tr := range sim.Trades() {
			if tr.OutTradeNo == ch.str("id") {
				found = tr.MchID == subMch && tr.Paid
			}
		}
		if !found {
			t.Fatal("the trade is not the sub-merchant's at WeChat Pay")
		}
		re := ok(t, "refund", e.do("POST", "/v1/charges/"+ch.str("id")+"/refunds", e.sk(), map[string]any{"amount": 400, "description": "r"}))
		e.settle("/v1/charges/"+ch.str("id")+"/refunds/"+re.str("id"), "succeeded")

		sp, err := e.node.Registry.SandboxMerchantID(ctx, e.app.AppID, "wx")
		if err != nil {
			t.Fatal(err)
		}
		sim.UnbindSubMerchant(sp, subMch)
		body["order_no"] = "WXSP0002"
		if r := e.do("POST", "/v1/charges", e.sk(), body); r.Status < 400 || r.str("error", "code") != "NO_AUTH" {
			t.Fatalf("a payment after unbinding: %d %s", r.Status, r.Body)
		}
		refused(t, "register an unbound one", e.do("POST", path, e.sk(), map[string]any{"sub_mchid": subMch}), 400, "sub_mchid")
		checkLedger(t, e)
	})
}
