package alipay

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
)

// The account log rows Payouts reads (alipay.data.bill.accountlog.query):
// a transfer paid out is a 转账 row going out. [S]
const (
	logTransfer = "转账"
	logOut      = "支出"

	logMaxPages = 500 // a million rows a day: far past any merchant's
)

// logPageSize is the rows asked per page: the most Alipay gives (tests
// page with less).
var logPageSize = 2000

// Payouts returns the transfers paid on day (yyyy-MM-dd, Beijing time) as
// StatementPayout lines, from the app's account log
// (alipay.data.bill.accountlog.query), page by page: the 转账 rows going
// out (支出) that name a merchant_order_no, which is the out_biz_no, the
// transfer's PayoutNo. Other rows (payments, refunds, fees, top-ups) are
// read past: the trade bill has the trades.
//
// Errors: EInvalid for a malformed day; EChannel when Alipay refuses
// (e.g. the app may not read the account log); plain errors for transport
// failures and malformed rows.
func (c *Client) Payouts(ctx context.Context, day string) ([]polypay.StatementLine, error) {
	from, err := time.ParseInLocation("2006-01-02", day, cst)
	if err != nil || from.Format("2006-01-02") != day {
		return nil, polypay.ParamError("date", "a statement is for one day, yyyy-MM-dd, not %q", day)
	}
	q := sdk.BillAccountLogQuery{AppAuthToken: c.token, StartTime: from.Format(timeLayout), EndTime: from.AddDate(0, 0, 1).Format(timeLayout),
		PageSize: strconv.Itoa(logPageSize)}
	var out []polypay.StatementLine
	for page := 1; page <= logMaxPages; page++ {
		q.PageNo = strconv.Itoa(page)
		rsp, err := c.api.BillAccountLogQuery(ctx, q)
		if err != nil {
			return nil, sdkError("account log", err)
		}
		if rsp.Code != codeSuccess {
			return nil, apiError("account log", rsp.Error)
		}
		for _, it := range rsp.DetailList {
			l, ok, err := payoutLine(it)
			if err != nil {
				return nil, fmt.Errorf("alipay account log %s: %w", day, err)
			}
			if ok {
				out = append(out, l)
			}
		}
		total, err := strconv.Atoi(rsp.TotalSize)
		if err != nil || len(rsp.DetailList) == 0 || page*logPageSize >= total {
			return out, nil
		}
	}
	return nil, fmt.Errorf("alipay account log %s: more than %d pages", day, logMaxPages)
}

// payoutLine reads an account log row; ok is false for rows that are not
// a transfer paid out.
func payoutLine(it *sdk.AccountLogItem) (l polypay.StatementLine, ok bool, err error) {
	if it == nil || it.Type != logTransfer || it.Direction != logOut || it.MerchantOrderNo == "" {
		return l, false, nil
	}
	amount, found := strings.CutPrefix(it.TransAmount, "-")
	fen, err := parseYuan(amount)
	if !found || err != nil || fen <= 0 {
		return l, false, fmt.Errorf("transfer %s: trans_amount %q is not money going out", it.MerchantOrderNo, it.TransAmount)
	}
	at, err := parseTime(it.TransDt)
	if err != nil {
		return l, false, fmt.Errorf("transfer %s: trans_dt %q: %w", it.MerchantOrderNo, it.TransDt, err)
	}
	return polypay.StatementLine{Kind: polypay.StatementPayout, PayoutNo: it.MerchantOrderNo, TransactionNo: it.AliPayOrderNo,
		Amount: fen, Currency: "cny", At: at}, true, nil
}
