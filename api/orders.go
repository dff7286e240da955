package api

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
)

var merchantOrderNoRe = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// uidRe: Ping++'s order uid, the merchant's customer id.
var uidRe = regexp.MustCompile(`^[0-9A-Za-z_.@-]{1,64}$`)

func parseOrderParams(raw []byte) (core.OrderParams, error) {
	var p core.OrderParams
	b, err := parseBody(raw)
	if err != nil {
		return p, err
	}
	if p.AppID, err = b.appID(); err != nil {
		return p, err
	}
	for _, part := range []func(*body, *core.OrderParams) error{orderIdentity, orderMoney, orderText, orderPage, orderPingpp} {
		if err := part(b, &p); err != nil {
			return p, err
		}
	}
	return p, b.unknown()
}

// orderIdentity reads who and what the order is: the merchant's order
// number and customer id.
func orderIdentity(b *body, p *core.OrderParams) (err error) {
	if p.MerchantOrderNo, err = b.str("merchant_order_no", true, 0); err != nil {
		return err
	}
	if !merchantOrderNoRe.MatchString(p.MerchantOrderNo) {
		return polypay.ParamError("merchant_order_no", "merchant_order_no 须为 1-64 位字母、数字、_ 或 -")
	}
	if p.UID, err = b.str("uid", false, 64); err != nil {
		return err
	}
	if p.UID != "" && !uidRe.MatchString(p.UID) {
		return polypay.ParamError("uid", "uid 须为 1-64 位字母、数字或 _ . @ -")
	}
	return nil
}

func orderMoney(b *body, p *core.OrderParams) (err error) {
	if p.Amount, _, err = b.int("amount", true); err != nil {
		return err
	}
	if p.Amount <= 0 || p.Amount > core.MaxAmount {
		return polypay.ParamError("amount", "amount 须为 1 到 %d 之间的整数（单位：分）", core.MaxAmount)
	}
	if p.Currency, err = b.str("currency", true, 3); err != nil {
		return err
	}
	if p.Currency != "cny" {
		return polypay.ParamError("currency", "currency 目前只支持 cny")
	}
	return nil
}

func orderText(b *body, p *core.OrderParams) (err error) {
	if p.Subject, err = b.str("subject", true, 32); err != nil {
		return err
	}
	if p.Body, err = b.text("body", true, 128); err != nil {
		return err
	}
	if p.Description, err = b.text("description", false, 255); err != nil {
		return err
	}
	if p.Metadata, err = b.object("metadata", true, 10); err != nil {
		return err
	}
	if len(p.Metadata) > 1000 {
		return polypay.ParamError("metadata", "metadata 总长度不能超过 1000")
	}
	return nil
}

// orderPage reads how the cashier page behaves: channels offered, where
// it returns, when it expires.
func orderPage(b *body, p *core.OrderParams) (err error) {
	if v, ok := b.raw("allowed_channels"); ok {
		if err := json.Unmarshal(v, &p.Channels); err != nil {
			return polypay.ParamError("allowed_channels", "allowed_channels 须为渠道名的数组，如 [\"alipay_qr\",\"wx_pub_qr\"]")
		}
	}
	if p.ReturnURL, err = b.str("return_url", false, 1024); err != nil {
		return err
	}
	if p.ReturnURL != "" {
		u, err := url.Parse(p.ReturnURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return polypay.ParamError("return_url", "return_url 须为不含用户信息的 http(s) 地址")
		}
	}
	p.TimeExpire, _, err = b.int("time_expire", false)
	return err
}

// orderPingpp reads Ping++'s own order parameters: the customer's IP, the
// user's coupon, the amount after it, and the receiving and serving apps.
// Profit sharing: royalty_users ([{user, amount}]) or royalty_template.
func orderPingpp(b *body, p *core.OrderParams) (err error) {
	if p.ClientIP, err = b.str("client_ip", false, 45); err != nil {
		return err
	}
	if p.ClientIP != "" && net.ParseIP(p.ClientIP) == nil {
		return polypay.ParamError("client_ip", "client_ip 不是有效的 IP 地址")
	}
	if p.Coupon, err = b.str("coupon", false, 64); err != nil {
		return err
	}
	if p.ActualAmount, _, err = b.int("actual_amount", false); err != nil {
		return err
	}
	if p.ReceiptApp, err = b.str("receipt_app", false, 64); err != nil {
		return err
	}
	if p.ServiceApp, err = b.str("service_app", false, 64); err != nil {
		return err
	}
	if p.RoyaltyTemplate, err = b.str("royalty_template", false, 64); err != nil {
		return err
	}
	if raw, ok := b.raw("royalty_users"); ok {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if dec.Decode(&p.RoyaltyUsers) != nil {
			return polypay.ParamError("royalty_users", "royalty_users 须为 [{user, amount}] 数组")
		}
	}
	return nil
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request, who core.Caller, raw []byte) error {
	p, err := parseOrderParams(raw)
	if err != nil {
		return err
	}
	out, err := s.Svc.CreateOrder(r.Context(), who, p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	out, err := s.Svc.GetOrder(r.Context(), who, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) listOrderCharges(w http.ResponseWriter, r *http.Request, who core.Caller, _ []byte) error {
	out, err := s.Svc.OrderCharges(r.Context(), who, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}
