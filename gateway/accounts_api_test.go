package gateway_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/polypay/polypay/store/storetest"
)

// The account system end to end on a real node: users, bonuses, balance
// transfers and balance transactions, on both stores.

func (e *env) acct(path string) string { return "/v1/apps/" + e.app.AppID + path }

func (e *env) newUser(t *testing.T, id string) {
	t.Helper()
	ok(t, "user "+id, e.do("POST", e.acct("/users"), e.sk(), map[string]any{"id": id, "name": "用户 " + id}))
}

func (e *env) balanceOf(t *testing.T, id string) int64 {
	t.Helper()
	return ok(t, "user "+id, e.do("GET", e.acct("/users/"+id), e.sk(), nil)).num("available_balance")
}

func (e *env) bonus(orderNo, user string, amount int64) *resp {
	return e.do("POST", e.acct("/balance_bonuses"), e.sk(), map[string]any{"user": user, "amount": amount, "order_no": orderNo})
}

func (e *env) balanceTransfer(orderNo, from, to string, amount, fee int64) *resp {
	return e.do("POST", e.acct("/balance_transfers"), e.sk(), map[string]any{"user": from, "recipient": to,
		"amount": amount, "user_fee": fee, "order_no": orderNo, "description": "分账"})
}

// TestAccountFlow: a bonus and a transfer move balances as they say, are
// keyed by order_no, announce themselves, and every refusal names its
// parameter and changes nothing.
func TestAccountFlow(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		e.newUser(t, "alice")
		e.newUser(t, "bob")
		refused(t, "same id", e.do("POST", e.acct("/users"), e.sk(), map[string]any{"id": "alice"}), 400, "id")

		bonus := ok(t, "bonus", e.bonus("BONUS001", "alice", 1000))
		if again := ok(t, "bonus again", e.bonus("BONUS001", "alice", 1000)); again.str("id") != bonus.str("id") {
			t.Fatalf("a repeated bonus made another: %s", again.Body)
		}
		refused(t, "bonus order_no reused", e.bonus("BONUS001", "alice", 999), 400, "order_no")
		tr := ok(t, "transfer", e.balanceTransfer("BT001", "alice", "bob", 300, 10))
		if tr.str("status") != "succeeded" || tr.str("user_balance_transaction") == "" || tr.str("recipient_balance_transaction") == "" {
			t.Fatalf("transfer: %s", tr.Body)
		}
		refusals := []struct {
			name  string
			r     *resp
			param string
		}{
			{"overdraft", e.balanceTransfer("BT002", "alice", "bob", 701, 0), "amount"},
			{"to self", e.balanceTransfer("BT003", "alice", "alice", 1, 0), "recipient"},
			{"unknown recipient", e.balanceTransfer("BT004", "alice", "carol", 1, 0), "recipient"},
			{"unknown user", e.bonus("BONUS002", "carol", 1), "user"},
			{"fee too high", e.balanceTransfer("BT005", "alice", "bob", 10, 10), "user_fee"},
			{"bad user id", e.bonus("BONUS003", "a b", 1), "user"},
			{"unknown field", e.do("POST", e.acct("/users"), e.sk(), map[string]any{"id": "dave", "colour": "red"}), "colour"},
		}
		for _, r := range refusals {
			refused(t, r.name, r.r, 400, r.param)
		}
		ok(t, "disable bob", e.do("PUT", e.acct("/users/bob"), e.sk(), map[string]any{"disabled": true}))
		refused(t, "to a disabled user", e.balanceTransfer("BT006", "alice", "bob", 1, 0), 400, "recipient")

		if a, b := e.balanceOf(t, "alice"), e.balanceOf(t, "bob"); a != 700 || b != 290 {
			t.Fatalf("balances alice %d, bob %d; want 700 and 290", a, b)
		}
		txns := ok(t, "alice's transactions", e.do("GET", e.acct("/balance_transactions?user=alice"), e.sk(), nil))
		data, _ := txns.JSON["data"].([]any)
		var got []string
		for _, d := range data {
			m := d.(map[string]any)
			got = append(got, fmt.Sprintf("%s %v→%v", m["type"], m["amount"], m["available_balance"]))
		}
		if fmt.Sprint(got) != "[transfer -300→700 balance_bonus 1000→1000]" {
			t.Fatalf("alice's balance transactions: %v", got)
		}
		// The same bonus asked 8 times at once under one Idempotency-Key
		// is given once, and every answer is it.
		var wg sync.WaitGroup
		answers := make([]*resp, 8)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = e.do("POST", e.acct("/balance_bonuses"), e.sk(), map[string]any{"user": "alice", "amount": 50,
					"order_no": "BONUSKEY1"}, "Idempotency-Key", "bonus-key-1")
			}()
		}
		wg.Wait()
		for _, a := range answers {
			if a.Status != 200 || a.str("id") != answers[0].str("id") {
				t.Fatalf("concurrent bonus under one key: %d %s", a.Status, a.Body)
			}
		}
		if bal := e.balanceOf(t, "alice"); bal != 750 {
			t.Fatalf("alice has %d after one more bonus of 50, want 750", bal)
		}
		rc.awaitEvent(t, bonus.str("id"), "balance.bonus.succeeded")
		rc.awaitEvent(t, tr.str("id"), "balance.transfer.succeeded")
		checkLedger(t, e)
	})
}

