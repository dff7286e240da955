package wechatpay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/wechatpay"
	"github.com/polypay/polypay/sim/wechatsim"
)

// transferTo is a new transfer of amount to payee with extra.
func transferTo(payee string, amount int64, extra string) *polypay.Transfer {
	tr := validTransfer()
	tr.ID, tr.OrderNo = polypay.NewID("tr_"), "1"+strings.Repeat("0", 10)
	tr.Recipient, tr.Amount, tr.Extra = payee, amount, json.RawMessage(extra)
	return tr
}

func pay(t *testing.T, conn *wechatpay.Client, tr *polypay.Transfer) *polypay.PayoutResult {
	t.Helper()
	res, err := conn.Transfer(context.Background(), polypay.PayoutRequest{Transfer: tr})
	if err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	if res.State != polypay.PayoutProcessing || res.Amount != tr.Amount {
		t.Fatalf("Transfer = %+v, want processing %d", res, tr.Amount)
	}
	return res
}

func queryTransfer(t *testing.T, conn *wechatpay.Client, tr *polypay.Transfer) *polypay.PayoutResult {
	t.Helper()
	res, err := conn.QueryTransfer(context.Background(), tr)
	if err != nil {
		t.Fatalf("QueryTransfer: %v", err)
	}
	return res
}

// TestTransferOutcomes: how the sandbox payees' transfers end, and what
// the connector reports of each.
func TestTransferOutcomes(t *testing.T) {
	e := newEnv(t)
	conn := e.conns[wechatpay.ChannelPub]
	cases := []struct {
		name, payee, extra string
		amount             int64
		state              polypay.PayoutState
		code               string
	}{
		{"Paid", payeeOK.OpenID, `{}`, 1000, polypay.PayoutPaid, ""},
		{"PaidWithName", payeeOK.OpenID, `{"user_name":"` + payeeOK.Name + `","force_check":true}`, 1000, polypay.PayoutPaid, ""},
		{"PaidFrom2000Yuan", payeeOK.OpenID, `{"user_name":"` + payeeOK.Name + `"}`, 200000, polypay.PayoutPaid, ""},
		{"Frozen", wechatsim.SandboxPayees[3].OpenID, `{}`, 1000, polypay.PayoutFailed, "ACCOUNT_FROZEN"},
		{"NotRealName", wechatsim.SandboxPayees[4].OpenID, `{}`, 1000, polypay.PayoutFailed, "REAL_NAME_CHECK_FAIL"},
		{"WrongName", payeeOK.OpenID, `{"user_name":"` + payeeOther.Name + `"}`, 1000, polypay.PayoutFailed, "NAME_NOT_CORRECT"},
		{"UnknownOpenID", "oUpF8uNoSuchUser000000000000", `{}`, 1000, polypay.PayoutFailed, "OPENID_INVALID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.sim.Funds(mchID)
			tr := transferTo(tc.payee, tc.amount, tc.extra)
			pay(t, conn, tr)
			res := queryTransfer(t, conn, tr)
			if res.State != tc.state || res.FailureCode != tc.code || res.Amount != tc.amount || res.TransactionNo == "" {
				t.Fatalf("QueryTransfer = %+v, want %s %q", res, tc.state, tc.code)
			}
			spent := tc.amount
			switch tc.state {
			case polypay.PayoutPaid:
				if res.PaidAt == 0 {
					t.Fatalf("paid without a time: %+v", res)
				}
			case polypay.PayoutFailed:
				spent = 0
				if res.FailureMsg == "" || strings.Contains(res.FailureMsg, payeeOK.Name) {
					t.Fatalf("failure message %q", res.FailureMsg)
				}
			}
			if got := e.sim.Funds(mchID); got != before-spent {
				t.Fatalf("funds %d, want %d", got, before-spent)
			}
		})
	}
}

