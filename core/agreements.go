package core

import (
	"context"
	"encoding/json"
	"regexp"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Debit agreements (Ping++'s agreements): signed once by the customer at
// the channel, then debited by the merchant without them (a charge with
// extra.agreement). The channel's notification makes an agreement
// succeeded, or canceled when the customer ends it there; the merchant
// cancels with PUT status=canceled, which ends it at the channel first.

// AgreementParams create an agreement.
type AgreementParams struct {
	Channel    string
	ContractNo string
	Extra      json.RawMessage
	Metadata   json.RawMessage
}

// contractNoRe is a contract_no the channels take (Alipay's
// external_agreement_no and WeChat's contract_code: up to 32 letters or
// digits).
var contractNoRe = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)

// agreer is the connector that signs an app's agreements on a channel.
func (s *Service) agreer(ctx context.Context, appID string, live bool, channel string) (polypay.Agreer, error) {
	if !s.Channels.Supported(channel) {
		return nil, polypay.ParamError("channel", "不支持的渠道: %s", channel)
	}
	ch, err := s.Channels.Channel(ctx, appID, live, channel)
	if err != nil {
		return nil, err
	}
	if w, ok := ch.(interface{ Inner() polypay.Channel }); ok {
		ch = w.Inner()
	}
	ag, ok := ch.(polypay.Agreer)
	if !ok {
		return nil, polypay.ParamError("channel", "渠道 %s 不支持签约代扣", channel)
	}
	return ag, nil
}

// CreateAgreement starts signing: the channel's credential is what the
// client opens. The same contract_no on the same channel answers the
// agreement already made.
func (s *Service) CreateAgreement(ctx context.Context, who Caller, p AgreementParams) (*wire.Agreement, error) {
	if !contractNoRe.MatchString(p.ContractNo) {
		return nil, polypay.ParamError("contract_no", "contract_no 须为 1 到 32 位字母或数字")
	}
	if hasCard(p.Extra) {
		return nil, polypay.ParamError("extra[card]", "卡号不能放在 extra 中：请先用 publishable key 调用 POST /v1/tokens 得到 tok_，再以 extra[source] 传入")
	}
	if existing, err := s.agreementByContractNo(ctx, who, p.ContractNo); err != nil || existing != nil {
		if err == nil && existing.Channel != p.Channel {
			err = polypay.ParamError("contract_no", "contract_no %s 已用于渠道 %s 的签约", p.ContractNo, existing.Channel)
		}
		if err != nil {
			return nil, err
		}
		return wire.FromAgreement(existing), nil
	}
	ag, err := s.agreer(ctx, who.App.ID, who.Live, p.Channel)
	if err != nil {
		return nil, err
	}
	a := &polypay.Agreement{ID: polypay.NewID("agr_"), AppID: who.App.ID, Livemode: who.Live, Channel: p.Channel,
		ContractNo: p.ContractNo, Status: polypay.AgreementCreated, Extra: p.Extra, Metadata: p.Metadata, Created: s.now().Unix()}
	req := polypay.AgreementRequest{Agreement: a, NotifyURL: s.agreementNotifyURL(a)}
	if req.Card, err = s.agreementCard(ctx, who, p); err != nil {
		return nil, err
	}
	cred, err := ag.SignAgreement(ctx, req)
	if err != nil {
		return nil, channelErr(err)
	}
	a.Credential, _ = json.Marshal(map[string]any{"object": "credential", a.Channel: map[string]json.RawMessage{"credential": cred}})
	err = s.write(ctx, func(tx Tx) error {
		if err := tx.InsertAgreement(ctx, a); err != nil {
			return err
		}
		return tx.SetAgreementCheck(ctx, a.ID, a.Created+AgreementChecks[0])
	})
	if store.IsUniqueViolation(err) { // the same contract_no, created meanwhile
		if existing, err := s.agreementByContractNo(ctx, who, p.ContractNo); err != nil || existing != nil {
			if err != nil {
				return nil, err
			}
			return wire.FromAgreement(existing), nil
		}
	}
	if err != nil {
		return nil, err
	}
	return wire.FromAgreement(a), nil
}

// agreementCard is the card a card channel's agreement saves, from the
// vault: a single-use token (consumed here, so a refused signing needs a
// new one) or a saved card of a customer. nil for other channels.
func (s *Service) agreementCard(ctx context.Context, who Caller, p AgreementParams) (*polypay.CardData, error) {
	if info, _ := polypay.LookupChannel(p.Channel); !info.Card || info.WalletToken != nil {
		return nil, nil
	}
	var x cardExtra
	if len(p.Extra) > 0 {
		if err := json.Unmarshal(p.Extra, &x); err != nil {
			return nil, polypay.ParamError("extra", "extra 格式错误: %v", err)
		}
	}
	if x.Source == "" && x.Customer == "" {
		return nil, polypay.ParamError("extra[source]", "缺少参数: extra[source]（POST /v1/tokens 得到的 tok_，或已保存的 card_ 与 extra[customer]）")
	}
	if s.Cards == nil {
		return nil, polypay.Errorf(polypay.ENotSupported, "this node has no card vault")
	}
	var card *polypay.CardData
	err := s.write(ctx, func(tx Tx) (err error) {
		card, err = s.Cards.CardForCharge(ctx, tx, who.App.ID, who.Live, x.Source, x.Customer)
		return err
	})
	return card, err
}

func (s *Service) agreementNotifyURL(a *polypay.Agreement) string {
	return s.NotifyURL(s.Channels.Family(a.Channel), a.AppID, a.Livemode)
}

func (s *Service) agreementByContractNo(ctx context.Context, who Caller, no string) (*polypay.Agreement, error) {
	var a *polypay.Agreement
	err := s.read(ctx, func(tx Tx) (err error) {
		a, err = tx.AgreementByContractNo(ctx, who.App.ID, who.Live, no)
		return err
	})
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return nil, nil
	}
	return a, err
}

