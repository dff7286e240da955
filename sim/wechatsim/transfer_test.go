package wechatsim_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/wechatsim"
)

var (
	zhang = wechatsim.SandboxPayees[0]
	li    = wechatsim.SandboxPayees[1]
)

// encryptName is what the SDKs do with user_name: RSAES-OAEP (SHA-1) with
// the platform public key, base64.
func encryptName(t *testing.T, name string) string {
	t.Helper()
	ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &platformKey.PublicKey, []byte(name), nil)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(ct)
}

type detailIn struct {
	no, openid, name string
	amount           int64
}

// batchBody is a transfer batch; names are encrypted as the SDKs do.
func batchBody(t *testing.T, no string, details ...detailIn) map[string]any {
	t.Helper()
	var list []map[string]any
	var total int64
	for _, d := range details {
		m := map[string]any{"out_detail_no": d.no, "transfer_amount": d.amount, "transfer_remark": "佣金", "openid": d.openid}
		if d.name != "" {
			m["user_name"] = encryptName(t, d.name)
		}
		list = append(list, m)
		total += d.amount
	}
	return map[string]any{"appid": appid, "out_batch_no": no, "batch_name": "佣金", "batch_remark": "十一月佣金",
		"total_amount": total, "total_num": len(details), "transfer_detail_list": list}
}

func (e *env) initiate(t *testing.T, body map[string]any) reply {
	t.Helper()
	return e.do(t, request{method: "POST", path: "/v3/transfer/batches", body: body, accept: keyID})
}

func (e *env) detail(t *testing.T, batch, detail string) reply {
	t.Helper()
	return e.do(t, request{method: "GET", path: "/v3/transfer/batches/out-batch-no/" + batch + "/details/out-detail-no/" + detail})
}

func TestTransferBatchRejected(t *testing.T) {
	e := newEnv(t)
	ok := detailIn{"d00001", zhang.OpenID, "", 100}
	with := func(change func(b map[string]any)) map[string]any {
		b := batchBody(t, "rej00001", ok)
		change(b)
		return b
	}
	named := func(amount int64) map[string]any {
		return batchBody(t, "rej00001", detailIn{"d00001", zhang.OpenID, zhang.Name, amount})
	}
	cases := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"ErrTotalAmount", request{body: with(func(b map[string]any) { b["total_amount"] = 99 })}, 400, "PARAM_ERROR"},
		{"ErrTotalNum", request{body: with(func(b map[string]any) { b["total_num"] = 2 })}, 400, "PARAM_ERROR"},
		{"ErrBatchNo", request{body: with(func(b map[string]any) { b["out_batch_no"] = "b-1" })}, 400, "PARAM_ERROR"},
		{"ErrNoRemark", request{body: with(func(b map[string]any) { delete(b, "batch_remark") })}, 400, "PARAM_ERROR"},
		{"ErrAppID", request{body: with(func(b map[string]any) { b["appid"] = "wx_not_bound" })}, 400, "INVALID_REQUEST"},
		{"ErrDuplicateDetail", request{body: batchBody(t, "rej00001", ok, ok)}, 400, "PARAM_ERROR"},
		{"ErrNameBelow30Fen", request{body: named(29)}, 400, "PARAM_ERROR"},
		{"ErrNoNameFrom2000Yuan", request{body: batchBody(t, "rej00001", detailIn{"d00001", zhang.OpenID, "", 200000})}, 400, "PARAM_ERROR"},
		{"ErrMixedNames", request{body: batchBody(t, "rej00001", ok, detailIn{"d00002", li.OpenID, li.Name, 100})}, 400, "PARAM_ERROR"},
		{"ErrNameInClear", request{body: with(func(b map[string]any) {
			b["transfer_detail_list"].([]map[string]any)[0]["user_name"] = zhang.Name
		})}, 400, "PARAM_ERROR"},
		{"ErrNameWithoutSerial", request{body: named(100), accept: "-"}, 400, "PARAM_ERROR"},
		{"ErrSignature", request{body: batchBody(t, "rej00001", ok), key: otherKey}, 401, "SIGN_ERROR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req
			r.method, r.path = "POST", "/v3/transfer/batches"
			if r.accept == "" {
				r.accept = keyID
			} else if r.accept == "-" {
				r.accept = ""
			}
			wantError(t, e.do(t, r), tc.status, tc.code)
		})
	}
	if got := e.sim.Funds(mchid); got != wechatsim.DefaultFunds {
		t.Fatalf("funds %d after refusals, want %d", got, wechatsim.DefaultFunds)
	}
	if n := len(e.sim.Payouts()); n != 0 {
		t.Fatalf("refused batches left %d payouts", n)
	}
}

