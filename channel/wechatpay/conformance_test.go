package wechatpay_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
	"github.com/polypay/polypay/channel/wechatpay"
)

func TestConformance(t *testing.T) { channeltest.Run(t, harness) }

// harness runs the connector on wechatsim: the simulator's customer pays
// every channel but the payment code, which the create pays.
var harness = channeltest.Harness{Family: &wechatpay.Family, Start: func(t *testing.T, wrap func(http.Handler) http.Handler) *channeltest.Sim {
	return simFor(newEnvWith(t, wrap))
}}

// simFor is the conformance suite's view of env e's simulator.
func simFor(e *env) *channeltest.Sim {
	return &channeltest.Sim{
		MerchantID: mchID,
		TradeID:    wechatpay.TradeID,
		Conn:       func(t *testing.T, ch string) polypay.Channel { return e.conns[ch] },
		Forger: func(t *testing.T) polypay.Channel {
			cfg := config(e.base)
			cfg.PrivateKeyPEM = pkcs8(otherKey)
			return newConn(t, wechatpay.Family.Channels[0].Name, cfg)
		},
		Charge: func(ch string, amount int64) *polypay.Charge {
			c := charge(ch, "", amount)
			c.ID = polypay.NewID("ch_")
			return c
		},
		Pay: func(t *testing.T, c *polypay.Charge, _ []byte, ok bool) {
			if c.Channel == wechatpay.ChannelScan {
				return
			}
			if err := e.sim.Pay(context.Background(), mchID, c.ID, ok); err != nil {
				t.Fatalf("Pay: %v", err)
			}
		},
		Resign:        resign,
		Unnotified:    []string{wechatpay.ChannelScan},
		Agreements:    agreementHarness(e),
		ProfitSharing: profitHarness(),
		StatementDay: func(t *testing.T) string {
			e.sim.SetBillClock(func() time.Time { return time.Now().Add(24 * time.Hour) })
			return e.clock.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		},
	}
}

// resign decrypts a notification's resource, changes it, encrypts it
// again with the APIv3 key and signs the headers.
func resign(t *testing.T, n channeltest.Notice, ch channeltest.Change, sg channeltest.Signing) channeltest.Notice {
	var env map[string]any
	if err := json.Unmarshal(n.Body, &env); err != nil {
		t.Fatal(err)
	}
	res := env["resource"].(map[string]any)
	plain, err := openResource(apiV3Key, res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(plain, &m); err != nil {
		t.Fatal(err)
	}
	amount := m["amount"].(map[string]any)
	if ch.Amount != 0 {
		field := "total"
		if _, ok := m["out_refund_no"]; ok {
			field = "refund"
		}
		amount[field] = ch.Amount
	}
	if ch.Currency != "" {
		amount["currency"] = strings.ToUpper(ch.Currency)
	}
	if ch.Merchant != "" {
		m["mchid"] = ch.Merchant
	}
	if plain, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	n.Body = notificationBody(env["event_type"].(string), res["original_type"].(string), plain)
	switch sg {
	case channeltest.SignGenuine, channeltest.SignForged:
		key := platformKey
		if sg == channeltest.SignForged {
			key = otherKey
		}
		n.Header = http.Header{}
		signHeaders(n.Header, key, keyID, time.Now().Unix(), n.Body)
	}
	return n
}

// profitHarness shares wx_pub_qr payments with a merchant and a person.
func profitHarness() *channeltest.ProfitHarness {
	return &channeltest.ProfitHarness{
		Channel: wechatpay.ChannelQR,
		Receivers: [2]polypay.ProfitReceiver{{Type: "MERCHANT_ID", Account: "1900000333", Relation: "PARTNER"},
			{Type: "PERSONAL_OPENID", Account: openID, Relation: "DISTRIBUTOR"}},
		Hold: func(amount int64) *polypay.Charge {
			c := charge(wechatpay.ChannelQR, "", amount)
			c.ID, c.Extra = polypay.NewID("ch_"), json.RawMessage(`{"product_id":"p_1","profit_sharing":true}`)
			return c
		},
	}
}
