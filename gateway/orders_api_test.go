package gateway_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/polypay/polypay/store/storetest"
)

// Coupons and Ping++'s order API end to end on a real node, on both
// stores: a coupon's limits, redemption once under concurrency, a payment
// split between a user's balance and alipay_qr, its refund and cancel.

func (e *env) couponTemplate(t *testing.T, body map[string]any) string {
	t.Helper()
	return ok(t, "coupon template", e.do("POST", e.acct("/coupon_templates"), e.sk(), body)).str("id")
}

func (e *env) issue(t *testing.T, user, tmpl string) string {
	t.Helper()
	return ok(t, "coupon", e.do("POST", e.acct("/users/"+user+"/coupons"), e.sk(), map[string]any{"coupon_template": tmpl})).str("id")
}

func (e *env) pingppOrder(no, uid, coupon string, amount int64) *resp {
	body := map[string]any{"app": e.app.AppID, "merchant_order_no": no, "amount": amount, "currency": "cny",
		"client_ip": "127.0.0.1", "subject": "商品", "body": "描述"}
	if uid != "" {
		body["uid"] = uid
	}
	if coupon != "" {
		body["coupon"] = coupon
	}
	return e.do("POST", "/v1/orders", e.sk(), body)
}

// TestCouponTemplates: types, limits and validity are checked, refusals
// name their parameter, and the limits hold.
func TestCouponTemplates(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		e.newUser(t, "alice")
		e.newUser(t, "bob")
		tmpl := e.couponTemplate(t, map[string]any{"name": "10OFF", "type": 1, "amount_off": 10, "amount_available": 100,
			"max_circulation": 3, "max_user_circulation": 2, "expiration": map[string]any{"duration": 86400}})
		refusals := []struct {
			name  string
			body  map[string]any
			param string
		}{
			{"no type", map[string]any{"amount_off": 1}, "type"},
			{"type 3", map[string]any{"type": 3}, "type"},
			{"cash without amount_off", map[string]any{"type": 1}, "amount_off"},
			{"percent 100", map[string]any{"type": 2, "percent_off": 100}, "percent_off"},
			{"both offs", map[string]any{"type": 2, "percent_off": 10, "amount_off": 5}, "amount_off"},
			{"duration and dates", map[string]any{"type": 1, "amount_off": 5, "expiration": map[string]any{"duration": 10, "time_end": 2000000000}}, "expiration[duration]"},
			{"ended", map[string]any{"type": 1, "amount_off": 5, "expiration": map[string]any{"time_end": 1000}}, "expiration[time_end]"},
			{"unknown", map[string]any{"type": 1, "amount_off": 5, "colour": "red"}, "colour"},
		}
		for _, r := range refusals {
			refused(t, r.name, e.do("POST", e.acct("/coupon_templates"), e.sk(), r.body), 400, r.param)
		}
		e.issue(t, "alice", tmpl)
		e.issue(t, "alice", tmpl)
		refused(t, "third for alice", e.do("POST", e.acct("/users/alice/coupons"), e.sk(), map[string]any{"coupon_template": tmpl}), 400, "user")
		refused(t, "unknown user", e.do("POST", e.acct("/users/nobody/coupons"), e.sk(), map[string]any{"coupon_template": tmpl}), 400, "user")
		refused(t, "batch past max", e.do("POST", e.acct("/coupon_templates/"+tmpl+"/coupons"), e.sk(), map[string]any{"users": []string{"bob", "bob"}}), 400, "coupon_template")
		batch := ok(t, "batch", e.do("POST", e.acct("/coupon_templates/"+tmpl+"/coupons"), e.sk(), map[string]any{"users": []string{"bob"}}))
		if len(ids(batch)) != 1 {
			t.Fatalf("batch: %s", batch.Body)
		}
		got := ok(t, "template", e.do("GET", e.acct("/coupon_templates/"+tmpl), e.sk(), nil))
		if got.num("times_circulated") != 3 || got.num("times_redeemed") != 0 {
			t.Fatalf("template after 3 issues: %s", got.Body)
		}
		if u := ok(t, "alice", e.do("GET", e.acct("/users/alice"), e.sk(), nil)); u.num("available_coupons") != 2 {
			t.Fatalf("alice's available_coupons: %s", u.Body)
		}
		// max_circulation holds under 10 racing issues of a fresh template.
		many := e.couponTemplate(t, map[string]any{"type": 2, "percent_off": 20, "max_circulation": 4})
		var wg sync.WaitGroup
		okCount := make(chan int, 10)
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				user := fmt.Sprintf("racer%d", i)
				e.newUser(t, user)
				if r := e.do("POST", e.acct("/users/"+user+"/coupons"), e.sk(), map[string]any{"coupon_template": many}); r.Status == 200 {
					okCount <- 1
				}
			}()
		}
		wg.Wait()
		close(okCount)
		if n := len(okCount); n != 4 {
			t.Fatalf("%d coupons issued from a template of max_circulation 4", n)
		}
		ok(t, "delete template", e.do("DELETE", e.acct("/coupon_templates/"+many), e.sk(), nil))
		refused(t, "issue from a deleted template", e.do("POST", e.acct("/users/alice/coupons"), e.sk(), map[string]any{"coupon_template": many}), 400, "coupon_template")
	})
}

