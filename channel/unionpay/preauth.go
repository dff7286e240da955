package unionpay

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/polypay/polypay"
)

// Transaction types (txnType) of the online gateway that polypay sends or
// reads.
const (
	txnQuery         = "00"
	txnPurchase      = "01"
	txnPreAuth       = "02" // 预授权: the customer's card is held, not charged
	txnPreAuthFinish = "03" // 预授权完成: takes (part of) the hold; the capture
	txnRefund        = "04"
	txnRevoke        = "31" // 消费撤销
	txnPreAuthCancel = "32" // 预授权撤销: releases the whole hold
	txnFinishCancel  = "33" // 预授权完成撤销: not sent by polypay (refunds are used instead)
)

// HoldPeriod is how long UnionPay keeps a pre-authorization: a completion
// must come within 30 days, after which the hold is released by itself.
const HoldPeriod = 30 * 24 * time.Hour

// Pre-authorization follow-ups travel under orderIds of their own, made
// from the charge's: "pc" (completion) and "pv" (cancel) instead of "ch".
// UnionPay wants a new orderId for each, and a fixed one per charge makes
// a repeated capture or void the same transaction (respCode 12) rather
// than a second one.
func finishOrderID(orderID string) string { return "pc" + orderID[2:] }
func cancelOrderID(orderID string) string { return "pv" + orderID[2:] }

// chargeOfOrder is ChargeID for the charge's own orderId and for its
// completion's and cancel's.
func chargeOfOrder(orderID string) string {
	if len(orderID) > 2 && (orderID[:2] == "pc" || orderID[:2] == "pv") {
		return ChargeID("ch" + orderID[2:])
	}
	return ChargeID(orderID)
}

// followUpTime is the txnTime of a completion or cancel: the charge's own
// (the pre-authorization's). UnionPay finds an order by orderId and
// txnTime only, so a fixed txnTime is what lets a later query, or a
// repeated capture whose answer was lost, find the completion again. The
// UnionPay demos ask for the current time instead ("否则会报txnTime无效");
// see the package documentation on that risk.
func followUpTime(ch *polypay.Charge) string { return TxnTime(ch.Created) }

// hold is what UnionPay knows about a pre-authorization and its follow-ups.
type hold struct {
	orderID string
	queryID string // the pre-authorization's, origQryId of its follow-ups
	amount  int64
	at      int64 // when the card was held, unix seconds; 0 if unknown
	trade   *polypay.Trade
}

// preAuthTrade completes a query answer about a pre-authorization (txnType
// 02) with its completion and cancel, which UnionPay reports under their
// own orderIds: a successful completion makes the trade paid (Amount is
// what was taken, TransactionNo the completion's queryId, which refunds
// name as origQryId); a successful cancel, or a hold past HoldPeriod,
// closes it; otherwise a held pre-authorization is TradeAuthorized.
func (c *Client) preAuthTrade(ctx context.Context, ch *polypay.Charge, orderID string, rsp map[string]string) (*polypay.Trade, error) {
	h, err := c.readHold(ctx, ch, orderID, rsp)
	if err != nil {
		return nil, err
	}
	return h.trade, nil
}

func (c *Client) readHold(ctx context.Context, ch *polypay.Charge, orderID string, rsp map[string]string) (*hold, error) {
	// The hold's queryId names the trade in every later message (origQryId).
	t := &polypay.Trade{OutTradeNo: ch.ID, TradeID: rsp["queryId"], Currency: rsp["currencyCode"]}
	h := &hold{orderID: orderID, queryID: rsp["queryId"], trade: t}
	st, err := origState(rsp["origRespCode"])
	if err != nil {
		return nil, err
	}
	switch st {
	case polypay.TradePending:
		t.State = polypay.TradePending
		return h, nil
	case polypay.TradeFailed:
		t.State, t.FailureCode, t.FailureMsg = polypay.TradeFailed, rsp["origRespCode"], rsp["origRespMsg"]
		return h, nil
	}
	if h.amount, err = parseFen(rsp["txnAmt"]); err != nil {
		return nil, err
	}
	h.at = traceTime(rsp["traceTime"], c.now())
	fin, err := c.followUp(ctx, finishOrderID(orderID), followUpTime(ch), txnPreAuthFinish)
	if err != nil {
		return nil, err
	}
	if fin != nil {
		fst, err := origState(fin["origRespCode"])
		if err != nil {
			return nil, err
		}
		if fst == polypay.TradePaid {
			t.State, t.TransactionNo = polypay.TradePaid, fin["queryId"]
			if fin["currencyCode"] != "" {
				t.Currency = fin["currencyCode"]
			}
			if t.Amount, err = parseFen(fin["txnAmt"]); err != nil {
				return nil, err
			}
			t.PaidAt = traceTime(fin["traceTime"], c.now())
			return h, nil
		}
		// A completion in doubt (03/04/05) or refused leaves the hold as
		// it was; Capture sorts out the first by asking again.
	}
	cancel, err := c.followUp(ctx, cancelOrderID(orderID), followUpTime(ch), txnPreAuthCancel)
	if err != nil {
		return nil, err
	}
	if cancel != nil {
		if cst, err := origState(cancel["origRespCode"]); err != nil {
			return nil, err
		} else if cst == polypay.TradePaid {
			t.State, t.TransactionNo = polypay.TradeClosed, h.queryID
			return h, nil
		}
	}
	if h.at != 0 && c.now().Unix() > h.at+int64(HoldPeriod/time.Second) {
		t.State, t.TransactionNo = polypay.TradeClosed, h.queryID
		return h, nil
	}
	t.State, t.AmountAuthorized, t.TransactionNo = polypay.TradeAuthorized, h.amount, h.queryID
	return h, nil
}

