package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store/storetest"
)

func (e *env) paypalCharge(t *testing.T, orderNo string, amount int64) *resp {
	t.Helper()
	body := e.chargeBody(orderNo, amount)
	body["channel"], body["currency"] = "paypal", "usd"
	r := e.do("POST", "/v1/charges", e.sk(), body)
	if r.Status != 200 {
		t.Fatalf("create paypal charge: %d %s", r.Status, r.Body)
	}
	return r
}

// TestPaypal: a paypal charge is paid through PayPal's verified webhook
// (the connector captures the approved order), or by query when the
// webhook is lost; refunds work; forged webhooks change nothing.
func TestPaypal(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		proxy := newNotifyProxy(t, e.node.URL)
		e.node.Svc.BaseURL = proxy.srv.URL // PayPal now notifies through the proxy

		r := e.paypalCharge(t, "PP0001", 1000)
		id := r.str("id")
		approve, _ := r.JSON["credential"].(map[string]any)["paypal"].(string)
		if !strings.HasPrefix(approve, e.node.URL+"/sim/paypal/checkoutnow?token=") {
			t.Fatalf("credential = %s, want the approval URL string", r.Body)
		}
		paid := e.pay(id)
		if paid.JSON["paid"] != true || paid.str("transaction_no") == "" {
			t.Fatalf("after pay: %s", paid.Body)
		}
		evs := rc.waitEvents(t, 1)
		if evs[0]["type"] != "charge.succeeded" {
			t.Fatalf("event = %v", evs[0])
		}
		genuine := proxy.last(t)
		if genuine.header.Get("Paypal-Transmission-Sig") == "" {
			t.Fatalf("webhook headers = %v", genuine.header)
		}

		t.Run("ForgedWebhookRejected", func(t *testing.T) {
			forged := genuine
			forged.body = []byte(strings.Replace(string(genuine.body), `"value":"10.00"`, `"value":"0.01"`, 1))
			if string(forged.body) == string(genuine.body) {
				t.Fatalf("test webhook has no amount to tamper with: %s", genuine.body)
			}
			if status, _ := proxy.send(t, forged); status >= 200 && status < 300 {
				t.Fatalf("tampered webhook acknowledged (%d)", status)
			}
			forged = genuine
			forged.header = genuine.header.Clone()
			forged.header.Set("Paypal-Transmission-Id", "00000000-0000-4000-8000-000000000000")
			if status, _ := proxy.send(t, forged); status >= 200 && status < 300 {
				t.Fatalf("webhook with a foreign transmission id acknowledged (%d)", status)
			}
			if status, _ := proxy.send(t, genuine); status != 200 {
				t.Fatalf("replayed genuine webhook: %d, want 200 (duplicate)", status)
			}
			if n := rc.count(id, "charge.succeeded"); n != 1 {
				t.Fatalf("charge.succeeded sent %d times", n)
			}
		})

		refunds := []struct {
			name   string
			body   string
			status int
			amount int64
		}{
			{"PartialRefund", `{"amount":300,"description":"part"}`, 200, 300},
			{"ErrOverRefund", `{"amount":701}`, 400, 0},
			{"FullRefund", `{"description":"rest"}`, 200, 700},
		}
		for _, tc := range refunds {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), tc.body)
				if r.Status != tc.status {
					t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
				}
				if tc.status == 200 && (r.num("amount") != tc.amount || r.str("status") != "succeeded") {
					t.Fatalf("refund = %s", r.Body)
				}
			})
		}
		rc.waitEvents(t, 3)
		if ch := e.do("GET", "/v1/charges/"+id, e.sk(), nil); ch.num("amount_refunded") != 1000 || ch.JSON["refunded"] != true {
			t.Fatalf("charge after refunds: %s", ch.Body)
		}

		t.Run("PaidByQueryWhenWebhookDropped", func(t *testing.T) {
			id := e.paypalCharge(t, "PP0002", 2500).str("id")
			proxy.mu.Lock()
			proxy.drop = true
			proxy.mu.Unlock()
			if r := e.pay(id); r.JSON["paid"] != false {
				t.Fatalf("paid although the webhook was dropped: %s", r.Body)
			}
			proxy.mu.Lock()
			proxy.drop = false
			proxy.mu.Unlock()
			// The poller's first query is due 5 s after creation.
			e.node.Svc.Now = func() time.Time { return time.Now().Add(6 * time.Second) }
			_, err := e.node.Svc.Poll(ctx)
			e.node.Svc.Now = nil
			if err != nil {
				t.Fatal(err)
			}
			if ch := e.do("GET", "/v1/charges/"+id, e.sk(), nil); ch.JSON["paid"] != true || ch.str("transaction_no") == "" {
				t.Fatalf("after query: %s", ch.Body)
			}
			rc.waitEvents(t, 4) // charge.succeeded, 2 refund.succeeded, this charge.succeeded
			if n := rc.count(id, "charge.succeeded"); n != 1 {
				t.Fatalf("charge.succeeded sent %d times", n)
			}
		})
		if _, probs, err := ledger.Check(ctx, e.node.DB); err != nil || len(probs) > 0 {
			t.Fatalf("ledger: %v %v", probs, err)
		}
	})
}

