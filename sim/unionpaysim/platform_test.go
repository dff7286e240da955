package unionpaysim

import "testing"

// TestPlatformAccess: what the sim takes from a platform merchant
// (accessType 2) and what it refuses, with UnionPay's codes.
func TestPlatformAccess(t *testing.T) {
	b := newBackend(t)
	b.sim.RemoveSubMerchant(merID, "SUBGONE")
	app := b.srv.URL + "/gateway/api/appTransReq.do"
	platform := func(sub string) func(map[string]string) {
		return func(v map[string]string) {
			v["accessType"], v["subMerId"], v["subMerName"], v["subMerAbbr"] = "2", sub, "二级商户", "小店"
		}
	}
	tests := []struct {
		name, txnType, code string
		mod                 func(map[string]string)
	}{
		{"OK", "01", "00", platform("SUB0001")},
		{"ErrSubOnDirectAccess", "01", "10", func(v map[string]string) { v["subMerId"] = "SUB0001" }},
		{"ErrMissingAbbr", "01", "13", func(v map[string]string) { platform("SUB0001")(v); delete(v, "subMerAbbr") }},
		{"ErrBadSubMerID", "01", "10", platform("SUB-0001")},
		{"ErrSubIsThePlatform", "01", "31", platform(merID)},
		{"ErrRemovedSub", "01", "31", platform("SUBGONE")},
		{"ErrAcquirerAccess", "01", "10", func(v map[string]string) { v["accessType"] = "1" }},
		{"ErrPayoutForSub", txnPayout, "32", platform("SUB0001")},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := app
			if tc.txnType == txnPayout {
				u = b.srv.URL + "/gateway/api/backTransReq.do"
			}
			st, body := post(t, u, b.request(tc.txnType, "plat000000"+string(rune('a'+i)), merchantKey, tc.mod))
			a := answer(t, body)
			if st != 200 || a["respCode"] != tc.code {
				t.Fatalf("answer %d %s, want respCode %s", st, body, tc.code)
			}
			if tc.code == "00" && (a["accessType"] != "2" || a["subMerId"] != "SUB0001") {
				t.Fatalf("the answer does not name the sub-merchant: %s", body)
			}
		})
	}
	if sub, ok := b.sim.SubMerchantOf(merID, "plat000000a"); !ok || sub != "SUB0001" {
		t.Fatalf("the trade is for %q (%v)", sub, ok)
	}
}
