package alipaysim

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// The simulated Alipay wallet: the payer's side of the scenes where the
// buyer's phone does the work.
//
//   - GET <sim>/wallet is the "scan" screen: paste a QR code's content (the
//     https://qr.alipay.com/... qr_code of alipay.trade.precreate), a
//     trade_no (alipay.trade.create, the mini program's my.tradePay), or an
//     app order string (alipay.trade.app.pay, or the {"orderInfo":...}
//     credential holding it). Scanning shows the merchant, subject and
//     amount and asks for the payment password; any six digits is the
//     right password, anything else is refused and pays nothing. Pay does
//     exactly what Sim.Pay (or PayOrderString) does: the trade becomes
//     TRADE_SUCCESS and the first signed notification attempt is delivered
//     before the result page is shown. Decline leaves the trade
//     WAIT_BUYER_PAY, as Alipay has no declined state.
//   - GET <sim>/wallet/code shows a fresh payment code ("付款码") for the
//     scenes where the merchant scans the buyer (alipay.trade.pay), with its
//     outcome chosen by prefix: 28 pays at once, 29 keeps the buyer
//     confirming for Options.UserPayingFor then pays, 30 is declined.
//
// The forms carry the code itself, not a session: every POST names the
// trade by its code, so a repeated post (reload, double click) finds the
// trade already paid and says so instead of paying twice. Pages are
// html/template, no script.

// walletOrder is what a pasted code names.
type walletOrder struct {
	code       string // as the form carries it (normalized)
	orderStr   string // alipay.trade.app.pay order string; empty for trades
	appID      string
	outTradeNo string
	tradeNo    string
	subject    string
	amount     int64
	status     string // WAIT_BUYER_PAY for an app order not yet opened
}

var (
	errWalletUnknown = errors.New("无法识别的付款码，或交易不存在（unknown code）")
	errWalletPaid    = errors.New("该交易已支付（already paid）")
	errWalletClosed  = errors.New("该交易已关闭或已过期（closed or expired）")
)

// normalizeCode accepts what a payer may paste: the bare code, the code as
// a JSON string (Ping++'s credential value), or an app credential object
// {"orderInfo": "..."}.
func normalizeCode(raw string) string {
	c := strings.TrimSpace(raw)
	if strings.HasPrefix(c, `"`) {
		var s string
		if json.Unmarshal([]byte(c), &s) == nil {
			c = strings.TrimSpace(s)
		}
	}
	if strings.HasPrefix(c, "{") {
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(c), &obj) == nil {
			for _, k := range []string{"orderInfo", "alipay", "alipay_qr", "alipay_lite"} {
				var s string
				if json.Unmarshal(obj[k], &s) == nil && s != "" {
					return normalizeCode(s)
				}
				var inner map[string]json.RawMessage
				if json.Unmarshal(obj[k], &inner) == nil && inner != nil {
					if json.Unmarshal(inner["orderInfo"], &s) == nil && s != "" {
						return strings.TrimSpace(s)
					}
				}
			}
		}
	}
	return c
}

// lookupWallet finds the order a code names and its current state.
func (s *Sim) lookupWallet(code string) (*walletOrder, error) {
	switch {
	case code == "" || len(code) > 16<<10:
		return nil, errWalletUnknown
	case strings.HasPrefix(code, "https://qr.alipay.com/"), allDigits(code):
		now := s.now()
		s.mu.Lock()
		defer s.mu.Unlock()
		var t *trade
		if allDigits(code) {
			t = s.byTradeNo[code]
		} else {
			t = s.byQRCode[code]
		}
		if t == nil {
			return nil, errWalletUnknown
		}
		touch(t, now)
		return &walletOrder{code: code, appID: t.appID, outTradeNo: t.outTradeNo, tradeNo: t.tradeNo,
			subject: t.subject, amount: t.amount, status: t.status}, nil
	case strings.Contains(code, "biz_content="):
		return s.lookupOrderString(code)
	}
	return nil, errWalletUnknown
}

