package gateway_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/store/storetest"
)

// TestStripeCard drives card charges through a whole node on the Stripe
// simulator: the card is tokenized with the publishable key (POST
// /v1/tokens), the charge names the token, the outcome arrives by signed
// webhook.
func TestStripeCard(t *testing.T) {
	b := storetest.Backends(t)[0]
	// 6000x: Stripe's first webhook retry (1 min) comes after 10 ms, so a
	// webhook that beats the charge's insert is soon sent again.
	e := start(t, b, func(c *gateway.Config) { c.SimSpeed = 6000 })
	rc := e.listen()
	body := func(orderNo string, amount int64, number string) map[string]any {
		tok := e.do("POST", "/v1/tokens", e.app.PublishableKeyTest, map[string]any{"card": map[string]any{"number": number, "exp_month": 12,
			"exp_year": time.Now().Year() + 2, "cvc": "123"}})
		if tok.Status != 200 || !strings.HasPrefix(tok.str("id"), "tok_") {
			t.Fatalf("tokenize: %d %s", tok.Status, tok.Body)
		}
		m := e.chargeBody(orderNo, amount)
		m["channel"], m["currency"] = "card", "usd"
		m["extra"] = map[string]any{"source": tok.str("id"), "note": "kept"}
		return m
	}
	waitPaid := func(t *testing.T, id string) *resp {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if r := e.do("GET", "/v1/charges/"+id, e.sk(), nil); r.JSON["paid"] == true {
				return r
			}
		}
		t.Fatalf("charge %s never became paid", id)
		return nil
	}
	numbers := []string{"4242424242424242", "4000000000003220", "4000000000009995"}

	t.Run("FrictionlessThenRefunds", func(t *testing.T) {
		r := e.do("POST", "/v1/charges", e.sk(), body("STRIPE01", 1000, numbers[0]))
		// Frictionless: the processor decided during the call, and polypay
		// asked it before answering, so the reply already says paid.
		if r.Status != 200 || r.JSON["paid"] != true || r.str("three_d_secure", "flow") != "frictionless" || r.JSON["three_d_secure"].(map[string]any)["liability_shift"] != true {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), numbers[0]) || !strings.Contains(string(r.Body), `"note":"kept"`) {
			t.Fatalf("charge extra = %s, want no card number and the rest kept", r.Body)
		}
		id := r.str("id")
		paid := waitPaid(t, id)
		if !strings.HasPrefix(paid.str("transaction_no"), "pi_") {
			t.Fatalf("paid charge: %s", paid.Body)
		}
		for _, tc := range []struct {
			name   string
			body   string
			amount int64
		}{{"Partial", `{"amount":300,"description":"part"}`, 300}, {"Full", `{"description":"rest"}`, 700}} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), tc.body)
				if r.Status != 200 || r.num("amount") != tc.amount || r.str("status") != "succeeded" || !strings.HasPrefix(r.str("transaction_no"), "re_") {
					t.Fatalf("refund: %d %s", r.Status, r.Body)
				}
			})
		}
		ch := e.do("GET", "/v1/charges/"+id, e.sk(), nil)
		if ch.num("amount_refunded") != 1000 || ch.JSON["refunded"] != true {
			t.Fatalf("after refunds: %s", ch.Body)
		}
	})

	t.Run("ChallengeThenPay", func(t *testing.T) {
		r := e.do("POST", "/v1/charges", e.sk(), body("STRIPE02", 2500, numbers[1]))
		acs := r.str("credential", "card", "next_action", "redirect_to_url", "url")
		if r.Status != 200 || r.str("credential", "card", "status") != "requires_action" || !strings.Contains(acs, "/sim/stripe/acs/pi_") {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		if !strings.Contains(r.str("credential", "card", "next_action", "redirect_to_url", "return_url"), "/sim/stripe/return") {
			t.Errorf("return_url: %s", r.Body)
		}
		id := r.str("id")
		if r.JSON["paid"] != false {
			t.Fatalf("paid before the challenge: %s", r.Body)
		}
		e.pay(id)
		waitPaid(t, id)
	})

	t.Run("ErrDecline", func(t *testing.T) {
		r := e.do("POST", "/v1/charges", e.sk(), body("STRIPE03", 1000, numbers[2]))
		if r.Status != 402 || r.str("error", "type") != "channel_error" || r.str("error", "code") != "insufficient_funds" {
			t.Fatalf("decline: %d %s", r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), numbers[2]) {
			t.Fatalf("error shows the card: %s", r.Body)
		}
	})

	t.Run("ErrRawCardInExtra", func(t *testing.T) {
		m := e.chargeBody("STRIPE04", 1000)
		m["channel"], m["currency"] = "card", "usd"
		m["extra"] = map[string]any{"card": map[string]any{"number": numbers[0], "exp_month": 12, "exp_year": 2040}}
		r := e.do("POST", "/v1/charges", e.sk(), m)
		if r.Status != 400 || r.str("error", "param") != "extra[card]" || strings.Contains(string(r.Body), numbers[0]) {
			t.Fatalf("raw card: %d %s", r.Status, r.Body)
		}
	})

	t.Run("ErrTokenUsedTwice", func(t *testing.T) {
		m := body("STRIPE05", 1000, numbers[0])
		if r := e.do("POST", "/v1/charges", e.sk(), m); r.Status != 200 {
			t.Fatalf("first use: %d %s", r.Status, r.Body)
		}
		m["order_no"] = "STRIPE06"
		if r := e.do("POST", "/v1/charges", e.sk(), m); r.Status != 400 || r.str("error", "param") != "extra[source]" {
			t.Fatalf("second use: %d %s", r.Status, r.Body)
		}
	})

	rc.waitEvents(t, 5) // 3 charges paid, 2 refunds
	t.Run("CardNeverStored", func(t *testing.T) {
		err := filepath.WalkDir(b.DataDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, n := range numbers {
				if strings.Contains(string(raw), n) {
					t.Errorf("%s contains card number %s", p, n)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestCardFallbackAnd3DS: a processor error on the primary card processor
// moves the charge to the secondary (both recorded on the charge), later
// calls go to the processor that took it; a decline does not move; the
// app's three_d_secure=required setting authenticates every card.
func TestCardFallbackAnd3DS(t *testing.T) {
	b := storetest.Backends(t)[0]
	e := start(t, b, func(c *gateway.Config) { c.SimSpeed = 6000 })
	appPath := "/v1/apps/" + e.app.AppID
	if r := e.do("POST", appPath+"/channels", e.sk(), `{"channel":"stripe@backup","params":{"sandbox":true}}`); r.Status != 200 {
		t.Fatalf("configure backup processor: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", appPath+"/card_settings", e.sk(), `{"processors":["default","nowhere"]}`); r.Status != 400 || r.str("error", "param") != "processors" {
		t.Fatalf("unknown processor accepted: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", appPath+"/card_settings", e.sk(), `{"processors":["default","backup"]}`); r.Status != 200 {
		t.Fatalf("card settings: %d %s", r.Status, r.Body)
	}
	primary, err := e.node.Registry.SandboxMerchantID(ctx, e.app.AppID, "stripe")
	if err != nil {
		t.Fatal(err)
	}
	charge := func(orderNo, number string) *resp {
		tok := e.do("POST", "/v1/tokens", e.app.PublishableKeyTest, map[string]any{"card": map[string]any{"number": number, "exp_month": 12,
			"exp_year": time.Now().Year() + 2, "cvc": "123"}})
		m := e.chargeBody(orderNo, 1500)
		m["channel"], m["currency"] = "card", "usd"
		m["extra"] = map[string]any{"source": tok.str("id")}
		return e.do("POST", "/v1/charges", e.sk(), m)
	}
	attempts := func(r *resp) string {
		var out []string
		list, _ := r.JSON["processor_attempts"].([]any)
		for _, a := range list {
			m := a.(map[string]any)
			out = append(out, m["processor"].(string)+":"+m["outcome"].(string))
		}
		return strings.Join(out, ",")
	}

	e.node.Sandbox.StripeSim().FailCreates(primary, true)
	r := charge("FALLBACK1", "4242424242424242")
	if r.Status != 200 || r.JSON["paid"] != true || attempts(r) != "default:error,backup:accepted" {
		t.Fatalf("fallback: %d %s", r.Status, r.Body)
	}
	id := r.str("id")
	if rf := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), `{"amount":500,"description":"on the backup"}`); rf.Status != 200 || rf.str("status") != "succeeded" {
		t.Fatalf("refund through the processor that took the charge: %d %s", rf.Status, rf.Body)
	}
	if d := charge("FALLBACK2", "4000000000009995"); d.Status != 402 || d.str("error", "code") != "insufficient_funds" {
		t.Fatalf("decline on the backup: %d %s", d.Status, d.Body)
	}
	e.node.Sandbox.StripeSim().FailCreates(primary, false)

	if d := charge("DECLINE1", "4000000000009995"); d.Status != 402 {
		t.Fatalf("decline: %d %s", d.Status, d.Body)
	}
	list := e.do("GET", "/v1/charges?limit=1&app[id]="+e.app.AppID, e.sk(), nil)
	if got := list.JSON["data"].([]any)[0].(map[string]any); got["order_no"] != "DECLINE1" || got["failure_code"] != "insufficient_funds" || got["processor_attempts"] != nil {
		t.Fatalf("declined charge: %v (a decline is not retried elsewhere)", got)
	}

	if r := e.do("POST", appPath+"/card_settings", e.sk(), `{"three_d_secure":"required"}`); r.Status != 200 || r.str("three_d_secure") != "required" {
		t.Fatalf("require 3-D Secure: %d %s", r.Status, r.Body)
	}
	r = charge("THREEDS1", "4242424242424242")
	if r.Status != 200 || r.JSON["paid"] != false || r.str("credential", "card", "status") != "requires_action" {
		t.Fatalf("with 3-D Secure required, a frictionless card still gets a challenge: %d %s", r.Status, r.Body)
	}
	e.pay(r.str("id"))
	var last *resp
	waitFor(t, "the challenged charge to be paid", func() bool {
		last = e.do("GET", "/v1/charges/"+r.str("id"), e.sk(), nil)
		return last.JSON["paid"] == true
	})
	if last.str("three_d_secure", "flow") != "challenge" || last.JSON["three_d_secure"].(map[string]any)["authenticated"] != true {
		t.Fatalf("challenged charge: %s", last.Body)
	}
}
