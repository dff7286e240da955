package wechatsim

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Signing a contract. The customer's WeChat browser opens the URL the
// merchant built and signed (/papay/entrustweb?…, or the redirect_url of
// /papay/h5entrustweb); the sim verifies it, shows the merchant, the
// template (plan_id) and the account shown to the customer, and signs on
// the confirm button (id="sign"; id="decline" makes nothing and tells
// nobody, as WeChat). The customer is the browser: its openid under the
// appid is the one the sim's OAuth gives the same browser (its cookie).
// SignContract is a customer doing the same through the same code.

// signSessionParam names an open signing page in a URL (the H5
// redirect_url) and in the page's form.
const signSessionParam = "sim_session"

// signSessionTTL bounds how long a signing page can be confirmed;
// abandoned ones are swept once signSessionSweep of them accumulate.
const (
	signSessionTTL   = 30 * time.Minute
	signSessionSweep = 1000
)

// signSession is one verified signing request: what its page signs.
type signSession struct {
	mchid, appid, planID, code    string
	requestSerial, displayAccount string
	notifyURL                     string
	created                       time.Time // wall clock
}

// verifySignURL checks a signing request's parameters: the merchant and
// appid, the signature over every parameter but sign (the values as
// decoded, sorted by name, &key=APIv2 key), the parameters WeChat
// requires and the timestamp, within 5 minutes of the sim's clock.
func (s *Sim) verifySignURL(q url.Values, h5 bool) (*signSession, *v2Error) {
	f := make(fields, 0, len(q))
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, &v2Error{"PARAM_ERROR", "参数 " + k + " 重复"}
		}
		f = append(f, field{k, vs[0]})
	}
	m, ok := s.lookupMerchant(f.get("mch_id"))
	if !ok || m == nil || m.APIv2Key == "" {
		return nil, errNoAuth
	}
	if !contains(m.AppIDs, f.get("appid")) {
		return nil, &v2Error{"APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"}
	}
	if !signedBy(f, m.APIv2Key, h5) {
		return nil, &v2Error{"SIGN_ERROR", "签约参数签名校验错误"}
	}
	if e := checkSignTerms(f, h5); e != nil {
		return nil, e
	}
	ts, _ := strconv.ParseInt(f.get("timestamp"), 10, 64)
	if d := s.now().Sub(time.Unix(ts, 0)); d > maxSkew || d < -maxSkew {
		return nil, &v2Error{"PARAM_ERROR", "timestamp 与当前时间相差超过 5 分钟"}
	}
	return &signSession{mchid: m.MchID, appid: f.get("appid"), planID: f.get("plan_id"), code: f.get("contract_code"),
		requestSerial: f.get("request_serial"), displayAccount: f.get("contract_display_account"),
		notifyURL: f.get("notify_url")}, nil
}

// signedBy checks the signature: with sign_type's algorithm when given,
// else MD5, and for H5 signing (documented "HMAC-SHA256、MD5") either.
func signedBy(f fields, key string, h5 bool) bool {
	types := []string{f.get("sign_type")}
	switch {
	case types[0] == "" && h5:
		types = []string{"MD5", "HMAC-SHA256"}
	case types[0] != "" && types[0] != "MD5" && types[0] != "HMAC-SHA256":
		return false
	}
	for _, t := range types {
		if subtle.ConstantTimeCompare([]byte(v2Sign(f, key, t)), []byte(f.get("sign"))) == 1 {
			return true
		}
	}
	return false
}

// checkSignTerms applies the signing parameters' rules as WeChat
// documents them.
func checkSignTerms(f fields, h5 bool) *v2Error {
	required := []string{"plan_id", "contract_code", "request_serial", "contract_display_account", "notify_url", "version", "timestamp"}
	if h5 {
		required = append(required, "clientip")
	}
	for _, k := range required {
		if f.get(k) == "" {
			return &v2Error{"PARAM_ERROR", "缺少必填参数 " + k}
		}
	}
	msg := ""
	switch serial := f.get("request_serial"); {
	case !isDigits(f.get("plan_id")) || len(f.get("plan_id")) > 28:
		msg = "plan_id 应为数字模板 id"
	case !validOutNo(f.get("contract_code"), 1, 128, ""):
		msg = "contract_code 只能是 128 位以内的数字、大小写字母"
	case !isDigits(serial) || serial[0] == '0' || !fitsInt64(serial):
		msg = "request_serial 应为不以 0 开头的 int64 数字"
	case utf8.RuneCountInString(f.get("contract_display_account")) > 128:
		msg = "contract_display_account 最多 128 个字符"
	case f.get("version") != "1.0":
		msg = "version 应为 1.0"
	case !isDigits(f.get("timestamp")) || len(f.get("timestamp")) != 10:
		msg = "timestamp 应为 10 位秒级时间戳"
	}
	if e := checkNotifyURL(f.get("notify_url")); msg == "" && e != nil {
		msg = e.Message
	}
	if msg != "" {
		return &v2Error{"PARAM_ERROR", msg}
	}
	return nil
}

