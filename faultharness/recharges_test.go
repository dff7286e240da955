//go:build faultharness

package faultharness

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
)

// Recharges (issue 18) under the same faults: the merchant's users pay
// their balance in through a charge on any channel the simulators take
// (polypay refuses payment-code channels for recharges, storing nothing:
// checked), and the customer pays it, declines, abandons it or pays it
// twice, while polypay is SIGKILLed and the channels' notifications are
// lost, duplicated and re-ordered. The balance is credited only in the
// transaction that records the charge's verified payment.
//
// A recharge is stored before its charge, under the charge's order_no;
// charge_id is '' until the charge is linked (and stays '' when the
// create died before that, or the payment code was declined). Afterwards
// every recharge is credited exactly when the channel kept the payment of
// its order_no's charge, once (one 'recharge' balance transaction, one
// bonus), never when polypay made no charge for it, and each user's
// available_balance is the sum of their credited recharges, amount -
// user_fee + bonus, less what they paid from it on the balance channel
// plus its refunds (balance_test.go).

// rechargeShare is the share of flows that recharge a user's balance.
const rechargeShare = 0.1

// rechargeUsers is how many users the merchant has.
const rechargeUsers = 3

// rechargeIntent is one recharge the merchant asked for, under one charge
// order_no.
type rechargeIntent struct {
	orderNo      string
	user         string
	channel      string
	amount       int64
	userFee      int64
	bonus        int64
	answered     bool   // polypay answered 200
	unsupported  bool   // refused: recharges do not take payment-code channels
	id, chargeID string // from the answer
}

// recharges is the merchant's side: its users and the recharges it asked
// for.
type recharges struct {
	mu      sync.Mutex
	users   []string
	created map[string]bool
	keys    map[string]string // user -> Idempotency-Key of its create
	intents []*rechargeIntent
	// payments: the balance charges the merchant asked for (balance_test.go).
	payments []*balanceIntent
}

func (h *harness) startRecharges() {
	r := &recharges{created: map[string]bool{}, keys: map[string]string{}}
	for i := range rechargeUsers {
		u := fmt.Sprintf("fh-user-%d", i+1)
		r.users = append(r.users, u)
		r.keys[u] = newKey()
	}
	h.recharges = r
}

// ensureUser creates the user once per harness, under the same
// Idempotency-Key across crashes; a create polypay made before it died
// answers 'already exists', which is as good.
func (h *harness) ensureUser(u string) bool {
	r := h.recharges
	r.mu.Lock()
	done, key := r.created[u], r.keys[u]
	r.mu.Unlock()
	if done {
		return true
	}
	st, raw, err := h.doRetry("POST", "/v1/apps/"+h.app.AppID+"/users", map[string]any{"id": u, "name": "充值用户 " + u}, key)
	ok := err == nil && (st == 200 || st == 400 && strings.Contains(string(raw), "已存在"))
	if !ok {
		h.t.Logf("user %s not created: %d %s %v", u, st, raw, err)
		return false
	}
	r.mu.Lock()
	if !r.created[u] {
		r.created[u] = true
		h.count("users created")
	}
	r.mu.Unlock()
	return true
}

type rechargeJSON struct {
	ID        string     `json:"id"`
	User      string     `json:"user"`
	Amount    int64      `json:"amount"`
	UserFee   int64      `json:"user_fee"`
	Succeeded bool       `json:"succeeded"`
	Charge    chargeJSON `json:"charge"`
}

