package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

const agreementCols = `id, app_id, livemode, channel, contract_no, contract_id, status, credential, extra, metadata,
 failure_code, failure_msg, time_succeeded, time_canceled, canceled_by, created`

func scanAgreement(s scanner) (*polypay.Agreement, error) {
	var a polypay.Agreement
	var live int
	var status, cred, extra, meta string
	err := s.Scan(&a.ID, &a.AppID, &live, &a.Channel, &a.ContractNo, &a.ContractID, &status, &cred, &extra, &meta,
		&a.FailureCode, &a.FailureMsg, &a.TimeSucceeded, &a.TimeCanceled, &a.CanceledBy, &a.Created)
	a.Livemode, a.Status = live == 1, polypay.AgreementStatus(status)
	a.Credential, a.Extra, a.Metadata = []byte(cred), []byte(extra), []byte(meta)
	return &a, err
}

func jsonText(b []byte) string {
	if len(b) == 0 {
		return "{}"
	}
	return string(b)
}

// InsertAgreement stores a new agreement; a unique violation when the app
// already has its contract_no in that mode.
func (tx *Tx) InsertAgreement(ctx context.Context, a *polypay.Agreement) error {
	_, err := tx.exec(ctx, `INSERT INTO agreements (`+agreementCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		a.ID, a.AppID, b2i(a.Livemode), a.Channel, a.ContractNo, a.ContractID, string(a.Status), jsonText(a.Credential),
		jsonText(a.Extra), jsonText(a.Metadata), a.FailureCode, a.FailureMsg, a.TimeSucceeded, a.TimeCanceled, a.CanceledBy, a.Created)
	return err
}

// UpdateAgreement writes what may change on an agreement.
func (tx *Tx) UpdateAgreement(ctx context.Context, a *polypay.Agreement) error {
	_, err := tx.exec(ctx, `UPDATE agreements SET contract_id=?, status=?, credential=?, metadata=?, failure_code=?, failure_msg=?,
 time_succeeded=?, time_canceled=?, canceled_by=? WHERE id=?`, a.ContractID, string(a.Status), jsonText(a.Credential),
		jsonText(a.Metadata), a.FailureCode, a.FailureMsg, a.TimeSucceeded, a.TimeCanceled, a.CanceledBy, a.ID)
	return err
}

// GetAgreement returns an app's agreement in a mode; ENotFound naming id.
func (tx *Tx) GetAgreement(ctx context.Context, appID string, live bool, id string) (*polypay.Agreement, error) {
	return oneAgreement(tx.queryRow(ctx, `SELECT `+agreementCols+` FROM agreements WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)), id)
}

// LockAgreement reads an agreement to change it (the row is locked on
// PostgreSQL until the transaction ends).
func (tx *Tx) LockAgreement(ctx context.Context, appID string, live bool, id string) (*polypay.Agreement, error) {
	return oneAgreement(tx.queryRow(ctx, `SELECT `+agreementCols+` FROM agreements WHERE id=? AND app_id=? AND livemode=?`+tx.forUpdate(),
		id, appID, b2i(live)), id)
}

// AgreementByContractNo returns an app's agreement by the merchant's
// contract_no; ENotFound naming it.
func (tx *Tx) AgreementByContractNo(ctx context.Context, appID string, live bool, contractNo string) (*polypay.Agreement, error) {
	return oneAgreement(tx.queryRow(ctx, `SELECT `+agreementCols+` FROM agreements WHERE app_id=? AND livemode=? AND contract_no=?`,
		appID, b2i(live), contractNo), contractNo)
}

func oneAgreement(row scanner, id string) (*polypay.Agreement, error) {
	a, err := scanAgreement(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("agreement", id)
	}
	return a, err
}

// AgreementFilter narrows a list of agreements.
type AgreementFilter struct {
	Channel, Status, ContractNo string
}

// ListAgreements pages through an app's agreements, newest first.
func (tx *Tx) ListAgreements(ctx context.Context, appID string, live bool, f AgreementFilter, p Page) ([]*polypay.Agreement, bool, error) {
	where, args := []string{"app_id = ?", "livemode = ?"}, []any{appID, b2i(live)}
	for col, v := range map[string]string{"channel": f.Channel, "status": f.Status, "contract_no": f.ContractNo} {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	return listPage(ctx, tx, agreementCols, "agreements", where, args, p, scanAgreement)
}

// SetAgreementCheck sets when an unsigned agreement is next asked about
// (0: never).
func (tx *Tx) SetAgreementCheck(ctx context.Context, id string, at int64) error {
	_, err := tx.exec(ctx, `UPDATE agreements SET next_check = ? WHERE id = ?`, at, id)
	return err
}

// AgreementRef names an agreement for the poller.
type AgreementRef struct {
	AppID string
	Live  bool
	ID    string
}

// DueAgreements lists unsigned agreements due to be asked about.
func (tx *Tx) DueAgreements(ctx context.Context, now int64, limit int) ([]AgreementRef, error) {
	rows, err := tx.query(ctx, `SELECT app_id, livemode, id FROM agreements WHERE status = 'created' AND next_check > 0
 AND next_check <= ? ORDER BY next_check LIMIT ?`, now, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AgreementRef
	for rows.Next() {
		var r AgreementRef
		var live int
		if err := rows.Scan(&r.AppID, &live, &r.ID); err != nil {
			return nil, err
		}
		r.Live = live == 1
		out = append(out, r)
	}
	return out, rows.Err()
}

// ClaimAgreement takes a due agreement's check for this node, moving its
// next check to next (of nodes racing, one wins).
func (tx *Tx) ClaimAgreement(ctx context.Context, id string, now, next int64) (bool, error) {
	return tx.claim(ctx, `UPDATE agreements SET next_check = ? WHERE id = ? AND status = 'created' AND next_check > 0 AND next_check <= ?`,
		next, id, now)
}
