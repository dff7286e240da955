package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/console/consoletest"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/sim/alipaysim"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

func accountsURL(e *consoletest.Env, suffix string) string {
	return "/console/apps/" + e.App.AppID + "/users" + suffix
}

// inOrder fails unless every want is in s, each after the one before.
func inOrder(t *testing.T, s string, want ...string) {
	t.Helper()
	at := 0
	for _, w := range want {
		i := strings.Index(s[at:], w)
		if i < 0 {
			t.Fatalf("%q missing (after offset %d) in %s", w, at, s)
		}
		at += i + len(w)
	}
}

// rowOf is the table row with that id attribute, "" when there is none.
func rowOf(page, id string) string {
	m := regexp.MustCompile(`<tr id="` + regexp.QuoteMeta(id) + `">(?s:(.*?))</tr>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestAccountPages(t *testing.T) {
	e := consoletest.Start(t)
	s := e.SeedAccounts()
	c := signedIn(t, e, console.RoleReadOnly)
	test := "?mode=test"

	t.Run("Users", func(t *testing.T) {
		r := c.get(accountsURL(e, test))
		if r.Status != http.StatusOK {
			t.Fatalf("%d: %.300s", r.Status, r.Body)
		}
		m := mainOf(r.Body)
		// By id, newest (greatest) first, as the API lists them.
		inOrder(t, m, s.Dave, s.Bob, s.Alice)
		for _, u := range []struct{ id, name, balance, disabled string }{
			{s.Alice, "Alice 测试", consoletest.AliceBalance, "no"},
			{s.Bob, "Bob", consoletest.BobBalance, "no"},
			{s.Dave, "Dave", "¥0.00", "yes"},
		} {
			row := rowOf(m, "user-"+u.id)
			if row == "" {
				t.Fatalf("no row for %s in %s", u.id, m)
			}
			inOrder(t, row, `href="/console/apps/`+e.App.AppID+`/users/`+u.id+`?mode=test"`, u.name,
				`class="num nowrap balance">`+u.balance+`<`, `class="disabled">`+u.disabled+`<`)
			if !regexp.MustCompile(`<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>`).MatchString(row) {
				t.Errorf("%s: no creation time in %s", u.id, row)
			}
		}
		if !strings.Contains(m, `id="acct-mode">Test<`) || !strings.Contains(m, `href="`+accountsURL(e, "?mode=live")+`"`) {
			t.Errorf("mode or the switch to live missing: %s", m)
		}
		if strings.Contains(m, s.Carol) {
			t.Error("the test list shows a live user")
		}
	})

	t.Run("Alice", func(t *testing.T) {
		r := c.get(accountsURL(e, "/"+s.Alice+test))
		if r.Status != http.StatusOK {
			t.Fatalf("%d: %.300s", r.Status, r.Body)
		}
		m := mainOf(r.Body)
		inOrder(t, m, `id="user-balance"><strong>`+consoletest.AliceBalance+`<`, "Alice 测试", "alice@users.example")
		// Balance transactions, newest first: the transfer out, the
		// recharge (with its bonus), the bonus; each with its sign and the
		// balance after it.
		txns := m[strings.Index(m, `id="balance-txns"`):strings.Index(m, `id="h-recharges"`)]
		inOrder(t, txns, "transfer", "-¥25.00", consoletest.AliceBalance, s.Transfer)
		inOrder(t, txns, "recharge", "+¥9.90", s.Recharge)
		inOrder(t, txns, "balance_bonus", "+¥100.00", "¥100.00", s.Bonus)
		if n := strings.Count(txns, `<tr id="txn-`); n < 3 {
			t.Errorf("%d balance transactions, want at least 3: %s", n, txns)
		}
		rc := rowOf(m, "recharge-"+s.Recharge)
		inOrder(t, rc, `href="/console/charges/`+s.RechargeCharge+`"`, "alipay_qr", "¥10.00", "¥0.10", "¥1.00", "Succeeded")
		if row := rowOf(m, "bonus-"+s.Bonus); !strings.Contains(row, "¥100.00") {
			t.Errorf("bonus row: %s", row)
		}
		inOrder(t, rowOf(m, "btr-"+s.Transfer), "Sent to", `href="/console/apps/`+e.App.AppID+`/users/`+s.Bob+`?mode=test"`, "¥25.00", "¥0.50")
		if forms := postForms(r.Body); len(forms) != 0 {
			t.Errorf("forms on a read-only page: %v", forms)
		}
	})

	t.Run("Bob", func(t *testing.T) {
		m := mainOf(c.get(accountsURL(e, "/"+s.Bob+test)).Body)
		inOrder(t, m, `id="user-balance"><strong>`+consoletest.BobBalance+`<`, "receipts", "+¥24.50", consoletest.BobBalance)
		inOrder(t, rowOf(m, "btr-"+s.Transfer), "Received from", `/users/`+s.Alice+`?mode=test"`)
	})

	t.Run("Dave", func(t *testing.T) {
		// An id with '.', '@' and '-' (the API allows them) is found and linked.
		r := c.get(accountsURL(e, "/"+s.Dave+test))
		if m := mainOf(r.Body); r.Status != 200 || !strings.Contains(m, `id="user-disabled">yes<`) || !strings.Contains(m, "¥0.00") {
			t.Fatalf("%d: %s", r.Status, m)
		}
	})

	t.Run("Chinese", func(t *testing.T) {
		m := mainOf(c.get(accountsURL(e, "/"+s.Alice+test+"&lang=zh")).Body)
		for _, w := range []string{"可用余额", "余额明细", "充值", "余额转账", "转给"} {
			if !strings.Contains(m, w) {
				t.Errorf("%q missing in %s", w, m)
			}
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		for _, path := range []string{accountsURL(e, "/nobody"+test), accountsURL(e, "/nobody"), accountsURL(e, "/%2e%2e"+test),
			accountsURL(e, "/"+strings.Repeat("x", 65)+test)} {
			if r := c.get(path); r.Status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", path, r.Status)
			}
		}
		if r := c.get("/console/apps/app_nonexistent0000/users" + test); r.Status != http.StatusNotFound {
			t.Errorf("unknown app: %d", r.Status)
		}
	})
}

