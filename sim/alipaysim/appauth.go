package alipaysim

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Third-party application authorization (第三方应用授权): a service
// provider's app (the ISV) acts for a merchant's app that authorized it.
//
//   - GET <sim>/oauth2/appToAppAuth.htm?app_id=<isv>&redirect_uri=...&state=...
//     is Alipay's authorization page: the merchant enters its app id and
//     authorizes; the browser goes to redirect_uri with app_id, app_auth_code
//     and state. [Sim.AuthorizeApp] plays the merchant without a browser.
//   - alipay.open.auth.token.app trades the code (grant_type
//     authorization_code, once, within 10 minutes) or a refresh token
//     (grant_type refresh_token: a new token pair, the old pair dead) for
//     app_auth_token and app_refresh_token; alipay.open.auth.token.app.query
//     describes a token.
//   - Any request carrying app_auth_token runs as the authorizing merchant:
//     its trades, bills and refunds are the merchant's (seller_id), its
//     notifications name the ISV as app_id and the merchant as auth_app_id.
//     A token that is unknown, expired, revoked or another ISV's is refused
//     with 20001 aop.invalid-app-auth-token, as Alipay does.
//     [Sim.RevokeAppAuth] plays the merchant cancelling the authorization
//     in its Alipay console.

// Token lifetimes: Alipay's app_auth_token lasts a year and its refresh
// token a little longer; a sim test may shorten them with SetAppAuthTTL.
const (
	defaultAuthTTL    = 365 * 24 * time.Hour
	defaultRefreshTTL = 372 * 24 * time.Hour
	authCodeTTL       = 10 * time.Minute
	appAuthPath       = "/oauth2/appToAppAuth.htm"
)

// appAuth is one merchant's authorization of one ISV app.
type appAuth struct {
	isv, merchant     string
	token, refresh    string
	expires, refresh2 time.Time
	start             time.Time
	revoked           bool
}

type appAuthCode struct {
	isv, merchant string
	expires       time.Time
}

// appAuths is the sim's authorization state, under s.mu.
type appAuths struct {
	byToken   map[string]*appAuth
	byRefresh map[string]*appAuth
	codes     map[string]appAuthCode
	ttl       time.Duration
	reTTL     time.Duration
}

func (s *Sim) auths() *appAuths {
	if s.appAuth == nil {
		s.appAuth = &appAuths{byToken: map[string]*appAuth{}, byRefresh: map[string]*appAuth{}, codes: map[string]appAuthCode{},
			ttl: defaultAuthTTL, reTTL: defaultRefreshTTL}
	}
	return s.appAuth
}

// SetAppAuthTTL shortens the lifetime of tokens issued from now on.
func (s *Sim) SetAppAuthTTL(token, refresh time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.auths()
	a.ttl, a.reTTL = token, refresh
}

// AuthorizeApp plays merchant authorizing the ISV app isv and returns the
// app_auth_code the authorization page would redirect with.
func (s *Sim) AuthorizeApp(isv, merchant string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newAuthCodeLocked(isv, merchant)
}

func (s *Sim) newAuthCodeLocked(isv, merchant string) string {
	code := randomString(32, "0123456789abcdef")
	s.auths().codes[code] = appAuthCode{isv: isv, merchant: merchant, expires: s.now().Add(authCodeTTL)}
	return code
}

// RevokeAppAuth plays the merchant cancelling every authorization it gave
// isv; it reports whether there was one.
func (s *Sim) RevokeAppAuth(isv, merchant string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	for _, a := range s.auths().byToken {
		if a.isv == isv && a.merchant == merchant && !a.revoked {
			a.revoked, found = true, true
		}
	}
	return found
}

// tokenAuthLocked resolves a request's app_auth_token for isv: the
// merchant it acts for, or Alipay's error.
func (s *Sim) tokenAuthLocked(isv, token string, now time.Time) (string, *apiError) {
	a := s.auths().byToken[token]
	if a == nil || a.isv != isv || a.revoked || now.After(a.expires) {
		return "", &apiError{"20001", "Insufficient Token Permissions", "aop.invalid-app-auth-token", "无效的应用授权令牌"}
	}
	return a.merchant, nil
}

type tokenBiz struct {
	GrantType    string `json:"grant_type"`
	Code         string `json:"code"`
	RefreshToken string `json:"refresh_token"`
	AppAuthToken string `json:"app_auth_token"`
}

type authToken struct {
	AppAuthToken    string `json:"app_auth_token"`
	AppRefreshToken string `json:"app_refresh_token"`
	AuthAppID       string `json:"auth_app_id"`
	ExpiresIn       int64  `json:"expires_in"`
	ReExpiresIn     int64  `json:"re_expires_in"`
	UserID          string `json:"user_id"`
}

type tokenRsp struct {
	head
	Tokens []authToken `json:"tokens"`
}

