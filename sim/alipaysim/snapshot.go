package alipaysim

import (
	"sort"
	"time"
)

// TradeSnapshot is the sim's own record of one trade: what Alipay's books
// say, independent of what any merchant believes. Test harnesses compare a
// gateway's view against it.
type TradeSnapshot struct {
	AppID      string
	OutTradeNo string
	TradeNo    string
	Amount     int64 // fen
	Status     string
	// Paid is true when the buyer's money ever arrived, even if the trade
	// was later refunded in full, reversed or closed.
	Paid   bool
	PaidAt time.Time
	// Refunded is every fen given back: refunds plus Reversed.
	Refunded int64
	// Reversed is what alipay.trade.cancel gave back of a paid trade.
	Reversed int64
	Refunds  []RefundSnapshot // by out_request_no
}

// RefundSnapshot is one refund the sim executed. The sim keys refunds by
// out_request_no, so a repeated request never appears twice.
type RefundSnapshot struct {
	OutRequestNo string
	Amount       int64
	At           time.Time
}

// Trades returns a copy of every trade the sim holds, sorted by
// out_trade_no.
func (s *Sim) Trades() []TradeSnapshot {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TradeSnapshot, 0, len(s.trades))
	for _, t := range s.trades {
		touch(t, now) // an expired trade is closed, as any query would see it
		ts := TradeSnapshot{AppID: t.appID, OutTradeNo: t.outTradeNo, TradeNo: t.tradeNo, Amount: t.amount,
			Status: t.status, Paid: !t.paidAt.IsZero(), PaidAt: t.paidAt, Refunded: t.refunded, Reversed: t.reversed}
		for _, r := range t.refunds {
			ts.Refunds = append(ts.Refunds, RefundSnapshot{OutRequestNo: r.outRequestNo, Amount: r.amount, At: r.at})
		}
		sort.Slice(ts.Refunds, func(i, j int) bool { return ts.Refunds[i].OutRequestNo < ts.Refunds[j].OutRequestNo })
		out = append(out, ts)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OutTradeNo < out[j].OutTradeNo })
	return out
}

// PayoutSnapshot is the sim's own record of one transfer order. The sim
// keys transfers by app and out_biz_no, so a repeated request never
// appears twice.
type PayoutSnapshot struct {
	AppID       string
	OutBizNo    string
	OrderID     string
	Amount      int64  // fen
	Status      string // DEALING, SUCCESS or FAIL
	PayeeUserID string
	Created     time.Time
	DecidedAt   time.Time // zero while DEALING
	ErrorCode   string    // for FAIL
}

// Payouts returns a copy of every transfer order the sim holds, sorted by
// out_biz_no.
func (s *Sim) Payouts() []PayoutSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PayoutSnapshot, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, PayoutSnapshot{AppID: o.appID, OutBizNo: o.outBizNo, OrderID: o.orderID, Amount: o.amount,
			Status: o.status, PayeeUserID: o.payee.UserID, Created: o.created, DecidedAt: o.decided, ErrorCode: o.errorCode})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OutBizNo < out[j].OutBizNo })
	return out
}

// AgreementSnapshot is the sim's own record of one personal debit
// agreement (agreement.go).
type AgreementSnapshot struct {
	AppID               string
	AgreementNo         string
	ExternalAgreementNo string
	PersonalProductCode string // GENERAL_WITHHOLDING_P or CYCLE_PAY_AUTH_P
	SignScene           string
	AlipayUserID        string
	Status              string // NORMAL or UNSIGN
	SignTime            time.Time
	InvalidTime         time.Time
	UnsignTime          time.Time // zero while NORMAL
	Debits              int       // successful debits
	Debited             int64     // fen, refunds not deducted
}

// Agreements returns a copy of every agreement the sim holds, sorted by
// agreement_no.
func (s *Sim) Agreements() []AgreementSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AgreementSnapshot, 0, len(s.agr.byNo))
	for _, a := range s.agr.byNo {
		out = append(out, AgreementSnapshot{AppID: a.appID, AgreementNo: a.no, ExternalAgreementNo: a.externalNo,
			PersonalProductCode: a.personalCode, SignScene: a.scene, AlipayUserID: a.userID, Status: a.status,
			SignTime: a.signed, InvalidTime: a.invalid, UnsignTime: a.unsigned, Debits: a.debits, Debited: a.deducted})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AgreementNo < out[j].AgreementNo })
	return out
}
