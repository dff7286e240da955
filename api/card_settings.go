package api

import (
	"encoding/json"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
)

// setCardSettings: POST /v1/apps/{app}/card_settings {three_d_secure,
// processors}, in the key's mode; absent fields are unchanged.
func (s *Server) setCardSettings(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	var p core.CardSettingsParams
	if v, ok := b.raw("three_d_secure"); ok {
		var m polypay.ThreeDSMode
		if json.Unmarshal(v, &m) != nil {
			return polypay.ParamError("three_d_secure", "three_d_secure 须为 automatic 或 required")
		}
		p.ThreeDSecure = &m
	}
	if v, ok := b.raw("processors"); ok {
		var l []string
		if json.Unmarshal(v, &l) != nil {
			return polypay.ParamError("processors", `processors 须为字符串数组，如 ["default","backup"]`)
		}
		p.Processors = &l
	}
	if err := b.unknown(); err != nil {
		return err
	}
	cs, err := s.Svc.SetCardSettings(r.Context(), who, p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, cs)
	return nil
}

func (s *Server) getCardSettings(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	cs, err := s.Svc.GetCardSettings(r.Context(), who)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, cs)
	return nil
}
