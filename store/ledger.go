package store

import (
	"context"
	"fmt"

	"github.com/polypay/polypay"
)

// Ledger accounts. Money the channel holds for the merchant is an asset of
// the gateway's books (channel:<channel>); what is owed to the merchant is a
// liability (merchant).
const (
	AccountMerchant = "merchant"
)

// Cashier discounts are merchant-funded: the customer pays amount -
// discount, the channel collects that, and the charge's own posting (debit
// channel:<channel>, credit merchant) moves exactly that, so the gateway
// owes the merchant only what was paid. No money corresponds to the
// discount, so it is a memo transaction (ref_type RefDiscount, ref_id the
// order id), posted in the transaction that marks the order paid:
//
//	debit  discounts         coupon_amount  (contra-revenue: what the merchant gave up)
//	credit discounts_offset  coupon_amount  (memo counterpart)
//
// It balances on its own and touches neither channel nor merchant balances;
// a paid order's gross sale is its charge's merchant credit plus its
// "discounts" debit. CheckLedger requires it to equal the order's
// coupon_amount.
const (
	RefDiscount            = "discount"
	AccountDiscounts       = "discounts"
	AccountDiscountsOffset = "discounts_offset"
)

// ChannelAccount names the clearing account of a channel.
func ChannelAccount(channel string) string { return "channel:" + channel }

// Posting is one ledger line: Amount > 0 debits, < 0 credits.
type Posting struct {
	Account string
	Amount  int64
}

// Post writes one balanced ledger transaction; it refuses unbalanced ones.
func (tx *Tx) Post(ctx context.Context, appID string, live bool, currency, refType, refID string, lines ...Posting) error {
	var sum int64
	for _, l := range lines {
		sum += l.Amount
	}
	if sum != 0 || len(lines) < 2 {
		return fmt.Errorf("ledger: unbalanced transaction for %s %s (sum %d)", refType, refID, sum)
	}
	txn := polypay.NewID("ltx_")
	for _, l := range lines {
		if _, err := tx.exec(ctx, `INSERT INTO ledger_entries (id, txn_id, app_id, livemode, account, currency, amount, ref_type, ref_id, created)
 VALUES (?,?,?,?,?,?,?,?,?,?)`, polypay.NewID("le_"), txn, appID, b2i(live), l.Account, currency, l.Amount, refType, refID, tx.now); err != nil {
			return err
		}
	}
	return nil
}

// LedgerProblem is one finding of CheckLedger.
type LedgerProblem struct {
	Kind   string
	Ref    string
	Detail string
}

func (p LedgerProblem) String() string { return p.Kind + " " + p.Ref + ": " + p.Detail }

// LedgerSummary is what CheckLedger looked at.
type LedgerSummary struct {
	Transactions int
	Entries      int
	Charges      int
	Refunds      int
	Orders       int
	Balances     map[string]int64 // "app/mode/currency/account" -> balance
}

