package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

var (
	alnum      = regexp.MustCompile(`^[0-9A-Za-z]+$`)
	currencyRe = regexp.MustCompile(`^[a-z]{3}$`)
)

func parseChargeParams(raw []byte) (core.ChargeParams, error) {
	var p core.ChargeParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.AppID, err = b.appID(); err != nil {
		return p, err
	}
	if p.Channel, err = b.str("channel", true, 32); err != nil {
		return p, err
	}
	if p.OrderNo, err = b.str("order_no", true, 0); err != nil {
		return p, err
	}
	// Ping++'s order_no rule is per channel family (spec §2.2.1).
	rule := polypay.OrderNoFor(p.Channel)
	if len(p.OrderNo) < rule.Min || len(p.OrderNo) > rule.Max || !alnum.MatchString(p.OrderNo) {
		return p, polypay.ParamError("order_no", "order_no 须为 %d-%d 位字母或数字", rule.Min, rule.Max)
	}
	if p.Amount, _, err = b.int("amount", true); err != nil {
		return p, err
	}
	if p.Amount <= 0 || p.Amount > core.MaxAmount {
		return p, polypay.ParamError("amount", "amount 须为 1 到 %d 之间的整数（单位：分）", core.MaxAmount)
	}
	if p.ClientIP, err = b.str("client_ip", true, 45); err != nil {
		return p, err
	}
	if net.ParseIP(p.ClientIP) == nil {
		return p, polypay.ParamError("client_ip", "client_ip 不是有效的 IP 地址")
	}
	if p.Currency, err = b.str("currency", true, 3); err != nil {
		return p, err
	}
	if !currencyRe.MatchString(p.Currency) {
		return p, polypay.ParamError("currency", "currency 须为小写的 3 位 ISO 4217 货币代码，如 cny")
	}
	if p.Subject, err = b.str("subject", true, 32); err != nil {
		return p, err
	}
	if p.Body, err = b.text("body", true, 128); err != nil {
		return p, err
	}
	if p.Description, err = b.text("description", false, 255); err != nil {
		return p, err
	}
	if p.Extra, err = b.object("extra", false, 0); err != nil {
		return p, err
	}
	if p.Metadata, err = b.object("metadata", true, 10); err != nil {
		return p, err
	}
	if len(p.Metadata) > 1000 {
		return p, polypay.ParamError("metadata", "metadata 总长度不能超过 1000")
	}
	if p.TimeExpire, _, err = b.int("time_expire", false); err != nil {
		return p, err
	}
	// polypay extension: capture=false asks for a pre-authorization.
	capture, err := b.bool("capture", true)
	if err != nil {
		return p, err
	}
	p.AuthOnly = !capture
	return p, b.unknown()
}

func (s *Server) captureCharge(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	var p core.CaptureParams
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	// Absent (or null) takes the whole hold; an explicit amount must be a
	// positive number of minor units: {"amount":0} is a mistake, not "all".
	n, present, err := b.int("amount", false)
	if err != nil {
		return err
	}
	if present {
		if n <= 0 || n > core.MaxAmount {
			return polypay.ParamError("amount", "amount 须为正整数（单位：分），不超过预授权金额；不传表示全额扣款")
		}
		p.Amount = &n
	}
	if err := b.unknown(); err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.Capture(r.Context(), who, id, p, h)
	})
}

// reviewCharge decides a charge's open risk review: {"action":"approve"}
// captures or sends it, {"action":"reject"} voids or closes it.
func (s *Server) reviewCharge(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	action, err := b.str("action", true, 16)
	if err != nil {
		return err
	}
	if action != "approve" && action != "reject" {
		return polypay.ParamError("action", "action 须为 approve 或 reject")
	}
	if err := b.unknown(); err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.DecideReview(r.Context(), who, id, action == "approve", h)
	})
}

func (s *Server) createCharge(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseChargeParams(raw)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.CreateCharge(r.Context(), who, p, h)
	})
}

