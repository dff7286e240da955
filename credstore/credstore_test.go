package credstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/credstore"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

var ctx = context.Background()

func newBox(t *testing.T) *seal.Box {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	b, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newApp(t *testing.T, db *store.DB) string {
	t.Helper()
	id := polypay.NewAppID()
	if err := db.Write(ctx, func(tx *store.Tx) error {
		return tx.InsertApp(ctx, &polypay.App{ID: id, Name: "t", Created: tx.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

func sealedRow(t *testing.T, db *store.DB, app string, live bool, account string) *store.ChannelConfig {
	t.Helper()
	var cc *store.ChannelConfig
	if err := db.Read(ctx, func(tx *store.Tx) (err error) {
		cc, err = tx.GetChannelConfig(ctx, app, live, account)
		return
	}); err != nil {
		t.Fatal(err)
	}
	return cc
}

// TestCredentials checks, on every backend, that credentials come back as
// stored, are never in the database in the clear, and are bound to their
// app, mode and account: a sealed row moved under another name does not
// open, and a store with another master key opens nothing.
func TestCredentials(t *testing.T) {
	const secret = `{"private_key":"TOP-SECRET-KEY-MATERIAL","app_id":"2021000000000001"}`
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			box := newBox(t)
			s := credstore.New(db, box)
			a, other := newApp(t, db), newApp(t, db)
			if err := s.Store(ctx, a, false, "alipay", "2088000000000001", []byte(secret)); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name    string
				app     string
				live    bool
				account string
				want    string // "" = nothing stored
			}{
				{"own", a, false, "alipay", secret},
				{"live mode", a, true, "alipay", ""},
				{"other app", other, false, "alipay", ""},
				{"other account", a, false, "alipay@second", ""},
			}
			for _, tc := range tests {
				got, merchant, err := s.Load(ctx, tc.app, tc.live, tc.account)
				if err != nil || string(got) != tc.want {
					t.Errorf("%s: Load = %q, %v; want %q", tc.name, got, err, tc.want)
				}
				if tc.want != "" && merchant != "2088000000000001" {
					t.Errorf("%s: merchant = %q", tc.name, merchant)
				}
			}
			row := sealedRow(t, db, a, false, "alipay")
			if strings.Contains(row.Sealed, "TOP-SECRET") {
				t.Fatal("credential stored in the clear")
			}
			// The sealed blob copied under the other app does not open there.
			if err := db.Write(ctx, func(tx *store.Tx) error {
				return tx.PutChannelConfig(ctx, store.ChannelConfig{AppID: other, Family: "alipay", MerchantID: row.MerchantID, Sealed: row.Sealed})
			}); err != nil {
				t.Fatal(err)
			}
			if got, _, err := s.Load(ctx, other, false, "alipay"); err == nil || got != nil {
				t.Fatalf("moved credential opened: %q, %v", got, err)
			}
			if got, _, err := credstore.New(db, newBox(t)).Load(ctx, a, false, "alipay"); err == nil || got != nil {
				t.Fatalf("credential opened with another master key: %q, %v", got, err)
			}
			if err := s.Store(ctx, "app_doesnotexist0000", false, "alipay", "m", []byte(secret)); polypay.ErrorCode(err) != polypay.ENotFound {
				t.Fatalf("Store for an unknown app = %v", err)
			}
		})
	}
}

func TestByMerchant(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			s := credstore.New(db, newBox(t))
			a, c := newApp(t, db), newApp(t, db)
			for _, st := range []struct {
				app, account, merchant string
				live                   bool
			}{{a, "wx", "1900000001", false}, {a, "wx@second", "1900000001", true}, {c, "wx", "1900000002", false}, {c, "alipay", "1900000001", false}} {
				if err := s.Store(ctx, st.app, st.live, st.account, st.merchant, []byte(`{}`)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.ByMerchant(ctx, "wx", "1900000001")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("ByMerchant = %+v, want a's two wx accounts", got)
			}
			for _, g := range got {
				if g.AppID != a || !strings.HasPrefix(g.Account, "wx") {
					t.Fatalf("ByMerchant returned %+v", g)
				}
			}
		})
	}
}

// TestLoadOrCreateKeyOnce: nodes starting together agree on one key.
func TestLoadOrCreateKeyOnce(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			box := newBox(t)
			var wg sync.WaitGroup
			keys := make([][]byte, 4)
			for i := range keys {
				wg.Add(1)
				go func() {
					defer wg.Done()
					k, err := credstore.LoadOrCreateKey(ctx, db, box, "webhook-test")
					if err != nil {
						t.Error(err)
						return
					}
					keys[i] = k.N.Bytes()
				}()
			}
			wg.Wait()
			for _, k := range keys[1:] {
				if !bytes.Equal(k, keys[0]) {
					t.Fatal("nodes created different keys")
				}
			}
			if _, err := credstore.LoadOrCreateKey(ctx, db, newBox(t), "webhook-test"); err == nil {
				t.Fatal("key opened with another master key")
			}
		})
	}
}
