package paypal

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
)

func TestConformance(t *testing.T) { channeltest.Run(t, harness) }

// harness runs the connector on paypalsim: the simulator's buyer approves
// the order (or cancels), the connector captures; the notification cases
// start from PAYMENT.CAPTURE.COMPLETED, signed for the notify URL's webhook.
var harness = channeltest.Harness{Family: &Family, Start: func(t *testing.T, wrap func(http.Handler) http.Handler) *channeltest.Sim {
	e := setupWith(t, wrap)
	return &channeltest.Sim{
		MerchantID: testMerchant,
		TradeID:    TradeID,
		Conn:       func(*testing.T, string) polypay.Channel { return e.client },
		Forger:     func(t *testing.T) polypay.Channel { return newClient(t, e.api, "forged-secret") },
		Charge: func(_ string, amount int64) *polypay.Charge {
			c := charge(amount, "usd")
			c.ID = polypay.NewID("ch_")
			return c
		},
		Request: func(req *polypay.ChannelRequest) { req.ReturnURL = "https://shop.example/return" },
		Pay: func(t *testing.T, c *polypay.Charge, _ []byte, ok bool) {
			if err := e.sim.Pay(ctx, testMerchant, c.ID, ok); err != nil {
				t.Fatalf("Pay: %v", err)
			}
		},
		Notice: func(n channeltest.Notice) bool {
			return strings.Contains(string(n.Body), `"event_type":"PAYMENT.CAPTURE.COMPLETED"`)
		},
		Resign: func(t *testing.T, n channeltest.Notice, ch channeltest.Change, sg channeltest.Signing) channeltest.Notice {
			var ev map[string]any
			if err := json.Unmarshal(n.Body, &ev); err != nil {
				t.Fatal(err)
			}
			res := ev["resource"].(map[string]any)
			amount := res["amount"].(map[string]any)
			// The amount in minor units of the currency sent, written in
			// the one sent after the change.
			minor, err := ParseAmount(amount["value"].(string), amount["currency_code"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if ch.Amount != 0 {
				minor = ch.Amount
			}
			if ch.Currency != "" {
				amount["currency_code"] = strings.ToUpper(ch.Currency)
			}
			if amount["value"], err = FormatAmount(minor, amount["currency_code"].(string)); err != nil {
				t.Fatal(err)
			}
			if ch.Merchant != "" {
				for _, k := range []string{"payee", "payer"} {
					if p, ok := res[k].(map[string]any); ok {
						p["merchant_id"] = ch.Merchant
					}
				}
			}
			body, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			n.Body = body
			webhookID, err := e.client.ensureWebhook(ctx, n.URL)
			if err != nil {
				t.Fatal(err)
			}
			switch sg {
			case channeltest.SignGenuine:
				n.Header = e.sim.SignWebhook(webhookID, body)
			case channeltest.SignForged:
				n.Header = e.sim.SignWebhook("WH-FORGED-0000000000", body)
			}
			return n
		},
		PreAuth:      []string{Channel},
		StatementDay: func(*testing.T) string { return time.Now().UTC().Format("2006-01-02") },
	}
}}
