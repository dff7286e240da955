package browsertest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/polypay/polypay/browsertest/chromium"
	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/console/consoletest"
)

// widths are the viewports every console page is checked at: a laptop and
// a phone (an iPhone's CSS width).
var widths = []struct {
	name string
	w, h int64
}{{"desktop", 1280, 800}, {"phone", 390, 844}}

// layout is what a page's screenshot check measures.
type layout struct {
	ScrollWidth, InnerWidth int
}

// check renders the open page at the tab's width: a full-page screenshot
// that is not blank, saved as name.png, and no horizontal overflow (the
// document no wider than the viewport, so a phone never scrolls sideways).
func (b *tab) check(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := chromium.NonBlank(png); err != nil {
		b.t.Errorf("%s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	var l layout
	b.evalJSON(`JSON.stringify({ScrollWidth: document.documentElement.scrollWidth, InnerWidth: window.innerWidth})`, &l)
	if l.ScrollWidth > l.InnerWidth {
		var wide []string
		b.evalJSON(`JSON.stringify([...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
			.slice(0, 8).map(e => e.tagName + (e.id ? "#" + e.id : "") + "." + e.className))`, &wide)
		b.t.Errorf("%s overflows: document %dpx wide in a %dpx viewport; widest: %v", name, l.ScrollWidth, l.InnerWidth, wide)
	}
}

func (b *tab) viewport(w, h int64, mobile bool) {
	b.t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	b.run(chromedp.EmulateViewport(w, h, opts...))
}

// TestConsolePagesAtWidths opens every console page, signed in as an
// owner with data on each (paid, partly refunded and pending charges, a
// webhook endpoint, reconciliation runs and a report), at desktop and
// phone widths, and checks each screenshot and the layout.
func TestConsolePagesAtWidths(t *testing.T) {
	ctx := chromium.Start(t)
	e := consoletest.Start(t)
	b := &tab{t: t, ctx: ctx, base: e.Node.URL, shots: screenshotDir(t)}
	paid := e.Charge("alipay_qr", consoletest.OrderNo("SHOT"), 14300, "截图测试")
	e.Pay(paid)
	if st, r := e.API("POST", "/v1/charges/"+paid+"/refunds", map[string]any{"amount": 4300, "description": "部分退款"}); st != 200 {
		t.Fatalf("refund: %d %v", st, r)
	}
	for i, ch := range []string{"alipay_qr", "alipay_qr", "alipay_qr"} {
		id := e.Charge(ch, consoletest.OrderNo("MIX")+fmt.Sprint(i), int64(1000*(i+1)), "mix")
		if i < 2 {
			e.Pay(id)
		}
	}
	if st, r := e.API("POST", "/v1/webhook_endpoints", map[string]any{"app": e.App.AppID, "url": "http://127.0.0.1:9/polypay/webhooks/with/a/rather/long/path/for/the/phone/layout"}); st != 200 {
		t.Fatalf("webhook endpoint: %d %v", st, r)
	}
	seed := e.SeedRisk()
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	e.Recon.AddRun(console.ReconRun{ID: "run_s", AppID: e.App.AppID, Day: today, Channel: "alipay", Status: "succeeded", Matched: 12, Discrepancies: 1, Open: 1, Started: time.Now()})
	e.Recon.AddDiscrepancy(console.Discrepancy{ID: "dis_s", RunID: "run_s", Day: today, Channel: "alipay", AppID: e.App.AppID,
		Kind: "amount_differs", ChargeID: paid, OurAmount: 14300, TheirAmount: 14200, Currency: "cny", OurStatus: "paid", TheirStatus: "TRADE_SUCCESS"})
	e.Recon.SetReport(today, []console.ReportRow{{Day: today, AppID: e.App.AppID, Channel: "alipay_qr", Currency: "cny", Count: 2, Gross: 16300, Refunds: 4300, Fees: 98, Net: 11902}})

	for _, wd := range widths {
		t.Run(wd.name, func(t *testing.T) {
			b.t = t
			b.viewport(wd.w, wd.h, wd.name == "phone")
			b.open("/console/login?lang=en")
			b.check("console-" + wd.name + "-login")
			b.signIn(consoletest.Users[console.RoleOwner])
			b.open("/console/apps/" + e.App.AppID)
			ep := regexp.MustCompile(`/console/webhooks/(we_[A-Za-z0-9]+)`).FindStringSubmatch(b.html())
			if ep == nil {
				t.Fatal("no webhook endpoint on the app page")
			}
			pages := []struct{ name, path string }{
				{"overview", "/console/?period=14"},
				{"overview-today", "/console/"},
				{"apps", "/console/apps"},
				{"app", "/console/apps/" + e.App.AppID},
				{"charges", "/console/charges"},
				{"charge", "/console/charges/" + paid},
				{"refunds", "/console/refunds"},
				{"webhooks", "/console/webhooks/" + ep[1]},
				{"recon", "/console/recon"},
				{"reports", "/console/reports"},
				{"users", "/console/users"},
				{"risk", "/console/apps/" + e.App.AppID + "/risk?mode=test"},
				{"risk-lists", "/console/apps/" + e.App.AppID + "/risk/lists?mode=test"},
				{"risk-rules", "/console/apps/" + e.App.AppID + "/risk/rules?mode=test"},
				{"risk-review", "/console/apps/" + e.App.AppID + "/risk/review?mode=test"},
				{"charge-held", "/console/charges/" + seed.Held},
			}
			for _, pg := range pages {
				if st := b.open(pg.path); st != 200 {
					t.Fatalf("%s: status %d", pg.path, st)
				}
				b.check("console-" + wd.name + "-" + pg.name)
			}
			// The dry run answers on the rules page, without saving.
			b.open("/console/apps/" + e.App.AppID + "/risk/rules?mode=test")
			b.run(chromedp.SetValue(chromedp.CSS("#rule-condition"), `amount >= 10000 && currency == "cny"`))
			if st := b.submit("#rule-dry-run"); st != 200 {
				t.Fatalf("dry run: status %d", st)
			}
			b.check("console-" + wd.name + "-risk-dry-run")
			if got := b.text("#dry-matched"); got != "1" {
				t.Fatalf("dry run matched %q, want 1 (the 143.00 CNY charge)", got)
			}
			b.submit("#signout")
		})
	}
}

// TestOverviewAndMoney checks what the overview and the lists say: tiles
// for today and the period, money with its sign, a partly refunded charge
// named so, the report opening on the latest day with payments, and the
// runs table naming app and mode.
func TestOverviewAndMoney(t *testing.T) {
	ctx := chromium.Start(t)
	e := consoletest.Start(t)
	b := &tab{t: t, ctx: ctx, base: e.Node.URL, shots: screenshotDir(t)}
	id := e.Charge("alipay_qr", consoletest.OrderNo("MONEY"), 143, "money")
	e.Pay(id)
	if st, r := e.API("POST", "/v1/charges/"+id+"/refunds", map[string]any{"amount": 43, "description": "part"}); st != 200 {
		t.Fatalf("refund: %d %v", st, r)
	}
	e.Charge("alipay_qr", consoletest.OrderNo("OPEN"), 500, "unpaid")
	day := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	e.Recon.AddRun(console.ReconRun{ID: "run_m", AppID: e.App.AppID, Live: false, Day: day, Channel: "alipay", Status: "succeeded", Started: time.Now()})
	e.Recon.SetReport(day, []console.ReportRow{{Day: day, AppID: e.App.AppID, Channel: "alipay_qr", Currency: "cny", Count: 1, Gross: 143, Refunds: 43, Net: 100}})
	b.signIn(consoletest.Users[console.RoleFinance])

	// With payments only today, the overview opens on today by hour.
	b.open("/console/?lang=en")
	var period string
	b.evalJSON(`JSON.stringify(document.querySelector("#period").value)`, &period)
	if period != "today" || b.count("#tile-span") != 0 {
		t.Errorf("default period %q, want today when the days before had nothing", period)
	}
	b.open("/console/?period=14")
	for sel, want := range map[string]string{
		"#tile-today .vol":     "¥1.43",
		"#tile-today .count":   "1",
		"#tile-today .rate":    "50.0%",
		"#tile-today .refunds": "¥0.43",
		"#tile-span .vol":      "¥1.43",
		"#zone":                "UTC+08:00",
		"#time-zone":           "UTC+08:00",
	} {
		if got := b.text(sel); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if rows := b.cells("#channels-today"); len(rows) != 1 || rows[0][0] != "alipay_qr" || rows[0][1] != "¥1.43" || rows[0][3] != "50.0%" || rows[0][4] != "¥0.43" {
		t.Errorf("today's per-channel table %q", rows)
	}
	if n := b.count("#chart-rate svg polyline.line, #chart-rate svg circle.point"); n == 0 {
		t.Error("success rate drawn with neither line nor point")
	}
	if got := b.text("#chart-volume"); !strings.Contains(got, "¥") || !strings.Contains(got, "UTC+08:00") {
		t.Errorf("volume chart lacks its unit or zone: %q", got)
	}
	b.open("/console/?period=today")
	if n := b.count("#chart-volume svg text.xlabel"); n != 12 {
		t.Errorf("today's chart has %d hour labels", n)
	}
	b.open("/console/charges")
	if got := b.text("#results tbody"); !strings.Contains(got, "¥1.43") || !strings.Contains(got, "partially refunded") || strings.Contains(got, "cny") {
		t.Errorf("charges list %q: want ¥1.43, partially refunded, no bare currency code", got)
	}
	b.open("/console/charges/" + id)
	if got := b.text("#charge-status"); got != "partially refunded" {
		t.Errorf("charge status %q", got)
	}
	b.open("/console/reports")
	if got := b.text("#r-date"); got != "" {
		t.Logf("date input text %q", got)
	}
	var v string
	b.evalJSON(`JSON.stringify(document.querySelector("#r-date").value)`, &v)
	if v != day || b.count("#report tbody tr") != 1 {
		t.Errorf("report opened on %q with %d rows; want %s, the latest day with payments", v, b.count("#report tbody tr"), day)
	}
	b.open("/console/recon")
	if rows := b.cells("#runs"); len(rows) != 1 || rows[0][1] != e.App.AppID || rows[0][2] != "Test" {
		t.Errorf("runs table %q: want app and mode", rows)
	}
	b.check("console-money-recon")
}

func (b *tab) html() string {
	var s string
	b.evalJSON(`JSON.stringify(document.documentElement.outerHTML)`, &s)
	return s
}
