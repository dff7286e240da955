package browsertest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/polypay/polypay/browsertest/chromium"
	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/console/consoletest"
	"github.com/polypay/polypay/wire"
)

// TestAccountPagesAtWidths opens the account pages (the users list in
// each mode, a user with a bonus, a paid recharge and a balance transfer
// out, the transfer's recipient, a disabled user and a live user) at the
// console's widths (screenshot not blank, no sideways scroll); then a
// read-only user goes from the app's page to its users, switches to test
// mode, opens a user and reads the balances.
func TestAccountPagesAtWidths(t *testing.T) {
	ctx := chromium.Start(t)
	e := consoletest.Start(t)
	b := &tab{t: t, ctx: ctx, base: e.Node.URL, shots: screenshotDir(t)}
	s := e.SeedAccounts()
	app := "/console/apps/" + e.App.AppID + "/users"
	pages := []struct{ name, path string }{
		{"accounts-test", app + "?mode=test"},
		{"accounts-live", app + "?mode=live"},
		{"account-alice", app + "/" + s.Alice + "?mode=test"},
		{"account-bob", app + "/" + s.Bob + "?mode=test"},
		{"account-dave", app + "/" + s.Dave + "?mode=test"},
		{"account-carol", app + "/" + s.Carol + "?mode=live"},
		{"coupon-templates", "/console/apps/" + e.App.AppID + "/coupon_templates?mode=test"},
		{"withdrawals", "/console/apps/" + e.App.AppID + "/withdrawals?mode=test"},
	}
	for _, wd := range widths {
		t.Run(wd.name, func(t *testing.T) {
			b.t = t
			b.viewport(wd.w, wd.h, wd.name == "phone")
			b.signIn(consoletest.Users[console.RoleOwner])
			for _, pg := range pages {
				if st := b.open(pg.path); st != 200 {
					t.Fatalf("%s: status %d", pg.path, st)
				}
				b.check("console-" + wd.name + "-" + pg.name)
			}
			b.submit("#signout")
		})
	}

	t.Run("Browse", func(t *testing.T) {
		b.t = t
		b.viewport(390, 844, true)
		b.signIn(consoletest.Users[console.RoleReadOnly])
		b.open("/console/apps/" + e.App.AppID)
		if st := b.submit("#app-users"); st != 200 {
			t.Fatalf("users link: status %d", st)
		}
		if got := b.text("#acct-mode"); got != "Live" {
			t.Errorf("the app's users open in %q mode, want Live", got)
		}
		if got := b.text("#user-" + s.Carol + " .balance"); got != consoletest.CarolBalance {
			t.Errorf("carol's balance %q, want %s", got, consoletest.CarolBalance)
		}
		if b.count("#user-"+s.Alice) != 0 {
			t.Error("the live list shows a test user")
		}
		if st := b.submit("#acct-other-mode"); st != 200 {
			t.Fatalf("switch to test: status %d", st)
		}
		if got := b.text("#user-" + s.Alice + " .balance"); got != consoletest.AliceBalance {
			t.Errorf("alice's balance in the list %q, want %s", got, consoletest.AliceBalance)
		}
		if got := b.text("#user-" + s.Bob + " .balance"); got != consoletest.BobBalance {
			t.Errorf("bob's balance in the list %q, want %s", got, consoletest.BobBalance)
		}
		b.check("console-phone-accounts-browse")
		if st := b.submit("#user-" + s.Alice + " a"); st != 200 {
			t.Fatalf("alice's page: status %d", st)
		}
		if got := b.text("#user-balance"); got != consoletest.AliceBalance {
			t.Errorf("alice's balance %q, want %s", got, consoletest.AliceBalance)
		}
		// The newest movement first: the transfer to Bob, with its sign.
		if got := b.text("#balance-txns tbody tr:first-child .amount"); got != "-¥25.00" {
			t.Errorf("latest balance transaction %q, want -¥25.00", got)
		}
		if got := b.text("#balance-txns tbody tr:first-child .after"); got != consoletest.AliceBalance {
			t.Errorf("balance after it %q, want %s", got, consoletest.AliceBalance)
		}
		// One recharge, one transfer, and two bonuses: the one given and the recharge's.
		if n := b.count("#recharges tbody tr[id], #balance-transfers tbody tr[id], #bonuses tbody tr[id]"); n != 4 {
			t.Errorf("%d recharges, transfers and bonuses, want 4", n)
		}
		if n := b.count("main form"); n != 0 {
			t.Errorf("%d forms on the read-only user page", n)
		}
		if st := b.submit("#btr-" + s.Transfer + " .counterparty a"); st != 200 {
			t.Fatalf("bob's page: status %d", st)
		}
		if got := b.text("#user-balance"); got != consoletest.BobBalance {
			t.Errorf("bob's balance %q, want %s", got, consoletest.BobBalance)
		}
		if got := b.text("#balance-txns tbody tr:first-child .amount"); got != "+¥24.50" {
			t.Errorf("bob's receipt %q, want +¥24.50", got)
		}
		b.check("console-phone-account-bob-browse")
		b.submit("#signout")
	})
}