// rechargeFlow is one user recharging through one charge, paid by the
// customer at the simulator (or declined, abandoned, paid twice).
func (h *harness) rechargeFlow() {
	r := h.recharges
	u := r.users[h.intn(len(r.users))]
	if !h.ensureUser(u) {
		return
	}
	sc := scenes[h.intn(len(scenes))]
	in := &rechargeIntent{orderNo: fmt.Sprintf("FR%d%06d", h.seed%100000, h.seq.Add(1)), user: u, channel: sc.channel,
		amount: int64(100 + h.intn(20000))}
	if h.float() < 0.4 {
		in.userFee = int64(h.intn(int(in.amount / 10)))
	}
	charge := map[string]any{"order_no": in.orderNo, "channel": sc.channel, "amount": in.amount, "client_ip": "127.0.0.1",
		"subject": "充值", "body": "余额充值"}
	if ex := sc.extra(h); ex != nil {
		charge["extra"] = ex
	}
	short := h.float() < 0.15
	if short && !strings.HasSuffix(sc.channel, "_scan") {
		charge["time_expire"] = time.Now().Unix() + int64(3+h.intn(10))
	}
	body := map[string]any{"user": u, "charge": charge, "description": "fault harness recharge"}
	if in.userFee > 0 || h.float() < 0.3 {
		body["user_fee"] = in.userFee
	}
	if h.float() < 0.4 {
		in.bonus = int64(1 + h.intn(500))
		body["balance_bonus"] = map[string]any{"amount": in.bonus}
	}
	key := ""
	if h.float() < 0.3 {
		key = newKey()
	}
	r.mu.Lock()
	r.intents = append(r.intents, in)
	r.mu.Unlock()
	h.count("recharges requested")
	path := "/v1/apps/" + h.app.AppID + "/recharges"
	st, raw, err := h.doRetry("POST", path, body, key)
	if err == nil && st == 400 && strings.HasSuffix(sc.channel, "_scan") && errParam(raw) == "charge[channel]" {
		// A payment code's charge may be reversed after its outcome was in
		// doubt, and taking back a balance is not built: polypay refuses
		// these recharges before storing anything (checked).
		r.mu.Lock()
		in.unsupported = true
		r.mu.Unlock()
		h.count("recharges refused: payment code")
		return
	}
	if err != nil || st != 200 {
		h.count("recharges refused")
		if st != 402 { // 402: the channel declined the payment code
			h.t.Logf("recharge %s on %s refused: %d %s %v", in.orderNo, sc.channel, st, raw, err)
		}
		return
	}
	var rc rechargeJSON
	if err := json.Unmarshal(raw, &rc); err != nil || rc.ID == "" || rc.Charge.ID == "" {
		h.t.Errorf("recharge reply: %s", raw)
		return
	}
	r.mu.Lock()
	in.answered, in.id, in.chargeID = true, rc.ID, rc.Charge.ID
	r.mu.Unlock()
	h.count("recharges created")
	if h.float() < 0.08 {
		// The merchant repeats the create, without the key: the same
		// recharge and charge come back.
		if st, raw, err := h.doRetry("POST", path, body, ""); err == nil && st == 200 {
			var again rechargeJSON
			json.Unmarshal(raw, &again)
			if again.ID != rc.ID || again.Charge.ID != rc.Charge.ID {
				h.t.Errorf("recharge order_no %s: a repeated create made %s/%s (first %s/%s)", in.orderNo, again.ID, again.Charge.ID, rc.ID, rc.Charge.ID)
			}
		}
	}
	c := rc.Charge
	if !strings.HasSuffix(sc.channel, "_scan") && !c.Paid {
		cred := c.Credential[sc.channel]
		switch x := h.float(); {
		case short && x < 0.5, x < 0.15:
			h.count("recharges abandoned")
			return
		case x < 0.3:
			h.pay(c, cred, false)
			h.count("recharges declined")
			if h.float() < 0.5 {
				return
			}
			h.pay(c, cred, true)
		default:
			h.pay(c, cred, true)
		}
		h.count("recharges paid by the customer")
		if h.float() < 0.05 {
			h.pay(c, cred, true) // pays twice: the channel must refuse
		}
	}
	switch x := h.float(); {
	case x < 0.1:
		// A recharge's charge cannot be refunded (recharge refunds are not
		// built): polypay must refuse, changing nothing.
		time.Sleep(h.between(0, 3*time.Second))
		if st, _, err := h.doRetry("POST", "/v1/charges/"+c.ID+"/refunds", map[string]any{"description": "fault harness"}, newKey()); err == nil && st == 400 {
			h.count("recharge refunds refused")
		}
	case x < 0.4:
		time.Sleep(h.between(0, 3*time.Second))
		if st, _, err := h.doRetry("GET", path+"/"+rc.ID, nil, ""); err == nil && st == 200 {
			h.count("recharges looked at")
		}
	}
}

// The checks.

