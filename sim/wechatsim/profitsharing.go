package wechatsim

import (
	"net/http"
	"time"
)

// Profit sharing (分账, /v3/profitsharing/*): a trade paid with
// settle_info.profit_sharing keeps its funds frozen; the merchant adds
// receivers, then splits the trade among them with profit-sharing orders
// (each split settles at once), can take a merchant receiver's share back
// (return orders) and unfreezes the rest, after which nothing more can be
// split. In partner mode the body names sub_mchid and everything is the
// sub-merchant's. Splits never exceed what the trade took less refunds and
// earlier splits.

var profitRoutes = []route{
	{method: http.MethodPost, pattern: []string{"v3", "profitsharing", "receivers", "add"}, h: (*Sim).addReceiver},
	{method: http.MethodPost, pattern: []string{"v3", "profitsharing", "orders"}, h: (*Sim).shareOrder},
	{method: http.MethodGet, pattern: []string{"v3", "profitsharing", "orders", "*"}, h: (*Sim).queryShareOrder},
	{method: http.MethodPost, pattern: []string{"v3", "profitsharing", "orders", "unfreeze"}, h: (*Sim).unfreeze},
	{method: http.MethodPost, pattern: []string{"v3", "profitsharing", "return-orders"}, h: (*Sim).returnOrder},
}

func init() { routes = append(routes, profitRoutes...) }

type shareReceiver struct {
	Type        string `json:"type"`
	Account     string `json:"account"`
	Amount      int64  `json:"amount"`
	Description string `json:"description"`
	Result      string `json:"result"`
	FailReason  string `json:"fail_reason,omitempty"`
	DetailID    string `json:"detail_id"`
	CreateTime  string `json:"create_time"`
	FinishTime  string `json:"finish_time"`
}

type shareOrder struct {
	owner         string
	subMchid      string
	transactionID string
	outOrderNo    string
	orderID       string
	state         string
	receivers     []shareReceiver
}

type shareRsp struct {
	SubMchid      string          `json:"sub_mchid,omitempty"`
	TransactionID string          `json:"transaction_id"`
	OutOrderNo    string          `json:"out_order_no"`
	OrderID       string          `json:"order_id"`
	State         string          `json:"state"`
	Receivers     []shareReceiver `json:"receivers"`
}

func (o *shareOrder) rsp() shareRsp {
	return shareRsp{SubMchid: o.subMchid, TransactionID: o.transactionID, OutOrderNo: o.outOrderNo, OrderID: o.orderID, State: o.state,
		Receivers: o.receivers}
}

// profit is the sim's profit-sharing state, under s.mu.
type profit struct {
	receivers map[[2]string]string      // owner/account -> type
	orders    map[[2]string]*shareOrder // owner/out_order_no
	split     map[string]int64          // by transaction_id: shared and not returned
	finished  map[string]bool           // by transaction_id: unfrozen
	returns   map[[2]string]int64       // owner/out_return_no -> amount
	returned  map[[3]string]int64       // owner/out_order_no/receiver -> taken back
}

func (s *Sim) profit() *profit {
	if s.prof == nil {
		s.prof = &profit{receivers: map[[2]string]string{}, orders: map[[2]string]*shareOrder{}, split: map[string]int64{},
			finished: map[string]bool{}, returns: map[[2]string]int64{}, returned: map[[3]string]int64{}}
	}
	return s.prof
}

// owner is whose funds a profit-sharing call moves: the signer's, or the
// sub-merchant's it names (partner mode).
func (s *Sim) owner(c *call, sub string) (string, *apiError) {
	if sub == "" {
		return c.mchid, nil
	}
	return sub, s.checkSub(c, sub)
}

// ownedBody decodes a profit-sharing body into b and resolves its owner
// from the body's sub_mchid (*sub once decoded).
func (s *Sim) ownedBody(c *call, b any, sub *string) (string, *apiError) {
	if e := decode(c.body, b); e != nil {
		return "", e
	}
	return s.owner(c, *sub)
}

