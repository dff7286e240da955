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

// detailState maps a transfer detail's detail_status. INIT (being
// checked), WAIT_PAY (waiting for the merchant's staff to confirm, above
// the no-confirmation amount) and PROCESSING are all still undecided.
func detailState(s string) (polypay.PayoutState, error) {
	switch s {
	case "INIT", "WAIT_PAY", "PROCESSING":
		return polypay.PayoutProcessing, nil
	case "SUCCESS":
		return polypay.PayoutPaid, nil
	case "FAIL":
		return polypay.PayoutFailed, nil
	}
	return "", &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("wechatpay transfer detail_status %q is not supported", s)}
}

// batchState is what a batch's batch_status says of a detail the batch
// does not show: WAIT_PAY, ACCEPTED and PROCESSING batches have not made
// their details yet; a CLOSED batch paid none (close_reason says why); a
// FINISHED one ended without it.
func batchState(s string) (polypay.PayoutState, error) {
	switch s {
	case "WAIT_PAY", "ACCEPTED", "PROCESSING":
		return polypay.PayoutProcessing, nil
	case "CLOSED":
		return polypay.PayoutFailed, nil
	case "FINISHED":
		return polypay.PayoutNotFound, nil
	}
	return "", &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("wechatpay transfer batch_status %q is not supported", s)}
}

// failReasonMsg describes a failed detail's fail_reason. The code itself
// is kept as the failure code; a reason WeChat adds later still fails the
// payout (the detail_status says so), with a generic text.
func failReasonMsg(code string) string {
	switch code {
	case "ACCOUNT_FROZEN":
		return "收款用户账户冻结"
	case "REAL_NAME_CHECK_FAIL":
		return "收款用户未实名认证"
	case "NAME_NOT_CORRECT":
		return "收款用户姓名校验失败"
	case "OPENID_INVALID":
		return "openid 校验失败：不是该 appid 下的用户"
	case "TRANSFER_QUOTA_EXCEED":
		return "超过用户单笔收款额度"
	case "DAY_RECEIVED_QUOTA_EXCEED":
		return "超过用户单日收款额度"
	case "MONTH_RECEIVED_QUOTA_EXCEED":
		return "超过用户单月收款额度"
	case "DAY_RECEIVED_COUNT_EXCEED":
		return "超过用户单日收款次数"
	case "PRODUCT_AUTH_CHECK_FAIL":
		return "商户未开通商家转账或产品权限校验失败"
	case "OVERDUE_CLOSE":
		return "超过系统重试期，系统自动关闭"
	case "ID_CARD_NOT_CORRECT":
		return "收款用户身份证校验失败"
	case "ACCOUNT_NOT_EXIST":
		return "收款用户账户不存在"
	case "TRANSFER_RISK":
		return "转账存在风险，被微信拦截"
	case "OTHER_FAIL_REASON_TYPE":
		return "其他失败原因"
	case "REALNAME_ACCOUNT_RECEIVED_QUOTA_EXCEED":
		return "收款用户实名账户收款受限"
	case "RECEIVE_ACCOUNT_NOT_PERMMIT":
		return "收款用户未开通零钱收款或设置了收款限制"
	case "PAYEE_ACCOUNT_ABNORMAL":
		return "收款用户账户异常"
	case "PAYER_ACCOUNT_ABNORMAL":
		return "商户账户付款受限"
	case "TRANSFER_SCENE_UNAVAILABLE":
		return "转账场景暂不可用"
	case "TRANSFER_SCENE_INVALID":
		return "转账场景无效"
	case "TRANSFER_REMARK_SET_FAIL":
		return "转账备注设置失败"
	case "RECEIVE_ACCOUNT_NOT_CONFIGURE":
		return "收款账户未配置"
	case "BLOCK_B2C_USERLIMITAMOUNT_BSRULE_MONTH":
		return "超过用户单月接收商家转账额度"
	case "BLOCK_B2C_USERLIMITAMOUNT_MONTH":
		return "超过用户单月收款额度（商家转账）"
	case "MERCHANT_REJECT":
		return "商户员工拒绝出资确认"
	case "MERCHANT_NOT_CONFIRM":
		return "商户员工未在规定时间内确认出资"
	case "NOT_ENOUGH":
		return "商户账户资金不足"
	}
	return "微信转账失败（" + code + "）"
}

// closeReasonMsg describes a closed batch's close_reason.
func closeReasonMsg(code string) string {
	switch code {
	case "OVERDUE_CLOSE":
		return "批次超过系统重试期，系统自动关闭（如商户账户资金不足）"
	case "TRANSFER_SCENE_INVALID":
		return "转账场景已失效，批次关闭"
	}
	return "微信转账批次已关闭（" + code + "）"
}

// redpackStatus maps a red envelope's status (gethbinfo). RFUND_ING is
// WeChat's spelling.
func redpackStatus(s string) (polypay.RedEnvelopeStatus, error) {
	switch s {
	case "SENDING":
		return polypay.RedEnvelopeSending, nil
	case "SENT":
		return polypay.RedEnvelopeSent, nil
	case "FAILED":
		return polypay.RedEnvelopeFailed, nil
	case "RECEIVED":
		return polypay.RedEnvelopeReceived, nil
	case "RFUND_ING":
		return polypay.RedEnvelopeRefunding, nil
	case "REFUND":
		return polypay.RedEnvelopeRefund, nil
	}
	return "", &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("wechatpay red envelope status %q is not supported", s)}
}
