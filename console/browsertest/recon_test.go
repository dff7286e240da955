package browsertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/browsertest/chromium"
	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/console/consoletest"
	"github.com/polypay/polypay/reconcile"
	"github.com/polypay/polypay/sim/alipaysim"
	"github.com/polypay/polypay/sim/wechatsim"
	"github.com/polypay/polypay/store"
)

// card is what the console shows of one discrepancy.
type card struct {
	ID, Kind, Charge, Ours, Theirs, Head string
}

func (b *tab) cards(list string) []card {
	b.t.Helper()
	js := `JSON.stringify([...document.querySelectorAll(` + jsString(list+" > li.card") + `)].map(li => {
		const t = s => { const e = li.querySelector(s); return e ? e.innerText.trim() : "" };
		return {ID: li.id, Kind: t(".kind"), Charge: t(".charge"), Ours: t(".ours"), Theirs: t(".theirs"), Head: t("p")};
	}))`
	var out []card
	b.evalJSON(js, &out)
	return out
}

// cells reads a table's body as text, row by row.
func (b *tab) cells(table string) [][]string {
	b.t.Helper()
	var out [][]string
	b.evalJSON(`JSON.stringify([...document.querySelectorAll(`+jsString(table+" tbody tr")+`)].map(tr =>
		[...tr.cells].map(td => td.innerText.trim())))`, &out)
	return out
}

func (b *tab) evalJSON(js string, v any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		b.t.Fatalf("browser returned %q: %v", s, err)
	}
}

func (b *tab) signIn(email string) {
	b.t.Helper()
	b.open("/console/login?lang=en")
	b.run(chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), consoletest.Password))
	if st := b.submit("#signin"); st != 200 {
		b.t.Fatalf("sign-in as %s: status %d: %s", email, st, b.body())
	}
	if got := b.text("#user-email"); got != email {
		b.t.Fatalf("signed in as %q, want %s", got, email)
	}
}

// money renders yuan minor units the way the console does ("¥36.00").
func money(minor int64) string { return fmt.Sprintf("¥%d.%02d", minor/100, minor%100) }

