package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
)

// FeeSchedule is what a sub-app pays its parent (the collector) on each
// paid charge, and how it is settled (migration 0046).
type FeeSchedule struct {
	AppID         string
	Collector     string
	Rules         []byte // JSON [{channel, percent_bp, fixed, minimum}]
	DelayDays     int
	HoldbackBP    int
	HoldbackDays  int
	MinPayout     int64
	PayoutChannel string
	AutoSettle    bool
	Updated       int64
}

// PlatformFee is the fee taken on one paid charge.
type PlatformFee struct {
	ChargeID  string
	AppID     string
	Livemode  bool
	Collector string
	Channel   string
	Currency  string
	Amount    int64
	Created   int64
}

// MerchantSettlement is one day's settlement run of a sub-app.
type MerchantSettlement struct {
	ID              string
	AppID           string
	Livemode        bool
	Currency        string
	SettleDate      string // YYYY-MM-DD, Beijing time
	Cutoff          int64  // takings before this count
	Eligible        int64
	Holdback        int64
	Amount          int64
	Status          string // pending (transfer on its way), paid, failed, skipped (nothing or below the minimum)
	Channel         string
	TransferOrderNo string
	TransferID      string
	FailureMsg      string
	Created         int64
	Finished        int64
}

const feeScheduleCols = `app_id, collector, rules, delay_days, holdback_bp, holdback_days, min_payout, payout_channel, auto_settle, updated`

func scanFeeSchedule(s scanner) (*FeeSchedule, error) {
	var f FeeSchedule
	var rules string
	var auto int
	err := s.Scan(&f.AppID, &f.Collector, &rules, &f.DelayDays, &f.HoldbackBP, &f.HoldbackDays, &f.MinPayout, &f.PayoutChannel, &auto, &f.Updated)
	f.Rules, f.AutoSettle = []byte(rules), auto == 1
	return &f, err
}

// PutFeeSchedule stores a sub-app's fee schedule, replacing any.
func (tx *Tx) PutFeeSchedule(ctx context.Context, f *FeeSchedule) error {
	if _, err := tx.exec(ctx, `DELETE FROM fee_schedules WHERE app_id=?`, f.AppID); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO fee_schedules (`+feeScheduleCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`, f.AppID, f.Collector,
		jsonArray(f.Rules), f.DelayDays, f.HoldbackBP, f.HoldbackDays, f.MinPayout, f.PayoutChannel, b2i(f.AutoSettle), f.Updated)
	return err
}

