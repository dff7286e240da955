package api

import (
	"encoding/json"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
)

// parseDiscountParams reads POST /v1/apps/{app}/discounts; core checks the
// values (core.CheckDiscountParams).
func parseDiscountParams(raw []byte) (core.DiscountParams, error) {
	var p core.DiscountParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.Channel, err = b.str("channel", true, 32); err != nil {
		return p, err
	}
	if p.Type, err = b.str("type", true, 16); err != nil {
		return p, err
	}
	if p.AmountOff, _, err = b.int("amount_off", false); err != nil {
		return p, err
	}
	if p.PercentOff, _, err = b.int("percent_off", false); err != nil {
		return p, err
	}
	if p.MinAmount, _, err = b.int("min_amount", false); err != nil {
		return p, err
	}
	if v, ok := b.raw("first_payment_only"); ok {
		if json.Unmarshal(v, &p.FirstPaymentOnly) != nil {
			return p, polypay.ParamError("first_payment_only", "first_payment_only 须为 true 或 false")
		}
	}
	label, ok := b.raw("label")
	if !ok {
		return p, polypay.ParamError("label", "缺少参数: label")
	}
	p.Label = label
	return p, b.unknown()
}

// createDiscount: POST /v1/apps/{app}/discounts, in the key's mode.
func (s *Server) createDiscount(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	p, err := parseDiscountParams(raw)
	if err != nil {
		return err
	}
	out, err := s.Svc.CreateDiscount(r.Context(), who, p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) listDiscounts(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	out, err := s.Svc.ListDiscounts(r.Context(), who)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) deleteDiscount(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	out, err := s.Svc.DeleteDiscount(r.Context(), who, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}
