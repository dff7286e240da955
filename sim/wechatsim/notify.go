package wechatsim

import (
	"net/http"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// Delivery is one attempt to deliver a notification. Acked is HTTP 200 or
// 204 (v2 notifications: 200 with return_code SUCCESS); anything else (or
// no answer) is retried.
type Delivery struct {
	simkit.Delivery
	ID string // the notification id; retries repeat it ("" for v2 notifications)
	// EventType is TRANSACTION.SUCCESS or REFUND.SUCCESS; for the v2
	// entrusted debit notifications TRANSACTION.SUCCESS (a debit paid),
	// CONTRACT.ADD or CONTRACT.DELETE (ContractNotifications).
	EventType   string
	OutRefundNo string // set for refund notifications
}

// acked is WeChat Pay's acknowledgement.
func acked(status int, _ []byte) bool {
	return status == http.StatusOK || status == http.StatusNoContent
}

// Notifications returns every delivery attempt for a trade's notifications,
// oldest first.
func (s *Sim) Notifications(outTradeNo string) []Delivery { return s.deliveries.Of(outTradeNo) }

// notification is one notification before it is encrypted (under s.mu the
// merchant's APIv3 key cannot be looked up).
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
}

// transactionNotice prepares TRANSACTION.SUCCESS for a trade just paid.
// Called with s.mu held; nil when the trade has no notify_url.
func (s *Sim) transactionNotice(t *trade, now time.Time) *notification {
	if t.notifyURL == "" {
		return nil
	}
	return &notification{
		id: uuid(), mchid: t.noticeMchid(), outTradeNo: t.outTradeNo, url: t.notifyURL,
		eventType: "TRANSACTION.SUCCESS", summary: "支付成功", original: "transaction",
		createTime: formatTime(now), plaintext: t.noticeBody(),
	}
}

// refundPayload is the decrypted resource of refund notifications.
type refundPayload struct {
	Mchid               string `json:"mchid,omitempty"`
	SpMchid             string `json:"sp_mchid,omitempty"`
	SubMchid            string `json:"sub_mchid,omitempty"`
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
	to := r.mchid
	if r.spMchid != "" {
		// A provider's refund for a sub-merchant: the provider hears of it.
		p.Mchid, p.SpMchid, p.SubMchid, to = "", r.spMchid, r.mchid, r.spMchid
	}
	return &notification{
		id: uuid(), mchid: to, outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, url: r.notifyURL,
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

// notice encrypts the payload with the merchant's APIv3 key into the
// notification to send. Retries send the same body (same id, same
// ciphertext) with fresh signature headers, since receivers refuse
// timestamps older than five minutes. It looks the merchant up, so it must
// not run under s.mu; nil when n is nil or cannot be built.
func (s *Sim) notice(n *notification) *simkit.Notice {
	if n == nil {
		return nil
	}
	m, ok := s.merchant(n.mchid)
	if !ok || m == nil {
		s.log.Warn("wechatsim: merchant gone, notification dropped", "mchid", n.mchid, "id", n.id)
		return nil
	}
	res, err := encrypt(m.APIv3Key, n.original, n.plaintext)
	if err != nil {
		s.log.Error("wechatsim: encrypting a notification (APIv3 key must be 32 bytes)", "mchid", n.mchid, "err", err)
		return nil
	}
	res.OriginalType = n.original
	body := mustMarshal(envelope{
		ID: n.id, CreateTime: n.createTime, ResourceType: "encrypt-resource",
		EventType: n.eventType, Summary: n.summary, Resource: res,
	})
	rec := Delivery{ID: n.id, EventType: n.eventType, OutRefundNo: n.outRefundNo}
	return &simkit.Notice{
		Key: n.outTradeNo, URL: n.url, Body: body, ContentType: "application/json",
		Header: func(h http.Header) error {
			ts, nonce := s.now().Unix(), randomString(32, alnum)
			sig, err := s.sign(ts, nonce, body)
			h.Set("Wechatpay-Timestamp", itoa(ts))
			h.Set("Wechatpay-Nonce", nonce)
			h.Set("Wechatpay-Signature", sig)
			h.Set("Wechatpay-Serial", s.keyID)
			h.Set("Wechatpay-Signature-Type", authScheme)
			return err
		},
		Attrs: []any{"event", n.eventType, "id", n.id},
		Record: func(d simkit.Delivery) {
			r := rec
			r.Delivery = d
			s.deliveries.Add(n.outTradeNo, r)
		},
	}
}
