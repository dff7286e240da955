package wechatpay

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
)

var _ polypay.Statementer = (*Client)(nil)

// maxBillBytes bounds a downloaded bill.
const maxBillBytes = 512 << 20

// DownloadTradeBill fetches the merchant's trade bill (bill_type ALL) for
// day (YYYY-MM-DD, Beijing time): GET /v3/bill/tradebill answers a signed
// download_url with the file's SHA-1, the file is fetched with a signed GET
// (its answer is not signed), its hash checked and the file parsed.
//
// Errors: EInvalid for a malformed day; ENotFound when WeChat Pay has no
// bill (NO_STATEMENT_EXIST: nothing happened that day, or the bill is not
// made yet); EChannel for other refusals; ErrBadSignature (wrapped) for a
// link answer that does not verify; plain errors otherwise (a hash
// mismatch, a malformed file, transport), safe to retry.
func (c *Client) DownloadTradeBill(ctx context.Context, day string) ([]BillRow, error) {
	if t, err := time.Parse("2006-01-02", day); err != nil || t.Format("2006-01-02") != day {
		return nil, polypay.ParamError("date", "wechatpay bill dates are YYYY-MM-DD, not %q", day)
	}
	q := "/v3/bill/tradebill?bill_date=" + day + "&bill_type=ALL"
	if c.partner() {
		q += "&sub_mchid=" + c.subMchID // a provider's bill of one sub-merchant
	}
	res, err := c.api.Get(ctx, DefaultBaseURL+q)
	if err != nil {
		var ae *core.APIError
		if errors.As(err, &ae) && ae.Code == "NO_STATEMENT_EXIST" {
			return nil, &polypay.Error{Code: polypay.ENotFound, ChannelCode: ae.Code, Message: "微信支付没有 " + day + " 的账单", Err: ae}
		}
		return nil, sdkError("tradebill", err)
	}
	var link struct {
		DownloadURL string `json:"download_url"`
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
	}
	body, err := io.ReadAll(io.LimitReader(res.Response.Body, 1<<20))
	res.Response.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("wechatpay tradebill: %w", err)
	}
	if err := json.Unmarshal(body, &link); err != nil {
		return nil, fmt.Errorf("wechatpay tradebill: %w", err)
	}
	u, err := url.Parse(link.DownloadURL)
	if err != nil || u.Scheme != "https" || !productionHosts[u.Host] {
		return nil, fmt.Errorf("wechatpay tradebill: download_url %q is not on WeChat Pay's host", link.DownloadURL)
	}
	if !strings.EqualFold(link.HashType, "SHA1") {
		return nil, fmt.Errorf("wechatpay tradebill: unsupported hash_type %q", link.HashType)
	}
	file, err := c.download.Get(ctx, link.DownloadURL)
	if err != nil {
		return nil, sdkError("billdownload", err)
	}
	defer file.Response.Body.Close()
	b, err := io.ReadAll(io.LimitReader(file.Response.Body, maxBillBytes+1))
	if err != nil {
		return nil, fmt.Errorf("wechatpay billdownload: %w", err)
	}
	if len(b) > maxBillBytes {
		return nil, fmt.Errorf("wechatpay billdownload: larger than %d bytes", maxBillBytes)
	}
	sum := sha1.Sum(b)
	if !strings.EqualFold(hex.EncodeToString(sum[:]), link.HashValue) {
		return nil, fmt.Errorf("wechatpay billdownload: SHA-1 %x is not the announced %s", sum, link.HashValue)
	}
	rows, _, err := ParseTradeBill(b)
	if err != nil {
		return nil, fmt.Errorf("%w (bill of %s)", err, day)
	}
	return rows, nil
}

// Statement implements polypay.Statementer with the day's trade bill. A
// SUCCESS row is a payment of its 订单金额; a REFUND row a refund of its
// 申请退款金额 (退款金额 when that is 0) whose status is SUCCESS or
// PROCESSING (accepted; the bill keeps the status it had when made). Refund
// rows the channel closed or could not pay out (CLOSED, ABNORMAL) moved no
// money and are left out. A REVOKED row is a payment-code trade reversed the
// same day: no money moved either.
//
// Errors: those of DownloadTradeBill; ENotSupported for a row state this
// connector does not know.
func (c *Client) Statement(ctx context.Context, day string) ([]polypay.StatementLine, error) {
	rows, err := c.DownloadTradeBill(ctx, day)
	if err != nil {
		return nil, err
	}
	return statementLines(rows)
}

func statementLines(rows []BillRow) ([]polypay.StatementLine, error) {
	out := make([]polypay.StatementLine, 0, len(rows))
	for _, r := range rows {
		l := polypay.StatementLine{OutTradeNo: r.OutTradeNo, TransactionNo: r.TransactionID, Fee: r.Fee,
			Currency: strings.ToLower(r.Currency), At: r.TradeTime}
		switch r.TradeState {
		case BillSuccess:
			l.Kind, l.Amount = polypay.StatementPayment, r.Total
		case BillRefund:
			switch r.RefundStatus {
			case "SUCCESS", "PROCESSING":
			case "CLOSED", "ABNORMAL":
				continue
			default:
				return nil, polypay.Errorf(polypay.ENotSupported, "wechatpay bill: unknown 退款状态 %q for refund %s", r.RefundStatus, r.OutRefundNo)
			}
			l.Kind, l.RefundNo, l.Amount = polypay.StatementRefund, r.OutRefundNo, r.RefundRequested
			if l.Amount == 0 {
				l.Amount = r.Refund
			}
		case BillRevoked:
			continue
		default:
			return nil, polypay.Errorf(polypay.ENotSupported, "wechatpay bill: unknown 交易状态 %q on %s", r.TradeState, r.TransactionID)
		}
		if l.Currency == "" {
			l.Currency = "cny"
		}
		out = append(out, l)
	}
	return out, nil
}
