package unionpay

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/polypay/polypay"
)

// UnionPay QR payment, consumer-presented (二维码被扫消费): the merchant
// scans the customer's UnionPay payment code (19 digits from 62) and
// sends it as qrNo in a purchase to backTransReq.do (txnType 01,
// txnSubType 06, bizType 000000, channelType 08). UnionPay accepts the
// request (respCode 00, or 03/04/05 while it does not know yet; 12 for a
// repeat) and the
// outcome comes as the back notification and the query, as for the other
// channels; refunds and same-day cancellations name bizType 000000 too.

// ChannelScan is polypay's channel for a scanned UnionPay payment code
// (Ping++ reaches it through isv_scan).
const ChannelScan = "upacp_scan"

// bizQRC is the QR payment product's bizType.
const bizQRC = "000000"

// scanTimeout bounds how long a scanned code's purchase waits for the
// customer to confirm in the app (payTimeout): a counter does not wait
// longer, and after it the order can be closed.
const scanTimeout = 120

// payDeadline is when an unpaid order lapses at UnionPay (its payTimeout),
// 0 for none.
func payDeadline(ch *polypay.Charge) int64 {
	if ch.Channel == ChannelScan && (ch.TimeExpire == 0 || ch.TimeExpire > ch.Created+scanTimeout) {
		return ch.Created + scanTimeout
	}
	return ch.TimeExpire
}

// IsPaymentCode reports whether s has the form of a UnionPay payment code.
func IsPaymentCode(s string) bool { return len(s) == 19 && s[0] == '6' && s[1] == '2' && digits(s) }

type scanExtra struct {
	ScanCode   string `json:"scan_code"`
	TerminalID string `json:"terminal_id"`
}

// bizOf is the bizType of a charge's trade and its follow-ups.
func bizOf(ch *polypay.Charge) string {
	if ch.Channel == ChannelScan {
		return bizQRC
	}
	return bizPurchase
}

// createScan sends the scanned code. The credential records what was
// asked and UnionPay's answer, never the code.
func (c *Client) createScan(ctx context.Context, req polypay.ChannelRequest, orderID string) ([]byte, error) {
	ch := req.Charge
	if req.AuthorizeOnly {
		return nil, polypay.ErrNotSupported(c.channel, "pre-authorization")
	}
	var ex scanExtra
	if len(ch.Extra) > 0 {
		if err := json.Unmarshal(ch.Extra, &ex); err != nil {
			return nil, polypay.ParamError("extra", "extra must be an object: %v", err)
		}
	}
	// Presence first, then form: a missing parameter is named before a bad one.
	if ex.ScanCode == "" {
		return nil, polypay.ParamError("extra[scan_code]", "upacp_scan requires extra.scan_code, a UnionPay payment code (19 digits from 62)")
	}
	if ex.TerminalID == "" || len(ex.TerminalID) > 32 {
		return nil, polypay.ParamError("extra[terminal_id]", "upacp_scan requires extra.terminal_id, up to 32 characters")
	}
	if !IsPaymentCode(ex.ScanCode) {
		return nil, polypay.ParamError("extra[scan_code]", "extra.scan_code is not a UnionPay payment code (19 digits from 62)")
	}
	f := c.fields(txnPurchase, "06", bizQRC)
	f["orderId"], f["txnTime"], f["txnAmt"] = orderID, TxnTime(ch.Created), strconv.FormatInt(ch.Amount, 10)
	f["currencyCode"], f["backUrl"], f["channelType"] = currencyCNY, req.NotifyURL, channelPhone
	f["qrNo"], f["payTimeout"] = ex.ScanCode, TxnTime(payDeadline(ch))
	if len(ex.TerminalID) <= 8 && alnum(ex.TerminalID) {
		f["termId"] = ex.TerminalID // UnionPay's termId is 8 letters or digits at most; others stay ours
	}
	rsp, err := c.post(ctx, c.base+PathBack, f)
	if err != nil {
		return nil, err
	}
	// 12: this orderId was sent before (a repeated create): its outcome
	// is the first request's, which the query and notification tell.
	code := rsp["respCode"]
	if code != "00" && code != "12" && !unknownOutcome(code) {
		return nil, refusal("qrc consume", rsp)
	}
	return json.Marshal(map[string]string{"orderId": orderID, "txnTime": f["txnTime"], "respCode": code})
}
