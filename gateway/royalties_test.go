package gateway_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/polypay/polypay/store/storetest"
)

// royaltyTree is a platform (e.app) with an agent A (level 1, receiving on
// its user agent_user of the platform), a merchant M under A (level 2)
// and a merchant M3 directly under the platform (level 1, no user).
type royaltyTree struct {
	plat, a, m, m3    string
	aKey, mKey, m3Key string
}

func newRoyaltyTree(t *testing.T, e *env) royaltyTree {
	t.Helper()
	e.newUser(t, "agent_user")
	e.newUser(t, "partner")
	tr := royaltyTree{plat: e.app.AppID}
	sub := func(under string, body map[string]any) (string, string) {
		r := ok(t, "sub-app", e.do("POST", "/v1/apps/"+under+"/sub_apps", e.sk(), body))
		return r.str("id"), r.str("keys", "secret_key_test")
	}
	tr.a, tr.aKey = sub(tr.plat, map[string]any{"display_name": "Agent A", "user": "agent_user"})
	tr.m, tr.mKey = sub(tr.a, map[string]any{"display_name": "Merchant M"})
	tr.m3, tr.m3Key = sub(tr.plat, map[string]any{"display_name": "Merchant M3"})
	return tr
}

// template makes a rate template in the platform: level 0 and level 1
// shares in 0.01 %.
func (e *env) royaltyTemplate(t *testing.T, refund, alloc string, l0, l1 int) string {
	t.Helper()
	return ok(t, "template", e.do("POST", "/v1/royalty_templates", e.sk(), map[string]any{"app": e.app.AppID, "name": "两级分润",
		"rule": map[string]any{"royalty_mode": "rate", "refund_mode": refund, "allocation_mode": alloc,
			"data": []any{map[string]any{"level": 0, "value": l0}, map[string]any{"level": 1, "value": l1}}}})).str("id")
}

// paidOrder makes an order for app (by the platform's key) with extra
// parameters, pays it on alipay_qr and returns the order and its charge.
func (e *env) paidOrder(t *testing.T, app, no string, amount int64, extra map[string]any) (string, string) {
	t.Helper()
	body := map[string]any{"app": app, "merchant_order_no": no, "amount": amount, "currency": "cny", "client_ip": "127.0.0.1",
		"subject": "商品", "body": "描述"}
	for k, v := range extra {
		body[k] = v
	}
	o := ok(t, "order "+no, e.do("POST", "/v1/orders", e.sk(), body))
	p := ok(t, "pay "+no, e.do("POST", "/v1/orders/"+o.str("id")+"/pay", e.sk(), map[string]any{"channel": "alipay_qr"}))
	e.pay(p.str("charge"))
	return o.str("id"), p.str("charge")
}

// royaltiesOf sums an order's royalties per recipient (app/user), as the
// platform's key lists the payer's.
func (e *env) royaltiesOf(t *testing.T, payer, order string) map[string]int64 {
	t.Helper()
	l := ok(t, "royalties of "+order, e.do("GET", "/v1/royalties?limit=100&order="+order+"&payer_app="+payer, e.sk(), nil))
	out := map[string]int64{}
	for _, d := range l.JSON["data"].([]any) {
		r := d.(map[string]any)
		k := r["recipient_app"].(string)
		if u, _ := r["source_user"].(string); u != "" {
			k += "/" + u
		}
		out[k] += int64(r["amount"].(float64))
	}
	return out
}