// FeeScheduleOf returns a sub-app's fee schedule, nil when it has none.
func (tx *Tx) FeeScheduleOf(ctx context.Context, appID string) (*FeeSchedule, error) {
	f, err := scanFeeSchedule(tx.queryRow(ctx, `SELECT `+feeScheduleCols+` FROM fee_schedules WHERE app_id=?`, appID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return f, err
}

// AutoSettled lists the sub-apps settled by the scheduler.
func (tx *Tx) AutoSettled(ctx context.Context) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT f.app_id FROM fee_schedules f JOIN sub_apps s ON s.app_id=f.app_id
 WHERE f.auto_settle=1 AND s.deleted=0 ORDER BY f.app_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// InsertPlatformFee records the fee of a paid charge; false when the
// charge has one already.
func (tx *Tx) InsertPlatformFee(ctx context.Context, f *PlatformFee) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO platform_fees (charge_id, app_id, livemode, collector, channel, currency, amount, created)
 VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (charge_id) DO NOTHING`, f.ChargeID, f.AppID, b2i(f.Livemode), f.Collector, f.Channel, f.Currency,
		f.Amount, f.Created)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Fee is the fee as the books see it.
func (f *PlatformFee) Fee() ledger.PlatformFee {
	return ledger.PlatformFee{ChargeID: f.ChargeID, AppID: f.AppID, Livemode: f.Livemode, Collector: f.Collector, Currency: f.Currency,
		Amount: f.Amount}
}

// LedgerPlatformFees streams fees with their entries of refTypes.
func (tx *Tx) LedgerPlatformFees(ctx context.Context, refTypes []string, fn func(ledger.PlatformFeeRecord) error) error {
	q := `SELECT f.charge_id, f.app_id, f.livemode, f.collector, f.channel, f.currency, f.amount, f.created, ` + entryCols + `
 FROM platform_fees f` + entryJoin("f.charge_id", refTypes) + ` ORDER BY f.charge_id`
	return eachRecord(ctx, tx, q, strArgs(refTypes), func(rows *sql.Rows, e *entryRow) (string, ledger.PlatformFeeRecord, error) {
		var f PlatformFee
		var live int
		err := rows.Scan(append([]any{&f.ChargeID, &f.AppID, &live, &f.Collector, &f.Channel, &f.Currency, &f.Amount, &f.Created}, e.dest()...)...)
		f.Livemode = live == 1
		return f.ChargeID, ledger.PlatformFeeRecord{Fee: f.Fee()}, err
	}, func(r ledger.PlatformFeeRecord, es []ledger.Entry) error {
		r.Entries = es
		return fn(r)
	})
}

// FeesBetween sums a sub-app's fees in [from, to) per currency.
func (tx *Tx) FeesBetween(ctx context.Context, appID string, live bool, from, to int64) (map[string]int64, error) {
	out := map[string]int64{}
	err := tx.eachRow(ctx, `SELECT currency, SUM(amount) FROM platform_fees WHERE app_id=? AND livemode=? AND created>=? AND created<?
 GROUP BY currency`, []any{appID, b2i(live), from, to}, func(rows *sql.Rows) error {
		var c string
		var n int64
		err := rows.Scan(&c, &n)
		out[c] = n
		return err
	})
	return out, err
}

const merchantSettlementCols = `id, app_id, livemode, currency, settle_date, cutoff, eligible, holdback, amount, status, channel,
 transfer_order_no, transfer_id, failure_msg, created, finished`

func scanMerchantSettlement(s scanner) (*MerchantSettlement, error) {
	var m MerchantSettlement
	var live int
	err := s.Scan(&m.ID, &m.AppID, &live, &m.Currency, &m.SettleDate, &m.Cutoff, &m.Eligible, &m.Holdback, &m.Amount, &m.Status,
		&m.Channel, &m.TransferOrderNo, &m.TransferID, &m.FailureMsg, &m.Created, &m.Finished)
	m.Livemode = live == 1
	return &m, err
}

// InsertMerchantSettlement stores a day's run; false when that day's run
// of the sub-app, mode and currency exists already (another node made it).
func (tx *Tx) InsertMerchantSettlement(ctx context.Context, m *MerchantSettlement) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO merchant_settlements (`+merchantSettlementCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
 ON CONFLICT (app_id, livemode, currency, settle_date) DO NOTHING`, m.ID, m.AppID, b2i(m.Livemode), m.Currency, m.SettleDate, m.Cutoff,
		m.Eligible, m.Holdback, m.Amount, m.Status, m.Channel, m.TransferOrderNo, m.TransferID, m.FailureMsg, m.Created, m.Finished)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MoveMerchantSettlement writes a run's outcome if its status is still
// from; false when another transaction moved it first.
func (tx *Tx) MoveMerchantSettlement(ctx context.Context, m *MerchantSettlement, from string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE merchant_settlements SET status=?, transfer_id=?, failure_msg=?, finished=? WHERE id=? AND status=?`,
		m.Status, m.TransferID, m.FailureMsg, m.Finished, m.ID, from)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// GetMerchantSettlement returns a sub-app's run in a mode; ENotFound
// naming id.
func (tx *Tx) GetMerchantSettlement(ctx context.Context, appID string, live bool, id string) (*MerchantSettlement, error) {
	m, err := scanMerchantSettlement(tx.queryRow(ctx, `SELECT `+merchantSettlementCols+` FROM merchant_settlements WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("settlement", id)
	}
	return m, err
}

// SettlementByTransfer returns the run a transfer pays out, nil when it
// is none's.
func (tx *Tx) SettlementByTransfer(ctx context.Context, appID string, live bool, channel, orderNo string) (*MerchantSettlement, error) {
	m, err := scanMerchantSettlement(tx.queryRow(ctx, `SELECT `+merchantSettlementCols+` FROM merchant_settlements
 WHERE app_id=? AND livemode=? AND channel=? AND transfer_order_no=?`, appID, b2i(live), channel, orderNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return m, err
}

// ListMerchantSettlements pages through a sub-app's runs, newest first.
func (tx *Tx) ListMerchantSettlements(ctx context.Context, appID string, live bool, p Page) ([]*MerchantSettlement, bool, error) {
	return listPage(ctx, tx, merchantSettlementCols, "merchant_settlements", []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)},
		p, scanMerchantSettlement)
}

// UnsentSettlements lists runs still pending without a transfer (a node
// died between the run and its transfer), for the poller.
func (tx *Tx) UnsentSettlements(ctx context.Context, limit int) ([]*MerchantSettlement, error) {
	return queryAll(ctx, tx, `SELECT `+merchantSettlementCols+` FROM merchant_settlements WHERE status='pending' AND transfer_id=''
 ORDER BY created LIMIT ?`, scanMerchantSettlement, limit)
}

// MerchantOwed is what a book owes its merchant in one currency (the
// merchant account's credit balance), counting entries before `before`
// (0: all), without the payouts of settlement runs.
func (tx *Tx) MerchantOwed(ctx context.Context, appID string, live bool, currency string, before int64) (int64, error) {
	q := `SELECT COALESCE(-SUM(amount), 0) FROM ledger_entries l WHERE app_id=? AND livemode=? AND currency=? AND account='merchant'
 AND NOT (ref_type='transfer' AND ref_id IN (SELECT transfer_id FROM merchant_settlements m WHERE m.app_id=l.app_id AND m.transfer_id<>''))`
	args := []any{appID, b2i(live), currency}
	if before > 0 {
		q += ` AND created < ?`
		args = append(args, before)
	}
	var n int64
	err := tx.queryRow(ctx, q, args...).Scan(&n)
	return n, err
}

// SettledOut sums the runs of a sub-app that paid or are paying out, per
// currency in one mode.
func (tx *Tx) SettledOut(ctx context.Context, appID string, live bool, currency string) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT COALESCE(SUM(amount), 0) FROM merchant_settlements WHERE app_id=? AND livemode=? AND currency=?
 AND status IN ('pending', 'paid')`, appID, b2i(live), currency).Scan(&n)
	return n, err
}

// ChargeTakings sums what paid charges credited the merchant in [from,
// to) (the reserve's base).
func (tx *Tx) ChargeTakings(ctx context.Context, appID string, live bool, currency string, from, to int64) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT COALESCE(-SUM(amount), 0) FROM ledger_entries WHERE app_id=? AND livemode=? AND currency=?
 AND account='merchant' AND ref_type='charge' AND created>=? AND created<?`, appID, b2i(live), currency, from, to).Scan(&n)
	return n, err
}

// BookCurrencies lists the currencies a book has merchant entries in.
func (tx *Tx) BookCurrencies(ctx context.Context, appID string, live bool) ([]string, error) {
	var out []string
	err := tx.eachRow(ctx, `SELECT DISTINCT currency FROM ledger_entries WHERE app_id=? AND livemode=? AND account='merchant' ORDER BY currency`,
		[]any{appID, b2i(live)}, func(rows *sql.Rows) error {
			var c string
			err := rows.Scan(&c)
			out = append(out, c)
			return err
		})
	return out, err
}

// StatementLine is one merchant-account entry of a day's statement.
type StatementLine struct {
	Created int64
	RefType string
	RefID   string
	Amount  int64 // owed to the merchant: > 0 credits it, < 0 debits it
}

// MerchantLines lists a book's merchant-account entries in [from, to) in
// one currency, oldest first.
func (tx *Tx) MerchantLines(ctx context.Context, appID string, live bool, currency string, from, to int64) ([]StatementLine, error) {
	var out []StatementLine
	err := tx.eachRow(ctx, `SELECT created, ref_type, ref_id, -amount FROM ledger_entries WHERE app_id=? AND livemode=? AND currency=?
 AND account='merchant' AND created>=? AND created<? ORDER BY created, id`, []any{appID, b2i(live), currency, from, to}, func(rows *sql.Rows) error {
		var l StatementLine
		err := rows.Scan(&l.Created, &l.RefType, &l.RefID, &l.Amount)
		out = append(out, l)
		return err
	})
	return out, err
}

// SettledOn reports whether a sub-app has a run for a date in a mode.
func (tx *Tx) SettledOn(ctx context.Context, appID string, live bool, date string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM merchant_settlements WHERE app_id=? AND livemode=? AND settle_date=?`,
		appID, b2i(live), date).Scan(&n)
	return n > 0, err
}

// MerchantBalance is what a book owed its merchant in one currency
// before a time, every entry counted.
func (tx *Tx) MerchantBalance(ctx context.Context, appID string, live bool, currency string, before int64) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT COALESCE(-SUM(amount), 0) FROM ledger_entries WHERE app_id=? AND livemode=? AND currency=?
 AND account='merchant' AND created<?`, appID, b2i(live), currency, before).Scan(&n)
	return n, err
}
