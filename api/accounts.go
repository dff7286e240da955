package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// The account system (pingpp-compat §2.11): users, balance bonuses,
// balance transfers and balance transactions, under /v1/apps/{app}. Lists
// take Ping++'s page and per_page or polypay's cursors.
func (s *Server) accountRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/apps/{app}/users", s.authed(s.inApp(s.createUser)))
	m.HandleFunc("GET /v1/apps/{app}/users", s.authed(s.inApp(s.listUsers)))
	m.HandleFunc("GET /v1/apps/{app}/users/{user}", s.authed(s.inApp(s.getBy("user", s.Svc.GetUser))))
	m.HandleFunc("PUT /v1/apps/{app}/users/{user}", s.authed(s.inApp(s.updateUser)))
	m.HandleFunc("POST /v1/apps/{app}/balance_bonuses", s.authed(s.inApp(creates(s, parseBonusParams, s.Svc.CreateBonus))))
	m.HandleFunc("GET /v1/apps/{app}/balance_bonuses", s.authed(s.inApp(s.listBonuses)))
	m.HandleFunc("GET /v1/apps/{app}/balance_bonuses/{id}", s.authed(s.inApp(s.getBy("id", s.Svc.GetBonus))))
	m.HandleFunc("POST /v1/apps/{app}/balance_transfers", s.authed(s.inApp(creates(s, parseBalanceTransferParams, s.Svc.CreateBalanceTransfer))))
	m.HandleFunc("GET /v1/apps/{app}/balance_transfers", s.authed(s.inApp(s.listBalanceTransfers)))
	m.HandleFunc("GET /v1/apps/{app}/balance_transfers/{id}", s.authed(s.inApp(s.getBy("id", s.Svc.GetBalanceTransfer))))
	m.HandleFunc("GET /v1/apps/{app}/balance_transactions", s.authed(s.inApp(s.listBalanceTxns)))
	m.HandleFunc("GET /v1/apps/{app}/balance_transactions/{id}", s.authed(s.inApp(s.getBy("id", s.Svc.GetBalanceTxn))))
	m.HandleFunc("POST /v1/apps/{app}/recharges", s.authed(s.inApp(s.createRecharge)))
	m.HandleFunc("GET /v1/apps/{app}/recharges", s.authed(s.inApp(s.listRecharges)))
	m.HandleFunc("GET /v1/apps/{app}/recharges/{id}", s.authed(s.inApp(s.getBy("id", s.Svc.GetRecharge))))
	m.HandleFunc("GET /v1/apps/{app}/balance_settlements", s.authed(s.inApp(s.listBalanceSettlements)))
	m.HandleFunc("GET /v1/apps/{app}/balance_settlements/{id}", s.authed(s.inApp(s.getBy("id", s.Svc.GetBalanceSettlement))))
	m.HandleFunc("POST /v1/apps/{app}/recharges/{id}/refunds", s.authed(s.inApp(s.refundRecharge)))
	m.HandleFunc("GET /v1/apps/{app}/recharges/{id}/refunds", s.authed(s.inApp(s.listRechargeRefunds)))
	m.HandleFunc("GET /v1/apps/{app}/recharges/{id}/refunds/{re}", s.authed(s.inApp(s.getRechargeRefund)))
}

// inApp refuses a path naming another app than the key's (404 naming app).
func (s *Server) inApp(h authedHandler) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
		if err := s.appFromPath(r, who); err != nil {
			return err
		}
		return h(w, r, who, raw)
	}
}

// creates answers a create: the body parsed by parse, the object made by
// create under the request's Idempotency-Key.
func creates[P any](s *Server, parse func([]byte) (P, error),
	create func(context.Context, core.Caller, P, core.Hook) (any, error)) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
		p, err := parse(raw)
		if err != nil {
			return err
		}
		return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) { return create(r.Context(), who, p, h) })
	}
}

// getBy answers GET of one object whose id is the path value key.
func (s *Server) getBy(key string, get func(context.Context, core.Caller, string) (any, error)) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
		if _, err := parseQuery(r); err != nil {
			return err
		}
		out, err := get(r.Context(), who, r.PathValue(key))
		return s.answer(w, r, out, err)
	}
}

// userIDRe is a merchant-chosen user id: Ping++ allows letters, digits and
// _-.@ up to 64 characters.
var userIDRe = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)

func userID(b *body, name string) (string, error) {
	v, err := b.str(name, true, 0)
	if err == nil && !userIDRe.MatchString(v) {
		err = polypay.ParamError(name, "%s 须为 1 到 64 位字母、数字或 _-.@", name)
	}
	return v, err
}

// --- Users.

