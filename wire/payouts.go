package wire

import (
	"encoding/json"

	"github.com/polypay/polypay"
)

// Transfer is Ping++'s transfer object (pingpp-compat §2.5).
type Transfer struct {
	ID              string          `json:"id"`
	Object          string          `json:"object"`
	Type            string          `json:"type"`
	Created         int64           `json:"created"`
	TimeTransferred *int64          `json:"time_transferred"`
	Livemode        bool            `json:"livemode"`
	Status          string          `json:"status"`
	App             string          `json:"app"`
	Channel         string          `json:"channel"`
	OrderNo         string          `json:"order_no"`
	BatchNo         *string         `json:"batch_no"`
	Amount          int64           `json:"amount"`
	AmountSettle    int64           `json:"amount_settle"`
	Currency        string          `json:"currency"`
	Recipient       *string         `json:"recipient"`
	Description     string          `json:"description"`
	TransactionNo   *string         `json:"transaction_no"`
	FailureMsg      *string         `json:"failure_msg"`
	Extra           json.RawMessage `json:"extra"`
	Metadata        json.RawMessage `json:"metadata"`
	// polypay extensions.
	FailureCode *string `json:"failure_code,omitempty"` // the channel's code of a failed payout
	ApprovedBy  *string `json:"approved_by,omitempty"`  // the console user who approved a scheduled payout
	TimeApprove *int64  `json:"time_approved,omitempty"`
}

// FromTransfer renders a transfer. A batch member's batch_no is its batch's
// id, the number polypay gives the channel for the batch.
func FromTransfer(t *polypay.Transfer) *Transfer {
	w := &Transfer{ID: t.ID, Object: "transfer", Type: t.Type, Created: t.Created, TimeTransferred: nullInt(t.TimeTransferred),
		Livemode: t.Livemode, Status: string(t.Status), App: t.AppID, Channel: t.Channel, OrderNo: t.OrderNo,
		BatchNo: nullStr(t.BatchNo), Amount: t.Amount, Currency: t.Currency, Recipient: nullStr(t.Recipient),
		Description: t.Description, TransactionNo: nullStr(t.TransactionNo), FailureMsg: nullStr(t.FailureMsg),
		Extra: object(t.Extra), Metadata: object(t.Metadata), FailureCode: nullStr(t.FailureCode),
		ApprovedBy: nullStr(t.ApprovedBy), TimeApprove: nullInt(t.ApprovedAt)}
	if t.Status == polypay.TransferPaid {
		w.AmountSettle = t.Amount
	}
	return w
}

// BatchRecipient is one recipients[] entry of a batch transfer.
type BatchRecipient struct {
	Account       string  `json:"account"`
	Amount        int64   `json:"amount"`
	Name          string  `json:"name"`
	Description   string  `json:"description"`
	Transfer      string  `json:"transfer"`
	Status        string  `json:"status"`
	Fee           int64   `json:"fee"`
	FailureMsg    *string `json:"failure_msg"`
	OrderNo       string  `json:"order_no"`
	TransactionNo *string `json:"transaction_no"`
}

// BatchTransfer is Ping++'s batch_transfer object (§2.6).
type BatchTransfer struct {
	ID            string           `json:"id"`
	Object        string           `json:"object"`
	App           string           `json:"app"`
	Amount        int64            `json:"amount"`
	BatchNo       string           `json:"batch_no"`
	Channel       string           `json:"channel"`
	Currency      string           `json:"currency"`
	Created       int64            `json:"created"`
	Description   string           `json:"description"`
	Extra         json.RawMessage  `json:"extra"`
	FailureMsg    *string          `json:"failure_msg"`
	Fee           int64            `json:"fee"`
	Livemode      bool             `json:"livemode"`
	Metadata      json.RawMessage  `json:"metadata"`
	Recipients    []BatchRecipient `json:"recipients"`
	Status        string           `json:"status"`
	TimeSucceeded *int64           `json:"time_succeeded"`
	Type          string           `json:"type"`
	// polypay extensions.
	ApprovedBy  *string `json:"approved_by,omitempty"`
	TimeApprove *int64  `json:"time_approved,omitempty"`
}

// FromBatchTransfer renders a batch with its member transfers.
func FromBatchTransfer[T interface{ Member() *polypay.Transfer }](b *polypay.BatchTransfer, members []T) *BatchTransfer {
	w := &BatchTransfer{ID: b.ID, Object: "batch_transfer", App: b.AppID, Amount: b.Amount, BatchNo: b.BatchNo,
		Channel: b.Channel, Currency: b.Currency, Created: b.Created, Description: b.Description, Extra: object(nil),
		FailureMsg: nullStr(b.FailureMsg), Livemode: b.Livemode, Metadata: object(b.Metadata), Status: string(b.Status),
		TimeSucceeded: nullInt(b.TimeSucceeded), Type: b.Type, Recipients: []BatchRecipient{},
		ApprovedBy: nullStr(b.ApprovedBy), TimeApprove: nullInt(b.ApprovedAt)}
	for _, m := range members {
		w.Recipients = append(w.Recipients, recipientOf(m.Member()))
	}
	return w
}

