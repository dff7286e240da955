package ledger_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/reconcile"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

var ctx = context.Background()

// books is a fresh store with one app, and a way to write what the store
// would refuse (unbalanced transactions, fee lines without postings).
type books struct {
	t   *testing.T
	db  *store.DB
	raw *sql.DB
	pg  bool
	app string
	n   int
}

func newBooks(t *testing.T, b storetest.Backend) *books {
	t.Helper()
	db := b.Open(t)
	driver, dsn := "sqlite", "file:"+filepath.Join(b.DataDir, "polypay.db")+"?_pragma=busy_timeout(10000)"
	if b.DatabaseURL != "" {
		driver, dsn = "pgx", b.DatabaseURL
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	k := &books{t: t, db: db, raw: raw, pg: b.DatabaseURL != "", app: polypay.NewAppID()}
	k.write(func(tx *store.Tx) error {
		return tx.InsertApp(ctx, &polypay.App{ID: k.app, Name: "t", Created: tx.Now()})
	})
	return k
}

func (k *books) write(fn func(tx *store.Tx) error) {
	k.t.Helper()
	if err := k.db.Write(ctx, fn); err != nil {
		k.t.Fatal(err)
	}
}

func (k *books) exec(q string, args ...any) {
	k.t.Helper()
	if k.pg {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
		}
	}
	if _, err := k.raw.Exec(q, args...); err != nil {
		k.t.Fatal(err)
	}
}

// book names the app's test-mode cny book as Summary.Balances does.
func (k *books) book(currency string) string { return k.app + "/test/" + currency }

func (k *books) post(t ledger.Txn) {
	k.t.Helper()
	k.write(func(tx *store.Tx) error { return tx.Post(ctx, t) })
}

// entries writes one transaction as given, balanced or not; it returns its id.
func (k *books) entries(currency, refType, refID string, lines ...polypay.Posting) string {
	k.t.Helper()
	txn := polypay.NewID("ltx_")
	k.entriesIn(txn, currency, refType, refID, lines...)
	return txn
}

// entriesIn adds lines to transaction txn.
func (k *books) entriesIn(txn, currency, refType, refID string, lines ...polypay.Posting) {
	k.t.Helper()
	for _, l := range lines {
		k.exec(`INSERT INTO ledger_entries (id, txn_id, app_id, livemode, account, currency, amount, ref_type, ref_id, created)
 VALUES (?,?,?,?,?,?,?,?,?,?)`, polypay.NewID("le_"), txn, k.app, 0, l.Account, currency, l.Amount, refType, refID, 1700000000)
	}
}

// charge stores a pending charge of amount on alipay_qr, changed by set.
func (k *books) charge(amount int64, set func(c *polypay.Charge)) *polypay.Charge {
	k.t.Helper()
	k.n++
	c := &polypay.Charge{ID: polypay.NewID("ch_"), AppID: k.app, Channel: "alipay_qr", OrderNo: fmt.Sprint("o", k.n), ClientIP: "127.0.0.1",
		Amount: amount, AmountSettle: amount, Currency: "cny", Subject: "s", Body: "b", Extra: []byte("{}"),
		Metadata: []byte("{}"), Status: polypay.ChargePending, Created: 1700000000, TimeExpire: 1700086400, ParamsHash: "h"}
	k.write(func(tx *store.Tx) error {
		if err := tx.InsertCharge(ctx, c, 0); err != nil {
			return err
		}
		if set == nil {
			return nil
		}
		set(c)
		return tx.UpdateCharge(ctx, c)
	})
	return c
}

func paid(c *polypay.Charge) {
	c.Status, c.TimePaid, c.AmountCaptured = polypay.ChargePaid, 1700000100, c.Amount
}

// paidCharge is a charge paid and posted.
func (k *books) paidCharge(amount int64) *polypay.Charge {
	c := k.charge(amount, paid)
	k.post(ledger.ChargePaid(c))
	return c
}

// refund stores a refund of c in status; a succeeded one counts in the
// charge's amount_refunded.
func (k *books) refund(c *polypay.Charge, amount int64, status polypay.RefundStatus) *polypay.Refund {
	k.t.Helper()
	k.n++
	r := &polypay.Refund{ID: polypay.NewID("re_"), AppID: k.app, ChargeID: c.ID, OrderNo: fmt.Sprint("r", k.n), Amount: amount,
		Currency: c.Currency, Status: status, Created: 1700000200, Metadata: []byte("{}"), Extra: []byte("{}")}
	k.write(func(tx *store.Tx) error {
		if status == polypay.RefundSucceeded {
			c.AmountRefunded += amount
			if err := tx.UpdateCharge(ctx, c); err != nil {
				return err
			}
		}
		return tx.InsertRefund(ctx, r)
	})
	return r
}