// TestCouponRedeemedOnce: 20 orders racing for one coupon; one holds it.
func TestCouponRedeemedOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		e.newUser(t, "alice")
		coupon := e.issue(t, "alice", e.couponTemplate(t, map[string]any{"type": 1, "amount_off": 30}))
		var wg sync.WaitGroup
		won := make(chan string, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.pingppOrder(fmt.Sprintf("RACE%04d", i), "alice", coupon, 100)
				if r.Status == 200 {
					won <- r.str("id")
				} else if r.str("error", "param") != "coupon" {
					t.Errorf("a losing order: %d %s", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		close(won)
		if len(won) != 1 {
			t.Fatalf("%d orders hold one coupon", len(won))
		}
		id := <-won
		o := ok(t, "order", e.do("GET", "/v1/orders/"+id, e.sk(), nil))
		if o.num("coupon_amount") != 30 || o.num("actual_amount") != 70 || o.str("coupon") != coupon {
			t.Fatalf("order with the coupon: %s", o.Body)
		}
		// Canceled, the order gives the coupon back for another order.
		ok(t, "cancel", e.do("PUT", "/v1/orders/"+id, e.sk(), map[string]any{"status": "canceled"}))
		ok(t, "after cancel", e.pingppOrder("RACE9999", "alice", coupon, 100))
		checkLedger(t, e)
	})
}

