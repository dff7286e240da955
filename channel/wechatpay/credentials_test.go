package wechatpay_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/polypay/polypay/channel/wechatpay"
)

// TestCredentialsV2: the APIv2 key and API certificate are optional, but
// go together and must be usable; the key is shown redacted.
func TestCredentialsV2(t *testing.T) {
	base := wechatpay.Credentials{MchID: mchID, AppID: appID, MerchantSerialNo: serial, PrivateKey: merchantPKCS8,
		APIv3Key: apiV3Key, PlatformPublicKey: platformPub, PlatformPublicKeyID: keyID}
	cases := []struct {
		name  string
		key   string
		cert  string
		param string // "" valid
	}{
		{name: "None"},
		{name: "Both", key: apiV2Key, cert: merchantCert},
		{name: "ErrKeyOnly", key: apiV2Key, param: "params[api_cert]"},
		{name: "ErrCertOnly", cert: merchantCert, param: "params[api_v2_key]"},
		{name: "ErrShortKey", key: "short", cert: merchantCert, param: "params[api_v2_key]"},
		{name: "ErrKeySymbols", key: strings.Repeat("-", 32), cert: merchantCert, param: "params[api_v2_key]"},
		{name: "ErrCertNotPEM", key: apiV2Key, cert: "apiclient_cert", param: "params[api_cert]"},
		{name: "ErrCertIsKey", key: apiV2Key, cert: merchantPKCS8, param: "params[api_cert]"},
		{name: "ErrCertOfAnotherKey", key: apiV2Key, cert: certPEM(otherKey, serial), param: "params[api_cert]"},
		{name: "ErrCertOfAnotherSerial", key: apiV2Key, cert: certPEM(merchantKey, "1234ABCD"), param: "params[api_cert]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.APIv2Key, c.APICert = tc.key, tc.cert
			raw, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			mid, err := wechatpay.ValidateCredentials(raw)
			if tc.param == "" {
				if err != nil || mid != mchID {
					t.Fatalf("ValidateCredentials = %q, %v", mid, err)
				}
				shown := wechatpay.RedactCredentials(raw)
				if tc.key != "" && (shown["api_v2_key"] == tc.key || !strings.HasPrefix(shown["api_v2_key"].(string), "redacted")) {
					t.Fatalf("api_v2_key shown as %v", shown["api_v2_key"])
				}
				if tc.cert != "" && shown["api_cert"] != tc.cert {
					t.Fatalf("api_cert (public) shown as %v", shown["api_cert"])
				}
				return
			}
			wantParam(t, err, tc.param)
			if tc.key != "" && strings.Contains(err.Error(), tc.key) {
				t.Fatalf("the error shows the key: %v", err)
			}
		})
	}
}