type ppRecharge struct {
	id, user, orderNo, balanceTxn, bonusID string
	// chargeID is '' until the charge is linked: a recharge is stored
	// before its charge, and a create that died, or whose charge was
	// declined, never links it. charge is the charge of orderNo polypay
	// holds ('' when it never made one).
	chargeID, charge       string
	amount, userFee, bonus int64
	succeeded              bool
}

// credit is what a credited recharge adds to the user's balance.
func (r *ppRecharge) credit() int64 { return r.amount - r.userFee + r.bonus }

type ppBalanceTxn struct {
	id, user, typ, source string
	amount                int64
	after                 int64 // the user's available_balance right after it
}

type rechargeState struct {
	recharges map[string]*ppRecharge // by id
	balances  map[string]int64       // user -> available_balance
	txns      []ppBalanceTxn
	bonuses   map[string][]string // order_no -> bonus ids
	intents   []rechargeIntent
	payments  []balanceIntent
}

func (h *harness) snapshotRecharges(s *state) {
	rs := &rechargeState{recharges: map[string]*ppRecharge{}, balances: map[string]int64{}, bonuses: map[string][]string{}}
	h.recharges.mu.Lock()
	for _, in := range h.recharges.intents {
		rs.intents = append(rs.intents, *in)
	}
	for _, in := range h.recharges.payments {
		rs.payments = append(rs.payments, *in)
	}
	h.recharges.mu.Unlock()
	db, ph := h.openSQL()
	defer db.Close()
	rows, err := db.Query(`SELECT id, user_id, charge_order_no, charge_id, amount, user_fee, bonus_amount, succeeded, balance_transaction, balance_bonus
 FROM recharges WHERE app_id = `+ph, h.app.AppID)
	if err != nil {
		h.t.Fatalf("reading recharges: %v", err)
	}
	for rows.Next() {
		var r ppRecharge
		var ok int64
		if err := rows.Scan(&r.id, &r.user, &r.orderNo, &r.chargeID, &r.amount, &r.userFee, &r.bonus, &ok, &r.balanceTxn, &r.bonusID); err != nil {
			h.t.Fatal(err)
		}
		r.succeeded = ok == 1
		rs.recharges[r.id] = &r
	}
	rows.Close()
	rows, err = db.Query(`SELECT id, available_balance FROM users WHERE app_id = `+ph, h.app.AppID)
	if err != nil {
		h.t.Fatalf("reading users: %v", err)
	}
	for rows.Next() {
		var id string
		var bal int64
		if err := rows.Scan(&id, &bal); err != nil {
			h.t.Fatal(err)
		}
		rs.balances[id] = bal
	}
	rows.Close()
	rows, err = db.Query(`SELECT id, user_id, type, amount, available_balance, source FROM balance_transactions WHERE app_id = `+ph, h.app.AppID)
	if err != nil {
		h.t.Fatalf("reading balance transactions: %v", err)
	}
	for rows.Next() {
		var t ppBalanceTxn
		if err := rows.Scan(&t.id, &t.user, &t.typ, &t.amount, &t.after, &t.source); err != nil {
			h.t.Fatal(err)
		}
		rs.txns = append(rs.txns, t)
	}
	rows.Close()
	rows, err = db.Query(`SELECT id, order_no FROM balance_bonuses WHERE app_id = `+ph, h.app.AppID)
	if err != nil {
		h.t.Fatalf("reading balance bonuses: %v", err)
	}
	for rows.Next() {
		var id, no string
		if err := rows.Scan(&id, &no); err != nil {
			h.t.Fatal(err)
		}
		rs.bonuses[no] = append(rs.bonuses[no], id)
	}
	rows.Close()
	s.rch = rs
}