// TestReconcileInConsole runs a day of mixed test traffic on Alipay and
// WeChat Pay through a whole node, injects differences into the
// simulators' statements (a line dropped, a line added, an amount altered,
// a notification lost), reconciles the day with the real engine, and
// checks in Chromium that the console shows the runs and exactly the open
// differences, that finance can resolve one with a note and read-only
// users cannot, and that the daily report shows the API's figures.
func TestReconcileInConsole(t *testing.T) {
	bctx := chromium.Start(t)
	e := consoletest.StartWith(t, consoletest.Options{RealRecon: true})
	b := &tab{t: t, ctx: bctx, base: e.Node.URL, shots: screenshotDir(t)}
	ctx := context.Background()
	reg := e.Node.Registry
	day := time.Now().In(reconcile.Shanghai).Format("2006-01-02")
	// Today's bills exist only tomorrow.
	tomorrow := func() time.Time { return time.Now().Add(24 * time.Hour) }
	e.Node.Sandbox.AlipaySim().SetBillClock(tomorrow)
	e.Node.Sandbox.WechatSim().SetBillClock(tomorrow)

	type family struct {
		fam, channel string
		extra        map[string]any
		lose         func(string)
		pay          func(merchant, id string) error
		tamper       func(merchant, day string, fn func([][]string) [][]string)
		columns      []string
		amountCols   []string
	}
	families := []family{
		{fam: "alipay", channel: "alipay_qr", lose: e.Node.Sandbox.AlipaySim().LoseNotifications,
			pay:     func(m, id string) error { return e.Node.Sandbox.AlipaySim().Pay(ctx, m, id, true) },
			tamper:  e.Node.Sandbox.AlipaySim().TamperBill,
			columns: alipaysim.BillColumns, amountCols: []string{"订单金额（元）", "商家实收（元）"}},
		{fam: "wx", channel: "wx_pub_qr", extra: map[string]any{"product_id": "P1"}, lose: e.Node.Sandbox.WechatSim().LoseNotifications,
			pay:     func(m, id string) error { return e.Node.Sandbox.WechatSim().Pay(ctx, m, id, true) },
			tamper:  e.Node.Sandbox.WechatSim().TamperBill,
			columns: wechatsim.BillColumns, amountCols: []string{"应结订单总金额", "订单金额"}},
	}

	// want is every open difference the console must show, and nothing else.
	var want []card
	var settled, closing []string
	for _, f := range families {
		merchant, err := reg.SandboxMerchantID(ctx, e.App.AppID, f.fam)
		if err != nil {
			t.Fatal(err)
		}
		create := func(name string, amount int64, expire ...int64) string {
			t.Helper()
			body := map[string]any{"order_no": consoletest.OrderNo(f.fam + name), "app": map[string]any{"id": e.App.AppID},
				"channel": f.channel, "amount": amount, "client_ip": "127.0.0.1", "currency": "cny", "subject": "对账 " + name, "body": "recon"}
			if len(expire) > 0 {
				body["time_expire"] = expire[0]
			}
			if f.extra != nil {
				body["extra"] = f.extra
			}
			st, c := e.API("POST", "/v1/charges", body)
			if st != 200 {
				t.Fatalf("create %s %s: %d %v", f.channel, name, st, c)
			}
			return c["id"].(string)
		}
		a := create("A", 1000) // paid, refunded in part
		e.Pay(a)
		st, r := e.API("POST", "/v1/charges/"+a+"/refunds", map[string]any{"amount": 300, "description": "部分退款"})
		if st != 200 {
			t.Fatalf("refund: %d %v", st, r)
		}
		for deadline := time.Now().Add(15 * time.Second); r["status"] != "succeeded"; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("refund still %v", r["status"])
			}
			_, r = e.API("GET", "/v1/charges/"+a+"/refunds/"+r["id"].(string), nil)
		}
		bID := create("B", 500) // paid
		e.Pay(bID)
		// Never paid; the poller closes it at the channel when it expires.
		// In no statement.
		closing = append(closing, create("C", 400, time.Now().Unix()+2))
		d := create("D", 800) // its line is dropped
		e.Pay(d)
		ex := create("E", 700) // its amount is altered
		e.Pay(ex)
		lost := create("F", 600) // paid; the notification is lost
		f.lose(lost)
		if err := f.pay(merchant, lost); err != nil {
			t.Fatal(err)
		}
		if _, r := e.API("GET", "/v1/charges/"+lost, nil); r["paid"] != false {
			t.Fatalf("the lost notification reached polypay: %v", r)
		}
		settled = append(settled, lost)

		ghost := "ch_ghost" + f.fam + strings.Repeat("0", 19-len(f.fam))
		col := func(name string) int { return slices.Index(f.columns, name) }
		out := col("商户订单号")
		f.tamper(merchant, day, func(rows [][]string) [][]string {
			var kept [][]string
			var ghostRow []string
			for _, r := range rows {
				switch strings.TrimSpace(r[out]) {
				case d:
					continue
				case ex:
					for _, c := range f.amountCols {
						r[col(c)] = "7.01"
					}
					ghostRow = slices.Clone(r)
				}
				kept = append(kept, r)
			}
			if ghostRow == nil {
				t.Errorf("%s: no line for %s in the statement", f.fam, ex)
				return rows
			}
			ghostRow[out] = ghost
			for _, c := range f.amountCols {
				ghostRow[col(c)] = "9.99"
			}
			return append(kept, ghostRow)
		})
		kinds := func(k string) string { return console.T("en", k) }
		want = append(want,
			card{Kind: kinds(reconcile.OnlyPolypay), Charge: d, Ours: "¥8.00 paid", Theirs: "—", Head: f.fam},
			card{Kind: kinds(reconcile.OnlyChannel), Charge: ghost, Ours: "—", Theirs: "¥9.99 succeeded", Head: f.fam},
			card{Kind: kinds(reconcile.AmountDiffers), Charge: ex, Ours: "¥7.00 paid", Theirs: "¥7.01 succeeded", Head: f.fam})
	}

	for _, id := range closing {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			var c *polypay.Charge
			if err := e.Node.DB.Read(ctx, func(tx *store.Tx) (err error) {
				c, err = tx.GetCharge(ctx, e.App.AppID, false, id)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if c.Status == polypay.ChargeClosed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("charge %s still %s after it expired", id, c.Status)
			}
		}
	}

	for i, f := range families {
		res, err := e.Node.Recon.Run(ctx, reconcile.Request{AppID: e.App.AppID, Family: f.fam, Day: day})
		if err != nil {
			t.Fatalf("reconcile %s: %v", f.fam, err)
		}
		// Lines: A, A's refund, B, E altered, F, the ghost.
		if x := res.Run; x.StatementLines != 6 || x.Matched != 4 || x.Settled != 1 || x.Open != 3 {
			t.Fatalf("%s run: %+v", f.fam, *x)
		}
		if _, r := e.API("GET", "/v1/charges/"+settled[i], nil); r["paid"] != true {
			t.Fatalf("the lost payment was not settled by a query: %v", r)
		}
	}

	finance := consoletest.Users[console.RoleFinance]
	var resolvedID string
	note := "渠道多收 0.01 元，已与支付宝核实 & 退回"

	t.Run("RunsAndOpenDiscrepancies", func(t *testing.T) {
		b.t = t
		b.signIn(finance)
		if st := b.open("/console/recon"); st != 200 {
			t.Fatalf("recon page: %d", st)
		}
		runs := b.cells("#runs")
		if len(runs) != 2 {
			t.Fatalf("runs %q, want one per family", runs)
		}
		for _, f := range families {
			i := slices.IndexFunc(runs, func(r []string) bool { return r[3] == f.fam })
			// day, app, mode, channel, status, matched, discrepancies (the settled one too), open
			if i < 0 || !slices.Equal(runs[i][:8], []string{day, e.App.AppID, "Test", f.fam, "succeeded", "4", "4", "3"}) {
				t.Errorf("run of %s: %q", f.fam, runs)
			}
		}
		got := b.cards("#discrepancies")
		if len(got) != len(want) {
			t.Fatalf("%d open discrepancies shown, want %d: %+v", len(got), len(want), got)
		}
		for _, w := range want {
			i := slices.IndexFunc(got, func(g card) bool {
				return g.Kind == w.Kind && g.Charge == w.Charge && g.Ours == w.Ours && g.Theirs == w.Theirs &&
					strings.Contains(g.Head, " · "+w.Head+" · "+e.App.AppID+" (Test)")
			})
			if i < 0 {
				t.Errorf("not shown: %+v\nshown: %+v", w, got)
			} else if w.Kind == console.T("en", reconcile.AmountDiffers) && w.Head == "alipay" {
				resolvedID = strings.TrimPrefix(got[i].ID, "d-")
			}
		}
		if body := b.body(); slices.ContainsFunc(settled, func(id string) bool { return strings.Contains(body, id) }) {
			t.Errorf("a payment settled by query is listed: %s", body)
		}
		if n := b.count("#resolved > li.card"); n != 0 {
			t.Errorf("%d resolved before anyone resolved one", n)
		}
		b.shot("11-recon-real-engine")
	})
	if resolvedID == "" {
		t.Fatal("no discrepancy to resolve")
	}

	t.Run("Resolve", func(t *testing.T) {
		b.t = t
		b.run(chromedp.SendKeys(chromedp.CSS("#note-"+resolvedID), note))
		if st := b.submit("#resolve-" + resolvedID); st != 200 {
			t.Fatalf("resolve: %d: %s", st, b.body())
		}
		if got := b.text("#flash"); got != "Discrepancy resolved." {
			t.Fatalf("flash %q", got)
		}
		if n := b.count("#d-" + resolvedID); n != 0 {
			t.Fatal("the resolved discrepancy is still open")
		}
		if n := b.count("#discrepancies > li.card"); n != len(want)-1 {
			t.Fatalf("%d open left, want %d", n, len(want)-1)
		}
		done := b.cards("#resolved")
		if len(done) != 1 || done[0].ID != "r-"+resolvedID || done[0].Kind != console.T("en", reconcile.AmountDiffers) {
			t.Fatalf("resolved list %+v", done)
		}
		if got := b.text("#r-" + resolvedID + " .resolved-note"); got != note {
			t.Errorf("note shown %q", got)
		}
		if got := b.text("#r-" + resolvedID + " .resolved-by"); got != finance {
			t.Errorf("resolved by %q", got)
		}
		ds, err := e.Node.Recon.Discrepancies(ctx, reconcile.DiscrepancyFilter{AppID: e.App.AppID, Day: day})
		if err != nil {
			t.Fatal(err)
		}
		var open int
		for _, d := range ds {
			if !d.Resolved {
				open++
			} else if d.ID != resolvedID || d.Note != note || d.ResolvedBy != finance {
				t.Errorf("engine holds %+v", *d)
			}
		}
		if open != len(want)-1 {
			t.Errorf("engine has %d open", open)
		}
		b.shot("12-recon-resolved")
	})

	t.Run("DailyReport", func(t *testing.T) {
		b.t = t
		st, rep := e.API("GET", "/v1/apps/"+e.App.AppID+"/reports/daily?date="+day, nil)
		if st != 200 {
			t.Fatalf("report API: %d %v", st, rep)
		}
		var apiRows [][]string
		for _, x := range rep["data"].([]any) {
			m := x.(map[string]any)
			n := func(k string) int64 { return int64(m[k].(float64)) }
			apiRows = append(apiRows, []string{e.App.AppID, "Test", m["channel"].(string), m["currency"].(string),
				fmt.Sprint(n("charges_count")), money(n("gross_amount")), money(n("refunds_amount")), money(n("fees_amount")), money(n("net_amount"))})
			if ch := m["channel"]; (ch == "alipay_qr" || ch == "wx_pub_qr") && (n("gross_amount") != 3600 || n("refunds_amount") != 300 || n("fees_amount") == 0) {
				t.Errorf("API report row %v", m) // A+B+D+E+F paid, A refunded 3.00, fees from the statements
			}
		}
		if len(apiRows) != 2 {
			t.Fatalf("API report rows %v, want alipay_qr and wx_pub_qr", apiRows)
		}
		if st := b.open("/console/reports?date=" + day); st != 200 {
			t.Fatalf("reports page: %d", st)
		}
		shown := b.cells("#report")
		slices.SortFunc(shown, func(x, y []string) int { return strings.Compare(x[2], y[2]) })
		slices.SortFunc(apiRows, func(x, y []string) int { return strings.Compare(x[2], y[2]) })
		if fmt.Sprint(shown) != fmt.Sprint(apiRows) {
			t.Errorf("report page rows\n%q\nAPI\n%q", shown, apiRows)
		}
		b.shot("13-report")
	})

	t.Run("ReadOnly", func(t *testing.T) {
		b.t = t
		b.submit("#signout")
		b.signIn(consoletest.Users[console.RoleReadOnly])
		b.open("/console/recon")
		if n := b.count("#discrepancies > li.card"); n != len(want)-1 {
			t.Fatalf("read-only sees %d open, want %d", n, len(want)-1)
		}
		if n := b.count("#discrepancies form, #discrepancies textarea, #discrepancies button"); n != 0 {
			t.Errorf("read-only sees %d resolve controls", n)
		}
		b.shot("14-recon-read-only")
	})

	if now := time.Now().In(reconcile.Shanghai).Format("2006-01-02"); now != day {
		t.Skip("the test ran across midnight Beijing time; its day is split")
	}
}
