// Package wire renders polypay's objects in Ping++ v1's JSON format: field
// names, field order, null-vs-zero and the list envelope exactly as the
// Ping++ SDKs decode them (see shared/spec/pingpp-compat.md §2, §5.3).
package wire

import (
	"encoding/json"

	"github.com/polypay/polypay"
)

// List is Ping++'s list envelope; url includes /v1.
type List struct {
	Object  string `json:"object"`
	URL     string `json:"url"`
	HasMore bool   `json:"has_more"`
	Data    []any  `json:"data"`
}

// NewList builds a list; data is never null.
func NewList(url string, hasMore bool, data []any) List {
	if data == nil {
		data = []any{}
	}
	return List{Object: "list", URL: url, HasMore: hasMore, Data: data}
}

// Charge is the Ping++ charge object, fields in Ping++'s order.
type Charge struct {
	ID             string          `json:"id"`
	Object         string          `json:"object"`
	Created        int64           `json:"created"`
	Livemode       bool            `json:"livemode"`
	Paid           bool            `json:"paid"`
	Refunded       bool            `json:"refunded"`
	Reversed       bool            `json:"reversed"`
	App            string          `json:"app"`
	Channel        string          `json:"channel"`
	OrderNo        string          `json:"order_no"`
	ClientIP       string          `json:"client_ip"`
	Amount         int64           `json:"amount"`
	AmountSettle   int64           `json:"amount_settle"`
	Currency       string          `json:"currency"`
	Subject        string          `json:"subject"`
	Body           string          `json:"body"`
	Extra          json.RawMessage `json:"extra"`
	TimePaid       *int64          `json:"time_paid"`
	TimeExpire     int64           `json:"time_expire"`
	TimeSettle     *int64          `json:"time_settle"`
	TransactionNo  *string         `json:"transaction_no"`
	Refunds        List            `json:"refunds"`
	AmountRefunded int64           `json:"amount_refunded"`
	FailureCode    *string         `json:"failure_code"`
	FailureMsg     *string         `json:"failure_msg"`
	Metadata       json.RawMessage `json:"metadata"`
	Credential     json.RawMessage `json:"credential"`
	Description    *string         `json:"description"`
	// polypay extensions, present only where they apply.
	Capture          *bool                  `json:"capture,omitempty"`            // false: a pre-authorization
	Authorized       *bool                  `json:"authorized,omitempty"`         // funds held (pre-authorization)
	TimeAuthorized   *int64                 `json:"time_authorized,omitempty"`    // when the hold was placed
	TimeHoldExpire   *int64                 `json:"time_hold_expire,omitempty"`   // when polypay voids an uncaptured hold
	AmountCaptured   *int64                 `json:"amount_captured,omitempty"`    // taken from the hold
	ThreeDSecure     *polypay.ThreeDSResult `json:"three_d_secure,omitempty"`     // 3-D Secure outcome of a card charge
	ProcessorAttempt json.RawMessage        `json:"processor_attempts,omitempty"` // card processors tried, in order
	Risk             *ChargeRisk            `json:"risk,omitempty"`               // a risk review, when one was opened
}

// ChargeRisk is a charge's risk review: its state (open, approved,
// rejected, expired) and how the charge waits while it is open: held as an
// authorization, or unsent (no credential until approved).
type ChargeRisk struct {
	Review string `json:"review"`
	Hold   string `json:"hold"` // authorization | unsent
}

