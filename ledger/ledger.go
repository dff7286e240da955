// Package ledger is polypay's double-entry ledger: the chart of accounts,
// which accounts each business event moves (ChargePaid, Refunded, Reversed,
// Discounted, Fee), and the check that the books balance and agree with the
// charges, refunds, orders and fee lines they record (Check).
//
// The store keeps the entries (table ledger_entries) and answers the
// check's queries; it knows no account. Callers say what happened:
//
//	tx.Post(ctx, ledger.ChargePaid(c))
package ledger

import (
	"fmt"

	"github.com/polypay/polypay"
)

// The chart of accounts. The gateway keeps the merchant's books of the money
// the channels hold:
//
//	channel:<channel>  asset: what a channel holds for the merchant (its clearing account)
//	merchant           liability: what the gateway owes the merchant
//	fees               expense: channel fees taken on statement lines
//	discounts          contra-revenue: merchant-funded discounts given (a memo)
//	discounts_offset   the discount memo's counterpart
//	user:<id>          liability: the stored value an app's user holds (account system)
//	bonuses            expense: stored value the merchant gave users
//	user_fees          revenue: fees the merchant kept on balance transfers
//	withdrawals        liability: users' balances on their way out (held by a withdrawal)
//	royalties          liability: royalties a payer app owes, not yet settled
//	due_to_apps        liability: what a payer app's book owes other apps' books (royalties settled to them)
//	due_from_apps      asset: what a recipient app's book is owed by payer apps' books
const (
	AccountMerchant        = "merchant"
	AccountFees            = "fees"
	AccountDiscounts       = "discounts"
	AccountDiscountsOffset = "discounts_offset"
	AccountBonuses         = "bonuses"
	AccountUserFees        = "user_fees"
	AccountWithdrawals     = "withdrawals"
	AccountRoyalties       = "royalties"
	AccountDueToApps       = "due_to_apps"
	AccountDueFromApps     = "due_from_apps"
)

// UserAccount names the balance account of an app's user.
func UserAccount(user string) string { return "user:" + user }

// ChannelAccount names the clearing account of a channel.
func ChannelAccount(channel string) string { return "channel:" + channel }

// Ref types: what a transaction's ref_id names. Each business event posts at
// most one transaction per ref.
const (
	RefCharge   = "charge"   // a charge paid or captured: the charge's id
	RefReversal = "reversal" // a paid charge reversed at the channel: the charge's id
	RefRefund   = "refund"   // a refund succeeded: the refund's id
	RefDiscount = "discount" // a paid order's discount memo: the order's id
	RefFee      = "fee"      // a statement line's channel fee: the line's key
	RefTransfer = "transfer" // a transfer paid out: the transfer's id
	// RefRedEnvelope: a red envelope sent; RefRedEnvelopeRefund: its money
	// back, unclaimed (both: the envelope's id).
	RefRedEnvelope       = "red_envelope"
	RefRedEnvelopeRefund = "red_envelope_refund"
	// RefBalanceBonus: a bonus given; RefBalanceTransfer: value moved
	// between two users (the bonus's or transfer's id).
	RefBalanceBonus    = "balance_bonus"
	RefBalanceTransfer = "balance_transfer"
	RefRecharge        = "recharge" // a recharge credited: the recharge's id
	// A withdrawal's balance held, given back, or paid out (the
	// withdrawal's id).
	RefWithdrawal        = "withdrawal"
	RefWithdrawalRelease = "withdrawal_release"
	RefWithdrawalPaid    = "withdrawal_paid"
	// A charge on the balance channel spent a user's balance; a refund of
	// one gave it back (the charge's and the refund's id).
	RefBalancePayment = "balance_payment"
	RefBalanceRefund  = "balance_refund"
	// A recharge refund took the recharge's value back from the user; a
	// failed one gave it back again (the charge refund's id).
	RefRechargeRefund     = "recharge_refund"
	RefRechargeRefundBack = "recharge_refund_back"
	// A transfer on the balance channel credited its user (the transfer's
	// id).
	RefTransferToBalance = "transfer_to_balance"
	// A royalty booked (a paid order's share, or a refund's take-back),
	// and one settled outside polypay (the royalty's id); a royalty
	// transaction paid, in the payer's book and in the recipient's (the
	// royalty transaction's id).
	RefRoyalty         = "royalty"
	RefRoyaltyManual   = "royalty_manual"
	RefRoyaltyPaid     = "royalty_paid"
	RefRoyaltyReceived = "royalty_received"
)

