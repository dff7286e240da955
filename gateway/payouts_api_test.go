package gateway_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/sim/alipaysim"
	"github.com/polypay/polypay/sim/wechatsim"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// The payout API (pingpp-compat §2.5–2.8) end to end on a real node, the
// Alipay payouts against the sandbox's simulator: its documented payees
// (alipaysim.SandboxPayees) are paid, the frozen one accepts a transfer and
// then fails it, and an unknown account is refused at once.

var (
	payee       = alipaysim.SandboxPayee
	payeePhone  = alipaysim.SandboxPayeePhone
	payeeFrozen = alipaysim.SandboxPayeeFrozen
)

// transferBody is an alipay transfer of amount fen to p.
func (e *env) transferBody(orderNo string, amount int64, p alipaysim.Payee) map[string]any {
	return map[string]any{"app": map[string]any{"id": e.app.AppID}, "channel": "alipay", "order_no": orderNo,
		"amount": amount, "type": "b2c", "currency": "cny", "recipient": p.LogonID, "description": "佣金提现",
		"extra": map[string]any{"recipient_name": p.Name}, "metadata": map[string]any{"user": "u1"}}
}

func recipient(p alipaysim.Payee, amount int64) map[string]any {
	return map[string]any{"account": p.LogonID, "amount": amount, "name": p.Name}
}

// batchTransferBody is an alipay batch paying each recipient.
func (e *env) batchTransferBody(batchNo string, recipients ...map[string]any) map[string]any {
	var sum int64
	list := make([]any, len(recipients))
	for i, r := range recipients {
		sum += int64(r["amount"].(int64))
		list[i] = r
	}
	return map[string]any{"app": e.app.AppID, "batch_no": batchNo, "channel": "alipay", "amount": sum,
		"description": "月度分成", "type": "b2c", "currency": "cny", "recipients": list}
}

func (e *env) batchRefundBody(batchNo string, charges ...any) map[string]any {
	return map[string]any{"app": e.app.AppID, "batch_no": batchNo, "description": "批量退款", "charges": charges}
}

func (e *env) redEnvelopeBody(orderNo string) map[string]any {
	return map[string]any{"app": map[string]any{"id": e.app.AppID}, "channel": "wx_pub", "order_no": orderNo,
		"amount": 100, "currency": "cny", "recipient": wechatsim.SandboxPayees[0].OpenID, "subject": "周年庆",
		"body": "恭喜发财", "description": "活动红包", "extra": map[string]any{"send_name": "测试商户"}}
}

// paidCharge is a paid alipay_qr charge.
func (e *env) paidCharge(orderNo string, amount int64) string {
	e.t.Helper()
	id := e.createCharge(orderNo, amount)
	e.pay(id)
	return id
}

// ok fails unless r is a 200.
func ok(t *testing.T, what string, r *resp) *resp {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("%s: %d %s", what, r.Status, r.Body)
	}
	return r
}

// refused fails unless r is a Ping++ error of status naming param.
func refused(t *testing.T, what string, r *resp, status int, param string) {
	t.Helper()
	if r.Status != status || r.str("error", "type") != "invalid_request_error" || r.str("error", "param") != param {
		t.Fatalf("%s: %d %s, want %d naming %q", what, r.Status, r.Body, status, param)
	}
}

// ids lists the ids in a list reply.
func ids(r *resp) []string {
	var out []string
	data, _ := r.JSON["data"].([]any)
	for _, d := range data {
		out = append(out, d.(map[string]any)["id"].(string))
	}
	return out
}

