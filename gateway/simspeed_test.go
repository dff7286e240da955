package gateway_test

import (
	"testing"
	"time"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/store/storetest"
)

// TestSimulatorRetriesWithSpeedKnob: a notification the gateway did not
// acknowledge is sent again on the channel's schedule, here 2400 times
// faster (Alipay's first gap of 4 min becomes 0.1 s; WeChat's 15 s, 6 ms).
func TestSimulatorRetriesWithSpeedKnob(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], func(c *gateway.Config) { c.SimSpeed = 2400 })
	proxy := newNotifyProxy(t, e.node.URL)
	e.node.Svc.BaseURL = proxy.srv.URL
	for _, ch := range []struct {
		name  string
		extra map[string]any
	}{{"alipay_qr", nil}, {"wx_pub_qr", map[string]any{"product_id": "P1"}}} {
		t.Run(ch.name, func(t *testing.T) {
			body := e.chargeBody("SPEED"+ch.name[:2], 100)
			body["channel"] = ch.name
			if ch.extra != nil {
				body["extra"] = ch.extra
			}
			r := e.do("POST", "/v1/charges", e.sk(), body)
			id := r.str("id")
			proxy.mu.Lock()
			proxy.drop = true
			proxy.mu.Unlock()
			e.pay(id)
			proxy.mu.Lock()
			proxy.drop = false
			proxy.mu.Unlock()
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if e.do("GET", "/v1/charges/"+id, e.sk(), nil).JSON["paid"] == true {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the channel's retry never arrived")
				}
			}
		})
	}
}