// GetAgreement answers one agreement.
func (s *Service) GetAgreement(ctx context.Context, who Caller, id string) (any, error) {
	var a *polypay.Agreement
	err := s.read(ctx, func(tx Tx) (err error) {
		a, err = tx.GetAgreement(ctx, who.App.ID, who.Live, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return wire.FromAgreement(a), nil
}

// ListAgreements pages through an app's agreements.
func (s *Service) ListAgreements(ctx context.Context, who Caller, url string, f store.AgreementFilter, p store.Page) (wire.List, error) {
	return listPage(ctx, s, who, "agreements", url, p, func(tx Tx) ([]*polypay.Agreement, bool, error) {
		return tx.ListAgreements(ctx, who.App.ID, who.Live, f, p)
	}, func(a *polypay.Agreement) any { return wire.FromAgreement(a) })
}

// AgreementUpdate is PUT /v1/agreements/{id}: status "canceled" and/or
// metadata.
type AgreementUpdate struct {
	Status   string
	Metadata json.RawMessage
}

// UpdateAgreement changes an agreement's metadata or cancels it. A signed
// agreement is ended at the channel first; an unsigned one is canceled
// here (a signature arriving later changes nothing).
func (s *Service) UpdateAgreement(ctx context.Context, who Caller, id string, p AgreementUpdate) (any, error) {
	var a *polypay.Agreement
	if err := s.read(ctx, func(tx Tx) (err error) { a, err = tx.GetAgreement(ctx, who.App.ID, who.Live, id); return }); err != nil {
		return nil, err
	}
	if p.Status != "" && p.Status != string(polypay.AgreementCanceled) {
		return nil, polypay.ParamError("status", "status 只能为 canceled")
	}
	if p.Status != "" && a.Status == polypay.AgreementSucceeded {
		ag, err := s.agreer(ctx, a.AppID, a.Livemode, a.Channel)
		if err != nil {
			return nil, err
		}
		// The channel may announce the end before this call returns: mark
		// it the merchant's first, so that notice does not read as the user's.
		if err := s.markCanceling(ctx, a, "merchant"); err != nil {
			return nil, err
		}
		if err := ag.TerminateAgreement(ctx, a, s.agreementNotifyURL(a)); err != nil {
			if uerr := s.markCanceling(ctx, a, ""); uerr != nil {
				s.Log.Warn("clearing an agreement's cancel mark", "agreement", a.ID, "err", uerr)
			}
			return nil, channelErr(err)
		}
	}
	var out *polypay.Agreement
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		cur, err := tx.LockAgreement(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		if p.Metadata != nil {
			cur.Metadata = p.Metadata
		}
		if p.Status != "" && cur.Status.CanBecome(polypay.AgreementCanceled) {
			cur.Status, cur.TimeCanceled, cur.CanceledBy = polypay.AgreementCanceled, tx.Now(), "merchant"
			if queued, err = s.emit(ctx, tx, cur.AppID, cur.Livemode, polypay.EventAgreementCanceled, who.RequestID, wire.FromAgreement(cur)); err != nil {
				return err
			}
		}
		out = cur
		return tx.UpdateAgreement(ctx, cur)
	})
	s.kick(queued)
	if err != nil {
		return nil, err
	}
	return wire.FromAgreement(out), nil
}

// markCanceling records who is ending a signed agreement ("" clears it
// when the channel refused), before the channel is asked.
func (s *Service) markCanceling(ctx context.Context, a *polypay.Agreement, by string) error {
	return s.write(ctx, func(tx Tx) error {
		cur, err := tx.LockAgreement(ctx, a.AppID, a.Livemode, a.ID)
		if err != nil || cur.Status != polypay.AgreementSucceeded {
			return err
		}
		cur.CanceledBy = by
		return tx.UpdateAgreement(ctx, cur)
	})
}

// applyAgreementNotification applies a channel's word on an agreement:
// signed makes a created agreement succeeded, terminated cancels it (by
// the user, unless the merchant's cancel came first). A duplicate, a late
// or a reordered word changes nothing it should not: a canceled agreement
// stays canceled, and a signature naming another contract id than the one
// kept is refused.
func (s *Service) applyAgreementNotification(ctx context.Context, appID string, live bool, info *polypay.AgreementInfo) (polypay.NotifyOutcome, string, error) {
	outcome, id := polypay.OutcomeNoChange, ""
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		found, err := tx.AgreementByContractNo(ctx, appID, live, info.ContractNo)
		if err != nil {
			return err
		}
		a, err := tx.LockAgreement(ctx, appID, live, found.ID)
		if err != nil {
			return err
		}
		id = a.ID
		if a.ContractID != "" && info.ContractID != "" && a.ContractID != info.ContractID {
			outcome = polypay.OutcomeRejectedMismatch
			return nil
		}
		outcome, queued, err = s.agreementTransition(ctx, tx, a, info)
		return err
	})
	s.kick(queued)
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return polypay.OutcomeRejectedUnknownCharge, id, nil
	}
	return outcome, id, err
}