// followUp queries a completion or cancel; nil when UnionPay has none
// (respCode 34).
func (c *Client) followUp(ctx context.Context, orderID, txnTime, txnType string) (map[string]string, error) {
	f := c.fields(txnQuery, "00", bizNone)
	f["orderId"], f["txnTime"] = orderID, txnTime
	rsp, err := c.post(ctx, c.base+PathQuery, f)
	if err != nil {
		return nil, err
	}
	switch rsp["respCode"] {
	case "34":
		return nil, nil
	case "00":
	default:
		return nil, refusal("query", rsp)
	}
	if rsp["orderId"] != orderID || rsp["merId"] != c.merID || rsp["txnType"] != txnType {
		return nil, fmt.Errorf("unionpay query: answer names order %q txnType %q of merchant %q", rsp["orderId"], rsp["txnType"], rsp["merId"])
	}
	return rsp, nil
}

// currentHold queries the charge's pre-authorization.
func (c *Client) currentHold(ctx context.Context, ch *polypay.Charge) (*hold, error) {
	orderID, err := OrderID(ch.ID)
	if err != nil {
		return nil, err
	}
	rsp, err := c.query(ctx, orderID, ch.Created)
	if err != nil {
		return nil, err
	}
	switch rsp["respCode"] {
	case "00":
	case "34":
		return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: "34", Message: "UnionPay has no pre-authorization " + ch.ID + " (查无此交易)"}
	default:
		return nil, refusal("query", rsp)
	}
	if rsp["orderId"] != orderID || rsp["merId"] != c.merID {
		return nil, fmt.Errorf("unionpay query: answer names order %q of merchant %q", rsp["orderId"], rsp["merId"])
	}
	if rsp["txnType"] != txnPreAuth {
		return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: rsp["txnType"],
			Message: "UnionPay order " + ch.ID + " is not a pre-authorization (txnType " + rsp["txnType"] + ")"}
	}
	return c.readHold(ctx, ch, orderID, rsp)
}

func notHeld(h *hold, op string) error {
	msg := fmt.Sprintf("UnionPay pre-authorization is %s: nothing to %s", h.trade.State, op)
	switch h.trade.State {
	case polypay.TradePaid:
		msg = "UnionPay pre-authorization was completed already (预授权已完成): nothing to " + op
	case polypay.TradeClosed:
		msg = "UnionPay pre-authorization was cancelled or has expired (预授权已撤销或已过期): nothing to " + op
	}
	return &polypay.Error{Code: polypay.EChannel, ChannelCode: "35", Message: msg}
}

// Capture is CaptureNotify to the notify URL in ctx (polypay.WithNotifyURL,
// set by core), else to the backUrl the charge's upacp_wap or upacp_pc
// credential was signed with. UnionPay requires a backUrl: EInvalid when
// there is neither.
func (c *Client) Capture(ctx context.Context, ch *polypay.Charge, amount int64) (*polypay.Trade, error) {
	u, err := backURL(ctx, ch)
	if err != nil {
		return nil, err
	}
	return c.CaptureNotify(ctx, ch, amount, u)
}

// Void is VoidNotify to the notify URL found as Capture finds it.
func (c *Client) Void(ctx context.Context, ch *polypay.Charge) error {
	u, err := backURL(ctx, ch)
	if err != nil {
		return err
	}
	return c.VoidNotify(ctx, ch, u)
}

