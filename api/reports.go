package api

import (
	"bytes"
	"context"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/reconcile"
)

// Reports builds apps' daily reports.
type Reports interface {
	// DailyReport: EInvalid for a malformed date.
	DailyReport(ctx context.Context, appID string, live bool, day string) (*reconcile.Report, error)
}

// dailyReport: GET /v1/apps/{app}/reports/daily?date=YYYY-MM-DD[&format=csv],
// the key's mode deciding which records count.
func (s *Server) dailyReport(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	if s.Reports == nil {
		return polypay.NotFound("report", "daily")
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return polypay.ParamError("format", "format 应为 json 或 csv")
	}
	rep, err := s.Reports.DailyReport(r.Context(), who.App.ID, who.Live, q.Get("date"))
	if err != nil {
		return err
	}
	if format != "csv" {
		s.writeJSON(w, r, http.StatusOK, rep)
		return nil
	}
	var b bytes.Buffer
	if err := rep.WriteCSV(&b); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="daily-`+rep.Date+`.csv"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
	return nil
}
