package wechatsim

// Cash red envelopes (现金红包), v2 XML: /mmpaymkttransfers/sendredpack
// sends one to a payee (SandboxPayees, AddPayee) of the official account
// (wxappid), taking its amount from the merchant's funds; the answer is
// SUCCESS (发放成功) or a refusal that sends nothing: NOTENOUGH when the
// funds do not cover it, MONEY_LIMIT outside 1–200 yuan (0.30–4999 yuan
// with a scene_id), OPENID_ERROR for a user who is no payee under the
// appid, SENDNUM_LIMIT past 10 envelopes to one user a day, FATAL_ERROR
// when a mch_billno already sent names another envelope. A repeated
// mch_billno with the same envelope answers as the first call did.
//
// An envelope is SENDING for Options.RedpackSending (0: not at all), then
// SENT; the user opens it (RECEIVED) when OpenRedEnvelope or its sandbox
// endpoint says so, or, unless Options.HoldPayouts, the first time the
// merchant queries it with /mmpaymkttransfers/gethbinfo after it was sent
// (Ping++'s test mode advances envelopes on retrieve). Unopened 24 hours
// after it was sent (on the sim's clock), it is refunded: REFUND, the
// money back in the merchant's funds.

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Red envelope statuses (gethbinfo's status). RFUND_ING (sic) is WeChat's
// refund in progress, which the sim skips: it refunds at once.
const (
	hbSending  = "SENDING"
	hbSent     = "SENT"
	hbFailed   = "FAILED"
	hbReceived = "RECEIVED"
	hbRefund   = "REFUND"
)

// redpackRefundAfter is how long a sent envelope waits to be opened.
const redpackRefundAfter = 24 * time.Hour

type redpackKey struct{ mchid, billno string }

type redpack struct {
	mchid, appid, billno string
	sendListID, detailID string
	openid               string
	sendName, wishing    string
	actName, remark      string
	sceneID              string
	amount               int64
	status               string
	reason               string
	fingerprint          string
	created, sentAt      time.Time
	receivedAt, refunded time.Time
}

// touchRedpack applies time: SENDING becomes SENT after
// Options.RedpackSending, SENT is refunded 24 h later. Called with s.mu
// held.
func (s *Sim) touchRedpack(r *redpack, now time.Time) {
	if r.status == hbSending && !now.Before(r.created.Add(s.redpackSending)) {
		r.status, r.sentAt = hbSent, r.created.Add(s.redpackSending)
	}
	if r.status == hbSent && !now.Before(r.sentAt.Add(redpackRefundAfter)) {
		r.status, r.refunded = hbRefund, r.sentAt.Add(redpackRefundAfter)
		s.credit(r.mchid, r.amount)
	}
}

// touchRedpacks applies time to a merchant's envelopes. Called with s.mu
// held.
func (s *Sim) touchRedpacks(mchid string, now time.Time) {
	for k, r := range s.redpacks {
		if k.mchid == mchid {
			s.touchRedpack(r, now)
		}
	}
}

// redpackLimits is the amount range of a normal envelope, and with a
// scene_id (PRODUCT_1 to PRODUCT_8), in fen.
var (
	redpackMin, redpackMax           int64 = 100, 20000
	redpackSceneMin, redpackSceneMax int64 = 30, 499900
)

func validScene(id string) bool {
	return len(id) == 9 && id[:8] == "PRODUCT_" && id[8] >= '1' && id[8] <= '8'
}

func v2Result(code, msg string) fields {
	return fields{{"return_code", "SUCCESS"}, {"return_msg", msg}, {"result_code", "FAIL"}, {"err_code", code}, {"err_code_des", msg}}
}

// sendRedpack is 发放普通红包. Called with s.mu held.
func (s *Sim) sendRedpack(c *v2Call, now time.Time) fields {
	f := c.f
	for _, k := range []string{"nonce_str", "mch_billno", "mch_id", "wxappid", "send_name", "re_openid", "total_amount",
		"total_num", "wishing", "client_ip", "act_name", "remark"} {
		if f.get(k) == "" {
			return v2Result("PARAM_ERROR", "缺少必填参数 "+k)
		}
	}
	amount, err := strconv.ParseInt(f.get("total_amount"), 10, 64)
	if e := checkRedpack(f, amount, err); e != nil {
		return e
	}
	if !contains(c.merchant.AppIDs, f.get("wxappid")) {
		return v2Result("ILLEGAL_APPID", "非法appid，请确认是否为公众号的appid，且与商户号绑定")
	}
	key := redpackKey{c.merchant.MchID, f.get("mch_billno")}
	fp := fmt.Sprint(f.get("wxappid"), "\x00", f.get("re_openid"), "\x00", amount, "\x00", f.get("send_name"), "\x00",
		f.get("wishing"), "\x00", f.get("act_name"), "\x00", f.get("remark"), "\x00", f.get("scene_id"))
	if r := s.redpacks[key]; r != nil {
		if r.fingerprint != fp {
			return v2Result("FATAL_ERROR", "更换了openid或金额等参数，但商户单号未更新")
		}
		return sentAnswer(r)
	}
	if _, ok := s.payee(f.get("wxappid"), f.get("re_openid")); !ok {
		return v2Result("OPENID_ERROR", "openid和appid不匹配")
	}
	dk := dayKey{c.merchant.MchID, f.get("wxappid"), f.get("re_openid"), day(now)}
	if s.redpackCount[dk] >= redpackDailyCount {
		return v2Result("SENDNUM_LIMIT", "该用户今日领取红包个数超过限制")
	}
	if !s.debit(c.merchant.MchID, amount) {
		return v2Result("NOTENOUGH", "帐号余额不足，请到商户平台充值后再重试")
	}
	s.redpackCount[dk]++
	stamp := now.In(cst).Format("20060102")
	r := &redpack{mchid: c.merchant.MchID, appid: f.get("wxappid"), billno: key.billno, openid: f.get("re_openid"),
		sendName: f.get("send_name"), wishing: f.get("wishing"), actName: f.get("act_name"), remark: f.get("remark"),
		sceneID: f.get("scene_id"), amount: amount, status: hbSending, fingerprint: fp, created: now,
		sendListID: "1000041701" + stamp + "3" + randomString(12, digits)}
	r.detailID = r.sendListID // the same red envelope number in both answers
	s.redpacks[key] = r
	s.touchRedpack(r, now)
	return sentAnswer(r)
}

// checkRedpack applies sendredpack's parameter rules.
func checkRedpack(f fields, amount int64, amountErr error) fields {
	scene := f.get("scene_id")
	switch {
	case !validOutNo(f.get("mch_billno"), 1, 28, ""):
		return v2Result("PARAM_ERROR", "mch_billno 应为 1 到 28 位数字或字母")
	case amountErr != nil || amount < 1:
		return v2Result("PARAM_ERROR", "total_amount 应为正整数（分）")
	case f.get("total_num") != "1":
		return v2Result("PARAM_ERROR", "普通红包 total_num 必须为 1")
	case len(f.get("send_name")) > 32 || len(f.get("act_name")) > 32:
		return v2Result("PARAM_ERROR", "send_name 与 act_name 最多 32 字节")
	case len(f.get("wishing")) > 128 || len(f.get("remark")) > 256:
		return v2Result("PARAM_ERROR", "wishing 最多 128 字节，remark 最多 256 字节")
	case scene != "" && !validScene(scene):
		return v2Result("PARAM_ERROR", "scene_id 应为 PRODUCT_1 到 PRODUCT_8")
	case scene == "" && (amount < redpackMin || amount > redpackMax):
		return v2Result("MONEY_LIMIT", "红包金额不在 1 至 200 元之间；其他金额请传入 scene_id")
	case scene != "" && (amount < redpackSceneMin || amount > redpackSceneMax):
		return v2Result("MONEY_LIMIT", "红包金额不在 0.3 至 4999 元之间")
	}
	return nil
}

func sentAnswer(r *redpack) fields {
	return fields{{"return_code", "SUCCESS"}, {"return_msg", "发放成功"}, {"result_code", "SUCCESS"}, {"err_code", "SUCCESS"},
		{"err_code_des", "发放成功"}, {"mch_billno", r.billno}, {"mch_id", r.mchid}, {"wxappid", r.appid},
		{"re_openid", r.openid}, {"total_amount", itoa(r.amount)}, {"send_listid", r.sendListID}}
}

// getHBInfo is 查询红包记录. The merchant looking opens a sent envelope
// unless the sim holds payouts. Called with s.mu held.
func (s *Sim) getHBInfo(c *v2Call, now time.Time) fields {
	f := c.f
	for _, k := range []string{"nonce_str", "mch_billno", "mch_id", "appid", "bill_type"} {
		if f.get(k) == "" {
			return v2Result("PARAM_ERROR", "缺少必填参数 "+k)
		}
	}
	if f.get("bill_type") != "MCHT" {
		return v2Result("PARAM_ERROR", "bill_type 只支持 MCHT")
	}
	r := s.redpacks[redpackKey{c.merchant.MchID, f.get("mch_billno")}]
	if r == nil || r.appid != f.get("appid") {
		return v2Result("NOT_FOUND", "指定单号数据不存在")
	}
	s.touchRedpack(r, now)
	if !s.holdPayouts && r.status == hbSent {
		r.status, r.receivedAt = hbReceived, now
	}
	return hbInfo(r)
}

func hbInfo(r *redpack) fields {
	out := fields{{"return_code", "SUCCESS"}, {"return_msg", "OK"}, {"result_code", "SUCCESS"}, {"err_code", "SUCCESS"},
		{"err_code_des", "OK"}, {"mch_billno", r.billno}, {"mch_id", r.mchid}, {"detail_id", r.detailID},
		{"status", r.status}, {"send_type", "API"}, {"hb_type", "NORMAL"}, {"total_num", "1"},
		{"total_amount", itoa(r.amount)}, {"send_time", v2Time(r.created)}}
	if r.reason != "" {
		out = append(out, field{"reason", r.reason})
	}
	if !r.refunded.IsZero() {
		out = append(out, field{"refund_time", v2Time(r.refunded)}, field{"refund_amount", itoa(r.amount)})
	}
	out = append(out, field{"wishing", r.wishing}, field{"remark", r.remark}, field{"act_name", r.actName})
	if r.status == hbReceived {
		out = append(out, field{"hblist", "<hbinfo><openid>" + cdata(r.openid) + "</openid><amount>" + itoa(r.amount) +
			"</amount><rcv_time>" + cdata(v2Time(r.receivedAt)) + "</rcv_time></hbinfo>"})
	}
	return out
}

// Errors returned by OpenRedEnvelope and the other envelope hooks.
var (
	ErrRedpackNotFound = errors.New("wechatsim: red envelope not found")
	ErrRedpackState    = errors.New("wechatsim: red envelope cannot do that in its status")
)

// OpenRedEnvelope is the user opening a sent envelope (拆红包): RECEIVED.
func (s *Sim) OpenRedEnvelope(mchid, billno string) error {
	return s.redpackAction(mchid, billno, func(r *redpack, now time.Time) bool {
		if r.status != hbSent {
			return false
		}
		r.status, r.receivedAt = hbReceived, now
		return true
	})
}

// RefundRedEnvelope refunds a sent envelope nobody opened, as 24 hours
// of the sim's clock would: REFUND, its money back to the merchant.
func (s *Sim) RefundRedEnvelope(mchid, billno string) error {
	return s.redpackAction(mchid, billno, func(r *redpack, now time.Time) bool {
		if r.status != hbSent {
			return false
		}
		r.status, r.refunded = hbRefund, now
		s.credit(r.mchid, r.amount)
		return true
	})
}

// FailRedEnvelope fails an envelope still SENDING (WeChat's risk control
// stopping it): FAILED with reason, its money back to the merchant.
func (s *Sim) FailRedEnvelope(mchid, billno, reason string) error {
	return s.redpackAction(mchid, billno, func(r *redpack, now time.Time) bool {
		if r.status != hbSending {
			return false
		}
		if reason == "" {
			reason = "发放失败，此请求可能存在风险，已被微信拦截"
		}
		r.status, r.reason = hbFailed, reason
		s.credit(r.mchid, r.amount)
		return true
	})
}

func (s *Sim) redpackAction(mchid, billno string, act func(r *redpack, now time.Time) bool) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.redpacks[redpackKey{mchid, billno}]
	if r == nil {
		return fmt.Errorf("%w: %s", ErrRedpackNotFound, billno)
	}
	s.touchRedpack(r, now)
	if !act(r, now) {
		return fmt.Errorf("%w: %s is %s", ErrRedpackState, billno, r.status)
	}
	return nil
}

