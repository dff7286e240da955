package unionpaysim

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPreAuthRefusals drives holds through the back gateway with raw
// requests and checks UnionPay's answers: completion within the hold,
// refusals after cancel, completion or expiry, and the file.
func TestPreAuthRefusals(t *testing.T) {
	b := newBackend(t)
	var mu sync.Mutex
	skew := time.Duration(0)
	b.sim.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) }
	backURL := b.srv.URL + "/gateway/api/backTransReq.do"
	n := 0
	// hold makes a paid 1000 fen pre-authorization and returns its queryId.
	hold := func(t *testing.T) string {
		t.Helper()
		n++
		orderID := "chHold" + strings.Repeat("0", 4) + string(rune('a'+n))
		_, body := post(t, b.srv.URL+"/gateway/api/appTransReq.do", b.request("02", orderID, merchantKey, nil))
		if a := answer(t, body); a["respCode"] != "00" || a["tn"] == "" {
			t.Fatalf("pre-authorization: %s", body)
		}
		if err := b.sim.Pay(context.Background(), merID, orderID, true); err != nil {
			t.Fatal(err)
		}
		b.sim.mu.Lock()
		defer b.sim.mu.Unlock()
		return b.sim.trades[key(merID, orderID)].queryID
	}
	back := func(t *testing.T, txnType, orderID, origQryID, amount string) map[string]string {
		t.Helper()
		_, body := post(t, backURL, b.request(txnType, orderID, merchantKey, func(v map[string]string) {
			v["txnSubType"], v["origQryId"], v["txnAmt"] = "00", origQryID, amount
		}))
		return answer(t, body)
	}
	type step struct{ txnType, order, amount, code string }
	tests := []struct {
		name  string
		skew  time.Duration
		steps []step
	}{
		{"CompleteLessThenRefund", 0, []step{{"03", "pcA", "1001", "33"}, {"03", "pcA", "600", "00"}, {"03", "pcA", "600", "12"},
			{"03", "pcB", "100", "35"}, {"32", "pvA", "1000", "35"}, {"31", "rvA", "600", "35"}}},
		{"CancelThenComplete", 0, []step{{"32", "pvC", "999", "36"}, {"32", "pvC", "1000", "00"}, {"03", "pcC", "100", "35"}, {"32", "pvD", "1000", "35"}}},
		{"ErrPurchaseRefundOfHold", 0, []step{{"04", "reE", "100", "35"}}},
		{"Expired", HoldPeriod + time.Minute, []step{{"03", "pcF", "100", "35"}, {"32", "pvF", "1000", "35"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			qid := hold(t)
			mu.Lock()
			skew = tc.skew
			mu.Unlock()
			defer func() { mu.Lock(); skew = 0; mu.Unlock() }()
			var finishQID string
			for _, s := range tc.steps {
				order := s.order + "0000" + string(rune('a'+n))
				a := back(t, s.txnType, order, qid, s.amount)
				if a["respCode"] != s.code {
					t.Fatalf("%s %s %s: %v, want %s", s.txnType, order, s.amount, a, s.code)
				}
				if s.txnType == "03" && s.code == "00" {
					finishQID = a["queryId"]
				}
			}
			if finishQID == "" {
				return
			}
			// Refunds go against the completion, bounded by what it took.
			if a := back(t, "04", "reOver0000"+string(rune('a'+n)), finishQID, "601"); a["respCode"] != "36" {
				t.Fatalf("over-refund: %v", a)
			}
			if a := back(t, "04", "reOK00000"+string(rune('a'+n)), finishQID, "600"); a["respCode"] != "00" {
				t.Fatalf("refund: %v", a)
			}
		})
	}
	t.Run("NotifiedAndFiled", func(t *testing.T) {
		deadline := time.Now().Add(5 * time.Second)
		types := map[string]int{}
		for time.Now().Before(deadline) {
			b.mu.Lock()
			types = map[string]int{}
			for _, v := range b.notified {
				types[v.Get("txnType")]++
			}
			b.mu.Unlock()
			if types["02"] == 4 && types["03"] == 1 && types["32"] == 1 && types["04"] == 1 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if types["02"] != 4 || types["03"] != 1 || types["32"] != 1 || types["04"] != 1 {
			t.Fatalf("notifications by txnType = %v", types)
		}
		b.sim.mu.Lock()
		defer b.sim.mu.Unlock()
		for _, tr := range b.sim.trades {
			holdOnly := tr.txnType == "02" || tr.txnType == "32"
			if l := zmLine(tr); holdOnly != strings.Contains(l, " C000000000000 C000000000000 ") && tr.txnType != "04" {
				t.Fatalf("txnType %s file line %q: holds move no money, completions do", tr.txnType, l)
			}
		}
	})
}
