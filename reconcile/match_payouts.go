package reconcile

import (
	"context"
	"fmt"
	"slices"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
)

// transferVia maps each transfer channel to the charge channel whose
// account pays it out (as the registry's payout table does): a family
// reconciles the transfers of the channels it holds the account of.
// WeChat's transfers go through wx, wx_pub and wx_lite; UnionPay's through
// the upacp merchant.
var transferVia = map[string]string{
	"wx": "wx", "wx_pub": "wx_pub", "wx_lite": "wx_lite", "alipay": "alipay", "unionpay": "upacp",
}

// payoutChannels are the transfer channels of a family whose charge
// channels are chans, sorted.
func payoutChannels(chans []string) []string {
	var out []string
	for tr, via := range transferVia {
		if slices.Contains(chans, via) {
			out = append(out, tr)
		}
	}
	slices.Sort(out)
	return out
}

// oursTransfer reports whether a transfer belongs to the reconciled app,
// mode and family.
func (m *matcher) oursTransfer(t *polypay.Transfer) bool {
	return t != nil && t.AppID == m.req.AppID && t.Livemode == m.req.Live && slices.Contains(m.payoutChans, t.Channel)
}

// lineTransfer is the transfer a payout line names by its PayoutNo, nil
// when polypay has none of this app, mode and family by that number.
func (m *matcher) lineTransfer(ctx context.Context, tx Tx, l *polypay.StatementLine) (*polypay.Transfer, error) {
	if l.PayoutNo == "" {
		return nil, nil
	}
	id := polypay.TransferIDOf(l.PayoutNo)
	t := m.transferByID[id]
	if t == nil {
		var err error
		if t, err = tx.TransferByID(ctx, id); polypay.ErrorCode(err) == polypay.ENotFound {
			t = nil
		} else if err != nil {
			return nil, err
		}
	}
	if !m.oursTransfer(t) {
		return nil, nil
	}
	return t, nil
}

// classifyPayout decides a payout line's kind: the transfer it names must
// be paid in polypay, for the line's amount, and its ledger posting must
// have taken that amount from the merchant.
func (m *matcher) classifyPayout(ctx context.Context, tx Tx, it *item, set func(kind, format string, args ...any)) error {
	l, t := it.line, it.transfer
	switch {
	case t == nil:
		set(OnlyChannel, "the channel paid out %d as %q, a transfer polypay does not know", l.Amount, l.PayoutNo)
		return nil
	case t.Status != polypay.TransferPaid:
		set(StatusDiffers, "paid out %d by the channel, %s in polypay", l.Amount, t.Status)
		return nil
	case l.Amount != t.Amount:
		set(AmountDiffers, "the channel paid out %d, polypay recorded %d", l.Amount, t.Amount)
		return nil
	}
	posted, err := tx.LedgerSum(ctx, ledger.RefTransfer, t.ID, ledger.AccountMerchant)
	if err != nil {
		return err
	}
	if posted != t.Amount {
		set(AmountDiffers, "the ledger holds %d for the transfer, the channel paid out %d", posted, l.Amount)
		return nil
	}
	set(Matched, "")
	return nil
}

// unstatedTransfers are the day's paid transfers no payout line named.
func (m *matcher) unstatedTransfers(ts []*polypay.Transfer, seen map[string]bool, step func()) []*item {
	var out []*item
	for _, t := range ts {
		if !seen[lineKey(&polypay.StatementLine{Kind: polypay.StatementPayout, PayoutNo: t.PayoutNo()})] {
			it := &item{transfer: t}
			it.out = Line{Kind: OnlyPolypay, TransferID: t.ID,
				Detail: fmt.Sprintf("transfer %s paid %d in polypay; no payout line in the statement", t.ID, t.Amount)}
			out = append(out, it)
		}
		step()
	}
	return out
}
