package risk

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/netip"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// Tx is what the engine needs of a store transaction.
type Tx interface {
	RiskCounts(ctx context.Context, appID string, live bool, kind, value string, sinceMS int64) (store.RiskCount, error)
	RiskBlocked(ctx context.Context, appID string, live bool, kind, value string, now int64) (*store.RiskBlock, error)
	PutRiskBlock(ctx context.Context, b store.RiskBlock) error
	RiskListEntries(ctx context.Context, appID string, live bool, now int64) ([]store.RiskListEntry, error)
	RiskRules(ctx context.Context, appID string, live bool) ([]*store.RiskRule, error)
	InsertRiskDecision(ctx context.Context, d store.RiskDecision) error
	InsertRiskAttempt(ctx context.Context, a store.RiskAttempt) error
	MarkRiskAttemptFailed(ctx context.Context, chargeID string) (bool, error)
	InsertEvent(ctx context.Context, e *polypay.Event, nowMS int64) (int, error)
}

// Store runs the engine's transactions.
type Store interface {
	Read(ctx context.Context, fn func(Tx) error) error
	Write(ctx context.Context, fn func(Tx) error) error
}

type dbStore struct{ db *store.DB }

// OnDB is the engine's Store on a polypay store.
func OnDB(db *store.DB) Store { return dbStore{db} }

func (s dbStore) Read(ctx context.Context, fn func(Tx) error) error {
	return s.db.Read(ctx, func(tx *store.Tx) error { return fn(tx) })
}

func (s dbStore) Write(ctx context.Context, fn func(Tx) error) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return fn(tx) })
}

// Threshold is a built-in rule: Distinct distinct values (cards for an IP,
// IPs for a card) within Window, at least FailedPercent of the attempts
// failed, blocks the fact for BlockFor.
type Threshold struct {
	Distinct      int
	Window        time.Duration
	FailedPercent int
	BlockFor      time.Duration
}

// Config tunes the built-in rules; the zero value takes the defaults.
type Config struct {
	// CardTesting: one IP trying many cards, most failing.
	CardTesting Threshold
	// CardSpread: one card tried from many IPs, most failing.
	CardSpread Threshold
	// Window is what the velocity counters rules read count over.
	Window time.Duration
	// Off turns the engine off (every request allowed, nothing counted).
	Off bool
}

// DefaultCardTesting and DefaultCardSpread are the built-in rules'
// defaults: 5 cards from one IP (or one card from 5 IPs) in 10 minutes with
// 60% failed blocks it for an hour.
var (
	DefaultCardTesting = Threshold{Distinct: 5, Window: 10 * time.Minute, FailedPercent: 60, BlockFor: time.Hour}
	DefaultCardSpread  = Threshold{Distinct: 5, Window: 10 * time.Minute, FailedPercent: 60, BlockFor: time.Hour}
)

func (c Config) withDefaults() Config {
	if c.CardSpread.Distinct == 0 && c.CardTesting.Distinct != 0 {
		c.CardSpread = c.CardTesting // one setting for both (polypay serve --risk-*)
	}
	if c.Window == 0 {
		c.Window = c.CardTesting.Window
	}
	if c.CardTesting.Distinct == 0 {
		c.CardTesting = DefaultCardTesting
	}
	if c.CardSpread.Distinct == 0 {
		c.CardSpread = DefaultCardSpread
	}
	if c.Window == 0 {
		c.Window = 10 * time.Minute
	}
	return c
}

