package console_test

import (
	"encoding/csv"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/console/consoletest"
)

// client is one browser-like session against a console.
type client struct {
	t    *testing.T
	base string
	c    *http.Client
	// origin, when set, is sent as the Origin of POSTs.
	origin string
	ip     string
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, origin: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type reply struct {
	Status int
	Header http.Header
	Body   string
}

// from makes the client connect from its own loopback address (all of
// 127.0.0.0/8 reaches the test server), which the console sees as the
// request's source.
func (c *client) from(ip string) *client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	c.t.Cleanup(tr.CloseIdleConnections)
	c.ip, c.c.Transport = ip, tr
	return c
}

func (c *client) get(path string) reply {
	c.t.Helper()
	return c.do("GET", path, nil)
}

func (c *client) post(path string, form url.Values) reply {
	c.t.Helper()
	return c.do("POST", path, form)
}

func (c *client) do(method, path string, form url.Values) reply {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
	}
	req.Header.Set("Accept-Language", "en")
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token reads the CSRF token from a page's form.
func (c *client) token(path string) string {
	c.t.Helper()
	r := c.get(path)
	m := csrfField.FindStringSubmatch(r.Body)
	if m == nil {
		c.t.Fatalf("GET %s: %d, no csrf field in %.300s", path, r.Status, r.Body)
	}
	return m[1]
}

func (c *client) login(email, password string) reply {
	c.t.Helper()
	tok := c.token("/console/login")
	return c.post("/console/login", url.Values{"csrf": {tok}, "email": {email}, "password": {password}})
}

// signedIn returns a client signed in as the role's test user.
func signedIn(t *testing.T, e *consoletest.Env, role console.Role) *client {
	t.Helper()
	c := newClient(t, e.URL)
	if r := c.login(consoletest.Users[role], consoletest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d %.300s", role, r.Status, r.Body)
	}
	return c
}

func TestSignIn(t *testing.T) {
	e := consoletest.Start(t)
	owner := consoletest.Users[console.RoleOwner]
	tests := []struct {
		name      string
		email, pw string
		csrf      string // "" = the login page's token; "-" = none; else this value
		origin    string // "" = same origin
		want      int
	}{
		{"OK", owner, consoletest.Password, "", "", http.StatusSeeOther},
		{"OKEmailCase", strings.ToUpper(owner), consoletest.Password, "", "", http.StatusSeeOther},
		{"BadPassword", owner, "wrong password!", "", "", http.StatusUnauthorized},
		{"UnknownEmail", "nobody@example.com", consoletest.Password, "", "", http.StatusUnauthorized},
		{"EmptyPassword", owner, "", "", "", http.StatusUnauthorized},
		{"MissingCSRF", owner, consoletest.Password, "-", "", http.StatusForbidden},
		{"WrongCSRF", owner, consoletest.Password, "forged", "", http.StatusForbidden},
		{"CrossOrigin", owner, consoletest.Password, "", "http://evil.example", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, e.URL)
			tok := c.token("/console/login")
			switch tt.csrf {
			case "-":
				tok = ""
			case "":
			default:
				tok = tt.csrf
			}
			if tt.origin != "" {
				c.origin = tt.origin
			}
			r := c.post("/console/login", url.Values{"csrf": {tok}, "email": {tt.email}, "password": {tt.pw}})
			if r.Status != tt.want {
				t.Fatalf("status = %d, want %d: %.300s", r.Status, tt.want, r.Body)
			}
			pages := c.get("/console/charges")
			signedIn := pages.Status == http.StatusOK
			if signedIn != (tt.want == http.StatusSeeOther) {
				t.Fatalf("after sign-in with status %d, GET /console/charges = %d", r.Status, pages.Status)
			}
			if tt.want == http.StatusUnauthorized && !strings.Contains(r.Body, "Wrong email or password") {
				t.Fatalf("refusal does not say so: %.300s", r.Body)
			}
		})
	}
}

