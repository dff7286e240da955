package paypal

import (
	"context"
	"strings"
	"time"

	sdk "github.com/plutov/paypal/v4"
	"github.com/polypay/polypay"
)

// Transaction event codes (PayPal's T-codes) that the statement reads:
// T00xx are payments received, T11xx reversals, of which T1107 is a
// merchant-initiated refund. Authorizations (T1105 and the like) move no
// money and are left out.
const refundEventCode = "T1107"

// Statement lists one UTC day's money movements from transaction search
// (GET /v1/reporting/transactions, fields=all), page by page. Only
// successful ("S") transactions count. ENotFound never: PayPal answers an
// empty list for a day without transactions.
func (c *Client) Statement(ctx context.Context, day string) ([]polypay.StatementLine, error) {
	start, err := time.Parse("2006-01-02", day)
	if err != nil {
		return nil, polypay.ParamError("day", "day must be YYYY-MM-DD: %v", err)
	}
	fields, size := "all", 500
	var out []polypay.StatementLine
	for page := 1; ; page++ {
		p := page
		res, err := c.api.ListTransactions(ctx, &sdk.TransactionSearchRequest{
			StartDate: start, EndDate: start.Add(24*time.Hour - time.Second), Fields: &fields, PageSize: &size, Page: &p})
		if err != nil {
			return nil, apiError("transaction search", err)
		}
		for _, d := range res.TransactionDetails {
			l, ok, err := statementLine(&d.TransactionInfo)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, l)
			}
		}
		if page >= res.TotalPages {
			return out, nil
		}
	}
}

func statementLine(ti *sdk.SearchTransactionInfo) (polypay.StatementLine, bool, error) {
	var l polypay.StatementLine
	if ti.TransactionStatus != "S" {
		return l, false, nil
	}
	code := ti.TransactionEventCode
	switch {
	case code == refundEventCode:
		l.Kind = polypay.StatementRefund
		l.OutTradeNo = ti.CustomField
		l.RefundNo = ti.InvoiceID
	case strings.HasPrefix(code, "T00"):
		l.Kind = polypay.StatementPayment
		l.OutTradeNo = ti.InvoiceID
		if l.OutTradeNo == "" {
			l.OutTradeNo = ti.CustomField
		}
	default:
		return l, false, nil
	}
	cur := ti.TransactionAmount.Currency
	amount, err := ParseAmount(ti.TransactionAmount.Value, cur)
	if err != nil {
		return l, false, err
	}
	if amount < 0 {
		amount = -amount
	}
	l.Amount, l.Currency, l.TransactionNo = amount, strings.ToLower(cur), ti.TransactionID
	if ti.FeeAmount != nil && ti.FeeAmount.Value != "" {
		fee, err := ParseAmount(ti.FeeAmount.Value, ti.FeeAmount.Currency)
		if err != nil {
			return l, false, err
		}
		// PayPal reports the fee negative on payments (taken from the
		// merchant); polypay's lines carry it as a positive cost.
		l.Fee = -fee
	}
	l.At = time.Time(ti.TransactionInitiationDate).Unix()
	return l, true, nil
}
