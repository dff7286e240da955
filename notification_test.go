package polypay_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/polypay/polypay"
)

func TestNotifyOutcome(t *testing.T) {
	tests := []struct {
		name      string
		in        polypay.NotifyOutcome
		label     string
		acked     bool
		applied   bool
		rejected  bool
		anomalous bool
	}{
		{"Applied", polypay.OutcomeApplied, "applied", true, true, false, false},
		{"AppliedAfterClose", polypay.OutcomeAppliedAfterClose, "applied_after_close", true, true, false, false},
		{"Duplicate", polypay.OutcomeDuplicate, "duplicate", true, false, false, false},
		{"Closed", polypay.OutcomeClosed, "closed", true, false, false, false},
		{"NoChange", polypay.OutcomeNoChange, "no_change", true, false, false, false},
		{"IgnoredWithDetail", polypay.OutcomeIgnored.With("charge is reversed"), "ignored", true, false, false, true},
		{"RejectedSignature", polypay.OutcomeRejectedSignature, "rejected_signature", false, false, true, true},
		{"RejectedMalformed", polypay.OutcomeRejectedMalformed, "rejected_malformed", false, false, true, true},
		{"RejectedForeign", polypay.OutcomeRejectedForeign, "rejected_foreign", false, false, true, true},
		{"RejectedUnknownCharge", polypay.OutcomeRejectedUnknownCharge, "rejected_unknown_charge", false, false, true, true},
		{"RejectedUnknownRefund", polypay.OutcomeRejectedUnknownRefund, "rejected_unknown_refund", false, false, true, true},
		{"RejectedAmount", polypay.OutcomeRejectedAmount, "rejected_amount", false, false, true, true},
		{"RejectedAmountWithDetail", polypay.OutcomeRejectedAmount.With("channel says 1, charge is 100"), "rejected_amount", false, false, true, true},
		{"RejectedMismatchWithDetail", polypay.OutcomeRejectedMismatch.With("another trade"), "rejected_mismatch", false, false, true, true},
		{"Error", polypay.OutcomeError, "error", false, false, false, true},
		// A detail never makes an outcome acknowledged: only its kind counts.
		{"AppliedLookalike", "applied_elsewhere: x", "applied_elsewhere", false, false, false, true},
		{"Empty", "", "", false, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Label(); got != tt.label {
				t.Errorf("Label() = %q, want %q", got, tt.label)
			}
			if got := tt.in.Acked(); got != tt.acked {
				t.Errorf("Acked() = %v, want %v", got, tt.acked)
			}
			if got := tt.in.Applied(); got != tt.applied {
				t.Errorf("Applied() = %v, want %v", got, tt.applied)
			}
			if got := tt.in.Rejected(); got != tt.rejected {
				t.Errorf("Rejected() = %v, want %v", got, tt.rejected)
			}
			if got := tt.in.Anomalous(); got != tt.anomalous {
				t.Errorf("Anomalous() = %v, want %v", got, tt.anomalous)
			}
		})
	}
}

func TestNotifyOutcomeWith(t *testing.T) {
	// The notification log's text is unchanged from the bare strings.
	if got, want := polypay.OutcomeIgnored.With("charge is closed"), polypay.NotifyOutcome("ignored: charge is closed"); got != want {
		t.Errorf("With = %q, want %q", got, want)
	}
	if got, want := polypay.OutcomeIgnored.With("x").Kind(), polypay.OutcomeIgnored; got != want {
		t.Errorf("Kind = %q, want %q", got, want)
	}
}

func TestNotifyReplyWriteResponse(t *testing.T) {
	tests := []struct {
		name        string
		in          polypay.NotifyReply
		contentType string
		body        string
	}{
		{"OKBody", polypay.NotifyReply{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte("success")}, "text/plain; charset=utf-8", "success"},
		{"OKNoContent", polypay.NotifyReply{Status: http.StatusNoContent}, "", ""},
		{"RetryNoContentType", polypay.NotifyReply{Status: http.StatusInternalServerError, Body: []byte("fail")}, "", "fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tt.in.WriteResponse(w)
			if w.Code != tt.in.Status {
				t.Errorf("status = %d, want %d", w.Code, tt.in.Status)
			}
			if got := w.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := w.Body.String(); got != tt.body {
				t.Errorf("body = %q, want %q", got, tt.body)
			}
		})
	}
}

func TestNewNotifyRequest(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/notify/paypal/app_1/test?x=1", nil)
	r.Header.Set("Paypal-Transmission-Id", "t1")
	got := polypay.NewNotifyRequest(r, []byte("{}"))
	if got.Path != "/notify/paypal/app_1/test" {
		t.Errorf("Path = %q, want /notify/paypal/app_1/test", got.Path)
	}
	if got.Header.Get("PAYPAL-TRANSMISSION-ID") != "t1" {
		t.Errorf("Header = %v, want PAYPAL-TRANSMISSION-ID t1", got.Header)
	}
	if string(got.Body) != "{}" {
		t.Errorf("Body = %q, want {}", got.Body)
	}
}
