package core

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// RedEnvelopeParams are the validated parameters of POST /v1/red_envelopes.
type RedEnvelopeParams struct {
	AppID       string          `json:"app"`
	Channel     string          `json:"channel"`
	OrderNo     string          `json:"order_no"`
	Amount      int64           `json:"amount"`
	Currency    string          `json:"currency"`
	Recipient   string          `json:"recipient"`
	Subject     string          `json:"subject"`
	Body        string          `json:"body"`
	Description string          `json:"description"`
	Extra       json.RawMessage `json:"extra"`
	Metadata    json.RawMessage `json:"metadata"`
}

func (s *Service) envelopes(ctx context.Context, appID string, live bool) (polypay.RedEnvelopeSender, error) {
	if s.Payouts == nil {
		return nil, polypay.Errorf(polypay.ENotSupported, "payouts are not configured on this node")
	}
	return s.Payouts.RedEnvelopes(ctx, appID, live)
}

// CreateRedEnvelope sends a WeChat cash red envelope (wx_pub only). Like a
// transfer, it is stored and marked sent before WeChat is called, so an
// unknown outcome is queried before it is ever sent again.
func (s *Service) CreateRedEnvelope(ctx context.Context, who Caller, p RedEnvelopeParams, hook Hook) (any, error) {
	if p.AppID != who.App.ID {
		return nil, &polypay.Error{Code: polypay.EInvalid, Param: "app", Message: "app 不存在: " + p.AppID}
	}
	if p.Channel != "wx_pub" {
		return nil, polypay.ParamError("channel", "红包只支持 wx_pub 渠道")
	}
	sender, err := s.envelopes(ctx, who.App.ID, who.Live)
	if err != nil {
		return nil, err
	}
	r := &store.RedEnvelopeRow{ParamsHash: hashJSON(p)}
	r.RedEnvelope = polypay.RedEnvelope{ID: polypay.NewID("red_"), AppID: who.App.ID, Livemode: who.Live, Channel: p.Channel,
		OrderNo: p.OrderNo, Amount: p.Amount, Currency: p.Currency, Recipient: p.Recipient, Subject: p.Subject, Body: p.Body,
		Description: p.Description, Extra: p.Extra, Metadata: p.Metadata, Status: polypay.RedEnvelopeSending, Created: s.now().Unix()}
	if err := sender.CheckRedEnvelope(&r.RedEnvelope); err != nil {
		return nil, err
	}
	out, existing, err := s.storeRedEnvelope(ctx, r, hook)
	if err != nil || existing {
		return out, err
	}
	s.sendEnvelope(ctx, r.ID)
	return s.renderEnvelope(ctx, who, r.ID, hook)
}

// storeRedEnvelope inserts a new envelope; for an order_no already used
// it answers that envelope (existing true) or refuses different parameters.
func (s *Service) storeRedEnvelope(ctx context.Context, r *store.RedEnvelopeRow, hook Hook) (any, bool, error) {
	var out any
	existing := false
	err := s.write(ctx, func(tx Tx) error {
		old, err := tx.RedEnvelopeByOrderNo(ctx, r.AppID, r.Livemode, r.OrderNo)
		if err != nil {
			return err
		}
		if old != nil {
			if old.ParamsHash != r.ParamsHash {
				return polypay.ParamError("order_no", "红包订单号 %s 已被使用，且参数与原请求不同", r.OrderNo)
			}
			existing, out = true, wire.FromRedEnvelope(&old.RedEnvelope)
			return runHook(hook, tx, out)
		}
		return tx.InsertRedEnvelope(ctx, r, tx.Now()+transferQueryAfter(0))
	})
	if again, ok := retryOnce(ctx); ok && store.IsUniqueViolation(err) {
		// A concurrent request with the same order_no stored first.
		return s.storeRedEnvelope(again, r, hook)
	}
	return out, existing, err
}

