package api

import (
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// The shop's QR codes (收款码): /v1/apps/{app}/qr_codes.
func (s *Server) qrRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/apps/{app}/qr_codes", s.authed(s.inApp(creates(s, parseQRCreate, s.Svc.CreateQRCode))))
	m.HandleFunc("GET /v1/apps/{app}/qr_codes", s.authed(s.inApp(s.listQRCodes)))
	m.HandleFunc("GET /v1/apps/{app}/qr_codes/{id}", s.authed(s.inApp(s.getBy("id", s.Svc.GetQRCode))))
	m.HandleFunc("PUT /v1/apps/{app}/qr_codes/{id}", s.authed(s.inApp(s.updateQRCode)))
	m.HandleFunc("DELETE /v1/apps/{app}/qr_codes/{id}", s.authed(s.inApp(s.deleteQRCode)))
}

func parseQRFields(b *body, p *core.QRCodeParams) error {
	if _, ok := b.raw("label"); ok {
		v, err := b.str("label", true, 32)
		if err != nil {
			return err
		}
		p.Label = &v
	}
	for name, dst := range map[string]**int64{"expires": &p.Expires, "max_uses": &p.MaxUses} {
		v, ok, err := b.int(name, false)
		if err != nil {
			return err
		}
		if ok {
			if v < 0 {
				return polypay.ParamError(name, "%s 不能为负", name)
			}
			*dst = &v
		}
	}
	if _, ok := b.raw("metadata"); ok {
		m, err := payoutMetadata(b)
		if err != nil {
			return err
		}
		p.Metadata = m
	}
	return nil
}

func parseQRCreate(raw []byte) (core.QRCodeParams, error) {
	var p core.QRCodeParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if _, ok := b.raw("label"); !ok {
		return p, polypay.ParamError("label", "缺少参数: label")
	}
	if err := parseQRFields(b, &p); err != nil {
		return p, err
	}
	if v, ok, err := b.int("amount", false); err != nil {
		return p, err
	} else if ok && (v < 1 || v > core.MaxAmount) {
		return p, polypay.ParamError("amount", "amount 须为 1 到 %d 之间的整数（单位：分），不填为顾客输入金额", core.MaxAmount)
	} else {
		p.Amount = v
	}
	if c, err := b.str("currency", false, 3); err != nil {
		return p, err
	} else if c != "" && c != "cny" {
		return p, polypay.ParamError("currency", "currency 目前只支持 cny")
	}
	if p.Metadata == nil {
		p.Metadata = []byte("{}")
	}
	return p, b.unknown()
}

func (s *Server) listQRCodes(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, nil, func(_ query, p store.Page) (wire.List, error) {
		return s.Svc.ListQRCodes(r.Context(), who, r.URL.Path, p)
	})
}

func (s *Server) updateQRCode(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	var p core.QRCodeParams
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	if err := parseQRFields(b, &p); err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	out, err := s.Svc.UpdateQRCode(r.Context(), who, r.PathValue("id"), p, false)
	return s.answer(w, r, out, err)
}

func (s *Server) deleteQRCode(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	out, err := s.Svc.UpdateQRCode(r.Context(), who, r.PathValue("id"), core.QRCodeParams{}, true)
	return s.answer(w, r, out, err)
}