// Txn is one ledger transaction: its book (app, mode, currency), the ref it
// records and its lines. A Txn without lines means nothing moves.
type Txn struct {
	AppID    string
	Livemode bool
	Currency string
	RefType  string
	RefID    string
	Lines    []polypay.Posting
}

// Validate refuses a transaction that cannot be posted: fewer than two
// lines, or lines that do not sum to zero.
func (t Txn) Validate() error {
	var sum int64
	for _, l := range t.Lines {
		sum += l.Amount
	}
	if sum != 0 || len(t.Lines) < 2 {
		return fmt.Errorf("ledger: unbalanced transaction for %s %s (sum %d)", t.RefType, t.RefID, sum)
	}
	return nil
}

// move is a transaction debiting one account and crediting another.
func move(t Txn, debit, credit string, amount int64) Txn {
	t.Lines = []polypay.Posting{{Account: debit, Amount: amount}, {Account: credit, Amount: -amount}}
	return t
}

// ChargePaid is a charge paid, or a pre-authorization captured: its channel
// holds what it collected (amount_captured) for the merchant.
//
//	debit  channel:<channel>  amount_captured
//	credit merchant           amount_captured
func ChargePaid(c *polypay.Charge) Txn {
	t := Txn{AppID: c.AppID, Livemode: c.Livemode, Currency: c.Currency, RefType: RefCharge, RefID: c.ID}
	return move(t, ChannelAccount(c.Channel), AccountMerchant, c.AmountCaptured)
}

// Refunded is a refund of charge c succeeded: the channel gave r.Amount back
// to the customer, and the gateway owes the merchant that much less.
//
//	debit  merchant           amount
//	credit channel:<channel>  amount
func Refunded(c *polypay.Charge, r *polypay.Refund) Txn {
	t := Txn{AppID: r.AppID, Livemode: r.Livemode, Currency: r.Currency, RefType: RefRefund, RefID: r.ID}
	return move(t, AccountMerchant, ChannelAccount(c.Channel), r.Amount)
}

// Reversed is a paid charge whose trade the channel reversed: what was kept
// of the payment (amount_captured - amount_refunded) goes back to the
// customer. No lines when nothing was kept.
//
//	debit  merchant           kept
//	credit channel:<channel>  kept
func Reversed(c *polypay.Charge) Txn {
	t := Txn{AppID: c.AppID, Livemode: c.Livemode, Currency: c.Currency, RefType: RefReversal, RefID: c.ID}
	if back := c.AmountCaptured - c.AmountRefunded; back > 0 {
		return move(t, AccountMerchant, ChannelAccount(c.Channel), back)
	}
	return t
}

// TransferPaid is a transfer the channel paid: the merchant's funds at the
// channel went to the payee, and the gateway owes the merchant that much
// less.
//
//	debit  merchant           amount
//	credit channel:<channel>  amount
func TransferPaid(t *polypay.Transfer) Txn {
	tx := Txn{AppID: t.AppID, Livemode: t.Livemode, Currency: t.Currency, RefType: RefTransfer, RefID: t.ID}
	return move(tx, AccountMerchant, ChannelAccount(t.Channel), t.Amount)
}

// TransferToBalance is a paid transfer on the balance channel: what
// TransferPaid moved to channel:balance is now owed to the user.
//
//	debit  channel:balance  amount
//	credit user:<id>        amount
func TransferToBalance(t *polypay.Transfer) Txn {
	tx := Txn{AppID: t.AppID, Livemode: t.Livemode, Currency: t.Currency, RefType: RefTransferToBalance, RefID: t.ID}
	return move(tx, ChannelAccount(BalanceChannel), UserAccount(t.Recipient), t.Amount)
}

// RedEnvelopeSent is a red envelope WeChat sent: the money left the
// merchant's funds at WeChat for the recipient.
//
//	debit  merchant         amount
//	credit channel:wx_pub   amount
func RedEnvelopeSent(r *polypay.RedEnvelope) Txn {
	t := Txn{AppID: r.AppID, Livemode: r.Livemode, Currency: r.Currency, RefType: RefRedEnvelope, RefID: r.ID}
	return move(t, AccountMerchant, ChannelAccount(r.Channel), r.Amount)
}