// TestTransferHeld: a sim holding payouts keeps them processing until its
// sandbox endpoint decides; a failed one gives the money back.
func TestTransferHeld(t *testing.T) {
	e := newEnvOpts(t, nil, func(o *wechatsim.Options) { o.HoldPayouts = true })
	conn := e.conns[wechatpay.ChannelPub]
	before := e.sim.Funds(mchID)
	paid, failed := transferTo(payeeOK.OpenID, 500, `{}`), transferTo(payeeOK.OpenID, 700, `{}`)
	for _, tr := range []*polypay.Transfer{paid, failed} {
		pay(t, conn, tr)
		if res := queryTransfer(t, conn, tr); res.State != polypay.PayoutProcessing {
			t.Fatalf("a held transfer is %+v, want processing", res)
		}
	}
	if got := e.sim.Funds(mchID); got != before-1200 {
		t.Fatalf("funds %d while processing, want %d (taken when accepted)", got, before-1200)
	}
	decide(t, e, paid.PayoutNo(), "SUCCESS", "")
	decide(t, e, failed.PayoutNo(), "FAIL", "TRANSFER_RISK")
	if res := queryTransfer(t, conn, paid); res.State != polypay.PayoutPaid {
		t.Fatalf("decided paid: %+v", res)
	}
	if res := queryTransfer(t, conn, failed); res.State != polypay.PayoutFailed || res.FailureCode != "TRANSFER_RISK" {
		t.Fatalf("decided failed: %+v", res)
	}
	if got := e.sim.Funds(mchID); got != before-500 {
		t.Fatalf("funds %d, want %d (the failed transfer's money back)", got, before-500)
	}
}

func decide(t *testing.T, e *env, no, result, reason string) {
	t.Helper()
	resp, err := http.PostForm(e.base+"/sandbox/"+mchID+"/transfer",
		url.Values{"out_batch_no": {no}, "out_detail_no": {no}, "result": {result}, "fail_reason": {reason}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("decide %s: HTTP %d", no, resp.StatusCode)
	}
}

// TestTransferBatch: a batch's members are queried under the batch's
// number; a member unknown to a finished batch is not found.
func TestTransferBatch(t *testing.T) {
	e := newEnvOpts(t, nil, func(o *wechatsim.Options) { o.HoldPayouts = true })
	conn := e.conns[wechatpay.ChannelLite]
	const batchNo = "BATCH20261121001"
	trs := []*polypay.Transfer{transferTo(payeeOK.OpenID, 100, `{}`), transferTo(payeeOther.OpenID, 200, `{}`)}
	reqs := make([]polypay.PayoutRequest, len(trs))
	for i, tr := range trs {
		tr.Channel, tr.BatchNo = wechatpay.ChannelLite, batchNo
		reqs[i] = polypay.PayoutRequest{Transfer: tr}
	}
	res, err := conn.TransferBatch(context.Background(), batchNo, reqs)
	if err != nil || len(res) != 2 || res[0].State != polypay.PayoutProcessing || res[1].Amount != 200 {
		t.Fatalf("TransferBatch = %+v, %v", res, err)
	}
	if r := queryTransfer(t, conn, trs[0]); r.State != polypay.PayoutProcessing {
		t.Fatalf("a held batch member is %+v", r)
	}
	if err := e.sim.DecideTransfers(context.Background(), mchID, batchNo); err != nil {
		t.Fatal(err)
	}
	for _, tr := range trs {
		if r := queryTransfer(t, conn, tr); r.State != polypay.PayoutPaid || r.Amount != tr.Amount {
			t.Fatalf("batch member %s is %+v, want paid", tr.PayoutNo(), r)
		}
	}
	// Sent again after it finished: taken as before, nothing paid again.
	again, err := conn.TransferBatch(context.Background(), batchNo, reqs)
	if err != nil || again[0].State != polypay.PayoutProcessing || again[1].Amount != 200 {
		t.Fatalf("TransferBatch again = %+v, %v; want both processing (the poller asks)", again, err)
	}
	single := transferTo(payeeOK.OpenID, 300, `{}`)
	single.Channel = wechatpay.ChannelLite
	pay(t, conn, single)
	if err := e.sim.DecideTransfers(context.Background(), mchID, single.PayoutNo()); err != nil {
		t.Fatal(err)
	}
	if r, err := conn.Transfer(context.Background(), polypay.PayoutRequest{Transfer: single}); err != nil || r.State != polypay.PayoutPaid {
		t.Fatalf("a single transfer sent again after it was paid = %+v, %v; want paid", r, err)
	}
	if n := len(e.sim.Payouts()); n != 3 {
		t.Fatalf("the sim's books hold %d payouts, want 3", n)
	}
	stranger := transferTo(payeeOK.OpenID, 100, `{}`)
	stranger.BatchNo = batchNo
	if r := queryTransfer(t, conn, stranger); r.State != polypay.PayoutNotFound {
		t.Fatalf("a transfer its finished batch does not hold is %+v, want not found", r)
	}
}

func TestTransferRefusedLocally(t *testing.T) {
	conn := offline(t, wechatpay.ChannelPub)
	member := transferTo(payeeOK.OpenID, 100, `{}`)
	member.BatchNo = "BATCH1"
	named := transferTo(payeeOK.OpenID, 100, `{"user_name":"张三"}`)
	unnamed := transferTo(payeeOther.OpenID, 100, `{}`)
	many := make([]polypay.PayoutRequest, 3001)
	for i := range many {
		many[i] = polypay.PayoutRequest{Transfer: transferTo(payeeOK.OpenID, 100, `{}`)}
	}
	dup := transferTo(payeeOK.OpenID, 100, `{}`)
	ctx := context.Background()
	cases := []struct {
		name  string
		call  func() error
		param string
	}{
		{"ErrBatchMemberAlone", func() error {
			_, err := conn.Transfer(ctx, polypay.PayoutRequest{Transfer: member})
			return err
		}, "batch_no"},
		{"ErrMixedNames", func() error {
			_, err := conn.TransferBatch(ctx, "BATCH2", []polypay.PayoutRequest{{Transfer: named}, {Transfer: unnamed}})
			return err
		}, "recipients"},
		{"ErrTooMany", func() error { _, err := conn.TransferBatch(ctx, "BATCH3", many); return err }, "recipients"},
		{"ErrEmpty", func() error { _, err := conn.TransferBatch(ctx, "BATCH4", nil); return err }, "recipients"},
		{"ErrBatchNo", func() error {
			_, err := conn.TransferBatch(ctx, "B-1", []polypay.PayoutRequest{{Transfer: unnamed}})
			return err
		}, "batch_no"},
		{"ErrDuplicate", func() error {
			_, err := conn.TransferBatch(ctx, "BATCH5", []polypay.PayoutRequest{{Transfer: dup}, {Transfer: dup}})
			return err
		}, "recipients"},
		{"ErrMemberInvalid", func() error {
			bad := transferTo("", 100, `{}`)
			_, err := conn.TransferBatch(ctx, "BATCH6", []polypay.PayoutRequest{{Transfer: unnamed}, {Transfer: bad}})
			return err
		}, "recipient"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantParam(t, tc.call(), tc.param) })
	}
}

