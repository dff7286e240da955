package polypay

import (
	"context"
	"encoding/json"
	"strings"
)

// TransferStatus is a transfer's state, as Ping++ names it.
type TransferStatus string

const (
	// TransferScheduled waits for approval (payout settings) or a cancel;
	// nothing was sent to the channel.
	TransferScheduled TransferStatus = "scheduled"
	TransferPending   TransferStatus = "pending" // sent (or being sent); the channel has not decided
	TransferPaid      TransferStatus = "paid"
	TransferFailed    TransferStatus = "failed"
	TransferCanceled  TransferStatus = "canceled" // canceled while scheduled
)

// CanBecome is the transfer transition table: money leaves at most once,
// and a decided transfer never changes again.
func (s TransferStatus) CanBecome(to TransferStatus) bool {
	switch s {
	case TransferScheduled:
		return to == TransferPending || to == TransferCanceled
	case TransferPending:
		return to == TransferPaid || to == TransferFailed
	}
	return false
}

// Transfer is a payout to a user (企业付款). Amounts are minor units.
type Transfer struct {
	ID          string // tr_ + 24
	AppID       string
	Livemode    bool
	Channel     string // wx, wx_pub, wx_lite, alipay, unionpay
	OrderNo     string // the merchant's, unique per app, mode and channel
	BatchID     string // the batch transfer it belongs to, "" when single
	BatchNo     string // that batch's batch_no
	Type        string // b2c or b2b
	Amount      int64
	Currency    string
	Recipient   string // open_id (WeChat), account (Alipay), card number is in extra (UnionPay)
	Description string
	Extra       json.RawMessage // object
	Metadata    json.RawMessage // object
	Status      TransferStatus
	Created     int64
	// TimeTransferred is when the channel paid it (0 = null).
	TimeTransferred int64
	TransactionNo   string
	FailureCode     string
	FailureMsg      string
	// CreatedBy and ApprovedBy name who asked for and who approved a
	// scheduled payout (console user id, or "api"); ApprovedAt unix seconds.
	CreatedBy  string
	ApprovedBy string
	ApprovedAt int64
}

// PayoutNo is the number polypay gives the channel for a transfer (Alipay
// out_biz_no, WeChat out_detail_no / out_batch_no, UnionPay orderId): the
// transfer id without its prefix, 24 letters and digits, unique across
// apps sharing one channel account and fitting every channel's rules.
func (t *Transfer) PayoutNo() string { return strings.TrimPrefix(t.ID, "tr_") }

// TransferIDOf is the transfer id of a PayoutNo.
func TransferIDOf(payoutNo string) string { return "tr_" + payoutNo }

// PayoutState is a channel's word on one payout.
type PayoutState string

const (
	PayoutProcessing PayoutState = "processing" // accepted, not decided yet
	PayoutPaid       PayoutState = "paid"
	PayoutFailed     PayoutState = "failed"    // refused or returned: no money left the merchant for good
	PayoutNotFound   PayoutState = "not_found" // the channel holds no payout with that number
)

// PayoutResult is a channel's answer about a payout.
type PayoutResult struct {
	State PayoutState
	// Amount is the amount the channel states, 0 when it does not; a
	// mismatch with the transfer's is rejected.
	Amount        int64
	TransactionNo string // the channel's payout id
	PaidAt        int64  // unix seconds, 0 when unknown
	FailureCode   string // the channel's own code (e.g. PAYEE_NOT_EXIST, NOT_ENOUGH)
	FailureMsg    string
}

// PayoutRequest is what a payout connector needs to pay one transfer.
type PayoutRequest struct {
	Transfer  *Transfer
	NotifyURL string // where the channel notifies (/notify/{family}/{app}/{mode})
}

// Payouter is implemented by connectors whose channel pays money out
// (transfers). Errors as for Channel: *Error EInvalid for bad transfer
// parameters, EChannel for a refusal (ChannelCode set; nothing was paid),
// anything else a transport failure whose outcome is unknown.
type Payouter interface {
	// CheckTransfer validates the channel's rules on a new transfer before
	// anything is stored: order_no format, recipient, extra fields
	// (pingpp-compat §2.5). EInvalid naming the parameter ("extra[recipient_name]").
	CheckTransfer(t *Transfer) error
	// Transfer asks the channel to pay t, keyed at the channel by
	// t.PayoutNo(), so calling it twice pays once. A processing answer is
	// decided later by a notification or QueryTransfer.
	Transfer(ctx context.Context, req PayoutRequest) (*PayoutResult, error)
	// QueryTransfer asks for a payout's state; PayoutNotFound when the
	// channel never received it.
	QueryTransfer(ctx context.Context, t *Transfer) (*PayoutResult, error)
}

// BatchPayouter is implemented by connectors whose channel takes many
// payouts in one call (WeChat's transfer batches). Each transfer keeps its
// own PayoutNo; the batch is keyed by batchNo, so repeating it pays once.
type BatchPayouter interface {
	Payouter
	// MaxBatch is the most transfers one call may carry.
	MaxBatch() int
	TransferBatch(ctx context.Context, batchNo string, reqs []PayoutRequest) ([]*PayoutResult, error)
}

