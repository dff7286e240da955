package core

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/wire"
)

// Cashier discounts are per-app, per-mode rules such as "Alipay: 5 yuan off
// orders of at least 50 yuan" or "WeChat Pay: 10% off". The cashier shows
// the best rule beside each channel, and when the customer chooses one the
// server recomputes it (the browser never sends an amount) and charges
// amount - discount. Discounts are merchant-funded: the merchant receives
// what the customer paid. See ledger.Discounted for the books.

// MaxDiscountRules bounds the rules of one app and mode.
const MaxDiscountRules = 100

// maxLabelRunes bounds a rule's label in each language.
const maxLabelRunes = 32

// DiscountParams are the parameters of POST /v1/apps/{app}/discounts.
type DiscountParams struct {
	Channel    string
	Type       string
	AmountOff  int64
	PercentOff int64
	MinAmount  int64
	Label      json.RawMessage // a string or {"zh": ..., "en": ...}
	// FirstPaymentOnly limits the rule to a customer's first payment: see
	// EligibleRules.
	FirstPaymentOnly bool
}

// CheckDiscountParams validates a rule's parameters and makes its label
// canonical JSON. known reports whether a channel name is one polypay
// supports; the families in DiscountFamilies() are accepted as well. Errors
// name the parameter.
func CheckDiscountParams(p *DiscountParams, known func(channel string) bool) error {
	families := DiscountFamilies()
	isFamily := slices.Contains(families, p.Channel)
	if !isFamily && !known(p.Channel) {
		return polypay.ParamError("channel", "channel 须为渠道类别 %s 或一个支持的渠道名，不能是 %q", strings.Join(families, "、"), p.Channel)
	}
	switch p.Type {
	case polypay.DiscountAmountOff:
		if p.AmountOff < 1 || p.AmountOff > MaxAmount {
			return polypay.ParamError("amount_off", "amount_off 须为 1 到 %d 之间的整数（单位：分）", MaxAmount)
		}
		if p.PercentOff != 0 {
			return polypay.ParamError("percent_off", "type 为 amount_off 时不能设置 percent_off")
		}
	case polypay.DiscountPercentOff:
		if p.PercentOff < 1 || p.PercentOff > 99 {
			return polypay.ParamError("percent_off", "percent_off 须为 1 到 99 之间的整数")
		}
		if p.AmountOff != 0 {
			return polypay.ParamError("amount_off", "type 为 percent_off 时不能设置 amount_off")
		}
	default:
		return polypay.ParamError("type", "type 须为 amount_off 或 percent_off")
	}
	if p.MinAmount < 0 || p.MinAmount > MaxAmount {
		return polypay.ParamError("min_amount", "min_amount 须为 0 到 %d 之间的整数（单位：分）", MaxAmount)
	}
	label, err := canonicalLabel(p.Label)
	if err != nil {
		return err
	}
	p.Label = label
	return nil
}

func canonicalLabel(raw json.RawMessage) (json.RawMessage, error) {
	bad := polypay.ParamError("label", "label 须为 1-%d 个字符的字符串，或 {\"zh\": \"…\", \"en\": \"…\"}", maxLabelRunes)
	okText := func(s string) bool {
		n := utf8.RuneCountInString(s)
		return n >= 1 && n <= maxLabelRunes && strings.TrimSpace(s) == s && polypay.CheckText("label", s, polypay.Line) == nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if !okText(s) {
			return nil, bad
		}
		return json.Marshal(s)
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return nil, bad
	}
	out := map[string]string{}
	for k, v := range m {
		if k != "zh" && k != "en" {
			return nil, polypay.ParamError("label["+k+"]", "label 只能有 zh 和 en 两个键")
		}
		var t string
		if json.Unmarshal(v, &t) != nil || !okText(t) {
			return nil, polypay.ParamError("label["+k+"]", "label[%s] 须为 1-%d 个字符的字符串", k, maxLabelRunes)
		}
		out[k] = t
	}
	return json.Marshal(out)
}

// DiscountLabel is a rule's label in a language ("zh" or "en"), falling
// back to the other language.
func DiscountLabel(d *polypay.Discount, lang string) string {
	var s string
	if json.Unmarshal(d.Label, &s) == nil {
		return s
	}
	var m map[string]string
	_ = json.Unmarshal(d.Label, &m)
	if m[lang] != "" {
		return m[lang]
	}
	if lang == "zh" {
		return m["en"]
	}
	return m["zh"]
}

// DiscountAmount is what a rule takes off amount, in fen: amount_off, or
// percent_off percent rounded down; never so much that less than 1 fen
// would remain, and 0 when amount is below the rule's min_amount.
func DiscountAmount(d *polypay.Discount, amount int64) int64 {
	if amount < d.MinAmount || amount < 2 {
		return 0
	}
	var off int64
	switch d.Type {
	case polypay.DiscountAmountOff:
		off = d.AmountOff
	case polypay.DiscountPercentOff:
		off = amount * d.PercentOff / 100 // amount ≤ MaxAmount: no overflow
	}
	if off > amount-1 {
		off = amount - 1
	}
	if off < 0 {
		off = 0
	}
	return off
}

