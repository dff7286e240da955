package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/console/consoletest"
	"github.com/polypay/polypay/store"
)

// apiAs calls the API with a key of the test app.
func apiAs(t *testing.T, e *consoletest.Env, key, method, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, e.Node.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

// cardCharge tokenizes a good test card and charges it (USD) from ip.
func cardCharge(t *testing.T, e *consoletest.Env, ip string, amount int64) (int, map[string]any) {
	t.Helper()
	st, tok := apiAs(t, e, e.App.PublishableKeyTest, "POST", "/v1/tokens", map[string]any{"card": map[string]any{
		"number": "4242424242424242", "exp_month": 12, "exp_year": time.Now().Year() + 2, "cvc": "123"}})
	if st != 200 {
		t.Fatalf("tokenize: %d %v", st, tok)
	}
	return apiAs(t, e, e.App.SecretKeyTest, "POST", "/v1/charges", map[string]any{"order_no": consoletest.OrderNo("RC"),
		"app": map[string]any{"id": e.App.AppID}, "channel": "card", "amount": amount, "currency": "usd", "client_ip": ip,
		"subject": "risk", "body": "console risk test", "extra": map[string]any{"source": tok["id"]}})
}

// qrCharge creates an Alipay QR charge from ip.
func qrCharge(t *testing.T, e *consoletest.Env, ip string, amount int64) (int, map[string]any) {
	t.Helper()
	return apiAs(t, e, e.App.SecretKeyTest, "POST", "/v1/charges", map[string]any{"order_no": consoletest.OrderNo("RQ"),
		"app": map[string]any{"id": e.App.AppID}, "channel": "alipay_qr", "amount": amount, "currency": "cny", "client_ip": ip,
		"subject": "risk", "body": "console risk test"})
}

func riskURL(e *consoletest.Env, suffix string) string {
	return "/console/apps/" + e.App.AppID + "/risk" + suffix
}

func TestRiskListsForm(t *testing.T) {
	e := consoletest.Start(t)
	c := signedIn(t, e, console.RoleAdmin)
	page := riskURL(e, "/lists") + "?mode=test"
	tok := c.token(page)
	tests := []struct {
		name        string
		form        url.Values
		status      int
		field, text string // the field the error names, and text the page shows
	}{
		{"BadIP", url.Values{"list": {"block"}, "kind": {"ip"}, "value": {"999.1.1.1"}}, 400, "value", "Field value:"},
		{"BadKind", url.Values{"list": {"block"}, "kind": {"phone"}, "value": {"1"}}, 400, "kind", "Field kind:"},
		{"BadList", url.Values{"list": {"deny"}, "kind": {"ip"}, "value": {"1.2.3.4"}}, 400, "list", "Field list:"},
		{"BadExpires", url.Values{"list": {"block"}, "kind": {"ip"}, "value": {"1.2.3.4"}, "expires": {"-5"}}, 400, "expires", "Field expires:"},
		{"LongNote", url.Values{"list": {"block"}, "kind": {"ip"}, "value": {"1.2.3.4"}, "note": {strings.Repeat("n", 201)}}, 400, "note", "Field note:"},
		{"NoMode", url.Values{"list": {"block"}, "kind": {"ip"}, "value": {"1.2.3.4"}}, 400, "", "mode"},
		{"Range", url.Values{"list": {"block"}, "kind": {"ip"}, "value": {"203.0.113.7/24"}, "note": {"abuse"}}, 303, "", ""},
		{"Email", url.Values{"list": {"allow"}, "kind": {"email"}, "value": {"VIP@Example.com"}, "expires": {"24"}}, 303, "", ""},
		{"Duplicate", url.Values{"list": {"block"}, "kind": {"ip"}, "value": {"203.0.113.0/24"}}, 400, "value", "Field value:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.form
			f.Set("csrf", tok)
			if tc.name != "NoMode" {
				f.Set("mode", "test")
			}
			r := c.post(riskURL(e, "/lists"), f)
			if r.Status != tc.status || !strings.Contains(r.Body, tc.text) {
				t.Fatalf("%d, want %d with %q: %.400s", r.Status, tc.status, tc.text, r.Body)
			}
			if tc.field != "" && !regexp.MustCompile(`name="`+tc.field+`"[^>]*aria-invalid="true"`).MatchString(r.Body) {
				t.Fatalf("field %s is not marked invalid", tc.field)
			}
			if tc.status == 303 && !strings.Contains(r.Header.Get("Location"), "mode=test") {
				t.Fatalf("redirect %q leaves the mode", r.Header.Get("Location"))
			}
		})
	}
	body := c.get(page).Body
	for _, want := range []string{"203.0.113.0/24", "abuse", "vip@example.com"} {
		if !strings.Contains(body, want) {
			t.Fatalf("lists page lacks %q", want)
		}
	}
	// The entry the console added is the engine's: a charge from the range is refused.
	if st, out := qrCharge(t, e, "203.0.113.9", 100); st != 402 {
		t.Fatalf("charge from a blocked range: %d %v", st, out)
	}
	// Live mode has its own lists.
	if strings.Contains(c.get(riskURL(e, "/lists")+"?mode=live").Body, "203.0.113.0/24") {
		t.Fatal("a test-mode entry shows in live mode")
	}
	id := regexp.MustCompile(`id="entry-(rl_[A-Za-z0-9]+)"><td>Block`).FindStringSubmatch(body)
	if id == nil {
		t.Fatal("no block entry row")
	}
	del := riskURL(e, "/lists/"+id[1]+"/delete")
	if r := c.post(del, url.Values{"csrf": {tok}, "mode": {"live"}}); r.Status != 404 {
		t.Fatalf("delete through the other mode: %d", r.Status)
	}
	if r := c.post(del, url.Values{"csrf": {tok}, "mode": {"test"}}); r.Status != 303 {
		t.Fatalf("delete: %d %.300s", r.Status, r.Body)
	}
	if strings.Contains(c.get(page).Body, "203.0.113.0/24") {
		t.Fatal("the deleted entry is still listed")
	}
}

