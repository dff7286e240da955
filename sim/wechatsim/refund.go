package wechatsim

import (
	"net/http"
	"time"
)

// refund_status values. The sim settles every refund at once (SUCCESS);
// PROCESSING, CLOSED and ABNORMAL are WeChat Pay's other values, which the
// sim never produces.
const (
	refundSuccess = "SUCCESS"
)

type refundKey struct{ mchid, outRefundNo string }

type refund struct {
	mchid         string
	spMchid       string // the provider that made it for mchid (partner mode)
	outRefundNo   string
	refundID      string
	outTradeNo    string
	transactionID string
	amount        int64 // this refund, fen
	total         int64 // the trade's amount
	status        string
	reason        string
	notifyURL     string
	created       time.Time
	succeeded     time.Time
}

type refundReq struct {
	SubMchid      string `json:"sub_mchid"`
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason"`
	NotifyURL     string `json:"notify_url"`
	FundsAccount  string `json:"funds_account"`
	Amount        *struct {
		Refund   *int64 `json:"refund"`
		Total    *int64 `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
}

// createRefund refunds part or all of a paid trade. out_refund_no is
// idempotent: repeating it with the same trade and amount answers the
// existing refund and moves no money; the cumulative refunds of a trade
// never exceed its amount. The refund succeeds at once and REFUND.SUCCESS
// is sent to the refund's notify_url after the answer (without one, WeChat
// Pay would use the URL configured on the merchant platform; the sim has
// none and sends nothing).
func (s *Sim) createRefund(c *call, now time.Time) (reply, *apiError) {
	var b refundReq
	if e := decode(c.body, &b); e != nil {
		return reply{}, e
	}
	if e := b.check(); e != nil {
		return reply{}, e
	}
	owner, sp := c.mchid, ""
	if b.SubMchid != "" {
		// A provider refunding for its sub-merchant (partner mode).
		if e := s.checkSub(c, b.SubMchid); e != nil {
			return reply{}, e
		}
		owner, sp = b.SubMchid, c.mchid
	}
	t := s.refundTrade(owner, &b)
	if t == nil || t.spMchid != sp {
		return reply{}, errResourceNotExist
	}
	s.touch(t, now)
	amount := *b.Amount.Refund
	key := refundKey{owner, b.OutRefundNo}
	if r := s.refunds[key]; r != nil {
		if r.outTradeNo != t.outTradeNo || r.amount != amount {
			return reply{}, invalidRequest("退款单号 out_refund_no 已存在，且与本次请求的订单或金额不一致")
		}
		return reply{status: http.StatusOK, body: refundOf(r)}, nil
	}
	if e := t.refundable(amount, *b.Amount.Total); e != nil {
		return reply{}, e
	}
	r := &refund{
		mchid:         owner,
		spMchid:       sp,
		outRefundNo:   b.OutRefundNo,
		refundID:      "50" + randomString(3, digits) + "0" + now.In(cst).Format("20060102") + randomString(15, digits),
		outTradeNo:    t.outTradeNo,
		transactionID: t.transactionID,
		amount:        amount,
		total:         t.amount,
		status:        refundSuccess,
		reason:        b.Reason,
		notifyURL:     b.NotifyURL,
		created:       now,
		succeeded:     now,
	}
	s.refunds[key] = r
	t.refunded += amount
	t.state = stateRefund

	rep := reply{status: http.StatusOK, body: refundOf(r)}
	if n := s.refundNotice(r, now); n != nil {
		// WeChat Pay answers first and notifies afterwards.
		rep.after = func() { s.bg.Go(func() { s.notifier.Send(s.bg.Context(), s.notice(n)) }) }
	}
	return rep, nil
}

// check refuses a refund request's missing or malformed parameters, as
// WeChat Pay does before looking at the trade.
func (b *refundReq) check() *apiError {
	switch {
	case b.OutRefundNo == "":
		return paramError("缺少必填参数 out_refund_no")
	case !validOutNo(b.OutRefundNo, 1, 64, "_-|*@"):
		return paramError("out_refund_no 应为 1 到 64 位数字、大小写字母或_-|*@")
	case b.OutTradeNo == "" && b.TransactionID == "":
		return paramError("transaction_id 和 out_trade_no 必须二选一")
	case b.Amount == nil || b.Amount.Refund == nil || b.Amount.Total == nil:
		return paramError("缺少必填参数 amount.refund 或 amount.total")
	case b.Amount.Currency != "CNY":
		return paramError("amount.currency 只支持 CNY")
	case *b.Amount.Refund < 1:
		return paramError("amount.refund 应为正整数（分）")
	case len([]rune(b.Reason)) > 80:
		return paramError("reason 超过 80 个字符")
	}
	if b.NotifyURL != "" {
		return checkNotifyURL(b.NotifyURL)
	}
	return nil
}

// refundTrade finds the merchant's trade a refund names, by out_trade_no
// (which must then agree with a transaction_id also given) or by
// transaction_id.
func (s *Sim) refundTrade(mchid string, b *refundReq) *trade {
	if b.OutTradeNo != "" {
		t := s.trades[tradeKey{mchid, b.OutTradeNo}]
		if t != nil && b.TransactionID != "" && t.transactionID != b.TransactionID {
			return nil
		}
		return t
	}
	if t := s.byTxID[b.TransactionID]; t != nil && t.mchid == mchid {
		return t
	}
	return nil
}

// refundable refuses a new refund the trade cannot take.
func (t *trade) refundable(amount, total int64) *apiError {
	switch {
	case t.state != stateSuccess && t.state != stateRefund:
		return invalidRequest("订单状态为 " + t.state + "，不能退款")
	case total != t.amount:
		return invalidRequest("amount.total 与原订单金额不一致")
	case t.refunded+amount > t.amount:
		return invalidRequest("申请退款金额超过订单可退金额")
	}
	return nil
}

func (s *Sim) queryRefund(c *call, now time.Time) (reply, *apiError) {
	owner, sp := c.mchid, ""
	if sub := first(c.query["sub_mchid"]); sub != "" {
		if e := s.checkSub(c, sub); e != nil {
			return reply{}, e
		}
		owner, sp = sub, c.mchid
	}
	r := s.refunds[refundKey{owner, c.params[0]}]
	if r == nil || r.spMchid != sp {
		return reply{}, errRefundNotExist
	}
	return reply{status: http.StatusOK, body: refundOf(r)}, nil
}

type refundAmount struct {
	Total            int64  `json:"total"`
	Refund           int64  `json:"refund"`
	From             []any  `json:"from"`
	PayerTotal       int64  `json:"payer_total"`
	PayerRefund      int64  `json:"payer_refund"`
	SettlementRefund int64  `json:"settlement_refund"`
	SettlementTotal  int64  `json:"settlement_total"`
	DiscountRefund   int64  `json:"discount_refund"`
	Currency         string `json:"currency"`
	RefundFee        int64  `json:"refund_fee"`
}

// refundRsp is the Refund object of the refund and refund-query answers.
type refundRsp struct {
	RefundID            string       `json:"refund_id"`
	OutRefundNo         string       `json:"out_refund_no"`
	TransactionID       string       `json:"transaction_id"`
	OutTradeNo          string       `json:"out_trade_no"`
	Channel             string       `json:"channel"`
	UserReceivedAccount string       `json:"user_received_account"`
	SuccessTime         string       `json:"success_time,omitempty"`
	CreateTime          string       `json:"create_time"`
	Status              string       `json:"status"`
	FundsAccount        string       `json:"funds_account"`
	Amount              refundAmount `json:"amount"`
	PromotionDetail     []any        `json:"promotion_detail"`
}

func refundOf(r *refund) refundRsp {
	rsp := refundRsp{
		RefundID:            r.refundID,
		OutRefundNo:         r.outRefundNo,
		TransactionID:       r.transactionID,
		OutTradeNo:          r.outTradeNo,
		Channel:             "ORIGINAL",
		UserReceivedAccount: "支付用户零钱",
		CreateTime:          formatTime(r.created),
		Status:              r.status,
		FundsAccount:        "AVAILABLE",
		Amount: refundAmount{
			Total: r.total, Refund: r.amount, From: []any{},
			PayerTotal: r.total, PayerRefund: r.amount,
			SettlementTotal: r.total, SettlementRefund: r.amount,
			Currency: "CNY",
		},
		PromotionDetail: []any{},
	}
	if !r.succeeded.IsZero() {
		rsp.SuccessTime = formatTime(r.succeeded)
	}
	return rsp
}
