package alipaysim

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// The signing page of alipay.user.agreement.page.sign: the customer's
// browser (or the app, through sign_params) brings the merchant's signed
// parameters; the sim verifies them like a cashier page, shows the
// merchant, the product and any limits, and signs on the confirm button.
// SignAgreement is a customer doing the same through the same code.

// signField names the signing page's own form posts; a gateway call never
// carries it.
const signField = "sim_agreement"

// signBiz is page.sign's biz_content.
type signBiz struct {
	PersonalProductCode text `json:"personal_product_code"`
	ProductCode         text `json:"product_code"`
	SignScene           text `json:"sign_scene"`
	ExternalAgreementNo text `json:"external_agreement_no"`
	ExternalLogonID     text `json:"external_logon_id"`
	SignValidityPeriod  text `json:"sign_validity_period"`
	AccessParams        *struct {
		Channel text `json:"channel"`
	} `json:"access_params"`
	PeriodRuleParams *struct {
		PeriodType    text `json:"period_type"`
		Period        text `json:"period"`
		ExecuteTime   text `json:"execute_time"`
		SingleAmount  text `json:"single_amount"`
		TotalAmount   text `json:"total_amount"`
		TotalPayments text `json:"total_payments"`
	} `json:"period_rule_params"`
}

// signTerms are the checked terms the customer is asked to sign.
type signTerms struct {
	personalCode, product, scene string
	externalNo, externalLogonID  string
	validity                     string // sign_validity_period: "12m", "30d"; "" is long-term
	rule                         *periodRule
}

// signSession is one rendered signing page: what its buttons act on.
type signSession struct {
	appID, signType      string
	isv                  string // under app_auth_token: the provider acting for appID
	notifyURL, returnURL string
	terms                signTerms
	created              time.Time // wall clock, for expiry of abandoned pages
}

// accessChannels are access_params.channel's values.
var accessChannels = []string{"ALIPAYAPP", "QRCODE", "QRCODEORSMS"}

// checkSign validates page.sign's biz_content as Alipay documents it.
func checkSign(b *signBiz) (signTerms, *apiError) {
	t := signTerms{personalCode: string(b.PersonalProductCode), product: string(b.ProductCode),
		scene: string(b.SignScene), externalNo: string(b.ExternalAgreementNo),
		externalLogonID: string(b.ExternalLogonID), validity: string(b.SignValidityPeriod)}
	if t.scene == "" {
		t.scene = "DEFAULT|DEFAULT"
	}
	product, known := personalProducts[t.personalCode]
	switch {
	case t.personalCode == "":
		return t, missingParam("personal_product_code")
	case !known:
		return t, invalidParam("personal_product_code")
	case t.product != "" && t.product != product:
		return t, invalidParam("product_code")
	case b.AccessParams == nil || b.AccessParams.Channel == "":
		return t, missingParam("access_params")
	case !contains(accessChannels, string(b.AccessParams.Channel)):
		return t, invalidParam("access_params")
	case len(t.externalNo) > 32 || !alnum(t.externalNo):
		return t, invalidParam("external_agreement_no")
	case t.externalNo != "" && t.scene == "DEFAULT|DEFAULT":
		// Alipay: with external_agreement_no the scene cannot be the default.
		return t, invalidParam("sign_scene")
	case t.validity != "" && validUntil(time.Time{}, t.validity).IsZero():
		return t, invalidParam("sign_validity_period")
	}
	t.product = product
	if product != productCycle {
		return t, nil
	}
	rule, aerr := checkPeriodRule(b)
	t.rule = rule
	return t, aerr
}

