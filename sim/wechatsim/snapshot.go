package wechatsim

import (
	"sort"
	"time"
)

// TradeSnapshot is the sim's own record of one trade: what WeChat Pay's
// books say, independent of what any merchant believes. Test harnesses
// compare a gateway's view against it.
type TradeSnapshot struct {
	MchID         string
	OutTradeNo    string
	TransactionID string
	TradeType     string
	Amount        int64 // fen
	State         string
	// Paid is true when the customer's money ever arrived, even if the
	// trade was later refunded or revoked.
	Paid   bool
	PaidAt time.Time
	// Refunded is every fen given back: refunds plus Reversed.
	Refunded int64
	// Reversed is what a payment-code reverse gave back of a paid trade.
	Reversed int64
	Refunds  []RefundSnapshot // by out_refund_no
}

// RefundSnapshot is one refund the sim executed. The sim keys refunds by
// out_refund_no, so a repeated request never appears twice.
type RefundSnapshot struct {
	OutRefundNo string
	RefundID    string
	Amount      int64
	Status      string
	At          time.Time
}

// Trades returns a copy of every trade the sim holds with its refunds,
// sorted by out_trade_no.
func (s *Sim) Trades() []TradeSnapshot {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	byTrade := map[tradeKey][]RefundSnapshot{}
	for _, r := range s.refunds {
		k := tradeKey{r.mchid, r.outTradeNo}
		byTrade[k] = append(byTrade[k], RefundSnapshot{OutRefundNo: r.outRefundNo, RefundID: r.refundID,
			Amount: r.amount, Status: r.status, At: r.succeeded})
	}
	out := make([]TradeSnapshot, 0, len(s.trades))
	for k, t := range s.trades {
		s.touch(t, now) // expiry and payment-code completion, as a query would see them
		ts := TradeSnapshot{MchID: t.mchid, OutTradeNo: t.outTradeNo, TransactionID: t.transactionID,
			TradeType: t.tradeType, Amount: t.amount, State: t.state, Paid: !t.paidAt.IsZero(), PaidAt: t.paidAt,
			Refunded: t.refunded, Refunds: byTrade[k]}
		var refunds int64
		for _, r := range ts.Refunds {
			refunds += r.Amount
		}
		// reverse sets refunded to the whole amount without a refund record.
		ts.Reversed = t.refunded - refunds
		sort.Slice(ts.Refunds, func(i, j int) bool { return ts.Refunds[i].OutRefundNo < ts.Refunds[j].OutRefundNo })
		out = append(out, ts)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OutTradeNo < out[j].OutTradeNo })
	return out
}
