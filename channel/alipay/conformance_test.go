package alipay_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/channeltest"
)

func TestConformance(t *testing.T) { channeltest.Run(t, harness) }

// harness runs the connector on alipaysim: browser channels are paid on
// the simulator's cashier page, app order strings as the app submits
// them, payment codes by the create.
var harness = channeltest.Harness{Family: &alipay.Family, Start: func(t *testing.T, wrap func(http.Handler) http.Handler) *channeltest.Sim {
	return simFor(t, newEnvWith(t, wrap))
}}

// simFor is the conformance suite's view of the simulator of env e.
func simFor(t *testing.T, e *env) *channeltest.Sim {
	site := newMerchantSite(t)
	return &channeltest.Sim{
		MerchantID: appID,
		TradeID:    alipay.TradeID,
		Conn:       func(t *testing.T, ch string) polypay.Channel { return e.connFor(t, ch) },
		Forger: func(t *testing.T) polypay.Channel {
			der, err := x509.MarshalPKCS8PrivateKey(otherKey)
			if err != nil {
				t.Fatal(err)
			}
			return newConn(t, e.gateway, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), platformPub)
		},
		Charge: func(ch string, amount int64) *polypay.Charge {
			extra := map[string]map[string]any{
				alipay.ChannelWap:  {"success_url": site.srv.URL + "/ok", "cancel_url": site.srv.URL + "/cancel"},
				alipay.ChannelPC:   {"success_url": site.srv.URL + "/ok"},
				alipay.ChannelScan: {"scan_code": codePaysNow, "terminal_id": "T001"},
				alipay.ChannelLite: {"buyer_id": "2088102177846880"},
			}[ch]
			return sceneCharge(polypay.NewID("ch_"), ch, amount, extra)
		},
		Pay: func(t *testing.T, c *polypay.Charge, cred []byte, ok bool) {
			var err error
			switch c.Channel {
			case alipay.ChannelScan:
			case alipay.ChannelApp:
				var obj map[string]string
				if err := json.Unmarshal(cred, &obj); err != nil {
					t.Fatal(err)
				}
				err = e.sim.PayOrderString(context.Background(), obj["orderInfo"], ok)
			case alipay.ChannelWap, alipay.ChannelPC:
				button := map[bool]string{true: "pay", false: "decline"}[ok]
				cashier(t, redirectURL(t, browserFields(t, cred)), button)
			default:
				err = e.sim.Pay(context.Background(), appID, c.ID, ok)
			}
			if err != nil {
				t.Fatalf("paying %s: %v", c.Channel, err)
			}
		},
		Resign: func(t *testing.T, n channeltest.Notice, ch channeltest.Change, sg channeltest.Signing) channeltest.Notice {
			v, err := url.ParseQuery(string(n.Body))
			if err != nil {
				t.Fatal(err)
			}
			if ch.Amount != 0 {
				field := "total_amount"
				if v.Get("out_biz_no") != "" {
					field = "refund_fee"
				}
				v.Set(field, fmt.Sprintf("%d.%02d", ch.Amount/100, ch.Amount%100))
			}
			if ch.Currency != "" {
				v.Set("trans_currency", strings.ToUpper(ch.Currency))
			}
			if ch.Merchant != "" {
				v.Set("app_id", ch.Merchant)
			}
			switch sg {
			case channeltest.SignGenuine:
				signNotification(v, platformKey)
			case channeltest.SignForged:
				signNotification(v, otherKey)
			}
			n.Body = []byte(v.Encode())
			return n
		},
		StatementDay: func(t *testing.T) string {
			day := e.clock.Now().In(cst).Format("2006-01-02")
			e.clock.Add(24 * time.Hour) // the day's bill is there the next day
			return day
		},
		Agreements:    agreementHarness(e),
		ProfitSharing: profitHarness(),
	}
}

// profitHarness shares alipay_qr payments with an account by user id and
// one by login name.
func profitHarness() *channeltest.ProfitHarness {
	return &channeltest.ProfitHarness{
		Channel: alipay.ChannelQR,
		Receivers: [2]polypay.ProfitReceiver{{Type: "userId", Account: "2088101117955611"},
			{Type: "loginName", Account: "royalty@example.com"}},
		Hold: func(amount int64) *polypay.Charge {
			return sceneCharge(polypay.NewID("ch_"), alipay.ChannelQR, amount, map[string]any{"profit_sharing": true})
		},
		NoReturn: "Alipay takes shares back only with a refund (refund_royalty_parameters)",
	}
}