// RedEnvelopeRefunded is a red envelope left unclaimed: WeChat gave the
// money back to the merchant's funds (the reverse of RedEnvelopeSent).
func RedEnvelopeRefunded(r *polypay.RedEnvelope) Txn {
	t := Txn{AppID: r.AppID, Livemode: r.Livemode, Currency: r.Currency, RefType: RefRedEnvelopeRefund, RefID: r.ID}
	return move(t, ChannelAccount(r.Channel), AccountMerchant, r.Amount)
}

// Order is what the books need of an order.
type Order struct {
	ID           string
	AppID        string
	Livemode     bool
	Currency     string
	Amount       int64
	CouponAmount int64
}

// Discounted is a paid order's merchant-funded discount. The customer paid
// amount - coupon_amount, which the charge's own transaction moved; no money
// corresponds to the discount, so it is a memo that balances on its own and
// touches neither channel nor merchant. A paid order's gross sale is its
// charge's merchant credit plus its "discounts" debit. No lines without a
// coupon_amount.
//
//	debit  discounts         coupon_amount  (contra-revenue: what the merchant gave up)
//	credit discounts_offset  coupon_amount  (memo counterpart)
func Discounted(o Order) Txn {
	t := Txn{AppID: o.AppID, Livemode: o.Livemode, Currency: o.Currency, RefType: RefDiscount, RefID: o.ID}
	if o.CouponAmount > 0 {
		return move(t, AccountDiscounts, AccountDiscountsOffset, o.CouponAmount)
	}
	return t
}

// FeeLine is a channel's fee on one statement line.
type FeeLine struct {
	Ref      string // the line's key: "pay:<charge id>" or "refund:<refund no>"
	AppID    string
	Livemode bool
	Channel  string // the charge's channel: its clearing account pays the fee
	Currency string
	Amount   int64 // > 0 taken, < 0 given back
}

// Fee is a channel's fee on a statement line: taken (Amount > 0) it is an
// expense paid out of what the channel holds; given back (< 0) the opposite.
// No lines for a zero fee.
//
//	debit  fees               amount
//	credit channel:<channel>  amount
func Fee(f FeeLine) Txn {
	t := Txn{AppID: f.AppID, Livemode: f.Livemode, Currency: f.Currency, RefType: RefFee, RefID: f.Ref}
	if f.Amount != 0 {
		return move(t, AccountFees, ChannelAccount(f.Channel), f.Amount)
	}
	return t
}

// BonusGiven is stored value the merchant gave a user: no money moved,
// the merchant owes the user more.
//
//	debit  bonuses    amount
//	credit user:<id>  amount
func BonusGiven(b *polypay.BalanceBonus) Txn {
	t := Txn{AppID: b.AppID, Livemode: b.Livemode, Currency: polypay.BalanceCurrency, RefType: RefBalanceBonus, RefID: b.ID}
	return move(t, AccountBonuses, UserAccount(b.User), b.Amount)
}

// BalanceTransferred is value one user sent another, less the fee the
// merchant keeps.
//
//	debit  user:<from>  amount
//	credit user:<to>    amount - user_fee
//	credit user_fees    user_fee (when there is one)
func BalanceTransferred(bt *polypay.BalanceTransfer) Txn {
	t := Txn{AppID: bt.AppID, Livemode: bt.Livemode, Currency: polypay.BalanceCurrency, RefType: RefBalanceTransfer, RefID: bt.ID}
	t.Lines = []polypay.Posting{{Account: UserAccount(bt.User), Amount: bt.Amount},
		{Account: UserAccount(bt.Recipient), Amount: -(bt.Amount - bt.UserFee)}}
	if bt.UserFee > 0 {
		t.Lines = append(t.Lines, polypay.Posting{Account: AccountUserFees, Amount: -bt.UserFee})
	}
	return t
}

// RechargeCredited is a recharge whose charge was paid: of what the
// merchant was credited for the charge (ChargePaid), amount - user_fee is
// now owed to the user.
//
//	debit  merchant   amount - user_fee
//	credit user:<id>  amount - user_fee
func RechargeCredited(r *polypay.Recharge) Txn {
	t := Txn{AppID: r.AppID, Livemode: r.Livemode, Currency: polypay.BalanceCurrency, RefType: RefRecharge, RefID: r.ID}
	return move(t, AccountMerchant, UserAccount(r.User), r.Amount-r.UserFee)
}

