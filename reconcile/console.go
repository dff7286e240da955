package reconcile

import (
	"context"
	"strings"

	"github.com/polypay/polypay"
)

// ResolveDiscrepancy closes an open discrepancy with who resolved it and a
// note saying how (a refund issued, a charge written off, a timing
// difference that cleared the next day).
//
// Errors: ENotFound for an unknown id; EInvalid for an empty note or user,
// or a discrepancy already resolved.
func (e *Engine) ResolveDiscrepancy(ctx context.Context, id, user, note string) (*Discrepancy, error) {
	user, note = strings.TrimSpace(user), strings.TrimSpace(note)
	if user == "" {
		return nil, polypay.ParamError("user", "resolving a discrepancy needs the user who resolves it")
	}
	if note == "" {
		return nil, polypay.ParamError("note", "resolving a discrepancy needs a note saying how")
	}
	var d *Discrepancy
	err := e.Store.WriteRecon(ctx, func(tx Tx) error {
		ok, err := tx.ResolveDiscrepancy(ctx, id, user, note)
		if err != nil {
			return err
		}
		if d, err = tx.GetDiscrepancy(ctx, id); err != nil {
			return err
		}
		if !ok {
			return polypay.ParamError("id", "discrepancy %s was already resolved by %s", id, d.ResolvedBy)
		}
		return nil
	})
	return d, err
}

// Discrepancies lists discrepancies (see DiscrepancyFilter).
func (e *Engine) Discrepancies(ctx context.Context, f DiscrepancyFilter) ([]*Discrepancy, error) {
	var out []*Discrepancy
	err := e.Store.ReadRecon(ctx, func(tx Tx) error {
		var err error
		out, err = tx.ListDiscrepancies(ctx, f)
		return err
	})
	return out, err
}

// Runs lists runs, newest first (see RunFilter).
func (e *Engine) Runs(ctx context.Context, f RunFilter) ([]*Run, error) {
	var out []*Run
	err := e.Store.ReadRecon(ctx, func(tx Tx) error {
		var err error
		out, err = tx.ListReconRuns(ctx, f)
		return err
	})
	return out, err
}

// GetRun returns one run (its progress while it runs); ENotFound if none.
func (e *Engine) GetRun(ctx context.Context, id string) (*Run, error) {
	var r *Run
	err := e.Store.ReadRecon(ctx, func(tx Tx) error {
		var err error
		r, err = tx.GetReconRun(ctx, id)
		return err
	})
	return r, err
}
