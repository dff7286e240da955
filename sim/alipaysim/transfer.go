package alipaysim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// Transfers to Alipay accounts (单笔转账, product TRANS_ACCOUNT_NO_PWD,
// scene DIRECT_TRANSFER):
//
//   - alipay.fund.trans.uni.transfer checks the request, the payee (known,
//     its real name, its daily limit) and the app's funds, in that order,
//     refusing with Alipay's 40004 sub_codes: PAYEE_NOT_EXIST,
//     PAYEE_USER_INFO_ERROR, EXCEED_LIMIT_UNRN_DM_AMOUNT /
//     EXCEED_LIMIT_DM_AMOUNT, PAYER_BALANCE_NOT_ENOUGH; amounts below
//     0.10 yuan are EXCEED_LIMIT_SM_MIN_AMOUNT. A refused transfer leaves
//     no order. An accepted one takes the money from the app's funds and
//     answers DEALING (Ping++'s test mode: decided when the merchant
//     looks), or SUCCESS at once with Options.InstantPayouts.
//   - The same out_biz_no again with the same amount and payee answers the
//     same order as it stands; with others it is PAYMENT_INFO_INCONSISTENCY.
//   - A DEALING order is decided when alipay.fund.trans.common.query asks
//     for it (unless Options.HoldPayouts), by DecidePayout, or by POST
//     <sim>/fund/decide: SUCCESS, or FAIL with PAYEE_ACCOUNT_STATUS_ERROR
//     for a frozen payee (the money goes back). Deciding sends the
//     alipay.fund.trans.order.changed message (fund_notify.go).
//   - alipay.fund.trans.common.query of an unknown order is 40004
//     ORDER_NOT_EXIST. [S]
//   - alipay.fund.account.query answers the app's available funds;
//     alipay.data.bill.accountlog.query lists paid transfers (accountlog.go).
//
// Sub-codes are from Alipay's documentation and merchants' reports [S];
// which checks come first is the sim's choice [U].

// Alipay transfer statuses the sim uses (the connector maps more).
const (
	payoutDealing = "DEALING"
	payoutSuccess = "SUCCESS"
	payoutFail    = "FAIL"
)

const (
	methodTransfer      = "alipay.fund.trans.uni.transfer"
	methodTransferQuery = "alipay.fund.trans.common.query"
	methodAccountQuery  = "alipay.fund.account.query"

	productTransfer = "TRANS_ACCOUNT_NO_PWD"
	sceneDirect     = "DIRECT_TRANSFER"
	identityUserID  = "ALIPAY_USER_ID"
	identityLogonID = "ALIPAY_LOGON_ID"

	minTransferFen = 10 // 0.10 yuan, TRANS_ACCOUNT_NO_PWD's minimum
)

type fundKey struct{ appID, outBizNo string }

// fundOrder is one transfer order (转账单据).
type fundOrder struct {
	appID          string
	outBizNo       string
	orderID        string
	payFundOrderID string
	amount         int64 // fen
	identity       string
	identityType   string
	name           string // as the request gave it; "" when it gave none
	payee          *Payee
	title          string
	notifyURL      string
	status         string
	created        time.Time
	decided        time.Time // when SUCCESS or FAIL
	errorCode      string
	failReason     string
}

type payeeInfo struct {
	Identity     text `json:"identity"`
	IdentityType text `json:"identity_type"`
	Name         text `json:"name"`
}

type transferBiz struct {
	OutBizNo    text       `json:"out_biz_no"`
	TransAmount text       `json:"trans_amount"`
	ProductCode text       `json:"product_code"`
	BizScene    text       `json:"biz_scene"`
	OrderTitle  text       `json:"order_title"`
	Remark      text       `json:"remark"`
	PayeeInfo   *payeeInfo `json:"payee_info"`
}

// transferRsp keeps the field order of Alipay's answer.
type transferRsp struct {
	head
	OrderID        string `json:"order_id"`
	OutBizNo       string `json:"out_biz_no"`
	PayFundOrderID string `json:"pay_fund_order_id"`
	Status         string `json:"status"`
	TransDate      string `json:"trans_date,omitempty"`
}

