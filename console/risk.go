package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/store"
)

// Risk pages: per app and mode, the overview of recent decisions and
// blocks, the allow and block lists, the rules editor with a dry run, and
// the review queue. They go through risk.Admin, as the API's risk routes
// do, so a rule or list entry is checked the same way from either.

// riskWindow is the period the overview and the dry run look back over.
const riskWindow = 24 * time.Hour

// riskTop bounds the top IPs and rules shown.
const riskTop = 10

func (c *Console) riskAdmin() *risk.Admin {
	return &risk.Admin{DB: c.cfg.DB, Now: func() int64 { return c.now().Unix() }}
}

// riskTab is one link of the risk pages' sub-navigation.
type riskTab struct {
	Href, Label string
	Current     bool
}

// riskBase is what every risk page shows: the app, the mode, the tabs.
type riskBase struct {
	App  *polypay.App
	Live bool
	Mode string // "live" or "test"
	Tabs []riskTab
	// Other is this page in the other mode.
	Other, OtherLabel string
}

// riskSections are the risk pages by path suffix and title key.
var riskSections = []struct{ suffix, key string }{
	{"", "risk_overview"}, {"/lists", "risk_lists"}, {"/rules", "risk_rules"}, {"/review", "risk_review"},
}

// riskPath is an app's risk page in a mode.
func riskPath(appID, suffix, mode string) string {
	return "/console/apps/" + url.PathEscape(appID) + "/risk" + suffix + "?mode=" + mode
}

// loadRiskBase reads the app named by the path (404 when it does not
// exist; inApp has already refused other tenants') and the mode: the
// form's on a POST, the query's on a GET, live by default.
func (c *Console) loadRiskBase(r *http.Request, p *page, section string) (*riskBase, error) {
	var app *polypay.App
	err := c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
		app, err = tx.GetApp(r.Context(), r.PathValue("app"))
		return err
	})
	if err != nil {
		return nil, err
	}
	b := &riskBase{App: app, Live: true, Mode: "live"}
	if r.Method == http.MethodPost {
		if b.Live, err = formMode(r); err != nil {
			return nil, err
		}
	} else {
		b.Live = r.URL.Query().Get("mode") != "test"
	}
	other := "test"
	if !b.Live {
		b.Mode, other = "test", "live"
	}
	for _, s := range riskSections {
		b.Tabs = append(b.Tabs, riskTab{Href: riskPath(app.ID, s.suffix, b.Mode), Label: p.T(s.key), Current: s.suffix == section})
		if s.suffix == section {
			p.Title = p.T(s.key) + " · " + app.Name
			b.Other = riskPath(app.ID, s.suffix, other)
		}
	}
	b.OtherLabel = p.T(other)
	p.Nav = "apps"
	return b, nil
}

