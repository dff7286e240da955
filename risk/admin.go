package risk

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"unicode"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// AdminTx is what managing rules, lists and blocks needs of the store.
type AdminTx interface {
	Tx
	PutRiskRule(ctx context.Context, r *store.RiskRule) error
	GetRiskRule(ctx context.Context, appID string, live bool, id string) (*store.RiskRule, error)
	DeleteRiskRule(ctx context.Context, appID string, live bool, id string) error
	InsertRiskListEntry(ctx context.Context, e store.RiskListEntry) error
	DeleteRiskListEntry(ctx context.Context, appID string, live bool, id string) error
	ListRiskBlocks(ctx context.Context, appID string, live bool, now int64, limit int) ([]store.RiskBlock, error)
	DeleteRiskBlock(ctx context.Context, appID string, live bool, kind, value string) (bool, error)
	RiskDecisions(ctx context.Context, appID string, live bool, chargeID string, limit int) ([]store.RiskDecision, error)
}

// Admin manages an app's rules, lists and blocks on a store.
type Admin struct {
	DB  *store.DB
	Now func() int64
}

func (a *Admin) read(ctx context.Context, fn func(AdminTx) error) error {
	return a.DB.Read(ctx, func(tx *store.Tx) error { return fn(tx) })
}

func (a *Admin) write(ctx context.Context, fn func(AdminTx) error) error {
	return a.DB.Write(ctx, func(tx *store.Tx) error { return fn(tx) })
}

// Rule is a merchant rule as the API shows it.
type Rule struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	App       string `json:"app"`
	Livemode  bool   `json:"livemode"`
	Name      string `json:"name"`
	Condition string `json:"condition"`
	Action    Action `json:"action"`
	Priority  int    `json:"priority"`
	Enabled   bool   `json:"enabled"`
	Created   int64  `json:"created"`
	Updated   int64  `json:"updated"`
}

func ruleOut(r *store.RiskRule) *Rule {
	return &Rule{ID: r.ID, Object: "risk_rule", App: r.AppID, Livemode: r.Live, Name: r.Name, Condition: r.Condition,
		Action: Action(r.Action), Priority: r.Priority, Enabled: r.Enabled, Created: r.Created, Updated: r.Updated}
}

// RuleParams are a rule's fields; nil ones are unchanged on update.
type RuleParams struct {
	Name      *string
	Condition *string
	Action    *string
	Priority  *int64
	Enabled   *bool
}

// MaxRules bounds an app's rules per mode: each is evaluated on every
// charge.
const MaxRules = 100

// check validates the given fields; a condition must compile.
func (p RuleParams) check() error {
	if p.Name != nil && (strings.TrimSpace(*p.Name) == "" || len([]rune(*p.Name)) > 64) {
		return polypay.ParamError("name", "name 须为 1 到 64 个字符")
	}
	if p.Condition != nil {
		if _, err := Compile("condition", *p.Condition); err != nil {
			return err
		}
	}
	if p.Action != nil {
		if _, err := ParseAction(*p.Action); err != nil {
			return err
		}
	}
	if p.Priority != nil && (*p.Priority < 0 || *p.Priority > 1_000_000) {
		return polypay.ParamError("priority", "priority 须在 0 到 1000000 之间")
	}
	return nil
}