// settle retrieves path until its status is one of want (in test mode a
// retrieve asks the simulator, which decides the payout).
func (e *env) settle(path string, want ...string) *resp {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := ok(e.t, "GET "+path, e.do("GET", path, e.sk(), nil))
		if slices.Contains(want, r.str("status")) {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("GET %s: status %s, want one of %v: %s", path, r.str("status"), want, r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitEvent waits for the verified webhook typ about object id and
// returns its data.object.
func (rc *receiver) awaitEvent(t *testing.T, id, typ string) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if obj := rc.eventObject(id, typ); obj != nil {
			return obj
		}
		select {
		case <-rc.arrived:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %s webhook for %s", typ, id)
		}
	}
}

// retrieveEvent fetches the webhook typ about object id with GET
// /v1/events/{id}, whose reply the API reference checks (every payout
// object is a documented event object).
func (e *env) retrieveEvent(t *testing.T, rc *receiver, id, typ string) {
	t.Helper()
	rc.awaitEvent(t, id, typ)
	rc.mu.Lock()
	var evID string
	for _, ev := range rc.events {
		if ev["type"] == typ && ev["data"].(map[string]any)["object"].(map[string]any)["id"] == id {
			evID = ev["id"].(string)
		}
	}
	rc.mu.Unlock()
	if r := ok(t, "event", e.do("GET", "/v1/events/"+evID, e.sk(), nil)); r.str("type") != typ || r.str("data", "object", "id") != id {
		t.Fatalf("event %s: %s", evID, r.Body)
	}
}

// eventsAbout counts the webhooks of type typ about object id.
func (rc *receiver) eventsAbout(id, typ string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, ev := range rc.events {
		if ev["type"] == typ && ev["data"].(map[string]any)["object"].(map[string]any)["id"] == id {
			n++
		}
	}
	return n
}

func sorted(l []string) []string {
	out := slices.Clone(l)
	slices.Sort(out)
	return out
}

func checkLedger(t *testing.T, e *env) {
	t.Helper()
	if _, probs, err := ledger.Check(ctx, e.node.DB); err != nil || len(probs) > 0 {
		t.Fatalf("ledger check: %v %v", probs, err)
	}
}

// TestPayoutInputErrors: every bad parameter of the payout routes is a 400
// naming it, whether the API, core or the channel's connector finds it,
// and nothing is stored.
func TestPayoutInputErrors(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	paid := e.paidCharge("PIE00001", 1000)
	unpaid := e.createCharge("PIE00002", 1000)
	set := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(out, kv[i].(string))
			} else {
				out[kv[i].(string)] = kv[i+1]
			}
		}
		return out
	}
	tr := e.transferBody("PIETR001", 1000, payee)
	bt := e.batchTransferBody("PIEBATCH00001", recipient(payee, 100), recipient(payeePhone, 200))
	re := e.redEnvelopeBody("10000001")
	br := e.batchRefundBody("PIEBR1", paid)
	tests := []struct {
		name, method, path string
		body               any
		param              string
	}{
		{"transfer app missing", "POST", "/v1/transfers", set(tr, "app", nil), "app"},
		{"transfer other app", "POST", "/v1/transfers", set(tr, "app", map[string]any{"id": "app_0000000000000000"}), "app"},
		{"transfer channel", "POST", "/v1/transfers", set(tr, "channel", "alipay_qr"), "channel"},
		{"transfer order_no", "POST", "/v1/transfers", set(tr, "order_no", "TR-0001"), "order_no"},
		{"transfer amount", "POST", "/v1/transfers", set(tr, "amount", 0), "amount"},
		{"transfer amount float", "POST", "/v1/transfers", set(tr, "amount", 10.5), "amount"},
		{"transfer type", "POST", "/v1/transfers", set(tr, "type", "c2c"), "type"},
		{"transfer currency", "POST", "/v1/transfers", set(tr, "currency", "usd"), "currency"},
		{"transfer description", "POST", "/v1/transfers", set(tr, "description", nil), "description"},
		{"transfer metadata", "POST", "/v1/transfers", set(tr, "metadata", map[string]any{"a": []any{1}}), "metadata[a]"},
		{"transfer unknown", "POST", "/v1/transfers", set(tr, "batch_no", "B1"), "batch_no"},
		{"transfer duplicate key", "POST", "/v1/transfers", withMember(tr, `"amount":1`), "amount"},
		{"transfer alipay recipient_name", "POST", "/v1/transfers", set(tr, "extra", map[string]any{}), "extra[recipient_name]"},
		{"transfer alipay minimum", "POST", "/v1/transfers", set(tr, "amount", 5), "amount"},
		{"transfer alipay recipient", "POST", "/v1/transfers", set(tr, "recipient", nil), "recipient"},
		{"cancel status", "PUT", "/v1/transfers/tr_nope", `{"status":"paid"}`, "status"},
		{"cancel unknown", "PUT", "/v1/transfers/tr_nope", `{"status":"canceled","reason":"x"}`, "reason"},
		{"batch app", "POST", "/v1/batch_transfers", set(bt, "app", "app_0000000000000000"), "app"},
		{"batch batch_no", "POST", "/v1/batch_transfers", set(bt, "batch_no", "B1"), "batch_no"},
		{"batch channel", "POST", "/v1/batch_transfers", set(bt, "channel", "upacp"), "channel"},
		{"batch sum", "POST", "/v1/batch_transfers", set(bt, "amount", 301), "amount"},
		{"batch recipients empty", "POST", "/v1/batch_transfers", set(bt, "recipients", []any{}), "recipients"},
		{"batch recipient amount", "POST", "/v1/batch_transfers", set(bt, "recipients", []any{recipient(payee, 100), recipient(payeePhone, 0)}), "recipients[1][amount]"},
		{"batch recipient name", "POST", "/v1/batch_transfers", set(bt, "recipients", []any{map[string]any{"account": payee.LogonID, "amount": 300}}), "recipients[0][name]"},
		{"batch recipient unknown", "POST", "/v1/batch_transfers", set(bt, "recipients", []any{set(recipient(payee, 300), "user", "u_1")}), "recipients[0][user]"},
		{"batch cancel status", "PUT", "/v1/batch_transfers/1", `{"status":"pending"}`, "status"},
		{"envelope channel", "POST", "/v1/red_envelopes", set(re, "channel", "wx"), "channel"},
		{"envelope order_no", "POST", "/v1/red_envelopes", set(re, "order_no", "RE1"), "order_no"},
		{"envelope extra", "POST", "/v1/red_envelopes", set(re, "extra", nil), "extra"},
		{"envelope subject", "POST", "/v1/red_envelopes", set(re, "subject", strings.Repeat("红", 33)), "subject"},
		{"envelope description", "POST", "/v1/red_envelopes", set(re, "description", ""), "description"},
		{"batch refund batch_no", "POST", "/v1/batch_refunds", set(br, "batch_no", "B1"), "batch_no"},
		{"batch refund description", "POST", "/v1/batch_refunds", set(br, "description", nil), "description"},
		{"batch refund duplicate", "POST", "/v1/batch_refunds", set(br, "charges", []any{paid, map[string]any{"charge": paid}}), "charges[1][charge]"},
		{"batch refund amount", "POST", "/v1/batch_refunds", set(br, "charges", []any{map[string]any{"charge": paid, "amount": 0}}), "charges[0][amount]"},
		{"batch refund unpaid", "POST", "/v1/batch_refunds", set(br, "charges", []any{paid, unpaid}), "charges"},
		{"batch refund unknown charge", "POST", "/v1/batch_refunds", set(br, "charges", []any{"ch_000000000000000000000000"}), "charges"},
		{"batch refund too much", "POST", "/v1/batch_refunds", set(br, "charges", []any{map[string]any{"charge": paid, "amount": 1001}}), "charges"},
		{"settings approve_above", "PUT", "/v1/apps/" + e.app.AppID + "/payout_settings", `{"approve_above":-1}`, "approve_above"},
		{"settings approve_above type", "PUT", "/v1/apps/" + e.app.AppID + "/payout_settings", `{"approve_above":"1000"}`, "approve_above"},
		{"settings approve_batches", "PUT", "/v1/apps/" + e.app.AppID + "/payout_settings", `{"approve_batches":"maybe"}`, "approve_batches"},
		{"settings unknown", "PUT", "/v1/apps/" + e.app.AppID + "/payout_settings", `{"approve_all":true}`, "approve_all"},
		{"list limit", "GET", "/v1/transfers?limit=0", nil, "limit"},
		{"list status", "GET", "/v1/transfers?status=done", nil, "status"},
		{"list channel", "GET", "/v1/transfers?channel=upacp", nil, "channel"},
		{"list cursor", "GET", "/v1/transfers?starting_after=tr_000000000000000000000000", nil, "starting_after"},
		{"list cursors", "GET", "/v1/transfers?starting_after=a&ending_before=b", nil, "ending_before"},
		{"list unknown", "GET", "/v1/transfers?type=b2c", nil, "type"},
		{"batch list page", "GET", "/v1/batch_transfers?page=0", nil, "page"},
		{"batch list page and limit", "GET", "/v1/batch_transfers?page=1&limit=5", nil, "page"},
		{"batch list per_page alone", "GET", "/v1/batch_transfers?per_page=5", nil, "per_page"},
		{"batch refund list per_page", "GET", "/v1/batch_refunds?page=1&per_page=101", nil, "per_page"},
		{"batch refund list cursor", "GET", "/v1/batch_refunds?ending_before=123456789012345678", nil, "ending_before"},
		{"envelope list channel", "GET", "/v1/red_envelopes?channel=alipay", nil, "channel"},
		{"retrieve query", "GET", "/v1/transfers/tr_nope?expand=app", nil, "expand"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			refused(t, tc.method+" "+tc.path, e.do(tc.method, tc.path, e.sk(), tc.body), 400, tc.param)
		})
	}
	// Nothing was stored: no payout, no refund, settings untouched.
	for _, p := range []string{"/v1/transfers", "/v1/batch_transfers", "/v1/red_envelopes", "/v1/batch_refunds"} {
		if r := ok(t, p, e.do("GET", p, e.sk(), nil)); len(ids(r)) != 0 {
			t.Errorf("GET %s after refused requests: %s", p, r.Body)
		}
	}
	st := ok(t, "settings", e.do("GET", "/v1/apps/"+e.app.AppID+"/payout_settings", e.sk(), nil))
	if st.num("approve_above") != 0 || st.JSON["approve_batches"] != false || st.JSON["updated"] != nil {
		t.Errorf("payout settings after refused updates: %s", st.Body)
	}
	if c := ok(t, "charge", e.do("GET", "/v1/charges/"+paid, e.sk(), nil)); c.num("amount_refunded") != 0 {
		t.Errorf("charge refunded by a refused batch: %s", c.Body)
	}
}

