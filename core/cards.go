package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/store"
)

// CardSettings is an app's card configuration in one mode (the API object
// of /v1/apps/{app}/card_settings).
type CardSettings struct {
	Object   string `json:"object"`
	App      string `json:"app"`
	Livemode bool   `json:"livemode"`
	// ThreeDSecure is "automatic" (the issuer decides) or "required" (every
	// card charge is authenticated).
	ThreeDSecure polypay.ThreeDSMode `json:"three_d_secure"`
	// Processors are the card processor accounts to try in order:
	// "default" is the card family's default account, other names are
	// accounts configured as "stripe@<name>". A processor error (not a
	// decline) moves the charge to the next.
	Processors []string `json:"processors"`
	Updated    int64    `json:"updated"`
}

// CardSettingsParams are the fields given to POST; nil means unchanged.
type CardSettingsParams struct {
	ThreeDSecure *polypay.ThreeDSMode
	Processors   *[]string
}

// DefaultProcessor names the card family's default account in Processors.
const DefaultProcessor = "default"

func (s *Service) cardSettings(ctx context.Context, tx AppStore, appID string, live bool) (*CardSettings, error) {
	cs := &CardSettings{Object: "card_settings", App: appID, Livemode: live, ThreeDSecure: polypay.ThreeDSAutomatic,
		Processors: []string{DefaultProcessor}}
	raw, err := tx.CardSettings(ctx, appID, live)
	if err != nil || raw == nil {
		return cs, err
	}
	if err := json.Unmarshal(raw, cs); err != nil {
		return nil, fmt.Errorf("card settings of %s: %w", appID, err)
	}
	return cs, nil
}

// GetCardSettings returns the caller's card settings.
func (s *Service) GetCardSettings(ctx context.Context, who Caller) (*CardSettings, error) {
	var cs *CardSettings
	err := s.read(ctx, func(tx Tx) (err error) {
		cs, err = s.cardSettings(ctx, tx, who.App.ID, who.Live)
		return err
	})
	return cs, err
}

// SetCardSettings changes the caller's card settings. Every processor
// must be a configured account of the card channel in the caller's mode.
func (s *Service) SetCardSettings(ctx context.Context, who Caller, p CardSettingsParams) (*CardSettings, error) {
	if p.ThreeDSecure != nil && *p.ThreeDSecure != polypay.ThreeDSAutomatic && *p.ThreeDSecure != polypay.ThreeDSRequired {
		return nil, polypay.ParamError("three_d_secure", "three_d_secure 须为 automatic 或 required")
	}
	if p.Processors != nil {
		if len(*p.Processors) == 0 || len(*p.Processors) > 5 {
			return nil, polypay.ParamError("processors", "processors 须列出 1 到 5 个卡处理账户")
		}
		for i, name := range *p.Processors {
			if slices.Index(*p.Processors, name) != i {
				return nil, polypay.ParamError("processors", "processors 中 %s 重复", name)
			}
			if _, err := s.Channels.Channel(ctx, who.App.ID, who.Live, processorRoute(cardChannel(), name)); err != nil {
				return nil, polypay.ParamError("processors", "卡处理账户 %s 不可用: %v", name, errMessage(err))
			}
		}
	}
	var out *CardSettings
	err := s.write(ctx, func(tx Tx) error {
		cs, err := s.cardSettings(ctx, tx, who.App.ID, who.Live)
		if err != nil {
			return err
		}
		if p.ThreeDSecure != nil {
			cs.ThreeDSecure = *p.ThreeDSecure
		}
		if p.Processors != nil {
			cs.Processors = *p.Processors
		}
		cs.Updated = tx.Now()
		b, err := json.Marshal(cs)
		if err != nil {
			return err
		}
		out = cs
		return tx.PutCardSettings(ctx, who.App.ID, who.Live, b, cs.Updated)
	})
	return out, err
}

func errMessage(err error) string {
	var pe *polypay.Error
	if errors.As(err, &pe) && pe.Message != "" {
		return pe.Message
	}
	return err.Error()
}

func processorRoute(channel, processor string) string {
	if processor == DefaultProcessor || processor == "" {
		return channel
	}
	return channel + "@" + processor
}

func processorAccount(processor string) string {
	if processor == DefaultProcessor {
		return ""
	}
	return processor
}

