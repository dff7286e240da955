package alipaysim

import (
	"net/http"
	"net/url"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// Delivery is one attempt to deliver an asynchronous notification. Acked
// is HTTP 200 with the body exactly "success": Alipay retries on anything
// else, including "SUCCESS" or "success\n".
type Delivery struct {
	simkit.Delivery
	NotifyID    string
	TradeStatus string
	OutBizNo    string // set for refund notifications and transfer messages
	// PayoutStatus is a transfer message's status (fund_notify.go).
	PayoutStatus string
	// NotifyType is set for agreement notifications: dut_user_sign or
	// dut_user_unsign (agreement.go).
	NotifyType string
}

// acked is Alipay's acknowledgement.
func acked(status int, reply []byte) bool {
	return status == http.StatusOK && string(reply) == "success"
}

// Notifications returns every delivery attempt for a trade's notifications,
// oldest first.
func (s *Sim) Notifications(outTradeNo string) []Delivery { return s.deliveries.Of(outTradeNo) }

// notice builds the signed notification for a trade's current state, and for
// a refund when rf is set. It returns nil when the trade has no notify_url:
// real Alipay would use the app's configured gateway, the sim has none.
// Retries send the very same body, notify_id included, as Alipay does.
// Called with s.mu held.
func (s *Sim) notice(t *trade, rf *refundRecord, now time.Time) *simkit.Notice {
	if t.notifyURL == "" {
		s.log.Info("alipaysim: no notify_url, notification skipped", "out_trade_no", t.outTradeNo)
		return nil
	}
	v := url.Values{}
	// Empty values are never sent: the Java SDK signs them and gopay drops
	// them, so an empty field would break one of the two verifiers.
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	amount := yuan(t.amount)
	set("notify_time", formatTime(now))
	set("notify_type", "trade_status_sync")
	set("notify_id", randomString(32, "0123456789abcdef"))
	set("app_id", t.notifyAppID())
	if t.isv != "" {
		set("auth_app_id", t.appID)
	}
	set("charset", "utf-8")
	set("version", "1.0")
	set("sign_type", "RSA2")
	set("trade_no", t.tradeNo)
	set("out_trade_no", t.outTradeNo)
	set("buyer_id", t.buyerID)
	set("buyer_logon_id", t.buyerLogonID)
	set("seller_id", sellerID(t.appID))
	set("trade_status", t.status)
	set("total_amount", amount)
	set("receipt_amount", amount)
	set("invoice_amount", amount)
	set("buyer_pay_amount", amount)
	set("point_amount", "0.00")
	set("subject", t.subject)
	set("body", t.body)
	set("gmt_create", formatTime(t.created))
	if !t.paidAt.IsZero() {
		set("gmt_payment", formatTime(t.paidAt))
		set("fund_bill_list", `[{"amount":"`+amount+`","fundChannel":"ALIPAYACCOUNT"}]`)
	}
	if t.status == tradeClosed {
		set("gmt_close", formatTime(t.closedAt))
	}
	set("passback_params", t.passback)
	if rf != nil {
		set("out_biz_no", rf.outRequestNo)
		set("refund_fee", yuan(t.refunded)) // cumulative, not this refund's amount
		set("gmt_refund", formatMillis(rf.at))
	}
	sig, err := signBytes(s.key, "RSA2", []byte(signContent(v, "sign", "sign_type")))
	if err != nil {
		s.log.Error("alipaysim: signing a notification", "err", err)
		return nil
	}
	v.Set("sign", sig)
	rec := Delivery{NotifyID: v.Get("notify_id"), TradeStatus: t.status}
	if rf != nil {
		rec.OutBizNo = rf.outRequestNo
	}
	key := t.outTradeNo
	return &simkit.Notice{
		Key: key, URL: t.notifyURL, Body: []byte(v.Encode()),
		ContentType: "application/x-www-form-urlencoded; charset=utf-8",
		Attrs:       []any{"notify_id", rec.NotifyID},
		Record: func(d simkit.Delivery) {
			r := rec
			r.Delivery = d
			s.deliveries.Add(key, r)
		},
	}
}