// lookupOrderString reads an app order string as the app SDK would before
// showing the buyer the order: its signature must verify.
func (s *Sim) lookupOrderString(code string) (*walletOrder, error) {
	p, err := url.ParseQuery(code)
	if err != nil {
		return nil, errWalletUnknown
	}
	c, aerr := s.verify(p, isAppMethod)
	if aerr != nil {
		return nil, errors.New("订单信息无效（" + aerr.SubCode + " " + aerr.SubMsg + "）")
	}
	var b orderBiz
	if aerr := decodeBiz(c, &b); aerr != nil {
		return nil, errWalletUnknown
	}
	amount, aerr := checkOrder(c.method, &b)
	if aerr != nil {
		return nil, errors.New("订单信息无效（" + aerr.SubCode + " " + aerr.SubMsg + "）")
	}
	o := &walletOrder{code: code, orderStr: code, appID: c.appID, outTradeNo: string(b.OutTradeNo),
		subject: string(b.Subject), amount: amount, status: waitBuyerPay}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.trades[tradeKey{c.appID, o.outTradeNo}]; t != nil {
		touch(t, now)
		o.tradeNo, o.status = t.tradeNo, t.status
	}
	return o, nil
}

func (o *walletOrder) payable() error {
	switch o.status {
	case waitBuyerPay:
		return nil
	case tradeSuccess, tradeFinished:
		return errWalletPaid
	}
	return errWalletClosed
}

// settle is the buyer confirming (success) or declining on the phone: what
// Pay and PayOrderString do.
func (s *Sim) settle(ctx context.Context, o *walletOrder, success bool) error {
	if o.orderStr != "" {
		return s.PayOrderString(ctx, o.orderStr, success)
	}
	return s.Pay(ctx, o.appID, o.outTradeNo, success)
}

// rightPassword is the sim's payment password rule: any six digits.
func rightPassword(p string) bool { return len(p) == 6 && allDigits(p) }