// TestAccountConcurrentDebits: 100 transfers racing to spend one balance
// spend it at most once, on SQLite and PostgreSQL; transfers in both
// directions at once neither deadlock nor lose money.
func TestAccountConcurrentDebits(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		e.newUser(t, "payer")
		e.newUser(t, "payee")
		ok(t, "bonus", e.bonus("FUND0001", "payer", 1000))
		ok(t, "bonus", e.bonus("FUND0002", "payee", 1000))
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				from, to := "payer", "payee"
				if i%10 == 9 { // some go the other way
					from, to = to, from
				}
				r := e.balanceTransfer(fmt.Sprintf("RACE%04d", i), from, to, 30, 0)
				if r.Status != 200 && r.str("error", "param") != "amount" {
					t.Errorf("transfer %d: %d %s", i, r.Status, r.Body)
				}
				mu.Lock()
				statuses[r.Status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		payer, payee := e.balanceOf(t, "payer"), e.balanceOf(t, "payee")
		if payer < 0 || payee < 0 || payer+payee != 2000 {
			t.Fatalf("balances %d + %d after %v, want 2000 in all, none below zero", payer, payee, statuses)
		}
		// 90 transfers of 30 out of the payer's 1000 plus what came back:
		// it ran dry, so some were refused.
		if statuses[400] == 0 || statuses[200]+statuses[400] != 100 {
			t.Fatalf("answers %v", statuses)
		}
		checkLedger(t, e)
	})
}

