package api

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/wire"
)

// A sub-merchant's authorization of its platform's channel account
// (Alipay's 第三方应用授权): the platform's app then acts for the
// merchant's, with app_auth_token on every call (channel/appauth.go).
//
//	GET  /v1/apps/{app}/sub_apps/{sub}/authorizations/{family}  status and the URL to send the merchant to
//	POST /v1/apps/{app}/sub_apps/{sub}/authorizations/{family}  {"app_auth_code"} or {"refresh": true}
//	GET  /oauth/{family}/callback                                where the channel sends the merchant back

// Authorizations is what the registry does for authorizations.
type Authorizations interface {
	Authorizer(ctx context.Context, appID string, live bool, fam string) (polypay.AppAuthorizer, error)
	StoreAuthorization(ctx context.Context, appID string, live bool, fam string, a *polypay.AppAuth) error
	OwnAuthorization(ctx context.Context, appID string, live bool, fam string) (*polypay.AppAuth, error)
	PartnerChecker(ctx context.Context, appID string, live bool, fam string) (polypay.SubMerchantChecker, error)
	Provider(ctx context.Context, appID string, live bool, fam string) (polypay.Channel, error)
	StorePartner(ctx context.Context, appID string, live bool, fam, merchantID string, fields map[string]string) error
	OwnPartner(ctx context.Context, appID string, live bool, fam string) (map[string]string, error)
}

// authStateTTL is how long an authorization link stays usable.
const authStateTTL = 30 * time.Minute

func (s *Server) appAuthRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /v1/apps/{app}/sub_apps/{sub}/authorizations/{family}", s.authed(s.getAppAuth))
	m.HandleFunc("POST /v1/apps/{app}/sub_apps/{sub}/authorizations/{family}", s.authed(s.postAppAuth))
	m.HandleFunc("GET /oauth/{family}/callback", s.appAuthCallback)
}

func (s *Server) authorizations() (Authorizations, error) {
	a, ok := s.Credentials.(Authorizations)
	if !ok || s.Svc.Box == nil {
		return nil, polypay.Errorf(polypay.ENotSupported, "本节点不支持第三方应用授权")
	}
	return a, nil
}

// authState is what an authorization link's state carries, sealed.
type authState struct {
	App     string `json:"app"`
	Live    bool   `json:"live"`
	Family  string `json:"family"`
	Expires int64  `json:"exp"`
}

const authStateSeal = "app_auth_state"

// subAppAuth checks the path (the caller's sub-app, a family taking
// authorizations) and returns the sub-app's parent.
func (s *Server) subAppAuth(r *http.Request, who core.Caller) (sub, parent, fam string, err error) {
	if err = s.appFromPath(r, who); err != nil {
		return
	}
	sub, fam = r.PathValue("sub"), r.PathValue("family")
	if fam != "alipay" && fam != "wx" && fam != "upacp" {
		return "", "", "", polypay.ParamError("family", "只有 alipay（第三方应用授权）、wx（服务商模式）和 upacp（平台类商户）可以代商户收款")
	}
	a, err := s.Svc.GetSubApp(r.Context(), who, sub)
	if err != nil {
		return "", "", "", err
	}
	return sub, a.(*wire.SubApp).ParentApp, fam, nil
}

func (s *Server) getAppAuth(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	sub, parent, fam, err := s.subAppAuth(r, who)
	if err != nil {
		return err
	}
	if fam == "wx" || fam == "upacp" {
		out, err := s.partnerObject(r.Context(), who.Live, sub, fam)
		return s.answer(w, r, out, err)
	}
	out, err := s.appAuthObject(r.Context(), who.Live, sub, parent, fam)
	return s.answer(w, r, out, err)
}

// partnerFields are a registration's fields per family, in order.
var partnerFields = map[string][]string{
	"wx":    {"sub_mchid", "sub_appid"},
	"upacp": {"sub_mer_id", "sub_mer_name", "sub_mer_abbr"},
}

