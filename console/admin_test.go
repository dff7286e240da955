package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/console/consoletest"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

var oneTime = regexp.MustCompile(`id="one-time-password">([A-Za-z0-9]+)<`)

// apiWith calls the API with a key, returning the status.
func apiWith(t *testing.T, e *consoletest.Env, key, path string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", e.Node.URL+path, nil)
	req.SetBasicAuth(key, "")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func TestUsers(t *testing.T) {
	logs := &syncBuffer{}
	e := consoletest.StartWith(t, consoletest.Options{Log: logs})
	owner := signedIn(t, e, console.RoleOwner)
	admin := signedIn(t, e, console.RoleAdmin)

	// Invite: the one-time password is shown once and signs the user in.
	tok := owner.token("/console/users")
	r := owner.post("/console/users", url.Values{"csrf": {tok}, "email": {"New.Person@Example.com"}, "role": {"finance"}})
	m := oneTime.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("invite: %d, no one-time password: %.400s", r.Status, r.Body)
	}
	pw := m[1]
	if again := owner.get("/console/users"); strings.Contains(again.Body, pw) {
		t.Fatal("the one-time password is shown again on the next visit")
	}
	invited := newClient(t, e.URL)
	if r := invited.login("new.person@example.com", pw); r.Status != http.StatusSeeOther {
		t.Fatalf("sign in with the one-time password: %d", r.Status)
	}
	id := userID(t, owner, "new.person@example.com")

	tests := []struct {
		name   string
		c      *client
		path   string
		form   url.Values
		status int
	}{
		{"AdminCannotInviteOwner", admin, "/console/users", url.Values{"email": {"x@example.com"}, "role": {"owner"}}, http.StatusForbidden},
		{"AdminCannotTouchOwner", admin, "/console/users/" + userID(t, owner, consoletest.Users[console.RoleOwner]) + "/disable", url.Values{}, http.StatusForbidden},
		{"NoSelfDisable", owner, "/console/users/" + userID(t, owner, consoletest.Users[console.RoleOwner]) + "/disable", url.Values{}, http.StatusForbidden},
		{"BadRole", owner, "/console/users/" + id + "/role", url.Values{"role": {"root"}}, http.StatusBadRequest},
		{"BadEmail", owner, "/console/users", url.Values{"email": {"not an email"}, "role": {"finance"}}, http.StatusBadRequest},
		{"DuplicateEmail", admin, "/console/users", url.Values{"email": {"new.person@example.com"}, "role": {"finance"}}, http.StatusBadRequest},
		{"UnknownUser", owner, "/console/users/usr_nope/reset", url.Values{}, http.StatusNotFound},
		{"ChangeRole", admin, "/console/users/" + id + "/role", url.Values{"role": {"read_only"}}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("csrf", tt.c.token("/console/"))
			if r := tt.c.post(tt.path, tt.form); r.Status != tt.status {
				t.Fatalf("POST %s: %d, want %d: %.300s", tt.path, r.Status, tt.status, r.Body)
			}
		})
	}
	if got := invited.get("/console/").Body; !strings.Contains(got, `id="user-role">read_only<`) {
		t.Fatalf("role change not in effect for the signed-in user")
	}

	// Disable ends the session and refuses sign-in; enable restores it.
	owner.post("/console/users/"+id+"/disable", url.Values{"csrf": {owner.token("/console/")}})
	if r := invited.get("/console/"); r.Status != http.StatusSeeOther {
		t.Fatalf("disabled user's session still works: %d", r.Status)
	}
	if r := newClient(t, e.URL).login("new.person@example.com", pw); r.Status != http.StatusUnauthorized {
		t.Fatalf("disabled user signs in: %d", r.Status)
	}
	owner.post("/console/users/"+id+"/enable", url.Values{"csrf": {owner.token("/console/")}})

	// Reset: a new one-time password; the old one stops working.
	r = admin.post("/console/users/"+id+"/reset", url.Values{"csrf": {admin.token("/console/")}})
	m = oneTime.FindStringSubmatch(r.Body)
	if m == nil || m[1] == pw {
		t.Fatalf("reset: %d, no new password", r.Status)
	}
	if r := newClient(t, e.URL).login("new.person@example.com", pw); r.Status != http.StatusUnauthorized {
		t.Fatalf("old password after reset: %d", r.Status)
	}
	if r := newClient(t, e.URL).login("new.person@example.com", m[1]); r.Status != http.StatusSeeOther {
		t.Fatalf("new password after reset: %d", r.Status)
	}
	if l := logs.String(); strings.Contains(l, pw) || strings.Contains(l, m[1]) || !strings.Contains(l, "user password reset") {
		t.Fatalf("log holds a one-time password, or misses the reset:\n%s", l)
	}
	// read_only and finance have no users page.
	for _, role := range []console.Role{console.RoleFinance, console.RoleReadOnly} {
		if r := signedIn(t, e, role).get("/console/users"); r.Status != http.StatusForbidden {
			t.Errorf("%s GET /console/users: %d", role, r.Status)
		}
	}
}

