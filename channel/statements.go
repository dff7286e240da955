package channel

import (
	"context"
	"sort"

	"github.com/polypay/polypay"
)

// Families lists the channel families, sorted.
func (r *Registry) Families() []string { return r.familyNames() }

// FamilyChannels lists the Ping++ channels of a family (nil for an unknown
// one).
func (r *Registry) FamilyChannels(fam string) []string {
	base, _ := splitAccount(fam)
	f, ok := r.families[base]
	if !ok {
		return nil
	}
	out := append([]string(nil), f.channels()...)
	sort.Strings(out)
	return out
}

// Statementer returns the connector that fetches an app's statements for
// a family (which may name an account) in a mode.
//
// Errors: EInvalid when the app has no credentials for it (see Channel);
// ENotSupported when the family's connector has no statements.
func (r *Registry) Statementer(ctx context.Context, appID string, live bool, fam string) (polypay.Statementer, error) {
	base, account := splitAccount(fam)
	f, ok := r.families[base]
	if !ok {
		return nil, polypay.ParamError("channel", "未知的渠道类型 %s", fam)
	}
	c, err := r.Channel(ctx, appID, live, withAccount(f.channels()[0], account))
	if err != nil {
		return nil, err
	}
	st, ok := c.(polypay.Statementer)
	if !ok {
		return nil, polypay.ErrNotSupported(fam, "statements")
	}
	return st, nil
}

// Configured reports whether an app has credentials for a family in a mode
// (test mode families are provisioned on first use, so they count).
func (r *Registry) Configured(ctx context.Context, appID string, live bool, fam string) (bool, error) {
	if !live {
		base, _ := splitAccount(fam)
		_, ok := r.families[base]
		return ok, nil
	}
	cfg, _, err := r.config(ctx, appID, live, fam)
	return cfg != nil, err
}