// CheckLedger verifies that every ledger transaction balances, that every
// paid charge and succeeded refund has exactly its postings and nothing else
// has any, that a paid charge the channel reversed gives back what it kept, that every paid order with a coupon_amount has exactly its
// discount memo (and nothing else has one), that a paid order's charge is
// for amount - coupon_amount, and that accounts sum to zero per app, mode
// and currency.
func (db *DB) CheckLedger(ctx context.Context) (*LedgerSummary, []LedgerProblem, error) {
	var probs []LedgerProblem
	sum := &LedgerSummary{Balances: map[string]int64{}}
	err := db.Read(ctx, func(tx *Tx) error {
		add := func(kind, ref, format string, args ...any) {
			probs = append(probs, LedgerProblem{kind, ref, fmt.Sprintf(format, args...)})
		}
		rows, err := tx.query(ctx, `SELECT txn_id, SUM(amount), COUNT(*) FROM ledger_entries GROUP BY txn_id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var s int64
			var n int
			if err := rows.Scan(&id, &s, &n); err != nil {
				rows.Close()
				return err
			}
			sum.Transactions++
			sum.Entries += n
			if s != 0 {
				add("unbalanced", id, "entries sum to %d", s)
			}
		}
		rows.Close()

		// Every paid charge: +captured amount on its channel account, the
		// same off the merchant; refunds never above what was captured.
		rows, err = tx.query(ctx, `SELECT c.id, c.channel, c.amount_captured, c.time_paid,
 COALESCE((SELECT SUM(amount) FROM ledger_entries l WHERE l.ref_type='charge' AND l.ref_id=c.id AND l.account = 'channel:' || c.channel), 0),
 COALESCE((SELECT SUM(amount) FROM ledger_entries l WHERE l.ref_type='charge' AND l.ref_id=c.id AND l.account = 'merchant'), 0),
 (SELECT COUNT(*) FROM ledger_entries l WHERE l.ref_type='charge' AND l.ref_id=c.id),
 c.amount_refunded,
 COALESCE((SELECT SUM(amount) FROM refunds r WHERE r.charge_id=c.id AND r.status='succeeded'), 0),
 c.status,
 COALESCE((SELECT SUM(amount) FROM ledger_entries l WHERE l.ref_type='reversal' AND l.ref_id=c.id AND l.account = 'channel:' || c.channel), 0)
 FROM charges c`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, ch, status string
			var amount, paid, chanSum, merchSum, refunded, refundSum, reversal int64
			var n int
			if err := rows.Scan(&id, &ch, &amount, &paid, &chanSum, &merchSum, &n, &refunded, &refundSum, &status, &reversal); err != nil {
				rows.Close()
				return err
			}
			sum.Charges++
			want := int64(0)
			if paid != 0 {
				want = amount
			}
			if chanSum != want || merchSum != -want || (want == 0 && n != 0) || (want != 0 && n != 2) {
				add("charge", id, "postings channel %d merchant %d (%d lines), want %d/%d", chanSum, merchSum, n, want, -want)
			}
			// A paid charge the channel reversed gives back what it kept.
			wantRev := int64(0)
			if paid != 0 && status == string(polypay.ChargeReversed) {
				wantRev = -(amount - refunded)
			}
			if reversal != wantRev {
				add("charge", id, "reversal postings on the channel %d, want %d", reversal, wantRev)
			}
			if refunded != refundSum {
				add("charge", id, "amount_refunded %d but succeeded refunds sum to %d", refunded, refundSum)
			}
			if refundSum > amount {
				add("charge", id, "refunds %d exceed the captured amount %d", refundSum, amount)
			}
		}
		rows.Close()

		rows, err = tx.query(ctx, `SELECT r.id, r.amount, r.status,
 COALESCE((SELECT SUM(amount) FROM ledger_entries l WHERE l.ref_type='refund' AND l.ref_id=r.id AND l.account='merchant'), 0),
 (SELECT COUNT(*) FROM ledger_entries l WHERE l.ref_type='refund' AND l.ref_id=r.id)
 FROM refunds r`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, status string
			var amount, merch int64
			var n int
			if err := rows.Scan(&id, &amount, &status, &merch, &n); err != nil {
				rows.Close()
				return err
			}
			sum.Refunds++
			want := int64(0)
			if status == string(polypay.RefundSucceeded) {
				want = amount
			}
			if merch != want || (want == 0 && n != 0) || (want != 0 && n != 2) {
				add("refund", id, "merchant postings %d (%d lines), want %d", merch, n, want)
			}
		}
		rows.Close()

		// Every order: a discount memo iff it is paid with a coupon_amount.
		rows, err = tx.query(ctx, `SELECT o.id, o.status, o.amount, o.coupon_amount, o.charge_id,
 COALESCE((SELECT c.amount FROM charges c WHERE c.id=o.charge_id), -1),
 COALESCE((SELECT SUM(amount) FROM ledger_entries l WHERE l.ref_type='discount' AND l.ref_id=o.id AND l.account='discounts'), 0),
 COALESCE((SELECT SUM(amount) FROM ledger_entries l WHERE l.ref_type='discount' AND l.ref_id=o.id AND l.account='discounts_offset'), 0),
 (SELECT COUNT(*) FROM ledger_entries l WHERE l.ref_type='discount' AND l.ref_id=o.id)
 FROM orders o`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, status, chargeID string
			var amount, coupon, chargeAmount, disc, offset int64
			var n int
			if err := rows.Scan(&id, &status, &amount, &coupon, &chargeID, &chargeAmount, &disc, &offset, &n); err != nil {
				rows.Close()
				return err
			}
			sum.Orders++
			if coupon < 0 || (coupon > 0 && coupon >= amount) {
				add("order", id, "coupon_amount %d out of range for amount %d", coupon, amount)
			}
			want := int64(0)
			if status == "paid" {
				want = coupon
				if chargeAmount != amount-coupon {
					add("order", id, "paid by charge %s of %d, want amount %d - coupon_amount %d", chargeID, chargeAmount, amount, coupon)
				}
			}
			if disc != want || offset != -want || (want == 0 && n != 0) || (want != 0 && n != 2) {
				add("order", id, "discount postings %d/%d (%d lines), want %d/%d", disc, offset, n, want, -want)
			}
		}
		rows.Close()
		var orphans int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM ledger_entries l WHERE l.ref_type='discount' AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id=l.ref_id)`).Scan(&orphans); err != nil {
			return err
		}
		if orphans != 0 {
			add("discount", "-", "%d discount entries name no order", orphans)
		}

		rows, err = tx.query(ctx, `SELECT app_id, livemode, currency, account, SUM(amount) FROM ledger_entries GROUP BY app_id, livemode, currency, account`)
		if err != nil {
			return err
		}
		totals := map[string]int64{}
		for rows.Next() {
			var app, cur, acct string
			var live int
			var bal int64
			if err := rows.Scan(&app, &live, &cur, &acct, &bal); err != nil {
				rows.Close()
				return err
			}
			mode := "test"
			if live == 1 {
				mode = "live"
			}
			sum.Balances[app+"/"+mode+"/"+cur+"/"+acct] = bal
			totals[app+"/"+mode+"/"+cur] += bal
		}
		rows.Close()
		for k, v := range totals {
			if v != 0 {
				add("books", k, "accounts sum to %d", v)
			}
		}
		return rows.Err()
	})
	return sum, probs, err
}