// checkTransfer validates a uni.transfer request and returns its amount.
func checkTransfer(b *transferBiz) (int64, *apiError) {
	switch {
	case b.OutBizNo == "":
		return 0, missingParam("out_biz_no")
	case b.TransAmount == "":
		return 0, missingParam("trans_amount")
	case b.ProductCode == "":
		return 0, missingParam("product_code")
	case b.PayeeInfo == nil || b.PayeeInfo.Identity == "":
		return 0, missingParam("payee_info.identity")
	case b.PayeeInfo.IdentityType == "":
		return 0, missingParam("payee_info.identity_type")
	case len(b.OutBizNo) > 64:
		return 0, invalidParam("out_biz_no")
	case b.ProductCode != productTransfer:
		// Red packets (STD_RED_PACKET) and bank cards are not simulated.
		return 0, invalidParam("product_code")
	case b.BizScene != "" && b.BizScene != sceneDirect:
		return 0, invalidParam("biz_scene")
	case b.PayeeInfo.IdentityType != identityUserID && b.PayeeInfo.IdentityType != identityLogonID:
		return 0, invalidParam("payee_info.identity_type")
	case b.PayeeInfo.IdentityType == identityLogonID && b.PayeeInfo.Name == "":
		// Alipay needs the real name to pay a logon id.
		return 0, missingParam("payee_info.name")
	case len([]rune(string(b.OrderTitle))) > 200:
		return 0, invalidParam("order_title")
	}
	amount, err := parseFen(string(b.TransAmount))
	switch {
	case err != nil || amount < 1:
		return 0, invalidParam("trans_amount")
	case amount < minTransferFen:
		return 0, business("EXCEED_LIMIT_SM_MIN_AMOUNT", "单笔最低转账金额0.1元")
	case amount > maxFen:
		return 0, business("EXCEED_LIMIT_SM_AMOUNT", "单笔额度超限")
	}
	return amount, nil
}

// transfer is alipay.fund.trans.uni.transfer.
func (s *Sim) transfer(c *call, now time.Time) (any, *apiError) {
	var b transferBiz
	if e := decodeBiz(c, &b); e != nil {
		return nil, e
	}
	amount, aerr := checkTransfer(&b)
	if aerr != nil {
		return nil, aerr
	}
	pi := b.PayeeInfo
	if o := s.orders[fundKey{c.appID, string(b.OutBizNo)}]; o != nil {
		// The merchant lost the answer and asks again: the same order, as
		// it stands; never a second payout.
		if o.amount != amount || o.identity != string(pi.Identity) || o.identityType != string(pi.IdentityType) || o.name != string(pi.Name) {
			return nil, business("PAYMENT_INFO_INCONSISTENCY", "两次请求商户单号一样，但是参数不一致")
		}
		return transferAnswer(o), nil
	}
	p, aerr := s.checkPayee(c.appID, pi, amount, now)
	if aerr != nil {
		return nil, aerr
	}
	if s.available(c.appID) < amount {
		return nil, business("PAYER_BALANCE_NOT_ENOUGH", "付款方余额不足")
	}
	o := &fundOrder{appID: c.appID, outBizNo: string(b.OutBizNo), orderID: newFundOrderNo(now), payFundOrderID: newFundOrderNo(now),
		amount: amount, identity: string(pi.Identity), identityType: string(pi.IdentityType), name: string(pi.Name),
		payee: p, title: string(b.OrderTitle), notifyURL: c.notifyURL, status: payoutDealing, created: now}
	s.funds[c.appID] = s.available(c.appID) - amount
	s.orders[fundKey{o.appID, o.outBizNo}] = o
	s.byOrderID[o.orderID] = o
	if s.instantPayouts && !p.Frozen {
		s.notifier.Post(s.decide(o, false, now))
	}
	return transferAnswer(o), nil
}

