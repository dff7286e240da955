package alipay

import (
	"fmt"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
)

// tradeState maps Alipay's trade_status. The switch is exhaustive over the
// statuses Alipay documents; anything else is reported as not supported
// rather than guessed, because a wrong guess would move money state.
func tradeState(s sdk.TradeStatus) (polypay.TradeState, error) {
	switch s {
	case sdk.TradeStatusWaitBuyerPay:
		return polypay.TradePending, nil
	case sdk.TradeStatusSuccess:
		return polypay.TradePaid, nil
	case sdk.TradeStatusFinished:
		return polypay.TradeFinished, nil
	case sdk.TradeStatusClosed:
		// Unpaid timeout/close, or fully refunded: the caller tells them
		// apart by whether the charge was paid.
		return polypay.TradeClosed, nil
	}
	return polypay.TradeUnknown, &polypay.Error{
		Code:    polypay.ENotSupported,
		Message: fmt.Sprintf("alipay trade_status %q is not supported", string(s)),
	}
}

// refundStatus maps refund_status of alipay.trade.fastpay.refund.query.
// Alipay only ever reports REFUND_SUCCESS there; an absent status means "not
// received, still processing, or failed", which only the caller can decide
// (by retrying the refund with the same out_request_no), so it stays pending.
func refundStatus(s string) (polypay.RefundStatus, error) {
	switch s {
	case "REFUND_SUCCESS":
		return polypay.RefundSucceeded, nil
	case "":
		return polypay.RefundPending, nil
	}
	return "", &polypay.Error{
		Code:    polypay.ENotSupported,
		Message: fmt.Sprintf("alipay refund_status %q is not supported", s),
	}
}

// payoutState maps the status of a transfer order
// (alipay.fund.trans.uni.transfer, alipay.fund.trans.common.query, the
// alipay.fund.trans.order.changed message). The switch is exhaustive over
// the statuses Alipay documents for its fund orders; anything else is not
// supported rather than guessed.
func payoutState(s string) (polypay.PayoutState, error) {
	switch s {
	case "SUCCESS":
		return polypay.PayoutPaid, nil
	case "DEALING", // being paid
		"WAIT_PAY", // waiting to be paid (red packets, app transfers)
		"INIT":     // created, nothing paid yet
		return polypay.PayoutProcessing, nil
	case "FAIL": // refused after it was accepted; the money is back
		return polypay.PayoutFailed, nil
	case "REFUND": // 退票: a bank card sent the money back
		return polypay.PayoutFailed, nil
	case "CLOSED": // closed before it was paid
		return polypay.PayoutFailed, nil
	}
	return "", &polypay.Error{
		Code:    polypay.ENotSupported,
		Message: fmt.Sprintf("alipay transfer status %q is not supported", s),
	}
}