// idempotent runs a POST under its Idempotency-Key: the first result is
// stored in the same transaction as the state change and replayed for the
// same body; the same key with another body is an error.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte, run func(core.Hook) (any, error)) error {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		out, err := run(nil)
		if err != nil {
			return err
		}
		s.writeJSON(w, r, http.StatusOK, out)
		return nil
	}
	if len(key) > 255 {
		return polypay.ParamError("Idempotency-Key", "Idempotency-Key 不能超过 255 个字符")
	}
	hash := s.requestHash(append([]byte(r.Method+" "+r.URL.Path+"\n"), raw...))
	replay := func() (bool, error) {
		var rec *store.IdemRecord
		if err := s.DB.Read(r.Context(), func(tx *store.Tx) error {
			var err error
			rec, err = tx.GetIdempotency(r.Context(), who.App.ID, who.Live, key)
			return err
		}); err != nil || rec == nil {
			return false, err
		}
		if rec.RequestHash != hash {
			return true, &polypay.Error{Code: polypay.EConflict, Param: "Idempotency-Key", Message: "Idempotency-Key 已用于另一个不同的请求"}
		}
		w.Header().Set("Idempotent-Replayed", "true")
		s.writeRaw(w, r, rec.Status, rec.Response)
		return true, nil
	}
	if done, err := replay(); done || err != nil {
		return err
	}
	stored := false
	hook := func(tx core.Tx, obj any) error {
		b, err := wire.Marshal(obj)
		if err != nil {
			return err
		}
		if stored {
			return tx.UpdateIdempotency(r.Context(), who.App.ID, who.Live, key, b)
		}
		if err := tx.PutIdempotency(r.Context(), who.App.ID, who.Live, key, store.IdemRecord{RequestHash: hash, Status: 200, Response: b}); err != nil {
			return err
		}
		stored = true
		return nil
	}
	out, err := run(hook)
	if err != nil && store.IsUniqueViolation(err) {
		// A concurrent request with the same key won; answer as it did.
		if done, rerr := replay(); done || rerr != nil {
			return rerr
		}
	}
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) getCharge(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	q, err := parseQuery(r, "expand", "expand[]")
	if err != nil {
		return err
	}
	out, err := s.Svc.GetCharge(r.Context(), who, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, expandApp(out, q, who))
	return nil
}

func (s *Server) reverseCharge(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	out, err := s.Svc.Reverse(r.Context(), who, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

// query wraps url.Values and rejects parameters nobody asked for.
type query struct{ v url.Values }

func parseQuery(r *http.Request, allowed ...string) (query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return query{}, polypay.ParamError("", "查询字符串无效")
	}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for k := range v {
		if !ok[k] {
			return query{}, polypay.ParamError(k, "未知参数: %s", k)
		}
	}
	return query{v}, nil
}

func (q query) expands(what string) bool {
	for _, k := range []string{"expand", "expand[]"} {
		for _, v := range q.v[k] {
			if v == what {
				return true
			}
		}
	}
	return false
}

func (q query) int(name string) (*int64, error) {
	s := q.v.Get(name)
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, polypay.ParamError(name, "参数 %s 必须是整数", name)
	}
	return &n, nil
}

// bool parses Ping++ booleans case-insensitively (PY sends True/False).
func (q query) bool(name string) (*bool, error) {
	s := strings.ToLower(q.v.Get(name))
	switch s {
	case "":
		return nil, nil
	case "true", "1":
		t := true
		return &t, nil
	case "false", "0":
		f := false
		return &f, nil
	}
	return nil, polypay.ParamError(name, "参数 %s 必须是 true 或 false", name)
}

func (q query) limit() (int, error) {
	n, err := q.int("limit")
	if err != nil || n == nil {
		return 10, err
	}
	if *n < 1 || *n > 100 {
		return 0, polypay.ParamError("limit", "limit 须在 1 到 100 之间")
	}
	return int(*n), nil
}

// appObject is what expand[]=app puts in place of the app id.
type appObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Name    string `json:"name"`
	Created int64  `json:"created"`
}

func expandApp(v any, q query, who core.Caller) any {
	if !q.expands("app") {
		return v
	}
	c, ok := v.(*wire.Charge)
	if !ok {
		return v
	}
	b, _ := wire.Marshal(c)
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return v
	}
	m["app"], _ = json.Marshal(appObject{ID: who.App.ID, Object: "app", Name: who.App.Name, Created: who.App.Created})
	return orderedCharge{m: m}
}