// TestPayoutTenantIsolation: another app's key, the app's live key and a
// path naming another app see none of an app's payouts or settings (404),
// and lists never show them.
func TestPayoutTenantIsolation(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	b, err := e.node.CreateApp(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	other, live := b.SecretKeyTest, e.app.SecretKeyLive
	tr := ok(t, "transfer", e.do("POST", "/v1/transfers", e.sk(), e.transferBody("ISO00001", 1000, payee)))
	bt := ok(t, "batch", e.do("POST", "/v1/batch_transfers", e.sk(), e.batchTransferBody("ISOBATCH00001", recipient(payee, 100))))
	charge := e.paidCharge("ISOCH001", 1000)
	br := ok(t, "batch refund", e.do("POST", "/v1/batch_refunds", e.sk(), e.batchRefundBody("ISOBR1", charge)))
	settings := "/v1/apps/" + e.app.AppID + "/payout_settings"
	ok(t, "settings", e.do("PUT", settings, e.sk(), `{"approve_above":500000}`))
	objects := []string{"/v1/transfers/" + tr.str("id"), "/v1/batch_transfers/" + bt.str("id"),
		"/v1/batch_refunds/" + br.str("id"), "/v1/batch_refunds/" + br.str("id") + "/refunds"}
	lists := []string{"/v1/transfers", "/v1/batch_transfers", "/v1/batch_refunds", "/v1/red_envelopes"}
	if r := e.do("POST", "/v1/red_envelopes", e.sk(), e.redEnvelopeBody("20000001")); r.Status == 200 {
		objects = append(objects, "/v1/red_envelopes/"+r.str("id"))
	} else {
		// The WeChat connector cannot send red envelopes in this sandbox yet.
		t.Logf("red envelope not created (%d %s): isolation checked on lists only", r.Status, r.Body)
	}
	for _, key := range []string{other, live} {
		for _, p := range objects {
			refused(t, "GET "+p, e.do("GET", p, key, nil), 404, "id")
		}
		for _, p := range objects[:2] {
			refused(t, "PUT "+p, e.do("PUT", p, key, `{"status":"canceled"}`), 404, "id")
		}
		for _, p := range lists {
			if r := ok(t, p, e.do("GET", p, key, nil)); len(ids(r)) != 0 {
				t.Errorf("GET %s with another key lists %s", p, r.Body)
			}
		}
	}
	// Naming the app in a list's query does not help another app.
	for _, p := range lists {
		refused(t, p+"?app[id]=", e.do("GET", p+"?app%5Bid%5D="+e.app.AppID, other, nil), 404, "app[id]")
		if r := ok(t, p, e.do("GET", p+"?app%5Bid%5D="+e.app.AppID, live, nil)); len(ids(r)) != 0 {
			t.Errorf("GET %s with the live key lists %s", p, r.Body)
		}
	}
	// Another app's settings path is unknown, whichever of the two asks.
	refused(t, "GET settings", e.do("GET", settings, other, nil), 404, "app")
	refused(t, "PUT settings", e.do("PUT", settings, other, `{"approve_above":0}`), 404, "app")
	refused(t, "GET their settings", e.do("GET", "/v1/apps/"+b.AppID+"/payout_settings", e.sk(), nil), 404, "app")
	refused(t, "PUT their settings", e.do("PUT", "/v1/apps/"+b.AppID+"/payout_settings", e.sk(), `{"approve_batches":true}`), 404, "app")
	// A cursor naming another app's object is unknown.
	refused(t, "cursor", e.do("GET", "/v1/transfers?starting_after="+tr.str("id"), other, nil), 400, "starting_after")
	// Another app cannot pay from this app nor refund its charges.
	refused(t, "foreign app", e.do("POST", "/v1/transfers", other, e.transferBody("ISO00002", 1000, payee)), 400, "app")
	foreign := e.batchRefundBody("ISOBR2", charge)
	foreign["app"] = b.AppID
	refused(t, "foreign charge", e.do("POST", "/v1/batch_refunds", other, foreign), 400, "charges")
	// The settings are the app's and mode's own.
	mine := ok(t, "settings", e.do("GET", settings, e.sk(), nil))
	if mine.num("approve_above") != 500000 || mine.JSON["livemode"] != false || mine.str("app") != e.app.AppID {
		t.Errorf("settings: %s", mine.Body)
	}
	if l := ok(t, "live settings", e.do("GET", settings, live, nil)); l.num("approve_above") != 0 || l.JSON["livemode"] != true {
		t.Errorf("live settings follow the test ones: %s", l.Body)
	}
	theirs := ok(t, "other settings", e.do("GET", "/v1/apps/"+b.AppID+"/payout_settings", other, nil))
	if theirs.num("approve_above") != 0 {
		t.Errorf("another app's settings: %s", theirs.Body)
	}
	// The app still sees its own.
	for _, p := range objects {
		ok(t, "GET "+p, e.do("GET", p, e.sk(), nil))
	}
	for i, p := range lists[:3] {
		id := []string{tr.str("id"), bt.str("id"), br.str("id")}[i]
		if r := ok(t, p, e.do("GET", p+"?app%5Bid%5D="+e.app.AppID, e.sk(), nil)); !slices.Contains(ids(r), id) {
			t.Errorf("GET %s does not list %s: %s", p, id, r.Body)
		}
	}
}

// TestTransferAlipay: a transfer is pending until retrieved in test mode,
// then paid with transfer.succeeded; order_no makes a retried create answer
// the same transfer; refusals and late failures end failed with
// transfer.failed; above approve_above a transfer waits scheduled and can
// be canceled; the books balance.
func TestTransferAlipay(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		body := e.transferBody("TRA00001", 1000, payee)
		tr := ok(t, "create", e.do("POST", "/v1/transfers", e.sk(), body))
		id := tr.str("id")
		if tr.str("status") != "pending" || tr.str("channel") != "alipay" || tr.num("amount") != 1000 || tr.JSON["time_transferred"] != nil ||
			tr.str("recipient") != payee.LogonID || tr.str("extra", "recipient_name") != payee.Name || tr.str("metadata", "user") != "u1" {
			t.Fatalf("created: %s", tr.Body)
		}
		// The same order_no with the same parameters is the same transfer;
		// with others it is refused.
		if again := ok(t, "again", e.do("POST", "/v1/transfers", e.sk(), body)); again.str("id") != id {
			t.Fatalf("repeated create: %s", again.Body)
		}
		changed := e.transferBody("TRA00001", 1001, payee)
		refused(t, "changed", e.do("POST", "/v1/transfers", e.sk(), changed), 400, "order_no")
		// The same order_no on another channel is another transfer's business:
		// here the WeChat connector's to check, not a clash.
		paid := e.settle("/v1/transfers/"+id, "paid")
		if paid.num("amount_settle") != 1000 || paid.num("time_transferred") == 0 || paid.str("transaction_no") == "" || paid.JSON["failure_msg"] != nil {
			t.Fatalf("paid: %s", paid.Body)
		}
		obj := rc.awaitEvent(t, id, "transfer.succeeded")
		if obj["status"] != "paid" || obj["object"] != "transfer" {
			t.Fatalf("transfer.succeeded object: %v", obj)
		}
		e.retrieveEvent(t, rc, id, "transfer.succeeded")
		if again := ok(t, "after", e.do("POST", "/v1/transfers", e.sk(), body)); again.str("id") != id || again.str("status") != "paid" {
			t.Fatalf("repeated create after payment: %s", again.Body)
		}
		refused(t, "cancel paid", e.do("PUT", "/v1/transfers/"+id, e.sk(), `{"status":"canceled"}`), 400, "status")

		// An Idempotency-Key replays the first answer.
		key := []string{"Idempotency-Key", "tra-idem-1"}
		first := ok(t, "idem", e.do("POST", "/v1/transfers", e.sk(), e.transferBody("TRA00002", 2000, payeePhone), key...))
		replay := ok(t, "idem replay", e.do("POST", "/v1/transfers", e.sk(), e.transferBody("TRA00002", 2000, payeePhone), key...))
		if replay.Header.Get("Idempotent-Replayed") != "true" || string(replay.Body) != string(first.Body) {
			t.Fatalf("replay: %s %s", replay.Header, replay.Body)
		}
		e.settle("/v1/transfers/"+first.str("id"), "paid")

		// A frozen payee takes the transfer and then fails it; an unknown
		// account is refused at once. Both end failed with transfer.failed.
		frozen := ok(t, "frozen", e.do("POST", "/v1/transfers", e.sk(), e.transferBody("TRA00003", 300, payeeFrozen)))
		failed := e.settle("/v1/transfers/"+frozen.str("id"), "failed")
		if failed.str("failure_msg") == "" || failed.num("amount_settle") != 0 {
			t.Fatalf("frozen payee: %s", failed.Body)
		}
		e.retrieveEvent(t, rc, frozen.str("id"), "transfer.failed")
		nobody := e.transferBody("TRA00004", 300, alipaysim.Payee{LogonID: "nobody@sandbox.com", Name: "无名"})
		gone := ok(t, "unknown payee", e.do("POST", "/v1/transfers", e.sk(), nobody))
		if gone.str("status") != "failed" || gone.str("failure_code") == "" {
			t.Fatalf("unknown payee: %s", gone.Body)
		}
		rc.awaitEvent(t, gone.str("id"), "transfer.failed")

		// Above approve_above a transfer waits for approval and can be
		// canceled; at the threshold it is sent.
		settings := "/v1/apps/" + e.app.AppID + "/payout_settings"
		st := ok(t, "settings", e.do("PUT", settings, e.sk(), `{"approve_above":5000}`))
		if st.num("approve_above") != 5000 || st.JSON["approve_batches"] != false || st.num("updated") == 0 {
			t.Fatalf("settings: %s", st.Body)
		}
		big := ok(t, "scheduled", e.do("POST", "/v1/transfers", e.sk(), e.transferBody("TRA00005", 5001, payee)))
		if big.str("status") != "scheduled" {
			t.Fatalf("above approve_above: %s", big.Body)
		}
		if r := ok(t, "scheduled get", e.do("GET", "/v1/transfers/"+big.str("id"), e.sk(), nil)); r.str("status") != "scheduled" {
			t.Fatalf("a retrieve sent a scheduled transfer: %s", r.Body)
		}
		canceled := ok(t, "cancel", e.do("PUT", "/v1/transfers/"+big.str("id"), e.sk(), `{"status":"canceled"}`))
		if canceled.str("status") != "canceled" {
			t.Fatalf("cancel: %s", canceled.Body)
		}
		if again := ok(t, "cancel again", e.do("PUT", "/v1/transfers/"+big.str("id"), e.sk(), `{"status":"canceled"}`)); again.str("status") != "canceled" {
			t.Fatalf("cancel again: %s", again.Body)
		}
		edge := ok(t, "at threshold", e.do("POST", "/v1/transfers", e.sk(), e.transferBody("TRA00006", 5000, payee)))
		if edge.str("status") != "pending" {
			t.Fatalf("at approve_above: %s", edge.Body)
		}
		e.settle("/v1/transfers/"+edge.str("id"), "paid")

		// Lists: newest first, filtered, paged.
		all := ok(t, "list", e.do("GET", "/v1/transfers?limit=100", e.sk(), nil))
		if got := ids(all); len(got) != 6 || got[0] != edge.str("id") || got[5] != id {
			t.Fatalf("list: %v", got)
		}
		for q, want := range map[string]int{"status=paid": 3, "status=failed": 2, "status=canceled": 1, "status=pending": 0, "channel=alipay": 6, "channel=wx": 0} {
			if r := ok(t, q, e.do("GET", "/v1/transfers?"+q, e.sk(), nil)); len(ids(r)) != want {
				t.Errorf("?%s: %v, want %d", q, ids(r), want)
			}
		}
		page := ok(t, "page", e.do("GET", "/v1/transfers?limit=4", e.sk(), nil))
		next := ok(t, "next", e.do("GET", "/v1/transfers?limit=4&starting_after="+ids(page)[3], e.sk(), nil))
		if page.JSON["has_more"] != true || next.JSON["has_more"] != false || len(ids(next)) != 2 || ids(next)[1] != id {
			t.Fatalf("pages: %s / %s", page.Body, next.Body)
		}
		if rc.eventsAbout(id, "transfer.succeeded") != 1 {
			t.Errorf("transfer.succeeded delivered %d times", rc.eventsAbout(id, "transfer.succeeded"))
		}
		checkLedger(t, e)
	})
}

