package alipaysim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// Alipay trade_status values.
const (
	waitBuyerPay  = "WAIT_BUYER_PAY"
	tradeSuccess  = "TRADE_SUCCESS"
	tradeFinished = "TRADE_FINISHED"
	tradeClosed   = "TRADE_CLOSED"
)

type tradeKey struct{ appID, outTradeNo string }

type trade struct {
	appID        string // the merchant's app (the seller)
	isv          string // the service provider's app that made it, "" for the merchant's own call
	frozen       bool   // held for alipay.trade.order.settle (settle.go)
	outTradeNo   string
	tradeNo      string
	amount       int64 // fen
	subject      string
	body         string
	passback     string
	notifyURL    string
	qrCode       string
	status       string
	created      time.Time
	expireAt     time.Time // zero: never expires
	paidAt       time.Time
	closedAt     time.Time
	buyerID      string
	buyerLogonID string
	refunded     int64 // cumulative fen
	refunds      map[string]*refundRecord
	// reversed is what alipay.trade.cancel gave back of a paid trade
	// (action refund), at reversedAt; the trade bill shows it as a refund.
	reversed   int64
	reversedAt time.Time
}

type refundRecord struct {
	outRequestNo string
	amount       int64
	at           time.Time
}

// text is a biz_content field. Alipay takes amounts either as JSON strings
// or as bare JSON numbers (gopay's BodyMap sends a number when the merchant
// sets a float); the number's literal text is kept so that an amount never
// passes through a float here.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*t = text(b)
	default:
		return errors.New("not a string or number")
	}
	return nil
}

// tradeRef is how Alipay lets a merchant name a trade: its own
// out_trade_no, or Alipay's trade_no.
type tradeRef struct {
	OutTradeNo text `json:"out_trade_no"`
	TradeNo    text `json:"trade_no"`
}

func decodeBiz(c *call, v any) *apiError {
	if err := json.Unmarshal(c.biz, v); err != nil {
		return invalidParam("biz_content")
	}
	return nil
}

// touch applies what time did to a trade since it was last looked at: an
// unpaid trade past its time_expire is closed. Closing lazily is enough
// because nobody can observe the trade without touching it.
func touch(t *trade, now time.Time) {
	if t.status == waitBuyerPay && !t.expireAt.IsZero() && !now.Before(t.expireAt) {
		t.status = tradeClosed
		t.closedAt = t.expireAt
	}
}