// TestPaypalAuthorizeAtConnector: an AUTHORIZE order of a sandbox app is
// held after approval, then captured, or voided, through the connector
// the registry builds (the API wires pre-authorization later).
func TestPaypalAuthorizeAtConnector(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	conn, err := e.node.Registry.Channel(ctx, e.app.AppID, false, "paypal")
	if err != nil {
		t.Fatal(err)
	}
	auth, ok := conn.(polypay.Authorizer)
	if !ok {
		t.Fatal("the paypal connector does not implement polypay.Authorizer")
	}
	merchant, err := e.node.Registry.SandboxMerchantID(ctx, e.app.AppID, "paypal")
	if err != nil {
		t.Fatal(err)
	}
	hold := func(t *testing.T, id string, amount int64) *polypay.Charge {
		c := &polypay.Charge{ID: id, AppID: e.app.AppID, Channel: "paypal", Amount: amount, Currency: "usd", Subject: "hold"}
		cred, err := conn.CreateCharge(ctx, polypay.ChannelRequest{Charge: c, AuthorizeOnly: true,
			NotifyURL: e.node.Svc.NotifyURL("paypal", e.app.AppID, false)})
		if err != nil {
			t.Fatal(err)
		}
		var href string
		if json.Unmarshal(cred, &href) != nil || href == "" {
			t.Fatalf("credential = %s", cred)
		}
		c.Credential = cred
		if err := e.node.Sandbox.PaypalSim().Pay(ctx, merchant, c.ID, true); err != nil {
			t.Fatal(err)
		}
		tr, err := conn.QueryCharge(ctx, c)
		if err != nil || tr.State != polypay.TradeAuthorized || tr.AmountAuthorized != amount {
			t.Fatalf("QueryCharge = %+v, %v; want authorized %d", tr, err, amount)
		}
		return c
	}
	t.Run("Capture", func(t *testing.T) {
		c := hold(t, "ch_ppauthcapture000000000001", 4200)
		tr, err := auth.Capture(ctx, c, 0)
		if err != nil || tr.State != polypay.TradePaid || tr.Amount != 4200 {
			t.Fatalf("Capture = %+v, %v", tr, err)
		}
		if err := auth.Void(ctx, c); polypay.ErrorCode(err) != polypay.EChannel {
			t.Fatalf("Void after capture = %v, want EChannel", err)
		}
	})
	t.Run("Void", func(t *testing.T) {
		c := hold(t, "ch_ppauthvoid0000000000000001", 900)
		if err := auth.Void(ctx, c); err != nil {
			t.Fatalf("Void: %v", err)
		}
		if _, err := auth.Capture(ctx, c, 0); polypay.ErrorCode(err) != polypay.EChannel {
			t.Fatalf("Capture after void = %v, want EChannel", err)
		}
		tr, err := conn.QueryCharge(ctx, c)
		if err != nil || tr.State != polypay.TradeClosed {
			t.Fatalf("QueryCharge after void = %+v, %v", tr, err)
		}
	})
}
