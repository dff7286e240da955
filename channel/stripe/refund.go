package stripe

import (
	"context"
	"errors"
	"fmt"

	"github.com/polypay/polypay"
	sg "github.com/stripe/stripe-go/v85"
)

// Refund creates a Refund of the charge's PaymentIntent. Its
// Idempotency-Key is the refund order_no, so repeating it returns the same
// refund. Stripe refusing it (already refunded, too much) is a failed
// refund, not an error.
func (c *Client) Refund(ctx context.Context, ch *polypay.Charge, r *polypay.Refund, _ string) (*polypay.RefundResult, error) {
	id, err := c.paymentIntentID(ctx, ch)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, polypay.Errorf(polypay.EChannel, "stripe: charge %s has no payment intent", ch.ID)
	}
	p := &sg.RefundCreateParams{PaymentIntent: sg.String(id), Amount: sg.Int64(r.Amount)}
	p.AddMetadata("refund_no", r.OrderNo)
	p.AddMetadata("charge_id", ch.ID)
	p.IdempotencyKey = sg.String("polypay-refund-" + r.OrderNo)
	cctx, cancel := c.call(ctx)
	re, err := c.api.V1Refunds.Create(cctx, p)
	cancel()
	if err != nil {
		err = apiError("refund", err)
		var pe *polypay.Error
		if errors.As(err, &pe) {
			return &polypay.RefundResult{Status: polypay.RefundFailed, FailureCode: pe.ChannelCode, FailureMsg: pe.Message}, nil
		}
		return nil, err
	}
	return refundResult(r, re)
}

// QueryRefund reads the refund by its id when known, else finds it among
// the PaymentIntent's refunds by metadata[refund_no]. A refund Stripe does
// not have is pending (its create may still be retried).
func (c *Client) QueryRefund(ctx context.Context, ch *polypay.Charge, r *polypay.Refund) (*polypay.RefundResult, error) {
	if r.TransactionNo != "" {
		cctx, cancel := c.call(ctx)
		re, err := c.api.V1Refunds.Retrieve(cctx, r.TransactionNo, nil)
		cancel()
		if err == nil {
			return refundResult(r, re)
		}
		if !isMissing(err) {
			return nil, apiError("refund", err)
		}
	}
	id, err := c.paymentIntentID(ctx, ch)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return &polypay.RefundResult{Status: polypay.RefundPending}, nil
	}
	cctx, cancel := c.call(ctx)
	defer cancel()
	p := &sg.RefundListParams{PaymentIntent: sg.String(id)}
	p.Limit = sg.Int64(100)
	for re, err := range c.api.V1Refunds.List(cctx, p).All(cctx) {
		if err != nil {
			return nil, apiError("refund list", err)
		}
		if re.Metadata["refund_no"] == r.OrderNo {
			return refundResult(r, re)
		}
	}
	return &polypay.RefundResult{Status: polypay.RefundPending}, nil
}

func refundResult(r *polypay.Refund, re *sg.Refund) (*polypay.RefundResult, error) {
	if got := re.Metadata["refund_no"]; got != r.OrderNo {
		return nil, fmt.Errorf("stripe: refund %s is refund_no %q, expected %s", re.ID, got, r.OrderNo)
	}
	if re.Amount != r.Amount {
		// The refund_no names a refund of another amount: ours was not
		// made, and calling it succeeded would hide that.
		return nil, fmt.Errorf("stripe: refund %s is %d, expected %d", re.ID, re.Amount, r.Amount)
	}
	st, err := refundStatusOf(re.Status)
	if err != nil {
		return nil, err
	}
	res := &polypay.RefundResult{Status: st, Amount: re.Amount, TransactionNo: re.ID}
	switch st {
	case polypay.RefundSucceeded:
		res.SucceededAt = re.Created
	case polypay.RefundFailed:
		res.FailureCode = string(re.FailureReason)
		if res.FailureCode == "" {
			res.FailureCode = string(re.Status)
		}
		res.FailureMsg = "Stripe: refund " + string(re.Status)
	}
	return res, nil
}