// checkPeriodRule reads a cycle agreement's period_rule_params: every
// period (DAY of at least 7, or MONTH) on execute_time's schedule, at most
// single_amount each time.
func checkPeriodRule(b *signBiz) (*periodRule, *apiError) {
	p := b.PeriodRuleParams
	if p == nil {
		return nil, missingParam("period_rule_params")
	}
	r := &periodRule{periodType: string(p.PeriodType), period: atoi(p.Period)}
	var err error
	switch {
	case r.periodType != "DAY" && r.periodType != "MONTH":
		return nil, invalidParam("period_type")
	case r.period == 0 || (r.periodType == "DAY" && r.period < 7):
		return nil, invalidParam("period")
	}
	if r.execute, err = time.ParseInLocation(dateLayout, string(p.ExecuteTime), cst); err != nil {
		return nil, invalidParam("execute_time")
	}
	if r.single, err = parseFen(string(p.SingleAmount)); err != nil || r.single < 1 || r.single > maxFen {
		return nil, invalidParam("single_amount")
	}
	if p.TotalAmount != "" {
		if r.total, err = parseFen(string(p.TotalAmount)); err != nil || r.total < r.single {
			return nil, invalidParam("total_amount")
		}
	}
	if p.TotalPayments != "" {
		if r.payments = atoi(p.TotalPayments); r.payments == 0 {
			return nil, invalidParam("total_payments")
		}
	}
	return r, nil
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// validUntil is the invalid_time of an agreement signed at signed for
// sign_validity_period v ("30d", "12m"); zero when v is not one.
func validUntil(signed time.Time, v string) time.Time {
	if len(v) < 2 {
		return time.Time{}
	}
	n, err := strconv.Atoi(v[:len(v)-1])
	if err != nil || n < 1 || n > 1200 {
		return time.Time{}
	}
	switch v[len(v)-1] {
	case 'd':
		return signed.AddDate(0, 0, n)
	case 'm':
		return signed.AddDate(0, n, 0)
	}
	return time.Time{}
}

// openSign verifies a page.sign request and opens its signing page,
// returning the page's token and what it shows.
func (s *Sim) openSign(params url.Values) (string, signView, *apiError) {
	c, aerr := s.verify(params, isSignMethod)
	if aerr != nil {
		return "", signView{}, aerr
	}
	var b signBiz
	if aerr := decodeBiz(c, &b); aerr != nil {
		return "", signView{}, aerr
	}
	terms, aerr := checkSign(&b)
	if aerr == nil && c.returnURL != "" && !webURL(c.returnURL) {
		aerr = invalidParam("return_url")
	}
	if aerr != nil {
		return "", signView{}, aerr
	}
	token := randomString(32, "0123456789abcdefghijklmnopqrstuvwxyz")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agr.init()
	s.sweepSignSessions()
	s.agr.sessions[token] = &signSession{appID: c.appID, isv: c.isv, signType: c.signType, notifyURL: c.notifyURL,
		returnURL: c.returnURL, terms: terms, created: time.Now()}
	v := termsView(c.appID, terms)
	v.Token = token
	if a := s.signedAgreement(c.appID, terms.externalNo); a != nil {
		v.Existing = a.no
	}
	return token, v, nil
}

// signedAgreement is the app's NORMAL agreement under externalNo, if any:
// signing it again answers that one. Called with s.mu held.
func (s *Sim) signedAgreement(appID, externalNo string) *agreement {
	if externalNo == "" {
		return nil
	}
	a := s.agr.byExternal[agreementKey{appID, externalNo}]
	if a == nil || a.status != agreementNormal {
		return nil
	}
	return a
}

// sweepSignSessions drops abandoned signing pages once enough accumulate.
// Called with s.mu held.
func (s *Sim) sweepSignSessions() {
	if len(s.agr.sessions) < sessionSweep {
		return
	}
	cutoff := time.Now().Add(-sessionTTL)
	for k, ss := range s.agr.sessions {
		if ss.created.Before(cutoff) {
			delete(s.agr.sessions, k)
		}
	}
}

var errSignSession = errors.New("alipaysim: signing page unknown or expired")

// confirmSign is the customer pressing sign: the agreement is made (or the
// NORMAL one under the same external_agreement_no is kept, with no second
// notification), the first attempt of dut_user_sign is made, and the
// return URL (empty without return_url) is built.
func (s *Sim) confirmSign(ctx context.Context, token string) (agreementNo, back string, err error) {
	now := s.now()
	s.mu.Lock()
	s.agr.init()
	ss := s.agr.sessions[token]
	if ss == nil || time.Since(ss.created) > sessionTTL {
		s.mu.Unlock()
		return "", "", errSignSession
	}
	delete(s.agr.sessions, token)
	var n *simkit.Notice
	a := s.signedAgreement(ss.appID, ss.terms.externalNo)
	if a == nil {
		a = s.newAgreement(ss, now)
		n = s.agreementNotice(a, notifySign, ss.notifyURL, now)
	}
	agreementNo, back = a.no, s.signReturn(ss, a, now)
	s.mu.Unlock()
	// The notification goes first: the return is for display only.
	s.notifier.Send(ctx, n)
	return agreementNo, back, nil
}

// newAgreement records the agreement a signing page's customer just
// signed. Called with s.mu held.
func (s *Sim) newAgreement(ss *signSession, now time.Time) *agreement {
	t := ss.terms
	a := &agreement{appID: ss.appID, isv: ss.isv, no: s.newAgreementNo(now), externalNo: t.externalNo,
		personalCode: t.personalCode, product: t.product, scene: t.scene, externalLogonID: t.externalLogonID,
		userID: "2088" + randomString(12, "0123456789"), logonID: "138****" + randomString(4, "0123456789"),
		status: agreementNormal, signed: now.Truncate(time.Second), invalid: foreverTime,
		notifyURL: ss.notifyURL, rule: t.rule}
	if t.validity != "" {
		a.invalid = validUntil(a.signed, t.validity)
	}
	if a.rule != nil {
		a.nextDeduct = a.rule.execute
	}
	s.agr.byNo[a.no] = a
	if a.externalNo != "" {
		s.agr.byExternal[agreementKey{a.appID, a.externalNo}] = a
	}
	return a
}

// signReturn is the return_url with Alipay's signed synchronous return of
// a signing (method "<method>.return", signed like a payment's return);
// "" without return_url. Called with s.mu held.
func (s *Sim) signReturn(ss *signSession, a *agreement, now time.Time) string {
	if ss.returnURL == "" {
		return ""
	}
	v := url.Values{
		"app_id":    {a.notifyAppID()},
		"charset":   {"utf-8"},
		"method":    {methodAgreementSign + ".return"},
		"version":   {"1.0"},
		"sign_type": {ss.signType},
		"timestamp": {formatTime(now)},
	}
	agreementFields(a, v)
	sig, err := signBytes(s.key, ss.signType, []byte(signContent(v, "sign", "sign_type")))
	if err != nil {
		s.log.Error("alipaysim: signing an agreement return", "err", err)
	} else {
		v.Set("sign", sig)
	}
	u, err := url.Parse(ss.returnURL) // checked when the page was opened
	if err != nil {
		return ""
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// SignAgreement plays a customer who opens a page.sign URL and confirms:
// signURL is what the merchant built, a full gateway.do?... URL
// (smartwalle/alipay AgreementPageSign, gopay, the official SDKs'
// pageExecute with GET), a bare query string, or the app's
// alipays://platformapi/startapp?...&sign_params=... link. It takes the
// page's own path: the merchant's signature and parameters are verified,
// the agreement is made and the first attempt of dut_user_sign is
// delivered before it returns. A NORMAL agreement of the app under the same
// external_agreement_no is answered instead of a new one.
//
// Errors: ErrRequestRejected wrapping Alipay's error for a request the
// page would refuse.
func (s *Sim) SignAgreement(ctx context.Context, signURL string) (agreementNo string, err error) {
	params, err := signParams(signURL)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrRequestRejected, err)
	}
	token, _, aerr := s.openSign(params)
	if aerr != nil {
		return "", fmt.Errorf("%w: %w", ErrRequestRejected, aerr)
	}
	agreementNo, _, err = s.confirmSign(ctx, token)
	return agreementNo, err
}

// signParams reads the request parameters out of what SignAgreement takes.
func signParams(raw string) (url.Values, error) {
	query := raw
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		query = raw[i+1:]
	}
	p, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("not a query string: %v", err)
	}
	if sp := p.Get("sign_params"); sp != "" && !p.Has("method") {
		return url.ParseQuery(sp)
	}
	return p, nil
}

