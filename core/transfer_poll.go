package core

import (
	"context"
	"sync"

	"golang.org/x/time/rate"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// PayoutRate bounds how many transfers per second polypay sends to one
// app's channel account when it fans a batch out itself (channels without
// a batch call), so a batch of thousands does not trip the channel's
// rate limits.
const PayoutRate = 10

// pollTransfers claims pending transfers whose check is due, one node
// each: a transfer never sent (a batch member) is sent; one sent is
// queried, and sent again only when the channel says it never got it.
func (s *Service) pollTransfers(ctx context.Context, now int64) (int, error) {
	var ids []string
	err := s.write(ctx, func(tx Tx) error {
		ids = nil
		due, err := tx.DueTransfers(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, id := range due {
			t, err := tx.LockTransfer(ctx, id)
			if err != nil {
				return err
			}
			next := now + transferQueryAfter(now-t.Created)
			if ok, err := tx.ClaimTransfer(ctx, id, now, next); err != nil {
				return err
			} else if ok {
				ids = append(ids, id)
			}
		}
		return nil
	})
	for _, id := range ids {
		s.checkTransfer(ctx, id)
	}
	return len(ids), err
}

// checkTransfer moves one pending transfer on: the first send of one never
// sent; otherwise a query, whose decision is applied, and a send again
// only when the channel holds no such payout (the earlier send never
// arrived; the channel keys payouts by PayoutNo, so it pays once anyway).
func (s *Service) checkTransfer(ctx context.Context, id string) {
	var t *store.TransferRow
	if err := s.read(ctx, func(tx Tx) (err error) { t, err = tx.LockTransfer(ctx, id); return }); err != nil {
		s.logTransferErr("reading transfer", id, err)
		return
	}
	if t.Status != polypay.TransferPending {
		return
	}
	pay, err := s.payouter(ctx, t.AppID, t.Livemode, t.Channel)
	if err != nil {
		s.logTransferErr("finding payout connector", id, err)
		return
	}
	bp, batchCall := pay.(polypay.BatchPayouter)
	batchCall = batchCall && t.BatchID != ""
	if !t.Sent {
		if batchCall {
			s.resendBatch(ctx, bp, t.BatchID, false) // its batch, in one call
			return
		}
		s.waitPayoutRate(ctx, t)
		s.sendTransfer(ctx, id)
		return
	}
	res, err := pay.QueryTransfer(ctx, &t.Transfer)
	if err != nil {
		s.Log.Warn("querying transfer", "transfer", id, "err", err)
		return
	}
	if res.State == polypay.PayoutNotFound {
		s.Log.Warn("channel holds no payout for a transfer sent earlier: sending it again", "transfer", id)
		if batchCall {
			s.resendBatch(ctx, bp, t.BatchID, true) // the batch, under its own number
			return
		}
		res, err = s.callTransfer(ctx, t)
	}
	s.settleTransfer(ctx, t, res, err, "query")
}

// payoutLimiters hold one rate limiter per app, mode and channel.
var payoutLimiters sync.Map

func (s *Service) waitPayoutRate(ctx context.Context, t *store.TransferRow) {
	key := t.AppID + "/" + t.Channel + "/" + map[bool]string{true: "live", false: "test"}[t.Livemode]
	l, _ := payoutLimiters.LoadOrStore(key, rate.NewLimiter(PayoutRate, PayoutRate))
	_ = l.(*rate.Limiter).Wait(ctx) // a canceled context ends the poll anyway
}

// resendBatch sends a batch's members in one batch call under the batch's
// number: those never sent (again false: a node died before its batch
// call), or all pending ones (again true: the channel never received it).
func (s *Service) resendBatch(ctx context.Context, bp polypay.BatchPayouter, batchID string, again bool) {
	var b *store.BatchTransferRow
	var members []*store.TransferRow
	if err := s.read(ctx, func(tx Tx) (err error) {
		if b, err = tx.LockBatchTransfer(ctx, batchID); err != nil {
			return err
		}
		members, err = tx.BatchMembers(ctx, batchID)
		return err
	}); err != nil {
		s.Log.Error("reading batch transfer", "batch", batchID, "err", err)
		return
	}
	s.sendBatch(ctx, bp, b, members, again)
}

// SettleTransfer implements reconcile.TransferSettler: a pending transfer
// a statement names is asked about (never sent) and a final answer applied
// as the poller would. It returns the transfer as it is afterwards.
func (s *Service) SettleTransfer(ctx context.Context, id string) (*polypay.Transfer, error) {
	var t *store.TransferRow
	load := func() error {
		return s.read(ctx, func(tx Tx) (err error) { t, err = tx.LockTransfer(ctx, id); return })
	}
	if err := load(); err != nil {
		return nil, err
	}
	if t.Status == polypay.TransferPending && t.Sent {
		pay, err := s.payouter(ctx, t.AppID, t.Livemode, t.Channel)
		if err != nil {
			return nil, err
		}
		res, err := pay.QueryTransfer(ctx, &t.Transfer)
		if err != nil {
			return nil, err
		}
		if res.State != polypay.PayoutNotFound {
			if _, err := s.applyPayout(ctx, id, res, "reconcile"); err != nil {
				return nil, err
			}
		}
		if err := load(); err != nil {
			return nil, err
		}
	}
	return &t.Transfer, nil
}
