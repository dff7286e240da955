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
	f, ok := r.families[fam]
	if !ok || len(f.channels()) == 0 {
		return nil, polypay.ParamError("channel", "未知的渠道类型 %s", fam)
	}
	cfg, _, err := r.config(ctx, appID, live, fam)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		if err := r.Provision(ctx, appID); err != nil || live {
			return nil, polypay.ParamError("channel", "上级应用没有渠道 %s 的参数，不能代商户授权", fam)
		}
		if cfg, _, err = r.config(ctx, appID, live, fam); err != nil || cfg == nil {
			return nil, fmt.Errorf("provisioning test channel %s: %v", fam, err)
		}
	}
	c, err := f.connector(f.channels()[0], cfg)
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
// provider's account for a family (WeChat Pay's partner mode): its
// payments then run on the provider's credentials with sub_mchid.
func (r *Registry) StorePartner(ctx context.Context, appID string, live bool, fam, subMchID, subAppID string) error {
	cfg, err := json.Marshal(map[string]any{"partner": map[string]string{"sub_mchid": subMchID, "sub_appid": subAppID}})
	if err != nil {
		return err
	}
	if err := r.creds.Store(ctx, appID, live, fam, subMchID, cfg); err != nil {
		return err
	}
	r.forget(appID, live, fam)
	return nil
}

// OwnPartner returns a sub-app's own sub-merchant registration for a
// family ("" when it has none).
func (r *Registry) OwnPartner(ctx context.Context, appID string, live bool, fam string) (subMchID, subAppID string, err error) {
	raw, err := r.creds.Own(ctx, appID, live, fam)
	if err != nil || raw == nil {
		return "", "", err
	}
	var v struct {
		Partner *struct {
			SubMchID string `json:"sub_mchid"`
			SubAppID string `json:"sub_appid"`
		} `json:"partner"`
	}
	if json.Unmarshal(raw, &v) != nil || v.Partner == nil {
		return "", "", nil
	}
	return v.Partner.SubMchID, v.Partner.SubAppID, nil
}

// PartnerChecker returns the provider's connector for a family as a
// polypay.SubMerchantChecker (appID's credentials, its own or an
// ancestor's).
func (r *Registry) PartnerChecker(ctx context.Context, appID string, live bool, fam string) (polypay.SubMerchantChecker, error) {
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
	c, err := f.connector(f.channels()[0], cfg)
	if err != nil {
		return nil, err
	}
	pc, ok := c.(polypay.SubMerchantChecker)
	if !ok {
		return nil, polypay.ParamError("channel", "渠道 %s 不支持服务商模式", fam)
	}
	return pc, nil
}