// TestRoyalties: a template's levels share a merchant's paid order among
// its ancestors (an app's user, or the app itself); a level-1 merchant's
// own level goes to the platform under service_reserved; royalty_users
// name users; refunds take shares back; a settlement previews, pays the
// recipients' balances (postings in both books) or is canceled; manual
// marking; refusals name their parameter; and nobody outside the tree,
// the mode or the two parties sees a royalty.
func TestRoyalties(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		tr := newRoyaltyTree(t, e)
		tmpl := e.royaltyTemplate(t, "proportional", "service_reserved", 200, 100) // 2 % and 1 %
		order, charge := e.paidOrder(t, tr.m, "ROY0001", 10000, map[string]any{"royalty_template": tmpl})
		want := map[string]int64{tr.plat: 200, tr.a + "/agent_user": 100}
		if got := e.royaltiesOf(t, tr.m, order); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("M's order shares %v, want %v", got, want)
		}
		o3, _ := e.paidOrder(t, tr.m3, "ROY0002", 10000, map[string]any{"royalty_template": tmpl})
		if got := e.royaltiesOf(t, tr.m3, o3); got[tr.plat] != 300 || len(got) != 1 {
			t.Fatalf("M3's own level under service_reserved goes to the platform: %v", got)
		}
		op, _ := e.paidOrder(t, tr.plat, "ROY0003", 1000, map[string]any{"royalty_users": []any{map[string]any{"user": "partner", "amount": 300}}})
		if got := e.royaltiesOf(t, tr.plat, op); got[tr.plat+"/partner"] != 300 || len(got) != 1 {
			t.Fatalf("royalty_users shares %v", got)
		}

		// A refund of half takes half back (proportional).
		ok(t, "refund", e.do("POST", "/v1/charges/"+charge+"/refunds", e.sk(), map[string]any{"amount": 5000, "description": "退一半"}))
		waitFor(t, "take-backs", func() bool { return e.royaltiesOf(t, tr.m, order)[tr.plat] == 100 })
		if got := e.royaltiesOf(t, tr.m, order); got[tr.a+"/agent_user"] != 50 {
			t.Fatalf("after a half refund %v", got)
		}

		// Settlement of M's royalties: preview, create, confirm.
		sbody := map[string]any{"payer_app": tr.m, "method": "balance", "is_preview": true}
		pv := ok(t, "preview", e.do("POST", "/v1/royalty_settlements", e.sk(), sbody))
		if pv.num("amount") != 150 || pv.num("count") != 2 || pv.JSON["id"] != "" {
			t.Fatalf("preview %s", pv.Body)
		}
		delete(sbody, "is_preview")
		st := ok(t, "settlement", e.do("POST", "/v1/royalty_settlements", e.sk(), sbody))
		if st.str("status") != "created" || st.num("amount") != 150 {
			t.Fatalf("settlement %s", st.Body)
		}
		refused(t, "nothing left to settle", e.do("POST", "/v1/royalty_settlements", e.sk(), sbody), 400, "payer_app")
		done := ok(t, "confirm", e.do("PUT", "/v1/royalty_settlements/"+st.str("id"), e.sk(), map[string]any{"status": "pending"}))
		if done.str("status") != "succeeded" || done.num("amount_succeeded") != 150 || done.num("count_succeeded") != 2 {
			t.Fatalf("confirmed %s", done.Body)
		}
		if bal := e.balanceOf(t, "agent_user"); bal != 50 {
			t.Fatalf("agent_user's balance %d, want 50", bal)
		}
		refused(t, "confirm twice", e.do("PUT", "/v1/royalty_settlements/"+st.str("id"), e.sk(), map[string]any{"status": "pending"}), 400, "status")
		txns := ok(t, "royalty transactions", e.do("GET", "/v1/royalty_transactions?royalty_settlement="+st.str("id"), tr.mKey, nil))
		if len(ids(txns)) != 2 {
			t.Fatalf("transactions %s", txns.Body)
		}
		settled := ok(t, "royalties of M", e.do("GET", "/v1/royalties?status=succeeded", tr.mKey, nil))
		if len(ids(settled)) != 4 {
			t.Fatalf("M's settled royalties %s", settled.Body)
		}

		// Cancel: M3's royalties wait for another settlement.
		st3 := ok(t, "M3 settlement", e.do("POST", "/v1/royalty_settlements", e.sk(), map[string]any{"payer_app": tr.m3, "method": "balance"}))
		if c := ok(t, "cancel", e.do("PUT", "/v1/royalty_settlements/"+st3.str("id"), e.sk(), map[string]any{"status": "canceled"})); c.str("status") != "canceled" || c.num("amount_canceled") != 300 {
			t.Fatalf("canceled %s", c.Body)
		}
		ok(t, "M3 settled again", e.do("POST", "/v1/royalty_settlements", e.sk(), map[string]any{"payer_app": tr.m3, "method": "balance"}))

		// Manual: the platform marks its partner's royalty settled outside.
		pr := ok(t, "platform royalties", e.do("GET", "/v1/royalties?order="+op, e.sk(), nil))
		rid := ids(pr)[0]
		mk := ok(t, "manual", e.do("PUT", "/v1/royalties", e.sk(), map[string]any{"ids": []string{rid}, "method": "manual", "description": "线下已付"}))
		if r := mk.JSON["data"].([]any)[0].(map[string]any); r["status"] != "succeeded" || r["method"] != "manual" {
			t.Fatalf("marked %s", mk.Body)
		}
		refused(t, "unmark", e.do("PUT", "/v1/royalties", e.sk(), map[string]any{"ids": []string{rid}, "method": nil}), 400, "method")
		refused(t, "M marks a royalty it does not pay", e.do("PUT", "/v1/royalties", tr.mKey, map[string]any{"ids": []string{rid}, "method": "manual"}), 400, "ids")

		checkLedger(t, e)
		royaltyIsolation(t, e, tr, rid, st.str("id"))
		royaltyRefusals(t, e, tr, tmpl)
	})
}

