package cashier

// WeChat official-account web OAuth (snsapi_base, silent) for wx_pub: the
// JSAPI charge needs the payer's openid under the merchant's appid.
//
//  1. POST /cashier/{id}/pay with channel=wx_pub redirects the browser to
//     WeChat's authorize endpoint (the simulator's in test mode) with
//     redirect_uri = /cashier/{id}/wx_oauth and a state that is an HMAC,
//     keyed with the order's cashier token, of the order id and the
//     page's embed arguments (WeChat allows only [A-Za-z0-9] in state).
//  2. WeChat sends the browser back to GET /cashier/{id}/wx_oauth?code=&state=.
//     The cashier checks state, exchanges the code server side for the
//     openid, creates the wx_pub charge with extra.open_id and shows its
//     JSAPI step. A wrong state is a plain error page that names neither
//     the order's token nor its page; any other failure returns to the
//     cashier with a message, and no charge is made.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// WechatOAuthFunc returns an app's official-account OAuth parameters in a
// mode: the authorize and access_token endpoints, appid and AppSecret.
type WechatOAuthFunc func(ctx context.Context, appID string, live bool) (authorizeBase, tokenBase, appid, secret string, err error)

// wxOAuthOrigin is WeChat's authorize origin, which the choose page's
// form-action allows in live mode (the POST is redirected there).
const wxOAuthOrigin = "https://open.weixin.qq.com"

func (c *Cashier) wechatOAuth() WechatOAuthFunc {
	if c.cfg.WechatOAuth != nil {
		return c.cfg.WechatOAuth
	}
	if c.cfg.Svc == nil {
		return nil
	}
	if o, ok := c.cfg.Svc.Channels.(interface {
		WechatOAuth(ctx context.Context, appID string, live bool) (string, string, string, string, error)
	}); ok {
		return o.WechatOAuth
	}
	return nil
}

// wxOAuthState binds the OAuth round trip to the order (and its embed
// arguments): hex HMAC-SHA256 keyed with the cashier token.
func wxOAuthState(o *polypay.Order, embed, parent string) string {
	m := hmac.New(sha256.New, []byte(o.CashierToken))
	fmt.Fprintf(m, "polypay wx_oauth\x00%s\x00%s\x00%s", o.ID, embed, parent)
	return hex.EncodeToString(m.Sum(nil))
}