var userRow = regexp.MustCompile(`<tr id="u-(usr_[A-Za-z0-9]+)">\s*<td class="email">([^<]+)<`)

func userID(t *testing.T, c *client, email string) string {
	t.Helper()
	for _, m := range userRow.FindAllStringSubmatch(c.get("/console/users").Body, -1) {
		if m[2] == email {
			return m[1]
		}
	}
	t.Fatalf("no user %s listed", email)
	return ""
}

var newSecret = regexp.MustCompile(`id="new-secret">(sk_test_[A-Za-z0-9]+)<`)

func TestRollKeys(t *testing.T) {
	e := consoletest.Start(t)
	c := signedIn(t, e, console.RoleAdmin)
	path := "/console/apps/" + e.App.AppID
	roll := func(overlap string) string {
		t.Helper()
		r := c.post(path+"/keys", url.Values{"csrf": {c.token(path)}, "mode": {"test"}, "overlap": {overlap}})
		m := newSecret.FindStringSubmatch(r.Body)
		if r.Status != http.StatusOK || m == nil {
			t.Fatalf("roll: %d %.300s", r.Status, r.Body)
		}
		return m[1]
	}
	k1 := roll("24")
	for _, k := range []string{e.App.SecretKeyTest, k1} {
		if st := apiWith(t, e, k, "/v1/charges?app%5Bid%5D="+e.App.AppID+"&limit=1"); st != http.StatusOK {
			t.Fatalf("during the overlap, key %s…: %d", k[:12], st)
		}
	}
	if c.get(path).Body == "" || !strings.Contains(c.get(path).Body, `class="expires">20`) {
		t.Fatal("the old key's expiry is not shown")
	}
	// The API caches a key it has seen for 10 s; k2 is never used before
	// it is rolled without overlap, so it must fail at once.
	k2 := roll("24")
	k3 := roll("0")
	if st := apiWith(t, e, k2, "/v1/charges?app%5Bid%5D="+e.App.AppID+"&limit=1"); st != http.StatusUnauthorized {
		t.Fatalf("a key rolled without overlap still works: %d", st)
	}
	if st := apiWith(t, e, k3, "/v1/charges?app%5Bid%5D="+e.App.AppID+"&limit=1"); st != http.StatusOK {
		t.Fatalf("the new key: %d", st)
	}
	if r := c.post(path+"/keys", url.Values{"csrf": {c.token(path)}, "mode": {"test"}, "overlap": {"5"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "overlap") {
		t.Fatalf("an overlap not offered: %d %.200s", r.Status, r.Body)
	}
}

func TestWebhookEndpoints(t *testing.T) {
	e := consoletest.Start(t)
	got := make(chan string, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	t.Cleanup(recv.Close)
	c := signedIn(t, e, console.RoleOwner)
	path := "/console/apps/" + e.App.AppID
	if r := c.post(path+"/webhooks", url.Values{"csrf": {c.token(path)}, "mode": {"test"}, "url": {"ftp://x"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "url") {
		t.Fatalf("bad url: %d %.200s", r.Status, r.Body)
	}
	if r := c.post(path+"/webhooks", url.Values{"csrf": {c.token(path)}, "mode": {"test"}, "url": {recv.URL + "/hook"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add endpoint: %d %.300s", r.Status, r.Body)
	}
	ep := regexp.MustCompile(`/webhooks/(we_[A-Za-z0-9]+)/test`).FindStringSubmatch(c.get(path).Body)
	if ep == nil {
		t.Fatal("the new endpoint has no test button")
	}
	r := c.post(path+"/webhooks/"+ep[1]+"/test", url.Values{"csrf": {c.token(path)}})
	if r.Status != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "/console/webhooks/"+ep[1]) {
		t.Fatalf("send test: %d %v", r.Status, r.Header)
	}
	select {
	case body := <-got:
		if !strings.Contains(body, `"type":"webhook.test"`) || !strings.Contains(body, ep[1]) {
			t.Fatalf("test event body %s", body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the test event was not delivered")
	}
	if r := c.post(path+"/webhooks/"+ep[1]+"/delete", url.Values{"csrf": {c.token(path)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.Status)
	}
	if st, list := e.API("GET", "/v1/webhook_endpoints?app[id]="+e.App.AppID, nil); st != 200 || strings.Contains(toString(list), ep[1]) {
		t.Fatalf("after removal the API lists %v", list)
	}
	if r := c.post(path+"/webhooks/"+ep[1]+"/test", url.Values{"csrf": {c.token(path)}}); r.Status != http.StatusNotFound {
		t.Fatalf("test on a removed endpoint: %d", r.Status)
	}
}

func toString(v any) string { return strings.ReplaceAll(strings.TrimSpace(fmtAny(v)), "\n", " ") }

func TestCredentialForm(t *testing.T) {
	logs := &syncBuffer{}
	e := consoletest.StartWith(t, consoletest.Options{Log: logs})
	c := signedIn(t, e, console.RoleAdmin)
	path := "/console/apps/" + e.App.AppID
	page := c.get(path).Body
	for _, want := range []string{`name="f_secret_key" type="password"`, `name="f_account_id"`, `id="f-alipay-private_key"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("credential form lacks %s", want)
		}
	}
	const secret = "sk_live_consoleformsecret0001"
	post := func(f url.Values) reply {
		f.Set("csrf", c.token(path))
		f.Set("family", "stripe")
		f.Set("mode", "live")
		return c.post(path+"/channels", f)
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		body   string
	}{
		{"MissingRequired", url.Values{"f_secret_key": {secret}, "f_webhook_secret": {"whsec_1"}}, http.StatusBadRequest, "account_id"},
		{"BlankSecretNothingStored", url.Values{"f_account_id": {"acct_1"}, "f_webhook_secret": {"whsec_1"}}, http.StatusBadRequest, "secret_key"},
		{"OK", url.Values{"f_account_id": {"acct_1"}, "f_secret_key": {secret}, "f_webhook_secret": {"whsec_1"}}, http.StatusSeeOther, ""},
		{"BlankSecretsKept", url.Values{"f_account_id": {"acct_2"}}, http.StatusSeeOther, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(tt.form)
			if r.Status != tt.status || !strings.Contains(r.Body, tt.body) {
				t.Fatalf("%d, want %d with %q: %.300s", r.Status, tt.status, tt.body, r.Body)
			}
		})
	}
	d, err := e.Node.Registry.Describe(context.Background(), e.App.AppID, true, "stripe")
	if err != nil || d["account_id"] != "acct_2" || d["secret_key"] == nil || d["secret_key"] == secret {
		t.Fatalf("stored credentials %v, %v: want acct_2 with the secret kept (as a fingerprint)", d, err)
	}
	if b := c.get(path).Body; strings.Contains(b, secret) || strings.Contains(b, "whsec_1") {
		t.Fatal("a secret is rendered back")
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatal("a secret is logged")
	}
	if r := signedIn(t, e, console.RoleFinance).post(path+"/channels", url.Values{"csrf": {"x"}}); r.Status != http.StatusForbidden {
		t.Fatalf("finance sets credentials: %d", r.Status)
	}
}

// TestTenantIsolation: a user scoped to one app sees and acts on nothing
// of another app; each refusal is a 404, as for an object that does not
// exist.
func TestTenantIsolation(t *testing.T) {
	e := consoletest.Start(t)
	ctx := context.Background()
	other, err := e.Node.CreateApp(ctx, "other merchant")
	if err != nil {
		t.Fatal(err)
	}
	const email = "scoped@example.com"
	if err := console.AddScopedUser(ctx, e.Node.DB, email, console.RoleAdmin, consoletest.Password, []string{other.AppID}); err != nil {
		t.Fatal(err)
	}
	if err := console.AddScopedUser(ctx, e.Node.DB, "bad@example.com", console.RoleAdmin, consoletest.Password, []string{"app_nonexistent000000"}); err == nil {
		t.Fatal("a user scoped to an unknown app was added")
	}
	mine := e.Charge("alipay_qr", consoletest.OrderNo("ISO"), 900, "first app")
	e.Pay(mine)
	owner := signedIn(t, e, console.RoleOwner)
	home := "/console/apps/" + e.App.AppID
	owner.post(home+"/webhooks", url.Values{"csrf": {owner.token(home)}, "mode": {"test"}, "url": {"http://127.0.0.1:9/hook"}})
	ep := regexp.MustCompile(`/webhooks/(we_[A-Za-z0-9]+)/test`).FindStringSubmatch(owner.get(home).Body)
	if ep == nil {
		t.Fatal("no endpoint on the first app")
	}

	s := newClient(t, e.URL)
	if r := s.login(email, consoletest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("scoped sign-in: %d", r.Status)
	}
	tok := s.token("/console/apps/" + other.AppID)
	gets := []struct {
		path   string
		status int
	}{
		{"/console/apps/" + e.App.AppID, http.StatusNotFound},
		{"/console/apps/" + other.AppID, http.StatusOK},
		{"/console/charges/" + mine, http.StatusNotFound},
		{"/console/webhooks/" + ep[1], http.StatusNotFound},
		{"/console/users", http.StatusForbidden},
	}
	for _, g := range gets {
		t.Run("GET"+g.path, func(t *testing.T) {
			if r := s.get(g.path); r.Status != g.status {
				t.Fatalf("%d, want %d", r.Status, g.status)
			}
		})
	}
	posts := []struct {
		path   string
		form   url.Values
		status int
	}{
		{home + "/keys", url.Values{"mode": {"test"}, "overlap": {"0"}}, http.StatusNotFound},
		{home + "/channels", url.Values{"family": {"alipay"}, "mode": {"test"}}, http.StatusNotFound},
		{home + "/webhooks", url.Values{"mode": {"test"}, "url": {"http://127.0.0.1:9/x"}}, http.StatusNotFound},
		{home + "/webhooks/" + ep[1] + "/delete", nil, http.StatusNotFound},
		// Through its own app's path, another app's endpoint is still not found.
		{"/console/apps/" + other.AppID + "/webhooks/" + ep[1] + "/delete", nil, http.StatusNotFound},
		{"/console/apps/" + other.AppID + "/webhooks/" + ep[1] + "/test", nil, http.StatusNotFound},
		{"/console/charges/" + mine + "/refund", url.Values{"amount": {"1"}}, http.StatusNotFound},
		{"/console/apps", url.Values{"name": {"sneaky"}}, http.StatusForbidden},
		{"/console/users", url.Values{"email": {"x@example.com"}, "role": {"admin"}}, http.StatusForbidden},
		{"/console/apps/" + other.AppID + "/keys", url.Values{"mode": {"test"}, "overlap": {"24"}}, http.StatusOK},
	}
	for _, p := range posts {
		t.Run("POST"+p.path, func(t *testing.T) {
			f := p.form
			if f == nil {
				f = url.Values{}
			}
			f.Set("csrf", tok)
			if r := s.post(p.path, f); r.Status != p.status {
				t.Fatalf("%d, want %d: %.200s", r.Status, p.status, r.Body)
			}
		})
	}
	for _, path := range []string{"/console/charges", "/console/charges?app=" + e.App.AppID, "/console/charges.csv", "/console/apps", "/console/", "/console/refunds"} {
		// The query string echoes an app id asked for; the rows must not.
		if b := s.get(path).Body; strings.Contains(b, mine) || (!strings.Contains(path, "app=") && strings.Contains(b, e.App.AppID)) {
			t.Errorf("%s shows the other app's data", path)
		}
	}
	if _, c := e.API("GET", "/v1/charges/"+mine, nil); c["amount_refunded"].(float64) != 0 {
		t.Fatal("the scoped user refunded another app's charge")
	}
}

func fmtAny(v any) string { return fmt.Sprint(v) }

// TestSubMerchantLogin: a console user scoped to a platform's sub-app
// (the sub-merchant's own login) sees that sub-app's pages and charges,
// and nothing of the platform: its app, its charges, its Sub-merchants
// page are 404, as for what does not exist.
func TestSubMerchantLogin(t *testing.T) {
	e := consoletest.Start(t)
	ctx := context.Background()
	st, sub := e.API("POST", "/v1/apps/"+e.App.AppID+"/sub_apps", map[string]any{"display_name": "东区一号店"})
	if st != 200 {
		t.Fatalf("sub-app: %d %v", st, sub)
	}
	subID := sub["id"].(string)
	const email = "shop-east@example.com"
	if err := console.AddScopedUser(ctx, e.Node.DB, email, console.RoleAdmin, consoletest.Password, []string{subID}); err != nil {
		t.Fatal(err)
	}
	platformCharge := e.Charge("alipay_qr", consoletest.OrderNo("PLT"), 900, "the platform's own")
	st, ch := e.API("POST", "/v1/charges", map[string]any{"app": map[string]any{"id": subID}, "order_no": consoletest.OrderNo("SUB"),
		"channel": "alipay_qr", "amount": 1200, "currency": "cny", "client_ip": "127.0.0.1", "subject": "拿铁", "body": "东区一号店"})
	if st != 200 {
		t.Fatalf("sub-app charge: %d %v", st, ch)
	}
	s := newClient(t, e.URL)
	if r := s.login(email, consoletest.Password); r.Status != http.StatusSeeOther {
		t.Fatalf("sub-merchant sign-in: %d", r.Status)
	}
	for _, g := range []struct {
		path   string
		status int
	}{
		{"/console/apps/" + subID, http.StatusOK},
		{"/console/charges/" + ch["id"].(string), http.StatusOK},
		{"/console/apps/" + e.App.AppID, http.StatusNotFound},
		{"/console/apps/" + e.App.AppID + "/sub_apps?mode=test", http.StatusNotFound},
		{"/console/charges/" + platformCharge, http.StatusNotFound},
	} {
		if r := s.get(g.path); r.Status != g.status {
			t.Errorf("GET %s: %d, want %d", g.path, r.Status, g.status)
		}
	}
	if b := s.get("/console/charges").Body; strings.Contains(b, platformCharge) || !strings.Contains(b, ch["id"].(string)) {
		t.Error("the sub-merchant's charge list is not its own")
	}
}
