package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Payouts (pingpp-compat §2.5–2.8): transfers, batch transfers, red
// envelopes, batch refunds, and each app's payout approval settings. The
// handlers check the wire form of every parameter; core and the payout
// connectors check the business and channel rules (order_no per channel,
// payees, amounts left to refund).
func (s *Server) payoutRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/transfers", s.authed(creates(s, parseTransferParams, s.Svc.CreateTransfer)))
	m.HandleFunc("GET /v1/transfers", s.authed(s.listTransfers))
	m.HandleFunc("GET /v1/transfers/{id}", s.authed(s.getBy("id", s.Svc.GetTransfer)))
	m.HandleFunc("PUT /v1/transfers/{id}", s.authed(s.cancelTransfer))
	m.HandleFunc("POST /v1/batch_transfers", s.authed(creates(s, parseBatchTransferParams, s.Svc.CreateBatchTransfer)))
	m.HandleFunc("GET /v1/batch_transfers", s.authed(s.listBatchTransfers))
	m.HandleFunc("GET /v1/batch_transfers/{id}", s.authed(s.getBy("id", s.Svc.GetBatchTransfer)))
	m.HandleFunc("PUT /v1/batch_transfers/{id}", s.authed(s.cancelBatchTransfer))
	m.HandleFunc("POST /v1/red_envelopes", s.authed(creates(s, parseRedEnvelopeParams, s.Svc.CreateRedEnvelope)))
	m.HandleFunc("GET /v1/red_envelopes", s.authed(s.listRedEnvelopes))
	m.HandleFunc("GET /v1/red_envelopes/{id}", s.authed(s.getBy("id", s.Svc.GetRedEnvelope)))
	m.HandleFunc("POST /v1/batch_refunds", s.authed(creates(s, parseBatchRefundParams, s.Svc.CreateBatchRefund)))
	m.HandleFunc("GET /v1/batch_refunds", s.authed(s.listBatchRefunds))
	m.HandleFunc("GET /v1/batch_refunds/{id}", s.authed(s.getBy("id", s.Svc.GetBatchRefund)))
	m.HandleFunc("GET /v1/batch_refunds/{id}/refunds", s.authed(s.listBatchRefundRefunds))
	m.HandleFunc("GET /v1/apps/{app}/payout_settings", s.authed(s.getPayoutSettings))
	m.HandleFunc("PUT /v1/apps/{app}/payout_settings", s.authed(s.putPayoutSettings))
}

var digitsRe = regexp.MustCompile(`^[0-9]+$`)

// Lengths Ping++ gives the payout parameters (pingpp-compat §2.5–2.8).
const (
	maxTransferOrderNo  = 64 // the longest any transfer channel takes; connectors narrow it
	maxEnvelopeOrderNo  = 28 // digits: WeChat's mch_billno is built from it
	maxPayoutRecipient  = 128
	maxPayoutText       = 255 // description
	minBatchTransferNo  = 11
	maxBatchTransferNo  = 32
	minBatchRefundNo    = 3
	maxBatchRefundNo    = 24
	maxEnvelopeSubject  = 32
	maxEnvelopeBody     = 128
	maxRecipientName    = 100
	maxRecipientField   = 64    // open_bank, account_type and the like
	maxPayoutPageObject = 10000 // page × per_page: how deep a page-number list may reach
)

// --- Shared parameter readers.

// transferChannel reads a transfer channel (wx, wx_pub, wx_lite, alipay,
// unionpay, or balance: into an account-system user's balance).
func transferChannel(b *body) (string, error) {
	ch, err := b.str("channel", true, 16)
	if err != nil {
		return "", err
	}
	if ch == core.BalanceChannel {
		return ch, nil
	}
	if !slices.Contains(core.TransferChannels, ch) {
		return "", polypay.ParamError("channel", "不支持的付款渠道: %s（可用: wx, wx_pub, wx_lite, alipay, unionpay）", ch)
	}
	return ch, nil
}

// payoutAmount reads a required positive amount in minor units.
func payoutAmount(b *body, name string) (int64, error) {
	n, _, err := b.int(name, true)
	if err != nil {
		return 0, err
	}
	if n <= 0 || n > core.MaxAmount {
		return 0, polypay.ParamError(name, "%s 须为 1 到 %d 之间的整数（单位：分）", name, core.MaxAmount)
	}
	return n, nil
}

