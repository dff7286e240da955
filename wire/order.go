package wire

import (
	"encoding/json"

	"github.com/polypay/polypay"
)

// Order is the Ping++ order object, with polypay's cashier fields after
// Ping++'s own.
type Order struct {
	ID               string          `json:"id"`
	Object           string          `json:"object"`
	Created          int64           `json:"created"`
	Livemode         bool            `json:"livemode"`
	Paid             bool            `json:"paid"`
	Refunded         bool            `json:"refunded"`
	Status           string          `json:"status"`
	App              string          `json:"app"`
	UID              *string         `json:"uid"`
	MerchantOrderNo  string          `json:"merchant_order_no"`
	Amount           int64           `json:"amount"`
	CouponAmount     int64           `json:"coupon_amount"`
	ActualAmount     int64           `json:"actual_amount"`
	AmountPaid       int64           `json:"amount_paid"`
	AmountRefunded   int64           `json:"amount_refunded"`
	Currency         string          `json:"currency"`
	Subject          string          `json:"subject"`
	Body             string          `json:"body"`
	Description      *string         `json:"description"`
	TimePaid         *int64          `json:"time_paid"`
	TimeExpire       int64           `json:"time_expire"`
	Charge           *string         `json:"charge"`
	Charges          List            `json:"charges"`
	ChargeEssentials json.RawMessage `json:"charge_essentials"`
	Metadata         json.RawMessage `json:"metadata"`
	AllowedChannels  []string        `json:"allowed_channels"`
	ReturnURL        *string         `json:"return_url"`
	CashierURL       string          `json:"cashier_url"`
	// Ping++'s account-system fields: the coupon redeemed, the user's
	// balance (when uid names a user), and the apps (the order's own app:
	// sub-apps are not built).
	Coupon           *string  `json:"coupon"`
	ClientIP         *string  `json:"client_ip"`
	AvailableBalance int64    `json:"available_balance"`
	ReceiptApp       string   `json:"receipt_app"`
	ServiceApp       string   `json:"service_app"`
	AvailableMethods []string `json:"available_methods"`
}

// OrderRefund is Ping++'s order refund: what was refunded of the order's
// balance part and of its channel part, with the refunds that did it.
type OrderRefund struct {
	ID                 string          `json:"id"`
	Object             string          `json:"object"`
	Order              string          `json:"order"`
	App                string          `json:"app"`
	Livemode           bool            `json:"livemode"`
	UID                *string         `json:"uid"`
	MerchantOrderNo    string          `json:"merchant_order_no"`
	Coupon             *string         `json:"coupon"`
	Amount             int64           `json:"amount"`
	CouponAmount       int64           `json:"coupon_amount"`
	BalanceAmount      int64           `json:"balance_amount"`
	ChargeAmount       int64           `json:"charge_amount"`
	BalanceRefund      *string         `json:"balance_refund"`
	BalanceTransaction *string         `json:"balance_transaction"`
	Charge             *string         `json:"charge"`
	ChargeRefund       *string         `json:"charge_refund"`
	Status             string          `json:"status"`
	TimeSucceed        *int64          `json:"time_succeed"`
	Description        *string         `json:"description"`
	RefundMode         *string         `json:"refund_mode"`
	Metadata           json.RawMessage `json:"metadata"`
	Extra              json.RawMessage `json:"extra"`
	Created            int64           `json:"created"`
}

// Discount is polypay's discount rule object.
type Discount struct {
	ID         string          `json:"id"`
	Object     string          `json:"object"`
	Created    int64           `json:"created"`
	Livemode   bool            `json:"livemode"`
	App        string          `json:"app"`
	Channel    string          `json:"channel"`
	Type       string          `json:"type"`
	AmountOff  *int64          `json:"amount_off"`
	PercentOff *int64          `json:"percent_off"`
	MinAmount  int64           `json:"min_amount"`
	Label      json.RawMessage `json:"label"`
	// FirstPaymentOnly: only for an order with a uid that has no paid
	// order yet in this app and mode on the rule's channel family.
	FirstPaymentOnly bool `json:"first_payment_only"`
}

// FromDiscount renders a discount rule.
func FromDiscount(d *polypay.Discount) *Discount {
	out := &Discount{ID: d.ID, Object: "discount", Created: d.Created, Livemode: d.Livemode, App: d.AppID,
		Channel: d.Channel, Type: d.Type, MinAmount: d.MinAmount, Label: d.Label, FirstPaymentOnly: d.FirstPaymentOnly}
	if d.Type == polypay.DiscountAmountOff {
		v := d.AmountOff
		out.AmountOff = &v
	} else {
		v := d.PercentOff
		out.PercentOff = &v
	}
	return out
}
