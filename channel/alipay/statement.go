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
// refund gives part of it back.
//
// Errors: ENotFound when Alipay has no bill for day (nothing happened, or
// not made yet); otherwise those of DownloadBill.
func (c *Client) Statement(ctx context.Context, day string) ([]polypay.StatementLine, error) {
	if len(day) != len("2006-01-02") {
		return nil, polypay.ParamError("date", "a statement is for one day, yyyy-MM-dd, not %q", day)
	}
	rows, err := c.DownloadBill(ctx, day)
	if errors.Is(err, ErrBillNotExist) {
		return nil, &polypay.Error{Code: polypay.ENotFound, Message: "支付宝没有 " + day + " 的账单", Err: err}
	}
	if err != nil {
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
	return out, nil
}
