package simkit

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"sync"
)

// Wallet is a simulated buyer's wallet, for people testing by hand and for
// browser tests: the payer's side of the scenes where the phone does the
// work.
//
//   - <sim>/wallet is the "scan" screen: paste a code (what may be pasted
//     is the channel's: a QR code's content, a credential...). Scanning
//     shows the payee, subject and amount and asks for the payment
//     password; any six digits is the right password, anything else is
//     refused and pays nothing. Pay and Decline do what the simulator's own
//     Pay does, first notification attempt included, before the result
//     page is shown.
//   - <sim>/wallet/code shows a fresh payment code for the scenes where the
//     merchant scans the buyer, with an outcome picked from Outcomes.
//
// The forms carry the code itself, not a session: every POST names the
// trade by its code, so a repeated post (reload, double click) finds the
// trade already paid and says so instead of paying twice. Pages are
// html/template, no script; their links are relative, so they work under
// any mount prefix.
type Wallet struct {
	Text WalletText
	// Normalize reduces what a payer pastes to the code the forms carry.
	Normalize func(raw string) string
	// Lookup finds the order a code names, in its current state: nil when
	// it names none (Text.Unknown is shown); an error is shown as it is.
	Lookup func(code string) (*WalletOrder, error)
	// Settle is the buyer confirming (success) or declining on the phone.
	Settle func(ctx context.Context, o *WalletOrder, success bool) error
	// PaidStatus and UnpaidStatus are the channel's statuses shown after
	// paying and after declining.
	PaidStatus, UnpaidStatus string

	// Outcomes are the payment codes the code page offers, the default
	// first; NewCode makes a fresh code with an outcome's Value.
	Outcomes []Outcome
	NewCode  func(outcome string) string
	// CodeAction, when set, answers the forms that CodeForm adds to the
	// code page (a POST to <sim>/wallet/code); without it that is 405.
	CodeAction func(w http.ResponseWriter, r *http.Request, action, code, password string)
	// CodeForm is template text shown on the code page under the outcome
	// picker; "." is the WalletView.
	CodeForm string

	once sync.Once
	tmpl *template.Template
}

// WalletText is what one channel's wallet says.
type WalletText struct {
	Title, CodeTitle string // of the wallet and of the payment-code page
	Color            string // the brand colour (CSS)
	Note             string // at the foot of every page
	ScanLabel        string // what may be pasted
	PayButton        string
	AppIDLabel       string
	TradeNoLabel     string // shown when the order has a TradeNo
	StatusLabel      string
	// Why a code cannot be paid.
	Unknown, Paid, Closed string
	// Results.
	PaidResult, PaidAgain, Declined string
}

// WalletOrder is what a code names.
type WalletOrder struct {
	Code       string // as the forms carry it
	MerchantID string // the channel's merchant (app_id, mchid), for Settle
	Payee      string // who the buyer pays, as shown
	AppID      string
	Subject    string
	Amount     string // yuan, as shown
	OutTradeNo string
	TradeNo    string // shown when set
	State      OrderState
}

// OrderState is whether an order can be paid.
type OrderState int

const (
	Payable OrderState = iota
	Paid
	Closed // closed or expired
)

// Outcome is a payment code the code page offers.
type Outcome struct {
	Value, Label string
	// Confirm shows CodeForm for codes of this outcome.
	Confirm bool
}

// WalletView is what a wallet page shows.
type WalletView struct {
	Title string // default Text.Title
	// Stage: "scan" (paste box), "confirm" (order and password), "result",
	// "code" (payment code) or "error".
	Stage      string
	Code       string
	Merchant   string
	AppID      string
	Subject    string
	Amount     string
	OutTradeNo string
	TradeNo    string
	Error      string // on the error stage, or wrong password on confirm and code
	Result     string
	Paid       bool
	Status     string // after the action
	// The code stage.
	PaymentCode, Grouped string
	Confirm              bool // CodeForm is shown
	Outcomes             []OutcomeView

	Text               WalletText
	WalletURL, CodeURL string
}