// Engine makes decisions. It is safe for concurrent use.
type Engine struct {
	Store  Store
	Config Config
	Log    *slog.Logger
	Now    func() time.Time
	// OnEvent is called after a decision queued webhook deliveries.
	OnEvent func()

	rules ruleCache
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// AttemptRetention is how long attempts are kept for the counters (longer
// than any window); DecisionsPerApp caps the decisions an app keeps (the
// newest stay), since an attacker's refused requests make decisions too.
const (
	AttemptRetention = 24 * time.Hour
	DecisionsPerApp  = 100000
)

// Built-in rule names, as decisions and metrics name them.
const (
	RuleAllowList   = "allow_list"
	RuleBlockList   = "block_list"
	RuleCardTesting = "card_testing"
	RuleCardSpread  = "card_spread"
)

// Decision is the engine's answer. Rule names the rule that acted: a
// built-in name or the merchant rule's id ("" when nothing matched).
type Decision struct {
	ID       string
	Action   Action
	Rule     string
	RuleName string // the merchant rule's name
	Counters Counters
}

// Blocked reports whether the request must be refused.
func (d Decision) Blocked() bool { return d.Action == Block }

// Counters are the velocity counters a decision saw.
type Counters map[string]int64

// Err is the refusal of a blocked request: HTTP 402, code risk_blocked,
// naming the rule for the merchant. Customer-facing pages must show their
// own neutral text instead (Neutral).
func (d Decision) Err() error {
	if !d.Blocked() {
		return nil
	}
	return &polypay.Error{Code: polypay.ERiskBlocked, ChannelCode: "risk_blocked",
		Message: "请求被风控规则拒绝: " + d.describe() + "（决定 " + d.ID + "）",
		Format:  "请求被风控规则拒绝: %s（决定 %s）", Args: []any{d.describe(), d.ID}}
}

func (d Decision) describe() string {
	if d.RuleName != "" {
		return d.Rule + " (" + d.RuleName + ")"
	}
	return d.Rule
}

// Neutral is what a customer is told when blocked: nothing about why.
const Neutral = "暂时无法完成支付，请稍后再试或更换支付方式。"

// Decide evaluates a request's facts: lists, blocks in force, the built-in
// rules, then the merchant's rules by priority. A block a built-in rule
// sets, and every decision other than a plain allow, are recorded.
func (e *Engine) Decide(ctx context.Context, f Facts) (Decision, error) {
	if e.Config.Off {
		return Decision{Action: Allow}, nil
	}
	cfg := e.Config.withDefaults()
	f.IP = CanonicalIP(f.IP)
	now := e.now().Unix()
	var d Decision
	var block *store.RiskBlock
	err := e.Store.Read(ctx, func(tx Tx) error {
		var err error
		d, block, err = e.evaluate(ctx, tx, cfg, f, now)
		return err
	})
	if err != nil {
		return Decision{}, err
	}
	if d.Action == Allow && d.Rule == "" {
		observe(d)
		return d, nil
	}
	d.ID = polypay.NewID("rd_")
	err = e.Store.Write(ctx, func(tx Tx) error {
		if block != nil {
			block.Created = now
			if err := tx.PutRiskBlock(ctx, *block); err != nil {
				return err
			}
			// Announced once, when set: the requests it then refuses are
			// not each an event (an attack would flood the webhooks).
			if err := announce(ctx, tx, f, polypay.EventRiskBlocked, blockOut(*block), now); err != nil {
				return err
			}
		}
		if d.Action == Review && f.CanHold {
			if err := announce(ctx, tx, f, polypay.EventRiskReviewOpened, decisionOut(record(d, f, now)), now); err != nil {
				return err
			}
		}
		return tx.InsertRiskDecision(ctx, record(d, f, now))
	})
	observe(d)
	if err == nil && (block != nil || (d.Action == Review && f.CanHold)) && e.OnEvent != nil {
		e.OnEvent()
	}
	return d, err
}

// announce stores an event about a risk object with its webhook
// deliveries, in the transaction that made it.
func announce(ctx context.Context, tx interface {
	InsertEvent(ctx context.Context, e *polypay.Event, nowMS int64) (int, error)
}, f Facts, typ string, obj any, now int64) error {
	body, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	_, err = tx.InsertEvent(ctx, &polypay.Event{ID: polypay.NewID("evt_"), AppID: f.AppID, Livemode: f.Live, Type: typ,
		Created: now, Object: body}, now*1000)
	return err
}

// evaluate is Decide's read: the decision and, when a built-in rule fires,
// the block to set.
func (e *Engine) evaluate(ctx context.Context, tx Tx, cfg Config, f Facts, now int64) (Decision, *store.RiskBlock, error) {
	if d, ok, err := e.listed(ctx, tx, f, now); ok || err != nil {
		return d, nil, err
	}
	for _, b := range []struct{ kind, value string }{{"ip", f.IP}, {"card", f.Card}} {
		if b.value == "" {
			continue
		}
		blk, err := tx.RiskBlocked(ctx, f.AppID, f.Live, b.kind, b.value, now)
		if err != nil || blk != nil {
			if blk != nil {
				return Decision{Action: Block, Rule: blk.Rule}, nil, err
			}
			return Decision{}, nil, err
		}
	}
	rules, err := tx.RiskRules(ctx, f.AppID, f.Live)
	if err != nil {
		return Decision{}, nil, err
	}
	c, err := counters(ctx, tx, f, cfg, now, needsOf(conditions(rules)))
	if err != nil {
		return Decision{}, nil, err
	}
	if blk := builtIn(cfg, f, c, now); blk != nil {
		return Decision{Action: Block, Rule: blk.Rule, Counters: c}, blk, nil
	}
	d, err := e.merchantRules(rules, f, c)
	d.Counters = c
	return d, nil, err
}

// listed applies the merchant's lists: an allow entry wins over a block
// entry, so a merchant can always let a known customer through.
func (e *Engine) listed(ctx context.Context, tx Tx, f Facts, now int64) (Decision, bool, error) {
	entries, err := tx.RiskListEntries(ctx, f.AppID, f.Live, now)
	if err != nil || len(entries) == 0 {
		return Decision{}, false, err
	}
	blocked := false
	for _, en := range entries {
		if !matches(en, f) {
			continue
		}
		if en.List == "allow" {
			return Decision{Action: Allow, Rule: RuleAllowList}, true, nil
		}
		blocked = true
	}
	if blocked {
		return Decision{Action: Block, Rule: RuleBlockList}, true, nil
	}
	return Decision{}, false, nil
}

// matches reports whether a list entry names one of the facts. IP entries
// may be CIDR ranges; email, customer and device compare case-blind.
func matches(en store.RiskListEntry, f Facts) bool {
	switch en.Kind {
	case "ip":
		if f.IP == "" {
			return false
		}
		a, err := netip.ParseAddr(f.IP)
		if err != nil {
			return false
		}
		if p, err := netip.ParsePrefix(en.Value); err == nil {
			return p.Contains(a)
		}
		return en.Value == f.IP
	case "card":
		return f.Card != "" && en.Value == f.Card
	case "email":
		return f.Email != "" && equalFold(en.Value, f.Email)
	case "customer":
		return f.Customer != "" && en.Value == f.Customer
	case "device":
		return f.Device != "" && en.Value == f.Device
	}
	return false
}

// builtIn applies the card-testing rules to the counters; it returns the
// block to set, or nil.
func builtIn(cfg Config, f Facts, c Counters, now int64) *store.RiskBlock {
	fire := func(t Threshold, distinct, attempts, failures int64) bool {
		return distinct >= int64(t.Distinct) && attempts > 0 && failures*100 >= int64(t.FailedPercent)*attempts
	}
	if f.IP != "" && fire(cfg.CardTesting, c["ip_cards_t"], c["ip_attempts_t"], c["ip_failures_t"]) {
		return &store.RiskBlock{AppID: f.AppID, Live: f.Live, Kind: "ip", Value: f.IP, Rule: RuleCardTesting,
			Until: now + int64(cfg.CardTesting.BlockFor/time.Second)}
	}
	if f.Card != "" && fire(cfg.CardSpread, c["card_ips_s"], c["card_attempts_s"], c["card_failures_s"]) {
		return &store.RiskBlock{AppID: f.AppID, Live: f.Live, Kind: "card", Value: f.Card, Rule: RuleCardSpread,
			Until: now + int64(cfg.CardSpread.BlockFor/time.Second)}
	}
	return nil
}

// merchantRules evaluates the app's enabled rules by priority; the first
// that matches decides. A rule that fails to evaluate is skipped and
// logged: a broken rule must not block honest customers.
func (e *Engine) merchantRules(rules []*store.RiskRule, f Facts, c Counters) (Decision, error) {
	if len(rules) == 0 {
		return Decision{Action: Allow}, nil
	}
	v := vars(f, c)
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		prg, err := e.rules.get(r.ID, r.Updated, r.Condition)
		if err != nil {
			e.logRule(r.ID, err)
			continue
		}
		ok, err := prg.Match(v)
		if err != nil {
			e.logRule(r.ID, err)
			continue
		}
		if ok {
			return Decision{Action: Action(r.Action), Rule: r.ID, RuleName: r.Name}, nil
		}
	}
	return Decision{Action: Allow}, nil
}

