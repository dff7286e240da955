package wechatsim

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// Delivery is one attempt to deliver a notification.
type Delivery struct {
	ID          string // the notification id; retries repeat it
	EventType   string // TRANSACTION.SUCCESS, REFUND.SUCCESS
	OutRefundNo string // set for refund notifications
	Attempt     int    // 1 for the first delivery, then one per retry
	At          time.Time
	URL         string
	StatusCode  int    // 0 when no HTTP response came back
	Reply       string // the start of the reply body
	Err         string // transport error, if any
	Acked       bool   // HTTP 200 or 204
}

// Notifications returns every delivery attempt for a trade's notifications,
// oldest first.
func (s *Sim) Notifications(outTradeNo string) []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries[outTradeNo]...)
}

// notification is one notification to (re)send. Retries send the same body
// (same id, same ciphertext) with fresh signature headers, since receivers
// refuse timestamps older than five minutes.
type notification struct {
	id          string
	mchid       string
	outTradeNo  string
	outRefundNo string
	url         string
	eventType   string
	summary     string
	original    string // original_type and associated_data
	createTime  string
	plaintext   []byte
	body        []byte // encrypted envelope, built on first delivery
}

// transactionNotice prepares TRANSACTION.SUCCESS for a trade just paid.
// Called with s.mu held; nil when the trade has no notify_url.
func (s *Sim) transactionNotice(t *trade, now time.Time) *notification {
	if t.notifyURL == "" {
		return nil
	}
	return &notification{
		id: uuid(), mchid: t.mchid, outTradeNo: t.outTradeNo, url: t.notifyURL,
		eventType: "TRANSACTION.SUCCESS", summary: "支付成功", original: "transaction",
		createTime: formatTime(now), plaintext: mustMarshal(transactionOf(t)),
	}
}

// refundPayload is the decrypted resource of refund notifications.
type refundPayload struct {
	Mchid               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time,omitempty"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

// refundNotice prepares REFUND.SUCCESS. Called with s.mu held; nil when the
// refund has no notify_url.
func (s *Sim) refundNotice(r *refund, now time.Time) *notification {
	if r.notifyURL == "" {
		return nil
	}
	p := refundPayload{
		Mchid: r.mchid, OutTradeNo: r.outTradeNo, TransactionID: r.transactionID,
		OutRefundNo: r.outRefundNo, RefundID: r.refundID, RefundStatus: r.status,
		SuccessTime: formatTime(r.succeeded), UserReceivedAccount: "支付用户零钱",
	}
	p.Amount.Total, p.Amount.Refund, p.Amount.PayerTotal, p.Amount.PayerRefund = r.total, r.amount, r.total, r.amount
	return &notification{
		id: uuid(), mchid: r.mchid, outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, url: r.notifyURL,
		eventType: "REFUND.SUCCESS", summary: "退款成功", original: "refund",
		createTime: formatTime(now), plaintext: mustMarshal(p),
	}
}

// envelope is the notification body.
type envelope struct {
	ID           string   `json:"id"`
	CreateTime   string   `json:"create_time"`
	ResourceType string   `json:"resource_type"`
	EventType    string   `json:"event_type"`
	Summary      string   `json:"summary"`
	Resource     resource `json:"resource"`
}

// build encrypts the payload with the merchant's APIv3 key. It looks the
// merchant up, so it must not run under s.mu.
func (s *Sim) build(n *notification) bool {
	if n.body != nil {
		return true
	}
	m, ok := s.merchant(n.mchid)
	if !ok || m == nil {
		s.log.Warn("wechatsim: merchant gone, notification dropped", "mchid", n.mchid, "id", n.id)
		return false
	}
	res, err := encrypt(m.APIv3Key, n.original, n.plaintext)
	if err != nil {
		s.log.Error("wechatsim: encrypting a notification (APIv3 key must be 32 bytes)", "mchid", n.mchid, "err", err)
		return false
	}
	res.OriginalType = n.original
	n.body = mustMarshal(envelope{
		ID: n.id, CreateTime: n.createTime, ResourceType: "encrypt-resource",
		EventType: n.eventType, Summary: n.summary, Resource: res,
	})
	return true
}

// spawn runs f in a goroutine that Close waits for; it does nothing once the
// sim is closed.
func (s *Sim) spawn(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// deliver makes one attempt and records it. HTTP 200 or 204 acknowledges;
// anything else (or no answer) is retried.
func (s *Sim) deliver(ctx context.Context, n *notification, attempt int) bool {
	if s.ctx.Err() != nil || !s.build(n) {
		return false
	}
	now := s.now()
	d := Delivery{ID: n.id, EventType: n.eventType, OutRefundNo: n.outRefundNo, Attempt: attempt, At: now, URL: n.url}
	ts, nonce := now.Unix(), randomString(32, alnum)
	sig, err := s.sign(ts, nonce, n.body)
	s.mu.Lock()
	if s.Hooks.Lost(n.outTradeNo) {
		err = simkit.ErrLost
	}
	s.mu.Unlock()
	var req *http.Request
	if err == nil {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(n.body))
	}
	if err == nil {
		h := req.Header
		h.Set("Content-Type", "application/json")
		h.Set("Wechatpay-Timestamp", itoa(ts))
		h.Set("Wechatpay-Nonce", nonce)
		h.Set("Wechatpay-Signature", sig)
		h.Set("Wechatpay-Serial", s.keyID)
		h.Set("Wechatpay-Signature-Type", authScheme)
		var resp *http.Response
		if resp, err = s.client.Do(req); err == nil {
			reply, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
			resp.Body.Close()
			d.StatusCode, d.Reply = resp.StatusCode, string(reply)
			d.Acked = resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent
		}
	}
	if err != nil {
		d.Err = err.Error()
	}
	s.mu.Lock()
	s.deliveries[n.outTradeNo] = append(s.deliveries[n.outTradeNo], d)
	s.mu.Unlock()
	s.log.Info("wechatsim: notification delivered", "out_trade_no", n.outTradeNo, "event", n.eventType, "id", n.id,
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
	s.log.Warn("wechatsim: notification never acknowledged, giving up", "out_trade_no", n.outTradeNo, "id", n.id)
}