// payoutCurrency reads currency: cny, the only payout currency; absent is
// cny when required is false.
func payoutCurrency(b *body, required bool) (string, error) {
	c, err := b.str("currency", required, 3)
	if err != nil || (c == "" && !required) {
		return "cny", err
	}
	if c != "cny" {
		return "", polypay.ParamError("currency", "currency 目前只支持 cny")
	}
	return c, nil
}

// transferType reads type: b2c or b2b.
func transferType(b *body) (string, error) {
	t, err := b.str("type", true, 3)
	if err != nil {
		return "", err
	}
	if t != "b2c" && t != "b2b" {
		return "", polypay.ParamError("type", "type 须为 b2c（付给个人）或 b2b（付给企业）")
	}
	return t, nil
}

// payoutMetadata reads metadata as charges do.
func payoutMetadata(b *body) (json.RawMessage, error) {
	m, err := b.object("metadata", true, 10)
	if err != nil {
		return nil, err
	}
	if len(m) > 1000 {
		return nil, polypay.ParamError("metadata", "metadata 总长度不能超过 1000")
	}
	return m, nil
}

// alnumNo reads a required merchant number of min to max letters or digits.
func alnumNo(b *body, name string, min, max int) (string, error) {
	v, err := b.str(name, true, 0)
	if err != nil {
		return "", err
	}
	if len(v) < min || len(v) > max || !alnum.MatchString(v) {
		return "", polypay.ParamError(name, "%s 须为 %d-%d 位字母或数字", name, min, max)
	}
	return v, nil
}

// requireObject refuses an absent parameter that must be an object.
func requireObject(b *body, name string) error {
	if _, ok := b.raw(name); !ok {
		return polypay.ParamError(name, "缺少参数: %s", name)
	}
	return nil
}

// elements reads a required, non-empty JSON array of at most max items.
func elements(b *body, name string, max int) ([]json.RawMessage, error) {
	v, ok := b.raw(name)
	if !ok {
		return nil, polypay.ParamError(name, "缺少参数: %s", name)
	}
	var items []json.RawMessage
	if json.Unmarshal(v, &items) != nil {
		return nil, polypay.ParamError(name, "参数 %s 必须是数组", name)
	}
	if len(items) == 0 || len(items) > max {
		return nil, polypay.ParamError(name, "%s 须有 1 到 %d 项", name, max)
	}
	return items, nil
}

// element is one object of an array parameter as a body whose keys carry
// their full names (recipients[0][account]), so that its errors, unknown
// keys included, name the parameter as the merchant sent it.
func element(name string, raw json.RawMessage) (*body, error) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, polypay.ParamError(name, "%s 必须是 JSON 对象", name)
	}
	b := &body{m: make(map[string]json.RawMessage, len(m)), used: map[string]bool{}}
	for k, v := range m {
		b.m[name+"["+k+"]"] = v
	}
	return b, nil
}

// --- Transfers.

func parseTransferParams(raw []byte) (core.TransferParams, error) {
	var p core.TransferParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.AppID, err = b.appID(); err != nil {
		return p, err
	}
	if p.Channel, err = transferChannel(b); err != nil {
		return p, err
	}
	if p.OrderNo, err = alnumNo(b, "order_no", 1, maxTransferOrderNo); err != nil {
		return p, err
	}
	if p.Amount, err = payoutAmount(b, "amount"); err != nil {
		return p, err
	}
	if p.Type, err = transferType(b); err != nil {
		return p, err
	}
	if p.Currency, err = payoutCurrency(b, true); err != nil {
		return p, err
	}
	// UnionPay payees are in extra (card_number); the connector asks for
	// recipient where its channel needs one.
	if p.Recipient, err = b.str("recipient", false, maxPayoutRecipient); err != nil {
		return p, err
	}
	if p.Description, err = b.text("description", true, maxPayoutText); err != nil {
		return p, err
	}
	if p.Extra, err = b.object("extra", false, 0); err != nil {
		return p, err
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return p, err
	}
	return p, b.unknown()
}

// parseCancel reads the body of PUT /v1/transfers/{id} and PUT
// /v1/batch_transfers/{id}: {"status":"canceled"}, the only change Ping++
// allows.
func parseCancel(raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	st, err := b.str("status", true, 16)
	if err != nil {
		return err
	}
	if st != "canceled" {
		return polypay.ParamError("status", "status 只能改为 canceled（取消待审批的付款）")
	}
	return b.unknown()
}