// find looks a trade up for an app and applies expiry; nil when unknown.
func (s *Sim) find(appID string, ref tradeRef, now time.Time) (*trade, *apiError) {
	var t *trade
	switch {
	case ref.OutTradeNo != "":
		t = s.trades[tradeKey{appID, string(ref.OutTradeNo)}]
		if t != nil && ref.TradeNo != "" && string(ref.TradeNo) != t.tradeNo {
			t = nil
		}
	case ref.TradeNo != "":
		t = s.byTradeNo[string(ref.TradeNo)]
		if t != nil && t.appID != appID {
			t = nil // another merchant's trade does not exist for this one
		}
	default:
		return nil, missingParam("out_trade_no")
	}
	if t == nil {
		return nil, business("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	touch(t, now)
	return t, nil
}

// orderBiz is the biz_content of the calls that open a trade; each method
// reads the fields it knows.
type orderBiz struct {
	OutTradeNo     text `json:"out_trade_no"`
	TotalAmount    text `json:"total_amount"`
	Subject        text `json:"subject"`
	Body           text `json:"body"`
	ProductCode    text `json:"product_code"`
	TimeExpire     text `json:"time_expire"`
	TimeoutExpress text `json:"timeout_express"`
	PassbackParams text `json:"passback_params"`
	// alipay.trade.pay
	Scene    text `json:"scene"`
	AuthCode text `json:"auth_code"`
	// alipay.trade.create
	BuyerID     text `json:"buyer_id"`
	BuyerOpenID text `json:"buyer_open_id"`
	// alipay.trade.wap.pay / alipay.trade.page.pay
	QuitURL   text `json:"quit_url"`
	QRPayMode text `json:"qr_pay_mode"`
	// extend_params.royalty_freeze "true": the funds are held for
	// alipay.trade.order.settle (settle.go).
	ExtendParams *struct {
		RoyaltyFreeze text `json:"royalty_freeze"`
	} `json:"extend_params"`
}

// products lists the product_code each trade-opening method accepts, and
// whether Alipay requires it.
var products = map[string]struct {
	codes    []string
	required bool
}{
	"alipay.trade.precreate": {[]string{"FACE_TO_FACE_PAYMENT"}, false},
	"alipay.trade.pay":       {[]string{"FACE_TO_FACE_PAYMENT", productWithholding, productCycle}, false},
	"alipay.trade.create":    {[]string{"FACE_TO_FACE_PAYMENT", "JSAPI_PAY"}, false},
	methodApp:                {[]string{"QUICK_MSECURITY_PAY"}, false},
	methodWap:                {[]string{"QUICK_WAP_WAY"}, true},
	methodPage:               {[]string{"FAST_INSTANT_TRADE_PAY"}, true},
}

// checkOrder validates what every trade-opening call needs and returns the
// amount in fen.
func checkOrder(method string, b *orderBiz) (int64, *apiError) {
	prod := products[method]
	switch {
	case b.OutTradeNo == "":
		return 0, missingParam("out_trade_no")
	case b.TotalAmount == "":
		return 0, missingParam("total_amount")
	case b.Subject == "":
		return 0, missingParam("subject")
	case b.ProductCode == "" && prod.required:
		return 0, missingParam("product_code")
	case len(b.OutTradeNo) > 64:
		return 0, invalidParam("out_trade_no")
	case len([]rune(string(b.Subject))) > 256:
		return 0, invalidParam("subject")
	case b.ProductCode != "" && !contains(prod.codes, string(b.ProductCode)):
		return 0, invalidParam("product_code")
	}
	amount, err := parseFen(string(b.TotalAmount))
	if err != nil || amount < 1 || amount > maxFen {
		return 0, invalidParam("total_amount")
	}
	return amount, nil
}

// openTrade returns the app's trade for b.OutTradeNo, creating it when it is
// new. An existing trade comes back with existed set (the caller decides
// what its state means for the call); one of another amount is refused,
// because a changed order under a known out_trade_no is how tampering
// looks. Called with s.mu held, after checkOrder.
func (s *Sim) openTrade(c *call, b *orderBiz, amount int64, now time.Time) (t *trade, existed bool, aerr *apiError) {
	key := tradeKey{c.appID, string(b.OutTradeNo)}
	if t := s.trades[key]; t != nil {
		touch(t, now)
		if t.amount != amount {
			return nil, true, business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
		}
		return t, true, nil
	}
	expire, aerr := expiry(b, now)
	if aerr != nil {
		return nil, false, aerr
	}
	t = &trade{
		appID:      c.appID,
		isv:        c.isv,
		outTradeNo: string(b.OutTradeNo),
		tradeNo:    newTradeNo(now),
		amount:     amount,
		subject:    string(b.Subject),
		body:       string(b.Body),
		passback:   string(b.PassbackParams),
		notifyURL:  c.notifyURL,
		status:     waitBuyerPay,
		created:    now,
		expireAt:   expire,
		refunds:    map[string]*refundRecord{},
		frozen:     b.ExtendParams != nil && b.ExtendParams.RoyaltyFreeze == "true",
	}
	s.trades[key] = t
	s.byTradeNo[t.tradeNo] = t
	return t, false, nil
}

// stateError is the answer to a call that wants an unpaid trade but finds
// it paid or closed.
func stateError(t *trade) *apiError {
	switch t.status {
	case tradeSuccess, tradeFinished:
		return business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
	case tradeClosed:
		return business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
	}
	return business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
}

type precreateRsp struct {
	head
	OutTradeNo string `json:"out_trade_no"`
	QRCode     string `json:"qr_code"`
}

func (s *Sim) precreate(c *call, now time.Time) (any, *apiError) {
	var b orderBiz
	if e := decodeBiz(c, &b); e != nil {
		return nil, e
	}
	amount, aerr := checkOrder(c.method, &b)
	if aerr != nil {
		return nil, aerr
	}
	// A repeated precreate is how merchants recover from a lost response:
	// the same trade comes back, a changed one is refused.
	t, existed, aerr := s.openTrade(c, &b, amount, now)
	if aerr != nil {
		return nil, aerr
	}
	if existed && t.status != waitBuyerPay {
		return nil, stateError(t)
	}
	if t.qrCode == "" {
		t.qrCode = "https://qr.alipay.com/bax" + randomString(21, "0123456789abcdefghijklmnopqrstuvwxyz")
		s.byQRCode[t.qrCode] = t
	}
	return precreateRsp{success, t.outTradeNo, t.qrCode}, nil
}

// expiry reads time_expire (absolute, Beijing time; wap.pay also takes it
// without seconds) or timeout_express (relative: 90m, 2h, 15d, or 1c for
// the end of today). Neither means the trade never expires in the sim.
func expiry(b *orderBiz, now time.Time) (time.Time, *apiError) {
	if b.TimeExpire != "" {
		t, err := time.ParseInLocation(timeLayout, string(b.TimeExpire), cst)
		if err != nil {
			t, err = time.ParseInLocation(minuteLayout, string(b.TimeExpire), cst)
		}
		if err != nil || !t.After(now) {
			return time.Time{}, invalidParam("time_expire")
		}
		return t, nil
	}
	te := string(b.TimeoutExpress)
	if te == "" {
		return time.Time{}, nil
	}
	if te == "1c" {
		y, m, d := now.In(cst).Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, cst), nil
	}
	n, err := strconv.Atoi(te[:len(te)-1])
	if err != nil || n < 1 {
		return time.Time{}, invalidParam("timeout_express")
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[te[len(te)-1]]
	if unit == 0 || time.Duration(n)*unit > 15*24*time.Hour {
		return time.Time{}, invalidParam("timeout_express")
	}
	return now.Add(time.Duration(n) * unit), nil
}

type fundBill struct {
	FundChannel string `json:"fund_channel"`
	Amount      string `json:"amount"`
	RealAmount  string `json:"real_amount"`
}

type queryRsp struct {
	head
	TradeNo        string     `json:"trade_no"`
	OutTradeNo     string     `json:"out_trade_no"`
	BuyerLogonID   string     `json:"buyer_logon_id,omitempty"`
	TradeStatus    string     `json:"trade_status"`
	TotalAmount    string     `json:"total_amount"`
	BuyerPayAmount string     `json:"buyer_pay_amount"`
	PointAmount    string     `json:"point_amount"`
	InvoiceAmount  string     `json:"invoice_amount"`
	SendPayDate    string     `json:"send_pay_date,omitempty"`
	ReceiptAmount  string     `json:"receipt_amount"`
	FundBillList   []fundBill `json:"fund_bill_list,omitempty"`
	BuyerUserID    string     `json:"buyer_user_id,omitempty"`
}

func (s *Sim) query(c *call, now time.Time) (any, *apiError) {
	var ref tradeRef
	if e := decodeBiz(c, &ref); e != nil {
		return nil, e
	}
	t, aerr := s.find(c.appID, ref, now)
	if aerr != nil {
		return nil, aerr
	}
	r := queryRsp{
		head:        success,
		TradeNo:     t.tradeNo,
		OutTradeNo:  t.outTradeNo,
		TradeStatus: t.status,
		TotalAmount: yuan(t.amount),
		PointAmount: "0.00",
	}
	paid := yuan(0)
	if !t.paidAt.IsZero() {
		paid = yuan(t.amount)
		r.BuyerLogonID = t.buyerLogonID
		r.BuyerUserID = t.buyerID
		r.SendPayDate = formatTime(t.paidAt)
		r.FundBillList = []fundBill{{"ALIPAYACCOUNT", paid, paid}}
	}
	r.BuyerPayAmount, r.InvoiceAmount, r.ReceiptAmount = paid, paid, paid
	return r, nil
}

type closeRsp struct {
	head
	TradeNo    string `json:"trade_no"`
	OutTradeNo string `json:"out_trade_no"`
}

func (s *Sim) closeTrade(c *call, now time.Time) (any, *apiError) {
	var ref tradeRef
	if e := decodeBiz(c, &ref); e != nil {
		return nil, e
	}
	t, aerr := s.find(c.appID, ref, now)
	if aerr != nil {
		return nil, aerr
	}
	switch {
	case t.status == waitBuyerPay:
		t.status, t.closedAt = tradeClosed, now
	case t.status == tradeClosed && t.paidAt.IsZero():
		// Already closed unpaid (by an earlier close or by expiry): closing
		// again changes nothing, so it succeeds.
	default:
		return nil, business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	return closeRsp{success, t.tradeNo, t.outTradeNo}, nil
}

type cancelRsp struct {
	head
	TradeNo    string `json:"trade_no"`
	OutTradeNo string `json:"out_trade_no"`
	RetryFlag  string `json:"retry_flag"`
	Action     string `json:"action"`
}

// cancelTrade reverses a trade whatever its state: an unpaid one is closed,
// a paid one is refunded in full. No notification is sent for a cancel.
func (s *Sim) cancelTrade(c *call, now time.Time) (any, *apiError) {
	var ref tradeRef
	if e := decodeBiz(c, &ref); e != nil {
		return nil, e
	}
	t, aerr := s.find(c.appID, ref, now)
	if aerr != nil {
		return nil, aerr
	}
	action := "close"
	switch t.status {
	case waitBuyerPay:
		t.status, t.closedAt = tradeClosed, now
	case tradeSuccess:
		action = "refund"
		t.reversed, t.reversedAt = t.amount-t.refunded, now
		t.refunded = t.amount
		t.status, t.closedAt = tradeClosed, now
	case tradeClosed:
		if !t.paidAt.IsZero() {
			action = "refund"
		}
	default: // TRADE_FINISHED is past the refund window
		return nil, business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	return cancelRsp{success, t.tradeNo, t.outTradeNo, "N", action}, nil
}

type refundBiz struct {
	tradeRef
	RefundAmount text `json:"refund_amount"`
	OutRequestNo text `json:"out_request_no"`
}

type refundRsp struct {
	head
	TradeNo      string `json:"trade_no"`
	OutTradeNo   string `json:"out_trade_no"`
	BuyerLogonID string `json:"buyer_logon_id"`
	BuyerUserID  string `json:"buyer_user_id"`
	FundChange   string `json:"fund_change"`
	RefundFee    string `json:"refund_fee"`
	GmtRefundPay string `json:"gmt_refund_pay"`
}

func (s *Sim) refund(c *call, now time.Time) (any, *apiError) {
	var b refundBiz
	if e := decodeBiz(c, &b); e != nil {
		return nil, e
	}
	if b.RefundAmount == "" {
		return nil, missingParam("refund_amount")
	}
	amount, err := parseFen(string(b.RefundAmount))
	if err != nil || amount < 1 {
		return nil, invalidParam("refund_amount")
	}
	t, aerr := s.find(c.appID, b.tradeRef, now)
	if aerr != nil {
		return nil, aerr
	}
	// Without out_request_no Alipay names the refund after the trade, which
	// only works for a single full refund.
	reqNo := string(b.OutRequestNo)
	if reqNo == "" {
		reqNo = t.outTradeNo
	}
	rsp := refundRsp{
		head:         success,
		TradeNo:      t.tradeNo,
		OutTradeNo:   t.outTradeNo,
		BuyerLogonID: t.buyerLogonID,
		BuyerUserID:  t.buyerID,
	}
	if prev := t.refunds[reqNo]; prev != nil {
		// A repeated out_request_no never refunds twice. Alipay answers
		// fund_change N because no money moved on this call; the merchant
		// confirms with alipay.trade.fastpay.refund.query.
		if prev.amount != amount {
			return nil, business("ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致")
		}
		rsp.FundChange, rsp.RefundFee, rsp.GmtRefundPay = "N", yuan(t.refunded), formatTime(prev.at)
		return rsp, nil
	}
	if t.status != tradeSuccess {
		return nil, business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	if t.refunded+amount > t.amount {
		return nil, business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
	}
	rec := &refundRecord{outRequestNo: reqNo, amount: amount, at: now}
	t.refunds[reqNo] = rec
	t.refunded += amount
	if t.refunded == t.amount {
		t.status, t.closedAt = tradeClosed, now // a full refund ends the trade
	}
	rsp.FundChange, rsp.RefundFee, rsp.GmtRefundPay = "Y", yuan(t.refunded), formatTime(now)

	// Alipay answers first and notifies afterwards; the notification goes
	// to the trade's notify_url, the refund call has none of its own.
	s.notifier.Post(s.notice(t, rec, now))
	return rsp, nil
}

type refundQueryBiz struct {
	tradeRef
	OutRequestNo text `json:"out_request_no"`
}

type refundQueryRsp struct {
	head
	TradeNo      string `json:"trade_no"`
	OutTradeNo   string `json:"out_trade_no"`
	OutRequestNo string `json:"out_request_no"`
	TotalAmount  string `json:"total_amount,omitempty"`
	RefundAmount string `json:"refund_amount,omitempty"`
	RefundStatus string `json:"refund_status,omitempty"`
	GmtRefundPay string `json:"gmt_refund_pay,omitempty"`
}

// refundQuery reports REFUND_SUCCESS for a refund it made; for anything else
// Alipay answers 10000 without refund_status, meaning "not received or failed".
func (s *Sim) refundQuery(c *call, now time.Time) (any, *apiError) {
	var b refundQueryBiz
	if e := decodeBiz(c, &b); e != nil {
		return nil, e
	}
	t, aerr := s.find(c.appID, b.tradeRef, now)
	if aerr != nil {
		return nil, aerr
	}
	reqNo := string(b.OutRequestNo)
	if reqNo == "" {
		reqNo = t.outTradeNo
	}
	rsp := refundQueryRsp{head: success, TradeNo: t.tradeNo, OutTradeNo: t.outTradeNo, OutRequestNo: reqNo}
	if rec := t.refunds[reqNo]; rec != nil {
		rsp.TotalAmount = yuan(t.amount)
		rsp.RefundAmount = yuan(rec.amount)
		rsp.RefundStatus = "REFUND_SUCCESS"
		rsp.GmtRefundPay = formatTime(rec.at)
	}
	return rsp, nil
}

// Errors returned by Pay and PayOrderString.
var (
	ErrTradeNotFound   = errors.New("alipaysim: trade not found")
	ErrTradeNotPayable = errors.New("alipaysim: trade is not waiting for payment")
	// ErrRequestRejected wraps Alipay's error (code, sub_code, sub_msg)
	// for an order string the app SDK would have had refused.
	ErrRequestRejected = errors.New("alipaysim: request rejected")
)

// Pay acts as the buyer scanning the code and confirming. success=false is a
// failed attempt (wrong password, no balance): Alipay has no failed trade
// state, so the trade stays WAIT_BUYER_PAY and nothing is notified.
// success=true pays the trade and delivers the first notification attempt
// before returning; a failed delivery is not an error here, it is retried on
// the Retry schedule like Alipay does.
func (s *Sim) Pay(ctx context.Context, appID, outTradeNo string, success bool) error {
	now := s.now()
	s.mu.Lock()
	t := s.trades[tradeKey{appID, outTradeNo}]
	if t == nil {
		t = s.isvTradeLocked(appID, outTradeNo) // a service provider's trade for a merchant
	}
	if t == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrTradeNotFound, outTradeNo)
	}
	n, err := s.buyerPays(t, now, success)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.notifier.Send(ctx, n)
	return nil
}

// buyerPays is the buyer's attempt on t: it returns the notification to
// deliver when the trade got paid. Called with s.mu held.
func (s *Sim) buyerPays(t *trade, now time.Time, success bool) (*simkit.Notice, error) {
	touch(t, now)
	if t.status != waitBuyerPay {
		return nil, fmt.Errorf("%w: %s is %s", ErrTradeNotPayable, t.outTradeNo, t.status)
	}
	if !success {
		return nil, nil
	}
	s.markPaid(t, now)
	return s.notice(t, nil, now), nil
}

// markPaid moves a WAIT_BUYER_PAY trade to TRADE_SUCCESS. A buyer already
// known (mini program buyer_id, scanned code) is kept. Called with s.mu held.
func (s *Sim) markPaid(t *trade, now time.Time) {
	t.status = tradeSuccess
	t.paidAt = now
	if t.buyerID == "" {
		t.buyerID = "2088" + randomString(12, "0123456789")
	}
	if t.buyerLogonID == "" {
		t.buyerLogonID = "138****" + randomString(4, "0123456789")
	}
}

// newTradeNo makes a 28-digit trade number shaped like Alipay's: the date
// followed by digits.
func newTradeNo(now time.Time) string {
	return now.In(cst).Format("20060102") + "22001" + randomString(15, "0123456789")
}

// sellerID is the merchant's stable 2088... partner id, derived from app_id.
func sellerID(appID string) string {
	h := sha256.Sum256([]byte(appID))
	return fmt.Sprintf("2088%012d", binary.BigEndian.Uint64(h[:8])%1_000_000_000_000)
}

func randomString(n int, alphabet string) string {
	var b strings.Builder
	max := big.NewInt(int64(len(alphabet)))
	for range n {
		i, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("alipaysim: crypto/rand failed: " + err.Error())
		}
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

// isvTradeLocked finds a trade the service provider app isv made for one
// of its merchants (under app_auth_token), nil when none.
func (s *Sim) isvTradeLocked(isv, outTradeNo string) *trade {
	for k, t := range s.trades {
		if k.outTradeNo == outTradeNo && t.isv == isv {
			return t
		}
	}
	return nil
}

// notifyAppID is the app_id a trade's notifications and returns name: the
// service provider's when it made the trade, auth_app_id being the
// merchant's.
func (t *trade) notifyAppID() string {
	if t.isv != "" {
		return t.isv
	}
	return t.appID
}
