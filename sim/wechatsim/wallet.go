package wechatsim

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"regexp"
	"strings"
)

// The simulated WeChat wallet: the customer's side of the scenes where the
// phone does the work.
//
//   - GET <sim>/wallet is the "扫一扫" screen: paste a Native code_url
//     (weixin://wxpay/bizpayurl?pr=...), an H5 h5_url, or anything holding
//     a prepay_id (a JSAPI/app credential). Scanning shows the merchant,
//     description and amount and asks for the payment password; any six
//     digits is the right password, anything else is refused and pays
//     nothing. Pay does exactly what Sim.Pay does: the trade becomes
//     SUCCESS and the first TRANSACTION.SUCCESS notification attempt is
//     delivered before the result page is shown. Decline leaves the trade
//     NOTPAY, as WeChat Pay does, so the customer can scan again.
//   - GET <sim>/wallet/code shows a fresh payment code ("付款码") for the
//     merchant-scans-customer scene (codepay, wx_pub_scan): 18 digits
//     starting 13 that pay at once, or starting 1300 that stay USERPAYING
//     (the customer typing the password) for Options.UserPaying. While such
//     a trade waits, the same page confirms it (pays) or cancels it
//     (PAYERROR), as the customer would on the phone.
//
// The forms carry the code itself, not a session: every POST names the
// trade by its code, so a repeated post finds the trade already paid and
// says so instead of paying twice. Pages are html/template, no script.

// walletPaths tells whether a request path is the wallet or its payment
// code page, wherever the sim is mounted. API paths (which may end in an
// out_trade_no "wallet") are never wallet pages.
func walletPaths(p string) (page string, ok bool) {
	if strings.Contains(p, "/v3/") {
		return "", false
	}
	switch {
	case strings.HasSuffix(p, "/wallet"):
		return "wallet", true
	case strings.HasSuffix(p, "/wallet/code"):
		return "code", true
	}
	return "", false
}

type walletOrder struct {
	code        string // canonical: the code_url, or the prepay_id
	mchid       string
	appid       string
	outTradeNo  string
	description string
	amount      int64
	state       string
}

var (
	errWalletUnknown = errors.New("无法识别的二维码，或订单不存在（unknown code）")
	errWalletPaid    = errors.New("该订单已支付（already paid）")
	errWalletClosed  = errors.New("该订单已关闭或已过期（closed or expired）")
)

var prepayIDRe = regexp.MustCompile(`wx[0-9]{14}[0-9a-f]{20}`)

// normalizeCode reduces what a customer may paste to the key the sim knows
// the trade by: a code_url as is (also inside a JSON string), otherwise the
// prepay_id found in an h5_url or a credential.
func normalizeCode(raw string) string {
	c := strings.TrimSpace(raw)
	if strings.HasPrefix(c, `"`) {
		var s string
		if json.Unmarshal([]byte(c), &s) == nil {
			c = strings.TrimSpace(s)
		}
	}
	if strings.HasPrefix(c, "weixin://") {
		return c
	}
	if id := prepayIDRe.FindString(c); id != "" {
		return id
	}
	return c
}

