//go:build faultharness

package faultharness

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/ledger"
)

// Balance payments under the same faults: the recharge flow's users pay
// orders from their balance, with a charge on the balance channel
// (extra.user). It is paid at once from available_balance, or refused
// (400 naming amount) when the balance cannot cover it, and it is retried
// with the same order_no across crashes. Some are refunded, in part or in
// full, and the refund goes back to the balance at once.
//
// Afterwards a balance charge is held only paid, once per order_no, with
// one 'payment' balance transaction; each of its refunds succeeded, with
// one 'payment_refund' balance transaction; and each user's
// available_balance is their credited recharges (amount - user_fee +
// bonus) - their paid balance charges + their balance refunds, never
// below zero.

// balanceShare is the share of flows that pay from a user's balance.
const balanceShare = 0.08

// balanceIntent is one balance charge the merchant asked for.
type balanceIntent struct {
	orderNo, user string
	amount        int64
	over          bool // asked for more than the balance the merchant last saw
	answered      bool // polypay answered 200
	refused       bool // polypay answered 400 naming amount: the balance could not cover it
	id            string
}

// userBalance is a user's available_balance as the API answers it.
func (h *harness) userBalance(u string) (int64, bool) {
	st, raw, err := h.doRetry("GET", "/v1/apps/"+h.app.AppID+"/users/"+u, nil, "")
	if err != nil || st != 200 {
		return 0, false
	}
	var wu struct {
		AvailableBalance int64 `json:"available_balance"`
	}
	if json.Unmarshal(raw, &wu) != nil {
		return 0, false
	}
	if wu.AvailableBalance < 0 {
		h.t.Errorf("user %s: available_balance %d", u, wu.AvailableBalance)
	}
	return wu.AvailableBalance, true
}

// balanceFlow is one of the users paying an order from their balance,
// perhaps refunded afterwards.
func (h *harness) balanceFlow() {
	r := h.recharges
	u := r.users[h.intn(len(r.users))]
	if !h.ensureUser(u) {
		return
	}
	bal, ok := h.userBalance(u)
	if !ok {
		return
	}
	in := &balanceIntent{orderNo: fmt.Sprintf("FB%d%06d", h.seed%100000, h.seq.Add(1)), user: u}
	if bal > 0 && h.float() < 0.85 {
		in.amount = 1 + int64(h.intn(int(min(bal, 20000))))
	} else {
		in.amount, in.over = bal+1+int64(h.intn(1000)), true
	}
	body := map[string]any{"order_no": in.orderNo, "app": map[string]any{"id": h.app.AppID}, "channel": core.BalanceChannel,
		"amount": in.amount, "client_ip": "127.0.0.1", "currency": "cny", "subject": "余额支付", "body": "fault harness",
		"extra": map[string]any{"user": u}}
	r.mu.Lock()
	r.payments = append(r.payments, in)
	r.mu.Unlock()
	h.count("balance charges requested")
	st, raw, err := h.doRetry("POST", "/v1/charges", body, "")
	if err == nil && st == 400 && errParam(raw) == "amount" {
		r.mu.Lock()
		in.refused = true
		r.mu.Unlock()
		h.count("balance charges refused")
		return
	}
	if err != nil || st != 200 {
		h.count("balance charges unanswered")
		h.t.Logf("balance charge %s of %s (%d, balance %d): %d %s %v", in.orderNo, u, in.amount, bal, st, raw, err)
		return
	}
	var c chargeJSON
	if err := json.Unmarshal(raw, &c); err != nil || c.ID == "" {
		h.t.Errorf("balance charge reply: %s", raw)
		return
	}
	if !c.Paid {
		h.t.Errorf("balance charge %s (%s) answered unpaid: %s", c.ID, in.orderNo, raw)
	}
	r.mu.Lock()
	in.answered, in.id = true, c.ID
	r.mu.Unlock()
	h.count("balance charges paid")
	if h.float() < 0.1 {
		// The merchant repeats the create: the same charge, not a second
		// debit.
		if st, raw, err := h.doRetry("POST", "/v1/charges", body, ""); err == nil && st == 200 {
			var again chargeJSON
			json.Unmarshal(raw, &again)
			if again.ID != c.ID || !again.Paid {
				h.t.Errorf("balance order_no %s: a repeated create answered %s paid %v (first %s)", in.orderNo, again.ID, again.Paid, c.ID)
			}
			h.count("balance charges repeated")
		}
	}
	if h.float() < 0.4 {
		time.Sleep(h.between(0, 2*time.Second))
		h.balanceRefunds(c)
	}
}

