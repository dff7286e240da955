package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Ping++'s royalty family (core/royalties.go): templates, the royalties
// paid orders make, their settlements and royalty transactions.
func (s *Server) royaltyRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/royalty_templates", s.authed(s.createRoyaltyTemplate))
	m.HandleFunc("GET /v1/royalty_templates", s.authed(s.listRoyaltyTemplates))
	m.HandleFunc("GET /v1/royalty_templates/{id}", s.authed(s.getBy("id", s.Svc.GetRoyaltyTemplate)))
	m.HandleFunc("PUT /v1/royalty_templates/{id}", s.authed(s.updateRoyaltyTemplate))
	m.HandleFunc("DELETE /v1/royalty_templates/{id}", s.authed(s.getBy("id", s.Svc.DeleteRoyaltyTemplate)))
	m.HandleFunc("GET /v1/royalties", s.authed(s.listRoyalties))
	m.HandleFunc("GET /v1/royalties/{id}", s.authed(s.getBy("id", s.Svc.GetRoyalty)))
	m.HandleFunc("PUT /v1/royalties", s.authed(s.updateRoyalties))
	m.HandleFunc("POST /v1/royalty_settlements", s.authed(s.createRoyaltySettlement))
	m.HandleFunc("GET /v1/royalty_settlements", s.authed(s.listRoyaltySettlements))
	m.HandleFunc("GET /v1/royalty_settlements/{id}", s.authed(s.getBy("id", s.Svc.GetRoyaltySettlement)))
	m.HandleFunc("PUT /v1/royalty_settlements/{id}", s.authed(s.updateRoyaltySettlement))
	m.HandleFunc("GET /v1/royalty_transactions", s.authed(s.listRoyaltyTxns))
	m.HandleFunc("GET /v1/royalty_transactions/{id}", s.authed(s.getBy("id", s.Svc.GetRoyaltyTxn)))
}

// parseRoyaltyTemplate reads a template's name, description and rule
// (required on create).
func parseRoyaltyTemplate(b *body, create bool) (core.RoyaltyTemplateParams, error) {
	var p core.RoyaltyTemplateParams
	for _, f := range []struct {
		name string
		to   **string
		max  int
	}{{"name", &p.Name, 64}, {"description", &p.Description, 255}} {
		if _, ok := b.raw(f.name); !ok {
			continue
		}
		v, err := b.str(f.name, false, f.max)
		if err != nil {
			return p, err
		}
		*f.to = &v
	}
	raw, ok := b.raw("rule")
	if !ok {
		if create {
			return p, polypay.ParamError("rule", "缺少参数: rule")
		}
		return p, nil
	}
	var rule core.RoyaltyRule
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rule); err != nil {
		return p, polypay.ParamError("rule", "rule 须为 {royalty_mode, refund_mode, allocation_mode, data: [{level, value}]}")
	}
	p.Rule = &rule
	return p, nil
}

func (s *Server) createRoyaltyTemplate(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	if err := appBody(b, who); err != nil {
		return err
	}
	p, err := parseRoyaltyTemplate(b, true)
	if err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	out, err := s.Svc.CreateRoyaltyTemplate(r.Context(), who, p)
	return s.answer(w, r, out, err)
}

func (s *Server) updateRoyaltyTemplate(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	p, err := parseRoyaltyTemplate(b, false)
	if err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	out, err := s.Svc.UpdateRoyaltyTemplate(r.Context(), who, r.PathValue("id"), p)
	return s.answer(w, r, out, err)
}

func (s *Server) listRoyaltyTemplates(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, nil, func(_ query, p store.Page) (wire.List, error) {
		return s.Svc.ListRoyaltyTemplates(r.Context(), who, r.URL.Path, p)
	})
}

func (s *Server) listRoyalties(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	filters := []string{"payer_app", "recipient_app", "source_user", "order", "status", "royalty_settlement"}
	return s.pagedQuery(w, r, who, filters, func(q query, p store.Page) (wire.List, error) {
		f := store.RoyaltyFilter{Payer: q.v.Get("payer_app"), RecipientApp: q.v.Get("recipient_app"), SourceUser: q.v.Get("source_user"),
			OrderID: q.v.Get("order"), Status: q.v.Get("status"), Settlement: q.v.Get("royalty_settlement")}
		return s.Svc.ListRoyalties(r.Context(), who, r.URL.Path, f, p)
	})
}

