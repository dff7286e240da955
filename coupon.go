package polypay

import "encoding/json"

// Coupons of the account system (Ping++'s 优惠券): a template says what a
// coupon takes off an order and how many may circulate; coupons are
// issued from it to an app's users and redeemed on orders (Order.Coupon).

// Coupon template types, as Ping++ numbers them.
const (
	CouponCash     = 1 // amount_off: a fixed amount off (现金券)
	CouponDiscount = 2 // percent_off: a share of the order off (折扣券)
)

// CouponTemplate is what coupons are issued from. MaxCirculation and
// MaxUserCirculation 0 mean no limit; TimeStart/TimeEnd 0 mean unbounded;
// Duration > 0 gives each coupon a validity of that many seconds from its
// issue instead.
type CouponTemplate struct {
	ID                 string
	AppID              string
	Livemode           bool
	Name               string
	Type               int
	AmountOff          int64
	PercentOff         int64
	AmountAvailable    int64 // the least order amount a coupon applies to
	MaxCirculation     int64
	MaxUserCirculation int64
	TimeStart          int64
	TimeEnd            int64
	Duration           int64
	Refundable         bool
	TimesCirculated    int64
	TimesRedeemed      int64
	Metadata           json.RawMessage
	Created            int64
	Deleted            int64
}

// Off is what a coupon of this template takes off an order of amount, or
// 0 when the order is too small for it. At least one minor unit is left
// to pay, as with every discount.
func (t *CouponTemplate) Off(amount int64) int64 {
	if amount < t.AmountAvailable || amount < 2 {
		return 0
	}
	off := t.AmountOff
	if t.Type == CouponDiscount {
		off = amount * t.PercentOff / 100
	}
	return min(off, amount-1)
}

// Coupon is one user's coupon. Order is the order it is held by (reserved
// when the order is created, released when the order is canceled);
// Redeemed is set when that order is paid, and cleared again when a
// refundable coupon's order is refunded in full.
type Coupon struct {
	ID                  string
	AppID               string
	Livemode            bool
	User                string
	Template            string
	TimeStart           int64
	TimeEnd             int64
	Order               string
	Redeemed            bool
	ActualAmount        int64 // what it took off the order that redeemed it
	UserTimesCirculated int64 // the user's how-manieth coupon of its template
	Metadata            json.RawMessage
	Created             int64
}

// ValidAt reports whether the coupon can still be used at now.
func (c *Coupon) ValidAt(now int64) bool {
	return !c.Redeemed && now >= c.TimeStart && (c.TimeEnd == 0 || now < c.TimeEnd)
}
