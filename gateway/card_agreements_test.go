package gateway_test

import (
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/store/storetest"
)

// TestCardAgreements: a card saved through Stripe for off-session
// payments, end to end in the sandbox: the token consumed at signing, the
// setup's 3-D Secure challenge completed by the cardholder, debits paid
// without them (and refunded), a subscription billed on the card, the
// issuer that insists on authentication (authentication_required, on the
// debit and on the subscription's invoice), the cardholder removing the
// card in Stripe's portal and the merchant's cancel; another app and the
// live key see nothing.
func TestCardAgreements(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		token := func(number string) string {
			return ok(t, "token", e.do("POST", "/v1/tokens", e.app.PublishableKeyTest, map[string]any{"card": map[string]any{
				"number": number, "exp_month": 12, "exp_year": time.Now().Year() + 2, "cvc": "123"}})).str("id")
		}
		create := func(no string, extra map[string]any) *resp {
			return e.do("POST", "/v1/agreements", e.sk(), map[string]any{"app": e.app.AppID, "channel": "card", "contract_no": no, "extra": extra})
		}
		debit := func(no, agr string) *resp {
			body := e.chargeBody(no, 1990)
			body["channel"], body["currency"], body["extra"] = "card", "usd", map[string]any{"agreement": agr}
			return e.do("POST", "/v1/charges", e.sk(), body)
		}
		refused(t, "no card", create("CARD000", map[string]any{"return_url": "https://shop.example/saved"}), 400, "extra[source]")
		refused(t, "card number in extra", create("CARD000", map[string]any{"card": map[string]any{"number": "4242424242424242"}}), 400, "extra[card]")

		tok := token("4000002500003155") // the issuer challenges the setup, then exempts off-session payments
		a := ok(t, "create", create("CARD001", map[string]any{"source": tok, "return_url": "https://shop.example/saved"}))
		id := a.str("id")
		if a.str("status") != "created" || a.str("credential", "card", "credential", "object") != "setup_intent" ||
			a.str("credential", "card", "credential", "status") != "requires_action" ||
			!strings.Contains(a.str("credential", "card", "credential", "next_action", "redirect_to_url", "url"), "/acs/seti_") {
			t.Fatalf("created %s", a.Body)
		}
		refused(t, "token used twice", create("CARD002", map[string]any{"source": tok}), 400, "extra[source]")
		s := ok(t, "sign", e.do("POST", "/v1/test/agreements/"+id+"/sign", e.sk(), map[string]any{}))
		if s.str("status") != "succeeded" || !strings.HasPrefix(s.str("contract_id"), "seti_") {
			t.Fatalf("signed %s", s.Body)
		}
		waitFor(t, "agreement.succeeded", func() bool { return rc.count(id, "agreement.succeeded") == 1 })

		ch := ok(t, "debit", debit("CARDDEBIT1", id))
		if ch.JSON["paid"] != true || ch.str("channel") != "card" {
			t.Fatalf("debit %s", ch.Body)
		}
		waitFor(t, "charge.succeeded", func() bool { return rc.count(ch.str("id"), "charge.succeeded") == 1 })
		ok(t, "refund", e.do("POST", "/v1/charges/"+ch.str("id")+"/refunds", e.sk(), map[string]any{"amount": 990, "description": "partial"}))

		plan := ok(t, "plan", e.do("POST", "/v1/plans", e.sk(), map[string]any{"app": e.app.AppID, "name": "Pro", "amount": 1200,
			"currency": "usd", "interval": "month"})).str("id")
		sub := ok(t, "subscribe", e.do("POST", "/v1/subscriptions", e.sk(), map[string]any{"app": e.app.AppID, "plan": plan, "agreement": id}))
		if vs := e.invoices(t, sub.str("id")); sub.str("status") != "active" || len(vs) != 1 || vs[0]["status"] != "paid" {
			t.Fatalf("subscription %s, invoices %v", sub.Body, vs)
		}

		// Isolation.
		other, err := e.node.CreateApp(ctx, "other")
		if err != nil {
			t.Fatal(err)
		}
		refused(t, "other app", e.do("GET", "/v1/agreements/"+id, other.SecretKeyTest, nil), 404, "id")
		refused(t, "live mode", e.do("GET", "/v1/agreements/"+id, e.app.SecretKeyLive, nil), 404, "id")

		// An issuer that always wants the cardholder: signed (they were
		// there), then every off-session debit is declined.
		strict := ok(t, "strict", create("CARD003", map[string]any{"source": token("4000002760003184")})).str("id")
		ok(t, "sign strict", e.do("POST", "/v1/test/agreements/"+strict+"/sign", e.sk(), map[string]any{}))
		if r := debit("CARDDEBIT2", strict); r.Status == 200 || r.str("error", "code") != "authentication_required" && !strings.Contains(string(r.Body), "authentication_required") {
			t.Fatalf("a debit the issuer wants authenticated: %d %s", r.Status, r.Body)
		}
		failed := ok(t, "declined charge", e.do("GET", "/v1/charges?limit=1&app[id]="+e.app.AppID, e.sk(), nil)).JSON["data"].([]any)[0].(map[string]any)
		if failed["failure_code"] != "authentication_required" || failed["paid"] != false {
			t.Fatalf("declined debit %v", failed)
		}
		s2 := e.do("POST", "/v1/subscriptions", e.sk(), map[string]any{"app": e.app.AppID, "plan": plan, "agreement": strict})
		if s2.Status == 200 {
			if vs := e.invoices(t, s2.str("id")); len(vs) != 1 || vs[0]["status"] == "paid" || !strings.Contains(vs[0]["failure_msg"].(string), "authentication_required") {
				t.Fatalf("first invoice on a card that wants authentication: %v", vs)
			}
		} else if !strings.Contains(string(s2.Body), "authentication_required") {
			t.Fatalf("subscription on a card that wants authentication: %d %s", s2.Status, s2.Body)
		}

		// The cardholder removes the card in Stripe's portal.
		u := ok(t, "terminate", e.do("POST", "/v1/test/agreements/"+id+"/terminate", e.sk(), map[string]any{}))
		if u.str("status") != "canceled" || u.str("canceled_by") != "user" {
			t.Fatalf("after the cardholder removed the card: %s", u.Body)
		}
		refused(t, "debit after removal", debit("CARDDEBIT3", id), 400, "extra[agreement]")

		// The merchant cancels: the card is detached at Stripe.
		c := ok(t, "cancel", e.do("PUT", "/v1/agreements/"+strict, e.sk(), map[string]any{"status": "canceled"}))
		if c.str("status") != "canceled" || c.str("canceled_by") != "merchant" {
			t.Fatalf("canceled %s", c.Body)
		}
		if r := ok(t, "refresh", e.do("POST", "/v1/agreements/"+strict+"/refresh", e.sk(), nil)); r.str("status") != "canceled" {
			t.Fatalf("refreshed %s", r.Body)
		}
	})
}
