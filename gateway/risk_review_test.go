package gateway_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/store/storetest"
)

// reviewsClosed lists the outcomes of risk.review_closed events about a
// charge, in arrival order.
func (rc *receiver) reviewsClosed(chargeID string) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, ev := range rc.events {
		obj, _ := ev["data"].(map[string]any)["object"].(map[string]any)
		if ev["type"] == "risk.review_closed" && obj["charge"] == chargeID {
			out = append(out, fmt.Sprint(obj["outcome"]))
		}
	}
	return out
}

// heldQR creates an alipay_qr charge that the app's review rule holds
// unsent, and checks that it is held: no credential, risk.review open.
func (e *env) heldQR(t *testing.T, orderNo string, extra map[string]any) *resp {
	t.Helper()
	body := e.chargeBody(orderNo, 60000)
	for k, v := range extra {
		body[k] = v
	}
	r := e.do("POST", "/v1/charges", e.sk(), body)
	if r.Status != 200 || r.str("risk", "review") != "open" || r.str("risk", "hold") != "unsent" || len(r.JSON["credential"].(map[string]any)) != 0 {
		t.Fatalf("held charge: %d %s", r.Status, r.Body)
	}
	return r
}

// TestRiskReviewUnsent: a wallet charge a rule sends to review is stored
// without calling the channel; approving sends it exactly once (however
// many approvals race), rejecting closes it with risk_rejected, and an
// unreviewed one closes at time_expire with risk_review_expired.
func TestRiskReviewUnsent(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		if r := e.do("POST", "/v1/apps/"+e.app.AppID+"/risk_rules", e.sk(), map[string]any{"name": "big QR",
			"condition": `channel == "alipay_qr" && amount >= 50000`, "action": "review"}); r.Status != 200 {
			t.Fatalf("rule: %d %s", r.Status, r.Body)
		}

		t.Run("NotSentUntilApproved", func(t *testing.T) {
			held := e.heldQR(t, "RVW001", nil)
			id := held.str("id")
			// Retrying the create, or paying in the sandbox, reaches no channel.
			if again := e.do("POST", "/v1/charges", e.sk(), e.chargeBody("RVW001", 60000)); again.str("id") != id ||
				len(again.JSON["credential"].(map[string]any)) != 0 {
				t.Fatalf("retried create: %s", again.Body)
			}
			if r := e.do("POST", "/v1/test/charges/"+id+"/pay", e.sk(), `{"result":"success"}`); r.Status != 400 || r.str("error", "param") != "id" {
				t.Fatalf("sandbox pay of a held charge: %d %s", r.Status, r.Body)
			}
			var wg sync.WaitGroup
			answers := make([]*resp, 8)
			for i := range answers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answers[i] = e.do("POST", "/v1/charges/"+id+"/risk_review", e.sk(), `{"action":"approve"}`)
				}()
			}
			wg.Wait()
			for _, a := range answers {
				if a.Status != 200 || a.str("risk", "review") != "approved" || a.str("credential", "alipay_qr") == "" {
					t.Fatalf("approve: %d %s", a.Status, a.Body)
				}
			}
			if paid := e.pay(id); paid.JSON["paid"] != true {
				t.Fatalf("pay after approval: %s", paid.Body)
			}
			waitFor(t, "charge.succeeded", func() bool { return rc.count(id, "charge.succeeded") == 1 })
			waitFor(t, "one risk.review_closed", func() bool { return len(rc.reviewsClosed(id)) == 1 })
			if got := rc.reviewsClosed(id); got[0] != "approved" {
				t.Fatalf("review closed %v", got)
			}
			if r := e.do("POST", "/v1/charges/"+id+"/risk_review", e.sk(), `{"action":"reject"}`); r.Status != 400 || r.str("error", "param") != "id" {
				t.Fatalf("reject after approval: %d %s", r.Status, r.Body)
			}
		})

		t.Run("Rejected", func(t *testing.T) {
			id := e.heldQR(t, "RVW002", nil).str("id")
			r := e.do("POST", "/v1/charges/"+id+"/risk_review", e.sk(), `{"action":"reject"}`)
			if r.Status != 200 || r.str("failure_code") != "risk_rejected" || r.str("risk", "review") != "rejected" || r.JSON["paid"] != false {
				t.Fatalf("reject: %d %s", r.Status, r.Body)
			}
			if r := e.do("POST", "/v1/charges/"+id+"/risk_review", e.sk(), `{"action":"approve"}`); r.Status != 400 {
				t.Fatalf("approve after reject: %d %s", r.Status, r.Body)
			}
			waitFor(t, "charge.failed", func() bool { return rc.count(id, "charge.failed") == 1 })
			waitFor(t, "risk.review_closed rejected", func() bool { r := rc.reviewsClosed(id); return len(r) == 1 && r[0] == "rejected" })
		})

		t.Run("Expires", func(t *testing.T) {
			id := e.heldQR(t, "RVW003", map[string]any{"time_expire": time.Now().Unix() + 600}).str("id")
			e.node.Svc.Now = func() time.Time { return time.Now().Add(11 * time.Minute) }
			_, err := e.node.Svc.Poll(ctx)
			e.node.Svc.Now = nil
			if err != nil {
				t.Fatal(err)
			}
			r := e.do("GET", "/v1/charges/"+id, e.sk(), nil)
			if r.str("failure_code") != "risk_review_expired" || r.str("risk", "review") != "expired" {
				t.Fatalf("after expiry: %s", r.Body)
			}
			waitFor(t, "risk.review_closed expired", func() bool { r := rc.reviewsClosed(id); return len(r) == 1 && r[0] == "expired" })
		})

		t.Run("Errors", func(t *testing.T) {
			other, err := e.node.CreateApp(ctx, "other")
			if err != nil {
				t.Fatal(err)
			}
			id := e.heldQR(t, "RVW004", nil).str("id")
			plain := e.createCharge("RVW005", 100)
			tests := []struct {
				name, id, key, body string
				status              int
				param               string
			}{
				{"BadAction", id, e.sk(), `{"action":"maybe"}`, 400, "action"},
				{"MissingAction", id, e.sk(), `{}`, 400, "action"},
				{"UnknownParam", id, e.sk(), `{"action":"approve","why":"x"}`, 400, "why"},
				{"NotUnderReview", plain, e.sk(), `{"action":"approve"}`, 400, "id"},
				{"OtherApp", id, other.SecretKeyTest, `{"action":"approve"}`, 404, ""},
				{"LiveMode", id, e.app.SecretKeyLive, `{"action":"approve"}`, 404, ""},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					r := e.do("POST", "/v1/charges/"+tc.id+"/risk_review", tc.key, tc.body)
					if r.Status != tc.status || (tc.param != "" && r.str("error", "param") != tc.param) {
						t.Fatalf("%d %s, want %d naming %q", r.Status, r.Body, tc.status, tc.param)
					}
				})
			}
			// Nothing above touched the held charge.
			if r := e.do("GET", "/v1/charges/"+id, e.sk(), nil); r.str("risk", "review") != "open" {
				t.Fatalf("held charge after refused decisions: %s", r.Body)
			}
		})
	})
}