// TestBatchTransferAlipay: a batch of three payees fans out and ends
// succeeded with batch_transfer.succeeded; a frozen payee makes it
// partially_succeeded (still announced); batch_no answers a retry; with
// approve_batches a batch waits and can be canceled with its transfers.
func TestBatchTransferAlipay(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		body := e.batchTransferBody("BTA20240101001", recipient(payee, 100), recipient(payeePhone, 200),
			map[string]any{"account": alipaysim.SandboxPayeeUnverified.UserID, "amount": int64(300),
				"name": alipaysim.SandboxPayeeUnverified.Name, "account_type": "ALIPAY_USERID", "description": "第三位"})
		bt := ok(t, "create", e.do("POST", "/v1/batch_transfers", e.sk(), body))
		id := bt.str("id")
		if len(id) != 18 || bt.num("amount") != 600 || bt.str("batch_no") != "BTA20240101001" || len(bt.JSON["recipients"].([]any)) != 3 {
			t.Fatalf("created: %s", bt.Body)
		}
		if again := ok(t, "again", e.do("POST", "/v1/batch_transfers", e.sk(), body)); again.str("id") != id {
			t.Fatalf("repeated batch: %s", again.Body)
		}
		changed := e.batchTransferBody("BTA20240101001", recipient(payee, 100))
		refused(t, "changed", e.do("POST", "/v1/batch_transfers", e.sk(), changed), 400, "batch_no")
		done := e.settle("/v1/batch_transfers/"+id, "succeeded")
		if done.num("time_succeeded") == 0 {
			t.Fatalf("succeeded: %s", done.Body)
		}
		for i, r := range done.JSON["recipients"].([]any) {
			m := r.(map[string]any)
			tr := ok(t, "member", e.do("GET", "/v1/transfers/"+m["transfer"].(string), e.sk(), nil))
			if m["status"] != "paid" || tr.str("status") != "paid" || tr.str("batch_no") != id || tr.num("amount") != int64(100*(i+1)) {
				t.Fatalf("recipient %d: %v / %s", i, m, tr.Body)
			}
			rc.awaitEvent(t, tr.str("id"), "transfer.succeeded")
		}
		if m := done.JSON["recipients"].([]any)[2].(map[string]any); m["description"] != "第三位" || m["account"] != alipaysim.SandboxPayeeUnverified.UserID {
			t.Fatalf("third recipient: %v", m)
		}
		if obj := rc.awaitEvent(t, id, "batch_transfer.succeeded"); obj["status"] != "succeeded" {
			t.Fatalf("batch_transfer.succeeded: %v", obj)
		}
		e.retrieveEvent(t, rc, id, "batch_transfer.succeeded")
		refused(t, "cancel done", e.do("PUT", "/v1/batch_transfers/"+id, e.sk(), `{"status":"canceled"}`), 400, "status")

		// A frozen payee fails; the others are paid.
		mixed := ok(t, "mixed", e.do("POST", "/v1/batch_transfers", e.sk(), e.batchTransferBody("BTA20240101002",
			recipient(payee, 100), recipient(payeeFrozen, 200), recipient(payeePhone, 300))))
		partial := e.settle("/v1/batch_transfers/"+mixed.str("id"), "partially_succeeded")
		var statuses []string
		for _, r := range partial.JSON["recipients"].([]any) {
			statuses = append(statuses, r.(map[string]any)["status"].(string))
		}
		if strings.Join(statuses, ",") != "paid,failed,paid" {
			t.Fatalf("partial: %s", partial.Body)
		}
		rc.awaitEvent(t, mixed.str("id"), "batch_transfer.succeeded")

		// With approve_batches a batch waits; cancel takes its transfers along.
		ok(t, "settings", e.do("PUT", "/v1/apps/"+e.app.AppID+"/payout_settings", e.sk(), `{"approve_batches":true}`))
		held := ok(t, "held", e.do("POST", "/v1/batch_transfers", e.sk(), e.batchTransferBody("BTA20240101003", recipient(payee, 100))))
		if held.str("status") != "scheduled" {
			t.Fatalf("approve_batches: %s", held.Body)
		}
		member := held.JSON["recipients"].([]any)[0].(map[string]any)["transfer"].(string)
		// A member is canceled with its batch, not alone.
		refused(t, "cancel member", e.do("PUT", "/v1/transfers/"+member, e.sk(), `{"status":"canceled"}`), 400, "id")
		canceled := ok(t, "cancel", e.do("PUT", "/v1/batch_transfers/"+held.str("id"), e.sk(), `{"status":"canceled"}`))
		if canceled.str("status") != "canceled" || canceled.JSON["recipients"].([]any)[0].(map[string]any)["status"] != "canceled" {
			t.Fatalf("canceled: %s", canceled.Body)
		}
		if m := ok(t, "member", e.do("GET", "/v1/transfers/"+member, e.sk(), nil)); m.str("status") != "canceled" {
			t.Fatalf("member of a canceled batch: %s", m.Body)
		}

		// Page-number lists walk the cursor list. (Batch ids made in the same
		// second do not sort by creation: see newBatchID.)
		all := ids(ok(t, "all", e.do("GET", "/v1/batch_transfers", e.sk(), nil)))
		slices.Sort(all)
		if want := []string{id, mixed.str("id"), held.str("id")}; !slices.Equal(all, sorted(want)) {
			t.Fatalf("listed %v, want %v", all, want)
		}
		p1 := ok(t, "page 1", e.do("GET", "/v1/batch_transfers?page=1&per_page=2", e.sk(), nil))
		p2 := ok(t, "page 2", e.do("GET", "/v1/batch_transfers?page=2&per_page=2", e.sk(), nil))
		p3 := ok(t, "page 3", e.do("GET", "/v1/batch_transfers?page=3&per_page=2", e.sk(), nil))
		cur := ok(t, "cursor", e.do("GET", "/v1/batch_transfers?limit=2&starting_after="+ids(p1)[1], e.sk(), nil))
		if got := append(ids(p1), ids(p2)...); !slices.Equal(sorted(got), all) || len(ids(p1)) != 2 ||
			p1.JSON["has_more"] != true || p2.JSON["has_more"] != false || len(ids(p3)) != 0 || p1.str("url") != "/v1/batch_transfers" ||
			!slices.Equal(ids(cur), ids(p2)) {
			t.Fatalf("pages: %s / %s / %s / cursor %s", p1.Body, p2.Body, p3.Body, cur.Body)
		}
		checkLedger(t, e)
	})
}

