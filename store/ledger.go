package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
)

// The ledger's entries live in ledger_entries; package ledger says which
// accounts each business event moves and checks the books through the
// queries below, which know no account.

var (
	_ ledger.Books  = (*Tx)(nil)
	_ ledger.Reader = (*DB)(nil)
)

// Post writes one ledger transaction; it refuses one that does not balance
// (ledger.Txn.Validate).
func (tx *Tx) Post(ctx context.Context, t ledger.Txn) error {
	if err := t.Validate(); err != nil {
		return err
	}
	txn := polypay.NewID("ltx_")
	for _, l := range t.Lines {
		if _, err := tx.exec(ctx, `INSERT INTO ledger_entries (id, txn_id, app_id, livemode, account, currency, amount, ref_type, ref_id, created)
 VALUES (?,?,?,?,?,?,?,?,?,?)`, polypay.NewID("le_"), txn, t.AppID, b2i(t.Livemode), l.Account, t.Currency, l.Amount, t.RefType, t.RefID, tx.now); err != nil {
			return err
		}
	}
	return nil
}

// ReadBooks runs fn in a read transaction (see Read).
func (db *DB) ReadBooks(ctx context.Context, fn func(ledger.Books) error) error {
	return db.Read(ctx, func(tx *Tx) error { return fn(tx) })
}

// LedgerTxns calls fn with each transaction's sum and line count in each
// book it has entries in.
func (tx *Tx) LedgerTxns(ctx context.Context, fn func(ledger.TxnTotal) error) error {
	return tx.eachRow(ctx, `SELECT txn_id, app_id, livemode, currency, SUM(amount), COUNT(*) FROM ledger_entries
 GROUP BY txn_id, app_id, livemode, currency`, nil, func(rows *sql.Rows) error {
		var t ledger.TxnTotal
		var live int
		if err := rows.Scan(&t.ID, &t.AppID, &live, &t.Currency, &t.Sum, &t.Lines); err != nil {
			return err
		}
		t.Livemode = live == 1
		return fn(t)
	})
}

// LedgerBalances calls fn with each account's balance per app, mode and
// currency.
func (tx *Tx) LedgerBalances(ctx context.Context, fn func(ledger.Balance) error) error {
	return tx.eachRow(ctx, `SELECT app_id, livemode, currency, account, SUM(amount) FROM ledger_entries
 GROUP BY app_id, livemode, currency, account`, nil, func(rows *sql.Rows) error {
		var b ledger.Balance
		var live int
		if err := rows.Scan(&b.AppID, &live, &b.Currency, &b.Account, &b.Amount); err != nil {
			return err
		}
		b.Livemode = live == 1
		return fn(b)
	})
}

// LedgerRefCounts counts the entries of each ref type.
func (tx *Tx) LedgerRefCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := tx.eachRow(ctx, `SELECT ref_type, COUNT(*) FROM ledger_entries GROUP BY ref_type`, nil, func(rows *sql.Rows) error {
		var rt string
		var n int
		if err := rows.Scan(&rt, &n); err != nil {
			return err
		}
		out[rt] = n
		return nil
	})
	return out, err
}

// LedgerCharges calls fn with every charge and its entries of refTypes.
func (tx *Tx) LedgerCharges(ctx context.Context, refTypes []string, fn func(ledger.ChargeRecord) error) error {
	// The succeeded refunds are summed once, not per charge: a correlated
	// subquery would scan them all for each charge.
	q := `SELECT c.id, c.app_id, c.livemode, c.currency, c.channel, c.status, c.amount_captured, c.amount_refunded, c.time_paid,
 COALESCE(rs.amount, 0), ` + entryCols + `
 FROM charges c
 LEFT JOIN (SELECT charge_id, SUM(amount) AS amount FROM refunds WHERE status=? GROUP BY charge_id) rs ON rs.charge_id=c.id` +
		entryJoin("c.id", refTypes) + ` ORDER BY c.id`
	args := append([]any{string(polypay.RefundSucceeded)}, strArgs(refTypes)...)
	return eachRecord(ctx, tx, q, args, func(rows *sql.Rows, e *entryRow) (string, ledger.ChargeRecord, error) {
		var r ledger.ChargeRecord
		c := &r.Charge
		var live int
		var status string
		err := rows.Scan(append([]any{&c.ID, &c.AppID, &live, &c.Currency, &c.Channel, &status, &c.AmountCaptured,
			&c.AmountRefunded, &c.TimePaid, &r.RefundsSucceeded}, e.dest()...)...)
		c.Livemode, c.Status = live == 1, polypay.ChargeStatus(status)
		return c.ID, r, err
	}, func(r ledger.ChargeRecord, es []ledger.Entry) error {
		r.Entries = es
		return fn(r)
	})
}

