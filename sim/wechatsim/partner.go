package wechatsim

import (
	"encoding/json"
	"net/http"
	"time"
)

// Service-provider (partner) mode (服务商模式): a service provider's
// merchant number (sp_mchid, the signer) takes payments for its
// sub-merchants (sub_mchid), through /v3/pay/partner/transactions/* and the
// refund API with sub_mchid. The trades are the sub-merchant's; queries,
// closes and refunds must name the same pair; notifications go to the
// provider, encrypted with its APIv3 key, with sp_ and sub_ fields. A
// sub-merchant is bound to every provider until [Sim.UnbindSubMerchant]
// plays the sub-merchant ending the relation; calls for it then fail
// 403 NO_AUTH.

var partnerRoutes = []route{
	{method: http.MethodPost, pattern: []string{"v3", "pay", "partner", "transactions", "native"}, h: partnerPrepay(tradeNative)},
	{method: http.MethodPost, pattern: []string{"v3", "pay", "partner", "transactions", "jsapi"}, h: partnerPrepay(tradeJSAPI)},
	{method: http.MethodPost, pattern: []string{"v3", "pay", "partner", "transactions", "app"}, h: partnerPrepay(tradeApp)},
	{method: http.MethodPost, pattern: []string{"v3", "pay", "partner", "transactions", "h5"}, h: partnerPrepay(tradeH5)},
	{method: http.MethodGet, pattern: []string{"v3", "pay", "partner", "transactions", "out-trade-no", "*"}, h: (*Sim).partnerQueryByOutTradeNo},
	{method: http.MethodGet, pattern: []string{"v3", "pay", "partner", "transactions", "id", "*"}, h: (*Sim).partnerQueryByID},
	{method: http.MethodPost, pattern: []string{"v3", "pay", "partner", "transactions", "out-trade-no", "*", "close"}, h: (*Sim).partnerClose},
}

func init() { routes = append(routes, partnerRoutes...) }

var errSubNoAuth = &apiError{http.StatusForbidden, "NO_AUTH", "特约商户未与服务商绑定或已解除授权"}

// UnbindSubMerchant plays a sub-merchant ending its relation with the
// provider sp: every call for it fails NO_AUTH from now on.
func (s *Sim) UnbindSubMerchant(sp, sub string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unbound == nil {
		s.unbound = map[[2]string]bool{}
	}
	s.unbound[[2]string{sp, sub}] = true
}

// checkSub refuses a sub-merchant number that is malformed or no longer
// bound to the signing provider.
func (s *Sim) checkSub(c *call, sub string) *apiError {
	if sub == "" {
		return paramError("缺少必填参数 sub_mchid")
	}
	if !validOutNo(sub, 8, 32, "") {
		return paramError("sub_mchid 格式错误")
	}
	if sub == c.mchid || s.unbound[[2]string{c.mchid, sub}] {
		return errSubNoAuth
	}
	return nil
}

type partnerOrderReq struct {
	SpAppid     string     `json:"sp_appid"`
	SpMchid     string     `json:"sp_mchid"`
	SubAppid    string     `json:"sub_appid"`
	SubMchid    string     `json:"sub_mchid"`
	Description string     `json:"description"`
	OutTradeNo  string     `json:"out_trade_no"`
	TimeExpire  string     `json:"time_expire"`
	Attach      string     `json:"attach"`
	NotifyURL   string     `json:"notify_url"`
	GoodsTag    string     `json:"goods_tag"`
	LimitPay    []string   `json:"limit_pay"`
	Amount      *amountReq `json:"amount"`
	Payer       *struct {
		SpOpenid  string `json:"sp_openid"`
		SubOpenid string `json:"sub_openid"`
	} `json:"payer"`
	SceneInfo  json.RawMessage `json:"scene_info,omitempty"`
	SettleInfo json.RawMessage `json:"settle_info,omitempty"`
}

func partnerPrepay(tradeType string) handler {
	return func(s *Sim, c *call, now time.Time) (reply, *apiError) { return s.partnerPrepay(tradeType, c, now) }
}

// partnerPrepay checks the provider's fields and runs the merchant prepay
// as the sub-merchant: the trade is the sub-merchant's, the provider's
// app id checked against the provider's apps.
func (s *Sim) partnerPrepay(tradeType string, c *call, now time.Time) (reply, *apiError) {
	var b partnerOrderReq
	if e := decode(c.body, &b); e != nil {
		return reply{}, e
	}
	if b.SpMchid == "" || b.SpAppid == "" {
		return reply{}, paramError("缺少必填参数 sp_mchid 或 sp_appid")
	}
	if b.SpMchid != c.mchid {
		return reply{}, paramError("sp_mchid 与请求签名的商户号不一致")
	}
	if e := s.checkSub(c, b.SubMchid); e != nil {
		return reply{}, e
	}
	inner := map[string]any{"appid": b.SpAppid, "mchid": b.SubMchid, "description": b.Description, "out_trade_no": b.OutTradeNo,
		"time_expire": b.TimeExpire, "attach": b.Attach, "notify_url": b.NotifyURL, "goods_tag": b.GoodsTag, "limit_pay": b.LimitPay,
		"amount": b.Amount}
	if b.Payer != nil {
		inner["payer"] = map[string]string{"openid": b.Payer.SpOpenid + b.Payer.SubOpenid}
	}
	if len(b.SceneInfo) > 0 {
		inner["scene_info"] = b.SceneInfo
	}
	if len(b.SettleInfo) > 0 {
		inner["settle_info"] = b.SettleInfo
	}
	c2 := *c
	c2.mchid, c2.body = b.SubMchid, mustMarshal(inner)
	rep, e := s.prepay(tradeType, &c2, now)
	if e != nil {
		return rep, e
	}
	t := s.trades[tradeKey{b.SubMchid, b.OutTradeNo}]
	if t.spMchid == "" {
		t.spMchid, t.spAppid, t.subAppid = c.mchid, b.SpAppid, b.SubAppid
		if b.Payer != nil && b.Payer.SubOpenid != "" {
			t.subOpenid = true
		}
	} else if t.spMchid != c.mchid {
		return reply{}, errOutTradeNoUsed
	}
	return rep, nil
}