// royaltyIsolation: a royalty is its payer's (and its ancestors') and its
// recipient's; siblings, other platforms and the other mode see nothing.
func royaltyIsolation(t *testing.T, e *env, tr royaltyTree, platRoyalty, mSettlement string) {
	t.Helper()
	mList := ok(t, "M's royalties", e.do("GET", "/v1/royalties?limit=100", tr.mKey, nil))
	mRoyalty := ids(mList)[0]
	ok(t, "the platform reads M's royalty", e.do("GET", "/v1/royalties/"+mRoyalty, e.sk(), nil))
	ok(t, "A reads M's settlement", e.do("GET", "/v1/royalty_settlements/"+mSettlement, tr.aKey, nil))
	other, err := e.node.CreateApp(ctx, "other platform")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, path, key string }{
		{"M3 reads M's royalty", "/v1/royalties/" + mRoyalty, tr.m3Key},
		{"another platform reads M's royalty", "/v1/royalties/" + mRoyalty, other.SecretKeyTest},
		{"the live key reads M's royalty", "/v1/royalties/" + mRoyalty, e.app.SecretKeyLive},
		{"M reads the platform's royalty", "/v1/royalties/" + platRoyalty, tr.mKey},
		{"M3 reads M's settlement", "/v1/royalty_settlements/" + mSettlement, tr.m3Key},
		{"another platform reads M's settlement", "/v1/royalty_settlements/" + mSettlement, other.SecretKeyTest},
	} {
		refused(t, c.what, e.do("GET", c.path, c.key, nil), 404, "id")
	}
	if l := ok(t, "M3's list", e.do("GET", "/v1/royalties?limit=100", tr.m3Key, nil)); len(ids(l)) != 1 {
		t.Fatalf("M3 sees %d royalties, want its own one: %s", len(ids(l)), l.Body)
	}
	if l := ok(t, "another platform's list", e.do("GET", "/v1/royalties", other.SecretKeyTest, nil)); len(ids(l)) != 0 {
		t.Fatalf("another platform sees royalties: %s", l.Body)
	}
	refused(t, "M3 settles M's royalties", e.do("POST", "/v1/royalty_settlements", tr.m3Key, map[string]any{"payer_app": tr.m, "method": "balance"}), 400, "payer_app")
	refused(t, "M reads the platform's cursor", e.do("GET", "/v1/royalties?starting_after="+platRoyalty, tr.mKey, nil), 400, "starting_after")
}