// updateRoyalties is Ping++'s batch update: ids, method ("manual" or
// null), description, metadata.
func (s *Server) updateRoyalties(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	var p core.RoyaltyUpdate
	ids, ok := b.raw("ids")
	if !ok || json.Unmarshal(ids, &p.IDs) != nil || len(p.IDs) == 0 || len(p.IDs) > 100 {
		return polypay.ParamError("ids", "ids 须为 1 到 100 个分润 id 的数组")
	}
	if v, present := b.m["method"]; present {
		b.used["method"] = true
		m := ""
		if string(v) != "null" && (json.Unmarshal(v, &m) != nil || m != store.RoyaltyMethodManual) {
			return polypay.ParamError("method", "method 须为 manual（手动标记结算）或 null")
		}
		p.Method = &m
	}
	if _, present := b.raw("description"); present {
		d, err := b.str("description", false, 255)
		if err != nil {
			return err
		}
		p.Description = &d
	}
	if _, present := b.raw("metadata"); present {
		if p.Metadata, err = payoutMetadata(b); err != nil {
			return err
		}
	}
	if err := b.unknown(); err != nil {
		return err
	}
	out, err := s.Svc.UpdateRoyalties(r.Context(), who, "/v1/royalties", p)
	return s.answer(w, r, out, err)
}

func (s *Server) createRoyaltySettlement(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	p, err := parseRoyaltySettlement(b)
	if err != nil {
		return err
	}
	out, err := s.Svc.CreateRoyaltySettlement(r.Context(), who, p)
	return s.answer(w, r, out, err)
}

func parseRoyaltySettlement(b *body) (core.RoyaltySettlementParams, error) {
	var p core.RoyaltySettlementParams
	var err error
	for _, f := range []struct {
		name     string
		to       *string
		required bool
	}{{"payer_app", &p.PayerApp, true}, {"method", &p.Method, true}, {"recipient_app", &p.RecipientApp, false},
		{"source_user", &p.SourceUser, false}, {"currency", &p.Currency, false}} {
		if *f.to, err = b.str(f.name, f.required, 64); err != nil {
			return p, err
		}
	}
	if p.MinAmount, _, err = b.int("min_amount", false); err != nil {
		return p, err
	}
	if p.IsPreview, err = b.bool("is_preview", false); err != nil {
		return p, err
	}
	if p.CreatedGTE, p.CreatedLT, err = createdRange(b); err != nil {
		return p, err
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return p, err
	}
	return p, b.unknown()
}

// createdRange reads Ping++'s created {gt, gte, lt, lte} as [gte, lt).
func createdRange(b *body) (gte, lt int64, err error) {
	raw, ok := b.raw("created")
	if !ok {
		return 0, 0, nil
	}
	var c map[string]int64
	if json.Unmarshal(raw, &c) != nil {
		return 0, 0, polypay.ParamError("created", "created 须为 {gt, gte, lt, lte} 整数时间戳")
	}
	for k, v := range c {
		switch k {
		case "gt":
			gte = max(gte, v+1)
		case "gte":
			gte = max(gte, v)
		case "lt":
			lt = minPositive(lt, v)
		case "lte":
			lt = minPositive(lt, v+1)
		default:
			return 0, 0, polypay.ParamError("created", "created 只接受 gt、gte、lt、lte")
		}
	}
	return gte, lt, nil
}

func minPositive(a, b int64) int64 {
	if a == 0 || b < a {
		return b
	}
	return a
}

func (s *Server) listRoyaltySettlements(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, []string{"payer_app"}, func(q query, p store.Page) (wire.List, error) {
		return s.Svc.ListRoyaltySettlements(r.Context(), who, r.URL.Path, q.v.Get("payer_app"), p)
	})
}

func (s *Server) updateRoyaltySettlement(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	status, err := onlyStr(raw, "status", true, 16)
	if err != nil {
		return err
	}
	out, err := s.Svc.UpdateRoyaltySettlement(r.Context(), who, r.PathValue("id"), status)
	return s.answer(w, r, out, err)
}

func (s *Server) listRoyaltyTxns(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, []string{"royalty_settlement"}, func(q query, p store.Page) (wire.List, error) {
		return s.Svc.ListRoyaltyTxns(r.Context(), who, r.URL.Path, q.v.Get("royalty_settlement"), p)
	})
}
