package alipaysim

import (
	"net/url"
	"strconv"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// The alipay.fund.trans.order.changed message (资金单据状态变更通知) that
// Alipay's message service sends when a transfer order is decided. It is
// an open-platform message (version 1.1): a form POST of notify_id,
// utc_timestamp (milliseconds), msg_method, app_id, version, charset,
// sign_type, sign and biz_content, the order as JSON; signed like every
// Alipay notification (all fields but sign and sign_type, sorted, RSA2).
// The merchant answers "success" as for trade notifications, and the
// retries follow the same schedule. [S]
//
// Alipay delivers messages to the app's configured gateway (应用网关)
// once the app subscribes to them; the sim sends each to the notify_url
// of the uni.transfer request that opened the order, and to nothing when
// it had none. [U]

const msgOrderChanged = "alipay.fund.trans.order.changed"

// orderChanged is the message's biz_content, in Alipay's field order.
type orderChanged struct {
	ActionType      string `json:"action_type"`
	BizScene        string `json:"biz_scene"`
	OrderID         string `json:"order_id"`
	OriginInterface string `json:"origin_interface"`
	OutBizNo        string `json:"out_biz_no"`
	PayDate         string `json:"pay_date,omitempty"`
	PayFundOrderID  string `json:"pay_fund_order_id"`
	ProductCode     string `json:"product_code"`
	Status          string `json:"status"`
	TransAmount     string `json:"trans_amount"`
	ErrorCode       string `json:"error_code,omitempty"`
	FailReason      string `json:"fail_reason,omitempty"`
}

// PayoutNotifications returns every delivery attempt of a transfer's
// order.changed messages, oldest first.
func (s *Sim) PayoutNotifications(outBizNo string) []Delivery { return s.payoutDeliveries.Of(outBizNo) }

// fundNotice builds the signed order.changed message of o as it stands;
// nil when o has no notify_url. Called with s.mu held.
func (s *Sim) fundNotice(o *fundOrder, now time.Time) *simkit.Notice {
	if o.notifyURL == "" {
		s.log.Info("alipaysim: no notify_url, transfer message skipped", "out_biz_no", o.outBizNo)
		return nil
	}
	biz := orderChanged{ActionType: "FINISH", BizScene: sceneDirect, OrderID: o.orderID, OriginInterface: methodTransfer,
		OutBizNo: o.outBizNo, PayFundOrderID: o.payFundOrderID, ProductCode: productTransfer, Status: o.status,
		TransAmount: yuan(o.amount), ErrorCode: o.errorCode, FailReason: o.failReason}
	if o.status == payoutSuccess {
		biz.PayDate = formatTime(o.decided)
	}
	content, err := marshal(biz)
	if err != nil {
		s.log.Error("alipaysim: encoding a transfer message", "err", err)
		return nil
	}
	v := url.Values{
		"notify_id":     {randomString(32, "0123456789abcdef")},
		"utc_timestamp": {strconv.FormatInt(now.UnixMilli(), 10)},
		"msg_method":    {msgOrderChanged},
		"app_id":        {o.appID},
		"version":       {"1.1"},
		"charset":       {"utf-8"},
		"sign_type":     {"RSA2"},
		"biz_content":   {string(content)},
	}
	sig, err := signBytes(s.key, "RSA2", []byte(signContent(v, "sign", "sign_type")))
	if err != nil {
		s.log.Error("alipaysim: signing a transfer message", "err", err)
		return nil
	}
	v.Set("sign", sig)
	rec := Delivery{NotifyID: v.Get("notify_id"), OutBizNo: o.outBizNo, PayoutStatus: o.status}
	key := o.outBizNo
	return &simkit.Notice{
		Key: key, URL: o.notifyURL, Body: []byte(v.Encode()),
		ContentType: "application/x-www-form-urlencoded; charset=utf-8",
		Attrs:       []any{"notify_id", rec.NotifyID, "msg_method", msgOrderChanged},
		Record: func(d simkit.Delivery) {
			r := rec
			r.Delivery = d
			s.payoutDeliveries.Add(key, r)
		},
	}
}