// TestBatchRefund: a batch refund is all or nothing at validation (the
// error names the first bad charge and nothing is refunded), then refunds
// each charge as an ordinary refund and ends succeeded with
// batch_refund.succeeded.
func TestBatchRefund(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		c1, c2, c3 := e.paidCharge("BRF00001", 1000), e.paidCharge("BRF00002", 2000), e.paidCharge("BRF00003", 3000)
		unpaid := e.createCharge("BRF00004", 1000)
		for _, tc := range []struct {
			name    string
			charges []any
			names   string
		}{
			{"unpaid", []any{c1, unpaid, c2}, unpaid},
			{"unknown", []any{c1, "ch_000000000000000000000000", unpaid}, "ch_000000000000000000000000"},
			{"too much", []any{map[string]any{"charge": c2, "amount": 2001}, c1}, c2},
		} {
			r := e.do("POST", "/v1/batch_refunds", e.sk(), e.batchRefundBody("BRBAD1", tc.charges...))
			refused(t, tc.name, r, 400, "charges")
			if !strings.Contains(r.str("error", "message"), tc.names) {
				t.Fatalf("%s: the error does not name %s: %s", tc.name, tc.names, r.Body)
			}
		}
		for _, c := range []string{c1, c2, c3} {
			if r := ok(t, "charge", e.do("GET", "/v1/charges/"+c, e.sk(), nil)); r.num("amount_refunded") != 0 {
				t.Fatalf("a refused batch refunded %s: %s", c, r.Body)
			}
		}
		if r := ok(t, "list", e.do("GET", "/v1/batch_refunds", e.sk(), nil)); len(ids(r)) != 0 {
			t.Fatalf("a refused batch was stored: %s", r.Body)
		}

		body := e.batchRefundBody("BRGOOD1", map[string]any{"charge": c1, "amount": 300, "description": "部分退款"}, c2,
			map[string]any{"charge": c3, "funding_source": "unsettled_funds"})
		br := ok(t, "create", e.do("POST", "/v1/batch_refunds", e.sk(), body, "Idempotency-Key", "br-1"))
		id := br.str("id")
		if len(id) != 18 || br.str("batch_no") != "BRGOOD1" || br.str("object") != "batch_refund" {
			t.Fatalf("created: %s", br.Body)
		}
		if again := ok(t, "again", e.do("POST", "/v1/batch_refunds", e.sk(), body)); again.str("id") != id {
			t.Fatalf("repeated batch_no: %s", again.Body)
		}
		if replay := ok(t, "replay", e.do("POST", "/v1/batch_refunds", e.sk(), body, "Idempotency-Key", "br-1")); replay.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %s", replay.Header)
		}
		refused(t, "changed", e.do("POST", "/v1/batch_refunds", e.sk(), e.batchRefundBody("BRGOOD1", c1)), 400, "batch_no")
		done := e.settle("/v1/batch_refunds/"+id, "succeeded")
		want := map[string]int64{c1: 300, c2: 2000, c3: 3000}
		items := done.JSON["charges"].([]any)
		if len(items) != 3 || done.num("time_succeeded") == 0 {
			t.Fatalf("batch: %s", done.Body)
		}
		for _, it := range items {
			m := it.(map[string]any)
			if m["status"] != "succeeded" || int64(m["amount"].(float64)) != want[m["charge"].(string)] || !strings.HasPrefix(m["refund"].(string), "re_") {
				t.Fatalf("item %v", m)
			}
			rc.awaitEvent(t, m["refund"].(string), "refund.succeeded")
		}
		refunds := ok(t, "refunds", e.do("GET", "/v1/batch_refunds/"+id+"/refunds", e.sk(), nil))
		if len(ids(refunds)) != 3 || refunds.str("url") != "/v1/batch_refunds/"+id+"/refunds" {
			t.Fatalf("refunds: %s", refunds.Body)
		}
		if obj := rc.awaitEvent(t, id, "batch_refund.succeeded"); obj["status"] != "succeeded" {
			t.Fatalf("batch_refund.succeeded: %v", obj)
		}
		e.retrieveEvent(t, rc, id, "batch_refund.succeeded")
		for c, amount := range want {
			if r := ok(t, "charge", e.do("GET", "/v1/charges/"+c, e.sk(), nil)); r.num("amount_refunded") != amount {
				t.Fatalf("charge %s refunded %d, want %d", c, r.num("amount_refunded"), amount)
			}
		}
		// c2 is refunded in full: a batch naming it is refused, naming it.
		r := e.do("POST", "/v1/batch_refunds", e.sk(), e.batchRefundBody("BRGOOD2", c1, c2))
		refused(t, "refunded", r, 400, "charges")
		if !strings.Contains(r.str("error", "message"), c2) {
			t.Fatalf("refunded charge not named: %s", r.Body)
		}
		second := ok(t, "rest", e.do("POST", "/v1/batch_refunds", e.sk(), e.batchRefundBody("BRGOOD3", c1)))
		e.settle("/v1/batch_refunds/"+second.str("id"), "succeeded")
		if c := ok(t, "c1", e.do("GET", "/v1/charges/"+c1, e.sk(), nil)); c.num("amount_refunded") != 1000 || c.JSON["refunded"] != true {
			t.Fatalf("c1 after the rest: %s", c.Body)
		}
		list := ok(t, "list", e.do("GET", "/v1/batch_refunds?page=1&per_page=10", e.sk(), nil))
		if got := ids(list); !slices.Equal(sorted(got), sorted([]string{id, second.str("id")})) {
			t.Fatalf("list: %s", list.Body)
		}
		checkLedger(t, e)
	})
}