// TestAccountIsolation: another app's key, and the live key, see none of
// an app's users or balance movements.
func TestAccountIsolation(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	other, err := e.node.CreateApp(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	e.newUser(t, "alice")
	e.newUser(t, "bob")
	bonus := ok(t, "bonus", e.bonus("ISO00001", "alice", 500))
	tr := ok(t, "transfer", e.balanceTransfer("ISO00002", "alice", "bob", 100, 0))
	rec := ok(t, "recharge", e.do("POST", e.acct("/recharges"), e.sk(), e.rechargeBody("ISO00003", "alice", 100, 0, 0)))
	sa := e.settleAccount(t, "alice", "alipay", map[string]any{"account": payee.LogonID, "name": payee.Name})
	wd := ok(t, "withdrawal", e.withdraw("ISO00004", "alice", 100, 0))
	bw := ok(t, "batch", e.do("POST", e.acct("/batch_withdrawals"), e.sk(), map[string]any{"withdrawals": []string{wd.str("id")}, "status": "canceled"}))
	objects := []string{"/users/alice", "/balance_bonuses/" + bonus.str("id"), "/balance_transfers/" + tr.str("id"),
		"/balance_transactions/" + tr.str("user_balance_transaction"), "/recharges/" + rec.str("id"),
		"/users/alice/settle_accounts/" + sa.str("id"), "/withdrawals/" + wd.str("id"), "/batch_withdrawals/" + bw.str("id")}
	lists := []string{"/users", "/balance_bonuses", "/balance_transfers", "/balance_transactions", "/recharges",
		"/withdrawals", "/batch_withdrawals"}
	for _, p := range objects {
		// The other app naming this app in the path is refused as app...
		refused(t, "other app "+p, e.do("GET", e.acct(p), other.SecretKeyTest, nil), 404, "app")
		// ...and the live key of this app finds nothing in test data.
		r := e.do("GET", e.acct(p), e.app.SecretKeyLive, nil)
		if r.Status != 404 {
			t.Fatalf("live %s: %d %s", p, r.Status, r.Body)
		}
	}
	for _, p := range lists {
		refused(t, "other app list "+p, e.do("GET", e.acct(p), other.SecretKeyTest, nil), 404, "app")
		if r := ok(t, "live list "+p, e.do("GET", e.acct(p), e.app.SecretKeyLive, nil)); len(ids(r)) != 0 {
			t.Errorf("live key lists %s: %s", p, r.Body)
		}
	}
	// The other app's own user of the same id is another user.
	ok(t, "their alice", e.do("POST", "/v1/apps/"+other.AppID+"/users", other.SecretKeyTest, map[string]any{"id": "alice"}))
	if r := ok(t, "their alice", e.do("GET", "/v1/apps/"+other.AppID+"/users/alice", other.SecretKeyTest, nil)); r.num("available_balance") != 0 {
		t.Fatalf("another app's alice: %s", r.Body)
	}
	// Another app's key cannot confirm or cancel this app's withdrawal,
	// nor withdraw to this app's settle account.
	refused(t, "their withdrawal", e.do("PUT", "/v1/apps/"+other.AppID+"/withdrawals/"+wd.str("id"), other.SecretKeyTest,
		map[string]any{"status": "pending"}), 404, "id")
	ok(t, "their bonus", e.do("POST", "/v1/apps/"+other.AppID+"/balance_bonuses", other.SecretKeyTest,
		map[string]any{"user": "alice", "amount": 100, "order_no": "THEIRS1"}))
	refused(t, "our settle account", e.do("POST", "/v1/apps/"+other.AppID+"/withdrawals", other.SecretKeyTest,
		map[string]any{"user": "alice", "amount": 100, "channel": "alipay", "settle_account": sa.str("id"), "order_no": "THEIRS2"}), 400, "settle_account")
	refused(t, "bonus on their alice via our path", e.do("POST", "/v1/apps/"+other.AppID+"/balance_bonuses", e.sk(),
		map[string]any{"user": "alice", "amount": 1, "order_no": "X1"}), 404, "app")
}

func (e *env) rechargeBody(orderNo, user string, amount, fee, bonus int64) map[string]any {
	return map[string]any{"user": user, "user_fee": fee, "balance_bonus": map[string]any{"amount": bonus},
		"description": "余额充值", "charge": map[string]any{"order_no": orderNo, "channel": "alipay_qr", "amount": amount,
			"client_ip": "127.0.0.1", "subject": "充值", "body": "余额充值"}}
}

// TestRecharge: a recharge's balance moves only when its charge's verified
// payment arrives, once; its charge cannot be refunded around the balance.
func TestRecharge(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		e.newUser(t, "alice")
		body := e.rechargeBody("RC000001", "alice", 1000, 10, 100)
		rec := ok(t, "recharge", e.do("POST", e.acct("/recharges"), e.sk(), body))
		chID := rec.str("charge", "id")
		if rec.str("object") != "recharge" || rec.JSON["succeeded"] != false || chID == "" || rec.str("charge", "credential", "alipay_qr") == "" {
			t.Fatalf("recharge: %s", rec.Body)
		}
		if again := ok(t, "again", e.do("POST", e.acct("/recharges"), e.sk(), body)); again.str("id") != rec.str("id") {
			t.Fatalf("a repeated recharge made another: %s", again.Body)
		}
		if bal := e.balanceOf(t, "alice"); bal != 0 {
			t.Fatalf("credited %d before the payment", bal)
		}
		e.pay(chID)
		rc.awaitEvent(t, rec.str("id"), "recharge.succeeded")
		got := ok(t, "recharge", e.do("GET", e.acct("/recharges/"+rec.str("id")), e.sk(), nil))
		if got.JSON["succeeded"] != true || got.num("balance_bonus", "amount") != 100 || got.JSON["charge"].(map[string]any)["paid"] != true {
			t.Fatalf("after payment: %s", got.Body)
		}
		// The payment's notification again (as the channel retries) changes nothing.
		e.do("POST", "/v1/test/charges/"+chID+"/pay", e.sk(), `{"result":"success"}`)
		if bal := e.balanceOf(t, "alice"); bal != 990+100 {
			t.Fatalf("balance %d, want 1090 (1000 - fee 10 + bonus 100)", bal)
		}
		badChannel := e.rechargeBody("RC000004", "alice", 100, 0, 0)
		badChannel["charge"].(map[string]any)["channel"] = "bitcoin"
		fromBalance := e.rechargeBody("RC000005", "alice", 100, 0, 0)
		fromBalance["charge"].(map[string]any)["channel"] = "balance"
		refusals := []struct {
			name  string
			r     *resp
			param string
		}{
			{"refund its charge", e.do("POST", "/v1/charges/"+chID+"/refunds", e.sk(), map[string]any{"description": "x"}), "charge"},
			{"fee too high", e.do("POST", e.acct("/recharges"), e.sk(), e.rechargeBody("RC000002", "alice", 100, 100, 0)), "user_fee"},
			{"unknown user", e.do("POST", e.acct("/recharges"), e.sk(), e.rechargeBody("RC000003", "nobody", 100, 0, 0)), "user"},
			{"bad channel", e.do("POST", e.acct("/recharges"), e.sk(), badChannel), "charge[channel]"},
			{"paid from a balance", e.do("POST", e.acct("/recharges"), e.sk(), fromBalance), "charge[channel]"},
			{"ordinary order_no", e.do("POST", e.acct("/recharges"), e.sk(), e.rechargeBody(e.ordinary(t), "alice", 100, 0, 0)), "charge[order_no]"},
		}
		for _, r := range refusals {
			refused(t, r.name, r.r, 400, r.param)
		}
		// Payment codes are refused: their charges may be reversed after a
		// doubt, and taking a credited balance back is not built.
		scan := e.rechargeBody("RC000010", "alice", 500, 0, 0)
		scan["charge"].(map[string]any)["channel"] = "alipay_scan"
		scan["charge"].(map[string]any)["extra"] = map[string]any{"scan_code": "281234567890123456", "terminal_id": "T001"}
		refused(t, "scan recharge", e.do("POST", e.acct("/recharges"), e.sk(), scan), 400, "charge[channel]")
		// A charge refused before it was stored leaves no recharge behind:
		// the order_no may be used again with corrected parameters.
		ok(t, "corrected", e.do("POST", e.acct("/recharges"), e.sk(), e.rechargeBody("RC000004", "alice", 100, 0, 0)))
		if l := ok(t, "list", e.do("GET", e.acct("/recharges?user=alice"), e.sk(), nil)); len(ids(l)) != 2 {
			t.Fatalf("recharges listed: %s", l.Body)
		}
		checkLedger(t, e)
	})
}

