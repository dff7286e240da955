package cashier_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRiskRefusalIsNeutral: a customer the merchant's block list refuses
// is told the payment cannot be completed, never which rule fired, from
// both the card form and a wallet channel.
func TestRiskRefusalIsNeutral(t *testing.T) {
	nd := start(t)
	if s, _, raw := nd.do("POST", "/v1/apps/"+nd.app.AppID+"/risk_lists",
		map[string]any{"list": "block", "kind": "ip", "value": "127.0.0.0/8", "note": "test"}); s != 200 {
		t.Fatalf("block list: %d %s", s, raw)
	}
	// The order comes from the merchant's server (orders are screened by
	// customer and lists, and name no client address); the customer then
	// pays in the cashier from the blocked address.
	s, o, raw := nd.do("POST", "/v1/orders", nd.orderBody("risk-2"))
	if s != 200 {
		t.Fatalf("order: %d %s", s, raw)
	}
	url := o["cashier_url"].(string)
	tok := url[strings.Index(url, "?t=")+3:]
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		name, path string
		form       map[string][]string
	}{
		{"Card", "/card", map[string][]string{"t": {tok}, "number": {"4242424242424242"}, "exp_month": {"12"},
			"exp_year": {time.Now().Format("2006")[:2] + "40"}, "cvc": {"123"}}},
		{"Wallet", "/pay", map[string][]string{"t": {tok}, "channel": {"alipay_qr"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := client.PostForm(nd.n.URL+"/cashier/"+o["id"].(string)+tc.path, tc.form)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			loc := res.Header.Get("Location")
			if res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "err=risk") {
				t.Fatalf("%d to %q, want the risk refusal", res.StatusCode, loc)
			}
			if !strings.HasPrefix(loc, "http") {
				loc = nd.n.URL + loc
			}
			page, err := http.Get(loc)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(page.Body)
			page.Body.Close()
			if !strings.Contains(string(b), "暂时无法完成支付") || strings.Contains(string(b), "block_list") {
				t.Fatalf("page does not show the neutral refusal, or names the rule")
			}
		})
	}
}

// TestRiskReviewWaits: a wallet charge the merchant's rule holds for
// review shows the customer a neutral wait (no rule, no QR), and the QR
// once the merchant approves.
func TestRiskReviewWaits(t *testing.T) {
	nd := start(t)
	if s, _, raw := nd.do("POST", "/v1/apps/"+nd.app.AppID+"/risk_rules",
		map[string]any{"name": "every QR", "condition": `channel == "alipay_qr"`, "action": "review"}); s != 200 {
		t.Fatalf("rule: %d %s", s, raw)
	}
	s, o, raw := nd.do("POST", "/v1/orders", nd.orderBody("risk-review"))
	if s != 200 {
		t.Fatalf("order: %d %s", s, raw)
	}
	cashierURL := o["cashier_url"].(string)
	tok := cashierURL[strings.Index(cashierURL, "?t=")+3:]
	res, err := http.PostForm(nd.n.URL+"/cashier/"+o["id"].(string)+"/pay", map[string][]string{"t": {tok}, "channel": {"alipay_qr"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	page := string(b)
	if !strings.Contains(page, `id="review_section"`) || strings.Contains(page, `id="qr_section"`) || strings.Contains(page, "every QR") {
		t.Fatalf("held charge's page: %.600s", page)
	}
	_, list, _ := nd.do("GET", "/v1/charges?limit=1&app[id]="+nd.app.AppID, nil)
	id := list["data"].([]any)[0].(map[string]any)["id"].(string)
	if s, _, raw := nd.do("POST", "/v1/charges/"+id+"/risk_review", map[string]any{"action": "approve"}); s != 200 {
		t.Fatalf("approve: %d %s", s, raw)
	}
	res, err = http.Get(res.Request.URL.String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `id="qr_section"`) {
		t.Fatalf("after approval the page shows no QR: %.600s", b)
	}
}
