package core

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
)

// Fees and settlement of sub-merchants (polypay's; issue 21). A parent app
// sets each sub-app's fee schedule: per channel (a channel name, a family
// such as "alipay", or "*"), a percentage in basis points of the amount
// captured plus a fixed part, never below a minimum and never above the
// amount. The fee is booked with the payment, in the sub-app's book and
// its parent's, and is not given back by refunds (as acquirers do).

// MerchantStore is what fees and settlement read and write.
type MerchantStore interface {
	PutFeeSchedule(ctx context.Context, f *store.FeeSchedule) error
	FeeScheduleOf(ctx context.Context, appID string) (*store.FeeSchedule, error)
	AutoSettled(ctx context.Context) ([]string, error)
	InsertPlatformFee(ctx context.Context, f *store.PlatformFee) (bool, error)
	FeesBetween(ctx context.Context, appID string, live bool, from, to int64) (map[string]int64, error)
	InsertMerchantSettlement(ctx context.Context, m *store.MerchantSettlement) (bool, error)
	MoveMerchantSettlement(ctx context.Context, m *store.MerchantSettlement, from string) (bool, error)
	GetMerchantSettlement(ctx context.Context, appID string, live bool, id string) (*store.MerchantSettlement, error)
	SettlementByTransfer(ctx context.Context, appID string, live bool, channel, orderNo string) (*store.MerchantSettlement, error)
	ListMerchantSettlements(ctx context.Context, appID string, live bool, p store.Page) ([]*store.MerchantSettlement, bool, error)
	UnsentSettlements(ctx context.Context, limit int) ([]*store.MerchantSettlement, error)
	MerchantOwed(ctx context.Context, appID string, live bool, currency string, before int64) (int64, error)
	SettledOut(ctx context.Context, appID string, live bool, currency string) (int64, error)
	ChargeTakings(ctx context.Context, appID string, live bool, currency string, from, to int64) (int64, error)
	BookCurrencies(ctx context.Context, appID string, live bool) ([]string, error)
	SettledOn(ctx context.Context, appID string, live bool, date string) (bool, error)
	MerchantBalance(ctx context.Context, appID string, live bool, currency string, before int64) (int64, error)
	MerchantLines(ctx context.Context, appID string, live bool, currency string, from, to int64) ([]store.StatementLine, error)
}

// FeeRule is one line of a fee schedule.
type FeeRule struct {
	Channel   string `json:"channel"`
	PercentBP int64  `json:"percent_bp"`
	Fixed     int64  `json:"fixed"`
	Minimum   int64  `json:"minimum"`
}

// FeeScheduleParams set a sub-app's fee schedule and settlement terms.
type FeeScheduleParams struct {
	Rules         []FeeRule `json:"rules"`
	DelayDays     int       `json:"settle_delay_days"`
	HoldbackBP    int       `json:"holdback_bp"`
	HoldbackDays  int       `json:"holdback_days"`
	MinPayout     int64     `json:"min_payout"`
	PayoutChannel string    `json:"payout_channel"`
	AutoSettle    bool      `json:"auto_settle"`
}

// Bounds of a fee schedule.
const (
	maxFeeRules    = 32
	maxFeeBP       = 10000
	maxSettleDelay = 30
)

// feeChannel reports whether a rule may name ch: "*", a channel polypay
// serves, or a family's name.
func feeChannel(ch string, supported func(string) bool) bool {
	if ch == "*" || supported(ch) {
		return true
	}
	for _, f := range polypay.RegisteredFamilies() {
		if f.Name == ch {
			return true
		}
	}
	return false
}

func checkFeeSchedule(p *FeeScheduleParams, supported func(string) bool) error {
	if len(p.Rules) > maxFeeRules {
		return polypay.ParamError("rules", "rules 最多 %d 项", maxFeeRules)
	}
	seen := map[string]bool{}
	for _, r := range p.Rules {
		if seen[r.Channel] || !feeChannel(r.Channel, supported) {
			return polypay.ParamError("rules", "rules 的 channel 须为渠道名、渠道族或 *，且不能重复: %q", r.Channel)
		}
		seen[r.Channel] = true
		if r.PercentBP < 0 || r.PercentBP > maxFeeBP || r.Fixed < 0 || r.Fixed > MaxAmount || r.Minimum < 0 || r.Minimum > MaxAmount {
			return polypay.ParamError("rules", "rules 的 percent_bp 须为 0 到 10000，fixed 与 minimum 不能为负")
		}
	}
	switch {
	case p.DelayDays < 0 || p.DelayDays > maxSettleDelay:
		return polypay.ParamError("settle_delay_days", "settle_delay_days 须为 0 到 %d", maxSettleDelay)
	case p.HoldbackBP < 0 || p.HoldbackBP > maxFeeBP:
		return polypay.ParamError("holdback_bp", "holdback_bp 须为 0 到 10000")
	case p.HoldbackDays < 0 || p.HoldbackDays > 180:
		return polypay.ParamError("holdback_days", "holdback_days 须为 0 到 180")
	case p.MinPayout < 0 || p.MinPayout > MaxAmount:
		return polypay.ParamError("min_payout", "min_payout 不能为负")
	case p.PayoutChannel != "unionpay":
		// Settlement pays the bank account of the onboarding: a bank
		// card payout.
		return polypay.ParamError("payout_channel", "payout_channel 目前只支持 unionpay（结算到登记的银行账户）")
	}
	return nil
}

