//go:build faultharness

package faultharness

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/sim/alipaysim"
)

// Money out under the same faults as money in: the merchant pays payees
// on the alipay channel, one transfer at a time or in batches (which
// polypay fans out itself, Alipay having no batch call), while polypay is
// SIGKILLed, the simulator's answers are lost (502 after the work, hangs)
// and its alipay.fund.trans.order.changed messages are dropped, duplicated
// and re-ordered. The simulator decides a transfer when polypay asks about
// it (Ping++'s test mode), when the merchant looks at it, or on its own
// (the channel deciding, the message then being polypay's first news).
//
// Afterwards every payee the merchant asked for is paid exactly once (or,
// for a frozen or unknown account, not at all), the simulator's payouts and
// funds agree with polypay's paid transfers, and the ledger holds them.

// payoutShare is the share of flows that pay money out.
const payoutShare = 0.2

// payeeKind is what the merchant's payee is at the channel.
type payeeKind int

const (
	payable payeeKind = iota // paid
	frozen                   // accepted, then failed (the money comes back)
	unknown                  // refused at once: no payout at the channel
)

func (k payeeKind) String() string { return [...]string{"payable", "frozen", "unknown"}[k] }

// unknownPayee is an account the simulator does not have.
var unknownPayee = alipaysim.Payee{LogonID: "nobody@sandbox.com", Name: "无名"}

// payoutIntent is one payee the merchant asked polypay to pay: a single
// transfer (orderNo) or recipient index of a batch (batchNo).
type payoutIntent struct {
	orderNo  string
	batchNo  string
	index    int
	kind     payeeKind
	amount   int64
	answered bool // the create was answered 200: polypay holds the transfer
}

// payouts is the merchant's side: what it asked for, and the channel's
// funds when the run began.
type payouts struct {
	mu         sync.Mutex
	intents    []*payoutIntent
	fundsStart int64
}

// topUp is what the harness adds to the sandbox app's funds so that no
// run, however long, is refused for want of money.
const topUp = 50_000_000_00

func (h *harness) startPayouts() {
	h.payouts = &payouts{}
	sim := h.sb.AlipaySim()
	if _, err := sim.TopUp(h.aliMID, topUp); err != nil {
		h.t.Fatalf("topping up the sandbox funds: %v", err)
	}
	h.payouts.fundsStart = sim.Funds(h.aliMID)
}

func (p *payouts) add(in ...*payoutIntent) {
	p.mu.Lock()
	p.intents = append(p.intents, in...)
	p.mu.Unlock()
}

func (p *payouts) answered(in ...*payoutIntent) {
	p.mu.Lock()
	for _, x := range in {
		x.answered = true
	}
	p.mu.Unlock()
}

func (p *payouts) list() []payoutIntent {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]payoutIntent, len(p.intents))
	for i, x := range p.intents {
		out[i] = *x
	}
	return out
}

// payee picks a payee: mostly payable ones, by logon id or user id.
func (h *harness) payee() (account, name, accountType string, kind payeeKind) {
	switch x := h.float(); {
	case x < 0.08:
		return unknownPayee.LogonID, unknownPayee.Name, "", unknown
	case x < 0.16:
		p := alipaysim.SandboxPayeeFrozen
		return p.LogonID, p.Name, "", frozen
	case x < 0.35:
		p := alipaysim.SandboxPayeePhone
		return p.UserID, p.Name, "ALIPAY_USERID", payable
	case x < 0.6:
		p := alipaysim.SandboxPayeePhone
		return p.LogonID, p.Name, "", payable
	default:
		p := alipaysim.SandboxPayee
		return p.LogonID, p.Name, "", payable
	}
}

// payoutAmount is 0.10 to 500.00 yuan.
func (h *harness) payoutAmount() int64 { return int64(10 + h.intn(50000-10)) }

func (h *harness) payoutFlow() {
	if h.float() < 0.3 {
		h.batchFlow()
		return
	}
	h.transferFlow()
}

type transferJSON struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	OrderNo string `json:"order_no"`
	Amount  int64  `json:"amount"`
}

