package core

import (
	"context"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/store"
)

// Poll runs one pass of the gateway's durable background duties: it asks
// channels about unpaid charges whose notification may have gone missing,
// closes charges at time_expire (closing the channel trade too), and
// re-asks channels about pending refunds. Work is claimed row by row in the
// store, so several nodes can poll one database without doing anything
// twice. It returns how many items it handled.
func (s *Service) Poll(ctx context.Context) (int, error) {
	now := s.now().Unix()
	var charges, refunds []string
	err := s.write(ctx, func(tx Tx) error {
		charges, refunds = nil, nil
		ids, err := tx.DueCharges(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, id := range ids {
			c, err := tx.LockCharge(ctx, id)
			if err != nil {
				return err
			}
			if ok, err := tx.ClaimCharge(ctx, id, now, NextCheck(c, now)); err != nil {
				return err
			} else if ok {
				charges = append(charges, id)
			}
		}
		ids, err = tx.DueRefunds(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, no := range ids {
			if ok, err := tx.ClaimRefund(ctx, no, now, now+60); err != nil {
				return err
			} else if ok {
				refunds = append(refunds, no)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range charges {
		if err := s.checkCharge(ctx, id, now); err != nil {
			s.Log.Warn("checking charge with channel", "charge", id, "err", err)
		}
	}
	for _, no := range refunds {
		if err := s.checkRefund(ctx, no); err != nil {
			s.Log.Warn("checking refund with channel", "refund_no", no, "err", err)
		}
	}
	holds, err := s.expireHolds(ctx, now)
	if err != nil {
		return len(charges) + len(refunds) + holds, err
	}
	payouts, err := s.pollPayouts(ctx, now)
	holds += payouts
	if err != nil {
		return len(charges) + len(refunds) + holds, err
	}
	canceled, err := s.cancelExpiredOrders(ctx, now)
	holds += canceled
	if err == nil {
		err = s.finishOrderRefunds(ctx, now)
	}
	if err != nil {
		return len(charges) + len(refunds) + holds, err
	}
	doubts, err := s.verifyDoubts(ctx, now)
	if err == nil {
		var billed int
		billed, err = s.RunSubscriptions(ctx)
		doubts += billed
	}
	if err == nil {
		var checked int
		checked, err = s.checkAgreements(ctx, now)
		doubts += checked
	}
	if err == nil {
		err = s.housekeep(ctx, now)
	}
	return len(charges) + len(refunds) + holds + doubts, err
}

// Defaults of the notification log's limits (Service.Retention).
const (
	DefaultRejectedRetention = 30 * 24 * time.Hour
	DefaultRejectedPerApp    = 10000
)

// housekeepEvery spaces the store trimming out: its deletes need not run
// on every poll.
const housekeepEvery = 60

// housekeep trims, at most once a minute per node, what outsiders can make
// polypay store: records of rejected notifications (kept RejectedRetention,
// at most RejectedPerApp per app) and spent request signatures.
func (s *Service) housekeep(ctx context.Context, now int64) error {
	if last := s.lastHousekeep.Load(); now-last < housekeepEvery || !s.lastHousekeep.CompareAndSwap(last, now) {
		return nil
	}
	p := store.TrimPolicy{RejectedRetention: int64(DefaultRejectedRetention / time.Second), RejectedPerApp: DefaultRejectedPerApp}
	if s.RejectedRetention != 0 {
		p.RejectedRetention = int64(s.RejectedRetention / time.Second)
	}
	if s.RejectedPerApp != 0 {
		p.RejectedPerApp = s.RejectedPerApp
	}
	if err := s.write(ctx, func(tx Tx) error {
		if _, err := tx.Trim(ctx, p); err != nil {
			return err
		}
		// Online payment codes expired an hour ago: their digits may be
		// issued again (one still stored refuses a new code with them).
		return tx.DeleteExpiredPaycodes(ctx, now-3600)
	}); err != nil {
		return err
	}
	if s.Risk == nil {
		return nil
	}
	return s.DB.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.TrimRisk(ctx, (now-int64(risk.AttemptRetention/time.Second))*1000, risk.DecisionsPerApp)
		return err
	})
}

// QuerySchedule is when, by a charge's age in seconds, polypay asks the
// channel about an unpaid charge whose notification has not come; after the
// last entry it asks hourly, and always once more at time_expire.
var QuerySchedule = []int64{5, 15, 45, 120, 300, 600, 1800}

// ScanWindow is how long a charge where the merchant scanned the customer's
// payment code (alipay_scan, wx_pub_scan) may stay "user paying": polypay
// polls it every ScanPoll seconds and cancels the trade at the last poll if
// it is still unpaid.
const (
	ScanWindow = 60
	ScanPoll   = 3
)

// QRWindow and QRPoll: a QR code shown to the customer (alipay_qr,
// wx_pub_qr) is polled every QRPoll seconds for its first QRWindow seconds,
// while the customer is most likely scanning it; then QuerySchedule applies,
// and the trade is closed at time_expire (the last poll).
const (
	QRWindow = 60
	QRPoll   = 5
)

// NextCheck is when the poller should next ask the channel about an unpaid
// charge, given the time now.
func NextCheck(c *polypay.Charge, now int64) int64 {
	if c.HeldUnsent() {
		// Nothing to ask the channel yet; only the review's expiry is due.
		if c.TimeExpire > now {
			return c.TimeExpire
		}
		return now + 60
	}
	age := now - c.Created
	var next int64
	if isScan(c.Channel) {
		next = now + ScanPoll
		if deadline := c.Created + ScanWindow; next > deadline {
			next = deadline
		}
		if next <= now {
			next = now + 60 // cancelling failed: try again in a minute
		}
	} else if isQR(c.Channel) && age+QRPoll <= QRWindow {
		next = now + QRPoll
	} else {
		next = now + 3600
		for _, a := range QuerySchedule {
			if a > age {
				next = c.Created + a
				break
			}
		}
	}
	if c.TimeExpire > now && c.TimeExpire < next {
		next = c.TimeExpire
	}
	return next
}

// due reports whether an unpaid charge must now be closed at the channel.
func due(c *polypay.Charge, now int64) bool {
	return now >= c.TimeExpire || (isScan(c.Channel) && now-c.Created >= ScanWindow)
}

func (s *Service) checkCharge(ctx context.Context, id string, now int64) error {
	var c *polypay.Charge
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		c, err = tx.LockCharge(ctx, id)
		return err
	}); err != nil {
		return err
	}
	if c.HeldUnsent() {
		if due(c, now) {
			_, err := s.rejectHeld(ctx, c.ID, polypay.ReviewExpired, nil)
			return err
		}
		return nil
	}
	ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
	if err != nil {
		return err
	}
	return s.queryThenClose(ctx, c, ch, due(c, now), "expiry")
}

// queryThenClose asks the channel about an open charge and applies a
// final answer. A trade still open is closed when close is set (expired,
// a scan left unpaid, its order canceled): at the channel first, so that
// the customer can no longer pay, then locally. A payment that still
// lands afterwards is applied, never lost (see applyTrade).
func (s *Service) queryThenClose(ctx context.Context, c *polypay.Charge, ch polypay.Channel, close bool, source string) error {
	t, err := ch.QueryCharge(ctx, c)
	if err != nil {
		return err
	}
	switch t.State {
	case polypay.TradePaid, polypay.TradeFinished, polypay.TradeClosed, polypay.TradeAuthorized, polypay.TradeFailed:
		_, err := s.applyTrade(ctx, c.ID, t, "query", nil)
		return err
	}
	if !close {
		return nil
	}
	if err := ch.CloseCharge(ctx, c); err != nil {
		return err
	}
	_, err = s.applyTrade(ctx, c.ID, &polypay.Trade{State: polypay.TradeClosed}, source, nil)
	return err
}

func (s *Service) checkRefund(ctx context.Context, orderNo string) error {
	var c *polypay.Charge
	var r *polypay.Refund
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		if r, err = tx.RefundByOrderNo(ctx, orderNo); err != nil {
			return err
		}
		c, err = tx.LockCharge(ctx, r.ChargeID)
		return err
	}); err != nil {
		return err
	}
	// Repeating the refund request is safe (the channel keys it by our
	// refund number) and covers a request that never reached the channel.
	res, err := s.askRefund(ctx, c, r)
	if err != nil {
		return err
	}
	if res.Status == polypay.RefundPending {
		return nil
	}
	_, _, err = s.applyRefund(ctx, c.ID, orderNo, res, 0, "query", nil, nil)
	return err
}

// RunPoller polls every interval until ctx ends.
func (s *Service) RunPoller(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Poll(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("poller", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// verifyDoubts settles scan charges whose create outcome is in doubt
// (verifyDoubt), claiming each so one node asks; an unsettled one is asked
// again a minute later.
func (s *Service) verifyDoubts(ctx context.Context, now int64) (int, error) {
	var ids []string
	err := s.write(ctx, func(tx Tx) error {
		ids = nil
		due, err := tx.DueDoubts(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, id := range due {
			if ok, err := tx.ClaimDoubt(ctx, id, now, now+60); err != nil {
				return err
			} else if ok {
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := s.verifyDoubt(ctx, id); err != nil {
			s.Log.Warn("verifying a scan charge in doubt", "charge", id, "err", err)
		}
	}
	return len(ids), nil
}
