package wechatsim

// Entrusted debit (委托代扣, "papay"), WeChat Pay's v2 XML protocol, as a
// direct merchant (直连商户) uses it:
//
//   - GET <sim>/papay/entrustweb?appid=&mch_id=&plan_id=&contract_code=&request_serial=&contract_display_account=&notify_url=&version=1.0&timestamp=&sign=
//     is the signing page of the official account (公众号纯签约), and
//     GET <sim>/papay/h5entrustweb?…&clientip= is H5 signing, answering
//     XML whose redirect_url opens the same page (papay_page.go). Signing
//     makes a contract and posts the ADD contract notification (签约结果通知)
//     to notify_url.
//   - POST <sim>/papay/preentrustweb is APP signing's pre-sign (APP纯签约):
//     a signed v2 call with entrustweb's parameters (and return_app), whose
//     signed answer's pre_entrustweb_id the merchant's APP hands to WeChat
//     (OpenSDK's business webview, businessType 12); SignPreEntrust is the
//     customer confirming in WeChat.
//   - POST <sim>/papay/querycontract and /papay/deletecontract query and
//     terminate a contract (deleting posts the DELETE notification), and
//     POST <sim>/pay/pappayapply and /pay/paporderquery debit it and query
//     the debits (papay_pay.go).
//   - POST <sim>/v3/papay/contracts/{contract_id}/notify is the v3
//     pre-debit notice (预扣费通知), authenticated like every v3 call.
//
// The v2 calls are signed as the red envelope calls are (v2.go: MD5 with
// the APIv2 key, or HMAC-SHA256 when sign_type says so) but need no API
// client certificate: WeChat requires none for them. Unlike the red
// envelope answers, every answer with return_code SUCCESS is signed, as
// WeChat signs these: appid, mch_id and the fields, with the request's
// sign_type. Refusals of the call itself (XML, merchant, signature) are
// return_code FAIL, unsigned.
//
// Notifications are v2 XML signed with the APIv2 key (contract
// notifications MD5; debit results with the debit's sign_type), sent on
// the sim's retry schedule until the merchant answers HTTP 200 with
// <xml><return_code>SUCCESS</return_code></xml>. WeChat sends
// terminations to the template's termination URL; the sim has no
// templates and sends them to the signing's notify_url.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// contract_state values and the contract_termination_mode the sim sets.
const (
	contractSigned     = "0"
	contractTerminated = "1"
	modeUser           = "2" // the customer, in WeChat
	modeAPI            = "3" // the merchant, by deletecontract
)

// contractYears is how long a new contract is valid: the template's
// validity, which the sim does not model and never enforces.
const contractYears = 10

type contractKey struct{ mchid, planID, code string }

type contract struct {
	id, mchid, appid, planID, code string
	requestSerial, displayAccount  string
	openid, notifyURL              string
	state                          string // contractSigned or contractTerminated
	signed, expires, terminated    time.Time
	mode, remark                   string // once terminated
	poor                           bool   // SetContractBalance(false): debits are NOTENOUGH
	notices                        []int64
}

// papayState is the entrusted debit's part of the sim.
type papayState struct {
	notifier   *simkit.Notifier
	deliveries simkit.Deliveries[Delivery] // contract notifications, by contract_id

	// Under s.mu.
	contracts map[string]*contract      // by contract_id
	byCode    map[contractKey]*contract // the latest under the merchant's plan and contract_code
	sessions  map[string]*signSession   // open signing pages, by token
}

func (p *papayState) init() {
	if p.contracts == nil {
		p.contracts, p.byCode, p.sessions = map[string]*contract{}, map[contractKey]*contract{}, map[string]*signSession{}
	}
}

// ackedV2 is a v2 notification's acknowledgement: HTTP 200 and
// return_code SUCCESS.
func ackedV2(status int, reply []byte) bool {
	if status != http.StatusOK {
		return false
	}
	f, err := parseV2(reply)
	return err == nil && f.get("return_code") == "SUCCESS"
}

// papaySuffixes are the paths served here, wherever the sim is mounted.
var papaySuffixes = []string{"/papay/entrustweb", "/papay/h5entrustweb", "/papay/preentrustweb", "/papay/querycontract",
	"/papay/deletecontract", "/pay/pappayapply", "/pay/paporderquery", "/wallet/contracts"}

