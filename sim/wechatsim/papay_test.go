package wechatsim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay/sim/wechatsim"
)

const (
	planID      = "12535"
	otherMchid  = "1900000110"
	otherSerial = "6157F09EFDC096DE15EBE81A47057A7232F1B8E2"
	otherV2Key  = "otherV2KEY0123456789abcdefghijkl"
)

// papayMerchants knows the usual merchant and a second one bound to the
// same appid, with keys of its own.
func papayMerchants(id string) (*wechatsim.Merchant, bool) {
	if id == otherMchid {
		return &wechatsim.Merchant{MchID: otherMchid, AppIDs: []string{appid}, SerialNo: otherSerial,
			PublicKey: &otherKey.PublicKey, APIv3Key: apiV3Key, APIv2Key: otherV2Key}, true
	}
	return merchants(id)
}

func newPapayEnv(t *testing.T, retry ...time.Duration) *env {
	t.Helper()
	if retry == nil {
		retry = []time.Duration{time.Hour} // never fires within a test
	}
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, cst)}
	s := wechatsim.New(wechatsim.Options{PrivateKey: platformKey, PublicKeyID: keyID, Merchant: papayMerchants,
		Now: clk.Now, Retry: retry})
	t.Cleanup(s.Close)
	return &env{sim: s, clock: clk, base: serve(t, s)}
}

// v2Receiver is a merchant's v2 notify endpoint: it acknowledges with
// return_code SUCCESS, after the replies given if any, and keeps the
// bodies.
type v2Receiver struct {
	mu  sync.Mutex
	got [][]byte
	url string
}

const v2Ack = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"

func newV2Receiver(t *testing.T, replies ...string) *v2Receiver {
	rc := &v2Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, body)
		rc.mu.Unlock()
		reply := v2Ack
		if n < len(replies) {
			reply = replies[n]
		}
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/papay/notify"
	return rc
}

// notes waits for n notifications and returns them all, decoded.
func (rc *v2Receiver) notes(t *testing.T, n int) []v2Reply {
	t.Helper()
	waitFor(t, strconv.Itoa(n)+" notifications", func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return len(rc.got) >= n
	})
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]v2Reply, len(rc.got))
	for i, b := range rc.got {
		out[i] = decodeV2(t, "notification", b)
	}
	return out
}

// wantSigned checks a v2 answer or notification's sign with key.
func wantSigned(t *testing.T, r v2Reply, key, signType string) {
	t.Helper()
	var f [][2]string
	for k, v := range r {
		f = append(f, [2]string{k, v})
	}
	if r["sign"] == "" || v2SignAs(f, key, signType) != r["sign"] {
		t.Fatalf("sign of %v does not verify (%s)", r, signType)
	}
}

// signFields are an entrustweb request's parameters, unsigned.
func signFields(e *env, code, notifyURL string) [][2]string {
	return [][2]string{{"appid", appid}, {"mch_id", mchid}, {"plan_id", planID}, {"contract_code", code},
		{"request_serial", "1" + strconv.FormatInt(time.Now().UnixNano()%1e12, 10)},
		{"contract_display_account", "张三的会员 & 家人"}, {"notify_url", notifyURL}, {"version", "1.0"},
		{"timestamp", strconv.FormatInt(e.clock.Now().Unix(), 10)}}
}

// signURL is the URL a merchant builds: the values URL-encoded, signed
// as decoded.
func signURL(base, path string, f [][2]string, key string) string {
	q := url.Values{}
	for _, x := range f {
		q.Set(x[0], x[1])
	}
	q.Set("sign", v2Sign(f, key))
	return base + path + "?" + q.Encode()
}

var sessionRe = regexp.MustCompile(`name="sim_session" value="([^"]+)"`)

// browserSign opens a signing page in b and presses sign.
func (e *env) browserSign(t *testing.T, b *http.Client, u string) string {
	t.Helper()
	resp, err := b.Get(u)
	page := readPage(t, resp, err)
	m := sessionRe.FindStringSubmatch(page.body)
	if page.status != 200 || m == nil || !page.has(`id="sign"`) || !page.has(`id="decline"`) {
		t.Fatalf("signing page %d: %s", page.status, page.body)
	}
	resp, err = b.PostForm(e.base+"/papay/entrustweb", url.Values{"sim_session": {m[1]}, "action": {"sign"}})
	done := readPage(t, resp, err)
	if done.status != 200 || done.id("contract_id") == "" {
		t.Fatalf("signed: %d %s", done.status, done.body)
	}
	return done.id("contract_id")
}