// agreementTransition moves a locked agreement as info says and
// announces the move.
func (s *Service) agreementTransition(ctx context.Context, tx Tx, a *polypay.Agreement, info *polypay.AgreementInfo) (polypay.NotifyOutcome, int, error) {
	at := info.At
	if at == 0 {
		at = tx.Now()
	}
	var event string
	switch {
	case info.State == polypay.AgreementSigned && a.Status.CanBecome(polypay.AgreementSucceeded):
		a.Status, a.ContractID, a.TimeSucceeded, event = polypay.AgreementSucceeded, info.ContractID, at, polypay.EventAgreementSucceeded
	case info.State == polypay.AgreementTerminated && a.Status.CanBecome(polypay.AgreementCanceled):
		a.Status, a.TimeCanceled, event = polypay.AgreementCanceled, at, polypay.EventAgreementCanceled
		if a.CanceledBy == "" {
			a.CanceledBy = "user" // not a cancel the merchant started
		}
		if a.ContractID == "" {
			a.ContractID = info.ContractID
		}
	case info.State == polypay.AgreementSigned && a.Status == polypay.AgreementSucceeded,
		info.State == polypay.AgreementTerminated && a.Status == polypay.AgreementCanceled:
		return polypay.OutcomeDuplicate, 0, nil
	default:
		return polypay.OutcomeNoChange, 0, nil
	}
	if err := tx.UpdateAgreement(ctx, a); err != nil {
		return "", 0, err
	}
	n, err := s.emit(ctx, tx, a.AppID, a.Livemode, event, "", wire.FromAgreement(a))
	return polypay.OutcomeApplied, n, err
}