// openAuthToken is alipay.open.auth.token.app.
func (s *Sim) openAuthToken(c *call, now time.Time) (any, *apiError) {
	var b tokenBiz
	if err := json.Unmarshal(c.biz, &b); err != nil {
		return nil, invalidParam("biz_content")
	}
	a := s.auths()
	var merchant string
	switch b.GrantType {
	case "authorization_code":
		code, ok := a.codes[b.Code]
		if !ok || code.isv != c.appID || now.After(code.expires) {
			return nil, business("isv.code-invalid", "授权码code无效")
		}
		delete(a.codes, b.Code) // single use
		merchant = code.merchant
	case "refresh_token":
		old := a.byRefresh[b.RefreshToken]
		if old == nil || old.isv != c.appID || old.revoked || now.After(old.refresh2) {
			return nil, business("isv.refresh-token-invalid", "刷新令牌refresh_token无效")
		}
		old.revoked = true // the old pair is replaced
		delete(a.byRefresh, b.RefreshToken)
		merchant = old.merchant
	default:
		return nil, invalidParam("grant_type")
	}
	n := &appAuth{isv: c.appID, merchant: merchant, token: "202612" + randomString(34, "0123456789abcdefghijklmnopqrstuvwxyzABCDEF"),
		refresh: "202612" + randomString(34, "0123456789abcdefghijklmnopqrstuvwxyzABCDEF"), expires: now.Add(a.ttl),
		refresh2: now.Add(a.reTTL), start: now}
	a.byToken[n.token], a.byRefresh[n.refresh] = n, n
	return tokenRsp{success, []authToken{{AppAuthToken: n.token, AppRefreshToken: n.refresh, AuthAppID: merchant,
		ExpiresIn: int64(a.ttl / time.Second), ReExpiresIn: int64(a.reTTL / time.Second), UserID: sellerID(merchant)}}}, nil
}

type tokenQueryRsp struct {
	head
	UserID      string   `json:"user_id"`
	AuthAppID   string   `json:"auth_app_id"`
	ExpiresIn   int64    `json:"expires_in"`
	AuthMethods []string `json:"auth_methods"`
	AuthStart   string   `json:"auth_start"`
	AuthEnd     string   `json:"auth_end"`
	Status      string   `json:"status"`
}

// openAuthTokenQuery is alipay.open.auth.token.app.query.
func (s *Sim) openAuthTokenQuery(c *call, now time.Time) (any, *apiError) {
	var b tokenBiz
	if err := json.Unmarshal(c.biz, &b); err != nil || b.AppAuthToken == "" {
		return nil, missingParam("app_auth_token")
	}
	a := s.auths().byToken[b.AppAuthToken]
	if a == nil || a.isv != c.appID {
		return nil, business("isv.app-auth-token-invalid", "应用授权令牌无效")
	}
	status := "valid"
	if a.revoked || now.After(a.expires) {
		status = "invalid"
	}
	return tokenQueryRsp{success, sellerID(a.merchant), a.merchant, max(0, int64(a.expires.Sub(now)/time.Second)),
		[]string{"alipay.trade.precreate", "alipay.trade.query", "alipay.trade.refund", "alipay.trade.close", "alipay.trade.pay"},
		formatTime(a.start), formatTime(a.expires), status}, nil
}

var appAuthPage = template.Must(template.New("auth").Parse(`<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<title>第三方应用授权（模拟）</title><body>
<h1>授权第三方应用</h1><p>服务商应用 <code>{{.ISV}}</code> 请求代你的应用调用支付接口。</p>
<form method="post"><input type="hidden" name="app_id" value="{{.ISV}}"><input type="hidden" name="redirect_uri" value="{{.Redirect}}">
<input type="hidden" name="state" value="{{.State}}">
<label>你的应用 app_id <input name="merchant_app_id" id="merchant-app-id" required pattern="[0-9A-Za-z_]{1,32}"></label>
<button type="submit" id="authorize">确认授权</button></form></body></html>`))

// serveAppAuth is Alipay's authorization page: GET shows it, POST (the
// merchant's confirmation) redirects to redirect_uri with the code.
func (s *Sim) serveAppAuth(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	isv, redirect, state := r.Form.Get("app_id"), r.Form.Get("redirect_uri"), r.Form.Get("state")
	u, err := url.Parse(redirect)
	if isv == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		http.Error(w, "app_id and an http(s) redirect_uri are required", http.StatusBadRequest)
		return
	}
	if pub, ok := s.merchant(isv); !ok || pub == nil {
		http.Error(w, "unknown app_id", http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = appAuthPage.Execute(w, map[string]string{"ISV": isv, "Redirect": redirect, "State": state})
		return
	}
	merchant := strings.TrimSpace(r.Form.Get("merchant_app_id"))
	if merchant == "" || len(merchant) > 32 {
		http.Error(w, "merchant_app_id is required", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	code := s.newAuthCodeLocked(isv, merchant)
	s.mu.Unlock()
	q := u.Query()
	q.Set("app_id", isv)
	q.Set("app_auth_code", code)
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
