package gateway_test

import (
	"testing"

	"github.com/polypay/polypay/store/storetest"
)

// TestChannelProfitSharingHeldBack: a test-mode charge may ask the channel
// to hold its funds for profit sharing (the connectors split and unfreeze
// in the sandbox), a live one may not yet, since no API drives the split
// and the funds would stay frozen: refused naming the parameter, nothing
// written.
func TestChannelProfitSharingHeldBack(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	body := e.chargeBody("HOLD0001", 500)
	body["channel"], body["extra"] = "wx_pub_qr", map[string]any{"product_id": "p1", "profit_sharing": true}
	ok(t, "test mode", e.do("POST", "/v1/charges", e.sk(), body))
	refused(t, "live mode", e.do("POST", "/v1/charges", e.app.SecretKeyLive, body), 400, "extra[profit_sharing]")
	if r := ok(t, "live list", e.do("GET", "/v1/charges?app="+e.app.AppID+"&limit=10", e.app.SecretKeyLive, nil)); len(r.JSON["data"].([]any)) != 0 {
		t.Fatalf("a refused live charge was written: %s", r.Body)
	}
}
