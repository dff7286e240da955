package wechatpay

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// ParseNotification verifies and parses a WeChat Pay notification: its
// headers and raw body.
//
// The Wechatpay-Signature over TIMESTAMP\nNONCE\nBODY\n is checked with the
// platform public key named by Wechatpay-Serial, and Wechatpay-Timestamp
// must be within 5 minutes of now (both by the SDK's notify validator).
// The resource is then decrypted (AEAD_AES_256_GCM, APIv3 key) with the
// SDK's utils. TRANSACTION.SUCCESS is a NotifyTrade, REFUND.SUCCESS a
// NotifyRefund whose RefundTotal is 0: WeChat Pay reports the amount of
// this refund, not the cumulative one.
//
// Errors: ErrBadSignature (wrapped) when the signature does not verify or
// the resource does not decrypt, EInvalid for a malformed body or fields,
// ENotSupported for other event types. REFUND.ABNORMAL and REFUND.CLOSED
// are refund notifications with RefundStatus failed.
func (c *Client) ParseNotification(ctx context.Context, req polypay.NotifyRequest) (*polypay.Notification, error) {
	body := req.Body
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("<xml")) {
		return c.parseV2Notification(body) // the entrusted debit's (papay.go)
	}
	// The SDK's validator reads the headers and body of an *http.Request.
	signed := &http.Request{Header: req.Header, Body: io.NopCloser(bytes.NewReader(body))}
	if st := req.Header.Get("Wechatpay-Signature-Type"); st != "" && st != "WECHATPAY2-SHA256-RSA2048" {
		return nil, fmt.Errorf("wechatpay notification: signature type %q: %w", st, polypay.ErrBadSignature)
	}
	if err := validators.NewWechatPayNotifyValidator(c.verifier).Validate(ctx, signed); err != nil {
		return nil, fmt.Errorf("wechatpay notification: %w: %w", polypay.ErrBadSignature, err)
	}
	var env notifyEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "wechatpay notification: body is not JSON", Err: err}
	}
	if env.Resource == nil || env.ID == "" {
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay notification: id and resource are required")
	}
	if env.Resource.Algorithm != "AEAD_AES_256_GCM" {
		return nil, fmt.Errorf("wechatpay notification: algorithm %q: %w", env.Resource.Algorithm, polypay.ErrBadSignature)
	}
	// The SDK's decryption panics on a nonce that is not 12 bytes (found by
	// fuzzing): refuse it first.
	if len(env.Resource.Nonce) != 12 {
		return nil, fmt.Errorf("wechatpay notification: resource nonce must be 12 bytes, not %d: %w", len(env.Resource.Nonce), polypay.ErrBadSignature)
	}
	plain, err := utils.DecryptAES256GCM(c.apiV3Key, env.Resource.AssociatedData, env.Resource.Nonce, env.Resource.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("wechatpay notification: resource does not decrypt: %w: %w", polypay.ErrBadSignature, err)
	}
	switch env.EventType {
	case "TRANSACTION.SUCCESS":
		return c.ownSub(parseTransaction(env.ID, []byte(plain)))(plain)
	case "REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED":
		return c.ownSub(parseRefund(env.ID, env.EventType, []byte(plain)))(plain)
	case "MCHTRANSFER.BATCH.FINISHED", "MCHTRANSFER.BATCH.CLOSED":
		return c.parseTransferBatch(ctx, env.ID, []byte(plain))
	}
	return nil, &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("wechatpay event_type %q is not supported", env.EventType)}
}

func parseTransaction(id string, plain []byte) (*polypay.Notification, error) {
	var p transactionPayload
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "wechatpay notification: transaction is not JSON", Err: err}
	}
	if p.Mchid == "" {
		p.Mchid = p.SpMchid // partner mode: the provider's merchant number
	}
	if p.Mchid == "" || p.OutTradeNo == "" {
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay notification: mchid and out_trade_no are required")
	}
	if p.Amount == nil || p.Amount.Total == nil || *p.Amount.Total < 1 {
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay notification: amount.total must be a positive number of fen")
	}
	state, err := tradeState(p.TradeState)
	if err != nil {
		return nil, err
	}
	n := &polypay.Notification{
		Kind:       polypay.NotifyTrade,
		ID:         id,
		MerchantID: p.Mchid,
		Trade: polypay.Trade{
			State:         state,
			OutTradeNo:    p.OutTradeNo,
			TransactionNo: p.TransactionID,
			TradeID:       p.TransactionID,
			Amount:        *p.Amount.Total,
			Currency:      p.Amount.Currency,
		},
	}
	if p.SuccessTime != "" {
		if n.Trade.PaidAt, err = parseTime(p.SuccessTime); err != nil {
			return nil, polypay.Errorf(polypay.EInvalid, "wechatpay notification: success_time %q is not an RFC 3339 time", p.SuccessTime)
		}
	}
	ex := map[string]any{}
	if p.Payer != nil {
		if id := cmp.Or(p.Payer.Openid, p.Payer.SpOpenid, p.Payer.SubOpenid); id != "" {
			ex["open_id"] = id
		}
	}
	if p.BankType != "" {
		ex["bank_type"] = p.BankType
	}
	if len(ex) > 0 {
		n.Trade.Extra = ex
	}
	return n, nil
}

