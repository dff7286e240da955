package api

import (
	"errors"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
)

// identify is Ping++'s POST /v1/identification.
func (s *Server) identify(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	appID, err := b.appID()
	if err != nil {
		return err
	}
	if err := checkApp(appID, who); err != nil {
		return err
	}
	var p core.IdentifyParams
	if p.Type, err = b.str("type", true, 16); err != nil {
		return err
	}
	data, ok := b.raw("data")
	if !ok {
		return polypay.ParamError("data", "缺少参数: data")
	}
	d, err := parseBody(data)
	if err != nil {
		return polypay.ParamError("data", "data 须为对象")
	}
	for _, f := range []struct {
		name string
		to   *string
		max  int
	}{{"id_name", &p.Data.Name, 30}, {"id_number", &p.Data.IDNumber, 18}, {"card_number", &p.Data.CardNumber, 19}, {"phone_number", &p.Data.Phone, 11}} {
		v, err := d.str(f.name, false, f.max)
		var e *polypay.Error
		if errors.As(err, &e) {
			e.Param = "data[" + f.name + "]"
			return e
		}
		if err != nil {
			return err
		}
		*f.to = v
	}
	if err := d.unknown(); err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	out, err := s.Svc.Identify(r.Context(), who, p)
	return s.answer(w, r, out, err)
}
