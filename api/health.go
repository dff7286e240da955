package api

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/health"
	"github.com/polypay/polypay/store"
)

// setRoutes: POST /v1/apps/{app}/routes {channel, accounts:[{account,
// priority, weight}]} in the key's mode; an empty accounts list removes
// the family's routing.
func (s *Server) setRoutes(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	var family string
	if v, ok := b.raw("channel"); !ok || json.Unmarshal(v, &family) != nil || family == "" {
		return polypay.ParamError("channel", "缺少参数: channel（渠道类型，如 alipay）")
	}
	var in []struct {
		Account  string `json:"account"`
		Priority *int   `json:"priority"`
		Weight   *int   `json:"weight"`
	}
	if v, ok := b.raw("accounts"); !ok || json.Unmarshal(v, &in) != nil {
		return polypay.ParamError("accounts", `accounts 须为数组，如 [{"account":"default","priority":0,"weight":1}]`)
	}
	if err := b.unknown(); err != nil {
		return err
	}
	accts := make([]core.RouteAccount, 0, len(in))
	for _, a := range in {
		ra := core.RouteAccount{Account: a.Account, Weight: 1}
		if ra.Account == "" {
			return polypay.ParamError("accounts", "accounts[].account 不能为空（default 或账户名）")
		}
		if a.Priority != nil {
			ra.Priority = *a.Priority
		}
		if a.Weight != nil {
			ra.Weight = *a.Weight
		}
		accts = append(accts, ra)
	}
	rs, err := s.Svc.SetRoutes(r.Context(), who, family, accts)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, rs)
	return nil
}

func (s *Server) listRoutes(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	l, err := s.Svc.ListRoutes(r.Context(), who)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"object": "list", "url": r.URL.Path, "has_more": false, "data": l})
	return nil
}

// channelHealth: GET /v1/channels/health, the health of every channel
// account of the key's app and mode, as this node sees it.
func (s *Server) channelHealth(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if s.Svc.Health == nil {
		return polypay.Errorf(polypay.ENotSupported, "this node does not monitor channel health")
	}
	var refs []store.AccountRef
	if err := s.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
		refs, err = tx.ChannelAccounts(r.Context(), who.App.ID, who.Live)
		return
	}); err != nil {
		return err
	}
	data := make([]health.Status, 0, len(refs))
	for _, ref := range refs {
		data = append(data, s.Svc.Health.Snapshot(health.Account{App: ref.AppID, Live: ref.Live, Name: ref.Family}))
	}
	s.writeJSON(w, r, http.StatusOK, map[string]any{"object": "list", "url": "/v1/channels/health", "has_more": false,
		"available_channels": s.Svc.AvailableChannels(r.Context(), who.App.ID, who.Live), "data": data})
	return nil
}

// channelSLA: GET /v1/channels/sla?date=YYYY-MM-DD[&format=csv], the
// key's app's availability and latency per channel account for one UTC
// day (default today), from probes and real traffic on every node.
func (s *Server) channelSLA(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if s.Svc.Health == nil {
		return polypay.Errorf(polypay.ENotSupported, "this node does not monitor channel health")
	}
	q := r.URL.Query()
	day := q.Get("date")
	if day == "" {
		day = time.Now().UTC().Format(time.DateOnly)
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return polypay.ParamError("date", "date 须为 YYYY-MM-DD: %s", day)
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return polypay.ParamError("format", "format 须为 json 或 csv")
	}
	rows, err := s.Svc.Health.Report(r.Context(), who.App.ID, who.Live, day)
	if err != nil {
		return err
	}
	if format != "csv" {
		s.writeJSON(w, r, http.StatusOK, map[string]any{"object": "list", "url": "/v1/channels/sla", "date": day, "has_more": false, "data": rows})
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="polypay-sla-%s.csv"`, day))
	cw := csv.NewWriter(w)
	cw.Write([]string{"date", "channel", "family", "account", "livemode", "source", "requests", "failures", "rejected", "availability", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, x := range rows {
		cw.Write([]string{x.Date, x.Channel, x.Family, x.Account, strconv.FormatBool(x.Livemode), x.Source,
			strconv.FormatInt(x.Requests, 10), strconv.FormatInt(x.Failures, 10), strconv.FormatInt(x.Rejected, 10),
			f(x.Availability), f(x.LatencyP50MS), f(x.LatencyP95MS), f(x.LatencyP99MS)})
	}
	cw.Flush()
	return cw.Error()
}
