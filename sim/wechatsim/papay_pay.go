package wechatsim

// Debits of a contract (申请扣款, /pay/pappayapply) and their query
// (/pay/paporderquery). WeChat accepts a debit (result_code SUCCESS) and
// pays it later; the sim pays it at once, before answering, and posts the
// v2 pay result notification after the answer. A debit is an ordinary
// trade of the sim (trade_type PAP): the v3 order query, refunds and the
// trade bill see it like any other.

import (
	"strconv"
	"time"
)

// papPayApply is 申请扣款. Refusals pay nothing and record no trade.
func (s *Sim) papPayApply(c *v2Call, now time.Time) (fields, func()) {
	f := c.f
	nonce := field{"nonce_str", randomString(32, alnum)}
	if e := c.require("appid", "nonce_str", "body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url",
		"trade_type", "contract_id"); e != nil {
		return e, nil
	}
	amount, err := strconv.ParseInt(f.get("total_fee"), 10, 64)
	if msg := checkPAP(f, amount, err); msg != "" {
		return c.fail("PARAM_ERROR", msg, nonce), nil
	}
	success := c.answer(nonce, field{"result_code", "SUCCESS"})
	key := tradeKey{c.merchant.MchID, f.get("out_trade_no")}
	fp := tradePAP + "\x00" + f.get("appid") + "\x00" + f.get("contract_id") + "\x00" + itoa(amount)
	if t := s.trades[key]; t != nil {
		s.touch(t, now)
		switch {
		case t.fingerprint == fp:
			return success, nil // the same debit, already paid
		case t.state == stateSuccess || t.state == stateRefund:
			return c.fail("ORDERPAID", "该订单已支付", nonce), nil
		case t.state == stateClosed || t.state == stateRevoked:
			return c.fail("ORDERCLOSED", "该订单已关闭", nonce), nil
		}
		return c.fail("OUT_TRADE_NO_USED", "商户订单号重复", nonce), nil
	}
	k := s.papay.contracts[f.get("contract_id")]
	switch {
	case k == nil || k.mchid != c.merchant.MchID || k.appid != f.get("appid"):
		return c.fail("CONTRACT_NOT_EXIST", contractNotExist, nonce), nil
	case k.state != contractSigned:
		return c.fail("CONTRACTERROR", "签约协议已解约，请重新签约", nonce), nil
	case k.poor:
		return c.fail("NOTENOUGH", "用户帐号余额不足", nonce), nil
	}
	t := &trade{mchid: c.merchant.MchID, appid: k.appid, outTradeNo: key.outTradeNo, tradeType: tradePAP,
		description: f.get("body"), attach: f.get("attach"), notifyURL: f.get("notify_url"), openid: k.openid,
		contractID: k.id, amount: amount, fingerprint: fp, state: stateNotPay, created: now}
	s.trades[key] = t
	s.markPaid(t, now)
	n := s.papNote(t, f.get("sign_type"))
	return success, func() { s.papay.notifier.Post(s.v2Notice(n)) }
}

// checkPAP applies pappayapply's parameter rules; "" when they hold.
func checkPAP(f fields, amount int64, amountErr error) string {
	switch {
	case f.get("trade_type") != tradePAP:
		return "trade_type 应为 PAP"
	case !validOutNo(f.get("out_trade_no"), 1, 32, "_-|*"):
		return "out_trade_no 应为 32 位以内数字、大小写字母或_-|*"
	case amountErr != nil || amount < 1:
		return "total_fee 应为正整数（分）"
	case f.get("fee_type") != "" && f.get("fee_type") != "CNY":
		return "fee_type 只支持 CNY"
	case len([]rune(f.get("body"))) > 127:
		return "body 超过 127 个字符"
	case len([]rune(f.get("attach"))) > 128:
		return "attach 超过 128 个字符"
	}
	if e := checkNotifyURL(f.get("notify_url")); e != nil {
		return e.Message
	}
	return ""
}

// papFields are a paid debit as the pay notification and the query show
// it.
func papFields(t *trade) fields {
	f := fields{{"openid", t.openid}, {"is_subscribe", "N"}, {"trade_type", tradePAP}, {"trade_state", t.state},
		{"trade_state_desc", stateDesc[t.state]}, {"bank_type", t.bankType}, {"total_fee", itoa(t.amount)},
		{"fee_type", "CNY"}, {"cash_fee", itoa(t.amount)}, {"cash_fee_type", "CNY"},
		{"transaction_id", t.transactionID}, {"out_trade_no", t.outTradeNo}}
	if t.attach != "" {
		f = append(f, field{"attach", t.attach})
	}
	return append(f, field{"time_end", t.paidAt.In(cst).Format("20060102150405")}, field{"contract_id", t.contractID})
}

// papNote prepares the pay result notification (委托代扣支付结果通知) of
// a debit just paid, signed with the debit's sign_type (named in the
// notification when it is not MD5). Called with s.mu held.
func (s *Sim) papNote(t *trade, signType string) *v2Note {
	f := fields{{"return_code", "SUCCESS"}, {"return_msg", "OK"}, {"appid", t.appid}, {"mch_id", t.mchid},
		{"nonce_str", randomString(32, alnum)}, {"result_code", "SUCCESS"}}
	f = append(f, papFields(t)...)
	if signType == "HMAC-SHA256" {
		f = append(f, field{"sign_type", signType})
	}
	return &v2Note{mchid: t.mchid, key: t.outTradeNo, url: t.notifyURL, event: "TRANSACTION.SUCCESS",
		signType: signType, f: f, log: &s.deliveries}
}

// papOrderQuery is the debit query (/pay/paporderquery): by
// transaction_id, else out_trade_no. Only debits are found: other trades
// of the merchant are ORDERNOTEXIST here.
func (s *Sim) papOrderQuery(c *v2Call, now time.Time) (fields, func()) {
	nonce := field{"nonce_str", randomString(32, alnum)}
	if e := c.require("appid", "nonce_str"); e != nil {
		return e, nil
	}
	var t *trade
	switch id := c.f.get("transaction_id"); {
	case id != "":
		t = s.byTxID[id]
	case c.f.get("out_trade_no") != "":
		t = s.trades[tradeKey{c.merchant.MchID, c.f.get("out_trade_no")}]
	default:
		return c.fail("PARAM_ERROR", "transaction_id 与 out_trade_no 必须二选一", nonce), nil
	}
	if t == nil || t.mchid != c.merchant.MchID || t.appid != c.f.get("appid") || t.tradeType != tradePAP {
		return c.fail("ORDERNOTEXIST", "此交易订单号不存在", nonce), nil
	}
	s.touch(t, now)
	return c.answer(append(fields{nonce, {"result_code", "SUCCESS"}}, papFields(t)...)...), nil
}
