package stripe_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/stripe"
	"github.com/polypay/polypay/sim/stripesim"
)

const (
	testAccount = "acct_1TestAccount00000"
	testSecret  = "whsec_test_secret_for_unit_tests"
)

func testClient(t testing.TB) *stripe.Client {
	c, err := stripe.New(stripe.ChannelCard, stripe.Config{AccountID: testAccount, SecretKey: "sk_test_x", WebhookSecret: testSecret, BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func eventBody(typ, object string) string {
	return fmt.Sprintf(`{"id":"evt_1","object":"event","api_version":%q,"created":1760000000,"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":%q,"data":{"object":%s}}`,
		stripesim.APIVersion, typ, object)
}

const piSucceeded = `{"id":"pi_1","object":"payment_intent","amount":1000,"amount_capturable":0,"amount_received":1000,"currency":"usd","status":"succeeded","latest_charge":"ch_x","metadata":{"charge_id":"ch_123456789012345678901234"}}`

func TestParseNotification(t *testing.T) {
	c := testClient(t)
	now := time.Now()
	sign := func(body string) string { return stripesim.Sign(testSecret, now, []byte(body)) }
	tests := []struct {
		name    string
		body    string
		header  func(body string) string
		wantErr error // nil: ok; ErrBadSignature; errAny: some other error
		check   func(*testing.T, *polypay.Notification)
	}{
		{"OKSucceeded", eventBody("payment_intent.succeeded", piSucceeded), sign, nil, func(t *testing.T, n *polypay.Notification) {
			if n.Kind != polypay.NotifyTrade || n.Trade.State != polypay.TradePaid || n.Trade.Amount != 1000 || n.MerchantID != testAccount || n.Trade.PaidAt != 1760000000 {
				t.Errorf("n = %+v", n)
			}
		}},
		{"OKSecondSignature", eventBody("payment_intent.succeeded", piSucceeded), func(b string) string {
			s := sign(b)
			return strings.Replace(s, ",v1=", ",v1="+strings.Repeat("ab", 32)+",v1=", 1)
		}, nil, nil},
		{"OKConnectAccount", strings.Replace(eventBody("payment_intent.succeeded", piSucceeded), `"id":"evt_1"`, `"id":"evt_1","account":"acct_other"`, 1), sign, nil,
			func(t *testing.T, n *polypay.Notification) {
				if n.MerchantID != "acct_other" {
					t.Errorf("merchant = %s", n.MerchantID)
				}
			}},
		{"OKFailed", eventBody("payment_intent.payment_failed", `{"id":"pi_1","object":"payment_intent","amount":1000,"status":"requires_payment_method","last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"stolen_card","message":"Your card was declined."},"metadata":{"charge_id":"ch_123456789012345678901234"}}`), sign, nil,
			func(t *testing.T, n *polypay.Notification) {
				if n.Trade.State != polypay.TradeFailed || n.Trade.FailureCode != "stolen_card" {
					t.Errorf("n = %+v", n.Trade)
				}
			}},
		{"OKRefundFailed", eventBody("refund.updated", `{"id":"re_1","object":"refund","amount":300,"status":"failed","created":1760000001,"metadata":{"charge_id":"ch_123456789012345678901234","refund_no":"R1"}}`), sign, nil,
			func(t *testing.T, n *polypay.Notification) {
				if n.Kind != polypay.NotifyRefund || n.RefundStatus != polypay.RefundFailed || n.RefundNo != "R1" || n.RefundAmount != 300 {
					t.Errorf("n = %+v", n)
				}
			}},
		{"ErrTampered", eventBody("payment_intent.succeeded", piSucceeded), func(b string) string { return sign(strings.Replace(b, "1000", "1", 1)) }, polypay.ErrBadSignature, nil},
		{"ErrOtherSecret", eventBody("payment_intent.succeeded", piSucceeded), func(b string) string { return stripesim.Sign("whsec_other", now, []byte(b)) }, polypay.ErrBadSignature, nil},
		{"ErrTooOld", eventBody("payment_intent.succeeded", piSucceeded), func(b string) string { return stripesim.Sign(testSecret, now.Add(-301*time.Second), []byte(b)) }, polypay.ErrBadSignature, nil},
		{"ErrUnsigned", eventBody("payment_intent.succeeded", piSucceeded), func(string) string { return "" }, polypay.ErrBadSignature, nil},
		{"ErrOtherAPIVersion", strings.Replace(eventBody("payment_intent.succeeded", piSucceeded), stripesim.APIVersion, "2024-06-20", 1), sign, errAny, nil},
		{"ErrStateMismatch", eventBody("payment_intent.succeeded", strings.Replace(piSucceeded, `"succeeded"`, `"processing"`, 1)), sign, errAny, nil},
		{"ErrUnknownEvent", eventBody("customer.created", `{"id":"cus_1","object":"customer"}`), sign, errAny, nil},
		{"ErrNoChargeID", eventBody("payment_intent.succeeded", strings.Replace(piSucceeded, "charge_id", "other", 1)), sign, errAny, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/notify/stripe/app/test", strings.NewReader(tc.body))
			if h := tc.header(tc.body); h != "" {
				r.Header.Set("Stripe-Signature", h)
			}
			n, err := c.ParseNotification(ctx, polypay.NewNotifyRequest(r, []byte(tc.body)))
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantErr == errAny && err == nil, tc.wantErr == errAny && errors.Is(err, polypay.ErrBadSignature):
				t.Fatalf("err = %v, want a parse error", err)
			case tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && tc.check != nil {
				tc.check(t, n)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestAck(t *testing.T) {
	c := testClient(t)
	for _, ok := range []bool{true, false} {
		w := httptest.NewRecorder()
		c.Ack(ok).WriteResponse(w)
		if want := map[bool]int{true: 200, false: 400}[ok]; w.Code != want {
			t.Errorf("Ack(%v) = %d, want %d", ok, w.Code, want)
		}
	}
}

// FuzzParseNotification: whatever arrives, the parser returns an error or
// a notification, never panics, and never accepts an unsigned body.
func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(eventBody("payment_intent.succeeded", piSucceeded)), true)
	f.Add([]byte(eventBody("refund.created", `{"id":"re_1","object":"refund","amount":1,"status":"succeeded","metadata":{"charge_id":"ch_1","refund_no":"R"}}`)), true)
	f.Add([]byte(`{"object":"event"}`), false)
	c := testClient(f)
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		r := httptest.NewRequest("POST", "/notify", strings.NewReader(string(body)))
		if signed {
			r.Header.Set("Stripe-Signature", stripesim.Sign(testSecret, time.Now(), body))
		}
		n, err := c.ParseNotification(ctx, polypay.NewNotifyRequest(r, body))
		if !signed && err == nil {
			t.Fatalf("unsigned body accepted: %+v", n)
		}
		if err == nil && n == nil {
			t.Fatal("nil notification without error")
		}
	})
}
