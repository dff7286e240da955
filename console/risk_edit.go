package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/risk"
)

// --- lists ---

type riskListsData struct {
	*riskBase
	Entries  []*risk.ListEntry
	Form     map[string]string // the add form's values, kept after an error
	Err      fieldError
	Kinds    []string
	Expiries []int // hours; 0 is never
}

var riskKinds = []string{"ip", "card", "email", "customer", "device"}
var riskExpiries = []int{0, 1, 24, 168, 720, 2160}

// maxNote bounds a list entry's note, as the API does.
const maxNote = 200

func (c *Console) riskLists(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadRiskBase(r, p, "/lists")
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.showLists(w, r, p, b, http.StatusOK, map[string]string{"list": "block", "kind": "ip"}, fieldError{})
}

func (c *Console) showLists(w http.ResponseWriter, r *http.Request, p *page, b *riskBase, status int, form map[string]string, fe fieldError) {
	es, err := c.riskAdmin().ListEntries(r.Context(), b.App.ID, b.Live)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.render(w, p, status, "risk_lists", riskListsData{riskBase: b, Entries: es, Form: form, Err: fe, Kinds: riskKinds, Expiries: riskExpiries})
}

// riskAddEntry adds a list entry; a bad field shows the form again with
// the error beside that field.
func (c *Console) riskAddEntry(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadRiskBase(r, p, "/lists")
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	form := map[string]string{}
	for _, k := range []string{"list", "kind", "value", "note", "expires"} {
		form[k] = r.PostForm.Get(k)
	}
	e, err := c.addEntry(r, b, form)
	if fe, ok := asFieldError(err); ok {
		c.showLists(w, r, p, b, http.StatusBadRequest, form, fe)
		return
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: risk list entry added", "user", p.User.ID, "app", b.App.ID, "live", b.Live, "entry", e.ID)
	riskDone(w, r, b, "/lists", "saved", "")
}

func (c *Console) addEntry(r *http.Request, b *riskBase, form map[string]string) (*risk.ListEntry, error) {
	hours, err := strconv.Atoi(form["expires"])
	if form["expires"] == "" {
		hours, err = 0, nil
	}
	if err != nil || hours < 0 || hours > 24*366 {
		return nil, polypay.ParamError("expires", "expires must be a number of hours up to a year")
	}
	if len([]rune(form["note"])) > maxNote {
		return nil, polypay.ParamError("note", "note must be at most %d characters", maxNote)
	}
	var expires int64
	if hours > 0 {
		expires = c.now().Unix() + int64(hours)*3600
	}
	return c.riskAdmin().AddListEntry(r.Context(), b.App.ID, b.Live, form["list"], form["kind"], form["value"],
		strings.TrimSpace(form["note"]), expires)
}

func (c *Console) riskDeleteEntry(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadRiskBase(r, p, "/lists")
	if err == nil {
		err = c.riskAdmin().DeleteListEntry(r.Context(), b.App.ID, b.Live, r.PathValue("id"))
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: risk list entry removed", "user", p.User.ID, "app", b.App.ID, "entry", r.PathValue("id"))
	riskDone(w, r, b, "/lists", "deleted", "")
}

// --- rules ---

type riskRulesData struct {
	*riskBase
	Rules   []*risk.Rule
	Form    map[string]string // name, condition, action, priority
	Editing string            // the rule the form edits; "" creates one
	Err     fieldError
	DryRun  *risk.DryRunResult
	Actions []string
}

var riskActions = []string{string(risk.Block), string(risk.Review), string(risk.Require3DS), string(risk.Allow)}

func (c *Console) riskRules(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadRiskBase(r, p, "/rules")
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := riskRulesData{riskBase: b, Form: map[string]string{"action": "block", "priority": "100"}}
	if id := r.URL.Query().Get("edit"); id != "" {
		ru, err := c.riskAdmin().GetRule(r.Context(), b.App.ID, b.Live, id)
		if err != nil {
			c.failErr(w, r, p, err)
			return
		}
		d.Editing = ru.ID
		d.Form = map[string]string{"name": ru.Name, "condition": ru.Condition, "action": string(ru.Action), "priority": strconv.Itoa(ru.Priority)}
	}
	c.showRules(w, r, p, http.StatusOK, d)
}

func (c *Console) showRules(w http.ResponseWriter, r *http.Request, p *page, status int, d riskRulesData) {
	rules, err := c.riskAdmin().Rules(r.Context(), d.App.ID, d.Live)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d.Rules, d.Actions = rules, riskActions
	c.render(w, p, status, "risk_rules", d)
}

// ruleForm reads the editor's fields; every one is given, so an update
// sets them all.
func ruleForm(r *http.Request) (map[string]string, risk.RuleParams, error) {
	form := map[string]string{}
	for _, k := range []string{"name", "condition", "action", "priority"} {
		form[k] = r.PostForm.Get(k)
	}
	name, cond, action := form["name"], form["condition"], form["action"]
	prio, err := strconv.ParseInt(strings.TrimSpace(form["priority"]), 10, 64)
	if err != nil {
		return form, risk.RuleParams{}, polypay.ParamError("priority", "priority must be a whole number from 0 to 1000000")
	}
	return form, risk.RuleParams{Name: &name, Condition: &cond, Action: &action, Priority: &prio}, nil
}

// riskSaveRule creates a rule, or updates the one in the path; a bad
// field (a condition that does not compile) shows the editor again with
// CEL's message beside the field.
func (c *Console) riskSaveRule(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadRiskBase(r, p, "/rules")
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	id := r.PathValue("id")
	form, params, err := ruleForm(r)
	var ru *risk.Rule
	switch {
	case err != nil:
	case id == "":
		ru, err = c.riskAdmin().CreateRule(r.Context(), b.App.ID, b.Live, params)
	default:
		ru, err = c.riskAdmin().UpdateRule(r.Context(), b.App.ID, b.Live, id, params)
	}
	if fe, ok := asFieldError(err); ok {
		c.showRules(w, r, p, http.StatusBadRequest, riskRulesData{riskBase: b, Form: form, Editing: id, Err: fe})
		return
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: risk rule saved", "user", p.User.ID, "app", b.App.ID, "live", b.Live, "rule", ru.ID)
	riskDone(w, r, b, "/rules", "saved", ru.ID)
}

// riskDryRun shows what the editor's condition would have matched over
// the last 24 hours, without saving anything.
func (c *Console) riskDryRun(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadRiskBase(r, p, "/rules")
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	form, _, _ := ruleForm(r)
	d := riskRulesData{riskBase: b, Form: form}
	if id := r.PostForm.Get("rule"); idLike(id) {
		d.Editing = id
	}
	since := c.now().Add(-riskWindow).Unix()
	d.DryRun, err = c.riskAdmin().DryRun(r.Context(), b.App.ID, b.Live, form["condition"], since)
	if fe, ok := asFieldError(err); ok {
		d.Err = fe
		c.showRules(w, r, p, http.StatusBadRequest, d)
		return
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.showRules(w, r, p, http.StatusOK, d)
}

func (c *Console) riskToggleRule(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadRiskBase(r, p, "/rules")
	if err == nil {
		on := r.PostForm.Get("enabled") == "true"
		_, err = c.riskAdmin().UpdateRule(r.Context(), b.App.ID, b.Live, r.PathValue("id"), risk.RuleParams{Enabled: &on})
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: risk rule toggled", "user", p.User.ID, "app", b.App.ID, "rule", r.PathValue("id"), "enabled", r.PostForm.Get("enabled"))
	riskDone(w, r, b, "/rules", "saved", r.PathValue("id"))
}

func (c *Console) riskDeleteRule(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := c.loadRiskBase(r, p, "/rules")
	if err == nil {
		err = c.riskAdmin().DeleteRule(r.Context(), b.App.ID, b.Live, r.PathValue("id"))
	}
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: risk rule deleted", "user", p.User.ID, "app", b.App.ID, "rule", r.PathValue("id"))
	riskDone(w, r, b, "/rules", "deleted", "")
}
