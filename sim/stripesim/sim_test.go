package stripesim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/stripesim"
)

func newSim(t *testing.T) (*httptest.Server, stripesim.Account) {
	acct := stripesim.NewAccount()
	s := stripesim.New(stripesim.Options{SlowDelay: 300 * time.Millisecond, Account: func(id string) (*stripesim.Account, bool) {
		if id == acct.ID {
			return &acct, true
		}
		return nil, false
	}})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); srv.Close() })
	return srv, acct
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func post(t *testing.T, srv *httptest.Server, key, path, idem string, form url.Values) answer {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	json.Unmarshal(raw, &a.body)
	return a
}

func errField(a answer, f string) string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e[f].(string)
	return s
}

func TestAPI(t *testing.T) {
	srv, acct := newSim(t)
	pm := url.Values{"type": {"card"}, "card[number]": {"4242424242424242"}, "card[exp_month]": {"12"}, "card[exp_year]": {"2099"}}
	tests := []struct {
		name       string
		key, path  string
		idem       string
		form       url.Values
		status     int
		errType    string
		errCode    string
		replayed   bool
		shouldRetr string
	}{
		{"ErrNoKey", "", "/v1/payment_methods", "", pm, 401, "invalid_request_error", "", false, ""},
		{"ErrBadKey", acct.SecretKey + "x", "/v1/payment_methods", "", pm, 401, "invalid_request_error", "api_key_invalid", false, ""},
		{"ErrLiveKey", "sk_live_" + acct.SecretKey[8:], "/v1/payment_methods", "", pm, 401, "invalid_request_error", "api_key_invalid", false, ""},
		{"ErrUnknownParam", acct.SecretKey, "/v1/payment_methods", "", url.Values{"type": {"card"}, "card[pan]": {"1"}}, 400, "invalid_request_error", "", false, ""},
		{"OKFirst", acct.SecretKey, "/v1/payment_methods", "k1", pm, 200, "", "", false, ""},
		{"OKReplay", acct.SecretKey, "/v1/payment_methods", "k1", pm, 200, "", "", true, ""},
		{"ErrKeyReuse", acct.SecretKey, "/v1/payment_methods", "k1", url.Values{"type": {"card"}, "card[number]": {"5555555555554444"}, "card[exp_month]": {"12"}, "card[exp_year]": {"2099"}}, 400, "idempotency_error", "", false, "false"},
		{"ErrLuhn", acct.SecretKey, "/v1/payment_methods", "", url.Values{"type": {"card"}, "card[number]": {"4242424242424241"}, "card[exp_month]": {"12"}, "card[exp_year]": {"2099"}}, 402, "card_error", "incorrect_number", false, ""},
		{"ErrExpired", acct.SecretKey, "/v1/payment_methods", "", url.Values{"type": {"card"}, "card[number]": {"4242424242424242"}, "card[exp_month]": {"1"}, "card[exp_year]": {"2001"}}, 402, "card_error", "invalid_expiry_year", false, ""},
		{"ErrMissingAmount", acct.SecretKey, "/v1/payment_intents", "", url.Values{"currency": {"usd"}}, 400, "invalid_request_error", "", false, ""},
	}
	var firstPM string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := post(t, srv, tc.key, tc.path, tc.idem, tc.form)
			if a.status != tc.status || errField(a, "type") != tc.errType || errField(a, "code") != tc.errCode {
				t.Fatalf("answer = %d %v", a.status, a.body)
			}
			if got := a.header.Get("Idempotent-Replayed") == "true"; got != tc.replayed {
				t.Errorf("replayed = %v, want %v", got, tc.replayed)
			}
			if got := a.header.Get("Stripe-Should-Retry"); got != tc.shouldRetr {
				t.Errorf("Stripe-Should-Retry = %q, want %q", got, tc.shouldRetr)
			}
			if strings.Contains(a.header.Get("Content-Type"), "json") == false {
				t.Errorf("content type %s", a.header.Get("Content-Type"))
			}
			if tc.name == "OKFirst" {
				firstPM, _ = a.body["id"].(string)
			}
			if tc.name == "OKReplay" && a.body["id"] != firstPM {
				t.Errorf("replay id = %v, want %s", a.body["id"], firstPM)
			}
		})
	}
	t.Run("ProcessorErrorStoredAndReplayed", func(t *testing.T) {
		p := post(t, srv, acct.SecretKey, "/v1/payment_methods", "", url.Values{"type": {"card"}, "card[number]": {stripesim.CardProcessorError}, "card[exp_month]": {"12"}, "card[exp_year]": {"2099"}})
		form := url.Values{"amount": {"1000"}, "currency": {"usd"}, "confirm": {"true"}, "payment_method": {p.body["id"].(string)}}
		for i, want := range []string{"", "false"} {
			a := post(t, srv, acct.SecretKey, "/v1/payment_intents", "pe1", form)
			if a.status != 500 || errField(a, "type") != "api_error" || a.header.Get("Stripe-Should-Retry") != want {
				t.Fatalf("attempt %d = %d %v %q", i, a.status, a.body, a.header.Get("Stripe-Should-Retry"))
			}
		}
	})
	t.Run("InFlightKey", func(t *testing.T) {
		p := post(t, srv, acct.SecretKey, "/v1/payment_methods", "", url.Values{"type": {"card"}, "card[number]": {stripesim.CardSlow}, "card[exp_month]": {"12"}, "card[exp_year]": {"2099"}})
		form := url.Values{"amount": {"1000"}, "currency": {"usd"}, "confirm": {"true"}, "payment_method": {p.body["id"].(string)}}
		done := make(chan answer)
		go func() { done <- post(t, srv, acct.SecretKey, "/v1/payment_intents", "slow1", form) }()
		time.Sleep(100 * time.Millisecond)
		a := post(t, srv, acct.SecretKey, "/v1/payment_intents", "slow1", form)
		if a.status != 409 || errField(a, "code") != "idempotency_key_in_use" || a.header.Get("Stripe-Should-Retry") != "true" {
			t.Fatalf("concurrent = %d %v", a.status, a.body)
		}
		if first := <-done; first.status != 200 || first.body["status"] != "succeeded" {
			t.Fatalf("slow = %d %v", first.status, first.body)
		}
	})
}
