package core

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// DefaultOrderExpiry is how long an order stays payable without time_expire.
const DefaultOrderExpiry = 2 * time.Hour

// OrderParams are the validated parameters of POST /v1/orders.
type OrderParams struct {
	AppID           string          `json:"app"`
	MerchantOrderNo string          `json:"merchant_order_no"`
	Amount          int64           `json:"amount"`
	Currency        string          `json:"currency"`
	Subject         string          `json:"subject"`
	Body            string          `json:"body"`
	Description     string          `json:"description"`
	Channels        []string        `json:"allowed_channels"` // empty: every cashier channel the app can use
	ReturnURL       string          `json:"return_url"`
	Metadata        json.RawMessage `json:"metadata"`
	TimeExpire      int64           `json:"time_expire"`
	// UID is the merchant's customer id (Ping++'s order uid); omitempty
	// keeps the idempotency hash of orders without one unchanged.
	UID string `json:"uid,omitempty"`
	// Ping++'s order parameters (omitempty for the same reason).
	ClientIP     string `json:"client_ip,omitempty"`
	Coupon       string `json:"coupon,omitempty"`
	ActualAmount int64  `json:"actual_amount,omitempty"`
	ReceiptApp   string `json:"receipt_app,omitempty"`
	ServiceApp   string `json:"service_app,omitempty"`
	// Profit sharing (core/royalties.go): fixed amounts to users, or a
	// template's shares per level of the app tree.
	RoyaltyUsers    []RoyaltyUser `json:"royalty_users,omitempty"`
	RoyaltyTemplate string        `json:"royalty_template,omitempty"`
}

// CashierURL is where the merchant sends the customer to pay an order.
func (s *Service) CashierURL(o *polypay.Order) string {
	return s.BaseURL + "/cashier/" + o.ID + "?t=" + o.CashierToken
}

// newOrderID makes Ping++'s 19-digit order id: yyMMdd of creation then 13
// random digits.
func newOrderID(now time.Time) string {
	n, err := rand.Int(rand.Reader, big.NewInt(1e13))
	if err != nil {
		panic("polypay: crypto/rand failed: " + err.Error())
	}
	return now.UTC().Format("060102") + fmt.Sprintf("%013d", n.Int64())
}

// usableChannels filters channels to those the app has credentials for.
func (s *Service) usableChannels(ctx context.Context, appID string, live bool, chans []string) []string {
	var out []string
	for _, ch := range chans {
		if _, err := s.Channels.Channel(ctx, appID, live, ch); err == nil {
			out = append(out, ch)
		}
	}
	return out
}