// RefreshAgreement asks the channel about an agreement and applies what it
// says (a notification that never came).
func (s *Service) RefreshAgreement(ctx context.Context, who Caller, id string) (any, error) {
	var a *polypay.Agreement
	if err := s.read(ctx, func(tx Tx) (err error) { a, err = tx.GetAgreement(ctx, who.App.ID, who.Live, id); return }); err != nil {
		return nil, err
	}
	if a.Status != polypay.AgreementCanceled {
		ag, err := s.agreer(ctx, a.AppID, a.Livemode, a.Channel)
		if err != nil {
			return nil, err
		}
		info, err := ag.QueryAgreement(ctx, a)
		if err != nil {
			return nil, channelErr(err)
		}
		if info.ContractNo == "" {
			info.ContractNo = a.ContractNo
		}
		if _, _, err := s.applyAgreementNotification(ctx, a.AppID, a.Livemode, info); err != nil {
			return nil, err
		}
	}
	return s.GetAgreement(ctx, who, id)
}

// NotifyAgreement is Ping++'s POST /v1/agreements/{id}/notify: WeChat's
// pre-debit notice to the customer. Only WeChat's entrusted debit has one.
func (s *Service) NotifyAgreement(ctx context.Context, who Caller, id string, amount int64) (any, error) {
	var a *polypay.Agreement
	if err := s.read(ctx, func(tx Tx) (err error) { a, err = tx.GetAgreement(ctx, who.App.ID, who.Live, id); return }); err != nil {
		return nil, err
	}
	ag, err := s.agreer(ctx, a.AppID, a.Livemode, a.Channel)
	if err != nil {
		return nil, err
	}
	n, ok := ag.(polypay.DebitNotifier)
	if !ok {
		return nil, polypay.Errorf(polypay.ENotSupported, "渠道 %s 没有扣款前通知（仅微信委托代扣有）", a.Channel)
	}
	if a.Status != polypay.AgreementSucceeded {
		return nil, polypay.ParamError("id", "签约 %s 状态为 %s，不能发送扣款通知", a.ID, a.Status)
	}
	if amount <= 0 || amount > MaxAmount {
		return nil, polypay.ParamError("amount", "amount 须为正整数（分）")
	}
	if err := n.NotifyDebit(ctx, a, amount); err != nil {
		return nil, channelErr(err)
	}
	return wire.FromAgreement(a), nil
}

// AgreementChecks is when, by an unsigned agreement's age in seconds,
// polypay asks the channel about it in case its sign notification was
// lost; after the last it waits for the notification or a refresh.
var AgreementChecks = []int64{120, 600, 3600, 6 * 3600, 24 * 3600}

// checkAgreements asks the channel about unsigned agreements that are due
// (the poller's).
func (s *Service) checkAgreements(ctx context.Context, now int64) (int, error) {
	var due []store.AgreementRef
	if err := s.read(ctx, func(tx Tx) (err error) { due, err = tx.DueAgreements(ctx, now, 20); return }); err != nil {
		return 0, err
	}
	n := 0
	for _, r := range due {
		var a *polypay.Agreement
		var claimed bool
		err := s.write(ctx, func(tx Tx) (err error) {
			if a, err = tx.GetAgreement(ctx, r.AppID, r.Live, r.ID); err != nil {
				return err
			}
			claimed, err = tx.ClaimAgreement(ctx, r.ID, now, nextAgreementCheck(a.Created, now))
			return err
		})
		if err != nil || !claimed {
			continue
		}
		n++
		who := Caller{App: &polypay.App{ID: r.AppID}, Live: r.Live}
		if _, err := s.RefreshAgreement(ctx, who, r.ID); err != nil {
			s.Log.Warn("asking about an unsigned agreement", "agreement", r.ID, "err", err)
		}
	}
	return n, nil
}

// nextAgreementCheck is the check after now by the schedule, 0 past it.
func nextAgreementCheck(created, now int64) int64 {
	for _, at := range AgreementChecks {
		if created+at > now {
			return created + at
		}
	}
	return 0
}
