package browsertest_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// watchConsole records the tab's console and, when the test ends, fails
// the test on a Content-Security-Policy violation or an uncaught exception.
func (b *browser) watchConsole() {
	b.t.Helper()
	var mu sync.Mutex
	var msgs []chromedp.ConsoleMessage
	it := chromedp.Console(b.ctx) // subscribed now, read below
	go func() {
		for m, err := range it {
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, m)
			mu.Unlock()
		}
	}()
	t := b.t
	t.Cleanup(func() {
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			switch {
			case strings.Contains(m.Text, "Content Security Policy"):
				t.Errorf("CSP violation on %s: %s", m.URL, m.Text)
			case m.IsException():
				t.Errorf("uncaught exception on %s: %s", m.URL, m.Text)
			}
		}
	})
}

var shots struct {
	sync.Mutex
	dir string
}

// screenshot saves the page to $ARTIFACTS, else to one temp dir per run.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	shots.Lock()
	if shots.dir == "" {
		shots.dir = os.Getenv("ARTIFACTS")
		if shots.dir == "" {
			d, err := os.MkdirTemp("", "polypay-sim-artifacts-")
			if err != nil {
				shots.Unlock()
				b.t.Fatal(err)
			}
			shots.dir = d
		}
	}
	dir := shots.dir
	shots.Unlock()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

// eval runs JavaScript on the page.
func evalJS[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// labelled fails unless every visible form control has an accessible name.
func (b *browser) labelled() {
	b.t.Helper()
	bad := evalJS[string](b, `Array.from(document.querySelectorAll("input:not([type=hidden]),select,textarea,button")).filter(function(e){
		var name = (e.labels && e.labels.length ? Array.from(e.labels).map(function(l){return l.innerText}).join("") : "") +
			(e.getAttribute("aria-label")||"") + (e.tagName==="BUTTON" ? e.innerText : "");
		return name.trim()==="";
	}).map(function(e){return e.outerHTML.slice(0,80)}).join(" | ")`)
	if bad != "" {
		b.t.Fatalf("form controls without a label: %s", bad)
	}
}

// tabOrder presses Tab n times and returns the ids (or names and values)
// of the elements that get the focus.
func (b *browser) tabOrder(n int) string {
	b.t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		b.do(chromedp.KeyEvent("\t"))
		out = append(out, evalJS[string](b, `(function(e){return e.id || (e.name + (e.value ? "=" + e.value : ""))})(document.activeElement)`))
	}
	return strings.Join(out, ",")
}

