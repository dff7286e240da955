package gateway_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/store/storetest"
)

// cardCharge tokenizes number and charges it from ip.
func (e *env) cardCharge(orderNo, ip, number string, amount int64) *resp {
	e.t.Helper()
	tok := e.do("POST", "/v1/tokens", e.app.PublishableKeyTest, map[string]any{"card": map[string]any{"number": number, "exp_month": 12,
		"exp_year": time.Now().Year() + 2, "cvc": "123"}})
	if tok.Status != 200 {
		e.t.Fatalf("tokenize: %d %s", tok.Status, tok.Body)
	}
	m := e.chargeBody(orderNo, amount)
	m["channel"], m["currency"], m["client_ip"] = "card", "usd", ip
	m["extra"] = map[string]any{"source": tok.str("id")}
	return e.do("POST", "/v1/charges", e.sk(), m)
}

// TestRiskRuleActions: one rule per action, each on a card charge that
// would otherwise be paid frictionless.
func TestRiskRuleActions(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	rc := e.listen()
	rules := "/v1/apps/" + e.app.AppID + "/risk_rules"
	for _, r := range []map[string]any{
		{"name": "huge", "condition": `amount >= 900000`, "action": "block", "priority": 1},
		{"name": "risky net", "condition": `cidr("100.64.0.0/10").containsIP(ip(client_ip))`, "action": "require_3ds", "priority": 2},
		{"name": "big", "condition": `amount >= 50000 && currency == "usd"`, "action": "review", "priority": 3},
		{"name": "vip", "condition": `client_ip == "192.0.2.77"`, "action": "allow", "priority": 0},
		{"name": "no cards from BR", "condition": `country == "BR" && route == "charge"`, "action": "block", "priority": 4},
		{"name": "no CA cards typed", "condition": `country == "CA" && route == "token"`, "action": "block", "priority": 5},
	} {
		if res := e.do("POST", rules, e.sk(), r); res.Status != 200 || !strings.HasPrefix(res.str("id"), "rr_") {
			t.Fatalf("create rule: %d %s", res.Status, res.Body)
		}
	}
	tests := []struct {
		name   string
		ip     string
		amount int64
		check  func(r *resp) bool
	}{
		{"Allow", "192.0.2.10", 1000, func(r *resp) bool { return r.Status == 200 && r.JSON["paid"] == true }},
		{"Block", "192.0.2.10", 900000, func(r *resp) bool {
			return r.Status == 402 && strings.Contains(string(r.Body), `"risk_blocked"`) && strings.Contains(string(r.Body), "huge")
		}},
		{"AllowRuleFirst", "192.0.2.77", 900000, func(r *resp) bool { return r.Status == 200 && r.JSON["paid"] == true }},
		{"Require3DS", "100.64.3.4", 1000, func(r *resp) bool {
			return r.Status == 200 && r.JSON["paid"] == false && r.str("credential", "card", "status") == "requires_action"
		}},
		{"Review", "192.0.2.10", 60000, func(r *resp) bool {
			return r.Status == 200 && r.JSON["paid"] == false && r.JSON["authorized"] == true && r.JSON["capture"] == false
		}},
	}
	held := ""
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.cardCharge(fmt.Sprintf("RISK%02d", i), tc.ip, "4242424242424242", tc.amount) // a US card
			if !tc.check(r) {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if tc.name == "Review" {
				held = r.str("id")
			}
		})
	}
	// Approving a held charge is capturing it: the review closes with it.
	if r := e.do("POST", "/v1/charges/"+held+"/capture", e.sk(), nil); r.Status != 200 || r.JSON["paid"] != true {
		t.Fatalf("capture the held charge: %d %s", r.Status, r.Body)
	}
	waitFor(t, "risk.review_opened and risk.review_closed", func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		var opened, closed bool
		for _, ev := range rc.events {
			obj, _ := ev["data"].(map[string]any)["object"].(map[string]any)
			switch ev["type"] {
			case "risk.review_opened":
				opened = obj["charge"] == held && obj["action"] == "review"
			case "risk.review_closed":
				closed = obj["charge"] == held && obj["outcome"] == "approved"
			}
		}
		return opened && closed
	})
	// The issuing country (Stripe's country test cards): a rule on charges
	// refuses the Brazilian card's charge naming itself to the merchant; a
	// rule on tokens refuses the Canadian card as it is typed, telling the
	// browser nothing of the rule.
	if r := e.cardCharge("RISKBR", "192.0.2.12", "4000000760000002", 1000); r.Status != 402 || !strings.Contains(string(r.Body), "no cards from BR") {
		t.Fatalf("charge of a BR card: %d %s", r.Status, r.Body)
	}
	tok := e.do("POST", "/v1/tokens", e.app.PublishableKeyTest, map[string]any{"card": map[string]any{"number": "4000001240000000",
		"exp_month": 12, "exp_year": time.Now().Year() + 2, "cvc": "123"}})
	if tok.Status != 402 || tok.str("error", "code") != "risk_blocked" || strings.Contains(string(tok.Body), "CA cards") {
		t.Fatalf("token of a CA card: %d %s", tok.Status, tok.Body)
	}
	// The held charge is the merchant's to capture; its decision is on record.
	ds := e.do("GET", "/v1/apps/"+e.app.AppID+"/risk_decisions", e.sk(), nil)
	if ds.Status != 200 || !strings.Contains(string(ds.Body), `"action":"review"`) || strings.Contains(string(ds.Body), "4242424242424242") {
		t.Fatalf("decisions: %d %s", ds.Status, ds.Body)
	}
}