// sendEnvelope marks an envelope sent, calls WeChat and applies the answer.
func (s *Service) sendEnvelope(ctx context.Context, id string) {
	var r *store.RedEnvelopeRow
	won := false
	err := s.write(ctx, func(tx Tx) (err error) {
		won = false
		if r, err = tx.LockRedEnvelope(ctx, id); err != nil || r.Status != polypay.RedEnvelopeSending || r.Sent {
			return err
		}
		r.Sent, won = true, true
		return tx.UpdateRedEnvelope(ctx, r)
	})
	if err != nil || !won {
		s.logEnvelopeErr("marking red envelope sent", id, err)
		return
	}
	sender, err := s.envelopes(ctx, r.AppID, r.Livemode)
	if err != nil {
		s.logEnvelopeErr("finding red envelope sender", id, err)
		return
	}
	res, err := sender.SendRedEnvelope(ctx, &r.RedEnvelope)
	s.settleEnvelope(ctx, id, res, err)
}

// settleEnvelope applies WeChat's answer; a refusal fails the envelope,
// a transport error leaves it to the poller's query.
func (s *Service) settleEnvelope(ctx context.Context, id string, res *polypay.RedEnvelopeResult, err error) {
	var pe *polypay.Error
	switch {
	case err == nil:
		err = s.applyEnvelope(ctx, id, res)
	case errors.As(err, &pe) && (pe.Code == polypay.EChannel || pe.Code == polypay.EInvalid):
		err = s.applyEnvelope(ctx, id, &polypay.RedEnvelopeResult{Status: polypay.RedEnvelopeFailed, FailureCode: pe.ChannelCode, FailureMsg: pe.Message})
	default:
		s.Log.Warn("red envelope outcome unknown: the poller queries it", "red_envelope", id, "err", err)
		return
	}
	s.logEnvelopeErr("applying red envelope result", id, err)
}

func (s *Service) logEnvelopeErr(what, id string, err error) {
	if err != nil {
		s.Log.Error(what, "red_envelope", id, "err", err)
	}
}

// envelopeStage orders red envelope states; an answer never moves an
// envelope back.
var envelopeStage = map[polypay.RedEnvelopeStatus]int{
	polypay.RedEnvelopeSending: 0, polypay.RedEnvelopeSent: 1, polypay.RedEnvelopeFailed: 3,
	polypay.RedEnvelopeReceived: 3, polypay.RedEnvelopeRefunding: 2, polypay.RedEnvelopeRefund: 3,
}

// applyEnvelope moves an envelope forward in one transaction: sent posts
// the money out (merchant to the channel's payee) with red_envelope.sent,
// received adds red_envelope.received, refund posts the money back.
func (s *Service) applyEnvelope(ctx context.Context, id string, res *polypay.RedEnvelopeResult) error {
	if res == nil || res.NotFound {
		return nil
	}
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		queued = 0
		r, err := tx.LockRedEnvelope(ctx, id)
		if err != nil {
			return err
		}
		if res.Amount != 0 && res.Amount != r.Amount {
			s.Log.Warn("red envelope amount differs", "red_envelope", id, "channel_amount", res.Amount)
			return nil
		}
		if envelopeStage[res.Status] <= envelopeStage[r.Status] || r.Status == polypay.RedEnvelopeFailed {
			return nil
		}
		queued, err = s.moveEnvelope(ctx, tx, r, res)
		return err
	})
	s.kick(queued)
	return err
}

// moveEnvelope writes the envelope's new state with its postings and events.
func (s *Service) moveEnvelope(ctx context.Context, tx Tx, r *store.RedEnvelopeRow, res *polypay.RedEnvelopeResult) (int, error) {
	var events []string
	wasSent := r.Status != polypay.RedEnvelopeSending
	if res.TransactionNo != "" {
		r.TransactionNo = res.TransactionNo
	}
	r.Status = res.Status
	if res.Status == polypay.RedEnvelopeFailed {
		r.FailureMsg = firstOf(res.FailureMsg, res.FailureCode, "red_envelope_failed")
	} else if !wasSent {
		if err := tx.Post(ctx, ledger.RedEnvelopeSent(&r.RedEnvelope)); err != nil {
			return 0, err
		}
		events = append(events, polypay.EventRedEnvelopeSent)
	}
	switch res.Status {
	case polypay.RedEnvelopeReceived:
		r.Received = firstNonZero(res.ReceivedAt, tx.Now())
		events = append(events, polypay.EventRedEnvelopeReceived)
	case polypay.RedEnvelopeRefund:
		r.Refunded = firstNonZero(res.RefundedAt, tx.Now())
		if err := tx.Post(ctx, ledger.RedEnvelopeRefunded(&r.RedEnvelope)); err != nil {
			return 0, err
		}
	}
	if err := tx.UpdateRedEnvelope(ctx, r); err != nil {
		return 0, err
	}
	queued := 0
	for _, typ := range events {
		n, err := s.emit(ctx, tx, r.AppID, r.Livemode, typ, "", wire.FromRedEnvelope(&r.RedEnvelope))
		if err != nil {
			return 0, err
		}
		queued += n
	}
	return queued, nil
}

