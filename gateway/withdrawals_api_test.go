package gateway_test

import (
	"testing"

	"github.com/polypay/polypay/store/storetest"
)

func (e *env) settleAccount(t *testing.T, user, channel string, recipient map[string]any) *resp {
	t.Helper()
	return ok(t, "settle account", e.do("POST", e.acct("/users/"+user+"/settle_accounts"), e.sk(),
		map[string]any{"channel": channel, "recipient": recipient}))
}

func (e *env) withdraw(orderNo, user string, amount, fee int64) *resp {
	return e.do("POST", e.acct("/withdrawals"), e.sk(), map[string]any{"user": user, "amount": amount, "user_fee": fee,
		"channel": "alipay", "order_no": orderNo, "description": "提现"})
}

// TestWithdrawals: a withdrawal holds the amount at once, pays amount -
// user_fee to the settle account through a transfer once confirmed, and
// gives the amount back when canceled or when its transfer fails.
func TestWithdrawals(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		for _, u := range []string{"alice", "bob"} {
			e.newUser(t, u)
			ok(t, "bonus", e.bonus("FUND"+u, u, 10000))
		}
		e.settleAccount(t, "alice", "alipay", map[string]any{"account": payee.LogonID, "name": payee.Name})
		e.settleAccount(t, "bob", "alipay", map[string]any{"account": payeeFrozen.LogonID, "name": payeeFrozen.Name})
		refused(t, "second alipay account", e.do("POST", e.acct("/users/alice/settle_accounts"), e.sk(),
			map[string]any{"channel": "alipay", "recipient": map[string]any{"account": "x@example.com", "name": "x"}}), 400, "channel")
		card := e.settleAccount(t, "alice", "unionpay", map[string]any{"account": "6216261000000000018", "name": "全渠道", "open_bank_code": "0102"})
		if got := card.str("recipient", "account"); got != "621626******0018" {
			t.Fatalf("a card settle account shows %q", got)
		}

		// Paid: alice gets 2900 at Alipay, the merchant keeps 100.
		wd := ok(t, "withdrawal", e.withdraw("WD000001", "alice", 3000, 100))
		if wd.str("status") != "created" || e.balanceOf(t, "alice") != 7000 {
			t.Fatalf("created: %s, balance %d", wd.Body, e.balanceOf(t, "alice"))
		}
		if again := ok(t, "again", e.withdraw("WD000001", "alice", 3000, 100)); again.str("id") != wd.str("id") || e.balanceOf(t, "alice") != 7000 {
			t.Fatalf("a repeated withdrawal: %s", again.Body)
		}
		path := e.acct("/withdrawals/" + wd.str("id"))
		conf := ok(t, "confirm", e.do("PUT", path, e.sk(), map[string]any{"status": "pending"}))
		if conf.str("transfer") == "" {
			t.Fatalf("confirmed: %s", conf.Body)
		}
		done := e.settle(path, "succeeded")
		tr := ok(t, "transfer", e.do("GET", "/v1/transfers/"+done.str("transfer"), e.sk(), nil))
		if tr.num("amount") != 2900 || tr.str("status") != "paid" || tr.str("recipient") != payee.LogonID {
			t.Fatalf("its transfer: %s", tr.Body)
		}
		rc.awaitEvent(t, wd.str("id"), "balance.withdrawal.succeeded")
		refused(t, "cancel a succeeded one", e.do("PUT", path, e.sk(), map[string]any{"status": "canceled"}), 400, "status")

		// Failed: bob's account is frozen; the amount comes back.
		bad := ok(t, "withdrawal", e.withdraw("WD000002", "bob", 2000, 0))
		ok(t, "confirm", e.do("PUT", e.acct("/withdrawals/"+bad.str("id")), e.sk(), map[string]any{"status": "pending"}))
		if f := e.settle(e.acct("/withdrawals/"+bad.str("id")), "failed"); f.str("failure_msg") == "" {
			t.Fatalf("failed: %s", f.Body)
		}
		rc.awaitEvent(t, bad.str("id"), "balance.withdrawal.failed")
		if bal := e.balanceOf(t, "bob"); bal != 10000 {
			t.Fatalf("bob's balance after a failed withdrawal: %d", bal)
		}

		// Canceled before confirmation: given back.
		c := ok(t, "withdrawal", e.withdraw("WD000003", "alice", 1000, 0))
		ok(t, "cancel", e.do("PUT", e.acct("/withdrawals/"+c.str("id")), e.sk(), map[string]any{"status": "canceled"}))
		refused(t, "confirm a canceled one", e.do("PUT", e.acct("/withdrawals/"+c.str("id")), e.sk(), map[string]any{"status": "pending"}), 400, "status")
		if bal := e.balanceOf(t, "alice"); bal != 7000 {
			t.Fatalf("alice's balance: %d, want 7000", bal)
		}
		refused(t, "overdraft", e.withdraw("WD000004", "alice", 7001, 0), 400, "amount")
		refused(t, "no settle account", e.do("POST", e.acct("/withdrawals"), e.sk(), map[string]any{"user": "bob", "amount": 100,
			"channel": "wx_pub", "order_no": "WD000005"}), 400, "settle_account")
		refused(t, "bad status", e.do("PUT", path, e.sk(), map[string]any{"status": "paid"}), 400, "status")
		if l := ok(t, "list", e.do("GET", e.acct("/withdrawals?user=alice&status=succeeded"), e.sk(), nil)); len(ids(l)) != 1 {
			t.Fatalf("listed: %s", l.Body)
		}
		// A batch confirms many; one not created refuses the whole batch.
		w1, w2 := ok(t, "w1", e.withdraw("WD000101", "alice", 100, 0)), ok(t, "w2", e.withdraw("WD000102", "alice", 200, 0))
		refused(t, "batch with a done one", e.do("POST", e.acct("/batch_withdrawals"), e.sk(),
			map[string]any{"withdrawals": []string{w1.str("id"), wd.str("id")}}), 400, "withdrawals[1]")
		batch := ok(t, "batch", e.do("POST", e.acct("/batch_withdrawals"), e.sk(), map[string]any{"withdrawals": []string{w1.str("id"), w2.str("id")}}))
		if batch.str("object") != "batch_withdrawal" || batch.num("total_amount") != 300 || batch.num("total_count") != 2 {
			t.Fatalf("batch: %s", batch.Body)
		}
		e.settle(e.acct("/withdrawals/"+w1.str("id")), "succeeded")
		e.settle(e.acct("/withdrawals/"+w2.str("id")), "succeeded")
		if got := ok(t, "batch", e.do("GET", e.acct("/batch_withdrawals/"+batch.str("id")), e.sk(), nil)); got.num("succeeded_count") != 2 {
			t.Fatalf("batch after: %s", got.Body)
		}
		if bal := e.balanceOf(t, "alice"); bal != 6700 {
			t.Fatalf("alice's balance after the batch: %d, want 6700", bal)
		}
		// Its settle account deleted before confirmation: it fails, given back.
		gone := ok(t, "withdrawal", e.withdraw("WD000006", "alice", 500, 0))
		ok(t, "delete account", e.do("DELETE", e.acct("/users/alice/settle_accounts/"+gone.str("settle_account")), e.sk(), nil))
		if f := ok(t, "confirm", e.do("PUT", e.acct("/withdrawals/"+gone.str("id")), e.sk(), map[string]any{"status": "pending"})); f.str("status") != "failed" {
			t.Fatalf("a withdrawal whose settle account is gone: %s", f.Body)
		}
		if bal := e.balanceOf(t, "alice"); bal != 6700 {
			t.Fatalf("alice's balance after a failed withdrawal: %d, want 6700", bal)
		}
		checkLedger(t, e)
	})
}

// TestUserShowsSettleAccounts: a user embeds its settle accounts and can
// withdraw all of its balance.
func TestUserShowsSettleAccounts(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	e.newUser(t, "alice")
	ok(t, "bonus", e.bonus("BONUSSA1", "alice", 700))
	sa := e.settleAccount(t, "alice", "alipay", map[string]any{"account": payee.LogonID, "name": payee.Name})
	u := ok(t, "user", e.do("GET", e.acct("/users/alice"), e.sk(), nil))
	accts, _ := u.JSON["settle_accounts"].([]any)
	if len(accts) != 1 || accts[0].(map[string]any)["id"] != sa.str("id") || u.num("withdrawable_balance") != 700 {
		t.Fatalf("user: %s", u.Body)
	}
}
