package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/polypay/polypay"
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

func (s *Service) cardSettings(ctx context.Context, tx *store.Tx, appID string, live bool) (*CardSettings, error) {
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
	err := s.DB.Read(ctx, func(tx *store.Tx) (err error) {
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
	err := s.DB.Write(ctx, func(tx *store.Tx) error {
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
	if err := s.DB.Read(ctx, func(tx *store.Tx) (err error) {
		cs, err = s.cardSettings(ctx, tx, c.AppID, c.Livemode)
		return err
	}); err != nil {
		return nil, err
	}
	req.ThreeDS = cs.ThreeDSecure
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
	CardForCharge(ctx context.Context, tx *store.Tx, appID string, live bool, source, customer string) (*polypay.CardData, error)
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
	var x cardExtra
	if len(extra) > 0 {
		if err := json.Unmarshal(extra, &x); err != nil {
			return nil, polypay.ParamError("extra", "extra 格式错误: %v", err)
		}
	}
	info, _ := polypay.LookupChannel(c.Channel)
	if w := info.WalletToken; w != nil {
		var given map[string]json.RawMessage
		_ = json.Unmarshal(extra, &given)
		token := given[w.Param]
		if len(token) == 0 || string(token) == "null" {
			return nil, polypay.ParamError("extra["+w.Param+"]", "缺少参数: extra[%s]（%s）", w.Param, w.Hint)
		}
		req.WalletToken = token
		// The token is payment data: it goes to the processor, not into the
		// charge's stored extra.
		var m map[string]json.RawMessage
		if json.Unmarshal(c.Extra, &m) == nil {
			m[w.Param] = json.RawMessage(`"[redacted]"`)
			c.Extra, _ = json.Marshal(m)
		}
	} else {
		if x.Source == "" && x.Customer == "" {
			return nil, polypay.ParamError("extra[source]", "缺少参数: extra[source]（POST /v1/tokens 得到的 tok_，或已保存的 card_ 与 extra[customer]）")
		}
		if s.Cards == nil {
			return nil, polypay.Errorf(polypay.ENotSupported, "this node has no card vault")
		}
	}
	err := s.DB.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertCharge(ctx, c, NextCheck(c, now)); err != nil {
			return err
		}
		if info.WalletToken != nil {
			return nil
		}
		card, err := s.Cards.CardForCharge(ctx, tx, c.AppID, c.Livemode, x.Source, x.Customer)
		req.Card = card
		return err
	})
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
	if err != nil {
		return nil, err
	}
	cred, err := s.createCard(ctx, c, req)
	var pe *polypay.Error
	declined := err != nil && errors.As(err, &pe)
	if werr := s.DB.Write(ctx, func(tx *store.Tx) error {
		cur, err := tx.LockCharge(ctx, c.ID)
		if err != nil {
			return err
		}
		cur.Account, cur.Attempts, cur.Credential = c.Account, c.Attempts, cred
		if declined && cur.Status == polypay.ChargePending {
			cur.Status = polypay.ChargeClosed
			cur.FailureCode, cur.FailureMsg = pe.ChannelCode, pe.Message
			if cur.FailureCode == "" {
				cur.FailureCode = pe.Code
			}
		}
		return tx.UpdateCharge(ctx, cur)
	}); werr != nil {
		return nil, werr
	}
	if declined {
		return nil, err
	}
	if err != nil {
		return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: "channel_timeout", Err: err,
			Message: "卡处理方未及时响应，结果未知；polypay 将主动查询并更新该 charge（勿用同一卡重复发起）"}
	}
	// A frictionless card payment is decided during the call: learn it now
	// so the reply already says paid (or authorized).
	if ch, cerr := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute()); cerr == nil {
		if t, qerr := ch.QueryCharge(ctx, c); qerr != nil {
			s.Log.Warn("querying new card charge", "charge", c.ID, "err", qerr)
		} else if t.State != polypay.TradePending {
			if _, aerr := s.applyTrade(ctx, c.ID, t, "create", nil); aerr != nil {
				return nil, aerr
			}
		}
	}
	return s.render(ctx, c.ID, hook)
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