// TestAccountModes: a test-mode user is not listed, nor found, in live
// mode, and a live user not in test mode.
func TestAccountModes(t *testing.T) {
	e := consoletest.Start(t)
	s := e.SeedAccounts()
	c := signedIn(t, e, console.RoleFinance)
	for _, path := range []string{accountsURL(e, ""), accountsURL(e, "?mode=live")} {
		r := c.get(path)
		m := mainOf(r.Body)
		if r.Status != 200 || strings.Contains(m, s.Alice) || strings.Contains(m, s.Bob) || strings.Contains(m, consoletest.AliceBalance) {
			t.Errorf("%s: %d, shows a test user", path, r.Status)
		}
		if row := rowOf(m, "user-"+s.Carol); !strings.Contains(row, consoletest.CarolBalance) || !strings.Contains(row, "?mode=live") {
			t.Errorf("%s: live user row %q", path, row)
		}
	}
	if m := mainOf(c.get(accountsURL(e, "?mode=test")).Body); strings.Contains(m, s.Carol) {
		t.Error("the test list shows the live user")
	}
	for _, path := range []string{accountsURL(e, "/"+s.Alice), accountsURL(e, "/"+s.Alice+"?mode=live"), accountsURL(e, "/"+s.Carol+"?mode=test")} {
		if r := c.get(path); r.Status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, r.Status)
		}
	}
	r := c.get(accountsURL(e, "/"+s.Carol+"?mode=live"))
	m := mainOf(r.Body)
	if r.Status != 200 || !strings.Contains(m, `id="user-balance"><strong>`+consoletest.CarolBalance+`<`) || !strings.Contains(m, s.CarolBonus) ||
		!strings.Contains(m, `id="acct-mode">Live<`) {
		t.Fatalf("live user page: %d %s", r.Status, m)
	}
	// A user of the same id in each mode is two users.
	e.AccountUser(true, s.Alice, "Live Alice")
	if m := mainOf(c.get(accountsURL(e, "/"+s.Alice+"?mode=live")).Body); !strings.Contains(m, "Live Alice") || !strings.Contains(m, `<strong>¥0.00<`) {
		t.Errorf("live alice: %s", m)
	}
	// A test user's id as a live page's cursor is not one of its users.
	if r := c.get(accountsURL(e, "?mode=live&after="+s.Bob)); r.Status != http.StatusBadRequest || strings.Contains(mainOf(r.Body), consoletest.BobBalance) {
		t.Errorf("live list after a test user: %d", r.Status)
	}
}

