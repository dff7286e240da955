package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/reconcile"
)

// Reconciliation's queries: package reconcile decides, these only read
// and write its runs, discrepancies, fees and jobs.

var (
	_ reconcile.Store = (*DB)(nil)
	_ reconcile.Tx    = (*Tx)(nil)
)

// ReadRecon runs fn in a read transaction (see Read).
func (db *DB) ReadRecon(ctx context.Context, fn func(reconcile.Tx) error) error {
	return db.Read(ctx, func(tx *Tx) error { return fn(tx) })
}

// WriteRecon runs fn in a write transaction (see Write).
func (db *DB) WriteRecon(ctx context.Context, fn func(reconcile.Tx) error) error {
	return db.Write(ctx, func(tx *Tx) error { return fn(tx) })
}

const runCols = `id, app_id, livemode, family, day, status, progress, total, statement_lines, matched, only_polypay,
 only_channel, amount_differs, status_differs, settled, open, fees_posted, fee_amount, error, started, finished`

func scanRun(s scanner) (*reconcile.Run, error) {
	var r reconcile.Run
	var live int
	err := s.Scan(&r.ID, &r.AppID, &live, &r.Family, &r.Day, &r.Status, &r.Progress, &r.Total, &r.StatementLines,
		&r.Matched, &r.OnlyPolypay, &r.OnlyChannel, &r.AmountDiffers, &r.StatusDiffers, &r.Settled, &r.Open,
		&r.FeesPosted, &r.FeeAmount, &r.Error, &r.Started, &r.Finished)
	r.Live = live == 1
	return &r, err
}

// InsertReconRun records a new run.
func (tx *Tx) InsertReconRun(ctx context.Context, r *reconcile.Run) error {
	_, err := tx.exec(ctx, `INSERT INTO recon_runs (`+runCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, r.AppID, b2i(r.Live), r.Family, r.Day, r.Status, r.Progress, r.Total, r.StatementLines, r.Matched,
		r.OnlyPolypay, r.OnlyChannel, r.AmountDiffers, r.StatusDiffers, r.Settled, r.Open, r.FeesPosted, r.FeeAmount,
		r.Error, r.Started, r.Finished)
	return err
}

// UpdateReconRun stores a run's progress, counts and status.
func (tx *Tx) UpdateReconRun(ctx context.Context, r *reconcile.Run) error {
	_, err := tx.exec(ctx, `UPDATE recon_runs SET status=?, progress=?, total=?, statement_lines=?, matched=?, only_polypay=?,
 only_channel=?, amount_differs=?, status_differs=?, settled=?, open=?, fees_posted=?, fee_amount=?, error=?, finished=? WHERE id=?`,
		r.Status, r.Progress, r.Total, r.StatementLines, r.Matched, r.OnlyPolypay, r.OnlyChannel, r.AmountDiffers,
		r.StatusDiffers, r.Settled, r.Open, r.FeesPosted, r.FeeAmount, r.Error, r.Finished, r.ID)
	return err
}