func fitsInt64(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// openSign verifies a signing request and opens its page: its token and
// what it shows.
func (s *Sim) openSign(q url.Values, h5 bool) (string, signView, *v2Error) {
	ss, e := s.verifySignURL(q, h5)
	if e != nil {
		return "", signView{}, e
	}
	ss.created = time.Now()
	token := randomString(32, alnum)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.papay.init()
	s.sweepSignSessions()
	s.papay.sessions[token] = ss
	return token, s.sessionView(token, ss), nil
}

// sessionView is what a session's page shows. Called with s.mu held.
func (s *Sim) sessionView(token string, ss *signSession) signView {
	v := signView{Token: token, Merchant: "微信支付沙箱商户 " + ss.mchid, MchID: ss.mchid, AppID: ss.appid,
		PlanID: ss.planID, Code: ss.code, DisplayAccount: ss.displayAccount}
	if k := s.signedContract(ss); k != nil {
		v.Existing = k.id
	}
	return v
}

// sweepSignSessions drops abandoned signing pages once enough
// accumulate. Called with s.mu held.
func (s *Sim) sweepSignSessions() {
	if len(s.papay.sessions) < signSessionSweep {
		return
	}
	for k, ss := range s.papay.sessions {
		if time.Since(ss.created) > signSessionTTL {
			delete(s.papay.sessions, k)
		}
	}
}

// signedContract is the signed contract under a session's merchant, plan
// and contract_code, if any: signing it again answers that one. Called
// with s.mu held.
func (s *Sim) signedContract(ss *signSession) *contract {
	k := s.papay.byCode[contractKey{ss.mchid, ss.planID, ss.code}]
	if k == nil || k.state != contractSigned {
		return nil
	}
	return k
}

// session is an open signing page. Called with s.mu held.
func (s *Sim) session(token string) *signSession {
	ss := s.papay.sessions[token]
	if ss == nil || time.Since(ss.created) > signSessionTTL {
		return nil
	}
	return ss
}

var errSignSession = errors.New("wechatsim: signing page unknown or expired")

// confirmSign is the customer (user, the browser's fake WeChat user)
// pressing sign: the contract is made, or the signed one under the same
// contract_code is kept with no second notification, and the first
// attempt of the ADD notification is made.
func (s *Sim) confirmSign(ctx context.Context, token, user string) (string, error) {
	now := s.now()
	s.mu.Lock()
	s.papay.init()
	ss := s.session(token)
	if ss == nil {
		s.mu.Unlock()
		return "", errSignSession
	}
	delete(s.papay.sessions, token)
	var n *v2Note
	k := s.signedContract(ss)
	if k == nil {
		k = s.newContract(ss, OpenID(ss.appid, user), now)
		n = s.contractNote(k, "ADD", now)
	}
	id := k.id
	s.mu.Unlock()
	s.papay.notifier.Send(ctx, s.v2Notice(n))
	return id, nil
}

// newContract records a contract just signed. Called with s.mu held.
func (s *Sim) newContract(ss *signSession, openid string, now time.Time) *contract {
	id := ""
	for id == "" || s.papay.contracts[id] != nil {
		id = now.In(cst).Format("20060102") + randomString(10, digits)
	}
	signed := now.Truncate(time.Second)
	k := &contract{id: id, mchid: ss.mchid, appid: ss.appid, planID: ss.planID, code: ss.code,
		requestSerial: ss.requestSerial, displayAccount: ss.displayAccount, openid: openid, notifyURL: ss.notifyURL,
		state: contractSigned, signed: signed, expires: signed.AddDate(contractYears, 0, 0)}
	s.papay.contracts[id] = k
	s.papay.byCode[contractKey{k.mchid, k.planID, k.code}] = k
	return k
}

// SignContract plays a customer who opens a signing URL and confirms:
// signURL is what the merchant built (…/papay/entrustweb?…, an
// …/papay/h5entrustweb?… URL, the redirect_url h5entrustweb answered, or
// a bare query string of entrustweb's parameters). The parameters and
// signature are verified as the page verifies them, the contract is made
// for a new customer and the first attempt of the ADD notification is
// made before it returns. A signed contract under the same plan_id and
// contract_code is answered instead, with no notification.
//
// Errors: ErrSignRejected wrapping WeChat's reason for a request the page
// would refuse.
func (s *Sim) SignContract(ctx context.Context, signURL string) (contractID string, err error) {
	rawQuery, h5 := signURL, false
	if i := strings.IndexByte(signURL, '?'); i >= 0 {
		rawQuery, h5 = signURL[i+1:], strings.HasSuffix(signURL[:i], "/h5entrustweb")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", fmt.Errorf("%w: not a query string: %v", ErrSignRejected, err)
	}
	token := q.Get(signSessionParam)
	if token == "" || q.Has("mch_id") {
		var e *v2Error
		if token, _, e = s.openSign(q, h5); e != nil {
			return "", fmt.Errorf("%w: %s: %s", ErrSignRejected, e.code, e.msg)
		}
	}
	id, err := s.confirmSign(ctx, token, randomString(24, alnum))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrSignRejected, err)
	}
	return id, nil
}