// ordinary is the order_no of an ordinary charge.
func (e *env) ordinary(t *testing.T) string {
	e.createCharge("ORD00001", 100)
	return "ORD00001"
}

func (e *env) balanceCharge(orderNo, user string, amount int64) *resp {
	return e.do("POST", "/v1/charges", e.sk(), map[string]any{"order_no": orderNo, "app": map[string]any{"id": e.app.AppID},
		"channel": "balance", "amount": amount, "client_ip": "127.0.0.1", "currency": "cny", "subject": "会员商品",
		"body": "余额支付", "extra": map[string]any{"user": user}})
}

// TestBalanceChannel: a charge on the balance channel is paid from the
// user's balance when created, or refused when the balance cannot cover
// it; its refunds give the amount back at once.
func TestBalanceChannel(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		e.newUser(t, "alice")
		ok(t, "bonus", e.bonus("FUNDBAL1", "alice", 1000))
		ch := ok(t, "charge", e.balanceCharge("BAL00001", "alice", 300))
		if ch.JSON["paid"] != true || ch.num("amount_settle") != 300 || ch.str("transaction_no") == "" {
			t.Fatalf("balance charge: %s", ch.Body)
		}
		if again := ok(t, "again", e.balanceCharge("BAL00001", "alice", 300)); again.str("id") != ch.str("id") {
			t.Fatalf("a repeated charge made another: %s", again.Body)
		}
		rc.awaitEvent(t, ch.str("id"), "charge.succeeded")
		if bal := e.balanceOf(t, "alice"); bal != 700 {
			t.Fatalf("balance after paying 300: %d", bal)
		}
		refused(t, "overdraft", e.balanceCharge("BAL00002", "alice", 701), 400, "amount")
		refused(t, "unknown user", e.balanceCharge("BAL00003", "nobody", 1), 400, "extra[user]")
		refused(t, "no user", e.do("POST", "/v1/charges", e.sk(), map[string]any{"order_no": "BAL00004", "app": map[string]any{"id": e.app.AppID},
			"channel": "balance", "amount": 1, "client_ip": "127.0.0.1", "currency": "cny", "subject": "s", "body": "b"}), 400, "extra[user]")
		if r := e.do("GET", "/v1/charges?app[id]="+e.app.AppID+"&limit=10", e.sk(), nil); len(ids(r)) != 1 {
			t.Fatalf("a refused balance charge was stored: %s", r.Body)
		}
		re := ok(t, "refund", e.do("POST", "/v1/charges/"+ch.str("id")+"/refunds", e.sk(), map[string]any{"amount": 100, "description": "退货"}))
		if re.str("status") != "succeeded" {
			t.Fatalf("balance refund: %s", re.Body)
		}
		rc.awaitEvent(t, re.str("id"), "refund.succeeded")
		refused(t, "refund too much", e.do("POST", "/v1/charges/"+ch.str("id")+"/refunds", e.sk(), map[string]any{"amount": 201, "description": "x"}), 400, "amount")
		if bal := e.balanceOf(t, "alice"); bal != 800 {
			t.Fatalf("balance after a refund of 100: %d", bal)
		}
		checkLedger(t, e)
	})
}

