package ledger

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/polypay/polypay"
)

// Reader gives the check one consistent read of the books.
type Reader interface {
	// ReadBooks runs fn against a snapshot of committed data. It returns
	// fn's error, or an internal error of the store.
	ReadBooks(ctx context.Context, fn func(Books) error) error
}

// Books is what the check reads: the ledger's entries and the records they
// follow from. Each method streams its rows to fn, which must not use the
// store meanwhile, and returns fn's first error or an internal error of the
// store; none returns an application error.
type Books interface {
	// LedgerTxns calls fn with each transaction's sum and line count in
	// each book (app, mode, currency) it has entries in.
	LedgerTxns(ctx context.Context, fn func(TxnTotal) error) error
	// LedgerBalances calls fn with each account's balance in each book.
	LedgerBalances(ctx context.Context, fn func(Balance) error) error
	// LedgerRefCounts counts the entries of each ref type.
	LedgerRefCounts(ctx context.Context) (map[string]int, error)
	// LedgerCharges calls fn with every charge and the entries of refTypes
	// whose ref_id is the charge's id.
	LedgerCharges(ctx context.Context, refTypes []string, fn func(ChargeRecord) error) error
	// LedgerRefunds calls fn with every refund and the entries of refTypes
	// whose ref_id is the refund's id.
	LedgerRefunds(ctx context.Context, refTypes []string, fn func(RefundRecord) error) error
	// LedgerOrders calls fn with every order and the entries of refTypes
	// whose ref_id is the order's id.
	LedgerOrders(ctx context.Context, refTypes []string, fn func(OrderRecord) error) error
	// LedgerFees calls fn with every fee line recorded by reconciliation and
	// the entries of refTypes whose ref_id is the line's key.
	LedgerFees(ctx context.Context, refTypes []string, fn func(FeeRecord) error) error
	// LedgerPayouts calls fn with every transfer and red envelope and the
	// entries of refTypes whose ref_id is its id.
	LedgerPayouts(ctx context.Context, refTypes []string, fn func(PayoutRecord) error) error
	// LedgerBalanceMoves calls fn with every balance bonus and balance
	// transfer and the entries of refTypes whose ref_id is its id.
	LedgerBalanceMoves(ctx context.Context, refTypes []string, fn func(BalanceMoveRecord) error) error
	// LedgerUsers calls fn with every user's available balance.
	LedgerUsers(ctx context.Context, fn func(UserRecord) error) error
	// LedgerRoyalties calls fn with every royalty and the entries of
	// refTypes whose ref_id is its id; LedgerRoyaltyTxns with every
	// royalty transaction likewise.
	LedgerRoyalties(ctx context.Context, refTypes []string, fn func(RoyaltyRecord) error) error
	LedgerRoyaltyTxns(ctx context.Context, refTypes []string, fn func(RoyaltyTxnRecord) error) error
	// LedgerPlatformFees calls fn with every sub-app fee and the entries
	// of refTypes whose ref_id is its charge's id.
	LedgerPlatformFees(ctx context.Context, refTypes []string, fn func(PlatformFeeRecord) error) error
}

// BalanceMoveRecord is one of a balance bonus, a balance transfer or a
// recharge (the others nil) with its entries.
type BalanceMoveRecord struct {
	Bonus      *polypay.BalanceBonus
	Transfer   *polypay.BalanceTransfer
	Recharge   *polypay.Recharge
	Withdrawal *polypay.Withdrawal
	// A recharge's charge: its status ("" when it has none) and what it
	// captured.
	ChargeStatus   string
	ChargeCaptured int64
	// A withdrawal's transfer (by its channel and order_no): its status
	// ("" when none was made) and amount.
	TransferStatus string
	TransferAmount int64
	Entries        []Entry
}

// UserRecord is a user's available balance.
type UserRecord struct {
	AppID    string
	Livemode bool
	ID       string
	Balance  int64
}

// PayoutRecord is a transfer or a red envelope with its entries: Kind
// "transfer" or "red_envelope", Status its status, Sent whether a red
// envelope ever left (sent, received, refunding or refund).
type PayoutRecord struct {
	Kind     string
	ID       string
	AppID    string
	Livemode bool
	Currency string
	Channel  string
	Amount   int64
	Status   string
	Entries  []Entry
}