// serveSignPage answers /papay/entrustweb: GET verifies the request and
// shows the page (or, with sim_session, the page h5entrustweb opened);
// POST is its buttons.
func (s *Sim) serveSignPage(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		q := r.URL.Query()
		if token := q.Get(signSessionParam); token != "" && !q.Has("mch_id") {
			s.showSession(w, r, token)
			return
		}
		_, v, e := s.openSign(q, false)
		if e != nil {
			s.log.Info("wechatsim: signing page rejected", "mch_id", q.Get("mch_id"), "code", e.code)
			renderSign(w, http.StatusBadRequest, signView{Message: e.msg, ErrCode: e.code})
			return
		}
		v.Action = path.Base(r.URL.Path)
		renderSign(w, http.StatusOK, v)
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			renderSign(w, http.StatusBadRequest, signView{Message: "表单无效"})
			return
		}
		s.signAction(w, r, r.PostForm.Get(signSessionParam), r.PostForm.Get("action"))
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Sim) showSession(w http.ResponseWriter, r *http.Request, token string) {
	s.mu.Lock()
	s.papay.init()
	ss := s.session(token)
	var v signView
	if ss != nil {
		v = s.sessionView(token, ss)
	}
	s.mu.Unlock()
	if ss == nil {
		renderSign(w, http.StatusNotFound, signView{Message: "签约页面已失效，请返回商户重新发起签约"})
		return
	}
	v.Action = path.Base(r.URL.Path)
	renderSign(w, http.StatusOK, v)
}

// signAction is the customer pressing sign or decline.
func (s *Sim) signAction(w http.ResponseWriter, r *http.Request, token, action string) {
	switch action {
	case "decline":
		s.mu.Lock()
		s.papay.init()
		delete(s.papay.sessions, token)
		s.mu.Unlock()
		renderSign(w, http.StatusOK, signView{Message: "已取消开通（declined）"})
	case "sign":
		// The first notification attempt is part of signing; it should not
		// be cut short by the browser going away.
		id, err := s.confirmSign(context.WithoutCancel(r.Context()), token, browserUser(w, r))
		if err != nil {
			renderSign(w, http.StatusNotFound, signView{Message: "签约页面已失效，请返回商户重新发起签约"})
			return
		}
		renderSign(w, http.StatusOK, signView{Message: "开通成功（signed）", ContractID: id})
	default:
		renderSign(w, http.StatusBadRequest, signView{Message: "未知的操作"})
	}
}

// serveH5Sign answers GET /papay/h5entrustweb (H5纯签约): the request is
// verified like entrustweb's, with clientip required and MD5 or
// HMAC-SHA256 signatures, and the answer is XML whose redirect_url opens
// its signing page: return_code, return_msg, result_code, result_msg,
// redirect_url. A refused request is return_code FAIL.
func (s *Sim) serveH5Sign(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	token, _, e := s.openSign(r.URL.Query(), true)
	if e != nil {
		s.log.Info("wechatsim: H5 signing rejected", "mch_id", r.URL.Query().Get("mch_id"), "code", e.code)
		writeV2(w, v2Fail(e))
		return
	}
	writeV2(w, fields{{"return_code", "SUCCESS"}, {"return_msg", "OK"}, {"result_code", "SUCCESS"}, {"result_msg", "OK"},
		{"redirect_url", s.externalBase(r) + "/papay/entrustweb?" + signSessionParam + "=" + token}})
}

