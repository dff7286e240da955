package api

import (
	"net/http"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/wire"
)

// The risk engine's API: an app's rules, allow/block lists, the blocks the
// built-in rules set, and the decisions recorded, each in the key's mode.
func (s *Server) riskRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/apps/{app}/risk_rules", s.authed(s.riskApp(s.createRiskRule)))
	m.HandleFunc("GET /v1/apps/{app}/risk_rules", s.authed(s.riskApp(s.listRiskRules)))
	m.HandleFunc("POST /v1/apps/{app}/risk_rules/dry_run", s.authed(s.riskApp(s.dryRunRiskRule)))
	m.HandleFunc("GET /v1/apps/{app}/risk_rules/{id}", s.authed(s.riskApp(s.getRiskRule)))
	m.HandleFunc("PUT /v1/apps/{app}/risk_rules/{id}", s.authed(s.riskApp(s.updateRiskRule)))
	m.HandleFunc("DELETE /v1/apps/{app}/risk_rules/{id}", s.authed(s.riskApp(s.deleteRiskRule)))
	m.HandleFunc("POST /v1/apps/{app}/risk_lists", s.authed(s.riskApp(s.addRiskListEntry)))
	m.HandleFunc("GET /v1/apps/{app}/risk_lists", s.authed(s.riskApp(s.listRiskList)))
	m.HandleFunc("DELETE /v1/apps/{app}/risk_lists/{id}", s.authed(s.riskApp(s.deleteRiskListEntry)))
	m.HandleFunc("GET /v1/apps/{app}/risk_blocks", s.authed(s.riskApp(s.listRiskBlocks)))
	m.HandleFunc("DELETE /v1/apps/{app}/risk_blocks/{kind}/{value}", s.authed(s.riskApp(s.deleteRiskBlock)))
	m.HandleFunc("GET /v1/apps/{app}/risk_decisions", s.authed(s.riskApp(s.listRiskDecisions)))
}

type riskHandler func(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte, a *risk.Admin) error

// riskApp checks the path's app is the key's and that the node screens.
func (s *Server) riskApp(h riskHandler) func(http.ResponseWriter, *http.Request, core.Caller, []byte) error {
	return func(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
		if err := s.appFromPath(r, who); err != nil {
			return err
		}
		if s.Svc.Risk == nil {
			return polypay.Errorf(polypay.ENotSupported, "this node runs without the risk engine (--risk-off)")
		}
		return h(w, r, who, raw, &risk.Admin{DB: s.DB, Now: func() int64 { return time.Now().Unix() }})
	}
}

func parseRuleParams(raw []byte, create bool) (risk.RuleParams, error) {
	var p risk.RuleParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	for _, f := range []struct {
		name string
		max  int
		dst  **string
	}{{"name", 64, &p.Name}, {"condition", risk.MaxCondition, &p.Condition}, {"action", 16, &p.Action}} {
		if _, ok := b.raw(f.name); !ok {
			continue
		}
		v, err := b.str(f.name, create, f.max)
		if err != nil {
			return p, err
		}
		*f.dst = &v
	}
	if _, ok := b.raw("priority"); ok {
		v, _, err := b.int("priority", false)
		if err != nil {
			return p, err
		}
		p.Priority = &v
	}
	if _, ok := b.raw("enabled"); ok {
		v, err := b.bool("enabled", true)
		if err != nil {
			return p, err
		}
		p.Enabled = &v
	}
	return p, b.unknown()
}

func (s *Server) createRiskRule(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte, a *risk.Admin) error {
	p, err := parseRuleParams(raw, true)
	if err != nil {
		return err
	}
	out, err := a.CreateRule(r.Context(), who.App.ID, who.Live, p)
	return s.answer(w, r, out, err)
}

// dryRunRiskRule: what a condition would have matched among the app's
// charges of the last 24 hours (or since "since").
func (s *Server) dryRunRiskRule(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte, a *risk.Admin) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	cond, err := b.str("condition", true, risk.MaxCondition)
	if err != nil {
		return err
	}
	since, given, err := b.int("since", false)
	if err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	if !given {
		since = time.Now().Add(-24 * time.Hour).Unix()
	}
	out, err := a.DryRun(r.Context(), who.App.ID, who.Live, cond, since)
	return s.answer(w, r, out, err)
}

