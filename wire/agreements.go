package wire

import (
	"encoding/json"

	"github.com/polypay/polypay"
)

// Agreement is Ping++'s agreement object.
type Agreement struct {
	ID            string          `json:"id"`
	Object        string          `json:"object"`
	Livemode      bool            `json:"livemode"`
	App           string          `json:"app"`
	Created       int64           `json:"created"`
	Channel       string          `json:"channel"`
	ContractNo    string          `json:"contract_no"`
	ContractID    *string         `json:"contract_id"`
	Credential    json.RawMessage `json:"credential"`
	Status        string          `json:"status"`
	TimeSucceeded *int64          `json:"time_succeeded"`
	TimeCanceled  *int64          `json:"time_canceled"`
	FailureCode   *string         `json:"failure_code"`
	FailureMsg    *string         `json:"failure_msg"`
	Extra         json.RawMessage `json:"extra"`
	Metadata      json.RawMessage `json:"metadata"`
	Source        *string         `json:"source"`
	// CanceledBy is polypay's: "merchant" or "user" (at the channel).
	CanceledBy *string `json:"canceled_by"`
}

// FromAgreement renders an agreement. The credential to sign is shown only
// while the agreement waits to be signed.
func FromAgreement(a *polypay.Agreement) *Agreement {
	w := &Agreement{ID: a.ID, Object: "agreement", Livemode: a.Livemode, App: a.AppID, Created: a.Created, Channel: a.Channel,
		ContractNo: a.ContractNo, ContractID: nullStr(a.ContractID), Credential: json.RawMessage("{}"), Status: string(a.Status),
		TimeSucceeded: nullInt(a.TimeSucceeded), TimeCanceled: nullInt(a.TimeCanceled), FailureCode: nullStr(a.FailureCode),
		FailureMsg: nullStr(a.FailureMsg), Extra: object(a.Extra), Metadata: object(a.Metadata), CanceledBy: nullStr(a.CanceledBy)}
	if a.Status == polypay.AgreementCreated && len(a.Credential) > 0 {
		w.Credential = a.Credential
	}
	if a.Status != polypay.AgreementCanceled {
		w.CanceledBy = nil // a cancel under way is not one yet
	}
	return w
}