// TestTransferNameEncrypted: the payee's name never crosses the wire in
// clear, and WeChat reads it (the sim decrypts it to check it).
func TestTransferNameEncrypted(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	capture := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, b)
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
			h.ServeHTTP(w, r)
		})
	}
	e := newEnvWith(t, capture)
	conn := e.conns[wechatpay.ChannelPub]
	tr := transferTo(payeeOK.OpenID, 1000, `{"user_name":"`+payeeOK.Name+`"}`)
	pay(t, conn, tr)
	if res := queryTransfer(t, conn, tr); res.State != polypay.PayoutPaid {
		t.Fatalf("QueryTransfer = %+v, want paid (the sim read the name)", res)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range bodies {
		if bytes.Contains(b, []byte(payeeOK.Name)) {
			t.Fatalf("a request carries the name in clear: %s", b)
		}
	}
	if len(bodies) == 0 || !bytes.Contains(bodies[0], []byte(`"user_name"`)) {
		t.Fatalf("the batch carries no user_name: %q", bodies)
	}
}

// TestTransferNeverSent: a payout WeChat never received is not found.
func TestTransferNeverSent(t *testing.T) {
	e := newEnv(t)
	if res := queryTransfer(t, e.conns[wechatpay.ChannelPub], transferTo(payeeOK.OpenID, 100, `{}`)); res.State != polypay.PayoutNotFound {
		t.Fatalf("QueryTransfer = %+v, want not found", res)
	}
}
