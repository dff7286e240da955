package unionpaysim

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// Payouts (代付: txnType 12, txnSubType 00, bizType 000401) come through
// backTransReq.do, signed like every request. The card number (accNo) is
// encrypted under the sim's encryption certificate when encryptCertId is
// sent, plain otherwise; the payee's name is customerNm in customerInfo
// (base64 of {customerNm=...}), or for a company account (accType 04)
// comDebitCardAccName in reserved.
//
// The synchronous answer only accepts (respCode 00, UnionPay's "受理"),
// holding the amount from the merchant's payout funds, or refuses on the
// spot: 64 when the funds do not cover it, 33 past the card's daily limit.
// An accepted payout stays processing (a query's origRespCode 05) until it
// is decided: by the first query of it, as Ping++'s test mode settles a
// transfer when the merchant retrieves it (except for Hold cards), or by
// DecidePayout and its test endpoint. Deciding checks the card (61 for a
// card the sim has no account of, 63 for a frozen one) and the name (66),
// pays (00) or gives the funds back, and sends the signed back
// notification (respCode is the outcome) on the usual retry schedule.
// Refusals are recorded too, so a query and a repeat (respCode 12) find
// them. The codes are UnionPay's from its table; which of them UnionPay
// uses for which payout failure is the sim's choice.
const (
	txnPayout = "12"
	bizPayout = "000401"
)

// Payout codes the sim answers and decides with.
const (
	CodeAccepted     = "05" // a query's origRespCode while a payout is processing
	CodeOverLimit    = "33" // 交易金额超限: past the payee card's daily limit
	CodeCardInvalid  = "61" // 输入的卡号无效: no account with that card number
	CodeCardState    = "63" // 卡状态不正确: the card is frozen
	CodeNotEnough    = "64" // 余额不足: the merchant's payout funds fall short
	CodeNameMismatch = "66" // 持卡人身份信息不正确: the name is not the holder's
)

// DefaultPayoutFunds is what a merchant's payout account holds when the
// sim first meets the merchant: 1,000,000 yuan, in fen.
const DefaultPayoutFunds int64 = 100_000_000

// DefaultCardDailyLimit is what one card may receive per day (Beijing
// time) unless its Payee says otherwise: 50,000 yuan, in fen.
const DefaultCardDailyLimit int64 = 5_000_000

// maxFunds bounds a merchant's funds, far from int64 overflow.
const maxFunds int64 = 1_000_000_000_000_000

// Payee is a bank account the sim pays out to: a card number and its
// holder's name (a company's name for a company account).
type Payee struct {
	Card string
	Name string
	// DailyLimit is the most the card receives per day, fen; 0 means the
	// sim's (Options.CardDailyLimit).
	DailyLimit int64
	// Hold keeps the card's payouts processing when they are queried; only
	// DecidePayout (or its test endpoint) decides them.
	Hold bool
	// Frozen makes the card's payouts fail (63) when they are decided.
	Frozen bool
}

// The sim's test payees, there in every Sim.
var (
	PayeeCard    = Payee{Card: TestCard, Name: "全渠道"}
	PayeeZhang   = Payee{Card: "6226388000000095", Name: "张三"}
	PayeeHeld    = Payee{Card: "6216261000000000026", Name: "李四", Hold: true}
	PayeeFrozen  = Payee{Card: "6216261000000000034", Name: "王五", Frozen: true}
	PayeeLimited = Payee{Card: "6216261000000000042", Name: "赵六", DailyLimit: 100_000}
	PayeeCompany = Payee{Card: "6212142600000000167", Name: "中国银联单位结算卡"}
)

// UnknownCard is a card number the sim has no account of: payouts to it
// fail with 61.
const UnknownCard = "6216261000000000059"

// SeedPayees lists the test payees.
func SeedPayees() []Payee {
	return []Payee{PayeeCard, PayeeZhang, PayeeHeld, PayeeFrozen, PayeeLimited, PayeeCompany}
}

// payout is what a payout trade has besides a trade's fields. card and
// name are the payee as the merchant sent them: never logged.
type payout struct {
	card, name string
	accType    string
	day        string // acceptance day (Beijing time): its card-limit bucket
	accepted   bool   // the funds were held; false for a refusal on the spot
	decided    bool
	at         time.Time // accepted or refused
	decidedAt  time.Time
}

// payoutRequest is a payout request, read and checked.
type payoutRequest struct {
	amount     int64
	card, name string
	accType    string
}