func (s *Sim) addReceiver(c *call, now time.Time) (reply, *apiError) {
	var b struct {
		SubMchid     string `json:"sub_mchid"`
		Type         string `json:"type"`
		Account      string `json:"account"`
		RelationType string `json:"relation_type"`
	}
	owner, e := s.ownedBody(c, &b, &b.SubMchid)
	if e != nil {
		return reply{}, e
	}
	if b.Type != "MERCHANT_ID" && b.Type != "PERSONAL_OPENID" {
		return reply{}, paramError("type 应为 MERCHANT_ID 或 PERSONAL_OPENID")
	}
	if b.Account == "" || b.RelationType == "" {
		return reply{}, paramError("缺少必填参数 account 或 relation_type")
	}
	if b.Account == owner {
		return reply{}, invalidRequest("分账接收方不能是分账方自己")
	}
	s.profit().receivers[[2]string{owner, b.Account}] = b.Type
	return reply{status: http.StatusOK, body: map[string]string{"sub_mchid": b.SubMchid, "type": b.Type, "account": b.Account,
		"relation_type": b.RelationType}}, nil
}

// sharedTrade finds the frozen, paid trade a profit-sharing call names.
func (s *Sim) sharedTrade(owner, txID string) (*trade, *apiError) {
	t := s.byTxID[txID]
	if t == nil || t.mchid != owner {
		return nil, errOrderNotExist
	}
	if t.state != stateSuccess && t.state != stateRefund {
		return nil, invalidRequest("订单未支付，不能分账")
	}
	if !t.frozen {
		return nil, invalidRequest("订单下单时未设置分账（settle_info.profit_sharing），不能分账")
	}
	if s.profit().finished[txID] {
		return nil, invalidRequest("订单已完结分账，剩余资金已解冻")
	}
	return t, nil
}

func (s *Sim) shareOrder(c *call, now time.Time) (reply, *apiError) {
	var b struct {
		SubMchid        string `json:"sub_mchid"`
		TransactionID   string `json:"transaction_id"`
		OutOrderNo      string `json:"out_order_no"`
		UnfreezeUnsplit bool   `json:"unfreeze_unsplit"`
		Receivers       []struct {
			Type        string `json:"type"`
			Account     string `json:"account"`
			Amount      int64  `json:"amount"`
			Description string `json:"description"`
		} `json:"receivers"`
	}
	owner, e := s.ownedBody(c, &b, &b.SubMchid)
	if e != nil {
		return reply{}, e
	}
	p := s.profit()
	if o := p.orders[[2]string{owner, b.OutOrderNo}]; o != nil {
		if o.transactionID != b.TransactionID {
			return reply{}, invalidRequest("商户分账单号 out_order_no 已被另一订单使用")
		}
		return reply{status: http.StatusOK, body: o.rsp()}, nil
	}
	t, e := s.sharedTrade(owner, b.TransactionID)
	if e != nil {
		return reply{}, e
	}
	if b.OutOrderNo == "" || len(b.Receivers) == 0 || len(b.Receivers) > 50 {
		return reply{}, paramError("缺少 out_order_no，或 receivers 不是 1 到 50 个")
	}
	var total int64
	o := &shareOrder{owner: owner, subMchid: b.SubMchid, transactionID: b.TransactionID, outOrderNo: b.OutOrderNo,
		orderID: "3008450740" + now.In(cst).Format("20060102") + randomString(10, digits), state: "FINISHED"}
	for _, r := range b.Receivers {
		if p.receivers[[2]string{owner, r.Account}] != r.Type {
			return reply{}, invalidRequest("分账接收方 " + r.Account + " 未添加或类型不符")
		}
		if r.Amount < 1 {
			return reply{}, paramError("receivers.amount 应为正整数（分）")
		}
		total += r.Amount
		o.receivers = append(o.receivers, shareReceiver{Type: r.Type, Account: r.Account, Amount: r.Amount, Description: r.Description,
			Result: "SUCCESS", DetailID: "3601" + randomString(24, digits), CreateTime: formatTime(now), FinishTime: formatTime(now)})
	}
	if total > t.amount-t.refunded-p.split[t.transactionID] {
		return reply{}, invalidRequest("分账金额超过订单可分账金额")
	}
	p.split[t.transactionID] += total
	p.orders[[2]string{owner, b.OutOrderNo}] = o
	if b.UnfreezeUnsplit {
		p.finished[t.transactionID] = true
	}
	return reply{status: http.StatusOK, body: o.rsp()}, nil
}

