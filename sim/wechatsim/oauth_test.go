package wechatsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/polypay/polypay/sim/wechatsim"
)

const appSecret = "0123456789abcdef0123456789abcdef"

func newOAuthSim(t *testing.T) string {
	t.Helper()
	s := wechatsim.New(wechatsim.Options{PrivateKey: platformKey, PublicKeyID: keyID,
		Merchant: func(id string) (*wechatsim.Merchant, bool) {
			m, ok := merchants(id)
			if ok {
				m.AppSecret = appSecret
			}
			return m, ok
		}})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	return srv.URL
}

// authorize runs the silent authorization with a browser (cookie jar) and
// returns the code and state it redirected back with.
func authorize(t *testing.T, c *http.Client, base, app, state string) (code, gotState string) {
	t.Helper()
	q := url.Values{"appid": {app}, "redirect_uri": {"https://shop.example/cb?x=1"}, "response_type": {"code"},
		"scope": {"snsapi_base"}, "state": {state}}
	res, err := c.Get(base + "/oauth/" + mchid + "/authorize?" + q.Encode() + "#wechat_redirect")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d", res.StatusCode)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Host != "shop.example" || loc.Path != "/cb" || loc.Query().Get("x") != "1" {
		t.Fatalf("authorize redirected to %q", res.Header.Get("Location"))
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

func exchange(t *testing.T, base, app, secret, code string) map[string]any {
	t.Helper()
	q := url.Values{"appid": {app}, "secret": {secret}, "code": {code}, "grant_type": {"authorization_code"}}
	res, err := http.Get(base + "/oauth/" + mchid + "/access_token?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestOAuthSilentAuthorizeAndExchange(t *testing.T) {
	base := newOAuthSim(t)
	b := browser()
	code, state := authorize(t, b, base, appid, "ord_1.sig")
	if code == "" || state != "ord_1.sig" {
		t.Fatalf("code %q state %q", code, state)
	}
	m := exchange(t, base, appid, appSecret, code)
	openid, _ := m["openid"].(string)
	if openid == "" || m["scope"] != "snsapi_base" || m["access_token"] == "" || m["expires_in"] != float64(7200) {
		t.Fatalf("exchange: %v", m)
	}
	// Once only.
	if m := exchange(t, base, appid, appSecret, code); m["errcode"] != float64(40163) {
		t.Fatalf("reused code: %v", m)
	}
	// The same browser is the same user; another browser another one.
	code2, _ := authorize(t, b, base, appid, "s")
	if m := exchange(t, base, appid, appSecret, code2); m["openid"] != openid {
		t.Fatalf("same browser, openid %v, want %s", m["openid"], openid)
	}
	code3, _ := authorize(t, browser(), base, appid, "s")
	if m := exchange(t, base, appid, appSecret, code3); m["openid"] == openid || m["openid"] == nil {
		t.Fatalf("other browser, openid %v", m["openid"])
	}
	// Per appid.
	code4, _ := authorize(t, b, base, "wx_other_app_0001", "s")
	if m := exchange(t, base, "wx_other_app_0001", appSecret, code4); m["openid"] == openid || m["openid"] == nil {
		t.Fatalf("other appid, openid %v", m["openid"])
	}
}

func TestOAuthExchangeErrors(t *testing.T) {
	base := newOAuthSim(t)
	code, _ := authorize(t, browser(), base, appid, "s")
	for _, tc := range []struct {
		app, secret, code string
		want              float64
	}{
		{appid, "wrong", code, 40125},
		{appid, "", code, 40125},
		{"wx_unknown", appSecret, code, 40013},
		{appid, appSecret, "nonsense", 40029},
		{"wx_other_app_0001", appSecret, code, 40029}, // code bound to its appid
	} {
		if m := exchange(t, base, tc.app, tc.secret, tc.code); m["errcode"] != tc.want || m["openid"] != nil {
			t.Errorf("%+v: %v", tc, m)
		}
	}
	// None of those used the code up.
	if m := exchange(t, base, appid, appSecret, code); m["openid"] == nil {
		t.Fatalf("valid exchange after failures: %v", m)
	}
}

func TestOAuthAuthorizeRejects(t *testing.T) {
	base := newOAuthSim(t)
	good := url.Values{"appid": {appid}, "redirect_uri": {"https://shop.example/cb"}, "response_type": {"code"},
		"scope": {"snsapi_base"}, "state": {"s"}}
	for name, mod := range map[string]func(url.Values){
		"unknown appid":   func(q url.Values) { q.Set("appid", "wx_nope") },
		"bad redirect":    func(q url.Values) { q.Set("redirect_uri", "javascript:alert(1)") },
		"response_type":   func(q url.Values) { q.Set("response_type", "token") },
		"scope":           func(q url.Values) { q.Set("scope", "snsapi_login") },
		"no redirect_uri": func(q url.Values) { q.Del("redirect_uri") },
	} {
		q := url.Values{}
		for k, v := range good {
			q[k] = append([]string(nil), v...)
		}
		mod(q)
		res, err := browser().Get(base + "/oauth/" + mchid + "/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
			t.Errorf("%s: %d %q", name, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// Unknown merchant.
	res, err := browser().Get(base + "/oauth/1234/authorize?" + good.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown merchant: %d", res.StatusCode)
	}
}
