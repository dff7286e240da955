package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/polypay/polypay"
)

const chargeCols = `id, app_id, livemode, channel, order_no, client_ip, amount, amount_settle, currency,
 subject, body, description, extra, metadata, status, created, time_paid, time_expire, transaction_no,
 amount_refunded, refunded, failure_code, failure_msg, credential, params_hash, auth_only,
 time_authorized, hold_expire, amount_captured, three_d_secure, attempts, account, risk_review`

type scanner interface{ Scan(...any) error }

func scanCharge(s scanner) (*polypay.Charge, error) {
	var c polypay.Charge
	var live, refunded, authOnly int
	var extra, meta, cred, status, tds, attempts string
	err := s.Scan(&c.ID, &c.AppID, &live, &c.Channel, &c.OrderNo, &c.ClientIP, &c.Amount, &c.AmountSettle,
		&c.Currency, &c.Subject, &c.Body, &c.Description, &extra, &meta, &status, &c.Created, &c.TimePaid,
		&c.TimeExpire, &c.TransactionNo, &c.AmountRefunded, &refunded, &c.FailureCode, &c.FailureMsg,
		&cred, &c.ParamsHash, &authOnly, &c.TimeAuthorized, &c.HoldExpire, &c.AmountCaptured, &tds, &attempts, &c.Account, &c.RiskReview)
	if err != nil {
		return nil, err
	}
	c.AuthOnly = authOnly == 1
	if tds != "" {
		c.ThreeDS = new(polypay.ThreeDSResult)
		if err := json.Unmarshal([]byte(tds), c.ThreeDS); err != nil {
			return nil, fmt.Errorf("charge %s: three_d_secure: %w", c.ID, err)
		}
	}
	if attempts != "" {
		c.Attempts = []byte(attempts)
	}
	c.Livemode, c.Refunded = live == 1, refunded == 1
	c.Status = polypay.ChargeStatus(status)
	c.Extra, c.Metadata = []byte(extra), []byte(meta)
	if cred != "" {
		c.Credential = []byte(cred)
	}
	return &c, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// InsertCharge stores a new charge whose first channel check is due at
// nextCheck (unix seconds). A repeated order_no in the same app and mode
// fails with a unique violation (see IsUniqueViolation).
func (tx *Tx) InsertCharge(ctx context.Context, c *polypay.Charge, nextCheck int64) error {
	_, err := tx.exec(ctx, `INSERT INTO charges (`+chargeCols+`, next_check)
 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.AppID, b2i(c.Livemode), c.Channel, c.OrderNo, c.ClientIP, c.Amount, c.AmountSettle,
		c.Currency, c.Subject, c.Body, c.Description, string(c.Extra), string(c.Metadata), string(c.Status),
		c.Created, c.TimePaid, c.TimeExpire, c.TransactionNo, c.AmountRefunded, b2i(c.Refunded),
		c.FailureCode, c.FailureMsg, string(c.Credential), c.ParamsHash, b2i(c.AuthOnly), c.TimeAuthorized,
		c.HoldExpire, c.AmountCaptured, threeDS(c.ThreeDS), string(c.Attempts), c.Account, c.RiskReview, nextCheck)
	return err
}

// UpdateCharge writes a charge's mutable fields (amount_settle becomes
// the captured amount when a pre-authorization is captured for less).
func (tx *Tx) UpdateCharge(ctx context.Context, c *polypay.Charge) error {
	_, err := tx.exec(ctx, `UPDATE charges SET status=?, time_paid=?, transaction_no=?, amount_refunded=?,
 refunded=?, failure_code=?, failure_msg=?, credential=?, extra=?, time_authorized=?, hold_expire=?,
 amount_captured=?, amount_settle=?, three_d_secure=?, attempts=?, account=?, risk_review=? WHERE id=?`,
		string(c.Status), c.TimePaid, c.TransactionNo, c.AmountRefunded, b2i(c.Refunded), c.FailureCode,
		c.FailureMsg, string(c.Credential), string(c.Extra), c.TimeAuthorized, c.HoldExpire, c.AmountCaptured,
		c.AmountSettle, threeDS(c.ThreeDS), string(c.Attempts), c.Account, c.RiskReview, c.ID)
	return err
}

func threeDS(r *polypay.ThreeDSResult) string {
	if r == nil {
		return ""
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// GetCharge returns the app's charge in the given mode; polypay ENotFound
// for any other (including another app's or mode's) id.
func (tx *Tx) GetCharge(ctx context.Context, appID string, live bool, id string) (*polypay.Charge, error) {
	c, err := scanCharge(tx.queryRow(ctx, `SELECT `+chargeCols+` FROM charges WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("charge", id)
	}
	return c, err
}

// LockCharge reads a charge for update within a write transaction.
func (tx *Tx) LockCharge(ctx context.Context, id string) (*polypay.Charge, error) {
	c, err := scanCharge(tx.queryRow(ctx, `SELECT `+chargeCols+` FROM charges WHERE id=?`+tx.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("charge", id)
	}
	return c, err
}

// ChargeByOrderNo finds a charge by the merchant's order number.
func (tx *Tx) ChargeByOrderNo(ctx context.Context, appID string, live bool, orderNo string) (*polypay.Charge, error) {
	c, err := scanCharge(tx.queryRow(ctx, `SELECT `+chargeCols+` FROM charges WHERE app_id=? AND livemode=? AND order_no=?`,
		appID, b2i(live), orderNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

// ReserveRefund adds amount to the charge's refund reservation unless that
// would exceed the charge amount; it reports whether it did. The check and
// the increment are one statement, so concurrent refunds on any number of
// nodes can never together exceed the paid amount.
func (tx *Tx) ReserveRefund(ctx context.Context, chargeID string, amount int64) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE charges SET amount_reserved = amount_reserved + ?, refunded = 1
 WHERE id = ? AND status = 'paid' AND amount_reserved + ? <= amount_captured`, amount, chargeID, amount)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseRefund gives back a failed refund's reservation.
func (tx *Tx) ReleaseRefund(ctx context.Context, chargeID string, amount int64) error {
	_, err := tx.exec(ctx, `UPDATE charges SET amount_reserved = amount_reserved - ? WHERE id = ?`, amount, chargeID)
	return err
}

// Reserved returns the charge's pending + succeeded refund total.
func (tx *Tx) Reserved(ctx context.Context, chargeID string) (int64, error) {
	var n int64
	err := tx.queryRow(ctx, `SELECT amount_reserved FROM charges WHERE id=?`, chargeID).Scan(&n)
	return n, err
}

// ChargeFilter selects charges for a list.
type ChargeFilter struct {
	AppID         string
	Live          bool
	Channel       string
	Paid          *bool
	Refunded      *bool
	Reversed      *bool
	CreatedGT     *int64
	CreatedGTE    *int64
	CreatedLT     *int64
	CreatedLTE    *int64
	StartingAfter string
	EndingBefore  string
	Limit         int
}

// ListCharges returns up to Limit charges newest first, and whether more
// exist beyond them in the direction of travel.
func (tx *Tx) ListCharges(ctx context.Context, f ChargeFilter) ([]*polypay.Charge, bool, error) {
	where := []string{"app_id = ?", "livemode = ?"}
	args := []any{f.AppID, b2i(f.Live)}
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Channel != "" {
		add("channel = ?", f.Channel)
	}
	if f.Paid != nil {
		if *f.Paid {
			where = append(where, "time_paid <> 0")
		} else {
			where = append(where, "time_paid = 0")
		}
	}
	if f.Refunded != nil {
		add("refunded = ?", b2i(*f.Refunded))
	}
	if f.Reversed != nil {
		if *f.Reversed {
			where = append(where, "status = 'reversed'")
		} else {
			where = append(where, "status <> 'reversed'")
		}
	}
	for _, b := range []struct {
		op string
		v  *int64
	}{{">", f.CreatedGT}, {">=", f.CreatedGTE}, {"<", f.CreatedLT}, {"<=", f.CreatedLTE}} {
		if b.v != nil {
			add("created "+b.op+" ?", *b.v)
		}
	}
	order := "DESC"
	if f.StartingAfter != "" {
		add(tx.byteOrder("id")+" < ?", f.StartingAfter)
	} else if f.EndingBefore != "" {
		add(tx.byteOrder("id")+" > ?", f.EndingBefore)
		order = "ASC"
	}
	args = append(args, f.Limit+1)
	rows, err := tx.query(ctx, `SELECT `+chargeCols+` FROM charges WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+tx.byteOrder("id")+` `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []*polypay.Charge
	for rows.Next() {
		c, err := scanCharge(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > f.Limit
	if more {
		out = out[:f.Limit]
	}
	if order == "ASC" { // ending_before pages still read newest first
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, more, nil
}

// ChargeExists reports whether id is one of the app's charges in the mode.
func (tx *Tx) ChargeExists(ctx context.Context, appID string, live bool, id string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM charges WHERE id=? AND app_id=? AND livemode=?`, id, appID, b2i(live)).Scan(&n)
	return n > 0, err
}

// DueCharges returns ids of unpaid charges whose next check has come.
func (tx *Tx) DueCharges(ctx context.Context, now int64, limit int) ([]string, error) {
	return tx.ids(ctx, `SELECT id FROM charges WHERE status = 'pending' AND next_check <= ? ORDER BY next_check LIMIT ?`, now, limit)
}

// ExpiredHolds returns ids of authorized charges whose hold has expired.
func (tx *Tx) ExpiredHolds(ctx context.Context, now int64, limit int) ([]string, error) {
	return tx.ids(ctx, `SELECT id FROM charges WHERE status = 'authorized' AND hold_expire <= ? ORDER BY hold_expire LIMIT ?`, now, limit)
}

// ClaimHold pushes an expired hold's next void attempt to next, and
// reports whether this caller won it.
func (tx *Tx) ClaimHold(ctx context.Context, id string, now, next int64) (bool, error) {
	return tx.claim(ctx, `UPDATE charges SET hold_expire = ? WHERE id = ? AND status = 'authorized' AND hold_expire <= ?`, next, id, now)
}

// ClaimCharge moves a due charge's next check to next, and reports whether
// this caller won it (another node may have claimed it first).
func (tx *Tx) ClaimCharge(ctx context.Context, id string, now, next int64) (bool, error) {
	return tx.claim(ctx, `UPDATE charges SET next_check = ? WHERE id = ? AND status = 'pending' AND next_check <= ?`, next, id, now)
}

// ScheduleCheck sets when an unpaid charge's next check is due (a held
// charge, once sent, is asked about at once rather than at its expiry).
func (tx *Tx) ScheduleCheck(ctx context.Context, id string, at int64) error {
	_, err := tx.exec(ctx, `UPDATE charges SET next_check = ? WHERE id = ? AND status = 'pending'`, at, id)
	return err
}

func (tx *Tx) claim(ctx context.Context, q string, args ...any) (bool, error) {
	res, err := tx.exec(ctx, q, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (tx *Tx) ids(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := tx.query(ctx, q, args...)
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

// SetDoubtCheck sets when the poller must verify a charge whose create
// outcome is in doubt; 0 clears it.
func (tx *Tx) SetDoubtCheck(ctx context.Context, id string, at int64) error {
	_, err := tx.exec(ctx, `UPDATE charges SET doubt_check=? WHERE id=?`, at, id)
	return err
}

// DueDoubts returns ids of charges whose doubt check has come.
func (tx *Tx) DueDoubts(ctx context.Context, now int64, limit int) ([]string, error) {
	return tx.ids(ctx, `SELECT id FROM charges WHERE doubt_check > 0 AND doubt_check <= ? ORDER BY doubt_check LIMIT ?`, now, limit)
}

// ClaimDoubt moves a due doubt check to next, and reports whether this
// caller won it.
func (tx *Tx) ClaimDoubt(ctx context.Context, id string, now, next int64) (bool, error) {
	return tx.claim(ctx, `UPDATE charges SET doubt_check = ? WHERE id = ? AND doubt_check > 0 AND doubt_check <= ?`, next, id, now)
}
