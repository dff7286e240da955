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
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
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
	if p.Channel == IsvScanChannel {
		var err error
		if p, err = routeScan(p); err != nil {
			return nil, err
		}
	}
	if p.Channel == BalanceChannel {
		return s.createBalanceCharge(ctx, who, p, hook)
	}
	if err := s.checkChargeParams(who, p); err != nil {
		return nil, err
	}
	if err := s.read(ctx, func(tx Tx) error {
		if err := checkSubAppStatus(ctx, tx, who.App.ID, who.Live); err != nil {
			return err
		}
		return checkBanned(ctx, tx, who.App.ID, who.Live, p.Channel)
	}); err != nil {
		return nil, err
	}
	debit, err := s.debitAgreement(ctx, who, p)
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	family := s.Channels.Family(p.Channel)
	expire, err := timeExpire(p.TimeExpire, family, now)
	if err != nil {
		return nil, err
	}
	p.TimeExpire = expire
	hashed := p
	hashed.TimeExpire = 0 // a retry computes a new default expiry; it is not a new order
	paramsHash := hashJSON(hashed)

	existing, err := s.chargeByOrderNo(ctx, who.App.ID, who.Live, p.OrderNo)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return s.existingCharge(ctx, existing, paramsHash, hook)
	}
	if err := s.heldByRecharge(ctx, who, p.OrderNo); err != nil {
		return nil, err
	}

	c := newCharge(who, p, now, paramsHash)
	routes, err := s.routesFor(ctx, who.App.ID, who.Live, family)
	if err != nil {
		return nil, err
	}
	req := polypay.ChannelRequest{Charge: c, NotifyURL: s.NotifyURL(family, who.App.ID, who.Live), AuthorizeOnly: p.AuthOnly, Agreement: debit}
	if debit != nil {
		routes = nil // the agreement was signed with this account: no other may debit it
	}
	ch, err := s.directChannel(ctx, who, p, routes)
	if err != nil {
		return nil, err
	}
	if ctx, err = s.screen(ctx, c, &req); err != nil {
		return nil, err
	}
	if c.HeldUnsent() {
		// Stored without a credential: nothing reaches the channel until
		// the merchant approves the review (DecideReview).
		return s.storeCharge(ctx, c, now, hook)
	}
	if isScan(c.Channel) || debit != nil {
		return s.createScan(ctx, ch, req, now, hook)
	}
	if isCard(p.Channel) {
		return s.createCardCharge(ctx, c, req, p.Extra, now, hook)
	}
	cred, err := s.createRouted(ctx, c, req, routes)
	if err != nil {
		return nil, s.unknownOutcome(ctx, c, now, err)
	}
	c.Credential = cred
	return s.storeCharge(ctx, c, now, hook)
}

// checkChargeParams refuses, before anything is looked up, a charge for
// another app, of a channel polypay does not support, or carrying a card
// number.
func (s *Service) checkChargeParams(who Caller, p ChargeParams) error {
	if p.AppID != who.App.ID {
		// A foreign app id looks like an unknown one.
		return &polypay.Error{Code: polypay.EInvalid, Param: "app", Message: "app 不存在: " + p.AppID}
	}
	if strings.Contains(p.Channel, "@") || !s.Channels.Supported(p.Channel) {
		return polypay.ParamError("channel", "不支持的渠道: %s", p.Channel)
	}
	if hasCard(p.Extra) {
		// Card numbers enter polypay only through the vault, so that they
		// never sit in a charge's extra, its hash or its idempotency record.
		return polypay.ParamError("extra[card]", "卡号不能放在 extra 中：请先用 publishable key 调用 POST /v1/tokens（或收银台的银行卡表单）得到 tok_，再以 extra[source] 传入")
	}
	if who.Live && holdsForSharing(p.Extra) {
		// The connectors can split and unfreeze at the channel, but no API
		// drives them yet: a live payment's funds would stay frozen.
		return polypay.ParamError("extra[profit_sharing]", "live 模式暂不支持渠道分账：polypay 还不会调用渠道的分账与解冻，资金会冻结在渠道；请用分润（royalties）")
	}
	return nil
}

