package wechatpay

// Payouts (Ping++ transfers) are WeChat Pay's merchant transfers to the
// user's balance (商家转账到零钱, /v3/transfer/batches), through the
// official SDK's transferbatch service. WeChat only takes batches: a
// single transfer is a batch of one whose out_batch_no and out_detail_no
// are both its PayoutNo; TransferBatch sends up to 3000 transfers under the
// batch's own number, each detail still numbered by its PayoutNo. Repeating
// either call with the same numbers pays once: WeChat answers the batch it
// already took.
//
// WeChat accepts a batch (ACCEPTED) and pays its details later: the
// answer is always PayoutProcessing, and a query (or, for single
// transfers, the batch notification, notify.go) tells the outcome.

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/transferbatch"
)

var _ polypay.BatchPayouter = (*Client)(nil)

// MaxBatch is WeChat's limit of details in one transfer batch.
func (c *Client) MaxBatch() int { return maxBatch }

// Transfer pays one transfer as a batch of one (out_batch_no =
// out_detail_no = PayoutNo), with the notify URL so that WeChat reports
// the batch's end. A transfer that belongs to a batch (BatchNo set) is
// refused: WeChat knows it under its batch's number, and sending it under
// its own would pay it twice. Errors: EInvalid (CheckTransfer), EChannel
// when WeChat refuses the batch (NOT_ENOUGH: the merchant's funds do not
// cover it; nothing was paid), anything else a transport failure whose
// outcome is unknown.
func (c *Client) Transfer(ctx context.Context, req polypay.PayoutRequest) (*polypay.PayoutResult, error) {
	if err := c.notForPartner("transfer"); err != nil {
		return nil, err
	}
	t := req.Transfer
	if t.BatchNo != "" {
		return nil, polypay.ParamError("batch_no", "批量转账中的转账只能随批次发起（TransferBatch）")
	}
	res, err := c.transferBatch(ctx, t.PayoutNo(), remark(t.Description, "转账"), []polypay.PayoutRequest{req}, req.NotifyURL)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// TransferBatch pays reqs (1 to MaxBatch transfers) in one batch keyed by
// out_batch_no = batchNo, each detail by its transfer's PayoutNo. WeChat
// requires the payee's name on all of a batch's details or on none. No
// notify URL is sent: WeChat's batch notification cannot name one transfer,
// so polypay's poller queries each (QueryTransfer, with Transfer.BatchNo).
// Errors as for Transfer; EInvalid names the transfer's own parameter.
func (c *Client) TransferBatch(ctx context.Context, batchNo string, reqs []polypay.PayoutRequest) ([]*polypay.PayoutResult, error) {
	if err := c.notForPartner("transfer"); err != nil {
		return nil, err
	}
	if n := len(batchNo); n < 5 || n > 32 || !alnum(batchNo) {
		return nil, polypay.ParamError("batch_no", "微信批量转账的 batch_no 应为 5 到 32 位字母或数字")
	}
	return c.transferBatch(ctx, batchNo, remark("批量转账 "+batchNo, ""), reqs, "")
}

func (c *Client) transferBatch(ctx context.Context, batchNo, name string, reqs []polypay.PayoutRequest, notifyURL string) ([]*polypay.PayoutResult, error) {
	if len(reqs) < 1 || len(reqs) > maxBatch {
		return nil, polypay.ParamError("recipients", "微信批量转账一批 1 到 %d 笔，不是 %d 笔", maxBatch, len(reqs))
	}
	details, total, err := c.details(reqs)
	if err != nil {
		return nil, err
	}
	svc := transferbatch.TransferBatchApiService{Client: c.api}
	rsp, _, err := svc.InitiateBatchTransfer(ctx, transferbatch.InitiateBatchTransferRequest{
		Appid: core.String(c.appID), OutBatchNo: core.String(batchNo), BatchName: core.String(name),
		BatchRemark: core.String(name), TotalAmount: core.Int64(total), TotalNum: core.Int64(int64(len(details))),
		TransferDetailList: details, NotifyUrl: optional(notifyURL),
	})
	if err != nil {
		return nil, sdkError("transfer", err)
	}
	if deref(rsp.OutBatchNo) != batchNo {
		return nil, fmt.Errorf("wechatpay transfer: asked for batch %q, got %q", batchNo, deref(rsp.OutBatchNo))
	}
	out := make([]*polypay.PayoutResult, len(reqs))
	for i, r := range reqs {
		out[i] = &polypay.PayoutResult{State: polypay.PayoutProcessing, Amount: r.Transfer.Amount}
	}
	if s := deref(rsp.BatchStatus); len(reqs) == 1 && (s == "FINISHED" || s == "CLOSED") {
		// A transfer sent again after WeChat ended its batch: its detail
		// says how. (A batch's members stay processing: the poller asks
		// for each, rather than this call making thousands of queries.)
		if out[0], err = c.queryDetail(ctx, batchNo, reqs[0].Transfer); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// details checks each transfer and makes its batch detail; the payee's
// name is encrypted by the SDK with the platform public key (the field's
// encryption tag) and never leaves this function otherwise.
func (c *Client) details(reqs []polypay.PayoutRequest) ([]transferbatch.TransferDetailInput, int64, error) {
	var total int64
	named := 0
	seen := map[string]bool{}
	out := make([]transferbatch.TransferDetailInput, len(reqs))
	for i, r := range reqs {
		t := r.Transfer
		if err := c.CheckTransfer(t); err != nil {
			return nil, 0, err
		}
		ex, _ := checkTransferExtra(t)
		if seen[t.PayoutNo()] {
			return nil, 0, polypay.ParamError("recipients", "同一批次中的转账重复")
		}
		seen[t.PayoutNo()] = true
		out[i] = transferbatch.TransferDetailInput{OutDetailNo: core.String(t.PayoutNo()), TransferAmount: core.Int64(t.Amount),
			TransferRemark: core.String(remark(t.Description, "转账")), Openid: core.String(t.Recipient), UserName: optional(ex.UserName)}
		if ex.UserName != "" {
			named++
		}
		total += t.Amount
	}
	if named != 0 && named != len(reqs) {
		return nil, 0, polypay.ParamError("recipients", "微信批量转账的收款用户姓名须全部填写或全部不填写")
	}
	return out, total, nil
}

// QueryTransfer asks for the transfer's detail by out_batch_no and
// out_detail_no. A single transfer's batch is its own PayoutNo; a batch
// member's is its batch's number, which core passes as Transfer.BatchNo
// (the batchNo TransferBatch was given). A detail WeChat does not know is
// looked for through its batch: no batch is PayoutNotFound (WeChat says
// that may also be a batch still being taken, so sending it again under
// the same number is the safe way on), a closed one a failed payout, one
// still being processed a processing one.
func (c *Client) QueryTransfer(ctx context.Context, t *polypay.Transfer) (*polypay.PayoutResult, error) {
	batchNo := t.PayoutNo()
	if t.BatchNo != "" {
		batchNo = t.BatchNo
	}
	return c.queryDetail(ctx, batchNo, t)
}

func (c *Client) queryDetail(ctx context.Context, batchNo string, t *polypay.Transfer) (*polypay.PayoutResult, error) {
	no := t.PayoutNo()
	svc := transferbatch.TransferDetailApiService{Client: c.api}
	d, _, err := svc.GetTransferDetailByOutNo(ctx, transferbatch.GetTransferDetailByOutNoRequest{
		OutBatchNo: core.String(batchNo), OutDetailNo: core.String(no)})
	if err != nil && d != nil {
		// The SDK returns the detail with an error when it cannot decrypt
		// the payee's name, which polypay does not read: the detail stands.
		err = nil
	}
	if d != nil {
		d.UserName = nil // the payee's real name goes no further
	}
	if err != nil {
		if notFound(err) {
			return c.queryBatch(ctx, batchNo)
		}
		return nil, sdkError("transfer query", err)
	}
	if deref(d.OutDetailNo) != no || deref(d.OutBatchNo) != batchNo {
		return nil, fmt.Errorf("wechatpay transfer query: asked for %s/%s, got %s/%s", batchNo, no, deref(d.OutBatchNo), deref(d.OutDetailNo))
	}
	return detailResult(d)
}

// detailResult maps a transfer detail; the payee's name (decrypted by the
// SDK) is not read.
func detailResult(d *transferbatch.TransferDetailEntity) (*polypay.PayoutResult, error) {
	state, err := detailState(deref(d.DetailStatus))
	if err != nil {
		return nil, err
	}
	res := &polypay.PayoutResult{State: state, TransactionNo: deref(d.DetailId)}
	if d.TransferAmount != nil {
		res.Amount = *d.TransferAmount
	}
	switch state {
	case polypay.PayoutPaid:
		if d.UpdateTime != nil {
			res.PaidAt = d.UpdateTime.Unix()
		}
	case polypay.PayoutFailed:
		if d.FailReason != nil {
			res.FailureCode = string(*d.FailReason)
		}
		res.FailureMsg = failReasonMsg(res.FailureCode)
	}
	return res, nil
}

// queryBatch is what a detail WeChat does not know means, by its batch.
func (c *Client) queryBatch(ctx context.Context, batchNo string) (*polypay.PayoutResult, error) {
	svc := transferbatch.TransferBatchApiService{Client: c.api}
	b, _, err := svc.GetTransferBatchByOutNo(ctx, transferbatch.GetTransferBatchByOutNoRequest{
		OutBatchNo: core.String(batchNo), NeedQueryDetail: core.Bool(false)})
	if err != nil {
		if notFound(err) {
			return &polypay.PayoutResult{State: polypay.PayoutNotFound}, nil
		}
		return nil, sdkError("transfer batch query", err)
	}
	if b.TransferBatch == nil || deref(b.TransferBatch.OutBatchNo) != batchNo {
		return nil, fmt.Errorf("wechatpay transfer batch query: asked for %s, got another batch", batchNo)
	}
	tb := b.TransferBatch
	state, err := batchState(deref(tb.BatchStatus))
	if err != nil {
		return nil, err
	}
	res := &polypay.PayoutResult{State: state}
	if state == polypay.PayoutFailed {
		if tb.CloseReason != nil {
			res.FailureCode = string(*tb.CloseReason)
		}
		res.FailureMsg = closeReasonMsg(res.FailureCode)
	}
	return res, nil
}

// notFound tells WeChat's "no such batch or detail" (404 NOT_FOUND, or
// RESOURCE_NOT_EXISTS on some of its services).
func notFound(err error) bool {
	var ae *core.APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound &&
		(ae.Code == "NOT_FOUND" || ae.Code == "RESOURCE_NOT_EXISTS" || ae.Code == codeOrderNotExist)
}