// CreateRule adds a rule; name, condition and action are required.
func (a *Admin) CreateRule(ctx context.Context, appID string, live bool, p RuleParams) (*Rule, error) {
	for _, req := range []struct {
		name string
		set  bool
	}{{"name", p.Name != nil}, {"condition", p.Condition != nil}, {"action", p.Action != nil}} {
		if !req.set {
			return nil, polypay.ParamError(req.name, "缺少参数: %s", req.name)
		}
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	now := a.Now()
	r := &store.RiskRule{ID: polypay.NewID("rr_"), AppID: appID, Live: live, Priority: 100, Enabled: true, Created: now, Updated: now}
	p.apply(r)
	err := a.write(ctx, func(tx AdminTx) error {
		rules, err := tx.RiskRules(ctx, appID, live)
		if err != nil {
			return err
		}
		if len(rules) >= MaxRules {
			return polypay.ParamError("condition", "每个应用每种模式最多 %d 条规则", MaxRules)
		}
		return tx.PutRiskRule(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	return ruleOut(r), nil
}

func (p RuleParams) apply(r *store.RiskRule) {
	if p.Name != nil {
		r.Name = strings.TrimSpace(*p.Name)
	}
	if p.Condition != nil {
		r.Condition = *p.Condition
	}
	if p.Action != nil {
		r.Action = *p.Action
	}
	if p.Priority != nil {
		r.Priority = int(*p.Priority)
	}
	if p.Enabled != nil {
		r.Enabled = *p.Enabled
	}
}

// UpdateRule changes the given fields of a rule.
func (a *Admin) UpdateRule(ctx context.Context, appID string, live bool, id string, p RuleParams) (*Rule, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	var out *Rule
	err := a.write(ctx, func(tx AdminTx) error {
		r, err := tx.GetRiskRule(ctx, appID, live, id)
		if err != nil {
			return err
		}
		p.apply(r)
		if r.Updated = a.Now(); r.Updated <= r.Created {
			r.Updated = r.Created + 1 // a new version, so every node recompiles it
		}
		out = ruleOut(r)
		return tx.PutRiskRule(ctx, r)
	})
	return out, err
}

// GetRule returns a rule; ENotFound for another app's or mode's.
func (a *Admin) GetRule(ctx context.Context, appID string, live bool, id string) (*Rule, error) {
	var out *Rule
	err := a.read(ctx, func(tx AdminTx) error {
		r, err := tx.GetRiskRule(ctx, appID, live, id)
		if err == nil {
			out = ruleOut(r)
		}
		return err
	})
	return out, err
}

// DeleteRule removes a rule.
func (a *Admin) DeleteRule(ctx context.Context, appID string, live bool, id string) error {
	return a.write(ctx, func(tx AdminTx) error { return tx.DeleteRiskRule(ctx, appID, live, id) })
}

// Rules lists an app's rules in evaluation order.
func (a *Admin) Rules(ctx context.Context, appID string, live bool) ([]*Rule, error) {
	var out []*Rule
	err := a.read(ctx, func(tx AdminTx) error {
		rs, err := tx.RiskRules(ctx, appID, live)
		for _, r := range rs {
			out = append(out, ruleOut(r))
		}
		return err
	})
	return out, err
}

// ListEntry is an allow or block list entry as the API shows it.
type ListEntry struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	App      string `json:"app"`
	Livemode bool   `json:"livemode"`
	List     string `json:"list"`
	Kind     string `json:"kind"`
	Value    string `json:"value"`
	Note     string `json:"note"`
	Expires  int64  `json:"expires"`
	Created  int64  `json:"created"`
}

func entryOut(e store.RiskListEntry) *ListEntry {
	return &ListEntry{ID: e.ID, Object: "risk_list_entry", App: e.AppID, Livemode: e.Live, List: e.List, Kind: e.Kind,
		Value: e.Value, Note: e.Note, Expires: e.Expires, Created: e.Created}
}

// MaxListEntries bounds an app's list entries per mode.
const MaxListEntries = 10000

// CheckListEntry validates and normalises a list entry's list, kind and
// value: an IP or CIDR range in canonical form, a card fingerprint, an
// email, a customer or device id. Errors name the parameter.
func CheckListEntry(list, kind, value string) (string, error) {
	if list != "allow" && list != "block" {
		return "", polypay.ParamError("list", "list 必须是 allow 或 block")
	}
	value = strings.TrimSpace(value)
	if value == "" || len(value) > 254 {
		return "", polypay.ParamError("value", "value 须为 1 到 254 个字符")
	}
	switch kind {
	case "ip":
		if p, err := netip.ParsePrefix(value); err == nil {
			return p.Masked().String(), nil
		}
		if ip := CanonicalIP(value); ip != "" && !strings.Contains(value, "%") {
			return ip, nil
		}
		return "", polypay.ParamError("value", "value 不是 IP 地址或 CIDR 网段: %q", value)
	case "email":
		if at := strings.LastIndexByte(value, '@'); at < 1 || at == len(value)-1 || strings.ContainsFunc(value, unicode.IsSpace) {
			return "", polypay.ParamError("value", "value 不是 email 地址")
		}
		return strings.ToLower(value), nil
	case "card", "customer", "device":
		if len(value) > 128 || strings.ContainsFunc(value, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return "", polypay.ParamError("value", "value 须为不超过 128 个可打印 ASCII 字符")
		}
		return value, nil
	}
	return "", polypay.ParamError("kind", "kind 必须是 ip、card、email、customer 或 device 之一")
}

// AddListEntry adds an entry to an app's allow or block list.
func (a *Admin) AddListEntry(ctx context.Context, appID string, live bool, list, kind, value, note string, expires int64) (*ListEntry, error) {
	value, err := CheckListEntry(list, kind, value)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	if expires != 0 && expires <= now {
		return nil, polypay.ParamError("expires", "expires 必须晚于当前时间")
	}
	e := store.RiskListEntry{ID: polypay.NewID("rl_"), AppID: appID, Live: live, List: list, Kind: kind, Value: value,
		Note: note, Expires: expires, Created: now}
	err = a.write(ctx, func(tx AdminTx) error {
		es, err := tx.RiskListEntries(ctx, appID, live, now)
		if err != nil {
			return err
		}
		if len(es) >= MaxListEntries {
			return polypay.ParamError("value", "每个应用每种模式最多 %d 条名单", MaxListEntries)
		}
		return tx.InsertRiskListEntry(ctx, e)
	})
	if store.IsUniqueViolation(err) {
		return nil, polypay.ParamError("value", "%s 已在 %s 名单中", value, list)
	}
	if err != nil {
		return nil, err
	}
	return entryOut(e), nil
}

// DeleteListEntry removes an entry.
func (a *Admin) DeleteListEntry(ctx context.Context, appID string, live bool, id string) error {
	return a.write(ctx, func(tx AdminTx) error { return tx.DeleteRiskListEntry(ctx, appID, live, id) })
}

// ListEntries lists an app's entries in force.
func (a *Admin) ListEntries(ctx context.Context, appID string, live bool) ([]*ListEntry, error) {
	var out []*ListEntry
	err := a.read(ctx, func(tx AdminTx) error {
		es, err := tx.RiskListEntries(ctx, appID, live, a.Now())
		for _, e := range es {
			out = append(out, entryOut(e))
		}
		return err
	})
	return out, err
}

// BlockOut is a block in force as the API shows it.
type BlockOut struct {
	Object   string `json:"object"`
	App      string `json:"app"`
	Livemode bool   `json:"livemode"`
	Kind     string `json:"kind"`
	Value    string `json:"value"`
	Rule     string `json:"rule"`
	Until    int64  `json:"until"`
	Created  int64  `json:"created"`
}

func blockOut(b store.RiskBlock) *BlockOut {
	return &BlockOut{Object: "risk_block", App: b.AppID, Livemode: b.Live, Kind: b.Kind, Value: b.Value, Rule: b.Rule,
		Until: b.Until, Created: b.Created}
}

// Blocks lists an app's blocks in force, newest first.
func (a *Admin) Blocks(ctx context.Context, appID string, live bool) ([]*BlockOut, error) {
	var out []*BlockOut
	err := a.read(ctx, func(tx AdminTx) error {
		bs, err := tx.ListRiskBlocks(ctx, appID, live, a.Now(), 1000)
		for _, b := range bs {
			out = append(out, blockOut(b))
		}
		return err
	})
	return out, err
}

// Unblock lifts a block before its time (a merchant vouching for it).
func (a *Admin) Unblock(ctx context.Context, appID string, live bool, kind, value string) error {
	if kind == "ip" {
		value = CanonicalIP(value)
	}
	return a.write(ctx, func(tx AdminTx) error {
		ok, err := tx.DeleteRiskBlock(ctx, appID, live, kind, value)
		if err == nil && !ok {
			err = polypay.NotFound("risk_block", kind+":"+value)
		}
		return err
	})
}

// DecisionOut is a recorded decision as the API shows it.
type DecisionOut struct {
	ID       string          `json:"id"`
	Object   string          `json:"object"`
	Charge   *string         `json:"charge"`
	Route    string          `json:"route"`
	Action   string          `json:"action"`
	Rule     string          `json:"rule"`
	Facts    json.RawMessage `json:"facts"`
	Created  int64           `json:"created"`
	Livemode bool            `json:"livemode"`
}

func decisionOut(d store.RiskDecision) *DecisionOut {
	o := &DecisionOut{ID: d.ID, Object: "risk_decision", Route: d.Route, Action: d.Action, Rule: d.Rule,
		Facts: d.Facts, Created: d.Created, Livemode: d.Live}
	if d.ChargeID != "" {
		o.Charge = &d.ChargeID
	}
	return o
}

// Decisions lists an app's recorded decisions, newest first; those of one
// charge when chargeID is set.
func (a *Admin) Decisions(ctx context.Context, appID string, live bool, chargeID string, limit int) ([]*DecisionOut, error) {
	var out []*DecisionOut
	err := a.read(ctx, func(tx AdminTx) error {
		ds, err := tx.RiskDecisions(ctx, appID, live, chargeID, limit)
		for _, d := range ds {
			out = append(out, decisionOut(d))
		}
		return err
	})
	return out, err
}