// createCard starts a card charge on the app's processors in order
// (usable ones first), with failover's rules: a decline ends it, a
// processor that did not accept the request is skipped, and any other
// error moves on only when the processor confirms it holds no trade.
func (s *Service) createCard(ctx context.Context, c *polypay.Charge, req polypay.ChannelRequest) ([]byte, error) {
	var cs *CardSettings
	if err := s.read(ctx, func(tx Tx) (err error) {
		cs, err = s.cardSettings(ctx, tx, c.AppID, c.Livemode)
		return err
	}); err != nil {
		return nil, err
	}
	if req.ThreeDS != polypay.ThreeDSRequired { // the risk engine may require it (screen)
		req.ThreeDS = cs.ThreeDSecure
	}
	family := s.Channels.Family(c.Channel)
	var up, down []string
	for _, p := range cs.Processors {
		if s.usable(account(c.AppID, c.Livemode, family, p)) {
			up = append(up, p)
		} else {
			down = append(down, p)
		}
	}
	return s.failover(ctx, c, req, append(up, down...), false, true)
}

// noTradeAt reports whether a processor that failed a create certainly
// holds no live trade for the charge: it says so, or it closed it.
func (s *Service) noTradeAt(ctx context.Context, ch polypay.Channel, c *polypay.Charge) bool {
	t, err := ch.QueryCharge(ctx, c)
	if err == nil {
		switch t.State {
		case polypay.TradeNotFound, polypay.TradeFailed, polypay.TradeClosed:
			return true
		case polypay.TradePaid, polypay.TradeFinished, polypay.TradeAuthorized:
			return false
		}
	}
	return ch.CloseCharge(ctx, c) == nil
}

// CardSource resolves the card a card charge names in its extra.
type CardSource interface {
	// CardForCharge returns the card named by source (a single-use token
	// tok_… or a saved card card_…) and customer (cus_…, whose default card
	// is used when source is empty), consuming a token inside tx, the
	// transaction that stores the charge. EInvalid naming extra[source] or
	// extra[customer] when unusable; another app's or mode's objects do
	// not exist.
	CardForCharge(ctx context.Context, tx Tx, appID string, live bool, source, customer string) (*polypay.CardData, error)
}

// cardExtra is what a card charge's extra may carry, besides a wallet
// channel's token (polypay.ChannelInfo.WalletToken).
type cardExtra struct {
	Source   string `json:"source"`
	Customer string `json:"customer"`
}

// createCardCharge stores the charge first, consuming its single-use token
// in the same transaction (so one token can never pay twice), then asks the
// processors. A decline closes the charge with the processor's reason; an
// unknown outcome leaves it pending for the poller to settle by query.
func (s *Service) createCardCharge(ctx context.Context, c *polypay.Charge, req polypay.ChannelRequest, extra json.RawMessage, now int64, hook Hook) (any, error) {
	x, wallet, err := s.cardRequest(c, &req, extra)
	if err != nil {
		return nil, err
	}
	err = s.insertCardCharge(ctx, c, &req, x, wallet, now)
	if store.IsUniqueViolation(err) {
		return s.replayStored(ctx, c, hook)
	}
	if err != nil {
		return nil, err
	}
	cred, err := s.createCard(ctx, c, req)
	var pe *polypay.Error
	declined := err != nil && errors.As(err, &pe)
	if !declined {
		pe = nil
	}
	if werr := s.recordCardCreate(ctx, c, cred, pe); werr != nil {
		return nil, werr
	}
	if declined {
		return nil, err
	}
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: "channel_timeout", Err: err,
			Message: "卡处理方未及时响应，结果未知；polypay 将主动查询并更新该 charge（勿用同一卡重复发起）"}
	}
	if err := s.learnCardOutcome(ctx, c); err != nil {
		return nil, err
	}
	return s.render(ctx, c.ID, hook)
}