// TestOrderSplitPayment: an order with a coupon paid part from alice's
// balance and part by alipay_qr is paid only when the channel part is,
// redeems the coupon, and a full refund gives both parts and a refundable
// coupon back.
func TestOrderSplitPayment(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		e.newUser(t, "alice")
		ok(t, "bonus", e.bonus("BONUS001", "alice", 500))
		coupon := e.issue(t, "alice", e.couponTemplate(t, map[string]any{"type": 1, "amount_off": 100, "amount_available": 1000}))
		refused(t, "below the minimum", e.pingppOrder("SPLIT0001", "alice", coupon, 999), 400, "coupon")
		o := ok(t, "order", e.pingppOrder("SPLIT0002", "alice", coupon, 1000))
		id := o.str("id")
		if o.num("actual_amount") != 900 || o.num("available_balance") != 500 {
			t.Fatalf("order: %s", o.Body)
		}
		pay := func(body map[string]any) *resp { return e.do("POST", "/v1/orders/"+id+"/pay", e.sk(), body) }
		refused(t, "sum wrong", pay(map[string]any{"channel": "alipay_qr", "charge_amount": 500, "balance_amount": 300}), 400, "charge_amount")
		refused(t, "balance short", pay(map[string]any{"channel": "alipay_qr", "charge_amount": 300, "balance_amount": 600}), 400, "amount")
		paying := ok(t, "pay", pay(map[string]any{"channel": "alipay_qr", "charge_amount": 600, "balance_amount": 300}))
		if paying.str("status") != "created" || paying.num("amount_paid") != 300 || e.balanceOf(t, "alice") != 200 {
			t.Fatalf("after pay: %s (balance %d)", paying.Body, e.balanceOf(t, "alice"))
		}
		chID := paying.str("charge")
		e.pay(chID)
		paid := ok(t, "paid", e.do("GET", "/v1/orders/"+id, e.sk(), nil))
		if paid.str("status") != "paid" || paid.num("amount_paid") != 900 {
			t.Fatalf("after the channel part: %s", paid.Body)
		}
		rc.awaitEvent(t, id, "order.succeeded")
		rc.awaitEvent(t, coupon, "coupon.redeemed")
		if c := ok(t, "coupon", e.do("GET", e.acct("/users/alice/coupons/"+coupon), e.sk(), nil)); c.JSON["redeemed"] != true || c.num("actual_amount") != 100 {
			t.Fatalf("coupon after payment: %s", c.Body)
		}
		charges := ok(t, "charges", e.do("GET", "/v1/orders/"+id+"/charges", e.sk(), nil))
		if len(ids(charges)) != 2 {
			t.Fatalf("order charges: %s", charges.Body)
		}
		ok(t, "one charge", e.do("GET", "/v1/orders/"+id+"/charges/"+chID, e.sk(), nil))
		refused(t, "cancel paid", e.do("PUT", "/v1/orders/"+id, e.sk(), map[string]any{"status": "canceled"}), 400, "status")
		re := ok(t, "order refund", e.do("POST", "/v1/orders/"+id+"/order_refunds", e.sk(), map[string]any{"description": "退货"}))
		if re.num("balance_amount") != 300 || re.num("charge_amount") != 600 || re.str("object") != "order_refund" {
			t.Fatalf("order refund: %s", re.Body)
		}
		rc.awaitEvent(t, id, "order.refunded")
		got := ok(t, "refund", e.do("GET", "/v1/orders/"+id+"/order_refunds/"+re.str("id"), e.sk(), nil))
		if got.str("status") != "succeeded" || e.balanceOf(t, "alice") != 500 {
			t.Fatalf("order refund after it settled: %s (balance %d)", got.Body, e.balanceOf(t, "alice"))
		}
		if c := ok(t, "coupon", e.do("GET", e.acct("/users/alice/coupons/"+coupon), e.sk(), nil)); c.JSON["redeemed"] != false || c.JSON["valid"] != true {
			t.Fatalf("a refundable coupon after a full refund: %s", c.Body)
		}
		refused(t, "refund again", e.do("POST", "/v1/orders/"+id+"/order_refunds", e.sk(), map[string]any{}), 400, "id")
		list := ok(t, "list", e.do("GET", "/v1/orders?uid=alice&paid=true", e.sk(), nil))
		if len(ids(list)) != 1 {
			t.Fatalf("orders of alice, paid: %s", list.Body)
		}
		checkLedger(t, e)
	})
}

