package core

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Profit sharing (Ping++'s royalties). An order names how it is shared
// (royalty_users: fixed amounts to users; or royalty_template: shares per
// level of the order's app tree). When the order is paid, one royalty per
// recipient is booked in the payer app's ledger (merchant -> royalties);
// refunds take shares back as the template's refund_mode says; a royalty
// settlement pays what is owed to each recipient's balance.
//
// Who receives a template level's share: level 0 is the platform (the top
// app), level n the order app's ancestor at depth n. An app that names a
// user (sub_app.user, a user of its parent) receives on that user's
// balance; one that does not, on its own merchant balance. Levels at or
// below the order's own app have nobody: under receipt_reserved their
// share stays with the payer, under service_reserved it goes to the
// service app (the order's service_app, else the platform).

// RoyaltyStore is what profit sharing reads and writes.
type RoyaltyStore interface {
	InsertRoyaltyTemplate(ctx context.Context, t *store.RoyaltyTemplate) error
	UpdateRoyaltyTemplate(ctx context.Context, t *store.RoyaltyTemplate) error
	GetRoyaltyTemplate(ctx context.Context, appID string, live bool, id string) (*store.RoyaltyTemplate, error)
	ListRoyaltyTemplates(ctx context.Context, appID string, live bool, p store.Page) ([]*store.RoyaltyTemplate, bool, error)
	InsertRoyaltyPlan(ctx context.Context, p *store.RoyaltyPlan) error
	InsertRefundRoyaltyPlan(ctx context.Context, refundID string, users []byte) error
	RefundRoyaltyPlan(ctx context.Context, refundID string) ([]byte, error)
	RoyaltyPlanOf(ctx context.Context, orderID string) (*store.RoyaltyPlan, error)
	InsertRoyalty(ctx context.Context, r *store.Royalty) error
	UpdateRoyalty(ctx context.Context, r *store.Royalty) error
	GetRoyalty(ctx context.Context, appID string, live bool, id string) (*store.Royalty, error)
	ListRoyalties(ctx context.Context, appID string, live bool, f store.RoyaltyFilter, p store.Page) ([]*store.Royalty, bool, error)
	Royalties(ctx context.Context, appID string, live bool, f store.RoyaltyFilter) ([]*store.Royalty, error)
	InsertRoyaltySettlement(ctx context.Context, x *store.RoyaltySettlement) error
	UpdateRoyaltySettlement(ctx context.Context, x *store.RoyaltySettlement, from string) (bool, error)
	ClaimRoyalty(ctx context.Context, id, settlement, txn string) (bool, error)
	GetRoyaltySettlement(ctx context.Context, appID string, live bool, id string) (*store.RoyaltySettlement, error)
	ListRoyaltySettlements(ctx context.Context, appID string, live bool, p store.Page) ([]*store.RoyaltySettlement, bool, error)
	InsertRoyaltyTxn(ctx context.Context, t *store.RoyaltyTransaction) error
	UpdateRoyaltyTxn(ctx context.Context, t *store.RoyaltyTransaction) error
	MoveRoyaltyTxn(ctx context.Context, t *store.RoyaltyTransaction, from string) (bool, error)
	RoyaltyTxnByTransfer(ctx context.Context, appID string, live bool, channel, orderNo string) (*store.RoyaltyTransaction, error)
	UnsentRoyaltyTxns(ctx context.Context, limit int) ([]*store.RoyaltyTransaction, error)
	GetRoyaltyTxn(ctx context.Context, appID string, live bool, id string) (*store.RoyaltyTransaction, error)
	ListRoyaltyTxns(ctx context.Context, appID string, live bool, settlement string, p store.Page) ([]*store.RoyaltyTransaction, bool, error)
	SettlementTxns(ctx context.Context, settlementID string) ([]*store.RoyaltyTransaction, error)
	GetSubApp(ctx context.Context, id string) (*store.SubApp, error)
	ParentOf(ctx context.Context, appID string) (string, error)
	AppOfObject(ctx context.Context, table, id string) (string, error)
}

// royaltyBooks books royalties with an order's state change.
type royaltyBooks interface {
	RoyaltyStore
	AccountStore
	LedgerStore
	OrderStore
	ChargeStore
}

// RoyaltyUser is one entry of an order's royalty_users.
type RoyaltyUser struct {
	User   string `json:"user"`
	Amount int64  `json:"amount"`
}

// maxRoyaltyUsers bounds an order's royalty_users.
const maxRoyaltyUsers = 20

// appChain is appID's tree from the top app (index 0, the platform) down
// to appID itself.
func appChain(ctx context.Context, tx RoyaltyStore, appID string) ([]string, error) {
	chain := []string{appID}
	for cur := appID; len(chain) <= store.MaxSubAppLevel+1; {
		parent, err := tx.ParentOf(ctx, cur)
		if err != nil || parent == "" {
			return chain, err
		}
		chain = append([]string{parent}, chain...)
		cur = parent
	}
	return chain, nil
}

// findUser looks a royalty recipient user up in the order's app, then in
// its ancestors nearest first: a platform's users receive its merchants'
// royalties. It returns the app the user belongs to.
func findUser(ctx context.Context, tx interface {
	RoyaltyStore
	AccountStore
}, chain []string, live bool, id string) (string, error) {
	for i := len(chain) - 1; i >= 0; i-- {
		u, err := tx.GetUser(ctx, chain[i], live, id)
		if polypay.ErrorCode(err) == polypay.ENotFound {
			continue
		}
		if err != nil {
			return "", err
		}
		if u.Disabled {
			return "", polypay.ParamError("royalty_users", "分润用户 %s 已被禁用", id)
		}
		return chain[i], nil
	}
	return "", polypay.ParamError("royalty_users", "分润用户 %s 不存在", id)
}

// findTemplate looks a template up in the order's app, then its
// ancestors (a platform's templates serve its merchants' orders).
// A paid order keeps following the template it was made with, even
// deleted since (deleted true).
func findTemplate(ctx context.Context, tx RoyaltyStore, chain []string, live bool, id string, deleted bool) (*store.RoyaltyTemplate, error) {
	for i := len(chain) - 1; i >= 0; i-- {
		t, err := tx.GetRoyaltyTemplate(ctx, chain[i], live, id)
		if polypay.ErrorCode(err) == polypay.ENotFound {
			continue
		}
		if err != nil || t.Deleted == 0 || deleted {
			return t, err
		}
	}
	return nil, polypay.ParamError("royalty_template", "分润模板 %s 不存在", id)
}

// planRoyalties checks an order's royalty parameters and stores its plan,
// in the transaction that creates the order.
func planRoyalties(ctx context.Context, tx Tx, o *polypay.Order, p OrderParams) error {
	if len(p.RoyaltyUsers) == 0 && p.RoyaltyTemplate == "" {
		return nil
	}
	if len(p.RoyaltyUsers) > 0 && p.RoyaltyTemplate != "" {
		return polypay.ParamError("royalty_template", "royalty_users 与 royalty_template 只能填写一个")
	}
	chain, err := appChain(ctx, tx, o.AppID)
	if err != nil {
		return err
	}
	plan := &store.RoyaltyPlan{OrderID: o.ID, ServiceApp: p.ServiceApp}
	if p.RoyaltyTemplate != "" {
		if _, err := findTemplate(ctx, tx, chain, o.Livemode, p.RoyaltyTemplate, false); err != nil {
			return err
		}
		plan.TemplateID = p.RoyaltyTemplate
		return tx.InsertRoyaltyPlan(ctx, plan)
	}
	if err := checkRoyaltyUsers(ctx, tx, chain, o, p.RoyaltyUsers); err != nil {
		return err
	}
	plan.Users, _ = json.Marshal(p.RoyaltyUsers)
	return tx.InsertRoyaltyPlan(ctx, plan)
}

func checkRoyaltyUsers(ctx context.Context, tx Tx, chain []string, o *polypay.Order, users []RoyaltyUser) error {
	if len(users) > maxRoyaltyUsers {
		return polypay.ParamError("royalty_users", "royalty_users 最多 %d 项", maxRoyaltyUsers)
	}
	seen, total := map[string]bool{}, int64(0)
	for _, u := range users {
		if u.User == "" || seen[u.User] {
			return polypay.ParamError("royalty_users", "royalty_users 的 user 须填写且不能重复")
		}
		seen[u.User] = true
		if u.Amount < 1 || u.Amount > o.Amount {
			return polypay.ParamError("royalty_users", "分润金额须为 1 到订单金额之间的整数")
		}
		if total += u.Amount; total > o.Amount {
			return polypay.ParamError("royalty_users", "分润金额合计 %d 超过订单金额 %d", total, o.Amount)
		}
		if _, err := findUser(ctx, tx, chain, o.Livemode, u.User); err != nil {
			return err
		}
	}
	return nil
}

// recipient is who receives a share: an app, on a user's balance in
// userApp or on its own merchant balance.
type recipient struct {
	app, user, userApp string
	level              int
}

func (r recipient) key() string { return r.app + "\x00" + r.user }

// share is one recipient's part of an order.
type share struct {
	to     recipient
	amount int64
}

// shareOrder books the royalties of an order just paid (by charge paid),
// in the transaction that marks it paid. Shares never exceed what the
// order took: the last ones shrink when they would.
func (s *Service) shareOrder(ctx context.Context, tx royaltyBooks, o *polypay.Order, paid *polypay.Charge) error {
	plan, err := tx.RoyaltyPlanOf(ctx, o.ID)
	if err != nil || plan == nil {
		return err
	}
	chain, err := appChain(ctx, tx, o.AppID)
	if err != nil {
		return err
	}
	var shares []share
	if plan.TemplateID != "" {
		shares, err = templateShares(ctx, tx, chain, o, plan)
	} else {
		shares, err = userShares(ctx, tx, chain, o, plan)
	}
	if err != nil {
		return err
	}
	left := o.Amount - o.CouponAmount
	for _, sh := range shares {
		amt := min(sh.amount, left)
		if amt <= 0 {
			continue
		}
		left -= amt
		r := newRoyalty(o, paid, chain[0], sh.to, amt, tx.Now())
		if err := insertRoyalty(ctx, tx, r); err != nil {
			return err
		}
	}
	return nil
}

func newRoyalty(o *polypay.Order, c *polypay.Charge, top string, to recipient, amount, now int64) *store.Royalty {
	return &store.Royalty{ID: polypay.NewID("ry_"), AppID: o.AppID, Livemode: o.Livemode, Currency: o.Currency, Amount: amount,
		Status: store.RoyaltyCreated, RecipientApp: to.app, SourceUser: to.user, UserApp: to.userApp, SourceApp: top, OrderID: o.ID,
		SourceNo: o.MerchantOrderNo, ChargeID: c.ID, Level: to.level, Created: now}
}

func insertRoyalty(ctx context.Context, tx royaltyBooks, r *store.Royalty) error {
	if err := tx.InsertRoyalty(ctx, r); err != nil {
		return err
	}
	return tx.Post(ctx, ledger.RoyaltyBooked(r.Share()))
}

func userShares(ctx context.Context, tx royaltyBooks, chain []string, o *polypay.Order, plan *store.RoyaltyPlan) ([]share, error) {
	var users []RoyaltyUser
	if err := json.Unmarshal(plan.Users, &users); err != nil {
		return nil, err
	}
	out := make([]share, 0, len(users))
	for _, u := range users {
		app, err := findUser(ctx, tx, chain, o.Livemode, u.User)
		if err != nil {
			// The user was removed after the order was made: its share
			// stays with the payer rather than failing the payment.
			continue
		}
		out = append(out, share{recipient{app: app, user: u.User, userApp: app, level: -1}, u.Amount})
	}
	return out, nil
}

// templateShares computes a template's shares of an order: one per level
// that has an app above the order's, the rest to the payer or the service
// app as allocation_mode says. Shares to one recipient are merged.
func templateShares(ctx context.Context, tx royaltyBooks, chain []string, o *polypay.Order, plan *store.RoyaltyPlan) ([]share, error) {
	t, err := findTemplate(ctx, tx, chain, o.Livemode, plan.TemplateID, true)
	if polypay.ErrorCode(err) == polypay.EInvalid {
		return nil, nil // the template is gone: nothing to share
	}
	if err != nil {
		return nil, err
	}
	var rule []RuleLevel
	if err := json.Unmarshal(t.Data, &rule); err != nil {
		return nil, err
	}
	payerLevel := len(chain) - 1
	merged, order := map[string]*share{}, []string{}
	add := func(to recipient, amt int64) {
		if amt <= 0 {
			return
		}
		if sh, ok := merged[to.key()]; ok {
			sh.amount += amt
			return
		}
		merged[to.key()], order = &share{to, amt}, append(order, to.key())
	}
	for _, l := range rule {
		amt := levelAmount(t.RoyaltyMode, l.Value, o.Amount)
		switch {
		case l.Level < payerLevel:
			to, err := levelRecipient(ctx, tx, chain, l.Level)
			if err != nil {
				return nil, err
			}
			add(to, amt)
		case t.AllocationMode == "service_reserved":
			to, err := serviceRecipient(ctx, tx, chain, plan.ServiceApp)
			if err != nil {
				return nil, err
			}
			add(to, amt)
		}
	}
	out := make([]share, 0, len(order))
	for _, k := range order {
		out = append(out, *merged[k])
	}
	return out, nil
}

// RuleLevel is one level of a royalty template's rule.
type RuleLevel struct {
	Level int   `json:"level"`
	Value int64 `json:"value"`
}

// levelAmount is a level's share of an order amount: value in 0.01 % of
// it (rate, rounded down) or value itself (fixed).
func levelAmount(mode string, value, amount int64) int64 {
	if mode == "rate" {
		return amount * value / 10000
	}
	return value
}

// levelRecipient is who receives level n's share: the app at depth n,
// on its user's balance when it names one.
func levelRecipient(ctx context.Context, tx RoyaltyStore, chain []string, n int) (recipient, error) {
	to := recipient{app: chain[n], level: n}
	if n == 0 {
		return to, nil
	}
	sub, err := tx.GetSubApp(ctx, chain[n])
	if err != nil || sub == nil || sub.User == "" {
		return to, err
	}
	to.user, to.userApp = sub.User, chain[n-1]
	return to, nil
}

// serviceRecipient is the service app's recipient: the order's
// service_app (one of its ancestors) or the platform.
func serviceRecipient(ctx context.Context, tx RoyaltyStore, chain []string, service string) (recipient, error) {
	for n, app := range chain[:len(chain)-1] {
		if app == service {
			return levelRecipient(ctx, tx, chain, n)
		}
	}
	return levelRecipient(ctx, tx, chain, 0)
}

// unwindRoyalties takes royalties back after a refund of charge c
// succeeded, in the refund's transaction: proportional to what the order
// has refunded (refund_mode proportional, the default for
// royalty_users), all at the first refund (full_refund), or none
// (no_refund). Each refund makes at most one take-back per recipient.
func (s *Service) unwindRoyalties(ctx context.Context, tx royaltyBooks, c *polypay.Charge, r *polypay.Refund) error {
	orderID := orderOf(c)
	if orderID == "" {
		return nil
	}
	plan, err := tx.RoyaltyPlanOf(ctx, orderID)
	if err != nil || plan == nil {
		return err
	}
	o, err := tx.OrderByID(ctx, orderID)
	if err != nil || o.AppID != c.AppID || o.Status != polypay.OrderPaid {
		return err
	}
	if explicit, err := tx.RefundRoyaltyPlan(ctx, r.ID); err != nil || explicit != nil {
		if err != nil {
			return err
		}
		return takeBackNamed(ctx, tx, o, c, r, explicit)
	}
	mode, err := refundMode(ctx, tx, o, plan)
	if err != nil || mode == "no_refund" {
		return err
	}
	refunded, captured, err := orderRefundedShare(ctx, tx, o, c)
	if err != nil || captured == 0 {
		return err
	}
	all, err := tx.Royalties(ctx, o.AppID, o.Livemode, store.RoyaltyFilter{Payer: o.AppID, OrderID: o.ID})
	if err != nil {
		return err
	}
	for _, g := range byRecipient(all) {
		want := g.given * refunded / captured
		if mode == "full_refund" {
			want = g.given
		}
		if back := want - g.taken; back > 0 {
			to := recipient{app: g.first.RecipientApp, user: g.first.SourceUser, userApp: g.first.UserApp, level: g.first.Level}
			ry := newRoyalty(o, c, g.first.SourceApp, to, -back, tx.Now())
			ry.RefundID = r.ID
			if err := insertRoyalty(ctx, tx, ry); err != nil {
				return err
			}
		}
	}
	return nil
}

func refundMode(ctx context.Context, tx royaltyBooks, o *polypay.Order, plan *store.RoyaltyPlan) (string, error) {
	if plan.TemplateID == "" {
		return "proportional", nil
	}
	chain, err := appChain(ctx, tx, o.AppID)
	if err != nil {
		return "", err
	}
	t, err := findTemplate(ctx, tx, chain, o.Livemode, plan.TemplateID, true)
	if polypay.ErrorCode(err) == polypay.EInvalid {
		return "proportional", nil
	}
	if err != nil {
		return "", err
	}
	return t.RefundMode, nil
}

// orderRefundedShare is what the order's paid parts have refunded and
// captured, counting c as this transaction has it.
func orderRefundedShare(ctx context.Context, tx royaltyBooks, o *polypay.Order, c *polypay.Charge) (refunded, captured int64, err error) {
	parts, err := paidParts(ctx, tx, o)
	if err != nil {
		return 0, 0, err
	}
	for _, p := range []*polypay.Charge{parts.channel, parts.balance} {
		if p == nil {
			continue
		}
		if p.ID == c.ID {
			p = c
		}
		refunded, captured = refunded+p.AmountRefunded, captured+p.AmountCaptured
	}
	return min(refunded, captured), captured, nil
}

// recipientTotal is what one recipient was given of an order and what
// refunds took back.
type recipientTotal struct {
	first        *store.Royalty
	given, taken int64
}

func byRecipient(all []*store.Royalty) []*recipientTotal {
	m := map[string]*recipientTotal{}
	var keys []string
	for _, r := range all {
		k := r.RecipientApp + "\x00" + r.SourceUser
		g, ok := m[k]
		if !ok {
			g = &recipientTotal{first: r}
			m[k], keys = g, append(keys, k)
		}
		if r.Amount > 0 {
			g.given += r.Amount
		} else {
			g.taken -= r.Amount
		}
	}
	sort.Strings(keys)
	out := make([]*recipientTotal, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// visibleCursor refuses a page cursor naming an object the caller cannot
// see (get says whether it can), naming the parameter.
func visibleCursor(p store.Page, get func(id string) error) error {
	for param, id := range map[string]string{"starting_after": p.StartingAfter, "ending_before": p.EndingBefore} {
		if id == "" {
			continue
		}
		err := get(id)
		if polypay.ErrorCode(err) == polypay.ENotFound {
			return polypay.ParamError(param, "%s 不存在: %s", param, id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// GetRoyalty answers one royalty its payer or recipient app may see.
func (s *Service) GetRoyalty(ctx context.Context, who Caller, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		r, err := tx.GetRoyalty(ctx, who.App.ID, who.Live, id)
		if err == nil {
			out = wire.FromRoyalty(r)
		}
		return err
	})
	return out, err
}

// ListRoyalties pages through the royalties the caller's app pays or
// receives; with f.Payer one of its sub-apps, those that sub-app pays or
// receives (a platform sees its merchants' shares).
func (s *Service) ListRoyalties(ctx context.Context, who Caller, url string, f store.RoyaltyFilter, p store.Page) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if f.Payer != "" && f.Payer != who.App.ID {
			as, err := payerCaller(ctx, tx, who, f.Payer)
			if err != nil && polypay.ErrorCode(err) != polypay.EInvalid {
				return err
			}
			who = as // unchanged when payer is not a sub-app: the royalties it pays the caller
		}
		if err := visibleCursor(p, func(id string) error {
			_, err := tx.GetRoyalty(ctx, who.App.ID, who.Live, id)
			return err
		}); err != nil {
			return err
		}
		xs, more, err := tx.ListRoyalties(ctx, who.App.ID, who.Live, f, p)
		if err != nil {
			return err
		}
		list, err = renderList(url, xs, more, func(r *store.Royalty) (any, error) { return wire.FromRoyalty(r), nil })
		return err
	})
	return list, err
}

// RoyaltyUpdate is Ping++'s batch update of royalties: method "manual"
// marks them settled outside polypay; a description and metadata.
type RoyaltyUpdate struct {
	IDs         []string
	Method      *string // nil: unchanged; "manual"; "" (null): unmark
	Description *string
	Metadata    json.RawMessage
}

// UpdateRoyalties applies a batch update to royalties the caller's app
// pays, all or none, and lists them as they are after.
func (s *Service) UpdateRoyalties(ctx context.Context, who Caller, url string, p RoyaltyUpdate) (wire.List, error) {
	var list wire.List
	err := s.write(ctx, func(tx Tx) error {
		out := make([]*store.Royalty, 0, len(p.IDs))
		for _, id := range p.IDs {
			as, err := royaltyPayer(ctx, tx, who, id)
			if err != nil {
				return err
			}
			r, err := tx.GetRoyalty(ctx, as.App.ID, as.Live, id)
			if err == nil && r.AppID != as.App.ID {
				err = polypay.ParamError("ids", "分润 %s 不由该 app 支付，不能修改", id)
			}
			if polypay.ErrorCode(err) == polypay.ENotFound {
				err = polypay.ParamError("ids", "分润 %s 不存在", id)
			}
			if err != nil {
				return err
			}
			if err := updateRoyalty(ctx, tx, r, p); err != nil {
				return err
			}
			out = append(out, r)
		}
		var err error
		list, err = renderList(url, out, false, func(r *store.Royalty) (any, error) { return wire.FromRoyalty(r), nil })
		return err
	})
	return list, err
}

// royaltyPayer is the caller acting as royalty id's payer when the
// caller is the payer or one of its ancestors, else the caller itself.
func royaltyPayer(ctx context.Context, tx Tx, who Caller, id string) (Caller, error) {
	payer, err := tx.AppOfObject(ctx, "royalties", id)
	if err != nil || payer == "" || payer == who.App.ID {
		return who, err
	}
	as, err := payerCaller(ctx, tx, who, payer)
	if polypay.ErrorCode(err) == polypay.EInvalid {
		return who, nil
	}
	return as, err
}

func updateRoyalty(ctx context.Context, tx Tx, r *store.Royalty, p RoyaltyUpdate) error {
	if p.Description != nil {
		r.Description = *p.Description
	}
	if p.Metadata != nil {
		r.Metadata = p.Metadata
	}
	if p.Method != nil {
		if err := setManual(ctx, tx, r, *p.Method == store.RoyaltyMethodManual); err != nil {
			return err
		}
	}
	return tx.UpdateRoyalty(ctx, r)
}

// setManual marks a royalty settled outside polypay, or takes the mark
// back. Only a royalty not yet in a settlement can be marked; the mark is
// booked once (RoyaltyManual) and cannot be undone once booked.
func setManual(ctx context.Context, tx Tx, r *store.Royalty, manual bool) error {
	switch {
	case manual && r.Method == store.RoyaltyMethodManual, !manual && r.Method == "":
		return nil
	case !manual:
		return polypay.ParamError("method", "分润 %s 已手动标记结算并已入账，不能撤销", r.ID)
	case r.Status != store.RoyaltyCreated:
		return polypay.ParamError("method", "分润 %s 已在结算中或已结算，不能手动标记", r.ID)
	case r.Amount < 0:
		return polypay.ParamError("method", "分润 %s 是退款退回的分润，随下次结算抵扣，不能手动标记", r.ID)
	}
	r.Method, r.Status, r.TimeSettled = store.RoyaltyMethodManual, store.RoyaltySucceeded, tx.Now()
	return tx.Post(ctx, ledger.RoyaltyManual(r.Share()))
}

// takeBackNamed takes back what an order refund named of each user's
// royalties (its royalty_users), at most what the user still keeps.
func takeBackNamed(ctx context.Context, tx royaltyBooks, o *polypay.Order, c *polypay.Charge, r *polypay.Refund, plan []byte) error {
	var users []RoyaltyRefundUser
	if err := json.Unmarshal(plan, &users); err != nil {
		return err
	}
	all, err := tx.Royalties(ctx, o.AppID, o.Livemode, store.RoyaltyFilter{Payer: o.AppID, OrderID: o.ID})
	if err != nil {
		return err
	}
	groups := byRecipient(all)
	for _, u := range users {
		for _, g := range groups {
			if g.first.SourceUser != u.User {
				continue
			}
			back := min(u.AmountRefunded, g.given-g.taken)
			if back <= 0 {
				break
			}
			to := recipient{app: g.first.RecipientApp, user: g.first.SourceUser, userApp: g.first.UserApp, level: g.first.Level}
			ry := newRoyalty(o, c, g.first.SourceApp, to, -back, tx.Now())
			ry.RefundID = r.ID
			if err := insertRoyalty(ctx, tx, ry); err != nil {
				return err
			}
			break
		}
	}
	return nil
}