// CreateOrder creates an order. A merchant_order_no seen before with the
// same parameters returns the existing order; with others it is an error
// naming merchant_order_no.
func (s *Service) CreateOrder(ctx context.Context, who Caller, p OrderParams) (*wire.Order, error) {
	if p.AppID != who.App.ID {
		return nil, &polypay.Error{Code: polypay.EInvalid, Param: "app", Message: "app 不存在: " + p.AppID}
	}
	cashierChannels := CashierChannels()
	for _, ch := range p.Channels {
		if ch == BalanceChannel && p.UID == "" {
			return nil, polypay.ParamError("allowed_channels", "收银台使用余额支付须填写 uid")
		}
		if ch != BalanceChannel && !slices.Contains(cashierChannels, ch) {
			return nil, polypay.ParamError("allowed_channels", "收银台不支持渠道 %s（可用: %v）", ch, cashierChannels)
		}
	}
	chans := p.Channels
	if len(chans) == 0 {
		chans = cashierChannels
	}
	// The balance is offered only where the merchant asks for it: the
	// cashier URL then lets its holder spend the uid's balance.
	chans = s.usableChannels(ctx, who.App.ID, who.Live, chans)
	if slices.Contains(p.Channels, BalanceChannel) {
		chans = append(chans, BalanceChannel)
	}
	if len(chans) == 0 && len(p.Channels) > 0 {
		return nil, polypay.ParamError("allowed_channels", "该 app 在当前模式下没有可在收银台使用的渠道")
	}
	if err := s.orderApps(ctx, who, p); err != nil {
		return nil, err
	}
	if p.Coupon == "" && p.ActualAmount != 0 && p.ActualAmount != p.Amount {
		return nil, polypay.ParamError("actual_amount", "未使用优惠券时 actual_amount 须等于 amount")
	}
	now := s.now()
	if p.TimeExpire == 0 {
		p.TimeExpire = now.Add(DefaultOrderExpiry).Unix()
	} else if p.TimeExpire <= now.Unix() {
		return nil, polypay.ParamError("time_expire", "time_expire 必须晚于当前时间")
	} else if p.TimeExpire > now.Add(MaxExpiry).Unix() {
		return nil, polypay.ParamError("time_expire", "time_expire 不能晚于 %d 天后", int(MaxExpiry/(24*time.Hour)))
	}
	if err := s.screenOrder(ctx, who, p); err != nil {
		return nil, err
	}
	hashed := p
	hashed.TimeExpire = 0
	paramsHash := hashJSON(hashed)
	chansJSON, _ := json.Marshal(chans)
	tok := make([]byte, 32)
	polypay.RandomBase62(tok)
	o := &polypay.Order{ID: newOrderID(now), AppID: who.App.ID, Livemode: who.Live, MerchantOrderNo: p.MerchantOrderNo,
		Amount: p.Amount, Currency: p.Currency, Subject: p.Subject, Body: p.Body, Description: p.Description,
		Channels: chansJSON, ReturnURL: p.ReturnURL, Metadata: p.Metadata, Status: polypay.OrderCreated,
		Created: now.Unix(), TimeExpire: p.TimeExpire, CashierToken: string(tok), ParamsHash: paramsHash, UID: p.UID,
		Coupon: p.Coupon, ClientIP: p.ClientIP}
	var out *wire.Order
	err := s.write(ctx, func(tx Tx) error {
		existing, err := tx.OrderByMerchantNo(ctx, who.App.ID, who.Live, p.MerchantOrderNo)
		if err != nil {
			return err
		}
		if existing != nil {
			if existing.ParamsHash != paramsHash {
				return polypay.ParamError("merchant_order_no", "商户订单号 %s 已被使用，且参数与原订单不同", p.MerchantOrderNo)
			}
			o = existing
		} else if err := s.insertOrder(ctx, tx, o, p.ActualAmount); err != nil {
			return err
		} else if err := planRoyalties(ctx, tx, o, p); err != nil {
			return err
		}
		out, err = s.renderOrder(ctx, tx, o)
		return err
	})
	if store.IsUniqueViolation(err) {
		return nil, polypay.ParamError("merchant_order_no", "商户订单号 %s 正被另一请求使用，请重试", p.MerchantOrderNo)
	}
	return out, err
}

// insertOrder stores a new order, holding its coupon in the same
// transaction.
func (s *Service) insertOrder(ctx context.Context, tx Tx, o *polypay.Order, actual int64) error {
	if o.Coupon != "" {
		if err := holdOrderCoupon(ctx, tx, o, actual); err != nil {
			return err
		}
	}
	return tx.InsertOrder(ctx, o)
}

// orderApps checks Ping++'s receipt_app and service_app. The receiving
// app is the order's own (a platform makes an order for a sub-app by
// naming it as app); the serving app is the order's or one of its
// ancestors, and receives what a service_reserved template leaves over.
func (s *Service) orderApps(ctx context.Context, who Caller, p OrderParams) error {
	if p.ReceiptApp != "" && p.ReceiptApp != who.App.ID {
		return polypay.ParamError("receipt_app", "receipt_app 须为订单所属的 app %s", who.App.ID)
	}
	if p.ServiceApp == "" || p.ServiceApp == who.App.ID {
		return nil
	}
	return s.read(ctx, func(tx Tx) error {
		chain, err := appChain(ctx, tx, who.App.ID)
		if err == nil && !contains(chain, p.ServiceApp) {
			err = polypay.ParamError("service_app", "service_app 须为订单所属的 app 或其上级 app")
		}
		return err
	})
}