func getPage(t *testing.T, u string) wpage {
	t.Helper()
	resp, err := http.Get(u)
	return readPage(t, resp, err)
}

func contractQuery(mch, id string) [][2]string {
	return [][2]string{{"appid", appid}, {"mch_id", mch}, {"contract_id", id}, {"version", "1.0"}}
}

func contractDelete(mch, id string) [][2]string {
	return append(contractQuery(mch, id), [2]string{"contract_termination_remark", "用户退订"})
}

func debit(no, fee, contractID, notifyURL string) [][2]string {
	return [][2]string{{"appid", appid}, {"mch_id", mchid}, {"nonce_str", "n0123456789"}, {"body", "会员月费"},
		{"out_trade_no", no}, {"total_fee", fee}, {"fee_type", "CNY"}, {"spbill_create_ip", "127.0.0.1"},
		{"notify_url", notifyURL}, {"trade_type", "PAP"}, {"contract_id", contractID}}
}

func orderQuery(no string) [][2]string {
	return [][2]string{{"appid", appid}, {"mch_id", mchid}, {"nonce_str", "n0123456789"}, {"out_trade_no", no}}
}

// wantResult checks an accepted call's answer: signed, result_code and
// err_code as given.
func wantResult(t *testing.T, r v2Reply, key, errCode string) {
	t.Helper()
	wantSigned(t, r, key, "")
	want := "SUCCESS"
	if errCode != "" {
		want = "FAIL"
	}
	if r["return_code"] != "SUCCESS" || r["result_code"] != want || r["err_code"] != errCode {
		t.Fatalf("answer %v, want result_code %s err_code %q", r, want, errCode)
	}
}

func without(f [][2]string, k string) [][2]string {
	var out [][2]string
	for _, x := range f {
		if x[0] != k {
			out = append(out, x)
		}
	}
	return out
}

func TestPapaySignRejected(t *testing.T) {
	e := newPapayEnv(t)
	rc := newV2Receiver(t)
	ok := signFields(e, "C100001", rc.url)
	stale := strconv.FormatInt(e.clock.Now().Add(-6*time.Minute).Unix(), 10)
	cases := []struct {
		name string
		url  string
		code string
	}{
		{"Forged", signURL(e.base, "/papay/entrustweb", ok, apiV2Key) + "0", "SIGN_ERROR"},
		{"OtherKey", signURL(e.base, "/papay/entrustweb", ok, otherV2Key), "SIGN_ERROR"},
		{"Tampered", strings.Replace(signURL(e.base, "/papay/entrustweb", ok, apiV2Key), "C100001", "C100002", 1), "SIGN_ERROR"},
		{"UnknownMerchant", signURL(e.base, "/papay/entrustweb", set(ok, "mch_id", "1234"), apiV2Key), "NO_AUTH"},
		{"AppIDNotBound", signURL(e.base, "/papay/entrustweb", set(ok, "appid", "wx_not_bound"), apiV2Key), "APPID_MCHID_NOT_MATCH"},
		{"Stale", signURL(e.base, "/papay/entrustweb", set(ok, "timestamp", stale), apiV2Key), "PARAM_ERROR"},
		{"NoContractCode", signURL(e.base, "/papay/entrustweb", without(ok, "contract_code"), apiV2Key), "PARAM_ERROR"},
		{"NoRequestSerial", signURL(e.base, "/papay/entrustweb", without(ok, "request_serial"), apiV2Key), "PARAM_ERROR"},
		{"PlanNotDigits", signURL(e.base, "/papay/entrustweb", set(ok, "plan_id", "12a"), apiV2Key), "PARAM_ERROR"},
		{"SerialLeadingZero", signURL(e.base, "/papay/entrustweb", set(ok, "request_serial", "0123"), apiV2Key), "PARAM_ERROR"},
		{"CodeNotAlnum", signURL(e.base, "/papay/entrustweb", set(ok, "contract_code", "C-1"), apiV2Key), "PARAM_ERROR"},
		{"NotifyQuery", signURL(e.base, "/papay/entrustweb", set(ok, "notify_url", rc.url+"?x=1"), apiV2Key), "PARAM_ERROR"},
		{"Version", signURL(e.base, "/papay/entrustweb", set(ok, "version", "2.0"), apiV2Key), "PARAM_ERROR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(tc.url)
			page := readPage(t, resp, err)
			if page.status != 400 || page.id("err_code") != tc.code || page.has(`id="sign"`) {
				t.Fatalf("page %d %s", page.status, page.body)
			}
			if _, err := e.sim.SignContract(context.Background(), tc.url); !errors.Is(err, wechatsim.ErrSignRejected) || !strings.Contains(err.Error(), tc.code) {
				t.Fatalf("SignContract: %v", err)
			}
		})
	}
	if page := e.walletGet(t, "/wallet/contracts"); strings.Contains(page.body, "contract_id=") {
		t.Fatalf("a refused signing made a contract: %s", page.body)
	}
}