// riskDone redirects after a risk POST back to a risk page of the mode
// (303, so a reload does not repeat it), with a confirmation key.
func riskDone(w http.ResponseWriter, r *http.Request, b *riskBase, section, done, ref string) {
	to := riskPath(b.App.ID, section, b.Mode) + "&done=" + url.QueryEscape(done)
	if ref != "" {
		to += "&ref=" + url.QueryEscape(ref)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// fieldError is a form error shown next to the field it names.
type fieldError struct {
	Param, Message string
}

// asFieldError turns a parameter error into a fieldError; false for any
// other error, which the error page handles.
func asFieldError(err error) (fieldError, bool) {
	var pe *polypay.Error
	if errors.As(err, &pe) && pe.Code == polypay.EInvalid && pe.Param != "" {
		return fieldError{Param: pe.Param, Message: pe.Message}, true
	}
	return fieldError{}, false
}

// --- overview ---

type riskOverviewData struct {
	*riskBase
	Summary *risk.Summary
	Blocks  []*risk.BlockOut
}

func (c *Console) riskOverview(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadRiskBase(r, p, "")
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	a := c.riskAdmin()
	d := riskOverviewData{riskBase: b}
	since := c.now().Add(-riskWindow).Unix()
	if d.Summary, err = a.Summarize(r.Context(), b.App.ID, b.Live, since, riskTop); err == nil {
		d.Blocks, err = a.Blocks(r.Context(), b.App.ID, b.Live)
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.render(w, p, http.StatusOK, "risk", d)
}

// riskUnblock lifts a block in force early.
func (c *Console) riskUnblock(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadRiskBase(r, p, "")
	if err == nil {
		kind, value := r.PostForm.Get("kind"), r.PostForm.Get("value")
		if kind != "ip" && kind != "card" {
			err = polypay.ParamError("kind", "kind must be ip or card")
		} else {
			err = c.riskAdmin().Unblock(r.Context(), b.App.ID, b.Live, kind, value)
		}
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: risk block lifted", "user", p.User.ID, "app", b.App.ID, "live", b.Live, "kind", r.PostForm.Get("kind"))
	riskDone(w, r, b, "", "unblocked", "")
}

// --- review queue ---

// heldCharge is a charge waiting for the merchant's review.
type heldCharge struct {
	Charge   *polypay.Charge
	Decision *risk.DecisionOut
	IP       string
	RuleName string // the rule's name when it had one (an id says little)
}

type riskReviewData struct {
	*riskBase
	Held []heldCharge
}

// riskReviewMax bounds the queue shown: holds expire within days.
const riskReviewMax = 200

func (c *Console) riskReview(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadRiskBase(r, p, "/review")
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := riskReviewData{riskBase: b}
	if d.Held, err = c.heldCharges(r.Context(), b); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.render(w, p, http.StatusOK, "risk_review", d)
}

// heldCharges are the open reviews whose charge still waits: authorized
// (a card hold) or pending unsent (a wallet charge with no credential).
func (c *Console) heldCharges(ctx context.Context, b *riskBase) ([]heldCharge, error) {
	ds, err := c.riskAdmin().OpenReviews(ctx, b.App.ID, b.Live, riskReviewMax)
	if err != nil {
		return nil, err
	}
	var out []heldCharge
	err = c.cfg.DB.Read(ctx, func(tx *store.Tx) error {
		for _, d := range ds {
			ch, err := tx.GetCharge(ctx, b.App.ID, b.Live, *d.Charge)
			if polypay.ErrorCode(err) == polypay.ENotFound {
				continue
			}
			if err != nil {
				return err
			}
			if waitingReview(ch) {
				out = append(out, heldCharge{Charge: ch, Decision: d, IP: factString(d.Facts, "client_ip"),
					RuleName: factString(d.Facts, "rule_name")})
			}
		}
		return nil
	})
	return out, err
}

// waitingReview: a charge held for review that can still be decided.
func waitingReview(ch *polypay.Charge) bool {
	return (ch.AuthOnly && ch.Status == polypay.ChargeAuthorized) || (ch.HeldUnsent() && ch.Status == polypay.ChargePending)
}

// riskDecide approves or rejects a held charge as
// POST /v1/charges/{id}/risk_review does (core.DecideReview).
func (c *Console) riskDecide(approve bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		b, err := c.loadRiskBase(r, p, "/review")
		if err == nil {
			err = c.decideHeld(r.Context(), b, r.PathValue("id"), approve)
		}
		if err != nil {
			c.failErr(w, r, p, err)
			return
		}
		done := "review_rejected"
		if approve {
			done = "review_approved"
		}
		c.log().Info("console: risk review closed", "user", p.User.ID, "app", b.App.ID, "charge", r.PathValue("id"), "approved", approve)
		riskDone(w, r, b, "/review", done, r.PathValue("id"))
	}
}

// decideHeld refuses a charge of another app or mode (404) and one not
// waiting for review (400): approving must not capture an ordinary
// pre-authorization the merchant meant to handle through the API.
func (c *Console) decideHeld(ctx context.Context, b *riskBase, id string, approve bool) error {
	var ch *polypay.Charge
	var ds []store.RiskDecision
	err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		if ch, err = tx.GetCharge(ctx, b.App.ID, b.Live, id); err != nil {
			return err
		}
		ds, err = tx.RiskDecisions(ctx, b.App.ID, b.Live, id, 20)
		return err
	})
	if err != nil {
		return err
	}
	if !reviewOpen(ds) || !waitingReview(ch) {
		return polypay.ParamError("id", "charge %s is not held for review", id)
	}
	who := core.Caller{App: b.App, Live: b.Live, RequestID: polypay.NewID("iar_")}
	_, err = c.cfg.Svc.DecideReview(ctx, who, id, approve, nil)
	return err
}

// reviewOpen reports whether a charge's decisions hold it for review: a
// "review" one and no "review_closed" (risk.CloseReviewTx).
func reviewOpen(ds []store.RiskDecision) bool {
	open := false
	for _, d := range ds {
		switch d.Action {
		case "review_closed":
			return false
		case string(risk.Review):
			open = true
		}
	}
	return open
}

// factString reads a string fact of a recorded decision ("" if absent).
func factString(facts []byte, key string) string {
	var m map[string]any
	if json.Unmarshal(facts, &m) != nil {
		return ""
	}
	s, _ := m[key].(string)
	return s
}

// riskPostHandler is the handler of a risk POST route in PostRoutes; nil
// for any other pattern.
func (c *Console) riskPostHandler(pattern string) handler {
	return map[string]handler{
		"/console/apps/{app}/risk/unblock":             c.riskUnblock,
		"/console/apps/{app}/risk/lists":               c.riskAddEntry,
		"/console/apps/{app}/risk/lists/{id}/delete":   c.riskDeleteEntry,
		"/console/apps/{app}/risk/rules":               c.riskSaveRule,
		"/console/apps/{app}/risk/rules/dry-run":       c.riskDryRun,
		"/console/apps/{app}/risk/rules/{id}":          c.riskSaveRule,
		"/console/apps/{app}/risk/rules/{id}/toggle":   c.riskToggleRule,
		"/console/apps/{app}/risk/rules/{id}/delete":   c.riskDeleteRule,
		"/console/apps/{app}/risk/review/{id}/approve": c.riskDecide(true),
		"/console/apps/{app}/risk/review/{id}/reject":  c.riskDecide(false),
	}[pattern]
}

// riskEntries are a charge's risk decisions as timeline lines, so a
// merchant can explain a refusal, a hold or a challenge: the action, the
// rule (and its name) and the client address the engine saw.
func (c *Console) riskEntries(ctx context.Context, tx *store.Tx, p *page, ch *polypay.Charge) ([]entry, error) {
	ds, err := tx.RiskDecisions(ctx, ch.AppID, ch.Livemode, ch.ID, 50)
	if err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(ds))
	for _, d := range ds {
		detail := d.Rule
		if n := factString(d.Facts, "rule_name"); n != "" {
			detail += " (" + n + ")"
		}
		if ip := factString(d.Facts, "client_ip"); ip != "" {
			detail += " · client_ip " + ip
		}
		if o := factString(d.Facts, "outcome"); o != "" {
			detail += " · " + o
		}
		out = append(out, entry{At: d.Created * 1000, Kind: "risk", Title: p.T("ev_risk") + " " + d.Action + " " + d.ID,
			Detail: detail, OK: d.Action != string(risk.Block)})
	}
	return out, nil
}