// recipientOf renders a member transfer as its batch's recipient: the
// account is the recipient (WeChat openid, Alipay account) or the masked
// card number (UnionPay), the name the payee name its channel takes.
func recipientOf(t *polypay.Transfer) BatchRecipient {
	var x struct {
		Card     string `json:"card_number"`
		Name     string `json:"recipient_name"`
		UserName string `json:"user_name"`
	}
	_ = json.Unmarshal(t.Extra, &x) // the connector checked it
	account := t.Recipient
	if account == "" {
		account = x.Card
	}
	name := x.Name
	if name == "" {
		name = x.UserName
	}
	return BatchRecipient{Account: account, Amount: t.Amount, Name: name, Description: t.Description, Transfer: t.ID,
		Status: string(t.Status), FailureMsg: nullStr(t.FailureMsg), OrderNo: t.OrderNo, TransactionNo: nullStr(t.TransactionNo)}
}

// RedEnvelope is Ping++'s red_envelope object (§2.7): received and
// refunded are timestamps or null, never booleans.
type RedEnvelope struct {
	ID            string          `json:"id"`
	Object        string          `json:"object"`
	Created       int64           `json:"created"`
	Received      *int64          `json:"received"`
	Refunded      *int64          `json:"refunded"`
	Livemode      bool            `json:"livemode"`
	Status        string          `json:"status"`
	App           string          `json:"app"`
	Channel       string          `json:"channel"`
	OrderNo       string          `json:"order_no"`
	TransactionNo *string         `json:"transaction_no"`
	Amount        int64           `json:"amount"`
	AmountSettle  int64           `json:"amount_settle"`
	Currency      string          `json:"currency"`
	Recipient     string          `json:"recipient"`
	Subject       string          `json:"subject"`
	Body          string          `json:"body"`
	Description   string          `json:"description"`
	FailureMsg    *string         `json:"failure_msg"`
	Extra         json.RawMessage `json:"extra"`
	Metadata      json.RawMessage `json:"metadata"`
}

// FromRedEnvelope renders a red envelope.
func FromRedEnvelope(r *polypay.RedEnvelope) *RedEnvelope {
	return &RedEnvelope{ID: r.ID, Object: "red_envelope", Created: r.Created, Received: nullInt(r.Received),
		Refunded: nullInt(r.Refunded), Livemode: r.Livemode, Status: string(r.Status), App: r.AppID, Channel: r.Channel,
		OrderNo: r.OrderNo, TransactionNo: nullStr(r.TransactionNo), Amount: r.Amount, AmountSettle: r.Amount,
		Currency: r.Currency, Recipient: r.Recipient, Subject: r.Subject, Body: r.Body, Description: r.Description,
		FailureMsg: nullStr(r.FailureMsg), Extra: object(r.Extra), Metadata: object(r.Metadata)}
}

// BatchRefundCharge is one charges[] entry of a batch refund.
type BatchRefundCharge struct {
	Charge        string  `json:"charge"`
	Amount        int64   `json:"amount"`
	Description   string  `json:"description"`
	Status        string  `json:"status"`
	FailureMsg    *string `json:"failure_msg"`
	Refund        *string `json:"refund"`
	FundingSource *string `json:"funding_source"`
}

// BatchRefund is Ping++'s batch_refund object (§2.8).
type BatchRefund struct {
	ID            string              `json:"id"`
	App           string              `json:"app"`
	Object        string              `json:"object"`
	BatchNo       string              `json:"batch_no"`
	Created       int64               `json:"created"`
	Description   string              `json:"description"`
	Metadata      json.RawMessage     `json:"metadata"`
	Charges       []BatchRefundCharge `json:"charges"`
	Refunds       List                `json:"refunds"`
	RefundURL     string              `json:"refund_url"`
	Status        string              `json:"status"`
	TimeSucceeded *int64              `json:"time_succeeded"`
	Livemode      bool                `json:"livemode"`
}

// FromBatchRefund renders a batch refund with the refunds made for it
// (by refund id).
func FromBatchRefund(b *polypay.BatchRefund, refunds map[string]*polypay.Refund) *BatchRefund {
	w := &BatchRefund{ID: b.ID, App: b.AppID, Object: "batch_refund", BatchNo: b.BatchNo, Created: b.Created,
		Description: b.Description, Metadata: object(b.Metadata), Charges: []BatchRefundCharge{}, Status: string(b.Status),
		TimeSucceeded: nullInt(b.TimeSucceeded), Livemode: b.Livemode}
	var data []any
	for _, it := range b.Items {
		c := BatchRefundCharge{Charge: it.Charge, Amount: it.Amount, Description: it.Description, Status: "pending",
			Refund: nullStr(it.Refund), FundingSource: nullStr(it.FundingSource)}
		if r := refunds[it.Refund]; r != nil {
			c.Status, c.FailureMsg = string(r.Status), nullStr(r.FailureMsg)
			data = append(data, FromRefund(r))
		} else if b.Status.Decided() {
			// Decided without a refund: the charge changed after the batch
			// was checked, and its refund was refused.
			c.Status = "failed"
		}
		w.Charges = append(w.Charges, c)
	}
	w.Refunds = NewList("/v1/batch_refunds/"+b.ID+"/refunds", false, data)
	return w
}