// royaltyRefusals: bad templates, orders and settlements name their
// parameter and change nothing.
func royaltyRefusals(t *testing.T, e *env, tr royaltyTree, tmpl string) {
	t.Helper()
	rule := func(mode, refund, alloc string, data ...any) map[string]any {
		return map[string]any{"app": e.app.AppID, "rule": map[string]any{"royalty_mode": mode, "refund_mode": refund, "allocation_mode": alloc, "data": data}}
	}
	lv := func(l, v int) map[string]any { return map[string]any{"level": l, "value": v} }
	for _, c := range []struct {
		what  string
		body  map[string]any
		param string
	}{
		{"no rule", map[string]any{"app": e.app.AppID, "name": "x"}, "rule"},
		{"bad mode", rule("percent", "no_refund", "receipt_reserved", lv(0, 1)), "rule[royalty_mode]"},
		{"bad refund mode", rule("rate", "sometimes", "receipt_reserved", lv(0, 1)), "rule[refund_mode]"},
		{"bad allocation", rule("rate", "no_refund", "nobody", lv(0, 1)), "rule[allocation_mode]"},
		{"no data", rule("rate", "no_refund", "receipt_reserved"), "rule[data]"},
		{"over 100 %", rule("rate", "no_refund", "receipt_reserved", lv(0, 6000), lv(1, 5000)), "rule[data]"},
		{"level twice", rule("fixed", "no_refund", "receipt_reserved", lv(1, 1), lv(1, 2)), "rule[data]"},
		{"unknown rule field", map[string]any{"app": e.app.AppID, "rule": map[string]any{"royalty_mode": "rate", "colour": 1}}, "rule"},
	} {
		refused(t, c.what, e.do("POST", "/v1/royalty_templates", e.sk(), c.body), 400, c.param)
	}
	order := func(no string, extra map[string]any) *resp {
		body := map[string]any{"app": tr.m, "merchant_order_no": no, "amount": 1000, "currency": "cny", "subject": "s", "body": "b"}
		for k, v := range extra {
			body[k] = v
		}
		return e.do("POST", "/v1/orders", e.sk(), body)
	}
	users := func(us ...any) map[string]any { return map[string]any{"royalty_users": us} }
	u := func(id string, amt int) map[string]any { return map[string]any{"user": id, "amount": amt} }
	for _, c := range []struct {
		what  string
		extra map[string]any
		param string
	}{
		{"both", map[string]any{"royalty_template": tmpl, "royalty_users": []any{u("partner", 1)}}, "royalty_template"},
		{"unknown template", map[string]any{"royalty_template": "ryt_nope"}, "royalty_template"},
		{"unknown user", users(u("nobody", 1)), "royalty_users"},
		{"over the amount", users(u("partner", 600), u("agent_user", 500)), "royalty_users"},
		{"user twice", users(u("partner", 1), u("partner", 2)), "royalty_users"},
		{"zero", users(u("partner", 0)), "royalty_users"},
		{"not a list", map[string]any{"royalty_users": "partner"}, "royalty_users"},
		{"foreign service_app", map[string]any{"service_app": tr.m3}, "service_app"},
	} {
		refused(t, c.what, order("BAD-"+c.param+"-"+fmt.Sprint(len(c.what)), c.extra), 400, c.param)
	}
	refused(t, "an unknown method", e.do("POST", "/v1/royalty_settlements", e.sk(), map[string]any{"payer_app": tr.m, "method": "bitcoin"}), 400, "method")
	refused(t, "bad created", e.do("POST", "/v1/royalty_settlements", e.sk(), map[string]any{"payer_app": tr.m, "method": "balance", "created": map[string]any{"after": 1}}), 400, "created")
	refused(t, "M's key names another template", e.do("GET", "/v1/royalty_templates/"+tmpl, tr.mKey, nil), 404, "id")
	// A deleted template takes no new orders.
	ok(t, "delete template", e.do("DELETE", "/v1/royalty_templates/"+tmpl, e.sk(), nil))
	refused(t, "deleted template", order("DELTMPL1", map[string]any{"royalty_template": tmpl}), 400, "royalty_template")
}