func TestSessionCookie(t *testing.T) {
	e := consoletest.Start(t)
	c := newClient(t, e.URL)
	r := c.login(consoletest.Users[console.RoleOwner], consoletest.Password)
	var sc *http.Cookie
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == "polypay_session" && ck.Value != "" {
			sc = ck
		}
	}
	if sc == nil {
		t.Fatalf("no polypay_session cookie in %v", r.Header["Set-Cookie"])
	}
	if !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" {
		t.Fatalf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/", sc)
	}
	if len(sc.Value) < 43 { // 32 bytes, base64url
		t.Fatalf("session id %d characters, want 256 bits", len(sc.Value))
	}
	page := c.get("/console/")
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
		if got := page.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q is not strict", csp)
	}
	if strings.Contains(page.Body, "<script") || strings.Contains(page.Body, " style=") {
		t.Errorf("page has inline script or style")
	}
	// Signing out ends the session on the server, not just in the browser.
	tok := csrfField.FindStringSubmatch(page.Body)[1]
	if r := c.post("/console/logout", url.Values{"csrf": {tok}}); r.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.Status)
	}
	replay := newClient(t, e.URL)
	u, _ := url.Parse(e.URL)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: "polypay_session", Value: sc.Value}})
	if r := replay.get("/console/charges"); r.Status != http.StatusSeeOther {
		t.Fatalf("old session cookie after logout: %d, want a redirect to sign-in", r.Status)
	}
}

func TestLockout(t *testing.T) {
	e := consoletest.Start(t)
	email := consoletest.Users[console.RoleFinance]
	c := newClient(t, e.URL)
	for i := 1; i <= 5; i++ {
		want := http.StatusUnauthorized
		if i == 5 {
			want = http.StatusTooManyRequests // the fifth failure throttles this address for this email
		}
		if r := c.login(email, "not the password"); r.Status != want {
			t.Fatalf("failure %d: status %d, want %d", i, r.Status, want)
		}
	}
	if r := c.login(email, consoletest.Password); r.Status != http.StatusTooManyRequests {
		t.Fatalf("right password while locked: %d, want 429", r.Status)
	}
	// Another account is not affected.
	if r := newClient(t, e.URL).login(consoletest.Users[console.RoleAdmin], consoletest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("other account: %d", r.Status)
	}
	e.Clock.Advance(16 * time.Minute)
	if r := c.login(email, consoletest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("after the lock: %d, want a sign-in", r.Status)
	}
}

// TestSignInParallelFailures: wrong passwords sent at once are all counted:
// only freeFailures of them get their password checked, and the address
// then waits, even with the right password.
func TestSignInParallelFailures(t *testing.T) {
	e := consoletest.Start(t)
	owner := consoletest.Users[console.RoleOwner]
	const n = 12
	clients, toks := make([]*client, n), make([]string, n)
	for i := range clients {
		clients[i] = newClient(t, e.URL)
		toks[i] = clients[i].token("/console/login")
	}
	statuses := make([]int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = c.post("/console/login", url.Values{"csrf": {toks[i]}, "email": {owner}, "password": {"guess " + strconv.Itoa(i)}}).Status
		}()
	}
	close(start)
	wg.Wait()
	got := map[int]int{}
	for _, st := range statuses {
		got[st]++
	}
	if got[http.StatusUnauthorized] != 4 || got[http.StatusTooManyRequests] != n-4 {
		t.Fatalf("%d parallel failures answered %v, want 4 x 401 and %d x 429", n, got, n-4)
	}
	if r := newClient(t, e.URL).login(owner, consoletest.Password); r.Status != http.StatusTooManyRequests {
		t.Fatalf("right password from the address after %d failures: %d, want 429", n, r.Status)
	}
}