// checkPayee finds the account payee_info names and checks its name and
// daily limit. Called with s.mu held.
func (s *Sim) checkPayee(appID string, pi *payeeInfo, amount int64, now time.Time) (*Payee, *apiError) {
	p := s.findPayee(string(pi.Identity), string(pi.IdentityType))
	if p == nil {
		return nil, business("PAYEE_NOT_EXIST", "收款账号不存在")
	}
	if pi.Name != "" && string(pi.Name) != p.Name {
		return nil, business("PAYEE_USER_INFO_ERROR", "支付宝账号和姓名不匹配，请确认姓名是否正确")
	}
	if p.DailyLimit > 0 && s.receivedOn(p, now)+amount > p.DailyLimit {
		if p.Unverified {
			return nil, business("EXCEED_LIMIT_UNRN_DM_AMOUNT", "收款账户未实名，单日最多可收款"+yuan(p.DailyLimit)+"元")
		}
		return nil, business("EXCEED_LIMIT_DM_AMOUNT", "收款账户当日收款额度超限")
	}
	return p, nil
}

// receivedOn is what p got (or is getting) on now's day, Beijing time,
// from every app. Called with s.mu held.
func (s *Sim) receivedOn(p *Payee, now time.Time) int64 {
	y, m, d := now.In(cst).Date()
	var sum int64
	for _, o := range s.orders {
		oy, om, od := o.created.In(cst).Date()
		if o.payee.UserID == p.UserID && o.status != payoutFail && oy == y && om == m && od == d {
			sum += o.amount
		}
	}
	return sum
}

func transferAnswer(o *fundOrder) transferRsp {
	r := transferRsp{head: success, OrderID: o.orderID, OutBizNo: o.outBizNo, PayFundOrderID: o.payFundOrderID, Status: o.status}
	if o.status == payoutSuccess {
		r.TransDate = formatTime(o.decided)
	}
	return r
}

// decide settles a DEALING order: paid, or failed (a frozen payee, or
// fail) with the money given back. It returns the order.changed message
// to send, nil if the order was decided before. Called with s.mu held.
func (s *Sim) decide(o *fundOrder, fail bool, now time.Time) *simkit.Notice {
	if o.status != payoutDealing {
		return nil
	}
	o.decided = now
	if fail || o.payee.Frozen {
		o.status, o.errorCode, o.failReason = payoutFail, "PAYEE_ACCOUNT_STATUS_ERROR", "收款方账户状态异常"
		s.funds[o.appID] = min(s.available(o.appID)+o.amount, maxFunds)
	} else {
		o.status = payoutSuccess
		s.logFunds(o.appID, accountLogEntry{at: now, alipayOrderNo: o.orderID, merchantOrderNo: o.outBizNo,
			amount: -o.amount, kind: "转账", other: maskLogonID(o.payee.LogonID), memo: o.title})
	}
	return s.fundNotice(o, now)
}

type transferQueryBiz struct {
	ProductCode    text `json:"product_code"`
	BizScene       text `json:"biz_scene"`
	OutBizNo       text `json:"out_biz_no"`
	OrderID        text `json:"order_id"`
	PayFundOrderID text `json:"pay_fund_order_id"`
}

type transferQueryRsp struct {
	head
	OrderID        string `json:"order_id"`
	PayFundOrderID string `json:"pay_fund_order_id"`
	OutBizNo       string `json:"out_biz_no"`
	TransAmount    string `json:"trans_amount"`
	Status         string `json:"status"`
	PayDate        string `json:"pay_date,omitempty"`
	OrderFee       string `json:"order_fee"`
	ErrorCode      string `json:"error_code,omitempty"`
	FailReason     string `json:"fail_reason,omitempty"`
}

