package core

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/metrics"
	"github.com/polypay/polypay/store"
)

// ChargeParams are the validated parameters of POST /v1/charges.
type ChargeParams struct {
	OrderNo     string          `json:"order_no"`
	AppID       string          `json:"app"`
	Channel     string          `json:"channel"`
	Amount      int64           `json:"amount"`
	ClientIP    string          `json:"client_ip"`
	Currency    string          `json:"currency"`
	Subject     string          `json:"subject"`
	Body        string          `json:"body"`
	Description string          `json:"description"`
	Extra       json.RawMessage `json:"extra"`
	Metadata    json.RawMessage `json:"metadata"`
	TimeExpire  int64           `json:"time_expire"`
	// AuthOnly (capture=false on the wire) asks for a pre-authorization.
	AuthOnly bool `json:"auth_only,omitempty"`
}

// MaxAmount bounds a single charge: int32 fits every Ping++ SDK (JAVA reads
// amounts as Integer), and 21 million yuan is beyond any one payment.
const MaxAmount = 2147483647

// MaxExpiry is the longest time_expire allowed. Without one, a charge stays
// open for its family's default (polypay.Family.ChargeExpiry).
const MaxExpiry = 15 * 24 * time.Hour

// CreateCharge creates a charge: an order_no seen before with the same
// parameters returns the existing charge; with other parameters it is an
// error naming order_no. Nothing is written when the channel refuses.
func (s *Service) CreateCharge(ctx context.Context, who Caller, p ChargeParams, hook Hook) (any, error) {
	if p.AppID != who.App.ID {
		// A foreign app id looks like an unknown one.
		return nil, &polypay.Error{Code: polypay.EInvalid, Param: "app", Message: "app 不存在: " + p.AppID}
	}
	if strings.Contains(p.Channel, "@") || !s.Channels.Supported(p.Channel) {
		return nil, polypay.ParamError("channel", "不支持的渠道: %s", p.Channel)
	}
	if hasCard(p.Extra) {
		// Card numbers enter polypay only through the vault, so that they
		// never sit in a charge's extra, its hash or its idempotency record.
		return nil, polypay.ParamError("extra[card]", "卡号不能放在 extra 中：请先用 publishable key 调用 POST /v1/tokens（或收银台的银行卡表单）得到 tok_，再以 extra[source] 传入")
	}
	now := s.now().Unix()
	family := s.Channels.Family(p.Channel)
	if p.TimeExpire == 0 {
		d := chargeExpiry(family)
		p.TimeExpire = now + int64(d/time.Second)
	} else if p.TimeExpire <= now {
		return nil, polypay.ParamError("time_expire", "time_expire 必须晚于当前时间")
	} else if p.TimeExpire > now+int64(MaxExpiry/time.Second) {
		return nil, polypay.ParamError("time_expire", "time_expire 不能晚于 %d 天后", int(MaxExpiry/(24*time.Hour)))
	}
	hashed := p
	hashed.TimeExpire = 0 // a retry computes a new default expiry; it is not a new order
	paramsHash := hashJSON(hashed)

	var existing *polypay.Charge
	if err := s.DB.Read(ctx, func(tx *store.Tx) error {
		var err error
		existing, err = tx.ChargeByOrderNo(ctx, who.App.ID, who.Live, p.OrderNo)
		return err
	}); err != nil {
		return nil, err
	}
	if existing != nil {
		return s.existingCharge(ctx, existing, paramsHash, hook)
	}

	c := &polypay.Charge{
		ID: polypay.NewID("ch_"), AppID: who.App.ID, Livemode: who.Live, Channel: p.Channel, OrderNo: p.OrderNo,
		ClientIP: p.ClientIP, Amount: p.Amount, AmountSettle: p.Amount, Currency: p.Currency, Subject: p.Subject,
		Body: p.Body, Description: p.Description, Extra: p.Extra, Metadata: p.Metadata,
		Status: polypay.ChargePending, Created: now, TimeExpire: p.TimeExpire, ParamsHash: paramsHash,
		AuthOnly: p.AuthOnly,
	}
	routes, err := s.routesFor(ctx, who.App.ID, who.Live, family)
	if err != nil {
		return nil, err
	}
	req := polypay.ChannelRequest{Charge: c, NotifyURL: s.NotifyURL(family, who.App.ID, who.Live), AuthorizeOnly: p.AuthOnly}
	var ch polypay.Channel
	if routes == nil || isScan(c.Channel) || isCard(c.Channel) {
		if ch, err = s.Channels.Channel(ctx, who.App.ID, who.Live, p.Channel); err != nil {
			return nil, err
		}
	}
	if p.AuthOnly && ch != nil {
		if _, ok := ch.(polypay.Authorizer); !ok {
			return nil, polypay.ParamError("capture", "渠道 %s 不支持预授权（capture=false）", p.Channel)
		}
	}
	if isScan(c.Channel) {
		return s.createScan(ctx, ch, c, now, hook)
	}
	if isCard(p.Channel) {
		return s.createCardCharge(ctx, c, req, p.Extra, now, hook)
	}
	cred, err := s.createRouted(ctx, c, req, routes)
	if err != nil {
		return nil, s.unknownOutcome(ctx, c, now, err)
	}
	c.Credential = cred
	var out any
	err = s.DB.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertCharge(ctx, c, NextCheck(c, now)); err != nil {
			return err
		}
		w, err := RenderCharge(ctx, tx, c)
		if err != nil {
			return err
		}
		out = w
		return runHook(hook, tx, w)
	})
	if store.IsUniqueViolation(err) && out == nil {
		// Lost a race with a concurrent request for the same order_no.
		if err := s.DB.Read(ctx, func(tx *store.Tx) error {
			var e error
			existing, e = tx.ChargeByOrderNo(ctx, who.App.ID, who.Live, p.OrderNo)
			return e
		}); err != nil {
			return nil, err
		}
		if existing != nil {
			return s.existingCharge(ctx, existing, paramsHash, hook)
		}
	}
	if err != nil {
		return nil, err
	}
	metrics.ChargesCreated.WithLabelValues(c.Channel).Inc()
	return out, nil
}

