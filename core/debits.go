package core

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
)

// A debit is an ordinary charge with extra.agreement naming a signed
// agreement of the app in the charge's mode, on the charge's channel: the
// merchant charges the customer without them (no credential to show), so
// it is made at once like a scanned code's charge, and notifications,
// ledger, refunds and reconciliation apply as to any charge.

// agreementOf reads extra.agreement, "" when the charge is no debit.
func agreementOf(extra json.RawMessage) (string, error) {
	var x struct {
		Agreement *string `json:"agreement"`
	}
	if len(extra) == 0 || json.Unmarshal(extra, &x) != nil || x.Agreement == nil {
		return "", nil
	}
	if *x.Agreement == "" {
		return "", polypay.ParamError("extra[agreement]", "extra[agreement] 须为已签约的 agr_ 编号")
	}
	return *x.Agreement, nil
}

func isDebit(extra json.RawMessage) bool {
	id, _ := agreementOf(extra)
	return id != ""
}

// debitAgreement is the signed agreement a charge debits, nil for a charge
// that names none.
func (s *Service) debitAgreement(ctx context.Context, who Caller, p ChargeParams) (*polypay.Agreement, error) {
	id, err := agreementOf(p.Extra)
	if id == "" || err != nil {
		return nil, err
	}
	if p.AuthOnly {
		return nil, polypay.ParamError("capture", "代扣不支持预授权（capture=false）")
	}
	var a *polypay.Agreement
	err = s.read(ctx, func(tx Tx) (err error) {
		a, err = tx.GetAgreement(ctx, who.App.ID, who.Live, id)
		return err
	})
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return nil, polypay.ParamError("extra[agreement]", "签约 %s 不存在", id)
	}
	if err != nil {
		return nil, err
	}
	if a.Status != polypay.AgreementSucceeded {
		return nil, polypay.ParamError("extra[agreement]", "签约 %s 状态为 %s，不能扣款", id, a.Status)
	}
	if a.Channel != p.Channel {
		return nil, polypay.ParamError("channel", "签约 %s 属于渠道 %s，扣款须使用同一渠道", id, a.Channel)
	}
	return a, nil
}