// checkRecharges adds the recharge invariants to the table: no balance
// credited without a verified payment the channel kept, none credited
// twice.
func (h *harness) checkRecharges(s *state, add func(string, any, any, bool), problem func(string, ...any)) {
	rs := s.rch
	trades := map[string]channelTrade{}
	for _, tr := range s.trades() {
		trades[tr.outTradeNo] = tr
	}

	// What the merchant asked for against what polypay holds. A recharge
	// is stored before its charge, under the charge's order_no: its charge
	// is the charge of that order_no, if polypay made one.
	chargeByOrderNo := map[string]*chargeRow{}
	for _, row := range s.charges {
		chargeByOrderNo[row.c.OrderNo] = row
	}
	byOrderNo := map[string][]*ppRecharge{}
	var unlinked, chargeless, chargelessCredited, badLinks int64
	for _, r := range rs.recharges {
		byOrderNo[r.orderNo] = append(byOrderNo[r.orderNo], r)
		if row := chargeByOrderNo[r.orderNo]; row != nil {
			r.charge = row.c.ID
		}
		switch {
		case r.chargeID != "" && r.chargeID != r.charge:
			badLinks++
			problem("recharge %s (%s) names charge %s, polypay's charge of that order_no is %q", r.id, r.orderNo, r.chargeID, r.charge)
		case r.chargeID == "" && r.charge != "":
			unlinked++ // the create died, or the charge was declined, before the link
		case r.charge == "":
			chargeless++
			if r.succeeded {
				chargelessCredited++
				problem("recharge %s of %s (%s) credited %d, and polypay never made its charge", r.id, r.user, r.orderNo, r.credit())
			}
		}
	}
	var asked, held, wrong, orphans, orphansPaid, unsupported, unsupportedHeld int64
	for _, in := range rs.intents {
		asked++
		got := byOrderNo[in.orderNo]
		if in.unsupported {
			unsupported++
			if len(got) > 0 || chargeByOrderNo[in.orderNo] != nil {
				unsupportedHeld++
				problem("recharge %s on %s: refused (payment code), polypay holds %d recharges and charge %v", in.orderNo,
					in.channel, len(got), chargeByOrderNo[in.orderNo] != nil)
			}
			continue
		}
		if len(got) == 0 {
			if in.answered {
				wrong++
				problem("recharge %s: polypay answered %s, and holds no recharge", in.orderNo, in.id)
			}
			if row := chargeByOrderNo[in.orderNo]; row != nil {
				// The recharge is stored before its charge: a charge of a
				// recharge's order_no without the recharge is a bug.
				orphans++
				if tr, ok := trades[row.c.ID]; ok && tr.keptPaid() {
					orphansPaid++
				}
				problem("recharge %s of %s: polypay holds its charge %s (%s, %s), no recharge", in.orderNo, in.user, row.c.ID,
					row.c.Channel, describe(row))
			}
			continue
		}
		held++
		if len(got) > 1 {
			wrong++
			problem("recharge order_no %s: %d recharges", in.orderNo, len(got))
		}
		r := got[0]
		if r.user != in.user || r.amount != in.amount || r.userFee != in.userFee || r.bonus != in.bonus {
			wrong++
			problem("recharge %s (%s): asked user %s amount %d fee %d bonus %d, holds %s %d %d %d", r.id, in.orderNo,
				in.user, in.amount, in.userFee, in.bonus, r.user, r.amount, r.userFee, r.bonus)
		}
		if in.answered && (r.id != in.id || r.chargeID != in.chargeID) {
			wrong++
			problem("recharge %s: answered %s/%s, holds %s/%s", in.orderNo, in.id, in.chargeID, r.id, r.chargeID)
		}
	}
	add("recharges asked for / held by polypay", asked, held, true)
	add("recharges on payment-code channels refused / holding a recharge or charge", unsupported, unsupportedHeld, unsupportedHeld == 0)
	add("recharges held twice or unlike what was asked", 0, wrong, wrong == 0)
	add("recharge order_nos with a charge and no recharge: paid at the channel / count", orphansPaid, orphans, orphans == 0)
	add("recharges naming a charge not of their order_no", 0, badLinks, badLinks == 0)
	add("recharges not linked to their charge (create died or declined) / whose charge polypay never made", "-",
		fmt.Sprintf("%d / %d", unlinked, chargeless), true)
	add("recharges credited whose charge polypay never made", 0, chargelessCredited, chargelessCredited == 0)

	// Credited iff the channel kept the charge's payment.
	var chPaid, chPaidAmt, credited, creditedAmt, unpaidCredited, paidUncredited int64
	for _, r := range rs.recharges {
		tr, ok := trades[r.charge]
		paid := r.charge != "" && ok && tr.keptPaid()
		if paid {
			chPaid++
			chPaidAmt += tr.amount
		}
		if r.succeeded {
			credited++
			creditedAmt += r.amount
		}
		switch {
		case r.succeeded && !paid:
			unpaidCredited++
			problem("recharge %s of %s credited %d; its charge %q at the channel: %+v, polypay: %s", r.id, r.user, r.credit(),
				r.charge, tr, describe(s.charges[r.charge]))
		case paid && !r.succeeded:
			paidUncredited++
			problem("recharge %s of %s not credited; its charge %s (%s, linked %q) is paid at the channel (%d), polypay: %s", r.id, r.user,
				r.charge, s.chargeChannel(r.charge), r.chargeID, tr.amount, describe(s.charges[r.charge]))
		}
	}
	add("recharges paid at the channel / credited (count)", chPaid, credited, chPaid == credited && unpaidCredited == 0 && paidUncredited == 0)
	add("recharges paid at the channel / credited (fen)", chPaidAmt, creditedAmt, chPaidAmt == creditedAmt)
	add("recharges credited without a kept payment / paid but not credited", 0, fmt.Sprintf("%d / %d", unpaidCredited, paidUncredited),
		unpaidCredited == 0 && paidUncredited == 0)

	// Once: one 'recharge' balance transaction per credited recharge (none
	// otherwise), one bonus of its amount when it has one, one event.
	rechargeTxns := map[string][]ppBalanceTxn{}
	bonusTxns := map[string][]ppBalanceTxn{}
	txnSum := map[string]int64{}
	var strays int64
	for _, t := range rs.txns {
		txnSum[t.user] += t.amount
		switch polypay.BalanceTxnType(t.typ) {
		case polypay.BalanceTxnRecharge:
			rechargeTxns[t.source] = append(rechargeTxns[t.source], t)
			if rs.recharges[t.source] == nil {
				strays++
				problem("balance transaction %s: recharge %d to %s from %s, no recharge", t.id, t.amount, t.user, t.source)
			}
		case polypay.BalanceTxnBonus:
			bonusTxns[t.source] = append(bonusTxns[t.source], t)
		case polypay.BalanceTxnPayment, polypay.BalanceTxnRefund:
			// Balance charges and their refunds: checkBalancePayments.
		default:
			strays++
			problem("balance transaction %s of %s: %s %d (the harness moves balances only by recharges and balance charges)",
				t.id, t.user, t.typ, t.amount)
		}
	}
	events := map[string]int{}
	for _, ev := range s.events {
		events[ev.typ+" "+ev.objectID]++
	}
	var twice, bad, badEvents int64
	for _, r := range rs.recharges {
		ts := rechargeTxns[r.id]
		if len(ts) > 1 {
			twice++
			problem("recharge %s of %s: %d recharge balance transactions", r.id, r.user, len(ts))
		}
		wantTxns := 0
		if r.succeeded {
			wantTxns = 1
		}
		if len(ts) != wantTxns {
			bad++
			problem("recharge %s (succeeded %v): %d recharge balance transactions", r.id, r.succeeded, len(ts))
		}
		for _, t := range ts {
			if t.amount != r.amount-r.userFee || t.user != r.user {
				bad++
				problem("recharge %s of %s (%d - %d): balance transaction %s credits %d to %s", r.id, r.user, r.amount, r.userFee, t.id, t.amount, t.user)
			}
		}
		if r.succeeded && len(ts) == 1 && r.balanceTxn != ts[0].id {
			bad++
			problem("recharge %s names balance transaction %q, holds %s", r.id, r.balanceTxn, ts[0].id)
		}
		bs := rs.bonuses["recharge_"+r.id]
		wantBonus := 0
		if r.succeeded && r.bonus > 0 {
			wantBonus = 1
		}
		if len(bs) > 1 {
			twice++
		}
		if len(bs) != wantBonus {
			bad++
			problem("recharge %s (succeeded %v, bonus %d): %d bonuses %v", r.id, r.succeeded, r.bonus, len(bs), bs)
		}
		for _, b := range bs {
			bt := bonusTxns[b]
			if len(bt) != 1 || bt[0].amount != r.bonus || bt[0].user != r.user {
				bad++
				problem("recharge %s: bonus %s of %d has balance transactions %+v", r.id, b, r.bonus, bt)
			}
			if events[polypay.EventBalanceBonusSucceeded+" "+b] != 1 {
				badEvents++
				problem("recharge %s: bonus %s with %d %s events", r.id, b, events[polypay.EventBalanceBonusSucceeded+" "+b], polypay.EventBalanceBonusSucceeded)
			}
		}
		wantEvents := 0
		if r.succeeded {
			wantEvents = 1
		}
		if n := events[polypay.EventRechargeSucceeded+" "+r.id]; n != wantEvents {
			badEvents++
			problem("recharge %s (succeeded %v): %d %s events", r.id, r.succeeded, n, polypay.EventRechargeSucceeded)
		}
	}
	add("recharges credited twice (2+ recharge or bonus balance transactions)", 0, twice, twice == 0)
	add("recharges whose balance transactions or bonus are not 1 iff credited (0 otherwise)", 0, bad, bad == 0)
	add("balance transactions not of a recharge, balance charge or its refund", 0, strays, strays == 0)
	add("recharges with != 1 recharge.succeeded / bonus event iff credited", 0, badEvents, badEvents == 0)

	// A recharge's charge is never refunded.
	var refunded int64
	for _, r := range rs.recharges {
		if row := s.charges[r.charge]; row != nil && len(row.refunds) > 0 {
			refunded++
			problem("recharge %s: its charge %s has %d refunds", r.id, r.charge, len(row.refunds))
		}
	}
	add("refunds of recharges' charges: refused / made", h.counted("recharge refunds refused"), refunded, refunded == 0)

	// Balance charges and their refunds (balance_test.go).
	moved := h.checkBalancePayments(s, add, problem)

	// Each user's balance: what their credited recharges add up to, less
	// their paid balance charges, plus those charges' refunds.
	recharged := map[string]int64{}
	for _, r := range rs.recharges {
		if r.succeeded {
			recharged[r.user] += r.credit()
		}
	}
	want := map[string]int64{}
	for u, v := range recharged {
		want[u] += v
	}
	for u, v := range moved {
		want[u] += v
	}
	var users []string
	seen := map[string]bool{}
	for _, m := range []map[string]int64{rs.balances, want, txnSum} {
		for u := range m {
			if !seen[u] {
				users, seen[u] = append(users, u), true
			}
		}
	}
	sort.Strings(users)
	for _, u := range users {
		got := rs.balances[u]
		api := int64(-1)
		if st, raw, err := h.do("GET", "/v1/apps/"+h.app.AppID+"/users/"+u, nil, ""); err == nil && st == 200 {
			var wu struct {
				AvailableBalance int64 `json:"available_balance"`
			}
			json.Unmarshal(raw, &wu)
			api = wu.AvailableBalance
		}
		books := -s.ledger[ledger.UserAccount(u)] // the merchant owes it: a credit
		ok := got == want[u] && txnSum[u] == got && api == got && books == got && got >= 0
		if !ok {
			problem("user %s: credited recharges %d, balance charges and refunds %d: want %d, available_balance %d (API %d), balance transactions sum %d, ledger %d",
				u, recharged[u], moved[u], want[u], got, api, txnSum[u], books)
		}
		add("user "+u+" balance (fen): recharges credited (amount - user_fee + bonus) "+fmt.Sprint(recharged[u])+
			" - balance charges + their refunds "+fmt.Sprint(moved[u])+" / available_balance >= 0 (db, api, txns, ledger)",
			want[u], fmt.Sprintf("%d, %d, %d, %d", got, api, txnSum[u], books), ok)
	}
}

// chargeChannel is the Ping++ channel of a charge polypay holds.
func (s *state) chargeChannel(id string) string {
	if row := s.charges[id]; row != nil {
		return row.c.Channel
	}
	return "?"
}

// rechargeLoad is the load line of the recharges.
func (h *harness) rechargeLoad() string {
	return fmt.Sprintf("recharges: %d users, %d recharges requested (%d created, %d refused: payment code, %d refused), %d paid by the customer, %d declined, %d abandoned, %d refunds refused, %d looked at",
		h.counted("users created"), h.counted("recharges requested"), h.counted("recharges created"), h.counted("recharges refused: payment code"), h.counted("recharges refused"),
		h.counted("recharges paid by the customer"), h.counted("recharges declined"), h.counted("recharges abandoned"),
		h.counted("recharge refunds refused"), h.counted("recharges looked at"))
}