// papayPath tells whether a request path is one of them: op is its last
// segment.
func papayPath(p string) (op string, ok bool) {
	if strings.Contains(p, "/v3/") {
		return "", false
	}
	for _, suffix := range papaySuffixes {
		if strings.HasSuffix(p, suffix) {
			return suffix[strings.LastIndexByte(suffix, '/')+1:], true
		}
	}
	return "", false
}

func (s *Sim) servePapay(w http.ResponseWriter, r *http.Request, op string) {
	switch op {
	case "entrustweb":
		s.serveSignPage(w, r)
	case "h5entrustweb":
		s.serveH5Sign(w, r)
	case "contracts":
		s.serveContracts(w, r)
	default:
		s.servePapayCall(w, r, op)
	}
}

// papayCall is one v2 papay call, run under the lock; after, when set,
// runs once the answer is written (the notification WeChat sends then).
type papayCall func(s *Sim, c *v2Call, now time.Time) (out fields, after func())

var papayCalls = map[string]papayCall{
	"preentrustweb":  (*Sim).preEntrust,
	"querycontract":  (*Sim).queryContract,
	"deletecontract": (*Sim).deleteContract,
	"pappayapply":    (*Sim).papPayApply,
	"paporderquery":  (*Sim).papOrderQuery,
}

func (s *Sim) servePapayCall(w http.ResponseWriter, r *http.Request, op string) {
	c, ok := s.acceptV2(w, r, op, false) // papay needs no client certificate
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	s.papay.init()
	out, after := papayCalls[op](s, c, now)
	s.mu.Unlock()
	writeV2(w, out)
	if after != nil {
		after()
	}
}

// answer completes an answer to an accepted call: return_code SUCCESS,
// the caller's appid and mch_id, f, and the signature over them all with
// the request's sign_type.
func (c *v2Call) answer(f ...field) fields {
	out := fields{{"return_code", "SUCCESS"}, {"return_msg", "OK"}, {"appid", c.f.get("appid")}, {"mch_id", c.merchant.MchID}}
	for _, x := range f {
		if x.v != "" {
			out = append(out, x)
		}
	}
	return append(out, field{"sign", v2Sign(out, c.merchant.APIv2Key, c.f.get("sign_type"))})
}

// fail is result_code FAIL with err_code, signed like any answer.
func (c *v2Call) fail(code, msg string, extra ...field) fields {
	return c.answer(append(extra, field{"result_code", "FAIL"}, field{"err_code", code}, field{"err_code_des", msg})...)
}