// readPayout checks a payout request's fields and reads its payee.
func (s *Sim) readPayout(v map[string]string) (*payoutRequest, *apiError) {
	for _, k := range []string{"orderId", "txnTime", "txnAmt", "currencyCode", "backUrl", "channelType", "accNo"} {
		if v[k] == "" {
			return nil, fail("13", k)
		}
	}
	amount, ok := parseAmount(v["txnAmt"])
	if v["txnSubType"] != "00" || v["bizType"] != bizPayout || !ok || v["currencyCode"] != "156" || !validOrderID(v["orderId"]) {
		return nil, fail("10", "txnSubType/bizType/txnAmt/currencyCode/orderId")
	}
	if _, ok := parseTxnTime(v["txnTime"]); !ok {
		return nil, fail("10", "txnTime")
	}
	if v["channelType"] != "07" && v["channelType"] != "08" {
		return nil, fail("10", "channelType")
	}
	r := &payoutRequest{amount: amount, accType: v["accType"]}
	switch r.accType {
	case "", "01":
		if r.name, ok = customerName(v["customerInfo"]); !ok {
			return nil, fail("13", "customerInfo")
		}
	case "04":
		m, ok := parseBraced(v["reserved"])
		if !ok || m["comDebitCardAccName"] == "" {
			return nil, fail("13", "reserved.comDebitCardAccName")
		}
		r.name = m["comDebitCardAccName"]
	default:
		return nil, fail("10", "accType")
	}
	card, e := s.decryptAccNo(v)
	if e != nil {
		return nil, e
	}
	r.card = card
	return r, nil
}

// payout takes a payout request: accepted and processing, refused, or
// 12 when its orderId was used before.
func (s *Sim) payout(v map[string]string) (map[string]string, *apiError) {
	r, e := s.readPayout(v)
	if e != nil {
		return nil, e
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(v["merId"], v["orderId"])
	if s.trades[k] != nil {
		return nil, fail("12", "")
	}
	t := &trade{merID: v["merId"], orderID: v["orderId"], txnTime: v["txnTime"], txnType: txnPayout, amount: r.amount,
		backURL: v["backUrl"], reqReserved: v["reqReserved"], channelType: v["channelType"], submitted: true,
		accNo: mask(r.card), po: &payout{card: r.card, name: r.name, accType: r.accType, day: now.In(cst).Format("20060102"), at: now}}
	t.queryID, t.traceNo = s.numberLocked(21), s.numberLocked(6)
	s.trades[k] = t
	s.byQueryID[t.queryID] = t
	if e := s.holdFundsLocked(t); e != nil {
		t.origRespCode, t.origRespMsg = e.code, e.msg
		t.po.decided, t.po.decidedAt = true, now
		return nil, e
	}
	t.origRespCode, t.origRespMsg = CodeAccepted, respMsg[CodeAccepted]
	return map[string]string{"queryId": t.queryID, "txnAmt": v["txnAmt"]}, nil
}

// holdFundsLocked takes the payout's amount from the merchant's funds and
// the card's day, or says why not.
func (s *Sim) holdFundsLocked(t *trade) *apiError {
	funds := s.fundsLocked(t.merID)
	if funds < t.amount {
		return fail(CodeNotEnough, "代付账户余额不足")
	}
	limit := s.cardLimit
	if p, ok := s.payees[t.po.card]; ok && p.DailyLimit > 0 {
		limit = p.DailyLimit
	}
	dk := t.po.card + "/" + t.po.day
	if s.cardDay[dk]+t.amount > limit {
		return fail(CodeOverLimit, "超过收款卡单日限额")
	}
	s.funds[t.merID] = funds - t.amount
	s.cardDay[dk] += t.amount
	t.po.accepted = true
	return nil
}

// fundsLocked is a merchant's payout funds, opened with the default on
// first use.
func (s *Sim) fundsLocked(merID string) int64 {
	f, ok := s.funds[merID]
	if !ok {
		f = s.payoutFunds
		s.funds[merID] = f
	}
	return f
}

// verdictLocked is how a payout ends when nobody forces it: the card must
// be an account the sim knows, not frozen, and the name its holder's.
func (s *Sim) verdictLocked(po *payout) string {
	p, ok := s.payees[po.card]
	switch {
	case !ok:
		return CodeCardInvalid
	case p.Frozen:
		return CodeCardState
	case p.Name != po.name:
		return CodeNameMismatch
	}
	return "00"
}

// held reports whether queries leave a payout processing.
func (s *Sim) heldLocked(po *payout) bool { return s.payees[po.card].Hold }

// decideLocked ends a processing payout with code ("" for the verdict)
// and returns its notification; nil when it was decided already.
func (s *Sim) decideLocked(t *trade, code string, now time.Time) *simkit.Notice {
	po := t.po
	if po == nil || po.decided {
		return nil
	}
	if code == "" {
		code = s.verdictLocked(po)
	}
	po.decided, po.decidedAt = true, now
	t.origRespCode, t.origRespMsg = code, respMsg[code]
	if code == "00" {
		t.at = now // the statement's day
	} else {
		s.funds[t.merID] += t.amount
		s.cardDay[po.card+"/"+po.day] -= t.amount
	}
	return s.payoutNoticeLocked(t)
}

// payoutNoticeLocked is a decided payout's back notification: respCode
// is the outcome, 00 paid or the failure's code.
func (s *Sim) payoutNoticeLocked(t *trade) *simkit.Notice {
	v := map[string]string{"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "accessType": "0",
		"bizType": bizPayout, "txnType": txnPayout, "txnSubType": "00", "channelType": t.channelType,
		"merId": t.merID, "orderId": t.orderID, "txnTime": t.txnTime, "txnAmt": strconv.FormatInt(t.amount, 10),
		"currencyCode": "156", "queryId": t.queryID, "traceNo": t.traceNo,
		"traceTime": t.po.decidedAt.In(cst).Format("0102150405"), "respCode": t.origRespCode, "respMsg": t.origRespMsg,
		"accNo": t.accNo, "reqReserved": t.reqReserved}
	if t.origRespCode == "00" {
		v["settleDate"], v["settleAmt"], v["settleCurrencyCode"] = settleDay(t.at).Format("0102"), v["txnAmt"], "156"
	}
	return s.signedNotice(t, v)
}

// processing lists the codes UnionPay's payout guide says to keep
// querying on; a payout cannot be decided with them.
var processing = map[string]bool{"01": true, "03": true, "04": true, "05": true, "12": true, "34": true, "60": true}

// DecidePayout decides merchant merID's processing payout orderID now and
// sends its notification (the first attempt before it returns): code ""
// decides as a query would (the card and name checks, Hold or not), "00"
// pays, a failure code of UnionPay's table fails it with that code. A
// payout decided already stays as it is. It returns the payout's code.
func (s *Sim) DecidePayout(ctx context.Context, merID, orderID, code string) (string, error) {
	if _, known := respMsg[code]; code != "" && (!known || processing[code] || len(code) != 2) {
		return "", fmt.Errorf("unionpaysim: %q is no final payout code", code)
	}
	s.mu.Lock()
	t := s.trades[key(merID, orderID)]
	if t == nil || t.po == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("unionpaysim: merchant %s has no payout %s", merID, orderID)
	}
	n := s.decideLocked(t, code, s.now())
	got := t.origRespCode
	s.mu.Unlock()
	s.notifier.Send(ctx, n)
	return got, nil
}

