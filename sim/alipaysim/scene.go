package alipaysim

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// authOutcome is what the simulated buyer's payment code does.
type authOutcome int

const (
	authDeclined   authOutcome = iota // invalid or refused: ACQ.PAYMENT_AUTH_CODE_INVALID
	authPaysNow                       // 10000, paid at once
	authUserPaying                    // 10003, paid after Options.UserPayingFor
)

// authCode classifies an auth_code: 16 to 24 digits starting with 25 to 30,
// like Alipay's payment codes. "29" keeps the buyer confirming on the phone,
// "30" is refused, the other prefixes pay at once.
func authCode(code string) authOutcome {
	if len(code) < 16 || len(code) > 24 || !allDigits(code) {
		return authDeclined
	}
	switch code[:2] {
	case "25", "26", "27", "28":
		return authPaysNow
	case "29":
		return authUserPaying
	}
	return authDeclined // "30" and anything outside 25–30
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// inProcess is alipay.trade.pay's 10003: the order exists and the buyer is
// still confirming (password, or a large amount) on the phone.
var inProcess = head{"10003", "order success pay inprocess"}

type payRsp struct {
	head
	TradeNo        string     `json:"trade_no"`
	OutTradeNo     string     `json:"out_trade_no"`
	BuyerLogonID   string     `json:"buyer_logon_id"`
	TotalAmount    string     `json:"total_amount"`
	ReceiptAmount  string     `json:"receipt_amount"`
	BuyerPayAmount string     `json:"buyer_pay_amount"`
	PointAmount    string     `json:"point_amount"`
	InvoiceAmount  string     `json:"invoice_amount"`
	GmtPayment     string     `json:"gmt_payment,omitempty"`
	FundBillList   []fundBill `json:"fund_bill_list,omitempty"`
	BuyerUserID    string     `json:"buyer_user_id"`
}

func payResponse(h head, t *trade) payRsp {
	r := payRsp{
		head:         h,
		TradeNo:      t.tradeNo,
		OutTradeNo:   t.outTradeNo,
		BuyerLogonID: t.buyerLogonID,
		TotalAmount:  yuan(t.amount),
		PointAmount:  "0.00",
		BuyerUserID:  t.buyerID,
	}
	paid := yuan(0)
	if !t.paidAt.IsZero() {
		paid = yuan(t.amount)
		r.GmtPayment = formatTime(t.paidAt)
		r.FundBillList = []fundBill{{"ALIPAYACCOUNT", paid, paid}}
	}
	r.ReceiptAmount, r.BuyerPayAmount, r.InvoiceAmount = paid, paid, paid
	return r
}

// barcodePay is alipay.trade.pay: the merchant scanned the buyer's payment
// code. See the package comment for what each auth_code does.
func (s *Sim) barcodePay(c *call, now time.Time) (any, *apiError) {
	var b orderBiz
	if e := decodeBiz(c, &b); e != nil {
		return nil, e
	}
	amount, aerr := checkOrder(c.method, &b)
	if aerr != nil {
		return nil, aerr
	}
	if isDebitProduct(string(b.ProductCode)) {
		return s.debit(c, &b, amount, now) // an agreement pays, no code is scanned
	}
	switch {
	case b.Scene == "":
		return nil, missingParam("scene")
	case b.Scene != "bar_code" && b.Scene != "wave_code":
		return nil, invalidParam("scene")
	case b.AuthCode == "":
		return nil, missingParam("auth_code")
	}
	outcome := authCode(string(b.AuthCode))
	if outcome == authDeclined {
		return nil, business("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款")
	}
	t, existed, aerr := s.openTrade(c, &b, amount, now)
	if aerr != nil {
		return nil, aerr
	}
	if existed {
		// A merchant repeats alipay.trade.pay when the answer was lost: it
		// learns the trade's outcome, nothing is paid twice.
		switch t.status {
		case waitBuyerPay:
			return payResponse(inProcess, t), nil
		case tradeSuccess, tradeFinished:
			return payResponse(success, t), nil
		}
		return nil, stateError(t)
	}
	// The scanned code names the buyer before any money moves.
	t.buyerID = "2088" + randomString(12, "0123456789")
	t.buyerLogonID = "138****" + randomString(4, "0123456789")
	if outcome == authPaysNow {
		s.markPaid(t, now)
		// Alipay answers first and notifies afterwards.
		s.notifier.Post(s.notice(t, nil, now))
		return payResponse(success, t), nil
	}
	s.bg.Go(func() { s.userConfirms(t) })
	return payResponse(inProcess, t), nil
}

// userConfirms is the buyer of a "29" code confirming after UserPayingFor:
// the trade is paid unless it was cancelled, closed or paid meanwhile.
func (s *Sim) userConfirms(t *trade) {
	if !s.bg.Sleep(s.paying) {
		return
	}
	now := s.now()
	s.mu.Lock()
	n, err := s.buyerPays(t, now, true)
	s.mu.Unlock()
	if err != nil {
		return
	}
	s.notifier.Send(s.bg.Context(), n)
}

type createRsp struct {
	head
	OutTradeNo string `json:"out_trade_no"`
	TradeNo    string `json:"trade_no"`
}

// create is alipay.trade.create, the mini program order: it opens a trade
// for a known buyer, who then pays it in the mini program (my.tradePay with
// the trade_no); the sim's buyer pays with Pay.
func (s *Sim) create(c *call, now time.Time) (any, *apiError) {
	var b orderBiz
	if e := decodeBiz(c, &b); e != nil {
		return nil, e
	}
	amount, aerr := checkOrder(c.method, &b)
	if aerr != nil {
		return nil, aerr
	}
	buyer := string(b.BuyerID)
	switch {
	case buyer == "" && b.BuyerOpenID == "":
		return nil, missingParam("buyer_id")
	case buyer != "" && (len(buyer) != 16 || buyer[:4] != "2088" || !allDigits(buyer)):
		return nil, invalidParam("buyer_id")
	case buyer != "" && buyer == sellerID(c.appID):
		return nil, business("ACQ.BUYER_SELLER_EQUAL", "买卖家不能相同")
	}
	t, existed, aerr := s.openTrade(c, &b, amount, now)
	if aerr != nil {
		return nil, aerr
	}
	if existed && t.status != waitBuyerPay {
		return nil, stateError(t)
	}
	if !existed {
		t.buyerID = buyer
	}
	return createRsp{success, t.outTradeNo, t.tradeNo}, nil
}

// PayOrderString plays the app SDK and the buyer for alipay.trade.app.pay:
// orderStr is the signed order string the merchant server handed its app
// (smartwalle/alipay TradeAppPay, gopay TradeAppPay, the official SDKs'
// sdkExecute). The sim verifies it exactly as Alipay does (common
// parameters, then the merchant's RSA/RSA2 signature over every parameter
// but sign), opens the trade the first time an out_trade_no is seen, and
// pays it like Pay: success=false leaves it unpaid, success=true pays it and
// delivers the first notification attempt before returning.
//
// Errors: ErrRequestRejected (wrapping Alipay's code and sub_code) for an
// order string Alipay would refuse, ErrTradeNotPayable when the trade is
// already paid or closed.
func (s *Sim) PayOrderString(ctx context.Context, orderStr string, success bool) error {
	p, err := url.ParseQuery(orderStr)
	if err != nil {
		return fmt.Errorf("%w: order string is not a query string: %v", ErrRequestRejected, err)
	}
	for k, vs := range p {
		if len(vs) != 1 {
			return fmt.Errorf("%w: parameter %q appears %d times", ErrRequestRejected, k, len(vs))
		}
	}
	c, aerr := s.verify(p, isAppMethod)
	if aerr != nil {
		return fmt.Errorf("%w: %w", ErrRequestRejected, aerr)
	}
	var b orderBiz
	if aerr := decodeBiz(c, &b); aerr != nil {
		return fmt.Errorf("%w: %w", ErrRequestRejected, aerr)
	}
	amount, aerr := checkOrder(c.method, &b)
	if aerr != nil {
		return fmt.Errorf("%w: %w", ErrRequestRejected, aerr)
	}
	now := s.now()
	s.mu.Lock()
	t, _, aerr := s.openTrade(c, &b, amount, now)
	if aerr != nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %w", ErrRequestRejected, aerr)
	}
	n, err := s.buyerPays(t, now, success)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.notifier.Send(ctx, n)
	return nil
}
