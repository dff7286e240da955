package wechatpay

import (
	"testing"

	"github.com/polypay/polypay"
)

func TestTradeState(t *testing.T) {
	tests := []struct {
		in   string
		want polypay.TradeState
		code string // error code, "" for none
	}{
		{"SUCCESS", polypay.TradePaid, ""},
		{"REFUND", polypay.TradePaid, ""},
		{"NOTPAY", polypay.TradePending, ""},
		{"USERPAYING", polypay.TradePending, ""},
		{"CLOSED", polypay.TradeClosed, ""},
		{"REVOKED", polypay.TradeClosed, ""},
		{"PAYERROR", polypay.TradeClosed, ""},
		{"", polypay.TradeUnknown, polypay.ENotSupported},
		{"success", polypay.TradeUnknown, polypay.ENotSupported},
		{"ACCEPT", polypay.TradeUnknown, polypay.ENotSupported},
	}
	for _, tt := range tests {
		t.Run("State"+tt.in, func(t *testing.T) {
			got, err := tradeState(tt.in)
			if got != tt.want || polypay.ErrorCode(err) != tt.code {
				t.Fatalf("tradeState(%q) = %q, %v; want %q, code %q", tt.in, got, err, tt.want, tt.code)
			}
		})
	}
}

func TestRefundStatus(t *testing.T) {
	tests := []struct {
		in   string
		want polypay.RefundStatus
		code string
	}{
		{"SUCCESS", polypay.RefundSucceeded, ""},
		{"PROCESSING", polypay.RefundPending, ""},
		{"CLOSED", polypay.RefundFailed, ""},
		{"ABNORMAL", polypay.RefundFailed, ""},
		{"", "", polypay.ENotSupported},
		{"REFUNDCLOSE", "", polypay.ENotSupported},
	}
	for _, tt := range tests {
		t.Run("Status"+tt.in, func(t *testing.T) {
			got, err := refundStatus(tt.in)
			if got != tt.want || polypay.ErrorCode(err) != tt.code {
				t.Fatalf("refundStatus(%q) = %q, %v; want %q, code %q", tt.in, got, err, tt.want, tt.code)
			}
			if got == polypay.RefundFailed && refundFailureMsg[tt.in] == "" {
				t.Fatalf("no failure message for %s", tt.in)
			}
		})
	}
}
