package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Settle accounts and withdrawals (pingpp-compat §2.11).
func (s *Server) withdrawalRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /v1/apps/{app}/users/{user}/settle_accounts", s.authed(s.inApp(s.createSettleAccount)))
	m.HandleFunc("GET /v1/apps/{app}/users/{user}/settle_accounts", s.authed(s.inApp(s.listSettleAccounts)))
	m.HandleFunc("GET /v1/apps/{app}/users/{user}/settle_accounts/{id}", s.authed(s.inApp(s.getSettleAccount)))
	m.HandleFunc("DELETE /v1/apps/{app}/users/{user}/settle_accounts/{id}", s.authed(s.inApp(s.deleteSettleAccount)))
	m.HandleFunc("POST /v1/apps/{app}/withdrawals", s.authed(s.inApp(creates(s, parseWithdrawalParams, s.Svc.CreateWithdrawal))))
	m.HandleFunc("GET /v1/apps/{app}/withdrawals", s.authed(s.inApp(s.listWithdrawals)))
	m.HandleFunc("GET /v1/apps/{app}/withdrawals/{id}", s.authed(s.inApp(s.getBy("id", s.Svc.GetWithdrawal))))
	m.HandleFunc("PUT /v1/apps/{app}/withdrawals/{id}", s.authed(s.inApp(s.updateWithdrawal)))
	m.HandleFunc("POST /v1/apps/{app}/batch_withdrawals", s.authed(s.inApp(s.createBatchWithdrawal)))
	m.HandleFunc("GET /v1/apps/{app}/batch_withdrawals", s.authed(s.inApp(s.listBatchWithdrawals)))
	m.HandleFunc("GET /v1/apps/{app}/batch_withdrawals/{id}", s.authed(s.inApp(s.getBy("id", s.Svc.GetBatchWithdrawal))))
}

func parseSettleAccountParams(raw []byte) (core.SettleAccountParams, error) {
	var p core.SettleAccountParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.Channel, err = b.str("channel", true, 16); err != nil {
		return p, err
	}
	if err := requireObject(b, "recipient"); err != nil {
		return p, err
	}
	raw, _ = b.raw("recipient")
	rb, err := parseBody(raw)
	if err != nil {
		return p, polypay.ParamError("recipient", "recipient 必须是 JSON 对象")
	}
	if err := parseSettleRecipient(rb, &p.Recipient); err != nil {
		return p, err
	}
	return p, b.unknown()
}

// parseSettleRecipient reads a settle account's payee; errors name recipient[...].
func parseSettleRecipient(b *body, r *polypay.SettleRecipient) (err error) {
	defer func() {
		if pe, ok := err.(*polypay.Error); ok && pe.Param != "" {
			pe.Param = polypay.NestParam("recipient", pe.Param)
		}
	}()
	if r.Account, err = b.str("account", true, maxPayoutRecipient); err != nil {
		return err
	}
	if r.Name, err = b.str("name", false, maxRecipientName); err != nil {
		return err
	}
	if r.Type, err = b.str("type", false, 3); err != nil {
		return err
	}
	if r.Type != "" && r.Type != "b2c" && r.Type != "b2b" {
		return polypay.ParamError("type", "type 须为 b2c（付给个人）或 b2b（付给企业）")
	}
	if r.OpenBank, err = b.str("open_bank", false, maxRecipientField); err != nil {
		return err
	}
	if r.OpenBankCode, err = b.str("open_bank_code", false, maxRecipientField); err != nil {
		return err
	}
	if _, err = b.bool("force_check", false); err != nil { // accepted as Ping++ sends it; WeChat's check runs from user_name
		return err
	}
	return b.unknown()
}

func (s *Server) createSettleAccount(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseSettleAccountParams(raw)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.CreateSettleAccount(r.Context(), who, r.PathValue("user"), p, h)
	})
}

func (s *Server) listSettleAccounts(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if _, err := parseQuery(r, "page", "per_page", "limit"); err != nil {
		return err
	}
	out, err := s.Svc.ListSettleAccounts(r.Context(), who, r.URL.Path, r.PathValue("user"))
	return s.answer(w, r, out, err)
}