// GetOrder returns an order rendered for the API, after checking whether
// one of its charges has been paid.
func (s *Service) GetOrder(ctx context.Context, who Caller, id string) (*wire.Order, error) {
	var o *polypay.Order
	if err := s.read(ctx, func(tx Tx) (err error) {
		o, err = tx.GetOrder(ctx, who.App.ID, who.Live, id)
		return err
	}); err != nil {
		return nil, err
	}
	o, err := s.RefreshOrder(ctx, o)
	if err != nil {
		return nil, err
	}
	var out *wire.Order
	err = s.read(ctx, func(tx Tx) (err error) {
		out, err = s.renderOrder(ctx, tx, o)
		return err
	})
	return out, err
}

// OrderCharges returns an order's charges rendered for the API.
func (s *Service) OrderCharges(ctx context.Context, who Caller, id string) (wire.List, error) {
	var out wire.List
	err := s.read(ctx, func(tx Tx) error {
		o, err := tx.GetOrder(ctx, who.App.ID, who.Live, id)
		if err != nil {
			return err
		}
		out, _, err = orderChargeList(ctx, tx, o)
		return err
	})
	return out, err
}

func orderChargeList(ctx context.Context, tx orderCharges, o *polypay.Order) (wire.List, []*wire.Charge, error) {
	links, err := tx.OrderCharges(ctx, o.ID)
	if err != nil {
		return wire.List{}, nil, err
	}
	data := make([]any, 0, len(links))
	var cs []*wire.Charge
	for i := len(links) - 1; i >= 0; i-- { // newest first, as lists are
		c, err := tx.GetCharge(ctx, o.AppID, o.Livemode, links[i].ChargeID)
		if err != nil {
			return wire.List{}, nil, err
		}
		w, err := RenderCharge(ctx, tx, c)
		if err != nil {
			return wire.List{}, nil, err
		}
		data = append(data, w)
		cs = append(cs, w)
	}
	return wire.NewList("/v1/orders/"+o.ID+"/charges", false, data), cs, nil
}

func (s *Service) renderOrder(ctx context.Context, tx orderCharges, o *polypay.Order) (*wire.Order, error) {
	list, cs, err := orderChargeList(ctx, tx, o)
	if err != nil {
		return nil, err
	}
	var chans []string
	_ = json.Unmarshal(o.Channels, &chans)
	out := &wire.Order{ID: o.ID, Object: "order", Created: o.Created, Livemode: o.Livemode, Paid: o.Status == polypay.OrderPaid,
		Status: string(o.Status), App: o.AppID, MerchantOrderNo: o.MerchantOrderNo, Amount: o.Amount,
		CouponAmount: o.CouponAmount, ActualAmount: o.Amount - o.CouponAmount,
		Currency: o.Currency, Subject: o.Subject, Body: o.Body, TimeExpire: o.TimeExpire, Charges: list,
		ChargeEssentials: json.RawMessage("{}"), Metadata: o.Metadata, AllowedChannels: chans, CashierURL: s.CashierURL(o)}
	if o.Description != "" {
		out.Description = &o.Description
	}
	if o.ReturnURL != "" {
		out.ReturnURL = &o.ReturnURL
	}
	if o.UID != "" {
		out.UID = &o.UID
	}
	if o.Status == polypay.OrderPaid {
		out.AmountPaid = o.Amount - o.CouponAmount
		tp := o.TimePaid
		out.TimePaid = &tp
	}
	if err := s.renderAccountFields(ctx, tx, o, cs, out); err != nil {
		return nil, err
	}
	if len(out.Metadata) == 0 {
		out.Metadata = json.RawMessage("{}")
	}
	chargeID := o.ChargeID
	if chargeID == "" && len(cs) > 0 {
		chargeID = cs[0].ID
	}
	for _, c := range cs {
		if c.ID != chargeID {
			continue
		}
		out.Charge = &c.ID
		ess := map[string]any{"channel": c.Channel, "credential": c.Credential, "extra": c.Extra,
			"transaction_no": c.TransactionNo, "failure_code": c.FailureCode, "failure_msg": c.FailureMsg}
		out.ChargeEssentials, _ = json.Marshal(ess)
	}
	return out, nil
}