// waitCharge polls a charge until cond holds.
func (nd *node) waitCharge(id, what string, cond func(map[string]any) bool) map[string]any {
	nd.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c := nd.charge(id)
		if cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			nd.t.Fatalf("charge %s never %s: %v", id, what, c)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cardCharge tokenizes a card and charges it; extra adds to the charge's.
func (nd *node) cardCharge(number string, extra map[string]any) map[string]any {
	nd.t.Helper()
	status, tok := nd.api("POST", "/v1/tokens", map[string]any{"card": map[string]any{"number": number,
		"exp_month": 12, "exp_year": time.Now().Year() + 2, "cvc": "123"}})
	if status != 200 {
		nd.t.Fatalf("tokenize: %d %v", status, tok)
	}
	ex := map[string]any{"source": tok["id"]}
	for k, v := range extra {
		ex[k] = v
	}
	return nd.createCharge("card", 4321, ex)
}

// acsURL is the issuer page a 3-D Secure card charge waits on.
func acsURL(t *testing.T, c map[string]any) string {
	t.Helper()
	pi, _ := credential(t, c).(map[string]any)
	na, _ := pi["next_action"].(map[string]any)
	rt, _ := na["redirect_to_url"].(map[string]any)
	u, _ := rt["url"].(string)
	if u == "" {
		t.Fatalf("no 3-D Secure redirect in %v", c)
	}
	return u
}

// TestStripeACSPage: the Stripe simulator's 3-D Secure challenge page and
// its default return page, with the keyboard, as a cardholder uses them.
func TestStripeACSPage(t *testing.T) {
	nd := startNode(t)
	b := newBrowser(t)
	b.watchConsole()
	m := newMerchant(t)
	const card = "4000000000003220"

	t.Run("right code", func(t *testing.T) {
		c := nd.cardCharge(card, map[string]any{"return_url": m.srv.URL + "/back?o=1"})
		id := c["id"].(string)
		acs := acsURL(t, c)
		if !strings.HasPrefix(acs, nd.n.URL+"/sim/stripe/acs/pi_") {
			t.Fatalf("ACS URL %s", acs)
		}
		if resp := b.open(acs); resp.Status != 200 {
			t.Fatalf("ACS page answered %d", resp.Status)
		}
		body := b.body()
		if !strings.Contains(body, "43.21") || !strings.Contains(body, "3220") || b.text("code") != "123456" {
			t.Fatalf("ACS page: %s", body)
		}
		b.labelled()
		// The code field has the focus; typing the code and Enter completes.
		if got := evalJS[string](b, `document.activeElement.name`); got != "code" {
			t.Fatalf("focus on %q, want the code field", got)
		}
		if got := b.tabOrder(2); got != "action=complete,action=fail" {
			t.Fatalf("Tab order %s", got)
		}
		b.do(chromedp.Focus(chromedp.CSS("input[name=code]")), chromedp.KeyEvent("123456"))
		b.screenshot("stripe-acs.png")
		if nd.paid(id) {
			t.Fatal("paid before the challenge")
		}
		b.enter()
		loc, _ := url.Parse(b.location())
		q := loc.Query()
		if loc.Path != "/back" || q.Get("o") != "1" || q.Get("redirect_status") != "succeeded" || !strings.HasPrefix(q.Get("payment_intent"), "pi_") {
			t.Fatalf("returned to %s", loc)
		}
		if got := nd.waitPaid(id); got["transaction_no"] != q.Get("payment_intent") {
			t.Fatalf("charge %v", got)
		}
		// The challenge is over: the page is gone.
		if resp := b.open(acs); resp.Status != http.StatusNotFound || !strings.Contains(b.body(), "expired") {
			t.Fatalf("ACS page after the challenge: %d %s", resp.Status, b.body())
		}
	})

	t.Run("fail authentication", func(t *testing.T) {
		c := nd.cardCharge(card, map[string]any{"return_url": m.srv.URL + "/back"})
		id := c["id"].(string)
		b.open(acsURL(t, c))
		b.do(chromedp.SendKeys(chromedp.CSS("input[name=code]"), "123456"))
		b.click(`button[value=fail]`)
		if q, _ := url.Parse(b.location()); q.Path != "/back" || q.Query().Get("redirect_status") != "failed" {
			t.Fatalf("returned to %s", q)
		}
		got := nd.waitCharge(id, "failed", func(c map[string]any) bool { return c["failure_code"] != nil })
		if got["paid"] != false {
			t.Fatalf("charge %v", got)
		}
	})

	t.Run("wrong code", func(t *testing.T) {
		c := nd.cardCharge(card, map[string]any{"return_url": m.srv.URL + "/back"})
		id := c["id"].(string)
		b.open(acsURL(t, c))
		b.do(chromedp.SendKeys(chromedp.CSS("input[name=code]"), "000000"))
		b.click(`button[value=complete]`)
		if q, _ := url.Parse(b.location()); q.Query().Get("redirect_status") != "failed" {
			t.Fatalf("returned to %s", q)
		}
		if got := nd.waitCharge(id, "failed", func(c map[string]any) bool { return c["failure_code"] != nil }); got["paid"] != false {
			t.Fatalf("charge %v", got)
		}
	})

	t.Run("default return page", func(t *testing.T) {
		c := nd.cardCharge(card, nil)
		id := c["id"].(string)
		b.open(acsURL(t, c))
		b.do(chromedp.SendKeys(chromedp.CSS("input[name=code]"), "123456"))
		if resp := b.click(`button[value=complete]`); resp.Status != 200 {
			t.Fatalf("return page answered %d", resp.Status)
		}
		if loc := b.location(); !strings.HasPrefix(loc, nd.n.URL+"/sim/stripe/return?") {
			t.Fatalf("returned to %s", loc)
		}
		if body := b.body(); !strings.Contains(body, "Authentication succeeded") {
			t.Fatalf("return page: %s", body)
		}
		b.screenshot("stripe-return.png")
		nd.waitPaid(id)
	})
}

// waitLocation waits until the page is at a URL starting with prefix,
// through the navigations of pages that submit themselves.
func (b *browser) waitLocation(prefix string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := b.step()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		cancel()
		if err == nil && strings.HasPrefix(loc, prefix) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("never reached %s: at %s (%v): %s", prefix, loc, err, b.body())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// enter presses Enter in the focused field and waits for the page the form
// submission loads.
func (b *browser) enter() {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.KeyEvent("\r")); err != nil {
		b.t.Fatalf("browser: Enter: %v", err)
	}
}

// TestPayPalApprovalPage: the PayPal simulator's approval page: a wrong
// password is refused, the buyer approves (the charge is paid after the
// webhook and capture), cancels (back to cancel_url, unpaid), or is the
// declined sandbox buyer (the capture is declined: never paid).
func TestPayPalApprovalPage(t *testing.T) {
	nd := startNode(t)
	b := newBrowser(t)
	b.watchConsole()
	m := newMerchant(t)
	open := func(t *testing.T) (string, string) {
		t.Helper()
		c := nd.createCharge("paypal", 1999, map[string]any{"return_url": m.srv.URL + "/return", "cancel_url": m.srv.URL + "/cancel"})
		approve, _ := credential(t, c).(string)
		if !strings.HasPrefix(approve, nd.n.URL+"/sim/paypal/checkoutnow?token=") {
			t.Fatalf("approval URL %q", approve)
		}
		if resp := b.open(approve); resp.Status != 200 {
			t.Fatalf("approval page answered %d", resp.Status)
		}
		if got := b.text("amount"); got != "19.99 CNY" {
			t.Fatalf("amount %q", got)
		}
		return c["id"].(string), strings.TrimPrefix(approve, nd.n.URL+"/sim/paypal/checkoutnow?token=")
	}
	login := func(email, password string) {
		b.do(chromedp.SetValue(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), password))
	}

	t.Run("approve", func(t *testing.T) {
		id, token := open(t)
		b.labelled()
		b.do(chromedp.Focus(chromedp.ID("email")))
		if got := b.tabOrder(3); got != "password,approve,cancel" {
			t.Fatalf("Tab order %s", got)
		}
		b.screenshot("paypal-approval.png")
		login("buyer@example.com", "wrong")
		if resp := b.click("#approve"); resp.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password answered %d", resp.Status)
		}
		if got := b.text("error"); got != "Wrong email or password." {
			t.Fatalf("error %q", got)
		}
		b.screenshot("paypal-wrong-password.png")
		if nd.paid(id) {
			t.Fatal("paid after a wrong password")
		}
		login("buyer@example.com", "sandbox123")
		b.click("#approve")
		loc, _ := url.Parse(b.location())
		if loc.Path != "/return" || loc.Query().Get("token") != token || loc.Query().Get("PayerID") == "" {
			t.Fatalf("returned to %s", loc)
		}
		if got := nd.waitPaid(id); got["transaction_no"] == "" {
			t.Fatalf("charge %v", got)
		}
		// Nothing is left to approve.
		b.open(nd.n.URL + "/sim/paypal/checkoutnow?token=" + token)
		if got := b.text("done"); !strings.Contains(got, "nothing left to approve") || b.has("approve") {
			t.Fatalf("approved order's page: %s", b.body())
		}
	})

	t.Run("cancel", func(t *testing.T) {
		id, token := open(t)
		b.click("#cancel")
		loc, _ := url.Parse(b.location())
		if loc.Path != "/cancel" || loc.Query().Get("token") != token || loc.Query().Has("PayerID") {
			t.Fatalf("cancelled to %s", loc)
		}
		time.Sleep(300 * time.Millisecond)
		if nd.paid(id) {
			t.Fatal("paid after cancel")
		}
	})

	t.Run("declined buyer", func(t *testing.T) {
		id, _ := open(t)
		login("declined@example.com", "sandbox123")
		b.click("#approve")
		if loc, _ := url.Parse(b.location()); loc.Path != "/return" {
			t.Fatalf("returned to %s", loc)
		}
		got := nd.waitCharge(id, "refused", func(c map[string]any) bool { return c["failure_code"] != nil || c["paid"] == true })
		if got["paid"] != false {
			t.Fatalf("the declined buyer paid: %v", got)
		}
	})

	t.Run("unknown token", func(t *testing.T) {
		if resp := b.open(nd.n.URL + "/sim/paypal/checkoutnow?token=" + url.QueryEscape(`x"><script>document.title="pwned"</script>`)); resp.Status != http.StatusNotFound {
			t.Fatalf("unknown token answered %d", resp.Status)
		}
		if !strings.Contains(b.text("done"), "expired or does not exist") || b.has("approve") {
			t.Fatalf("unknown token page: %s", b.body())
		}
	})
}