// optStr reads an optional string into a pointer: nil when absent.
func optStr(b *body, name string, max int) (*string, error) {
	if _, ok := b.raw(name); !ok {
		return nil, nil
	}
	v, err := b.str(name, false, max)
	return &v, err
}

func optBool(b *body, name string) (*bool, error) {
	if _, ok := b.raw(name); !ok {
		return nil, nil
	}
	v, err := b.bool(name, false)
	return &v, err
}

// parseUserFields reads the profile fields a user is created or updated
// with.
func parseUserFields(b *body, p *core.UserParams) (err error) {
	for _, f := range []struct {
		name string
		max  int
		to   **string
	}{{"name", 64, &p.Name}, {"email", 128, &p.Email}, {"mobile", 32, &p.Mobile}, {"address", 255, &p.Address},
		{"avatar", 255, &p.Avatar}, {"type", 16, &p.Type}, {"gender", 8, &p.Gender}} {
		if *f.to, err = optStr(b, f.name, f.max); err != nil {
			return err
		}
	}
	if p.Type != nil && *p.Type != "customer" && *p.Type != "merchant" {
		return polypay.ParamError("type", "type 须为 customer 或 merchant")
	}
	if p.Gender != nil && *p.Gender != "" && *p.Gender != "MALE" && *p.Gender != "FEMALE" {
		return polypay.ParamError("gender", "gender 须为 MALE 或 FEMALE")
	}
	if p.Disabled, err = optBool(b, "disabled"); err != nil {
		return err
	}
	if p.Identified, err = optBool(b, "identified"); err != nil {
		return err
	}
	if _, ok := b.raw("metadata"); ok {
		if p.Metadata, err = payoutMetadata(b); err != nil {
			return err
		}
	}
	return nil
}

func parseUserParams(raw []byte, create bool) (core.UserParams, error) {
	var p core.UserParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if create {
		if p.ID, err = userID(b, "id"); err != nil {
			return p, err
		}
	}
	if err := parseUserFields(b, &p); err != nil {
		return p, err
	}
	return p, b.unknown()
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseUserParams(raw, true)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) { return s.Svc.CreateUser(r.Context(), who, p, h) })
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseUserParams(raw, false)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.UpdateUser(r.Context(), who, r.PathValue("user"), p, h)
	})
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, nil, func(_ query, p store.Page) (wire.List, error) {
		return s.Svc.ListUsers(r.Context(), who, r.URL.Path, p)
	})
}

// --- Balance bonuses.

func parseBonusParams(raw []byte) (core.BonusParams, error) {
	var p core.BonusParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.User, err = userID(b, "user"); err != nil {
		return p, err
	}
	if p.Amount, err = payoutAmount(b, "amount"); err != nil {
		return p, err
	}
	if p.OrderNo, err = alnumNo(b, "order_no", 1, 64); err != nil {
		return p, err
	}
	if p.Description, err = b.text("description", false, maxPayoutText); err != nil {
		return p, err
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return p, err
	}
	return p, b.unknown()
}

func (s *Server) listBonuses(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, []string{"user"}, func(q query, p store.Page) (wire.List, error) {
		return s.Svc.ListBonuses(r.Context(), who, r.URL.Path, q.v.Get("user"), p)
	})
}

// --- Balance transfers.

func parseBalanceTransferParams(raw []byte) (core.BalanceTransferParams, error) {
	var p core.BalanceTransferParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.User, err = userID(b, "user"); err != nil {
		return p, err
	}
	if p.Recipient, err = userID(b, "recipient"); err != nil {
		return p, err
	}
	if p.Amount, err = payoutAmount(b, "amount"); err != nil {
		return p, err
	}
	fee, _, err := b.int("user_fee", false)
	if err != nil {
		return p, err
	}
	p.UserFee = fee
	if p.OrderNo, err = alnumNo(b, "order_no", 1, 64); err != nil {
		return p, err
	}
	if p.Description, err = b.text("description", false, maxPayoutText); err != nil {
		return p, err
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return p, err
	}
	return p, b.unknown()
}

func (s *Server) listBalanceTransfers(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, []string{"user"}, func(q query, p store.Page) (wire.List, error) {
		return s.Svc.ListBalanceTransfers(r.Context(), who, r.URL.Path, q.v.Get("user"), p)
	})
}

// --- Balance transactions.

func (s *Server) listBalanceTxns(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, []string{"user"}, func(q query, p store.Page) (wire.List, error) {
		return s.Svc.ListBalanceTxns(r.Context(), who, r.URL.Path, q.v.Get("user"), p)
	})
}

// --- Recharges.