// OrderForCashier returns the order a cashier URL names, refreshed; any
// mismatch of id or token is ENotFound, so a guessed URL learns nothing.
func (s *Service) OrderForCashier(ctx context.Context, id, token string) (*polypay.Order, error) {
	var o *polypay.Order
	err := s.read(ctx, func(tx Tx) (err error) {
		o, err = tx.OrderByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(token) != len(o.CashierToken) || subtle.ConstantTimeCompare([]byte(token), []byte(o.CashierToken)) != 1 {
		return nil, polypay.NotFound("order", id)
	}
	return s.RefreshOrder(ctx, o)
}

// RefreshOrder marks an unpaid order paid when one of its charges has been
// paid (the charge's state comes only from verified notifications and
// channel queries).
func (s *Service) RefreshOrder(ctx context.Context, o *polypay.Order) (*polypay.Order, error) {
	if !o.Status.CanBecome(polypay.OrderPaid) {
		return o, nil
	}
	var paid []*polypay.Charge
	if err := s.read(ctx, func(tx Tx) error {
		links, err := tx.OrderCharges(ctx, o.ID)
		if err != nil {
			return err
		}
		for _, l := range links {
			c, err := tx.GetCharge(ctx, o.AppID, o.Livemode, l.ChargeID)
			if err != nil {
				return err
			}
			if c.Paid() {
				paid = append(paid, c)
			}
		}
		return nil
	}); err != nil || len(paid) == 0 {
		return o, err
	}
	var out *polypay.Order
	queued := 0
	err := s.write(ctx, func(tx Tx) error {
		out, queued = o, 0
		for _, c := range paid {
			cur, n, err := s.markOrderPaid(ctx, tx, o.ID, c)
			if err != nil {
				return err
			}
			out, queued = cur, queued+n
			if cur.Status == polypay.OrderPaid {
				return nil
			}
		}
		return nil
	})
	s.kick(queued)
	return out, err
}

// markOrderPaid marks an unpaid order paid by one of its charges, with that
// charge's discount, books the discount, redeems the order's coupon and
// announces order.succeeded, in the caller's transaction. applyTrade calls
// it in the transaction that marks the charge paid, so an order is paid
// (and its discount booked) the moment its charge is. A charge split with
// a balance part (Partner) pays the order only once both parts are paid.
func (s *Service) markOrderPaid(ctx context.Context, tx orderBooks, orderID string, paid *polypay.Charge) (*polypay.Order, int, error) {
	cur, err := tx.OrderByID(ctx, orderID)
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if !cur.Status.CanBecome(polypay.OrderPaid) {
		return cur, 0, nil
	}
	links, err := tx.OrderCharges(ctx, cur.ID)
	if err != nil {
		return nil, 0, err
	}
	var link *store.OrderCharge
	for i := range links {
		if links[i].ChargeID == paid.ID {
			link = &links[i]
		}
	}
	if link == nil || cur.AppID != paid.AppID || cur.Livemode != paid.Livemode {
		// Only the order's own charges can pay it: a merchant's metadata
		// naming an order proves nothing.
		return cur, 0, nil
	}
	if whole, err := partnerPaid(ctx, tx, cur, link); err != nil || !whole {
		return cur, 0, err
	}
	cur.CouponAmount, cur.DiscountID = link.DiscountAmount, link.DiscountID
	cur.Status, cur.TimePaid, cur.ChargeID = polypay.OrderPaid, paid.TimePaid, paid.ID
	if err := tx.UpdateOrder(ctx, cur); err != nil {
		return nil, 0, err
	}
	if err := postDiscount(ctx, tx, cur); err != nil {
		return nil, 0, err
	}
	if err := s.shareOrder(ctx, tx, cur, paid); err != nil {
		return nil, 0, err
	}
	queued, err := s.redeemCoupon(ctx, tx, cur)
	if err != nil {
		return nil, 0, err
	}
	w, err := s.renderOrder(ctx, tx, cur)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.emit(ctx, tx, cur.AppID, cur.Livemode, polypay.EventOrderSucceeded, "", w)
	return cur, queued + n, err
}

// partnerPaid reports whether the other part of a split payment is paid
// and not refunded (true when the charge has no partner).
func partnerPaid(ctx context.Context, tx orderBooks, o *polypay.Order, link *store.OrderCharge) (bool, error) {
	switch link.Partner {
	case "":
		return true, nil
	case splitPending:
		return false, nil
	}
	p, err := tx.GetCharge(ctx, o.AppID, o.Livemode, link.Partner)
	if err != nil {
		return false, err
	}
	return p.Paid() && p.AmountRefunded == 0, nil
}

// postDiscount records a paid order's discount in the books, in the
// transaction that marks the order paid. The discount is merchant-funded:
// the charge's own posting already moved what the customer paid (channel
// debit, merchant credit), and no money corresponds to the discount, so it
// is a memo transaction (ref_type "discount", ref_id the order id) that
// debits the contra-revenue account "discounts" and credits
// "discounts_offset", leaving channel and merchant balances untouched. The
// order's gross sale is the merchant credit of its charge plus its
// "discounts" debit. ledger.Check checks both against coupon_amount.
func postDiscount(ctx context.Context, tx LedgerStore, o *polypay.Order) error {
	if o.CouponAmount <= 0 {
		return nil
	}
	return tx.Post(ctx, ledger.Discounted(ledger.Order{ID: o.ID, AppID: o.AppID, Livemode: o.Livemode, Currency: o.Currency,
		Amount: o.Amount, CouponAmount: o.CouponAmount}))
}

// setLatestDiscount records on an unpaid order the discount of the charge
// just created or reused for it (coupon_amount shows that of the latest
// charge until one is paid).
func setLatestDiscount(ctx context.Context, tx OrderStore, orderID string, l store.OrderCharge) error {
	cur, err := tx.OrderByID(ctx, orderID)
	if err != nil || !cur.Status.CanBecome(polypay.OrderPaid) {
		return err
	}
	if cur.CouponAmount == l.DiscountAmount && cur.DiscountID == l.DiscountID {
		return nil
	}
	cur.CouponAmount, cur.DiscountID = l.DiscountAmount, l.DiscountID
	return tx.UpdateOrder(ctx, cur)
}

// OrderChannels lists the channels an order allows.
func OrderChannels(o *polypay.Order) []string {
	var chans []string
	_ = json.Unmarshal(o.Channels, &chans)
	return chans
}

// OrderExpired reports whether an unpaid order can no longer be paid.
func (s *Service) OrderExpired(o *polypay.Order) bool {
	return o.Status.CanBecome(polypay.OrderPaid) && s.now().Unix() >= o.TimeExpire
}

var orderLocks sync.Map // order id -> *sync.Mutex: one charge creation at a time per order on this node

// PayOrder returns the order's charge for a channel: its pending charge on
// that channel if there is one, else a new charge created through
// CreateCharge (so notifications, ledger and webhooks work as for any
// charge). extra is the channel's Ping++ extra.
func (s *Service) PayOrder(ctx context.Context, o *polypay.Order, channel, clientIP string, extra map[string]any) (*polypay.Charge, error) {
	if !slices.Contains(OrderChannels(o), channel) {
		return nil, polypay.ParamError("channel", "该订单不允许渠道 %s", channel)
	}
	if !o.Status.CanBecome(polypay.OrderPaid) {
		return nil, polypay.ParamError("id", "订单 %s 状态为 %s，不可再支付", o.ID, o.Status)
	}
	if s.OrderExpired(o) {
		return nil, polypay.ParamError("time_expire", "订单 %s 已过期", o.ID)
	}
	mu, _ := orderLocks.LoadOrStore(o.ID, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	var app *polypay.App
	var links []store.OrderCharge
	var rules []*polypay.Discount
	var reuse *polypay.Charge
	var reuseLink store.OrderCharge
	if err := s.read(ctx, func(tx Tx) (err error) {
		if app, err = tx.GetApp(ctx, o.AppID); err != nil {
			return err
		}
		if links, err = tx.OrderCharges(ctx, o.ID); err != nil {
			return err
		}
		if rules, err = s.orderRules(ctx, tx, o); err != nil {
			return err
		}
		for i := len(links) - 1; i >= 0; i-- {
			if links[i].Channel != channel {
				continue
			}
			c, err := tx.GetCharge(ctx, o.AppID, o.Livemode, links[i].ChargeID)
			if err != nil {
				return err
			}
			if c.Status == polypay.ChargePending && len(c.Credential) > 0 {
				reuse, reuseLink = c, links[i]
			}
			break
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if reuse != nil {
		// Its amount was fixed with the discount of its creation.
		if err := s.write(ctx, func(tx Tx) error { return setLatestDiscount(ctx, tx, o.ID, reuseLink) }); err != nil {
			return nil, err
		}
		return reuse, nil
	}
	seq := len(links) + 1
	// A declined card attempt keeps its charge (and order_no) but gets no
	// link: skip the order_nos already taken, or the customer's next card
	// would collide with the declined one.
	if err := s.read(ctx, func(tx Tx) error {
		for ; seq <= 99; seq++ {
			c, err := tx.ChargeByOrderNo(ctx, o.AppID, o.Livemode, fmt.Sprintf("%s%02d", o.ID, seq))
			if err != nil || c == nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if seq > 99 {
		return nil, polypay.ParamError("id", "订单 %s 的支付尝试次数过多", o.ID)
	}
	ex, _ := json.Marshal(extra)
	if extra == nil {
		ex = []byte("{}")
	}
	// The server decides the discount from the app's rules; the charge is
	// for what remains (at least 1 fen, see DiscountAmount).
	rule, off := BestDiscount(rules, channel, s.Channels.Family(channel), o.Amount)
	if o.Coupon != "" { // the order's coupon is its discount: rules do not stack on it
		rule, off = nil, o.CouponAmount
	}
	link := store.OrderCharge{OrderID: o.ID, Channel: channel, Seq: seq, DiscountAmount: off}
	md := map[string]string{"order_id": o.ID, "merchant_order_no": o.MerchantOrderNo}
	var om map[string]any
	if json.Unmarshal(o.Metadata, &om) == nil {
		if qr, ok := om["qr_code"].(string); ok {
			md["qr_code"] = qr // an order made from the shop's QR code
		}
	}
	if rule != nil {
		link.DiscountID, link.DiscountAmount = rule.ID, off
		md["discount_id"], md["discount_amount"] = rule.ID, fmt.Sprint(off)
	}
	meta, _ := json.Marshal(md)
	p := ChargeParams{OrderNo: fmt.Sprintf("%s%02d", o.ID, seq), AppID: o.AppID, Channel: channel, Amount: o.Amount - off,
		ClientIP: clientIP, Currency: o.Currency, Subject: o.Subject, Body: o.Body, Description: o.Description,
		Extra: ex, Metadata: meta, TimeExpire: o.TimeExpire}
	who := Caller{App: app, Live: o.Livemode}
	_, err := s.CreateCharge(ctx, who, p, func(tx Tx, obj any) error {
		w := obj.(*wire.Charge)
		l := link
		l.ChargeID, l.Created = w.ID, tx.Now()
		if err := tx.InsertOrderCharge(ctx, l); err != nil {
			return err
		}
		return setLatestDiscount(ctx, tx, o.ID, l)
	})
	// The cashier hides a channel whose creations keep failing (see
	// ChannelHealth).
	s.ChannelHealth().Record(o.AppID, o.Livemode, channel, err, s.now())
	if err != nil {
		return nil, err
	}
	var c *polypay.Charge
	err = s.read(ctx, func(tx Tx) (err error) {
		c, err = tx.ChargeByOrderNo(ctx, o.AppID, o.Livemode, p.OrderNo)
		return err
	})
	return c, err
}

// OrderCharge returns the order's most recent charge on a channel, or nil.
func (s *Service) OrderCharge(ctx context.Context, o *polypay.Order, channel string) (*polypay.Charge, error) {
	var c *polypay.Charge
	err := s.read(ctx, func(tx Tx) error {
		links, err := tx.OrderCharges(ctx, o.ID)
		if err != nil {
			return err
		}
		for i := len(links) - 1; i >= 0; i-- {
			if links[i].Channel == channel {
				c, err = tx.GetCharge(ctx, o.AppID, o.Livemode, links[i].ChargeID)
				return err
			}
		}
		return nil
	})
	return c, err
}