// transferQuery is alipay.fund.trans.common.query. Looking at a DEALING
// order decides it (Ping++'s test mode), unless Options.HoldPayouts.
func (s *Sim) transferQuery(c *call, now time.Time) (any, *apiError) {
	var b transferQueryBiz
	if e := decodeBiz(c, &b); e != nil {
		return nil, e
	}
	var o *fundOrder
	switch {
	case b.OrderID != "":
		o = s.byOrderID[string(b.OrderID)]
	case b.PayFundOrderID != "":
		for _, x := range s.orders {
			if x.payFundOrderID == string(b.PayFundOrderID) {
				o = x
			}
		}
	case b.OutBizNo != "":
		// With out_biz_no Alipay needs the product and scene as well.
		if b.ProductCode == "" {
			return nil, missingParam("product_code")
		}
		if b.BizScene == "" {
			return nil, missingParam("biz_scene")
		}
		o = s.orders[fundKey{c.appID, string(b.OutBizNo)}]
		if o != nil && (string(b.ProductCode) != productTransfer || string(b.BizScene) != sceneDirect) {
			o = nil // another product's order of that number: none here
		}
	default:
		return nil, missingParam("out_biz_no")
	}
	if o == nil || o.appID != c.appID {
		return nil, business("ORDER_NOT_EXIST", "转账订单不存在")
	}
	if !s.holdPayouts {
		s.notifier.Post(s.decide(o, false, now))
	}
	r := transferQueryRsp{head: success, OrderID: o.orderID, PayFundOrderID: o.payFundOrderID, OutBizNo: o.outBizNo,
		TransAmount: yuan(o.amount), Status: o.status, OrderFee: "0.00", ErrorCode: o.errorCode, FailReason: o.failReason}
	if o.status == payoutSuccess {
		r.PayDate = formatTime(o.decided)
	}
	return r, nil
}

type accountQueryBiz struct {
	AlipayUserID text `json:"alipay_user_id"`
	AccountType  text `json:"account_type"`
}

type accountQueryRsp struct {
	head
	AvailableAmount string `json:"available_amount"`
	FreezeAmount    string `json:"freeze_amount"`
}

// accountQuery is alipay.fund.account.query for the app's own balance
// account (its 2088 partner id, account_type ACCTRANS_ACCOUNT).
func (s *Sim) accountQuery(c *call, _ time.Time) (any, *apiError) {
	var b accountQueryBiz
	if e := decodeBiz(c, &b); e != nil {
		return nil, e
	}
	switch {
	case b.AlipayUserID == "":
		return nil, missingParam("alipay_user_id")
	case b.AccountType != "" && b.AccountType != "ACCTRANS_ACCOUNT":
		return nil, invalidParam("account_type")
	case string(b.AlipayUserID) != sellerID(c.appID):
		return nil, business("PERMIT_CHECK_PERM_LIMITED", "无权限查询该账户")
	}
	return accountQueryRsp{success, yuan(s.available(c.appID)), "0.00"}, nil
}

// Errors of DecidePayout.
var (
	ErrPayoutNotFound = errors.New("alipaysim: payout not found")
	ErrPayoutDecided  = errors.New("alipaysim: payout already decided")
)

// DecidePayout decides a DEALING transfer of an app now, as Alipay does
// in its own time: paid, or failed when fail is set or its payee is
// frozen. The first attempt of its notification is made before it
// returns; retries follow on the schedule.
func (s *Sim) DecidePayout(ctx context.Context, appID, outBizNo string, fail bool) error {
	now := s.now()
	s.mu.Lock()
	o := s.orders[fundKey{appID, outBizNo}]
	if o == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrPayoutNotFound, outBizNo)
	}
	if o.status != payoutDealing {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s is %s", ErrPayoutDecided, outBizNo, o.status)
	}
	n := s.decide(o, fail, now)
	s.mu.Unlock()
	s.notifier.Send(ctx, n)
	return nil
}

// newFundOrderNo makes a 32-digit number shaped like Alipay's transfer
// order ids: the date, 110070, then digits.
func newFundOrderNo(now time.Time) string {
	return now.In(cst).Format("20060102") + "110070" + randomString(18, "0123456789")
}