// require refuses a call missing one of keys, or naming an appid that is
// not the merchant's; nil when neither.
func (c *v2Call) require(keys ...string) fields {
	for _, k := range keys {
		if c.f.get(k) == "" {
			return c.fail("PARAM_ERROR", "缺少必填参数 "+k)
		}
	}
	if !contains(c.merchant.AppIDs, c.f.get("appid")) {
		return c.fail("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
	}
	return nil
}

// requireContract is require for the contract calls: version 1.0, and
// contract_id or plan_id with contract_code.
func (c *v2Call) requireContract(keys ...string) fields {
	if e := c.require(append([]string{"appid", "version"}, keys...)...); e != nil {
		return e
	}
	if c.f.get("version") != "1.0" {
		return c.fail("PARAM_ERROR", "version 应为 1.0")
	}
	if c.f.get("contract_id") == "" && (c.f.get("plan_id") == "" || c.f.get("contract_code") == "") {
		return c.fail("PARAM_ERROR", "contract_id 与 plan_id+contract_code 必须二选一")
	}
	return nil
}

// callContract is the contract a call names, by contract_id or else by
// plan_id and contract_code, if it is the caller's (merchant and appid).
// Called with s.mu held.
func (s *Sim) callContract(c *v2Call) *contract {
	var k *contract
	if id := c.f.get("contract_id"); id != "" {
		k = s.papay.contracts[id]
	} else {
		k = s.papay.byCode[contractKey{c.merchant.MchID, c.f.get("plan_id"), c.f.get("contract_code")}]
	}
	if k == nil || k.mchid != c.merchant.MchID || k.appid != c.f.get("appid") {
		return nil
	}
	return k
}

const contractNotExist = "签约协议不存在"

// queryContract is 查询签约关系 (/papay/querycontract).
func (s *Sim) queryContract(c *v2Call, now time.Time) (fields, func()) {
	if e := c.requireContract(); e != nil {
		return e, nil
	}
	k := s.callContract(c)
	if k == nil {
		return c.fail("CONTRACT_NOT_EXIST", contractNotExist), nil
	}
	return c.answer(contractFields(k)...), nil
}

func contractFields(k *contract) fields {
	f := fields{{"result_code", "SUCCESS"}, {"contract_id", k.id}, {"plan_id", k.planID}, {"request_serial", k.requestSerial},
		{"contract_code", k.code}, {"contract_display_account", k.displayAccount}, {"contract_state", k.state},
		{"contract_signed_time", v2Time(k.signed)}, {"contract_expired_time", v2Time(k.expires)}}
	if k.state == contractTerminated {
		f = append(f, field{"contract_terminated_time", v2Time(k.terminated)}, field{"contract_termination_mode", k.mode},
			field{"contract_termination_remark", k.remark})
	}
	return append(f, field{"openid", k.openid})
}

// deleteContract is 申请解约 (/papay/deletecontract): the contract is
// terminated (mode 3) and the DELETE notification posted after the
// answer. Deleting a terminated contract answers SUCCESS again and
// notifies nothing.
func (s *Sim) deleteContract(c *v2Call, now time.Time) (fields, func()) {
	if e := c.requireContract("contract_termination_remark"); e != nil {
		return e, nil
	}
	if len([]rune(c.f.get("contract_termination_remark"))) > 256 {
		return c.fail("PARAM_ERROR", "contract_termination_remark 最多 256 个字符"), nil
	}
	k := s.callContract(c)
	if k == nil {
		return c.fail("CONTRACT_NOT_EXIST", contractNotExist), nil
	}
	var after func()
	if k.state == contractSigned {
		n := s.terminate(k, modeAPI, c.f.get("contract_termination_remark"), now)
		after = func() { s.papay.notifier.Post(s.v2Notice(n)) }
	}
	return c.answer(field{"result_code", "SUCCESS"}, field{"plan_id", k.planID}, field{"contract_id", k.id},
		field{"contract_code", k.code}), after
}

// terminate ends a signed contract and prepares its DELETE notification.
// Called with s.mu held.
func (s *Sim) terminate(k *contract, mode, remark string, now time.Time) *v2Note {
	k.state, k.mode, k.remark, k.terminated = contractTerminated, mode, remark, now
	return s.contractNote(k, "DELETE", now)
}

// v2Note is a v2 notification before it is signed (under s.mu the
// merchant's APIv2 key cannot be looked up).
type v2Note struct {
	mchid, key, url string
	event, signType string
	f               fields
	log             *simkit.Deliveries[Delivery]
}

// contractNote prepares 签约、解约结果通知 (change ADD or DELETE). Called
// with s.mu held.
func (s *Sim) contractNote(k *contract, change string, now time.Time) *v2Note {
	f := fields{{"return_code", "SUCCESS"}, {"return_msg", "OK"}, {"result_code", "SUCCESS"}, {"mch_id", k.mchid},
		{"contract_code", k.code}, {"plan_id", k.planID}, {"openid", k.openid}, {"change_type", change},
		{"operate_time", v2Time(now)}, {"contract_id", k.id}}
	if change == "ADD" {
		f = append(f, field{"contract_expired_time", v2Time(k.expires)})
	} else {
		f = append(f, field{"contract_termination_mode", k.mode})
	}
	f = append(f, field{"request_serial", k.requestSerial})
	return &v2Note{mchid: k.mchid, key: k.id, url: k.notifyURL, event: "CONTRACT." + change, f: f, log: &s.papay.deliveries}
}

// v2Notice signs n with the merchant's APIv2 key into the notification
// to send; every retry sends the same body. It looks the merchant up, so
// it must not run under s.mu; nil when n is nil or cannot be signed.
func (s *Sim) v2Notice(n *v2Note) *simkit.Notice {
	if n == nil {
		return nil
	}
	m, ok := s.merchant(n.mchid)
	if !ok || m == nil || m.APIv2Key == "" {
		s.log.Warn("wechatsim: merchant or APIv2 key gone, notification dropped", "mchid", n.mchid, "key", n.key)
		return nil
	}
	f := append(fields(nil), n.f...)
	f = append(f, field{"sign", v2Sign(f, m.APIv2Key, n.signType)})
	return &simkit.Notice{
		Key: n.key, URL: n.url, Body: []byte(encodeV2(f)), ContentType: "text/xml; charset=utf-8",
		Attrs: []any{"event", n.event},
		Record: func(d simkit.Delivery) {
			n.log.Add(n.key, Delivery{Delivery: d, EventType: n.event})
		},
	}
}

// Errors returned by the contract hooks.
var (
	ErrContractNotFound   = errors.New("wechatsim: contract not found")
	ErrContractTerminated = errors.New("wechatsim: contract already terminated")
	ErrSignRejected       = errors.New("wechatsim: signing request rejected")
)

// UserTerminateContract is the customer terminating a contract in WeChat
// (我 → 服务 → 钱包 → 支付设置 → 自动续费): contract_state 1,
// contract_termination_mode 2, and the first attempt of the DELETE
// notification is made before it returns (retries follow). A contract
// already terminated is ErrContractTerminated and notifies nothing.
func (s *Sim) UserTerminateContract(ctx context.Context, mchid, contractID string) error {
	now := s.now()
	s.mu.Lock()
	s.papay.init()
	k := s.papay.contracts[contractID]
	if k == nil || k.mchid != mchid {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrContractNotFound, contractID)
	}
	if k.state != contractSigned {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrContractTerminated, contractID)
	}
	n := s.terminate(k, modeUser, "", now)
	s.mu.Unlock()
	s.papay.notifier.Send(ctx, s.v2Notice(n))
	return nil
}