func nullInt(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func nullStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func object(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "[]" {
		return json.RawMessage("{}")
	}
	return raw
}

// FromCharge renders a charge with the given embedded refunds page.
func FromCharge(c *polypay.Charge, refunds []*polypay.Refund, refundsMore bool) *Charge {
	w := &Charge{
		ID: c.ID, Object: "charge", Created: c.Created, Livemode: c.Livemode, Paid: c.Paid(),
		Refunded: c.Refunded, Reversed: c.Status == polypay.ChargeReversed, App: c.AppID, Channel: c.Channel,
		OrderNo: c.OrderNo, ClientIP: c.ClientIP, Amount: c.Amount, AmountSettle: c.AmountSettle,
		Currency: c.Currency, Subject: c.Subject, Body: c.Body, Extra: object(c.Extra),
		TimePaid: nullInt(c.TimePaid), TimeExpire: c.TimeExpire, TransactionNo: nullStr(c.TransactionNo),
		AmountRefunded: c.AmountRefunded, FailureCode: nullStr(c.FailureCode), FailureMsg: nullStr(c.FailureMsg),
		Metadata: object(c.Metadata), Description: nullStr(c.Description),
	}
	data := make([]any, 0, len(refunds))
	for _, r := range refunds {
		data = append(data, FromRefund(r))
	}
	w.Refunds = NewList("/v1/charges/"+c.ID+"/refunds", refundsMore, data)
	w.Credential = Credential(c)
	if c.AuthOnly {
		f, held := false, c.Status == polypay.ChargeAuthorized
		w.Capture, w.Authorized = &f, &held
		w.TimeAuthorized = nullInt(c.TimeAuthorized)
		if held {
			w.TimeHoldExpire = nullInt(c.HoldExpire)
		}
		if c.Paid() {
			w.AmountCaptured = &c.AmountCaptured
		}
	}
	w.ThreeDSecure = c.ThreeDS
	if c.RiskReview != "" {
		w.Risk = &ChargeRisk{Review: c.RiskReview, Hold: "unsent"}
		if c.AuthOnly {
			w.Risk.Hold = "authorization"
		}
	}
	if len(c.Attempts) > 0 {
		w.ProcessorAttempt = c.Attempts
	}
	return w
}

// Credential renders {"object":"credential","<channel>":<value>} while the
// charge awaits payment, and {} afterwards as Ping++ does.
func Credential(c *polypay.Charge) json.RawMessage {
	if c.Status != polypay.ChargePending || len(c.Credential) == 0 {
		return json.RawMessage("{}")
	}
	ch, _ := json.Marshal(c.Channel)
	out := make([]byte, 0, len(c.Credential)+len(ch)+32)
	out = append(out, `{"object":"credential",`...)
	out = append(out, ch...)
	out = append(out, ':')
	out = append(out, c.Credential...)
	out = append(out, '}')
	return out
}

// Refund is the Ping++ refund object.
type Refund struct {
	ID            string          `json:"id"`
	Object        string          `json:"object"`
	OrderNo       string          `json:"order_no"`
	Amount        int64           `json:"amount"`
	Created       int64           `json:"created"`
	Succeed       bool            `json:"succeed"`
	Status        string          `json:"status"`
	TimeSucceed   *int64          `json:"time_succeed"`
	Description   string          `json:"description"`
	FailureCode   *string         `json:"failure_code"`
	FailureMsg    *string         `json:"failure_msg"`
	Metadata      json.RawMessage `json:"metadata"`
	Charge        string          `json:"charge"`
	ChargeOrderNo string          `json:"charge_order_no"`
	TransactionNo *string         `json:"transaction_no"`
	FundingSource *string         `json:"funding_source,omitempty"`
	Extra         json.RawMessage `json:"extra"`
	Currency      string          `json:"currency"`
	Livemode      bool            `json:"livemode"`
}

// FromRefund renders a refund.
func FromRefund(r *polypay.Refund) *Refund {
	return &Refund{
		ID: r.ID, Object: "refund", OrderNo: r.OrderNo, Amount: r.Amount, Created: r.Created,
		Succeed: r.Status == polypay.RefundSucceeded, Status: string(r.Status), TimeSucceed: nullInt(r.TimeSucceed),
		Description: r.Description, FailureCode: nullStr(r.FailureCode), FailureMsg: nullStr(r.FailureMsg),
		Metadata: object(r.Metadata), Charge: r.ChargeID, ChargeOrderNo: r.ChargeOrderNo,
		TransactionNo: nullStr(r.TransactionNo), FundingSource: nullStr(r.FundingSource), Extra: object(r.Extra),
		Currency: r.Currency, Livemode: r.Livemode,
	}
}

// Event is the Ping++ event object, fields in the order of Ping++'s samples.
type Event struct {
	ID              string    `json:"id"`
	Created         int64     `json:"created"`
	Livemode        bool      `json:"livemode"`
	Type            string    `json:"type"`
	Data            EventData `json:"data"`
	Object          string    `json:"object"`
	PendingWebhooks int       `json:"pending_webhooks"`
	Request         *string   `json:"request"`
}

// EventData wraps the event's object.
type EventData struct {
	Object json.RawMessage `json:"object"`
}

// FromEvent renders an event.
func FromEvent(e *polypay.Event, pending int) *Event {
	return &Event{ID: e.ID, Created: e.Created, Livemode: e.Livemode, Type: e.Type,
		Data: EventData{Object: e.Object}, Object: "event", PendingWebhooks: pending, Request: nullStr(e.RequestID)}
}

// WebhookEndpoint is polypay's webhook endpoint object.
type WebhookEndpoint struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	App      string `json:"app"`
	URL      string `json:"url"`
	Livemode bool   `json:"livemode"`
	Created  int64  `json:"created"`
}

// FromWebhookEndpoint renders an endpoint.
func FromWebhookEndpoint(w *polypay.WebhookEndpoint) *WebhookEndpoint {
	return &WebhookEndpoint{ID: w.ID, Object: "webhook_endpoint", App: w.AppID, URL: w.URL, Livemode: w.Livemode, Created: w.Created}
}

// Marshal encodes without HTML escaping, so non-ASCII and <>& stay as sent
// (merchants verify signatures over the exact bytes).
func Marshal(v any) ([]byte, error) {
	var b jsonBuffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := b.buf
	if n := len(out); n > 0 && out[n-1] == '\n' {
		out = out[:n-1]
	}
	return out, nil
}

type jsonBuffer struct{ buf []byte }

func (b *jsonBuffer) Write(p []byte) (int, error) { b.buf = append(b.buf, p...); return len(p), nil }