// TestAccountPaging: the users list pages by cursor like the payout lists.
func TestAccountPaging(t *testing.T) {
	e := consoletest.Start(t)
	const n = 53 // more than a page (50)
	for i := range n {
		e.AccountUser(false, fmt.Sprintf("u%03d", i), "")
	}
	c := signedIn(t, e, console.RoleReadOnly)
	r := c.get(accountsURL(e, "?mode=test"))
	m := mainOf(r.Body)
	if got := strings.Count(m, `<tr id="user-`); got != 50 {
		t.Fatalf("first page has %d users", got)
	}
	next := regexp.MustCompile(`id="next-page" rel="next" href="\?([^"]+)"`).FindStringSubmatch(m)
	if next == nil || !strings.Contains(next[1], "after=u003") || !strings.Contains(next[1], "mode=test") {
		t.Fatalf("next link %v", next)
	}
	m = mainOf(c.get(accountsURL(e, "?"+strings.ReplaceAll(next[1], "&amp;", "&"))).Body)
	if got := strings.Count(m, `<tr id="user-`); got != 3 || !strings.Contains(m, "user-u000") || strings.Contains(m, "user-u003") {
		t.Fatalf("second page: %d users: %s", got, m)
	}
	if strings.Contains(m, `id="next-page"`) || !strings.Contains(m, `id="first-page"`) {
		t.Error("the last page offers a next page, or no way back")
	}
}

// TestAccountRoles: every role may look; nobody is offered a form.
func TestAccountRoles(t *testing.T) {
	e := consoletest.Start(t)
	s := e.SeedAccounts()
	for role := range consoletest.Users {
		t.Run(string(role), func(t *testing.T) {
			c := signedIn(t, e, role)
			for _, path := range []string{accountsURL(e, "?mode=test"), accountsURL(e, "/"+s.Alice+"?mode=test"),
				accountsURL(e, ""), accountsURL(e, "/"+s.Carol+"?mode=live")} {
				r := c.get(path)
				if r.Status != 200 {
					t.Fatalf("GET %s: %d", path, r.Status)
				}
				if forms := postForms(r.Body); len(forms) != 0 {
					t.Errorf("%s: forms %v", path, forms)
				}
			}
			// The app's page links to its users.
			if m := mainOf(c.get("/console/apps/" + e.App.AppID).Body); !strings.Contains(m, `id="app-users" href="`+accountsURL(e, "")+`"`) {
				t.Error("the app page does not link its users")
			}
		})
	}
}

// TestAccountTenantIsolation: a console user limited to another app sees
// none of this app's users, through either app's path.
func TestAccountTenantIsolation(t *testing.T) {
	e := consoletest.Start(t)
	ctx := context.Background()
	other, err := e.Node.CreateApp(ctx, "other merchant")
	if err != nil {
		t.Fatal(err)
	}
	const email = "accounts-scoped@example.com"
	if err := console.AddScopedUser(ctx, e.Node.DB, email, console.RoleOwner, consoletest.Password, []string{other.AppID}); err != nil {
		t.Fatal(err)
	}
	s := e.SeedAccounts()
	sc := newClient(t, e.URL)
	if r := sc.login(email, consoletest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("scoped sign-in: %d", r.Status)
	}
	theirs := "/console/apps/" + other.AppID + "/users"
	q := "?mode=test"
	tests := []struct {
		path   string
		status int
	}{
		{accountsURL(e, q), 404},
		{accountsURL(e, "?mode=live"), 404},
		{accountsURL(e, "/"+s.Alice+q), 404},
		{accountsURL(e, "/"+s.Carol+"?mode=live"), 404},
		{accountsURL(e, "/nobody"+q), 404},
		{theirs + q, 200},
		{theirs + "?mode=live", 200},
		// This app's users through the user's own app: not found.
		{theirs + "/" + s.Alice + q, 404},
		{theirs + "/" + s.Bob + q, 404},
		{theirs + "/" + s.Carol + "?mode=live", 404},
	}
	secrets := []string{s.Bonus, s.Recharge, s.Transfer, s.CarolBonus, consoletest.AliceBalance, consoletest.BobBalance,
		consoletest.CarolBalance, "Alice 测试", e.App.AppID}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r := sc.get(tc.path)
			if r.Status != tc.status {
				t.Fatalf("%d, want %d: %.200s", r.Status, tc.status, r.Body)
			}
			m := mainOf(r.Body)
			for _, x := range secrets {
				if strings.Contains(m, x) {
					t.Fatalf("the page shows the other app's %s", x)
				}
			}
		})
	}
	// Their own user of the same id is theirs: none of ours leaks in.
	var app *polypay.App
	if err := e.Node.DB.Read(ctx, func(tx *store.Tx) (err error) { app, err = tx.GetApp(ctx, other.AppID); return }); err != nil {
		t.Fatal(err)
	}
	name := "Their Alice"
	if _, err := e.Node.Svc.CreateUser(ctx, core.Caller{App: app, RequestID: polypay.NewID("iar_")}, core.UserParams{ID: s.Alice, Name: &name}, nil); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{theirs + q, theirs + "/" + s.Alice + q} {
		r := sc.get(path)
		m := mainOf(r.Body)
		if r.Status != 200 || !strings.Contains(m, name) || !strings.Contains(m, "¥0.00") {
			t.Fatalf("%s: %d %s", path, r.Status, m)
		}
		for _, x := range secrets {
			if strings.Contains(m, x) {
				t.Fatalf("%s shows the other app's %s", path, x)
			}
		}
	}
}