func (s *Server) cancelTransfer(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := parseCancel(raw); err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.CancelTransfer(r.Context(), who, id, h)
	})
}

var transferStatuses = []string{"scheduled", "pending", "paid", "failed", "canceled"}

func (s *Server) listTransfers(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	q, err := parseQuery(r, "app[id]", "app", "channel", "status", "limit", "starting_after", "ending_before")
	if err != nil {
		return err
	}
	p, err := payoutPage(q, who)
	if err != nil {
		return err
	}
	channel, status := q.v.Get("channel"), q.v.Get("status")
	if channel != "" && channel != core.BalanceChannel && !slices.Contains(core.TransferChannels, channel) {
		return polypay.ParamError("channel", "不支持的付款渠道: %s（可用: wx, wx_pub, wx_lite, alipay, unionpay）", channel)
	}
	if status != "" && !slices.Contains(transferStatuses, status) {
		return polypay.ParamError("status", "status 须为 scheduled、pending、paid、failed 或 canceled")
	}
	out, err := s.Svc.ListTransfers(r.Context(), who, channel, status, p)
	return s.answer(w, r, out, err)
}

// payoutPage reads a cursor list's app filter and page: app[id] (or app)
// is optional, but when given it must be the key's app.
func payoutPage(q query, who core.Caller) (store.Page, error) {
	var p store.Page
	appID := q.v.Get("app[id]")
	if appID == "" {
		appID = q.v.Get("app")
	}
	if appID != "" && appID != who.App.ID {
		e := polypay.NotFound("app", appID)
		e.Param = "app[id]"
		return p, e
	}
	var err error
	if p.Limit, err = q.limit(); err != nil {
		return p, err
	}
	p.StartingAfter, p.EndingBefore = q.v.Get("starting_after"), q.v.Get("ending_before")
	if p.StartingAfter != "" && p.EndingBefore != "" {
		return p, polypay.ParamError("ending_before", "starting_after 与 ending_before 不能同时使用")
	}
	return p, nil
}

// --- Batch transfers.

func parseBatchTransferParams(raw []byte) (core.BatchTransferParams, error) {
	var p core.BatchTransferParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.AppID, err = b.appID(); err != nil {
		return p, err
	}
	if p.BatchNo, err = alnumNo(b, "batch_no", minBatchTransferNo, maxBatchTransferNo); err != nil {
		return p, err
	}
	if p.Channel, err = transferChannel(b); err != nil {
		return p, err
	}
	if p.Channel == core.BalanceChannel {
		return p, polypay.ParamError("channel", "批量付款不支持 balance 渠道，请逐笔付款到余额")
	}
	if p.Amount, err = payoutAmount(b, "amount"); err != nil {
		return p, err
	}
	if p.Description, err = b.text("description", false, maxPayoutText); err != nil {
		return p, err
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return p, err
	}
	// GO leaves currency out when empty: cny, the only payout currency.
	if p.Currency, err = payoutCurrency(b, false); err != nil {
		return p, err
	}
	if p.Type, err = transferType(b); err != nil {
		return p, err
	}
	items, err := elements(b, "recipients", core.MaxFanOut)
	if err != nil {
		return p, err
	}
	for i, raw := range items {
		r, err := parseRecipient(p.Channel, "recipients["+strconv.Itoa(i)+"]", raw)
		if err != nil {
			return p, err
		}
		p.Recipients = append(p.Recipients, r)
	}
	return p, b.unknown()
}

// nameOptional are the channels whose payee name is optional (WeChat
// checks it only when given); Alipay and UnionPay need the account's name.
var nameOptional = []string{"wx", "wx_pub", "wx_lite"}