// balanceRefunds asks for one or two refunds of a balance charge, partial
// or full, each under its own Idempotency-Key; now and then one above
// what is left, which must be refused.
func (h *harness) balanceRefunds(c chargeJSON) {
	left := c.Amount
	for n := 1 + h.intn(2); n > 0 && left > 0; n-- {
		amount := left
		if h.float() < 0.6 && left > 1 {
			amount = 1 + int64(h.intn(int(left-1)))
		}
		over := h.float() < 0.05
		if over {
			amount = left + 1
		}
		h.count("balance refunds requested")
		st, raw, err := h.doRetry("POST", "/v1/charges/"+c.ID+"/refunds",
			map[string]any{"amount": amount, "description": "fault harness balance refund"}, newKey())
		switch {
		case err != nil || st >= 500:
			h.count("balance refunds unanswered")
			return
		case st != 200:
			h.count("balance refunds refused")
			if !over {
				h.t.Logf("balance refund of %s (%d of %d left) refused: %d %s", c.ID, amount, left, st, raw)
			}
			continue
		}
		if over {
			h.t.Errorf("balance refund of %s: %d of %d left accepted: %s", c.ID, amount, left, raw)
		}
		var rf struct {
			Status string `json:"status"`
		}
		json.Unmarshal(raw, &rf)
		if rf.Status != string(polypay.RefundSucceeded) {
			h.t.Errorf("balance refund of %s answered %s, not succeeded: %s", c.ID, rf.Status, raw)
		}
		h.count("balance refunds succeeded")
		left -= amount
	}
}

// errParam is the param of an API error reply.
func errParam(raw []byte) string {
	var e struct {
		Error struct {
			Param string `json:"param"`
		} `json:"error"`
	}
	json.Unmarshal(raw, &e)
	return e.Error.Param
}

// isBalance: a charge on the balance channel (no channel's books hold it).
func isBalance(c *polypay.Charge) bool { return c.Channel == core.BalanceChannel }

// balanceUserOf is the user a balance charge's extra names.
func balanceUserOf(c *polypay.Charge) string {
	var extra struct {
		User string `json:"user"`
	}
	json.Unmarshal(c.Extra, &extra)
	return extra.User
}