// LedgerRefunds calls fn with every refund and its entries of refTypes.
func (tx *Tx) LedgerRefunds(ctx context.Context, refTypes []string, fn func(ledger.RefundRecord) error) error {
	q := `SELECT r.id, r.app_id, r.livemode, r.currency, r.amount, r.status, r.charge_id,
 COALESCE((SELECT c.channel FROM charges c WHERE c.id=r.charge_id), ''), ` + entryCols + `
 FROM refunds r` + entryJoin("r.id", refTypes) + ` ORDER BY r.id`
	return eachRecord(ctx, tx, q, strArgs(refTypes), func(rows *sql.Rows, e *entryRow) (string, ledger.RefundRecord, error) {
		var r ledger.RefundRecord
		f := &r.Refund
		var live int
		var status string
		err := rows.Scan(append([]any{&f.ID, &f.AppID, &live, &f.Currency, &f.Amount, &status, &f.ChargeID, &r.Charge.Channel}, e.dest()...)...)
		f.Livemode, f.Status, r.Charge.ID = live == 1, polypay.RefundStatus(status), f.ChargeID
		return f.ID, r, err
	}, func(r ledger.RefundRecord, es []ledger.Entry) error {
		r.Entries = es
		return fn(r)
	})
}

// LedgerOrders calls fn with every order and its entries of refTypes. The
// charge amount is that of the charge that paid it plus, for a payment
// split with a user's balance, its partner's.
func (tx *Tx) LedgerOrders(ctx context.Context, refTypes []string, fn func(ledger.OrderRecord) error) error {
	q := `SELECT o.id, o.app_id, o.livemode, o.currency, o.amount, o.coupon_amount, o.status, o.charge_id,
 COALESCE((SELECT c.amount FROM charges c WHERE c.id=o.charge_id), -1)
 + COALESCE((SELECT p.amount FROM order_charges oc JOIN charges p ON p.id = oc.partner
   WHERE oc.order_id = o.id AND oc.charge_id = o.charge_id), 0), ` + entryCols + `
 FROM orders o` + entryJoin("o.id", refTypes) + ` ORDER BY o.id`
	return eachRecord(ctx, tx, q, strArgs(refTypes), func(rows *sql.Rows, e *entryRow) (string, ledger.OrderRecord, error) {
		var r ledger.OrderRecord
		o := &r.Order
		var live int
		var status string
		err := rows.Scan(append([]any{&o.ID, &o.AppID, &live, &o.Currency, &o.Amount, &o.CouponAmount, &status,
			&r.ChargeID, &r.ChargeAmount}, e.dest()...)...)
		o.Livemode, r.Paid = live == 1, polypay.OrderStatus(status) == polypay.OrderPaid
		return o.ID, r, err
	}, func(r ledger.OrderRecord, es []ledger.Entry) error {
		r.Entries = es
		return fn(r)
	})
}

// LedgerFees calls fn with every fee line PostFee recorded and its entries
// of refTypes.
func (tx *Tx) LedgerFees(ctx context.Context, refTypes []string, fn func(ledger.FeeRecord) error) error {
	q := `SELECT f.ref_id, f.app_id, f.livemode, f.channel, f.currency, f.amount, ` + entryCols + `
 FROM recon_fees f` + entryJoin("f.ref_id", refTypes) + ` ORDER BY f.ref_id`
	return eachRecord(ctx, tx, q, strArgs(refTypes), func(rows *sql.Rows, e *entryRow) (string, ledger.FeeRecord, error) {
		var r ledger.FeeRecord
		f := &r.Fee
		var live int
		err := rows.Scan(append([]any{&f.Ref, &f.AppID, &live, &f.Channel, &f.Currency, &f.Amount}, e.dest()...)...)
		f.Livemode = live == 1
		return f.Ref, r, err
	}, func(r ledger.FeeRecord, es []ledger.Entry) error {
		r.Entries = es
		return fn(r)
	})
}

