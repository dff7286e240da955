package unionpay

import (
	"fmt"

	"github.com/polypay/polypay"
)

// origState maps a query's origRespCode, the original transaction's
// outcome. 00 (and A6, success with a defect in the message, which
// UnionPay still settles) is paid; 03, 04 and 05 leave it in progress;
// every other documented code is a failure. An undocumented code is not
// guessed: a wrong guess would move money state.
func origState(code string) (polypay.TradeState, error) {
	switch code {
	case "00", "A6":
		return polypay.TradePaid, nil
	case "03", "04", "05":
		return polypay.TradePending, nil
	case "01", "02", "06", "10", "11", "12", "13", "14",
		"30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46",
		"60", "61", "62", "63", "64", "65", "66", "67", "68", "69", "70", "71", "72", "73", "74", "75", "76", "77", "78", "79", "80",
		"98", "99":
		return polypay.TradeFailed, nil
	}
	return polypay.TradeUnknown, &polypay.Error{Code: polypay.ENotSupported,
		Message: fmt.Sprintf("unionpay origRespCode %q is not supported", code)}
}

// unknownOutcome: 03 (通讯超时), 04 (状态未明), 05 (已受理) say the
// request may or may not have been carried out.
func unknownOutcome(code string) bool { return code == "03" || code == "04" || code == "05" }

// retryable: 02 (系统未开放), 06 (系统繁忙), 37 (操作过于频繁) refused the
// request without looking at it.
func retryable(code string) bool { return code == "02" || code == "06" || code == "37" }

// payoutState maps a payout's (代付, txnType 12) outcome: a notification's
// respCode or a query's origRespCode. UnionPay's payout guide says to keep
// querying on 01, 03, 04, 05, 12, 34 and 60, so for a payout those are
// processing, unlike a purchase's origState: a payout called failed that
// later pays lets the merchant pay the same person twice. The codes that
// say money was taken (42, 74, 75: 扣款成功...) are never called failed
// either. Every other documented code is a failure, which for a payout
// means no money left the merchant for good; an undocumented code is not
// guessed.
func payoutState(code string) (polypay.PayoutState, error) {
	switch code {
	case "00", "A6":
		return polypay.PayoutPaid, nil
	case "01", "03", "04", "05", "12", "34", "60", "42", "74", "75":
		return polypay.PayoutProcessing, nil
	case "02", "06", "10", "11", "13", "14",
		"30", "31", "32", "33", "35", "36", "37", "38", "39", "40", "41", "43", "44", "45", "46",
		"61", "62", "63", "64", "65", "66", "67", "68", "69", "70", "71", "72", "73", "76", "77", "78", "79", "80",
		"98", "99":
		return polypay.PayoutFailed, nil
	}
	return "", &polypay.Error{Code: polypay.ENotSupported,
		Message: fmt.Sprintf("unionpay payout code %q is not supported", code)}
}

// payoutAnswer is what the synchronous answer to a payout request says.
type payoutAnswer int

const (
	payoutAccepted  payoutAnswer = iota // 00: taken (受理), decided later
	payoutDuplicate                     // 12: the orderId was taken before; a query says how it went
	payoutInDoubt                       // the outcome is unknown: query before anything else
	payoutRefused                       // refused: nothing was paid
)

// answerOf classifies a payout request's respCode. UnionPay's payout guide
// lists 01, 03, 04, 05, 34 and 60 (and 12, handled apart) as answers to
// query after; 02, 06 and 37 refused the request without looking at it, so
// repeating it is safe, which a query tells too. Every other code is a
// refusal ("其他应答码做以失败处理").
func answerOf(code string) payoutAnswer {
	switch code {
	case "00":
		return payoutAccepted
	case "12":
		return payoutDuplicate
	case "01", "03", "04", "05", "34", "60", "02", "06", "37":
		return payoutInDoubt
	default:
		return payoutRefused
	}
}
