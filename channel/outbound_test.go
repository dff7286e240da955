package channel_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/credstore"
	"github.com/polypay/polypay/outbound"
	"github.com/polypay/polypay/sandbox"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// openRegistry is a registry on db with the built-in simulators.
func openRegistry(t *testing.T, db *store.DB, box *seal.Box, opts ...channel.Option) (*channel.Registry, *sandbox.Sandbox) {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	sb, err := sandbox.New(context.Background(), db, box, "http://127.0.0.1:1", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	r, err := channel.NewRegistry(credstore.New(db, box), sb, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	sb.Attach(r)
	return r, sb
}

// newTestRegistry is a registry on a fresh SQLite store with one app.
func newTestRegistry(t *testing.T, opts ...channel.Option) (*channel.Registry, *sandbox.Sandbox, *store.DB, *seal.Box, string) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Backends(t)[0].Open(t)
	key := make([]byte, 32)
	rand.Read(key)
	box, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	r, sb := openRegistry(t, db, box, opts...)
	appID := polypay.NewAppID()
	if err := db.Write(ctx, func(tx *store.Tx) error {
		return tx.InsertApp(ctx, &polypay.App{ID: appID, Name: "t", Created: tx.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	return r, sb, db, box, appID
}

// liveConfig turns a family's fresh sandbox credentials (valid keys and
// certificates) into live ones with the given fields set.
func liveConfig(t *testing.T, sb channel.Sandbox, fam string, set map[string]any) json.RawMessage {
	t.Helper()
	raw, err := sb.Credentials(fam)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	delete(m, "sandbox")
	if fam == "paypal" {
		m["webhook_id"] = "WH-0000000000"
	}
	for k, v := range set {
		m[k] = v
	}
	out, _ := json.Marshal(m)
	return out
}

// TestConfigureLiveEndpoints: every URL of live credentials must be on the
// channel's own hosts over https, or on a host the operator allows.
func TestConfigureLiveEndpoints(t *testing.T) {
	tests := []struct {
		name  string
		fam   string
		set   map[string]any
		allow bool   // on the registry allowing 127.0.0.1:8080 and localhost
		param string // "" when accepted
	}{
		{"AlipayDefault", "alipay", nil, false, ""},
		{"AlipayOfficial", "alipay", map[string]any{"gateway": "https://openapi.alipay.com/gateway.do"}, false, ""},
		{"AlipaySandboxHost", "alipay", map[string]any{"gateway": "https://openapi-sandbox.dl.alipaydev.com/gateway.do"}, false, ""},
		{"ErrAlipayForeign", "alipay", map[string]any{"gateway": "https://evil.example/gateway.do"}, false, "params[gateway]"},
		{"ErrAlipayLoopback", "alipay", map[string]any{"gateway": "http://127.0.0.1:8080/gateway.do"}, false, "params[gateway]"},
		{"ErrAlipayMetadata", "alipay", map[string]any{"gateway": "http://169.254.169.254/latest/meta-data/"}, false, "params[gateway]"},
		{"ErrAlipayHTTP", "alipay", map[string]any{"gateway": "http://openapi.alipay.com/gateway.do"}, false, "params[gateway]"},
		{"AlipayAllowedHost", "alipay", map[string]any{"gateway": "http://127.0.0.1:8080/gateway.do"}, true, ""},
		{"WechatOfficial", "wx", map[string]any{"base_url": "https://api2.mch.weixin.qq.com"}, false, ""},
		{"ErrWechatForeign", "wx", map[string]any{"base_url": "https://10.0.0.5"}, false, "params[base_url]"},
		{"StripeOfficial", "stripe", map[string]any{"base_url": "https://api.stripe.com"}, false, ""},
		{"ErrStripeForeign", "stripe", map[string]any{"base_url": "http://localhost:12111"}, false, "params[base_url]"},
		{"StripeAllowedMock", "stripe", map[string]any{"base_url": "http://localhost:12111"}, true, ""},
		{"PaypalSandboxHost", "paypal", map[string]any{"base_url": "https://api-m.sandbox.paypal.com"}, false, ""},
		{"ErrPaypalForeign", "paypal", map[string]any{"base_url": "https://api-m.paypal.com.evil.example"}, false, "params[base_url]"},
		{"UnionPayTestHosts", "upacp", map[string]any{"base_url": "https://gateway.test.95516.com", "file_url": "https://filedownload.test.95516.com/"}, false, ""},
		{"ErrUnionPayBase", "upacp", map[string]any{"base_url": "https://gateway.95516.com.evil.example"}, false, "params[base_url]"},
		{"ErrUnionPayFile", "upacp", map[string]any{"file_url": "http://[::1]:9000/"}, false, "params[file_url]"},
		{"ErrUnionPayFileOnBaseHost", "upacp", map[string]any{"file_url": "https://gateway.95516.com/"}, false, "params[file_url]"},
	}
	// Two registries for the whole table: making one costs RSA keys.
	plain, sb, _, _, plainApp := newTestRegistry(t)
	allowing, _, _, _, allowingApp := newTestRegistry(t, channel.WithAllowedHosts([]string{"127.0.0.1:8080", "localhost"}))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, appID := plain, plainApp
			if tc.allow {
				r, appID = allowing, allowingApp
			}
			err := r.Configure(context.Background(), appID, true, tc.fam, liveConfig(t, sb, tc.fam, tc.set))
			if tc.param == "" {
				if err != nil {
					t.Fatalf("got %v, want accepted", err)
				}
				return
			}
			var pe *polypay.Error
			if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || pe.Param != tc.param || !errors.Is(err, outbound.ErrRefused) {
				t.Fatalf("got %v, want invalid %s refused by outbound policy", err, tc.param)
			}
		})
	}
}

// TestConfigureTestModeUnaffected: sandbox credentials name no URL and
// stay accepted in test mode.
func TestConfigureTestModeUnaffected(t *testing.T) {
	r, _, _, _, appID := newTestRegistry(t)
	for _, fam := range r.Families() {
		if err := r.Configure(context.Background(), appID, false, fam, json.RawMessage(`{"sandbox":true}`)); err != nil {
			t.Fatalf("%s: got %v, want accepted", fam, err)
		}
	}
}

// TestStoredLiveEndpointsChecked: live credentials stored without passing
// Configure (written before the rule, or straight into the store) make no
// connector unless their host is allowed.
func TestStoredLiveEndpointsChecked(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(500)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	r, sb, db, box, appID := newTestRegistry(t)
	ctx := context.Background()
	cfg := liveConfig(t, sb, "alipay", map[string]any{"gateway": srv.URL + "/gateway.do"})
	mid, err := alipay.ValidateCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := credstore.New(db, box).Store(ctx, appID, true, "alipay", mid, cfg); err != nil {
		t.Fatal(err)
	}
	probe := func(r *channel.Registry) error {
		c, err := r.Channel(ctx, appID, true, "alipay_qr")
		if err != nil {
			return err
		}
		_, err = c.QueryCharge(ctx, &polypay.Charge{ID: polypay.NewID("ch_"), AppID: appID, Livemode: true, Channel: "alipay_qr", Amount: 1, Currency: "cny"})
		return fmt.Errorf("queried: %w", err)
	}
	err = probe(r)
	var pe *polypay.Error
	if !errors.As(err, &pe) || pe.Param != "channel" || !errors.Is(err, outbound.ErrRefused) || hits.Load() != 0 {
		t.Fatalf("got %v (%d requests to the host), want the credentials refused before any request", err, hits.Load())
	}
	// The operator allows the host: the same row works.
	allowed, _ := openRegistry(t, db, box, channel.WithAllowedHosts([]string{host}))
	if err := probe(allowed); !strings.HasPrefix(fmt.Sprint(err), "queried") || hits.Load() != 1 {
		t.Fatalf("with the host allowed: got %v, %d requests; want the query sent", err, hits.Load())
	}
}

// TestRegistryClientGuarded: the connectors' HTTP client refuses, at
// connect time, the addresses no call may reach (link-local, unspecified),
// and still reaches loopback (the simulators).
func TestRegistryClientGuarded(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	r, _, _, _, _ := newTestRegistry(t)
	tests := []struct {
		name    string
		url     string
		refused bool
	}{
		{"Loopback", srv.URL, false},
		{"ErrUnspecified", fmt.Sprintf("http://0.0.0.0:%d/", port), true},
		{"ErrMetadata", "http://169.254.169.254/latest/meta-data/", true},
		{"ErrMulticast", "http://224.0.0.1/", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := hits.Load()
			res, err := r.HTTPClient().Get(tc.url)
			if res != nil {
				res.Body.Close()
			}
			if got := errors.Is(err, outbound.ErrRefused); got != tc.refused || (!tc.refused && err != nil) {
				t.Fatalf("got %v, want refused=%v", err, tc.refused)
			}
			if want := map[bool]int32{true: 0, false: 1}[tc.refused]; hits.Load()-before != want {
				t.Fatalf("server got %d requests, want %d", hits.Load()-before, want)
			}
		})
	}
}
