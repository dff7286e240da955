package gateway_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/sim/stripesim"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// TestStripeNotifyForeignPaymentIntent is issue 13's report, through a
// whole node: a correctly signed Stripe event about another PaymentIntent,
// in jpy, whose metadata names a 500 USD charge, once marked it paid. It
// is refused (400, so Stripe would send it again), logged, and changes
// nothing: no charge.succeeded, no posting. The charge's own PaymentIntent
// still pays it.
func TestStripeNotifyForeignPaymentIntent(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, func(c *gateway.Config) { c.SimSpeed = 6000 })
		// Sandbox credentials of our own, so that the test holds the
		// webhook signing secret the simulator signs with.
		acct := stripesim.NewAccount()
		if r := e.do("POST", "/v1/apps/"+e.app.AppID+"/channels", e.sk(), map[string]any{"channel": "stripe", "params": map[string]any{
			"sandbox": true, "account_id": acct.ID, "secret_key": acct.SecretKey, "webhook_secret": acct.WebhookSecret}}); r.Status != 200 {
			t.Fatalf("configure stripe: %d %s", r.Status, r.Body)
		}
		rc := e.listen()
		tok := e.do("POST", "/v1/tokens", e.app.PublishableKeyTest, map[string]any{"card": map[string]any{"number": "4000000000003220",
			"exp_month": 12, "exp_year": time.Now().Year() + 2, "cvc": "123"}})
		body := e.chargeBody("STRIPE13", 50000)
		body["channel"], body["currency"], body["extra"] = "card", "usd", map[string]any{"source": tok.str("id")}
		r := e.do("POST", "/v1/charges", e.sk(), body)
		pi := r.str("credential", "card", "id")
		if r.Status != 200 || r.JSON["paid"] != false || !strings.HasPrefix(pi, "pi_") {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		id := r.str("id")

		// The report's event (another PaymentIntent, in jpy), and one of
		// another PaymentIntent for the charge's very amount and currency,
		// which only its PaymentIntent id tells apart.
		for i, currency := range []string{"jpy", "usd"} {
			event := fmt.Sprintf(`{"id":"evt_3Foreign00000000000%d","object":"event","api_version":%q,"created":%d,"livemode":false,"pending_webhooks":1,`+
				`"request":{"id":null,"idempotency_key":null},"type":"payment_intent.succeeded","data":{"object":`+
				`{"id":"pi_3ForeignIntent000000000%d","object":"payment_intent","amount":50000,"amount_capturable":0,"amount_received":50000,`+
				`"currency":%q,"livemode":false,"status":"succeeded","latest_charge":null,"metadata":{"charge_id":%q,"order_no":"STRIPE13"}}}}`,
				i, stripesim.APIVersion, time.Now().Unix(), i, currency, id)
			req, err := http.NewRequest("POST", e.node.URL+"/notify/stripe/"+e.app.AppID+"/test", bytes.NewReader([]byte(event)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Stripe-Signature", stripesim.Sign(acct.WebhookSecret, time.Now(), []byte(event)))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			reply, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("reply to the foreign %s event = %d %s, want 400", currency, res.StatusCode, reply)
			}
			var outcomes []string
			if err := e.node.DB.Read(ctx, func(tx *store.Tx) (err error) {
				outcomes, err = tx.NotificationOutcomes(ctx, e.app.AppID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(outcomes) == 0 || !strings.HasPrefix(outcomes[len(outcomes)-1], "rejected_mismatch") {
				t.Fatalf("outcomes = %q, want the last rejected_mismatch", outcomes)
			}
		}
		if ch := e.do("GET", "/v1/charges/"+id, e.sk(), nil); ch.JSON["paid"] != false || ch.JSON["transaction_no"] != nil {
			t.Fatalf("after the foreign event: %s", ch.Body)
		}
		if sum := cardLedger(t, e, id); sum != 0 {
			t.Fatalf("ledger holds %d for the charge after the foreign event, want 0", sum)
		}

		// The cardholder passes the challenge: the charge's own
		// PaymentIntent pays it, once.
		e.pay(id)
		waitFor(t, "the charge to be paid by its PaymentIntent", func() bool {
			return e.do("GET", "/v1/charges/"+id, e.sk(), nil).JSON["paid"] == true
		})
		if ch := e.do("GET", "/v1/charges/"+id, e.sk(), nil); ch.str("transaction_no") != pi {
			t.Fatalf("paid by %q, want %s", ch.str("transaction_no"), pi)
		}
		evs := rc.waitEvents(t, 1)
		time.Sleep(200 * time.Millisecond)
		rc.mu.Lock()
		n := len(rc.events)
		rc.mu.Unlock()
		if n != 1 || evs[0]["type"] != "charge.succeeded" {
			t.Fatalf("events = %d, want exactly one charge.succeeded", n)
		}
		if sum := cardLedger(t, e, id); sum != 50000 {
			t.Fatalf("ledger holds %d for the charge, want 50000", sum)
		}
	})
}

func cardLedger(t *testing.T, e *env, chargeID string) int64 {
	t.Helper()
	var sum int64
	if err := e.node.DB.Read(ctx, func(tx *store.Tx) (err error) {
		sum, err = tx.LedgerSum(ctx, ledger.RefCharge, chargeID, ledger.ChannelAccount("card"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return sum
}