// OutcomeView is an option of the outcome picker.
type OutcomeView struct {
	Value, Label string
	Selected     bool
}

// WalletPage tells whether a request path is a wallet page, wherever the
// simulator is mounted: "wallet" or "code".
func WalletPage(path string) (page string, ok bool) {
	switch {
	case strings.HasSuffix(path, "/wallet"):
		return "wallet", true
	case strings.HasSuffix(path, "/wallet/code"):
		return "code", true
	}
	return "", false
}

// Unquote is what a payer pasted, trimmed, and unquoted when it is a JSON
// string (Ping++'s credential value).
func Unquote(raw string) string {
	c := strings.TrimSpace(raw)
	if strings.HasPrefix(c, `"`) {
		var s string
		if json.Unmarshal([]byte(c), &s) == nil {
			c = strings.TrimSpace(s)
		}
	}
	return c
}

// RightPassword is the simulators' payment password rule: any six digits.
func RightPassword(p string) bool {
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

// maxForm bounds a wallet form.
const maxForm = 1 << 20

// Serve answers a wallet page (see WalletPage).
func (wl *Wallet) Serve(w http.ResponseWriter, r *http.Request, page string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if page == "code" {
			wl.serveCode(w, r)
			return
		}
		code := r.URL.Query().Get("code")
		if code == "" {
			wl.Render(w, http.StatusOK, page, WalletView{Stage: "scan"})
			return
		}
		wl.scan(w, page, wl.Normalize(code))
	case http.MethodPost:
		if page == "code" && wl.CodeAction == nil {
			w.Header().Set("Allow", "GET")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			wl.Render(w, http.StatusBadRequest, page, WalletView{Stage: "error", Error: "表单无效"})
			return
		}
		f := r.PostForm
		if page == "code" {
			wl.CodeAction(w, r, f.Get("action"), strings.TrimSpace(f.Get("code")), f.Get("password"))
			return
		}
		code := wl.Normalize(f.Get("code"))
		switch f.Get("action") {
		case "", "scan":
			wl.scan(w, page, code)
		case "pay":
			wl.pay(w, r, page, code, f.Get("password"))
		case "decline":
			wl.decline(w, r, page, code)
		default:
			wl.Render(w, http.StatusBadRequest, page, WalletView{Stage: "error", Error: "未知的操作"})
		}
	default:
		allow := "GET, POST"
		if page == "code" && wl.CodeAction == nil {
			allow = "GET"
		}
		w.Header().Set("Allow", allow)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// Render writes a wallet page; page ("wallet" or "code") is the page the
// request came to, which the relative links start from.
func (wl *Wallet) Render(w http.ResponseWriter, status int, page string, v WalletView) {
	wl.once.Do(func() {
		t := template.Must(template.New("wallet").Parse(walletPage))
		wl.tmpl = template.Must(t.New("codeForm").Parse(wl.CodeForm))
	})
	v.Text = wl.Text
	if v.Title == "" {
		v.Title = wl.Text.Title
	}
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
	_ = wl.tmpl.ExecuteTemplate(w, "wallet", v)
}

// stateError is why an order found cannot be paid (409).
type stateError struct{ msg string }

func (e *stateError) Error() string { return e.msg }

func (wl *Wallet) payable(o *WalletOrder) error {
	switch o.State {
	case Payable:
		return nil
	case Paid:
		return &stateError{wl.Text.Paid}
	}
	return &stateError{wl.Text.Closed}
}

func (wl *Wallet) lookup(code string) (*WalletOrder, error) {
	o, err := wl.Lookup(code)
	if err == nil && o == nil {
		err = errors.New(wl.Text.Unknown)
	}
	return o, err
}

func errorStatus(err error) int {
	var se *stateError
	if errors.As(err, &se) {
		return http.StatusConflict
	}
	return http.StatusNotFound
}

func (wl *Wallet) fail(w http.ResponseWriter, page string, err error) {
	wl.Render(w, errorStatus(err), page, WalletView{Stage: "error", Error: err.Error()})
}

func confirmView(o *WalletOrder) WalletView {
	return WalletView{Stage: "confirm", Code: o.Code, Merchant: o.Payee, AppID: o.AppID,
		Subject: o.Subject, Amount: o.Amount, OutTradeNo: o.OutTradeNo, TradeNo: o.TradeNo}
}

func (wl *Wallet) scan(w http.ResponseWriter, page, code string) {
	o, err := wl.lookup(code)
	if err == nil {
		err = wl.payable(o)
	}
	if err != nil {
		wl.fail(w, page, err)
		return
	}
	wl.Render(w, http.StatusOK, page, confirmView(o))
}

func (wl *Wallet) pay(w http.ResponseWriter, r *http.Request, page, code, password string) {
	o, err := wl.lookup(code)
	if err != nil {
		wl.fail(w, page, err)
		return
	}
	if o.State == Paid {
		// A repeated pay (reload, double click): nothing is paid twice.
		wl.Render(w, http.StatusOK, page, WalletView{Stage: "result", Paid: true, Result: wl.Text.PaidAgain,
			Amount: o.Amount, OutTradeNo: o.OutTradeNo, Status: wl.PaidStatus})
		return
	}
	if err := wl.payable(o); err != nil {
		wl.fail(w, page, err)
		return
	}
	if !RightPassword(password) {
		v := confirmView(o)
		v.Error = "支付密码错误，请重试（wrong password）"
		wl.Render(w, http.StatusOK, page, v)
		return
	}
	// The first notification attempt is part of paying; it should not be
	// cut short by the browser going away.
	if err := wl.Settle(context.WithoutCancel(r.Context()), o, true); err != nil {
		wl.settleError(w, page, code, err)
		return
	}
	wl.Render(w, http.StatusOK, page, WalletView{Stage: "result", Paid: true, Result: wl.Text.PaidResult,
		Amount: o.Amount, OutTradeNo: o.OutTradeNo, Status: wl.PaidStatus})
}

func (wl *Wallet) decline(w http.ResponseWriter, r *http.Request, page, code string) {
	o, err := wl.lookup(code)
	if err == nil {
		err = wl.payable(o)
	}
	if err == nil {
		err = wl.Settle(context.WithoutCancel(r.Context()), o, false)
	}
	if err != nil {
		wl.settleError(w, page, code, err)
		return
	}
	wl.Render(w, http.StatusOK, page, WalletView{Stage: "result", Result: wl.Text.Declined,
		Amount: o.Amount, OutTradeNo: o.OutTradeNo, Status: wl.UnpaidStatus})
}

// settleError reports a trade that changed under the buyer (paid or closed
// meanwhile) as such, and anything else as Settle said it.
func (wl *Wallet) settleError(w http.ResponseWriter, page, code string, err error) {
	if o, lerr := wl.lookup(code); lerr == nil {
		if perr := wl.payable(o); perr != nil {
			err = perr
		}
	}
	wl.fail(w, page, err)
}

// CodeView is the code page showing code, with outcome selected.
func (wl *Wallet) CodeView(outcome, code string) WalletView {
	v := WalletView{Stage: "code", Title: wl.Text.CodeTitle, PaymentCode: code, Grouped: groupDigits(code)}
	for _, o := range wl.Outcomes {
		v.Outcomes = append(v.Outcomes, OutcomeView{o.Value, o.Label, o.Value == outcome})
		v.Confirm = v.Confirm || o.Value == outcome && o.Confirm
	}
	return v
}

// serveCode shows a fresh payment code; ?outcome= picks it (unknown ones
// get the first).
func (wl *Wallet) serveCode(w http.ResponseWriter, r *http.Request) {
	outcome := r.URL.Query().Get("outcome")
	known := false
	for _, o := range wl.Outcomes {
		known = known || o.Value == outcome
	}
	if !known {
		outcome = wl.Outcomes[0].Value
	}
	wl.Render(w, http.StatusOK, "code", wl.CodeView(outcome, wl.NewCode(outcome)))
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

const walletPage = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.1rem;color:{{.Text.Color}}}
textarea{width:100%;height:6rem;font-family:monospace;font-size:.8rem;box-sizing:border-box}
.amount{font-size:2.2rem;margin:.5rem 0}
dl{font-size:.85rem;color:#555}dt{float:left;clear:left;width:7rem}dd{margin-left:7rem;word-break:break-all}
input[type=password]{font-size:1.4rem;letter-spacing:.4rem;width:10rem}
button{font-size:1rem;padding:.6rem 1.4rem;margin:.5rem .5rem 0 0;border-radius:4px;border:1px solid {{.Text.Color}};background:#fff;color:{{.Text.Color}}}
button.primary{background:{{.Text.Color}};color:#fff}
.error{color:#d4380d}.ok{color:#389e0d}
.code{font-family:monospace;font-size:1.6rem;letter-spacing:.15rem;margin:1rem 0;word-break:break-all}
.note{font-size:.8rem;color:#888;margin-top:2rem}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if eq .Stage "scan"}}<form method="post" action="{{.WalletURL}}">
<p><label for="code">{{.Text.ScanLabel}}</label></p>
<textarea id="code" name="code" autofocus>{{.Code}}</textarea>
<p><button type="submit" id="scan" name="action" value="scan" class="primary">扫一扫 Scan</button></p>
</form>
<p><a id="code_link" href="{{.CodeURL}}">付款码 Payment code</a></p>
{{else if eq .Stage "confirm"}}<p>付款给 <span id="merchant">{{.Merchant}}</span></p>
<p id="subject">{{.Subject}}</p>
<p class="amount">¥<span id="amount">{{.Amount}}</span></p>
<dl><dt>{{.Text.AppIDLabel}}</dt><dd id="app_id">{{.AppID}}</dd><dt>商户订单号</dt><dd id="out_trade_no">{{.OutTradeNo}}</dd>{{if .TradeNo}}<dt>{{.Text.TradeNoLabel}}</dt><dd id="trade_no">{{.TradeNo}}</dd>{{end}}</dl>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>
{{end}}<form method="post" action="{{.WalletURL}}">
<input type="hidden" name="code" value="{{.Code}}">
<p><label for="password">支付密码（任意 6 位数字）</label><br>
<input type="password" id="password" name="password" inputmode="numeric" autocomplete="off"></p>
<button type="submit" id="pay" name="action" value="pay" class="primary">{{.Text.PayButton}}</button>
<button type="submit" id="decline" name="action" value="decline">取消 Decline</button>
</form>
{{else if eq .Stage "result"}}<p class="{{if .Paid}}ok{{else}}error{{end}}" id="result">{{.Result}}</p>
{{if .Amount}}<p class="amount">¥<span id="amount">{{.Amount}}</span></p>
{{end}}<dl>{{if .OutTradeNo}}<dt>商户订单号</dt><dd id="out_trade_no">{{.OutTradeNo}}</dd>{{end}}{{if .Status}}<dt>{{.Text.StatusLabel}}</dt><dd id="status">{{.Status}}</dd>{{end}}</dl>
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
{{end}}{{if .Confirm}}{{template "codeForm" .}}{{end}}<p><a id="wallet_link" href="{{.WalletURL}}">扫一扫 Scan</a></p>
{{else}}<p class="error" id="error">{{.Error}}</p>
<p><a id="again" href="{{.WalletURL}}">重新扫码 Scan again</a></p>
{{end}}<p class="note">{{.Text.Note}}</p>
</body>
</html>
`
