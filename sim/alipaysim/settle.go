package alipaysim

import (
	"encoding/json"
	"time"
)

// Settle-on-trade (分账): a trade opened with extend_params.royalty_freeze
// "true" holds its funds; the merchant binds receivers with
// alipay.trade.royalty.relation.bind, splits a paid trade among them with
// alipay.trade.order.settle (each split settles at once; out_request_no is
// idempotent; extend_params.royalty_finish "true" unfreezes the rest, after
// which nothing more is split) and reads a split back with
// alipay.trade.order.settle.query. Splits never exceed what the trade took
// less refunds and earlier splits. Taking a share back happens only with a
// refund (refund_royalty_parameters), which the sim does not simulate.

type settleDetail struct {
	OperationType string `json:"operation_type"`
	ExecuteDt     string `json:"execute_dt"`
	TransOut      string `json:"trans_out"`
	TransOutType  string `json:"trans_out_type"`
	TransIn       string `json:"trans_in"`
	TransInType   string `json:"trans_in_type"`
	Amount        string `json:"amount"`
	State         string `json:"state"`
	DetailID      string `json:"detail_id"`
}

type settleRecord struct {
	tradeNo  string
	settleNo string
	at       time.Time
	details  []settleDetail
	finish   bool
}

// settleState is the sim's settle-on-trade state, under s.mu.
type settleState struct {
	relations map[[2]string]string        // app/account -> type
	settles   map[[2]string]*settleRecord // app/out_request_no
	split     map[string]int64            // by trade_no
	finished  map[string]bool             // by trade_no
}

func (s *Sim) settles() *settleState {
	if s.settleOn == nil {
		s.settleOn = &settleState{relations: map[[2]string]string{}, settles: map[[2]string]*settleRecord{}, split: map[string]int64{},
			finished: map[string]bool{}}
	}
	return s.settleOn
}

type relationBiz struct {
	OutRequestNo text `json:"out_request_no"`
	ReceiverList []struct {
		Type    text `json:"type"`
		Account text `json:"account"`
		Name    text `json:"name"`
		Memo    text `json:"memo"`
	} `json:"receiver_list"`
}

// relationBind is alipay.trade.royalty.relation.bind.
func (s *Sim) relationBind(c *call, now time.Time) (any, *apiError) {
	var b relationBiz
	if err := json.Unmarshal(c.biz, &b); err != nil || len(b.ReceiverList) == 0 || b.OutRequestNo == "" {
		return nil, missingParam("receiver_list")
	}
	st := s.settles()
	for _, r := range b.ReceiverList {
		if r.Type != "userId" && r.Type != "loginName" {
			return nil, invalidParam("receiver_list.type")
		}
		if r.Account == "" || (r.Type == "userId" && string(r.Account) == sellerID(c.appID)) {
			return nil, business("ACQ.INVALID_PARAMETER", "分账接收方无效")
		}
		st.relations[[2]string{c.appID, string(r.Account)}] = string(r.Type)
	}
	return struct {
		head
		ResultCode string `json:"result_code"`
	}{success, "SUCCESS"}, nil
}

type settleBiz struct {
	OutRequestNo      text `json:"out_request_no"`
	TradeNo           text `json:"trade_no"`
	RoyaltyParameters []struct {
		RoyaltyType text `json:"royalty_type"`
		TransInType text `json:"trans_in_type"`
		TransIn     text `json:"trans_in"`
		Amount      text `json:"amount"`
		Desc        text `json:"desc"`
	} `json:"royalty_parameters"`
	ExtendParams *struct {
		RoyaltyFinish text `json:"royalty_finish"`
	} `json:"extend_params"`
}

type settleRsp struct {
	head
	TradeNo  string `json:"trade_no"`
	SettleNo string `json:"settle_no"`
}

