package alipaysim

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// Delivery is one attempt to deliver an asynchronous notification.
type Delivery struct {
	NotifyID    string
	Attempt     int // 1 for the first delivery, then one per retry
	At          time.Time
	URL         string
	TradeStatus string
	OutBizNo    string // set for refund notifications
	StatusCode  int    // 0 when no HTTP response came back
	Reply       string // the start of the reply body
	Err         string // transport error, if any
	Acked       bool   // HTTP 200 with body exactly "success"
}

// Notifications returns every delivery attempt for a trade's notifications,
// oldest first.
func (s *Sim) Notifications(outTradeNo string) []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries[outTradeNo]...)
}

// notification is a signed notification ready to be (re)sent. Retries send
// the very same body, notify_id included, as Alipay does.
type notification struct {
	outTradeNo  string
	url         string
	notifyID    string
	tradeStatus string
	outBizNo    string
	body        string
}

// notice builds the signed notification for a trade's current state, and for
// a refund when rf is set. It returns nil when the trade has no notify_url:
// real Alipay would use the app's configured gateway, the sim has none.
// Called with s.mu held.
func (s *Sim) notice(t *trade, rf *refundRecord, now time.Time) *notification {
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
	set("app_id", t.appID)
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
	n := &notification{
		outTradeNo:  t.outTradeNo,
		url:         t.notifyURL,
		notifyID:    v.Get("notify_id"),
		tradeStatus: t.status,
		body:        v.Encode(),
	}
	if rf != nil {
		n.outBizNo = rf.outRequestNo
	}
	return n
}

// spawn runs f in a goroutine that Close waits for; it does nothing once the
// sim is closed.
func (s *Sim) spawn(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spawnLocked(f)
}

// spawnLocked is spawn for callers already holding s.mu (the request
// handlers); checking closed and adding to the WaitGroup under the same lock
// Close takes is what keeps Add from racing with Wait.
func (s *Sim) spawnLocked(f func()) {
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// deliver makes one attempt and records it. Only HTTP 200 with the body
// exactly "success" acknowledges: Alipay retries on anything else, including
// "SUCCESS" or "success\n".
func (s *Sim) deliver(ctx context.Context, n *notification, attempt int) bool {
	if s.ctx.Err() != nil {
		return false // closed: nothing is sent any more
	}
	d := Delivery{
		NotifyID:    n.notifyID,
		Attempt:     attempt,
		At:          s.now(),
		URL:         n.url,
		TradeStatus: n.tradeStatus,
		OutBizNo:    n.outBizNo,
	}
	s.mu.Lock()
	lost := s.Hooks.Lost(n.outTradeNo)
	s.mu.Unlock()
	var req *http.Request
	err := simkit.ErrLost
	if !lost {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, n.url, strings.NewReader(n.body))
	}
	if err == nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		var resp *http.Response
		if resp, err = s.client.Do(req); err == nil {
			reply, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
			resp.Body.Close()
			d.StatusCode = resp.StatusCode
			d.Reply = string(reply)
			d.Acked = resp.StatusCode == http.StatusOK && string(reply) == "success"
		}
	}
	if err != nil {
		d.Err = err.Error()
	}
	s.mu.Lock()
	s.deliveries[n.outTradeNo] = append(s.deliveries[n.outTradeNo], d)
	s.mu.Unlock()
	s.log.Info("alipaysim: notification delivered", "out_trade_no", n.outTradeNo, "notify_id", n.notifyID,
		"attempt", attempt, "status", d.StatusCode, "acked", d.Acked, "err", d.Err)
	return d.Acked
}

// retryLoop resends an unacknowledged notification after each gap of the
// Retry schedule until it is acknowledged, the schedule runs out, or the sim
// is closed.
func (s *Sim) retryLoop(n *notification) {
	for i, gap := range s.retry {
		timer := time.NewTimer(gap)
		select {
		case <-s.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if s.deliver(s.ctx, n, i+2) {
			return
		}
	}
	s.log.Warn("alipaysim: notification never acknowledged, giving up", "out_trade_no", n.outTradeNo, "notify_id", n.notifyID)
}