// createScan charges the customer's payment code. The charge is stored
// before the channel is called, because the channel answers, and may
// notify, during the call. A declined code closes the charge (its
// out_trade_no is spent at the channel) and is reported as a channel error.
func (s *Service) createScan(ctx context.Context, ch polypay.Channel, c *polypay.Charge, now int64, hook Hook) (any, error) {
	// Until the create's outcome is known, the charge is in doubt: if this
	// node dies during the call, the poller verifies it (verifyDoubt).
	if err := s.DB.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertCharge(ctx, c, NextCheck(c, now)); err != nil {
			return err
		}
		return tx.SetDoubtCheck(ctx, c.ID, now+ScanWindow+DoubtGrace)
	}); err != nil {
		if store.IsUniqueViolation(err) {
			var existing *polypay.Charge
			if err := s.DB.Read(ctx, func(tx *store.Tx) (e error) {
				existing, e = tx.ChargeByOrderNo(ctx, c.AppID, c.Livemode, c.OrderNo)
				return e
			}); err != nil || existing == nil {
				return nil, err
			}
			return s.existingCharge(ctx, existing, c.ParamsHash, hook)
		}
		return nil, err
	}
	cred, err := ch.CreateCharge(ctx, polypay.ChannelRequest{Charge: c, NotifyURL: s.NotifyURL(s.Channels.Family(c.ChannelRoute()), c.AppID, c.Livemode), AuthorizeOnly: c.AuthOnly})
	if err != nil {
		var pe *polypay.Error
		if !errors.As(err, &pe) {
			// Unknown outcome: the connector reversed the trade (or tried
			// to). Meanwhile a notification or the poller may have recorded
			// the payment, which the reversal then gave back: learn the
			// trade's end state now. A pending charge left here is closed
			// by the poller's query.
			s.settleReversedScan(ctx, ch, c, err)
			return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: "channel_timeout", Err: err,
				Message: "渠道未及时响应，交易已撤销或将被撤销；请使用新的 order_no 重新收款"}
		}
		if werr := s.DB.Write(ctx, func(tx *store.Tx) error {
			cur, err := tx.LockCharge(ctx, c.ID)
			if err != nil || cur.Status != polypay.ChargePending {
				return err
			}
			cur.Status = polypay.ChargeClosed
			cur.FailureCode, cur.FailureMsg = pe.ChannelCode, pe.Message
			if cur.FailureCode == "" {
				cur.FailureCode = pe.Code
			}
			if err := tx.SetDoubtCheck(ctx, c.ID, 0); err != nil {
				return err
			}
			return tx.UpdateCharge(ctx, cur)
		}); werr != nil {
			return nil, werr
		}
		return nil, channelErr(err)
	}
	if err := s.DB.Write(ctx, func(tx *store.Tx) error {
		cur, err := tx.LockCharge(ctx, c.ID)
		if err != nil {
			return err
		}
		cur.Credential = cred
		// The channel answered: nothing was reversed behind our back.
		if err := tx.SetDoubtCheck(ctx, c.ID, 0); err != nil {
			return err
		}
		return tx.UpdateCharge(ctx, cur)
	}); err != nil {
		return nil, err
	}
	// The customer's code was charged synchronously (or is "user paying"):
	// learn the outcome now so the reply can say paid.
	if t, qerr := ch.QueryCharge(ctx, c); qerr != nil {
		s.Log.Warn("querying scanned charge", "charge", c.ID, "err", qerr)
	} else if _, aerr := s.applyTrade(ctx, c.ID, t, "create", nil); aerr != nil {
		return nil, aerr
	}
	var cur *polypay.Charge
	if err := s.DB.Read(ctx, func(tx *store.Tx) (e error) { cur, e = tx.LockCharge(ctx, c.ID); return }); err != nil {
		return nil, err
	}
	return s.existingCharge(ctx, cur, c.ParamsHash, hook)
}

