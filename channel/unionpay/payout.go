package unionpay

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay"
)

// Payouts (代付, Ping++'s transfer channel unionpay) are UnionPay's payout
// service on backTransReq.do: txnType 12, txnSubType 00, bizType 000401,
// signed like every other request. The orderId is the transfer's PayoutNo
// (24 letters and digits). The card number (accNo) is encrypted under
// UnionPay's encryption certificate when the credentials carry one
// (encrypt_cert; encryptCertId is its serial), and sent in the clear
// otherwise, as UnionPay's test environment takes it. A personal account
// (type b2c) names its holder in customerInfo, base64 of {customerNm=...};
// a company account (b2b) is accType 04 with the name as
// comDebitCardAccName in reserved, as UnionPay's payout demo sends a
// company settlement card.
//
// UnionPay's answer only accepts the payout (respCode 00, 受理); it is
// decided later, told by a back notification (txnType 12, bizType 000401:
// ParseNotification) or a query (txnType 00 by orderId and txnTime).
const (
	txnPayout = "12"
	bizPayout = "000401"
)

// PayoutTxnTime is a payout's txnTime, which a query must send again:
// UnionPay finds an order only by orderId and txnTime. It is derived from
// the transfer, never from the clock, so every call for one transfer,
// after any restart, sends the same one: the moment the transfer was
// approved when it waited for approval (a scheduled payout may be sent
// days after its creation, and UnionPay expects a recent txnTime on a new
// request), its creation otherwise; in Beijing time (Asia/Shanghai, UTC+8
// all year). Core must set ApprovedAt before the first Transfer call and
// never change it afterwards.
func PayoutTxnTime(t *polypay.Transfer) string { return TxnTime(payoutMoment(t)) }

func payoutMoment(t *polypay.Transfer) int64 {
	if t.ApprovedAt > t.Created {
		return t.ApprovedAt
	}
	return t.Created
}

// validPayoutNo: a polypay PayoutNo, 24 letters and digits (UnionPay
// allows 8 to 40).
func validPayoutNo(s string) bool { return len(s) == 24 && alnum(s) }

// payoutRequest is a payout request's own fields (besides fields()).
type payoutRequest struct {
	OrderID       string
	TxnTime       string
	TxnAmt        string
	AccNo         string // encrypted when EncryptCertID is set
	EncryptCertID string
	AccType       string // "" (a card) or 04 (a company account)
	CustomerInfo  string // personal accounts
	Reserved      string // company accounts: {comDebitCardAccName=...}
	BackURL       string
}

func (r *payoutRequest) fields(f map[string]string) map[string]string {
	f["channelType"], f["currencyCode"] = channelPC, currencyCNY
	f["orderId"], f["txnTime"], f["txnAmt"], f["backUrl"] = r.OrderID, r.TxnTime, r.TxnAmt, r.BackURL
	f["accNo"], f["encryptCertId"], f["accType"] = r.AccNo, r.EncryptCertID, r.AccType
	f["customerInfo"], f["reserved"] = r.CustomerInfo, r.Reserved
	for k, v := range f {
		if v == "" {
			delete(f, k) // unset optional fields are not sent
		}
	}
	return f
}

func (c *Client) newPayoutRequest(t *polypay.Transfer, p *payee, notifyURL string) (*payoutRequest, error) {
	no := t.PayoutNo()
	if !validPayoutNo(no) {
		return nil, polypay.ParamError("id", "transfer id %q cannot be a UnionPay orderId", t.ID)
	}
	r := &payoutRequest{OrderID: no, TxnTime: PayoutTxnTime(t), TxnAmt: strconv.FormatInt(t.Amount, 10),
		AccNo: p.CardNumber, BackURL: notifyURL}
	if c.enc != nil {
		acc, err := c.enc.encrypt(p.CardNumber)
		if err != nil {
			return nil, err
		}
		r.AccNo, r.EncryptCertID = acc, c.enc.certID
	}
	if t.Type == "b2b" {
		r.AccType, r.Reserved = "04", "{comDebitCardAccName="+p.UserName+"}"
	} else {
		r.CustomerInfo = customerInfo(p.UserName)
	}
	return r, nil
}

