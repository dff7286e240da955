package gateway_test

import (
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// withMember appends a raw JSON member to the object m encodes, so that it
// can repeat a key m already has: {..., "amount":100, "amount":1}.
func withMember(m map[string]any, member string) string {
	j := mustJSON(m)
	return string(j[:len(j)-1]) + "," + member + "}"
}

// snapshot is what the merchant can read back of everything the bodies in
// TestAPIDuplicateKeys could write.
func (e *env) snapshot(paths ...string) string {
	e.t.Helper()
	var b strings.Builder
	for _, p := range paths {
		r := e.do("GET", p, e.sk(), nil)
		if r.Status != 200 {
			e.t.Fatalf("GET %s: %d %s", p, r.Status, r.Body)
		}
		b.WriteString(p + " " + string(r.Body) + "\n")
	}
	return b.String()
}

// eventObject is data.object of the event typ about charge id.
func (rc *receiver) eventObject(id, typ string) map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, ev := range rc.events {
		obj := ev["data"].(map[string]any)["object"].(map[string]any)
		if ev["type"] == typ && obj["id"] == id {
			return obj
		}
	}
	return nil
}

// TestAPIDuplicateKeys: a key repeated in one JSON object, at the top or
// nested in objects and arrays, is refused in every kind of API request
// body with a 400 naming the parameter, and nothing is written; the same
// body without the repetition is accepted.
func TestAPIDuplicateKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		e.listen()
		paid := e.createCharge("DUPPAID1", 1000)
		e.pay(paid)
		held := e.authorized(t, "DUPHELD1", 1000)
		app := e.app.AppID
		charge := func(orderNo string) map[string]any { return e.chargeBody(orderNo, 100) }
		order := map[string]any{"app": map[string]any{"id": app}, "merchant_order_no": "DUPORDER1", "amount": 100,
			"currency": "cny", "subject": "s", "body": "b"}
		card := `"exp_month":12,"exp_year":2031`
		state := []string{"/v1/charges?app[id]=" + app + "&limit=100", "/v1/charges/" + paid, "/v1/charges/" + held,
			"/v1/webhook_endpoints", "/v1/apps/" + app + "/discounts", "/v1/apps/" + app + "/cashier_settings",
			"/v1/apps/" + app + "/card_settings", "/v1/apps/" + app + "/routes", "/v1/customers"}

		tests := []struct {
			name, key, path string
			bad             string // the body with a repeated key
			param           string
			ok              string // the same without the repetition; "" when accepting it would use up the fixture
		}{
			{"ChargeAmount", "", "/v1/charges", withMember(charge("DUP0001"), `"amount":1`), "amount", string(mustJSON(charge("DUP0001")))},
			{"ChargeAmountEscaped", "", "/v1/charges", withMember(charge("DUP0002"), `"\u0061mount":1`), "amount", string(mustJSON(charge("DUP0002")))},
			{"ChargeAppID", "", "/v1/charges", strings.Replace(string(mustJSON(charge("DUP0003"))), `"app":{"id":"`, `"app":{"id":"app_other","id":"`, 1), "app[id]", ""},
			{"ChargeMetadata", "", "/v1/charges", withMember(charge("DUP0004"), `"metadata":{"k":"a","k":"b"}`), "metadata[k]", withMember(charge("DUP0004"), `"metadata":{"k":"a"}`)},
			{"ChargeExtraInArray", "", "/v1/charges", withMember(charge("DUP0005"), `"extra":{"a":[{"b":1},{"b":1,"c":{"d":1,"d":2}}]}`), "extra[a][1][c][d]", ""},
			{"ChargeMetadataTwice", "", "/v1/charges", withMember(withMap(charge("DUP0006"), "metadata", map[string]any{"k": "a"}), `"metadata":{"k":"b"}`), "metadata", ""},
			{"Refund", "", "/v1/charges/" + paid + "/refunds", `{"amount":500,"description":"r","amount":1}`, "amount", `{"amount":1,"description":"r"}`},
			{"Capture", "", "/v1/charges/" + held + "/capture", `{"amount":1000,"amount":1}`, "amount", ""},
			{"Reverse", "", "/v1/charges/" + held + "/reverse", `{"x":1,"x":1}`, "x", ""},
			{"Order", "", "/v1/orders", withMember(order, `"amount":1`), "amount", string(mustJSON(order))},
			{"WebhookEndpoint", "", "/v1/webhook_endpoints", `{"app":"` + app + `","url":"https://a.example/h","url":"https://evil.example/h"}`, "url", `{"app":"` + app + `","url":"https://a.example/h"}`},
			{"Discount", "", "/v1/apps/" + app + "/discounts", `{"channel":"alipay_qr","type":"amount_off","amount_off":10,"label":{"zh":"立减","zh":"x"}}`, "label[zh]",
				`{"channel":"alipay_qr","type":"amount_off","amount_off":10,"label":{"zh":"立减"}}`},
			{"CashierSettings", "", "/v1/apps/" + app + "/cashier_settings", `{"labels":{"alipay_qr":{"zh":"支付宝","en":"Alipay","zh":"x"}}}`, "labels[alipay_qr][zh]",
				`{"labels":{"alipay_qr":{"zh":"支付宝","en":"Alipay"}}}`},
			{"CardSettings", "", "/v1/apps/" + app + "/card_settings", `{"three_d_secure":"required","three_d_secure":"automatic"}`, "three_d_secure", `{"three_d_secure":"required"}`},
			{"Routes", "", "/v1/apps/" + app + "/routes", `{"channel":"alipay","accounts":[{"account":"default","weight":1,"weight":0}]}`, "accounts[0][weight]",
				`{"channel":"alipay","accounts":[{"account":"default","weight":1}]}`},
			{"Channels", "", "/v1/apps/" + app + "/channels", `{"channel":"alipay","channel":"wx","params":{}}`, "channel", ""},
			{"Customer", "", "/v1/customers", `{"email":"a@shop.example","metadata":{"n":"1"},"email":"b@shop.example"}`, "email", `{"email":"a@shop.example","metadata":{"n":"1"}}`},
			{"Token", e.app.PublishableKeyTest, "/v1/tokens", `{"card":{"number":"4242424242424242",` + card + `,"number":"4000000000000002"}}`, "card[number]",
				`{"card":{"number":"4242424242424242",` + card + `}}`},
			{"TestPay", "", "/v1/test/charges/" + paid + "/pay", `{"result":"fail","result":"success"}`, "result", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				key := tc.key
				if key == "" {
					key = e.sk()
				}
				before := e.snapshot(state...)
				r := e.do("POST", tc.path, key, tc.bad)
				if r.Status != 400 || r.str("error", "type") != "invalid_request_error" || r.str("error", "param") != tc.param ||
					!strings.Contains(r.str("error", "message"), "重复") {
					t.Fatalf("got %d %s, want 400 invalid_request_error naming %q as repeated", r.Status, r.Body, tc.param)
				}
				if after := e.snapshot(state...); after != before {
					t.Fatalf("a refused request wrote something:\nbefore %s\nafter  %s", before, after)
				}
				if tc.name == "Order" {
					if o := e.order("DUPORDER1"); o != nil {
						t.Fatalf("refused order written: %+v", o)
					}
				}
				if tc.ok == "" {
					return
				}
				if r := e.do("POST", tc.path, key, tc.ok); r.Status != 200 {
					t.Fatalf("without the repetition: %d %s", r.Status, r.Body)
				}
			})
		}
		// The refused capture and reverse left the hold as it was.
		if r := e.do("GET", "/v1/charges/"+held, e.sk(), nil); r.JSON["authorized"] != true || r.JSON["paid"] != false {
			t.Fatalf("hold after refused requests: %s", r.Body)
		}
	})
}

