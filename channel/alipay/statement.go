package alipay

import (
	"context"
	"errors"

	"github.com/polypay/polypay"
)

var _ polypay.Statementer = (*Client)(nil)

// Statement implements polypay.Statementer with the day's trade bill
// (DownloadBill): a 交易 row is a payment of its 订单金额, a 退款 row a
// refund of its 商家实收 (printed negative). 服务费 is printed negative when
// taken, so Fee is its opposite: positive on payments, negative when a
// refund gives part of it back. Transfers are not in the trade bill: the
// day's account log (Payouts) adds a StatementPayout line per transfer
// paid. A merchant whose app may not read the account log (a refusal)
// gets the trade bill's lines alone.
//
// Errors: ENotFound when Alipay has neither a bill nor a payout for day
// (nothing happened, or the bill is not made yet); otherwise those of
// DownloadBill and Payouts.
func (c *Client) Statement(ctx context.Context, day string) ([]polypay.StatementLine, error) {
	if len(day) != len("2006-01-02") {
		return nil, polypay.ParamError("date", "a statement is for one day, yyyy-MM-dd, not %q", day)
	}
	rows, err := c.DownloadBill(ctx, day)
	noBill := errors.Is(err, ErrBillNotExist)
	if err != nil && !noBill {
		return nil, err
	}
	out := make([]polypay.StatementLine, 0, len(rows))
	for _, r := range rows {
		l := polypay.StatementLine{OutTradeNo: r.OutTradeNo, TransactionNo: r.TradeNo,
			Fee: -r.ServiceFee, Currency: "cny", At: r.FinishedAt}
		switch r.Type {
		case BillTrade:
			l.Kind, l.Amount = polypay.StatementPayment, r.OrderAmount
		case BillRefund:
			l.Kind, l.Amount, l.RefundNo = polypay.StatementRefund, -r.Received, r.OutRequestNo
		default:
			return nil, polypay.Errorf(polypay.ENotSupported, "alipay bill: unknown 业务类型 %q on trade %s", r.Type, r.TradeNo)
		}
		out = append(out, l)
	}
	payouts, err := c.Payouts(ctx, day)
	if err != nil && polypay.ErrorCode(err) != polypay.EChannel {
		return nil, err
	}
	out = append(out, payouts...)
	if noBill && len(payouts) == 0 {
		return nil, &polypay.Error{Code: polypay.ENotFound, Message: "支付宝没有 " + day + " 的账单", Err: ErrBillNotExist}
	}
	return out, nil
}