// RedEnvelopeStatus is a red envelope's state, as Ping++ names it
// (sic: "refund" for refunded).
type RedEnvelopeStatus string

const (
	RedEnvelopeSending   RedEnvelopeStatus = "sending"
	RedEnvelopeSent      RedEnvelopeStatus = "sent"
	RedEnvelopeFailed    RedEnvelopeStatus = "failed"
	RedEnvelopeReceived  RedEnvelopeStatus = "received"
	RedEnvelopeRefunding RedEnvelopeStatus = "refunding"
	RedEnvelopeRefund    RedEnvelopeStatus = "refund"
)

// RedEnvelope is a WeChat cash red envelope (现金红包), wx_pub only.
type RedEnvelope struct {
	ID            string // red_ + 24
	AppID         string
	Livemode      bool
	Channel       string // wx_pub
	OrderNo       string // 1-28 digits (WeChat mch_billno is built from it)
	Amount        int64
	Currency      string
	Recipient     string // open_id
	Subject       string // act_name
	Body          string // wishing
	Description   string // remark
	Extra         json.RawMessage
	Metadata      json.RawMessage
	Status        RedEnvelopeStatus
	Created       int64
	Received      int64 // 0 = null
	Refunded      int64 // 0 = null
	TransactionNo string
	FailureMsg    string
}

// RedEnvelopeResult is WeChat's word on a red envelope.
type RedEnvelopeResult struct {
	Status        RedEnvelopeStatus
	Amount        int64
	TransactionNo string // detail_id
	ReceivedAt    int64
	RefundedAt    int64
	FailureCode   string
	FailureMsg    string
	NotFound      bool // WeChat holds no envelope with that mch_billno
}

// RedEnvelopeSender is implemented by the WeChat connector: its v2 XML
// sendredpack / gethbinfo calls with the merchant's API certificate.
type RedEnvelopeSender interface {
	// CheckRedEnvelope validates extra (send_name, scene_id) and the
	// WeChat limits; EInvalid naming the parameter.
	CheckRedEnvelope(r *RedEnvelope) error
	// SendRedEnvelope sends r, keyed by its mch_billno so repeating it
	// sends once.
	SendRedEnvelope(ctx context.Context, r *RedEnvelope) (*RedEnvelopeResult, error)
	QueryRedEnvelope(ctx context.Context, r *RedEnvelope) (*RedEnvelopeResult, error)
}

// BatchStatus is a batch transfer's or batch refund's state.
type BatchStatus string

const (
	BatchCreated            BatchStatus = "created" // batch refunds: validated, refunds not yet asked
	BatchScheduled          BatchStatus = "scheduled"
	BatchPending            BatchStatus = "pending"
	BatchSucceeded          BatchStatus = "succeeded"
	BatchPartiallySucceeded BatchStatus = "partially_succeeded"
	BatchFailed             BatchStatus = "failed"
	BatchCanceled           BatchStatus = "canceled"
)

// Decided reports whether a batch reached its final state.
func (s BatchStatus) Decided() bool {
	return s == BatchSucceeded || s == BatchPartiallySucceeded || s == BatchFailed || s == BatchCanceled
}

// BatchTransfer is a batch of transfers (批量付款); its members are
// Transfers with BatchID set.
type BatchTransfer struct {
	ID            string // 18 digits
	AppID         string
	Livemode      bool
	BatchNo       string
	Channel       string
	Type          string
	Amount        int64
	Currency      string
	Description   string
	Metadata      json.RawMessage
	Status        BatchStatus
	Created       int64
	TimeSucceeded int64
	FailureMsg    string
	CreatedBy     string
	ApprovedBy    string
	ApprovedAt    int64
}

// BatchRefundItem is one charge of a batch refund.
type BatchRefundItem struct {
	Charge        string `json:"charge"`
	Amount        int64  `json:"amount"`
	Description   string `json:"description"`
	FundingSource string `json:"funding_source,omitempty"`
	Refund        string `json:"refund,omitempty"` // the refund made for it
}

// BatchRefund refunds up to 100 charges in one request.
type BatchRefund struct {
	ID            string // 18 digits
	AppID         string
	Livemode      bool
	BatchNo       string
	Description   string
	Metadata      json.RawMessage
	Items         []BatchRefundItem
	Status        BatchStatus
	Created       int64
	TimeSucceeded int64
}

// PayoutSettings are an app's payout approval rules in one mode.
type PayoutSettings struct {
	// ApproveAbove: a transfer of more than this (minor units) waits for
	// approval; 0 approves nothing.
	ApproveAbove int64 `json:"approve_above"`
	// ApproveBatches: every batch transfer waits for approval.
	ApproveBatches bool  `json:"approve_batches"`
	Updated        int64 `json:"updated"`
}