func (s *Server) updateRiskRule(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte, a *risk.Admin) error {
	p, err := parseRuleParams(raw, false)
	if err != nil {
		return err
	}
	out, err := a.UpdateRule(r.Context(), who.App.ID, who.Live, r.PathValue("id"), p)
	return s.answer(w, r, out, err)
}

func (s *Server) getRiskRule(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte, a *risk.Admin) error {
	out, err := a.GetRule(r.Context(), who.App.ID, who.Live, r.PathValue("id"))
	return s.answer(w, r, out, err)
}

func (s *Server) deleteRiskRule(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte, a *risk.Admin) error {
	id := r.PathValue("id")
	err := a.DeleteRule(r.Context(), who.App.ID, who.Live, id)
	return s.answer(w, r, deleted{ID: id, Object: "risk_rule", Deleted: true}, err)
}

func (s *Server) listRiskRules(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte, a *risk.Admin) error {
	rs, err := a.Rules(r.Context(), who.App.ID, who.Live)
	return s.answer(w, r, listOf(r.URL.Path, rs), err)
}

func (s *Server) addRiskListEntry(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte, a *risk.Admin) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	var f [4]string
	for i, p := range []struct {
		name     string
		required bool
		max      int
	}{{"list", true, 8}, {"kind", true, 16}, {"value", true, 254}, {"note", false, 200}} {
		if f[i], err = b.str(p.name, p.required, p.max); err != nil {
			return err
		}
	}
	expires, _, err := b.int("expires", false)
	if err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	out, err := a.AddListEntry(r.Context(), who.App.ID, who.Live, f[0], f[1], f[2], f[3], expires)
	return s.answer(w, r, out, err)
}

func (s *Server) listRiskList(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte, a *risk.Admin) error {
	es, err := a.ListEntries(r.Context(), who.App.ID, who.Live)
	return s.answer(w, r, listOf(r.URL.Path, es), err)
}

func (s *Server) deleteRiskListEntry(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte, a *risk.Admin) error {
	id := r.PathValue("id")
	err := a.DeleteListEntry(r.Context(), who.App.ID, who.Live, id)
	return s.answer(w, r, deleted{ID: id, Object: "risk_list_entry", Deleted: true}, err)
}

func (s *Server) listRiskBlocks(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte, a *risk.Admin) error {
	bs, err := a.Blocks(r.Context(), who.App.ID, who.Live)
	return s.answer(w, r, listOf(r.URL.Path, bs), err)
}

func (s *Server) deleteRiskBlock(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte, a *risk.Admin) error {
	kind, value := r.PathValue("kind"), r.PathValue("value")
	if kind != risk.KindIP && kind != risk.KindCard {
		return polypay.ParamError("kind", "kind 必须是 ip 或 card")
	}
	err := a.Unblock(r.Context(), who.App.ID, who.Live, kind, value)
	return s.answer(w, r, deleted{ID: kind + ":" + value, Object: "risk_block", Deleted: true}, err)
}

func (s *Server) listRiskDecisions(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte, a *risk.Admin) error {
	q, err := parseQuery(r, "charge", "limit")
	if err != nil {
		return err
	}
	limit, err := q.limit()
	if err != nil {
		return err
	}
	ds, err := a.Decisions(r.Context(), who.App.ID, who.Live, q.v.Get("charge"), limit)
	return s.answer(w, r, listOf(r.URL.Path, ds), err)
}

// deleted is Ping++'s answer to a DELETE.
type deleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// answer writes out, or returns err.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, out any, err error) error {
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

// listOf is a Ping++ list of xs (all of them: risk lists are bounded).
func listOf[T any](url string, xs []T) wire.List {
	data := make([]any, len(xs))
	for i, x := range xs {
		data[i] = x
	}
	return wire.NewList(url, false, data)
}