// TestPapayLifecycle: signed in the browser (ADD notification), queried,
// debited (PAP notification, query, v3 query and refund), refused for
// the balance, terminated by the merchant (DELETE notification), and no
// longer debited.
func TestPapayLifecycle(t *testing.T) {
	e := newPapayEnv(t)
	rc := newV2Receiver(t)
	fields := signFields(e, "C200001", rc.url)
	b := browser()
	id := e.browserSign(t, b, signURL(e.base, "/papay/entrustweb", fields, apiV2Key))
	if len(id) != 18 || !strings.HasPrefix(id, "20261121") {
		t.Fatalf("contract_id %q", id)
	}
	add := rc.notes(t, 1)[0]
	wantSigned(t, add, apiV2Key, "")
	if add["change_type"] != "ADD" || add["contract_id"] != id || add["contract_code"] != "C200001" || add["plan_id"] != planID ||
		add["mch_id"] != mchid || add["result_code"] != "SUCCESS" || add["request_serial"] != fields[4][1] ||
		add["operate_time"] != "2026-11-21 10:00:00" || add["contract_expired_time"] == "" || add["openid"] == "" {
		t.Fatalf("ADD notification %v", add)
	}
	// The same contract_code again answers the same contract, silently.
	if again := e.browserSign(t, b, signURL(e.base, "/papay/entrustweb", signFields(e, "C200001", rc.url), apiV2Key)); again != id {
		t.Fatalf("signed again: %s, first %s", again, id)
	}
	byCode := [][2]string{{"appid", appid}, {"mch_id", mchid}, {"plan_id", planID}, {"contract_code", "C200001"}, {"version", "1.0"}}
	for _, tc := range []struct {
		fields   [][2]string
		signType string
	}{{contractQuery(mchid, id), ""}, {byCode, ""}, {set(byCode, "sign_type", "HMAC-SHA256"), "HMAC-SHA256"}} {
		q := e.v2At(t, "/papay/querycontract", v2Request{fields: tc.fields})
		wantSigned(t, q, apiV2Key, tc.signType)
		if q["result_code"] != "SUCCESS" || q["contract_id"] != id || q["contract_state"] != "0" || q["openid"] != add["openid"] ||
			q["contract_display_account"] != "张三的会员 & 家人" || q["contract_signed_time"] != "2026-11-21 10:00:00" {
			t.Fatalf("querycontract %v", q)
		}
	}
	if n := len(rc.notes(t, 1)); n != 1 || len(e.sim.ContractNotifications(id)) != 1 {
		t.Fatalf("%d notifications after signing twice", n)
	}
	e.debitAndRefund(t, rc, id, add["openid"])
	e.terminateByMerchant(t, rc, id)
}