// PutFeeSchedule sets sub's fee schedule; the caller (its parent or an
// ancestor) collects the fees.
func (s *Service) PutFeeSchedule(ctx context.Context, who Caller, sub string, p FeeScheduleParams) (any, error) {
	if p.PayoutChannel == "" {
		p.PayoutChannel = "unionpay"
	}
	if err := checkFeeSchedule(&p, s.Channels.Supported); err != nil {
		return nil, err
	}
	rules, _ := json.Marshal(p.Rules)
	f := &store.FeeSchedule{AppID: sub, Collector: who.App.ID, Rules: rules, DelayDays: p.DelayDays, HoldbackBP: p.HoldbackBP,
		HoldbackDays: p.HoldbackDays, MinPayout: p.MinPayout, PayoutChannel: p.PayoutChannel, AutoSettle: p.AutoSettle, Updated: s.now().Unix()}
	err := s.write(ctx, func(tx Tx) error {
		if _, err := tx.SubAppOf(ctx, who.App.ID, sub); err != nil {
			return err
		}
		return tx.PutFeeSchedule(ctx, f)
	})
	if err != nil {
		return nil, err
	}
	return renderFeeSchedule(f), nil
}

// GetFeeSchedule answers sub's fee schedule (ENotFound when it has none).
func (s *Service) GetFeeSchedule(ctx context.Context, who Caller, sub string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		if sub != who.App.ID {
			if _, err := tx.SubAppOf(ctx, who.App.ID, sub); err != nil {
				return err
			}
		}
		f, err := tx.FeeScheduleOf(ctx, sub)
		if err == nil && f == nil {
			err = polypay.NotFound("fee_schedule", sub)
		}
		if err == nil {
			out = renderFeeSchedule(f)
		}
		return err
	})
	return out, err
}

func renderFeeSchedule(f *store.FeeSchedule) map[string]any {
	var rules []FeeRule
	_ = json.Unmarshal(f.Rules, &rules)
	if rules == nil {
		rules = []FeeRule{}
	}
	return map[string]any{"object": "fee_schedule", "app": f.AppID, "collector": f.Collector, "rules": rules,
		"settle_delay_days": f.DelayDays, "holdback_bp": f.HoldbackBP, "holdback_days": f.HoldbackDays, "min_payout": f.MinPayout,
		"payout_channel": f.PayoutChannel, "auto_settle": f.AutoSettle, "updated": f.Updated}
}

// feeFor is a schedule's fee on amount paid on channel (of family): the
// most specific rule (channel, then family, then "*"), none when no rule
// applies.
func feeFor(rules []FeeRule, channel, family string, amount int64) int64 {
	var rule *FeeRule
	for _, want := range []string{channel, family, "*"} {
		for i := range rules {
			if rules[i].Channel == want && rule == nil {
				rule = &rules[i]
			}
		}
	}
	if rule == nil || amount <= 0 {
		return 0
	}
	fee := amount*rule.PercentBP/10000 + rule.Fixed
	return min(max(fee, rule.Minimum), amount)
}

// chargeFee books a sub-app's fee on a charge just paid, in the
// transaction that marks it paid: once per charge.
func (s *Service) chargeFee(ctx context.Context, tx interface {
	MerchantStore
	LedgerStore
}, c *polypay.Charge, now int64) error {
	if c.Channel == BalanceChannel {
		return nil // the account system's own money: no acquiring fee
	}
	f, err := tx.FeeScheduleOf(ctx, c.AppID)
	if err != nil || f == nil {
		return err
	}
	var rules []FeeRule
	if err := json.Unmarshal(f.Rules, &rules); err != nil {
		return err
	}
	fee := feeFor(rules, c.Channel, s.Channels.Family(c.Channel), c.AmountCaptured)
	if fee <= 0 {
		return nil
	}
	pf := &store.PlatformFee{ChargeID: c.ID, AppID: c.AppID, Livemode: c.Livemode, Collector: f.Collector, Channel: c.Channel,
		Currency: c.Currency, Amount: fee, Created: now}
	fresh, err := tx.InsertPlatformFee(ctx, pf)
	if err != nil || !fresh {
		return err
	}
	if err := tx.Post(ctx, ledger.PlatformFeeCharged(pf.Fee())); err != nil {
		return err
	}
	return tx.Post(ctx, ledger.PlatformFeeEarned(pf.Fee()))
}