// Entry is one stored ledger line.
type Entry struct {
	AppID    string
	Livemode bool
	Currency string
	RefType  string
	Account  string
	Amount   int64
}

// TxnTotal is one stored transaction's entries in one book, summed.
type TxnTotal struct {
	ID       string
	AppID    string
	Livemode bool
	Currency string
	Sum      int64
	Lines    int
}

// Balance is one account's balance in one book (app, mode, currency).
type Balance struct {
	AppID    string
	Livemode bool
	Currency string
	Account  string
	Amount   int64
}

// ChargeRecord is a charge with its entries. Charge has ID, AppID,
// Livemode, Currency, Channel, Status, AmountCaptured, AmountRefunded and
// TimePaid.
type ChargeRecord struct {
	Charge           polypay.Charge
	RefundsSucceeded int64 // the sum of its succeeded refunds
	Entries          []Entry
}

// RefundRecord is a refund with its entries. Refund has ID, AppID,
// Livemode, Currency, Amount, Status and ChargeID; Charge has ID and
// Channel.
type RefundRecord struct {
	Refund  polypay.Refund
	Charge  polypay.Charge
	Entries []Entry
}

// OrderRecord is an order with its entries.
type OrderRecord struct {
	Order        Order
	Paid         bool
	ChargeID     string // the charge that paid it, else its latest one
	ChargeAmount int64  // that charge's amount (with its split partner's), -1 when there is none
	Entries      []Entry
}

// FeeRecord is a statement line's fee with its entries.
type FeeRecord struct {
	Fee     FeeLine
	Entries []Entry
}

// Problem is one finding of Check.
type Problem struct {
	Kind   string // unbalanced, charge, refund, order, fee, books, or the ref type of entries naming no record
	Ref    string
	Detail string
}

func (p Problem) String() string { return p.Kind + " " + p.Ref + ": " + p.Detail }

// Summary is what Check looked at.
type Summary struct {
	Transactions int
	Entries      int
	Charges      int
	Refunds      int
	Orders       int
	Fees         int
	Payouts      int
	Users        int
	Balances     map[string]int64 // "app/mode/currency/account" -> balance
}

// The ref types whose ref_id names each kind of record, and the record's
// name in findings.
var (
	chargeRefs      = []string{RefCharge, RefReversal, RefBalancePayment}
	refundRefs      = []string{RefRefund, RefBalanceRefund, RefRechargeRefund, RefRechargeRefundBack}
	orderRefs       = []string{RefDiscount}
	feeRefs         = []string{RefFee}
	payoutRefs      = []string{RefTransfer, RefRedEnvelope, RefRedEnvelopeRefund, RefTransferToBalance}
	moveRefs        = []string{RefBalanceBonus, RefBalanceTransfer, RefRecharge, RefWithdrawal, RefWithdrawalRelease, RefWithdrawalPaid}
	royaltyRefs     = []string{RefRoyalty, RefRoyaltyManual}
	royaltyTxnRefs  = []string{RefRoyaltyPaid, RefRoyaltyReceived}
	platformFeeRefs = []string{RefPlatformFee, RefPlatformFeeIncome}
	recordOf        = map[string]string{RefCharge: "charge", RefReversal: "charge", RefRefund: "refund", RefDiscount: "order", RefFee: "fee line",
		RefTransfer: "transfer", RefTransferToBalance: "transfer", RefRedEnvelope: "red envelope", RefRedEnvelopeRefund: "red envelope",
		RefBalancePayment: "charge", RefBalanceRefund: "refund", RefRechargeRefund: "refund", RefRechargeRefundBack: "refund", RefBalanceBonus: "balance bonus", RefBalanceTransfer: "balance transfer", RefRecharge: "recharge",
		RefWithdrawal: "withdrawal", RefWithdrawalRelease: "withdrawal", RefWithdrawalPaid: "withdrawal",
		RefRoyalty: "royalty", RefRoyaltyManual: "royalty", RefRoyaltyPaid: "royalty transaction", RefRoyaltyReceived: "royalty transaction",
		RefPlatformFee: "platform fee", RefPlatformFeeIncome: "platform fee"}
)