func (s *Sim) queryShareOrder(c *call, now time.Time) (reply, *apiError) {
	owner, e := s.owner(c, first(c.query["sub_mchid"]))
	if e != nil {
		return reply{}, e
	}
	o := s.profit().orders[[2]string{owner, c.params[0]}]
	if o == nil || o.transactionID != first(c.query["transaction_id"]) {
		return reply{}, errResourceNotExist
	}
	return reply{status: http.StatusOK, body: o.rsp()}, nil
}

// unfreeze ends a trade's profit sharing: the unsplit rest goes to the
// merchant; the answer is an order of its own out_order_no.
func (s *Sim) unfreeze(c *call, now time.Time) (reply, *apiError) {
	var b struct {
		SubMchid      string `json:"sub_mchid"`
		TransactionID string `json:"transaction_id"`
		OutOrderNo    string `json:"out_order_no"`
		Description   string `json:"description"`
	}
	owner, e := s.ownedBody(c, &b, &b.SubMchid)
	if e != nil {
		return reply{}, e
	}
	p := s.profit()
	if o := p.orders[[2]string{owner, b.OutOrderNo}]; o != nil && o.transactionID == b.TransactionID {
		return reply{status: http.StatusOK, body: o.rsp()}, nil
	}
	if _, e := s.sharedTrade(owner, b.TransactionID); e != nil {
		return reply{}, e
	}
	o := &shareOrder{owner: owner, subMchid: b.SubMchid, transactionID: b.TransactionID, outOrderNo: b.OutOrderNo,
		orderID: "3008450740" + now.In(cst).Format("20060102") + randomString(10, digits), state: "FINISHED", receivers: []shareReceiver{}}
	p.orders[[2]string{owner, b.OutOrderNo}] = o
	p.finished[b.TransactionID] = true
	return reply{status: http.StatusOK, body: o.rsp()}, nil
}

// returnOrder takes back part of a merchant receiver's share.
func (s *Sim) returnOrder(c *call, now time.Time) (reply, *apiError) {
	var b struct {
		SubMchid    string `json:"sub_mchid"`
		OutOrderNo  string `json:"out_order_no"`
		OutReturnNo string `json:"out_return_no"`
		ReturnMchid string `json:"return_mchid"`
		Amount      int64  `json:"amount"`
		Description string `json:"description"`
	}
	owner, e := s.ownedBody(c, &b, &b.SubMchid)
	if e != nil {
		return reply{}, e
	}
	p := s.profit()
	o := p.orders[[2]string{owner, b.OutOrderNo}]
	if o == nil {
		return reply{}, errResourceNotExist
	}
	rsp := func() any {
		return map[string]any{"sub_mchid": b.SubMchid, "order_id": o.orderID, "out_order_no": o.outOrderNo, "out_return_no": b.OutReturnNo,
			"return_id": "3008450740" + randomString(18, digits), "return_mchid": b.ReturnMchid, "amount": b.Amount,
			"description": b.Description, "result": "SUCCESS", "create_time": formatTime(now), "finish_time": formatTime(now)}
	}
	key := [2]string{owner, b.OutReturnNo}
	if amt, ok := p.returns[key]; ok {
		if amt != b.Amount {
			return reply{}, invalidRequest("回退单号 out_return_no 已被使用，且金额不同")
		}
		return reply{status: http.StatusOK, body: rsp()}, nil
	}
	var shared int64
	for _, r := range o.receivers {
		if r.Type == "MERCHANT_ID" && r.Account == b.ReturnMchid {
			shared += r.Amount
		}
	}
	back := [3]string{owner, b.OutOrderNo, b.ReturnMchid}
	if b.Amount < 1 || b.Amount > shared-p.returned[back] {
		return reply{}, invalidRequest("回退金额超过该接收方在此分账单中分得的金额")
	}
	p.returns[key] = b.Amount
	p.returned[back] += b.Amount
	p.split[o.transactionID] -= b.Amount
	return reply{status: http.StatusOK, body: rsp()}, nil
}
