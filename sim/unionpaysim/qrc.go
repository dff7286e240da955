package unionpaysim

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// The QR payment's consumer-presented purchase (二维码被扫消费): the
// merchant sends the customer's payment code as qrNo to backTransReq.do
// (txnType 01, txnSubType 06, bizType 000000). UnionPay accepts it
// (respCode 00) and notifies the outcome. In the sim the code's third and
// fourth digits decide what the customer's app does: "99" the issuer
// declines (origRespCode 60, no notification), "98" the customer must
// confirm the amount in the app (unpaid until PayCode settles it), and
// anything else pays at once. NewPaymentCode makes such codes.

// Payment-code outcomes for NewPaymentCode.
const (
	CodePays     = "pay"
	CodeConfirms = "confirm"
	CodeDeclines = "decline"
)

// NewPaymentCode returns a fresh 19-digit UnionPay payment code with the
// outcome given.
func NewPaymentCode(outcome string) string {
	mid := map[string]string{CodeConfirms: "98", CodeDeclines: "99"}[outcome]
	if mid == "" {
		mid = "20"
	}
	n := fmt.Sprintf("%015d", randomDigits())
	return "62" + mid + n
}

func randomDigits() int64 {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000_000_000_000))
	return n.Int64()
}

func validCode(s string) bool {
	if len(s) != 19 || s[0] != '6' || s[1] != '2' {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// qrcPurchase takes a scanned code's purchase.
func (s *Sim) qrcPurchase(v map[string]string) (map[string]string, *apiError) {
	for _, k := range []string{"orderId", "txnTime", "txnAmt", "backUrl", "qrNo", "currencyCode"} {
		if v[k] == "" {
			return nil, fail("13", k)
		}
	}
	amount, ok := parseAmount(v["txnAmt"])
	if !ok || v["currencyCode"] != "156" || !validOrderID(v["orderId"]) || v["channelType"] != "08" {
		return nil, fail("10", "txnAmt/currencyCode/orderId/channelType")
	}
	if _, ok := parseTxnTime(v["txnTime"]); !ok {
		return nil, fail("10", "txnTime")
	}
	if !validCode(v["qrNo"]) {
		return nil, fail("10", "qrNo")
	}
	now := s.now()
	s.mu.Lock()
	k := key(v["merId"], v["orderId"])
	if s.trades[k] != nil {
		s.mu.Unlock()
		return nil, fail("12", "")
	}
	var timeout time.Time
	if v["payTimeout"] != "" {
		if timeout, ok = parseTxnTime(v["payTimeout"]); !ok {
			return nil, fail("10", "payTimeout")
		}
	}
	t := &trade{merID: v["merId"], orderID: v["orderId"], txnTime: v["txnTime"], txnType: "01", amount: amount, payTimeout: timeout,
		backURL: v["backUrl"], reqReserved: v["reqReserved"], channelType: v["channelType"], submitted: true, qrc: true, biz: "000000",
		subMer: subMerOf(v)}
	s.trades[k] = t
	switch v["qrNo"][2:4] {
	case "99":
		t.origRespCode, t.origRespMsg = "60", respMsg["60"]
		s.mu.Unlock()
		return map[string]string{}, nil
	case "98":
		t.origRespCode, t.origRespMsg = "05", "交易处理中，请稍后查询" // waiting for the customer in the app
		s.mu.Unlock()
		return map[string]string{}, nil
	}
	t.origRespCode, t.origRespMsg, t.at, t.accNo = "00", respMsg["00"], now, mask(TestCard)
	t.queryID, t.traceNo = s.numberLocked(21), s.numberLocked(6)
	s.byQueryID[t.queryID] = t
	n := s.noticeLocked(t)
	s.mu.Unlock()
	s.notifier.Post(n) // the answer goes first; the notification follows
	return map[string]string{}, nil
}

// lapseLocked fails a waiting code's purchase past its payTimeout, as
// UnionPay does when the customer never confirms.
func (s *Sim) lapseLocked(t *trade, now time.Time) {
	if t.qrc && t.origRespCode == "05" && !t.payTimeout.IsZero() && now.After(t.payTimeout) {
		t.origRespCode, t.origRespMsg = "60", "交易超时，用户未确认"
	}
}

// PayCode plays the customer confirming (or refusing) in the app a
// scanned code's purchase that waits for them ("98" codes).
func (s *Sim) PayCode(ctx context.Context, merID, orderID string, success bool) error {
	s.mu.Lock()
	t := s.trades[key(merID, orderID)]
	s.mu.Unlock()
	if t == nil || !t.qrc {
		return fmt.Errorf("unionpaysim: no scanned purchase %s of merchant %s", orderID, merID)
	}
	return s.settle(ctx, t, success, TestCard)
}