type walletView struct {
	Title string
	// Stage: "scan" (paste box), "confirm" (order and password), "result"
	// or "error".
	Stage            string
	Code             string
	Merchant, AppID  string
	Subject, Amount  string
	OutTradeNo       string
	TradeNo          string
	Error            string // wrong password, shown on the confirm stage
	Result           string
	Paid             bool
	Status           string // trade_status after the action
	WalletURL        string
	CodeURL          string
	Outcome          string // payment-code page
	PaymentCode      string
	PaymentCodeSpace string
	Outcomes         []codeOutcome
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
h1{font-size:1.1rem;color:#1677ff}
textarea{width:100%;height:6rem;font-family:monospace;font-size:.8rem;box-sizing:border-box}
.amount{font-size:2.2rem;margin:.5rem 0}
dl{font-size:.85rem;color:#555}dt{float:left;clear:left;width:7rem}dd{margin-left:7rem;word-break:break-all}
input[type=password]{font-size:1.4rem;letter-spacing:.4rem;width:10rem}
button{font-size:1rem;padding:.6rem 1.4rem;margin:.5rem .5rem 0 0;border-radius:4px;border:1px solid #1677ff;background:#fff;color:#1677ff}
button.primary{background:#1677ff;color:#fff}
.error{color:#d4380d}.ok{color:#389e0d}
.code{font-family:monospace;font-size:1.6rem;letter-spacing:.15rem;margin:1rem 0;word-break:break-all}
.note{font-size:.8rem;color:#888;margin-top:2rem}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if eq .Stage "scan"}}<form method="post" action="{{.WalletURL}}">
<p><label for="code">粘贴二维码内容 / trade_no / 订单串（paste the QR code content）</label></p>
<textarea id="code" name="code" autofocus>{{.Code}}</textarea>
<p><button type="submit" id="scan" name="action" value="scan" class="primary">扫一扫 Scan</button></p>
</form>
<p><a id="code_link" href="{{.CodeURL}}">付款码 Payment code</a></p>
{{else if eq .Stage "confirm"}}<p>付款给 <span id="merchant">{{.Merchant}}</span></p>
<p id="subject">{{.Subject}}</p>
<p class="amount">¥<span id="amount">{{.Amount}}</span></p>
<dl><dt>商户 app_id</dt><dd id="app_id">{{.AppID}}</dd><dt>商户订单号</dt><dd id="out_trade_no">{{.OutTradeNo}}</dd>{{if .TradeNo}}<dt>支付宝交易号</dt><dd id="trade_no">{{.TradeNo}}</dd>{{end}}</dl>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>
{{end}}<form method="post" action="{{.WalletURL}}">
<input type="hidden" name="code" value="{{.Code}}">
<p><label for="password">支付密码（任意 6 位数字）</label><br>
<input type="password" id="password" name="password" inputmode="numeric" autocomplete="off"></p>
<button type="submit" id="pay" name="action" value="pay" class="primary">确认付款 Pay</button>
<button type="submit" id="decline" name="action" value="decline">取消 Decline</button>
</form>
{{else if eq .Stage "result"}}<p class="{{if .Paid}}ok{{else}}error{{end}}" id="result">{{.Result}}</p>
{{if .Amount}}<p class="amount">¥<span id="amount">{{.Amount}}</span></p>
{{end}}<dl>{{if .OutTradeNo}}<dt>商户订单号</dt><dd id="out_trade_no">{{.OutTradeNo}}</dd>{{end}}{{if .Status}}<dt>交易状态</dt><dd id="status">{{.Status}}</dd>{{end}}</dl>
<p><a id="again" href="{{.WalletURL}}">继续扫码 Scan another</a></p>
{{else if eq .Stage "code"}}<p>向商户出示付款码（show this code to the cashier）</p>
<p class="code" id="payment_code_display">{{.PaymentCodeSpace}}</p>
<p>付款码 <code id="payment_code">{{.PaymentCode}}</code></p>
<form method="get" action="{{.CodeURL}}">
<p><label for="outcome">结果 Outcome</label>
<select id="outcome" name="outcome">{{range .Outcomes}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select>
<button type="submit" id="refresh">刷新 Refresh</button></p>
</form>
<p><a id="wallet_link" href="{{.WalletURL}}">扫一扫 Scan</a></p>
{{else}}<p class="error" id="error">{{.Error}}</p>
<p><a id="again" href="{{.WalletURL}}">重新扫码 Scan again</a></p>
{{end}}<p class="note">polypay 支付宝模拟器钱包：不会发生真实扣款。</p>
</body>
</html>
`))

// walletPaths tells whether a request path is the wallet or its payment
// code page, wherever the sim is mounted, and the relative links of each.
func walletPaths(p string) (page string, ok bool) {
	switch {
	case strings.HasSuffix(p, "/wallet"):
		return "wallet", true
	case strings.HasSuffix(p, "/wallet/code"):
		return "code", true
	}
	return "", false
}

func renderWallet(w http.ResponseWriter, status int, page string, v walletView) {
	if v.Title == "" {
		v.Title = "支付宝钱包（模拟）"
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

// serveWallet answers <sim>/wallet and <sim>/wallet/code.
func (s *Sim) serveWallet(w http.ResponseWriter, r *http.Request, page string) {
	if page == "code" {
		s.serveCode(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
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
		code := normalizeCode(r.PostForm.Get("code"))
		switch r.PostForm.Get("action") {
		case "", "scan":
			s.walletScan(w, page, code)
		case "pay":
			s.walletPay(w, r, page, code, r.PostForm.Get("password"))
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
	return walletView{Stage: "confirm", Code: o.code, Merchant: "支付宝沙箱商户 " + sellerID(o.appID), AppID: o.appID,
		Subject: o.subject, Amount: yuan(o.amount), OutTradeNo: o.outTradeNo, TradeNo: o.tradeNo}
}

func (s *Sim) walletScan(w http.ResponseWriter, page, code string) {
	o, err := s.lookupWallet(code)
	if err == nil {
		err = o.payable()
	}
	if err != nil {
		renderWallet(w, walletErrorStatus(err), page, walletView{Stage: "error", Error: err.Error(), Code: code})
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
	if o.status == tradeSuccess || o.status == tradeFinished {
		// A repeated pay (reload, double click): nothing is paid twice.
		renderWallet(w, http.StatusOK, page, walletView{Stage: "result", Paid: true, Result: "该交易已支付，未重复扣款（already paid）",
			Amount: yuan(o.amount), OutTradeNo: o.outTradeNo, Status: o.status})
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
	if err := s.settle(context.WithoutCancel(r.Context()), o, true); err != nil {
		s.walletSettleError(w, page, code, err)
		return
	}
	renderWallet(w, http.StatusOK, page, walletView{Stage: "result", Paid: true, Result: "付款成功（paid）",
		Amount: yuan(o.amount), OutTradeNo: o.outTradeNo, Status: tradeSuccess})
}

func (s *Sim) walletDecline(w http.ResponseWriter, r *http.Request, page, code string) {
	o, err := s.lookupWallet(code)
	if err == nil {
		err = o.payable()
	}
	if err == nil {
		err = s.settle(context.WithoutCancel(r.Context()), o, false)
	}
	if err != nil {
		s.walletSettleError(w, page, code, err)
		return
	}
	renderWallet(w, http.StatusOK, page, walletView{Stage: "result", Result: "已取消付款，交易仍待支付（declined）",
		Amount: yuan(o.amount), OutTradeNo: o.outTradeNo, Status: waitBuyerPay})
}

// walletSettleError reports a trade that changed under the buyer (paid or
// closed meanwhile) or an order string Alipay refuses.
func (s *Sim) walletSettleError(w http.ResponseWriter, page, code string, err error) {
	if o, lerr := s.lookupWallet(code); lerr == nil {
		if perr := o.payable(); perr != nil {
			err = perr
		}
	} else if !errors.Is(err, ErrRequestRejected) {
		err = lerr
	}
	renderWallet(w, walletErrorStatus(err), page, walletView{Stage: "error", Error: err.Error()})
}

// Payment-code outcomes, by the prefix authCode gives them.
var alipayOutcomes = []struct{ value, prefix, label string }{
	{"pay", "28", "立即付款 (28…: pays at once)"},
	{"paying", "29", "用户确认中，随后付款 (29…: user paying, then paid)"},
	{"decline", "30", "拒绝 (30…: declined)"},
}

// NewPaymentCode returns a fresh 18-digit buyer payment code whose
// alipay.trade.pay outcome is outcome: "pay" (28…), "paying" (29…) or
// "decline" (30…). Anything else is "pay".
func NewPaymentCode(outcome string) string {
	prefix := alipayOutcomes[0].prefix
	for _, o := range alipayOutcomes {
		if o.value == outcome {
			prefix = o.prefix
		}
	}
	return prefix + randomString(16, "0123456789")
}

// serveCode shows a fresh payment code; ?outcome= picks its prefix.
func (s *Sim) serveCode(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	outcome := r.URL.Query().Get("outcome")
	known := false
	for _, o := range alipayOutcomes {
		known = known || o.value == outcome
	}
	if !known {
		outcome = "pay"
	}
	v := walletView{Stage: "code", Title: "支付宝付款码（模拟）", Outcome: outcome}
	for _, o := range alipayOutcomes {
		v.Outcomes = append(v.Outcomes, codeOutcome{o.value, o.label, o.value == outcome})
	}
	v.PaymentCode = NewPaymentCode(outcome)
	v.PaymentCodeSpace = groupDigits(v.PaymentCode)
	renderWallet(w, http.StatusOK, "code", v)
}

// groupDigits spaces a payment code in groups of four, as wallets show it.
func groupDigits(code string) string {
	var b strings.Builder
	for i := 0; i < len(code); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(code[i])
	}
	return b.String()
}
