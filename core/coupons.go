package core

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Coupons (Ping++'s 优惠券): templates, coupons issued from them to users,
// and their redemption on orders (see orders_api.go). A coupon is a
// merchant-funded discount: redeeming one books the order's coupon_amount
// as a discount (postDiscount), no money moves for it.

// CouponTemplateParams are a template's creation parameters.
type CouponTemplateParams struct {
	Name               string          `json:"name"`
	Type               int             `json:"type"`
	AmountOff          int64           `json:"amount_off"`
	PercentOff         int64           `json:"percent_off"`
	AmountAvailable    int64           `json:"amount_available"`
	MaxCirculation     int64           `json:"max_circulation"`
	MaxUserCirculation int64           `json:"max_user_circulation"`
	TimeStart          int64           `json:"time_start"`
	TimeEnd            int64           `json:"time_end"`
	Duration           int64           `json:"duration"`
	Refundable         bool            `json:"refundable"`
	Metadata           json.RawMessage `json:"metadata"`
}

// CouponUpdate changes what may change on a template or coupon.
type CouponUpdate struct {
	Name     *string         `json:"name,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// CreateCouponTemplate stores a template.
func (s *Service) CreateCouponTemplate(ctx context.Context, who Caller, p CouponTemplateParams, hook Hook) (any, error) {
	if p.TimeEnd != 0 && p.TimeEnd <= max(p.TimeStart, s.now().Unix()) {
		return nil, polypay.ParamError("expiration[time_end]", "expiration[time_end] 须晚于 time_start 和当前时间")
	}
	t := &polypay.CouponTemplate{ID: polypay.NewID("ctpl_"), AppID: who.App.ID, Livemode: who.Live, Name: p.Name,
		Type: p.Type, AmountOff: p.AmountOff, PercentOff: p.PercentOff, AmountAvailable: p.AmountAvailable,
		MaxCirculation: p.MaxCirculation, MaxUserCirculation: p.MaxUserCirculation, TimeStart: p.TimeStart,
		TimeEnd: p.TimeEnd, Duration: p.Duration, Refundable: p.Refundable, Metadata: p.Metadata}
	var out any
	err := s.write(ctx, func(tx Tx) error {
		t.Created = tx.Now()
		if err := tx.InsertCouponTemplate(ctx, t); err != nil {
			return err
		}
		out = wire.FromCouponTemplate(t)
		return runHook(hook, tx, out)
	})
	return out, err
}

// liveTemplate is an app's template that can still issue coupons.
func liveTemplate(ctx context.Context, tx CouponStore, who Caller, id, param string) (*polypay.CouponTemplate, error) {
	t, err := tx.GetCouponTemplate(ctx, who.App.ID, who.Live, id)
	if err == nil && t.Deleted != 0 {
		err = polypay.NotFound("coupon_template", id)
	}
	if polypay.ErrorCode(err) == polypay.ENotFound && param != "" {
		return nil, polypay.ParamError(param, "优惠券模板 %s 不存在", id)
	}
	return t, err
}

// GetCouponTemplate answers one template.
func (s *Service) GetCouponTemplate(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		t, err := liveTemplate(ctx, tx, who, id, "")
		if err == nil {
			out = wire.FromCouponTemplate(t)
		}
		return err
	})
	return out, err
}

// ListCouponTemplates lists the app's templates, newest first.
func (s *Service) ListCouponTemplates(ctx context.Context, who Caller, url string, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "coupon_templates", who, p); err != nil {
			return err
		}
		ts, more, err := tx.ListCouponTemplates(ctx, who.App.ID, who.Live, p)
		data := make([]any, 0, len(ts))
		for _, t := range ts {
			data = append(data, wire.FromCouponTemplate(t))
		}
		list = wire.NewList(url, more, data)
		return err
	})
	return list, err
}

// UpdateCouponTemplate changes a template's name or metadata.
func (s *Service) UpdateCouponTemplate(ctx context.Context, who Caller, id string, p CouponUpdate, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		t, err := liveTemplate(ctx, tx, who, id, "")
		if err != nil {
			return err
		}
		if p.Name != nil {
			t.Name = *p.Name
		}
		if p.Metadata != nil {
			t.Metadata = p.Metadata
		}
		if err := tx.UpdateCouponTemplate(ctx, t); err != nil {
			return err
		}
		out = wire.FromCouponTemplate(t)
		return runHook(hook, tx, out)
	})
	return out, err
}

// DeleteCouponTemplate stops a template from issuing coupons. Coupons
// already issued stay usable: the merchant promised them to users.
func (s *Service) DeleteCouponTemplate(ctx context.Context, who Caller, id string) (any, error) {
	err := s.write(ctx, func(tx Tx) error {
		t, err := liveTemplate(ctx, tx, who, id, "")
		if err != nil {
			return err
		}
		t.Deleted = tx.Now()
		return tx.UpdateCouponTemplate(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"deleted": true, "id": id}, nil
}

// CouponParams issue one coupon to a user.
type CouponParams struct {
	User     string          `json:"-"`
	Template string          `json:"coupon_template"`
	Metadata json.RawMessage `json:"metadata"`
}

// IssueCoupon issues a coupon of a template to a user. Concurrent issues
// never pass the template's max_circulation or max_user_circulation.
func (s *Service) IssueCoupon(ctx context.Context, who Caller, p CouponParams, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		t, err := liveTemplate(ctx, tx, who, p.Template, "coupon_template")
		if err != nil {
			return err
		}
		c, err := issueCoupon(ctx, tx, who, t, p.User, p.Metadata, "user")
		if err != nil {
			return err
		}
		out = wire.FromCoupon(c, t, tx.Now())
		return runHook(hook, tx, out)
	})
	if again, ok := retryOnce(ctx); ok && store.IsUniqueViolation(err) {
		return s.IssueCoupon(again, who, p, hook) // a concurrent issue took the same per-user number
	}
	return out, err
}

// BatchCouponParams issue one coupon of a template to each of users.
type BatchCouponParams struct {
	Template string          `json:"-"`
	Users    []string        `json:"users"`
	Metadata json.RawMessage `json:"metadata"`
}

// IssueCoupons issues a coupon to each user in one transaction: all or,
// naming the user that could not have one, none.
func (s *Service) IssueCoupons(ctx context.Context, who Caller, p BatchCouponParams, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		t, err := liveTemplate(ctx, tx, who, p.Template, "")
		if err != nil {
			return err
		}
		data := make([]any, 0, len(p.Users))
		for i, u := range p.Users {
			c, err := issueCoupon(ctx, tx, who, t, u, p.Metadata, fmt.Sprintf("users[%d]", i))
			if err != nil {
				return err
			}
			t.TimesCirculated++
			data = append(data, wire.FromCoupon(c, t, tx.Now()))
		}
		list := wire.NewList("/v1/apps/"+who.App.ID+"/coupon_templates/"+t.ID+"/coupons", false, data)
		out = list
		return runHook(hook, tx, out)
	})
	if again, ok := retryOnce(ctx); ok && store.IsUniqueViolation(err) {
		return s.IssueCoupons(again, who, p, hook)
	}
	return out, err
}

// issueCoupon checks the limits and stores one coupon, in the caller's
// transaction.
func issueCoupon(ctx context.Context, tx Tx, who Caller, t *polypay.CouponTemplate, user string, meta json.RawMessage, param string) (*polypay.Coupon, error) {
	if _, err := activeUser(ctx, tx, who, user, param); err != nil {
		return nil, err
	}
	n, err := tx.UserCouponCount(ctx, t.ID, user)
	if err != nil {
		return nil, err
	}
	if t.MaxUserCirculation > 0 && n >= t.MaxUserCirculation {
		return nil, polypay.ParamError(param, "用户 %s 已领取 %d 张该模板的优惠券，达到每人上限", user, n)
	}
	now := tx.Now()
	start, end := t.TimeStart, t.TimeEnd
	if t.Duration > 0 {
		start, end = now, now+t.Duration
	}
	if end != 0 && end <= now {
		return nil, polypay.ParamError("coupon_template", "优惠券模板 %s 已过有效期", t.ID)
	}
	ok, err := tx.CirculateCoupon(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, polypay.ParamError("coupon_template", "优惠券模板 %s 已达到最大发行量 %d", t.ID, t.MaxCirculation)
	}
	if len(meta) == 0 {
		meta = json.RawMessage("{}")
	}
	c := &polypay.Coupon{ID: polypay.NewID("cpn_"), AppID: who.App.ID, Livemode: who.Live, User: user, Template: t.ID,
		TimeStart: start, TimeEnd: end, UserTimesCirculated: n + 1, Metadata: meta, Created: now}
	return c, tx.InsertCoupon(ctx, c)
}

// renderCoupon renders a coupon with its template.
func renderCoupon(ctx context.Context, tx Tx, c *polypay.Coupon) (*wire.Coupon, error) {
	t, err := tx.GetCouponTemplate(ctx, c.AppID, c.Livemode, c.Template)
	if err != nil {
		return nil, err
	}
	return wire.FromCoupon(c, t, tx.Now()), nil
}

// GetCoupon answers one of a user's coupons.
func (s *Service) GetCoupon(ctx context.Context, who Caller, user, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		c, err := tx.GetCoupon(ctx, who.App.ID, who.Live, user, id)
		if err != nil {
			return err
		}
		out, err = renderCoupon(ctx, tx, c)
		return err
	})
	return out, err
}

// ListCoupons lists the coupons of a user or of a template (the other ""),
// redeemed or not when redeemed is not nil.
func (s *Service) ListCoupons(ctx context.Context, who Caller, url, user, templateID string, redeemed *bool, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if templateID != "" {
			if _, err := tx.GetCouponTemplate(ctx, who.App.ID, who.Live, templateID); err != nil {
				return err
			}
		} else if _, err := tx.GetUser(ctx, who.App.ID, who.Live, user); err != nil {
			return err
		}
		if err := checkCursor(ctx, tx, "coupons", who, p); err != nil {
			return err
		}
		cs, more, err := tx.ListCoupons(ctx, who.App.ID, who.Live, user, templateID, redeemed, p)
		if err != nil {
			return err
		}
		list, err = renderList(url, cs, more, func(c *polypay.Coupon) (any, error) { return renderCoupon(ctx, tx, c) })
		return err
	})
	return list, err
}

// UpdateCoupon changes a coupon's metadata.
func (s *Service) UpdateCoupon(ctx context.Context, who Caller, user, id string, p CouponUpdate, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		c, err := tx.GetCoupon(ctx, who.App.ID, who.Live, user, id)
		if err != nil {
			return err
		}
		if p.Metadata != nil {
			c.Metadata = p.Metadata
		}
		if err := tx.SetCoupon(ctx, c); err != nil {
			return err
		}
		if out, err = renderCoupon(ctx, tx, c); err != nil {
			return err
		}
		return runHook(hook, tx, out)
	})
	return out, err
}

// DeleteCoupon takes back a coupon that no order holds or redeemed.
func (s *Service) DeleteCoupon(ctx context.Context, who Caller, user, id string) (any, error) {
	err := s.write(ctx, func(tx Tx) error {
		c, err := tx.GetCoupon(ctx, who.App.ID, who.Live, user, id)
		if err != nil {
			return err
		}
		ok, err := tx.DeleteCoupon(ctx, c.ID)
		if err == nil && !ok {
			err = polypay.ParamError("id", "优惠券 %s 已被订单使用，不能删除", id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"deleted": true, "id": id}, nil
}