// TestCouponPages: the coupon templates page lists the app's templates in
// the mode with what they take off and how many were issued and redeemed;
// a user's page lists the user's coupons; another mode shows none.
func TestCouponPages(t *testing.T) {
	e := consoletest.Start(t)
	s := e.SeedAccounts()
	c := signedIn(t, e, console.RoleReadOnly)
	path := "/console/apps/" + e.App.AppID + "/coupon_templates"
	r := c.get(path + "?mode=test")
	if r.Status != http.StatusOK {
		t.Fatalf("%d: %.300s", r.Status, r.Body)
	}
	row := rowOf(mainOf(r.Body), "tmpl-"+s.Template)
	inOrder(t, row, "满100减5", `class="num nowrap off">¥5.00<`, `class="num nowrap min">¥100.00<`,
		`class="num nowrap circulated">1 / 100<`, `class="num nowrap redeemed">0<`, `class="refundable">yes<`)
	if live := mainOf(c.get(path + "?mode=live").Body); strings.Contains(live, s.Template) {
		t.Errorf("the live page lists a test template: %s", live)
	}
	alice := mainOf(c.get(accountsURL(e, "/"+s.Alice+"?mode=test")).Body)
	inOrder(t, rowOf(alice, "coupon-"+s.Coupon), "满100减5", "¥5.00", `class="valid">yes<`, `class="redeemed">no<`)
	if !strings.Contains(mainOf(c.get(accountsURL(e, "?mode=test")).Body), `href="`+path+`?mode=test"`) {
		t.Error("the users page does not link the coupon templates")
	}
	if st := c.get("/console/apps/app_doesnotexist0000/coupon_templates?mode=test").Status; st != http.StatusNotFound {
		t.Errorf("another app's templates: %d", st)
	}
}

