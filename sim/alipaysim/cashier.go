package alipaysim

import (
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// cashierField names the cashier's own form posts; a gateway call never
// carries it.
const cashierField = "sim_cashier"

// session is one rendered cashier page: what the pay and decline buttons
// act on.
type session struct {
	appID      string
	outTradeNo string
	method     string
	signType   string
	returnURL  string
	quitURL    string
	created    time.Time // wall clock, for expiry of abandoned pages
}

// sessionTTL bounds how long an abandoned cashier page stays usable; the
// sweep runs when sessions accumulate.
const (
	sessionTTL   = 2 * time.Hour
	sessionSweep = 1024
)

var cashierTmpl = template.Must(template.New("cashier").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.1rem;color:#1677ff}
.amount{font-size:2.2rem;margin:.5rem 0}
dl{font-size:.85rem;color:#555}dt{float:left;clear:left;width:7rem}dd{margin-left:7rem}
button{font-size:1rem;padding:.6rem 1.4rem;margin-right:.5rem;border-radius:4px;border:1px solid #1677ff}
button[value=pay]{background:#1677ff;color:#fff}button[value=decline]{background:#fff;color:#1677ff}
.note{font-size:.8rem;color:#888;margin-top:2rem}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error">错误代码 <code id="code">{{.Code}}</code> <code id="sub_code">{{.SubCode}}</code></p>
<p>{{.Message}}</p>
{{else if .Token}}<p class="subject" id="subject">{{.Subject}}</p>
<p class="amount">¥<span id="total_amount">{{.Amount}}</span></p>
<dl><dt>商户订单号</dt><dd id="out_trade_no">{{.OutTradeNo}}</dd><dt>支付宝交易号</dt><dd id="trade_no">{{.TradeNo}}</dd></dl>
<form method="post" action="{{.Action}}">
<input type="hidden" name="` + cashierField + `" value="{{.Token}}">
<button type="submit" name="action" value="pay">付款 Pay</button>
<button type="submit" name="action" value="decline">拒绝 Decline</button>
</form>
{{else}}<p id="message">{{.Message}}</p>
{{end}}<p class="note">polypay 支付宝模拟器：不会发生真实扣款。</p>
</body>
</html>
`))

type cashierView struct {
	Title, Message      string
	Error               bool
	Code, SubCode       string
	Token, Action       string
	Subject, Amount     string
	OutTradeNo, TradeNo string
}

func render(w http.ResponseWriter, status int, v cashierView) {
	if v.Title == "" {
		v.Title = "支付宝收银台（模拟）"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = cashierTmpl.Execute(w, v)
}

// renderError shows an Alipay error the way the real gateway does to a
// browser: an HTML page with the codes, HTTP 200.
func renderError(w http.ResponseWriter, e *apiError) {
	msg := e.SubMsg
	if msg == "" {
		msg = e.Msg
	}
	render(w, http.StatusOK, cashierView{Title: "支付宝 - 出错了", Error: true, Code: e.Code, SubCode: e.SubCode, Message: msg})
}

// cashierPage answers the browser bringing alipay.trade.wap.pay or
// alipay.trade.page.pay: verify, open the trade, render the cashier.
func (s *Sim) cashierPage(w http.ResponseWriter, r *http.Request, params url.Values) {
	c, aerr := s.verify(params, isPageMethod)
	if aerr != nil {
		s.log.Info("alipaysim: page request rejected", "method", params.Get("method"), "app_id", params.Get("app_id"), "sub_code", aerr.SubCode)
		renderError(w, aerr)
		return
	}
	var b orderBiz
	if aerr := decodeBiz(c, &b); aerr != nil {
		renderError(w, aerr)
		return
	}
	amount, aerr := checkOrder(c.method, &b)
	if aerr == nil {
		aerr = checkPageParams(c, &b)
	}
	if aerr != nil {
		renderError(w, aerr)
		return
	}
	now := s.now()
	s.mu.Lock()
	t, _, aerr := s.openTrade(c, &b, amount, now)
	if aerr == nil && t.status != waitBuyerPay {
		aerr = stateError(t)
	}
	if aerr != nil {
		s.mu.Unlock()
		renderError(w, aerr)
		return
	}
	token := randomString(32, "0123456789abcdefghijklmnopqrstuvwxyz")
	s.sweepSessions()
	s.sessions[token] = &session{
		appID:      c.appID,
		outTradeNo: t.outTradeNo,
		method:     c.method,
		signType:   c.signType,
		returnURL:  c.returnURL,
		quitURL:    string(b.QuitURL),
		created:    time.Now(),
	}
	v := cashierView{
		Token:      token,
		Action:     path.Base(r.URL.Path), // back to this very path, wherever the sim is mounted
		Subject:    t.subject,
		Amount:     yuan(t.amount),
		OutTradeNo: t.outTradeNo,
		TradeNo:    t.tradeNo,
	}
	s.mu.Unlock()
	render(w, http.StatusOK, v)
}

// checkPageParams validates what only the browser methods carry.
func checkPageParams(c *call, b *orderBiz) *apiError {
	if c.returnURL != "" && !webURL(c.returnURL) {
		return invalidParam("return_url")
	}
	if c.method == methodWap && b.QuitURL != "" && !webURL(string(b.QuitURL)) {
		return invalidParam("quit_url")
	}
	if c.method == methodPage && b.QRPayMode != "" && (len(b.QRPayMode) != 1 || !strings.Contains("01234", string(b.QRPayMode))) {
		return invalidParam("qr_pay_mode")
	}
	return nil
}

func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// sweepSessions drops abandoned cashier pages once enough accumulate.
// Called with s.mu held.
func (s *Sim) sweepSessions() {
	if len(s.sessions) < sessionSweep {
		return
	}
	cutoff := time.Now().Add(-sessionTTL)
	for k, ss := range s.sessions {
		if ss.created.Before(cutoff) {
			delete(s.sessions, k)
		}
	}
}

// cashierAction is the buyer pressing pay or decline on a cashier page.
func (s *Sim) cashierAction(w http.ResponseWriter, r *http.Request, form url.Values) {
	action := form.Get("action")
	if action != "pay" && action != "decline" {
		render(w, http.StatusBadRequest, cashierView{Message: "未知的操作"})
		return
	}
	now := s.now()
	s.mu.Lock()
	ss := s.sessions[form.Get(cashierField)]
	if ss == nil || time.Since(ss.created) > sessionTTL {
		s.mu.Unlock()
		render(w, http.StatusNotFound, cashierView{Message: "收银台已失效，请返回商户重新发起支付"})
		return
	}
	t := s.trades[tradeKey{ss.appID, ss.outTradeNo}]
	if action == "decline" {
		// Alipay has no declined state: the trade waits for another try
		// (or its expiry), and the buyer leaves through quit_url.
		s.mu.Unlock()
		if ss.quitURL != "" {
			http.Redirect(w, r, ss.quitURL, http.StatusSeeOther)
			return
		}
		render(w, http.StatusOK, cashierView{Message: "已取消付款"})
		return
	}
	n, err := s.buyerPays(t, now, true)
	if err != nil {
		aerr := stateError(t)
		s.mu.Unlock()
		renderError(w, aerr)
		return
	}
	delete(s.sessions, form.Get(cashierField))
	back := s.returnParams(ss, t, now)
	s.mu.Unlock()

	// The asynchronous notification goes first: the return below is for
	// display only, as in Alipay.
	s.notifier.Send(r.Context(), n)
	if ss.returnURL == "" {
		render(w, http.StatusOK, cashierView{Message: "付款成功"})
		return
	}
	u, err := url.Parse(ss.returnURL)
	if err != nil { // checked when the page was opened
		render(w, http.StatusOK, cashierView{Message: "付款成功"})
		return
	}
	q := u.Query()
	for k, vs := range back {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// returnParams builds Alipay's signed synchronous return for page and wap
// payments: method "<method>.return", signed like a notification (every
// non-empty field but sign and sign_type). Called with s.mu held.
func (s *Sim) returnParams(ss *session, t *trade, now time.Time) url.Values {
	v := url.Values{
		"charset":      {"utf-8"},
		"out_trade_no": {t.outTradeNo},
		"method":       {ss.method + ".return"},
		"total_amount": {yuan(t.amount)},
		"trade_no":     {t.tradeNo},
		"auth_app_id":  {t.appID},
		"version":      {"1.0"},
		"app_id":       {t.notifyAppID()},
		"sign_type":    {ss.signType},
		"seller_id":    {sellerID(t.appID)},
		"timestamp":    {formatTime(now)},
	}
	sig, err := signBytes(s.key, ss.signType, []byte(signContent(v, "sign", "sign_type")))
	if err != nil {
		s.log.Error("alipaysim: signing a return", "err", err)
		return v
	}
	v.Set("sign", sig)
	return v
}
