package polypay

import "encoding/json"

// RefundStatus is Ping++'s refund status.
type RefundStatus string

const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// CanBecome is the refund transition table.
func (s RefundStatus) CanBecome(to RefundStatus) bool {
	return s == RefundPending && (to == RefundSucceeded || to == RefundFailed)
}

// Refund returns part or all of a paid charge.
type Refund struct {
	ID            string
	AppID         string
	Livemode      bool
	ChargeID      string
	ChargeOrderNo string
	OrderNo       string // sent to the channel as its refund request number
	Amount        int64
	Currency      string
	Status        RefundStatus
	Created       int64
	TimeSucceed   int64
	Description   string
	FailureCode   string
	FailureMsg    string
	Metadata      json.RawMessage
	Extra         json.RawMessage
	TransactionNo string
	FundingSource string
}