// TestSignInUnknownEmail: an unknown email is answered as a known one with
// a wrong password, through the whole throttle sequence: status,
// Retry-After and page (but for its CSRF token).
func TestSignInUnknownEmail(t *testing.T) {
	e := consoletest.Start(t)
	known, unknown := newClient(t, e.URL), newClient(t, e.URL)
	steps := []struct {
		name    string
		advance time.Duration // before the attempt
		want    int
	}{
		{"Failure1", 0, http.StatusUnauthorized},
		{"Failure2", 0, http.StatusUnauthorized},
		{"Failure3", 0, http.StatusUnauthorized},
		{"Failure4", 0, http.StatusUnauthorized},
		{"Failure5", 0, http.StatusTooManyRequests},
		{"TooSoon", 30 * time.Second, http.StatusTooManyRequests},
		{"AfterWait", 30 * time.Second, http.StatusTooManyRequests},
		{"TooSoonAgain", time.Minute, http.StatusTooManyRequests},
		{"Forgotten", 25 * time.Hour, http.StatusUnauthorized},
	}
	mask := func(body string) string { return csrfField.ReplaceAllString(body, `name="csrf" value="-"`) }
	for _, st := range steps {
		e.Clock.Advance(st.advance)
		k := known.login(consoletest.Users[console.RoleAdmin], "wrong password")
		u := unknown.login("nobody@example.com", "wrong password")
		if k.Status != st.want {
			t.Fatalf("%s: known email answered %d, want %d", st.name, k.Status, st.want)
		}
		if u.Status != k.Status {
			t.Fatalf("%s: unknown email answered %d, known %d", st.name, u.Status, k.Status)
		}
		if ku, uu := k.Header.Get("Retry-After"), u.Header.Get("Retry-After"); ku != uu {
			t.Fatalf("%s: Retry-After %q for the unknown email, %q for the known", st.name, uu, ku)
		}
		if mask(u.Body) != mask(k.Body) {
			t.Fatalf("%s: pages differ:\nunknown: %.400s\nknown:   %.400s", st.name, mask(u.Body), mask(k.Body))
		}
	}
}

// TestSignInThrottleIsPerSource: an attacker guessing the owner's password
// from one address is throttled there, and the owner still signs in from
// another.
func TestSignInThrottleIsPerSource(t *testing.T) {
	e := consoletest.Start(t)
	owner := consoletest.Users[console.RoleOwner]
	attacker := newClient(t, e.URL).from("127.0.0.2")
	for i := 1; i <= 10; i++ {
		attacker.login(owner, "guess "+strconv.Itoa(i))
	}
	tests := []struct {
		name, ip string
		want     int
	}{
		{"AttackerAddress", "127.0.0.2", http.StatusTooManyRequests},
		{"OwnerAddress", "127.0.0.3", http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, e.URL).from(tt.ip)
			if r := c.login(owner, consoletest.Password); r.Status != tt.want {
				t.Fatalf("right password from %s: %d, want %d", tt.ip, r.Status, tt.want)
			}
		})
	}
}

// TestSignInProgressiveDelay: after freeFailures failures each further
// attempt waits twice as long as the one before, up to an hour; an
// attempt before its time is refused even with the right password.
func TestSignInProgressiveDelay(t *testing.T) {
	e := consoletest.Start(t)
	email := consoletest.Users[console.RoleFinance]
	c := newClient(t, e.URL)
	for i := 1; i < 5; i++ {
		if r := c.login(email, "wrong password"); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i, r.Status)
		}
	}
	for _, wait := range []int{60, 120, 240, 480, 960, 1920, 3600, 3600} {
		r := c.login(email, "wrong password")
		if got := r.Header.Get("Retry-After"); r.Status != http.StatusTooManyRequests || got != strconv.Itoa(wait) {
			t.Fatalf("failure: %d with Retry-After %q, want 429 with %d", r.Status, got, wait)
		}
		e.Clock.Advance(time.Duration(wait-1) * time.Second)
		r = c.login(email, consoletest.Password)
		if got := r.Header.Get("Retry-After"); r.Status != http.StatusTooManyRequests || got != "1" {
			t.Fatalf("right password a second too soon: %d with Retry-After %q, want 429 with 1", r.Status, got)
		}
		e.Clock.Advance(time.Second)
	}
	if r := c.login(email, consoletest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("right password after the wait: %d, want a sign-in", r.Status)
	}
	// The success starts the count over.
	if r := newClient(t, e.URL).login(email, "wrong password"); r.Status != http.StatusUnauthorized {
		t.Fatalf("failure after a success: %d, want 401", r.Status)
	}
}

