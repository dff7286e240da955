package browsertest_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/polypay/polypay/browsertest/chromium"
	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/console/consoletest"
)

const step = 30 * time.Second

// tab drives one browser tab against the console the gateway mounts.
type tab struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
}

func (b *tab) run(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v\npage: %s", err, b.body())
	}
}

// submit clicks a button that submits a form and waits for the page it
// loads, returning its HTTP status (after redirects).
func (b *tab) submit(sel string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: submit %s: %v", sel, err)
	}
	return resp.Status
}

func (b *tab) open(path string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("browser: open %s: %v", path, err)
	}
	return resp.Status
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v\npage: %s", sel, err, b.body())
	}
	return strings.TrimSpace(s)
}

func (b *tab) count(sel string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll("+jsString(sel)+").length"))
	if err != nil {
		b.t.Fatalf("browser: counting %s: %v", sel, err)
	}
	return n
}

func (b *tab) location() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

func (b *tab) body() string {
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return s
}

// shot saves a full-page screenshot as <name>.png in the screenshot
// directory.
func (b *tab) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, step)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", p)
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// screenshotDir is $POLYPAY_SCREENSHOTS (for CI artifacts) or a fresh
// temporary directory that outlives the test so the pictures can be seen.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("POLYPAY_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d, err := os.MkdirTemp("", "polypay-console-shots-")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestConsole signs in, searches and exports CSV, refunds from a charge
// page and resolves a discrepancy, in one headless Chromium against a whole
// node (gateway, API, simulators) with the console mounted at /console/.
func TestConsole(t *testing.T) {
	ctx := chromium.Start(t)
	e := consoletest.Start(t)
	b := &tab{t: t, ctx: ctx, base: e.Node.URL, shots: screenshotDir(t)}
	finance := consoletest.Users[console.RoleFinance]

	orderNo := consoletest.OrderNo("BROWSER")
	target := e.Charge("alipay_qr", orderNo, 1288, "浏览器测试 <商品>")
	e.Pay(target)
	for i := range 3 {
		id := e.Charge("alipay_qr", consoletest.OrderNo("OTHER")+string(rune('a'+i)), int64(500+i), "other")
		if i < 2 {
			e.Pay(id)
		}
	}
	e.Recon.AddRun(console.ReconRun{ID: "run_b", Day: "2026-11-20", Channel: "alipay", Status: "succeeded", Matched: 41, Discrepancies: 2, Open: 2, Started: time.Now()})
	e.Recon.AddDiscrepancy(console.Discrepancy{ID: "dis_b", RunID: "run_b", Day: "2026-11-20", Channel: "alipay", AppID: e.App.AppID,
		Kind: "amount_differs", ChargeID: target, OurAmount: 1288, TheirAmount: 1188, Currency: "cny", OurStatus: "paid", TheirStatus: "TRADE_SUCCESS"})
	e.Recon.AddDiscrepancy(console.Discrepancy{ID: "dis_c", RunID: "run_b", Day: "2026-11-20", Channel: "alipay", AppID: e.App.AppID,
		Kind: "only_in_channel", TradeNo: "2026112022001", TheirAmount: 300, Currency: "cny", TheirStatus: "TRADE_SUCCESS"})

	t.Run("SignIn", func(t *testing.T) {
		b.t = t
		b.open("/console/charges")
		if loc := b.location(); !strings.Contains(loc, "/console/login?next=") {
			t.Fatalf("signed out, /console/charges went to %s, want the sign-in page", loc)
		}
		b.run(chromedp.SendKeys(chromedp.CSS("#email"), finance), chromedp.SendKeys(chromedp.CSS("#password"), "not the password"))
		if st := b.submit("#signin"); st != 401 {
			t.Fatalf("wrong password: status %d, want 401", st)
		}
		if got := b.text("#error"); !strings.Contains(got, "Wrong email or password") {
			t.Fatalf("error shown: %q", got)
		}
		b.shot("01-signin-refused")
		b.run(chromedp.SendKeys(chromedp.CSS("#email"), finance), chromedp.SendKeys(chromedp.CSS("#password"), consoletest.Password))
		if st := b.submit("#signin"); st != 200 {
			t.Fatalf("sign-in: status %d: %s", st, b.body())
		}
		if loc := b.location(); !strings.HasSuffix(loc, "/console/charges") {
			t.Fatalf("after sign-in at %s, want back at /console/charges", loc)
		}
		if got := b.text("#user-email"); got != finance {
			t.Fatalf("signed in as %q", got)
		}
		b.shot("02-signed-in")
	})

	t.Run("SearchAndExport", func(t *testing.T) {
		b.t = t
		b.open("/console/charges")
		if n := b.count("#results tbody tr"); n != 4 {
			t.Fatalf("%d charges listed, want 4", n)
		}
		b.run(chromedp.SendKeys(chromedp.CSS("#f-order"), orderNo))
		b.submit("#search")
		if n := b.count("#results tbody tr"); n != 1 {
			t.Fatalf("search by order number: %d rows, want 1: %s", n, b.body())
		}
		if got := b.text("#results tbody tr"); !strings.Contains(got, target) || !strings.Contains(got, "12.88") {
			t.Fatalf("result row %q", got)
		}
		b.shot("03-search")

		dir := t.TempDir()
		dctx, cancel := context.WithTimeout(b.ctx, step)
		defer cancel()
		progress := chromedp.Events(dctx, browser.DownloadProgress)
		b.run(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true)})
			return err
		}), chromedp.Click(chromedp.CSS("#export")))
		var file string
		for ev, err := range progress {
			if err != nil {
				t.Fatalf("waiting for the CSV download: %v", err)
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				file = filepath.Join(dir, ev.GUID)
				break
			}
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatalf("download is not CSV: %v", err)
		}
		if len(rows) != 2 || rows[1][0] != target || rows[1][4] != orderNo || rows[1][11] != "浏览器测试 <商品>" {
			t.Fatalf("exported rows %q, want the header and the one charge", rows)
		}
	})

	t.Run("Refund", func(t *testing.T) {
		b.t = t
		b.open("/console/charges/" + target)
		if got := b.text("#charge-status"); got != "paid" {
			t.Fatalf("status %q", got)
		}
		b.run(chromedp.SendKeys(chromedp.CSS("#refund-amount"), "2.50"), chromedp.SendKeys(chromedp.CSS("#refund-desc"), "浏览器退款"))
		b.shot("04-refund-form")
		if st := b.submit("#refund-submit"); st != 200 {
			t.Fatalf("refund: status %d: %s", st, b.body())
		}
		if got := b.text("#flash"); !strings.Contains(got, "Refund submitted: re_") {
			t.Fatalf("flash %q", got)
		}
		_, list := e.API("GET", "/v1/charges/"+target+"/refunds", nil)
		data, _ := list["data"].([]any)
		if len(data) != 1 || data[0].(map[string]any)["amount"].(float64) != 250 || data[0].(map[string]any)["description"] != "浏览器退款" {
			t.Fatalf("refunds through the API: %v", list)
		}
		if got := b.text("#refunds tbody"); !strings.Contains(got, "2.50") || !strings.Contains(got, "浏览器退款") {
			t.Fatalf("refund table %q", got)
		}
		if got := b.text("#timeline"); !strings.Contains(got, "Refund re_") || !strings.Contains(got, "Event charge.succeeded") {
			t.Fatalf("timeline %q", got)
		}
		b.shot("05-refunded")
	})

	t.Run("ResolveDiscrepancy", func(t *testing.T) {
		b.t = t
		b.open("/console/recon")
		if n := b.count("#discrepancies > li.card"); n != 2 {
			t.Fatalf("%d open discrepancies shown, want 2", n)
		}
		b.shot("06-recon")
		b.run(chromedp.SendKeys(chromedp.CSS("#note-dis_b"), "渠道少记 1 元，已与支付宝核实"))
		if st := b.submit("#resolve-dis_b"); st != 200 {
			t.Fatalf("resolve: %d: %s", st, b.body())
		}
		if got := b.text("#flash"); got != "Discrepancy resolved." {
			t.Fatalf("flash %q", got)
		}
		if n := b.count("#d-dis_b"); n != 0 {
			t.Fatal("the resolved discrepancy is still listed")
		}
		if n := b.count("#discrepancies > li.card"); n != 1 {
			t.Fatalf("%d open discrepancies left, want 1", n)
		}
		d, _ := e.Recon.Discrepancy("dis_b")
		if d.Open || d.Note != "渠道少记 1 元，已与支付宝核实" || d.ResolvedBy != finance {
			t.Fatalf("engine saw %+v", d)
		}
		b.shot("07-resolved")
	})

	t.Run("ChartsAndLanguage", func(t *testing.T) {
		b.t = t
		b.open("/console/?lang=zh")
		if got := b.text("#page-title"); got != "概览" {
			t.Fatalf("title in Chinese %q", got)
		}
		if n := b.count("#chart-volume svg rect.bar"); n == 0 {
			t.Fatal("volume chart has no bars")
		}
		if n := b.count("#chart-rate svg circle.point"); n == 0 {
			t.Fatal("success-rate chart has no points")
		}
		b.shot("08-overview-zh")
		b.open("/console/?lang=en")
	})
}