// parseRecipient reads recipients[i] of a batch transfer.
func parseRecipient(channel, name string, raw json.RawMessage) (core.BatchRecipient, error) {
	var r core.BatchRecipient
	b, err := element(name, raw)
	if err != nil {
		return r, err
	}
	f := func(k string) string { return name + "[" + k + "]" }
	if r.Account, err = b.str(f("account"), true, maxPayoutRecipient); err != nil {
		return r, err
	}
	if r.Amount, err = payoutAmount(b, f("amount")); err != nil {
		return r, err
	}
	if r.Name, err = b.str(f("name"), !slices.Contains(nameOptional, channel), maxRecipientName); err != nil {
		return r, err
	}
	if r.Description, err = b.text(f("description"), false, maxPayoutText); err != nil {
		return r, err
	}
	for _, o := range []struct {
		key string
		dst *string
	}{{"open_bank", &r.OpenBank}, {"open_bank_code", &r.OpenBankCode}, {"account_type", &r.AccountType}, {"business_code", &r.BusinessCode}} {
		if *o.dst, err = b.str(f(o.key), false, maxRecipientField); err != nil {
			return r, err
		}
	}
	if r.CardType, err = cardType(b, f("card_type")); err != nil {
		return r, err
	}
	if _, ok := b.raw(f("force_check")); ok {
		v, err := b.bool(f("force_check"), false)
		if err != nil {
			return r, err
		}
		r.ForceCheck = &v
	}
	return r, b.unknown()
}

// cardType reads a recipient's card_type: 0 a bank card, 1 a passbook.
func cardType(b *body, name string) (*int, error) {
	n, present, err := b.int(name, false)
	if err != nil || !present {
		return nil, err
	}
	if n != 0 && n != 1 {
		return nil, polypay.ParamError(name, "%s 须为 0（银行卡）或 1（存折）", name)
	}
	v := int(n)
	return &v, nil
}

func (s *Server) cancelBatchTransfer(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := parseCancel(raw); err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.CancelBatchTransfer(r.Context(), who, id, h)
	})
}

func (s *Server) listBatchTransfers(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedList(w, r, who, func(p store.Page) (wire.List, error) {
		return s.Svc.ListBatchTransfers(r.Context(), who, p)
	})
}

// pagedList answers a batch list: Ping++'s page and per_page (its SDKs'
// batchTransfers.list({page: 1})), or polypay's cursors (limit,
// starting_after, ending_before), over core's cursor list.
func (s *Server) pagedList(w http.ResponseWriter, r *http.Request, who core.Caller, list func(store.Page) (wire.List, error)) error {
	return s.pagedQuery(w, r, who, nil, func(_ query, p store.Page) (wire.List, error) { return list(p) })
}

// pagedQuery is pagedList with filters: the query may also carry the
// names in filters, which list reads from q.
func (s *Server) pagedQuery(w http.ResponseWriter, r *http.Request, who core.Caller, filters []string,
	list func(query, store.Page) (wire.List, error)) error {
	allowed := append([]string{"app[id]", "app", "limit", "starting_after", "ending_before", "page", "per_page"}, filters...)
	q, err := parseQuery(r, allowed...)
	if err != nil {
		return err
	}
	p, err := payoutPage(q, who)
	if err != nil {
		return err
	}
	page, err := pageNumber(q, &p)
	if err != nil {
		return err
	}
	out, err := walkPages(func(p store.Page) (wire.List, error) { return list(q, p) }, p, page)
	return s.answer(w, r, out, err)
}

// pageNumber reads page and per_page (1-100, default limit's 10) into p;
// page 0 means a cursor list.
func pageNumber(q query, p *store.Page) (int, error) {
	page, err := q.int("page")
	if err != nil {
		return 0, err
	}
	if page == nil {
		if q.v.Get("per_page") != "" {
			return 0, polypay.ParamError("per_page", "per_page 须与 page 一起使用")
		}
		return 0, nil
	}
	if p.StartingAfter != "" || p.EndingBefore != "" || q.v.Get("limit") != "" {
		return 0, polypay.ParamError("page", "page 不能与 limit、starting_after 或 ending_before 同时使用")
	}
	if per, err := q.int("per_page"); err != nil {
		return 0, err
	} else if per != nil {
		if *per < 1 || *per > 100 {
			return 0, polypay.ParamError("per_page", "per_page 须在 1 到 100 之间")
		}
		p.Limit = int(*per)
	}
	if *page < 1 || *page*int64(p.Limit) > maxPayoutPageObject {
		return 0, polypay.ParamError("page", "page 须为正整数，且 page × per_page 不超过 %d", maxPayoutPageObject)
	}
	return int(*page), nil
}

// walkPages answers page number page (0: the cursor page p itself) by
// following the cursor from p: page n starts after the last object of
// page n-1.
func walkPages(list func(store.Page) (wire.List, error), p store.Page, page int) (wire.List, error) {
	for n := 1; ; n++ {
		l, err := list(p)
		if err != nil || page <= n {
			return l, err
		}
		if !l.HasMore || len(l.Data) == 0 {
			return wire.NewList(l.URL, false, nil), nil
		}
		if p.StartingAfter = payoutID(l.Data[len(l.Data)-1]); p.StartingAfter == "" {
			return wire.List{}, polypay.Errorf(polypay.EInternal, "a page-number list of objects without ids")
		}
	}
}

