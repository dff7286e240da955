package alipay

import (
	"context"
	"errors"
	"fmt"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
)

var _ polypay.Payouter = (*Client)(nil)

// Product and scene of a transfer to an Alipay account (单笔无密转账).
const (
	productTransfer = "TRANS_ACCOUNT_NO_PWD"
	sceneDirect     = "DIRECT_TRANSFER"
)

// Sub-codes of the fund APIs the connector acts on.
const (
	subFundSystemError  = "SYSTEM_ERROR"               // outcome unknown: ask again with the same request
	subOrderNotExist    = "ORDER_NOT_EXIST"            // common.query: no such order
	subInconsistentCall = "PAYMENT_INFO_INCONSISTENCY" // the out_biz_no holds another transfer
)

// Transfer implements polypay.Payouter with alipay.fund.trans.uni.transfer
// (TRANS_ACCOUNT_NO_PWD, DIRECT_TRANSFER), out_biz_no = t.PayoutNo(), so
// that asking twice pays once: Alipay answers a repeated out_biz_no with
// the same order. req.NotifyURL goes as notify_url, where the
// alipay.fund.trans.order.changed message is expected (in production
// Alipay sends its messages to the app's configured gateway instead).
//
// SUCCESS is paid, DEALING processing; FAIL is asked of
// alipay.fund.trans.common.query for its reason. Errors: EInvalid as
// CheckTransfer; EChannel when Alipay refuses (nothing was paid; its
// sub_code in ChannelCode: PAYEE_NOT_EXIST, PAYEE_USER_INFO_ERROR,
// PAYER_BALANCE_NOT_ENOUGH, EXCEED_LIMIT_...); anything else, including
// 20000, SYSTEM_ERROR and PAYMENT_INFO_INCONSISTENCY, leaves the outcome
// unknown: query.
func (c *Client) Transfer(ctx context.Context, req polypay.PayoutRequest) (*polypay.PayoutResult, error) {
	t := req.Transfer
	p, err := transferParams(t)
	if err != nil {
		return nil, err
	}
	call := uniTransfer{FundTransUniTransfer: sdk.FundTransUniTransfer{
		OutBizNo:    t.PayoutNo(),
		TransAmount: formatYuan(t.Amount),
		ProductCode: productTransfer,
		BizScene:    sceneDirect,
		OrderTitle:  t.Description,
		PayeeInfo:   &sdk.PayeeInfo{Identity: p.identity, IdentityType: p.identityType, Name: p.name},
	}, notifyURL: req.NotifyURL}
	var rsp sdk.FundTransUniTransferRsp
	if err := c.api.Request(ctx, call, &rsp); err != nil {
		return nil, transferSDKError(err)
	}
	if rsp.Code != codeSuccess {
		return nil, fundError("transfer", rsp.Error)
	}
	if rsp.OutBizNo != "" && rsp.OutBizNo != t.PayoutNo() {
		return nil, fmt.Errorf("alipay transfer: asked for %q, got %q", t.PayoutNo(), rsp.OutBizNo)
	}
	state, err := payoutState(rsp.Status)
	if err != nil {
		return nil, err
	}
	if state == polypay.PayoutFailed {
		// The answer has no reason; the query has error_code and fail_reason.
		return c.QueryTransfer(ctx, t)
	}
	res := &polypay.PayoutResult{State: state, TransactionNo: rsp.OrderId}
	if state == polypay.PayoutPaid {
		if res.PaidAt, err = optionalTime(rsp.TransDate); err != nil {
			return nil, fmt.Errorf("alipay transfer: trans_date %q: %w", rsp.TransDate, err)
		}
	}
	return res, nil
}

// QueryTransfer implements polypay.Payouter with
// alipay.fund.trans.common.query by out_biz_no. ORDER_NOT_EXIST is
// PayoutNotFound. Errors: EChannel when Alipay refuses; ENotSupported for
// an unknown status; plain errors otherwise (retry).
func (c *Client) QueryTransfer(ctx context.Context, t *polypay.Transfer) (*polypay.PayoutResult, error) {
	rsp, err := c.api.FundTransCommonQuery(ctx, sdk.FundTransCommonQuery{
		ProductCode: productTransfer,
		BizScene:    sceneDirect,
		OutBizNo:    t.PayoutNo(),
	})
	if err != nil {
		return nil, sdkError("transfer query", err)
	}
	if rsp.Code != codeSuccess {
		if rsp.Code == codeBusiness && rsp.SubCode == subOrderNotExist {
			return &polypay.PayoutResult{State: polypay.PayoutNotFound}, nil
		}
		return nil, fundError("transfer query", rsp.Error)
	}
	if rsp.OutBizNo != "" && rsp.OutBizNo != t.PayoutNo() {
		return nil, fmt.Errorf("alipay transfer query: asked for %q, got %q", t.PayoutNo(), rsp.OutBizNo)
	}
	return payoutResult(fundOrderState{
		status: rsp.Status, orderID: rsp.OrderId, amount: rsp.TransAmount,
		payDate: rsp.PayDate, errorCode: rsp.ErrorCode, failReason: rsp.FailReason,
	})
}

// fundOrderState is a transfer order as a query or a message states it.
type fundOrderState struct {
	status, orderID, amount, payDate, errorCode, failReason string
}

// payoutResult reads a transfer order's state; amounts and times are
// checked strictly, since they are booked.
func payoutResult(o fundOrderState) (*polypay.PayoutResult, error) {
	state, err := payoutState(o.status)
	if err != nil {
		return nil, err
	}
	res := &polypay.PayoutResult{State: state, TransactionNo: o.orderID}
	if o.amount != "" {
		if res.Amount, err = parseYuan(o.amount); err != nil {
			return nil, fmt.Errorf("alipay transfer: trans_amount %q: %w", o.amount, err)
		}
	}
	switch state {
	case polypay.PayoutPaid:
		if res.PaidAt, err = optionalTime(o.payDate); err != nil {
			return nil, fmt.Errorf("alipay transfer: pay_date %q: %w", o.payDate, err)
		}
	case polypay.PayoutFailed:
		res.FailureCode, res.FailureMsg = o.errorCode, o.failReason
		if res.FailureCode == "" {
			res.FailureCode = o.status // FAIL, REFUND or CLOSED with no reason given
		}
	}
	return res, nil
}

func optionalTime(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return parseTime(s)
}

// transferSDKError is sdkError for uni.transfer, except that an unsigned
// business failure (40004 as error_response) is an unknown outcome rather
// than a refusal: Alipay signs its business answers, and recording a
// payout failed on a word nobody signed could pay it twice.
func transferSDKError(err error) error {
	var ae *sdk.Error
	if errors.As(err, &ae) && ae.Code == codeBusiness {
		return fmt.Errorf("alipay transfer: unsigned %s %s, outcome unknown: %w", ae.Code, ae.SubCode, err)
	}
	return sdkError("transfer", err)
}

// fundError is apiError for the fund APIs, whose unknown-outcome sub-code
// is SYSTEM_ERROR. PAYMENT_INFO_INCONSISTENCY refuses this call only: the
// out_biz_no already holds a transfer, which may be paid, so it is not a
// refusal of the payout either.
func fundError(op string, e sdk.Error) error {
	if e.SubCode == subFundSystemError || e.SubCode == subInconsistentCall {
		return fmt.Errorf("alipay %s: outcome unknown (%s %s: %s): %w", op, e.Code, e.SubCode, e.SubMsg, e)
	}
	return apiError(op, e)
}