func (e *env) debitAndRefund(t *testing.T, rc *v2Receiver, id, openid string) {
	t.Helper()
	wantResult(t, e.v2At(t, "/pay/pappayapply", v2Request{fields: debit("pap_1", "1500", id, rc.url)}), apiV2Key, "")
	note := rc.notes(t, 2)[1]
	wantSigned(t, note, apiV2Key, "")
	if note["result_code"] != "SUCCESS" || note["trade_type"] != "PAP" || note["out_trade_no"] != "pap_1" ||
		note["total_fee"] != "1500" || note["cash_fee"] != "1500" || note["fee_type"] != "CNY" || note["contract_id"] != id ||
		note["openid"] != openid || note["transaction_id"] == "" || note["time_end"] != "20261121100000" ||
		note["appid"] != appid || note["bank_type"] == "" {
		t.Fatalf("pay notification %v", note)
	}
	q := e.v2At(t, "/pay/paporderquery", v2Request{fields: orderQuery("pap_1")})
	wantResult(t, q, apiV2Key, "")
	if q["trade_state"] != "SUCCESS" || q["transaction_id"] != note["transaction_id"] || q["contract_id"] != id || q["total_fee"] != "1500" {
		t.Fatalf("paporderquery %v", q)
	}
	// The same debit again is the same trade; another amount is not.
	wantResult(t, e.v2At(t, "/pay/pappayapply", v2Request{fields: debit("pap_1", "1500", id, rc.url)}), apiV2Key, "")
	wantResult(t, e.v2At(t, "/pay/pappayapply", v2Request{fields: debit("pap_1", "1600", id, rc.url)}), apiV2Key, "ORDERPAID")
	if v3 := e.query(t, "pap_1"); v3.str("trade_type") != "PAP" || v3.str("trade_state") != "SUCCESS" || v3.num("amount", "total") != 1500 {
		t.Fatalf("v3 query: %s", v3.raw)
	}
	rf := e.do(t, request{method: "POST", path: "/v3/refund/domestic/refunds", body: map[string]any{
		"out_trade_no": "pap_1", "out_refund_no": "pap_1_r", "amount": map[string]any{"refund": 500, "total": 1500, "currency": "CNY"}}})
	if rf.status != 200 {
		t.Fatalf("refund: %d %s", rf.status, rf.raw)
	}
	if q := e.v2At(t, "/pay/paporderquery", v2Request{fields: orderQuery("pap_1")}); q["trade_state"] != "REFUND" {
		t.Fatalf("paporderquery after the refund %v", q)
	}
	e.sim.SetContractBalance(id, false)
	wantResult(t, e.v2At(t, "/pay/pappayapply", v2Request{fields: debit("pap_2", "1500", id, rc.url)}), apiV2Key, "NOTENOUGH")
	wantResult(t, e.v2At(t, "/pay/paporderquery", v2Request{fields: orderQuery("pap_2")}), apiV2Key, "ORDERNOTEXIST")
	e.sim.SetContractBalance(id, true)
	// HMAC-SHA256 debits are answered and notified in HMAC-SHA256.
	hm := e.v2At(t, "/pay/pappayapply", v2Request{fields: set(debit("pap_2", "1500", id, rc.url), "sign_type", "HMAC-SHA256")})
	wantSigned(t, hm, apiV2Key, "HMAC-SHA256")
	if hn := rc.notes(t, 3)[2]; hn["out_trade_no"] != "pap_2" || hn["sign_type"] != "HMAC-SHA256" {
		t.Fatalf("HMAC notification %v", hn)
	} else {
		wantSigned(t, hn, apiV2Key, "HMAC-SHA256")
	}
	for _, tr := range e.sim.Trades() {
		if tr.TradeType != "PAP" || !tr.Paid {
			t.Fatalf("trade %+v", tr)
		}
	}
}

