package wechatsim

// The sandbox's own endpoints, which WeChat Pay does not have: what a
// merchant does on the merchant platform (top up) and what WeChat's users
// and back office decide (a transfer's outcome, a user opening a red
// envelope), for tests and people testing by hand. Like the wallet and
// the OAuth pages they sit under the sim's mount, named by merchant:
//
//   - GET  <sim>/sandbox/{mchid}/funds: {"mchid","available"} (fen)
//   - POST <sim>/sandbox/{mchid}/topup, amount=<fen>: adds to the funds
//   - POST <sim>/sandbox/{mchid}/transfer, out_batch_no=&out_detail_no=&result=&fail_reason=:
//     decides waiting transfer details (out_detail_no empty: all of the
//     batch); result SUCCESS pays, FAIL fails with fail_reason (default
//     TRANSFER_RISK), empty applies the payees' rules as a query would
//   - POST <sim>/sandbox/{mchid}/redpack, mch_billno=&action=open|refund|fail&reason=:
//     the user opens a sent envelope, it is refunded unopened, or a
//     SENDING one fails
//
// Answers are JSON; errors {"code","message"} with a 4xx status.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// sandboxPath tells whether a request path is a sandbox endpoint:
// …/sandbox/{mchid}/{funds,topup,transfer,redpack}, never under /v3/.
func sandboxPath(p string) (mchid, op string, ok bool) {
	if strings.Contains(p, "/v3/") {
		return "", "", false
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	n := len(segs)
	if n < 3 || segs[n-3] != "sandbox" || segs[n-2] == "" {
		return "", "", false
	}
	switch segs[n-1] {
	case "funds", "topup", "transfer", "redpack":
		return unescape(segs[n-2]), segs[n-1], true
	}
	return "", "", false
}

func (s *Sim) serveSandbox(w http.ResponseWriter, r *http.Request, mchid, op string) {
	want := http.MethodPost
	if op == "funds" {
		want = http.MethodGet
	}
	if r.Method != want {
		w.Header().Set("Allow", want)
		sandboxJSON(w, http.StatusMethodNotAllowed, map[string]string{"code": "METHOD_NOT_ALLOWED", "message": "请求方法不被允许"})
		return
	}
	if m, ok := s.merchant(mchid); !ok || m == nil {
		sandboxJSON(w, http.StatusNotFound, map[string]string{"code": "MCH_NOT_EXISTS", "message": "商户号不存在"})
		return
	}
	if op != "funds" {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			sandboxJSON(w, http.StatusBadRequest, map[string]string{"code": "PARAM_ERROR", "message": "表单格式错误"})
			return
		}
	}
	var err error
	switch op {
	case "topup":
		var n int64
		if n, err = strconv.ParseInt(r.PostForm.Get("amount"), 10, 64); err == nil {
			_, err = s.TopUp(mchid, n)
		} else {
			err = ErrBadTopUp
		}
	case "transfer":
		err = s.sandboxTransfer(r.Context(), mchid, r.PostForm)
	case "redpack":
		err = s.sandboxRedpack(mchid, r.PostForm)
	}
	if err != nil {
		sandboxJSON(w, http.StatusBadRequest, map[string]string{"code": "INVALID_REQUEST", "message": err.Error()})
		return
	}
	sandboxJSON(w, http.StatusOK, map[string]any{"mchid": mchid, "available": s.Funds(mchid)})
}

func (s *Sim) sandboxTransfer(ctx context.Context, mchid string, f map[string][]string) error {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	batch, detail := get("out_batch_no"), get("out_detail_no")
	switch get("result") {
	case "":
		return s.DecideTransfers(ctx, mchid, batch)
	case detailSuccess:
		return s.SettleTransfer(ctx, mchid, batch, detail, "")
	case detailFail:
		reason := get("fail_reason")
		if reason == "" {
			reason = "TRANSFER_RISK"
		}
		return s.SettleTransfer(ctx, mchid, batch, detail, reason)
	}
	return errors.New("result 应为 SUCCESS、FAIL 或留空")
}

func (s *Sim) sandboxRedpack(mchid string, f map[string][]string) error {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	billno := get("mch_billno")
	switch get("action") {
	case "open":
		return s.OpenRedEnvelope(mchid, billno)
	case "refund":
		return s.RefundRedEnvelope(mchid, billno)
	case "fail":
		return s.FailRedEnvelope(mchid, billno, get("reason"))
	}
	return errors.New("action 应为 open、refund 或 fail")
}

func sandboxJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Errors returned by the transfer hooks.
var (
	ErrBatchNotFound  = errors.New("wechatsim: transfer batch not found")
	ErrDetailNotFound = errors.New("wechatsim: transfer detail not found or already decided")
)

// DecideTransfers decides a batch's waiting details by the payees' rules,
// as a query does without Options.HoldPayouts. The batch notification, if
// that finished the batch, is delivered (first attempt) before it returns.
func (s *Sim) DecideTransfers(ctx context.Context, mchid, outBatchNo string) error {
	now := s.now()
	s.mu.Lock()
	b := s.batches[batchKey{mchid, outBatchNo}]
	if b == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrBatchNotFound, outBatchNo)
	}
	n := s.decideAll(b, now)
	s.mu.Unlock()
	s.notifier.Send(ctx, s.notice(n))
	return nil
}

// SettleTransfer decides waiting details of a batch whatever the payees'
// rules say: failReason "" pays them, anything else fails them with that
// reason (a WeChat fail_reason such as TRANSFER_RISK) and gives their money
// back. outDetailNo "" settles every waiting detail of the batch. The
// batch notification, if that finished the batch, is delivered (first
// attempt) before it returns.
func (s *Sim) SettleTransfer(ctx context.Context, mchid, outBatchNo, outDetailNo, failReason string) error {
	now := s.now()
	s.mu.Lock()
	b := s.batches[batchKey{mchid, outBatchNo}]
	if b == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrBatchNotFound, outBatchNo)
	}
	settled := 0
	for _, d := range b.details {
		if d.status == detailPending && (outDetailNo == "" || d.outDetailNo == outDetailNo) {
			s.settleDetail(b, d, failReason, now)
			settled++
		}
	}
	n := s.finishBatch(b, now)
	s.mu.Unlock()
	if settled == 0 {
		return fmt.Errorf("%w: %s/%s", ErrDetailNotFound, outBatchNo, outDetailNo)
	}
	s.notifier.Send(ctx, s.notice(n))
	return nil
}
