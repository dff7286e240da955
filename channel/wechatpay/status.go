package wechatpay

import (
	"fmt"

	"github.com/polypay/polypay"
)

// tradeState maps WeChat Pay's trade_state. The switch is exhaustive over
// the states WeChat Pay documents; anything else is reported as not
// supported rather than guessed, because a wrong guess would move money
// state.
func tradeState(s string) (polypay.TradeState, error) {
	switch s {
	case "SUCCESS":
		return polypay.TradePaid, nil
	case "REFUND":
		// Paid, then refunded in part or in full: still a paid charge,
		// whose refunds polypay tracks itself.
		return polypay.TradePaid, nil
	case "NOTPAY", "USERPAYING":
		return polypay.TradePending, nil
	case "CLOSED", "REVOKED", "PAYERROR":
		return polypay.TradeClosed, nil
	}
	return polypay.TradeUnknown, &polypay.Error{
		Code:    polypay.ENotSupported,
		Message: fmt.Sprintf("wechatpay trade_state %q is not supported", s),
	}
}

// refundStatus maps a refund's status. CLOSED (closed by the merchant or
// WeChat) and ABNORMAL (the buyer's account can no longer take the money;
// only the merchant platform can redirect it) are failures that keep the
// status as failure code.
func refundStatus(s string) (polypay.RefundStatus, error) {
	switch s {
	case "SUCCESS":
		return polypay.RefundSucceeded, nil
	case "PROCESSING":
		return polypay.RefundPending, nil
	case "CLOSED", "ABNORMAL":
		return polypay.RefundFailed, nil
	}
	return "", &polypay.Error{
		Code:    polypay.ENotSupported,
		Message: fmt.Sprintf("wechatpay refund status %q is not supported", s),
	}
}

// refundFailureMsg describes the failed refund statuses.
var refundFailureMsg = map[string]string{
	"CLOSED":   "退款关闭",
	"ABNORMAL": "退款异常：用户账户异常或已注销，需在商户平台手动处理",
}
