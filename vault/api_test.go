package vault_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/gateway/gatewaytest"
	"github.com/polypay/polypay/vault"
)

// TestAPI drives the vault endpoints over HTTP: who may call what, and
// nothing of another app or mode is visible.
func TestAPI(t *testing.T) {
	t.Setenv(vault.EnvKeys, "")
	n, app := gatewaytest.Start(t, "vault api", nil)
	other, err := n.CreateApp(t.Context(), "other")
	if err != nil {
		t.Fatal(err)
	}
	h := &haystacks{}
	c := &client{t: t, base: n.URL, h: h}
	card := map[string]any{"card": map[string]any{"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}}

	auth := []struct {
		name   string
		key    string
		status int
		live   bool
	}{
		{"PublishableTest", app.PublishableKeyTest, 200, false},
		{"PublishableLive", app.PublishableKeyLive, 200, true},
		{"SecretTest", app.SecretKeyTest, 200, false},
		{"ErrNoKey", "", 401, false},
		{"ErrUnknownPublishable", "pk_test_000000000000000000000000", 401, false},
		{"ErrGarbage", "xx_test_1", 401, false},
	}
	for _, tc := range auth {
		t.Run("Token"+tc.name, func(t *testing.T) {
			st, tok := c.do("POST", "/v1/tokens", tc.key, card, false)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %v", st, tc.status, tok)
			}
			if st == 200 && tok["livemode"] != tc.live {
				t.Fatalf("livemode = %v, want %v", tok["livemode"], tc.live)
			}
		})
	}

	// The fingerprint field links a card within one app and mode only.
	fp := func(key string) string {
		t.Helper()
		st, tok := c.do("POST", "/v1/tokens", key, card, false)
		cd, _ := tok["card"].(map[string]any)
		s, _ := cd["fingerprint"].(string)
		if st != 200 || s == "" {
			t.Fatalf("token: %d %v, want one with a fingerprint", st, tok)
		}
		return s
	}
	testA, testA2, liveA, testB := fp(app.PublishableKeyTest), fp(app.PublishableKeyTest), fp(app.PublishableKeyLive), fp(other.PublishableKeyTest)
	if testA != testA2 {
		t.Fatalf("same card, app and mode: fingerprints %s, %s, want equal", testA, testA2)
	}
	if testA == liveA || testA == testB || liveA == testB {
		t.Fatalf("fingerprints test %s, live %s, other app %s, want all different", testA, liveA, testB)
	}

	_, tok := c.do("POST", "/v1/tokens", app.PublishableKeyTest, url.Values{"card[number]": {"5555 5555 5555 4444"},
		"card[exp_month]": {"12"}, "card[exp_year]": {"2031"}}, false)
	tokID := tok["id"].(string)
	sk := app.SecretKeyTest
	st, cus := c.do("POST", "/v1/customers", sk, url.Values{"source": {tokID}, "email": {"a@b.cn"}, "metadata[tier]": {"gold"}}, false)
	if st != 200 || cus["default_source"] == nil || cus["metadata"].(map[string]any)["tier"] != "gold" {
		t.Fatalf("create customer: %d %v", st, cus)
	}
	cusID := cus["id"].(string)
	cardID := cus["default_source"].(string)

	calls := []struct {
		name, method, path, key string
		body                    any
		status                  int
		param                   string
	}{
		{"GetToken", "GET", "/v1/tokens/" + tokID, sk, nil, 200, ""},
		{"ErrGetTokenPublishable", "GET", "/v1/tokens/" + tokID, app.PublishableKeyTest, nil, 401, ""},
		{"ErrCustomersPublishable", "GET", "/v1/customers", app.PublishableKeyTest, nil, 401, ""},
		{"ErrChargesPublishable", "GET", "/v1/charges?app[id]=" + app.AppID, app.PublishableKeyTest, nil, 401, ""},
		{"ListCustomers", "GET", "/v1/customers?limit=1", sk, nil, 200, ""},
		{"ErrListCursor", "GET", "/v1/customers?starting_after=cus_nope", sk, nil, 400, "starting_after"},
		{"GetCustomer", "GET", "/v1/customers/" + cusID, sk, nil, 200, ""},
		{"UpdateCustomer", "PUT", "/v1/customers/" + cusID, sk, map[string]any{"description": "d", "default_source": cardID}, 200, ""},
		{"ErrUpdateBadSource", "PUT", "/v1/customers/" + cusID, sk, map[string]any{"default_source": "card_nope"}, 400, "default_source"},
		{"ErrUpdateUnknown", "PUT", "/v1/customers/" + cusID, sk, map[string]any{"colour": "red"}, 400, "colour"},
		{"ListSources", "GET", "/v1/customers/" + cusID + "/sources", sk, nil, 200, ""},
		{"GetSource", "GET", "/v1/customers/" + cusID + "/sources/" + cardID, sk, nil, 200, ""},
		{"ErrReuseToken", "POST", "/v1/customers/" + cusID + "/sources", sk, map[string]any{"source": tokID}, 400, "source"},
		{"ErrSourceCardObject", "POST", "/v1/customers", sk, map[string]any{"source": map[string]any{"number": "4242424242424242"}}, 400, "source"},
		{"ErrTokenForeignApp", "GET", "/v1/tokens/" + tokID, other.SecretKeyTest, nil, 404, "id"},
		{"ErrTokenLive", "GET", "/v1/tokens/" + tokID, app.SecretKeyLive, nil, 404, "id"},
		{"ErrCustomerForeignApp", "GET", "/v1/customers/" + cusID, other.SecretKeyTest, nil, 404, "id"},
		{"ErrCustomerLive", "GET", "/v1/customers/" + cusID, app.SecretKeyLive, nil, 404, "id"},
		{"ErrSourcesForeignApp", "GET", "/v1/customers/" + cusID + "/sources", other.SecretKeyTest, nil, 404, "id"},
		{"ErrSourceForeignApp", "GET", "/v1/customers/" + cusID + "/sources/" + cardID, other.SecretKeyTest, nil, 404, "id"},
		{"ErrDeleteForeignApp", "DELETE", "/v1/customers/" + cusID, other.SecretKeyTest, nil, 404, "id"},
		{"ErrUpdateForeignApp", "PUT", "/v1/customers/" + cusID, other.SecretKeyTest, map[string]any{"description": "x"}, 404, "id"},
		{"ErrListForeignApp", "GET", "/v1/customers?app=" + app.AppID, other.SecretKeyTest, nil, 404, "app"},
		{"ErrTokenForeignAppParam", "POST", "/v1/tokens", other.PublishableKeyTest, map[string]any{"app": app.AppID, "card": card["card"]}, 404, "app"},
		{"DeleteSource", "DELETE", "/v1/customers/" + cusID + "/sources/" + cardID, sk, nil, 200, ""},
		{"ErrSourceGone", "GET", "/v1/customers/" + cusID + "/sources/" + cardID, sk, nil, 404, "id"},
		{"DeleteCustomer", "DELETE", "/v1/customers/" + cusID, sk, nil, 200, ""},
		{"ErrCustomerGone", "GET", "/v1/customers/" + cusID, sk, nil, 404, "id"},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			st, body := c.do(tc.method, tc.path, tc.key, tc.body, false)
			if st != tc.status {
				t.Fatalf("status %d, want %d: %v", st, tc.status, body)
			}
			if tc.param != "" {
				e, _ := body["error"].(map[string]any)
				if e == nil || e["param"] != tc.param {
					t.Fatalf("error %v, want param %q", body, tc.param)
				}
			}
		})
	}
	// The other app's view of its own customers is empty.
	if _, l := c.do("GET", "/v1/customers", other.SecretKeyTest, nil, false); len(l["data"].([]any)) != 0 {
		t.Fatalf("other app lists %v", l)
	}

	t.Run("CORSPreflight", func(t *testing.T) {
		req, _ := http.NewRequest("OPTIONS", n.URL+"/v1/tokens", nil)
		req.Header.Set("Origin", "https://shop.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
			res.Header.Get("Access-Control-Allow-Headers") == "" {
			t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
		}
	})
}

// TestNodeStartScopesFingerprints: a node that starts on a store holding
// cards with the old global fingerprint re-derives them per app and mode.
func TestNodeStartScopesFingerprints(t *testing.T) {
	t.Setenv(vault.EnvKeys, "")
	cfg := gateway.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	start := func() *gateway.Node {
		n, err := gateway.Start(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	stop := func(n *gateway.Node) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Close(ctx)
	}
	const number = "4242424242424242"
	n := start()
	app, err := n.CreateApp(t.Context(), "fingerprints")
	if err != nil {
		t.Fatal(err)
	}
	id := vault.InsertLegacyCard(t, n.Vault, app.AppID, false, number, nil)
	stop(n)

	n = start()
	defer stop(n)
	_, got, err := n.Vault.PeekCard(t.Context(), app.AppID, false, id, "")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := n.Vault.Tokenize(t.Context(), app.AppID, false, vault.CardInput{Number: number, ExpMonth: 12, ExpYear: 2031}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Fingerprint == "" || got.Fingerprint != tok.Card.Fingerprint {
		t.Fatalf("fingerprint after restart = %q, want %q (the app's and mode's)", got.Fingerprint, tok.Card.Fingerprint)
	}
}
