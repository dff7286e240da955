package consoletest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/polypay/polypay/store"
)

// RiskSeed is what SeedRisk made in test mode.
type RiskSeed struct {
	Held    string // a card charge held for review
	Blocked string // the address a block-list entry refuses
	BlockIP string // an address a built-in rule's block holds
}

// SeedRisk gives the test app's risk pages something to show, through the
// API as a merchant would: a block-list range and charges refused by it, a
// review rule and a card charge it holds, and a card_testing block in
// force (put in the store: provoking one takes many declined cards).
func (e *Env) SeedRisk() RiskSeed {
	e.T.Helper()
	s := RiskSeed{Blocked: "198.51.100.7", BlockIP: "192.0.2.66"}
	base := "/v1/apps/" + e.App.AppID
	if st, r := e.API("POST", base+"/risk_lists", map[string]any{"list": "block", "kind": "ip", "value": "198.51.100.0/24",
		"note": "abuse reports from the shared hosting range"}); st != 200 {
		e.T.Fatalf("list entry: %d %v", st, r)
	}
	if st, r := e.API("POST", base+"/risk_rules", map[string]any{"name": "large USD card payments",
		"condition": `amount >= 50000 && currency == "usd" && !(client_ip in ["192.0.2.200", "192.0.2.201"])`, "action": "review", "priority": 10}); st != 200 {
		e.T.Fatalf("rule: %d %v", st, r)
	}
	for range 3 {
		if st, _ := e.API("POST", "/v1/charges", map[string]any{"order_no": OrderNo("RB"), "app": map[string]any{"id": e.App.AppID},
			"channel": "alipay_qr", "amount": 100, "currency": "cny", "client_ip": s.Blocked, "subject": "risk", "body": "blocked"}); st != 402 {
			e.T.Fatalf("a charge from a blocked range: %d", st)
		}
	}
	s.Held = e.heldCardCharge()
	ctx := context.Background()
	now := time.Now().Unix()
	if err := e.Node.DB.Write(ctx, func(tx *store.Tx) error {
		return tx.PutRiskBlock(ctx, store.RiskBlock{AppID: e.App.AppID, Kind: "ip", Value: s.BlockIP, Rule: "card_testing",
			Until: now + 3600, Created: now})
	}); err != nil {
		e.T.Fatal(err)
	}
	return s
}

// heldCardCharge tokenizes a good test card and charges 600 USD with it,
// which SeedRisk's rule holds for review.
func (e *Env) heldCardCharge() string {
	e.T.Helper()
	st, tok := e.apiWith(e.App.PublishableKeyTest, "POST", "/v1/tokens", map[string]any{"card": map[string]any{
		"number": "4242424242424242", "exp_month": 12, "exp_year": time.Now().Year() + 2, "cvc": "123"}})
	if st != 200 {
		e.T.Fatalf("tokenize: %d %v", st, tok)
	}
	st, ch := e.API("POST", "/v1/charges", map[string]any{"order_no": OrderNo("RH"), "app": map[string]any{"id": e.App.AppID},
		"channel": "card", "amount": 60000, "currency": "usd", "client_ip": "192.0.2.10", "subject": "risk", "body": "held",
		"extra": map[string]any{"source": tok["id"]}})
	if st != 200 || ch["authorized"] != true || ch["paid"] == true {
		e.T.Fatalf("held charge: %d %v", st, ch)
	}
	return ch["id"].(string)
}

// apiWith calls the API with the given key (tokens take the publishable one).
func (e *Env) apiWith(key, method, path string, body any) (int, map[string]any) {
	e.T.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, e.Node.URL+path, bytes.NewReader(b))
	if err != nil {
		e.T.Fatal(err)
	}
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		e.T.Fatalf("%s %s: %d, %v", method, path, res.StatusCode, err)
	}
	return res.StatusCode, out
}