func (e *env) terminateByMerchant(t *testing.T, rc *v2Receiver, id string) {
	t.Helper()
	e.clock.Add(time.Minute)
	del := e.v2At(t, "/papay/deletecontract", v2Request{fields: contractDelete(mchid, id)})
	wantResult(t, del, apiV2Key, "")
	if del["contract_id"] != id || del["plan_id"] != planID || del["contract_code"] != "C200001" {
		t.Fatalf("deletecontract %v", del)
	}
	n := rc.notes(t, 4)[3]
	wantSigned(t, n, apiV2Key, "")
	if n["change_type"] != "DELETE" || n["contract_id"] != id || n["contract_termination_mode"] != "3" || n["operate_time"] != "2026-11-21 10:01:00" {
		t.Fatalf("DELETE notification %v", n)
	}
	wantResult(t, e.v2At(t, "/papay/deletecontract", v2Request{fields: contractDelete(mchid, id)}), apiV2Key, "")
	q := e.v2At(t, "/papay/querycontract", v2Request{fields: contractQuery(mchid, id)})
	if q["contract_state"] != "1" || q["contract_termination_mode"] != "3" || q["contract_terminated_time"] != "2026-11-21 10:01:00" ||
		q["contract_termination_remark"] != "用户退订" {
		t.Fatalf("querycontract after deleting %v", q)
	}
	wantResult(t, e.v2At(t, "/pay/pappayapply", v2Request{fields: debit("pap_3", "1500", id, rc.url)}), apiV2Key, "CONTRACTERROR")
	wantError(t, e.do(t, request{method: "POST", path: "/v3/papay/contracts/" + id + "/notify", body: preDebit(1500)}), 400, "PARAM_ERROR")
	time.Sleep(50 * time.Millisecond) // a second DELETE would have been posted by now
	if got := len(rc.notes(t, 4)); got != 4 {
		t.Fatalf("%d notifications, want 4 (deleting twice notifies once)", got)
	}
}

func preDebit(amount int64) map[string]any {
	return map[string]any{"mchid": mchid, "appid": appid, "estimated_amount": map[string]any{"amount": amount, "currency": "CNY"}}
}

func TestPapayUserTerminate(t *testing.T) {
	e := newPapayEnv(t)
	rc := newV2Receiver(t)
	ctx := context.Background()
	id, err := e.sim.SignContract(ctx, signURL(e.base, "/papay/entrustweb", signFields(e, "C300001", rc.url), apiV2Key))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.UserTerminateContract(ctx, otherMchid, id); !errors.Is(err, wechatsim.ErrContractNotFound) {
		t.Fatalf("another merchant's customer terminated: %v", err)
	}
	if err := e.sim.UserTerminateContract(ctx, mchid, id); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.UserTerminateContract(ctx, mchid, id); !errors.Is(err, wechatsim.ErrContractTerminated) {
		t.Fatalf("terminated twice: %v", err)
	}
	notes := rc.notes(t, 2)
	if notes[1]["change_type"] != "DELETE" || notes[1]["contract_termination_mode"] != "2" {
		t.Fatalf("DELETE notification %v", notes[1])
	}
	if q := e.v2At(t, "/papay/querycontract", v2Request{fields: contractQuery(mchid, id)}); q["contract_state"] != "1" || q["contract_termination_mode"] != "2" {
		t.Fatalf("querycontract %v", q)
	}
	// The wallet's terminate button.
	id2, err := e.sim.SignContract(ctx, signURL(e.base, "/papay/entrustweb", signFields(e, "C300002", rc.url), apiV2Key))
	if err != nil {
		t.Fatal(err)
	}
	page := e.walletGet(t, "/wallet/contracts?contract_id="+id2)
	if page.status != 200 || page.id("contract_id") != id2 || !page.has(`id="unsign"`) {
		t.Fatalf("wallet page %d %s", page.status, page.body)
	}
	done := e.walletPost(t, "/wallet/contracts", url.Values{"contract_id": {id2}, "action": {"unsign"}})
	if done.status != 200 || done.id("contract_termination_mode") != "2" || done.has(`id="unsign"`) {
		t.Fatalf("terminated in the wallet: %d %s", done.status, done.body)
	}
	if n := rc.notes(t, 4)[3]; n["change_type"] != "DELETE" || n["contract_id"] != id2 || n["contract_termination_mode"] != "2" {
		t.Fatalf("DELETE notification %v", n)
	}
	if list := e.walletGet(t, "/wallet/contracts"); !list.has(id) || !list.has(id2) {
		t.Fatalf("wallet list %s", list.body)
	}
}

