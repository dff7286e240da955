package sandbox_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/sandbox"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/store/storetest"
)

var ctx = context.Background()

// platformField names, per family, the credential field holding the
// simulated platform's key or CA (PayPal and Stripe sign nothing with one).
var platformField = map[string]string{"alipay": "alipay_public_key", "wx": "platform_public_key", "upacp": "root_cert"}

func platform(t *testing.T, cfg []byte, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(cfg, &m); err != nil {
		t.Fatal(err)
	}
	v, _ := m[field].(string)
	if v == "" {
		t.Fatalf("credentials lack %s", field)
	}
	return v
}

// TestPlatformKeysPersist: the simulators' platform keys live sealed in
// the store, so sandbox credentials (and the notifications signed with
// them) survive a restart and are the same on every node of one store.
func TestPlatformKeysPersist(t *testing.T) {
	db := storetest.Backends(t)[0].Open(t)
	key := make([]byte, 32)
	rand.Read(key)
	box, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func() *sandbox.Sandbox {
		s, err := sandbox.New(ctx, db, box, "http://127.0.0.1:1/sim", log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	first, second := open(), open()
	for _, fam := range channel.Families {
		name := fam.Name
		t.Run(name, func(t *testing.T) {
			a, err := first.Credentials(name)
			if err != nil {
				t.Fatal(err)
			}
			b, err := second.Credentials(name)
			if err != nil {
				t.Fatal(err)
			}
			if !channel.IsSandbox(a) {
				t.Fatalf("credentials of %s are not marked sandbox: %s", name, a)
			}
			// Each call opens a new simulated merchant; the platform's
			// own key (what notifications are signed with) is the store's.
			if bytes.Equal(a, b) {
				t.Fatal("two calls gave the same merchant account")
			}
			if field := platformField[name]; field != "" && platform(t, a, field) != platform(t, b, field) {
				t.Fatalf("%s changed across a restart", field)
			}
			if e := first.Endpoints(name); e.API == "" {
				t.Fatalf("no simulator endpoint for %s", name)
			}
		})
	}
	if _, err := first.Credentials("nosuchfamily"); err == nil {
		t.Fatal("credentials for an unknown family")
	}
	for _, c := range []*polypay.Charge{
		{ID: "ch_live", Channel: "alipay_qr", Livemode: true},
		{ID: "ch_unattached", Channel: "alipay_qr"},
	} {
		if err := first.Pay(ctx, c, true); polypay.ErrorCode(err) != polypay.EInvalid {
			t.Fatalf("Pay(%s) = %v, want a parameter error", c.ID, err)
		}
	}
}