// transferFlow pays one payee, retrying the create under the same order_no
// (and sometimes an Idempotency-Key) until polypay answers.
func (h *harness) transferFlow() {
	account, name, accountType, kind := h.payee()
	in := &payoutIntent{orderNo: fmt.Sprintf("FP%d%06d", h.seed%100000, h.seq.Add(1)), kind: kind, amount: h.payoutAmount()}
	extra := map[string]any{"recipient_name": name}
	if accountType != "" {
		extra["recipient_account_type"] = accountType
	}
	body := map[string]any{"app": map[string]any{"id": h.app.AppID}, "channel": "alipay", "order_no": in.orderNo,
		"amount": in.amount, "type": "b2c", "currency": "cny", "recipient": account, "description": "fault harness payout",
		"extra": extra}
	key := ""
	if h.float() < 0.3 {
		key = newKey()
	}
	h.payouts.add(in)
	h.count("transfers requested")
	st, raw, err := h.doRetry("POST", "/v1/transfers", body, key)
	if err != nil || st != 200 {
		h.count("transfers unanswered or refused")
		h.t.Logf("transfer %s refused: %d %s %v", in.orderNo, st, raw, err)
		return
	}
	var tr transferJSON
	if err := json.Unmarshal(raw, &tr); err != nil || tr.ID == "" {
		h.t.Errorf("transfer reply: %s", raw)
		return
	}
	h.payouts.answered(in)
	if h.float() < 0.08 {
		// The merchant asks again, without the key: the same transfer.
		if st, raw, err := h.doRetry("POST", "/v1/transfers", body, ""); err == nil && st == 200 {
			var again transferJSON
			json.Unmarshal(raw, &again)
			if again.ID != tr.ID {
				h.t.Errorf("order_no %s: a repeated create made a second transfer %s (first %s)", in.orderNo, again.ID, tr.ID)
			}
		}
	}
	h.decideOrLook([]string{tr.ID}, "/v1/transfers/"+tr.ID)
}

