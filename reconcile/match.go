package reconcile

import (
	"context"
	"fmt"
	"slices"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
)

type matcher struct {
	req   Request
	chans []string
	// payoutChans are the family's transfer channels (payoutChannels).
	payoutChans []string
	// covered are sub-apps whose payments the statement lists (Coverer).
	covered map[string]bool
	// the day's records, by charge id, refund order_no and transfer id
	chargeByID   map[string]*polypay.Charge
	refundByNo   map[string]*polypay.Refund
	transferByID map[string]*polypay.Transfer
}

// ours reports whether a charge belongs to the reconciled app, mode and family.
func (m *matcher) ours(c *polypay.Charge) bool {
	return c != nil && (c.AppID == m.req.AppID || m.covered[c.AppID]) && c.Livemode == m.req.Live && slices.Contains(m.chans, c.Channel)
}

// match pairs statement lines with polypay's records: every line becomes
// an item, and so does every record of the day no line named.
func (m *matcher) match(ctx context.Context, db Store, lines []polypay.StatementLine, recs records, step func()) ([]*item, error) {
	m.chargeByID = map[string]*polypay.Charge{}
	for _, c := range recs.charges {
		m.chargeByID[c.ID] = c
	}
	m.refundByNo = map[string]*polypay.Refund{}
	for _, r := range recs.refunds {
		m.refundByNo[r.OrderNo] = r
	}
	m.transferByID = map[string]*polypay.Transfer{}
	for _, t := range recs.transfers {
		m.transferByID[t.ID] = t
	}
	seen := map[string]bool{}
	var items []*item
	err := db.ReadRecon(ctx, func(tx Tx) error {
		for i := range lines {
			it, err := m.lineItem(ctx, tx, &lines[i], seen)
			if err != nil {
				return err
			}
			items = append(items, it)
			step()
		}
		for _, c := range recs.charges {
			if !seen[lineKey(&polypay.StatementLine{Kind: polypay.StatementPayment, OutTradeNo: c.ID})] {
				items = append(items, unstatedCharge(c))
			}
			step()
		}
		for _, r := range recs.refunds {
			if r.Status != polypay.RefundFailed && !seen[lineKey(&polypay.StatementLine{Kind: polypay.StatementRefund, RefundNo: r.OrderNo})] {
				it, err := unstatedRefund(ctx, tx, r)
				if err != nil {
					return err
				}
				items = append(items, it)
			}
			step()
		}
		if f := polypay.LookupFamily(m.req.Family); f != nil && f.StatementPayouts {
			items = append(items, m.unstatedTransfers(recs.transfers, seen, step)...)
		}
		return nil
	})
	return items, err
}

// lineItem is the classified item of one statement line; seen holds the
// keys of the lines before it, and gets this one's.
func (m *matcher) lineItem(ctx context.Context, tx Tx, l *polypay.StatementLine, seen map[string]bool) (*item, error) {
	it := &item{line: l}
	it.out.Statement = l
	if err := m.lineRecords(ctx, tx, it); err != nil {
		return nil, err
	}
	key := lineKey(l)
	it.dup = seen[key]
	seen[key] = true
	if err := m.classify(ctx, tx, it); err != nil {
		return nil, err
	}
	return it, nil
}

// lineRecords finds what polypay holds of a line: the transfer a payout
// line names, the charge (and refund) a payment or refund line names.
func (m *matcher) lineRecords(ctx context.Context, tx Tx, it *item) error {
	l := it.line
	if l.Kind == polypay.StatementPayout {
		if l.PayoutNo != "" {
			it.out.TransferID = polypay.TransferIDOf(l.PayoutNo)
		}
		var err error
		it.transfer, err = m.lineTransfer(ctx, tx, l)
		return err
	}
	if l.Kind == polypay.StatementRefund && l.OutTradeNo == "" && l.RefundNo != "" {
		// Some statements name a refund only by its own number (UnionPay's
		// refund records carry the refund's orderId and the purchase's
		// queryId): the refund polypay made says whose it is.
		r, err := m.refundOf(ctx, tx, l.RefundNo)
		if err != nil {
			return err
		}
		if r != nil {
			l.OutTradeNo = r.ChargeID
		}
	}
	it.out.ChargeID, it.out.RefundNo = l.OutTradeNo, l.RefundNo
	c, err := m.lineCharge(ctx, tx, l)
	if err != nil {
		return err
	}
	it.charge = c
	if l.Kind == polypay.StatementRefund && l.RefundNo != "" {
		it.refund, err = m.lineRefund(ctx, tx, l, c)
	}
	return err
}