func withMap(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}

func (e *env) order(merchantOrderNo string) *polypay.Order {
	e.t.Helper()
	var o *polypay.Order
	if err := e.node.DB.Read(ctx, func(tx *store.Tx) (err error) {
		o, err = tx.OrderByMerchantNo(ctx, e.app.AppID, false, merchantOrderNo)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// TestAPIControlCharacters: NUL and the other C0 controls, DEL, the C1
// controls, invalid UTF-8 and unpaired surrogate escapes are refused in
// free text, naming the parameter. Tab and newlines are refused in
// subject and allowed in body, description and metadata values.
func TestAPIControlCharacters(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		n := 0
		with := func(k string, v any) string {
			n++
			m := e.chargeBody("CTL"+string(rune('A'+n/26))+string(rune('A'+n%26)), 100)
			m[k] = v
			return string(mustJSON(m))
		}
		tests := []struct {
			name  string
			body  string
			param string // "" means accepted
		}{
			{"ErrSubjectNUL", with("subject", "a\x00b"), "subject"},
			{"ErrSubjectEscapedNUL", strings.Replace(with("subject", "ab"), `"ab"`, `"a\u0000b"`, 1), "subject"},
			{"ErrSubjectTab", with("subject", "a\tb"), "subject"},
			{"ErrSubjectNewline", with("subject", "a\nb"), "subject"},
			{"ErrSubjectCR", with("subject", "a\rb"), "subject"},
			{"ErrSubjectEscape", with("subject", "a\x1b[31mb"), "subject"},
			{"ErrSubjectDEL", with("subject", "a\x7fb"), "subject"},
			{"ErrSubjectC1", with("subject", "a\u0085b"), "subject"},
			{"ErrSubjectC1Last", with("subject", "a\u009fb"), "subject"},
			{"ErrSubjectInvalidUTF8", strings.Replace(with("subject", "ab"), `"ab"`, "\"a\xffb\"", 1), "subject"},
			{"ErrSubjectLoneSurrogate", strings.Replace(with("subject", "ab"), `"ab"`, `"a\ud800b"`, 1), "subject"},
			{"ErrSubjectLoneLowSurrogate", strings.Replace(with("subject", "ab"), `"ab"`, `"a\udc00b"`, 1), "subject"},
			{"ErrBodyNUL", with("body", "a\x00b"), "body"},
			{"ErrBodyBell", with("body", "a\x07b"), "body"},
			{"ErrBodyDEL", with("body", "a\x7fb"), "body"},
			{"ErrBodyC1", with("body", "a\u0090b"), "body"},
			{"ErrDescriptionNUL", with("description", "a\x00b"), "description"},
			{"ErrMetadataValueNUL", with("metadata", map[string]any{"note": "a\x00b"}), "metadata[note]"},
			{"ErrMetadataKeyNewline", with("metadata", map[string]any{"no\nte": "a"}), "metadata[no\nte]"},
			{"ErrExtraKeyInvalidUTF8", strings.Replace(with("extra", map[string]any{"ab": 1}), `"ab"`, "\"a\xffb\"", 1), "extra[a\ufffdb]"},
			{"OKSubjectEmojiPair", strings.Replace(with("subject", "ab"), `"ab"`, `"a\ud83d\ude00b"`, 1), ""},
			{"OKSubjectReplacementChar", with("subject", "a\ufffdb"), ""},
			{"OKBodyLines", with("body", "line 1\r\nline 2\tend"), ""},
			{"OKDescriptionLines", with("description", "a\nb"), ""},
			{"OKMetadataValueLines", with("metadata", map[string]any{"note": "a\nb"}), ""},
		}
		accepted := 0
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do("POST", "/v1/charges", e.sk(), tc.body)
				if tc.param == "" {
					if r.Status != 200 {
						t.Fatalf("got %d %s, want 200", r.Status, r.Body)
					}
					accepted++
					return
				}
				if r.Status != 400 || r.str("error", "type") != "invalid_request_error" || r.str("error", "param") != tc.param {
					t.Fatalf("got %d %s, want 400 naming %q", r.Status, r.Body, tc.param)
				}
			})
		}
		others := []struct {
			name, path, body, param string
		}{
			{"ErrOrderSubject", "/v1/orders", `{"app":{"id":"` + e.app.AppID + `"},"merchant_order_no":"CTLO1","amount":100,"currency":"cny","subject":"a\u0000","body":"b"}`, "subject"},
			{"ErrOrderBody", "/v1/orders", `{"app":{"id":"` + e.app.AppID + `"},"merchant_order_no":"CTLO2","amount":100,"currency":"cny","subject":"s","body":"b\u007f"}`, "body"},
			{"ErrCustomerName", "/v1/customers", `{"name":"Li\nLei"}`, "name"},
			{"ErrCustomerDescription", "/v1/customers", `{"description":"x\u0000"}`, "description"},
			{"ErrDiscountLabel", "/v1/apps/" + e.app.AppID + "/discounts", `{"channel":"alipay_qr","type":"amount_off","amount_off":10,"label":{"zh":"立\u0000减"}}`, "label[zh]"},
			{"ErrCashierLabel", "/v1/apps/" + e.app.AppID + "/cashier_settings", `{"labels":{"alipay_qr":{"zh":"支\u0085付"}}}`, "labels[alipay_qr][zh]"},
		}
		for _, tc := range others {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do("POST", tc.path, e.sk(), tc.body)
				if r.Status != 400 || r.str("error", "param") != tc.param {
					t.Fatalf("got %d %s, want 400 naming %q", r.Status, r.Body, tc.param)
				}
			})
		}
		t.Run("ErrRefundDescription", func(t *testing.T) {
			id := e.createCharge("CTLPAID1", 100)
			e.pay(id)
			r := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), `{"amount":10,"description":"x\u0000"}`)
			if r.Status != 400 || r.str("error", "param") != "description" {
				t.Fatalf("got %d %s, want 400 naming description", r.Status, r.Body)
			}
			if c := e.do("GET", "/v1/charges/"+id, e.sk(), nil); c.num("amount_refunded") != 0 || c.JSON["refunded"] != false {
				t.Fatalf("refused refund written: %s", c.Body)
			}
		})
		// Only the accepted charges (and the refund fixture) were written.
		list := e.do("GET", "/v1/charges?app[id]="+e.app.AppID+"&limit=100", e.sk(), nil)
		if got, want := len(list.JSON["data"].([]any)), accepted+1; got != want {
			t.Fatalf("%d charges written, want %d", got, want)
		}
	})
}