func firstNonZero(vs ...int64) int64 {
	for _, v := range vs {
		if v != 0 {
			return v
		}
	}
	return 0
}

// pollRedEnvelopes follows undecided envelopes: sends one never sent,
// queries the others (sent again only when WeChat holds none), until
// received, refunded or failed.
func (s *Service) pollRedEnvelopes(ctx context.Context, now int64) (int, error) {
	var ids []string
	err := s.write(ctx, func(tx Tx) error {
		ids = nil
		due, err := tx.DueRedEnvelopes(ctx, now, 100)
		if err != nil {
			return err
		}
		for _, id := range due {
			r, err := tx.LockRedEnvelope(ctx, id)
			if err != nil {
				return err
			}
			if ok, err := tx.ClaimRedEnvelope(ctx, id, now, now+transferQueryAfter(now-r.Created)); err != nil {
				return err
			} else if ok {
				ids = append(ids, id)
			}
		}
		return nil
	})
	for _, id := range ids {
		s.checkEnvelope(ctx, id)
	}
	return len(ids), err
}

func (s *Service) checkEnvelope(ctx context.Context, id string) {
	var r *store.RedEnvelopeRow
	if err := s.read(ctx, func(tx Tx) (err error) { r, err = tx.LockRedEnvelope(ctx, id); return }); err != nil {
		s.logEnvelopeErr("reading red envelope", id, err)
		return
	}
	if !r.Sent {
		s.sendEnvelope(ctx, id)
		return
	}
	sender, err := s.envelopes(ctx, r.AppID, r.Livemode)
	if err != nil {
		s.logEnvelopeErr("finding red envelope sender", id, err)
		return
	}
	res, err := sender.QueryRedEnvelope(ctx, &r.RedEnvelope)
	if err == nil && res.NotFound && r.Status == polypay.RedEnvelopeSending {
		s.Log.Warn("WeChat holds no red envelope sent earlier: sending it again", "red_envelope", id)
		res, err = sender.SendRedEnvelope(ctx, &r.RedEnvelope)
	}
	s.settleEnvelope(ctx, id, res, err)
}

// GetRedEnvelope answers a red envelope; in test mode an undecided one is
// checked with the simulator first (Ping++'s test mode advances on
// retrieve).
func (s *Service) GetRedEnvelope(ctx context.Context, who Caller, id string) (any, error) {
	if !who.Live {
		var r *store.RedEnvelopeRow
		if err := s.read(ctx, func(tx Tx) (err error) { r, err = tx.GetRedEnvelope(ctx, who.App.ID, who.Live, id); return }); err != nil {
			return nil, err
		}
		if envelopeStage[r.Status] < 3 {
			s.checkEnvelope(ctx, id)
		}
	}
	return s.renderEnvelope(ctx, who, id, nil)
}

func (s *Service) renderEnvelope(ctx context.Context, who Caller, id string, hook Hook) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		r, err := tx.GetRedEnvelope(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		out = wire.FromRedEnvelope(&r.RedEnvelope)
		return runHook(hook, tx, out)
	})
	return out, err
}

// ListRedEnvelopes pages an app's red envelopes newest first.
func (s *Service) ListRedEnvelopes(ctx context.Context, who Caller, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if err := checkCursor(ctx, tx, "red_envelopes", who, p); err != nil {
			return err
		}
		rs, more, err := tx.ListRedEnvelopes(ctx, who.App.ID, who.Live, p)
		if err != nil {
			return err
		}
		data := make([]any, 0, len(rs))
		for _, r := range rs {
			data = append(data, wire.FromRedEnvelope(&r.RedEnvelope))
		}
		list = wire.NewList("/v1/red_envelopes", more, data)
		return nil
	})
	return list, err
}
