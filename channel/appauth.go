package channel

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/polypay/polypay"
)

// Merchants' authorizations of a service provider (Alipay's 第三方应用授权):
// a sub-app's entry for a family holds {"authorization": AppAuth} instead
// of credentials, and its connector is its nearest ancestor's with the
// token added (credstore.Store.Load).

// Authorizer returns the provider's connector for a family as an
// AppAuthorizer: appID's credentials (its own or an ancestor's), not
// decorated. EInvalid (param channel) when the family takes no
// authorizations or appID has no credentials for it.
func (r *Registry) Authorizer(ctx context.Context, appID string, live bool, fam string) (polypay.AppAuthorizer, error) {
	c, err := r.Provider(ctx, appID, live, fam)
	if err != nil {
		return nil, err
	}
	a, ok := c.(polypay.AppAuthorizer)
	if !ok {
		return nil, polypay.ParamError("channel", "渠道 %s 不支持第三方应用授权", fam)
	}
	return a, nil
}

// StoreAuthorization stores a sub-app's authorization for a family (the
// merchant id is the authorizing merchant's app), replacing its entry.
func (r *Registry) StoreAuthorization(ctx context.Context, appID string, live bool, fam string, a *polypay.AppAuth) error {
	cfg, err := json.Marshal(map[string]any{"authorization": a})
	if err != nil {
		return err
	}
	if err := r.creds.Store(ctx, appID, live, fam, a.MerchantAppID, cfg); err != nil {
		return err
	}
	r.forget(appID, live, fam)
	return nil
}

// OwnAuthorization returns a sub-app's own authorization for a family,
// nil when its entry holds credentials or it has none.
func (r *Registry) OwnAuthorization(ctx context.Context, appID string, live bool, fam string) (*polypay.AppAuth, error) {
	raw, err := r.creds.Own(ctx, appID, live, fam)
	if err != nil || raw == nil {
		return nil, err
	}
	var v struct {
		Authorization *polypay.AppAuth `json:"authorization"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return nil, nil
	}
	return v.Authorization, nil
}

func (r *Registry) forget(appID string, live bool, fam string) {
	r.mu.Lock()
	delete(r.configs, fmt.Sprintf("%s/%v/%s", appID, live, fam))
	r.mu.Unlock()
}

// StorePartner stores a sub-app's registration as a sub-merchant of its
// provider's account for a family (WeChat Pay's partner mode: sub_mchid
// and sub_appid; a UnionPay platform's sub-merchant: sub_mer_id,
// sub_mer_name, sub_mer_abbr): its payments then run on the provider's
// credentials with those fields. merchantID is the sub-merchant's id at
// the channel.
func (r *Registry) StorePartner(ctx context.Context, appID string, live bool, fam, merchantID string, fields map[string]string) error {
	cfg, err := json.Marshal(map[string]any{"partner": fields})
	if err != nil {
		return err
	}
	if err := r.creds.Store(ctx, appID, live, fam, merchantID, cfg); err != nil {
		return err
	}
	r.forget(appID, live, fam)
	return nil
}

// OwnPartner returns a sub-app's own sub-merchant registration for a
// family (nil when it has none).
func (r *Registry) OwnPartner(ctx context.Context, appID string, live bool, fam string) (map[string]string, error) {
	raw, err := r.creds.Own(ctx, appID, live, fam)
	if err != nil || raw == nil {
		return nil, err
	}
	var v struct {
		Partner map[string]string `json:"partner"`
	}
	if json.Unmarshal(raw, &v) != nil || len(v.Partner) == 0 {
		return nil, nil
	}
	return v.Partner, nil
}

// PartnerChecker returns the provider's connector for a family as a
// polypay.SubMerchantChecker (appID's credentials, its own or an
// ancestor's).
func (r *Registry) PartnerChecker(ctx context.Context, appID string, live bool, fam string) (polypay.SubMerchantChecker, error) {
	c, err := r.Provider(ctx, appID, live, fam)
	if err != nil {
		return nil, err
	}
	pc, ok := c.(polypay.SubMerchantChecker)
	if !ok {
		return nil, polypay.ParamError("channel", "渠道 %s 不支持服务商模式", fam)
	}
	return pc, nil
}

// Provider returns the connector a family's sub-merchants of appID run on:
// appID's credentials, its own or an ancestor's (test ones provisioned in
// test mode). EInvalid when there are none.
func (r *Registry) Provider(ctx context.Context, appID string, live bool, fam string) (polypay.Channel, error) {
	f, ok := r.families[fam]
	if !ok || len(f.channels()) == 0 {
		return nil, polypay.ParamError("channel", "未知的渠道类型 %s", fam)
	}
	cfg, _, err := r.config(ctx, appID, live, fam)
	if err == nil && cfg == nil && !live {
		if err = r.Provision(ctx, appID); err == nil {
			cfg, _, err = r.config(ctx, appID, live, fam)
		}
	}
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, polypay.ParamError("channel", "上级应用没有渠道 %s 的参数，不能代商户收款", fam)
	}
	return f.connector(f.channels()[0], cfg)
}