// batchFlow pays one to six payees in one batch transfer.
func (h *harness) batchFlow() {
	batchNo := fmt.Sprintf("FB%d%06d", h.seed%100000, h.seq.Add(1))
	n := 1 + h.intn(6)
	var recipients []any
	var sum int64
	var ins []*payoutIntent
	for i := range n {
		account, name, accountType, kind := h.payee()
		in := &payoutIntent{batchNo: batchNo, index: i, kind: kind, amount: h.payoutAmount()}
		r := map[string]any{"account": account, "amount": in.amount, "name": name}
		if accountType != "" {
			r["account_type"] = accountType
		}
		recipients, sum, ins = append(recipients, r), sum+in.amount, append(ins, in)
	}
	body := map[string]any{"app": h.app.AppID, "batch_no": batchNo, "channel": "alipay", "amount": sum,
		"description": "fault harness batch", "type": "b2c", "currency": "cny", "recipients": recipients}
	h.payouts.add(ins...)
	h.count("batch transfers requested")
	st, raw, err := h.doRetry("POST", "/v1/batch_transfers", body, "")
	if err != nil || st != 200 {
		h.count("batch transfers unanswered or refused")
		h.t.Logf("batch transfer %s refused: %d %s %v", batchNo, st, raw, err)
		return
	}
	var b struct {
		ID         string `json:"id"`
		Recipients []struct {
			Transfer string `json:"transfer"`
		} `json:"recipients"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || b.ID == "" || len(b.Recipients) != n {
		h.t.Errorf("batch transfer reply: %s", raw)
		return
	}
	h.payouts.answered(ins...)
	if h.float() < 0.08 {
		if st, raw, err := h.doRetry("POST", "/v1/batch_transfers", body, ""); err == nil && st == 200 {
			var again struct {
				ID string `json:"id"`
			}
			json.Unmarshal(raw, &again)
			if again.ID != b.ID {
				h.t.Errorf("batch_no %s: a repeated create made a second batch %s (first %s)", batchNo, again.ID, b.ID)
			}
		}
	}
	var ids []string
	for _, r := range b.Recipients {
		ids = append(ids, r.Transfer)
	}
	h.decideOrLook(ids, "/v1/batch_transfers/"+b.ID)
}

// decideOrLook is what happens after a payout is asked for: the channel
// decides it on its own (its message is then polypay's first news), or the
// merchant looks at it (test mode settles a pending transfer by query),
// or nobody does and polypay's poller asks.
func (h *harness) decideOrLook(ids []string, path string) {
	switch x := h.float(); {
	case x < 0.35:
		time.Sleep(h.between(0, 2*time.Second))
		for _, id := range ids {
			// Fails for a payout the channel does not hold yet (a batch
			// member not sent) or decided already: nothing to do then.
			if err := h.sb.AlipaySim().DecidePayout(context.Background(), h.aliMID, strings.TrimPrefix(id, "tr_"), false); err == nil {
				h.count("payouts the channel decided on its own")
			}
		}
	case x < 0.6:
		time.Sleep(h.between(0, 3*time.Second))
		if st, _, err := h.doRetry("GET", path, nil, ""); err == nil && st == 200 {
			h.count("payouts looked at")
		}
	}
}

// The checks.

// ppTransfer is a transfer as polypay's store has it.
type ppTransfer struct {
	id, orderNo, batchID, batchNo, status string
	amount                                int64
}

// payoutState is both sides' books of the payouts.
type payoutState struct {
	sim       []alipaysim.PayoutSnapshot // the app's transfer orders at the channel
	funds     int64                      // the app's funds at the channel now
	transfers map[string]*ppTransfer     // by id
	batches   map[string]string          // batch id -> status
	intents   []payoutIntent
}

func (h *harness) snapshotPayouts(s *state) {
	p := &payoutState{transfers: map[string]*ppTransfer{}, batches: map[string]string{}, intents: h.payouts.list()}
	sim := h.sb.AlipaySim()
	for _, o := range sim.Payouts() {
		if o.AppID == h.aliMID {
			p.sim = append(p.sim, o)
		}
	}
	p.funds = sim.Funds(h.aliMID)
	db, ph := h.openSQL()
	defer db.Close()
	rows, err := db.Query(`SELECT t.id, t.order_no, t.batch_id, COALESCE(b.batch_no, ''), t.status, t.amount
 FROM transfers t LEFT JOIN batch_transfers b ON b.id = t.batch_id WHERE t.app_id = `+ph, h.app.AppID)
	if err != nil {
		h.t.Fatalf("reading transfers: %v", err)
	}
	for rows.Next() {
		var t ppTransfer
		if err := rows.Scan(&t.id, &t.orderNo, &t.batchID, &t.batchNo, &t.status, &t.amount); err != nil {
			h.t.Fatal(err)
		}
		p.transfers[t.id] = &t
	}
	rows.Close()
	rows, err = db.Query(`SELECT id, status FROM batch_transfers WHERE app_id = `+ph, h.app.AppID)
	if err != nil {
		h.t.Fatalf("reading batch transfers: %v", err)
	}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			h.t.Fatal(err)
		}
		p.batches[id] = st
	}
	rows.Close()
	s.pay = p
}

// simPaid: the channel paid the payee.
func simPaid(o alipaysim.PayoutSnapshot) bool { return o.Status == "SUCCESS" }

func (p *payoutState) simByPayoutNo() map[string]alipaysim.PayoutSnapshot {
	m := map[string]alipaysim.PayoutSnapshot{}
	for _, o := range p.sim {
		m[o.OutBizNo] = o
	}
	return m
}

// converged: nothing pending on either side, and each side's paid
// payouts are the other's.
func (p *payoutState) converged() bool {
	sim := p.simByPayoutNo()
	for _, o := range p.sim {
		t := p.transfers[polypay.TransferIDOf(o.OutBizNo)]
		if o.Status == "DEALING" || simPaid(o) != (t != nil && t.status == string(polypay.TransferPaid)) {
			return false
		}
	}
	for _, t := range p.transfers {
		if t.status == string(polypay.TransferPending) || t.status == string(polypay.TransferScheduled) {
			return false
		}
		if t.status == string(polypay.TransferPaid) && !simPaid(sim[strings.TrimPrefix(t.id, "tr_")]) {
			return false
		}
	}
	for _, st := range p.batches {
		if !polypay.BatchStatus(st).Decided() {
			return false
		}
	}
	return true
}

// intentTransfers finds the transfers polypay holds for each intent: by
// order_no for a single transfer; for a batch member, by its batch's
// batch_no and its index (the last four digits of its order_no).
func (p *payoutState) intentTransfers() map[string][]*ppTransfer {
	out := map[string][]*ppTransfer{}
	for _, t := range p.transfers {
		key := "single " + t.orderNo
		if t.batchID != "" {
			i, _ := strconv.Atoi(t.orderNo[max(len(t.orderNo)-4, 0):])
			key = fmt.Sprintf("batch %s #%d", t.batchNo, i)
		}
		out[key] = append(out[key], t)
	}
	return out
}

func (in payoutIntent) key() string {
	if in.batchNo != "" {
		return fmt.Sprintf("batch %s #%d", in.batchNo, in.index)
	}
	return "single " + in.orderNo
}

// checkPayouts adds the payout invariants to the table.
func (h *harness) checkPayouts(s *state, add func(string, any, any, bool), problem func(string, ...any)) {
	p := s.pay
	sim := p.simByPayoutNo()
	byIntent := p.intentTransfers()

	// Each payee the merchant asked for: one transfer, paid exactly once
	// at the channel when the payee can be paid, never otherwise.
	var asked, stored, once, twice, wrong int64
	for _, in := range p.intents {
		asked++
		ts := byIntent[in.key()]
		if len(ts) == 0 {
			if in.answered {
				wrong++
				problem("%s: polypay answered it, and holds no transfer", in.key())
			}
			continue
		}
		stored++
		if len(ts) > 1 {
			problem("%s: %d transfers", in.key(), len(ts))
		}
		var paid int
		for _, t := range ts {
			o, atChannel := sim[strings.TrimPrefix(t.id, "tr_")]
			if atChannel && simPaid(o) {
				paid++
				if o.Amount != in.amount || t.amount != in.amount {
					wrong++
					problem("%s: asked %d, transfer %s has %d, the channel paid %d", in.key(), in.amount, t.id, t.amount, o.Amount)
				}
			}
			want, wantAtChannel := polypay.TransferPaid, true
			switch in.kind {
			case frozen:
				want = polypay.TransferFailed
			case unknown:
				want, wantAtChannel = polypay.TransferFailed, false
			}
			if t.status != string(want) || atChannel != wantAtChannel {
				wrong++
				problem("%s (%s payee): transfer %s is %s; at the channel: %v %s", in.key(), in.kind, t.id, t.status, atChannel, o.Status)
			}
		}
		switch {
		case paid > 1 || len(ts) > 1:
			twice++
		case paid == 1:
			once++
		}
	}
	var expected int64
	for _, in := range p.intents {
		if in.kind == payable && len(byIntent[in.key()]) > 0 {
			expected++
		}
	}
	add("payees asked for / held by polypay (transfers and batch members)", asked, stored, true)
	add("payable payees paid exactly once (channel / expected)", once, expected, once == expected)
	add("payees paid twice / in the wrong state", twice, wrong, twice == 0 && wrong == 0)

	// The channel's books against polypay's: paid payouts one to one, and
	// the funds they took.
	var chPaid, chPaidAmt, ppPaid, ppPaidAmt, orphans, dealing, pending, open int64
	for _, o := range p.sim {
		t := p.transfers[polypay.TransferIDOf(o.OutBizNo)]
		switch {
		case t == nil:
			orphans++
			problem("the channel holds payout %s (%s, %d) that is no polypay transfer", o.OutBizNo, o.Status, o.Amount)
		case simPaid(o) && t.status != string(polypay.TransferPaid):
			problem("payout %s paid at the channel, %s in polypay", o.OutBizNo, t.status)
		}
		if o.Status == "DEALING" {
			dealing++
		}
		if simPaid(o) {
			chPaid++
			chPaidAmt += o.Amount
		}
	}
	for _, t := range p.transfers {
		switch polypay.TransferStatus(t.status) {
		case polypay.TransferPaid:
			ppPaid++
			ppPaidAmt += t.amount
			if !simPaid(sim[strings.TrimPrefix(t.id, "tr_")]) {
				problem("transfer %s paid in polypay, not at the channel", t.id)
			}
		case polypay.TransferPending, polypay.TransferScheduled:
			pending++
		}
	}
	for id, st := range p.batches {
		if !polypay.BatchStatus(st).Decided() {
			open++
			problem("batch transfer %s still %s", id, st)
		}
	}
	spent := h.payouts.fundsStart - p.funds
	add("payouts paid (count)", chPaid, ppPaid, chPaid == ppPaid)
	add("payouts paid (fen)", chPaidAmt, ppPaidAmt, chPaidAmt == ppPaidAmt)
	add("channel funds spent (fen) / payouts paid", spent, chPaidAmt, spent == chPaidAmt)
	add("channel payouts unknown to polypay", orphans, 0, orphans == 0)
	add("payouts deciding / transfers pending, batches open", dealing, fmt.Sprintf("%d, %d", pending, open),
		dealing == 0 && pending == 0 && open == 0)
	attempts, acked, retried := h.payoutMessages(p)
	add("transfer messages: attempts / acknowledged / payouts retried", attempts, fmt.Sprintf("%d / %d", acked, retried), true)
}

// payoutMessages counts the channel's order.changed deliveries: every
// attempt, those polypay acknowledged, and the payouts whose message was
// sent more than once (lost, its reply lost, or polypay down).
func (h *harness) payoutMessages(p *payoutState) (attempts, acked, retried int) {
	for _, o := range p.sim {
		ds := h.sb.AlipaySim().PayoutNotifications(o.OutBizNo)
		attempts += len(ds)
		for _, d := range ds {
			if d.Acked {
				acked++
			}
		}
		if len(ds) > 1 {
			retried++
		}
	}
	return attempts, acked, retried
}

// netByChannel is what the payouts took out of each channel's funds, at
// the channel and in polypay, for the statement rows.
func (p *payoutState) netByChannel() (ch, pp map[string]int64) {
	ch, pp = map[string]int64{}, map[string]int64{}
	for _, o := range p.sim {
		if simPaid(o) {
			ch["alipay"] += o.Amount
		}
	}
	for _, t := range p.transfers {
		if t.status == string(polypay.TransferPaid) {
			pp["alipay"] += t.amount
		}
	}
	return ch, pp
}

// lackEvents counts decided payouts without exactly one event of their
// outcome: transfer.succeeded or transfer.failed per transfer,
// batch_transfer.succeeded per batch that paid anyone.
func (p *payoutState) lackEvents(perObject map[string]int, problem func(string, ...any)) int {
	n := 0
	want := func(typ, id string) {
		if perObject[typ+" "+id] != 1 {
			n++
			problem("%s with %d %s events", id, perObject[typ+" "+id], typ)
		}
	}
	for _, t := range p.transfers {
		switch polypay.TransferStatus(t.status) {
		case polypay.TransferPaid:
			want(polypay.EventTransferSucceeded, t.id)
		case polypay.TransferFailed:
			want(polypay.EventTransferFailed, t.id)
		}
	}
	for id, st := range p.batches {
		if s := polypay.BatchStatus(st); s == polypay.BatchSucceeded || s == polypay.BatchPartiallySucceeded {
			want(polypay.EventBatchTransferSucceeded, id)
		}
	}
	return n
}

// payoutLoad is the load line of the payouts.
func (h *harness) payoutLoad() string {
	return fmt.Sprintf("payouts: %d transfers and %d batch transfers requested (%d and %d unanswered or refused), %d decided by the channel on its own, %d looked at by the merchant",
		h.counted("transfers requested"), h.counted("batch transfers requested"), h.counted("transfers unanswered or refused"),
		h.counted("batch transfers unanswered or refused"), h.counted("payouts the channel decided on its own"), h.counted("payouts looked at"))
}