func TestIPRateLimit(t *testing.T) {
	e := consoletest.Start(t)
	c := newClient(t, e.URL)
	var last int
	n := 0
	for ; n < 40; n++ {
		last = c.login("nobody"+string(rune('a'+n%26))+"@example.com", "whatever password").Status
		if last == http.StatusTooManyRequests {
			break
		}
	}
	if last != http.StatusTooManyRequests || n < 10 {
		t.Fatalf("after %d attempts from one address: %d, want 429 after a burst", n+1, last)
	}
	// A real user from the same address is throttled too (by address).
	if r := c.login(consoletest.Users[console.RoleOwner], consoletest.Password); r.Status != http.StatusTooManyRequests {
		t.Fatalf("sign-in from a throttled address: %d", r.Status)
	}
	e.Clock.Advance(time.Minute)
	if r := c.login(consoletest.Users[console.RoleOwner], consoletest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("a minute later: %d, want a sign-in", r.Status)
	}
}

func TestSessionExpiry(t *testing.T) {
	tests := []struct {
		name  string
		steps []time.Duration // clock moves, each followed by a page view
		alive bool
	}{
		{"Fresh", nil, true},
		{"ActiveWithinIdle", []time.Duration{20 * time.Minute, 20 * time.Minute, 20 * time.Minute}, true},
		{"Idle", []time.Duration{31 * time.Minute}, false},
		{"Absolute", func() []time.Duration {
			var s []time.Duration
			for range 25 { // active every 29 min for 12 h 5 min
				s = append(s, 29*time.Minute)
			}
			return s
		}(), false},
	}
	e := consoletest.Start(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := signedIn(t, e, console.RoleReadOnly)
			status := 0
			for _, d := range tt.steps {
				e.Clock.Advance(d)
				status = c.get("/console/apps").Status
			}
			status = c.get("/console/apps").Status
			if alive := status == http.StatusOK; alive != tt.alive {
				t.Fatalf("GET after %v: %d, want alive=%v", tt.steps, status, tt.alive)
			}
			if !tt.alive {
				if r := c.get("/console/apps"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/console/login") {
					t.Fatalf("expired session: %d %s, want a redirect to sign-in", r.Status, r.Header.Get("Location"))
				}
			}
		})
	}
}

// samplePath fills a POST route's wildcards.
func samplePath(p string) string {
	r := strings.NewReplacer("{app}", "app_nonexistent0000", "{id}", "x_nonexistent", "{user}", "usr_nonexistent", "{ep}", "we_nonexistent")
	return r.Replace(p)
}

func TestCSRF(t *testing.T) {
	e := consoletest.Start(t)
	c := signedIn(t, e, console.RoleOwner)
	good := c.token("/console/apps")
	for _, rt := range console.PostRoutes {
		for _, tc := range []struct {
			name   string
			token  string
			origin string
		}{
			{"Missing", "", ""},
			{"Wrong", strings.Repeat("A", len(good)), ""},
			{"WrongLength", good[:10], ""},
			{"CrossOrigin", good, "http://evil.example"},
			{"NullOrigin", good, "null"},
		} {
			t.Run(tc.name+rt.Pattern, func(t *testing.T) {
				cc := *c
				if tc.origin != "" {
					cc.origin = tc.origin
				}
				form := url.Values{"name": {"csrf test app"}, "note": {"n"}, "family": {"alipay"}, "params": {"{}"}}
				if tc.token != "" {
					form.Set("csrf", tc.token)
				}
				r := cc.post(samplePath(rt.Pattern), form)
				if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "The form expired") {
					t.Fatalf("status %d, want 403 (CSRF): %.200s", r.Status, r.Body)
				}
			})
		}
	}
	// The same request with the right token gets past the check.
	r := c.post("/console/apps", url.Values{"csrf": {good}, "name": {"csrf ok app"}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "sk_test_") {
		t.Fatalf("create app with the token: %d %.300s", r.Status, r.Body)
	}
}

