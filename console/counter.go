package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/wire"
)

// The counter (收银台 POS) page: a cashier enters the amount and confirms
// it, then scans the customer's payment code (a keyboard-wedge scanner
// types the digits and Enter); the charge is Ping++'s isv_scan, made on
// the wallet the code belongs to (Alipay, WeChat, or polypay's own).
//
// Two steps: the confirmed amount travels to the scan step with a MAC
// keyed by the session's CSRF secret, so the amount charged is the amount
// confirmed; another amount needs a new confirmation.

// counterTTL is how long a confirmed amount may wait for its scan.
const counterTTL = 5 * time.Minute

type counterData struct {
	*accountBase
	Step        string // amount, scan, result
	Amount      int64
	AmountText  string
	Token       string
	Charge      *wire.Charge
	FieldError  string
	TerminalID  string
	ChargeHref  string
	CounterHref string
}

func (b *accountBase) counterPath(suffix string) string {
	return "/console/apps/" + url.PathEscape(b.App.ID) + "/counter" + suffix + "?mode=" + b.Mode
}

// counterToken binds an amount to this session, app and mode until exp.
func counterToken(csrf, app, mode string, amount, exp int64) string {
	m := hmac.New(sha256.New, []byte(csrf))
	fmt.Fprintf(m, "counter|%s|%s|%d|%d", app, mode, amount, exp)
	return strconv.FormatInt(exp, 10) + "." + hex.EncodeToString(m.Sum(nil))
}

func counterTokenOK(csrf, app, mode string, amount int64, tok string, now time.Time) bool {
	expText, _, _ := strings.Cut(tok, ".")
	exp, err := strconv.ParseInt(expText, 10, 64)
	if err != nil || now.Unix() > exp {
		return false
	}
	return hmac.Equal([]byte(tok), []byte(counterToken(csrf, app, mode, amount, exp)))
}

// counter shows the amount step, or a charge's result (?charge=).
func (c *Console) counter(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := &counterData{accountBase: b, Step: "amount", CounterHref: b.counterPath("")}
	if id := r.URL.Query().Get("charge"); id != "" {
		out, err := c.cfg.Svc.GetCharge(r.Context(), b.caller(), id)
		if err != nil {
			c.failErr(w, r, p, err)
			return
		}
		d.Step, d.Charge = "result", out.(*wire.Charge)
		d.ChargeHref = "/console/charges/" + url.PathEscape(id)
	}
	p.Title, p.Nav = p.T("counter")+" · "+b.App.Name, "apps"
	counterHeaders(w, p)
	c.render(w, p, http.StatusOK, "counter", d)
}

// counterHeaders let the counter page run its script and use the camera.
func counterHeaders(w http.ResponseWriter, p *page) {
	p.Script = "counter.js"
	w.Header().Set("Content-Security-Policy", counterCSP)
	w.Header().Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=()")
}

// counterConfirm takes the amount and shows the scan step.
func (c *Console) counterConfirm(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := &counterData{accountBase: b, Step: "amount", CounterHref: b.counterPath("")}
	text := strings.TrimSpace(r.PostForm.Get("amount"))
	amount, err := parseMoney(text, "amount", "cny")
	if err == nil && (amount <= 0 || amount > core.MaxAmount) {
		err = polypay.ParamError("amount", "amount out of range")
	}
	if err != nil {
		d.FieldError, d.AmountText = p.T("counter_bad_amount"), text
		c.render(w, p, http.StatusBadRequest, "counter", d)
		return
	}
	exp := c.now().Add(counterTTL).Unix()
	d.Step, d.Amount, d.Token = "scan", amount, counterToken(p.CSRF, b.App.ID, b.Mode, amount, exp)
	counterHeaders(w, p)
	c.render(w, p, http.StatusOK, "counter", d)
}

// scanCodeOK is a scanned code's form: digits only, as every wallet's code
// is, 10 to 32 of them (a wedge scanner may add spaces, trimmed).
func scanCodeOK(s string) bool {
	if len(s) < 10 || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// counterPay charges the confirmed amount to the scanned code.
func (c *Console) counterPay(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadAccountBase(r, p)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	amount, _ := strconv.ParseInt(r.PostForm.Get("amount"), 10, 64)
	if !counterTokenOK(p.CSRF, b.App.ID, b.Mode, amount, r.PostForm.Get("token"), c.now()) {
		// An amount not confirmed (changed, expired, or from another
		// session): confirm it again.
		http.Redirect(w, r, b.counterPath("")+"&err=confirm", http.StatusSeeOther)
		return
	}
	code := strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("scan_code")), " ", "")
	d := &counterData{accountBase: b, Step: "scan", Amount: amount, Token: r.PostForm.Get("token"), CounterHref: b.counterPath("")}
	if !scanCodeOK(code) {
		d.FieldError = p.T("counter_bad_code")
		c.render(w, p, http.StatusBadRequest, "counter", d)
		return
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1e6))
	extra, _ := json.Marshal(map[string]string{"scan_code": code, "terminal_id": "console-" + p.User.ID})
	meta, _ := json.Marshal(map[string]string{"counter": p.User.ID})
	params := core.ChargeParams{OrderNo: fmt.Sprintf("POS%s%06d", c.now().Format("060102150405"), n.Int64()), AppID: b.App.ID,
		Channel: core.IsvScanChannel, Amount: amount, ClientIP: clientIP(r), Currency: "cny", Subject: p.T("counter_subject"),
		Body: p.T("counter_subject"), Extra: extra, Metadata: meta}
	out, err := c.cfg.Svc.CreateCharge(r.Context(), b.caller(), params, nil)
	if fe, ok := asFieldError(err); ok {
		d.FieldError = fe.Message
		c.render(w, p, http.StatusBadRequest, "counter", d)
		return
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	ch := out.(*wire.Charge)
	c.log().Info("console: counter payment", "user", p.User.ID, "app", b.App.ID, "live", b.Live, "charge", ch.ID, "channel", ch.Channel)
	http.Redirect(w, r, b.counterPath("")+"&charge="+url.QueryEscape(ch.ID), http.StatusSeeOther)
}
