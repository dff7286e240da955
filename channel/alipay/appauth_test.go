package alipay_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/channeltest"
)

// subMerchantApp is the merchant app that authorizes the test app (the
// service provider) in these tests.
const subMerchantApp = "2021000000004242"

// authorized is the connector of the provider's app acting for
// subMerchantApp: the code the sim's authorization gives, exchanged by the
// connector itself.
func authorized(t *testing.T, e *env) string {
	t.Helper()
	a, err := e.connFor(t, alipay.ChannelQR).ExchangeAppAuth(context.Background(), "authorization_code", e.sim.AuthorizeApp(appID, subMerchantApp))
	if err != nil || a.MerchantAppID != subMerchantApp || a.Token == "" || a.RefreshToken == "" || a.ExpiresAt == 0 {
		t.Fatalf("exchange: %+v %v", a, err)
	}
	return a.Token
}

// TestConformanceServiceProvider runs the shared channel conformance suite
// in service-provider mode: every call carries the sub-merchant's
// app_auth_token, and every scene, refund, close, notification and
// statement still behaves as the channel contract says.
func TestConformanceServiceProvider(t *testing.T) {
	h := harness
	h.Start = func(t *testing.T, wrap func(http.Handler) http.Handler) *channeltest.Sim {
		e := newEnvWith(t, wrap)
		sim := simFor(t, e)
		token := authorized(t, e)
		sim.Conn = func(t *testing.T, ch string) polypay.Channel {
			c, err := alipay.New(ch, alipay.Config{AppID: appID, PrivateKeyPEM: merchantPKCS8, AlipayPublicKeyPEM: platformPub,
				Gateway: e.gateway, AppAuthToken: token})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		return sim
	}
	channeltest.Run(t, h)
}

// TestServiceProviderAuthorization: a grant the channel refuses names
// app_auth_code; a refresh replaces the token; once the merchant revokes
// the authorization, calls fail with ErrChannelAuthorization and a
// message saying what to do; the authorization link names the app and
// the redirect.
func TestServiceProviderAuthorization(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	prov := e.connFor(t, alipay.ChannelQR)
	if _, err := prov.ExchangeAppAuth(ctx, "authorization_code", "nope"); paramOf(err) != "app_auth_code" {
		t.Fatalf("a bad code: %v", err)
	}
	if _, err := prov.ExchangeAppAuth(ctx, "password", "x"); paramOf(err) != "grant_type" {
		t.Fatalf("a bad grant: %v", err)
	}
	a, err := prov.ExchangeAppAuth(ctx, "authorization_code", e.sim.AuthorizeApp(appID, subMerchantApp))
	if err != nil {
		t.Fatal(err)
	}
	re, err := prov.ExchangeAppAuth(ctx, "refresh_token", a.RefreshToken)
	if err != nil || re.Token == a.Token {
		t.Fatalf("refresh: %+v %v", re, err)
	}
	conn := func(token string) *alipay.Client {
		c, err := alipay.New(alipay.ChannelQR, alipay.Config{AppID: appID, PrivateKeyPEM: merchantPKCS8, AlipayPublicKeyPEM: platformPub,
			Gateway: e.gateway, AppAuthToken: token})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := charge(polypay.NewID("ch_"), 100)
	for _, tc := range []struct {
		name   string
		token  string
		revoke bool
	}{{"replaced by the refresh", a.Token, false}, {"revoked by the merchant", re.Token, true}} {
		if tc.revoke && !e.sim.RevokeAppAuth(appID, subMerchantApp) {
			t.Fatal("nothing to revoke")
		}
		_, err := conn(tc.token).QueryCharge(ctx, c)
		if !errors.Is(err, polypay.ErrChannelAuthorization) || !strings.Contains(err.Error(), "重新授权") {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	link := prov.AuthorizeURL("https://platform.example/cb", "st")
	if !strings.Contains(link, "/oauth2/appToAppAuth.htm?") || !strings.Contains(link, "app_id="+appID) || !strings.Contains(link, "redirect_uri=https%3A%2F%2Fplatform.example%2Fcb") {
		t.Fatalf("link %s", link)
	}
}

// paramOf is the parameter an application error names, "" for none.
func paramOf(err error) string {
	var pe *polypay.Error
	if errors.As(err, &pe) {
		return pe.Param
	}
	return ""
}
