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
