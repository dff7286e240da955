package wechatsim

// The simulated official-account web OAuth (网页授权), the way a JSAPI
// (wx_pub) merchant learns its payer's openid:
//
//   - GET <sim>/oauth/{mchid}/authorize?appid=&redirect_uri=&response_type=code&scope=snsapi_base&state=
//     is open.weixin.qq.com/connect/oauth2/authorize: a silent (snsapi_base)
//     authorization answers at once with a 302 to redirect_uri?code=&state=.
//     The payer is the browser: a cookie gives each browser a stable fake
//     openid, per appid as WeChat's are.
//   - GET <sim>/oauth/{mchid}/access_token?appid=&secret=&code=&grant_type=authorization_code
//     is api.weixin.qq.com/sns/oauth2/access_token: it exchanges a code once
//     for {"access_token","expires_in","refresh_token","openid","scope"}, or
//     answers {"errcode","errmsg"}.
//
// The merchant id in the path is how the sandbox finds the account's
// AppSecret (Merchant.AppSecret); the real endpoints need no such segment.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// oauthCodeTTL is how long a code may be exchanged (WeChat: 5 minutes).
const oauthCodeTTL = 5 * time.Minute

// oauthCookie holds the browser's fake WeChat user id.
const oauthCookie = "wechatsim_user"

type oauthCode struct {
	mchid, appid, openid, scope string
	expires                     time.Time
	used                        bool
}

// oauthPath tells whether a request path is one of the OAuth endpoints:
// …/oauth/{mchid}/authorize or …/oauth/{mchid}/access_token.
func oauthPath(p string) (mchid, op string, ok bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	n := len(segs)
	if n < 3 || segs[n-3] != "oauth" || segs[n-2] == "" {
		return "", "", false
	}
	switch segs[n-1] {
	case "authorize", "access_token":
		return unescape(segs[n-2]), segs[n-1], true
	}
	return "", "", false
}

func (s *Sim) serveOAuth(w http.ResponseWriter, r *http.Request, mchid, op string) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if op == "authorize" {
		s.oauthAuthorize(w, r, mchid)
	} else {
		s.oauthAccessToken(w, r, mchid)
	}
}

var oauthErrTmpl = template.Must(template.New("oauth").Parse(`<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>微信网页授权（沙箱）</title></head>
<body><h1>微信网页授权（沙箱）</h1><p id="error">{{.}}</p></body></html>
`))

func oauthErrorPage(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = oauthErrTmpl.Execute(w, msg)
}

func (s *Sim) oauthAuthorize(w http.ResponseWriter, r *http.Request, mchid string) {
	q := r.URL.Query()
	appid, scope := q.Get("appid"), q.Get("scope")
	m, ok := s.lookupMerchant(mchid)
	if !ok || appid == "" || !slices.Contains(m.AppIDs, appid) {
		oauthErrorPage(w, "appid 参数错误 (invalid appid)")
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || (redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Host == "" {
		oauthErrorPage(w, "redirect_uri 参数错误 (invalid redirect_uri)")
		return
	}
	if q.Get("response_type") != "code" {
		oauthErrorPage(w, "response_type 参数错误 (response_type must be code)")
		return
	}
	if scope != "snsapi_base" && scope != "snsapi_userinfo" {
		oauthErrorPage(w, "scope 参数错误或没有 scope 权限 (invalid scope)")
		return
	}
	user := browserUser(w, r)
	code := randomString(32, alnum)
	s.mu.Lock()
	if s.oauthCodes == nil {
		s.oauthCodes = map[string]*oauthCode{}
	}
	now := s.now()
	for k, c := range s.oauthCodes {
		if now.After(c.expires.Add(oauthCodeTTL)) {
			delete(s.oauthCodes, k)
		}
	}
	s.oauthCodes[code] = &oauthCode{mchid: mchid, appid: appid, openid: OpenID(appid, user), scope: scope,
		expires: now.Add(oauthCodeTTL)}
	s.mu.Unlock()
	rq := redirect.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	redirect.RawQuery = rq.Encode()
	redirect.Fragment = ""
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// browserUser is the browser's fake WeChat user (its cookie), given one
// when it has none.
func browserUser(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(oauthCookie); err == nil && len(ck.Value) >= 16 && len(ck.Value) <= 64 {
		return ck.Value
	}
	user := randomString(24, alnum)
	http.SetCookie(w, &http.Cookie{Name: oauthCookie, Value: user, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	return user
}

// OpenID is the fake openid the sandbox gives a browser's user (its
// cookie value) under an appid: stable, and different per appid.
func OpenID(appid, user string) string {
	m := hmac.New(sha256.New, []byte("wechatsim openid"))
	m.Write([]byte(appid + "\x00" + user))
	return "o" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:27]
}

func oauthJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, code int, msg string) {
	oauthJSON(w, map[string]any{"errcode": code, "errmsg": msg + ", rid: " + randomString(24, hexLow)})
}

func (s *Sim) oauthAccessToken(w http.ResponseWriter, r *http.Request, mchid string) {
	q := r.URL.Query()
	appid, secret, code := q.Get("appid"), q.Get("secret"), q.Get("code")
	m, ok := s.lookupMerchant(mchid)
	switch {
	case !ok || appid == "" || !slices.Contains(m.AppIDs, appid):
		oauthError(w, 40013, "invalid appid")
		return
	case q.Get("grant_type") != "authorization_code":
		oauthError(w, 40002, "invalid grant_type")
		return
	case m.AppSecret == "" || !hmac.Equal([]byte(secret), []byte(m.AppSecret)):
		oauthError(w, 40125, "invalid appsecret")
		return
	case code == "":
		oauthError(w, 41008, "missing code")
		return
	}
	s.mu.Lock()
	c := s.oauthCodes[code]
	now := s.now()
	var errc int
	var errm string
	switch {
	case c == nil || c.mchid != mchid || c.appid != appid || now.After(c.expires):
		errc, errm = 40029, "invalid code"
	case c.used:
		errc, errm = 40163, "code been used"
	default:
		c.used = true
	}
	s.mu.Unlock()
	if errc != 0 {
		oauthError(w, errc, errm)
		return
	}
	oauthJSON(w, map[string]any{"access_token": randomString(86, alnum), "expires_in": 7200,
		"refresh_token": randomString(86, alnum), "openid": c.openid, "scope": c.scope})
}

// lookupMerchant asks Options.Merchant, if any.
func (s *Sim) lookupMerchant(mchid string) (*Merchant, bool) {
	if s.merchant == nil || mchid == "" {
		return nil, false
	}
	return s.merchant(mchid)
}
