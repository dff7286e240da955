package core

import (
	"context"

	"github.com/polypay/polypay"
)

// PayoutSettings returns an app's payout approval rules in the caller's mode.
func (s *Service) PayoutSettings(ctx context.Context, who Caller) (polypay.PayoutSettings, error) {
	return s.payoutSettings(ctx, who)
}

// PutPayoutSettings replaces an app's payout approval rules in the
// caller's mode; approve_above must not be negative.
func (s *Service) PutPayoutSettings(ctx context.Context, who Caller, st polypay.PayoutSettings) (polypay.PayoutSettings, error) {
	if st.ApproveAbove < 0 || st.ApproveAbove > MaxAmount {
		return st, polypay.ParamError("approve_above", "approve_above 须为 0 到 %d 之间的整数（单位：分），0 表示不需审批", MaxAmount)
	}
	err := s.write(ctx, func(tx Tx) error {
		st.Updated = tx.Now()
		return tx.PutPayoutSettings(ctx, who.App.ID, who.Live, st)
	})
	return st, err
}