// TestTransferBatch: accepted, sent again (the same batch, paid once),
// decided on the merchant's first look, each detail once in the books.
func TestTransferBatch(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, 204)
	body := batchBody(t, "batch00001", detailIn{"d00001", zhang.OpenID, zhang.Name, 1000}, detailIn{"d00002", li.OpenID, zhang.Name, 2000})
	body["notify_url"] = rc.srv.URL + "/notify"
	first := e.initiate(t, body)
	if first.status != 200 || first.str("batch_status") != "ACCEPTED" || first.str("batch_id") == "" || first.str("out_batch_no") != "batch00001" {
		t.Fatalf("initiate: %d %s", first.status, first.raw)
	}
	body2 := batchBody(t, "batch00001", detailIn{"d00001", zhang.OpenID, zhang.Name, 1000}, detailIn{"d00002", li.OpenID, zhang.Name, 2000})
	body2["notify_url"] = rc.srv.URL + "/notify"
	again := e.initiate(t, body2) // names encrypted afresh: another ciphertext, the same batch
	if again.status != 200 || again.str("batch_id") != first.str("batch_id") {
		t.Fatalf("initiate again: %d %s", again.status, again.raw)
	}
	other := batchBody(t, "batch00001", detailIn{"d00001", zhang.OpenID, "", 1001})
	wantError(t, e.initiate(t, other), 400, "INVALID_REQUEST")
	if got := e.sim.Funds(mchid); got != wechatsim.DefaultFunds-3000 {
		t.Fatalf("funds %d, want %d (taken once, when accepted)", got, wechatsim.DefaultFunds-3000)
	}

	d1 := e.detail(t, "batch00001", "d00001")
	if d1.status != 200 || d1.str("detail_status") != "SUCCESS" || d1.num("transfer_amount") != 1000 || d1.str("detail_id") == "" {
		t.Fatalf("detail 1: %d %s", d1.status, d1.raw)
	}
	name, err := decryptName(d1.str("user_name"))
	if err != nil || name != zhang.Name {
		t.Fatalf("user_name in the answer decrypts to %q, %v; want the name sent, for the merchant's key", name, err)
	}
	d2 := e.detail(t, "batch00001", "d00002")
	if d2.str("detail_status") != "FAIL" || d2.str("fail_reason") != "NAME_NOT_CORRECT" {
		t.Fatalf("detail 2 (wrong name): %s", d2.raw)
	}
	if got := e.sim.Funds(mchid); got != wechatsim.DefaultFunds-1000 {
		t.Fatalf("funds %d, want %d (the failed detail's money back)", got, wechatsim.DefaultFunds-1000)
	}
	wantError(t, e.detail(t, "batch00001", "d00003"), 404, "NOT_FOUND")
	wantError(t, e.detail(t, "nobatch001", "d00001"), 404, "NOT_FOUND")

	b := e.do(t, request{method: "GET", path: "/v3/transfer/batches/out-batch-no/batch00001?need_query_detail=true&detail_status=FAIL"})
	tb, _ := b.fields["transfer_batch"].(map[string]any)
	list, _ := b.fields["transfer_detail_list"].([]any)
	if b.status != 200 || tb["batch_status"] != "FINISHED" || tb["success_num"] != 1.0 || tb["fail_amount"] != 2000.0 || len(list) != 1 {
		t.Fatalf("batch: %d %s", b.status, b.raw)
	}
	byID := e.do(t, request{method: "GET", path: "/v3/transfer/batches/batch-id/" + first.str("batch_id") + "?need_query_detail=false"})
	if byID.status != 200 || byID.fields["transfer_detail_list"] != nil {
		t.Fatalf("batch by id: %d %s", byID.status, byID.raw)
	}
	dByID := e.do(t, request{method: "GET", path: "/v3/transfer/batches/batch-id/" + first.str("batch_id") + "/details/detail-id/" + d1.str("detail_id")})
	if dByID.status != 200 || dByID.str("out_detail_no") != "d00001" {
		t.Fatalf("detail by id: %d %s", dByID.status, dByID.raw)
	}
	wantError(t, e.do(t, request{method: "GET", path: "/v3/transfer/batches/out-batch-no/batch00001"}), 400, "PARAM_ERROR")
	wantError(t, e.do(t, request{method: "GET", path: "/v3/transfer/batches/out-batch-no/batch00001?need_query_detail=true&limit=101"}), 400, "PARAM_ERROR")

	books := e.sim.Payouts()
	if len(books) != 2 || books[0].Status != "SUCCESS" || books[1].Status != "FAIL" || books[1].FailReason != "NAME_NOT_CORRECT" {
		t.Fatalf("books %+v", books)
	}
	waitFor(t, "the batch notification", func() bool { return len(rc.received()) == 1 })
	n := rc.received()[0]
	if err := verifySigned(n.header, n.body); err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(n.body, &env); err != nil || env["event_type"] != "MCHTRANSFER.BATCH.FINISHED" {
		t.Fatalf("notification %s", n.body)
	}
	var p map[string]any
	if err := json.Unmarshal(decrypt(t, apiV3Key, env["resource"].(map[string]any)), &p); err != nil {
		t.Fatal(err)
	}
	if p["out_batch_no"] != "batch00001" || p["batch_status"] != "FINISHED" || p["total_num"] != 2.0 || p["success_amount"] != 1000.0 || p["fail_num"] != 1.0 {
		t.Fatalf("payload %v", p)
	}
}

