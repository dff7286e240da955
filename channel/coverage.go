package channel

import "context"

// Coverage is a CredentialStore that knows which sub-apps a provider's
// statement covers (credstore.Store.Covered).
type Coverage interface {
	Covered(ctx context.Context, appID string, live bool, family string) ([]string, error)
}

// StatementCovers implements reconcile.Coverer: the sub-apps whose
// payments appID's statement for a family lists (a UnionPay platform's
// sub-merchants).
func (r *Registry) StatementCovers(ctx context.Context, appID string, live bool, family string) ([]string, error) {
	c, ok := r.creds.(Coverage)
	if !ok {
		return nil, nil
	}
	return c.Covered(ctx, appID, live, family)
}
