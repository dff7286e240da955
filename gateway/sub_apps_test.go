package gateway_test

import (
	"strings"
	"testing"

	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// TestSubApps: a platform makes sub-apps two levels deep, acts for them
// with its own keys (a charge for a sub-app, paid on the platform's
// sandbox accounts), bans and re-allows a channel of one; each sub-app's
// own keys see its objects and its sub-apps' only; siblings, other
// platforms and the other mode see nothing; the platform's credentials
// are not shown to them; a deleted sub-app's keys stop working.
func TestSubApps(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen() // the platform's endpoint, verifying with the platform's key
		plat := e.app.AppID
		create := func(under, key string, body map[string]any) *resp {
			return e.do("POST", "/v1/apps/"+under+"/sub_apps", key, body)
		}
		a := ok(t, "sub-app A", create(plat, e.sk(), map[string]any{"display_name": "Shop A", "user": "u_a", "description": "first shop",
			"metadata": map[string]any{"region": "east"}}))
		aID, aKey := a.str("id"), a.str("keys", "secret_key_test")
		if a.str("object") != "sub_app" || a.num("level") != 1 || a.str("parent_app") != plat || !strings.HasPrefix(aKey, "sk_test_") {
			t.Fatalf("sub-app A %s", a.Body)
		}
		bb := ok(t, "sub-app B under A", create(plat, e.sk(), map[string]any{"display_name": "Shop B", "parent_app": aID}))
		bID, bKey := bb.str("id"), bb.str("keys", "secret_key_test")
		if bb.num("level") != 2 || bb.str("parent_app") != aID {
			t.Fatalf("sub-app B %s", bb.Body)
		}
		if b2 := ok(t, "under A by path", create(aID, e.sk(), map[string]any{"display_name": "Shop B2"})); b2.num("level") != 2 || b2.str("parent_app") != aID {
			t.Fatalf("sub-app under A by path %s", b2.Body)
		}
		c := ok(t, "sibling C", create(plat, e.sk(), map[string]any{"display_name": "Shop C"}))
		cKey := c.str("keys", "secret_key_test")
		refused(t, "no display_name", create(plat, e.sk(), map[string]any{"user": "x"}), 400, "display_name")
		refused(t, "foreign parent_app", create(plat, e.sk(), map[string]any{"display_name": "x", "parent_app": "app_nope0000000000"}), 400, "parent_app")

		if g := ok(t, "get", e.do("GET", "/v1/apps/"+plat+"/sub_apps/"+bID, e.sk(), nil)); g.str("display_name") != "Shop B" || g.JSON["keys"] != nil {
			t.Fatalf("get B %s", g.Body)
		}
		if l := ok(t, "list", e.do("GET", "/v1/apps/"+plat+"/sub_apps?limit=10", e.sk(), nil)); len(ids(l)) != 2 {
			t.Fatalf("the platform's direct sub-apps %v", ids(l))
		}
		if u := ok(t, "update", e.do("PUT", "/v1/apps/"+plat+"/sub_apps/"+aID, e.sk(), map[string]any{"description": "renamed"})); u.str("description") != "renamed" || u.str("display_name") != "Shop A" {
			t.Fatalf("updated %s", u.Body)
		}

		// The platform's key takes a payment for A, on the platform's
		// sandbox accounts; A's key pays it in the sandbox.
		body := e.chargeBody("SUBAPP0001", 1200)
		body["app"] = map[string]any{"id": aID}
		ch := ok(t, "charge for A", e.do("POST", "/v1/charges", e.sk(), body))
		if ch.str("app") != aID {
			t.Fatalf("charge %s", ch.Body)
		}
		if p := e.do("POST", "/v1/test/charges/"+ch.str("id")+"/pay", aKey, `{"result":"success"}`); p.Status != 200 || p.JSON["paid"] != true {
			t.Fatalf("pay %d %s", p.Status, p.Body)
		}
		ok(t, "A reads its charge", e.do("GET", "/v1/charges/"+ch.str("id"), aKey, nil))
		// The platform hears about its merchant's payment, signed with its own key.
		waitFor(t, "A's charge.succeeded at the platform", func() bool { return rc.count(ch.str("id"), "charge.succeeded") == 1 })
		rc.mu.Lock()
		bad := rc.bad
		rc.mu.Unlock()
		if bad != 0 {
			t.Fatalf("%d webhooks did not verify with the platform's key", bad)
		}
		// The platform's key reaches A's charge by its id alone, and
		// refunds it, as Ping++'s account keys do.
		if g := ok(t, "the platform reads A's charge", e.do("GET", "/v1/charges/"+ch.str("id"), e.sk(), nil)); g.str("app") != aID {
			t.Fatalf("platform read %s", g.Body)
		}
		ok(t, "the platform refunds A's charge", e.do("POST", "/v1/charges/"+ch.str("id")+"/refunds", e.sk(), map[string]any{"amount": 200, "description": "partial"}))
		refused(t, "B reads A's charge", e.do("GET", "/v1/charges/"+ch.str("id"), bKey, nil), 404, "id")
		refused(t, "C reads A's charge", e.do("GET", "/v1/charges/"+ch.str("id"), cKey, nil), 404, "id")
		refused(t, "live key reads A's charge", e.do("GET", "/v1/charges/"+ch.str("id"), e.app.SecretKeyLive, nil), 404, "id")
		other, err := e.node.CreateApp(ctx, "other platform")
		if err != nil {
			t.Fatal(err)
		}
		refused(t, "another platform reads A's charge", e.do("GET", "/v1/charges/"+ch.str("id"), other.SecretKeyTest, nil), 404, "id")
		body["order_no"] = "SUBAPP0002"
		refused(t, "another platform acts for A", e.do("POST", "/v1/charges", other.SecretKeyTest, body), 400, "app")
		refused(t, "C acts for A", e.do("POST", "/v1/charges", cKey, body), 400, "app")
		up := e.chargeBody("SUBAPP0003", 100)
		refused(t, "A acts for its platform", e.do("POST", "/v1/charges", aKey, up), 400, "app")
		refused(t, "another platform reads A", e.do("GET", "/v1/apps/"+other.AppID+"/sub_apps/"+aID, other.SecretKeyTest, nil), 404, "id")
		refused(t, "A reads the platform's credentials", e.do("GET", "/v1/apps/"+aID+"/channels/alipay", aKey, nil), 404, "id")
		// A's key acts for B, its own sub-app.
		bBody := e.chargeBody("SUBAPP0004", 300)
		bBody["app"] = map[string]any{"id": bID}
		if r := ok(t, "A charges for B", e.do("POST", "/v1/charges", aKey, bBody)); r.str("app") != bID {
			t.Fatalf("A's charge for B %s", r.Body)
		}

		// A banned channel.
		chURL := "/v1/apps/" + plat + "/sub_apps/" + aID + "/channels"
		bc := ok(t, "ban", e.do("POST", chURL, e.sk(), map[string]any{"channel": "alipay_qr", "banned": true, "banned_msg": "店铺已暂停收款"}))
		if bc.JSON["banned"] != true || bc.str("banned_msg") != "店铺已暂停收款" || len(bc.JSON["params"].(map[string]any)) != 0 {
			t.Fatalf("banned channel %s", bc.Body)
		}
		body["order_no"] = "SUBAPP0005"
		if r := e.do("POST", "/v1/charges", e.sk(), body); r.Status != 400 || r.str("error", "param") != "channel" || !strings.Contains(r.str("error", "message"), "店铺已暂停收款") {
			t.Fatalf("a charge on a banned channel: %d %s", r.Status, r.Body)
		}
		ok(t, "allow", e.do("PUT", chURL+"/alipay_qr", e.sk(), map[string]any{"banned": false}))
		ok(t, "charge after allowing", e.do("POST", "/v1/charges", e.sk(), body))
		if g := ok(t, "get A", e.do("GET", "/v1/apps/"+plat+"/sub_apps/"+aID, e.sk(), nil)); len(g.JSON["available_methods"].([]any)) != 1 {
			t.Fatalf("available_methods %s", g.Body)
		}
		refused(t, "C's channel as A", e.do("GET", "/v1/apps/"+plat+"/sub_apps/"+aID+"/channels/alipay_qr", cKey, nil), 404, "app")
		ok(t, "delete channel", e.do("DELETE", chURL+"/alipay_qr", e.sk(), nil))
		refused(t, "deleted channel", e.do("GET", chURL+"/alipay_qr", e.sk(), nil), 404, "id")

		// Onboarding: the bank account sealed, its last four shown; pending
		// takes test-mode payments only; suspended none.
		const account = "6222020200112233445"
		onb := ok(t, "onboarding", e.do("PUT", "/v1/apps/"+plat+"/sub_apps/"+aID, e.sk(), map[string]any{"onboarding": map[string]any{
			"business_name": "东区咖啡有限公司", "license_no": "91310000MA1FL0XX2Q", "contact_name": "李四", "contact_phone": "13800138000",
			"bank_account": map[string]any{"name": "东区咖啡有限公司", "bank": "工商银行", "number": account}}}))
		if onb.str("status") != "pending" || onb.str("onboarding", "bank_account", "last4") != "3445" || strings.Contains(string(onb.Body), account) {
			t.Fatalf("onboarding %s", onb.Body)
		}
		var dump []string
		if err := e.node.DB.Read(ctx, func(tx *store.Tx) (err error) { dump, err = tx.DumpTable(ctx, "sub_apps"); return }); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.Join(dump, "\n"), account) || !strings.Contains(strings.Join(dump, "\n"), "3445") {
			t.Fatal("the bank account number is stored in plaintext")
		}
		refused(t, "bad account", e.do("PUT", "/v1/apps/"+plat+"/sub_apps/"+aID, e.sk(), map[string]any{"onboarding": map[string]any{
			"business_name": "x", "bank_account": map[string]any{"name": "x", "number": "12ab"}}}), 400, "onboarding[bank_account][number]")
		refused(t, "bad status", e.do("PUT", "/v1/apps/"+plat+"/sub_apps/"+aID, e.sk(), map[string]any{"status": "closed"}), 400, "status")
		refused(t, "A changes its own status", e.do("PUT", "/v1/apps/"+aID+"/sub_apps/"+aID, aKey, map[string]any{"status": "active"}), 404, "id")
		live := e.chargeBody("SUBAPP0006", 100)
		live["app"] = map[string]any{"id": aID}
		refused(t, "a live payment while pending", e.do("POST", "/v1/charges", e.app.SecretKeyLive, live), 400, "app")
		ok(t, "suspend", e.do("PUT", "/v1/apps/"+plat+"/sub_apps/"+aID, e.sk(), map[string]any{"status": "suspended"}))
		body["order_no"] = "SUBAPP0007"
		refused(t, "a payment while suspended", e.do("POST", "/v1/charges", e.sk(), body), 400, "app")
		if r := ok(t, "activate", e.do("PUT", "/v1/apps/"+plat+"/sub_apps/"+aID, e.sk(), map[string]any{"status": "active"})); r.str("status") != "active" {
			t.Fatalf("activated %s", r.Body)
		}
		ok(t, "a payment once active", e.do("POST", "/v1/charges", e.sk(), body))
		if r := e.do("POST", "/v1/charges", e.app.SecretKeyLive, live); r.str("error", "param") == "app" {
			t.Fatalf("a live payment once active is refused for its status: %s", r.Body)
		}

		// Deletion: A still has sub-apps; B goes, and its key with it.
		refused(t, "delete A with sub-apps", e.do("DELETE", "/v1/apps/"+plat+"/sub_apps/"+aID, e.sk(), nil), 400, "id")
		if d := ok(t, "delete B", e.do("DELETE", "/v1/apps/"+plat+"/sub_apps/"+bID, e.sk(), nil)); d.JSON["deleted"] != true {
			t.Fatalf("delete %s", d.Body)
		}
		if r := e.do("GET", "/v1/charges?app[id]="+bID, bKey, nil); r.Status != 401 {
			t.Fatalf("a deleted sub-app's key: %d %s", r.Status, r.Body)
		}
		refused(t, "get deleted", e.do("GET", "/v1/apps/"+plat+"/sub_apps/"+bID, e.sk(), nil), 404, "id")
	})
}
