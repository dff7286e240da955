package unionpay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/polypay/polypay"
)

// ParseNotification verifies and parses a back notification (a form POST
// to backUrl). txnType 01 is a purchase, 04 a refund and 31 a purchase
// cancellation (smartwalle/unionpay decodes 04 and 31 the wrong way
// round); 02 a pre-authorization (the hold: TradeAuthorized), 03 its
// completion (the capture: TradePaid for the completed amount) and 32 its
// cancel (TradeClosed, which core ignores for an authorized charge). The charge of a refund or cancellation comes from reqReserved,
// which polypay sets to the charge's orderId and UnionPay signs and echoes.
// txnType 12 with bizType 000401 is a payout (NotifyPayout: the orderId is
// the transfer's PayoutNo, respCode its outcome by payoutState).
// ErrBadSignature when the signature or signPubKeyCert does not verify.
func (c *Client) ParseNotification(_ context.Context, req polypay.NotifyRequest) (*polypay.Notification, error) {
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return nil, fmt.Errorf("unionpay notification: %w", err)
	}
	v := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) != 1 {
			return nil, fmt.Errorf("unionpay notification: field %s repeated", k)
		}
		v[k] = vs[0]
	}
	if err := c.vf.verify(v); err != nil {
		return nil, err
	}
	return parseVerified(v, c.now)
}

func parseVerified(v map[string]string, now func() time.Time) (*polypay.Notification, error) {
	amount, err := parseFen(v["txnAmt"])
	if err != nil {
		return nil, err
	}
	if v["txnType"] == txnPayout {
		return parsePayout(v, now())
	}
	n := &polypay.Notification{ID: v["queryId"], MerchantID: v["merId"]}
	at := traceTime(v["traceTime"], now())
	ok := v["respCode"] == "00" || v["respCode"] == "A6"
	switch v["txnType"] {
	case "01":
		n.Kind = polypay.NotifyTrade
		n.Trade = polypay.Trade{OutTradeNo: ChargeID(v["orderId"]), TransactionNo: v["queryId"], TradeID: v["queryId"], Amount: amount}
		if ok {
			n.Trade.State, n.Trade.PaidAt = polypay.TradePaid, at
		} else {
			n.Trade.State, n.Trade.FailureCode, n.Trade.FailureMsg = polypay.TradeFailed, v["respCode"], v["respMsg"]
		}
	case txnPreAuth:
		n.Kind = polypay.NotifyTrade
		n.Trade = polypay.Trade{OutTradeNo: ChargeID(v["orderId"]), TransactionNo: v["queryId"], TradeID: v["queryId"]}
		if ok {
			n.Trade.State, n.Trade.AmountAuthorized = polypay.TradeAuthorized, amount
		} else {
			n.Trade.State, n.Trade.FailureCode, n.Trade.FailureMsg = polypay.TradeFailed, v["respCode"], v["respMsg"]
		}
	case txnPreAuthFinish:
		n.Kind = polypay.NotifyTrade
		n.Trade = polypay.Trade{OutTradeNo: ChargeID(v["reqReserved"]), TransactionNo: v["queryId"], TradeID: v["origQryId"]}
		if ok {
			n.Trade.State, n.Trade.Amount, n.Trade.PaidAt = polypay.TradePaid, amount, at
		} else {
			// A refused completion leaves the hold as it was.
			n.Trade.State, n.Trade.TransactionNo = polypay.TradeAuthorized, v["origQryId"]
		}
	case txnPreAuthCancel:
		n.Kind = polypay.NotifyTrade
		n.Trade = polypay.Trade{OutTradeNo: ChargeID(v["reqReserved"]), TransactionNo: v["origQryId"], TradeID: v["origQryId"], State: polypay.TradeClosed}
		if !ok {
			n.Trade.State = polypay.TradeAuthorized
		}
	case "04":
		n.Kind = polypay.NotifyRefund
		n.Trade = polypay.Trade{OutTradeNo: ChargeID(v["reqReserved"]), TransactionNo: v["origQryId"], TradeID: v["origQryId"]}
		n.RefundNo, n.RefundAmount, n.RefundAt = v["orderId"], amount, at
		n.RefundStatus = polypay.RefundSucceeded
		if !ok {
			n.RefundStatus = polypay.RefundFailed
		}
	case "31":
		// A cancellation undoes a paid purchase; polypay has no state for
		// it beyond the charge's own, so it is reported as the trade
		// closing, which never changes a paid charge.
		n.Kind = polypay.NotifyTrade
		n.Trade = polypay.Trade{OutTradeNo: ChargeID(v["reqReserved"]), TransactionNo: v["origQryId"], TradeID: v["origQryId"], Amount: amount, State: polypay.TradeClosed}
	default:
		return nil, &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("unionpay notification txnType %q is not supported", v["txnType"])}
	}
	if n.Trade.OutTradeNo == "" {
		return nil, fmt.Errorf("unionpay notification: no polypay charge in orderId/reqReserved")
	}
	// currencyCode is ISO 4217 numeric (156 for CNY), signed with the rest.
	n.Trade.Currency = v["currencyCode"]
	return n, nil
}

// parsePayout reads a verified payout notification. Payouts are in CNY
// only, and PayoutResult states no currency, so any other currencyCode is
// refused here.
func parsePayout(v map[string]string, now time.Time) (*polypay.Notification, error) {
	if v["bizType"] != bizPayout {
		return nil, &polypay.Error{Code: polypay.ENotSupported, Message: fmt.Sprintf("unionpay notification txnType 12 of bizType %q is not supported", v["bizType"])}
	}
	if !validPayoutNo(v["orderId"]) {
		return nil, fmt.Errorf("unionpay payout notification: orderId %q is no polypay payout", v["orderId"])
	}
	if v["currencyCode"] != currencyCNY {
		return nil, fmt.Errorf("unionpay payout notification: currencyCode %q, want %s", v["currencyCode"], currencyCNY)
	}
	res, err := payoutResult(v["respCode"], v["respMsg"], v, now)
	if err != nil {
		return nil, err
	}
	return &polypay.Notification{Kind: polypay.NotifyPayout, ID: v["queryId"], MerchantID: v["merId"],
		PayoutNo: v["orderId"], Payout: res}, nil
}

// TradeID is the UnionPay trade polypay keeps for a charge: the queryId
// of its purchase once paid, or of its pre-authorization's hold while
// held (and after it was released), which later messages name as
// origQryId. A completed pre-authorization keeps the completion's queryId
// instead, which is not the hold's: "" then.
func TradeID(c *polypay.Charge) string {
	if c.AuthOnly && c.Paid() {
		return ""
	}
	return c.TransactionNo
}

// Ack answers 200 "ok" to acknowledge; anything else makes UnionPay send
// the notification again (5 sends in all, 1, 2, 4 and 5 minutes apart).
func (c *Client) Ack(ok bool) polypay.NotifyReply {
	if ok {
		return polypay.NotifyReply{Status: http.StatusOK, Body: []byte("ok")}
	}
	return polypay.NotifyReply{Status: http.StatusInternalServerError, Body: []byte("fail")}
}
