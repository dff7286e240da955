package ledger_test

import (
	"fmt"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
)

func TestTxnValidate(t *testing.T) {
	tests := []struct {
		name  string
		lines []polypay.Posting
		ok    bool
	}{
		{"OK", []polypay.Posting{{Account: "a", Amount: 5}, {Account: "b", Amount: -5}}, true},
		{"OKThreeLines", []polypay.Posting{{Account: "a", Amount: 5}, {Account: "b", Amount: -3}, {Account: "c", Amount: -2}}, true},
		{"ErrUnbalanced", []polypay.Posting{{Account: "a", Amount: 5}, {Account: "b", Amount: -4}}, false},
		{"ErrOneLine", []polypay.Posting{{Account: "a", Amount: 0}}, false},
		{"ErrNoLines", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ledger.Txn{RefType: ledger.RefCharge, RefID: "ch_1", Lines: tc.lines}.Validate()
			if got := err == nil; got != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestEvents: each business event moves the accounts the chart says, in its
// book, under its ref.
func TestEvents(t *testing.T) {
	paid := &polypay.Charge{ID: "ch_1", AppID: "app_1", Livemode: true, Currency: "usd", Channel: "card",
		Status: polypay.ChargePaid, Amount: 120, AmountCaptured: 100, AmountRefunded: 30, TimePaid: 1}
	refund := &polypay.Refund{ID: "re_1", AppID: "app_1", Livemode: true, Currency: "usd", ChargeID: "ch_1", Amount: 30}
	fullyRefunded := *paid
	fullyRefunded.AmountRefunded = 100
	order := ledger.Order{ID: "or_1", AppID: "app_1", Livemode: true, Currency: "usd", Amount: 150, CouponAmount: 50}
	noCoupon := order
	noCoupon.CouponAmount = 0
	fee := ledger.FeeLine{Ref: "pay:ch_1", AppID: "app_1", Livemode: true, Channel: "card", Currency: "usd", Amount: 3}
	feeBack, noFee := fee, fee
	feeBack.Amount, noFee.Amount = -2, 0
	tests := []struct {
		name    string
		got     ledger.Txn
		refType string
		refID   string
		want    string
	}{
		{"ChargePaid", ledger.ChargePaid(paid), ledger.RefCharge, "ch_1", "[{channel:card 100} {merchant -100}]"},
		{"Refunded", ledger.Refunded(paid, refund), ledger.RefRefund, "re_1", "[{merchant 30} {channel:card -30}]"},
		{"Reversed", ledger.Reversed(paid), ledger.RefReversal, "ch_1", "[{merchant 70} {channel:card -70}]"},
		{"ReversedNothingKept", ledger.Reversed(&fullyRefunded), ledger.RefReversal, "ch_1", "[]"},
		{"Discounted", ledger.Discounted(order), ledger.RefDiscount, "or_1", "[{discounts 50} {discounts_offset -50}]"},
		{"DiscountedNoCoupon", ledger.Discounted(noCoupon), ledger.RefDiscount, "or_1", "[]"},
		{"FeeTaken", ledger.Fee(fee), ledger.RefFee, "pay:ch_1", "[{fees 3} {channel:card -3}]"},
		{"FeeGivenBack", ledger.Fee(feeBack), ledger.RefFee, "pay:ch_1", "[{fees -2} {channel:card 2}]"},
		{"FeeZero", ledger.Fee(noFee), ledger.RefFee, "pay:ch_1", "[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.got
			if g.AppID != "app_1" || !g.Livemode || g.Currency != "usd" || g.RefType != tc.refType || g.RefID != tc.refID {
				t.Errorf("book and ref = %s/%v/%s %s %s, want app_1/true/usd %s %s", g.AppID, g.Livemode, g.Currency, g.RefType, g.RefID, tc.refType, tc.refID)
			}
			if got := fmt.Sprint(g.Lines); got != tc.want {
				t.Errorf("lines = %s, want %s", got, tc.want)
			}
			if len(g.Lines) > 0 {
				if err := g.Validate(); err != nil {
					t.Errorf("Validate() = %v", err)
				}
			}
		})
	}
}