func parseRefund(id, event string, plain []byte) (*polypay.Notification, error) {
	var p refundPayload
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "wechatpay notification: refund is not JSON", Err: err}
	}
	if p.Mchid == "" {
		p.Mchid = p.SpMchid // partner mode: the provider's merchant number
	}
	if p.Mchid == "" || p.OutTradeNo == "" || p.OutRefundNo == "" {
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay notification: mchid, out_trade_no and out_refund_no are required")
	}
	status := polypay.RefundSucceeded
	switch {
	case event == "REFUND.SUCCESS" && p.RefundStatus == "SUCCESS":
	case event == "REFUND.ABNORMAL" && p.RefundStatus == "ABNORMAL", event == "REFUND.CLOSED" && p.RefundStatus == "CLOSED":
		status = polypay.RefundFailed
	default:
		return nil, &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("wechatpay %s with refund_status %q is not supported", event, p.RefundStatus)}
	}
	if p.Amount == nil || p.Amount.Total == nil || p.Amount.Refund == nil || *p.Amount.Refund < 1 || *p.Amount.Refund > *p.Amount.Total {
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay notification: amount.refund must be 1 to amount.total fen")
	}
	n := &polypay.Notification{
		Kind:       polypay.NotifyRefund,
		ID:         id,
		MerchantID: p.Mchid,
		Trade: polypay.Trade{
			State:         polypay.TradePaid,
			OutTradeNo:    p.OutTradeNo,
			TransactionNo: p.TransactionID,
			TradeID:       p.TransactionID,
			Amount:        *p.Amount.Total,
		},
		RefundNo:     p.OutRefundNo,
		RefundAmount: *p.Amount.Refund,
		RefundStatus: status,
	}
	if p.SuccessTime != "" {
		var err error
		if n.RefundAt, err = parseTime(p.SuccessTime); err != nil {
			return nil, polypay.Errorf(polypay.EInvalid, "wechatpay notification: success_time %q is not an RFC 3339 time", p.SuccessTime)
		}
	}
	return n, nil
}

// parseTransferBatch reads a transfer batch's end. Only single transfers
// are sent with a notify URL (payout.go), so a batch of one detail whose
// out_batch_no is that detail's PayoutNo is what arrives: the detail is
// then queried, since the notification says how many details were paid,
// not why one failed. A batch of several details cannot name one payout:
// ENotSupported (polypay's poller queries them).
func (c *Client) parseTransferBatch(ctx context.Context, id string, plain []byte) (*polypay.Notification, error) {
	p, err := parseBatchPayload(plain)
	if err != nil {
		return nil, err
	}
	if p.TotalNum != 1 {
		return nil, &polypay.Error{Code: polypay.ENotSupported,
			Message: fmt.Sprintf("wechatpay transfer batch %s of %d details: its payouts are queried", p.OutBatchNo, p.TotalNum)}
	}
	t := &polypay.Transfer{ID: polypay.TransferIDOf(p.OutBatchNo)}
	res, err := c.queryDetail(ctx, p.OutBatchNo, t)
	if err != nil {
		return nil, err
	}
	if res.State == polypay.PayoutNotFound {
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay notification: batch %s has no detail of that number", p.OutBatchNo)
	}
	return &polypay.Notification{Kind: polypay.NotifyPayout, ID: id, MerchantID: p.Mchid, PayoutNo: p.OutBatchNo, Payout: res}, nil
}

// parseBatchPayload reads the decrypted resource of MCHTRANSFER.BATCH.*.
func parseBatchPayload(plain []byte) (*batchPayload, error) {
	var p batchPayload
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "wechatpay notification: transfer batch is not JSON", Err: err}
	}
	if p.Mchid == "" || p.OutBatchNo == "" || !alnum(p.OutBatchNo) || len(p.OutBatchNo) > 32 {
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay notification: mchid and out_batch_no (letters and digits) are required")
	}
	switch p.BatchStatus {
	case "FINISHED", "CLOSED":
	default:
		return nil, &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("wechatpay transfer batch_status %q in a notification", p.BatchStatus)}
	}
	if p.TotalNum < 1 || p.TotalNum > maxBatch {
		return nil, polypay.Errorf(polypay.EInvalid, "wechatpay notification: total_num must be 1 to %d", maxBatch)
	}
	return &p, nil
}

// TradeID is the WeChat Pay trade polypay keeps for a charge: its
// transaction_id, learnt when the charge was paid; "" before. WeChat Pay
// opens one trade per out_trade_no, so nothing else names it.
func TradeID(c *polypay.Charge) string { return c.TransactionNo }

// Ack answers a notification the way WeChat Pay expects: 204 without a
// body acknowledges it; a 500 with {"code":"FAIL","message":"失败"} makes
// WeChat Pay send it again on its schedule.
func (c *Client) Ack(ok bool) polypay.NotifyReply {
	if ok {
		// 200 with v2's XML: API v3 takes any 2xx, and the entrusted
		// debit's v2 notifications need return_code SUCCESS.
		return polypay.NotifyReply{Status: http.StatusOK, ContentType: "text/xml; charset=utf-8",
			Body: []byte("<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>")}
	}
	return polypay.NotifyReply{Status: http.StatusInternalServerError, ContentType: "application/json; charset=utf-8",
		Body: []byte(`{"code":"FAIL","message":"失败"}`)}
}

// ownSub refuses a notification about another sub-merchant than this
// connector's (partner mode), or about a sub-merchant at all when this
// connector is the merchant's own: each sub-app hears only of its trades.
func (c *Client) ownSub(n *polypay.Notification, err error) func(plain string) (*polypay.Notification, error) {
	return func(plain string) (*polypay.Notification, error) {
		if err != nil {
			return nil, err
		}
		var v struct {
			SubMchid string `json:"sub_mchid"`
		}
		_ = json.Unmarshal([]byte(plain), &v)
		if v.SubMchid != c.subMchID {
			return nil, polypay.Errorf(polypay.EInvalid, "wechatpay notification: about sub-merchant %q, this account is %q", v.SubMchid, c.subMchID)
		}
		return n, nil
	}
}