// TestRoyaltyRefundModes: each refund_mode unwinds a template's shares
// as it says after a partial and then a full refund.
func TestRoyaltyRefundModes(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		tr := newRoyaltyTree(t, e)
		for i, c := range []struct {
			mode                  string
			afterPart, afterWhole int64 // the platform's net share (10 % of 1000)
		}{
			{"no_refund", 100, 100},
			{"proportional", 70, 0},
			{"full_refund", 0, 0},
		} {
			tmpl := e.royaltyTemplate(t, c.mode, "receipt_reserved", 1000, 500)
			order, charge := e.paidOrder(t, tr.m, fmt.Sprintf("MODE%04d", i), 1000, map[string]any{"royalty_template": tmpl})
			if got := e.royaltiesOf(t, tr.m, order); got[tr.plat] != 100 || got[tr.a+"/agent_user"] != 50 {
				t.Fatalf("%s: shares %v", c.mode, got)
			}
			for _, step := range []struct {
				amount int64
				want   int64
			}{{300, c.afterPart}, {700, c.afterWhole}} {
				ok(t, "refund", e.do("POST", "/v1/charges/"+charge+"/refunds", e.sk(), map[string]any{"amount": step.amount, "description": "r"}))
				waitFor(t, c.mode+" take-back", func() bool { return e.royaltiesOf(t, tr.m, order)[tr.plat] == step.want })
			}
			if got := e.royaltiesOf(t, tr.m, order)[tr.a+"/agent_user"]; got != c.afterWhole/2 {
				t.Fatalf("%s: A's net share %d, want %d", c.mode, got, c.afterWhole/2)
			}
		}
		checkLedger(t, e)
	})
}

