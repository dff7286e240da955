package wechatsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// trade_state values. The sim reaches every one of them:
//
//	NOTPAY     created by a prepay call, waiting for the customer
//	USERPAYING payment-code trade whose customer is typing the password
//	SUCCESS    paid
//	REFUND     paid, then (partly or fully) refunded
//	CLOSED     closed unpaid by the merchant or at time_expire
//	REVOKED    payment-code trade reversed (refunded in full if it was paid)
//	PAYERROR   payment-code trade whose payment failed
const (
	stateSuccess    = "SUCCESS"
	stateRefund     = "REFUND"
	stateNotPay     = "NOTPAY"
	stateClosed     = "CLOSED"
	stateRevoked    = "REVOKED"
	stateUserPaying = "USERPAYING"
	statePayError   = "PAYERROR"
)

var stateDesc = map[string]string{
	stateSuccess:    "支付成功",
	stateRefund:     "转入退款",
	stateNotPay:     "未支付",
	stateClosed:     "已关闭",
	stateRevoked:    "已撤销（付款码支付）",
	stateUserPaying: "用户支付中（付款码支付）",
	statePayError:   "支付失败(其他原因，如银行返回失败)",
}

// trade_type values, by the API that created the trade.
const (
	tradeNative  = "NATIVE"
	tradeJSAPI   = "JSAPI"
	tradeApp     = "APP"
	tradeH5      = "MWEB"
	tradeCodepay = "MICROPAY"
	tradePAP     = "PAP" // entrusted debit, v2 /pay/pappayapply
)

// cst is Beijing time, the zone WeChat Pay writes its RFC 3339 times in.
var cst = time.FixedZone("CST", 8*3600)

func formatTime(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

type tradeKey struct{ mchid, outTradeNo string }

type trade struct {
	mchid, appid string
	// Partner mode (partner.go): the provider that made the trade for
	// mchid (its sub-merchant), its app, the sub-merchant's app, and
	// whether the payer's openid is under the sub-merchant's app.
	spMchid, spAppid, subAppid string
	subOpenid                  bool
	// frozen: made with settle_info.profit_sharing, its funds held for
	// profit-sharing orders (profitsharing.go) until unfrozen.
	frozen        bool
	outTradeNo    string
	transactionID string // assigned on payment
	tradeType     string
	description   string
	attach        string
	notifyURL     string
	openid        string
	authCode      string // payment-code trades: the customer's code
	contractID    string // entrusted debits (PAP, papay_pay.go): the contract debited
	bankType      string
	amount        int64 // fen
	fingerprint   string
	state         string
	prepayID      string
	codeURL       string
	h5URL         string
	created       time.Time
	expireAt      time.Time // zero: never expires
	payingUntil   time.Time // USERPAYING becomes SUCCESS then
	paidAt        time.Time
	refunded      int64 // cumulative fen
}

// touch applies what time did to a trade since it was last looked at: an
// unpaid trade past time_expire is closed, and a payment-code trade whose
// customer finished typing the password is paid. Doing it lazily is enough
// because nobody can observe the trade without touching it.
func (s *Sim) touch(t *trade, now time.Time) {
	switch {
	case t.state == stateNotPay && !t.expireAt.IsZero() && !now.Before(t.expireAt):
		t.state = stateClosed
	case t.state == stateUserPaying && !t.payingUntil.IsZero() && !now.Before(t.payingUntil):
		s.markPaid(t, t.payingUntil)
	}
}

// markPaid records the customer's payment.
func (s *Sim) markPaid(t *trade, at time.Time) {
	t.state = stateSuccess
	t.paidAt = at
	t.transactionID = "42000" + randomString(5, digits) + at.In(cst).Format("20060102") + randomString(10, digits)
	t.bankType = "OTHERS"
	if t.openid == "" {
		t.openid = "o" + randomString(27, alnum)
	}
	s.byTxID[t.transactionID] = t
}

type amountReq struct {
	Total    *int64 `json:"total"`
	Currency string `json:"currency"`
}

type orderReq struct {
	Appid       string     `json:"appid"`
	Mchid       string     `json:"mchid"`
	Description string     `json:"description"`
	OutTradeNo  string     `json:"out_trade_no"`
	TimeExpire  string     `json:"time_expire"`
	Attach      string     `json:"attach"`
	NotifyURL   string     `json:"notify_url"`
	GoodsTag    string     `json:"goods_tag"`
	LimitPay    []string   `json:"limit_pay"`
	Amount      *amountReq `json:"amount"`
	Payer       *struct {
		Openid   string `json:"openid"`
		AuthCode string `json:"auth_code"`
	} `json:"payer"`
	SettleInfo *struct {
		ProfitSharing bool `json:"profit_sharing"`
	} `json:"settle_info"`
	SceneInfo *struct {
		PayerClientIP string `json:"payer_client_ip"`
		DeviceID      string `json:"device_id"`
		DeviceIP      string `json:"device_ip"`
		H5Info        *struct {
			Type string `json:"type"`
		} `json:"h5_info"`
		StoreInfo *struct {
			OutID string `json:"out_id"`
		} `json:"store_info"`
	} `json:"scene_info"`
}

func decode(body []byte, v any) *apiError {
	if len(body) == 0 {
		return paramError("请求体为空")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return paramError(fmt.Sprintf("字段 %s 类型错误", te.Field))
		}
		return paramError("请求体不是合法的 JSON")
	}
	return nil
}