// BestDiscount picks, among rules, the one that takes the most off amount
// on channel (whose family is family), and that amount; nil and 0 when none
// applies. A rule naming the exact channel beats a family rule giving the
// same discount; otherwise the older rule (earlier in rules) wins ties.
func BestDiscount(rules []*polypay.Discount, channel, family string, amount int64) (*polypay.Discount, int64) {
	var best *polypay.Discount
	var bestOff int64
	for _, d := range rules {
		if d.Deleted != 0 || (d.Channel != channel && d.Channel != family) {
			continue
		}
		off := DiscountAmount(d, amount)
		if off <= 0 {
			continue
		}
		if off > bestOff || (off == bestOff && d.Channel == channel && best.Channel != channel) {
			best, bestOff = d, off
		}
	}
	return best, bestOff
}

// OrderDiscount is the discount the cashier shows and applies for paying
// an order with a channel, with the rules as they are now.
func (s *Service) OrderDiscount(ctx context.Context, o *polypay.Order, channel string) (*polypay.Discount, int64, error) {
	rules, err := s.OrderRules(ctx, o)
	if err != nil {
		return nil, 0, err
	}
	d, off := BestDiscount(rules, channel, s.Channels.Family(channel), o.Amount)
	return d, off, nil
}

// OrderRules are the app's rules that may apply to an order: all of its
// live rules but the first-payment ones the order's customer is not
// eligible for (EligibleRules).
func (s *Service) OrderRules(ctx context.Context, o *polypay.Order) ([]*polypay.Discount, error) {
	var rules []*polypay.Discount
	err := s.read(ctx, func(tx Tx) (err error) {
		rules, err = s.orderRules(ctx, tx, o)
		return err
	})
	return rules, err
}

func (s *Service) orderRules(ctx context.Context, tx OrderStore, o *polypay.Order) ([]*polypay.Discount, error) {
	rules, err := tx.Discounts(ctx, o.AppID, o.Livemode)
	if err != nil {
		return nil, err
	}
	var paid []string
	if o.UID != "" && slices.ContainsFunc(rules, func(d *polypay.Discount) bool { return d.FirstPaymentOnly }) {
		if paid, err = tx.PaidOrderChannels(ctx, o.AppID, o.Livemode, o.UID); err != nil {
			return nil, err
		}
	}
	return EligibleRules(rules, o.UID, paid, s.Channels.Family), nil
}

// EligibleRules drops from rules the first-payment ones that cannot apply:
// all of them when uid is "" (an order without a customer id is never a
// known first payment), and those whose family (that of the channel the
// rule names, or the family it names) is the family of one of paidChannels,
// the channels that paid the uid's earlier orders. family maps a channel
// to its family. A customer paying two orders at once may get a
// first-payment discount on both: eligibility is decided when each charge
// is created.
func EligibleRules(rules []*polypay.Discount, uid string, paidChannels []string, family func(string) string) []*polypay.Discount {
	paidFam := map[string]bool{}
	for _, ch := range paidChannels {
		paidFam[family(ch)] = true
	}
	out := make([]*polypay.Discount, 0, len(rules))
	for _, d := range rules {
		if d.FirstPaymentOnly {
			fam := d.Channel
			if !slices.Contains(DiscountFamilies(), fam) {
				fam = family(fam)
			}
			if uid == "" || paidFam[fam] {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

// CreateDiscount adds a rule to the caller's app in the caller's mode.
func (s *Service) CreateDiscount(ctx context.Context, who Caller, p DiscountParams) (*wire.Discount, error) {
	if err := CheckDiscountParams(&p, s.Channels.Supported); err != nil {
		return nil, err
	}
	d := &polypay.Discount{ID: polypay.NewID("dsc_"), AppID: who.App.ID, Livemode: who.Live, Channel: p.Channel,
		Type: p.Type, AmountOff: p.AmountOff, PercentOff: p.PercentOff, MinAmount: p.MinAmount, Label: p.Label,
		Created: s.now().Unix(), FirstPaymentOnly: p.FirstPaymentOnly}
	err := s.write(ctx, func(tx Tx) error {
		rules, err := tx.Discounts(ctx, who.App.ID, who.Live)
		if err != nil {
			return err
		}
		if len(rules) >= MaxDiscountRules {
			return polypay.ParamError("channel", "每个 app 每种模式最多 %d 条优惠规则，请先删除不用的规则", MaxDiscountRules)
		}
		return tx.InsertDiscount(ctx, d)
	})
	if err != nil {
		return nil, err
	}
	return wire.FromDiscount(d), nil
}

// ListDiscounts lists the caller's app's rules in the caller's mode.
func (s *Service) ListDiscounts(ctx context.Context, who Caller) (wire.List, error) {
	var rules []*polypay.Discount
	if err := s.read(ctx, func(tx Tx) (err error) {
		rules, err = tx.Discounts(ctx, who.App.ID, who.Live)
		return err
	}); err != nil {
		return wire.List{}, err
	}
	data := make([]any, 0, len(rules))
	for _, d := range rules {
		data = append(data, wire.FromDiscount(d))
	}
	return wire.NewList("/v1/apps/"+who.App.ID+"/discounts", false, data), nil
}

// DeleteDiscount deletes a rule: the cashier stops offering it; charges
// already created with it keep their amount.
func (s *Service) DeleteDiscount(ctx context.Context, who Caller, id string) (map[string]any, error) {
	err := s.write(ctx, func(tx Tx) error {
		_, err := tx.DeleteDiscount(ctx, who.App.ID, who.Live, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": id, "object": "discount", "deleted": true}, nil
}