// TestRiskObjectsIsolation: rules and list entries belong to one app and
// mode; another app's key, or the live key, neither sees nor changes them.
func TestRiskObjectsIsolation(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	other, err := e.node.CreateApp(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	base := "/v1/apps/" + e.app.AppID
	rule := e.do("POST", base+"/risk_rules", e.sk(), map[string]any{"name": "r", "condition": `amount > 1`, "action": "block"})
	entry := e.do("POST", base+"/risk_lists", e.sk(), map[string]any{"list": "block", "kind": "ip", "value": "203.0.113.0/24"})
	if rule.Status != 200 || entry.Status != 200 {
		t.Fatalf("create: %s %s", rule.Body, entry.Body)
	}
	tests := []struct {
		name, method, path, key string
		want                    int
	}{
		{"OwnRule", "GET", base + "/risk_rules/" + rule.str("id"), e.sk(), 200},
		{"OtherAppsKey", "GET", base + "/risk_rules/" + rule.str("id"), other.SecretKeyTest, 404},
		{"OtherAppsPath", "GET", "/v1/apps/" + other.AppID + "/risk_rules/" + rule.str("id"), other.SecretKeyTest, 404},
		{"LiveKey", "GET", base + "/risk_rules/" + rule.str("id"), e.app.SecretKeyLive, 404},
		{"OtherAppDeletesRule", "DELETE", "/v1/apps/" + other.AppID + "/risk_rules/" + rule.str("id"), other.SecretKeyTest, 404},
		{"OtherAppDeletesEntry", "DELETE", "/v1/apps/" + other.AppID + "/risk_lists/" + entry.str("id"), other.SecretKeyTest, 404},
		{"LiveDeletesEntry", "DELETE", base + "/risk_lists/" + entry.str("id"), e.app.SecretKeyLive, 404},
		{"PublishableKey", "GET", base + "/risk_rules", e.app.PublishableKeyTest, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.do(tc.method, tc.path, tc.key, nil); r.Status != tc.want {
				t.Fatalf("%d %s, want %d", r.Status, r.Body, tc.want)
			}
		})
	}
	for _, key := range []string{other.SecretKeyTest, e.app.SecretKeyLive} {
		path := "/v1/apps/" + other.AppID
		if key == e.app.SecretKeyLive {
			path = base
		}
		for _, what := range []string{"/risk_rules", "/risk_lists"} {
			if r := e.do("GET", path+what, key, nil); r.Status != 200 || len(r.JSON["data"].([]any)) != 0 {
				t.Errorf("%s with another app's or mode's key: %d %s", what, r.Status, r.Body)
			}
		}
	}
}