// RechargeRefunded takes a refunded recharge's value back from its user,
// in the transaction that makes the refund of its charge: what it
// credited goes back to the merchant (whose Refunded posting pays the
// customer back once the refund succeeds), its bonus back to bonuses.
//
//	debit  user:<id>  amount - user_fee + bonus
//	credit merchant   amount - user_fee
//	credit bonuses    bonus (when there was one)
func RechargeRefunded(r *polypay.Recharge, refundID string) Txn {
	t := Txn{AppID: r.AppID, Livemode: r.Livemode, Currency: polypay.BalanceCurrency, RefType: RefRechargeRefund, RefID: refundID}
	t.Lines = []polypay.Posting{{Account: UserAccount(r.User), Amount: r.Amount - r.UserFee + r.BonusAmount},
		{Account: AccountMerchant, Amount: -(r.Amount - r.UserFee)}}
	if r.BonusAmount > 0 {
		t.Lines = append(t.Lines, polypay.Posting{Account: AccountBonuses, Amount: -r.BonusAmount})
	}
	return t
}

// RechargeRefundReverted gives the value back when the recharge's refund
// failed: RechargeRefunded's lines with their signs turned.
func RechargeRefundReverted(r *polypay.Recharge, refundID string) Txn {
	t := RechargeRefunded(r, refundID)
	t.RefType = RefRechargeRefundBack
	for i := range t.Lines {
		t.Lines[i].Amount = -t.Lines[i].Amount
	}
	return t
}

// WithdrawalHeld is a withdrawal's amount taken from the user's balance
// when it is created.
//
//	debit  user:<id>     amount
//	credit withdrawals   amount
func WithdrawalHeld(w *polypay.Withdrawal) Txn {
	return move(withdrawalTxn(w, RefWithdrawal), UserAccount(w.User), AccountWithdrawals, w.Amount)
}

// WithdrawalReleased gives a canceled or failed withdrawal's amount back
// (the reverse of WithdrawalHeld).
func WithdrawalReleased(w *polypay.Withdrawal) Txn {
	return move(withdrawalTxn(w, RefWithdrawalRelease), AccountWithdrawals, UserAccount(w.User), w.Amount)
}

// WithdrawalPaid is a withdrawal whose transfer was paid: the merchant
// owes the user nothing more and is owed the amount back, of which the
// transfer (TransferPaid) paid amount - user_fee out; the fee stays.
//
//	debit  withdrawals  amount
//	credit merchant     amount
func WithdrawalPaid(w *polypay.Withdrawal) Txn {
	return move(withdrawalTxn(w, RefWithdrawalPaid), AccountWithdrawals, AccountMerchant, w.Amount)
}

func withdrawalTxn(w *polypay.Withdrawal, ref string) Txn {
	return Txn{AppID: w.AppID, Livemode: w.Livemode, Currency: polypay.BalanceCurrency, RefType: ref, RefID: w.ID}
}

// BalanceChannel is the charge channel that pays from a user's balance.
const BalanceChannel = "balance"

// BalancePaid is a charge on the balance channel: the user's stored value
// became the charge's payment, which ChargePaid then credits to the
// merchant from channel:balance.
//
//	debit  user:<id>         amount_captured
//	credit channel:balance   amount_captured
func BalancePaid(c *polypay.Charge, user string) Txn {
	t := Txn{AppID: c.AppID, Livemode: c.Livemode, Currency: c.Currency, RefType: RefBalancePayment, RefID: c.ID}
	return move(t, UserAccount(user), ChannelAccount(BalanceChannel), c.AmountCaptured)
}

// BalanceRefunded gives a balance charge's refund back to the user (after
// Refunded took it from the merchant into channel:balance).
//
//	debit  channel:balance  amount
//	credit user:<id>        amount
func BalanceRefunded(r *polypay.Refund, user string) Txn {
	t := Txn{AppID: r.AppID, Livemode: r.Livemode, Currency: r.Currency, RefType: RefBalanceRefund, RefID: r.ID}
	return move(t, ChannelAccount(BalanceChannel), UserAccount(user), r.Amount)
}