// holdsForSharing tells whether a charge's extra asks the channel to hold
// its funds for profit sharing.
func holdsForSharing(extra json.RawMessage) bool {
	var m struct {
		ProfitSharing bool `json:"profit_sharing"`
	}
	return json.Unmarshal(extra, &m) == nil && m.ProfitSharing
}

// timeExpire checks a charge's time_expire (unix seconds; 0 for the
// family's default), which must lie after now and within MaxExpiry, and
// returns the expiry to store.
func timeExpire(given int64, family string, now int64) (int64, error) {
	switch {
	case given == 0:
		return now + int64(chargeExpiry(family)/time.Second), nil
	case given <= now:
		return 0, polypay.ParamError("time_expire", "time_expire 必须晚于当前时间")
	case given > now+int64(MaxExpiry/time.Second):
		return 0, polypay.ParamError("time_expire", "time_expire 不能晚于 %d 天后", int(MaxExpiry/(24*time.Hour)))
	}
	return given, nil
}

// chargeByOrderNo returns an app's charge of order_no in a mode, nil when
// there is none.
func (s *Service) chargeByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*polypay.Charge, error) {
	var c *polypay.Charge
	err := s.read(ctx, func(tx Tx) (err error) {
		c, err = tx.ChargeByOrderNo(ctx, appID, live, orderNo)
		return err
	})
	return c, err
}

// replayStored answers a create whose charge lost the race to store its
// order_no with the charge that won (nil when there is none after all).
func (s *Service) replayStored(ctx context.Context, c *polypay.Charge, hook Hook) (any, error) {
	existing, err := s.chargeByOrderNo(ctx, c.AppID, c.Livemode, c.OrderNo)
	if err != nil || existing == nil {
		return nil, err
	}
	return s.existingCharge(ctx, existing, c.ParamsHash, hook)
}

// newCharge is the pending charge p asks for, not yet stored.
func newCharge(who Caller, p ChargeParams, now int64, paramsHash string) *polypay.Charge {
	return &polypay.Charge{
		ID: polypay.NewID("ch_"), AppID: who.App.ID, Livemode: who.Live, Channel: p.Channel, OrderNo: p.OrderNo,
		ClientIP: p.ClientIP, Amount: p.Amount, AmountSettle: p.Amount, Currency: p.Currency, Subject: p.Subject,
		Body: p.Body, Description: p.Description, Extra: p.Extra, Metadata: p.Metadata,
		Status: polypay.ChargePending, Created: now, TimeExpire: p.TimeExpire, ParamsHash: paramsHash,
		AuthOnly: p.AuthOnly,
	}
}

// directChannel returns the connector a charge is created with when no
// route picks one (the app has no routes, or the channel is a scan or card
// channel), nil otherwise. A pre-authorization is refused when that
// connector cannot hold funds.
func (s *Service) directChannel(ctx context.Context, who Caller, p ChargeParams, routes *RouteSettings) (polypay.Channel, error) {
	if routes != nil && !isScan(p.Channel) && !isCard(p.Channel) {
		return nil, nil
	}
	ch, err := s.Channels.Channel(ctx, who.App.ID, who.Live, p.Channel)
	if err != nil {
		return nil, err
	}
	if p.AuthOnly && ch != nil {
		if _, ok := ch.(polypay.Authorizer); !ok {
			return nil, polypay.ParamError("capture", "渠道 %s 不支持预授权（capture=false）", p.Channel)
		}
	}
	return ch, nil
}