// signPage answers the browser bringing alipay.user.agreement.page.sign.
func (s *Sim) signPage(w http.ResponseWriter, r *http.Request, params url.Values) {
	_, v, aerr := s.openSign(params)
	if aerr != nil {
		s.log.Info("alipaysim: signing page rejected", "app_id", params.Get("app_id"), "sub_code", aerr.SubCode)
		renderError(w, aerr)
		return
	}
	v.Action = path.Base(r.URL.Path) // back to this very path, wherever the sim is mounted
	renderSign(w, http.StatusOK, v)
}

// signAction is the customer pressing sign or decline on a signing page.
// Declining makes nothing and tells nobody, as Alipay.
func (s *Sim) signAction(w http.ResponseWriter, r *http.Request, form url.Values) {
	token := form.Get(signField)
	switch form.Get("action") {
	case "decline":
		s.mu.Lock()
		s.agr.init()
		delete(s.agr.sessions, token)
		s.mu.Unlock()
		renderSign(w, http.StatusOK, signView{Message: "已取消签约（declined）"})
	case "sign":
		no, back, err := s.confirmSign(r.Context(), token)
		switch {
		case err != nil:
			renderSign(w, http.StatusNotFound, signView{Message: "签约页面已失效，请返回商户重新发起签约"})
		case back == "":
			renderSign(w, http.StatusOK, signView{Message: "签约成功（signed）", AgreementNo: no})
		default:
			http.Redirect(w, r, back, http.StatusSeeOther)
		}
	default:
		renderSign(w, http.StatusBadRequest, signView{Message: "未知的操作"})
	}
}