// TestRedEnvelopeWxPub: a red envelope is sent at create
// (red_envelope.sent) and opened when retrieved in test mode
// (red_envelope.received); order_no answers a retry; a user the official
// account does not know fails it; the books balance.
func TestRedEnvelopeWxPub(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		rc := e.listen()
		body := e.redEnvelopeBody("30000001")
		re := e.do("POST", "/v1/red_envelopes", e.sk(), body)
		if re.Status == 400 && re.str("error", "param") == "channel" {
			t.Skipf("the sandbox's WeChat connector cannot send red envelopes: %s", re.Body)
		}
		ok(t, "create", re)
		id := re.str("id")
		if re.str("status") != "sent" || re.num("amount") != 100 || re.str("recipient") != wechatsim.SandboxPayees[0].OpenID ||
			re.JSON["received"] != nil || re.JSON["refunded"] != nil || re.str("extra", "send_name") != "测试商户" {
			t.Fatalf("created: %s", re.Body)
		}
		e.retrieveEvent(t, rc, id, "red_envelope.sent")
		if again := ok(t, "again", e.do("POST", "/v1/red_envelopes", e.sk(), body)); again.str("id") != id {
			t.Fatalf("repeated create: %s", again.Body)
		}
		changed := e.redEnvelopeBody("30000001")
		changed["amount"] = 200
		refused(t, "changed", e.do("POST", "/v1/red_envelopes", e.sk(), changed), 400, "order_no")
		opened := e.settle("/v1/red_envelopes/"+id, "received")
		if opened.num("received") == 0 || opened.str("transaction_no") == "" {
			t.Fatalf("opened: %s", opened.Body)
		}
		e.retrieveEvent(t, rc, id, "red_envelope.received")

		stranger := e.redEnvelopeBody("30000002")
		stranger["recipient"] = "oUpF8uNotAPayeeOfThisAccount"
		failed := ok(t, "stranger", e.do("POST", "/v1/red_envelopes", e.sk(), stranger))
		if failed.str("status") != "failed" || failed.str("failure_msg") == "" {
			t.Fatalf("unknown user: %s", failed.Body)
		}
		list := ok(t, "list", e.do("GET", "/v1/red_envelopes?channel=wx_pub&limit=1", e.sk(), nil))
		if got := ids(list); len(got) != 1 || got[0] != failed.str("id") || list.JSON["has_more"] != true {
			t.Fatalf("list: %s", list.Body)
		}
		if rc.eventsAbout(failed.str("id"), "red_envelope.sent") != 0 || rc.eventsAbout(id, "red_envelope.sent") != 1 {
			t.Fatalf("red_envelope.sent deliveries: failed %d, sent %d", rc.eventsAbout(failed.str("id"), "red_envelope.sent"), rc.eventsAbout(id, "red_envelope.sent"))
		}
		checkLedger(t, e)
	})
}