func TestRiskRulesEditor(t *testing.T) {
	e := consoletest.Start(t)
	small := e.Charge("alipay_qr", consoletest.OrderNo("DR"), 100, "small")
	big := e.Charge("alipay_qr", consoletest.OrderNo("DR"), 70000, "big")
	c := signedIn(t, e, console.RoleOwner)
	page := riskURL(e, "/rules") + "?mode=test"
	tok := c.token(page)
	rule := func(name, cond, action, prio string) url.Values {
		return url.Values{"csrf": {tok}, "mode": {"test"}, "name": {name}, "condition": {cond}, "action": {action}, "priority": {prio}}
	}
	dry := []struct {
		name, cond string
		status     int
		want       []string
		notWant    []string
	}{
		{"Matches", "amount > 5000", 200, []string{`id="dry-matched">1<`, `href="/console/charges/` + big + `"`}, []string{small}},
		{"NoneMatch", `currency == "usd"`, 200, []string{`id="dry-matched">0<`}, []string{big}},
		{"SyntaxError", "amount >", 400, []string{`id="condition-error"`, "Field condition:"}, []string{`id="dry-run"`}},
		{"UnknownFact", "balance > 1", 400, []string{`id="condition-error"`}, nil},
		{"NotBool", "amount", 400, []string{`id="condition-error"`}, nil},
	}
	for _, tc := range dry {
		t.Run("DryRun"+tc.name, func(t *testing.T) {
			r := c.post(riskURL(e, "/rules/dry-run"), rule("x", tc.cond, "block", "1"))
			if r.Status != tc.status {
				t.Fatalf("%d, want %d: %.300s", r.Status, tc.status, r.Body)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Body, w) {
					t.Errorf("lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(r.Body, w) {
					t.Errorf("shows %q", w)
				}
			}
			if !strings.Contains(r.Body, `>`+template(tc.cond)+`</textarea>`) {
				t.Errorf("the condition was not kept in the form")
			}
		})
	}
	if strings.Contains(c.get(page).Body, `id="rule-rr_`) {
		t.Fatal("a dry run saved a rule")
	}
	saves := []struct {
		name   string
		form   url.Values
		status int
		field  string
	}{
		{"BadCondition", rule("bad", "amount >", "block", "1"), 400, "condition"},
		{"BadAction", rule("bad", "true", "shout", "1"), 400, "action"},
		{"BadPriority", rule("bad", "true", "block", "first"), 400, "priority"},
		{"NoName", rule("", "true", "block", "1"), 400, "name"},
		{"Good", rule("big usd", `amount >= 50000 && currency == "usd"`, "review", "5"), 303, ""},
	}
	for _, tc := range saves {
		t.Run("Save"+tc.name, func(t *testing.T) {
			r := c.post(riskURL(e, "/rules"), tc.form)
			if r.Status != tc.status {
				t.Fatalf("%d, want %d: %.300s", r.Status, tc.status, r.Body)
			}
			if tc.field != "" && !regexp.MustCompile(`name="`+tc.field+`"[^>]*aria-invalid="true"`).MatchString(r.Body) {
				t.Fatalf("field %s not marked: %.2000s", tc.field, r.Body)
			}
		})
	}
	body := c.get(page).Body
	m := regexp.MustCompile(`id="rule-(rr_[A-Za-z0-9]+)"`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "big usd") {
		t.Fatalf("the saved rule is not listed: %.2000s", body)
	}
	id := m[1]
	edit := c.get(page + "&edit=" + id).Body
	if !strings.Contains(edit, `action="/console/apps/`+e.App.AppID+`/risk/rules/`+id+`"`) || !strings.Contains(edit, `value="big usd"`) {
		t.Fatal("the editor is not filled with the rule")
	}
	steps := []struct {
		path  string
		form  url.Values
		check func(*testing.T, string)
	}{
		{"/rules/" + id, rule("huge usd", "amount >= 90000", "block", "7"), func(t *testing.T, b string) {
			if !strings.Contains(b, "huge usd") || !strings.Contains(b, "amount &gt;= 90000") {
				t.Fatal("update not shown")
			}
		}},
		{"/rules/" + id + "/toggle", url.Values{"csrf": {tok}, "mode": {"test"}, "enabled": {"false"}}, func(t *testing.T, b string) {
			if !strings.Contains(b, `<td class="rule-state">Disabled</td>`) {
				t.Fatal("rule not disabled")
			}
		}},
		{"/rules/" + id + "/delete", url.Values{"csrf": {tok}, "mode": {"test"}}, func(t *testing.T, b string) {
			if strings.Contains(b, id) {
				t.Fatal("rule not deleted")
			}
		}},
	}
	for _, s := range steps {
		if r := c.post(riskURL(e, s.path), s.form); r.Status != 303 {
			t.Fatalf("POST %s: %d %.300s", s.path, r.Status, r.Body)
		}
		s.check(t, c.get(page).Body)
	}
}

