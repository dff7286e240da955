package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// TestEveryScene: each channel and scene completes create, payment in the
// simulator, verified notification, webhook, partial refund and refund
// webhook.
func TestEveryScene(t *testing.T) {
	scenes := []struct {
		channel string
		extra   map[string]any
		paidAt  bool // paid by create itself (merchant scanned the customer's code)
		check   func(t *testing.T, cred map[string]any)
	}{
		{"alipay_qr", nil, false, func(t *testing.T, c map[string]any) {
			if s, _ := c["alipay_qr"].(string); !strings.HasPrefix(s, "https://qr.alipay.com/") {
				t.Fatalf("credential %v", c)
			}
		}},
		{"alipay", nil, false, func(t *testing.T, c map[string]any) {
			o, _ := c["alipay"].(map[string]any)
			if s, _ := o["orderInfo"].(string); !strings.Contains(s, "sign=") {
				t.Fatalf("credential %v", c)
			}
		}},
		{"alipay_wap", map[string]any{"success_url": "https://shop.example/ok"}, false, func(t *testing.T, c map[string]any) {
			o, _ := c["alipay_wap"].(map[string]any)
			if o["method"] != "alipay.trade.wap.pay" || !strings.HasSuffix(fmt.Sprint(o["channel_url"]), "/sim/alipay/gateway.do") {
				t.Fatalf("credential %v", c)
			}
		}},
		{"alipay_pc_direct", map[string]any{"success_url": "https://shop.example/ok"}, false, func(t *testing.T, c map[string]any) {
			o, _ := c["alipay_pc_direct"].(map[string]any)
			if o["method"] != "alipay.trade.page.pay" || o["sign"] == nil {
				t.Fatalf("credential %v", c)
			}
		}},
		{"alipay_lite", map[string]any{"buyer_id": "2088000000000001"}, false, func(t *testing.T, c map[string]any) {
			if s, _ := c["alipay_lite"].(string); s == "" {
				t.Fatalf("credential %v", c)
			}
		}},
		{"alipay_scan", map[string]any{"scan_code": "281234567890123456", "terminal_id": "T001"}, true, nil},
		{"wx_pub_qr", map[string]any{"product_id": "P001"}, false, func(t *testing.T, c map[string]any) {
			if s, _ := c["wx_pub_qr"].(string); !strings.HasPrefix(s, "weixin://wxpay/bizpayurl?pr=") {
				t.Fatalf("credential %v", c)
			}
		}},
		{"wx", nil, false, func(t *testing.T, c map[string]any) {
			o, _ := c["wx"].(map[string]any)
			if o["packageValue"] != "Sign=WXPay" || o["prepayId"] == nil || o["sign"] == nil {
				t.Fatalf("credential %v", c)
			}
		}},
		{"wx_pub", map[string]any{"open_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}, false, func(t *testing.T, c map[string]any) {
			o, _ := c["wx_pub"].(map[string]any)
			if _, ok := o["timeStamp"].(string); !ok || o["paySign"] == nil || !strings.HasPrefix(fmt.Sprint(o["package"]), "prepay_id=") {
				t.Fatalf("credential %v", c)
			}
		}},
		{"wx_lite", map[string]any{"open_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}, false, nil},
		{"wx_wap", nil, false, func(t *testing.T, c map[string]any) {
			// In the sandbox the H5 URL opens the simulator's wallet.
			s, _ := c["wx_wap"].(string)
			res, err := http.Get(s)
			if err != nil {
				t.Fatalf("credential %v: %v", c, err)
			}
			page, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !strings.Contains(string(page), "5.00") {
				t.Fatalf("h5_url %s answered %d:\n%s", s, res.StatusCode, page)
			}
		}},
		{"wx_pub_scan", map[string]any{"scan_code": "134567890123456789"}, true, nil},
	}
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		events := 0
		for i, sc := range scenes {
			t.Run(sc.channel, func(t *testing.T) {
				body := e.chargeBody(fmt.Sprintf("SCENE%04d", i), 500)
				body["channel"] = sc.channel
				if sc.extra != nil {
					body["extra"] = sc.extra
				}
				r := e.do("POST", "/v1/charges", e.sk(), body)
				if r.Status != 200 {
					t.Fatalf("create: %d %s", r.Status, r.Body)
				}
				id := r.str("id")
				if sc.check != nil {
					sc.check(t, r.JSON["credential"].(map[string]any))
				}
				if sc.paidAt {
					if r.JSON["paid"] != true {
						t.Fatalf("scan charge not paid at create: %s", r.Body)
					}
				} else {
					e.pay(id)
				}
				events++
				evs := rc.waitEvents(t, events)
				last := evs[len(evs)-1]
				if last["type"] != "charge.succeeded" || last["data"].(map[string]any)["object"].(map[string]any)["id"] != id {
					t.Fatalf("webhook %v", last)
				}
				re := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), `{"amount":120,"description":"partial"}`)
				if re.Status != 200 || re.str("status") != "succeeded" {
					t.Fatalf("refund: %d %s", re.Status, re.Body)
				}
				events++
				evs = rc.waitEvents(t, events)
				if evs[len(evs)-1]["type"] != "refund.succeeded" {
					t.Fatalf("webhook %v", evs[len(evs)-1])
				}
			})
		}
		if _, probs, err := ledger.Check(ctx, e.node.DB); err != nil || len(probs) > 0 {
			t.Fatalf("ledger: %v %v", probs, err)
		}
	})
}