// TestPreauthCaptureAmount: an explicit capture amount must be from 1 to
// the held amount (0 no longer means "everything"), a refused capture
// leaves the hold held, and after capturing X the charge's amount_settle
// is X in the API and in the charge.captured and charge.succeeded events,
// with refunds and the ledger bounded by X.
func TestPreauthCaptureAmount(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()

		t.Run("Partial", func(t *testing.T) {
			id := e.authorized(t, "PCA0001", 1000)
			refused := []struct{ name, body string }{
				{"ErrZero", `{"amount":0}`},
				{"ErrNegative", `{"amount":-1}`},
				{"ErrMoreThanHeld", `{"amount":1001}`},
				{"ErrString", `{"amount":"600"}`},
				{"ErrFloat", `{"amount":600.0}`},
			}
			for _, s := range refused {
				r := e.do("POST", "/v1/charges/"+id+"/capture", e.sk(), s.body)
				if r.Status != 400 || r.str("error", "param") != "amount" {
					t.Fatalf("%s: %d %s, want 400 naming amount", s.name, r.Status, r.Body)
				}
				if c := e.do("GET", "/v1/charges/"+id, e.sk(), nil); c.JSON["authorized"] != true || c.JSON["paid"] != false || c.num("amount_captured") != 0 {
					t.Fatalf("%s: hold after a refused capture: %s", s.name, c.Body)
				}
			}
			r := e.do("POST", "/v1/charges/"+id+"/capture", e.sk(), `{"amount":600}`)
			if r.Status != 200 || r.num("amount_captured") != 600 || r.num("amount_settle") != 600 || r.num("amount") != 1000 {
				t.Fatalf("capture 600: %d %s", r.Status, r.Body)
			}
			if c := e.do("GET", "/v1/charges/"+id, e.sk(), nil); c.num("amount_settle") != 600 || c.num("amount") != 1000 {
				t.Fatalf("GET after capturing 600: amount_settle %d amount %d, want 600 1000", c.num("amount_settle"), c.num("amount"))
			}
			for _, typ := range []string{"charge.captured", "charge.succeeded"} {
				waitFor(t, typ, func() bool { return rc.eventObject(id, typ) != nil })
				if got := rc.eventObject(id, typ)["amount_settle"]; got != float64(600) {
					t.Fatalf("%s: amount_settle %v, want 600", typ, got)
				}
			}
			if r := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), `{"amount":601,"description":"x"}`); r.Status != 400 {
				t.Fatalf("refund over the capture: %d %s", r.Status, r.Body)
			}
			if r := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), `{"description":"all"}`); r.Status != 200 || r.num("amount") != 600 {
				t.Fatalf("refund of the rest: %d %s", r.Status, r.Body)
			}
			if c := e.do("GET", "/v1/charges/"+id, e.sk(), nil); c.num("amount_settle") != 600 || c.num("amount_refunded") != 600 {
				t.Fatalf("after refunding: %s", c.Body)
			}
		})

		for _, tc := range []struct{ name, body string }{{"WholeAbsent", `{}`}, {"WholeNull", `{"amount":null}`}, {"WholeExplicit", `{"amount":700}`}} {
			t.Run(tc.name, func(t *testing.T) {
				id := e.authorized(t, "PCA"+tc.name[5:], 700)
				r := e.do("POST", "/v1/charges/"+id+"/capture", e.sk(), tc.body)
				if r.Status != 200 || r.num("amount_captured") != 700 || r.num("amount_settle") != 700 {
					t.Fatalf("capture %s: %d %s", tc.body, r.Status, r.Body)
				}
			})
		}

		if _, probs, err := ledger.Check(ctx, e.node.DB); err != nil || len(probs) > 0 {
			t.Fatalf("ledger: %v %v", probs, err)
		}
	})
}
