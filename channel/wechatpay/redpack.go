package wechatpay

// Cash red envelopes (Ping++ red_envelope, wx_pub only): WeChat's v2 calls
// /mmpaymkttransfers/sendredpack and /mmpaymkttransfers/gethbinfo (v2.go),
// signed with MD5 (the only signature these two calls take) and sent with
// the merchant's API certificate.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/polypay/polypay"
)

var _ polypay.RedEnvelopeSender = (*Client)(nil)

// Red envelope limits (fen): 1 to 200 yuan, or 0.30 to 4999 yuan with a
// scene_id (which WeChat requires outside 1–200 yuan; the merchant must
// also have raised its limits on the merchant platform).
const (
	redpackMin, redpackMax           = 100, 20000
	redpackSceneMin, redpackSceneMax = 30, 499900
)

// redpackClientIP is sendredpack's client_ip, "the IP of the machine
// calling the API"; WeChat does not check it against the connection.
const redpackClientIP = "127.0.0.1"

// redpackExtra is red_envelope.extra (Ping++ §2.7).
type redpackExtra struct {
	SendName string `json:"send_name"`
	SceneID  string `json:"scene_id"`
}

// CheckRedEnvelope applies WeChat's rules to a new red envelope (Ping++
// §2.7): channel wx_pub, order_no of 1 to 28 digits, currency cny, an
// amount of 1 to 200 yuan (0.30 to 4999 yuan with extra.scene_id,
// PRODUCT_1 to PRODUCT_8), the user's open_id as recipient, subject (the
// activity name) up to 32 bytes, body (the greeting) up to 128 bytes,
// description (the remark) up to 255 bytes and extra.send_name up to 32
// bytes, all required. The credentials must have the v2 key and API
// certificate. EInvalid naming the parameter.
func (c *Client) CheckRedEnvelope(r *polypay.RedEnvelope) error {
	if c.channel != ChannelPub || (r.Channel != "" && r.Channel != ChannelPub) {
		return polypay.ParamError("channel", "微信红包只支持 wx_pub 渠道")
	}
	if c.v2 == nil {
		return c.noV2("发红包")
	}
	if n := len(r.OrderNo); n < 1 || n > 28 || !digits(r.OrderNo) {
		return polypay.ParamError("order_no", "微信红包的 order_no 应为 1 到 28 位数字")
	}
	if r.Currency != "cny" {
		return polypay.ParamError("currency", "微信红包只支持 cny，不是 %q", r.Currency)
	}
	if r.Recipient == "" || len(r.Recipient) > 128 {
		return polypay.ParamError("recipient", "recipient 应为用户在公众号 %s 下的 open_id", c.appID)
	}
	for _, f := range []struct {
		param, v string
		max      int
	}{{"subject", r.Subject, 32}, {"body", r.Body, 128}, {"description", r.Description, 255}} {
		if f.v == "" || len(f.v) > f.max {
			return polypay.ParamError(f.param, "微信红包的 %s 必填，最多 %d 字节", f.param, f.max)
		}
	}
	ex, err := parseRedpackExtra(r.Extra)
	if err != nil {
		return err
	}
	return checkRedpackAmount(r.Amount, ex.SceneID)
}

// noV2 is the refusal of a v2 call the credentials cannot make.
func (c *Client) noV2(what string) error {
	pe := polypay.ParamError("channel", "渠道 wx 的参数不能%s（需要 api_v2_key 与 api_cert）: %v", what, c.v2Err)
	pe.Err = c.v2Err
	return pe
}

func parseRedpackExtra(raw json.RawMessage) (*redpackExtra, error) {
	var m map[string]json.RawMessage
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, &polypay.Error{Code: polypay.EInvalid, Param: "extra", Message: "extra 应为对象", Err: err}
		}
	}
	var ex redpackExtra
	if v, ok := m["send_name"]; ok && json.Unmarshal(v, &ex.SendName) != nil {
		return nil, polypay.ParamError("extra[send_name]", "send_name 应为字符串")
	}
	if v, ok := m["scene_id"]; ok && json.Unmarshal(v, &ex.SceneID) != nil {
		return nil, polypay.ParamError("extra[scene_id]", "scene_id 应为字符串")
	}
	if ex.SendName == "" || len(ex.SendName) > 32 {
		return nil, polypay.ParamError("extra[send_name]", "微信红包须填写 extra.send_name（商户名称），最多 32 字节")
	}
	if ex.SceneID != "" && !(len(ex.SceneID) == 9 && ex.SceneID[:8] == "PRODUCT_" && ex.SceneID[8] >= '1' && ex.SceneID[8] <= '8') {
		return nil, polypay.ParamError("extra[scene_id]", "scene_id 应为 PRODUCT_1 到 PRODUCT_8")
	}
	return &ex, nil
}