// payoutID is the id of a paged list's object (every object a page-number
// list holds renders an "id"); "" if it has none.
func payoutID(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var o struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(b, &o)
	return o.ID
}

// --- Red envelopes.

func parseRedEnvelopeParams(raw []byte) (core.RedEnvelopeParams, error) {
	var p core.RedEnvelopeParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.AppID, err = b.appID(); err != nil {
		return p, err
	}
	if p.Channel, err = b.str("channel", true, 16); err != nil {
		return p, err
	}
	if p.Channel != "wx_pub" {
		return p, polypay.ParamError("channel", "红包只支持 wx_pub 渠道")
	}
	if p.OrderNo, err = b.str("order_no", true, 0); err != nil {
		return p, err
	}
	if len(p.OrderNo) > maxEnvelopeOrderNo || !digitsRe.MatchString(p.OrderNo) {
		return p, polypay.ParamError("order_no", "红包的 order_no 须为 1-%d 位数字", maxEnvelopeOrderNo)
	}
	if p.Amount, err = payoutAmount(b, "amount"); err != nil {
		return p, err
	}
	if p.Currency, err = payoutCurrency(b, true); err != nil {
		return p, err
	}
	if p.Recipient, err = b.str("recipient", true, maxPayoutRecipient); err != nil {
		return p, err
	}
	if p.Subject, err = b.str("subject", true, maxEnvelopeSubject); err != nil {
		return p, err
	}
	if p.Body, err = b.text("body", true, maxEnvelopeBody); err != nil {
		return p, err
	}
	if p.Description, err = b.text("description", true, maxPayoutText); err != nil {
		return p, err
	}
	// extra carries send_name, which WeChat requires (the connector checks it).
	if err := requireObject(b, "extra"); err != nil {
		return p, err
	}
	if p.Extra, err = b.object("extra", false, 0); err != nil {
		return p, err
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return p, err
	}
	return p, b.unknown()
}

func (s *Server) listRedEnvelopes(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	q, err := parseQuery(r, "app[id]", "app", "channel", "limit", "starting_after", "ending_before")
	if err != nil {
		return err
	}
	p, err := payoutPage(q, who)
	if err != nil {
		return err
	}
	// Every red envelope is wx_pub: channel=wx_pub narrows nothing.
	if ch := q.v.Get("channel"); ch != "" && ch != "wx_pub" {
		return polypay.ParamError("channel", "红包只支持 wx_pub 渠道")
	}
	out, err := s.Svc.ListRedEnvelopes(r.Context(), who, p)
	return s.answer(w, r, out, err)
}

// --- Batch refunds.

func parseBatchRefundParams(raw []byte) (core.BatchRefundParams, error) {
	var p core.BatchRefundParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.AppID, err = b.appID(); err != nil {
		return p, err
	}
	if p.BatchNo, err = alnumNo(b, "batch_no", minBatchRefundNo, maxBatchRefundNo); err != nil {
		return p, err
	}
	items, err := elements(b, "charges", core.MaxBatchRefund)
	if err != nil {
		return p, err
	}
	seen := map[string]bool{}
	for i, raw := range items {
		name := "charges[" + strconv.Itoa(i) + "]"
		it, err := parseBatchRefundItem(name, raw)
		if err != nil {
			return p, err
		}
		if seen[it.Charge] {
			return p, polypay.ParamError(name+"[charge]", "charges 中 charge %s 重复", it.Charge)
		}
		seen[it.Charge] = true
		p.Charges = append(p.Charges, it)
	}
	if p.Description, err = b.text("description", true, maxPayoutText); err != nil {
		return p, err
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return p, err
	}
	return p, b.unknown()
}

