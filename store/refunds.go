package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

const refundCols = `r.id, r.app_id, r.livemode, r.charge_id, c.order_no, r.order_no, r.amount, r.currency, r.status,
 r.created, r.time_succeed, r.description, r.failure_code, r.failure_msg, r.metadata, r.extra, r.transaction_no,
 r.funding_source`

const refundFrom = ` FROM refunds r JOIN charges c ON c.id = r.charge_id `

func scanRefund(s scanner) (*polypay.Refund, error) {
	var r polypay.Refund
	var live int
	var status, meta, extra string
	err := s.Scan(&r.ID, &r.AppID, &live, &r.ChargeID, &r.ChargeOrderNo, &r.OrderNo, &r.Amount, &r.Currency,
		&status, &r.Created, &r.TimeSucceed, &r.Description, &r.FailureCode, &r.FailureMsg, &meta, &extra,
		&r.TransactionNo, &r.FundingSource)
	if err != nil {
		return nil, err
	}
	r.Livemode = live == 1
	r.Status = polypay.RefundStatus(status)
	r.Metadata, r.Extra = []byte(meta), []byte(extra)
	return &r, nil
}

// InsertRefund stores a new refund; the caller reserved its amount first.
func (tx *Tx) InsertRefund(ctx context.Context, r *polypay.Refund) error {
	_, err := tx.exec(ctx, `INSERT INTO refunds (id, app_id, livemode, charge_id, order_no, amount, currency, status,
 created, time_succeed, description, failure_code, failure_msg, metadata, extra, transaction_no, funding_source, next_check)
 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, r.AppID, b2i(r.Livemode), r.ChargeID, r.OrderNo, r.Amount, r.Currency, string(r.Status), r.Created,
		r.TimeSucceed, r.Description, r.FailureCode, r.FailureMsg, string(r.Metadata), string(r.Extra),
		r.TransactionNo, r.FundingSource, r.Created+30)
	return err
}

// UpdateRefund writes a refund's mutable fields.
func (tx *Tx) UpdateRefund(ctx context.Context, r *polypay.Refund) error {
	_, err := tx.exec(ctx, `UPDATE refunds SET status=?, time_succeed=?, failure_code=?, failure_msg=?, transaction_no=?, extra=?
 WHERE id=?`, string(r.Status), r.TimeSucceed, r.FailureCode, r.FailureMsg, r.TransactionNo, string(r.Extra), r.ID)
	return err
}

// GetRefund returns a refund of the app's charge; ENotFound otherwise.
func (tx *Tx) GetRefund(ctx context.Context, appID string, live bool, chargeID, id string) (*polypay.Refund, error) {
	r, err := scanRefund(tx.queryRow(ctx, `SELECT `+refundCols+refundFrom+`WHERE r.id=? AND r.charge_id=? AND r.app_id=? AND r.livemode=?`,
		id, chargeID, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("refund", id)
	}
	return r, err
}

// RefundByOrderNo finds a refund by the number the channel knows it by.
func (tx *Tx) RefundByOrderNo(ctx context.Context, orderNo string) (*polypay.Refund, error) {
	r, err := scanRefund(tx.queryRow(ctx, `SELECT `+refundCols+refundFrom+`WHERE r.order_no=?`+tx.forUpdate(), orderNo))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("refund", orderNo)
	}
	return r, err
}

// ListRefunds lists a charge's refunds newest first with cursor paging.
func (tx *Tx) ListRefunds(ctx context.Context, chargeID, startingAfter, endingBefore string, limit int) ([]*polypay.Refund, bool, error) {
	q := `SELECT ` + refundCols + refundFrom + `WHERE r.charge_id = ?`
	args := []any{chargeID}
	order := "DESC"
	if startingAfter != "" {
		q += " AND " + tx.byteOrder("r.id") + " < ?"
		args = append(args, startingAfter)
	} else if endingBefore != "" {
		q += " AND " + tx.byteOrder("r.id") + " > ?"
		args = append(args, endingBefore)
		order = "ASC"
	}
	q += " ORDER BY " + tx.byteOrder("r.id") + " " + order + " LIMIT ?"
	args = append(args, limit+1)
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []*polypay.Refund
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	if order == "ASC" {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, more, nil
}

// RefundExists reports whether id is a refund of the charge.
func (tx *Tx) RefundExists(ctx context.Context, chargeID, id string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM refunds WHERE id=? AND charge_id=?`, id, chargeID).Scan(&n)
	return n > 0, err
}

// DueRefunds returns ids of pending refunds whose next check has come.
func (tx *Tx) DueRefunds(ctx context.Context, now int64, limit int) ([]string, error) {
	return tx.ids(ctx, `SELECT order_no FROM refunds WHERE status = 'pending' AND next_check <= ? ORDER BY next_check LIMIT ?`, now, limit)
}

// ClaimRefund moves a due refund's next check to next; true if this caller won it.
func (tx *Tx) ClaimRefund(ctx context.Context, orderNo string, now, next int64) (bool, error) {
	return tx.claim(ctx, `UPDATE refunds SET next_check = ? WHERE order_no = ? AND status = 'pending' AND next_check <= ?`, next, orderNo, now)
}