func checkRedpackAmount(amount int64, scene string) error {
	switch {
	case amount < redpackSceneMin || amount > redpackSceneMax:
		return polypay.ParamError("amount", "微信红包金额应为 100 到 20000 分（带 scene_id 时 30 到 499900 分）")
	case scene == "" && (amount < redpackMin || amount > redpackMax):
		return polypay.ParamError("extra[scene_id]", "金额低于 1 元或高于 200 元的微信红包须填写 extra.scene_id")
	}
	return nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// MchBillNo is the envelope's mch_billno, made from its order_no and
// nothing that changes, so a repeated send is the same envelope at
// WeChat. WeChat's format is mch_id + yyyymmdd + 10 digits (28
// characters for a 10-digit mch_id): an order_no of 28 digits is taken as
// already in that format; one of up to 10 digits without a leading zero
// becomes mch_id + the envelope's creation day (Beijing) + the order_no
// padded to 10 digits; any other is used as it is (WeChat takes any
// unique string of up to 28 letters and digits). No two order_nos of one
// app give the same mch_billno, except a 28-digit order_no spelling
// exactly another's padded form of the same day.
func (c *Client) MchBillNo(r *polypay.RedEnvelope) string {
	no := r.OrderNo
	if len(no) <= 10 && no != "" && no[0] != '0' && len(c.mchID)+18 <= 28 {
		day := time.Unix(r.Created, 0).In(cst).Format("20060102")
		return c.mchID + day + fmt.Sprintf("%010s", no)
	}
	return no
}

// SendRedEnvelope sends r with sendredpack. WeChat's answer SUCCESS is a
// sent envelope; PROCESSING one being sent. Errors: EInvalid
// (CheckRedEnvelope), EChannel when WeChat refuses it (NOTENOUGH,
// MONEY_LIMIT, OPENID_ERROR, FATAL_ERROR for a mch_billno already used for
// another envelope...: nothing was sent), anything else (SYSTEMERROR, an
// answer that does not parse, transport) leaves the outcome unknown:
// query, or send again under the same mch_billno.
func (c *Client) SendRedEnvelope(ctx context.Context, r *polypay.RedEnvelope) (*polypay.RedEnvelopeResult, error) {
	if err := c.notForPartner("red envelope"); err != nil {
		return nil, err
	}
	if err := c.CheckRedEnvelope(r); err != nil {
		return nil, err
	}
	ex, _ := parseRedpackExtra(r.Extra)
	billno := c.MchBillNo(r)
	fields := []v2Field{{"nonce_str", nonce()}, {"mch_billno", billno}, {"mch_id", c.mchID}, {"wxappid", c.appID},
		{"send_name", ex.SendName}, {"re_openid", r.Recipient}, {"total_amount", strconv.FormatInt(r.Amount, 10)},
		{"total_num", "1"}, {"wishing", r.Body}, {"client_ip", redpackClientIP}, {"act_name", r.Subject},
		{"remark", r.Description}}
	if ex.SceneID != "" {
		fields = append(fields, v2Field{"scene_id", ex.SceneID})
	}
	a, err := c.v2.post(ctx, "/mmpaymkttransfers/sendredpack", fields)
	if err != nil {
		return nil, fmt.Errorf("wechatpay sendredpack: outcome unknown: %w", err)
	}
	if err := redpackRefusal("sendredpack", a); err != nil {
		if a.ErrCode == "PROCESSING" {
			return &polypay.RedEnvelopeResult{Status: polypay.RedEnvelopeSending, Amount: r.Amount}, nil
		}
		return nil, err
	}
	if (a.MchBillno != "" && a.MchBillno != billno) || (a.TotalAmount != "" && a.TotalAmount != strconv.FormatInt(r.Amount, 10)) {
		return nil, fmt.Errorf("wechatpay sendredpack: asked for %s of %d fen, answer names %s of %s", billno, r.Amount, a.MchBillno, a.TotalAmount)
	}
	return &polypay.RedEnvelopeResult{Status: polypay.RedEnvelopeSent, Amount: r.Amount, TransactionNo: a.SendListID}, nil
}

// redpackRefusal is the error of an answer that is not a success: plain
// (outcome unknown) for SYSTEMERROR and PROCESSING, EChannel keeping
// WeChat's code otherwise. nil for a success.
func redpackRefusal(op string, a *v2Answer) error {
	if a.ReturnCode == "SUCCESS" && a.ResultCode == "SUCCESS" {
		return nil
	}
	code, msg := a.ErrCode, a.ErrCodeDes
	if code == "" || code == "SUCCESS" {
		code = "FAIL"
	}
	if msg == "" {
		msg = a.ReturnMsg
	}
	if code == "SYSTEMERROR" || code == "PROCESSING" {
		return fmt.Errorf("wechatpay %s: outcome unknown (%s: %s)", op, code, msg)
	}
	if msg == "" {
		msg = "微信红包接口拒绝了请求（" + code + "）"
	}
	return &polypay.Error{Code: polypay.EChannel, ChannelCode: code, Message: msg, ChannelMessage: msg}
}

// QueryRedEnvelope asks gethbinfo for the envelope by its mch_billno.
// NOT_FOUND is NotFound (WeChat: it may still be being sent; sending it
// again under the same mch_billno is the safe way on). Errors: EChannel
// for a refused query, ENotSupported for an undocumented status, plain
// otherwise.
func (c *Client) QueryRedEnvelope(ctx context.Context, r *polypay.RedEnvelope) (*polypay.RedEnvelopeResult, error) {
	if c.v2 == nil {
		return nil, c.noV2("查询红包")
	}
	billno := c.MchBillNo(r)
	a, err := c.v2.post(ctx, "/mmpaymkttransfers/gethbinfo", []v2Field{{"nonce_str", nonce()}, {"mch_billno", billno},
		{"mch_id", c.mchID}, {"appid", c.appID}, {"bill_type", "MCHT"}})
	if err != nil {
		return nil, fmt.Errorf("wechatpay gethbinfo: %w", err)
	}
	if a.ReturnCode == "SUCCESS" && a.ResultCode == "FAIL" && a.ErrCode == "NOT_FOUND" {
		return &polypay.RedEnvelopeResult{NotFound: true}, nil
	}
	if err := redpackRefusal("gethbinfo", a); err != nil {
		return nil, err
	}
	if a.MchBillno != billno {
		return nil, fmt.Errorf("wechatpay gethbinfo: asked for %s, got %s", billno, a.MchBillno)
	}
	return hbResult(a, r.Recipient)
}

// hbResult maps gethbinfo's answer.
func hbResult(a *v2Answer, openid string) (*polypay.RedEnvelopeResult, error) {
	st, err := redpackStatus(a.Status)
	if err != nil {
		return nil, err
	}
	amount, err := strconv.ParseInt(a.TotalAmount, 10, 64)
	if err != nil || amount < 1 {
		return nil, fmt.Errorf("wechatpay gethbinfo: total_amount %q is not a number of fen", a.TotalAmount)
	}
	res := &polypay.RedEnvelopeResult{Status: st, Amount: amount, TransactionNo: a.DetailID}
	for _, h := range a.HBList {
		if h.OpenID == openid && h.RcvTime != "" {
			if res.ReceivedAt, err = parseV2Time(h.RcvTime); err != nil {
				return nil, fmt.Errorf("wechatpay gethbinfo: rcv_time %q: %w", h.RcvTime, err)
			}
		}
	}
	if a.RefundTime != "" {
		if res.RefundedAt, err = parseV2Time(a.RefundTime); err != nil {
			return nil, fmt.Errorf("wechatpay gethbinfo: refund_time %q: %w", a.RefundTime, err)
		}
	}
	if st == polypay.RedEnvelopeFailed {
		res.FailureCode, res.FailureMsg = a.Status, a.Reason
		if res.FailureMsg == "" {
			res.FailureMsg = "红包发放失败"
		}
	}
	return res, nil
}

// parseV2Time reads the v2 answers' "2006-01-02 15:04:05" (Beijing).
func parseV2Time(s string) (int64, error) {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, cst)
	if err != nil {
		return 0, err
	}
	return t.Unix(), nil
}
