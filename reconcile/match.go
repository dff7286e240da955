package reconcile

import (
	"context"
	"fmt"
	"slices"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
)

type matcher struct {
	req   Request
	chans []string
}

// ours reports whether a charge belongs to the reconciled app, mode and family.
func (m *matcher) ours(c *polypay.Charge) bool {
	return c != nil && c.AppID == m.req.AppID && c.Livemode == m.req.Live && slices.Contains(m.chans, c.Channel)
}

// match pairs statement lines with polypay's records: every line becomes
// an item, and so does every record of the day no line named.
func (m *matcher) match(ctx context.Context, db *store.DB, lines []polypay.StatementLine, charges []*polypay.Charge,
	refunds []*polypay.Refund, step func()) ([]*item, error) {
	chargeByID := map[string]*polypay.Charge{}
	for _, c := range charges {
		chargeByID[c.ID] = c
	}
	refundByNo := map[string]*polypay.Refund{}
	for _, r := range refunds {
		refundByNo[r.OrderNo] = r
	}
	seen := map[string]bool{}
	var items []*item
	err := db.Read(ctx, func(tx *store.Tx) error {
		for i := range lines {
			l := &lines[i]
			it := &item{line: l}
			it.out.Statement = l
			it.out.ChargeID, it.out.RefundNo = l.OutTradeNo, l.RefundNo
			c := chargeByID[l.OutTradeNo]
			if c == nil && l.OutTradeNo != "" {
				var err error
				if c, err = tx.LockCharge(ctx, l.OutTradeNo); polypay.ErrorCode(err) == polypay.ENotFound {
					c = nil
				} else if err != nil {
					return err
				}
			}
			if !m.ours(c) {
				c = nil
			}
			it.charge = c
			if l.Kind == polypay.StatementRefund && l.RefundNo != "" {
				r := refundByNo[l.RefundNo]
				if r == nil {
					var err error
					if r, err = tx.RefundByOrderNo(ctx, l.RefundNo); polypay.ErrorCode(err) == polypay.ENotFound || err == store.ErrNoRows {
						r = nil
					} else if err != nil {
						return err
					}
				}
				if r != nil && (c == nil || r.ChargeID != c.ID) {
					r = nil // another charge's refund number
				}
				it.refund = r
			}
			key := lineKey(l)
			if seen[key] {
				it.dup = true
			}
			seen[key] = true
			if err := m.classify(ctx, tx, it); err != nil {
				return err
			}
			items = append(items, it)
			step()
		}
		for _, c := range charges {
			if !seen[lineKey(&polypay.StatementLine{Kind: polypay.StatementPayment, OutTradeNo: c.ID})] {
				it := &item{charge: c}
				it.out = Line{Kind: OnlyPolypay, ChargeID: c.ID,
					Detail: fmt.Sprintf("charge %s paid %d in polypay; no payment line in the statement", c.ID, captured(c))}
				items = append(items, it)
			}
			step()
		}
		for _, r := range refunds {
			if r.Status != polypay.RefundFailed && !seen[lineKey(&polypay.StatementLine{Kind: polypay.StatementRefund, RefundNo: r.OrderNo})] {
				c, err := tx.LockCharge(ctx, r.ChargeID)
				if err != nil {
					return err
				}
				it := &item{charge: c, refund: r}
				it.out = Line{Kind: OnlyPolypay, ChargeID: r.ChargeID, RefundID: r.ID, RefundNo: r.OrderNo,
					Detail: fmt.Sprintf("refund %s of %d is %s in polypay; no refund line in the statement", r.OrderNo, r.Amount, r.Status)}
				items = append(items, it)
			}
			step()
		}
		return nil
	})
	return items, err
}

// lineKey identifies what a line is about: one payment per charge, one
// line per refund number (Alipay's reversal of a paid trade has none).
func lineKey(l *polypay.StatementLine) string {
	if l.Kind == polypay.StatementRefund {
		if l.RefundNo == "" {
			return "reverse:" + l.OutTradeNo
		}
		return "refund:" + l.RefundNo
	}
	return "pay:" + l.OutTradeNo
}

// classify decides an item's kind from the line and polypay's records,
// the ledger included.
func (m *matcher) classify(ctx context.Context, tx *store.Tx, it *item) error {
	l, c, r := it.line, it.charge, it.refund
	o := &it.out
	o.Settled = false
	if c != nil {
		o.ChargeID = c.ID
	}
	if r != nil {
		o.RefundID = r.ID
	}
	set := func(kind, format string, args ...any) {
		o.Kind, o.Detail = kind, fmt.Sprintf(format, args...)
	}
	if it.dup {
		set(OnlyChannel, "the statement lists %s a second time", lineKey(l))
		return nil
	}
	if c == nil {
		set(OnlyChannel, "the channel has a %s of %d for %q that polypay does not know", l.Kind, l.Amount, l.OutTradeNo)
		return nil
	}
	switch l.Kind {
	case polypay.StatementPayment:
		if !c.Paid() {
			set(StatusDiffers, "paid %d at the channel, %s in polypay", l.Amount, c.Status)
			return nil
		}
		if want := captured(c); l.Amount != want {
			set(AmountDiffers, "the channel collected %d, polypay recorded %d", l.Amount, want)
			return nil
		}
		posted, err := tx.LedgerSum(ctx, ledger.RefCharge, c.ID, ledger.ChannelAccount(c.Channel))
		if err != nil {
			return err
		}
		if posted != captured(c) {
			set(AmountDiffers, "the ledger holds %d for the charge, the channel collected %d", posted, l.Amount)
			return nil
		}
	case polypay.StatementRefund:
		if l.RefundNo == "" {
			// A paid trade reversed at the channel (Alipay's cancel).
			if c.Status != polypay.ChargeReversed {
				set(StatusDiffers, "reversed at the channel (%d back), %s in polypay", l.Amount, c.Status)
				return nil
			}
			break
		}
		if r == nil {
			set(OnlyChannel, "the channel refunded %d as %q, a refund polypay does not know", l.Amount, l.RefundNo)
			return nil
		}
		if r.Status != polypay.RefundSucceeded {
			set(StatusDiffers, "refund accepted by the channel, %s in polypay", r.Status)
			return nil
		}
		if l.Amount != r.Amount {
			set(AmountDiffers, "the channel refunded %d, polypay recorded %d", l.Amount, r.Amount)
			return nil
		}
		posted, err := tx.LedgerSum(ctx, ledger.RefRefund, r.ID, ledger.AccountMerchant)
		if err != nil {
			return err
		}
		if posted != r.Amount {
			set(AmountDiffers, "the ledger holds %d for the refund, the channel refunded %d", posted, l.Amount)
			return nil
		}
	default:
		set(OnlyChannel, "statement line of unknown kind %q", l.Kind)
		return nil
	}
	set(Matched, "")
	return nil
}

// recheck reloads an item's records after a settling query and classifies
// it again.
func (m *matcher) recheck(ctx context.Context, db *store.DB, it *item) error {
	was := it.out.Kind
	return db.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.LockCharge(ctx, it.charge.ID)
		if err != nil {
			return err
		}
		it.charge = c
		if it.refund != nil {
			if it.refund, err = tx.RefundByOrderNo(ctx, it.refund.OrderNo); err != nil {
				return err
			}
		}
		if err := m.classify(ctx, tx, it); err != nil {
			return err
		}
		it.out.Settled = was != Matched && it.out.Kind == Matched
		if it.out.Settled {
			it.out.Detail = "settled by querying the channel (" + was + ")"
		}
		return nil
	})
}