// checkBalancePayments adds the balance payment invariants to the table
// and returns what balance charges and their refunds moved, per user
// (checked with the recharges in the users' balances).
func (h *harness) checkBalancePayments(s *state, add func(string, any, any, bool), problem func(string, ...any)) map[string]int64 {
	rs := s.rch
	moved := map[string]int64{}
	byOrderNo := map[string][]*chargeRow{}
	paidCharges := map[string]*chargeRow{}
	refunds := map[string]*polypay.Refund{} // succeeded refunds of balance charges
	var held, unpaid, twice, notSucceeded, refundCount, refundAmt, paidAmt int64
	for _, row := range s.charges {
		if !isBalance(row.c) {
			continue
		}
		held++
		byOrderNo[row.c.OrderNo] = append(byOrderNo[row.c.OrderNo], row)
		u := balanceUserOf(row.c)
		if !row.c.Paid() || row.c.Status == polypay.ChargeReversed || row.c.AmountCaptured != row.c.Amount {
			unpaid++
			problem("balance charge %s (%s) of %s held %s, paid %v, captured %d of %d", row.c.ID, row.c.OrderNo, u, row.c.Status,
				row.c.Paid(), row.c.AmountCaptured, row.c.Amount)
			continue
		}
		paidCharges[row.c.ID] = row
		paidAmt += row.c.Amount
		moved[u] -= row.c.Amount
		for _, r := range row.refunds {
			if r.Status != polypay.RefundSucceeded {
				notSucceeded++
				problem("refund %s of balance charge %s: %s", r.ID, row.c.ID, r.Status)
				continue
			}
			refunds[r.ID] = r
			refundCount++
			refundAmt += r.Amount
			moved[u] += r.Amount
		}
	}
	for no, rows := range byOrderNo {
		if len(rows) > 1 {
			twice++
			problem("balance order_no %s: %d charges", no, len(rows))
		}
	}

	// What the merchant asked for against what polypay holds.
	var asked, answered, refused, refusedHeld, unlike int64
	for _, in := range rs.payments {
		asked++
		rows := byOrderNo[in.orderNo]
		if in.answered {
			answered++
		}
		if in.refused {
			refused++
			if len(rows) > 0 {
				refusedHeld++
				problem("balance charge %s of %s (%d): refused, and polypay holds %s (%s)", in.orderNo, in.user, in.amount,
					rows[0].c.ID, describe(rows[0]))
			}
			continue
		}
		if len(rows) == 0 {
			if in.answered {
				unlike++
				problem("balance charge %s: polypay answered %s, and holds no charge", in.orderNo, in.id)
			}
			continue
		}
		c := rows[0].c
		if c.Amount != in.amount || balanceUserOf(c) != in.user || (in.answered && c.ID != in.id) {
			unlike++
			problem("balance charge %s: asked %s %d (answered %q), holds %s of %s %d", in.orderNo, in.user, in.amount, in.id,
				c.ID, balanceUserOf(c), c.Amount)
		}
	}
	add("balance charges asked for / held by polypay (paid; answered, refused: balance too low)", asked,
		fmt.Sprintf("%d (%d; %d, %d)", held, len(paidCharges), answered, refused), true)
	add("balance charges held unpaid (pending, failed, reversed) / twice per order_no", 0, fmt.Sprintf("%d / %d", unpaid, twice),
		unpaid == 0 && twice == 0)
	add("balance charges refused yet held / held unlike what was asked or answered", 0, fmt.Sprintf("%d / %d", refusedHeld, unlike),
		refusedHeld == 0 && unlike == 0)
	add("balance refunds succeeded (count, fen) / not succeeded at once", fmt.Sprintf("%d, %d", refundCount, refundAmt), notSucceeded,
		notSucceeded == 0)

	// One balance transaction per paid balance charge and per succeeded
	// refund, of its amount, on its user's balance; none otherwise.
	payTxns, refundTxns := map[string][]ppBalanceTxn{}, map[string][]ppBalanceTxn{}
	var strays, negative int64
	for _, t := range rs.txns {
		if t.after < 0 {
			negative++
			problem("balance transaction %s (%s %d) left %s at %d", t.id, t.typ, t.amount, t.user, t.after)
		}
		switch polypay.BalanceTxnType(t.typ) {
		case polypay.BalanceTxnPayment:
			payTxns[t.source] = append(payTxns[t.source], t)
			if paidCharges[t.source] == nil {
				strays++
				problem("balance transaction %s: payment %d by %s for %s, no paid balance charge", t.id, t.amount, t.user, t.source)
			}
		case polypay.BalanceTxnRefund:
			refundTxns[t.source] = append(refundTxns[t.source], t)
			if refunds[t.source] == nil {
				strays++
				problem("balance transaction %s: refund %d to %s for %s, no succeeded balance refund", t.id, t.amount, t.user, t.source)
			}
		}
	}
	var badTxns int64
	for id, row := range paidCharges {
		u := balanceUserOf(row.c)
		if ts := payTxns[id]; len(ts) != 1 || ts[0].amount != -row.c.Amount || ts[0].user != u {
			badTxns++
			problem("balance charge %s of %s (%d): payment balance transactions %+v", id, u, row.c.Amount, ts)
		}
		for _, r := range row.refunds {
			if r.Status != polypay.RefundSucceeded {
				continue
			}
			if ts := refundTxns[r.ID]; len(ts) != 1 || ts[0].amount != r.Amount || ts[0].user != u {
				badTxns++
				problem("refund %s of balance charge %s of %s (%d): refund balance transactions %+v", r.ID, id, u, r.Amount, ts)
			}
		}
	}
	add("balance charges / refunds without exactly one balance transaction of their amount", 0, badTxns, badTxns == 0)
	add("payment / payment_refund balance transactions of no paid balance charge / succeeded refund", 0, strays, strays == 0)
	add("balance transactions leaving a balance below zero", 0, negative, negative == 0)

	// channel:balance clears: each payment enters and leaves it at once,
	// each refund too.
	clearing := s.ledger[ledger.ChannelAccount(core.BalanceChannel)]
	add(fmt.Sprintf("ledger %s (paid %d, refunded %d: nets to 0)", ledger.ChannelAccount(core.BalanceChannel), paidAmt, refundAmt),
		0, clearing, clearing == 0)
	return moved
}

// balanceLoad is the load line of the balance payments.
func (h *harness) balanceLoad() string {
	return fmt.Sprintf("balance payments: %d requested (%d paid, %d refused: balance too low, %d unanswered, %d repeated), %d refunds requested (%d succeeded, %d refused, %d unanswered)",
		h.counted("balance charges requested"), h.counted("balance charges paid"), h.counted("balance charges refused"),
		h.counted("balance charges unanswered"), h.counted("balance charges repeated"), h.counted("balance refunds requested"),
		h.counted("balance refunds succeeded"), h.counted("balance refunds refused"), h.counted("balance refunds unanswered"))
}