// sameAnswers posts body to path n times at once (a client retrying) and
// fails unless every answer is a 200 with the same object.
func (e *env) sameAnswers(t *testing.T, path string, body any, n int) string {
	t.Helper()
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", path, e.sk(), body)
			got[i] = fmt.Sprintf("%d %s", r.Status, r.str("id"))
		}()
	}
	wg.Wait()
	for _, g := range got {
		if g != got[0] || !strings.HasPrefix(g, "200 ") || len(g) < 10 {
			t.Errorf("POST %s %d times at once answered %v", path, n, got)
			return ""
		}
	}
	return strings.TrimPrefix(got[0], "200 ")
}

// TestPayoutConcurrentCreates: the same payout asked many times at once
// is stored and paid once: a transfer and a red envelope by order_no, a
// batch transfer and a batch refund by batch_no.
func TestPayoutConcurrentCreates(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		c1, c2 := e.paidCharge("PCC00001", 1000), e.paidCharge("PCC00002", 1000)
		t.Run("transfer", func(t *testing.T) {
			if id := e.sameAnswers(t, "/v1/transfers", e.transferBody("PCCTR001", 1000, payee), 8); id != "" {
				e.settle("/v1/transfers/"+id, "paid")
			}
		})
		t.Run("batch transfer", func(t *testing.T) {
			body := e.batchTransferBody("PCCBATCH00001", recipient(payee, 100), recipient(payeePhone, 200))
			if id := e.sameAnswers(t, "/v1/batch_transfers", body, 8); id != "" {
				e.settle("/v1/batch_transfers/"+id, "succeeded")
			}
		})
		t.Run("red envelope", func(t *testing.T) {
			e.sameAnswers(t, "/v1/red_envelopes", e.redEnvelopeBody("40000001"), 8)
		})
		t.Run("batch refund", func(t *testing.T) {
			if id := e.sameAnswers(t, "/v1/batch_refunds", e.batchRefundBody("PCCBR1", c1, c2), 8); id != "" {
				e.settle("/v1/batch_refunds/"+id, "succeeded")
			}
		})
		// One of each was stored; each charge was refunded once.
		for p, want := range map[string]int{"/v1/transfers": 3, "/v1/batch_transfers": 1, "/v1/red_envelopes": 1, "/v1/batch_refunds": 1} {
			if r := ok(t, p, e.do("GET", p, e.sk(), nil)); len(ids(r)) != want {
				t.Errorf("GET %s: %d objects, want %d: %s", p, len(ids(r)), want, r.Body)
			}
		}
		for _, c := range []string{c1, c2} {
			if r := ok(t, "refunds", e.do("GET", "/v1/charges/"+c+"/refunds", e.sk(), nil)); len(ids(r)) != 1 {
				t.Errorf("charge %s refunds: %s", c, r.Body)
			}
		}
		checkLedger(t, e)
	})
}

