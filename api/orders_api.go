package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// Ping++'s order API beyond create and retrieve: list, update or cancel,
// pay (channel, balance, or split), one charge, and order refunds.
func (s *Server) orderRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /v1/orders", s.authed(s.listOrders))
	m.HandleFunc("PUT /v1/orders/{id}", s.authed(s.updateOrder))
	m.HandleFunc("POST /v1/orders/{id}/pay", s.authed(s.payOrder))
	m.HandleFunc("GET /v1/orders/{id}/charges/{ch}", s.authed(s.getOrderCharge))
	m.HandleFunc("POST /v1/orders/{id}/order_refunds", s.authed(s.createOrderRefund))
	m.HandleFunc("GET /v1/orders/{id}/order_refunds", s.authed(s.listOrderRefunds))
	m.HandleFunc("GET /v1/orders/{id}/order_refunds/{re}", s.authed(s.getOrderRefund))
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	filters := []string{"uid", "merchant_order_no", "status", "paid", "refunded"}
	return s.pagedQuery(w, r, who, filters, func(q query, p store.Page) (wire.List, error) {
		f := store.OrderFilter{UID: q.v.Get("uid"), MerchantOrderNo: q.v.Get("merchant_order_no"), Status: q.v.Get("status")}
		var err error
		if f.Paid, err = q.bool("paid"); err != nil {
			return wire.List{}, err
		}
		if f.Refunded, err = q.bool("refunded"); err != nil {
			return wire.List{}, err
		}
		switch polypay.OrderStatus(f.Status) {
		case "", polypay.OrderCreated, polypay.OrderPaid, polypay.OrderCanceled:
		default:
			return wire.List{}, polypay.ParamError("status", "status 须为 created、paid 或 canceled")
		}
		return s.Svc.ListOrders(r.Context(), who, r.URL.Path, f, p)
	})
}

func parseOrderUpdate(raw []byte) (core.OrderUpdate, error) {
	var p core.OrderUpdate
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.Status, err = b.str("status", false, 16); err != nil {
		return p, err
	}
	if p.Status != "" && p.Status != string(polypay.OrderCanceled) {
		return p, polypay.ParamError("status", "status 只能为 canceled")
	}
	if _, err := optUser(b); err != nil {
		return p, err
	}
	if v, ok, err := b.int("amount", false); err != nil {
		return p, err
	} else if ok {
		if v <= 0 || v > core.MaxAmount {
			return p, polypay.ParamError("amount", "amount 须为 1 到 %d 之间的整数（单位：分）", core.MaxAmount)
		}
		p.Amount = &v
	}
	if err := orderUpdateText(b, &p); err != nil {
		return p, err
	}
	if p.TimeExpire, _, err = b.int("time_expire", false); err != nil {
		return p, err
	}
	return p, b.unknown()
}

// optUser reads the user Ping++'s Go SDK sends with a cancel; it must be
// an id when present and selects nothing (the order names its user).
func optUser(b *body) (string, error) {
	v, err := b.str("user", false, 64)
	if err == nil && v != "" && !uidRe.MatchString(v) {
		err = polypay.ParamError("user", "user 须为 1-64 位字母、数字或 _ . @ -")
	}
	return v, err
}

func orderUpdateText(b *body, p *core.OrderUpdate) error {
	for name, dst := range map[string]**string{"subject": &p.Subject, "body": &p.Body, "description": &p.Description} {
		max := map[string]int{"subject": 32, "body": 128, "description": 255}[name]
		if _, ok := b.raw(name); !ok {
			continue
		}
		v, err := b.text(name, name != "description", max)
		if err != nil {
			return err
		}
		*dst = &v
	}
	if _, ok := b.raw("metadata"); ok {
		meta, err := b.object("metadata", true, 10)
		if err != nil {
			return err
		}
		p.Metadata = meta
	}
	return nil
}

func (s *Server) updateOrder(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseOrderUpdate(raw)
	if err != nil {
		return err
	}
	out, err := s.Svc.UpdateOrder(r.Context(), who, r.PathValue("id"), p)
	return s.answer(w, r, out, err)
}

func parseOrderPay(raw []byte) (core.OrderPayParams, error) {
	var p core.OrderPayParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.Channel, err = b.str("channel", false, 32); err != nil {
		return p, err
	}
	if v, ok, err := b.int("charge_amount", false); err != nil {
		return p, err
	} else if ok {
		p.ChargeAmount = &v
	}
	if p.BalanceAmount, _, err = b.int("balance_amount", false); err != nil {
		return p, err
	}
	if v, ok := b.raw("extra"); ok {
		if err := json.Unmarshal(v, &p.Extra); err != nil {
			return p, polypay.ParamError("extra", "参数 extra 必须是 JSON 对象")
		}
	}
	if p.TimeExpire, _, err = b.int("time_expire", false); err != nil {
		return p, err
	}
	if _, ok := b.raw("charge_order_no"); ok {
		if p.ChargeOrderNo, err = alnumNo(b, "charge_order_no", 1, 64); err != nil {
			return p, err
		}
	}
	return p, b.unknown()
}

func (s *Server) payOrder(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseOrderPay(raw)
	if err != nil {
		return err
	}
	out, err := s.Svc.PayOrderAPI(r.Context(), who, r.PathValue("id"), p)
	return s.answer(w, r, out, err)
}

func (s *Server) getOrderCharge(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	out, err := s.Svc.GetOrderCharge(r.Context(), who, r.PathValue("id"), r.PathValue("ch"))
	return s.answer(w, r, out, err)
}

func parseOrderRefund(raw []byte) (core.OrderRefundParams, error) {
	var p core.OrderRefundParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.Charge, err = b.str("charge", false, 64); err != nil {
		return p, err
	}
	if v, ok, err := b.int("charge_amount", false); err != nil {
		return p, err
	} else if ok {
		p.ChargeAmount = &v
	}
	if p.Description, err = b.text("description", false, 255); err != nil {
		return p, err
	}
	if p.Metadata, err = b.object("metadata", true, 10); err != nil {
		return p, err
	}
	if p.RefundMode, err = b.str("refund_mode", false, 32); err != nil {
		return p, err
	}
	if p.FundingSource, err = b.str("funding_source", false, 32); err != nil {
		return p, err
	}
	if raw, ok := b.raw("royalty_users"); ok {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if dec.Decode(&p.RoyaltyUsers) != nil || len(p.RoyaltyUsers) > maxRefundRoyaltyUsers {
			return p, polypay.ParamError("royalty_users", "royalty_users 须为 [{user, amount_refunded}] 数组，最多 20 项")
		}
	}
	return p, b.unknown()
}

// maxRefundRoyaltyUsers bounds an order refund's royalty_users.
const maxRefundRoyaltyUsers = 20

func (s *Server) createOrderRefund(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseOrderRefund(raw)
	if err != nil {
		return err
	}
	return s.idempotent(w, r, who, raw, func(h core.Hook) (any, error) {
		return s.Svc.RefundOrder(r.Context(), who, r.PathValue("id"), p, h)
	})
}

func (s *Server) listOrderRefunds(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	return s.pagedQuery(w, r, who, nil, func(_ query, p store.Page) (wire.List, error) {
		return s.Svc.ListOrderRefunds(r.Context(), who, r.URL.Path, r.PathValue("id"), p)
	})
}

func (s *Server) getOrderRefund(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	out, err := s.Svc.GetOrderRefund(r.Context(), who, r.PathValue("id"), r.PathValue("re"))
	return s.answer(w, r, out, err)
}