// TestCounterPage: a cashier confirms ¥12.30, a keyboard-wedge scanner
// types a polypay payment code and Enter, and the page shows the payment
// made on the balance channel; at the phone's width too.
func TestCounterPage(t *testing.T) {
	ctx := chromium.Start(t)
	e := consoletest.Start(t)
	b := &tab{t: t, ctx: ctx, base: e.Node.URL, shots: screenshotDir(t)}
	s := e.SeedAccounts()
	out, err := e.Node.Svc.IssuePaycode(context.Background(), e.Caller(false), s.Alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.viewport(390, 844, true)
	b.signIn(consoletest.Users[console.RoleCashier])
	if st := b.open("/console/apps/" + e.App.AppID + "/counter?mode=test"); st != 200 {
		t.Fatalf("counter: %d", st)
	}
	b.check("console-phone-counter-amount")
	b.run(chromedp.SendKeys(chromedp.CSS("#counter-amount"), "12.30"))
	if st := b.submit("#counter-confirm"); st != 200 {
		t.Fatalf("confirm: %d", st)
	}
	if got := b.text("#counter-confirmed-amount"); got != "¥12.30" {
		t.Fatalf("confirmed %q", got)
	}
	b.check("console-phone-counter-scan")
	wctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	if _, err := chromedp.RunResponse(wctx, chromedp.SendKeys(chromedp.CSS("#counter-code"), out.(*wire.PaymentCode).Code+"\r")); err != nil {
		t.Fatalf("scan: %v\n%s", err, b.body())
	}
	if got := b.text("#counter-result-channel"); got != "balance" || b.text("#counter-result-amount") != "¥12.30" {
		t.Fatalf("result: %s", b.body())
	}
	b.check("console-phone-counter-paid")

	// A WeChat code whose customer must still type a password: the page
	// waits ("customer is paying"), and Cancel reverses the charge.
	b.open("/console/apps/" + e.App.AppID + "/counter?mode=test")
	b.run(chromedp.SendKeys(chromedp.CSS("#counter-amount"), "3.00"))
	b.submit("#counter-confirm")
	wctx2, cancel2 := context.WithTimeout(b.ctx, step)
	defer cancel2()
	if _, err := chromedp.RunResponse(wctx2, chromedp.SendKeys(chromedp.CSS("#counter-code"), "130012345678901234\r")); err != nil {
		t.Fatalf("scan: %v\n%s", err, b.body())
	}
	if got := b.text("#counter-result-channel"); got != "wx_pub_scan" || b.count("#counter-cancel") != 1 {
		t.Fatalf("waiting result: %s", b.body())
	}
	if st := b.submit("#counter-cancel"); st != 200 {
		t.Fatalf("cancel: %d", st)
	}
	if got := b.text("#h-counter-result"); got != "Canceled" && got != "已撤销" {
		t.Fatalf("after cancel: %q\n%s", got, b.body())
	}
	feed := b.text("#counter-feed")
	for end := time.Now().Add(10 * time.Second); !strings.Contains(feed, "¥12.30") && time.Now().Before(end); feed = b.text("#counter-feed") {
		time.Sleep(100 * time.Millisecond) // the page's script fills the feed
	}
	if !strings.Contains(feed, "¥12.30") || !strings.Contains(feed, "Counter scan") && !strings.Contains(feed, "收银台扫码") || strings.Contains(feed, "¥3.00") {
		t.Fatalf("the live feed shows the paid counter payment, not the canceled one: %s", feed)
	}

	// The shop's QR codes and their print sheet.
	if st, _ := e.API("POST", "/v1/apps/"+e.App.AppID+"/qr_codes", map[string]any{"label": "二号收银台", "amount": 880}); st != 200 {
		t.Fatalf("qr code: %d", st)
	}
	b.open("/console/apps/" + e.App.AppID + "/qr_codes?mode=test")
	if b.count("#qr-codes tbody tr[id^=qr-]") != 1 || b.count("#qr-new-form") != 0 {
		t.Fatalf("QR codes page for a cashier: %s", b.body())
	}
	b.check("console-phone-qr-codes")
	b.open("/console/apps/" + e.App.AppID + "/qr_codes/print?mode=test")
	if got := b.text(".qr-card-amount"); got != "¥8.80" {
		t.Fatalf("print card amount %q", got)
	}
	if w := b.count(".qr-card img"); w != 1 {
		t.Fatalf("print sheet images %d", w)
	}
	b.check("console-phone-qr-print")
}

// TestRecurringPages: an app's agreements, plans and subscriptions, and
// a subscription's periods with its next debit; finance cancels the
// subscription and the agreement (ended at Alipay first); at the phone's
// width too.
func TestRecurringPages(t *testing.T) {
	ctx := chromium.Start(t)
	e := consoletest.Start(t)
	b := &tab{t: t, ctx: ctx, base: e.Node.URL, shots: screenshotDir(t)}
	must := func(st int, m map[string]any) map[string]any {
		t.Helper()
		if st != 200 {
			t.Fatalf("API: %d %v", st, m)
		}
		return m
	}
	agr := must(e.API("POST", "/v1/agreements", map[string]any{"app": e.App.AppID, "channel": "alipay", "contract_no": "CONSOLEAGR1"}))["id"].(string)
	must(e.API("POST", "/v1/test/agreements/"+agr+"/sign", map[string]any{}))
	plan := must(e.API("POST", "/v1/plans", map[string]any{"app": e.App.AppID, "name": "会员月卡", "amount": 3000, "currency": "cny", "interval": "month"}))["id"].(string)
	sub := must(e.API("POST", "/v1/subscriptions", map[string]any{"app": e.App.AppID, "plan": plan, "agreement": agr}))["id"].(string)
	b.signIn(consoletest.Users[console.RoleFinance])
	for _, w := range []struct {
		name  string
		width int64
	}{{"desktop", 1280}, {"phone", 390}} {
		b.viewport(w.width, 900, w.width < 500)
		b.open("/console/apps/" + e.App.AppID + "/recurring?mode=test")
		if b.count("#sub-"+sub) != 1 || b.count("#plan-"+plan) != 1 || b.count("#agr-"+agr) != 1 {
			t.Fatalf("recurring page: %s", b.body())
		}
		b.check("console-" + w.name + "-recurring")
		b.open("/console/apps/" + e.App.AppID + "/recurring/subscriptions/" + sub + "?mode=test")
		if b.count("#invoices tbody tr[id^=inv-]") != 1 || b.text("#sub-next") == "–" {
			t.Fatalf("subscription page: %s", b.body())
		}
		b.check("console-" + w.name + "-subscription")
	}
	if st := b.submit("#sub-cancel"); st != 200 {
		t.Fatalf("cancel subscription: %d", st)
	}
	if got := b.text("#subscription"); !strings.Contains(got, "Canceled") && !strings.Contains(got, "已取消") {
		t.Fatalf("after cancel: %s", got)
	}
	b.open("/console/apps/" + e.App.AppID + "/recurring?mode=test")
	if st := b.submit("#cancel-" + agr); st != 200 {
		t.Fatalf("cancel agreement: %d", st)
	}
	_, a := e.API("GET", "/v1/agreements/"+agr, nil)
	if a["status"] != "canceled" || a["canceled_by"] != "merchant" {
		t.Fatalf("agreement after the console's cancel: %v", a)
	}
}

// TestSubAppsPage: the platform view lists its merchants with their
// status and what each took in this mode; at the phone's width too.
func TestSubAppsPage(t *testing.T) {
	ctx := chromium.Start(t)
	e := consoletest.Start(t)
	b := &tab{t: t, ctx: ctx, base: e.Node.URL, shots: screenshotDir(t)}
	st, sub := e.API("POST", "/v1/apps/"+e.App.AppID+"/sub_apps", map[string]any{"display_name": "东区一号店", "user": "shop_east_1"})
	if st != 200 {
		t.Fatalf("sub-app: %d %v", st, sub)
	}
	id := sub["id"].(string)
	st, ch := e.API("POST", "/v1/charges", map[string]any{"app": map[string]any{"id": id}, "order_no": "CONSOLESUB1", "channel": "alipay_qr",
		"amount": 1200, "currency": "cny", "client_ip": "127.0.0.1", "subject": "拿铁", "body": "东区一号店"})
	if st != 200 {
		t.Fatalf("charge: %d %v", st, ch)
	}
	// A fee schedule (1 %, at least 1 fen) set before the payment, and a
	// settlement run of yesterday (nothing owed then: below the minimum).
	base := "/v1/apps/" + e.App.AppID + "/sub_apps/" + id
	if st, fs := e.API("PUT", base+"/fee_schedule", map[string]any{"rules": []any{map[string]any{"channel": "*", "percent_bp": 100, "minimum": 1}},
		"settle_delay_days": 0}); st != 200 {
		t.Fatalf("fee schedule: %d %v", st, fs)
	}
	if st, paid := e.API("POST", "/v1/test/charges/"+ch["id"].(string)+"/pay", map[string]any{"result": "success"}); st != 200 {
		t.Fatalf("pay: %d %v", st, paid)
	}
	yesterday := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -1).Format("2006-01-02")
	if st, run := e.API("POST", base+"/settlements", map[string]any{"date": yesterday}); st != 200 {
		t.Fatalf("settlement: %d %v", st, run)
	}
	b.signIn(consoletest.Users[console.RoleFinance])
	for _, w := range []struct {
		name  string
		width int64
	}{{"desktop", 1280}, {"phone", 390}} {
		b.viewport(w.width, 900, w.width < 500)
		b.open("/console/apps/" + e.App.AppID + "/sub_apps?mode=test")
		if b.count("#subapp-"+id) != 1 || !strings.Contains(b.text("#subapp-"+id+" .sub-volume"), "12.00 (1)") ||
			!strings.Contains(b.text("#subapp-"+id+" .sub-fees"), "0.12") || !strings.Contains(b.text("#subapp-"+id+" .sub-settled"), yesterday) {
			t.Fatalf("sub-apps page: %s", b.body())
		}
		b.check("console-" + w.name + "-sub-apps")
	}
}