// TestPayoutApprovalOnlyTightensWithKey: approval guards against a leaked
// secret key, so the key may lower approve_above or switch batch approval
// on, never the reverse; the console's owners and admins may.
func TestPayoutApprovalOnlyTightensWithKey(t *testing.T) {
	e := start(t, storetest.Backends(t)[0], nil)
	path := "/v1/apps/" + e.app.AppID + "/payout_settings"
	steps := []struct {
		body  string
		param string // "" when accepted
	}{
		{`{"approve_above":5000}`, ""},
		{`{"approve_above":3000}`, ""},
		{`{"approve_above":3001}`, "approve_above"},
		{`{"approve_above":0}`, "approve_above"},
		{`{"approve_batches":true}`, ""},
		{`{"approve_batches":false}`, "approve_batches"},
		{`{"approve_above":3000,"approve_batches":true}`, ""},
	}
	for _, s := range steps {
		r := e.do("PUT", path, e.sk(), s.body)
		if s.param == "" {
			ok(t, s.body, r)
		} else {
			refused(t, s.body, r, 400, s.param)
		}
	}
	st := ok(t, "settings", e.do("GET", path, e.sk(), nil))
	if st.num("approve_above") != 3000 || st.JSON["approve_batches"] != true {
		t.Fatalf("settings after refused loosening: %s", st.Body)
	}
	// The console (an owner) loosens them.
	var app *polypay.App
	if err := e.node.DB.Read(ctx, func(tx *store.Tx) (err error) { app, err = tx.GetApp(ctx, e.app.AppID); return }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.node.Svc.PutPayoutSettings(ctx, core.Caller{App: app}, polypay.PayoutSettings{}); err != nil {
		t.Fatal(err)
	}
	if st := ok(t, "settings", e.do("GET", path, e.sk(), nil)); st.num("approve_above") != 0 || st.JSON["approve_batches"] != false {
		t.Fatalf("settings after the console loosened them: %s", st.Body)
	}
}