// formPoster is a merchant page that posts a form credential to its
// channel_url, as pingpp-js does for upacp_wap / upacp_pc, and records
// the form UnionPay's return page posts back (frontUrl).
type formPoster struct {
	srv  *httptest.Server
	mu   sync.Mutex
	form string
	back url.Values
}

func newFormPoster(t *testing.T) *formPoster {
	fp := &formPoster{}
	fp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fp.mu.Lock()
		defer fp.mu.Unlock()
		switch r.URL.Path {
		case "/pay":
			io.WriteString(w, fp.form)
		case "/result":
			r.ParseForm()
			fp.back = r.PostForm
			io.WriteString(w, `<!doctype html><title>merchant</title><p id="merchant_page">result</p>`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(fp.srv.Close)
	return fp
}

func (fp *formPoster) set(t *testing.T, cred any) {
	fields, ok := cred.(map[string]any)
	if !ok {
		t.Fatalf("not a form credential: %v", cred)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	fmt.Fprintf(&sb, `<!doctype html><title>pay</title><form method="post" action="%s">`, html.EscapeString(fields["channel_url"].(string)))
	for _, k := range keys {
		if k != "channel_url" {
			fmt.Fprintf(&sb, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(fields[k].(string)))
		}
	}
	sb.WriteString(`<button id="go">pay</button></form>`)
	fp.mu.Lock()
	fp.form, fp.back = sb.String(), nil
	fp.mu.Unlock()
}

// TestUnionPayPages: the UnionPay simulator's card page, reached by the
// front-gateway form (upacp_wap) and by tn (upacp, the in-app control), and
// its Apple Pay page (applepay_upacp).
func TestUnionPayPages(t *testing.T) {
	nd := startNode(t)
	b := newBrowser(t)
	b.watchConsole()
	fp := newFormPoster(t)

	t.Run("front gateway", func(t *testing.T) {
		c := nd.createCharge("upacp_wap", 888, map[string]any{"result_url": fp.srv.URL + "/result"})
		id := c["id"].(string)
		fp.set(t, credential(t, c))
		b.open(fp.srv.URL + "/pay")
		if resp := b.click("#go"); resp.Status != 200 {
			t.Fatalf("front gateway answered %d", resp.Status)
		}
		if got := b.text("amount"); got != "¥8.88" || b.text("order") == "" {
			t.Fatalf("card page: %s", b.body())
		}
		b.labelled()
		b.do(chromedp.Focus(chromedp.ID("card")))
		if got := b.tabOrder(3); got != "sms,pay,cancel" {
			t.Fatalf("Tab order %s", got)
		}
		// A card failing the Luhn check, then a wrong SMS code: refused.
		b.do(chromedp.SetValue(chromedp.ID("card"), "6216261000000000019"), chromedp.SendKeys(chromedp.ID("sms"), "111111"))
		b.click("#pay")
		if got := b.text("error"); !strings.Contains(got, "卡号无效") {
			t.Fatalf("bad card: %q", got)
		}
		b.do(chromedp.SetValue(chromedp.ID("card"), "6216261000000000018"), chromedp.SendKeys(chromedp.ID("sms"), "222222"))
		b.click("#pay")
		if got := b.text("error"); !strings.Contains(got, "短信验证码错误") {
			t.Fatalf("wrong SMS: %q", got)
		}
		b.screenshot("unionpay-card-wrong-sms.png")
		if nd.paid(id) {
			t.Fatal("paid after refusals")
		}
		b.do(chromedp.SetValue(chromedp.ID("card"), "6216261000000000018"), chromedp.SendKeys(chromedp.ID("sms"), "111111"))
		b.click("#pay")
		// The return page posts the signed result to frontUrl by itself.
		b.waitLocation(fp.srv.URL + "/result")
		fp.mu.Lock()
		back := fp.back
		fp.mu.Unlock()
		if back.Get("respCode") != "00" || back.Get("signature") == "" || back.Get("txnAmt") != "888" {
			t.Fatalf("frontUrl got %v", back)
		}
		nd.waitPaid(id)
	})

	t.Run("cancel", func(t *testing.T) {
		c := nd.createCharge("upacp_wap", 888, map[string]any{"result_url": fp.srv.URL + "/result"})
		id := c["id"].(string)
		fp.set(t, credential(t, c))
		b.open(fp.srv.URL + "/pay")
		b.click("#go")
		b.click("#cancel")
		if got := b.text("message"); got != "支付已取消" {
			t.Fatalf("cancel: %s", b.body())
		}
		time.Sleep(300 * time.Millisecond)
		if nd.paid(id) {
			t.Fatal("paid after cancel")
		}
	})

	t.Run("in-app tn", func(t *testing.T) {
		c := nd.createCharge("upacp", 500, nil)
		id := c["id"].(string)
		tn, _ := credential(t, c).(map[string]any)["tn"].(string)
		if resp := b.open(nd.n.URL + "/sim/unionpay/cashier?tn=" + url.QueryEscape(tn)); resp.Status != 200 {
			t.Fatalf("card page answered %d", resp.Status)
		}
		if got := b.text("amount"); got != "¥5.00" {
			t.Fatalf("amount %q", got)
		}
		b.do(chromedp.SendKeys(chromedp.ID("sms"), "111111"))
		b.click("#pay")
		if got := b.text("message"); got != "支付成功" {
			t.Fatalf("after paying: %s", b.body())
		}
		nd.waitPaid(id)
		if resp := b.open(nd.n.URL + "/sim/unionpay/cashier?tn=nope"); resp.Status != http.StatusNotFound {
			t.Fatalf("unknown tn answered %d", resp.Status)
		}
	})

	t.Run("Apple Pay", func(t *testing.T) {
		c := nd.createCharge("applepay_upacp", 1200, nil)
		id := c["id"].(string)
		tn, _ := credential(t, c).(map[string]any)["tn"].(string)
		if resp := b.open(nd.n.URL + "/sim/unionpay/applepay?tn=" + url.QueryEscape(tn)); resp.Status != 200 {
			t.Fatalf("Apple Pay page answered %d", resp.Status)
		}
		if body := b.body(); !strings.Contains(body, "¥12.00") {
			t.Fatalf("Apple Pay page: %s", body)
		}
		b.labelled()
		b.screenshot("unionpay-applepay.png")
		if nd.paid(id) {
			t.Fatal("paid before the button")
		}
		b.do(chromedp.Focus(chromedp.ID("applepay")))
		b.enter()
		if got := b.text("message"); !strings.Contains(got, "Apple Pay") {
			t.Fatalf("after Apple Pay: %s", b.body())
		}
		nd.waitPaid(id)
	})
}