// TestSubAppsEditing: an owner adds a sub-merchant from the Sub-merchants
// page, renames another and suspends it, whose payments the API then
// refuses; finance sees the page without the forms.
func TestSubAppsEditing(t *testing.T) {
	ctx := chromium.Start(t)
	e := consoletest.Start(t)
	b := &tab{t: t, ctx: ctx, base: e.Node.URL, shots: screenshotDir(t)}
	st, sub := e.API("POST", "/v1/apps/"+e.App.AppID+"/sub_apps", map[string]any{"display_name": "西区店"})
	if st != 200 {
		t.Fatalf("sub-app: %d %v", st, sub)
	}
	id, page := sub["id"].(string), "/console/apps/"+e.App.AppID+"/sub_apps?mode=test"
	b.signIn(consoletest.Users[console.RoleOwner])
	b.open(page)
	b.run(chromedp.SendKeys(chromedp.CSS("#sub-new-name"), "北区新店"), chromedp.SendKeys(chromedp.CSS("#sub-new-user"), "shop_north"))
	if st := b.submit("#sub-create"); st != 200 || !strings.Contains(b.text("#sub-apps"), "北区新店") || !strings.Contains(b.text("#sub-apps"), "shop_north") {
		t.Fatalf("create: %d %s", st, b.body())
	}
	b.run(chromedp.SetValue(chromedp.CSS("#sub-name-"+id), "西区旗舰店"), chromedp.SetValue(chromedp.CSS("#sub-status-"+id), "suspended"))
	if st := b.submit("#sub-save-" + id); st != 200 {
		t.Fatalf("save: %d %s", st, b.body())
	}
	if got := b.text("#subapp-" + id + " .status"); got != "Suspended" || !strings.Contains(b.text("#subapp-"+id), "西区旗舰店") {
		t.Fatalf("after saving: status %q, row %q", got, b.text("#subapp-"+id))
	}
	b.check("console-desktop-sub-apps-edit")
	b.viewport(390, 900, true)
	b.open(page)
	b.check("console-phone-sub-apps-edit")
	if st, ch := e.API("POST", "/v1/charges", map[string]any{"app": map[string]any{"id": id}, "order_no": "SUSPENDED1", "channel": "alipay_qr",
		"amount": 100, "currency": "cny", "client_ip": "127.0.0.1", "subject": "s", "body": "b"}); st < 400 {
		t.Fatalf("a suspended sub-merchant's charge: %d %v", st, ch)
	}

	f := &tab{t: t, ctx: chromium.Start(t), base: e.Node.URL, shots: b.shots}
	f.signIn(consoletest.Users[console.RoleFinance])
	f.open(page)
	if f.count("#sub-new-form") != 0 || f.count(".sub-edit") != 0 || f.count("#subapp-"+id) != 1 {
		t.Fatalf("finance's view: %s", f.body())
	}
}
