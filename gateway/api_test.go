package gateway_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store/storetest"
)

func TestLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		r := e.do("POST", "/v1/charges", e.sk(), e.chargeBody("LC0001", 1000))
		if r.Status != 200 || !strings.HasPrefix(r.str("credential", "alipay_qr"), "https://qr.alipay.com/") {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		if r.Header.Get("X-Pingplusplus-Signature") == "" || !r.Close {
			t.Errorf("reply headers = %v, want a signature and Connection: close", r.Header)
		}
		id := r.str("id")
		if len(id) != 27 || r.JSON["paid"] != false || r.JSON["livemode"] != false {
			t.Fatalf("charge = %s", r.Body)
		}
		paid := e.pay(id)
		if paid.JSON["paid"] != true || paid.str("transaction_no") == "" {
			t.Fatalf("after pay: %s", paid.Body)
		}
		evs := rc.waitEvents(t, 1)
		if evs[0]["type"] != "charge.succeeded" {
			t.Fatalf("event = %v", evs[0])
		}
		data := evs[0]["data"].(map[string]any)["object"].(map[string]any)
		if data["id"] != id || data["paid"] != true || data["amount"] != float64(1000) {
			t.Fatalf("event object = %v", data)
		}
		// The event is retrievable and agrees.
		ev := e.do("GET", "/v1/events/"+evs[0]["id"].(string), e.sk(), nil)
		if ev.Status != 200 || ev.str("type") != "charge.succeeded" {
			t.Fatalf("event retrieve: %d %s", ev.Status, ev.Body)
		}

		refunds := []struct {
			name   string
			body   string
			status int
			amount int64
		}{
			{"Partial", `{"amount":300,"description":"part 1"}`, 200, 300},
			{"Partial2", `{"amount":200,"description":"part 2"}`, 200, 200},
			{"ErrOverRefund", `{"amount":501,"description":"too much"}`, 400, 0},
			{"Rest", `{"description":"rest"}`, 200, 500},
			{"ErrFullyRefunded", `{"description":"again"}`, 400, 0},
		}
		for _, tc := range refunds {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), tc.body)
				if r.Status != tc.status {
					t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
				}
				if tc.status == 200 && (r.num("amount") != tc.amount || r.str("status") != "succeeded") {
					t.Fatalf("refund = %s, want %d succeeded", r.Body, tc.amount)
				}
				if tc.status == 400 && r.str("error", "type") != "invalid_request_error" {
					t.Fatalf("error = %s", r.Body)
				}
			})
		}
		rc.waitEvents(t, 4)
		ch := e.do("GET", "/v1/charges/"+id, e.sk(), nil)
		if ch.num("amount_refunded") != 1000 || ch.JSON["refunded"] != true {
			t.Fatalf("charge after refunds: %s", ch.Body)
		}
		list := e.do("GET", "/v1/charges/"+id+"/refunds?limit=2", e.sk(), nil)
		if list.str("object") != "list" || list.JSON["has_more"] != true || len(list.JSON["data"].([]any)) != 2 {
			t.Fatalf("refund list: %s", list.Body)
		}
		if _, probs, err := ledger.Check(ctx, e.node.DB); err != nil || len(probs) > 0 {
			t.Fatalf("ledger: %v %v", probs, err)
		}
	})
}

func TestBadInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		other := start(t, storetest.Backend{Name: "x", DataDir: t.TempDir()}, nil) // keys of another installation
		base := func(mod func(m map[string]any)) map[string]any {
			m := e.chargeBody("BAD0001", 100)
			mod(m)
			return m
		}
		tests := []struct {
			name   string
			key    string
			body   any
			status int
			param  string
		}{
			{"ErrNoKey", "-", base(func(map[string]any) {}), 401, ""},
			{"ErrBadKey", "sk_test_000000000000000000000000", base(func(map[string]any) {}), 401, ""},
			{"ErrForeignKey", other.sk(), base(func(map[string]any) {}), 401, ""},
			{"ErrPublishableKey", e.app.PublishableKeyTest, base(func(map[string]any) {}), 401, ""},
			{"ErrMalformedJSON", "", `{"amount": 1,`, 400, ""},
			{"ErrNotObject", "", `[1,2]`, 400, ""},
			{"ErrAmountString", "", base(func(m map[string]any) { m["amount"] = "100" }), 400, "amount"},
			{"ErrAmountFloat", "", base(func(m map[string]any) { m["amount"] = 1.5 }), 400, "amount"},
			{"ErrAmountZero", "", base(func(m map[string]any) { m["amount"] = 0 }), 400, "amount"},
			{"ErrAmountNegative", "", base(func(m map[string]any) { m["amount"] = -5 }), 400, "amount"},
			{"ErrAmountAbsurd", "", base(func(m map[string]any) { m["amount"] = int64(1) << 40 }), 400, "amount"},
			{"ErrMissingOrderNo", "", base(func(m map[string]any) { delete(m, "order_no") }), 400, "order_no"},
			{"ErrOrderNoChars", "", base(func(m map[string]any) { m["order_no"] = "ab-c" }), 400, "order_no"},
			{"ErrMissingSubject", "", base(func(m map[string]any) { delete(m, "subject") }), 400, "subject"},
			{"ErrSubjectLong", "", base(func(m map[string]any) { m["subject"] = strings.Repeat("长", 33) }), 400, "subject"},
			{"ErrMissingBody", "", base(func(m map[string]any) { delete(m, "body") }), 400, "body"},
			{"ErrMissingClientIP", "", base(func(m map[string]any) { delete(m, "client_ip") }), 400, "client_ip"},
			{"ErrBadClientIP", "", base(func(m map[string]any) { m["client_ip"] = "999.1.1.1" }), 400, "client_ip"},
			{"ErrCurrency", "", base(func(m map[string]any) { m["currency"] = "CNY!" }), 400, "currency"},
			{"ErrCurrencyForChannel", "", base(func(m map[string]any) { m["currency"] = "usd" }), 400, "currency"},
			{"ErrUnknownChannel", "", base(func(m map[string]any) { m["channel"] = "bitcoin" }), 400, "channel"},
			{"ErrUnknownParam", "", base(func(m map[string]any) { m["colour"] = "red" }), 400, "colour"},
			{"ErrMetadataNested", "", base(func(m map[string]any) { m["metadata"] = map[string]any{"a": map[string]any{}} }), 400, "metadata[a]"},
			{"ErrExtraNotObject", "", base(func(m map[string]any) { m["extra"] = "x" }), 400, "extra"},
			{"ErrForeignApp", "", base(func(m map[string]any) { m["app"] = map[string]any{"id": other.app.AppID} }), 400, "app"},
			{"ErrTimeExpirePast", "", base(func(m map[string]any) { m["time_expire"] = 1000 }), 400, "time_expire"},
			{"ErrTooLarge", "", `{"subject":"` + strings.Repeat("x", 1<<20) + `"}`, 413, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				key := e.sk()
				switch tc.key {
				case "-":
					key = ""
				case "":
				default:
					key = tc.key
				}
				r := e.do("POST", "/v1/charges", key, tc.body)
				if r.Status != tc.status {
					t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
				}
				errObj, ok := r.JSON["error"].(map[string]any)
				if !ok || errObj["type"] == nil || errObj["message"] == nil {
					t.Fatalf("body is not a Ping++ error: %s", r.Body)
				}
				if got, _ := errObj["param"].(string); got != tc.param {
					t.Fatalf("param = %q, want %q (%s)", got, tc.param, r.Body)
				}
				if v, ok := errObj["code"]; ok && v == nil {
					t.Fatalf("code is null: %s", r.Body)
				}
			})
		}
		// Nothing was written by any of them.
		list := e.do("GET", "/v1/charges?app[id]="+e.app.AppID, e.sk(), nil)
		if n := len(list.JSON["data"].([]any)); n != 0 {
			t.Fatalf("%d charges written by bad requests", n)
		}
	})
}

func TestOrderNoAndIdempotencyKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		first := e.do("POST", "/v1/charges", e.sk(), e.chargeBody("IDEM001", 100))
		again := e.do("POST", "/v1/charges", e.sk(), e.chargeBody("IDEM001", 100))
		if first.Status != 200 || again.str("id") != first.str("id") {
			t.Fatalf("same order_no: %s / %s", first.Body, again.Body)
		}
		diff := e.do("POST", "/v1/charges", e.sk(), e.chargeBody("IDEM001", 200))
		if diff.Status != 400 || diff.str("error", "param") != "order_no" {
			t.Fatalf("order_no reuse with another amount: %d %s", diff.Status, diff.Body)
		}
		// Live and test are separate worlds: the same order_no is free in live
		// mode, and a test charge id is unknown there.
		live := e.do("GET", "/v1/charges/"+first.str("id"), e.app.SecretKeyLive, nil)
		if live.Status != 404 || live.str("error", "param") != "id" {
			t.Fatalf("test charge seen with live key: %d %s", live.Status, live.Body)
		}

		k1 := e.do("POST", "/v1/charges", e.sk(), e.chargeBody("IDEM002", 100), "Idempotency-Key", "k-1")
		k1b := e.do("POST", "/v1/charges", e.sk(), e.chargeBody("IDEM002", 100), "Idempotency-Key", "k-1")
		if string(k1.Body) != string(k1b.Body) || k1b.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay differs:\n%s\n%s", k1.Body, k1b.Body)
		}
		k1c := e.do("POST", "/v1/charges", e.sk(), e.chargeBody("IDEM003", 100), "Idempotency-Key", "k-1")
		if k1c.Status != 400 || k1c.str("error", "param") != "Idempotency-Key" {
			t.Fatalf("same key, other body: %d %s", k1c.Status, k1c.Body)
		}
		// A refund under a key is made once however often it is retried.
		e.pay(k1.str("id"))
		var ids []string
		for i := 0; i < 3; i++ {
			r := e.do("POST", "/v1/charges/"+k1.str("id")+"/refunds", e.sk(), `{"amount":10,"description":"r"}`, "Idempotency-Key", "rk")
			ids = append(ids, r.str("id"))
		}
		if ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
			t.Fatalf("refund ids under one key: %v", ids)
		}
		ch := e.do("GET", "/v1/charges/"+k1.str("id"), e.sk(), nil)
		if got := len(ch.JSON["refunds"].(map[string]any)["data"].([]any)); got != 1 {
			t.Fatalf("refunds = %d, want 1", got)
		}
	})
}

func TestConcurrentRefunds(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		id := e.createCharge("CONC001", 100)
		e.pay(id)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), `{"amount":10,"description":"c"}`)
				mu.Lock()
				codes[r.Status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes[200] != 10 || codes[400] != 10 {
			t.Fatalf("statuses = %v, want 10 x 200 and 10 x 400", codes)
		}
		ch := e.do("GET", "/v1/charges/"+id, e.sk(), nil)
		if ch.num("amount_refunded") != 100 {
			t.Fatalf("amount_refunded = %d, want 100", ch.num("amount_refunded"))
		}
		if _, probs, err := ledger.Check(ctx, e.node.DB); err != nil || len(probs) > 0 {
			t.Fatalf("ledger: %v %v", probs, err)
		}
	})
}