func TestRoles(t *testing.T) {
	e := consoletest.Start(t)
	clients := map[console.Role]*client{}
	for role := range consoletest.Users {
		clients[role] = signedIn(t, e, role)
	}
	allowed := map[console.Action][]console.Role{
		console.ActCreateApp:   {console.RoleOwner, console.RoleAdmin},
		console.ActSetChannel:  {console.RoleOwner, console.RoleAdmin},
		console.ActRefund:      {console.RoleOwner, console.RoleAdmin, console.RoleFinance},
		console.ActResend:      {console.RoleOwner, console.RoleAdmin},
		console.ActResolve:     {console.RoleOwner, console.RoleAdmin, console.RoleFinance},
		console.ActRollKeys:    {console.RoleOwner, console.RoleAdmin},
		console.ActWebhooks:    {console.RoleOwner, console.RoleAdmin},
		console.ActManageUsers: {console.RoleOwner, console.RoleAdmin},
		console.ActManageRisk:  {console.RoleOwner, console.RoleAdmin},
		console.ActReviewRisk:  {console.RoleOwner, console.RoleAdmin},
		// Payouts: finance releases money, admins set the rules (auth.go).
		console.ActApprovePayout:  {console.RoleOwner, console.RoleFinance},
		console.ActPayoutSettings: {console.RoleOwner, console.RoleAdmin},
		// The counter: cashiers take payments, and the roles above them may.
		console.ActCounter: {console.RoleOwner, console.RoleAdmin, console.RoleFinance, console.RoleCashier},
		console.ActQRCodes: {console.RoleOwner, console.RoleAdmin},
		// Sub-merchants: suspending one stops its payments.
		console.ActSubApps: {console.RoleOwner, console.RoleAdmin},
		// Recurring payments: ending them is a money decision.
		console.ActRecurring: {console.RoleOwner, console.RoleAdmin, console.RoleFinance},
	}
	for _, rt := range console.PostRoutes {
		for role, c := range clients {
			want := false
			for _, r := range allowed[rt.Action] {
				want = want || r == role
			}
			t.Run(string(role)+rt.Pattern, func(t *testing.T) {
				tok := c.token("/console/")
				r := c.post(samplePath(rt.Pattern), url.Values{"csrf": {tok}, "note": {"n"}, "family": {"nope"}, "params": {"{}"}})
				refused := r.Status == http.StatusForbidden
				if refused == want {
					t.Fatalf("%s POST %s: %d, want allowed=%v: %.200s", role, rt.Pattern, r.Status, want, r.Body)
				}
				if refused && !strings.Contains(r.Body, "Your role may not do this") {
					t.Fatalf("refusal is not a role refusal: %.200s", r.Body)
				}
			})
		}
	}
	// read_only sees no state-changing form anywhere (sign-out aside).
	id := e.Charge("alipay_qr", consoletest.OrderNo("RO"), 500, "read only")
	e.Pay(id)
	e.Recon.AddDiscrepancy(console.Discrepancy{ID: "dis_ro", Day: "2026-01-02", Channel: "alipay", Kind: "amount_differs", Currency: "cny"})
	postForm := regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	for _, path := range []string{"/console/", "/console/apps", "/console/apps/" + e.App.AppID, "/console/charges", "/console/charges/" + id, "/console/recon", "/console/reports"} {
		for role, c := range clients {
			r := c.get(path)
			if r.Status != http.StatusOK {
				t.Fatalf("%s GET %s: %d", role, path, r.Status)
			}
			var actions []string
			for _, m := range postForm.FindAllStringSubmatch(r.Body, -1) {
				if m[1] != "/console/logout" {
					actions = append(actions, m[1])
				}
			}
			if role == console.RoleReadOnly && len(actions) > 0 {
				t.Errorf("read_only sees POST forms on %s: %v", path, actions)
			}
			if role == console.RoleOwner && (path == "/console/charges/"+id || path == "/console/recon" || path == "/console/apps") && len(actions) == 0 {
				t.Errorf("owner sees no form on %s", path)
			}
		}
	}
}