// cardRequest reads a card charge's extra: a wallet channel's token goes
// into req (wallet is true), any other card channel needs the source or
// customer the vault resolves, returned in x.
func (s *Service) cardRequest(c *polypay.Charge, req *polypay.ChannelRequest, extra json.RawMessage) (x cardExtra, wallet bool, err error) {
	if len(extra) > 0 {
		if err := json.Unmarshal(extra, &x); err != nil {
			return x, false, polypay.ParamError("extra", "extra 格式错误: %v", err)
		}
	}
	info, _ := polypay.LookupChannel(c.Channel)
	if w := info.WalletToken; w != nil {
		return x, true, takeWalletToken(c, req, extra, w)
	}
	if x.Source == "" && x.Customer == "" {
		return x, false, polypay.ParamError("extra[source]", "缺少参数: extra[source]（POST /v1/tokens 得到的 tok_，或已保存的 card_ 与 extra[customer]）")
	}
	if s.Cards == nil {
		return x, false, polypay.Errorf(polypay.ENotSupported, "this node has no card vault")
	}
	return x, false, nil
}

// takeWalletToken moves the wallet's payment token, which extra must
// carry, into req. The token is payment data: it goes to the processor,
// not into the charge's stored extra, where it is redacted.
func takeWalletToken(c *polypay.Charge, req *polypay.ChannelRequest, extra json.RawMessage, w *polypay.WalletToken) error {
	var given map[string]json.RawMessage
	_ = json.Unmarshal(extra, &given)
	token := given[w.Param]
	if len(token) == 0 || string(token) == "null" {
		return polypay.ParamError("extra["+w.Param+"]", "缺少参数: extra[%s]（%s）", w.Param, w.Hint)
	}
	req.WalletToken = token
	var m map[string]json.RawMessage
	if json.Unmarshal(c.Extra, &m) == nil {
		m[w.Param] = json.RawMessage(`"[redacted]"`)
		c.Extra, _ = json.Marshal(m)
	}
	return nil
}

// insertCardCharge stores a card charge and, unless a wallet's token pays
// it, resolves its card into req.Card in the same transaction, which
// consumes a single-use token.
func (s *Service) insertCardCharge(ctx context.Context, c *polypay.Charge, req *polypay.ChannelRequest, x cardExtra, wallet bool, now int64) error {
	return s.write(ctx, func(tx Tx) error {
		if err := s.insertCharge(ctx, tx, c, now); err != nil {
			return err
		}
		if wallet {
			return nil
		}
		card, err := s.Cards.CardForCharge(ctx, tx, c.AppID, c.Livemode, x.Source, x.Customer)
		req.Card = card
		return err
	})
}

// recordCardCreate stores what the processors answered a card charge's
// create: the account and attempts used, the credential, and, when
// declined is not nil, the decline that closes a still pending charge.
func (s *Service) recordCardCreate(ctx context.Context, c *polypay.Charge, cred []byte, declined *polypay.Error) error {
	return s.write(ctx, func(tx Tx) error {
		cur, err := tx.LockCharge(ctx, c.ID)
		if err != nil {
			return err
		}
		cur.Account, cur.Attempts, cur.Credential = c.Account, c.Attempts, cred
		if declined != nil && cur.Status == polypay.ChargePending {
			closeDeclined(cur, declined)
			if err := risk.FailedTx(ctx, tx, c.ID); err != nil {
				return err
			}
		}
		return tx.UpdateCharge(ctx, cur)
	})
}

// closeDeclined closes a charge the channel declined, with the channel's
// code (the error's own code when the channel gave none) and message.
func closeDeclined(c *polypay.Charge, pe *polypay.Error) {
	c.Status = polypay.ChargeClosed
	c.FailureCode, c.FailureMsg = pe.ChannelCode, pe.Message
	if c.FailureCode == "" {
		c.FailureCode = pe.Code
	}
}

// learnCardOutcome applies how a new card charge stands at its processor:
// a frictionless card payment is decided during the call, so the reply
// already says paid (or authorized). A failed query is only logged.
func (s *Service) learnCardOutcome(ctx context.Context, c *polypay.Charge) error {
	ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
	if err != nil {
		return nil
	}
	t, err := ch.QueryCharge(ctx, c)
	if err != nil {
		s.Log.Warn("querying new card charge", "charge", c.ID, "err", err)
		return nil
	}
	if t.State == polypay.TradePending {
		return nil
	}
	_, err = s.applyTrade(ctx, c.ID, t, "create", nil)
	return err
}

// hasCard reports whether a charge's extra carries raw card data.
func hasCard(extra json.RawMessage) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(extra, &m) != nil {
		return false
	}
	_, ok := m["card"]
	return ok
}