func TestIsolationAndLists(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		a2, err := e.node.CreateApp(ctx, "second")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i := 0; i < 5; i++ {
			ids = append(ids, e.createCharge(fmt.Sprintf("ISO%04d", i), 100))
		}
		tests := []struct {
			name, path, key string
			status          int
			param           string
		}{
			{"OtherAppCharge", "/v1/charges/" + ids[0], a2.SecretKeyTest, 404, "id"},
			{"OtherAppList", "/v1/charges?app[id]=" + e.app.AppID, a2.SecretKeyTest, 404, "app[id]"},
			{"ListNoApp", "/v1/charges", e.sk(), 400, "app[id]"},
			{"ListBadLimit", "/v1/charges?app[id]=" + e.app.AppID + "&limit=101", e.sk(), 400, "limit"},
			{"ListUnknownCursor", "/v1/charges?app[id]=" + e.app.AppID + "&starting_after=ch_nope", e.sk(), 400, "starting_after"},
			{"ListUnknownParam", "/v1/charges?app[id]=" + e.app.AppID + "&colour=red", e.sk(), 400, "colour"},
			{"ListBadBool", "/v1/charges?app[id]=" + e.app.AppID + "&paid=maybe", e.sk(), 400, "paid"},
			{"UnknownEvent", "/v1/events/evt_nope", e.sk(), 404, "id"},
			{"UnknownPath", "/v1/no_such_resources", e.sk(), 404, "id"},
			{"NodeBatchRefundBug", "/v1/charges/undefined/refunds", e.sk(), 404, "id"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do("GET", tc.path, tc.key, nil)
				if r.Status != tc.status || r.str("error", "param") != tc.param {
					t.Fatalf("got %d %s, want %d param %q", r.Status, r.Body, tc.status, tc.param)
				}
			})
		}
		page := e.do("GET", "/v1/charges?app%5Bid%5D="+e.app.AppID+"&limit=2", e.sk(), nil)
		data := page.JSON["data"].([]any)
		if page.JSON["has_more"] != true || len(data) != 2 || data[0].(map[string]any)["id"] != ids[4] || page.str("url") != "/v1/charges" {
			t.Fatalf("first page: %s", page.Body)
		}
		next := e.do("GET", "/v1/charges?app[id]="+e.app.AppID+"&limit=2&starting_after="+ids[3], e.sk(), nil)
		nd := next.JSON["data"].([]any)
		if len(nd) != 2 || nd[0].(map[string]any)["id"] != ids[2] || nd[1].(map[string]any)["id"] != ids[1] {
			t.Fatalf("second page: %s", next.Body)
		}
		exp := e.do("GET", "/v1/charges/"+ids[0]+"?expand[]=app", e.sk(), nil)
		if app, ok := exp.JSON["app"].(map[string]any); !ok || app["id"] != e.app.AppID {
			t.Fatalf("expand[]=app: %s", exp.Body)
		}
		plain := e.do("GET", "/v1/charges/"+ids[0]+"?", e.sk(), nil) // NODE's trailing "?"
		if plain.str("app") != e.app.AppID {
			t.Fatalf("app should be an id string: %s", plain.Body)
		}
	})
}

// TestCrossAppWrites: another app's key can neither refund, read the
// refunds or events of, nor delete the webhook endpoints of this app; test
// keys cannot touch live objects.
func TestCrossAppWrites(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	rc := e.listen()
	id := e.createCharge("XAPP001", 100)
	e.pay(id)
	evs := rc.waitEvents(t, 1)
	re := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), `{"amount":10,"description":"mine"}`)
	eps := e.do("GET", "/v1/webhook_endpoints", e.sk(), nil)
	epID := eps.JSON["data"].([]any)[0].(map[string]any)["id"].(string)
	other, err := e.node.CreateApp(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, key, body string
	}{
		{"Refund", "POST", "/v1/charges/" + id + "/refunds", other.SecretKeyTest, `{"description":"theirs"}`},
		{"ListRefunds", "GET", "/v1/charges/" + id + "/refunds", other.SecretKeyTest, ""},
		{"GetRefund", "GET", "/v1/charges/" + id + "/refunds/" + re.str("id"), other.SecretKeyTest, ""},
		{"GetEvent", "GET", "/v1/events/" + evs[0]["id"].(string), other.SecretKeyTest, ""},
		{"DeleteEndpoint", "DELETE", "/v1/webhook_endpoints/" + epID, other.SecretKeyTest, ""},
		{"LiveKeyRefundsTestCharge", "POST", "/v1/charges/" + id + "/refunds", e.app.SecretKeyLive, `{"description":"live"}`},
		{"LiveKeyTestEvent", "GET", "/v1/events/" + evs[0]["id"].(string), e.app.SecretKeyLive, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := e.do(tc.method, tc.path, tc.key, body)
			if r.Status != 404 {
				t.Fatalf("%s %s: %d %s, want 404", tc.method, tc.path, r.Status, r.Body)
			}
		})
	}
	if got := e.do("GET", "/v1/charges/"+id, e.sk(), nil).num("amount_refunded"); got != 10 {
		t.Fatalf("amount_refunded = %d, want 10 (only the owner's refund)", got)
	}
	if n := len(e.do("GET", "/v1/webhook_endpoints", e.sk(), nil).JSON["data"].([]any)); n != 1 {
		t.Fatalf("%d endpoints, want the owner's one still there", n)
	}
}
