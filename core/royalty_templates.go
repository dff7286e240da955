package core

import (
	"context"
	"encoding/json"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// RoyaltyRule is a template's rule (Ping++'s rule object).
type RoyaltyRule struct {
	RoyaltyMode    string      `json:"royalty_mode"`
	RefundMode     string      `json:"refund_mode"`
	AllocationMode string      `json:"allocation_mode"`
	Data           []RuleLevel `json:"data"`
}

// RoyaltyTemplateParams create or update a template; nil fields are left
// as they are on update.
type RoyaltyTemplateParams struct {
	Name        *string
	Description *string
	Rule        *RoyaltyRule
}

// Limits of a rule's values: rate in 0.01 % (at most 100 %), fixed in
// minor units.
const (
	maxRoyaltyRate  = 10000
	maxRoyaltyFixed = 1000000
)

// checkRule refuses a rule that cannot split an order, naming the field.
func checkRule(r *RoyaltyRule) error {
	if r == nil {
		return polypay.ParamError("rule", "rule 必须填写")
	}
	checks := []struct {
		name, v string
		ok      []string
	}{{"rule[royalty_mode]", r.RoyaltyMode, []string{"rate", "fixed"}},
		{"rule[refund_mode]", r.RefundMode, []string{"no_refund", "proportional", "full_refund"}},
		{"rule[allocation_mode]", r.AllocationMode, []string{"receipt_reserved", "service_reserved"}}}
	for _, c := range checks {
		if !contains(c.ok, c.v) {
			return polypay.ParamError(c.name, "%s 须为 %v 之一", c.name, c.ok)
		}
	}
	if len(r.Data) == 0 || len(r.Data) > store.MaxSubAppLevel+1 {
		return polypay.ParamError("rule[data]", "rule[data] 须有 1 到 %d 项", store.MaxSubAppLevel+1)
	}
	max := int64(maxRoyaltyFixed)
	if r.RoyaltyMode == "rate" {
		max = maxRoyaltyRate
	}
	seen, total := map[int]bool{}, int64(0)
	for _, l := range r.Data {
		if l.Level < 0 || l.Level > store.MaxSubAppLevel || seen[l.Level] {
			return polypay.ParamError("rule[data]", "rule[data] 的 level 须为 0 到 %d 且不能重复", store.MaxSubAppLevel)
		}
		seen[l.Level] = true
		if l.Value < 0 || l.Value > max {
			return polypay.ParamError("rule[data]", "rule[data] 的 value 须为 0 到 %d", max)
		}
		total += l.Value
	}
	if r.RoyaltyMode == "rate" && total > maxRoyaltyRate {
		return polypay.ParamError("rule[data]", "rule[data] 的比例合计 %d 超过 10000（100%%）", total)
	}
	return nil
}

func contains(xs []string, v string) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

func applyTemplate(t *store.RoyaltyTemplate, p RoyaltyTemplateParams) error {
	if p.Name != nil {
		t.Name = *p.Name
	}
	if p.Description != nil {
		t.Description = *p.Description
	}
	if p.Rule == nil {
		return nil
	}
	if err := checkRule(p.Rule); err != nil {
		return err
	}
	t.RoyaltyMode, t.RefundMode, t.AllocationMode = p.Rule.RoyaltyMode, p.Rule.RefundMode, p.Rule.AllocationMode
	t.Data, _ = json.Marshal(p.Rule.Data)
	return nil
}

// CreateRoyaltyTemplate stores a template of the caller's app.
func (s *Service) CreateRoyaltyTemplate(ctx context.Context, who Caller, p RoyaltyTemplateParams) (any, error) {
	if p.Rule == nil {
		return nil, polypay.ParamError("rule", "rule 必须填写")
	}
	t := &store.RoyaltyTemplate{ID: polypay.NewID("ryt_"), AppID: who.App.ID, Livemode: who.Live, Created: s.now().Unix()}
	if err := applyTemplate(t, p); err != nil {
		return nil, err
	}
	if err := s.write(ctx, func(tx Tx) error { return tx.InsertRoyaltyTemplate(ctx, t) }); err != nil {
		return nil, err
	}
	return wire.FromRoyaltyTemplate(t), nil
}

// liveRoyaltyTemplate returns a template of the caller's app not deleted.
func liveRoyaltyTemplate(ctx context.Context, tx Tx, who Caller, id string) (*store.RoyaltyTemplate, error) {
	t, err := tx.GetRoyaltyTemplate(ctx, who.App.ID, who.Live, id)
	if err == nil && t.Deleted != 0 {
		err = polypay.NotFound("royalty_template", id)
	}
	return t, err
}

// GetRoyaltyTemplate answers one template.
func (s *Service) GetRoyaltyTemplate(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		t, err := liveRoyaltyTemplate(ctx, tx, who, id)
		if err == nil {
			out = wire.FromRoyaltyTemplate(t)
		}
		return err
	})
	return out, err
}

// ListRoyaltyTemplates pages through the caller's templates.
func (s *Service) ListRoyaltyTemplates(ctx context.Context, who Caller, url string, p store.Page) (wire.List, error) {
	return listPage(ctx, s, who, "royalty_templates", url, p, func(tx Tx) ([]*store.RoyaltyTemplate, bool, error) {
		return tx.ListRoyaltyTemplates(ctx, who.App.ID, who.Live, p)
	}, func(t *store.RoyaltyTemplate) any { return wire.FromRoyaltyTemplate(t) })
}

// UpdateRoyaltyTemplate changes a template; orders already paid keep the
// royalties it gave them, and their refunds follow the rule as it is now.
func (s *Service) UpdateRoyaltyTemplate(ctx context.Context, who Caller, id string, p RoyaltyTemplateParams) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		t, err := liveRoyaltyTemplate(ctx, tx, who, id)
		if err != nil {
			return err
		}
		if err := applyTemplate(t, p); err != nil {
			return err
		}
		out = wire.FromRoyaltyTemplate(t)
		return tx.UpdateRoyaltyTemplate(ctx, t)
	})
	return out, err
}

// DeleteRoyaltyTemplate deletes a template: new orders cannot name it;
// orders that did are still shared and unwound by it.
func (s *Service) DeleteRoyaltyTemplate(ctx context.Context, who Caller, id string) (any, error) {
	err := s.write(ctx, func(tx Tx) error {
		t, err := liveRoyaltyTemplate(ctx, tx, who, id)
		if err != nil {
			return err
		}
		t.Deleted = tx.Now()
		return tx.UpdateRoyaltyTemplate(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": id, "object": "royalty_template", "deleted": true}, nil
}
