package wire

import (
	"encoding/json"

	"github.com/polypay/polypay"
)

// CouponTemplate is Ping++'s coupon_template object.
type CouponTemplate struct {
	ID                 string          `json:"id"`
	Object             string          `json:"object"`
	App                string          `json:"app"`
	Livemode           bool            `json:"livemode"`
	Name               *string         `json:"name"`
	Type               int             `json:"type"`
	AmountOff          *int64          `json:"amount_off"`
	PercentOff         *int64          `json:"percent_off"`
	AmountAvailable    int64           `json:"amount_available"`
	MaxCirculation     *int64          `json:"max_circulation"`
	MaxUserCirculation *int64          `json:"max_user_circulation"`
	Expiration         *Expiration     `json:"expiration"`
	Refundable         bool            `json:"refundable"`
	TimesCirculated    int64           `json:"times_circulated"`
	TimesRedeemed      int64           `json:"times_redeemed"`
	Metadata           json.RawMessage `json:"metadata"`
	Created            int64           `json:"created"`
}

// Expiration is a template's validity: fixed dates, or a duration in
// seconds from each coupon's issue.
type Expiration struct {
	TimeStart *int64 `json:"time_start"`
	TimeEnd   *int64 `json:"time_end"`
	Duration  *int64 `json:"duration"`
}

// FromCouponTemplate renders a template.
func FromCouponTemplate(t *polypay.CouponTemplate) *CouponTemplate {
	w := &CouponTemplate{ID: t.ID, Object: "coupon_template", App: t.AppID, Livemode: t.Livemode, Name: nullStr(t.Name),
		Type: t.Type, AmountAvailable: t.AmountAvailable, MaxCirculation: nullInt(t.MaxCirculation),
		MaxUserCirculation: nullInt(t.MaxUserCirculation), Refundable: t.Refundable, TimesCirculated: t.TimesCirculated,
		TimesRedeemed: t.TimesRedeemed, Metadata: object(t.Metadata), Created: t.Created}
	if t.Type == polypay.CouponDiscount {
		w.PercentOff = &t.PercentOff
	} else {
		w.AmountOff = &t.AmountOff
	}
	if t.TimeStart != 0 || t.TimeEnd != 0 || t.Duration != 0 {
		w.Expiration = &Expiration{TimeStart: nullInt(t.TimeStart), TimeEnd: nullInt(t.TimeEnd), Duration: nullInt(t.Duration)}
	}
	return w
}

// Coupon is Ping++'s coupon object: a user's coupon with its template.
type Coupon struct {
	ID                  string          `json:"id"`
	Object              string          `json:"object"`
	App                 string          `json:"app"`
	Livemode            bool            `json:"livemode"`
	User                string          `json:"user"`
	CouponTemplate      *CouponTemplate `json:"coupon_template"`
	ActualAmount        *int64          `json:"actual_amount"`
	Order               *string         `json:"order"`
	Redeemed            bool            `json:"redeemed"`
	Valid               bool            `json:"valid"`
	TimeStart           *int64          `json:"time_start"`
	TimeEnd             *int64          `json:"time_end"`
	UserTimesCirculated int64           `json:"user_times_circulated"`
	Metadata            json.RawMessage `json:"metadata"`
	Created             int64           `json:"created"`
}

// FromCoupon renders a coupon with its template, valid as of now.
func FromCoupon(c *polypay.Coupon, t *polypay.CouponTemplate, now int64) *Coupon {
	return &Coupon{ID: c.ID, Object: "coupon", App: c.AppID, Livemode: c.Livemode, User: c.User,
		CouponTemplate: FromCouponTemplate(t), ActualAmount: nullInt(c.ActualAmount), Order: nullStr(c.Order),
		Redeemed: c.Redeemed, Valid: c.ValidAt(now), TimeStart: nullInt(c.TimeStart), TimeEnd: nullInt(c.TimeEnd),
		UserTimesCirculated: c.UserTimesCirculated, Metadata: object(c.Metadata), Created: c.Created}
}
