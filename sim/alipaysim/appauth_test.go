package alipaysim_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartwalle/alipay/v3"
)

// TestAppAuthorization drives third-party authorization through
// smartwalle/alipay: a merchant authorizes the service provider's app
// (the test app) on the authorization page, the code becomes a token pair
// once, calls with the token act for that merchant only (its trade, its
// seller_id, notifications naming both apps), a refresh replaces the pair,
// and a revoked or foreign token is refused with aop.invalid-app-auth-token.
func TestAppAuthorization(t *testing.T) {
	e := newEnv(t)
	c := newSmartwalle(t, e)
	ctx := context.Background()
	base := strings.TrimSuffix(e.gateway, "/gateway.do")

	// The authorization page redirects with the code and the state.
	back := httptest.NewServer(http.NotFoundHandler())
	defer back.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page, err := noFollow.Get(base + "/oauth2/appToAppAuth.htm?" + url.Values{"app_id": {appID}, "redirect_uri": {back.URL + "/cb"}, "state": {"s1"}}.Encode())
	if err != nil || page.StatusCode != 200 {
		t.Fatalf("authorization page: %v %v", page, err)
	}
	page.Body.Close()
	rsp, err := noFollow.PostForm(base+"/oauth2/appToAppAuth.htm", url.Values{"app_id": {appID}, "redirect_uri": {back.URL + "/cb"},
		"state": {"s1"}, "merchant_app_id": {"2021000000000777"}})
	if err != nil || rsp.StatusCode != http.StatusSeeOther {
		t.Fatalf("authorize: %v %v", rsp, err)
	}
	loc, _ := url.Parse(rsp.Header.Get("Location"))
	code := loc.Query().Get("app_auth_code")
	if loc.Query().Get("state") != "s1" || loc.Query().Get("app_id") != appID || code == "" {
		t.Fatalf("redirect %s", loc)
	}

	tok, err := c.OpenAuthTokenApp(ctx, alipay.OpenAuthTokenApp{GrantType: "authorization_code", Code: code})
	if err != nil || tok.Code != "10000" || len(tok.Tokens) != 1 || tok.Tokens[0].AuthAppId != "2021000000000777" {
		t.Fatalf("token: %+v %v", tok, err)
	}
	if again, _ := c.OpenAuthTokenApp(ctx, alipay.OpenAuthTokenApp{GrantType: "authorization_code", Code: code}); again == nil || again.SubCode != "isv.code-invalid" {
		t.Fatalf("a code used twice: %+v", again)
	}
	token := tok.Tokens[0].AppAuthToken

	// A trade made with the token is the merchant's.
	pre, err := c.TradePreCreate(ctx, alipay.TradePreCreate{Trade: alipay.Trade{AppAuthToken: token, OutTradeNo: "ISV0001", TotalAmount: "1.00",
		Subject: "s", NotifyURL: back.URL + "/n"}})
	if err != nil || pre.Code != "10000" {
		t.Fatalf("precreate with the token: %+v %v", pre, err)
	}
	if q, _ := c.TradeQuery(ctx, alipay.TradeQuery{OutTradeNo: "ISV0001"}); q == nil || q.SubCode != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("the provider's own query sees the merchant's trade: %+v", q)
	}
	other, _ := c.OpenAuthTokenApp(ctx, alipay.OpenAuthTokenApp{GrantType: "authorization_code", Code: e.sim.AuthorizeApp(appID, "2021000000000888")})
	if q, _ := c.TradeQuery(ctx, alipay.TradeQuery{AppAuthToken: other.Tokens[0].AppAuthToken, OutTradeNo: "ISV0001"}); q == nil || q.SubCode != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("another merchant's token sees the trade: %+v", q)
	}
	if err := e.sim.Pay(ctx, appID, "ISV0001", true); err != nil {
		t.Fatal(err)
	}
	q, err := c.TradeQuery(ctx, alipay.TradeQuery{AppAuthToken: token, OutTradeNo: "ISV0001"})
	if err != nil || q.TradeStatus != alipay.TradeStatusSuccess {
		t.Fatalf("query with the token: %+v %v", q, err)
	}
	info, err := c.OpenAuthTokenAppQuery(ctx, alipay.OpenAuthTokenAppQuery{AppAuthToken: token})
	if err != nil || info.Status != "valid" || info.AuthAppId != "2021000000000777" {
		t.Fatalf("token query: %+v %v", info, err)
	}

	// Refresh: a new pair, the old token dead.
	re, err := c.OpenAuthTokenApp(ctx, alipay.OpenAuthTokenApp{GrantType: "refresh_token", RefreshToken: tok.Tokens[0].AppRefreshToken})
	if err != nil || re.Code != "10000" || re.Tokens[0].AppAuthToken == token {
		t.Fatalf("refresh: %+v %v", re, err)
	}
	if q, err := c.TradeQuery(ctx, alipay.TradeQuery{AppAuthToken: token, OutTradeNo: "ISV0001"}); !invalidToken(q, err) {
		t.Fatalf("the replaced token still works: %+v %v", q, err)
	}
	fresh := re.Tokens[0].AppAuthToken
	if q, err := c.TradeQuery(ctx, alipay.TradeQuery{AppAuthToken: fresh, OutTradeNo: "ISV0001"}); err != nil || q.TradeStatus != alipay.TradeStatusSuccess {
		t.Fatalf("the refreshed token: %+v %v", q, err)
	}

	// Revoked by the merchant; expired tokens too.
	if !e.sim.RevokeAppAuth(appID, "2021000000000777") {
		t.Fatal("nothing revoked")
	}
	if q, err := c.TradeQuery(ctx, alipay.TradeQuery{AppAuthToken: fresh, OutTradeNo: "ISV0001"}); !invalidToken(q, err) {
		t.Fatalf("a revoked token still works: %+v %v", q, err)
	}
	e.clock.Add(366 * 24 * time.Hour)
	if q, err := c.TradeQuery(ctx, alipay.TradeQuery{AppAuthToken: other.Tokens[0].AppAuthToken, OutTradeNo: "x"}); !invalidToken(q, err) {
		t.Fatalf("an expired token still works: %+v %v", q, err)
	}
}

// invalidToken reports whether a call was refused for its app_auth_token,
// as an error_response (an SDK error) or inside the response.
func invalidToken(q *alipay.TradeQueryRsp, err error) bool {
	var e alipay.Error
	if errors.As(err, &e) {
		return e.SubCode == "aop.invalid-app-auth-token"
	}
	var pe *alipay.Error
	if errors.As(err, &pe) {
		return pe.SubCode == "aop.invalid-app-auth-token"
	}
	return err == nil && q != nil && q.SubCode == "aop.invalid-app-auth-token"
}