// storeCharge stores a charge the channel accepted and renders it. When a
// concurrent request for the same order_no stored its charge first, that
// charge is the answer.
func (s *Service) storeCharge(ctx context.Context, c *polypay.Charge, now int64, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		if err := s.insertCharge(ctx, tx, c, now); err != nil {
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
		existing, rerr := s.chargeByOrderNo(ctx, c.AppID, c.Livemode, c.OrderNo)
		if rerr != nil {
			return nil, rerr
		}
		if existing != nil {
			return s.existingCharge(ctx, existing, c.ParamsHash, hook)
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
func (s *Service) createScan(ctx context.Context, ch polypay.Channel, req polypay.ChannelRequest, now int64, hook Hook) (any, error) {
	c := req.Charge
	// Until the create's outcome is known, the charge is in doubt: if this
	// node dies during the call, the poller verifies it (verifyDoubt).
	if err := s.write(ctx, func(tx Tx) error {
		if err := s.insertCharge(ctx, tx, c, now); err != nil {
			return err
		}
		return tx.SetDoubtCheck(ctx, c.ID, now+ScanWindow+DoubtGrace)
	}); err != nil {
		if store.IsUniqueViolation(err) {
			return s.replayStored(ctx, c, hook)
		}
		return nil, err
	}
	cred, err := ch.CreateCharge(ctx, req)
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
		if werr := s.write(ctx, func(tx Tx) error {
			cur, err := tx.LockCharge(ctx, c.ID)
			if err != nil || cur.Status != polypay.ChargePending {
				return err
			}
			closeDeclined(cur, pe)
			if err := risk.FailedTx(ctx, tx, c.ID); err != nil {
				return err
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
	if err := s.write(ctx, func(tx Tx) error {
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
	if err := s.read(ctx, func(tx Tx) (e error) { cur, e = tx.LockCharge(ctx, c.ID); return }); err != nil {
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
	if err := s.write(ctx, func(tx Tx) error { return tx.SetDoubtCheck(ctx, chargeID, 0) }); err != nil {
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
	if err := s.read(ctx, func(tx Tx) (err error) { c, err = tx.LockCharge(ctx, id); return }); err != nil {
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
	return true, s.write(ctx, func(tx Tx) error { return tx.SetDoubtCheck(ctx, id, 0) })
}

// applyReversal records that the channel reversed a charge's trade. A
// pending charge becomes reversed; a paid one too, and what was kept of
// its payment (amount - amount_refunded) goes back from the channel's
// account in the ledger (ref_type "reversal"). Refunds still pending fail
// at the channel, whose trade is closed, and release their reservation.
func (s *Service) applyReversal(ctx context.Context, chargeID string) error {
	var was polypay.ChargeStatus
	err := s.write(ctx, func(tx Tx) error {
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
	if werr := s.write(ctx, func(tx Tx) error {
		return s.insertCharge(ctx, tx, c, now)
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
	// A charge held for risk review is not sent until the merchant approves.
	if c.Status == polypay.ChargePending && len(c.Credential) == 0 && !isScan(c.Channel) && !isCard(c.Channel) && !c.HeldUnsent() && !isDebit(c.Extra) {
		// An earlier create timed out: ask the channel again for the same trade.
		if err := s.resend(ctx, c); err != nil {
			return nil, err
		}
	}
	var out any
	err := s.write(ctx, func(tx Tx) error {
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

// resend asks the channel for a stored charge's credential (the same
// out_trade_no, so at most one trade exists) and stores it unless another
// request stored one first.
func (s *Service) resend(ctx context.Context, c *polypay.Charge) error {
	ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
	if err != nil {
		return err
	}
	cred, err := ch.CreateCharge(ctx, polypay.ChannelRequest{Charge: c, NotifyURL: s.NotifyURL(s.Channels.Family(c.ChannelRoute()), c.AppID, c.Livemode), AuthorizeOnly: c.AuthOnly})
	if err != nil {
		return channelErr(err)
	}
	return s.write(ctx, func(tx Tx) error {
		cur, err := tx.LockCharge(ctx, c.ID)
		if err != nil {
			return err
		}
		if len(cur.Credential) == 0 && cur.Status == polypay.ChargePending {
			cur.Credential = cred
			return tx.UpdateCharge(ctx, cur)
		}
		return nil
	})
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
	err := s.read(ctx, func(tx Tx) error {
		c, err := tx.GetCharge(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		out, err = RenderCharge(ctx, tx, c)
		return err
	})
	return out, err
}

// Reverse cancels a charge: a pre-authorization's hold is voided, and a
// payment-code (scan) charge still waiting for the customer is closed at
// its channel. Others are refused with the reason.
func (s *Service) Reverse(ctx context.Context, who Caller, id string) (any, error) {
	var c *polypay.Charge
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		c, err = tx.GetCharge(ctx, who.App.ID, who.Live, id)
		return err
	}); err != nil {
		return nil, err
	}
	if c.AuthOnly {
		return s.voidHold(ctx, c)
	}
	if scanChannels[c.Channel] {
		return s.reverseScan(ctx, who, c)
	}
	return nil, polypay.ParamError("id", "渠道 %s 的订单不支持撤销（reverse 仅适用于 isv_qr、isv_scan、isv_wap 与预授权订单）", c.Channel)
}

// scanChannels are the channels a merchant charges a scanned payment code
// on (isv_scan's targets). polypay's own code (balance) pays at once and
// is never left waiting.
var scanChannels = map[string]bool{"alipay_scan": true, "wx_pub_scan": true}

// reverseScan cancels a payment-code charge the customer has not yet
// confirmed in their wallet: the channel is asked first (a payment it
// reports is applied, and the reversal refused: refund it instead), then
// the trade is closed there and the charge recorded reversed.
func (s *Service) reverseScan(ctx context.Context, who Caller, c *polypay.Charge) (any, error) {
	if c.Status == polypay.ChargePending {
		ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
		if err != nil {
			return nil, err
		}
		t, err := ch.QueryCharge(ctx, c)
		if err != nil {
			return nil, err
		}
		switch t.State {
		case polypay.TradePaid, polypay.TradeFinished, polypay.TradeFailed:
			if _, err := s.applyTrade(ctx, c.ID, t, "query", nil); err != nil {
				return nil, err
			}
		default:
			if t.State != polypay.TradeClosed && t.State != polypay.TradeNotFound {
				if err := ch.CloseCharge(ctx, c); err != nil {
					return nil, err
				}
			}
			if err := s.markVoided(ctx, c.ID, polypay.ChargeReversed, polypay.EventChargeReversed); err != nil {
				return nil, err
			}
		}
	}
	out, err := s.GetCharge(ctx, who, c.ID)
	if err != nil {
		return nil, err
	}
	if w, ok := out.(*wire.Charge); ok && w.Paid {
		return nil, polypay.ParamError("id", "订单 %s 已支付，不能撤销，请退款", c.ID)
	}
	return out, nil
}

// applyTrade applies a channel's word about a charge's trade (from a
// verified notification or an active query) in one transaction. It returns
// the outcome recorded in the notification log.
//
// rec, when not nil, is the notification being applied: it is written to
// the notification log in the same transaction, with the outcome.
func (s *Service) applyTrade(ctx context.Context, chargeID string, t *polypay.Trade, source string, rec *store.NotificationRecord) (polypay.NotifyOutcome, error) {
	var res tradeResult
	err := s.write(ctx, func(tx Tx) error {
		var err error
		res, err = s.applyTradeTx(ctx, tx, chargeID, t, source)
		if err == nil && rec != nil {
			r := *rec
			r.Outcome = string(res.outcome)
			err = tx.RecordNotification(ctx, r)
		}
		return err
	})
	s.kick(res.queued)
	if err == nil && res.paidChannel != "" {
		metrics.ChargesPaid.WithLabelValues(res.paidChannel).Inc()
	}
	s.logTrade(chargeID, source, res.outcome, err)
	return res.outcome, err
}

// tradeResult is what applying a trade to a charge did: the outcome for
// the notification log, the events queued, and the channel of a charge it
// marked paid.
type tradeResult struct {
	outcome     polypay.NotifyOutcome
	queued      int
	paidChannel string
}

// outcomeOnly is a tradeResult that changed nothing but the log.
func outcomeOnly(o polypay.NotifyOutcome) (tradeResult, error) {
	return tradeResult{outcome: o}, nil
}

// applyTradeTx locks the charge, refuses another trade's word, and hands
// the trade to the function for its state.
func (s *Service) applyTradeTx(ctx context.Context, tx orderBooks, chargeID string, t *polypay.Trade, source string) (tradeResult, error) {
	c, err := tx.LockCharge(ctx, chargeID)
	if err != nil {
		return tradeResult{}, err
	}
	// Another trade's word (trade id, amount, currency, mode) changes
	// nothing: see MatchTrade.
	if o := s.refuseMismatch(c, t, source); o != "" {
		return outcomeOnly(o)
	}
	switch t.State {
	case polypay.TradePaid, polypay.TradeFinished:
		return s.applyPaid(ctx, tx, c, t)
	case polypay.TradeAuthorized:
		return s.applyAuthorized(ctx, tx, c, t)
	case polypay.TradeFailed:
		return s.applyFailed(ctx, tx, c, t)
	case polypay.TradeClosed:
		return applyClosed(ctx, tx, c)
	default:
		return outcomeOnly(polypay.OutcomeNoChange)
	}
}

// logTrade logs what applyTrade did: a payment after close as a warning
// (the merchant must review it), any other change as information.
func (s *Service) logTrade(chargeID, source string, outcome polypay.NotifyOutcome, err error) {
	if outcome == polypay.OutcomeAppliedAfterClose {
		s.Log.Warn("payment arrived after the charge was closed; applied and flagged for review", "charge", chargeID, "source", source)
	} else if err == nil && outcome != polypay.OutcomeNoChange && outcome != "" {
		s.Log.Info("trade applied", "charge", chargeID, "source", source, "outcome", outcome)
	}
}

// applyPaid marks a charge paid: the payment is recorded, posted to the
// ledger, marks the cashier order it was made for paid, and is announced
// (charge.captured too for a pre-authorization). A payment after close is
// applied all the same, because the money is real, and flagged for the
// merchant, who decides whether to ship or refund.
func (s *Service) applyPaid(ctx context.Context, tx orderBooks, c *polypay.Charge, t *polypay.Trade) (tradeResult, error) {
	if c.Paid() {
		return outcomeOnly(polypay.OutcomeDuplicate)
	}
	if !c.Status.CanBecome(polypay.ChargePaid) {
		return outcomeOnly(polypay.OutcomeIgnored.With("charge is " + string(c.Status)))
	}
	lateAfterClose := c.Status == polypay.ChargeClosed
	recordPayment(c, t, tx.Now())
	if err := tx.UpdateCharge(ctx, c); err != nil {
		return tradeResult{}, err
	}
	if err := tx.Post(ctx, ledger.ChargePaid(c)); err != nil {
		return tradeResult{}, err
	}
	if err := s.chargeFee(ctx, tx, c, tx.Now()); err != nil {
		return tradeResult{}, err
	}
	queued := 0
	if orderID := orderOf(c); orderID != "" {
		_, n, err := s.markOrderPaid(ctx, tx, orderID, c)
		if err != nil {
			return tradeResult{}, err
		}
		queued += n
	}
	n, err := s.emitPaid(ctx, tx, c)
	if err != nil {
		return tradeResult{}, err
	}
	queued += n
	credited, err := s.creditRecharge(ctx, tx, c)
	if err != nil {
		return tradeResult{}, err
	}
	queued += credited
	closed, err := s.closeReview(ctx, tx, c, risk.ReviewApproved) // a held charge captured
	if err != nil {
		return tradeResult{}, err
	}
	res := tradeResult{outcome: polypay.OutcomeApplied, queued: queued + closed, paidChannel: c.Channel}
	if lateAfterClose {
		res.outcome = polypay.OutcomeAppliedAfterClose
	}
	return res, nil
}

// recordPayment sets what a paid trade says on its charge; now is the
// time paid when the channel gives none.
func recordPayment(c *polypay.Charge, t *polypay.Trade, now int64) {
	c.Status = polypay.ChargePaid
	c.TimePaid = t.PaidAt
	if c.TimePaid == 0 {
		c.TimePaid = now
	}
	c.AmountCaptured = t.Amount
	// amount_settle is what the merchant is settled (spec §2.2.2): for a
	// pre-authorization the captured part of the hold, not the amount held.
	c.AmountSettle = c.AmountCaptured
	c.TransactionNo = t.TransactionNo
	c.Extra = mergeExtra(c.Extra, t.Extra)
	if t.ThreeDS != nil {
		c.ThreeDS = t.ThreeDS
	}
}

// emitPaid stores charge.succeeded for a paid charge, preceded by
// charge.captured for a pre-authorization. It returns the events queued.
func (s *Service) emitPaid(ctx context.Context, tx chargeEvents, c *polypay.Charge) (int, error) {
	w, err := RenderCharge(ctx, tx, c)
	if err != nil {
		return 0, err
	}
	queued := 0
	if c.AuthOnly {
		if queued, err = s.emit(ctx, tx, c.AppID, c.Livemode, polypay.EventChargeCaptured, "", w); err != nil {
			return 0, err
		}
	}
	n, err := s.emit(ctx, tx, c.AppID, c.Livemode, polypay.EventChargeSucceeded, "", w)
	if err != nil {
		return 0, err
	}
	return queued + n, nil
}

// applyAuthorized marks a pre-authorization's pending charge authorized,
// with the hold's expiry. An authorization of a charge created with
// capture, or of a closed one, is left alone.
func (s *Service) applyAuthorized(ctx context.Context, tx chargeBooks, c *polypay.Charge, t *polypay.Trade) (tradeResult, error) {
	switch {
	case !c.AuthOnly:
		// The channel holds funds we never asked it to hold: leave the
		// charge alone; capture is the merchant's decision, not ours.
		return outcomeOnly(polypay.OutcomeIgnored.With("authorization of a charge created with capture"))
	case c.Status == polypay.ChargeClosed:
		// Authorized after we closed the charge: the hold is released when
		// it expires at the channel; record it.
		return outcomeOnly(polypay.OutcomeIgnored.With("authorization after close"))
	case c.Status != polypay.ChargePending:
		return outcomeOnly(polypay.OutcomeDuplicate)
	}
	c.Status = polypay.ChargeAuthorized
	c.TimeAuthorized = tx.Now()
	c.HoldExpire = c.TimeAuthorized + int64(HoldDuration/time.Second)
	if t.TransactionNo != "" {
		c.TransactionNo = t.TransactionNo
	}
	return s.storeAndAnnounce(ctx, tx, c, t, polypay.EventChargeAuthorized, polypay.OutcomeApplied)
}

// applyFailed closes a pending charge whose payment failed, with the
// channel's reason (payment_failed when it gives none).
func (s *Service) applyFailed(ctx context.Context, tx chargeEvents, c *polypay.Charge, t *polypay.Trade) (tradeResult, error) {
	if c.Status != polypay.ChargePending {
		return outcomeOnly(polypay.OutcomeDuplicate)
	}
	c.Status = polypay.ChargeClosed
	c.FailureCode, c.FailureMsg = t.FailureCode, t.FailureMsg
	if c.FailureCode == "" {
		c.FailureCode = "payment_failed"
	}
	if err := risk.FailedTx(ctx, tx, c.ID); err != nil { // declined, 3-D Secure failed
		return tradeResult{}, err
	}
	return s.storeAndAnnounce(ctx, tx, c, t, polypay.EventChargeFailed, polypay.OutcomeClosed)
}

// storeAndAnnounce stores a charge that applyAuthorized or applyFailed
// changed, with the trade's 3-D Secure result, and announces it with an
// event of typ; the result has outcome.
func (s *Service) storeAndAnnounce(ctx context.Context, tx chargeEvents, c *polypay.Charge, t *polypay.Trade, typ string, outcome polypay.NotifyOutcome) (tradeResult, error) {
	if t.ThreeDS != nil {
		c.ThreeDS = t.ThreeDS
	}
	if err := tx.UpdateCharge(ctx, c); err != nil {
		return tradeResult{}, err
	}
	queued, err := s.emitCharge(ctx, tx, c, typ)
	if err != nil {
		return tradeResult{}, err
	}
	return tradeResult{outcome: outcome, queued: queued}, nil
}

// applyClosed closes a pending charge whose trade the channel closed; no
// event is stored.
func applyClosed(ctx context.Context, tx ChargeStore, c *polypay.Charge) (tradeResult, error) {
	if c.Status == polypay.ChargeAuthorized {
		// The hold was released at the channel: by polypay's own void or
		// expiry, which record it themselves with the right event (reversed
		// or hold_expired), or from outside polypay, in which case the
		// hold's expiry voids it again (a no-op) and closes it.
		return outcomeOnly(polypay.OutcomeIgnored.With("hold released at the channel"))
	}
	if c.Status != polypay.ChargePending {
		return outcomeOnly(polypay.OutcomeDuplicate)
	}
	c.Status = polypay.ChargeClosed
	if err := tx.UpdateCharge(ctx, c); err != nil {
		return tradeResult{}, err
	}
	return outcomeOnly(polypay.OutcomeClosed)
}

// emitCharge stores an event of typ carrying the charge as it is now.
func (s *Service) emitCharge(ctx context.Context, tx chargeEvents, c *polypay.Charge, typ string) (int, error) {
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
