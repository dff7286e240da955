package alipay

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
)

// Third-party application authorization (第三方应用授权): a platform's
// app (the service provider) acts for a sub-merchant's app that authorized
// it, with app_auth_token on every call (Config.AppAuthToken).

// DefaultAuthPage is Alipay's authorization page merchants are sent to.
const DefaultAuthPage = "https://openauth.alipay.com/oauth2/appToAppAuth.htm"

var _ polypay.AppAuthorizer = (*Client)(nil)

// AuthorizeURL is the page a merchant authorizes the provider's app on;
// Alipay sends the browser back to redirectURI with app_auth_code and
// state. Against the simulator it is the simulator's page.
func (c *Client) AuthorizeURL(redirectURI, state string) string {
	page := DefaultAuthPage
	if c.browser != DefaultGateway {
		page = strings.TrimSuffix(c.browser, "/gateway.do") + "/oauth2/appToAppAuth.htm"
	}
	return page + "?" + url.Values{"app_id": {c.appID}, "redirect_uri": {redirectURI}, "state": {state}}.Encode()
}

// ExchangeAppAuth trades an app_auth_code (grant authorization_code) or an
// app_refresh_token (grant refresh_token) for a token pair with
// alipay.open.auth.token.app. Errors: EInvalid for a bad grant or a code
// Alipay refuses (naming app_auth_code); EChannel otherwise.
func (c *Client) ExchangeAppAuth(ctx context.Context, grant, code string) (*polypay.AppAuth, error) {
	p := sdk.OpenAuthTokenApp{GrantType: grant}
	switch grant {
	case "authorization_code":
		p.Code = code
	case "refresh_token":
		p.RefreshToken = code
	default:
		return nil, polypay.ParamError("grant_type", "grant_type 须为 authorization_code 或 refresh_token")
	}
	rsp, err := c.api.OpenAuthTokenApp(ctx, p)
	if err != nil {
		return nil, sdkError("auth token", err)
	}
	if rsp.Code != codeSuccess {
		if strings.HasPrefix(rsp.SubCode, "isv.code-invalid") || strings.HasPrefix(rsp.SubCode, "isv.refresh-token-invalid") {
			return nil, polypay.ParamError("app_auth_code", "支付宝拒绝了授权码或刷新令牌: %s", rsp.SubMsg)
		}
		return nil, apiError("auth token", rsp.Error)
	}
	if len(rsp.Tokens) == 0 || rsp.Tokens[0].AppAuthToken == "" {
		return nil, polypay.Errorf(polypay.EChannel, "alipay auth token: the answer holds no token")
	}
	t, now := rsp.Tokens[0], time.Now()
	return &polypay.AppAuth{Token: t.AppAuthToken, RefreshToken: t.AppRefreshToken, MerchantAppID: t.AuthAppId, UserID: t.UserId,
		ExpiresAt: now.Add(time.Duration(t.ExpiresIn) * time.Second).Unix(), ReExpiresAt: now.Add(time.Duration(t.ReExpiresIn) * time.Second).Unix()}, nil
}