// entryCols are a record's ledger entry in its query, NULL when it has none.
const entryCols = `l.app_id, l.livemode, l.currency, l.ref_type, l.account, l.amount`

// entryJoin joins a record, whose id is idCol, to its entries of refTypes.
func entryJoin(idCol string, refTypes []string) string {
	return ` LEFT JOIN ledger_entries l ON l.ref_type IN (?` + strings.Repeat(",?", len(refTypes)-1) + `) AND l.ref_id=` + idCol
}

func strArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// entryRow scans entryCols.
type entryRow struct {
	app, currency, refType, account sql.NullString
	live, amount                    sql.NullInt64
}

func (e *entryRow) dest() []any {
	return []any{&e.app, &e.live, &e.currency, &e.refType, &e.account, &e.amount}
}

// eachRecord runs q, whose rows are a record's columns then entryCols,
// ordered by the record's id: scan reads one row and returns the record's
// id, and fn gets each record with all its entries.
func eachRecord[R any](ctx context.Context, tx *Tx, q string, args []any,
	scan func(*sql.Rows, *entryRow) (string, R, error), fn func(R, []ledger.Entry) error) error {
	var (
		cur     R
		curID   string
		have    bool
		entries []ledger.Entry
	)
	err := tx.eachRow(ctx, q, args, func(rows *sql.Rows) error {
		var e entryRow
		id, rec, err := scan(rows, &e)
		if err != nil {
			return err
		}
		if have && id != curID {
			if err := fn(cur, entries); err != nil {
				return err
			}
			entries = nil
		}
		cur, curID, have = rec, id, true
		if e.refType.Valid {
			entries = append(entries, ledger.Entry{AppID: e.app.String, Livemode: e.live.Int64 == 1, Currency: e.currency.String,
				RefType: e.refType.String, Account: e.account.String, Amount: e.amount.Int64})
		}
		return nil
	})
	if err != nil || !have {
		return err
	}
	return fn(cur, entries)
}

