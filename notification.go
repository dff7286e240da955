package polypay

import (
	"net/http"
	"strings"
)

// NotifyRequest is what a connector reads of an asynchronous notification
// the channel sent: the HTTP layer builds it from the request (see
// NewNotifyRequest), so nothing below that layer holds an *http.Request.
type NotifyRequest struct {
	// Header is the request's header (WeChat Pay's Wechatpay-Signature,
	// Stripe-Signature, PayPal's PAYPAL-TRANSMISSION-*).
	Header http.Header
	// Path is the URL path the notification was sent to
	// (/notify/{family}/{app}/{mode}); PayPal's sandbox webhooks are
	// looked up by it.
	Path string
	// Body is the raw body, read once by the HTTP layer.
	Body []byte
}

// NewNotifyRequest is the NotifyRequest of r, whose body the caller already
// read into body (r.Body is not read).
func NewNotifyRequest(r *http.Request, body []byte) NotifyRequest {
	req := NotifyRequest{Header: r.Header, Body: body}
	if r.URL != nil {
		req.Path = r.URL.Path
	}
	return req
}

// NotifyReply is the answer a channel expects to a notification, in its
// own format (Channel.Ack): a plain value the HTTP layer writes.
type NotifyReply struct {
	Status      int
	ContentType string // "" sets no Content-Type
	Body        []byte // nil writes no body
}

// WriteResponse writes the reply to w.
func (r NotifyReply) WriteResponse(w http.ResponseWriter) {
	if r.ContentType != "" {
		w.Header().Set("Content-Type", r.ContentType)
	}
	w.WriteHeader(r.Status)
	if len(r.Body) > 0 {
		_, _ = w.Write(r.Body)
	}
}

// NotifyOutcome is what became of a channel's word about a charge or
// refund (an asynchronous notification, or the answer to a query), as the
// notification log records it: one of the constants below, possibly
// followed by ": " and a detail ("ignored: charge is closed",
// "rejected_amount: channel says 1, charge is 100"); see With and Kind.
type NotifyOutcome string

// The outcomes. The first six are acknowledged to the channel (Acked);
// the others ask it to send the notification again.
const (
	OutcomeApplied NotifyOutcome = "applied" // the state changed
	// OutcomeAppliedAfterClose: a payment of a charge closed meanwhile,
	// recorded (the money is real) and flagged for the merchant.
	OutcomeAppliedAfterClose NotifyOutcome = "applied_after_close"
	OutcomeDuplicate         NotifyOutcome = "duplicate" // already applied
	OutcomeClosed            NotifyOutcome = "closed"    // the charge was closed unpaid (failed or closed at the channel)
	OutcomeNoChange          NotifyOutcome = "no_change" // a state that changes nothing (pending)
	// OutcomeIgnored: a word the charge's state does not take (an
	// authorization of a charge created with capture, a payment of a
	// reversed charge); the detail says which.
	OutcomeIgnored NotifyOutcome = "ignored"

	OutcomeRejectedSignature     NotifyOutcome = "rejected_signature"      // did not verify
	OutcomeRejectedMalformed     NotifyOutcome = "rejected_malformed"      // verified or not, could not be parsed
	OutcomeRejectedForeign       NotifyOutcome = "rejected_foreign"        // names another channel merchant
	OutcomeRejectedUnknownCharge NotifyOutcome = "rejected_unknown_charge" // no such charge in this app and mode
	OutcomeRejectedUnknownRefund NotifyOutcome = "rejected_unknown_refund" // no such refund of the charge
	OutcomeRejectedAmount        NotifyOutcome = "rejected_amount"         // the amount is not the charge's or refund's
	// OutcomeRejectedMismatch: about another trade (trade id, currency,
	// mode) than the charge's; see core.MatchTrade.
	OutcomeRejectedMismatch NotifyOutcome = "rejected_mismatch"
	OutcomeError            NotifyOutcome = "error" // a failure of ours; the channel sends it again
)

// With is the outcome with a detail: "ignored: charge is closed".
func (o NotifyOutcome) With(detail string) NotifyOutcome {
	return o + ": " + NotifyOutcome(detail)
}

// Label is the outcome without its detail, as the notification metrics
// label it: "ignored" for "ignored: charge is closed".
func (o NotifyOutcome) Label() string {
	label, _, _ := strings.Cut(string(o), ":")
	return label
}

// Kind is the outcome's constant, its detail dropped.
func (o NotifyOutcome) Kind() NotifyOutcome { return NotifyOutcome(o.Label()) }

// Acked reports whether the channel is told the notification was taken:
// applied, already applied, or nothing (more) to apply. Everything else,
// rejections and errors, asks the channel to send it again, so a genuine
// notification that met a transient failure is retried.
func (o NotifyOutcome) Acked() bool {
	switch o.Kind() {
	case OutcomeApplied, OutcomeAppliedAfterClose, OutcomeDuplicate, OutcomeClosed, OutcomeNoChange, OutcomeIgnored:
		return true
	}
	return false
}

// Applied reports whether the outcome changed the charge or refund as
// the channel said: applied, or applied after close.
func (o NotifyOutcome) Applied() bool {
	k := o.Kind()
	return k == OutcomeApplied || k == OutcomeAppliedAfterClose
}

// Ignored reports whether the word was acknowledged without being
// applied because the charge's state does not take it.
func (o NotifyOutcome) Ignored() bool { return o.Kind() == OutcomeIgnored }

// Rejected reports whether the notification was refused (rejected_*):
// unverified, malformed, or about something that is not the charge's.
func (o NotifyOutcome) Rejected() bool { return strings.HasPrefix(string(o), "rejected_") }

// Anomalous reports whether the outcome is worth a warning: the word was
// not taken as it came (ignored, rejected, or an error of ours).
func (o NotifyOutcome) Anomalous() bool { return !o.Acked() || o.Ignored() }