// partnerQuery reads ?sp_mchid=&sub_mchid= and returns the sub-merchant.
func (s *Sim) partnerQuery(c *call) (string, *apiError) {
	sp, sub := first(c.query["sp_mchid"]), first(c.query["sub_mchid"])
	if sp == "" {
		return "", paramError("缺少必填参数 sp_mchid")
	}
	if sp != c.mchid {
		return "", paramError("sp_mchid 与请求签名的商户号不一致")
	}
	return sub, s.checkSub(c, sub)
}

func (s *Sim) partnerQueryByOutTradeNo(c *call, now time.Time) (reply, *apiError) {
	sub, e := s.partnerQuery(c)
	if e != nil {
		return reply{}, e
	}
	t := s.trades[tradeKey{sub, c.params[0]}]
	if t == nil || t.spMchid != c.mchid {
		return reply{}, errOrderNotExist
	}
	s.touch(t, now)
	return reply{status: http.StatusOK, body: partnerTransactionOf(t)}, nil
}

func (s *Sim) partnerQueryByID(c *call, now time.Time) (reply, *apiError) {
	sub, e := s.partnerQuery(c)
	if e != nil {
		return reply{}, e
	}
	t := s.byTxID[c.params[0]]
	if t == nil || t.mchid != sub || t.spMchid != c.mchid {
		return reply{}, errOrderNotExist
	}
	s.touch(t, now)
	return reply{status: http.StatusOK, body: partnerTransactionOf(t)}, nil
}

// partnerClose closes a sub-merchant's unpaid trade (204).
func (s *Sim) partnerClose(c *call, now time.Time) (reply, *apiError) {
	var b struct {
		SpMchid  string `json:"sp_mchid"`
		SubMchid string `json:"sub_mchid"`
	}
	if e := decode(c.body, &b); e != nil {
		return reply{}, e
	}
	if b.SpMchid != c.mchid {
		return reply{}, paramError("sp_mchid 与请求签名的商户号不一致")
	}
	if e := s.checkSub(c, b.SubMchid); e != nil {
		return reply{}, e
	}
	t := s.trades[tradeKey{b.SubMchid, c.params[0]}]
	if t == nil || t.spMchid != c.mchid {
		return reply{}, errOrderNotExist
	}
	s.touch(t, now)
	switch t.state {
	case stateNotPay, stateUserPaying, statePayError:
		t.state = stateClosed
	case stateClosed, stateRevoked:
	default:
		return reply{}, errOrderPaid
	}
	return reply{status: http.StatusNoContent}, nil
}

type partnerPayer struct {
	SpOpenid  string `json:"sp_openid,omitempty"`
	SubOpenid string `json:"sub_openid,omitempty"`
}

// partnerTransaction is the partner Transaction of queries and
// notifications.
type partnerTransaction struct {
	SpAppid        string        `json:"sp_appid"`
	SpMchid        string        `json:"sp_mchid"`
	SubAppid       string        `json:"sub_appid,omitempty"`
	SubMchid       string        `json:"sub_mchid"`
	OutTradeNo     string        `json:"out_trade_no"`
	TransactionID  string        `json:"transaction_id,omitempty"`
	TradeType      string        `json:"trade_type,omitempty"`
	TradeState     string        `json:"trade_state"`
	TradeStateDesc string        `json:"trade_state_desc"`
	BankType       string        `json:"bank_type,omitempty"`
	Attach         string        `json:"attach"`
	SuccessTime    string        `json:"success_time,omitempty"`
	Payer          *partnerPayer `json:"payer,omitempty"`
	Amount         amountRsp     `json:"amount"`
}

func partnerTransactionOf(t *trade) partnerTransaction {
	tx := transactionOf(t)
	p := partnerTransaction{SpAppid: t.spAppid, SpMchid: t.spMchid, SubAppid: t.subAppid, SubMchid: t.mchid, OutTradeNo: tx.OutTradeNo,
		TransactionID: tx.TransactionID, TradeType: tx.TradeType, TradeState: tx.TradeState, TradeStateDesc: tx.TradeStateDesc,
		BankType: tx.BankType, Attach: tx.Attach, SuccessTime: tx.SuccessTime, Amount: tx.Amount}
	if tx.Payer != nil {
		p.Payer = &partnerPayer{SpOpenid: tx.Payer.Openid}
		if t.subOpenid {
			p.Payer = &partnerPayer{SubOpenid: tx.Payer.Openid}
		}
	}
	return p
}

// noticeMchid is the merchant a trade's notifications go to (and are
// encrypted for): the provider's in partner mode.
func (t *trade) noticeMchid() string {
	if t.spMchid != "" {
		return t.spMchid
	}
	return t.mchid
}

// noticeBody is a trade's notification resource.
func (t *trade) noticeBody() []byte {
	if t.spMchid != "" {
		return mustMarshal(partnerTransactionOf(t))
	}
	return mustMarshal(transactionOf(t))
}

// partnerTradeLocked finds a sub-merchant trade the provider sp made, for
// Pay addressed to the provider; nil when none.
func (s *Sim) partnerTradeLocked(sp, outTradeNo string) *trade {
	for k, t := range s.trades {
		if k.outTradeNo == outTradeNo && t.spMchid == sp {
			return t
		}
	}
	return nil
}