// TestOrderCancelGivesBack: canceling an order whose balance part is paid
// closes its channel part and refunds the balance part; paid wholly from
// the balance, an order is paid at once.
func TestOrderCancelGivesBack(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		e.newUser(t, "alice")
		ok(t, "bonus", e.bonus("BONUS001", "alice", 500))
		id := ok(t, "order", e.pingppOrder("CANCEL001", "alice", "", 400)).str("id")
		ok(t, "pay", e.do("POST", "/v1/orders/"+id+"/pay", e.sk(), map[string]any{"channel": "alipay_qr", "balance_amount": 100}))
		if bal := e.balanceOf(t, "alice"); bal != 400 {
			t.Fatalf("balance %d after paying 100 of the order, want 400", bal)
		}
		c := ok(t, "cancel", e.do("PUT", "/v1/orders/"+id, e.sk(), map[string]any{"status": "canceled"}))
		if c.str("status") != "canceled" || e.balanceOf(t, "alice") != 500 {
			t.Fatalf("after cancel: %s (balance %d)", c.Body, e.balanceOf(t, "alice"))
		}
		for _, ch := range c.JSON["charges"].(map[string]any)["data"].([]any) {
			m := ch.(map[string]any)
			if m["channel"] == "alipay_qr" && m["paid"] == true {
				t.Fatalf("the channel part was paid: %v", m)
			}
		}
		refused(t, "pay canceled", e.do("POST", "/v1/orders/"+id+"/pay", e.sk(), map[string]any{"channel": "balance"}), 400, "id")
		whole := ok(t, "order", e.pingppOrder("WHOLE001", "alice", "", 250)).str("id")
		paid := ok(t, "pay", e.do("POST", "/v1/orders/"+whole+"/pay", e.sk(), map[string]any{"channel": "balance", "charge_amount": 250}))
		if paid.str("status") != "paid" || e.balanceOf(t, "alice") != 250 {
			t.Fatalf("paid from the balance: %s (balance %d)", paid.Body, e.balanceOf(t, "alice"))
		}
		refused(t, "no uid", e.do("POST", "/v1/orders/"+ok(t, "order", e.pingppOrder("NOUID001", "", "", 100)).str("id")+"/pay", e.sk(),
			map[string]any{"channel": "alipay_qr", "balance_amount": 10}), 400, "balance_amount")
		refused(t, "royalty", e.do("POST", "/v1/orders", e.sk(), map[string]any{"app": e.app.AppID, "merchant_order_no": "R1",
			"amount": 1, "currency": "cny", "subject": "s", "body": "b", "royalty_users": []any{map[string]any{"user": "nobody", "amount": 1}}}), 400, "royalty_users")
		checkLedger(t, e)
	})
}

// TestCouponIsolation: another app's key sees none of the app's templates,
// coupons or orders, and the live key none of test mode's.
func TestCouponIsolation(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	other, err := e.node.CreateApp(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	e.newUser(t, "alice")
	tmpl := e.couponTemplate(t, map[string]any{"type": 1, "amount_off": 5})
	coupon := e.issue(t, "alice", tmpl)
	order := ok(t, "order", e.pingppOrder("ISO001", "alice", coupon, 100)).str("id")
	for _, p := range []string{"/coupon_templates/" + tmpl, "/users/alice/coupons/" + coupon, "/coupon_templates/" + tmpl + "/coupons",
		"/coupon_templates", "/users/alice/coupons"} {
		refused(t, "other app "+p, e.do("GET", e.acct(p), other.SecretKeyTest, nil), 404, "app")
		r := e.do("GET", e.acct(p), e.app.SecretKeyLive, nil)
		if r.Status == 200 && len(ids(r)) != 0 || r.Status != 200 && r.Status != 404 {
			t.Fatalf("live %s: %d %s", p, r.Status, r.Body)
		}
	}
	for _, key := range []string{other.SecretKeyTest, e.app.SecretKeyLive} {
		for _, r := range []*resp{e.do("GET", "/v1/orders/"+order, key, nil), e.do("PUT", "/v1/orders/"+order, key, map[string]any{"status": "canceled"}),
			e.do("GET", "/v1/orders/"+order+"/order_refunds", key, nil), e.do("POST", "/v1/orders/"+order+"/pay", key, map[string]any{"channel": "balance"})} {
			if r.Status != 404 {
				t.Fatalf("another tenant reached the order: %d %s", r.Status, r.Body)
			}
		}
		if l := ok(t, "orders", e.do("GET", "/v1/orders", key, nil)); len(ids(l)) != 0 {
			t.Fatalf("another tenant lists orders: %s", l.Body)
		}
	}
	// Another app's user cannot redeem this app's coupon on its own order.
	if r := e.do("POST", "/v1/orders", other.SecretKeyTest, map[string]any{"app": other.AppID, "merchant_order_no": "ISO002",
		"amount": 100, "currency": "cny", "subject": "s", "body": "b", "uid": "alice", "coupon": coupon}); r.Status != 400 || r.str("error", "param") != "coupon" {
		t.Fatalf("other app redeems the coupon: %d %s", r.Status, r.Body)
	}
}