// eachRow runs q and calls fn on each row.
func (tx *Tx) eachRow(ctx context.Context, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// LedgerPayouts calls fn with every transfer, then every red envelope,
// each with its entries of refTypes.
func (tx *Tx) LedgerPayouts(ctx context.Context, refTypes []string, fn func(ledger.PayoutRecord) error) error {
	for _, kind := range []struct{ kind, table string }{{"transfer", "transfers"}, {"red_envelope", "red_envelopes"}} {
		q := `SELECT p.id, p.app_id, p.livemode, p.currency, p.channel, p.amount, p.status, ` + entryCols + `
 FROM ` + kind.table + ` p` + entryJoin("p.id", refTypes) + ` ORDER BY p.id`
		err := eachRecord(ctx, tx, q, strArgs(refTypes), func(rows *sql.Rows, e *entryRow) (string, ledger.PayoutRecord, error) {
			r := ledger.PayoutRecord{Kind: kind.kind}
			var live int
			err := rows.Scan(append([]any{&r.ID, &r.AppID, &live, &r.Currency, &r.Channel, &r.Amount, &r.Status}, e.dest()...)...)
			r.Livemode = live == 1
			return r.ID, r, err
		}, func(r ledger.PayoutRecord, es []ledger.Entry) error {
			r.Entries = es
			return fn(r)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// LedgerBalanceMoves streams balance bonuses and balance transfers with
// their entries of refTypes.
func (tx *Tx) LedgerBalanceMoves(ctx context.Context, refTypes []string, fn func(ledger.BalanceMoveRecord) error) error {
	q := `SELECT b.id, b.app_id, b.livemode, b.user_id, b.amount, ` + entryCols + `
 FROM balance_bonuses b` + entryJoin("b.id", refTypes) + ` ORDER BY b.id`
	err := eachRecord(ctx, tx, q, strArgs(refTypes), func(rows *sql.Rows, e *entryRow) (string, ledger.BalanceMoveRecord, error) {
		b := &polypay.BalanceBonus{}
		var live int
		err := rows.Scan(append([]any{&b.ID, &b.AppID, &live, &b.User, &b.Amount}, e.dest()...)...)
		b.Livemode = live == 1
		return b.ID, ledger.BalanceMoveRecord{Bonus: b}, err
	}, func(r ledger.BalanceMoveRecord, es []ledger.Entry) error {
		r.Entries = es
		return fn(r)
	})
	if err != nil {
		return err
	}
	q = `SELECT r.id, r.app_id, r.livemode, r.user_id, r.amount, r.user_fee, r.succeeded, r.charge_id,
 COALESCE((SELECT c.status FROM charges c WHERE c.id=r.charge_id), ''),
 COALESCE((SELECT c.amount_captured FROM charges c WHERE c.id=r.charge_id), 0), ` + entryCols + `
 FROM recharges r` + entryJoin("r.id", refTypes) + ` ORDER BY r.id`
	err = eachRecord(ctx, tx, q, strArgs(refTypes), func(rows *sql.Rows, e *entryRow) (string, ledger.BalanceMoveRecord, error) {
		r := &polypay.Recharge{}
		rec := ledger.BalanceMoveRecord{Recharge: r}
		var live, ok int
		err := rows.Scan(append([]any{&r.ID, &r.AppID, &live, &r.User, &r.Amount, &r.UserFee, &ok, &r.ChargeID,
			&rec.ChargeStatus, &rec.ChargeCaptured}, e.dest()...)...)
		r.Livemode, r.Succeeded = live == 1, ok == 1
		return r.ID, rec, err
	}, func(r ledger.BalanceMoveRecord, es []ledger.Entry) error {
		r.Entries = es
		return fn(r)
	})
	if err != nil {
		return err
	}
	q = `SELECT w.id, w.app_id, w.livemode, w.user_id, w.amount, w.user_fee, w.status,
 COALESCE((SELECT t.status FROM transfers t WHERE t.app_id=w.app_id AND t.livemode=w.livemode AND t.channel=w.channel
  AND t.order_no=w.transfer_order_no), ''),
 COALESCE((SELECT t.amount FROM transfers t WHERE t.app_id=w.app_id AND t.livemode=w.livemode AND t.channel=w.channel
  AND t.order_no=w.transfer_order_no), 0), ` + entryCols + `
 FROM withdrawals w` + entryJoin("w.id", refTypes) + ` ORDER BY w.id`
	err = eachRecord(ctx, tx, q, strArgs(refTypes), func(rows *sql.Rows, e *entryRow) (string, ledger.BalanceMoveRecord, error) {
		w := &polypay.Withdrawal{}
		rec := ledger.BalanceMoveRecord{Withdrawal: w}
		var live int
		var status string
		err := rows.Scan(append([]any{&w.ID, &w.AppID, &live, &w.User, &w.Amount, &w.UserFee, &status,
			&rec.TransferStatus, &rec.TransferAmount}, e.dest()...)...)
		w.Livemode, w.Status = live == 1, polypay.WithdrawalStatus(status)
		return w.ID, rec, err
	}, func(r ledger.BalanceMoveRecord, es []ledger.Entry) error {
		r.Entries = es
		return fn(r)
	})
	if err != nil {
		return err
	}
	q = `SELECT t.id, t.app_id, t.livemode, t.user_id, t.recipient, t.amount, t.user_fee, ` + entryCols + `
 FROM balance_transfers t` + entryJoin("t.id", refTypes) + ` ORDER BY t.id`
	return eachRecord(ctx, tx, q, strArgs(refTypes), func(rows *sql.Rows, e *entryRow) (string, ledger.BalanceMoveRecord, error) {
		t := &polypay.BalanceTransfer{}
		var live int
		err := rows.Scan(append([]any{&t.ID, &t.AppID, &live, &t.User, &t.Recipient, &t.Amount, &t.UserFee}, e.dest()...)...)
		t.Livemode = live == 1
		return t.ID, ledger.BalanceMoveRecord{Transfer: t}, err
	}, func(r ledger.BalanceMoveRecord, es []ledger.Entry) error {
		r.Entries = es
		return fn(r)
	})
}

// LedgerUsers streams every user's available balance.
func (tx *Tx) LedgerUsers(ctx context.Context, fn func(ledger.UserRecord) error) error {
	return tx.UserBalances(ctx, func(app string, live bool, user string, bal int64) error {
		return fn(ledger.UserRecord{AppID: app, Livemode: live, ID: user, Balance: bal})
	})
}
