package paypal

import (
	"testing"

	"github.com/polypay/polypay"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		state   polypay.TradeState
		kind    string
		wantErr string
	}{
		{"CaptureCompleted", `{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"C1","status":"COMPLETED","amount":{"currency_code":"USD","value":"10.00"},"custom_id":"ch_1","payee":{"merchant_id":"M1"}}}`, polypay.TradePaid, "", ""},
		{"CaptureDenied", `{"id":"WH-2","event_type":"PAYMENT.CAPTURE.DENIED","resource":{"id":"C1","status":"DECLINED","amount":{"currency_code":"USD","value":"10.00"},"custom_id":"ch_1"}}`, polypay.TradeFailed, "", ""},
		{"AuthorizationCreated", `{"id":"WH-3","event_type":"PAYMENT.AUTHORIZATION.CREATED","resource":{"id":"A1","status":"CREATED","amount":{"currency_code":"JPY","value":"500"},"custom_id":"ch_1"}}`, polypay.TradeAuthorized, "", ""},
		{"AuthorizationVoided", `{"id":"WH-4","event_type":"PAYMENT.AUTHORIZATION.VOIDED","resource":{"id":"A1","status":"VOIDED","amount":{"currency_code":"JPY","value":"500"},"custom_id":"ch_1"}}`, polypay.TradeClosed, "", ""},
		{"Refunded", `{"id":"WH-5","event_type":"PAYMENT.CAPTURE.REFUNDED","resource":{"id":"R1","status":"COMPLETED","amount":{"currency_code":"USD","value":"3.00"},"invoice_id":"rf1","custom_id":"ch_1"}}`, "", "refund", ""},
		{"ErrUnknownEvent", `{"id":"WH-6","event_type":"BILLING.SUBSCRIPTION.CREATED","resource":{}}`, "", "", polypay.ENotSupported},
		{"ErrUnknownStatus", `{"id":"WH-7","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"C1","status":"WEIRD","amount":{"currency_code":"USD","value":"1.00"},"custom_id":"ch_1"}}`, "", "", polypay.ENotSupported},
		{"ErrNoCustomID", `{"id":"WH-8","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"C1","status":"COMPLETED","amount":{"currency_code":"USD","value":"1.00"}}}`, "", "", polypay.EInvalid},
		{"ErrBadAmount", `{"id":"WH-9","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"C1","status":"COMPLETED","amount":{"currency_code":"USD","value":"1.001"},"custom_id":"ch_1"}}`, "", "", polypay.EChannel},
		{"ErrNotJSON", `nope`, "", "", polypay.EInvalid},
		{"ErrRefundWithoutInvoice", `{"id":"WH-10","event_type":"PAYMENT.CAPTURE.REFUNDED","resource":{"id":"R1","status":"COMPLETED","amount":{"currency_code":"USD","value":"3.00"},"custom_id":"ch_1"}}`, "", "", polypay.EInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, p, err := parseEvent([]byte(tc.body))
			if tc.wantErr != "" {
				if polypay.ErrorCode(err) != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.chargeID != "ch_1" {
				t.Fatalf("charge = %q, want ch_1", p.chargeID)
			}
			if tc.kind == "refund" {
				if p.refundNo != "rf1" || p.amount != 300 || p.refundStatus != polypay.RefundSucceeded {
					t.Fatalf("refund = %+v", p)
				}
				return
			}
			if p.trade.State != tc.state {
				t.Fatalf("state = %s, want %s", p.trade.State, tc.state)
			}
		})
	}
}

// FuzzParseNotification fuzzes the parser of verified webhook events: it
// must never panic, and whatever it accepts names a charge and, for
// trades, a known state.
func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(`{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"C1","status":"COMPLETED","amount":{"currency_code":"USD","value":"10.00"},"custom_id":"ch_1"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, p, err := parseEvent(body)
		if err != nil {
			if ev != nil || p != nil {
				t.Fatal("results with an error")
			}
			return
		}
		if p.chargeID == "" {
			t.Fatal("accepted an event without a charge")
		}
		if ev.EventType == "CHECKOUT.ORDER.APPROVED" {
			if p.orderID == "" {
				t.Fatal("approval without order id")
			}
			return
		}
		if ev.EventType == "PAYMENT.CAPTURE.REFUNDED" {
			if p.refundNo == "" || p.amount < 0 {
				t.Fatalf("refund %+v", p)
			}
			return
		}
		switch p.trade.State {
		case polypay.TradePaid, polypay.TradePending, polypay.TradeFailed, polypay.TradeAuthorized, polypay.TradeClosed:
		default:
			t.Fatalf("state %q", p.trade.State)
		}
	})
}