// RedEnvelopeSnapshot is one red envelope as the sim's books hold it,
// keyed by merchant and mch_billno: a repeated send never appears twice.
type RedEnvelopeSnapshot struct {
	MchID, AppID, MchBillNo string
	DetailID                string
	OpenID                  string
	Amount                  int64
	Status                  string // SENDING, SENT, FAILED, RECEIVED, REFUND
	Created                 time.Time
	Received, Refunded      time.Time // zero when not
}

// RedEnvelopes returns every envelope the sim holds, with time applied
// (refunds of unopened ones), sorted by merchant and mch_billno.
func (s *Sim) RedEnvelopes() []RedEnvelopeSnapshot {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RedEnvelopeSnapshot, 0, len(s.redpacks))
	for _, r := range s.redpacks {
		s.touchRedpack(r, now)
		out = append(out, RedEnvelopeSnapshot{MchID: r.mchid, AppID: r.appid, MchBillNo: r.billno, DetailID: r.detailID,
			OpenID: r.openid, Amount: r.amount, Status: r.status, Created: r.created, Received: r.receivedAt, Refunded: r.refunded})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].MchID != out[j].MchID {
			return out[i].MchID < out[j].MchID
		}
		return out[i].MchBillNo < out[j].MchBillNo
	})
	return out
}