// template escapes text as html/template does in an element's body.
func template(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestRiskOverviewAndReview(t *testing.T) {
	e := consoletest.Start(t)
	ctx := context.Background()
	c := signedIn(t, e, console.RoleOwner)
	tok := c.token(riskURL(e, "/rules") + "?mode=test")
	for _, f := range []url.Values{
		{"csrf": {tok}, "mode": {"test"}, "list": {"block"}, "kind": {"ip"}, "value": {"198.51.100.0/24"}},
	} {
		if r := c.post(riskURL(e, "/lists"), f); r.Status != 303 {
			t.Fatalf("add entry: %d", r.Status)
		}
	}
	if r := c.post(riskURL(e, "/rules"), url.Values{"csrf": {tok}, "mode": {"test"}, "name": {"big"}, "action": {"review"},
		"condition": {`amount >= 50000 && currency == "usd"`}, "priority": {"1"}}); r.Status != 303 {
		t.Fatalf("add rule: %d", r.Status)
	}
	for _, ip := range []string{"198.51.100.7", "198.51.100.7", "198.51.100.8"} {
		if st, _ := qrCharge(t, e, ip, 100); st != 402 {
			t.Fatalf("blocked charge: %d", st)
		}
	}
	var held []string
	for range 2 {
		st, ch := cardCharge(t, e, "192.0.2.10", 60000)
		if st != 200 || ch["authorized"] != true || ch["paid"] == true {
			t.Fatalf("held charge: %d %v", st, ch)
		}
		held = append(held, ch["id"].(string))
	}
	// Wallet charges a rule reviews wait unsent, with no credential.
	if r := c.post(riskURL(e, "/rules"), url.Values{"csrf": {tok}, "mode": {"test"}, "name": {"big qr"}, "action": {"review"},
		"condition": {`channel == "alipay_qr" && amount >= 50000`}, "priority": {"2"}}); r.Status != 303 {
		t.Fatalf("add rule: %d", r.Status)
	}
	for range 2 {
		st, ch := qrCharge(t, e, "192.0.2.11", 60000)
		if risk, _ := ch["risk"].(map[string]any); st != 200 || risk["hold"] != "unsent" || len(ch["credential"].(map[string]any)) != 0 {
			t.Fatalf("held QR charge: %d %v", st, ch)
		}
		held = append(held, ch["id"].(string))
	}
	until := e.Clock.Now().Add(time.Hour).Unix()
	if err := e.Node.DB.Write(ctx, func(tx *store.Tx) error {
		return tx.PutRiskBlock(ctx, store.RiskBlock{AppID: e.App.AppID, Kind: "ip", Value: "192.0.2.66", Rule: "card_testing",
			Until: until, Created: until - 3600})
	}); err != nil {
		t.Fatal(err)
	}

	ov := c.get(riskURL(e, "") + "?mode=test").Body
	for _, w := range []string{`id="count-block">3<`, `id="count-review">4<`, `<td class="nowrap">198.51.100.7</td><td class="num">2</td>`,
		`<td><code>block_list</code></td><td class="num">3</td>`, "192.0.2.66", "card_testing"} {
		if !strings.Contains(ov, w) {
			t.Errorf("overview lacks %q", w)
		}
	}
	if live := c.get(riskURL(e, "")).Body; !strings.Contains(live, `id="count-block">0<`) || strings.Contains(live, "192.0.2.66") {
		t.Error("live mode shows test-mode decisions or blocks")
	}
	if r := c.post(riskURL(e, "/unblock"), url.Values{"csrf": {tok}, "mode": {"test"}, "kind": {"ip"}, "value": {"192.0.2.66"}}); r.Status != 303 {
		t.Fatalf("unblock: %d %.300s", r.Status, r.Body)
	}
	if strings.Contains(c.get(riskURL(e, "")+"?mode=test").Body, "192.0.2.66") {
		t.Fatal("the lifted block is still shown")
	}
	if r := c.post(riskURL(e, "/unblock"), url.Values{"csrf": {tok}, "mode": {"test"}, "kind": {"ip"}, "value": {"192.0.2.66"}}); r.Status != 404 {
		t.Fatalf("unblock again: %d", r.Status)
	}

	queue := riskURL(e, "/review") + "?mode=test"
	q := c.get(queue).Body
	for _, id := range held {
		if !strings.Contains(q, `id="held-`+id+`"`) {
			t.Fatalf("queue lacks %s", id)
		}
	}
	if !strings.Contains(q, `id="hold-`+held[2]+`">not sent`) || !strings.Contains(q, `id="hold-`+held[0]+`">authorized`) {
		t.Error("the queue does not tell held-unsent from authorized charges")
	}
	decide := []struct {
		name, id, verb string
		want           func(ch map[string]any) bool
	}{
		{"CaptureHold", held[0], "approve", func(ch map[string]any) bool { return ch["paid"] == true }},
		{"VoidHold", held[1], "reject", func(ch map[string]any) bool { return ch["reversed"] == true }},
		{"SendUnsent", held[2], "approve", func(ch map[string]any) bool {
			cred, _ := ch["credential"].(map[string]any)
			return ch["paid"] == false && cred["alipay_qr"] != nil
		}},
		{"CloseUnsent", held[3], "reject", func(ch map[string]any) bool { return ch["failure_code"] == "risk_rejected" }},
	}
	for _, d := range decide {
		t.Run(d.name, func(t *testing.T) {
			r := c.post(riskURL(e, "/review/"+d.id+"/"+d.verb), url.Values{"csrf": {tok}, "mode": {"test"}})
			if r.Status != 303 {
				t.Fatalf("%d %.300s", r.Status, r.Body)
			}
			if _, ch := e.API("GET", "/v1/charges/"+d.id, nil); !d.want(ch) {
				t.Fatalf("after %s: %v", d.verb, ch)
			}
			if strings.Contains(c.get(queue).Body, `id="held-`+d.id+`"`) {
				t.Fatal("still in the queue")
			}
			// Deciding again: nothing is held any more.
			if r := c.post(riskURL(e, "/review/"+d.id+"/"+d.verb), url.Values{"csrf": {tok}, "mode": {"test"}}); r.Status != 400 {
				t.Fatalf("second %s: %d", d.verb, r.Status)
			}
		})
	}
	// A charge that was never held is not the review queue's to capture.
	plain := e.Charge("alipay_qr", consoletest.OrderNo("NR"), 100, "not held")
	if r := c.post(riskURL(e, "/review/"+plain+"/approve"), url.Values{"csrf": {tok}, "mode": {"test"}}); r.Status != 400 {
		t.Fatalf("approve a charge not held: %d", r.Status)
	}
	tl := c.get("/console/charges/" + held[0]).Body
	for _, w := range []string{"Risk decision review", "Risk decision review_closed", "approved", "client_ip 192.0.2.10"} {
		if !strings.Contains(tl, w) {
			t.Errorf("charge timeline lacks %q", w)
		}
	}
}

func TestRiskPermissions(t *testing.T) {
	e := consoletest.Start(t)
	ctx := context.Background()
	// Something in every table, so every form that can appear does.
	owner := signedIn(t, e, console.RoleOwner)
	tok := owner.token(riskURL(e, "/lists") + "?mode=test")
	owner.post(riskURL(e, "/lists"), url.Values{"csrf": {tok}, "mode": {"test"}, "list": {"block"}, "kind": {"ip"}, "value": {"198.51.100.1"}})
	owner.post(riskURL(e, "/rules"), url.Values{"csrf": {tok}, "mode": {"test"}, "name": {"r"}, "action": {"review"},
		"condition": {`amount >= 50000 && currency == "usd"`}, "priority": {"1"}})
	if st, _ := cardCharge(t, e, "192.0.2.10", 60000); st != 200 {
		t.Fatal("no held charge")
	}
	if err := e.Node.DB.Write(ctx, func(tx *store.Tx) error {
		return tx.PutRiskBlock(ctx, store.RiskBlock{AppID: e.App.AppID, Kind: "ip", Value: "192.0.2.66", Rule: "card_testing",
			Until: e.Clock.Now().Add(time.Hour).Unix()})
	}); err != nil {
		t.Fatal(err)
	}
	postForm := regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	for role := range consoletest.Users {
		c := signedIn(t, e, role)
		editor := role == console.RoleOwner || role == console.RoleAdmin
		for _, s := range []string{"", "/lists", "/rules", "/review"} {
			t.Run(fmt.Sprintf("%s%s", role, s), func(t *testing.T) {
				r := c.get(riskURL(e, s) + "?mode=test")
				if r.Status != 200 {
					t.Fatalf("%d", r.Status)
				}
				var forms int
				for _, m := range postForm.FindAllStringSubmatch(r.Body, -1) {
					if m[1] != "/console/logout" {
						forms++
					}
				}
				if editor != (forms > 0) {
					t.Fatalf("%d POST forms for %s", forms, role)
				}
			})
		}
	}
}

func TestRiskTenantIsolation(t *testing.T) {
	e := consoletest.Start(t)
	ctx := context.Background()
	other, err := e.Node.CreateApp(ctx, "other merchant")
	if err != nil {
		t.Fatal(err)
	}
	const email = "risk-scoped@example.com"
	if err := console.AddScopedUser(ctx, e.Node.DB, email, console.RoleOwner, consoletest.Password, []string{other.AppID}); err != nil {
		t.Fatal(err)
	}
	owner := signedIn(t, e, console.RoleOwner)
	otok := owner.token(riskURL(e, "/rules") + "?mode=test")
	owner.post(riskURL(e, "/rules"), url.Values{"csrf": {otok}, "mode": {"test"}, "name": {"mine"}, "action": {"review"},
		"condition": {`amount >= 50000 && currency == "usd"`}, "priority": {"1"}})
	owner.post(riskURL(e, "/lists"), url.Values{"csrf": {otok}, "mode": {"test"}, "list": {"block"}, "kind": {"ip"}, "value": {"198.51.100.1"}})
	st, ch := cardCharge(t, e, "192.0.2.10", 60000)
	if st != 200 {
		t.Fatalf("held charge: %d", st)
	}
	held := ch["id"].(string)
	body := owner.get(riskURL(e, "/rules")+"?mode=test").Body + owner.get(riskURL(e, "/lists")+"?mode=test").Body
	rule := regexp.MustCompile(`id="rule-(rr_[A-Za-z0-9]+)"`).FindStringSubmatch(body)
	entry := regexp.MustCompile(`id="entry-(rl_[A-Za-z0-9]+)"`).FindStringSubmatch(body)
	if rule == nil || entry == nil {
		t.Fatal("setup: no rule or entry")
	}

	s := newClient(t, e.URL)
	if r := s.login(email, consoletest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("scoped sign-in: %d", r.Status)
	}
	theirs := "/console/apps/" + other.AppID + "/risk"
	tok := s.token(theirs + "/rules?mode=test")
	mine := riskURL(e, "")
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", mine, 404},
		{"GET", mine + "/lists", 404},
		{"GET", mine + "/rules?edit=" + rule[1], 404},
		{"GET", mine + "/review", 404},
		{"GET", theirs, 200},
		{"GET", theirs + "/review", 200},
		// Another app's rule through the user's own app: not found.
		{"GET", theirs + "/rules?mode=test&edit=" + rule[1], 404},
		{"POST", mine + "/unblock", 404},
		{"POST", mine + "/lists", 404},
		{"POST", mine + "/lists/" + entry[1] + "/delete", 404},
		{"POST", mine + "/rules", 404},
		{"POST", mine + "/rules/dry-run", 404},
		{"POST", mine + "/rules/" + rule[1], 404},
		{"POST", mine + "/rules/" + rule[1] + "/toggle", 404},
		{"POST", mine + "/rules/" + rule[1] + "/delete", 404},
		{"POST", mine + "/review/" + held + "/approve", 404},
		{"POST", mine + "/review/" + held + "/reject", 404},
		{"POST", theirs + "/lists/" + entry[1] + "/delete", 404},
		{"POST", theirs + "/rules/" + rule[1] + "/delete", 404},
		{"POST", theirs + "/rules/" + rule[1] + "/toggle", 404},
		{"POST", theirs + "/review/" + held + "/approve", 404},
		{"POST", theirs + "/review/" + held + "/reject", 404},
	}
	for _, tc := range tests {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			var r reply
			if tc.method == "GET" {
				r = s.get(tc.path)
			} else {
				r = s.post(tc.path, url.Values{"csrf": {tok}, "mode": {"test"}, "name": {"x"}, "condition": {"true"}, "action": {"block"},
					"priority": {"1"}, "list": {"block"}, "kind": {"ip"}, "value": {"198.51.100.2"}, "enabled": {"false"}})
			}
			if r.Status != tc.status {
				t.Fatalf("%d, want %d: %.200s", r.Status, tc.status, r.Body)
			}
			// The language links echo the URL asked for; the page's content must not.
			m := mainOf(r.Body)
			if strings.Contains(m, rule[1]) || strings.Contains(m, entry[1]) || strings.Contains(m, held) {
				t.Fatal("the page shows the other app's risk objects")
			}
		})
	}
	// Nothing of the first app changed.
	after := owner.get(riskURL(e, "/rules")+"?mode=test").Body + owner.get(riskURL(e, "/lists")+"?mode=test").Body
	if !strings.Contains(after, rule[1]) || !strings.Contains(after, entry[1]) || !strings.Contains(after, `<td class="rule-state">Enabled</td>`) {
		t.Fatal("the scoped user changed another app's rules or lists")
	}
	if _, c := e.API("GET", "/v1/charges/"+held, nil); c["authorized"] != true || c["paid"] == true || c["reversed"] == true {
		t.Fatalf("the scoped user decided another app's held charge: %v", c)
	}
}

// mainOf is a page's main element.
func mainOf(page string) string {
	i, j := strings.Index(page, "<main"), strings.Index(page, "</main>")
	if i < 0 || j < i {
		return page
	}
	return page[i:j]
}