// order stores an order in status, with its charge (pass "" for none).
func (k *books) order(amount, coupon int64, status polypay.OrderStatus, chargeID string) ledger.Order {
	k.t.Helper()
	k.n++
	o := &polypay.Order{ID: polypay.NewID("or_"), AppID: k.app, MerchantOrderNo: fmt.Sprint("m", k.n), Amount: amount, Currency: "cny",
		Subject: "s", Body: "b", Channels: []byte("[]"), Metadata: []byte("{}"), Status: status, Created: 1700000000,
		TimeExpire: 1700086400, ChargeID: chargeID, CashierToken: "t", ParamsHash: "h", CouponAmount: coupon}
	k.write(func(tx *store.Tx) error { return tx.InsertOrder(ctx, o) })
	return ledger.Order{ID: o.ID, AppID: o.AppID, Currency: o.Currency, Amount: amount, CouponAmount: coupon}
}

// paidOrder is an order with a coupon paid by its charge, both posted.
func (k *books) paidOrder(amount, coupon int64) ledger.Order {
	c := k.paidCharge(amount - coupon)
	o := k.order(amount, coupon, polypay.OrderPaid, c.ID)
	k.post(ledger.Discounted(o))
	return o
}

func (k *books) feeLine(c *polypay.Charge, amount int64) reconcile.FeeLine {
	return reconcile.FeeLine{RefID: "pay:" + c.ID, AppID: k.app, Channel: c.Channel, Day: "2023-11-14", Currency: c.Currency, Amount: amount, RunID: "run_1"}
}

func (k *books) postFee(f reconcile.FeeLine) {
	k.t.Helper()
	k.write(func(tx *store.Tx) error {
		_, err := tx.PostFee(ctx, f)
		return err
	})
}