// TestPapayOtherMerchant: a contract is its merchant's alone.
func TestPapayOtherMerchant(t *testing.T) {
	e := newPapayEnv(t)
	rc := newV2Receiver(t)
	id, err := e.sim.SignContract(context.Background(), signURL(e.base, "/papay/entrustweb", signFields(e, "C400001", rc.url), apiV2Key))
	if err != nil {
		t.Fatal(err)
	}
	other := v2Request{key: otherV2Key}
	cases := []struct {
		name, path string
		fields     [][2]string
	}{
		{"Query", "/papay/querycontract", contractQuery(otherMchid, id)},
		{"QueryByCode", "/papay/querycontract", [][2]string{{"appid", appid}, {"mch_id", otherMchid}, {"plan_id", planID},
			{"contract_code", "C400001"}, {"version", "1.0"}}},
		{"Delete", "/papay/deletecontract", contractDelete(otherMchid, id)},
		{"Debit", "/pay/pappayapply", set(debit("pap_o1", "100", id, rc.url), "mch_id", otherMchid)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			other.fields = tc.fields
			wantResult(t, e.v2At(t, tc.path, other), otherV2Key, "CONTRACT_NOT_EXIST")
		})
	}
	wantError(t, e.do(t, request{method: "POST", path: "/v3/papay/contracts/" + id + "/notify", key: otherKey, serial: otherSerial,
		mchid: otherMchid, body: map[string]any{"mchid": otherMchid, "appid": appid,
			"estimated_amount": map[string]any{"amount": 100, "currency": "CNY"}}}), 404, "RESOURCE_NOT_EXISTS")
	// The merchant's own key signs nothing for the other one.
	wantV2(t, e.v2At(t, "/papay/querycontract", v2Request{fields: contractQuery(otherMchid, id)}), "FAIL", "SIGN_ERROR")
	q := e.v2At(t, "/papay/querycontract", v2Request{fields: contractQuery(mchid, id)})
	if q["contract_state"] != "0" {
		t.Fatalf("the contract after the other merchant's tries: %v", q)
	}
	wantResult(t, e.v2At(t, "/papay/querycontract", v2Request{fields: contractQuery(mchid, "201511210000000000")}), apiV2Key, "CONTRACT_NOT_EXIST")
	wantResult(t, e.v2At(t, "/papay/querycontract", v2Request{fields: set(contractQuery(mchid, id), "appid", "wx_other_app_0001")}), apiV2Key, "CONTRACT_NOT_EXIST")
	wantResult(t, e.v2At(t, "/pay/pappayapply", v2Request{fields: debit("pap_u1", "100", "201511210000000000", rc.url)}), apiV2Key, "CONTRACT_NOT_EXIST")
	wantResult(t, e.v2At(t, "/papay/querycontract", v2Request{fields: without(contractQuery(mchid, id), "version")}), apiV2Key, "PARAM_ERROR")
}

func TestPapayPreDebit(t *testing.T) {
	e := newPapayEnv(t)
	rc := newV2Receiver(t)
	id, err := e.sim.SignContract(context.Background(), signURL(e.base, "/papay/entrustweb", signFields(e, "C500001", rc.url), apiV2Key))
	if err != nil {
		t.Fatal(err)
	}
	path := "/v3/papay/contracts/" + id + "/notify"
	for _, amount := range []int64{1500, 1800} {
		if rep := e.do(t, request{method: "POST", path: path, body: preDebit(amount)}); rep.status != 204 || len(rep.raw) != 0 {
			t.Fatalf("pre-debit notice: %d %s", rep.status, rep.raw)
		}
	}
	if got := e.sim.PreDebitNotices(id); len(got) != 2 || got[0] != 1500 || got[1] != 1800 {
		t.Fatalf("notices %v", got)
	}
	wantError(t, e.do(t, request{method: "POST", path: "/v3/papay/contracts/201511210000000000/notify", body: preDebit(1500)}), 404, "RESOURCE_NOT_EXISTS")
	wantError(t, e.do(t, request{method: "POST", path: path, body: preDebit(0)}), 400, "PARAM_ERROR")
	wantError(t, e.do(t, request{method: "POST", path: path, body: map[string]any{"mchid": mchid, "appid": appid,
		"estimated_amount": map[string]any{"amount": 100, "currency": "USD"}}}), 400, "PARAM_ERROR")
	wantError(t, e.do(t, request{method: "POST", path: path, body: preDebit(1500), skew: 10 * time.Minute}), 401, "SIGN_ERROR")
	if got := e.sim.PreDebitNotices(id); len(got) != 2 {
		t.Fatalf("refused notices were recorded: %v", got)
	}
}