// CaptureNotify completes the pre-authorization (txnType 03, origQryId the
// pre-authorization's queryId) for amount fen, 0 meaning all of it.
// UnionPay would complete up to 115% of the held amount; polypay takes at
// most what was held (a charge's amount is what the customer agreed to),
// so more is EInvalid. A repeat finds the first completion (respCode 12,
// then the query) and returns it if it took the same amount. EChannel when
// the hold was cancelled, has expired or was completed for another amount.
func (c *Client) CaptureNotify(ctx context.Context, ch *polypay.Charge, amount int64, notifyURL string) (*polypay.Trade, error) {
	if amount == 0 {
		amount = ch.Amount
	}
	if amount < 0 || amount > ch.Amount {
		return nil, polypay.ParamError("amount", "capture amount must be between 1 and the authorized amount %d (polypay does not use UnionPay's 115%% completion allowance)", ch.Amount)
	}
	h, err := c.currentHold(ctx, ch)
	if err != nil {
		return nil, err
	}
	switch h.trade.State {
	case polypay.TradeAuthorized:
	case polypay.TradePaid:
		return sameCapture(h.trade, amount)
	default:
		return nil, notHeld(h, "capture")
	}
	if amount > h.amount {
		return nil, polypay.ParamError("amount", "capture amount %d exceeds the %d UnionPay holds", amount, h.amount)
	}
	f := c.fields(txnPreAuthFinish, "00", bizPurchase)
	f["orderId"], f["origQryId"], f["txnAmt"], f["txnTime"] = finishOrderID(h.orderID), h.queryID, strconv.FormatInt(amount, 10), followUpTime(ch)
	f["currencyCode"], f["backUrl"], f["channelType"], f["reqReserved"] = currencyCNY, notifyURL, channelPC, h.orderID
	rsp, err := c.post(ctx, c.base+PathBack, f)
	if err != nil {
		return nil, err
	}
	switch rsp["respCode"] {
	case "00", "12":
	default:
		return nil, refusal("pre-authorization completion", rsp)
	}
	after, err := c.currentHold(ctx, ch)
	if err != nil {
		return nil, err
	}
	if after.trade.State != polypay.TradePaid {
		return nil, fmt.Errorf("unionpay pre-authorization completion accepted, but the order is %s; query again", after.trade.State)
	}
	return sameCapture(after.trade, amount)
}

func sameCapture(t *polypay.Trade, amount int64) (*polypay.Trade, error) {
	if t.Amount != amount {
		return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: "12",
			Message: fmt.Sprintf("UnionPay pre-authorization was completed for %d already, not %d", t.Amount, amount)}
	}
	return t, nil
}

// VoidNotify cancels the pre-authorization (txnType 32, the whole held
// amount, origQryId the pre-authorization's queryId). A hold cancelled
// before or expired is released already: nil. EChannel (35) when it was
// completed.
func (c *Client) VoidNotify(ctx context.Context, ch *polypay.Charge, notifyURL string) error {
	h, err := c.currentHold(ctx, ch)
	if err != nil {
		return err
	}
	switch h.trade.State {
	case polypay.TradeAuthorized:
	case polypay.TradeClosed:
		return nil
	default:
		return notHeld(h, "void")
	}
	f := c.fields(txnPreAuthCancel, "00", bizPurchase)
	f["orderId"], f["origQryId"], f["txnAmt"], f["txnTime"] = cancelOrderID(h.orderID), h.queryID, strconv.FormatInt(h.amount, 10), followUpTime(ch)
	f["currencyCode"], f["backUrl"], f["channelType"], f["reqReserved"] = currencyCNY, notifyURL, channelPC, h.orderID
	rsp, err := c.post(ctx, c.base+PathBack, f)
	if err != nil {
		return err
	}
	switch rsp["respCode"] {
	case "00", "12":
		return nil
	}
	return refusal("pre-authorization cancel", rsp)
}

// backURL is where a completion's or cancel's notification goes.
func backURL(ctx context.Context, ch *polypay.Charge) (string, error) {
	if u := polypay.NotifyURL(ctx); u != "" {
		return u, nil
	}
	var m map[string]any
	_ = json.Unmarshal(ch.Credential, &m)
	if s, _ := m["backUrl"].(string); s != "" {
		return s, nil
	}
	return "", polypay.Errorf(polypay.EInvalid, "unionpay: no notify URL for the completion's or cancel's backUrl (polypay.WithNotifyURL) for charge %s", ch.ID)
}
