package gateway_test

import (
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store/storetest"
)

// errorCase is one API error path, reached over HTTP.
type errorCase struct {
	name, method, path string
	key                string // "" none, "sk" the app's test key, else the literal key
	body               func(e *env) any
	status             int
	param              string
	preAuth            bool // refused before the key names an app: only Accept-Language counts
}

func errorCases() []errorCase {
	charge := func(mod func(m map[string]any)) func(e *env) any {
		return func(e *env) any { m := e.chargeBody("ERRLANG01", 100); mod(m); return m }
	}
	return []errorCase{
		{"NoKey", "GET", "/v1/charges", "", nil, 401, "", true},
		{"BadKey", "GET", "/v1/charges", "sk_test_0000000000000000000000000", nil, 401, "", true},
		{"MissingAmount", "POST", "/v1/charges", "sk", charge(func(m map[string]any) { delete(m, "amount") }), 400, "amount", false},
		{"AmountNotInteger", "POST", "/v1/charges", "sk", charge(func(m map[string]any) { m["amount"] = "ten" }), 400, "amount", false},
		{"AmountZero", "POST", "/v1/charges", "sk", charge(func(m map[string]any) { m["amount"] = 0 }), 400, "amount", false},
		{"BadCurrency", "POST", "/v1/charges", "sk", charge(func(m map[string]any) { m["currency"] = "USD" }), 400, "currency", false},
		{"BadOrderNo", "POST", "/v1/charges", "sk", charge(func(m map[string]any) { m["order_no"] = "有" }), 400, "order_no", false},
		{"UnknownChannel", "POST", "/v1/charges", "sk", charge(func(m map[string]any) { m["channel"] = "bitcoin" }), 400, "channel", false},
		{"UnknownParam", "POST", "/v1/charges", "sk", charge(func(m map[string]any) { m["colour"] = "red" }), 400, "colour", false},
		{"BadClientIP", "POST", "/v1/charges", "sk", charge(func(m map[string]any) { m["client_ip"] = "localhost" }), 400, "client_ip", false},
		{"ControlChar", "POST", "/v1/charges", "sk", charge(func(m map[string]any) { m["subject"] = "a\x01b" }), 400, "subject", false},
		{"BadJSON", "POST", "/v1/charges", "sk", func(*env) any { return "{not json" }, 400, "", false},
		{"NoSuchCharge", "GET", "/v1/charges/ch_000000000000000000000000", "sk", nil, 404, "id", false},
		{"RefundNoSuchCharge", "POST", "/v1/charges/ch_000000000000000000000000/refunds", "sk",
			func(*env) any { return map[string]any{"description": "r"} }, 404, "id", false},
		{"BadLimit", "GET", "/v1/charges?limit=1000&app[id]={app}", "sk", nil, 400, "limit", false},
		{"OtherAppSettings", "GET", "/v1/apps/app_0000000000000000/settings", "sk", nil, 404, "app", false},
		{"BadErrorLanguage", "POST", "/v1/apps/{app}/settings", "sk", func(*env) any { return map[string]any{"error_language": "fr"} }, 400, "error_language", false},
		{"MissingErrorLanguage", "POST", "/v1/apps/{app}/settings", "sk", func(*env) any { return map[string]any{} }, 400, "error_language", false},
	}
}

// TestErrorLanguage runs every error path in each way of choosing the
// language: Chinese by default and for Chinese-first clients (Ping++'s
// SDKs send zh-CN), English for English-first Accept-Language and for an
// app whose error_language is en. English replies hold no Han character;
// Chinese ones no English clause; each names its parameter.
func TestErrorLanguage(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		langs := []struct {
			name, accept string
			appLang      string
			want         polypay.Lang
			preAuth      polypay.Lang // for errors met before the app is known
		}{
			{"Default", "", "", polypay.LangZH, polypay.LangZH},
			{"AcceptZhCN", "zh-CN,zh;q=0.9", "", polypay.LangZH, polypay.LangZH},
			{"AcceptEn", "en", "", polypay.LangEN, polypay.LangEN},
			{"AcceptEnGBQ", "fr;q=0.9, en-GB;q=0.8, zh;q=0.1", "", polypay.LangEN, polypay.LangEN},
			{"AcceptZhOverEn", "en;q=0.4, zh-TW;q=0.8", "", polypay.LangZH, polypay.LangZH},
			{"AcceptEnQZero", "en;q=0, zh;q=0.5", "", polypay.LangZH, polypay.LangZH},
			{"AcceptFrench", "fr-FR", "", polypay.LangZH, polypay.LangZH},
			{"AcceptGarbage", ";;;q=x", "", polypay.LangZH, polypay.LangZH},
			{"AppEnOverSDKHeader", "zh-CN", "en", polypay.LangEN, polypay.LangZH},
			{"AppZhOverAcceptEn", "en", "zh", polypay.LangZH, polypay.LangEN},
		}
		for _, l := range langs {
			t.Run(l.name, func(t *testing.T) {
				if r := e.do("POST", "/v1/apps/"+e.app.AppID+"/settings", e.sk(), map[string]any{"error_language": l.appLang}); r.Status != 200 || r.str("error_language") != l.appLang {
					t.Fatalf("setting error_language: %d %s", r.Status, r.Body)
				}
				for _, c := range errorCases() {
					want := l.want
					if c.preAuth {
						want = l.preAuth
					}
					t.Run(c.name, func(t *testing.T) { checkErrorReply(t, e, c, l.accept, want) })
				}
			})
		}
	})
}

func checkErrorReply(t *testing.T, e *env, c errorCase, accept string, want polypay.Lang) {
	key := c.key
	if key == "sk" {
		key = e.sk()
	}
	var body any
	if c.body != nil {
		body = c.body(e)
	}
	var hdr []string
	if accept != "" {
		hdr = []string{"Accept-Language", accept}
	}
	r := e.do(c.method, strings.ReplaceAll(c.path, "{app}", e.app.AppID), key, body, hdr...)
	msg, param := r.str("error", "message"), r.str("error", "param")
	if r.Status != c.status || msg == "" {
		t.Fatalf("got %d %s, want %d with a message", r.Status, r.Body, c.status)
	}
	if param != c.param {
		t.Errorf("param %q, want %q (%s)", param, c.param, msg)
	}
	if got := r.Header.Get("Content-Language"); got != string(want) {
		t.Errorf("Content-Language %q, want %s", got, want)
	}
	switch want {
	case polypay.LangEN:
		if polypay.HasHan(msg) {
			t.Errorf("English reply holds Chinese: %q", msg)
		}
	default:
		if !polypay.HasHan(msg) || polypay.Mixed(msg) {
			t.Errorf("default reply is not plain Chinese: %q", msg)
		}
	}
}
