package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// A sub-app's fee schedule, settlement runs and daily statements
// (core/merchant_fees.go, merchant_settlements.go, statements.go).
func (s *Server) merchantRoutes(m *http.ServeMux) {
	m.HandleFunc("PUT /v1/apps/{app}/sub_apps/{sub}/fee_schedule", s.authed(s.putFeeSchedule))
	m.HandleFunc("GET /v1/apps/{app}/sub_apps/{sub}/fee_schedule", s.authed(s.subCall(s.Svc.GetFeeSchedule)))
	m.HandleFunc("POST /v1/apps/{app}/sub_apps/{sub}/settlements", s.authed(s.runSettlement))
	m.HandleFunc("GET /v1/apps/{app}/sub_apps/{sub}/settlements", s.authed(s.listSettlements))
	m.HandleFunc("GET /v1/apps/{app}/sub_apps/{sub}/settlements/{id}", s.authed(s.getSettlement))
	m.HandleFunc("GET /v1/apps/{app}/sub_apps/{sub}/statements/{date}", s.authed(s.getStatement))
	m.HandleFunc("GET /v1/apps/{app}/statements/{date}", s.authed(s.getStatement))
}

// subCall answers get(who, {sub}) after checking the path's app.
func (s *Server) subCall(get func(ctx context.Context, who core.Caller, sub string) (any, error)) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
		if err := s.appFromPath(r, who); err != nil {
			return err
		}
		if _, err := parseQuery(r); err != nil {
			return err
		}
		out, err := get(r.Context(), who, r.PathValue("sub"))
		return s.answer(w, r, out, err)
	}
}

func (s *Server) putFeeSchedule(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	if _, err := parseBody(raw); err != nil {
		return err
	}
	var p core.FeeScheduleParams
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return polypay.ParamError("rules", "fee_schedule 须为 {rules: [{channel, percent_bp, fixed, minimum}], settle_delay_days, holdback_bp, holdback_days, min_payout, payout_channel, auto_settle}")
	}
	out, err := s.Svc.PutFeeSchedule(r.Context(), who, r.PathValue("sub"), p)
	return s.answer(w, r, out, err)
}

func (s *Server) runSettlement(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	date, err := onlyStr(raw, "date", false, 10)
	if err != nil {
		return err
	}
	out, err := s.Svc.RunSettlement(r.Context(), who, r.PathValue("sub"), date)
	return s.answer(w, r, out, err)
}

func (s *Server) listSettlements(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	return s.pagedQuery(w, r, who, nil, func(_ query, p store.Page) (wire.List, error) {
		out, err := s.Svc.ListSettlements(r.Context(), who, r.URL.Path, r.PathValue("sub"), p)
		if err != nil {
			return wire.List{}, err
		}
		return out.(wire.List), nil
	})
}

func (s *Server) getSettlement(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	out, err := s.Svc.GetSettlement(r.Context(), who, r.PathValue("sub"), r.PathValue("id"))
	return s.answer(w, r, out, err)
}

// getStatement answers a day's statement of a sub-app, or of the app
// itself (/v1/apps/{app}/statements/{date}), as JSON, or as CSV with
// ?format=csv.
func (s *Server) getStatement(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	q, err := parseQuery(r, "format")
	if err != nil {
		return err
	}
	format := q.v.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return polypay.ParamError("format", "format 须为 json 或 csv")
	}
	sub := r.PathValue("sub")
	if sub == "" {
		sub = who.App.ID // an app's own statement
	}
	st, err := s.Svc.GetStatement(r.Context(), who, sub, r.PathValue("date"))
	if err != nil || format != "csv" {
		return s.answer(w, r, st, err)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="statement-`+st.Date+`.csv"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(st.CSV())
	return nil
}
