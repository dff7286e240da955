package alipay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/polypay/polypay"
)

// ParseNotification verifies and parses an Alipay asynchronous notification.
// req.Body is the raw form body; nothing else of the request is read.
// The RSA2 signature covers every field except sign and sign_type, sorted
// and joined k=v&... (checked by the SDK with the Alipay public key).
// Besides trade_status_sync notifications (payments, refunds) it reads
// the alipay.fund.trans.order.changed message of a transfer, verified the
// same way, as a NotifyPayout.
// Errors: ErrBadSignature (wrapped) when the signature does not verify,
// EInvalid for a malformed body or fields, ENotSupported for a
// notify_type, msg_method or status this connector does not know.
func (c *Client) ParseNotification(ctx context.Context, req polypay.NotifyRequest) (*polypay.Notification, error) {
	values, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "alipay notification: body is not a form", Err: err}
	}
	for k, vs := range values {
		// Alipay sends each field once. A repeated field would be signed as
		// a whole but read as its first value, so it is refused outright.
		if len(vs) != 1 {
			return nil, polypay.Errorf(polypay.EInvalid, "alipay notification: field %q appears %d times", k, len(vs))
		}
	}
	if values.Get("sign") == "" {
		return nil, fmt.Errorf("alipay notification: no sign: %w", polypay.ErrBadSignature)
	}
	// The certificate serial is not signed; dropping it keeps verification
	// on the configured public key instead of a key the sender names.
	values.Del("alipay_cert_sn")
	if values.Get("msg_method") != "" {
		// An open-platform message (version 1.1): biz_content holds the
		// event, e.g. a transfer order decided (notify_payout.go).
		return c.parseMessage(ctx, values)
	}
	n, err := c.api.DecodeNotification(ctx, values)
	if err != nil {
		return nil, fmt.Errorf("alipay notification: %w: %w", polypay.ErrBadSignature, err)
	}

	if t := n.NotifyType; t == "dut_user_sign" || t == "dut_user_unsign" {
		return parseAgreementNotice(values)
	}
	if n.NotifyType != "" && n.NotifyType != "trade_status_sync" {
		return nil, &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("alipay notify_type %q is not supported", n.NotifyType)}
	}
	if n.AppId == "" || n.OutTradeNo == "" {
		return nil, polypay.Errorf(polypay.EInvalid, "alipay notification: app_id and out_trade_no are required")
	}
	state, err := tradeState(n.TradeStatus)
	if err != nil {
		return nil, err
	}
	amount, err := notifyAmount("total_amount", n.TotalAmount)
	if err != nil {
		return nil, err
	}
	out := &polypay.Notification{
		Kind:       polypay.NotifyTrade,
		ID:         n.NotifyId,
		MerchantID: n.AppId,
		Trade: polypay.Trade{
			State:         state,
			OutTradeNo:    n.OutTradeNo,
			TransactionNo: n.TradeNo,
			TradeID:       n.TradeNo,
			Amount:        amount,
			Currency:      currencyOf(values.Get("trans_currency")),
		},
	}
	if out.Trade.PaidAt, err = notifyTime("gmt_payment", n.GmtPayment); err != nil {
		return nil, err
	}
	if n.BuyerLogonId != "" {
		out.Trade.Extra = map[string]any{"buyer_account": n.BuyerLogonId}
	}
	if n.OutBizNo != "" && n.RefundFee != "" {
		// A refund notification is a trade_status_sync that also names the
		// refund (out_biz_no = our out_request_no) and the cumulative
		// refund_fee.
		total, err := notifyAmount("refund_fee", n.RefundFee)
		if err != nil {
			return nil, err
		}
		if total > amount {
			return nil, polypay.Errorf(polypay.EInvalid, "alipay notification: refund_fee %s exceeds total_amount %s", n.RefundFee, n.TotalAmount)
		}
		out.Kind = polypay.NotifyRefund
		out.RefundNo = n.OutBizNo
		out.RefundTotal = total
		if out.RefundAt, err = notifyTime("gmt_refund", n.GmtRefund); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// currencyOf is the currency of total_amount: trans_currency (the pricing
// currency, signed like every field) when Alipay states one, else CNY, the
// only currency of Alipay's domestic trades.
func currencyOf(transCurrency string) string {
	if transCurrency != "" {
		return transCurrency
	}
	return "CNY"
}

// TradeID is the Alipay trade polypay keeps for a charge: its trade_no,
// learnt when the charge was paid; "" before. Alipay opens one trade per
// out_trade_no, so nothing else names it.
func TradeID(c *polypay.Charge) string { return c.TransactionNo }

func notifyAmount(field, s string) (int64, error) {
	fen, err := parseYuan(s)
	if err != nil || fen < minFen || fen > maxFen {
		return 0, polypay.Errorf(polypay.EInvalid, "alipay notification: %s %q is not a valid amount", field, s)
	}
	return fen, nil
}

// notifyTime parses an optional Alipay timestamp; absent is 0.
func notifyTime(field, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return 0, polypay.Errorf(polypay.EInvalid, "alipay notification: %s %q is not a time", field, s)
	}
	return t, nil
}

// Ack answers a notification the way Alipay expects: HTTP 200 with the body
// exactly "success" stops the retries; anything else ("fail" here) makes
// Alipay send it again on its schedule.
func (c *Client) Ack(ok bool) polypay.NotifyReply {
	reply := polypay.NotifyReply{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte("fail")}
	if ok {
		reply.Body = []byte("success")
	}
	return reply
}
