package risk

import (
	"context"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// Attempt counts an attempt the engine allowed: a charge about to reach
// its channel (failed false; Failed marks it when the channel declines),
// or a token request, failed when the card number was invalid.
func (e *Engine) Attempt(ctx context.Context, f Facts, failed bool) error {
	if e.Config.Off {
		return nil
	}
	return e.Store.Write(ctx, func(tx Tx) error { return e.AttemptTx(ctx, tx, f, failed) })
}

// AttemptTx is Attempt inside the caller's transaction.
func (e *Engine) AttemptTx(ctx context.Context, tx interface {
	InsertRiskAttempt(ctx context.Context, a store.RiskAttempt) error
}, f Facts, failed bool) error {
	if e.Config.Off {
		return nil
	}
	ip := CanonicalIP(f.IP)
	if ip == "" && f.Card == "" && f.Email == "" && f.Device == "" && f.Customer == "" {
		return nil // nothing to count by
	}
	return tx.InsertRiskAttempt(ctx, store.RiskAttempt{ID: polypay.NewID("ra_"), AppID: f.AppID, Live: f.Live,
		ChargeID: f.ChargeID, IP: ip, Card: f.Card, Email: key(f.AppID, "email", f.Email),
		Device: key(f.AppID, "device", f.Device), Cust: key(f.AppID, "customer", f.Customer),
		Failed: failed, AtMS: e.now().UnixMilli()})
}

// FailedTx marks a charge's attempt failed (declined, 3-D Secure failed)
// in the transaction that records the failure.
func FailedTx(ctx context.Context, tx interface {
	MarkRiskAttemptFailed(ctx context.Context, chargeID string) (bool, error)
}, chargeID string) error {
	_, err := tx.MarkRiskAttemptFailed(ctx, chargeID)
	return err
}

type pendingKey struct{}

// WithPending carries an allowed charge's facts to the transaction that
// stores the charge, which counts the attempt (Pending): one transaction
// instead of two on the hot path.
func WithPending(ctx context.Context, f Facts) context.Context {
	return context.WithValue(ctx, pendingKey{}, f)
}

// Pending returns the facts WithPending carried, if any.
func Pending(ctx context.Context) (Facts, bool) {
	f, ok := ctx.Value(pendingKey{}).(Facts)
	return f, ok
}
