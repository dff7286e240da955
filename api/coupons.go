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

// Coupon templates and coupons (pingpp-compat §2.11), under /v1/apps/{app}.
func (s *Server) couponRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/apps/{app}/coupon_templates", s.authed(s.inApp(creates(s, parseCouponTemplate, s.Svc.CreateCouponTemplate))))
	m.HandleFunc("GET /v1/apps/{app}/coupon_templates", s.authed(s.inApp(s.listCouponTemplates)))
	m.HandleFunc("GET /v1/apps/{app}/coupon_templates/{id}", s.authed(s.inApp(s.getBy("id", s.Svc.GetCouponTemplate))))
	m.HandleFunc("PUT /v1/apps/{app}/coupon_templates/{id}", s.authed(s.inApp(s.updateCouponTemplate)))
	m.HandleFunc("DELETE /v1/apps/{app}/coupon_templates/{id}", s.authed(s.inApp(s.getBy("id", s.Svc.DeleteCouponTemplate))))
	m.HandleFunc("POST /v1/apps/{app}/coupon_templates/{id}/coupons", s.authed(s.inApp(s.issueCoupons)))
	m.HandleFunc("GET /v1/apps/{app}/coupon_templates/{id}/coupons", s.authed(s.inApp(s.listTemplateCoupons)))
	m.HandleFunc("POST /v1/apps/{app}/users/{user}/coupons", s.authed(s.inApp(s.issueCoupon)))
	m.HandleFunc("GET /v1/apps/{app}/users/{user}/coupons", s.authed(s.inApp(s.listUserCoupons)))
	m.HandleFunc("GET /v1/apps/{app}/users/{user}/coupons/{id}", s.authed(s.inApp(s.getCoupon)))
	m.HandleFunc("PUT /v1/apps/{app}/users/{user}/coupons/{id}", s.authed(s.inApp(s.updateCoupon)))
	m.HandleFunc("DELETE /v1/apps/{app}/users/{user}/coupons/{id}", s.authed(s.inApp(s.deleteCoupon)))
}

// optPositive reads an optional integer of at least min; 0 when absent
// or null (no limit).
func optPositive(b *body, name string, min, max int64) (int64, error) {
	v, ok, err := b.int(name, false)
	if err == nil && ok && (v < min || v > max) {
		err = polypay.ParamError(name, "%s 须在 %d 到 %d 之间", name, min, max)
	}
	return v, err
}

func parseCouponTemplate(raw []byte) (core.CouponTemplateParams, error) {
	var p core.CouponTemplateParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.Name, err = b.str("name", false, 64); err != nil {
		return p, err
	}
	typ, _, err := b.int("type", true)
	if err != nil {
		return p, err
	}
	p.Type = int(typ)
	if err := couponOff(b, &p); err != nil {
		return p, err
	}
	if p.AmountAvailable, err = optPositive(b, "amount_available", 0, core.MaxAmount); err != nil {
		return p, err
	}
	if p.MaxCirculation, err = optPositive(b, "max_circulation", 1, 1e9); err != nil {
		return p, err
	}
	if p.MaxUserCirculation, err = optPositive(b, "max_user_circulation", 1, 1e6); err != nil {
		return p, err
	}
	if err := couponExpiration(b, &p); err != nil {
		return p, err
	}
	if p.Refundable, err = b.bool("refundable", true); err != nil {
		return p, err
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return p, err
	}
	return p, b.unknown()
}

// couponOff reads what a template takes off: amount_off for type 1,
// percent_off (1-99) for type 2, never both.
func couponOff(b *body, p *core.CouponTemplateParams) (err error) {
	switch p.Type {
	case polypay.CouponCash:
		if p.AmountOff, err = optPositive(b, "amount_off", 1, core.MaxAmount); err == nil && p.AmountOff == 0 {
			err = polypay.ParamError("amount_off", "现金券（type 1）须填写 amount_off")
		}
		if _, ok := b.raw("percent_off"); ok && err == nil {
			err = polypay.ParamError("percent_off", "现金券（type 1）不能填写 percent_off")
		}
	case polypay.CouponDiscount:
		if p.PercentOff, err = optPositive(b, "percent_off", 1, 99); err == nil && p.PercentOff == 0 {
			err = polypay.ParamError("percent_off", "折扣券（type 2）须填写 percent_off（1-99）")
		}
		if _, ok := b.raw("amount_off"); ok && err == nil {
			err = polypay.ParamError("amount_off", "折扣券（type 2）不能填写 amount_off")
		}
	default:
		err = polypay.ParamError("type", "type 须为 1（现金券）或 2（折扣券）")
	}
	return err
}

