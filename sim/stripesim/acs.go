package stripesim

import (
	"context"
	"crypto/subtle"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
)

var acsTmpl = template.Must(template.New("acs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>3D Secure 2 test page</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}
.box{border:1px solid #ccd;border-radius:8px;padding:1.2rem}.muted{color:#667;font-size:.9rem}
input{font-size:1.2rem;padding:.4rem;width:8rem;letter-spacing:.2rem}button{font-size:1rem;padding:.5rem 1rem;margin:.6rem .4rem 0 0}
.test{background:#fff6d5;border:1px dashed #c90;padding:.5rem;border-radius:6px}</style></head>
<body><div class="box">
<h1>Verify your payment</h1>
{{if .Done}}<p>{{.Done}}</p>{{else}}
{{if .Saving}}<p>Your bank needs to confirm that the merchant may save your {{.Brand}} card ending in <b>{{.Last4}}</b> and charge it later without you.</p>
{{else}}<p>Your bank needs to confirm a payment of <b>{{.Amount}} {{.Currency}}</b> with your {{.Brand}} card ending in <b>{{.Last4}}</b>.</p>{{end}}
<p class="test">Test mode: the one-time code is <b id="code">{{.Code}}</b>. Any other code fails authentication.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="token" value="{{.Token}}">
<label>One-time code <input name="code" inputmode="numeric" autocomplete="one-time-code" autofocus></label><br>
<button type="submit" name="action" value="complete">Complete authentication</button>
<button type="submit" name="action" value="fail">Fail authentication</button>
</form>{{end}}
<p class="muted">Simulated issuer access control server (stripesim). Intent {{.ID}}.</p>
</div></body></html>`))

type acsView struct {
	ID, Token, Action, Currency, Brand, Last4, Code, Done string
	Amount                                                string
	Saving                                                bool // a SetupIntent: no amount
}

// challenge is a pending 3-D Secure challenge of a PaymentIntent or a
// SetupIntent (for which the amount shown is zero: the card is saved).
type challenge struct {
	id, token, currency, brand, last4 string
	amount                            int64
	// kind is the query parameter name of the intent on the return URL.
	kind string
	// complete ends the challenge and returns the events and the
	// intent's status, return URL and client secret. Called with s.mu held.
	complete func(passed bool) (evs []pendingEvent, status, returnURL, secret string)
}

// findChallenge finds the intent id's pending challenge whose token is
// token; nil when there is none. Called with s.mu held.
func (s *Sim) findChallenge(id, token string) *challenge {
	for _, st := range s.accounts {
		if pi := st.pis[id]; pi != nil && pi.Status == "requires_action" && validToken(pi.acsToken, token) {
			return &challenge{id: pi.ID, token: pi.acsToken, currency: pi.Currency, brand: pi.pm.Card.Brand, last4: pi.pm.Card.Last4,
				amount: pi.Amount, kind: "payment_intent", complete: func(passed bool) ([]pendingEvent, string, string, string) {
					return s.completeChallenge(st, pi, passed), pi.Status, pi.returnURL, pi.ClientSecret
				}}
		}
		if si := st.setis[id]; si != nil && si.Status == "requires_action" && validToken(si.acsToken, token) {
			return &challenge{id: si.ID, token: si.acsToken, brand: si.pm.Card.Brand, last4: si.pm.Card.Last4,
				kind: "setup_intent", complete: func(passed bool) ([]pendingEvent, string, string, string) {
					return s.completeSetupChallenge(st, si, passed), si.Status, si.returnURL, si.ClientSecret
				}}
		}
	}
	return nil
}

func validToken(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func (s *Sim) acsPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ch := s.findChallenge(r.PathValue("id"), r.URL.Query().Get("token"))
	s.mu.Unlock()
	if ch == nil {
		http.Error(w, "This authentication session has expired or does not exist.", http.StatusNotFound)
		return
	}
	v := acsView{ID: ch.id, Token: ch.token, Action: "./" + url.PathEscape(ch.id), Currency: ch.currency,
		Brand: ch.brand, Last4: ch.last4, Code: ChallengeCode, Amount: minor(ch.amount)}
	if ch.kind == "setup_intent" {
		v.Saving = true
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	acsTmpl.Execute(w, v)
}

// acsSubmit takes the one-time code, completes the challenge and sends the
// browser back to the return_url with Stripe's query parameters.
func (s *Sim) acsSubmit(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	passed := r.PostForm.Get("action") != "fail" &&
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("code")), []byte(ChallengeCode)) == 1
	s.mu.Lock()
	ch := s.findChallenge(id, r.PostForm.Get("token"))
	if ch == nil {
		s.mu.Unlock()
		http.Error(w, "This authentication session has expired or does not exist.", http.StatusNotFound)
		return
	}
	evs, status, ret, secret := ch.complete(passed)
	s.mu.Unlock()
	s.dispatch(evs, false)
	redirect := "failed"
	if status == "succeeded" || status == "requires_capture" || status == "processing" {
		redirect = "succeeded"
	}
	if ret == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		acsTmpl.Execute(w, acsView{ID: id, Done: "Authentication " + redirect + ". You can close this window."})
		return
	}
	http.Redirect(w, r, encodeQuery(ret, url.Values{ch.kind: {id}, ch.kind + "_client_secret": {secret},
		"redirect_status": {redirect}}), http.StatusSeeOther)
}

// Pay acts as the cardholder on a pending 3-D Secure challenge of the
// PaymentIntent whose metadata[charge_id] is chargeID: success completes it
// (then the issuer decides), false fails authentication. The first delivery
// of the resulting events is made before Pay returns.
func (s *Sim) Pay(ctx context.Context, accountID, chargeID string, success bool) error {
	s.mu.Lock()
	st := s.accounts[accountID]
	var pi *paymentIntent
	if st != nil {
		for i := len(st.piOrder) - 1; i >= 0 && pi == nil; i-- {
			if p := st.pis[st.piOrder[i]]; p.Metadata["charge_id"] == chargeID {
				pi = p
			}
		}
	}
	if pi == nil {
		s.mu.Unlock()
		return errors.New("stripesim: no PaymentIntent for charge " + chargeID)
	}
	if pi.Status != "requires_action" {
		s.mu.Unlock()
		return errors.New("stripesim: PaymentIntent " + pi.ID + " has no pending 3-D Secure challenge (status " + pi.Status + ")")
	}
	evs := s.completeChallenge(st, pi, success)
	s.mu.Unlock()
	s.dispatch(evs, true)
	return ctx.Err()
}

func minor(n int64) string {
	s := strconv.FormatInt(n/100, 10) + "."
	c := n % 100
	if c < 10 {
		s += "0"
	}
	return s + strconv.FormatInt(c, 10)
}

// returnPage is the default return_url: where the cardholder lands after
// a challenge when the merchant named no page of its own. The outcome the
// merchant acts on comes from the webhook, never from this redirect.
func (s *Sim) returnPage(w http.ResponseWriter, r *http.Request) {
	status := "failed"
	if r.URL.Query().Get("redirect_status") == "succeeded" {
		status = "succeeded"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	acsTmpl.Execute(w, acsView{ID: r.URL.Query().Get("payment_intent"), Done: "Authentication " + status + ". You can close this window and return to the merchant."})
}