// TestCheck: clean books check clean, and each way the books can disagree
// with themselves or their records is found, and nothing else.
func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		// setup writes the books and returns the findings wanted, each
		// "kind ref".
		setup func(k *books) []string
	}{
		{"Empty", func(k *books) []string { return nil }},
		{"OK", func(k *books) []string {
			k.charge(100, nil) // never paid
			c := k.paidCharge(300)
			k.post(ledger.Refunded(c, k.refund(c, 100, polypay.RefundSucceeded)))
			k.refund(c, 50, polypay.RefundPending)
			k.refund(c, 20, polypay.RefundFailed)
			rev := k.paidCharge(200)
			k.post(ledger.Refunded(rev, k.refund(rev, 50, polypay.RefundSucceeded)))
			k.write(func(tx *store.Tx) error {
				rev.Status = polypay.ChargeReversed
				if err := tx.Post(ctx, ledger.Reversed(rev)); err != nil {
					return err
				}
				return tx.UpdateCharge(ctx, rev)
			})
			closed := k.charge(10, func(c *polypay.Charge) { c.Status = polypay.ChargeReversed }) // reversed unpaid: nothing to give back
			k.paidOrder(500, 100)
			k.order(500, 0, polypay.OrderPaid, k.paidCharge(500).ID)
			k.order(900, 100, polypay.OrderCreated, closed.ID)
			k.postFee(k.feeLine(c, 3))
			k.postFee(k.feeLine(rev, -2))
			return nil
		}},
		{"UserBalances", func(k *books) []string {
			k.bonus("alice", 1000, true)
			k.bonus("bob", 500, true)
			k.exec(`UPDATE users SET available_balance = 999 WHERE id = 'bob'`) // the books owe 500
			unposted := k.bonus("carol", 200, false)
			return []string{"balance_bonus " + unposted, "user " + k.app + "/bob", "user " + k.app + "/carol"}
		}},
		{"WithdrawalWithoutPaidTransfer", func(k *books) []string {
			k.bonus("dan", 1000, true)
			// Succeeded, with all its postings and the balance debited, but
			// no transfer ever paid it out.
			id := k.withdrawal("dan", 300, polypay.WithdrawalSucceeded)
			return []string{"withdrawal " + id}
		}},
		{"Unbalanced", func(k *books) []string {
			c := k.charge(100, paid)
			txn := k.entries("cny", ledger.RefCharge, c.ID, polypay.Posting{Account: ledger.ChannelAccount(c.Channel), Amount: 100},
				polypay.Posting{Account: ledger.AccountMerchant, Amount: -90})
			return []string{"unbalanced " + txn, "charge " + c.ID, "books " + k.book("cny")}
		}},
		{"OneLine", func(k *books) []string {
			c := k.charge(100, nil)
			txn := k.entries("cny", ledger.RefCharge, c.ID, polypay.Posting{Account: ledger.AccountMerchant, Amount: 0})
			return []string{"unbalanced " + txn, "charge " + c.ID}
		}},
		{"TxnAcrossBooks", func(k *books) []string {
			// Zero in all, but 100 cny against 100 usd.
			txn := k.entries("cny", "adjustment", "x", polypay.Posting{Account: ledger.AccountMerchant, Amount: 100},
				polypay.Posting{Account: "cash", Amount: 0})
			k.entriesIn(txn, "usd", "adjustment", "x", polypay.Posting{Account: ledger.AccountMerchant, Amount: -100},
				polypay.Posting{Account: "cash", Amount: 0})
			return []string{"unbalanced " + txn, "unbalanced " + txn, "books " + k.book("cny"), "books " + k.book("usd"), "adjustment -"}
		}},
		{"ChargeNeverPaid", func(k *books) []string {
			c := k.charge(50, nil)
			k.post(ledger.ChargePaid(&polypay.Charge{ID: c.ID, AppID: k.app, Currency: "cny", Channel: c.Channel, AmountCaptured: 50}))
			return []string{"charge " + c.ID}
		}},
		{"ChargePaidUnposted", func(k *books) []string {
			c := k.charge(50, paid)
			return []string{"charge " + c.ID}
		}},
		{"ChargeOtherAmount", func(k *books) []string {
			c := k.charge(50, paid)
			posted := *c
			posted.AmountCaptured = 40
			k.post(ledger.ChargePaid(&posted))
			return []string{"charge " + c.ID}
		}},
		{"ChargeOtherChannel", func(k *books) []string {
			c := k.charge(50, paid)
			posted := *c
			posted.Channel = "wx_pub_qr"
			k.post(ledger.ChargePaid(&posted))
			return []string{"charge " + c.ID}
		}},
		{"ChargeOtherBook", func(k *books) []string {
			c := k.charge(50, paid)
			posted := *c
			posted.Currency = "usd"
			k.post(ledger.ChargePaid(&posted))
			return []string{"charge " + c.ID}
		}},
		{"ChargePostedTwice", func(k *books) []string {
			c := k.paidCharge(50)
			k.post(ledger.ChargePaid(c))
			return []string{"charge " + c.ID}
		}},
		{"ReversalUnposted", func(k *books) []string {
			c := k.paidCharge(50)
			k.write(func(tx *store.Tx) error {
				c.Status = polypay.ChargeReversed
				return tx.UpdateCharge(ctx, c)
			})
			return []string{"charge " + c.ID}
		}},
		{"ReversalOfUnreversedCharge", func(k *books) []string {
			c := k.paidCharge(50)
			k.post(ledger.Reversed(c))
			return []string{"charge " + c.ID}
		}},
		{"AmountRefundedDisagrees", func(k *books) []string {
			c := k.charge(50, func(c *polypay.Charge) { paid(c); c.AmountRefunded = 30 })
			k.post(ledger.ChargePaid(c))
			return []string{"charge " + c.ID}
		}},
		{"RefundsExceedCapture", func(k *books) []string {
			c := k.paidCharge(50)
			k.post(ledger.Refunded(c, k.refund(c, 40, polypay.RefundSucceeded)))
			k.post(ledger.Refunded(c, k.refund(c, 20, polypay.RefundSucceeded)))
			return []string{"charge " + c.ID}
		}},
		{"RefundSucceededUnposted", func(k *books) []string {
			c := k.paidCharge(50)
			r := k.refund(c, 20, polypay.RefundSucceeded)
			return []string{"refund " + r.ID}
		}},
		{"RefundPendingPosted", func(k *books) []string {
			c := k.paidCharge(50)
			r := k.refund(c, 20, polypay.RefundPending)
			k.post(ledger.Refunded(c, r))
			return []string{"refund " + r.ID}
		}},
		{"RefundOtherAmount", func(k *books) []string {
			c := k.paidCharge(50)
			r := k.refund(c, 20, polypay.RefundSucceeded)
			posted := *r
			posted.Amount = 25
			k.post(ledger.Refunded(c, &posted))
			return []string{"refund " + r.ID}
		}},
		{"DiscountUnposted", func(k *books) []string {
			o := k.order(500, 100, polypay.OrderPaid, k.paidCharge(400).ID)
			return []string{"order " + o.ID}
		}},
		{"DiscountOfUnpaidOrder", func(k *books) []string {
			o := k.order(500, 100, polypay.OrderCreated, "")
			k.post(ledger.Discounted(o))
			return []string{"order " + o.ID}
		}},
		{"DiscountOtherAmount", func(k *books) []string {
			o := k.order(500, 100, polypay.OrderPaid, k.paidCharge(400).ID)
			posted := o
			posted.CouponAmount = 90
			k.post(ledger.Discounted(posted))
			return []string{"order " + o.ID}
		}},
		{"CouponOutOfRange", func(k *books) []string {
			o := k.order(500, 500, polypay.OrderCreated, "")
			neg := k.order(500, -1, polypay.OrderCreated, "")
			return []string{"order " + o.ID, "order " + neg.ID}
		}},
		{"PaidByChargeOfOtherAmount", func(k *books) []string {
			o := k.order(500, 100, polypay.OrderPaid, k.paidCharge(500).ID)
			k.post(ledger.Discounted(o))
			return []string{"order " + o.ID}
		}},
		{"PaidWithoutCharge", func(k *books) []string {
			o := k.order(500, 0, polypay.OrderPaid, "")
			return []string{"order " + o.ID}
		}},
		{"DiscountNamesNoOrder", func(k *books) []string {
			k.post(ledger.Discounted(ledger.Order{ID: "or_gone", AppID: k.app, Currency: "cny", Amount: 500, CouponAmount: 100}))
			return []string{"discount -"}
		}},
		{"FeeUnposted", func(k *books) []string {
			c := k.paidCharge(50)
			k.exec(`INSERT INTO recon_fees (ref_id, app_id, livemode, channel, day, currency, amount, run_id, created)
 VALUES (?,?,?,?,?,?,?,?,?)`, "pay:"+c.ID, k.app, 0, c.Channel, "2023-11-14", "cny", 3, "run_1", 1700000000)
			return []string{"fee pay:" + c.ID}
		}},
		{"FeeOtherAmount", func(k *books) []string {
			c := k.paidCharge(50)
			f := k.feeLine(c, 3)
			k.postFee(f)
			k.post(ledger.Fee(ledger.FeeLine{Ref: f.RefID, AppID: k.app, Channel: c.Channel, Currency: "cny", Amount: 1}))
			return []string{"fee " + f.RefID}
		}},
		{"FeeNamesNoLine", func(k *books) []string {
			c := k.paidCharge(50)
			k.post(ledger.Fee(ledger.FeeLine{Ref: "pay:" + c.ID, AppID: k.app, Channel: c.Channel, Currency: "cny", Amount: 3}))
			return []string{"fee -"}
		}},
		{"RefundNamesNoRefund", func(k *books) []string {
			c := k.paidCharge(50)
			k.post(ledger.Refunded(c, &polypay.Refund{ID: "re_gone", AppID: k.app, Currency: "cny", Amount: 10}))
			return []string{"refund -"}
		}},
		{"ChargeNamesNoCharge", func(k *books) []string {
			k.post(ledger.ChargePaid(&polypay.Charge{ID: "ch_gone", AppID: k.app, Currency: "cny", Channel: "alipay_qr", AmountCaptured: 10}))
			return []string{"charge -"}
		}},
		{"UnknownRefType", func(k *books) []string {
			k.post(ledger.Txn{AppID: k.app, Currency: "cny", RefType: "bonus", RefID: "x",
				Lines: []polypay.Posting{{Account: ledger.AccountMerchant, Amount: 5}, {Account: "cash", Amount: -5}}})
			return []string{"bonus -"}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, b := range storetest.Backends(t) {
				t.Run(b.Name, func(t *testing.T) {
					k := newBooks(t, b)
					want := tc.setup(k)
					_, probs, err := ledger.Check(ctx, k.db)
					if err != nil {
						t.Fatal(err)
					}
					var got []string
					for _, p := range probs {
						got = append(got, p.Kind+" "+p.Ref)
					}
					if !sameFindings(got, want) {
						t.Fatalf("findings:\n%v\nwant %q", probs, want)
					}
				})
			}
		})
	}
}