// lineCharge is the charge a line names, nil when polypay has none of
// this app, mode and family by that id.
func (m *matcher) lineCharge(ctx context.Context, tx Tx, l *polypay.StatementLine) (*polypay.Charge, error) {
	c := m.chargeByID[l.OutTradeNo]
	if c == nil && l.OutTradeNo != "" {
		var err error
		if c, err = tx.LockCharge(ctx, l.OutTradeNo); polypay.ErrorCode(err) == polypay.ENotFound {
			c = nil
		} else if err != nil {
			return nil, err
		}
	}
	if !m.ours(c) {
		return nil, nil
	}
	return c, nil
}

// lineRefund is the refund a refund line names, nil when polypay has none
// by that number or it is another charge's.
func (m *matcher) lineRefund(ctx context.Context, tx Tx, l *polypay.StatementLine, c *polypay.Charge) (*polypay.Refund, error) {
	r, err := m.refundOf(ctx, tx, l.RefundNo)
	if err != nil {
		return nil, err
	}
	if r != nil && (c == nil || r.ChargeID != c.ID) {
		return nil, nil // another charge's refund number
	}
	return r, nil
}

// refundOf is the refund polypay holds by an order_no, nil when none.
func (m *matcher) refundOf(ctx context.Context, tx Tx, no string) (*polypay.Refund, error) {
	if r := m.refundByNo[no]; r != nil {
		return r, nil
	}
	r, err := tx.RefundByOrderNo(ctx, no)
	if polypay.ErrorCode(err) == polypay.ENotFound {
		return nil, nil
	}
	return r, err
}

// unstatedCharge is a charge paid in polypay that no payment line names.
func unstatedCharge(c *polypay.Charge) *item {
	it := &item{charge: c}
	it.out = Line{Kind: OnlyPolypay, ChargeID: c.ID,
		Detail: fmt.Sprintf("charge %s paid %d in polypay; no payment line in the statement", c.ID, captured(c))}
	return it
}

// unstatedRefund is a refund made in polypay that no refund line names.
func unstatedRefund(ctx context.Context, tx Tx, r *polypay.Refund) (*item, error) {
	c, err := tx.LockCharge(ctx, r.ChargeID)
	if err != nil {
		return nil, err
	}
	it := &item{charge: c, refund: r}
	it.out = Line{Kind: OnlyPolypay, ChargeID: r.ChargeID, RefundID: r.ID, RefundNo: r.OrderNo,
		Detail: fmt.Sprintf("refund %s of %d is %s in polypay; no refund line in the statement", r.OrderNo, r.Amount, r.Status)}
	return it, nil
}

// lineKey identifies what a line is about: one payment per charge, one
// line per refund number (Alipay's reversal of a paid trade has none), one
// payout per transfer.
func lineKey(l *polypay.StatementLine) string {
	if l.Kind == polypay.StatementPayout {
		return "payout:" + l.PayoutNo
	}
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
func (m *matcher) classify(ctx context.Context, tx Tx, it *item) error {
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
	if l.Kind == polypay.StatementPayout {
		return m.classifyPayout(ctx, tx, it, set)
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
func (m *matcher) recheck(ctx context.Context, db Store, it *item) error {
	was := it.out.Kind
	return db.ReadRecon(ctx, func(tx Tx) error {
		if err := reload(ctx, tx, it); err != nil {
			return err
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

// reload reads an item's records again.
func reload(ctx context.Context, tx Tx, it *item) error {
	var err error
	if it.transfer != nil {
		it.transfer, err = tx.TransferByID(ctx, it.transfer.ID)
		return err
	}
	if it.charge, err = tx.LockCharge(ctx, it.charge.ID); err != nil {
		return err
	}
	if it.refund != nil {
		it.refund, err = tx.RefundByOrderNo(ctx, it.refund.OrderNo)
	}
	return err
}