// externalBase is where browsers reach the sim: Options.WalletURL, else
// the request's own host and the mount prefix (RequestURI keeps what
// http.StripPrefix removed).
func (s *Sim) externalBase(r *http.Request) string {
	if s.walletURL != "" {
		return s.walletURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	p, _, _ := strings.Cut(r.RequestURI, "?")
	return scheme + "://" + r.Host + strings.TrimSuffix(p, "/papay/h5entrustweb")
}

// signView is what the signing page shows.
type signView struct {
	Message, ErrCode, ContractID string
	Token, Action, Existing      string
	Merchant, MchID, AppID       string
	PlanID, Code, DisplayAccount string
}

var signTmpl = template.Must(template.New("sign").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>微信支付 - 开通自动扣费（模拟）</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.1rem;color:#07c160}
dl{font-size:.85rem;color:#555}dt{float:left;clear:left;width:7rem}dd{margin-left:7rem}
button{font-size:1rem;padding:.6rem 1.4rem;margin-right:.5rem;border-radius:4px;border:1px solid #07c160}
#sign{background:#07c160;color:#fff}#decline{background:#fff;color:#07c160}
.note{font-size:.8rem;color:#888;margin-top:2rem}
</style>
</head>
<body>
<h1>微信支付 - 开通自动扣费（模拟）</h1>
{{if .Token}}<p id="merchant">{{.Merchant}}</p>
<p>申请开通委托代扣，开通账号：<strong id="contract_display_account">{{.DisplayAccount}}</strong></p>
<dl><dt>商户号</dt><dd id="mch_id">{{.MchID}}</dd><dt>appid</dt><dd id="appid">{{.AppID}}</dd>
<dt>模板 plan_id</dt><dd id="plan_id">{{.PlanID}}</dd><dt>签约协议号</dt><dd id="contract_code">{{.Code}}</dd></dl>
{{with .Existing}}<p>已开通，协议 <code id="existing">{{.}}</code>：确认将返回该协议（already signed）</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="` + signSessionParam + `" value="{{.Token}}">
<button id="sign" type="submit" name="action" value="sign">同意并开通 Sign</button>
<button id="decline" type="submit" name="action" value="decline">暂不开通 Decline</button>
</form>
{{else}}<p id="message">{{.Message}}</p>
{{with .ErrCode}}<p>错误码 <code id="err_code">{{.}}</code></p>
{{end}}{{with .ContractID}}<p>委托代扣协议 <code id="contract_id">{{.}}</code></p>
{{end}}{{end}}<p class="note">polypay 微信支付模拟器：不会发生真实扣款。</p>
</body>
</html>
`))

func renderSign(w http.ResponseWriter, status int, v signView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = signTmpl.Execute(w, v)
}

// preEntrust is APP signing's pre-sign (/papay/preentrustweb): the call's
// parameters are checked as entrustweb's are, and a signing session opens
// whose id is the pre_entrustweb_id the APP passes to WeChat. Called with
// s.mu held.
func (s *Sim) preEntrust(c *v2Call, now time.Time) (fields, func()) {
	if e := c.require("appid"); e != nil {
		return e, nil
	}
	if e := checkSignTerms(c.f, false); e != nil {
		return c.fail(e.code, e.msg), nil
	}
	ts, _ := strconv.ParseInt(c.f.get("timestamp"), 10, 64)
	if d := now.Sub(time.Unix(ts, 0)); d > maxSkew || d < -maxSkew {
		return c.fail("PARAM_ERROR", "timestamp 与当前时间相差超过 5 分钟"), nil
	}
	ss := &signSession{mchid: c.merchant.MchID, appid: c.f.get("appid"), planID: c.f.get("plan_id"), code: c.f.get("contract_code"),
		requestSerial: c.f.get("request_serial"), displayAccount: c.f.get("contract_display_account"),
		notifyURL: c.f.get("notify_url"), created: time.Now()}
	id := randomString(32, alnum)
	s.sweepSignSessions()
	s.papay.sessions[id] = ss
	return c.answer(field{"result_code", "SUCCESS"}, field{"pre_entrustweb_id", id}), nil
}

// SignPreEntrust plays a customer whose WeChat the merchant's APP opened
// with a pre_entrustweb_id, confirming: as SignContract, the contract is
// made (or the signed one returned) and the ADD notification's first
// attempt made before it returns.
func (s *Sim) SignPreEntrust(ctx context.Context, preEntrustwebID string) (contractID string, err error) {
	id, err := s.confirmSign(ctx, preEntrustwebID, randomString(24, alnum))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrSignRejected, err)
	}
	return id, nil
}