// parseBatchRefundItem reads charges[i]: {charge, amount?, description?,
// funding_source?}, or a bare charge id (a whole-remainder refund).
func parseBatchRefundItem(name string, raw json.RawMessage) (polypay.BatchRefundItem, error) {
	var it polypay.BatchRefundItem
	var id string
	if json.Unmarshal(raw, &id) == nil {
		raw, _ = json.Marshal(map[string]string{"charge": id})
	}
	b, err := element(name, raw)
	if err != nil {
		return it, err
	}
	f := func(k string) string { return name + "[" + k + "]" }
	if it.Charge, err = b.str(f("charge"), true, 64); err != nil {
		return it, err
	}
	n, present, err := b.int(f("amount"), false)
	if err != nil {
		return it, err
	}
	if present && (n <= 0 || n > core.MaxAmount) {
		return it, polypay.ParamError(f("amount"), "%s 须为正整数（单位：分），不传表示退还全部可退金额", f("amount"))
	}
	it.Amount = n
	if it.Description, err = b.text(f("description"), false, maxPayoutText); err != nil {
		return it, err
	}
	if it.FundingSource, err = b.str(f("funding_source"), false, 32); err != nil {
		return it, err
	}
	if it.FundingSource != "" && it.FundingSource != "unsettled_funds" && it.FundingSource != "recharge_funds" {
		return it, polypay.ParamError(f("funding_source"), "%s 须为 unsettled_funds 或 recharge_funds", f("funding_source"))
	}
	return it, b.unknown()
}

// listBatchRefundRefunds serves the url of a batch refund's refunds list,
// which PHP and PY follow to list them (spec §1.8): all of them, at most
// one per charge.
func (s *Server) listBatchRefundRefunds(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	out, err := s.Svc.GetBatchRefund(r.Context(), who, r.PathValue("id"))
	if err != nil {
		return err
	}
	b, ok := out.(*wire.BatchRefund)
	if !ok {
		return fmt.Errorf("batch refund rendered as %T", out)
	}
	return s.answer(w, r, b.Refunds, nil)
}

func (s *Server) listBatchRefunds(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedList(w, r, who, func(p store.Page) (wire.List, error) {
		return s.Svc.ListBatchRefunds(r.Context(), who, p)
	})
}

// --- Payout settings.

// looser reports whether approve_above going from old to new lets more
// transfers through unapproved (0 approves nothing). Approval is the
// control against a leaked secret key, so the key may only tighten it;
// the console, with its users, roles and second factor, may loosen it.
func looser(old, new int64) bool {
	if old == 0 {
		return false // nothing was approved: any threshold is tighter
	}
	return new == 0 || new > old
}

// payoutSettings is GET/PUT /v1/apps/{app}/payout_settings' object, in
// the key's mode.
type payoutSettings struct {
	Object         string `json:"object"`
	App            string `json:"app"`
	Livemode       bool   `json:"livemode"`
	ApproveAbove   int64  `json:"approve_above"`
	ApproveBatches bool   `json:"approve_batches"`
	Updated        *int64 `json:"updated"` // null until first set
}

func renderPayoutSettings(who core.Caller, st polypay.PayoutSettings) payoutSettings {
	out := payoutSettings{Object: "payout_settings", App: who.App.ID, Livemode: who.Live,
		ApproveAbove: st.ApproveAbove, ApproveBatches: st.ApproveBatches}
	if st.Updated != 0 {
		out.Updated = &st.Updated
	}
	return out
}

func (s *Server) getPayoutSettings(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	st, err := s.Svc.PayoutSettings(r.Context(), who)
	return s.answer(w, r, renderPayoutSettings(who, st), err)
}

// putPayoutSettings sets approve_above and approve_batches; an absent one
// keeps its value.
func (s *Server) putPayoutSettings(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if err := s.appFromPath(r, who); err != nil {
		return err
	}
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	above, hasAbove, err := b.int("approve_above", false)
	if err != nil {
		return err
	}
	_, hasBatches := b.raw("approve_batches")
	batches, err := b.bool("approve_batches", false)
	if err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	st, err := s.Svc.PayoutSettings(r.Context(), who)
	if err != nil {
		return err
	}
	if hasAbove {
		if looser(st.ApproveAbove, above) {
			return polypay.ParamError("approve_above", "API 密钥只能收紧付款审批（调低 approve_above，不能设为 0 或调高）；放宽须由所有者或管理员在控制台操作")
		}
		st.ApproveAbove = above
	}
	if hasBatches {
		if st.ApproveBatches && !batches {
			return polypay.ParamError("approve_batches", "API 密钥只能开启批量付款审批；关闭须由所有者或管理员在控制台操作")
		}
		st.ApproveBatches = batches
	}
	st, err = s.Svc.PutPayoutSettings(r.Context(), who, st)
	return s.answer(w, r, renderPayoutSettings(who, st), err)
}