// orderSettle is alipay.trade.order.settle.
func (s *Sim) orderSettle(c *call, now time.Time) (any, *apiError) {
	var b settleBiz
	if err := json.Unmarshal(c.biz, &b); err != nil || b.OutRequestNo == "" || b.TradeNo == "" {
		return nil, missingParam("out_request_no")
	}
	st := s.settles()
	key := [2]string{c.appID, string(b.OutRequestNo)}
	if r := st.settles[key]; r != nil {
		if r.tradeNo != string(b.TradeNo) {
			return nil, business("ACQ.DUPLICATE_REQUEST", "结算请求流水号已被另一交易使用")
		}
		return settleRsp{success, r.tradeNo, r.settleNo}, nil
	}
	t := s.byTradeNo[string(b.TradeNo)]
	switch {
	case t == nil || t.appID != c.appID:
		return nil, business("ACQ.TRADE_NOT_EXIST", "交易不存在")
	case t.status != tradeSuccess:
		return nil, business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	case !t.frozen:
		return nil, business("ACQ.TRADE_SETTLE_ERROR", "交易下单时未冻结分账资金（royalty_freeze），不能分账")
	case st.finished[t.tradeNo]:
		return nil, business("ACQ.TRADE_SETTLE_ERROR", "交易已完结分账")
	}
	rec := &settleRecord{tradeNo: t.tradeNo, settleNo: newTradeNo(now), at: now,
		finish: b.ExtendParams != nil && b.ExtendParams.RoyaltyFinish == "true"}
	var total int64
	for _, p := range b.RoyaltyParameters {
		amt, err := parseFen(string(p.Amount))
		if err != nil || amt < 1 {
			return nil, invalidParam("royalty_parameters.amount")
		}
		if st.relations[[2]string{c.appID, string(p.TransIn)}] != string(p.TransInType) {
			return nil, business("ACQ.TRANS_IN_NOT_BIND", "分账收入方未绑定分账关系")
		}
		total += amt
		rec.details = append(rec.details, settleDetail{OperationType: "transfer", ExecuteDt: formatTime(now), TransOut: sellerID(c.appID),
			TransOutType: "userId", TransIn: string(p.TransIn), TransInType: string(p.TransInType), Amount: yuan(amt), State: "SUCCESS",
			DetailID: newTradeNo(now)})
	}
	if len(rec.details) == 0 && !rec.finish {
		return nil, missingParam("royalty_parameters")
	}
	if total > t.amount-t.refunded-st.split[t.tradeNo] {
		return nil, business("ACQ.ALLOCATE_AMOUNT_EXCEED", "分账金额超过交易可分账金额")
	}
	st.split[t.tradeNo] += total
	st.settles[key] = rec
	if rec.finish {
		st.finished[t.tradeNo] = true
	}
	return settleRsp{success, t.tradeNo, rec.settleNo}, nil
}

// orderSettleQuery is alipay.trade.order.settle.query.
func (s *Sim) orderSettleQuery(c *call, now time.Time) (any, *apiError) {
	var b struct {
		OutRequestNo text `json:"out_request_no"`
		TradeNo      text `json:"trade_no"`
		SettleNo     text `json:"settle_no"`
	}
	if err := json.Unmarshal(c.biz, &b); err != nil {
		return nil, invalidParam("biz_content")
	}
	r := s.settles().settles[[2]string{c.appID, string(b.OutRequestNo)}]
	if r == nil || r.tradeNo != string(b.TradeNo) {
		return nil, business("ACQ.SETTLE_NOT_EXIST", "分账单不存在")
	}
	details := r.details
	if details == nil {
		details = []settleDetail{}
	}
	return struct {
		head
		OutRequestNo      string         `json:"out_request_no"`
		OperationDt       string         `json:"operation_dt"`
		SettleNo          string         `json:"settle_no"`
		RoyaltyDetailList []settleDetail `json:"royalty_detail_list"`
	}{success, string(b.OutRequestNo), formatTime(r.at), r.settleNo, details}, nil
}
