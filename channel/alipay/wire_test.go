package alipay

import (
	"errors"
	"testing"
	"time"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
)

func TestFormatYuan(t *testing.T) {
	tests := []struct {
		name string
		fen  int64
		want string
	}{
		{"OneFen", 1, "0.01"},
		{"TenFen", 10, "0.10"},
		{"TwentyNineFen", 29, "0.29"}, // 0.29 is not exact in binary floating point
		{"Yuan", 100, "1.00"},
		{"Mixed", 1234, "12.34"},
		{"Max", maxFen, "100000000.00"},
		{"Zero", 0, "0.00"},
		{"Negative", -1205, "-12.05"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatYuan(tt.fen); got != tt.want {
				t.Fatalf("formatYuan(%d) = %q, want %q", tt.fen, got, tt.want)
			}
		})
	}
}

func TestParseYuan(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"TwoDecimals", "12.34", 1234, true},
		{"OneDecimal", "12.3", 1230, true},
		{"NoDecimals", "12", 1200, true},
		{"Zero", "0.00", 0, true},
		{"LeadingZeroYuan", "0.29", 29, true},
		{"Max", "100000000.00", maxFen, true},
		{"ErrEmpty", "", 0, false},
		{"ErrThreeDecimals", "12.345", 0, false},
		{"ErrTrailingDot", "12.", 0, false},
		{"ErrLeadingDot", ".5", 0, false},
		{"ErrLeadingZero", "012.00", 0, false},
		{"ErrNegative", "-1.00", 0, false},
		{"ErrPlus", "+1.00", 0, false},
		{"ErrExponent", "1e2", 0, false},
		{"ErrSpace", " 1.00", 0, false},
		{"ErrComma", "1,000.00", 0, false},
		{"ErrTwoDots", "1.0.0", 0, false},
		{"ErrTooLong", "1234567890123.00", 0, false},
		{"ErrFullWidthDigit", "１.00", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseYuan(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("parseYuan(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestYuanRoundTrip(t *testing.T) {
	for fen := int64(0); fen <= 100_000; fen++ {
		got, err := parseYuan(formatYuan(fen))
		if err != nil || got != fen {
			t.Fatalf("%d -> %q -> %d, %v", fen, formatYuan(fen), got, err)
		}
	}
}

func TestTime(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"OK", "2026-11-21 10:00:00", time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC).Unix(), true},
		{"OKMillis", "2026-11-21 10:00:00.123", time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC).Unix(), true},
		{"ErrISO", "2026-11-21T10:00:00+08:00", 0, false},
		{"ErrDateOnly", "2026-11-21", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTime(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("parseTime(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
			if tt.ok && formatTime(got) != tt.in[:19] {
				t.Fatalf("formatTime(%d) = %q, want %q", got, formatTime(got), tt.in[:19])
			}
		})
	}
}

func TestTradeState(t *testing.T) {
	tests := []struct {
		in   sdk.TradeStatus
		want polypay.TradeState
		code string
	}{
		{sdk.TradeStatusWaitBuyerPay, polypay.TradePending, ""},
		{sdk.TradeStatusSuccess, polypay.TradePaid, ""},
		{sdk.TradeStatusFinished, polypay.TradeFinished, ""},
		{sdk.TradeStatusClosed, polypay.TradeClosed, ""},
		{"TRADE_PENDING", polypay.TradeUnknown, polypay.ENotSupported},
		{"", polypay.TradeUnknown, polypay.ENotSupported},
		{"trade_success", polypay.TradeUnknown, polypay.ENotSupported},
	}
	for _, tt := range tests {
		t.Run(string(tt.in), func(t *testing.T) {
			got, err := tradeState(tt.in)
			if got != tt.want || polypay.ErrorCode(err) != tt.code {
				t.Fatalf("tradeState(%q) = %q, %v; want %q code %q", tt.in, got, err, tt.want, tt.code)
			}
		})
	}
}

func TestRefundStatus(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want polypay.RefundStatus
		code string
	}{
		{"Success", "REFUND_SUCCESS", polypay.RefundSucceeded, ""},
		{"AbsentIsPending", "", polypay.RefundPending, ""},
		{"ErrUnknown", "REFUND_PROCESSING", "", polypay.ENotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := refundStatus(tt.in)
			if got != tt.want || polypay.ErrorCode(err) != tt.code {
				t.Fatalf("refundStatus(%q) = %q, %v; want %q code %q", tt.in, got, err, tt.want, tt.code)
			}
		})
	}
}

func TestAPIError(t *testing.T) {
	tests := []struct {
		name        string
		in          sdk.Error
		code        string // polypay code; EInternal = plain retryable error
		channelCode string
	}{
		{"BusinessKeepsSubCode", sdk.Error{Code: "40004", Msg: "Business Failed", SubCode: "ACQ.TRADE_STATUS_ERROR", SubMsg: "交易状态不合法"}, polypay.EChannel, "ACQ.TRADE_STATUS_ERROR"},
		{"NoSubCodeKeepsCode", sdk.Error{Code: "40006", Msg: "Insufficient Permissions"}, polypay.EChannel, "40006"},
		{"UnknownOutcomeIsRetryable", sdk.Error{Code: "20000", Msg: "Service Currently Unavailable", SubCode: "isp.unknow-error"}, polypay.EInternal, ""},
		{"SystemErrorIsRetryable", sdk.Error{Code: "40004", SubCode: "ACQ.SYSTEM_ERROR"}, polypay.EInternal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := apiError("test", tt.in)
			if polypay.ErrorCode(err) != tt.code {
				t.Fatalf("code %s, want %s (%v)", polypay.ErrorCode(err), tt.code, err)
			}
			if pe, ok := err.(*polypay.Error); ok && pe.ChannelCode != tt.channelCode {
				t.Fatalf("channel code %q, want %q", pe.ChannelCode, tt.channelCode)
			}
			var ae sdk.Error
			if !errors.As(err, &ae) || ae.Code != tt.in.Code {
				t.Fatalf("the alipay error is not reachable through %v", err)
			}
		})
	}
}
