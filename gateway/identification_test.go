package gateway_test

import (
	"strings"
	"testing"

	"github.com/polypay/polypay/identity"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// TestIdentification: Ping++'s identity checks in test mode against the
// sandbox's documented identities; malformed input is refused naming the
// parameter; live mode has no provider yet and says so; what is kept has
// no full number.
func TestIdentification(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	const id, card = "11010519491231002X", "6216261000000000018"
	check := func(typ string, data map[string]any) *resp {
		return e.do("POST", "/v1/identification", e.sk(), map[string]any{"type": typ, "app": e.app.AppID, "data": data})
	}
	for _, c := range []struct {
		name, typ string
		data      map[string]any
		code      float64
	}{
		{"id card", "id_card", map[string]any{"id_name": "张三", "id_number": id}, identity.Matched},
		{"name not the number's", "id_card", map[string]any{"id_name": identity.MismatchName, "id_number": id}, identity.Mismatch},
		{"bank card", "bank_card", map[string]any{"id_name": "张三", "id_number": id, "card_number": card, "phone_number": "13800138000"}, identity.Matched},
		{"card not theirs", "bank_card", map[string]any{"id_name": "张三", "id_number": id, "card_number": "6216261000000000000"}, identity.Mismatch},
	} {
		r := ok(t, c.name, check(c.typ, c.data))
		if r.JSON["result_code"] != c.code || r.str("object") != "identification" || r.str("type") != c.typ || r.str("app") != e.app.AppID {
			t.Fatalf("%s: %s", c.name, r.Body)
		}
		if strings.Contains(string(r.Body), id) || strings.Contains(string(r.Body), card) || r.str("data", "id_number") != "**************002X" {
			t.Fatalf("%s: the answer shows a full number: %s", c.name, r.Body)
		}
	}
	refused(t, "bad type", check("passport", map[string]any{"id_name": "张三", "id_number": id}), 400, "type")
	refused(t, "bad id number", check("id_card", map[string]any{"id_name": "张三", "id_number": "110105194912310021"}), 400, "data[id_number]")
	refused(t, "bad card", check("bank_card", map[string]any{"id_name": "张三", "id_number": id, "card_number": "6216261000000000019"}), 400, "data[card_number]")
	refused(t, "bad phone", check("bank_card", map[string]any{"id_name": "张三", "id_number": id, "card_number": card, "phone_number": "555"}), 400, "data[phone_number]")
	refused(t, "no name", check("id_card", map[string]any{"id_number": id}), 400, "data[id_name]")
	refused(t, "another app", e.do("POST", "/v1/identification", e.sk(), map[string]any{"type": "id_card", "app": "app_other000000000",
		"data": map[string]any{"id_name": "张三", "id_number": id}}), 404, "app")
	if r := e.do("POST", "/v1/identification", e.app.SecretKeyLive, map[string]any{"type": "id_card", "app": e.app.AppID,
		"data": map[string]any{"id_name": "张三", "id_number": id}}, "Accept-Language", "en"); r.Status == 200 || !strings.Contains(string(r.Body), "provider") {
		t.Fatalf("live identification without a provider: %d %s", r.Status, r.Body)
	}
	// Kept: 4 checks, masked.
	var rows []string
	if err := e.node.DB.Read(ctx, func(tx *store.Tx) error {
		n, err := tx.IdentificationsOf(ctx, e.app.AppID, false)
		if n != 4 {
			t.Fatalf("%d identifications kept, want 4", n)
		}
		rs, err := tx.DumpTable(ctx, "identifications")
		rows = rs
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if strings.Contains(r, "1101051949") || strings.Contains(r, "62162610") || strings.Contains(r, "张三") {
			t.Fatalf("a kept identification holds a full number or name: %s", r)
		}
	}
}
