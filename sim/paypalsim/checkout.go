package paypalsim

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"

	"github.com/polypay/polypay/sim/simkit"
)

// findOrder finds the latest open order of a merchant for a charge (its
// reference_id or invoice_id). Called with s.mu held.
func (s *Sim) findOrder(merchantID, chargeID string) *order {
	var best *order
	for _, o := range s.orders {
		if o.merchantID == merchantID && (o.refID == chargeID || o.invoiceID == chargeID) {
			if best == nil || o.created.After(best.created) {
				best = o
			}
		}
	}
	if best != nil {
		best = s.liveOrder(best.id, best.clientID)
	}
	return best
}

// Pay plays the buyer of a charge's order: success approves it as
// BuyerEmail, otherwise the buyer cancels (the order stays as it was, as
// at PayPal). An approval's CHECKOUT.ORDER.APPROVED webhook is delivered
// (first attempt) before Pay returns; retries follow in the background.
func (s *Sim) Pay(ctx context.Context, merchantID, chargeID string, success bool) error {
	if !success {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.findOrder(merchantID, chargeID) == nil {
			return fmt.Errorf("paypalsim: no open order for charge %s", chargeID)
		}
		return nil
	}
	return s.PayAs(ctx, merchantID, chargeID, BuyerEmail)
}

// PayAs approves a charge's order as the given sandbox buyer.
func (s *Sim) PayAs(ctx context.Context, merchantID, chargeID, email string) error {
	s.mu.Lock()
	o := s.findOrder(merchantID, chargeID)
	if o == nil {
		s.mu.Unlock()
		return fmt.Errorf("paypalsim: no open order for charge %s", chargeID)
	}
	ev, err := s.approve(o, email)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.notifier.Send(s.bg.Context(), ev)
	return nil
}

// approve records the buyer's approval. Called with s.mu held.
func (s *Sim) approve(o *order, email string) (*simkit.Notice, error) {
	b, ok := buyers[email]
	if !ok {
		return nil, fmt.Errorf("paypalsim: %s is not a sandbox buyer", email)
	}
	if o.status != "CREATED" && o.status != "PAYER_ACTION_REQUIRED" {
		return nil, fmt.Errorf("paypalsim: order %s is %s, not awaiting approval", o.id, o.status)
	}
	o.status, o.updated = "APPROVED", s.now()
	o.payerID, o.payerEmail, o.payerName, o.declined = b.payerID, email, b.name, email == DeclinedEmail
	return s.event(o.clientID, "CHECKOUT.ORDER.APPROVED", "checkout-order", o.invoiceID, s.orderJSON(o, true)), nil
}

var checkoutTmpl = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>PayPal Sandbox Checkout (polypay simulator)</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}
.box{border:1px solid #ddd;border-radius:8px;padding:1rem;margin:1rem 0}.amt{font-size:1.6rem;font-weight:600}
label{display:block;margin:.6rem 0 .2rem}input,select{width:100%;padding:.5rem;box-sizing:border-box}
button{padding:.6rem 1.2rem;margin:.8rem .4rem 0 0;border-radius:20px;border:0;font-size:1rem}
.pay{background:#ffc439;color:#111}.cancel{background:#eee}.err{color:#b00020}.hint{color:#666;font-size:.85rem}</style></head>
<body><h1>PayPal <small>sandbox simulator</small></h1>
{{if .Err}}<p class="err" id="error">{{.Err}}</p>{{end}}
{{if .Done}}<div class="box" id="done"><p>{{.Done}}</p></div>{{else}}
<div class="box"><div>Pay {{.Merchant}}</div><div class="amt" id="amount">{{.Amount}} {{.Currency}}</div><div>{{.Description}}</div></div>
<form method="post" action="checkoutnow"><input type="hidden" name="token" value="{{.Token}}">
<label for="email">Email</label><select id="email" name="email">{{range .Buyers}}<option>{{.}}</option>{{end}}</select>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<p class="hint">Sandbox buyers: {{range .Buyers}}{{.}} {{end}}(password {{.Password}}); the second one's funding is declined.</p>
<button class="pay" name="action" value="approve" id="approve">Approve</button><button class="cancel" name="action" value="cancel" id="cancel">Cancel and return</button>
</form>{{end}}</body></html>`))

type checkoutView struct {
	Token, Merchant, Amount, Currency, Description string
	Buyers                                         []string
	Password, Err, Done                            string
}

func (s *Sim) checkoutView(o *order) checkoutView {
	return checkoutView{Token: o.id, Merchant: o.merchantID, Amount: format(o.amount, o.currency), Currency: o.currency,
		Description: o.description, Buyers: []string{BuyerEmail, DeclinedEmail}, Password: BuyerPassword}
}

func (s *Sim) checkoutPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o := s.orders[r.URL.Query().Get("token")]
	if o != nil {
		o = s.liveOrder(o.id, o.clientID)
	}
	var v checkoutView
	if o != nil {
		v = s.checkoutView(o)
		if o.status != "CREATED" && o.status != "PAYER_ACTION_REQUIRED" {
			v.Done = "This order is " + o.status + "; nothing left to approve."
		}
	}
	s.mu.Unlock()
	if o == nil {
		w.WriteHeader(http.StatusNotFound)
		checkoutTmpl.Execute(w, checkoutView{Done: "This checkout session has expired or does not exist.", Err: "Unknown or expired token"})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	checkoutTmpl.Execute(w, v)
}

// checkoutSubmit logs the buyer in and approves, or cancels, then sends
// the browser to return_url or cancel_url with token (and PayerID), as
// PayPal does.
func (s *Sim) checkoutSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	o := s.orders[r.PostForm.Get("token")]
	if o != nil {
		o = s.liveOrder(o.id, o.clientID)
	}
	if o == nil {
		s.mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
		checkoutTmpl.Execute(w, checkoutView{Done: "This checkout session has expired or does not exist."})
		return
	}
	v := s.checkoutView(o)
	email := r.PostForm.Get("email")
	var target string
	var ev *simkit.Notice
	var err error
	switch {
	case r.PostForm.Get("action") == "cancel":
		target = o.cancelURL
		v.Done = "You cancelled the payment."
	case r.PostForm.Get("password") != BuyerPassword || buyers[email].payerID == "":
		v.Err = "Wrong email or password."
	default:
		if ev, err = s.approve(o, email); err != nil {
			v.Err = err.Error()
		} else {
			target = o.returnURL
			v.Done = "Payment approved. The merchant completes it now; you can close this window."
		}
	}
	payerID := o.payerID
	s.mu.Unlock()
	s.notifier.Post(ev)
	if target != "" {
		u, perr := url.Parse(target)
		if perr == nil {
			q := u.Query()
			q.Set("token", o.id)
			if v.Err == "" && payerID != "" && r.PostForm.Get("action") != "cancel" {
				q.Set("PayerID", payerID)
			}
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if v.Err != "" {
		w.WriteHeader(http.StatusUnauthorized)
	}
	checkoutTmpl.Execute(w, v)
}