// Transfer asks UnionPay to pay t. An accepted payout is processing (its
// queryId the TransactionNo); a repeat of the orderId (respCode 12) is
// answered by a query, so calling Transfer twice pays once and says how
// the first went. EInvalid for a bad transfer; EChannel, with UnionPay's
// code, for a refusal (nothing was paid); any other error leaves the
// outcome unknown: query first.
func (c *Client) Transfer(ctx context.Context, req polypay.PayoutRequest) (*polypay.PayoutResult, error) {
	if err := c.platformOnly("payouts"); err != nil {
		return nil, err
	}
	t := req.Transfer
	p, err := checkTransfer(t)
	if err != nil {
		return nil, err
	}
	r, err := c.newPayoutRequest(t, p, req.NotifyURL)
	if err != nil {
		return nil, err
	}
	rsp, err := c.post(ctx, c.base+PathBack, r.fields(c.fields(txnPayout, "00", bizPayout)))
	if err != nil {
		return nil, err
	}
	code := rsp["respCode"]
	switch answerOf(code) {
	case payoutAccepted:
		return c.accepted(r.OrderID, rsp)
	case payoutDuplicate:
		res, err := c.QueryTransfer(ctx, t)
		if err == nil && res.State == polypay.PayoutNotFound {
			return nil, fmt.Errorf("unionpay payout %s: respCode 12 (repeated) but a query finds nothing", r.OrderID)
		}
		return res, err
	case payoutInDoubt:
		return nil, fmt.Errorf("unionpay payout %s: outcome unknown (respCode %s %s)", r.OrderID, code, redact(rsp["respMsg"], p))
	}
	msg := redact(rsp["respMsg"], p)
	if msg == "" {
		msg = "UnionPay refused the payout with respCode " + code
		return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: code, Message: msg}
	}
	return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: code, Message: msg, ChannelMessage: msg}
}

// accepted reads a payout's acceptance: the answer must be about it.
func (c *Client) accepted(orderID string, rsp map[string]string) (*polypay.PayoutResult, error) {
	if rsp["orderId"] != orderID || rsp["merId"] != c.merID {
		return nil, fmt.Errorf("unionpay payout: answer names order %q of merchant %q", rsp["orderId"], rsp["merId"])
	}
	res := &polypay.PayoutResult{State: polypay.PayoutProcessing, TransactionNo: rsp["queryId"]}
	if rsp["txnAmt"] != "" {
		amount, err := parseFen(rsp["txnAmt"])
		if err != nil {
			return nil, err
		}
		res.Amount = amount
	}
	return res, nil
}

// QueryTransfer asks queryTrans.do about the transfer's orderId with its
// PayoutTxnTime. PayoutNotFound when UnionPay has no such order (respCode
// 34); otherwise the payout's outcome by its origRespCode (payoutState).
func (c *Client) QueryTransfer(ctx context.Context, t *polypay.Transfer) (*polypay.PayoutResult, error) {
	no := t.PayoutNo()
	if !validPayoutNo(no) {
		return nil, polypay.ParamError("id", "transfer id %q cannot be a UnionPay orderId", t.ID)
	}
	rsp, err := c.query(ctx, no, payoutMoment(t))
	if err != nil {
		return nil, err
	}
	switch rsp["respCode"] {
	case "34":
		return &polypay.PayoutResult{State: polypay.PayoutNotFound}, nil
	case "00":
	default:
		return nil, refusal("payout query", rsp)
	}
	if rsp["orderId"] != no || rsp["merId"] != c.merID || rsp["txnType"] != txnPayout {
		return nil, fmt.Errorf("unionpay payout query: answer names order %q of merchant %q, txnType %q", rsp["orderId"], rsp["merId"], rsp["txnType"])
	}
	return payoutResult(rsp["origRespCode"], rsp["origRespMsg"], rsp, c.now())
}

// payoutResult reads a payout's outcome, code and msg (a notification's
// respCode/respMsg or a query's origRespCode/origRespMsg), with its
// amount, queryId and traceTime from v. A paid payout states its amount.
func payoutResult(code, msg string, v map[string]string, now time.Time) (*polypay.PayoutResult, error) {
	st, err := payoutState(code)
	if err != nil {
		return nil, err
	}
	res := &polypay.PayoutResult{State: st, TransactionNo: v["queryId"]}
	if v["txnAmt"] != "" || st == polypay.PayoutPaid {
		if res.Amount, err = parseFen(v["txnAmt"]); err != nil {
			return nil, err
		}
		if res.Amount <= 0 {
			// No payout is of nothing: a zero txnAmt is a malformed answer.
			return nil, fmt.Errorf("unionpay payout: txnAmt %q is not a positive amount", v["txnAmt"])
		}
	}
	switch st {
	case polypay.PayoutPaid:
		res.PaidAt = traceTime(v["traceTime"], now)
	case polypay.PayoutFailed:
		res.FailureCode, res.FailureMsg = code, redact(msg, nil)
	}
	return res, nil
}

// redact keeps card numbers and names out of a message of UnionPay's
// that travels on in errors and failure_msg: p's, and any run of 12 or
// more digits (a card number polypay does not know there).
func redact(msg string, p *payee) string {
	if p != nil {
		for _, s := range []string{p.CardNumber, p.UserName} {
			if s != "" {
				msg = strings.ReplaceAll(msg, s, "***")
			}
		}
	}
	var b strings.Builder
	run := 0
	flush := func(i int) {
		if run >= 12 {
			b.WriteString("***")
		} else {
			b.WriteString(msg[i-run : i])
		}
		run = 0
	}
	for i := 0; i < len(msg); i++ {
		if msg[i] >= '0' && msg[i] <= '9' {
			run++
			continue
		}
		flush(i)
		b.WriteByte(msg[i])
	}
	flush(len(msg))
	return b.String()
}
