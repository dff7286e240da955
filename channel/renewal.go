package channel

import (
	"context"
	"fmt"
	"time"

	"github.com/polypay/polypay"
)

// Merchants' authorizations of a service provider expire (Alipay's
// app_auth_token after a year, its refresh token a week later): the node
// renews each with its refresh token RenewBefore its end, so a platform's
// payments for its merchants never stop on a lapsed token.

// RenewBefore is how long before its token expires an authorization is
// renewed.
const RenewBefore = 30 * 24 * time.Hour

// renewStale is how long a renewal claimed by a node that died blocks the
// others.
const renewStale = 10 * time.Minute

// authFamilies are the families whose sub-apps hold authorizations.
var authFamilies = []string{"alipay"}

// StoredAuthorization is a sub-app's stored authorization of its parent's
// account for a family.
type StoredAuthorization struct {
	AppID, Parent, Family string
	Live                  bool
	Auth                  polypay.AppAuth
}

// AuthorizationStore is a CredentialStore that can list the sub-apps'
// authorizations and claim a renewal once across the nodes.
type AuthorizationStore interface {
	Authorizations(ctx context.Context, family string) ([]StoredAuthorization, error)
	// ClaimJob claims a named job for owner unless another claimed it
	// less than stale ago or finished it; FinishJob marks it done.
	ClaimJob(ctx context.Context, job, owner string, stale time.Duration) (bool, error)
	FinishJob(ctx context.Context, job string) error
}

// RenewAuthorizations renews every authorization whose token expires
// within RenewBefore of now and whose refresh token still works, each once
// across the nodes (owner names this one). It returns how many it renewed;
// one that fails is logged and tried again after renewStale.
func (r *Registry) RenewAuthorizations(ctx context.Context, now time.Time, owner string) (int, error) {
	as, ok := r.creds.(AuthorizationStore)
	if !ok {
		return 0, nil
	}
	n := 0
	for _, fam := range authFamilies {
		list, err := as.Authorizations(ctx, fam)
		if err != nil {
			return n, err
		}
		for _, a := range list {
			if !due(a.Auth, now) {
				continue
			}
			job := fmt.Sprintf("renew_auth:%s:%v:%s:%d", a.AppID, a.Live, a.Family, a.Auth.ExpiresAt)
			if claimed, err := as.ClaimJob(ctx, job, owner, renewStale); err != nil || !claimed {
				if err != nil {
					return n, err
				}
				continue
			}
			if err := r.renew(ctx, a); err != nil {
				r.log.Warn("renewing a merchant's authorization", "app", a.AppID, "family", a.Family, "err", err)
				continue
			}
			n++
			if err := as.FinishJob(ctx, job); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// due tells whether an authorization should be renewed now.
func due(a polypay.AppAuth, now time.Time) bool {
	t := now.Unix()
	return !a.Revoked && a.RefreshToken != "" && a.ExpiresAt-t < int64(RenewBefore/time.Second) && a.ReExpiresAt > t
}

// renew trades the refresh token for a new pair with the parent's account
// and stores it.
func (r *Registry) renew(ctx context.Context, a StoredAuthorization) error {
	prov, err := r.Authorizer(ctx, a.Parent, a.Live, a.Family)
	if err != nil {
		return err
	}
	got, err := prov.ExchangeAppAuth(ctx, "refresh_token", a.Auth.RefreshToken)
	if err != nil {
		return err
	}
	return r.StoreAuthorization(ctx, a.AppID, a.Live, a.Family, got)
}

// RunRenewals renews authorizations every interval until ctx ends.
func (r *Registry) RunRenewals(ctx context.Context, every time.Duration, now func() time.Time, owner string) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.RenewAuthorizations(ctx, now(), owner); err != nil && ctx.Err() == nil {
			r.log.Warn("renewing merchants' authorizations", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