// wxOAuthRedirectURI is the callback WeChat returns the browser to.
func (c *Cashier) wxOAuthRedirectURI(o *polypay.Order, em []string) string {
	u := c.cfg.Svc.BaseURL + "/cashier/" + url.PathEscape(o.ID) + "/wx_oauth"
	q := url.Values{}
	for i := 0; i+1 < len(em); i += 2 {
		q.Set(em[i], em[i+1])
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func embedParts(em []string) (embed, parent string) {
	for i := 0; i+1 < len(em); i += 2 {
		switch em[i] {
		case "embed":
			embed = em[i+1]
		case "parent":
			parent = em[i+1]
		}
	}
	return embed, parent
}

// startWxOAuth sends the browser to WeChat's authorize endpoint, or back to
// the cashier when the order already has its wx_pub charge or the app
// cannot do the OAuth.
func (c *Cashier) startWxOAuth(w http.ResponseWriter, r *http.Request, o *polypay.Order, em []string) {
	jsapi := presentedAs(polypay.PresentJSAPI)
	if ch, err := c.cfg.Svc.OrderCharge(r.Context(), o, jsapi); err == nil && ch != nil &&
		ch.Status == polypay.ChargePending && len(ch.Credential) > 0 {
		http.Redirect(w, r, c.selfURL(o, append(em, "ch", jsapi)...), http.StatusSeeOther)
		return
	}
	get := c.wechatOAuth()
	if get == nil {
		http.Redirect(w, r, c.selfURL(o, append(em, "err", "oauth")...), http.StatusSeeOther)
		return
	}
	authorize, _, appid, _, err := get(r.Context(), o.AppID, o.Livemode)
	if err != nil {
		c.cfg.Log.Warn("cashier: wx_pub OAuth unavailable", "order", o.ID, "err", err)
		http.Redirect(w, r, c.selfURL(o, append(em, "err", "oauth")...), http.StatusSeeOther)
		return
	}
	embed, parent := embedParts(em)
	// WeChat wants its parameters in this order (Encode would sort them).
	u := authorize + "?appid=" + url.QueryEscape(appid) + "&redirect_uri=" + url.QueryEscape(c.wxOAuthRedirectURI(o, em)) +
		"&response_type=code&scope=snsapi_base&state=" + wxOAuthState(o, embed, parent) + "#wechat_redirect"
	http.Redirect(w, r, u, http.StatusSeeOther)
}

var oauthErrTmpl = template.Must(template.New("oauth_error").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title><link rel="stylesheet" href="/cashier/cashier.css"></head>
<body><main class="card"><section class="result bad"><h2 id="result">{{.Title}}</h2><p id="error">{{.Msg}}</p></section></main></body></html>
`))

// wxOAuthBadRequest is the page for a callback that cannot be tied to its
// order: it must not lead anywhere the order's token would show.
func (c *Cashier) wxOAuthBadRequest(w http.ResponseWriter, r *http.Request) {
	v := struct{ Lang, Title, Msg string }{"zh-CN", "微信授权无效", "授权链接无效或已被篡改，请返回商户重新打开收银台。"}
	if lang(r) == "en" {
		v = struct{ Lang, Title, Msg string }{"en", "Invalid WeChat authorization",
			"This authorization link is invalid or was tampered with. Go back to the merchant and open the checkout again."}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = oauthErrTmpl.Execute(w, v)
}

// wxOAuthCallback is where WeChat returns the browser with the code.
func (c *Cashier) wxOAuthCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := r.PathValue("id")
	var o *polypay.Order
	err := c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
		o, err = tx.OrderByID(r.Context(), id)
		return err
	})
	if err != nil && polypay.ErrorCode(err) != polypay.ENotFound {
		c.cfg.Log.Error("cashier: loading order", "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	embed, parent := q.Get("embed"), q.Get("parent")
	if o == nil || !hmac.Equal([]byte(q.Get("state")), []byte(wxOAuthState(o, embed, parent))) {
		c.cfg.Log.Warn("cashier: wx_oauth with a wrong state", "order", id)
		c.wxOAuthBadRequest(w, r)
		return
	}
	// The state proves the round trip began on this order's page.
	if o, err = c.cfg.Svc.OrderForCashier(r.Context(), o.ID, o.CashierToken); err != nil {
		c.cfg.Log.Error("cashier: loading order", "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	var em []string
	if embed == "1" {
		em = embedArgs(true, parent)
	}
	back := func(args ...string) {
		http.Redirect(w, r, c.selfURL(o, append(em, args...)...), http.StatusSeeOther)
	}
	if o.Status != polypay.OrderCreated || c.cfg.Svc.OrderExpired(o) {
		back() // the page shows paid or expired
		return
	}
	jsapi := presentedAs(polypay.PresentJSAPI)
	if ch, err := c.cfg.Svc.OrderCharge(r.Context(), o, jsapi); err == nil && ch != nil &&
		ch.Status == polypay.ChargePending && len(ch.Credential) > 0 {
		back("ch", jsapi) // a reload of the callback
		return
	}
	cs := c.settings(w, r, o)
	if cs == nil {
		return
	}
	if !contains(c.visibleChannels(o, cs, r.UserAgent()), jsapi) {
		back("err", "channel")
		return
	}
	code := q.Get("code")
	if code == "" { // the payer declined (not with snsapi_base, but still)
		back("err", "oauth_failed")
		return
	}
	get := c.wechatOAuth()
	if get == nil {
		back("err", "oauth")
		return
	}
	_, tokenURL, appid, secret, err := get(r.Context(), o.AppID, o.Livemode)
	if err != nil {
		c.cfg.Log.Warn("cashier: wx_pub OAuth unavailable", "order", o.ID, "err", err)
		back("err", "oauth")
		return
	}
	openid, err := c.exchangeWxCode(r.Context(), tokenURL, appid, secret, code)
	if err != nil {
		c.cfg.Log.Warn("cashier: exchanging WeChat OAuth code", "order", o.ID, "err", err)
		back("err", "oauth_failed")
		return
	}
	if _, err := c.cfg.Svc.PayOrder(r.Context(), o, jsapi, c.clientIP(r), map[string]any{"open_id": openid}); err != nil {
		c.cfg.Log.Warn("cashier: creating charge", "order", o.ID, "channel", jsapi, "err", err)
		code := "channel_down"
		if polypay.ErrorCode(err) == polypay.EInvalid {
			code = "state"
		}
		back("err", code)
		return
	}
	back("ch", jsapi)
}

// exchangeWxCode trades an OAuth code for the payer's openid at WeChat's
// sns/oauth2/access_token (server side, so the AppSecret stays here).
func (c *Cashier) exchangeWxCode(ctx context.Context, tokenURL, appid, secret, code string) (string, error) {
	hc := c.cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	q := url.Values{"appid": {appid}, "secret": {secret}, "code": {code}, "grant_type": {"authorization_code"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tokenURL+"?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", errors.New("access_token request failed") // the URL carries the secret
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("access_token: HTTP %d", res.StatusCode)
	}
	var ans struct {
		OpenID  string `json:"openid"`
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return "", fmt.Errorf("access_token: %v", err)
	}
	if ans.ErrCode != 0 {
		return "", fmt.Errorf("access_token: errcode %d: %s", ans.ErrCode, ans.ErrMsg)
	}
	if ans.OpenID == "" {
		return "", errors.New("access_token: no openid")
	}
	return ans.OpenID, nil
}