// partnerObject is a sub-app's registration as a sub-merchant of its
// platform (WeChat Pay's partner mode, a UnionPay platform's
// sub-merchant).
func (s *Server) partnerObject(ctx context.Context, live bool, sub, fam string) (map[string]any, error) {
	auths, err := s.authorizations()
	if err != nil {
		return nil, err
	}
	reg, err := auths.OwnPartner(ctx, sub, live, fam)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"object": "channel_authorization", "app": sub, "channel": fam, "livemode": live, "status": "none",
		"auth_app_id": nil, "user_id": nil, "expires_at": nil, "authorize_url": nil}
	for _, k := range partnerFields[fam] {
		out[k] = nil
		if reg[k] != "" {
			out[k] = reg[k]
		}
	}
	if len(reg) > 0 {
		out["status"] = "active"
	}
	return out, nil
}

// readPartner reads a registration's fields from the body.
func readPartner(b *body, fam string) (map[string]string, error) {
	f := map[string]string{}
	for i, k := range partnerFields[fam] {
		v, err := b.str(k, i == 0 || fam == "upacp", 64)
		if err != nil {
			return nil, err
		}
		if v != "" {
			f[k] = v
		}
	}
	return f, b.unknown()
}

// postPartner registers a sub-app as a sub-merchant of its platform's
// account: for WeChat Pay sub_mchid (and the sub-merchant's own app
// sub_appid if any) once WeChat Pay confirms the binding; for UnionPay the
// sub-merchant the platform registered with UnionPay offline.
func (s *Server) postPartner(w http.ResponseWriter, r *http.Request, who core.Caller, sub, parent, fam string, b *body) error {
	f, err := readPartner(b, fam)
	if err != nil {
		return err
	}
	auths, err := s.authorizations()
	if err != nil {
		return err
	}
	id, err := s.checkPartner(r.Context(), auths, parent, who.Live, fam, f)
	if err != nil {
		return err
	}
	if err := auths.StorePartner(r.Context(), sub, who.Live, fam, id, f); err != nil {
		return err
	}
	out, err := s.partnerObject(r.Context(), who.Live, sub, fam)
	return s.answer(w, r, out, err)
}

// checkPartner asks the provider's connector about a registration and
// returns the sub-merchant's id.
func (s *Server) checkPartner(ctx context.Context, auths Authorizations, parent string, live bool, fam string, f map[string]string) (string, error) {
	if fam == "wx" {
		mch := f["sub_mchid"]
		if len(mch) > 32 || !digitsOnly(mch) || len(mch) < 8 {
			return "", polypay.ParamError("sub_mchid", "sub_mchid 须为微信支付分配的特约商户号（数字）")
		}
		if len(f["sub_appid"]) > 32 {
			return "", polypay.ParamError("sub_appid", "sub_appid 最长 32 个字符")
		}
		chk, err := auths.PartnerChecker(ctx, parent, live, fam)
		if err != nil {
			return "", err
		}
		return mch, chk.CheckSubMerchant(ctx, mch)
	}
	c, err := auths.Provider(ctx, parent, live, fam)
	if err != nil {
		return "", err
	}
	n, ok := c.(polypay.SubMerchantNamer)
	if !ok {
		return "", polypay.ParamError("channel", "渠道 %s 不支持平台类商户", fam)
	}
	return n.CheckSubMerchantFields(f)
}