// TestRechargeRefund: a recharge is refunded once, in full: its value
// and bonus leave the balance in the transaction that makes the refund of
// its charge (less the fee the merchant keeps); a balance that cannot
// cover it is refused naming amount and changes nothing.
func TestRechargeRefund(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		e.newUser(t, "alice")
		rec := ok(t, "recharge", e.do("POST", e.acct("/recharges"), e.sk(), e.rechargeBody("RCR00001", "alice", 1000, 10, 100)))
		refundPath := e.acct("/recharges/" + rec.str("id") + "/refunds")
		refused(t, "refund before payment", e.do("POST", refundPath, e.sk(), map[string]any{}), 400, "id")
		e.pay(rec.str("charge", "id"))
		rc.awaitEvent(t, rec.str("id"), "recharge.succeeded")
		ok(t, "spend", e.balanceCharge("BAL00001", "alice", 200))
		refused(t, "balance short", e.do("POST", refundPath, e.sk(), map[string]any{"description": "退款"}), 400, "amount")
		if bal := e.balanceOf(t, "alice"); bal != 890 {
			t.Fatalf("balance %d after a refused refund, want 890", bal)
		}
		ok(t, "bonus", e.bonus("BONUSR01", "alice", 300))
		re := ok(t, "refund", e.do("POST", refundPath, e.sk(), map[string]any{"description": "退款"}))
		if re.str("object") != "refund" || re.num("amount") != 990 || re.str("charge") != rec.str("charge", "id") {
			t.Fatalf("recharge refund: %s", re.Body)
		}
		if bal := e.balanceOf(t, "alice"); bal != 1190-1090 {
			t.Fatalf("balance %d after the refund, want 100", bal)
		}
		rc.awaitEvent(t, re.str("id"), "refund.succeeded")
		refused(t, "refund again", e.do("POST", refundPath, e.sk(), map[string]any{}), 400, "id")
		got := ok(t, "recharge", e.do("GET", e.acct("/recharges/"+rec.str("id")), e.sk(), nil))
		if got.JSON["refunded"] != true || got.JSON["balance_bonus"].(map[string]any)["refunded"] != true {
			t.Fatalf("refunded recharge: %s", got.Body)
		}
		if l := ok(t, "refunds", e.do("GET", refundPath, e.sk(), nil)); len(ids(l)) != 1 {
			t.Fatalf("recharge refunds: %s", l.Body)
		}
		ok(t, "one refund", e.do("GET", refundPath+"/"+re.str("id"), e.sk(), nil))
		refused(t, "its charge directly", e.do("POST", "/v1/charges/"+rec.str("charge", "id")+"/refunds", e.sk(), map[string]any{"description": "x"}), 400, "charge")
		checkLedger(t, e)
	})
}

