package alipaysim

import "time"

// debit is alipay.trade.pay on a signed agreement (product_code
// GENERAL_WITHHOLDING or CYCLE_PAY_AUTH, agreement_params.agreement_no):
// the customer confirmed when signing, so the trade is paid at once and
// notified like any paid trade; from then on it is an ordinary trade of the
// sim (query, refund, cancel, bills). A refused debit opens no trade. A
// repeated out_trade_no answers the trade's outcome, as for a scanned code;
// an unpaid trade of that out_trade_no is paid by the agreement. Called
// with s.mu held, after checkOrder.
func (s *Sim) debit(c *call, b *orderBiz, amount int64, now time.Time) (any, *apiError) {
	var p struct {
		AgreementParams *struct {
			AgreementNo text `json:"agreement_no"`
		} `json:"agreement_params"`
	}
	if e := decodeBiz(c, &p); e != nil {
		return nil, e
	}
	if p.AgreementParams == nil || p.AgreementParams.AgreementNo == "" {
		return nil, missingParam("agreement_no")
	}
	if t := s.trades[tradeKey{c.appID, string(b.OutTradeNo)}]; t != nil {
		touch(t, now)
		switch {
		case t.amount != amount:
			return nil, business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
		case t.status == tradeSuccess || t.status == tradeFinished:
			return payResponse(success, t), nil
		case t.status != waitBuyerPay:
			return nil, stateError(t)
		}
	}
	a, aerr := s.debitable(c.appID, string(p.AgreementParams.AgreementNo), string(b.ProductCode), amount, now)
	if aerr != nil {
		return nil, aerr
	}
	t, _, aerr := s.openTrade(c, b, amount, now)
	if aerr != nil {
		return nil, aerr
	}
	t.buyerID, t.buyerLogonID = a.userID, a.logonID
	s.markPaid(t, now)
	a.recordDebit(amount, now)
	// Alipay answers first and notifies afterwards.
	s.notifier.Post(s.notice(t, nil, now))
	return payResponse(success, t), nil
}

// debitable finds the app's agreement no and checks that it may be debited
// amount now with product. An agreement of another app, or of another
// product, does not exist for this debit. Called with s.mu held.
func (s *Sim) debitable(appID, no, product string, amount int64, now time.Time) (*agreement, *apiError) {
	s.agr.init()
	a := s.agr.byNo[no]
	switch {
	case a == nil || a.appID != appID || a.product != product:
		return nil, business("ACQ.AGREEMENT_NOT_EXIST", "用户协议不存在")
	case a.status == agreementUnsign || !now.Before(a.invalid):
		return nil, business("ACQ.AGREEMENT_INVALID", "用户协议已失效")
	case a.status != agreementNormal:
		return nil, business("ACQ.AGREEMENT_STATUS_NOT_NORMAL", "用户协议状态非NORMAL")
	}
	if aerr := a.cycleLimit(amount); aerr != nil {
		return nil, aerr
	}
	if s.agr.lowBalance[no] {
		return nil, business("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")
	}
	return a, nil
}

// cycleLimit checks a cycle agreement's amount and count limits.
func (a *agreement) cycleLimit(amount int64) *apiError {
	r := a.rule
	switch {
	case r == nil:
		return nil
	case amount > r.single:
		return business("ACQ.CYCLE_PAY_SINGLE_FEE_EXCEED", "周期扣款的单笔金额超过签约时限制")
	case r.total > 0 && a.deducted+amount > r.total:
		return business("ACQ.CYCLE_PAY_TOTAL_FEE_EXCEED", "周期扣款的累计金额超过签约时限制")
	case r.payments > 0 && a.debits >= r.payments:
		return business("ACQ.CYCLE_PAY_TOTAL_TIMES_EXCEED", "周期扣款的总次数超过签约时限制")
	}
	return nil
}

// recordDebit counts a successful debit and moves a cycle agreement to its
// next period.
func (a *agreement) recordDebit(amount int64, now time.Time) {
	a.deducted += amount
	a.debits++
	a.lastDebit = now
	if a.rule != nil {
		a.nextDeduct = a.rule.advance(a.nextDeduct)
	}
}