func digitsOnly(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// appAuthObject is a sub-app's authorization: its status and the link
// the merchant authorizes on.
func (s *Server) appAuthObject(ctx context.Context, live bool, sub, parent, fam string) (map[string]any, error) {
	auths, err := s.authorizations()
	if err != nil {
		return nil, err
	}
	a, err := auths.OwnAuthorization(ctx, sub, live, fam)
	if err != nil {
		return nil, err
	}
	prov, err := auths.Authorizer(ctx, parent, live, fam)
	if err != nil {
		return nil, err
	}
	state, _ := json.Marshal(authState{App: sub, Live: live, Family: fam, Expires: time.Now().Add(authStateTTL).Unix()})
	out := map[string]any{"object": "channel_authorization", "app": sub, "channel": fam, "livemode": live, "status": "none",
		"auth_app_id": nil, "user_id": nil, "expires_at": nil,
		"authorize_url": prov.AuthorizeURL(s.Svc.BaseURL+"/oauth/"+fam+"/callback", s.Svc.Box.Seal(authStateSeal, state))}
	if a != nil {
		out["status"], out["auth_app_id"], out["user_id"], out["expires_at"] = authStatus(a), a.MerchantAppID, a.UserID, a.ExpiresAt
	}
	return out, nil
}

func authStatus(a *polypay.AppAuth) string {
	switch {
	case a.Revoked:
		return "revoked"
	case time.Now().Unix() >= a.ExpiresAt:
		return "expired"
	}
	return "active"
}

// postAppAuth takes a merchant's app_auth_code (the platform's own
// redirect handler got it), or renews the token with {"refresh": true}.
func (s *Server) postAppAuth(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	sub, parent, fam, err := s.subAppAuth(r, who)
	if err != nil {
		return err
	}
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	if fam == "wx" || fam == "upacp" {
		return s.postPartner(w, r, who, sub, parent, fam, b)
	}
	code, err := b.str("app_auth_code", false, 128)
	if err != nil {
		return err
	}
	refresh, err := b.bool("refresh", false)
	if err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	if (code == "") == !refresh {
		return polypay.ParamError("app_auth_code", "须填写 app_auth_code（商户授权后得到的授权码）或 refresh: true（续期令牌），二选一")
	}
	if err := s.exchangeAppAuth(r.Context(), who.Live, sub, parent, fam, code, refresh); err != nil {
		return err
	}
	out, err := s.appAuthObject(r.Context(), who.Live, sub, parent, fam)
	return s.answer(w, r, out, err)
}

// exchangeAppAuth trades a code (or the stored refresh token) for a token
// pair with the parent's account and stores it as the sub-app's entry.
func (s *Server) exchangeAppAuth(ctx context.Context, live bool, sub, parent, fam, code string, refresh bool) error {
	auths, err := s.authorizations()
	if err != nil {
		return err
	}
	prov, err := auths.Authorizer(ctx, parent, live, fam)
	if err != nil {
		return err
	}
	grant := "authorization_code"
	if refresh {
		cur, err := auths.OwnAuthorization(ctx, sub, live, fam)
		if err != nil {
			return err
		}
		if cur == nil || cur.RefreshToken == "" {
			return polypay.ParamError("refresh", "该子应用还没有授权，不能续期")
		}
		grant, code = "refresh_token", cur.RefreshToken
	}
	a, err := prov.ExchangeAppAuth(ctx, grant, code)
	if err != nil {
		return err
	}
	return auths.StoreAuthorization(ctx, sub, live, fam, a)
}

var authDonePage = template.Must(template.New("done").Parse(`<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<title>{{.Title}}</title><body><h1 id="auth-result">{{.Title}}</h1><p>{{.Detail}}</p></body></html>`))

// appAuthCallback is where the channel sends the merchant back after it
// authorized: the sealed state names the sub-app, mode and family (and
// expires); the code is exchanged and stored. No key is needed: only a
// state polypay sealed is accepted.
func (s *Server) appAuthCallback(w http.ResponseWriter, r *http.Request) {
	done := func(status int, title, detail string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = authDonePage.Execute(w, map[string]string{"Title": title, "Detail": detail})
	}
	q := r.URL.Query()
	var st authState
	plain, err := s.openState(q.Get("state"))
	if err != nil || json.Unmarshal(plain, &st) != nil || st.Family != r.PathValue("family") || time.Now().Unix() > st.Expires {
		done(http.StatusBadRequest, "授权链接无效或已过期", "请回到平台重新发起授权。")
		return
	}
	code := q.Get("app_auth_code")
	if code == "" || len(code) > 128 {
		done(http.StatusBadRequest, "没有收到授权码", "请回到平台重新发起授权。")
		return
	}
	parent, err := s.Svc.ParentOf(r.Context(), st.App)
	if err == nil && parent == "" {
		err = polypay.NotFound("app", st.App)
	}
	if err == nil {
		err = s.exchangeAppAuth(r.Context(), st.Live, st.App, parent, st.Family, code, false)
	}
	if err != nil {
		s.Log.Warn("app authorization failed", "app", st.App, "family", st.Family, "err", err)
		done(http.StatusBadGateway, "授权没有完成", "渠道没有接受这次授权，请回到平台重新发起。")
		return
	}
	done(http.StatusOK, "授权成功", "平台现在可以代你的应用收款了，可以关闭本页。")
}

func (s *Server) openState(state string) ([]byte, error) {
	if s.Svc.Box == nil || state == "" || len(state) > 1024 {
		return nil, errors.New("api: no usable authorization state")
	}
	return s.Svc.Box.Open(authStateSeal, state)
}