// signView is what the signing page shows.
type signView struct {
	Title, Message, AgreementNo  string
	Token, Action, Existing      string
	Merchant, AppID, ProductName string
	PersonalCode, Scene          string
	ExternalNo, ExternalLogonID  string
	Limits                       []limitRow
}

type limitRow struct{ ID, Label, Value string }

func termsView(appID string, t signTerms) signView {
	v := signView{Merchant: "支付宝沙箱商户 " + sellerID(appID), AppID: appID, ProductName: productName(t.product),
		PersonalCode: t.personalCode, Scene: t.scene, ExternalNo: t.externalNo, ExternalLogonID: t.externalLogonID}
	if r := t.rule; r != nil {
		unit := map[string]string{"DAY": "天", "MONTH": "个月"}[r.periodType]
		v.Limits = append(v.Limits, limitRow{"period", "扣款周期", "每 " + strconv.Itoa(r.period) + " " + unit},
			limitRow{"execute_time", "首次扣款日", r.execute.Format(dateLayout)},
			limitRow{"single_amount", "单笔限额", yuan(r.single)})
		if r.total > 0 {
			v.Limits = append(v.Limits, limitRow{"total_amount", "累计限额", yuan(r.total)})
		}
		if r.payments > 0 {
			v.Limits = append(v.Limits, limitRow{"total_payments", "扣款次数上限", strconv.Itoa(r.payments)})
		}
	}
	if t.validity != "" {
		v.Limits = append(v.Limits, limitRow{"sign_validity_period", "协议有效期", t.validity})
	}
	return v
}

var signTmpl = template.Must(template.New("sign").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.1rem;color:#1677ff}
dl{font-size:.85rem;color:#555}dt{float:left;clear:left;width:7rem}dd{margin-left:7rem}
button{font-size:1rem;padding:.6rem 1.4rem;margin-right:.5rem;border-radius:4px;border:1px solid #1677ff}
#sign{background:#1677ff;color:#fff}#decline{background:#fff;color:#1677ff}
.note{font-size:.8rem;color:#888;margin-top:2rem}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if .Token}}<p id="merchant">{{.Merchant}}</p>
<p>申请开通 <strong id="product">{{.ProductName}}</strong>（<code id="personal_product_code">{{.PersonalCode}}</code>）</p>
<dl><dt>商户 app_id</dt><dd id="app_id">{{.AppID}}</dd><dt>签约场景</dt><dd id="sign_scene">{{.Scene}}</dd>
{{with .ExternalNo}}<dt>商户签约号</dt><dd id="external_agreement_no">{{.}}</dd>{{end}}
{{with .ExternalLogonID}}<dt>商户账号</dt><dd id="external_logon_id">{{.}}</dd>{{end}}
{{range .Limits}}<dt>{{.Label}}</dt><dd id="{{.ID}}">{{.Value}}</dd>
{{end}}</dl>
{{with .Existing}}<p>已签约，协议号 <code id="existing">{{.}}</code>：确认将返回该协议（already signed）</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="` + signField + `" value="{{.Token}}">
<button id="sign" type="submit" name="action" value="sign">同意协议并开通 Sign</button>
<button id="decline" type="submit" name="action" value="decline">暂不开通 Decline</button>
</form>
{{else}}<p id="message">{{.Message}}</p>
{{with .AgreementNo}}<p>协议号 <code id="agreement_no">{{.}}</code></p>
{{end}}{{end}}<p class="note">polypay 支付宝模拟器：不会发生真实扣款。</p>
</body>
</html>
`))

func renderSign(w http.ResponseWriter, status int, v signView) {
	if v.Title == "" {
		v.Title = "支付宝 - 开通自动扣款（模拟）"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = signTmpl.Execute(w, v)
}