// orderedCharge re-emits an expanded charge in the charge's field order.
type orderedCharge struct{ m map[string]json.RawMessage }

var chargeFieldOrder = []string{"id", "object", "created", "livemode", "paid", "refunded", "reversed", "app", "channel",
	"order_no", "client_ip", "amount", "amount_settle", "currency", "subject", "body", "extra", "time_paid", "time_expire",
	"time_settle", "transaction_no", "refunds", "amount_refunded", "failure_code", "failure_msg", "metadata", "credential", "description"}

func (o orderedCharge) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range chargeFieldOrder {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.m[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (s *Server) listCharges(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	q, err := parseQuery(r, "app[id]", "app", "channel", "paid", "refunded", "reversed", "limit", "starting_after",
		"ending_before", "created", "created[gt]", "created[gte]", "created[lt]", "created[lte]", "expand", "expand[]")
	if err != nil {
		return err
	}
	appID := q.v.Get("app[id]")
	if appID == "" {
		appID = q.v.Get("app")
	}
	if appID == "" {
		return polypay.ParamError("app[id]", "缺少参数: app[id]")
	}
	if appID != who.App.ID {
		return &polypay.Error{Code: polypay.ENotFound, Param: "app[id]", Message: "未找到 app : " + appID + "。"}
	}
	f := store.ChargeFilter{AppID: who.App.ID, Live: who.Live, Channel: q.v.Get("channel"),
		StartingAfter: q.v.Get("starting_after"), EndingBefore: q.v.Get("ending_before")}
	if f.Limit, err = q.limit(); err != nil {
		return err
	}
	if f.Paid, err = q.bool("paid"); err != nil {
		return err
	}
	if f.Refunded, err = q.bool("refunded"); err != nil {
		return err
	}
	if f.Reversed, err = q.bool("reversed"); err != nil {
		return err
	}
	for name, dst := range map[string]**int64{"created[gt]": &f.CreatedGT, "created[gte]": &f.CreatedGTE, "created[lt]": &f.CreatedLT, "created[lte]": &f.CreatedLTE} {
		if *dst, err = q.int(name); err != nil {
			return err
		}
	}
	if eq, err := q.int("created"); err != nil {
		return err
	} else if eq != nil { // GO's bare created=<ts>: that second
		f.CreatedGTE, f.CreatedLTE = eq, eq
	}
	if f.StartingAfter != "" && f.EndingBefore != "" {
		return polypay.ParamError("ending_before", "starting_after 与 ending_before 不能同时使用")
	}
	var out any
	err = s.DB.Read(r.Context(), func(tx *store.Tx) error {
		for param, cursor := range map[string]string{"starting_after": f.StartingAfter, "ending_before": f.EndingBefore} {
			if cursor == "" {
				continue
			}
			if ok, err := tx.ChargeExists(r.Context(), who.App.ID, who.Live, cursor); err != nil {
				return err
			} else if !ok {
				return polypay.ParamError(param, "未找到 charge : %s。", cursor)
			}
		}
		cs, more, err := tx.ListCharges(r.Context(), f)
		if err != nil {
			return err
		}
		data := make([]any, len(cs))
		for i, c := range cs {
			w, err := core.RenderCharge(r.Context(), tx, c)
			if err != nil {
				return err
			}
			data[i] = expandApp(w, q, who)
		}
		out = wire.NewList("/v1/charges", more, data)
		return nil
	})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func parseRefundParams(raw []byte) (core.RefundParams, error) {
	var p core.RefundParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	n, present, err := b.int("amount", false)
	if err != nil {
		return p, err
	}
	if present && (n <= 0 || n > core.MaxAmount) {
		return p, polypay.ParamError("amount", "amount 须为正整数（单位：分），不传表示全额退款")
	}
	p.Amount = n
	// GO always sends description, possibly empty: accept "".
	if _, ok := b.m["description"]; !ok {
		b.used["description"] = true
		return p, polypay.ParamError("description", "缺少参数: description")
	}
	if p.Description, err = b.text("description", false, 255); err != nil {
		return p, err
	}
	if p.Metadata, err = b.object("metadata", true, 10); err != nil {
		return p, err
	}
	if p.FundingSource, err = b.str("funding_source", false, 32); err != nil {
		return p, err
	}
	if p.FundingSource != "" && p.FundingSource != "unsettled_funds" && p.FundingSource != "recharge_funds" {
		return p, polypay.ParamError("funding_source", "funding_source 须为 unsettled_funds 或 recharge_funds")
	}
	if _, err := b.object("extra", false, 0); err != nil {
		return p, err
	}
	return p, b.unknown()
}

func (s *Server) createRefund(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseRefundParams(raw)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.CreateRefund(r.Context(), who, r.PathValue("id"), p, h)
	})
}

func (s *Server) listRefunds(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	q, err := parseQuery(r, "limit", "starting_after", "ending_before")
	if err != nil {
		return err
	}
	limit, err := q.limit()
	if err != nil {
		return err
	}
	out, err := s.Svc.ListRefunds(r.Context(), who, r.PathValue("id"), q.v.Get("starting_after"), q.v.Get("ending_before"), limit)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) getRefund(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	out, err := s.Svc.GetRefund(r.Context(), who, r.PathValue("id"), r.PathValue("rid"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	var out any
	err := s.DB.Read(r.Context(), func(tx *store.Tx) error {
		e, err := tx.GetEvent(r.Context(), who.App.ID, who.Live, r.PathValue("id"))
		if err != nil {
			return err
		}
		n, err := tx.PendingWebhooks(r.Context(), e.ID)
		if err != nil {
			return err
		}
		out = wire.FromEvent(e, n)
		return nil
	})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

// testPay acts as the customer in the channel simulator (test keys only).
func (s *Server) testPay(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	if who.Live {
		return polypay.ParamError("", "POST /v1/test/charges/{id}/pay 仅可使用 Test Secret Key (sk_test_...)")
	}
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	result, err := b.str("result", true, 16)
	if err != nil {
		return err
	}
	if result != "success" && result != "fail" {
		return polypay.ParamError("result", "result 须为 success 或 fail")
	}
	if err := b.unknown(); err != nil {
		return err
	}
	var c *polypay.Charge
	if err := s.DB.Read(r.Context(), func(tx *store.Tx) error {
		var err error
		c, err = tx.GetCharge(r.Context(), who.App.ID, who.Live, r.PathValue("id"))
		return err
	}); err != nil {
		return err
	}
	if c.Status != polypay.ChargePending {
		return polypay.ParamError("id", "charge %s 当前不可支付（已支付、已关闭或已撤销）", c.ID)
	}
	if c.HeldUnsent() {
		return polypay.ParamError("id", "charge %s 正在等待风控复核，尚未发往渠道", c.ID)
	}
	if s.Sandbox == nil {
		return polypay.Errorf(polypay.ENotSupported, "sandbox is not running")
	}
	if err := s.Sandbox.Pay(r.Context(), c, result == "success"); err != nil {
		return err
	}
	out, err := s.Svc.GetCharge(r.Context(), who, c.ID)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

// notify receives a channel's asynchronous notification.
func (s *Server) notify(w http.ResponseWriter, r *http.Request) {
	mode := r.PathValue("mode")
	if mode != "test" && mode != "live" {
		http.NotFound(w, r)
		return
	}
	// Per sending address: a channel's notifications come from a few of its
	// servers, a flood from anywhere costs the sender its own budget only.
	if !s.notifyLimits.Allow(s.peerIP(r)) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many notifications", http.StatusTooManyRequests)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	ctx := context.WithoutCancel(r.Context()) // finish applying even if the channel hangs up
	reply, err := s.Svc.HandleNotification(ctx, polypay.NewNotifyRequest(r, raw), r.PathValue("family"), r.PathValue("app"), mode == "live")
	if err != nil {
		http.Error(w, "unknown notification target", http.StatusNotFound)
		return
	}
	reply.WriteResponse(w)
}

// requestHash is the digest an Idempotency-Key's request is remembered
// by: keyed with the master key when the node has one, because bodies may
// carry a payee's card number (transfers, settle accounts).
func (s *Server) requestHash(b []byte) string {
	if s.Svc != nil && s.Svc.Box != nil {
		return s.Svc.Box.MAC("idempotency", b)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
