package gateway_test

import (
	"fmt"
	"testing"

	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store/storetest"
)

// upacpHold creates a UnionPay pre-authorization (capture=false) on ch and
// pays it in the simulator, which holds the amount (txnType 02).
func (e *env) upacpHold(t *testing.T, ch, orderNo string, amount int64) string {
	t.Helper()
	body := e.chargeBody(orderNo, amount)
	body["channel"], body["capture"] = ch, false
	if ch == unionpay.ChannelWap || ch == unionpay.ChannelPC {
		body["extra"] = map[string]any{"result_url": "https://merchant.example/result"}
	}
	r := e.do("POST", "/v1/charges", e.sk(), body)
	if r.Status != 200 || r.JSON["capture"] != false || r.JSON["authorized"] != false {
		t.Fatalf("create pre-authorization: %d %s", r.Status, r.Body)
	}
	id := r.str("id")
	if p := e.pay(id); p.JSON["authorized"] != true || p.JSON["paid"] != false || p.str("transaction_no") == "" {
		t.Fatalf("after payment: %s", p.Body)
	}
	return id
}

// TestUnionPayPreAuthorization: a UnionPay hold captured for less than
// held (completion, txnType 03), refunds bounded by the capture, and a
// hold voided (cancel, txnType 32), through the API.
func TestUnionPayPreAuthorization(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	rc := e.listen()
	for i, ch := range []string{unionpay.ChannelApp, unionpay.ChannelPC, unionpay.ChannelWap, unionpay.ChannelApplePay} {
		t.Run(ch+"/CaptureLess", func(t *testing.T) {
			id := e.upacpHold(t, ch, fmt.Sprintf("UPA%04d1", i), 1000)
			waitFor(t, "charge.authorized", func() bool { return rc.count(id, "charge.authorized") == 1 })
			steps := []struct {
				name, path, body string
				status           int
				check            func(r *resp) bool
			}{
				{"ErrCaptureTooMuch", "/capture", `{"amount":1001}`, 400, nil},
				{"Capture", "/capture", `{"amount":600}`, 200, func(r *resp) bool {
					return r.JSON["paid"] == true && r.num("amount_captured") == 600 && r.num("amount") == 1000 && r.JSON["authorized"] == false
				}},
				{"CaptureRepeated", "/capture", `{"amount":600}`, 200, func(r *resp) bool { return r.num("amount_captured") == 600 }},
				{"ErrCaptureOtherAmount", "/capture", `{"amount":500}`, 400, nil},
				{"ErrVoidCaptured", "/reverse", `{}`, 400, nil},
				{"Refund", "/refunds", `{"amount":200,"description":"part"}`, 200, func(r *resp) bool { return r.num("amount") == 200 && r.str("status") == "succeeded" }},
				{"ErrRefundOverCaptured", "/refunds", `{"amount":401,"description":"x"}`, 400, nil},
				{"RefundRest", "/refunds", `{"description":"rest"}`, 200, func(r *resp) bool { return r.num("amount") == 400 && r.str("status") == "succeeded" }},
			}
			for _, s := range steps {
				r := e.do("POST", "/v1/charges/"+id+s.path, e.sk(), s.body)
				if r.Status != s.status || (s.check != nil && !s.check(r)) {
					t.Fatalf("%s: %d %s", s.name, r.Status, r.Body)
				}
			}
			got := e.do("GET", "/v1/charges/"+id, e.sk(), nil)
			if got.num("amount_refunded") != 600 || got.num("amount_captured") != 600 {
				t.Fatalf("charge at the end: %s", got.Body)
			}
			for _, typ := range []string{"charge.captured", "charge.succeeded"} {
				waitFor(t, typ, func() bool { return rc.count(id, typ) == 1 })
			}
		})
		t.Run(ch+"/Void", func(t *testing.T) {
			id := e.upacpHold(t, ch, fmt.Sprintf("UPA%04d2", i), 700)
			r := e.do("POST", "/v1/charges/"+id+"/reverse", e.sk(), `{}`)
			if r.Status != 200 || r.JSON["reversed"] != true || r.JSON["paid"] != false {
				t.Fatalf("void: %d %s", r.Status, r.Body)
			}
			if r := e.do("POST", "/v1/charges/"+id+"/capture", e.sk(), `{}`); r.Status != 400 {
				t.Fatalf("capture after void: %d %s", r.Status, r.Body)
			}
			if r := e.do("POST", "/v1/charges/"+id+"/reverse", e.sk(), `{}`); r.Status != 200 || r.JSON["reversed"] != true {
				t.Fatalf("void repeated: %d %s", r.Status, r.Body)
			}
			waitFor(t, "charge.reversed", func() bool { return rc.count(id, "charge.reversed") == 1 })
			// The cancel's notification (txnType 32) changes nothing.
			if got := e.do("GET", "/v1/charges/"+id, e.sk(), nil); got.JSON["reversed"] != true || got.JSON["paid"] != false {
				t.Fatalf("after the cancel's notification: %s", got.Body)
			}
		})
	}
	if _, probs, err := ledger.Check(ctx, e.node.DB); err != nil || len(probs) > 0 {
		t.Fatalf("ledger: %v %v", probs, err)
	}
}