// sameFindings compares findings as multisets.
func sameFindings(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	got, want = append([]string(nil), got...), append([]string(nil), want...)
	sort.Strings(got)
	sort.Strings(want)
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestCheckSummary: the summary counts what was checked and the balance of
// each account.
func TestCheckSummary(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			k := newBooks(t, b)
			c := k.paidCharge(300)
			k.post(ledger.Refunded(c, k.refund(c, 100, polypay.RefundSucceeded)))
			k.paidOrder(500, 100)
			k.postFee(k.feeLine(c, 3))
			sum, probs, err := ledger.Check(ctx, k.db)
			if err != nil || len(probs) != 0 {
				t.Fatalf("Check: %v %v", probs, err)
			}
			got := fmt.Sprint(sum.Transactions, sum.Entries, sum.Charges, sum.Refunds, sum.Orders, sum.Fees)
			if want := "5 10 2 1 1 1"; got != want {
				t.Errorf("transactions, entries, charges, refunds, orders, fees = %s, want %s", got, want)
			}
			bk := k.book("cny") + "/"
			wantBal := map[string]int64{
				bk + ledger.ChannelAccount("alipay_qr"): 300 - 100 + 400 - 3,
				bk + ledger.AccountMerchant:             -300 + 100 - 400,
				bk + ledger.AccountDiscounts:            100,
				bk + ledger.AccountDiscountsOffset:      -100,
				bk + ledger.AccountFees:                 3,
			}
			if fmt.Sprint(sum.Balances) != fmt.Sprint(wantBal) {
				t.Errorf("balances = %v, want %v", sum.Balances, wantBal)
			}
		})
	}
}