func TestChargesCSV(t *testing.T) {
	e := consoletest.Start(t)
	subjects := []string{"=HYPERLINK(\"http://x\",\"y\")", "+1 cmd", "-2+3", "@SUM(A1)", "comma, \"quote\"", "多行 文本", "plain"}
	ids := map[string]string{}
	for i, s := range subjects {
		ids[e.Charge("alipay_qr", consoletest.OrderNo("CSV"+string(rune('A'+i))), int64(100+i), s)] = s
	}
	c := signedIn(t, e, console.RoleReadOnly)
	r := c.get("/console/charges.csv?channel=alipay_qr&amount_min=1.00&amount_max=1.06")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	if !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("Content-Disposition %q", r.Header.Get("Content-Disposition"))
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.Body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v", err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if len(rows)-1 != len(subjects) {
		t.Fatalf("%d rows, want %d", len(rows)-1, len(subjects))
	}
	for _, row := range rows[1:] {
		subj, ok := ids[row[col["id"]]]
		if !ok {
			t.Fatalf("unexpected row %v", row)
		}
		want := subj
		if strings.ContainsAny(subj[:1], "=+-@") {
			want = "'" + subj
		}
		if got := row[col["subject"]]; got != want {
			t.Errorf("subject = %q, want %q", got, want)
		}
	}
	// The amount range is inclusive and exact: 1.06 excludes 107 fen.
	r = c.get("/console/charges.csv?amount_min=1.02&amount_max=1.03")
	rows, _ = csv.NewReader(strings.NewReader(strings.TrimPrefix(r.Body, "\ufeff"))).ReadAll()
	if len(rows) != 3 {
		t.Fatalf("amount 1.02-1.03: %d rows, want header + 2", len(rows))
	}
	if r := c.get("/console/charges.csv?amount_min=1.234"); r.Status != http.StatusBadRequest {
		t.Fatalf("bad amount: %d, want 400", r.Status)
	}
}

func TestSearchPagination(t *testing.T) {
	e := consoletest.Start(t)
	for i := range 55 {
		e.Charge("alipay_qr", consoletest.OrderNo("PG")+string(rune('a'+i%26)), 100, "page")
	}
	c := signedIn(t, e, console.RoleReadOnly)
	rowRe := regexp.MustCompile(`<a href="/console/charges/(ch_[0-9A-Za-z]+)">`)
	first := c.get("/console/charges?channel=alipay_qr")
	ids := rowRe.FindAllStringSubmatch(first.Body, -1)
	next := regexp.MustCompile(`id="next-page" rel="next" href="([^"]+)"`).FindStringSubmatch(first.Body)
	if len(ids) != 50 || next == nil {
		t.Fatalf("first page: %d rows, next link %v", len(ids), next)
	}
	t.Logf("next: %s", next[1])
	second := c.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	ids2 := rowRe.FindAllStringSubmatch(second.Body, -1)
	if len(ids2) != 5 || strings.Contains(second.Body, `id="next-page"`) {
		t.Fatalf("second page: %d rows, want 5 and no next link", len(ids2))
	}
	seen := map[string]bool{}
	for _, m := range append(ids, ids2...) {
		if seen[m[1]] {
			t.Fatalf("charge %s on both pages", m[1])
		}
		seen[m[1]] = true
	}
	// Order number search finds exactly one.
	_, ch := e.API("GET", "/v1/charges/"+ids[0][1], nil)
	one := c.get("/console/charges?order_no=" + url.QueryEscape(ch["order_no"].(string)))
	if got := rowRe.FindAllStringSubmatch(one.Body, -1); len(got) != 1 || got[0][1] != ids[0][1] {
		t.Fatalf("order_no search: %v", got)
	}
}

