package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/polypay/polypay"
)

// Reconciliation's queries about payouts: the transfers a statement's
// payout lines name, and those polypay paid in the statement's day.

// TransferByID returns a transfer of any app (reconciliation checks whose
// it is); ENotFound when there is none.
func (tx *Tx) TransferByID(ctx context.Context, id string) (*polypay.Transfer, error) {
	t, err := scanTransfer(tx.queryRow(ctx, `SELECT `+transferCols+` FROM transfers WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("transfer", id)
	}
	if err != nil {
		return nil, err
	}
	return &t.Transfer, nil
}

// TransfersPaidBetween returns an app's transfers on channels paid in
// [from, to) (time_transferred, unix seconds), in id order.
func (tx *Tx) TransfersPaidBetween(ctx context.Context, appID string, live bool, channels []string, from, to int64) ([]*polypay.Transfer, error) {
	if len(channels) == 0 {
		return nil, nil
	}
	args := []any{appID, b2i(live), string(polypay.TransferPaid), from, to}
	for _, c := range channels {
		args = append(args, c)
	}
	rows, err := tx.query(ctx, `SELECT `+transferCols+` FROM transfers WHERE app_id=? AND livemode=? AND status=?
 AND time_transferred>=? AND time_transferred<? AND channel IN (?`+strings.Repeat(",?", len(channels)-1)+`) ORDER BY `+tx.byteOrder("id"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*polypay.Transfer
	for rows.Next() {
		t, err := scanTransfer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, &t.Transfer)
	}
	return out, rows.Err()
}