// Funds returns a merchant's payout funds, fen.
func (s *Sim) Funds(merID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fundsLocked(merID)
}

// SetFunds sets a merchant's payout funds to fen (0 to maxFunds).
func (s *Sim) SetFunds(merID string, fen int64) error {
	if fen < 0 || fen > maxFunds {
		return fmt.Errorf("unionpaysim: funds of %d fen are out of range", fen)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.funds[merID] = fen
	return nil
}

// TopUp adds fen (positive) to a merchant's payout funds and returns them.
func (s *Sim) TopUp(merID string, fen int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fundsLocked(merID)
	if fen <= 0 || fen > maxFunds-f {
		return f, fmt.Errorf("unionpaysim: a top-up of %d fen is out of range", fen)
	}
	s.funds[merID] = f + fen
	return f + fen, nil
}

// AddPayee adds (or replaces) a payee account.
func (s *Sim) AddPayee(p Payee) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payees[p.Card] = p
}

// Payout states in snapshots.
const (
	PayoutProcessing = "processing"
	PayoutPaid       = "paid"
	PayoutFailed     = "failed" // refused, or failed when decided: no money left
)

// PayoutSnapshot is the sim's own record of one payout, whatever any
// merchant believes: one per merchant and orderId, however often it was
// sent.
type PayoutSnapshot struct {
	MerID, OrderID, QueryID string
	Amount                  int64
	Card                    string // masked
	State                   string
	RespCode                string // 05 processing, 00 paid, else the refusal's or failure's
	Accepted                bool   // false: refused on the spot, nothing held
	At, DecidedAt           time.Time
}

func snapshotOf(t *trade) PayoutSnapshot {
	ps := PayoutSnapshot{MerID: t.merID, OrderID: t.orderID, QueryID: t.queryID, Amount: t.amount, Card: t.accNo,
		RespCode: t.origRespCode, Accepted: t.po.accepted, At: t.po.at, DecidedAt: t.po.decidedAt, State: PayoutFailed}
	switch {
	case !t.po.decided:
		ps.State = PayoutProcessing
	case t.origRespCode == "00":
		ps.State = PayoutPaid
	}
	return ps
}

// Payouts returns every payout the sim holds, by merchant and orderId.
func (s *Sim) Payouts() []PayoutSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PayoutSnapshot
	for _, t := range s.trades {
		if t.po != nil {
			out = append(out, snapshotOf(t))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].MerID < out[j].MerID || out[i].MerID == out[j].MerID && out[i].OrderID < out[j].OrderID
	})
	return out
}

// Payout returns one payout's snapshot.
func (s *Sim) Payout(merID, orderID string) (PayoutSnapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trades[key(merID, orderID)]
	if t == nil || t.po == nil {
		return PayoutSnapshot{}, false
	}
	return snapshotOf(t), true
}