// TestBalanceTransferChannel: a transfer on the balance channel credits
// its user once, when it is paid; an unknown or disabled user is refused
// naming recipient, and batches cannot use the channel.
func TestBalanceTransferChannel(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		e.newUser(t, "alice")
		e.newUser(t, "bob")
		ok(t, "disable bob", e.do("PUT", e.acct("/users/bob"), e.sk(), map[string]any{"disabled": true}))
		transfer := func(no, user string, amount int64) *resp {
			return e.do("POST", "/v1/transfers", e.sk(), map[string]any{"app": e.app.AppID, "channel": "balance", "order_no": no,
				"amount": amount, "currency": "cny", "type": "b2c", "recipient": user, "description": "返现"})
		}
		tr := ok(t, "transfer", transfer("TRBAL001", "alice", 300))
		if tr.str("status") != "paid" || e.balanceOf(t, "alice") != 300 {
			t.Fatalf("balance transfer: %s (balance %d)", tr.Body, e.balanceOf(t, "alice"))
		}
		if again := ok(t, "again", transfer("TRBAL001", "alice", 300)); again.str("id") != tr.str("id") || e.balanceOf(t, "alice") != 300 {
			t.Fatalf("a repeated transfer: %s (balance %d)", again.Body, e.balanceOf(t, "alice"))
		}
		rc.awaitEvent(t, tr.str("id"), "transfer.succeeded")
		refused(t, "unknown user", transfer("TRBAL002", "carol", 1), 400, "recipient")
		refused(t, "disabled user", transfer("TRBAL003", "bob", 1), 400, "recipient")
		refused(t, "batch", e.do("POST", "/v1/batch_transfers", e.sk(), map[string]any{"app": e.app.AppID, "batch_no": "BTBAL0000001",
			"channel": "balance", "amount": 1, "description": "d", "recipients": []any{map[string]any{"account": "alice", "amount": 1}}}), 400, "channel")
		txns := ok(t, "txns", e.do("GET", e.acct("/balance_transactions?user=alice"), e.sk(), nil))
		if d := txns.JSON["data"].([]any); len(d) != 1 || d[0].(map[string]any)["source"] != tr.str("id") {
			t.Fatalf("alice's balance transactions: %s", txns.Body)
		}
		checkLedger(t, e)
	})
}