func decryptName(ct string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(ct)
	if err != nil {
		return "", err
	}
	b, err := rsa.DecryptOAEP(sha1.New(), nil, merchantKey, raw, nil)
	return string(b), err
}

// TestTransferFunds: a batch the funds do not cover is refused NOT_ENOUGH
// and not created; after a top-up (sandbox endpoint) the same batch goes.
func TestTransferFunds(t *testing.T) {
	e := newEnv(t)
	e.sim.SetFunds(mchid, 999)
	body := batchBody(t, "funds00001", detailIn{"d00001", zhang.OpenID, "", 1000})
	wantError(t, e.initiate(t, body), 403, "NOT_ENOUGH")
	wantError(t, e.detail(t, "funds00001", "d00001"), 404, "NOT_FOUND")
	rep := sandboxPost(t, e, "topup", url.Values{"amount": {"1"}})
	if rep["available"] != 1000.0 {
		t.Fatalf("top-up answered %v", rep)
	}
	if r := e.initiate(t, body); r.status != 200 {
		t.Fatalf("after the top-up: %d %s", r.status, r.raw)
	}
	if got := e.sim.Funds(mchid); got != 0 {
		t.Fatalf("funds %d, want 0", got)
	}
}

// TestTransferDailyLimit: a payee past its daily limit fails
// DAY_RECEIVED_QUOTA_EXCEED; the next Beijing day it is paid.
func TestTransferDailyLimit(t *testing.T) {
	e := newEnv(t)
	pay := func(no string, amount int64) string {
		if r := e.initiate(t, batchBody(t, no, detailIn{"d00001", li.OpenID, li.Name, amount})); r.status != 200 {
			t.Fatalf("initiate %s: %s", no, r.raw)
		}
		d := e.detail(t, no, "d00001")
		return d.str("detail_status") + d.str("fail_reason")
	}
	if got := pay("limit00001", wechatsim.DefaultPayeeDailyLimit-50); got != "SUCCESS" {
		t.Fatalf("up to the limit: %s", got)
	}
	if got := pay("limit00002", 100); got != "FAILDAY_RECEIVED_QUOTA_EXCEED" {
		t.Fatalf("past the limit: %s", got)
	}
	e.clock.Add(24 * time.Hour)
	if got := pay("limit00003", 100); got != "SUCCESS" {
		t.Fatalf("the next day: %s", got)
	}
}