func TestRefundFromConsole(t *testing.T) {
	e := consoletest.Start(t)
	id := e.Charge("alipay_qr", consoletest.OrderNo("RF"), 1000, "refund me")
	e.Pay(id)
	c := signedIn(t, e, console.RoleFinance)
	tok := c.token("/console/charges/" + id)
	r := c.post("/console/charges/"+id+"/refund", url.Values{"csrf": {tok}, "amount": {"3.50"}, "description": {"客户退货"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("refund: %d %.300s", r.Status, r.Body)
	}
	_, list := e.API("GET", "/v1/charges/"+id+"/refunds", nil)
	data, _ := list["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["amount"].(float64) != 350 {
		t.Fatalf("refunds after console refund: %v", list)
	}
	page := c.get(r.Header.Get("Location"))
	if !strings.Contains(page.Body, "Refund submitted") || !strings.Contains(page.Body, "客户退货") {
		t.Fatalf("charge page after refund lacks it: %.500s", page.Body)
	}
	// More than remains is refused by core, shown as a 400.
	tok = c.token("/console/charges/" + id)
	if r := c.post("/console/charges/"+id+"/refund", url.Values{"csrf": {tok}, "amount": {"7.00"}}); r.Status != http.StatusBadRequest {
		t.Fatalf("over-refund: %d, want 400", r.Status)
	}
}

func TestReconPages(t *testing.T) {
	e := consoletest.Start(t)
	e.Recon.AddRun(console.ReconRun{ID: "run_1", Day: "2026-03-01", Channel: "alipay", Status: "succeeded", Matched: 10, Discrepancies: 2, Open: 1, Started: time.Now()})
	e.Recon.AddDiscrepancy(console.Discrepancy{ID: "dis_1", RunID: "run_1", Day: "2026-03-01", Channel: "alipay", Kind: "only_in_channel",
		TradeNo: "2026030122001", TheirAmount: 1200, Currency: "cny", TheirStatus: "TRADE_SUCCESS"})
	e.Recon.SetReport("2026-03-01", []console.ReportRow{{Day: "2026-03-01", AppID: e.App.AppID, Channel: "alipay_qr", Currency: "cny",
		Count: 3, Gross: 30000, Refunds: 1000, Fees: 174, Net: 28826}, {Day: "2026-03-01", AppID: "=cmd", Channel: "wx", Currency: "cny"}})
	e.Recon.AddDiscrepancy(console.Discrepancy{ID: "dis_2", RunID: "run_1", Day: "2026-03-01", Channel: "alipay", AppID: e.App.AppID,
		Kind: "only_in_polypay", TransferID: "tr_0Vd7Ireg0006xRX7cFPH5Z01", OurAmount: 500, Currency: "cny", OurStatus: "paid"})
	c := signedIn(t, e, console.RoleFinance)
	page := c.get("/console/recon")
	if !strings.Contains(page.Body, "2026030122001") || !strings.Contains(page.Body, "Only in the channel") {
		t.Fatalf("recon page lacks the discrepancy: %.500s", page.Body)
	}
	// A payout discrepancy links its transfer in the console, in its mode.
	if link := `href="/console/apps/` + e.App.AppID + `/payouts/transfers/tr_0Vd7Ireg0006xRX7cFPH5Z01?mode=test"`; !strings.Contains(page.Body, link) {
		t.Fatalf("recon page lacks the transfer link %s", link)
	}
	tok := csrfField.FindStringSubmatch(page.Body)[1]
	tests := []struct {
		name string
		id   string
		note string
		want int
	}{
		{"EmptyNote", "dis_1", "  ", http.StatusBadRequest},
		{"Unknown", "dis_nope", "n", http.StatusNotFound},
		{"OK", "dis_1", "支付宝补单，已核实", http.StatusSeeOther},
		{"Again", "dis_1", "again", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.post("/console/recon/"+tt.id+"/resolve", url.Values{"csrf": {tok}, "note": {tt.note}})
			if r.Status != tt.want {
				t.Fatalf("status %d, want %d: %.200s", r.Status, tt.want, r.Body)
			}
		})
	}
	d, _ := e.Recon.Discrepancy("dis_1")
	if d.Open || d.Note != "支付宝补单，已核实" || d.ResolvedBy != consoletest.Users[console.RoleFinance] {
		t.Fatalf("discrepancy after resolve: %+v", d)
	}
	rep := c.get("/console/reports.csv?date=2026-03-01")
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(rep.Body, "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("report CSV: %v %q", err, rep.Body)
	}
	if got := strings.Join(rows[1], ","); got != "2026-03-01,"+e.App.AppID+",false,alipay_qr,cny,3,300.00,10.00,1.74,288.26" {
		t.Fatalf("report row %q", got)
	}
	if rows[2][1] != "'=cmd" {
		t.Fatalf("formula cell not defused: %q", rows[2][1])
	}
	if r := c.get("/console/reports?date=2026-13-45"); r.Status != http.StatusBadRequest {
		t.Fatalf("bad date: %d", r.Status)
	}
}

func TestLanguage(t *testing.T) {
	e := consoletest.Start(t)
	tests := []struct {
		name, accept, query, want string
	}{
		{"AcceptZH", "zh-CN,zh;q=0.9,en;q=0.8", "", "登录"},
		{"AcceptEN", "en-US,en;q=0.9,zh;q=0.5", "", "Sign in"},
		{"ToggleOverrides", "zh-CN", "?lang=en", "Sign in"},
		{"Default", "fr", "", "Sign in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.URL+"/console/login"+tt.query, nil)
			req.Header.Set("Accept-Language", tt.accept)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.Contains(string(b), "<h1 id=\"page-title\">"+tt.want+"</h1>") {
				t.Fatalf("title is not %q: %.400s", tt.want, b)
			}
		})
	}
}