// bonus gives a new user amount of stored value, with its postings when
// posted; it returns the bonus's id.
func (k *books) bonus(user string, amount int64, posted bool) string {
	k.t.Helper()
	b := &store.BalanceBonusRow{BalanceBonus: polypay.BalanceBonus{ID: polypay.NewID("bb_"), AppID: k.app, User: user,
		Amount: amount, OrderNo: "b" + user, Metadata: []byte("{}"), BalanceTransaction: "btx_" + user, Created: 1700000000}, ParamsHash: "h"}
	k.write(func(tx *store.Tx) error {
		if err := tx.InsertUser(ctx, &polypay.User{ID: user, AppID: k.app, Type: "customer", Metadata: []byte("{}"), Created: 1700000000}); err != nil {
			return err
		}
		if _, _, err := tx.MoveBalance(ctx, k.app, false, user, amount); err != nil {
			return err
		}
		if err := tx.InsertBonus(ctx, b); err != nil {
			return err
		}
		if !posted {
			return nil
		}
		return tx.Post(ctx, ledger.BonusGiven(&b.BalanceBonus))
	})
	return b.ID
}

// withdrawal stores a withdrawal of user's balance in status, with the
// balance debited and the postings its status calls for; it returns its id.
func (k *books) withdrawal(user string, amount int64, status polypay.WithdrawalStatus) string {
	k.t.Helper()
	w := &store.WithdrawalRow{Withdrawal: polypay.Withdrawal{ID: polypay.NewID("wd_"), AppID: k.app, User: user, Amount: amount,
		Channel: "alipay", OrderNo: "w" + user, SettleAccount: "sa", TransferOrderNo: "wd" + user, Status: status,
		Metadata: []byte("{}"), BalanceTransaction: "btx", Created: 1700000000}, ParamsHash: "h"}
	k.write(func(tx *store.Tx) error {
		if _, _, err := tx.MoveBalance(ctx, k.app, false, user, -amount); err != nil {
			return err
		}
		if err := tx.InsertWithdrawal(ctx, w); err != nil {
			return err
		}
		if err := tx.Post(ctx, ledger.WithdrawalHeld(&w.Withdrawal)); err != nil {
			return err
		}
		if status == polypay.WithdrawalSucceeded {
			return tx.Post(ctx, ledger.WithdrawalPaid(&w.Withdrawal))
		}
		return nil
	})
	return w.ID
}
