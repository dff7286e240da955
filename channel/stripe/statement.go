package stripe

import (
	"context"
	"time"

	"github.com/polypay/polypay"
	sg "github.com/stripe/stripe-go/v85"
)

// Statement lists one UTC day's balance transactions
// (GET /v1/balance_transactions?created[gte]=...&created[lt]=..., sources
// expanded to find polypay's ids): charges as payments, refunds as refunds,
// with Stripe's fee. Other types (payouts, adjustments, refund failures)
// are not payment lines and are left out. ENotFound for a day that has not
// started.
func (c *Client) Statement(ctx context.Context, day string) ([]polypay.StatementLine, error) {
	start, err := time.ParseInLocation("2006-01-02", day, time.UTC)
	if err != nil {
		return nil, polypay.ParamError("day", "day must be YYYY-MM-DD")
	}
	if start.After(time.Now()) {
		return nil, polypay.Errorf(polypay.ENotFound, "stripe: no statement for %s yet", day)
	}
	p := &sg.BalanceTransactionListParams{CreatedRange: &sg.RangeQueryParams{
		GreaterThanOrEqual: start.Unix(), LesserThan: start.Add(24 * time.Hour).Unix()}}
	p.Limit = sg.Int64(100)
	p.AddExpand("data.source")
	cctx, cancel := context.WithTimeout(ctx, 4*c.cfg.Timeout)
	defer cancel()
	var out []polypay.StatementLine
	for bt, err := range c.api.V1BalanceTransactions.List(cctx, p).All(cctx) {
		if err != nil {
			return nil, apiError("balance transactions", err)
		}
		line := polypay.StatementLine{Fee: bt.Fee, Currency: string(bt.Currency), At: bt.Created}
		switch bt.Type {
		case sg.BalanceTransactionTypeCharge, sg.BalanceTransactionTypePayment:
			line.Kind, line.Amount = polypay.StatementPayment, bt.Amount
			if s := bt.Source; s != nil && s.Charge != nil {
				line.OutTradeNo = s.Charge.Metadata["charge_id"]
				line.TransactionNo = s.Charge.ID
				if s.Charge.PaymentIntent != nil {
					line.TransactionNo = s.Charge.PaymentIntent.ID
				}
			}
		case sg.BalanceTransactionTypeRefund, sg.BalanceTransactionTypePaymentRefund:
			line.Kind, line.Amount = polypay.StatementRefund, -bt.Amount
			if s := bt.Source; s != nil && s.Refund != nil {
				line.OutTradeNo = s.Refund.Metadata["charge_id"]
				line.RefundNo = s.Refund.Metadata["refund_no"]
				line.TransactionNo = s.Refund.ID
			}
		default:
			continue
		}
		out = append(out, line)
	}
	return out, nil
}