// couponExpiration reads expiration: null, or {time_start, time_end} and
// or {duration} in seconds from each coupon's issue.
func couponExpiration(b *body, p *core.CouponTemplateParams) error {
	v, ok := b.raw("expiration")
	if !ok {
		return nil
	}
	var e struct {
		TimeStart *int64 `json:"time_start"`
		TimeEnd   *int64 `json:"time_end"`
		Duration  *int64 `json:"duration"`
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return polypay.ParamError("expiration", "expiration 须为 {time_start, time_end} 或 {duration} 对象")
	}
	get := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	p.TimeStart, p.TimeEnd, p.Duration = get(e.TimeStart), get(e.TimeEnd), get(e.Duration)
	switch {
	case p.TimeStart < 0 || p.TimeEnd < 0:
		return polypay.ParamError("expiration", "expiration 的时间不能为负")
	case p.Duration < 0 || p.Duration > 10*365*86400:
		return polypay.ParamError("expiration[duration]", "expiration[duration] 须在 1 秒到 10 年之间")
	case p.Duration > 0 && (p.TimeStart != 0 || p.TimeEnd != 0):
		return polypay.ParamError("expiration[duration]", "expiration 的 duration 不能与 time_start、time_end 同时使用")
	}
	return nil
}

func (s *Server) listCouponTemplates(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, nil, func(_ query, p store.Page) (wire.List, error) {
		return s.Svc.ListCouponTemplates(r.Context(), who, r.URL.Path, p)
	})
}

func parseCouponUpdate(raw []byte, withName bool) (core.CouponUpdate, error) {
	var p core.CouponUpdate
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if withName {
		if p.Name, err = optStr(b, "name", 64); err != nil {
			return p, err
		}
	}
	if _, ok := b.raw("metadata"); ok {
		if p.Metadata, err = payoutMetadata(b); err != nil {
			return p, err
		}
	}
	return p, b.unknown()
}

func (s *Server) updateCouponTemplate(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseCouponUpdate(raw, true)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.UpdateCouponTemplate(r.Context(), who, r.PathValue("id"), p, h)
	})
}

func (s *Server) issueCoupons(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p := core.BatchCouponParams{Template: r.PathValue("id")}
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	v, ok := b.raw("users")
	if !ok {
		return polypay.ParamError("users", "缺少参数: users")
	}
	if err := json.Unmarshal(v, &p.Users); err != nil || len(p.Users) == 0 || len(p.Users) > 100 {
		return polypay.ParamError("users", "users 须为 1 到 100 个用户 id 的数组")
	}
	for i, u := range p.Users {
		if !userIDRe.MatchString(u) {
			return polypay.ParamError("users", "users[%d] 不是有效的用户 id", i)
		}
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) { return s.Svc.IssueCoupons(r.Context(), who, p, h) })
}

func (s *Server) issueCoupon(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p := core.CouponParams{User: r.PathValue("user")}
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	if p.Template, err = b.str("coupon_template", true, 64); err != nil {
		return err
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) { return s.Svc.IssueCoupon(r.Context(), who, p, h) })
}

func (s *Server) listCoupons(w http.ResponseWriter, r *http.Request, who core.Caller, user, tmpl string) error {
	return s.pagedQuery(w, r, who, []string{"redeemed"}, func(q query, p store.Page) (wire.List, error) {
		redeemed, err := q.bool("redeemed")
		if err != nil {
			return wire.List{}, err
		}
		return s.Svc.ListCoupons(r.Context(), who, r.URL.Path, user, tmpl, redeemed, p)
	})
}

func (s *Server) listTemplateCoupons(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.listCoupons(w, r, who, "", r.PathValue("id"))
}

func (s *Server) listUserCoupons(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.listCoupons(w, r, who, r.PathValue("user"), "")
}

func (s *Server) getCoupon(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	out, err := s.Svc.GetCoupon(r.Context(), who, r.PathValue("user"), r.PathValue("id"))
	return s.answer(w, r, out, err)
}

func (s *Server) updateCoupon(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseCouponUpdate(raw, false)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.UpdateCoupon(r.Context(), who, r.PathValue("user"), r.PathValue("id"), p, h)
	})
}

func (s *Server) deleteCoupon(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	out, err := s.Svc.DeleteCoupon(r.Context(), who, r.PathValue("user"), r.PathValue("id"))
	return s.answer(w, r, out, err)
}