func (e *Engine) logRule(id string, err error) {
	if e.Log != nil {
		e.Log.Warn("risk rule skipped", "rule", id, "err", err)
	}
}

// record is the stored form of a decision: the facts a merchant needs to
// explain it (card fingerprint, masked email), never a card number.
func record(d Decision, f Facts, now int64) store.RiskDecision {
	facts, _ := json.Marshal(map[string]any{
		"route": f.Route, "channel": f.Channel, "amount": f.Amount, "currency": f.Currency,
		"client_ip": f.IP, "card_fingerprint": f.Card, "country": f.BINCountry, "customer": f.Customer,
		"email": maskEmail(f.Email), "device_id": f.Device, "rule_name": d.RuleName, "velocity": d.Counters.public(),
		"order_no": f.OrderNo,
	})
	charge := f.ChargeID
	if d.Blocked() {
		charge = "" // never stored: the id would answer 404
	}
	return store.RiskDecision{ID: d.ID, AppID: f.AppID, Live: f.Live, ChargeID: charge, Route: string(f.Route),
		Action: string(d.Action), Rule: d.Rule, Facts: facts, Created: now}
}

// public drops the built-in rules' own windows from the counters shown.
func (c Counters) public() map[string]int64 {
	out := make(map[string]int64, len(counterNames))
	for _, n := range counterNames {
		if v, ok := c[n]; ok {
			out[n] = v
		}
	}
	return out
}

// conditions are the enabled rules' conditions.
func conditions(rules []*store.RiskRule) []string {
	var out []string
	for _, r := range rules {
		if r.Enabled {
			out = append(out, r.Condition)
		}
	}
	return out
}
