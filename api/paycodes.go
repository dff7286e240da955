package api

import (
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
)

// polypay's own payment codes: a user's devices that derive offline codes,
// and online codes issued one at a time. A scanned code is paid as a
// charge on the balance channel with extra.scan_code and extra.terminal_id.
func (s *Server) paycodeRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/apps/{app}/users/{user}/payment_code_devices", s.authed(s.inApp(s.registerDevice)))
	m.HandleFunc("GET /v1/apps/{app}/users/{user}/payment_code_devices", s.authed(s.inApp(s.listDevices)))
	m.HandleFunc("GET /v1/apps/{app}/users/{user}/payment_code_devices/{id}", s.authed(s.inApp(s.getDevice)))
	m.HandleFunc("DELETE /v1/apps/{app}/users/{user}/payment_code_devices/{id}", s.authed(s.inApp(s.revokeDevice)))
	m.HandleFunc("POST /v1/apps/{app}/users/{user}/payment_codes", s.authed(s.inApp(s.issuePaycode)))
}

func parseDeviceParams(raw []byte) (core.PaycodeDeviceParams, error) {
	p := core.PaycodeDeviceParams{MaxAmount: core.DefaultPaycodeAmount, DailyCount: core.DefaultPaycodeDaily}
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if v, ok, err := b.int("version", false); err != nil {
		return p, err
	} else if ok {
		p.Version = int(v)
	}
	if v, ok, err := b.int("max_amount", false); err != nil {
		return p, err
	} else if ok {
		if v < 1 || v > core.MaxAmount {
			return p, polypay.ParamError("max_amount", "max_amount 须为 1 到 %d 之间的整数（单位：分）", core.MaxAmount)
		}
		p.MaxAmount = v
	}
	if v, ok, err := b.int("daily_count", false); err != nil {
		return p, err
	} else if ok {
		if v < 1 || v > 1000 {
			return p, polypay.ParamError("daily_count", "daily_count 须在 1 到 1000 之间")
		}
		p.DailyCount = int(v)
	}
	return p, b.unknown()
}

func (s *Server) registerDevice(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseDeviceParams(raw)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.RegisterPaycodeDevice(r.Context(), who, r.PathValue("user"), p, h)
	})
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	out, err := s.Svc.ListPaycodeDevices(r.Context(), who, r.URL.Path, r.PathValue("user"))
	return s.answer(w, r, out, err)
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	out, err := s.Svc.GetPaycodeDevice(r.Context(), who, r.PathValue("user"), r.PathValue("id"))
	return s.answer(w, r, out, err)
}

func (s *Server) revokeDevice(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	out, err := s.Svc.RevokePaycodeDevice(r.Context(), who, r.PathValue("user"), r.PathValue("id"))
	return s.answer(w, r, out, err)
}

func (s *Server) issuePaycode(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.IssuePaycode(r.Context(), who, r.PathValue("user"), h)
	})
}