// TestRoyaltyTransferSettlement: a settlement by alipay pays each
// recipient user's Alipay settle account by a transfer from the payer's
// funds; the transaction is pending until the transfer is decided, then
// succeeded; a recipient without a settle account there fails at once and
// its royalty waits for another settlement; the books agree.
func TestRoyaltyTransferSettlement(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		e.newUser(t, "partner")
		e.newUser(t, "nocard")
		e.settleAccount(t, "partner", "alipay", map[string]any{"account": payee.LogonID, "name": payee.Name})
		order, _ := e.paidOrder(t, e.app.AppID, "ROYTR001", 5000, map[string]any{"royalty_users": []any{
			map[string]any{"user": "partner", "amount": 300}, map[string]any{"user": "nocard", "amount": 200}}})
		refused(t, "an unknown method", e.do("POST", "/v1/royalty_settlements", e.sk(), map[string]any{"payer_app": e.app.AppID, "method": "bitcoin"}), 400, "method")
		st := ok(t, "settlement", e.do("POST", "/v1/royalty_settlements", e.sk(), map[string]any{"payer_app": e.app.AppID, "method": "alipay"}))
		if st.num("count") != 2 || st.num("amount") != 500 {
			t.Fatalf("settlement %s", st.Body)
		}
		conf := ok(t, "confirm", e.do("PUT", "/v1/royalty_settlements/"+st.str("id"), e.sk(), map[string]any{"status": "pending"}))
		if conf.str("status") != "pending" {
			t.Fatalf("confirmed: %s", conf.Body)
		}
		// The sandbox decides a transfer when the merchant looks at it.
		for _, d := range conf.JSON["royalty_transactions"].(map[string]any)["data"].([]any) {
			if id, _ := d.(map[string]any)["transfer"].(string); id != "" {
				e.settle("/v1/transfers/"+id, "paid")
			}
		}
		done := e.settle("/v1/royalty_settlements/"+st.str("id"), "partially_succeeded")
		if done.num("amount_succeeded") != 300 || done.num("amount_failed") != 200 {
			t.Fatalf("settled %s", done.Body)
		}
		if ev := rc.awaitEvent(t, st.str("id"), "royalty_settlement.succeeded"); ev["status"] != "partially_succeeded" {
			t.Fatalf("royalty_settlement.succeeded %v", ev)
		}
		var paid, failed map[string]any
		for _, d := range done.JSON["royalty_transactions"].(map[string]any)["data"].([]any) {
			x := d.(map[string]any)
			if x["source_user"] == "partner" {
				paid = x
			} else {
				failed = x
			}
		}
		tr := ok(t, "transfer", e.do("GET", "/v1/transfers/"+paid["transfer"].(string), e.sk(), nil))
		if paid["status"] != "succeeded" || tr.num("amount") != 300 || tr.str("channel") != "alipay" || tr.str("status") != "paid" ||
			tr.str("recipient") != payee.LogonID {
			t.Fatalf("the partner's payment %v, transfer %s", paid, tr.Body)
		}
		if failed["status"] != "failed" || !strings.Contains(failed["failure_msg"].(string), "结算账户") || failed["transfer"] != nil {
			t.Fatalf("the recipient without a settle account: %v", failed)
		}
		if bal := e.balanceOf(t, "partner"); bal != 0 {
			t.Fatalf("a transfer settlement credited the balance: %d", bal)
		}
		waiting := e.royaltiesOf(t, e.app.AppID, order)
		if waiting[e.app.AppID+"/nocard"] != 200 {
			t.Fatalf("shares %v", waiting)
		}
		if l := ok(t, "unsettled", e.do("GET", "/v1/royalties?status=created&source_user=nocard", e.sk(), nil)); len(ids(l)) != 1 {
			t.Fatalf("the failed recipient's royalty is not unsettled again: %s", l.Body)
		}
		checkLedger(t, e)
	})
}

// TestOrderRefundNamesTakeBacks: an order refund's royalty_users take
// back exactly what they name (not the proportional share); more than a
// user keeps, or a user without royalties on the order, is refused.
func TestOrderRefundNamesTakeBacks(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		e.newUser(t, "partner")
		e.newUser(t, "agent")
		e.newUser(t, "stranger")
		order, _ := e.paidOrder(t, e.app.AppID, "ROYRF001", 5000, map[string]any{"royalty_users": []any{
			map[string]any{"user": "partner", "amount": 300}, map[string]any{"user": "agent", "amount": 200}}})
		path := "/v1/orders/" + order + "/order_refunds"
		for _, c := range []struct {
			what  string
			users []any
		}{
			{"more than kept", []any{map[string]any{"user": "partner", "amount_refunded": 301}}},
			{"no royalties", []any{map[string]any{"user": "stranger", "amount_refunded": 1}}},
			{"twice", []any{map[string]any{"user": "agent", "amount_refunded": 1}, map[string]any{"user": "agent", "amount_refunded": 1}}},
		} {
			refused(t, c.what, e.do("POST", path, e.sk(), map[string]any{"charge_amount": 1000, "royalty_users": c.users}), 400, "royalty_users")
		}
		ok(t, "refund", e.do("POST", path, e.sk(), map[string]any{"charge_amount": 2500, "description": "退一半",
			"royalty_users": []any{map[string]any{"user": "partner", "amount_refunded": 100}}}))
		waitFor(t, "the take-back", func() bool { return e.royaltiesOf(t, e.app.AppID, order)[e.app.AppID+"/partner"] == 200 })
		if got := e.royaltiesOf(t, e.app.AppID, order); got[e.app.AppID+"/agent"] != 200 {
			t.Fatalf("named take-backs %v: the agent's share moved", got)
		}
		checkLedger(t, e)
	})
}