func (s *Server) getSettleAccount(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	out, err := s.Svc.GetSettleAccount(r.Context(), who, r.PathValue("user"), r.PathValue("id"))
	return s.answer(w, r, out, err)
}

func (s *Server) deleteSettleAccount(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	out, err := s.Svc.DeleteSettleAccount(r.Context(), who, r.PathValue("user"), r.PathValue("id"))
	return s.answer(w, r, out, err)
}

func parseWithdrawalParams(raw []byte) (core.WithdrawalParams, error) {
	var p core.WithdrawalParams
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
	if p.UserFee, _, err = b.int("user_fee", false); err != nil {
		return p, err
	}
	if p.Channel, err = b.str("channel", true, 16); err != nil {
		return p, err
	}
	if p.SettleAccount, err = b.str("settle_account", false, 64); err != nil {
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
	if _, err := b.object("extra", false, 0); err != nil { // Ping++'s per-channel extra: the settle account says it here
		return p, err
	}
	return p, b.unknown()
}

// updateWithdrawal: {"status":"pending"} confirms, {"status":"canceled"}
// cancels.
func (s *Server) updateWithdrawal(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	b, err := parseBody(raw)
	if err != nil {
		return err
	}
	status, err := b.str("status", true, 16)
	if err != nil {
		return err
	}
	if err := b.unknown(); err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		switch status {
		case "pending":
			return s.Svc.ConfirmWithdrawal(r.Context(), who, id, h)
		case "canceled":
			return s.Svc.CancelWithdrawal(r.Context(), who, id, h)
		}
		return nil, polypay.ParamError("status", "status 只能是 pending（确认）或 canceled（取消）")
	})
}

func (s *Server) listWithdrawals(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, []string{"user", "status"}, func(q query, p store.Page) (wire.List, error) {
		return s.Svc.ListWithdrawals(r.Context(), who, r.URL.Path, q.v.Get("user"), q.v.Get("status"), p)
	})
}

// parseBatchWithdrawal reads {"withdrawals": [ids], "status": "pending"
// (the default: confirm) | "canceled"}.
func parseBatchWithdrawal(raw []byte) ([]string, string, error) {
	b, err := parseBody(raw)
	if err != nil {
		return nil, "", err
	}
	list, ok := b.raw("withdrawals")
	if !ok {
		return nil, "", polypay.ParamError("withdrawals", "缺少参数: %s", "withdrawals")
	}
	var ids []string
	if json.Unmarshal(list, &ids) != nil {
		return nil, "", polypay.ParamError("withdrawals", "withdrawals 须为提现 id 的数组")
	}
	if len(ids) == 0 || len(ids) > core.MaxBatchWithdrawals {
		return nil, "", polypay.ParamError("withdrawals", "withdrawals 须有 1 到 %d 项", core.MaxBatchWithdrawals)
	}
	seen := map[string]bool{}
	for i, id := range ids {
		if id == "" || len(id) > 64 || seen[id] {
			return nil, "", polypay.ParamError(fmt.Sprintf("withdrawals[%d]", i), "withdrawals[%d] 为空、过长或重复", i)
		}
		seen[id] = true
	}
	status, err := b.str("status", false, 16)
	if err != nil {
		return nil, "", err
	}
	if status == "" {
		status = "pending"
	}
	if status != "pending" && status != "canceled" {
		return nil, "", polypay.ParamError("status", "status 只能是 pending（确认）或 canceled（取消）")
	}
	return ids, status, b.unknown()
}

func (s *Server) createBatchWithdrawal(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	ids, status, err := parseBatchWithdrawal(raw)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.CreateBatchWithdrawal(r.Context(), who, ids, status, h)
	})
}

func (s *Server) listBatchWithdrawals(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedList(w, r, who, func(p store.Page) (wire.List, error) {
		return s.Svc.ListBatchWithdrawals(r.Context(), who, r.URL.Path, p)
	})
}