func TestScanDeclinedAndUserPaying(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	body := e.chargeBody("SCANDEC1", 100)
	body["channel"] = "alipay_scan"
	body["extra"] = map[string]any{"scan_code": "301234567890123456", "terminal_id": "T001"}
	r := e.do("POST", "/v1/charges", e.sk(), body)
	if r.Status != 402 || r.str("error", "type") != "channel_error" {
		t.Fatalf("declined code: %d %s", r.Status, r.Body)
	}
	body["order_no"] = "SCANPAY2"
	body["extra"] = map[string]any{"scan_code": "291234567890123456", "terminal_id": "T001"}
	r = e.do("POST", "/v1/charges", e.sk(), body)
	if r.Status != 200 || r.JSON["paid"] != false {
		t.Fatalf("user-paying code: %d %s", r.Status, r.Body)
	}
	body["order_no"] = "SCANBAD3"
	body["extra"] = map[string]any{"terminal_id": "T001"}
	r = e.do("POST", "/v1/charges", e.sk(), body)
	if r.Status != 400 || r.str("error", "param") != "extra[scan_code]" {
		t.Fatalf("missing scan_code: %d %s", r.Status, r.Body)
	}
}

// TestScanPolling: a "user paying" scan is polled until paid; one still
// unpaid at the last poll is cancelled at the channel.
func TestScanPolling(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	rc := e.listen()
	create := func(orderNo, ch string, extra map[string]any) string {
		body := e.chargeBody(orderNo, 100)
		body["channel"], body["extra"] = ch, extra
		r := e.do("POST", "/v1/charges", e.sk(), body)
		if r.Status != 200 || r.JSON["paid"] != false {
			t.Fatalf("create %s: %d %s", ch, r.Status, r.Body)
		}
		return r.str("id")
	}
	abandoned := create("SCANPOLL2", "wx_pub_scan", map[string]any{"scan_code": "130012345678901234"})
	// The WeChat customer never confirms: at the last poll (60 s) polypay
	// cancels the trade. Pretend the minute has passed.
	e.node.Svc.Now = func() time.Time { return time.Now().Add(61 * time.Second) }
	if _, err := e.node.Svc.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	e.node.Svc.Now = nil
	var status string
	e.node.DB.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.GetCharge(ctx, e.app.AppID, false, abandoned)
		if err == nil {
			status = string(c.Status)
		}
		return err
	})
	paying := create("SCANPOLL1", "alipay_scan", map[string]any{"scan_code": "291234567890123456", "terminal_id": "T1"})
	time.Sleep(5500 * time.Millisecond) // the Alipay customer enters the password
	if _, err := e.node.Svc.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/v1/charges/"+paying, e.sk(), nil); r.JSON["paid"] != true {
		t.Fatalf("user-paying scan not paid after polling: %s", r.Body)
	}
	rc.waitEvents(t, 1)
	// The cancelled WeChat trade never turns into a payment.
	if r := e.do("GET", "/v1/charges/"+abandoned, e.sk(), nil); r.JSON["paid"] != false {
		t.Fatalf("cancelled scan got paid: %s", r.Body)
	}
	if status != "closed" {
		t.Fatalf("abandoned scan is %q, want closed (cancelled at the channel)", status)
	}
}