// TestPageNumbers: page and per_page walk every account-system list page
// by page, newest first, without repeating or skipping an object.
func TestPageNumbers(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	for _, u := range []string{"p1", "p2", "p3"} {
		e.newUser(t, u)
		ok(t, "bonus", e.bonus("PAGEB"+u, u, 10))
	}
	for _, path := range []string{"/users", "/balance_bonuses", "/balance_transactions"} {
		var seen []string
		for page := 1; page <= 4; page++ {
			r := ok(t, path, e.do("GET", e.acct(path)+fmt.Sprintf("?page=%d&per_page=1", page), e.sk(), nil))
			seen = append(seen, ids(r)...)
		}
		if len(seen) != 3 || seen[0] == seen[1] || seen[1] == seen[2] || seen[0] == seen[2] {
			t.Fatalf("%s by pages of 1: %v", path, seen)
		}
	}
}

// TestBalanceSettlements: each paid balance charge is a settlement that
// follows its refunds; other charges, other apps and other modes have
// none, and a cursor must name one.
func TestBalanceSettlements(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	other, err := e.node.CreateApp(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	e.newUser(t, "alice")
	ok(t, "bonus", e.bonus("BSB00001", "alice", 1000))
	c1 := ok(t, "spend", e.balanceCharge("BSC00001", "alice", 300))
	c2 := ok(t, "spend", e.balanceCharge("BSC00002", "alice", 200))
	ok(t, "refund", e.do("POST", "/v1/charges/"+c1.str("id")+"/refunds", e.sk(), map[string]any{"amount": 100, "description": "x"}))
	e.ordinary(t)
	l := ok(t, "list", e.do("GET", e.acct("/balance_settlements"), e.sk(), nil))
	got := ids(l)
	if len(got) != 2 || got[0] != "bs_"+c2.str("id")[3:] || got[1] != "bs_"+c1.str("id")[3:] {
		t.Fatalf("settlements: %s", l.Body)
	}
	one := ok(t, "one", e.do("GET", e.acct("/balance_settlements/"+got[1]), e.sk(), nil))
	if one.num("amount") != 300 || one.num("amount_refunded") != 100 || one.str("user") != "alice" || one.str("charge") != c1.str("id") {
		t.Fatalf("settlement: %s", one.Body)
	}
	if p2 := ok(t, "page 2", e.do("GET", e.acct("/balance_settlements?page=2&per_page=1"), e.sk(), nil)); len(ids(p2)) != 1 || ids(p2)[0] != got[1] {
		t.Fatalf("page 2: %s", p2.Body)
	}
	refused(t, "foreign cursor", e.do("GET", e.acct("/balance_settlements?starting_after=bs_nope"), e.sk(), nil), 404, "id")
	refused(t, "other app", e.do("GET", e.acct("/balance_settlements/"+got[0]), other.SecretKeyTest, nil), 404, "app")
	if r := e.do("GET", e.acct("/balance_settlements/"+got[0]), e.app.SecretKeyLive, nil); r.Status != 404 {
		t.Fatalf("live key: %d %s", r.Status, r.Body)
	}
	if r := e.do("GET", e.acct("/balance_settlements/bs_"+e.ordinary(t)), e.sk(), nil); r.Status != 404 {
		t.Fatalf("an ordinary charge as a settlement: %d %s", r.Status, r.Body)
	}
}