// SetContractBalance decides whether the customer of a contract can pay
// its debits: with enough false, pappayapply answers NOTENOUGH and pays
// nothing. Contracts start with enough. Unknown contracts are ignored.
func (s *Sim) SetContractBalance(contractID string, enough bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.papay.init()
	if k := s.papay.contracts[contractID]; k != nil {
		k.poor = !enough
	}
}

// PreDebitNotices returns the estimated amounts (fen) of the pre-debit
// notices the merchant sent for a contract, oldest first.
func (s *Sim) PreDebitNotices(contractID string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.papay.init()
	if k := s.papay.contracts[contractID]; k != nil {
		return append([]int64(nil), k.notices...)
	}
	return nil
}

// ContractNotifications returns every delivery attempt of a contract's
// notifications (EventType CONTRACT.ADD or CONTRACT.DELETE), oldest
// first.
func (s *Sim) ContractNotifications(contractID string) []Delivery {
	return s.papay.deliveries.Of(contractID)
}

type preDebitReq struct {
	Mchid           string `json:"mchid"`
	Appid           string `json:"appid"`
	EstimatedAmount *struct {
		Amount   *int64 `json:"amount"`
		Currency string `json:"currency"`
	} `json:"estimated_amount"`
}

var errContractNotExist = &apiError{http.StatusNotFound, "RESOURCE_NOT_EXISTS", contractNotExist}

// preDebitNotify is 预扣费通知 (POST /v3/papay/contracts/{contract_id}/notify):
// 204 for a signed contract of the merchant and appid, the amount
// recorded.
func (s *Sim) preDebitNotify(c *call, now time.Time) (reply, *apiError) {
	var b preDebitReq
	if e := decode(c.body, &b); e != nil {
		return reply{}, e
	}
	switch {
	case b.Mchid == "":
		return reply{}, paramError("缺少必填参数 mchid")
	case b.Mchid != c.mchid:
		return reply{}, paramError("mchid 与请求签名的商户号不一致")
	case b.Appid == "":
		return reply{}, paramError("缺少必填参数 appid")
	case b.EstimatedAmount == nil || b.EstimatedAmount.Amount == nil:
		return reply{}, paramError("缺少必填参数 estimated_amount.amount")
	case *b.EstimatedAmount.Amount < 1:
		return reply{}, paramError("estimated_amount.amount 应为正整数（分）")
	case b.EstimatedAmount.Currency != "CNY":
		return reply{}, paramError("estimated_amount.currency 只支持 CNY")
	}
	s.papay.init()
	k := s.papay.contracts[c.params[0]]
	if k == nil || k.mchid != c.mchid || k.appid != b.Appid {
		return reply{}, errContractNotExist
	}
	if k.state != contractSigned {
		return reply{}, paramError("签约协议已解约")
	}
	k.notices = append(k.notices, *b.EstimatedAmount.Amount)
	return reply{status: http.StatusNoContent}, nil
}
