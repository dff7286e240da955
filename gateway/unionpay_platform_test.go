package gateway_test

import (
	"testing"
	"time"

	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/reconcile"
	"github.com/polypay/polypay/store/storetest"
)

// TestUnionPayPlatformMode: a sub-app registered as a sub-merchant of its
// platform's UnionPay merchant (平台类商户) takes payments on the
// platform's credentials with its subMerId; UnionPay keeps the trade as the
// sub-merchant's; refunds name it too; once UnionPay ends the registration
// payments are refused 31. The registration is checked field by field, and
// one sub-app cannot register another's.
func TestUnionPayPlatformMode(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		created := ok(t, "sub-app", e.do("POST", "/v1/apps/"+e.app.AppID+"/sub_apps", e.sk(), map[string]any{"display_name": "二级商户"}))
		sub, subKey := created.str("id"), created.str("keys", "secret_key_test")
		path := "/v1/apps/" + e.app.AppID + "/sub_apps/" + sub + "/authorizations/upacp"
		if st := ok(t, "status", e.do("GET", path, e.sk(), nil)); st.str("status") != "none" || st.JSON["sub_mer_id"] != nil {
			t.Fatalf("before: %s", st.Body)
		}
		reg := map[string]any{"sub_mer_id": "SUB0000001", "sub_mer_name": "测试二级商户有限公司", "sub_mer_abbr": "测试小店"}
		for _, tc := range []struct {
			name, param string
			set         map[string]any
		}{
			{"no name", "sub_mer_name", map[string]any{"sub_mer_name": nil}},
			{"bad id", "sub_mer_id", map[string]any{"sub_mer_id": "SUB-1"}},
			{"unknown field", "sub_mchid", map[string]any{"sub_mchid": "1900000109"}},
		} {
			body := map[string]any{}
			for k, v := range reg {
				body[k] = v
			}
			for k, v := range tc.set {
				if v == nil {
					delete(body, k)
				} else {
					body[k] = v
				}
			}
			refused(t, tc.name, e.do("POST", path, e.sk(), body), 400, tc.param)
		}
		if st := ok(t, "register", e.do("POST", path, e.sk(), reg)); st.str("status") != "active" || st.str("sub_mer_id") != "SUB0000001" {
			t.Fatalf("registered: %s", st.Body)
		}
		// Only the platform registers its sub-merchants: not the sub-app
		// itself, not another platform.
		other, err := e.node.CreateApp(ctx, "other platform")
		if err != nil {
			t.Fatal(err)
		}
		for name, try := range map[string]struct{ path, key string }{
			"the sub-app as its own platform": {"/v1/apps/" + sub + "/sub_apps/" + sub + "/authorizations/upacp", subKey},
			"another platform":                {"/v1/apps/" + other.AppID + "/sub_apps/" + sub + "/authorizations/upacp", other.SecretKeyTest},
		} {
			if r := e.do("POST", try.path, try.key, reg); r.Status != 404 {
				t.Errorf("%s registers: %d %s", name, r.Status, r.Body)
			}
		}
		// Registrations are per mode: live mode needs the platform's live
		// UnionPay credentials, which it has not set.
		refused(t, "live mode without live credentials", e.do("POST", path, e.app.SecretKeyLive, reg), 400, "channel")

		body := e.chargeBody("UPPLAT0001", 900)
		body["app"], body["channel"] = map[string]any{"id": sub}, unionpay.ChannelApp
		ch := ok(t, "charge", e.do("POST", "/v1/charges", e.sk(), body))
		if p := e.pay(ch.str("id")); p.JSON["paid"] != true {
			t.Fatalf("pay: %s", p.Body)
		}
		waitFor(t, "paid", func() bool {
			return ok(t, "charge", e.do("GET", "/v1/charges/"+ch.str("id"), e.sk(), nil)).JSON["paid"] == true
		})
		merID, err := e.node.Registry.SandboxMerchantID(ctx, e.app.AppID, "upacp")
		if err != nil {
			t.Fatal(err)
		}
		sim := e.node.Sandbox.UnionPaySim()
		orderID, _ := unionpay.OrderID(ch.str("id"))
		if got, found := sim.SubMerchantOf(merID, orderID); !found || got != "SUB0000001" {
			t.Fatalf("at UnionPay the trade is for sub-merchant %q (found %v)", got, found)
		}
		re := ok(t, "refund", e.do("POST", "/v1/charges/"+ch.str("id")+"/refunds", e.sk(), map[string]any{"amount": 400, "description": "r"}))
		e.settle("/v1/charges/"+ch.str("id")+"/refunds/"+re.str("id"), "succeeded")

		// The platform's statement lists the sub-merchant's trades: the
		// platform's reconciliation matches them instead of reporting
		// payments polypay does not know.
		day := time.Now().In(time.FixedZone("CST", 8*3600)).Add(time.Hour).Format("2006-01-02")
		res, err := e.node.Recon.Run(ctx, reconcile.Request{AppID: e.app.AppID, Family: "upacp", Day: day})
		if err != nil || len(res.Discrepancies) != 0 || res.Run.Matched != 2 {
			for _, d := range res.Discrepancies {
				t.Logf("discrepancy %+v", *d)
			}
			t.Fatalf("the platform's reconciliation: %v %+v", err, res.Run)
		}

		sim.RemoveSubMerchant(merID, "SUB0000001")
		body["order_no"] = "UPPLAT0002"
		if r := e.do("POST", "/v1/charges", e.sk(), body); r.Status < 400 || r.str("error", "code") != "31" {
			t.Fatalf("a payment after UnionPay ended the registration: %d %s", r.Status, r.Body)
		}
		checkLedger(t, e)
	})
}
