package gateway_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/netip"
	"strings"
	"testing"

	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/store/storetest"
)

// TestWebhookEndpointPolicy: POST /v1/webhook_endpoints refuses what the
// outbound policy refuses in the key's mode, with a 400 naming url and the
// rule: test keys reach loopback and private addresses (local
// development), live keys only what --allow-webhook-net allows, and
// link-local (cloud metadata) is refused to both.
func TestWebhookEndpointPolicy(t *testing.T) {
	b := storetest.Backends(t)[0]
	plain := start(t, b, nil)
	allowing := start(t, storetest.Backends(t)[0], func(c *gateway.Config) {
		c.AllowWebhookNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	})
	const (
		lo   = "loopback address in live mode"
		priv = "private address in live mode"
		ll   = "link-local address"
	)
	tests := []struct {
		name string
		e    *env
		live bool
		url  string
		rule string // "" when accepted
	}{
		{"OKTestLoopback", plain, false, "http://127.0.0.1:9/hook", ""},
		{"OKTestDecimalLoopback", plain, false, "http://2130706433:9/hook", ""},
		{"OKTestLocalhost", plain, false, "http://localhost:9/hook", ""},
		{"OKTestPrivate", plain, false, "http://192.168.1.10/hook", ""},
		{"ErrTestMetadata", plain, false, "http://169.254.169.254/latest/meta-data/", ll},
		{"ErrTestUnspecified", plain, false, "http://0.0.0.0:9/hook", "unspecified address"},
		{"ErrLiveLoopback", plain, true, "http://127.0.0.1:9/hook", lo},
		{"ErrLiveShortLoopback", plain, true, "http://127.1:9/hook", lo},
		{"ErrLiveDecimalLoopback", plain, true, "http://2130706433/hook", lo},
		{"ErrLiveHexLoopback", plain, true, "http://0x7f000001/hook", lo},
		{"ErrLiveOctalLoopback", plain, true, "http://0177.0.0.1/hook", lo},
		{"ErrLiveV6Loopback", plain, true, "http://[::1]/hook", lo},
		{"ErrLiveV4MappedLoopback", plain, true, "http://[::ffff:127.0.0.1]/hook", lo},
		{"ErrLiveLocalhost", plain, true, "http://localhost:9/hook", lo},
		{"ErrLivePrivate", plain, true, "http://10.0.0.5/hook", priv},
		{"ErrLiveMetadata", plain, true, "http://169.254.169.254/latest/meta-data/", ll},
		{"OKLivePublic", plain, true, "https://93.184.216.34/hook", ""},
		{"OKLiveLoopbackAllowed", allowing, true, "http://127.0.0.1:9/hook", ""},
		{"OKLivePrivateAllowed", allowing, true, "http://10.0.0.5/hook", ""},
		{"ErrLivePrivateNotAllowed", allowing, true, "http://192.168.1.10/hook", priv},
		{"ErrLiveMetadataAllowing", allowing, true, "http://169.254.169.254/latest/meta-data/", ll},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.e.app.SecretKeyTest
			if tc.live {
				key = tc.e.app.SecretKeyLive
			}
			r := tc.e.do("POST", "/v1/webhook_endpoints", key, map[string]any{"app": tc.e.app.AppID, "url": tc.url})
			if tc.rule == "" {
				if r.Status != 200 || r.str("url") != tc.url {
					t.Fatalf("got %d %s, want the endpoint created", r.Status, r.Body)
				}
				return
			}
			if r.Status != 400 || r.str("error", "type") != "invalid_request_error" || r.str("error", "param") != "url" ||
				!strings.HasSuffix(r.str("error", "message"), "refused by outbound policy: "+tc.rule) {
				t.Fatalf("got %d %s, want 400 param url refused as %q", r.Status, r.Body, tc.rule)
			}
		})
	}
}

// TestChannelHostPolicy: live credentials may name only the channel's own
// hosts, unless the node allows others (--allow-channel-host).
func TestChannelHostPolicy(t *testing.T) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	priv := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	plain := start(t, storetest.Backends(t)[0], nil)
	allowing := start(t, storetest.Backends(t)[0], func(c *gateway.Config) { c.AllowChannelHosts = []string{"alipay-egress.internal"} })
	tests := []struct {
		name    string
		e       *env
		gateway string
		param   string // "" when accepted
	}{
		{"OKOfficial", plain, "https://openapi.alipay.com/gateway.do", ""},
		{"ErrForeign", plain, "https://alipay-egress.internal/gateway.do", "params[gateway]"},
		{"ErrLoopback", plain, "http://127.0.0.1:9/gateway.do", "params[gateway]"},
		{"OKAllowed", allowing, "https://alipay-egress.internal/gateway.do", ""},
		{"ErrOtherStillRefused", allowing, "https://169.254.169.254/gateway.do", "params[gateway]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.e.do("POST", "/v1/apps/"+tc.e.app.AppID+"/channels", tc.e.app.SecretKeyLive, map[string]any{"channel": "alipay",
				"params": map[string]any{"app_id": "2021000000000001", "private_key": priv, "alipay_public_key": pub, "gateway": tc.gateway}})
			if tc.param == "" {
				if r.Status != 200 {
					t.Fatalf("got %d %s, want accepted", r.Status, r.Body)
				}
				return
			}
			if r.Status != 400 || r.str("error", "param") != tc.param || !strings.Contains(r.str("error", "message"), "refused by outbound policy") {
				t.Fatalf("got %d %s, want 400 %s refused by outbound policy", r.Status, r.Body, tc.param)
			}
		})
	}
}