// TestPapayH5: h5entrustweb (HMAC-SHA256 signed, clientip) answers a
// redirect_url that opens the signing page.
func TestPapayH5(t *testing.T) {
	e := newPapayEnv(t)
	rc := newV2Receiver(t)
	f := append(signFields(e, "C600001", rc.url), [2]string{"clientip", "203.0.113.9"})
	q := url.Values{}
	for _, x := range f {
		q.Set(x[0], x[1])
	}
	q.Set("sign", v2SignAs(f, apiV2Key, "HMAC-SHA256"))
	h5 := func(q url.Values) v2Reply {
		resp, err := http.Get(e.base + "/papay/h5entrustweb?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return decodeV2(t, "h5entrustweb", raw)
	}
	ans := h5(q)
	if ans["return_code"] != "SUCCESS" || ans["result_code"] != "SUCCESS" || !strings.HasPrefix(ans["redirect_url"], e.base+"/papay/entrustweb?") {
		t.Fatalf("h5entrustweb %v", ans)
	}
	id := e.browserSign(t, browser(), ans["redirect_url"])
	if n := rc.notes(t, 1)[0]; n["contract_id"] != id || n["change_type"] != "ADD" {
		t.Fatalf("ADD notification %v", n)
	}
	// Mounted under a prefix, the redirect keeps it.
	mounted := serve(t, http.StripPrefix("/sim/wechatpay", e.sim))
	resp, err := http.Get(mounted + "/sim/wechatpay/papay/h5entrustweb?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if r := decodeV2(t, "mounted h5entrustweb", raw); !strings.HasPrefix(r["redirect_url"], mounted+"/sim/wechatpay/papay/entrustweb?sim_session=") {
		t.Fatalf("mounted h5entrustweb %v", r)
	} else if page := getPage(t, r["redirect_url"]); page.status != 200 || !page.has(`id="sign"`) {
		t.Fatalf("mounted signing page %d %s", page.status, page.body)
	}
	noIP := url.Values{}
	for _, x := range without(f, "clientip") {
		noIP.Set(x[0], x[1])
	}
	noIP.Set("sign", v2SignAs(without(f, "clientip"), apiV2Key, "HMAC-SHA256"))
	wantV2(t, h5(noIP), "FAIL", "PARAM_ERROR")
	q.Set("sign", v2SignAs(f, otherV2Key, "HMAC-SHA256"))
	wantV2(t, h5(q), "FAIL", "SIGN_ERROR")
}

// TestPapayNotificationRetry: only 200 with return_code SUCCESS
// acknowledges; anything else is retried with the same body.
func TestPapayNotificationRetry(t *testing.T) {
	e := newPapayEnv(t, 10*time.Millisecond, 10*time.Millisecond, 10*time.Millisecond)
	rc := newV2Receiver(t, "", "<xml><return_code><![CDATA[FAIL]]></return_code></xml>")
	id, err := e.sim.SignContract(context.Background(), signURL(e.base, "/papay/entrustweb", signFields(e, "C700001", rc.url), apiV2Key))
	if err != nil {
		t.Fatal(err)
	}
	notes := rc.notes(t, 3)
	waitFor(t, "the third attempt logged", func() bool { return len(e.sim.ContractNotifications(id)) == 3 })
	time.Sleep(50 * time.Millisecond) // a fourth attempt would have come by now
	log := e.sim.ContractNotifications(id)
	if len(rc.notes(t, 3)) != 3 || len(log) != 3 || log[0].Acked || log[1].Acked || !log[2].Acked || log[2].EventType != "CONTRACT.ADD" {
		t.Fatalf("attempts %+v", log)
	}
	if notes[0]["sign"] != notes[2]["sign"] || notes[0]["contract_id"] != id {
		t.Fatalf("retries changed the notification: %v, %v", notes[0], notes[2])
	}
}
