package stripe_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
	"github.com/polypay/polypay/channel/stripe"
	"github.com/polypay/polypay/sim/stripesim"
)

func TestConformance(t *testing.T) { channeltest.Run(t, harness) }

// harness runs the connector on stripesim: card charges use a card the
// issuer challenges, which the simulator's cardholder completes or fails;
// Apple Pay is paid by its token at the create.
var harness = channeltest.Harness{Family: &stripe.Family, Start: func(t *testing.T, wrap func(http.Handler) http.Handler) *channeltest.Sim {
	e := newEnvWith(t, wrap, nil)
	tokens := map[string][]byte{} // one Apple Pay token per charge: a repeated create is the same request
	return &channeltest.Sim{
		MerchantID: e.acct.ID,
		TradeID:    stripe.TradeID,
		Conn: func(t *testing.T, ch string) polypay.Channel {
			if ch == stripe.ChannelApplePay {
				return e.apple
			}
			return e.card
		},
		Forger: func(t *testing.T) polypay.Channel {
			c, err := stripe.New(stripe.ChannelCard, stripe.Config{AccountID: e.acct.ID, SecretKey: "sk_test_forged000000000000",
				WebhookSecret: e.acct.WebhookSecret, BaseURL: e.srv.URL, Timeout: 300 * time.Millisecond, MaxNetworkRetries: new(int64)})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		Charge: func(ch string, amount int64) *polypay.Charge {
			c := newCharge(amount)
			c.Channel = ch
			return c
		},
		Request: func(req *polypay.ChannelRequest) {
			if req.Charge.Channel == stripe.ChannelApplePay {
				if tokens[req.Charge.ID] == nil {
					tokens[req.Charge.ID] = stripesim.ApplePayToken("4242424242424242", 12, time.Now().Year()+2)
				}
				req.WalletToken = tokens[req.Charge.ID]
				return
			}
			req.Card = cardReq(req.Charge, "4000000000003220", "").Card // challenged
		},
		Pay: func(t *testing.T, c *polypay.Charge, _ []byte, ok bool) {
			if c.Channel == stripe.ChannelApplePay {
				return
			}
			if err := e.sim.Pay(ctx, e.acct.ID, c.ID, ok); err != nil {
				t.Fatalf("Pay: %v", err)
			}
		},
		Resign: func(t *testing.T, n channeltest.Notice, ch channeltest.Change, sg channeltest.Signing) channeltest.Notice {
			var ev map[string]any
			if err := json.Unmarshal(n.Body, &ev); err != nil {
				t.Fatal(err)
			}
			obj := ev["data"].(map[string]any)["object"].(map[string]any)
			if ch.Amount != 0 {
				for _, k := range []string{"amount", "amount_received"} {
					if _, ok := obj[k]; ok {
						obj[k] = ch.Amount
					}
				}
			}
			if ch.Currency != "" {
				obj["currency"] = ch.Currency
			}
			if ch.Merchant != "" {
				ev["account"] = ch.Merchant
			}
			body, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			n.Body = body
			secret := map[channeltest.Signing]string{channeltest.SignGenuine: e.acct.WebhookSecret, channeltest.SignForged: "whsec_forged0000000000000000"}[sg]
			if secret != "" {
				n.Header = http.Header{"Stripe-Signature": {stripesim.Sign(secret, time.Now(), body)}}
			}
			return n
		},
		Agreements:   agreementHarness(e),
		PreAuth:      []string{stripe.ChannelCard},
		StatementDay: func(*testing.T) string { return time.Now().UTC().Format("2006-01-02") },
	}
}}

// agreementHarness signs with a card whose issuer challenges the setup
// and then takes off-session payments; the cardholder completes the
// challenge in the simulator, and ends the agreement by removing the card
// in Stripe's customer portal.
func agreementHarness(e *env) *channeltest.AgreementHarness {
	pmOf := func(t *testing.T, a *polypay.Agreement) string {
		pm, err := e.sim.SetupIntentPaymentMethod(e.acct.ID, stripe.SetupIntentID(a))
		if err != nil {
			t.Fatal(err)
		}
		return pm
	}
	return &channeltest.AgreementHarness{
		Channel: stripe.ChannelCard,
		Card:    &polypay.CardData{Number: "4000003800000446", ExpMonth: 12, ExpYear: time.Now().Year() + 2, CVC: "123"},
		Sign: func(t *testing.T, a *polypay.Agreement, cred []byte) string {
			var cr stripe.Credential
			if err := json.Unmarshal(cred, &cr); err != nil || cr.Object != "setup_intent" {
				t.Fatalf("credential %s: %v", cred, err)
			}
			if cr.Status != "requires_action" || cr.NextAction == nil || cr.NextAction.RedirectToURL == nil {
				t.Fatalf("a card whose issuer challenges the setup: credential %s, want the challenge", cred)
			}
			if err := e.sim.CompleteSetup(ctx, e.acct.ID, cr.ID, true); err != nil {
				t.Fatal(err)
			}
			return cr.ID
		},
		UserTerminate: func(t *testing.T, a *polypay.Agreement) {
			if err := e.sim.RemoveCard(ctx, e.acct.ID, pmOf(t, a)); err != nil {
				t.Fatal(err)
			}
		},
		DebitFails: func(t *testing.T, a *polypay.Agreement, fail bool) {
			decline := ""
			if fail {
				decline = "insufficient_funds"
			}
			if err := e.sim.DeclineOffSession(e.acct.ID, pmOf(t, a), decline); err != nil {
				t.Fatal(err)
			}
		},
		DebitFailCode: "insufficient_funds",
	}
}
