package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/polypay/polypay"
)

// msgOrderChanged is the open-platform message Alipay sends when a
// transfer order changes state (资金单据状态变更通知).
const msgOrderChanged = "alipay.fund.trans.order.changed"

// orderChanged is the biz_content of an alipay.fund.trans.order.changed
// message: the transfer order as it stands.
type orderChanged struct {
	OutBizNo    string   `json:"out_biz_no"`
	OrderID     string   `json:"order_id"`
	Status      string   `json:"status"`
	TransAmount jsonText `json:"trans_amount"`
	PayDate     string   `json:"pay_date"`
	ErrorCode   string   `json:"error_code"`
	FailReason  string   `json:"fail_reason"`
	ProductCode string   `json:"product_code"`
}

// jsonText is a field Alipay may send as a string or a bare number; a
// number's literal text is kept, so an amount never passes through a
// float.
type jsonText string

func (t *jsonText) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = jsonText(s)
	case len(b) > 0 && b[0] >= '0' && b[0] <= '9':
		*t = jsonText(b)
	default:
		return errors.New("not a string or a number")
	}
	return nil
}

// parseMessage verifies and reads an open-platform message (values
// without alipay_cert_sn). Only alipay.fund.trans.order.changed of a
// transfer to an Alipay account is read, as a NotifyPayout.
func (c *Client) parseMessage(ctx context.Context, values url.Values) (*polypay.Notification, error) {
	if err := c.api.VerifySign(ctx, values); err != nil {
		return nil, fmt.Errorf("alipay message: %w: %w", polypay.ErrBadSignature, err)
	}
	if m := values.Get("msg_method"); m != msgOrderChanged {
		return nil, &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("alipay msg_method %q is not supported", m)}
	}
	if values.Get("encrypt_type") != "" {
		return nil, &polypay.Error{Code: polypay.ENotSupported, Message: "alipay message: encrypted biz_content is not supported"}
	}
	appID := values.Get("app_id")
	var b orderChanged
	if err := json.Unmarshal([]byte(values.Get("biz_content")), &b); err != nil {
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "alipay message: biz_content is not a transfer order", Err: err}
	}
	if appID == "" || b.OutBizNo == "" {
		return nil, polypay.Errorf(polypay.EInvalid, "alipay message: app_id and out_biz_no are required")
	}
	if b.ProductCode != "" && b.ProductCode != productTransfer {
		// Red packets and the like are not polypay's transfers.
		return nil, &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("alipay message: product_code %q is not supported", b.ProductCode)}
	}
	res, err := payoutResult(fundOrderState{status: b.Status, orderID: b.OrderID, amount: string(b.TransAmount),
		payDate: b.PayDate, errorCode: b.ErrorCode, failReason: b.FailReason})
	if err != nil {
		var pe *polypay.Error
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, &polypay.Error{Code: polypay.EInvalid, Message: "alipay message: " + err.Error(), Err: err}
	}
	if b.TransAmount != "" && (res.Amount < minFen || res.Amount > maxFen) {
		return nil, polypay.Errorf(polypay.EInvalid, "alipay message: trans_amount %q is not a valid amount", string(b.TransAmount))
	}
	return &polypay.Notification{Kind: polypay.NotifyPayout, ID: values.Get("notify_id"), MerchantID: appID,
		PayoutNo: b.OutBizNo, Payout: res}, nil
}