// Check verifies the books: every transaction balances within its book;
// every charge, refund, paid order's discount and reconciled fee line has
// exactly the postings its business event makes (ChargePaid, Reversed,
// Refunded, Discounted, Fee), and nothing else has any; a charge's refunds
// agree with it and never exceed what was captured; a paid order's charge is
// for amount - coupon_amount; every entry names a record; and the accounts of
// each app, mode and currency sum to zero. It returns what it looked at and
// what it found; the error is the store's.
func Check(ctx context.Context, db Reader) (*Summary, []Problem, error) {
	var c *checker
	err := db.ReadBooks(ctx, func(b Books) error {
		c = &checker{sum: &Summary{Balances: map[string]int64{}}, seen: map[string]int{}}
		return c.run(ctx, b)
	})
	if c == nil {
		return &Summary{Balances: map[string]int64{}}, nil, err
	}
	return c.sum, c.probs, err
}

type checker struct {
	sum   *Summary
	probs []Problem
	seen  map[string]int // entries of each ref type that named a record
}

func (c *checker) add(kind, ref, format string, args ...any) {
	c.probs = append(c.probs, Problem{kind, ref, fmt.Sprintf(format, args...)})
}

func (c *checker) run(ctx context.Context, b Books) error {
	steps := []func(context.Context, Books) error{
		func(ctx context.Context, b Books) error { return b.LedgerTxns(ctx, c.txn) },
		func(ctx context.Context, b Books) error { return b.LedgerCharges(ctx, chargeRefs, c.charge) },
		func(ctx context.Context, b Books) error { return b.LedgerRefunds(ctx, refundRefs, c.refund) },
		func(ctx context.Context, b Books) error { return b.LedgerOrders(ctx, orderRefs, c.order) },
		func(ctx context.Context, b Books) error { return b.LedgerFees(ctx, feeRefs, c.fee) },
		func(ctx context.Context, b Books) error { return b.LedgerPayouts(ctx, payoutRefs, c.payout) },
		func(ctx context.Context, b Books) error { return b.LedgerBalanceMoves(ctx, moveRefs, c.balanceMove) },
		func(ctx context.Context, b Books) error { return b.LedgerRoyalties(ctx, royaltyRefs, c.royalty) },
		func(ctx context.Context, b Books) error {
			return b.LedgerRoyaltyTxns(ctx, royaltyTxnRefs, c.royaltyTxn)
		},
		func(ctx context.Context, b Books) error {
			return b.LedgerPlatformFees(ctx, platformFeeRefs, c.platformFee)
		},
		c.orphans,
		c.books,
		func(ctx context.Context, b Books) error { return b.LedgerUsers(ctx, c.user) },
	}
	for _, step := range steps {
		if err := step(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// txn: every transaction balances within its book, in two lines or more.
// A transaction spanning books counts once per book.
func (c *checker) txn(t TxnTotal) error {
	c.sum.Transactions++
	c.sum.Entries += t.Lines
	if t.Sum != 0 || t.Lines < 2 {
		c.add("unbalanced", t.ID, "%d entries in book %s sum to %d", t.Lines, bookOf(t.AppID, t.Livemode, t.Currency), t.Sum)
	}
	return nil
}

// charge: a paid charge has its ChargePaid postings, an unpaid one none; a
// paid charge reversed at the channel has its Reversed postings, any other
// none; amount_refunded is the sum of its succeeded refunds, never above
// what was captured.
func (c *checker) charge(r ChargeRecord) error {
	ch := &r.Charge
	c.sum.Charges++
	c.record(r.Entries)
	paid := ChargePaid(ch)
	if !ch.Paid() {
		paid.Lines = nil
	}
	c.agree("charge", ch.ID, paid, r.Entries)
	rev := Reversed(ch)
	if !ch.Paid() || ch.Status != polypay.ChargeReversed {
		rev.Lines = nil
	}
	c.agree("charge", ch.ID, rev, r.Entries)
	bal := BalancePaid(ch, userOf(r.Entries, RefBalancePayment))
	if ch.Channel != BalanceChannel || !ch.Paid() {
		bal.Lines = nil
	}
	c.agree("charge", ch.ID, bal, r.Entries)
	if ch.AmountRefunded != r.RefundsSucceeded {
		c.add("charge", ch.ID, "amount_refunded %d but succeeded refunds sum to %d", ch.AmountRefunded, r.RefundsSucceeded)
	}
	if r.RefundsSucceeded > ch.AmountCaptured {
		c.add("charge", ch.ID, "refunds %d exceed the captured amount %d", r.RefundsSucceeded, ch.AmountCaptured)
	}
	return nil
}

// refund: a succeeded refund has its Refunded postings, any other none.
func (c *checker) refund(r RefundRecord) error {
	c.sum.Refunds++
	c.record(r.Entries)
	want := Refunded(&r.Charge, &r.Refund)
	if r.Refund.Status != polypay.RefundSucceeded {
		want.Lines = nil
	}
	c.agree("refund", r.Refund.ID, want, r.Entries)
	back := BalanceRefunded(&r.Refund, userOf(r.Entries, RefBalanceRefund))
	if r.Charge.Channel != BalanceChannel || r.Refund.Status != polypay.RefundSucceeded {
		back.Lines = nil
	}
	c.agree("refund", r.Refund.ID, back, r.Entries)
	c.rechargeRefund(r)
	return nil
}

// rechargeRefund: a recharge refund's take-back is given back exactly
// when the refund failed; no refund gives back what it never took.
func (c *checker) rechargeRefund(r RefundRecord) {
	take, back := map[string]int64{}, map[string]int64{}
	for _, e := range r.Entries {
		switch e.RefType {
		case RefRechargeRefund:
			take[e.Account] += e.Amount
		case RefRechargeRefundBack:
			back[e.Account] -= e.Amount
		}
	}
	switch {
	case len(take) == 0 && len(back) > 0:
		c.add("refund", r.Refund.ID, "gave back %s for a recharge refund that took nothing", fmtSums(back))
	case r.Refund.Status == polypay.RefundFailed && !sameSums(take, back):
		c.add("refund", r.Refund.ID, "a failed recharge refund took %s and gave back %s", fmtSums(take), fmtSums(back))
	case r.Refund.Status != polypay.RefundFailed && len(back) > 0:
		c.add("refund", r.Refund.ID, "a %s recharge refund gave back %s", r.Refund.Status, fmtSums(back))
	}
}

// userOf is the user whose balance account entries of refType move (the
// balance channel's postings name the user only there); the users check
// holds each user's balance to the books.
func userOf(es []Entry, refType string) string {
	for _, e := range es {
		if u, ok := strings.CutPrefix(e.Account, "user:"); ok && e.RefType == refType {
			return u
		}
	}
	return "?"
}

// order: coupon_amount is below amount; a paid order was paid by a charge
// of amount - coupon_amount and has its Discounted memo, any other none.
func (c *checker) order(r OrderRecord) error {
	o := r.Order
	c.sum.Orders++
	c.record(r.Entries)
	if o.CouponAmount < 0 || (o.CouponAmount > 0 && o.CouponAmount >= o.Amount) {
		c.add("order", o.ID, "coupon_amount %d out of range for amount %d", o.CouponAmount, o.Amount)
	}
	want := Discounted(o)
	switch {
	case !r.Paid:
		want.Lines = nil
	case r.ChargeAmount != o.Amount-o.CouponAmount:
		c.add("order", o.ID, "paid by charge %s of %d, want amount %d - coupon_amount %d", r.ChargeID, r.ChargeAmount, o.Amount, o.CouponAmount)
	}
	c.agree("order", o.ID, want, r.Entries)
	return nil
}

// fee: a fee line reconciliation recorded has its Fee postings.
func (c *checker) fee(r FeeRecord) error {
	c.sum.Fees++
	c.record(r.Entries)
	c.agree("fee", r.Fee.Ref, Fee(r.Fee), r.Entries)
	return nil
}

// payout: a paid transfer has its TransferPaid postings, any other none;
// a red envelope that left has its RedEnvelopeSent postings, and one
// refunded its RedEnvelopeRefunded postings too.
func (c *checker) payout(r PayoutRecord) error {
	c.sum.Payouts++
	c.record(r.Entries)
	if r.Kind == "transfer" {
		t := &polypay.Transfer{ID: r.ID, AppID: r.AppID, Livemode: r.Livemode, Currency: r.Currency, Channel: r.Channel, Amount: r.Amount,
			Recipient: userOf(r.Entries, RefTransferToBalance)}
		want, credit := TransferPaid(t), TransferToBalance(t)
		if r.Status != string(polypay.TransferPaid) {
			want.Lines = nil
		}
		if r.Status != string(polypay.TransferPaid) || r.Channel != BalanceChannel {
			credit.Lines = nil
		}
		c.agree("transfer", r.ID, want, r.Entries)
		c.agree("transfer", r.ID, credit, r.Entries)
		return nil
	}
	env := &polypay.RedEnvelope{ID: r.ID, AppID: r.AppID, Livemode: r.Livemode, Currency: r.Currency, Channel: r.Channel, Amount: r.Amount}
	sent, back := RedEnvelopeSent(env), RedEnvelopeRefunded(env)
	switch polypay.RedEnvelopeStatus(r.Status) {
	case polypay.RedEnvelopeSending, polypay.RedEnvelopeFailed:
		sent.Lines, back.Lines = nil, nil
	case polypay.RedEnvelopeRefund:
	default:
		back.Lines = nil
	}
	c.agree("red_envelope", r.ID, sent, r.Entries)
	c.agree("red_envelope", r.ID, back, r.Entries)
	return nil
}

// balanceMove: a bonus has its BonusGiven postings and a balance transfer
// its BalanceTransferred postings (both are final when stored); a
// succeeded recharge has its RechargeCredited postings, any other none.
func (c *checker) balanceMove(r BalanceMoveRecord) error {
	c.record(r.Entries)
	switch {
	case r.Bonus != nil:
		c.agree("balance_bonus", r.Bonus.ID, BonusGiven(r.Bonus), r.Entries)
		return nil
	case r.Withdrawal != nil:
		c.withdrawal(r.Withdrawal, r.Entries)
		c.withdrawalTransfer(r)
		return nil
	case r.Recharge != nil:
		want := RechargeCredited(r.Recharge)
		if !r.Recharge.Succeeded {
			want.Lines = nil
		} else if r.ChargeStatus != string(polypay.ChargePaid) || r.ChargeCaptured != r.Recharge.Amount {
			c.add("recharge", r.Recharge.ID, "credited, but its charge %q is %q and captured %d of %d",
				r.Recharge.ChargeID, r.ChargeStatus, r.ChargeCaptured, r.Recharge.Amount)
		}
		c.agree("recharge", r.Recharge.ID, want, r.Entries)
		return nil
	}
	c.agree("balance_transfer", r.Transfer.ID, BalanceTransferred(r.Transfer), r.Entries)
	return nil
}

// withdrawal: every withdrawal held its amount; a canceled or failed one
// gave it back, a succeeded one paid it out, any other neither yet.
func (c *checker) withdrawal(w *polypay.Withdrawal, es []Entry) {
	released, paid := WithdrawalReleased(w), WithdrawalPaid(w)
	switch w.Status {
	case polypay.WithdrawalCanceled, polypay.WithdrawalFailed:
		paid.Lines = nil
	case polypay.WithdrawalSucceeded:
		released.Lines = nil
	default:
		released.Lines, paid.Lines = nil, nil
	}
	for _, want := range []Txn{WithdrawalHeld(w), released, paid} {
		c.agree("withdrawal", w.ID, want, es)
	}
}

// withdrawalTransfer: a withdrawal agrees with the transfer that pays it
// out: succeeded only with its transfer paid amount - user_fee, failed or
// canceled only with no transfer or one that did not pay, pending with
// one not yet decided (or none yet), created with none.
func (c *checker) withdrawalTransfer(r BalanceMoveRecord) {
	w, ts := r.Withdrawal, polypay.TransferStatus(r.TransferStatus)
	ok := true
	switch w.Status {
	case polypay.WithdrawalSucceeded:
		ok = ts == polypay.TransferPaid && r.TransferAmount == w.Amount-w.UserFee
	case polypay.WithdrawalFailed, polypay.WithdrawalCanceled:
		ok = ts != polypay.TransferPaid && ts != polypay.TransferPending && ts != polypay.TransferScheduled
	case polypay.WithdrawalPending:
		ok = ts == "" || ts == polypay.TransferPending || ts == polypay.TransferScheduled
	case polypay.WithdrawalCreated:
		ok = ts == ""
	}
	if !ok {
		c.add("withdrawal", w.ID, "is %s but its transfer is %q (%d)", w.Status, r.TransferStatus, r.TransferAmount)
	}
}

// user: a user's available balance is what the books say the merchant
// owes them (the credit balance of user:<id>), never below zero. It runs
// after books, which collected every account's balance.
func (c *checker) user(u UserRecord) error {
	c.sum.Users++
	owed := -c.sum.Balances[bookOf(u.AppID, u.Livemode, polypay.BalanceCurrency)+"/"+UserAccount(u.ID)]
	if u.Balance != owed || u.Balance < 0 {
		c.add("user", u.AppID+"/"+u.ID, "available_balance %d but the books owe %d", u.Balance, owed)
	}
	return nil
}

// record counts entries that named a record, for orphans.
func (c *checker) record(es []Entry) {
	for _, e := range es {
		c.seen[e.RefType]++
	}
}

// orphans: every entry names a record of its ref type.
func (c *checker) orphans(ctx context.Context, b Books) error {
	counts, err := b.LedgerRefCounts(ctx)
	if err != nil {
		return err
	}
	for _, rt := range sortedKeys(counts) {
		n := counts[rt] - c.seen[rt]
		switch {
		case n == 0:
		case recordOf[rt] == "":
			c.add(rt, "-", "%d entries of an unknown ref type", n)
		default:
			c.add(rt, "-", "%d %s entries name no %s", n, rt, recordOf[rt])
		}
	}
	return nil
}

// books: the accounts of each app, mode and currency sum to zero.
func (c *checker) books(ctx context.Context, b Books) error {
	totals := map[string]int64{}
	err := b.LedgerBalances(ctx, func(bal Balance) error {
		book := bookOf(bal.AppID, bal.Livemode, bal.Currency)
		c.sum.Balances[book+"/"+bal.Account] = bal.Amount
		totals[book] += bal.Amount
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(totals) {
		if totals[k] != 0 {
			c.add("books", k, "accounts sum to %d", totals[k])
		}
	}
	return nil
}

// agree adds a problem when the entries of want's ref type differ from
// want's lines: another sum on an account, another number of lines, or
// another book.
func (c *checker) agree(kind, ref string, want Txn, entries []Entry) {
	got := map[string]int64{}
	lines := 0
	wantBook, wrongBook := bookOf(want.AppID, want.Livemode, want.Currency), ""
	for _, e := range entries {
		if e.RefType != want.RefType {
			continue
		}
		lines++
		got[e.Account] += e.Amount
		if b := bookOf(e.AppID, e.Livemode, e.Currency); b != wantBook {
			wrongBook = b
		}
	}
	if wrongBook != "" {
		c.add(kind, ref, "%s postings in book %s, want %s", want.RefType, wrongBook, wantBook)
	}
	wantSums := map[string]int64{}
	for _, l := range want.Lines {
		wantSums[l.Account] += l.Amount
	}
	if lines != len(want.Lines) || !sameSums(got, wantSums) {
		c.add(kind, ref, "%s postings %s (%d lines), want %s (%d lines)", want.RefType, fmtSums(got), lines, fmtSums(wantSums), len(want.Lines))
	}
}

func sameSums(a, b map[string]int64) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

func fmtSums(m map[string]int64) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// bookOf names a book as Summary.Balances does: "app/mode/currency".
func bookOf(appID string, live bool, currency string) string {
	mode := "test"
	if live {
		mode = "live"
	}
	return appID + "/" + mode + "/" + currency
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