// TestTransferHeld: with HoldPayouts, looks decide nothing; the sandbox
// endpoint decides, and settling a decided detail again is refused.
func TestTransferHeld(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, cst)}
	s := wechatsim.New(wechatsim.Options{PrivateKey: platformKey, PublicKeyID: keyID, Merchant: merchants, Now: clk.Now, HoldPayouts: true})
	t.Cleanup(s.Close)
	e := &env{sim: s, clock: clk}
	e.base = serve(t, s)
	if r := e.initiate(t, batchBody(t, "held00001", detailIn{"d00001", zhang.OpenID, "", 100}, detailIn{"d00002", zhang.OpenID, "", 200})); r.status != 200 {
		t.Fatalf("initiate: %s", r.raw)
	}
	if d := e.detail(t, "held00001", "d00001"); d.str("detail_status") != "PROCESSING" {
		t.Fatalf("held detail: %s", d.raw)
	}
	sandboxPost(t, e, "transfer", url.Values{"out_batch_no": {"held00001"}, "out_detail_no": {"d00002"}, "result": {"FAIL"}})
	if d := e.detail(t, "held00001", "d00002"); d.str("detail_status") != "FAIL" || d.str("fail_reason") != "TRANSFER_RISK" {
		t.Fatalf("failed by the endpoint: %s", d.raw)
	}
	b := e.do(t, request{method: "GET", path: "/v3/transfer/batches/out-batch-no/held00001?need_query_detail=false"})
	if tb := b.fields["transfer_batch"].(map[string]any); tb["batch_status"] != "ACCEPTED" {
		t.Fatalf("a batch with a detail waiting: %s", b.raw)
	}
	sandboxPost(t, e, "transfer", url.Values{"out_batch_no": {"held00001"}, "result": {"SUCCESS"}})
	if d := e.detail(t, "held00001", "d00001"); d.str("detail_status") != "SUCCESS" {
		t.Fatalf("paid by the endpoint: %s", d.raw)
	}
	if err := s.SettleTransfer(context.Background(), mchid, "held00001", "d00001", ""); err == nil {
		t.Fatal("a decided detail was settled again")
	}
	if got := s.Funds(mchid); got != wechatsim.DefaultFunds-100 {
		t.Fatalf("funds %d, want %d", got, wechatsim.DefaultFunds-100)
	}
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// sandboxPost calls a sandbox endpoint, which must answer 200.
func sandboxPost(t *testing.T, e *env, op string, form url.Values) map[string]any {
	t.Helper()
	resp, err := http.PostForm(e.base+"/sandbox/"+mchid+"/"+op, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("sandbox %s: HTTP %d %v %v", op, resp.StatusCode, out, err)
	}
	return out
}

func TestSandboxEndpoints(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, method, path string
		form               url.Values
		status             int
	}{
		{"Funds", "GET", "/sandbox/" + mchid + "/funds", nil, 200},
		{"Mounted", "GET", "/sim/wechatpay/sandbox/" + mchid + "/funds", nil, 200},
		{"ErrFundsPost", "POST", "/sandbox/" + mchid + "/funds", nil, 405},
		{"ErrTopUpGet", "GET", "/sandbox/" + mchid + "/topup", nil, 405},
		{"ErrUnknownMerchant", "GET", "/sandbox/1234/funds", nil, 404},
		{"ErrTopUpZero", "POST", "/sandbox/" + mchid + "/topup", url.Values{"amount": {"0"}}, 400},
		{"ErrTopUpText", "POST", "/sandbox/" + mchid + "/topup", url.Values{"amount": {"ten"}}, 400},
		{"ErrTransferUnknown", "POST", "/sandbox/" + mchid + "/transfer", url.Values{"out_batch_no": {"none00001"}}, 400},
		{"ErrTransferResult", "POST", "/sandbox/" + mchid + "/transfer", url.Values{"out_batch_no": {"none00001"}, "result": {"MAYBE"}}, 400},
		{"ErrRedpackAction", "POST", "/sandbox/" + mchid + "/redpack", url.Values{"mch_billno": {"1"}, "action": {"steal"}}, 400},
		{"ErrRedpackUnknown", "POST", "/sandbox/" + mchid + "/redpack", url.Values{"mch_billno": {"1"}, "action": {"open"}}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, e.base+tc.path, strings.NewReader(tc.form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != tc.status {
				t.Fatalf("HTTP %d %v, want %d", resp.StatusCode, out, tc.status)
			}
			if tc.status == 200 && out["available"] != float64(wechatsim.DefaultFunds) {
				t.Fatalf("answer %v", out)
			}
			if tc.status != 200 && (out["code"] == nil || out["message"] == nil) {
				t.Fatalf("error answer %v", out)
			}
		})
	}
	if got := e.sim.Funds(mchid); got != wechatsim.DefaultFunds {
		t.Fatalf("funds %d after refused calls", got)
	}
}