// TestWithdrawalsPage: a withdrawal awaiting confirmation is listed with
// confirm and cancel buttons for finance; read-only users see it without
// them and cannot post; finance confirms one (paid out) and cancels another
// (the amount back), and another app's withdrawal is not found.
func TestWithdrawalsPage(t *testing.T) {
	e := consoletest.Start(t)
	s := e.SeedAccounts()
	ctx := context.Background()
	who := e.Caller(false)
	if _, err := e.Node.Svc.CreateSettleAccount(ctx, who, s.Alice, core.SettleAccountParams{Channel: "alipay",
		Recipient: polypay.SettleRecipient{Account: alipaysim.SandboxPayee.LogonID, Name: alipaysim.SandboxPayee.Name}}, nil); err != nil {
		t.Fatal(err)
	}
	var wds []string
	for _, no := range []string{"WDC00001", "WDC00002"} {
		out, err := e.Node.Svc.CreateWithdrawal(ctx, who, core.WithdrawalParams{User: s.Alice, Amount: 500, UserFee: 5, Channel: "alipay",
			OrderNo: no, Metadata: []byte("{}")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		wds = append(wds, out.(*wire.Withdrawal).ID)
	}
	path := "/console/apps/" + e.App.AppID + "/withdrawals"
	ro := signedIn(t, e, console.RoleReadOnly)
	m := mainOf(ro.get(path + "?mode=test").Body)
	inOrder(t, rowOf(m, "wd-"+wds[0]), s.Alice, "alipay", "¥5.00", "¥0.05")
	if strings.Contains(m, "confirm-") {
		t.Error("a read-only user sees confirm buttons")
	}
	rtok := ro.token(path + "?mode=test")
	if st := ro.post(path+"/"+wds[0]+"/confirm?mode=test", url.Values{"csrf": {rtok}}).Status; st != http.StatusForbidden {
		t.Errorf("read-only confirm: %d", st)
	}
	fin := signedIn(t, e, console.RoleFinance)
	if !strings.Contains(mainOf(fin.get(path+"?mode=test").Body), `id="confirm-`+wds[0]+`"`) {
		t.Fatal("finance sees no confirm button")
	}
	tok := url.Values{"csrf": {fin.token(path + "?mode=test")}}
	if r := fin.post(path+"/"+wds[0]+"/confirm?mode=test", tok); r.Status != http.StatusSeeOther {
		t.Fatalf("confirm: %d %.300s", r.Status, r.Body)
	}
	if r := fin.post(path+"/"+wds[1]+"/cancel?mode=test", tok); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel: %d %.300s", r.Status, r.Body)
	}
	for i, want := range []string{"pending|succeeded", "canceled"} {
		got, err := e.Node.Svc.GetWithdrawal(ctx, who, wds[i])
		if err != nil || !strings.Contains(want, got.(*wire.Withdrawal).Status) {
			t.Fatalf("withdrawal %d after the console: %+v %v", i, got, err)
		}
	}
	if st := fin.post(path+"/"+wds[1]+"/confirm?mode=live", tok).Status; st != http.StatusNotFound {
		t.Errorf("a test withdrawal confirmed in live mode: %d", st)
	}
	if st := fin.get("/console/apps/app_doesnotexist0000/withdrawals?mode=test").Status; st != http.StatusNotFound {
		t.Errorf("another app's withdrawals: %d", st)
	}
}

// TestCounter: a cashier confirms an amount, then a scanned code is
// charged exactly that amount on the wallet its digits name; a changed
// amount needs a new confirmation; bad input is refused with the form
// shown again; read-only users cannot take payments.
func TestCounter(t *testing.T) {
	e := consoletest.Start(t)
	s := e.SeedAccounts()
	ctx := context.Background()
	out, err := e.Node.Svc.IssuePaycode(ctx, e.Caller(false), s.Alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	code := out.(*wire.PaymentCode).Code
	path := "/console/apps/" + e.App.AppID + "/counter"
	cashier := signedIn(t, e, console.RoleCashier)
	tok := url.Values{"csrf": {cashier.token(path + "?mode=test")}}
	with := func(kv ...string) url.Values {
		v := url.Values{"csrf": tok["csrf"]}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	if r := cashier.post(path+"/confirm?mode=test", with("amount", "abc")); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `id="counter-error"`) {
		t.Fatalf("bad amount: %d", r.Status)
	}
	r := cashier.post(path+"/confirm?mode=test", with("amount", "12.30"))
	m := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil || !strings.Contains(r.Body, `id="counter-confirmed-amount">¥12.30<`) {
		t.Fatalf("confirm: %d %.400s", r.Status, r.Body)
	}
	// Another amount under this confirmation is sent back to confirm.
	if r := cashier.post(path+"/pay?mode=test", with("amount", "1", "token", m[1], "scan_code", code)); r.Status != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "err=confirm") {
		t.Fatalf("changed amount: %d %s", r.Status, r.Header.Get("Location"))
	}
	if r := cashier.post(path+"/pay?mode=test", with("amount", "1230", "token", m[1], "scan_code", "12ab")); r.Status != http.StatusBadRequest {
		t.Fatalf("bad code: %d", r.Status)
	}
	r = cashier.post(path+"/pay?mode=test", with("amount", "1230", "token", m[1], "scan_code", code))
	if r.Status != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "charge=ch_") {
		t.Fatalf("pay: %d %s %.300s", r.Status, r.Header.Get("Location"), r.Body)
	}
	res := cashier.get(r.Header.Get("Location"))
	if !strings.Contains(res.Body, `data-paid="true"`) || !strings.Contains(res.Body, `id="counter-result-amount">¥12.30<`) ||
		!strings.Contains(res.Body, `id="counter-result-channel">balance<`) {
		t.Fatalf("result: %.600s", mainOf(res.Body))
	}
	ro := signedIn(t, e, console.RoleReadOnly)
	rtok := ro.token(path + "?mode=test")
	if st := ro.post(path+"/confirm?mode=test", url.Values{"csrf": {rtok}, "amount": {"1"}}).Status; st != http.StatusForbidden {
		t.Errorf("read-only confirm: %d", st)
	}
}