func (s *Sim) lookupWallet(code string) (*walletOrder, error) {
	if code == "" {
		return nil, errWalletUnknown
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byCode[code]
	if t == nil {
		return nil, errWalletUnknown
	}
	s.touch(t, now)
	return &walletOrder{code: code, mchid: t.mchid, appid: t.appid, outTradeNo: t.outTradeNo,
		description: t.description, amount: t.amount, state: t.state}, nil
}

func (o *walletOrder) payable() error {
	switch o.state {
	case stateNotPay:
		return nil
	case stateSuccess, stateRefund:
		return errWalletPaid
	}
	return errWalletClosed
}

// rightPassword is the sim's payment password rule: any six digits.
func rightPassword(p string) bool {
	if len(p) != 6 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

type walletView struct {
	Title string
	// Stage: "scan", "confirm", "result", "code" or "error".
	Stage                string
	Code                 string
	Merchant, AppID      string
	Description, Amount  string
	OutTradeNo           string
	Error                string
	Result               string
	Paid                 bool
	State                string
	WalletURL, CodeURL   string
	PaymentCode, Grouped string
	Paying               bool // the code page offers confirm/cancel
	Outcomes             []codeOutcome
}

type codeOutcome struct {
	Value, Label string
	Selected     bool
}

var walletTmpl = template.Must(template.New("wallet").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.1rem;color:#07c160}
textarea{width:100%;height:6rem;font-family:monospace;font-size:.8rem;box-sizing:border-box}
.amount{font-size:2.2rem;margin:.5rem 0}
dl{font-size:.85rem;color:#555}dt{float:left;clear:left;width:7rem}dd{margin-left:7rem;word-break:break-all}
input[type=password]{font-size:1.4rem;letter-spacing:.4rem;width:10rem}
button{font-size:1rem;padding:.6rem 1.4rem;margin:.5rem .5rem 0 0;border-radius:4px;border:1px solid #07c160;background:#fff;color:#07c160}
button.primary{background:#07c160;color:#fff}
.error{color:#d4380d}.ok{color:#389e0d}
.code{font-family:monospace;font-size:1.6rem;letter-spacing:.15rem;margin:1rem 0;word-break:break-all}
.note{font-size:.8rem;color:#888;margin-top:2rem}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if eq .Stage "scan"}}<form method="post" action="{{.WalletURL}}">
<p><label for="code">粘贴二维码内容 / h5_url / prepay_id（paste the QR code content）</label></p>
<textarea id="code" name="code" autofocus>{{.Code}}</textarea>
<p><button type="submit" id="scan" name="action" value="scan" class="primary">扫一扫 Scan</button></p>
</form>
<p><a id="code_link" href="{{.CodeURL}}">付款码 Payment code</a></p>
{{else if eq .Stage "confirm"}}<p>付款给 <span id="merchant">{{.Merchant}}</span></p>
<p id="subject">{{.Description}}</p>
<p class="amount">¥<span id="amount">{{.Amount}}</span></p>
<dl><dt>appid</dt><dd id="app_id">{{.AppID}}</dd><dt>商户订单号</dt><dd id="out_trade_no">{{.OutTradeNo}}</dd></dl>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>
{{end}}<form method="post" action="{{.WalletURL}}">
<input type="hidden" name="code" value="{{.Code}}">
<p><label for="password">支付密码（任意 6 位数字）</label><br>
<input type="password" id="password" name="password" inputmode="numeric" autocomplete="off"></p>
<button type="submit" id="pay" name="action" value="pay" class="primary">确认支付 Pay</button>
<button type="submit" id="decline" name="action" value="decline">取消 Decline</button>
</form>
{{else if eq .Stage "result"}}<p class="{{if .Paid}}ok{{else}}error{{end}}" id="result">{{.Result}}</p>
{{if .Amount}}<p class="amount">¥<span id="amount">{{.Amount}}</span></p>
{{end}}<dl>{{if .OutTradeNo}}<dt>商户订单号</dt><dd id="out_trade_no">{{.OutTradeNo}}</dd>{{end}}{{if .State}}<dt>trade_state</dt><dd id="status">{{.State}}</dd>{{end}}</dl>
<p><a id="again" href="{{.WalletURL}}">继续扫码 Scan another</a></p>
{{else if eq .Stage "code"}}<p>向商户出示付款码（show this code to the cashier）</p>
<p class="code" id="payment_code_display">{{.Grouped}}</p>
<p>付款码 <code id="payment_code">{{.PaymentCode}}</code></p>
<form method="get" action="{{.CodeURL}}">
<p><label for="outcome">结果 Outcome</label>
<select id="outcome" name="outcome">{{range .Outcomes}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select>
<button type="submit" id="refresh">刷新 Refresh</button></p>
</form>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>
{{end}}{{if .Paying}}<form method="post" action="{{.CodeURL}}">
<p>商户扫码后（USERPAYING），在此输入密码确认，或取消（PAYERROR）：</p>
<input type="hidden" name="code" value="{{.PaymentCode}}">
<p><label for="password">支付密码（任意 6 位数字）</label><br>
<input type="password" id="password" name="password" inputmode="numeric" autocomplete="off"></p>
<button type="submit" id="confirm" name="action" value="confirm" class="primary">确认支付 Confirm</button>
<button type="submit" id="cancel" name="action" value="cancel">取消支付 Cancel</button>
</form>
{{end}}<p><a id="wallet_link" href="{{.WalletURL}}">扫一扫 Scan</a></p>
{{else}}<p class="error" id="error">{{.Error}}</p>
<p><a id="again" href="{{.WalletURL}}">重新扫码 Scan again</a></p>
{{end}}<p class="note">polypay 微信支付模拟器钱包：不会发生真实扣款。</p>
</body>
</html>
`))

func renderWallet(w http.ResponseWriter, status int, page string, v walletView) {
	if v.Title == "" {
		v.Title = "微信支付（模拟）"
	}
	// Links are relative so the pages work under any mount prefix.
	if page == "code" {
		v.WalletURL, v.CodeURL = "../wallet", "code"
	} else {
		v.WalletURL, v.CodeURL = "wallet", "wallet/code"
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = walletTmpl.Execute(w, v)
}

func (s *Sim) serveWallet(w http.ResponseWriter, r *http.Request, page string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if page == "code" {
			s.serveCode(w, r)
			return
		}
		code := r.URL.Query().Get("code")
		if code == "" {
			renderWallet(w, http.StatusOK, page, walletView{Stage: "scan"})
			return
		}
		s.walletScan(w, page, normalizeCode(code))
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			renderWallet(w, http.StatusBadRequest, page, walletView{Stage: "error", Error: "表单无效"})
			return
		}
		f := r.PostForm
		if page == "code" {
			s.codeAction(w, r, f.Get("action"), strings.TrimSpace(f.Get("code")), f.Get("password"))
			return
		}
		code := normalizeCode(f.Get("code"))
		switch f.Get("action") {
		case "", "scan":
			s.walletScan(w, page, code)
		case "pay":
			s.walletPay(w, r, page, code, f.Get("password"))
		case "decline":
			s.walletDecline(w, r, page, code)
		default:
			renderWallet(w, http.StatusBadRequest, page, walletView{Stage: "error", Error: "未知的操作"})
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func walletErrorStatus(err error) int {
	if errors.Is(err, errWalletPaid) || errors.Is(err, errWalletClosed) {
		return http.StatusConflict
	}
	return http.StatusNotFound
}

func (o *walletOrder) confirmView() walletView {
	return walletView{Stage: "confirm", Code: o.code, Merchant: "微信支付沙箱商户 " + o.mchid, AppID: o.appid,
		Description: o.description, Amount: yuan(o.amount), OutTradeNo: o.outTradeNo}
}

func (s *Sim) walletScan(w http.ResponseWriter, page, code string) {
	o, err := s.lookupWallet(code)
	if err == nil {
		err = o.payable()
	}
	if err != nil {
		renderWallet(w, walletErrorStatus(err), page, walletView{Stage: "error", Error: err.Error()})
		return
	}
	renderWallet(w, http.StatusOK, page, o.confirmView())
}

func (s *Sim) walletPay(w http.ResponseWriter, r *http.Request, page, code, password string) {
	o, err := s.lookupWallet(code)
	if err != nil {
		renderWallet(w, walletErrorStatus(err), page, walletView{Stage: "error", Error: err.Error()})
		return
	}
	if o.state == stateSuccess || o.state == stateRefund {
		// A repeated pay (reload, double click): nothing is paid twice.
		renderWallet(w, http.StatusOK, page, walletView{Stage: "result", Paid: true, Result: "该订单已支付，未重复扣款（already paid）",
			Amount: yuan(o.amount), OutTradeNo: o.outTradeNo, State: o.state})
		return
	}
	if err := o.payable(); err != nil {
		renderWallet(w, walletErrorStatus(err), page, walletView{Stage: "error", Error: err.Error()})
		return
	}
	if !rightPassword(password) {
		v := o.confirmView()
		v.Error = "支付密码错误，请重试（wrong password）"
		renderWallet(w, http.StatusOK, page, v)
		return
	}
	// The first notification attempt is part of paying; it should not be
	// cut short by the browser going away.
	if err := s.Pay(context.WithoutCancel(r.Context()), o.mchid, o.outTradeNo, true); err != nil {
		s.walletSettleError(w, page, code, err)
		return
	}
	renderWallet(w, http.StatusOK, page, walletView{Stage: "result", Paid: true, Result: "支付成功（paid）",
		Amount: yuan(o.amount), OutTradeNo: o.outTradeNo, State: stateSuccess})
}

func (s *Sim) walletDecline(w http.ResponseWriter, r *http.Request, page, code string) {
	o, err := s.lookupWallet(code)
	if err == nil {
		err = o.payable()
	}
	if err == nil {
		// A failed attempt: WeChat Pay keeps the trade NOTPAY.
		err = s.Pay(context.WithoutCancel(r.Context()), o.mchid, o.outTradeNo, false)
	}
	if err != nil {
		s.walletSettleError(w, page, code, err)
		return
	}
	renderWallet(w, http.StatusOK, page, walletView{Stage: "result", Result: "已取消支付，订单仍待支付（declined）",
		Amount: yuan(o.amount), OutTradeNo: o.outTradeNo, State: stateNotPay})
}

// walletSettleError reports a trade that changed under the customer.
func (s *Sim) walletSettleError(w http.ResponseWriter, page, code string, err error) {
	if o, lerr := s.lookupWallet(code); lerr != nil {
		err = lerr
	} else if perr := o.payable(); perr != nil {
		err = perr
	}
	renderWallet(w, walletErrorStatus(err), page, walletView{Stage: "error", Error: err.Error()})
}

// Payment-code outcomes WeChat's codes support in the sim.
var wechatOutcomes = []struct{ value, label string }{
	{"pay", "立即支付 (13…: pays at once)"},
	{"paying", "需输入密码 (1300…: USERPAYING, then paid, or confirm/cancel here)"},
}

// NewPaymentCode returns a fresh 18-digit customer payment code for
// codepay: outcome "paying" gives a 1300… code that stays USERPAYING,
// anything else a 13… code that pays at once.
func NewPaymentCode(outcome string) string {
	if outcome == "paying" {
		return "1300" + randomString(14, digits)
	}
	// 13 followed by anything but 00, which would be a USERPAYING code.
	return "13" + randomString(1, "123456789") + randomString(15, digits)
}

func (s *Sim) serveCode(w http.ResponseWriter, r *http.Request) {
	outcome := r.URL.Query().Get("outcome")
	if outcome != "paying" {
		outcome = "pay"
	}
	v := walletView{Stage: "code", Title: "微信付款码（模拟）", Paying: outcome == "paying"}
	for _, o := range wechatOutcomes {
		v.Outcomes = append(v.Outcomes, codeOutcome{o.value, o.label, o.value == outcome})
	}
	v.PaymentCode = NewPaymentCode(outcome)
	var b strings.Builder
	for i := 0; i < len(v.PaymentCode); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(v.PaymentCode[i])
	}
	v.Grouped = b.String()
	renderWallet(w, http.StatusOK, "code", v)
}

// codeAction is the customer settling, on the phone, a payment-code trade
// that waits in USERPAYING: confirm (with the password) pays it, cancel
// fails it (PAYERROR). Both go through Pay.
func (s *Sim) codeAction(w http.ResponseWriter, r *http.Request, action, code, password string) {
	if action != "confirm" && action != "cancel" {
		renderWallet(w, http.StatusBadRequest, "code", walletView{Stage: "error", Error: "未知的操作"})
		return
	}
	now := s.now()
	s.mu.Lock()
	var t *trade
	for _, c := range s.trades {
		if c.tradeType != tradeCodepay || code == "" || c.authCode != code {
			continue
		}
		s.touch(c, now)
		// The waiting trade wins; otherwise the latest one tells the story.
		if t == nil || (c.state == stateUserPaying && t.state != stateUserPaying) ||
			(c.state == t.state && c.created.After(t.created)) {
			t = c
		}
	}
	var o walletOrder
	if t != nil {
		o = walletOrder{mchid: t.mchid, outTradeNo: t.outTradeNo, amount: t.amount, state: t.state}
	}
	s.mu.Unlock()
	switch {
	case t == nil:
		renderWallet(w, http.StatusNotFound, "code", walletView{Stage: "error", Error: "商户尚未扫描此付款码（no payment waits for this code）"})
		return
	case o.state == stateSuccess || o.state == stateRefund:
		renderWallet(w, http.StatusOK, "code", walletView{Stage: "result", Paid: true, Result: "该订单已支付（already paid）",
			Amount: yuan(o.amount), OutTradeNo: o.outTradeNo, State: o.state})
		return
	case o.state != stateUserPaying:
		renderWallet(w, http.StatusConflict, "code", walletView{Stage: "error", Error: "该订单已结束：" + stateDesc[o.state] + "（" + o.state + "）"})
		return
	case action == "confirm" && !rightPassword(password):
		v := walletView{Stage: "code", Title: "微信付款码（模拟）", Paying: true, PaymentCode: code, Grouped: code,
			Error: "支付密码错误，请重试（wrong password）"}
		for _, oc := range wechatOutcomes {
			v.Outcomes = append(v.Outcomes, codeOutcome{oc.value, oc.label, oc.value == "paying"})
		}
		renderWallet(w, http.StatusOK, "code", v)
		return
	}
	success := action == "confirm"
	if err := s.Pay(context.WithoutCancel(r.Context()), o.mchid, o.outTradeNo, success); err != nil {
		renderWallet(w, http.StatusConflict, "code", walletView{Stage: "error", Error: err.Error()})
		return
	}
	if success {
		renderWallet(w, http.StatusOK, "code", walletView{Stage: "result", Paid: true, Result: "支付成功（paid）",
			Amount: yuan(o.amount), OutTradeNo: o.outTradeNo, State: stateSuccess})
		return
	}
	renderWallet(w, http.StatusOK, "code", walletView{Stage: "result", Result: "已取消支付（cancelled: PAYERROR）",
		Amount: yuan(o.amount), OutTradeNo: o.outTradeNo, State: statePayError})
}