// validOutNo is WeChat Pay's rule for out_trade_no (string[6,32] of digits,
// letters and _-|*) and out_refund_no (string[1,64], @ allowed too).
func validOutNo(s string, minLen, maxLen int, special string) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for _, c := range s {
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.ContainsRune(special, c)
		if !ok {
			return false
		}
	}
	return true
}

// checkOrder applies the rules shared by every order-creating call.
func checkOrder(c *call, b *orderReq) *apiError {
	for _, f := range []struct{ name, v string }{
		{"appid", b.Appid}, {"mchid", b.Mchid}, {"description", b.Description}, {"out_trade_no", b.OutTradeNo},
	} {
		if f.v == "" {
			return paramError("缺少必填参数 " + f.name)
		}
	}
	if b.Amount == nil || b.Amount.Total == nil {
		return paramError("缺少必填参数 amount.total")
	}
	if b.Mchid != c.mchid {
		return paramError("mchid 与请求签名的商户号不一致")
	}
	if !contains(c.merchant.AppIDs, b.Appid) {
		return &apiError{http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"}
	}
	if !validOutNo(b.OutTradeNo, 6, 32, "_-|*") {
		return paramError("out_trade_no 应为 6 到 32 位数字、大小写字母或_-|*")
	}
	if n := len([]rune(b.Description)); n > 127 {
		return paramError("description 超过 127 个字符")
	}
	if len([]rune(b.Attach)) > 128 {
		return paramError("attach 超过 128 个字符")
	}
	if *b.Amount.Total < 1 {
		return paramError("amount.total 应为正整数（分）")
	}
	if b.Amount.Currency != "" && b.Amount.Currency != "CNY" {
		return paramError("amount.currency 只支持 CNY")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkNotifyURL: an absolute http(s) URL without a query string.
func checkNotifyURL(u string) *apiError {
	if u == "" {
		return paramError("缺少必填参数 notify_url")
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return paramError("notify_url 格式错误")
	}
	if p.RawQuery != "" {
		return paramError("notify_url 不能携带查询参数")
	}
	return nil
}

func prepay(tradeType string) handler {
	return func(s *Sim, c *call, now time.Time) (reply, *apiError) { return s.prepay(tradeType, c, now) }
}

// prepay answers the four prepay calls (native, jsapi, app, h5). A repeated
// call with the same out_trade_no and the same order answers the same
// prepay result while the trade is unpaid; a different order under the same
// number is OUT_TRADE_NO_USED.
func (s *Sim) prepay(tradeType string, c *call, now time.Time) (reply, *apiError) {
	var b orderReq
	if e := decode(c.body, &b); e != nil {
		return reply{}, e
	}
	if e := checkOrder(c, &b); e != nil {
		return reply{}, e
	}
	if e := checkNotifyURL(b.NotifyURL); e != nil {
		return reply{}, e
	}
	openid := ""
	switch tradeType {
	case tradeJSAPI:
		if b.Payer == nil || b.Payer.Openid == "" {
			return reply{}, paramError("缺少必填参数 payer.openid")
		}
		openid = b.Payer.Openid
	case tradeH5:
		if b.SceneInfo == nil || b.SceneInfo.PayerClientIP == "" {
			return reply{}, paramError("缺少必填参数 scene_info.payer_client_ip")
		}
		if b.SceneInfo.H5Info == nil || b.SceneInfo.H5Info.Type == "" {
			return reply{}, paramError("缺少必填参数 scene_info.h5_info.type")
		}
	}
	var expire time.Time
	if b.TimeExpire != "" {
		t, err := time.Parse(time.RFC3339, b.TimeExpire)
		if err != nil {
			return reply{}, paramError("time_expire 应为 RFC 3339 格式，如 2018-06-08T10:34:56+08:00")
		}
		if !t.After(now) {
			return reply{}, paramError("time_expire 已过期")
		}
		expire = t
	}
	fp := strings.Join([]string{tradeType, b.Appid, itoa(*b.Amount.Total), b.Description, openid}, "\x00")

	key := tradeKey{c.mchid, b.OutTradeNo}
	t := s.trades[key]
	if t != nil {
		s.touch(t, now)
		if t.fingerprint != fp {
			return reply{}, errOutTradeNoUsed
		}
		switch t.state {
		case stateNotPay:
			return reply{status: http.StatusOK, body: prepayAnswer(t)}, nil
		case stateSuccess, stateRefund:
			return reply{}, errOrderPaid
		default:
			return reply{}, errOrderClosed
		}
	}
	t = &trade{
		mchid:       c.mchid,
		appid:       b.Appid,
		outTradeNo:  b.OutTradeNo,
		tradeType:   tradeType,
		description: b.Description,
		attach:      b.Attach,
		notifyURL:   b.NotifyURL,
		openid:      openid,
		amount:      *b.Amount.Total,
		fingerprint: fp,
		state:       stateNotPay,
		created:     now,
		expireAt:    expire,
		prepayID:    "wx" + now.In(cst).Format("20060102150405") + randomString(20, hexLow),
		frozen:      b.SettleInfo != nil && b.SettleInfo.ProfitSharing,
	}
	switch tradeType {
	case tradeNative:
		t.codeURL = "weixin://wxpay/bizpayurl?pr=" + randomString(7, alnum)
	case tradeH5:
		t.h5URL = "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=" + t.prepayID + "&package=" + randomString(10, digits)
		if s.walletURL != "" {
			// The sandbox's stand-in for WeChat's H5 checkout page.
			t.h5URL = s.walletURL + "/wallet?code=" + url.QueryEscape(t.h5URL)
		}
	}
	s.trades[key] = t
	s.byCode[t.prepayID] = t
	if t.codeURL != "" {
		s.byCode[t.codeURL] = t
	}
	return reply{status: http.StatusOK, body: prepayAnswer(t)}, nil
}

func prepayAnswer(t *trade) any {
	switch t.tradeType {
	case tradeNative:
		return struct {
			CodeURL string `json:"code_url"`
		}{t.codeURL}
	case tradeH5:
		return struct {
			H5URL string `json:"h5_url"`
		}{t.h5URL}
	}
	return struct {
		PrepayID string `json:"prepay_id"`
	}{t.prepayID}
}

// validAuthCode is WeChat's payment-code rule: 18 digits starting 10 to 15.
func validAuthCode(code string) bool {
	if len(code) != 18 {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return code[0] == '1' && code[1] >= '0' && code[1] <= '5'
}

// errUserPaying is the 202 answer of a payment-code call that waits for the
// customer's password: the merchant queries the trade until it settles.
var errUserPaying = &apiError{http.StatusAccepted, "USERPAYING", "需要用户输入支付密码"}

// codepay is the merchant scanning the customer's payment code. Any valid
// code pays at once, except codes starting with "1300": those stay
// USERPAYING (answered 202) for Options.UserPaying of the sim's clock, or
// until Pay settles them, as when the customer has to type a password.
// Payment-code trades carry no notify_url: WeChat Pay sends no notification
// for them, the merchant learns the result from the answer or by querying.
func (s *Sim) codepay(c *call, now time.Time) (reply, *apiError) {
	var b orderReq
	if e := decode(c.body, &b); e != nil {
		return reply{}, e
	}
	if e := checkOrder(c, &b); e != nil {
		return reply{}, e
	}
	if b.Payer == nil || b.Payer.AuthCode == "" {
		return reply{}, paramError("缺少必填参数 payer.auth_code")
	}
	if b.SceneInfo == nil || b.SceneInfo.StoreInfo == nil || b.SceneInfo.StoreInfo.OutID == "" {
		return reply{}, paramError("缺少必填参数 scene_info.store_info.out_id")
	}
	if !validAuthCode(b.Payer.AuthCode) {
		return reply{}, paramError("付款码无效，请重新扫码")
	}
	fp := strings.Join([]string{tradeCodepay, b.Appid, itoa(*b.Amount.Total), b.Description}, "\x00")
	key := tradeKey{c.mchid, b.OutTradeNo}
	t := s.trades[key]
	if t != nil {
		s.touch(t, now)
		if t.fingerprint != fp {
			return reply{}, errOutTradeNoUsed
		}
		return codepayAnswer(t)
	}
	t = &trade{
		mchid:       c.mchid,
		appid:       b.Appid,
		outTradeNo:  b.OutTradeNo,
		tradeType:   tradeCodepay,
		description: b.Description,
		attach:      b.Attach,
		amount:      *b.Amount.Total,
		fingerprint: fp,
		state:       stateUserPaying,
		created:     now,
		authCode:    b.Payer.AuthCode,
	}
	s.trades[key] = t
	if strings.HasPrefix(b.Payer.AuthCode, "1300") {
		t.payingUntil = now.Add(s.userPaying)
	} else {
		s.markPaid(t, now)
	}
	return codepayAnswer(t)
}

// codepayAnswer reports a payment-code trade as the codepay call does.
func codepayAnswer(t *trade) (reply, *apiError) {
	switch t.state {
	case stateSuccess, stateRefund:
		return reply{status: http.StatusOK, body: transactionOf(t)}, nil
	case stateUserPaying:
		return reply{}, errUserPaying
	case statePayError:
		return reply{}, &apiError{http.StatusForbidden, "TRADE_ERROR", "支付失败，请撤销订单后重新下单"}
	}
	return reply{}, errOrderClosed
}

type payerRsp struct {
	Openid string `json:"openid"`
}

type amountRsp struct {
	Total         int64  `json:"total"`
	PayerTotal    *int64 `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency"`
}

// transaction is the Transaction object of queries and notifications.
type transaction struct {
	Appid          string    `json:"appid"`
	Mchid          string    `json:"mchid"`
	OutTradeNo     string    `json:"out_trade_no"`
	TransactionID  string    `json:"transaction_id,omitempty"`
	TradeType      string    `json:"trade_type,omitempty"`
	TradeState     string    `json:"trade_state"`
	TradeStateDesc string    `json:"trade_state_desc"`
	BankType       string    `json:"bank_type,omitempty"`
	Attach         string    `json:"attach"`
	SuccessTime    string    `json:"success_time,omitempty"`
	Payer          *payerRsp `json:"payer,omitempty"`
	Amount         amountRsp `json:"amount"`
}

func transactionOf(t *trade) transaction {
	tx := transaction{
		Appid:          t.appid,
		Mchid:          t.mchid,
		OutTradeNo:     t.outTradeNo,
		TransactionID:  t.transactionID,
		TradeState:     t.state,
		TradeStateDesc: stateDesc[t.state],
		Attach:         t.attach,
		Amount:         amountRsp{Total: t.amount, Currency: "CNY", PayerCurrency: "CNY"},
	}
	if !t.paidAt.IsZero() {
		paid := t.amount
		tx.TradeType = t.tradeType
		tx.BankType = t.bankType
		tx.SuccessTime = formatTime(t.paidAt)
		tx.Payer = &payerRsp{t.openid}
		tx.Amount.PayerTotal = &paid
	}
	return tx
}

// checkMchidQuery: queries name the merchant in ?mchid=, which must be the
// signing merchant.
func checkMchidQuery(c *call) *apiError {
	m := c.query["mchid"]
	if len(m) == 0 || m[0] == "" {
		return paramError("缺少必填参数 mchid")
	}
	if m[0] != c.mchid {
		return paramError("mchid 与请求签名的商户号不一致")
	}
	return nil
}

func (s *Sim) queryByOutTradeNo(c *call, now time.Time) (reply, *apiError) {
	if e := checkMchidQuery(c); e != nil {
		return reply{}, e
	}
	t := s.trades[tradeKey{c.mchid, c.params[0]}]
	if t == nil {
		return reply{}, errOrderNotExist
	}
	s.touch(t, now)
	return reply{status: http.StatusOK, body: transactionOf(t)}, nil
}

func (s *Sim) queryByID(c *call, now time.Time) (reply, *apiError) {
	if e := checkMchidQuery(c); e != nil {
		return reply{}, e
	}
	t := s.byTxID[c.params[0]]
	if t == nil || t.mchid != c.mchid {
		return reply{}, errOrderNotExist
	}
	s.touch(t, now)
	return reply{status: http.StatusOK, body: transactionOf(t)}, nil
}

type mchidBody struct {
	Mchid string `json:"mchid"`
	Appid string `json:"appid"`
}

func decodeMchid(c *call) (mchidBody, *apiError) {
	var b mchidBody
	if e := decode(c.body, &b); e != nil {
		return b, e
	}
	if b.Mchid == "" {
		return b, paramError("缺少必填参数 mchid")
	}
	if b.Mchid != c.mchid {
		return b, paramError("mchid 与请求签名的商户号不一致")
	}
	return b, nil
}

// closeTrade closes an unpaid trade (204, no body). Closing a closed one
// again succeeds; a paid one is refused with ORDERPAID.
func (s *Sim) closeTrade(c *call, now time.Time) (reply, *apiError) {
	if _, e := decodeMchid(c); e != nil {
		return reply{}, e
	}
	t := s.trades[tradeKey{c.mchid, c.params[0]}]
	if t == nil {
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

// reverse cancels a payment-code trade whatever its state: unpaid it is
// revoked, paid it is revoked and refunded in full. No notification.
func (s *Sim) reverse(c *call, now time.Time) (reply, *apiError) {
	b, e := decodeMchid(c)
	if e != nil {
		return reply{}, e
	}
	if b.Appid == "" {
		return reply{}, paramError("缺少必填参数 appid")
	}
	t := s.trades[tradeKey{c.mchid, c.params[0]}]
	if t == nil {
		return reply{}, errOrderNotExist
	}
	if t.appid != b.Appid {
		return reply{}, &apiError{http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"}
	}
	if t.tradeType != tradeCodepay {
		return reply{}, invalidRequest("非付款码支付订单不能撤销，请使用关单或退款接口")
	}
	s.touch(t, now)
	if t.state == stateSuccess || t.state == stateRefund {
		t.refunded = t.amount
	}
	t.state = stateRevoked
	return reply{status: http.StatusOK, body: struct {
		Appid      string `json:"appid"`
		Mchid      string `json:"mchid"`
		OutTradeNo string `json:"out_trade_no"`
	}{t.appid, t.mchid, t.outTradeNo}}, nil
}

// Errors returned by Pay.
var (
	ErrTradeNotFound   = errors.New("wechatsim: trade not found")
	ErrTradeNotPayable = errors.New("wechatsim: trade is not waiting for payment")
)

// Pay acts as the customer.
//
// For a trade waiting in NOTPAY (native, JSAPI, app, H5), success=true pays
// it and delivers the first TRANSACTION.SUCCESS notification attempt before
// returning (a failed delivery is not an error here: it is retried on the
// Retry schedule as WeChat Pay does). success=false is a failed attempt
// (wrong password, no balance): WeChat Pay keeps such a trade NOTPAY, so
// the customer can try again, and notifies nothing; PAYERROR is reserved
// for payment-code trades.
//
// For a payment-code trade in USERPAYING, success=true pays it and
// success=false fails it (PAYERROR). Neither notifies: payment-code trades
// have no notify_url.
func (s *Sim) Pay(ctx context.Context, mchid, outTradeNo string, success bool) error {
	now := s.now()
	s.mu.Lock()
	t := s.trades[tradeKey{mchid, outTradeNo}]
	if t == nil {
		t = s.partnerTradeLocked(mchid, outTradeNo) // a provider's trade for a sub-merchant
	}
	if t == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrTradeNotFound, outTradeNo)
	}
	s.touch(t, now)
	var n *notification
	switch {
	case t.state == stateUserPaying && success:
		s.markPaid(t, now)
	case t.state == stateUserPaying:
		t.state = statePayError
	case t.state == stateNotPay && success:
		s.markPaid(t, now)
		n = s.transactionNotice(t, now)
	case t.state == stateNotPay:
	default:
		state := t.state
		s.mu.Unlock()
		return fmt.Errorf("%w: %s is %s", ErrTradeNotPayable, outTradeNo, state)
	}
	s.mu.Unlock()

	s.notifier.Send(ctx, s.notice(n))
	return nil
}
