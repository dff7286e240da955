package core

import (
	"context"

	"github.com/polypay/polypay"
)

// pollPayouts runs the payout duties of one poll: due transfers (sent,
// queried, or sent again), red envelopes to follow, and batch refunds to
// finish.
func (s *Service) pollPayouts(ctx context.Context, now int64) (int, error) {
	if s.Payouts == nil {
		return 0, nil
	}
	n, err := s.pollTransfers(ctx, now)
	if err != nil {
		return n, err
	}
	envelopes, err := s.pollRedEnvelopes(ctx, now)
	n += envelopes
	if err != nil {
		return n, err
	}
	batches, err := s.pollBatchRefunds(ctx)
	n += batches
	if err != nil {
		return n, err
	}
	sent, err := s.pollWithdrawals(ctx, now)
	n += sent
	if err != nil {
		return n, err
	}
	settled, err := s.pollSettlements(ctx)
	n += settled
	if err != nil {
		return n, err
	}
	royalties, err := s.pollRoyaltyTransfers(ctx)
	return n + royalties, err
}

// applyPayoutNotification applies a verified payout notification to the
// app's transfer it names (in this mode): unknown transfers are refused.
func (s *Service) applyPayoutNotification(ctx context.Context, appID string, live bool, n *polypay.Notification) (polypay.NotifyOutcome, error) {
	if n.Payout == nil {
		return polypay.OutcomeRejectedMalformed, nil
	}
	id := polypay.TransferIDOf(n.PayoutNo)
	err := s.read(ctx, func(tx Tx) error {
		_, err := tx.GetTransfer(ctx, appID, live, id)
		return err
	})
	switch polypay.ErrorCode(err) {
	case "":
	case polypay.ENotFound:
		return polypay.OutcomeRejectedUnknownCharge.With("no such transfer"), nil
	default:
		return "", err
	}
	outcome, err := s.applyPayout(ctx, id, n.Payout, "notification")
	if outcome == polypay.OutcomeIgnored && n.Payout.State == polypay.PayoutProcessing {
		outcome = polypay.OutcomeIgnored.With("payout still processing")
	}
	return outcome, err
}
