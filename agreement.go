package polypay

import (
	"context"
	"encoding/json"
)

// An Agreement is a debit agreement (Ping++'s agreement object): the
// customer signs it at the channel once, and then the merchant debits
// them without their presence (WeChat Pay's 委托代扣, Alipay's 商家扣款 /
// 周期扣款). Signing starts from Credential; the channel's notification
// (or a query) makes it succeeded, and the customer or the merchant may
// end it (canceled).
type Agreement struct {
	ID         string
	AppID      string
	Livemode   bool
	Channel    string
	ContractNo string // the merchant's number for it (unique per app and mode)
	// ContractID is the channel's number once signed (Alipay agreement_no,
	// WeChat contract_id); "" before.
	ContractID    string
	Status        AgreementStatus
	Credential    json.RawMessage // what the client opens to sign
	Extra         json.RawMessage
	Metadata      json.RawMessage
	FailureCode   string
	FailureMsg    string
	TimeSucceeded int64
	TimeCanceled  int64
	// CanceledBy says who ended it: "merchant" or "user" (at the channel).
	CanceledBy string
	Created    int64
}

// AgreementStatus is an agreement's state.
type AgreementStatus string

const (
	AgreementCreated   AgreementStatus = "created"
	AgreementSucceeded AgreementStatus = "succeeded"
	AgreementCanceled  AgreementStatus = "canceled"
)

// CanBecome reports whether an agreement may move from s to to. A
// canceled agreement stays canceled: a late "signed" word changes nothing.
func (s AgreementStatus) CanBecome(to AgreementStatus) bool {
	switch s {
	case AgreementCreated:
		return to == AgreementSucceeded || to == AgreementCanceled
	case AgreementSucceeded:
		return to == AgreementCanceled
	}
	return false
}

// AgreementState is a channel's word on an agreement.
type AgreementState string

const (
	AgreementPending    AgreementState = "pending"    // not signed (yet)
	AgreementSigned     AgreementState = "signed"     // in force
	AgreementTerminated AgreementState = "terminated" // ended by the user or the merchant
	AgreementNotFound   AgreementState = "not_found"
)

// AgreementInfo is what a notification or a query says of an agreement.
type AgreementInfo struct {
	State      AgreementState
	ContractNo string // the merchant's number (Alipay external_agreement_no, WeChat contract_code)
	ContractID string // the channel's (Alipay agreement_no, WeChat contract_id)
	At         int64  // when it was signed or terminated, unix seconds; 0 if unknown
}

// AgreementRequest asks a channel to start signing an agreement.
type AgreementRequest struct {
	Agreement *Agreement
	NotifyURL string
	// Card is the card a card agreement saves (from the vault; never
	// stored with the agreement); nil for wallet channels.
	Card *CardData
}

// Agreer is a connector that signs and ends debit agreements. Debits are
// ordinary charges whose ChannelRequest names the agreement.
type Agreer interface {
	// SignAgreement returns the credential the client opens to sign
	// (JSON); safe to repeat for one agreement.
	SignAgreement(ctx context.Context, req AgreementRequest) (credential []byte, err error)
	// QueryAgreement asks the channel for the agreement's state.
	QueryAgreement(ctx context.Context, a *Agreement) (*AgreementInfo, error)
	// TerminateAgreement ends a signed agreement at the channel; ending
	// one already ended succeeds.
	TerminateAgreement(ctx context.Context, a *Agreement, notifyURL string) error
}

// DebitNotifier is an Agreer whose channel tells the customer of a debit
// before it is made (WeChat's pre-debit notice).
type DebitNotifier interface {
	NotifyDebit(ctx context.Context, a *Agreement, amount int64) error
}