// GetReconRun returns a run; ENotFound when there is none.
func (tx *Tx) GetReconRun(ctx context.Context, id string) (*reconcile.Run, error) {
	r, err := scanRun(tx.queryRow(ctx, `SELECT `+runCols+` FROM recon_runs WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("reconciliation run", id)
	}
	return r, err
}

// reconScope is the WHERE of a run or discrepancy list: the non-empty
// ones among app, mode, family and day.
func reconScope(appID string, live *bool, family, day string) (where []string, args []any) {
	where = []string{"1=1"}
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if appID != "" {
		add("app_id=?", appID)
	}
	if live != nil {
		add("livemode=?", b2i(*live))
	}
	if family != "" {
		add("family=?", family)
	}
	if day != "" {
		add("day=?", day)
	}
	return where, args
}

// ListReconRuns returns runs, newest first.
func (tx *Tx) ListReconRuns(ctx context.Context, f reconcile.RunFilter) ([]*reconcile.Run, error) {
	where, args := reconScope(f.AppID, f.Live, f.Family, f.Day)
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := tx.query(ctx, `SELECT `+runCols+` FROM recon_runs WHERE `+strings.Join(where, " AND ")+
		` ORDER BY started DESC, `+tx.byteOrder("id")+` DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*reconcile.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const discCols = `id, run_id, app_id, livemode, family, day, kind, line_kind, charge_id, refund_id, refund_no, transaction_no,
 currency, channel_amount, polypay_amount, channel_status, polypay_status, detail, resolved, resolved_by, note, resolved_at, created,
 transfer_id`

func scanDisc(s scanner) (*reconcile.Discrepancy, error) {
	var d reconcile.Discrepancy
	var live, resolved int
	err := s.Scan(&d.ID, &d.RunID, &d.AppID, &live, &d.Family, &d.Day, &d.Kind, &d.LineKind, &d.ChargeID, &d.RefundID,
		&d.RefundNo, &d.TransactionNo, &d.Currency, &d.ChannelAmount, &d.PolypayAmount, &d.ChannelStatus, &d.PolypayStatus,
		&d.Detail, &resolved, &d.ResolvedBy, &d.Note, &d.ResolvedAt, &d.Created, &d.TransferID)
	d.Live, d.Resolved = live == 1, resolved == 1
	return &d, err
}

// ReplaceOpenDiscrepancies drops the open discrepancies of an app's family
// and day and inserts ds (a new run's findings), except those someone
// already resolved (same kind, objects - charge, refund or transfer - and
// amounts): resolved ones are kept as they are. It returns the ones
// inserted.
func (tx *Tx) ReplaceOpenDiscrepancies(ctx context.Context, appID string, live bool, family, day string, ds []*reconcile.Discrepancy) ([]*reconcile.Discrepancy, error) {
	if _, err := tx.exec(ctx, `DELETE FROM recon_discrepancies WHERE app_id=? AND livemode=? AND family=? AND day=? AND resolved=0`,
		appID, b2i(live), family, day); err != nil {
		return nil, err
	}
	open := false
	resolved, err := tx.ListDiscrepancies(ctx, reconcile.DiscrepancyFilter{AppID: appID, Live: &live, Family: family, Day: day, Open: &open, Limit: 100000})
	if err != nil {
		return nil, err
	}
	key := func(d *reconcile.Discrepancy) string {
		return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%d|%d", d.Kind, d.LineKind, d.ChargeID, d.RefundNo, d.TransferID, d.TransactionNo,
			d.ChannelAmount, d.PolypayAmount)
	}
	done := map[string]bool{}
	for _, d := range resolved {
		done[key(d)] = true
	}
	var out []*reconcile.Discrepancy
	for _, d := range ds {
		if done[key(d)] {
			continue
		}
		out = append(out, d)
		if d.ID == "" {
			d.ID = polypay.NewID("dsc_")
		}
		d.Created = tx.now
		if _, err := tx.exec(ctx, `INSERT INTO recon_discrepancies (`+discCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			d.ID, d.RunID, d.AppID, b2i(d.Live), d.Family, d.Day, d.Kind, d.LineKind, d.ChargeID, d.RefundID, d.RefundNo,
			d.TransactionNo, d.Currency, d.ChannelAmount, d.PolypayAmount, d.ChannelStatus, d.PolypayStatus, d.Detail,
			b2i(d.Resolved), d.ResolvedBy, d.Note, d.ResolvedAt, d.Created, d.TransferID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ListDiscrepancies returns discrepancies, newest day first.
func (tx *Tx) ListDiscrepancies(ctx context.Context, f reconcile.DiscrepancyFilter) ([]*reconcile.Discrepancy, error) {
	where, args := reconScope(f.AppID, f.Live, f.Family, f.Day)
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.RunID != "" {
		add("run_id=?", f.RunID)
	}
	if f.Open != nil {
		add("resolved=?", b2i(!*f.Open))
	}
	if f.Limit <= 0 {
		f.Limit = 500
	}
	rows, err := tx.query(ctx, `SELECT `+discCols+` FROM recon_discrepancies WHERE `+strings.Join(where, " AND ")+
		` ORDER BY day DESC, family, `+tx.byteOrder("id")+` LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*reconcile.Discrepancy
	for rows.Next() {
		d, err := scanDisc(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// GetDiscrepancy returns one discrepancy; ENotFound when there is none.
func (tx *Tx) GetDiscrepancy(ctx context.Context, id string) (*reconcile.Discrepancy, error) {
	d, err := scanDisc(tx.queryRow(ctx, `SELECT `+discCols+` FROM recon_discrepancies WHERE id=?`+tx.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("discrepancy", id)
	}
	return d, err
}

// ResolveDiscrepancy marks an open discrepancy resolved by user with note.
// It returns false when it was already resolved.
func (tx *Tx) ResolveDiscrepancy(ctx context.Context, id, user, note string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE recon_discrepancies SET resolved=1, resolved_by=?, note=?, resolved_at=? WHERE id=? AND resolved=0`,
		user, note, tx.now, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PostFee records a line's fee and posts it to the ledger (ledger.Fee,
// ref_id the line's key) unless it was recorded before (by an earlier run of
// the same day); it reports whether it posted.
func (tx *Tx) PostFee(ctx context.Context, f reconcile.FeeLine) (bool, error) {
	if f.Amount == 0 {
		return false, nil
	}
	var n int
	if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM recon_fees WHERE ref_id=?`, f.RefID).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.exec(ctx, `INSERT INTO recon_fees (ref_id, app_id, livemode, channel, day, currency, amount, run_id, created)
 VALUES (?,?,?,?,?,?,?,?,?)`, f.RefID, f.AppID, b2i(f.Live), f.Channel, f.Day, f.Currency, f.Amount, f.RunID, tx.now); err != nil {
		return false, err
	}
	err := tx.Post(ctx, ledger.Fee(ledger.FeeLine{Ref: f.RefID, AppID: f.AppID, Livemode: f.Live, Channel: f.Channel,
		Currency: f.Currency, Amount: f.Amount}))
	return err == nil, err
}

// LedgerSum is the sum of an account's entries for one ref.
func (tx *Tx) LedgerSum(ctx context.Context, refType, refID, account string) (int64, error) {
	var v int64
	err := tx.queryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE ref_type=? AND ref_id=? AND account=?`,
		refType, refID, account).Scan(&v)
	return v, err
}

// ChargesPaidBetween returns an app's charges on channels paid in [from,
// to) (unix seconds), whatever happened to them since.
func (tx *Tx) ChargesPaidBetween(ctx context.Context, appID string, live bool, channels []string, from, to int64) ([]*polypay.Charge, error) {
	if len(channels) == 0 {
		return nil, nil
	}
	args := []any{appID, b2i(live), from, to}
	for _, c := range channels {
		args = append(args, c)
	}
	rows, err := tx.query(ctx, `SELECT `+chargeCols+` FROM charges WHERE app_id=? AND livemode=? AND time_paid>=? AND time_paid<?
 AND channel IN (?`+strings.Repeat(",?", len(channels)-1)+`) ORDER BY `+tx.byteOrder("id"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*polypay.Charge
	for rows.Next() {
		c, err := scanCharge(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RefundsCreatedBetween returns an app's refunds of charges on channels
// created in [from, to), any status.
func (tx *Tx) RefundsCreatedBetween(ctx context.Context, appID string, live bool, channels []string, from, to int64) ([]*polypay.Refund, error) {
	if len(channels) == 0 {
		return nil, nil
	}
	args := []any{appID, b2i(live), from, to}
	for _, c := range channels {
		args = append(args, c)
	}
	rows, err := tx.query(ctx, `SELECT `+refundCols+refundFrom+`WHERE r.app_id=? AND r.livemode=? AND r.created>=? AND r.created<?
 AND c.channel IN (?`+strings.Repeat(",?", len(channels)-1)+`) ORDER BY `+tx.byteOrder("r.id"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*polypay.Refund
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DailyTotals sums an app's paid charges and succeeded refunds (by
// time_paid and time_succeed in [from, to)) per channel and currency, and
// the fees posted for statement day.
func (tx *Tx) DailyTotals(ctx context.Context, appID string, live bool, channels []string, from, to int64, day string) ([]*reconcile.ChannelTotals, error) {
	if len(channels) == 0 {
		return nil, nil
	}
	in := `(?` + strings.Repeat(",?", len(channels)-1) + `)`
	byKey := map[string]*reconcile.ChannelTotals{}
	var order []string
	get := func(ch, cur string) *reconcile.ChannelTotals {
		k := ch + "/" + cur
		t := byKey[k]
		if t == nil {
			t = &reconcile.ChannelTotals{Channel: ch, Currency: cur}
			byKey[k] = t
			order = append(order, k)
		}
		return t
	}
	chans := make([]any, len(channels))
	for i, c := range channels {
		chans[i] = c
	}
	for _, q := range []struct {
		sql  string
		args []any
		set  func(t *reconcile.ChannelTotals, n, sum int64)
	}{
		{`SELECT channel, currency, COUNT(*), COALESCE(SUM(amount_captured), 0) FROM charges WHERE app_id=? AND livemode=? AND time_paid>=? AND time_paid<? AND channel IN ` + in + ` GROUP BY channel, currency`,
			append([]any{appID, b2i(live), from, to}, chans...), func(t *reconcile.ChannelTotals, n, s int64) { t.Charges, t.Gross = n, s }},
		{`SELECT c.channel, r.currency, COUNT(*), COALESCE(SUM(r.amount), 0) FROM refunds r JOIN charges c ON c.id=r.charge_id WHERE r.app_id=? AND r.livemode=? AND r.status='succeeded' AND r.time_succeed>=? AND r.time_succeed<? AND c.channel IN ` + in + ` GROUP BY c.channel, r.currency`,
			append([]any{appID, b2i(live), from, to}, chans...), func(t *reconcile.ChannelTotals, n, s int64) { t.Refunds, t.RefundTotal = n, s }},
		{`SELECT channel, currency, COUNT(*), COALESCE(SUM(amount), 0) FROM recon_fees WHERE app_id=? AND livemode=? AND day=? AND channel IN ` + in + ` GROUP BY channel, currency`,
			append([]any{appID, b2i(live), day}, chans...), func(t *reconcile.ChannelTotals, n, s int64) { t.FeeLines, t.Fees = n, s }},
	} {
		rows, err := tx.query(ctx, q.sql, q.args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var ch, cur string
			var n, s int64
			if err := rows.Scan(&ch, &cur, &n, &s); err != nil {
				rows.Close()
				return nil, err
			}
			q.set(get(ch, cur), n, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]*reconcile.ChannelTotals, 0, len(order))
	for _, k := range order {
		out = append(out, byKey[k])
	}
	return out, nil
}

// ClaimJob claims a named job (the daily reconciliation of a day) for
// owner: it succeeds when nobody claimed it, or when a claim older than
// staleBefore never finished (its node died). Several nodes may race; one
// wins.
func (tx *Tx) ClaimJob(ctx context.Context, job, owner string, staleBefore int64) (bool, error) {
	var finished, claimed int64
	err := tx.queryRow(ctx, `SELECT claimed, finished FROM recon_jobs WHERE job=?`+tx.forUpdate(), job).Scan(&claimed, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		// Another node may insert the same job meanwhile: the loser claims
		// nothing, instead of failing on the primary key (seen on PostgreSQL
		// by the store conformance suite's racing claimers).
		res, err := tx.exec(ctx, `INSERT INTO recon_jobs (job, owner, claimed) VALUES (?,?,?) ON CONFLICT (job) DO NOTHING`, job, owner, tx.now)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	if err != nil || finished != 0 || claimed >= staleBefore {
		return false, err
	}
	res, err := tx.exec(ctx, `UPDATE recon_jobs SET owner=?, claimed=? WHERE job=? AND finished=0 AND claimed=?`, owner, tx.now, job, claimed)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FinishJob marks a claimed job done.
func (tx *Tx) FinishJob(ctx context.Context, job string) error {
	_, err := tx.exec(ctx, `UPDATE recon_jobs SET finished=? WHERE job=?`, tx.now, job)
	return err
}

// AppIDs lists every app, for the daily jobs.
func (tx *Tx) AppIDs(ctx context.Context) ([]string, error) {
	return tx.ids(ctx, `SELECT id FROM apps ORDER BY `+tx.byteOrder("id"))
}