func TestWebhookResend(t *testing.T) {
	e := consoletest.Start(t)
	hits := make(chan string, 10)
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hits <- string(b)
	}))
	defer merchant.Close()
	st, ep := e.API("POST", "/v1/webhook_endpoints", map[string]any{"app": e.App.AppID, "url": merchant.URL + "/hook"})
	if st != 200 {
		t.Fatalf("endpoint: %d %v", st, ep)
	}
	id := e.Charge("alipay_qr", consoletest.OrderNo("WH"), 100, "webhook")
	e.Pay(id)
	wait := func() string {
		select {
		case b := <-hits:
			return b
		case <-time.After(10 * time.Second):
			t.Fatal("no webhook arrived")
			return ""
		}
	}
	first := wait()
	c := signedIn(t, e, console.RoleAdmin)
	epPath := "/console/webhooks/" + ep["id"].(string)
	var action []string
	for deadline := time.Now().Add(5 * time.Second); action == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		action = regexp.MustCompile(`action="(/console/deliveries/whd_[0-9A-Za-z]+/resend)"`).FindStringSubmatch(c.get(epPath).Body)
	}
	if action == nil {
		t.Fatalf("no resend form on %s", epPath)
	}
	tok := c.token(epPath)
	r := c.post(action[1], url.Values{"csrf": {tok}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != epPath+"?done=resent" {
		t.Fatalf("resend: %d %s", r.Status, r.Header.Get("Location"))
	}
	if again := wait(); again != first {
		t.Fatalf("resent body differs:\n%s\n%s", again, first)
	}
	n := 0
	for deadline := time.Now().Add(5 * time.Second); n != 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n = strings.Count(c.get(epPath).Body, `<td class="status-succeeded">`) // the attempt is recorded after the reply
	}
	if n != 2 {
		t.Fatalf("delivery log shows %d succeeded deliveries, want 2", n)
	}
	if r := c.post("/console/deliveries/whd_unknown/resend", url.Values{"csrf": {tok}}); r.Status != http.StatusNotFound {
		t.Fatalf("unknown delivery: %d, want 404", r.Status)
	}
}

func TestChargeTimeline(t *testing.T) {
	e := consoletest.Start(t)
	id := e.Charge("alipay_qr", consoletest.OrderNo("TL"), 1000, "timeline")
	e.Pay(id)
	c := signedIn(t, e, console.RoleOwner)
	tok := c.token("/console/charges/" + id)
	if r := c.post("/console/charges/"+id+"/refund", url.Values{"csrf": {tok}}); r.Status != http.StatusSeeOther {
		t.Fatalf("refund: %d %.300s", r.Status, r.Body)
	}
	var page string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		page = c.get("/console/charges/" + id).Body
		if strings.Contains(page, "Refund completed") {
			break
		}
	}
	tl := page[strings.Index(page, `id="timeline"`):]
	want := []string{"Charge created", "Channel notification", "Paid", "Event charge.succeeded", "Refund re_", "Refund completed", "Event refund.succeeded"}
	// Everything here happens within a second, so only presence is checked.
	for _, w := range want {
		if !strings.Contains(tl, w) {
			t.Fatalf("timeline lacks %q:\n%s", w, tl)
		}
	}
	if !strings.Contains(tl, "outcome: applied") && !strings.Contains(tl, "Outcome: applied") {
		t.Fatalf("notification outcome missing:\n%s", tl)
	}
	if strings.Contains(page, `id="refund-form"`) {
		t.Fatal("a fully refunded charge still offers a refund")
	}
}