// parseRecharge reads a recharge: the user, the embedded charge (Ping++'s
// charge parameters without app; currency cny when absent), user_fee,
// balance_bonus {amount}, from_user (the same user: paying for someone
// else is not built), description and metadata.
func parseRechargeParams(raw []byte, appID string) (core.RechargeParams, error) {
	var p core.RechargeParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.User, err = userID(b, "user"); err != nil {
		return p, err
	}
	if from, err := b.str("from_user", false, 64); err != nil {
		return p, err
	} else if from != "" && from != p.User {
		return p, polypay.ParamError("from_user", "暂不支持为其他用户充值：from_user 须与 user 相同")
	}
	if p.Charge, err = rechargeCharge(b, appID); err != nil {
		return p, err
	}
	if p.UserFee, _, err = b.int("user_fee", false); err != nil {
		return p, err
	}
	if p.BonusAmount, err = rechargeBonus(b); err != nil {
		return p, err
	}
	if p.Description, err = b.text("description", false, maxPayoutText); err != nil {
		return p, err
	}
	if p.Metadata, err = payoutMetadata(b); err != nil {
		return p, err
	}
	return p, b.unknown()
}

// rechargeCharge reads the embedded charge with the charge parser, its
// errors naming charge[...].
func rechargeCharge(b *body, appID string) (core.ChargeParams, error) {
	if err := requireObject(b, "charge"); err != nil {
		return core.ChargeParams{}, err
	}
	raw, _ := b.raw("charge")
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return core.ChargeParams{}, polypay.ParamError("charge", "charge 必须是 JSON 对象")
	}
	for _, k := range []string{"app", "capture"} { // the app is the path's; a recharge is never a hold
		if _, ok := m[k]; ok {
			return core.ChargeParams{}, polypay.ParamError("charge["+k+"]", "未知参数: charge[%s]", k)
		}
	}
	m["app"], _ = json.Marshal(appID)
	if _, ok := m["currency"]; !ok {
		m["currency"] = json.RawMessage(`"cny"`)
	}
	inner, _ := json.Marshal(m)
	p, err := parseChargeParams(inner)
	var pe *polypay.Error
	if errors.As(err, &pe) && pe.Param != "" {
		pe.Param = polypay.NestParam("charge", pe.Param)
	}
	return p, err
}

// rechargeBonus reads balance_bonus {"amount": n}; 0 when absent.
func rechargeBonus(b *body) (int64, error) {
	raw, ok := b.raw("balance_bonus")
	if !ok {
		return 0, nil
	}
	inner, err := parseBody(raw)
	if err != nil {
		return 0, polypay.ParamError("balance_bonus", "balance_bonus 必须是 JSON 对象")
	}
	n, _, err := inner.int("amount", true)
	if err == nil && (n < 0 || n > core.MaxAmount) {
		err = polypay.ParamError("balance_bonus[amount]", "balance_bonus[amount] 须为 0 到 %d 之间的整数", core.MaxAmount)
	}
	if err == nil {
		err = inner.unknown()
	}
	var pe *polypay.Error
	if errors.As(err, &pe) && pe.Param != "" && pe.Param != "balance_bonus[amount]" {
		pe.Param = polypay.NestParam("balance_bonus", pe.Param)
	}
	return n, err
}

func (s *Server) createRecharge(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseRechargeParams(raw, who.App.ID)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) { return s.Svc.CreateRecharge(r.Context(), who, p, h) })
}

func (s *Server) listRecharges(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, []string{"user"}, func(q query, p store.Page) (wire.List, error) {
		return s.Svc.ListRecharges(r.Context(), who, r.URL.Path, q.v.Get("user"), p)
	})
}

// --- Recharge refunds.

func parseRechargeRefund(raw []byte) (core.RechargeRefundParams, error) {
	var p core.RechargeRefundParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
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
	return p, b.unknown()
}

func (s *Server) refundRecharge(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseRechargeRefund(raw)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.RefundRecharge(r.Context(), who, r.PathValue("id"), p, h)
	})
}

func (s *Server) listRechargeRefunds(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if _, err := parseQuery(r, "page", "per_page", "limit"); err != nil {
		return err
	}
	out, err := s.Svc.ListRechargeRefunds(r.Context(), who, r.URL.Path, r.PathValue("id"), store.Page{})
	return s.answer(w, r, out, err)
}

func (s *Server) getRechargeRefund(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	out, err := s.Svc.GetRechargeRefund(r.Context(), who, r.PathValue("id"), r.PathValue("re"))
	return s.answer(w, r, out, err)
}

func (s *Server) listBalanceSettlements(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, nil, func(_ query, p store.Page) (wire.List, error) {
		return s.Svc.ListBalanceSettlements(r.Context(), who, r.URL.Path, p)
	})
}