// TestRiskInputErrors: bad rules and entries are refused naming the
// parameter, and nothing is stored.
func TestRiskInputErrors(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	base := "/v1/apps/" + e.app.AppID
	tests := []struct {
		name, path string
		body       string
		param      string
	}{
		{"SyntaxError", "/risk_rules", `{"name":"x","condition":"amount >","action":"block"}`, "condition"},
		{"UnknownFact", "/risk_rules", `{"name":"x","condition":"balance > 1","action":"block"}`, "condition"},
		{"NotBool", "/risk_rules", `{"name":"x","condition":"amount","action":"block"}`, "condition"},
		{"BadAction", "/risk_rules", `{"name":"x","condition":"true","action":"shout"}`, "action"},
		{"MissingName", "/risk_rules", `{"condition":"true","action":"block"}`, "name"},
		{"UnknownParam", "/risk_rules", `{"name":"x","condition":"true","action":"block","when":"now"}`, "when"},
		{"BadList", "/risk_lists", `{"list":"grey","kind":"ip","value":"1.2.3.4"}`, "list"},
		{"BadKind", "/risk_lists", `{"list":"block","kind":"phone","value":"1"}`, "kind"},
		{"BadIP", "/risk_lists", `{"list":"block","kind":"ip","value":"1.2.3"}`, "value"},
		{"PastExpiry", "/risk_lists", `{"list":"block","kind":"ip","value":"1.2.3.4","expires":1}`, "expires"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", base+tc.path, e.sk(), tc.body)
			if r.Status != 400 || r.str("error", "param") != tc.param {
				t.Fatalf("%d %s, want 400 naming %s", r.Status, r.Body, tc.param)
			}
		})
	}
	for _, what := range []string{"/risk_rules", "/risk_lists"} {
		if r := e.do("GET", base+what, e.sk(), nil); len(r.JSON["data"].([]any)) != 0 {
			t.Errorf("%s stored after refusals: %s", what, r.Body)
		}
	}
}

// TestRiskLists: a blocked range refuses its addresses, an allowed address
// inside it pays, and removing the entry lifts it.
func TestRiskLists(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	base := "/v1/apps/" + e.app.AppID + "/risk_lists"
	block := e.do("POST", base, e.sk(), map[string]any{"list": "block", "kind": "ip", "value": "203.0.113.0/24", "note": "abuse"})
	allow := e.do("POST", base, e.sk(), map[string]any{"list": "allow", "kind": "ip", "value": "203.0.113.9"})
	if block.Status != 200 || allow.Status != 200 || block.str("value") != "203.0.113.0/24" {
		t.Fatalf("add: %s %s", block.Body, allow.Body)
	}
	if r := e.do("POST", base, e.sk(), map[string]any{"list": "block", "kind": "ip", "value": "203.0.113.0/24"}); r.Status != 400 {
		t.Fatalf("duplicate entry: %d %s", r.Status, r.Body)
	}
	if r := e.cardCharge("LIST01", "203.0.113.50", "4242424242424242", 1000); r.Status != 402 || !strings.Contains(string(r.Body), "block_list") {
		t.Fatalf("blocked range: %d %s", r.Status, r.Body)
	}
	// The refused charge was never stored: its decision names the order,
	// not a charge id that would answer 404.
	ds := e.do("GET", "/v1/apps/"+e.app.AppID+"/risk_decisions", e.sk(), nil)
	d := ds.JSON["data"].([]any)[0].(map[string]any)
	if d["charge"] != nil || d["facts"].(map[string]any)["order_no"] != "LIST01" || d["rule"] != "block_list" {
		t.Fatalf("decision of the refused charge: %v", d)
	}
	if r := e.cardCharge("LIST02", "203.0.113.9", "4242424242424242", 1000); r.Status != 200 || r.JSON["paid"] != true {
		t.Fatalf("allowed address: %d %s", r.Status, r.Body)
	}
	if r := e.do("DELETE", base+"/"+block.str("id"), e.sk(), nil); r.Status != 200 || r.JSON["deleted"] != true {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := e.cardCharge("LIST03", "203.0.113.50", "4242424242424242", 1000); r.Status != 200 {
		t.Fatalf("after removal: %d %s", r.Status, r.Body)
	}
}