// settleReversedScan records the end of a payment-code trade whose create
// had an unknown outcome and which the connector reversed: the channel's
// query is the truth (a reversed trade is closed, whatever was paid went
// back); when the query fails too, the connector's confirmed reversal
// (ErrTradeReversed) is.
func (s *Service) settleReversedScan(ctx context.Context, ch polypay.Channel, c *polypay.Charge, cause error) {
	chargeID := c.ID
	ctx = context.WithoutCancel(ctx) // the merchant's request may be gone; the books must still be right
	var closed bool
	for attempt := 0; attempt < 3; attempt++ {
		t, err := ch.QueryCharge(ctx, c)
		if err == nil {
			closed = t.State == polypay.TradeClosed || t.State == polypay.TradeNotFound
			if !closed {
				return // paid or still pending at the channel: the usual paths apply it
			}
			break
		}
		if attempt == 2 {
			closed = errors.Is(cause, polypay.ErrTradeReversed)
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	if !closed {
		// doubt_check stays set: the poller verifies it.
		s.Log.Warn("scan charge: outcome unknown and the reversal unconfirmed; the poller will ask", "charge", chargeID, "err", cause)
		return
	}
	if err := s.applyReversal(ctx, chargeID); err != nil {
		s.Log.Error("recording a reversed scan charge", "charge", chargeID, "err", err)
		return
	}
	if err := s.DB.Write(ctx, func(tx *store.Tx) error { return tx.SetDoubtCheck(ctx, chargeID, 0) }); err != nil {
		s.Log.Warn("clearing a settled doubt", "charge", chargeID, "err", err)
	}
}

// DoubtGrace is how long after a scan charge's window polypay verifies it
// when its create never reported an outcome (see verifyDoubt).
const DoubtGrace = 30

// verifyDoubt settles a scan charge whose create may have ended in a blind
// reversal that was never recorded (the node died, or the reversal went
// unconfirmed): the channel's word decides, whatever polypay recorded
// meanwhile. It reports whether the doubt is settled.
func (s *Service) verifyDoubt(ctx context.Context, id string) (bool, error) {
	var c *polypay.Charge
	if err := s.DB.Read(ctx, func(tx *store.Tx) (err error) { c, err = tx.LockCharge(ctx, id); return }); err != nil {
		return false, err
	}
	ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
	if err != nil {
		return false, err
	}
	t, err := ch.QueryCharge(ctx, c)
	if err != nil {
		return false, err
	}
	switch t.State {
	case polypay.TradeClosed, polypay.TradeNotFound:
		if c.Paid() {
			if err := s.applyReversal(ctx, id); err != nil {
				return false, err
			}
		} else if _, err := s.applyTrade(ctx, id, &polypay.Trade{State: polypay.TradeClosed}, "query", nil); err != nil {
			return false, err
		}
	case polypay.TradePaid, polypay.TradeFinished:
		if _, err := s.applyTrade(ctx, id, t, "query", nil); err != nil {
			return false, err
		}
	default:
		return false, nil // still open at the channel: ask again later
	}
	return true, s.DB.Write(ctx, func(tx *store.Tx) error { return tx.SetDoubtCheck(ctx, id, 0) })
}

// applyReversal records that the channel reversed a charge's trade. A
// pending charge becomes reversed; a paid one too, and what was kept of
// its payment (amount - amount_refunded) goes back from the channel's
// account in the ledger (ref_type "reversal"). Refunds still pending fail
// at the channel, whose trade is closed, and release their reservation.
func (s *Service) applyReversal(ctx context.Context, chargeID string) error {
	var was polypay.ChargeStatus
	err := s.DB.Write(ctx, func(tx *store.Tx) error {
		c, err := tx.LockCharge(ctx, chargeID)
		if err != nil {
			return err
		}
		was = c.Status
		if !c.Status.CanBecome(polypay.ChargeReversed) {
			return nil // already reversed, or closed unpaid: nothing to undo
		}
		if c.Paid() {
			if back := c.AmountCaptured - c.AmountRefunded; back > 0 {
				if err := tx.Post(ctx, ledger.Reversed(c)); err != nil {
					return err
				}
			}
		}
		c.Status = polypay.ChargeReversed
		return tx.UpdateCharge(ctx, c)
	})
	if err == nil && was == polypay.ChargePaid {
		s.Log.Warn("a paid scan charge was reversed at the channel after an unknown outcome; the payment went back to the customer", "charge", chargeID)
	}
	return err
}

// unknownOutcome handles a failed channel create. A refusal by the channel
// writes nothing. When the outcome is unknown (timeout, connection lost),
// the channel may have opened the trade: the charge is kept without a
// credential, so a retry with the same order_no asks the channel again
// with the same out_trade_no, and the poller settles it by query.
func (s *Service) unknownOutcome(ctx context.Context, c *polypay.Charge, now int64, err error) error {
	var pe *polypay.Error
	if errors.As(err, &pe) {
		return err
	}
	c.Credential = nil
	if werr := s.DB.Write(ctx, func(tx *store.Tx) error {
		return tx.InsertCharge(ctx, c, NextCheck(c, now))
	}); werr != nil && !store.IsUniqueViolation(werr) {
		s.Log.Error("keeping charge after an unknown channel outcome", "charge", c.ID, "err", werr)
	}
	return &polypay.Error{Code: polypay.EChannel, ChannelCode: "channel_timeout", Err: err,
		Message: "渠道未及时响应，结果未知；请使用相同的 order_no 重试（polypay 会以同一渠道订单号重新请求，并主动查询结果）"}
}

func (s *Service) existingCharge(ctx context.Context, c *polypay.Charge, paramsHash string, hook Hook) (any, error) {
	if c.ParamsHash != paramsHash {
		return nil, polypay.ParamError("order_no", "订单号 %s 已被使用，且参数与原支付请求不同", c.OrderNo)
	}
	// Card charges are not re-sent: the card was used once, and the
	// poller settles the first attempt by query.
	if c.Status == polypay.ChargePending && len(c.Credential) == 0 && !isScan(c.Channel) && !isCard(c.Channel) {
		// An earlier create timed out: ask the channel again for the same trade.
		ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
		if err != nil {
			return nil, err
		}
		cred, err := ch.CreateCharge(ctx, polypay.ChannelRequest{Charge: c, NotifyURL: s.NotifyURL(s.Channels.Family(c.ChannelRoute()), c.AppID, c.Livemode), AuthorizeOnly: c.AuthOnly})
		if err != nil {
			return nil, channelErr(err)
		}
		if err := s.DB.Write(ctx, func(tx *store.Tx) error {
			cur, err := tx.LockCharge(ctx, c.ID)
			if err != nil {
				return err
			}
			if len(cur.Credential) == 0 {
				cur.Credential = cred
				return tx.UpdateCharge(ctx, cur)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	var out any
	err := s.DB.Write(ctx, func(tx *store.Tx) error {
		cur, err := tx.LockCharge(ctx, c.ID)
		if err != nil {
			return err
		}
		w, err := RenderCharge(ctx, tx, cur)
		if err != nil {
			return err
		}
		out = w
		return runHook(hook, tx, w)
	})
	return out, err
}

// channelErr turns a connector failure into the error the merchant sees.
func channelErr(err error) error {
	var pe *polypay.Error
	if errors.As(err, &pe) {
		return err
	}
	return &polypay.Error{Code: polypay.EChannel, Message: "渠道暂时不可用，请稍后重试: " + err.Error(), Err: err}
}

// GetCharge returns a charge rendered for the API.
func (s *Service) GetCharge(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.DB.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.GetCharge(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		out, err = RenderCharge(ctx, tx, c)
		return err
	})
	return out, err
}

// Reverse cancels a charge. Ping++ offers it only for the offline isv_*
// channels, which polypay does not have yet, so every charge is refused with
// the reason.
func (s *Service) Reverse(ctx context.Context, who Caller, id string) (any, error) {
	var c *polypay.Charge
	if err := s.DB.Read(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.GetCharge(ctx, who.App.ID, who.Live, id)
		return err
	}); err != nil {
		return nil, err
	}
	if c.AuthOnly {
		return s.voidHold(ctx, c)
	}
	return nil, polypay.ParamError("id", "渠道 %s 的订单不支持撤销（reverse 仅适用于 isv_qr、isv_scan、isv_wap 与预授权订单）", c.Channel)
}

// applyTrade applies a channel's word about a charge's trade (from a
// verified notification or an active query) in one transaction. It returns
// the outcome recorded in the notification log.
//
// rec, when not nil, is the notification being applied: it is written to
// the notification log in the same transaction, with the outcome.
func (s *Service) applyTrade(ctx context.Context, chargeID string, t *polypay.Trade, source string, rec *store.NotificationRecord) (polypay.NotifyOutcome, error) {
	var outcome polypay.NotifyOutcome
	paidChannel := ""
	queued := 0
	err := s.DB.Write(ctx, func(tx *store.Tx) (err error) {
		queued, paidChannel = 0, ""
		defer func() {
			if err == nil && rec != nil {
				r := *rec
				r.Outcome = string(outcome)
				err = tx.RecordNotification(ctx, r)
			}
		}()
		c, err := tx.LockCharge(ctx, chargeID)
		if err != nil {
			return err
		}
		// Another trade's word (trade id, amount, currency, mode) changes
		// nothing: see MatchTrade.
		if outcome = s.refuseMismatch(c, t, source); outcome != "" {
			return nil
		}
		switch t.State {
		case polypay.TradePaid, polypay.TradeFinished:
			if c.Paid() {
				outcome = polypay.OutcomeDuplicate
				return nil
			}
			if !c.Status.CanBecome(polypay.ChargePaid) {
				outcome = polypay.OutcomeIgnored.With("charge is " + string(c.Status))
				return nil
			}
			lateAfterClose := c.Status == polypay.ChargeClosed
			c.Status = polypay.ChargePaid
			c.TimePaid = t.PaidAt
			if c.TimePaid == 0 {
				c.TimePaid = tx.Now()
			}
			c.AmountCaptured = t.Amount
			// amount_settle is what the merchant is settled (spec §2.2.2):
			// for a pre-authorization the captured part of the hold, not
			// the amount held.
			c.AmountSettle = c.AmountCaptured
			c.TransactionNo = t.TransactionNo
			c.Extra = mergeExtra(c.Extra, t.Extra)
			if t.ThreeDS != nil {
				c.ThreeDS = t.ThreeDS
			}
			if err := tx.UpdateCharge(ctx, c); err != nil {
				return err
			}
			if err := tx.Post(ctx, ledger.ChargePaid(c)); err != nil {
				return err
			}
			if orderID := orderOf(c); orderID != "" {
				if _, err := markOrderPaid(ctx, tx, orderID, c); err != nil {
					return err
				}
			}
			w, err := RenderCharge(ctx, tx, c)
			if err != nil {
				return err
			}
			if c.AuthOnly {
				if queued, err = s.emit(ctx, tx, c.AppID, c.Livemode, polypay.EventChargeCaptured, "", w); err != nil {
					return err
				}
			}
			n, err := s.emit(ctx, tx, c.AppID, c.Livemode, polypay.EventChargeSucceeded, "", w)
			if err != nil {
				return err
			}
			queued += n
			outcome = polypay.OutcomeApplied
			paidChannel = c.Channel
			if lateAfterClose {
				// The money is real: record the payment and flag it for the
				// merchant, who decides whether to ship or refund.
				outcome = polypay.OutcomeAppliedAfterClose
			}
		case polypay.TradeAuthorized:
			if !c.AuthOnly {
				// The channel holds funds we never asked it to hold: leave the
				// charge alone; capture is the merchant's decision, not ours.
				outcome = polypay.OutcomeIgnored.With("authorization of a charge created with capture")
				return nil
			}
			if c.Status != polypay.ChargePending {
				outcome = polypay.OutcomeDuplicate
				if c.Status == polypay.ChargeClosed {
					// Authorized after we closed the charge: the hold is
					// released when it expires at the channel; record it.
					outcome = polypay.OutcomeIgnored.With("authorization after close")
				}
				return nil
			}
			c.Status = polypay.ChargeAuthorized
			c.TimeAuthorized = tx.Now()
			c.HoldExpire = c.TimeAuthorized + int64(HoldDuration/time.Second)
			if t.TransactionNo != "" {
				c.TransactionNo = t.TransactionNo
			}
			if t.ThreeDS != nil {
				c.ThreeDS = t.ThreeDS
			}
			if err := tx.UpdateCharge(ctx, c); err != nil {
				return err
			}
			if queued, err = s.emitCharge(ctx, tx, c, polypay.EventChargeAuthorized); err != nil {
				return err
			}
			outcome = polypay.OutcomeApplied
		case polypay.TradeFailed:
			if c.Status != polypay.ChargePending {
				outcome = polypay.OutcomeDuplicate
				return nil
			}
			c.Status = polypay.ChargeClosed
			c.FailureCode, c.FailureMsg = t.FailureCode, t.FailureMsg
			if c.FailureCode == "" {
				c.FailureCode = "payment_failed"
			}
			if t.ThreeDS != nil {
				c.ThreeDS = t.ThreeDS
			}
			if err := tx.UpdateCharge(ctx, c); err != nil {
				return err
			}
			if queued, err = s.emitCharge(ctx, tx, c, polypay.EventChargeFailed); err != nil {
				return err
			}
			outcome = polypay.OutcomeClosed
		case polypay.TradeClosed:
			if c.Status == polypay.ChargeAuthorized {
				// The hold was released at the channel: by polypay's own void
				// or expiry, which record it themselves with the right event
				// (reversed or hold_expired), or from outside polypay, in which
				// case the hold's expiry voids it again (a no-op) and closes it.
				outcome = polypay.OutcomeIgnored.With("hold released at the channel")
				return nil
			}
			if c.Status != polypay.ChargePending {
				outcome = polypay.OutcomeDuplicate
				return nil
			}
			c.Status = polypay.ChargeClosed
			if err := tx.UpdateCharge(ctx, c); err != nil {
				return err
			}
			outcome = polypay.OutcomeClosed
		default:
			outcome = polypay.OutcomeNoChange
		}
		return nil
	})
	s.kick(queued)
	if err == nil && paidChannel != "" {
		metrics.ChargesPaid.WithLabelValues(paidChannel).Inc()
	}
	if outcome == polypay.OutcomeAppliedAfterClose {
		s.Log.Warn("payment arrived after the charge was closed; applied and flagged for review", "charge", chargeID, "source", source)
	} else if err == nil && outcome != polypay.OutcomeNoChange && outcome != "" {
		s.Log.Info("trade applied", "charge", chargeID, "source", source, "outcome", outcome)
	}
	return outcome, err
}

// emitCharge stores an event of typ carrying the charge as it is now.
func (s *Service) emitCharge(ctx context.Context, tx *store.Tx, c *polypay.Charge, typ string) (int, error) {
	w, err := RenderCharge(ctx, tx, c)
	if err != nil {
		return 0, err
	}
	return s.emit(ctx, tx, c.AppID, c.Livemode, typ, "", w)
}

func mergeExtra(extra json.RawMessage, add map[string]any) json.RawMessage {
	if len(add) == 0 {
		return extra
	}
	m := map[string]any{}
	_ = json.Unmarshal(extra, &m)
	for k, v := range add {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return extra
	}
	return b
}

// orderOf returns the id of the cashier order a charge was made for, if any.
func orderOf(c *polypay.Charge) string {
	var m struct {
		OrderID string `json:"order_id"`
	}
	if json.Unmarshal(c.Metadata, &m) != nil {
		return ""
	}
	return m.OrderID
}
