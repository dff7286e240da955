package vault

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// TestFingerprintScope: a number's fingerprint is the same within one app
// and mode, and unrelated across apps and across an app's modes.
func TestFingerprintScope(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		const number = "4242424242424242"
		type where struct {
			app  string
			live bool
		}
		a, aLive, b, bLive := where{f.app, false}, where{f.app, true}, where{f.other, false}, where{f.other, true}
		tests := []struct {
			name string
			x, y where
			same bool
		}{
			{"SameAppTest", a, a, true},
			{"SameAppLive", aLive, aLive, true},
			{"OtherApp", a, b, false},
			{"OtherAppLive", aLive, bLive, false},
			{"LiveVsTest", a, aLive, false},
			{"OtherAppOtherMode", a, bLive, false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				x := f.token(t, tc.x.app, tc.x.live, number, "").Card
				y := f.token(t, tc.y.app, tc.y.live, number, "").Card
				if len(x.Fingerprint) != 64 || len(y.Fingerprint) != 64 {
					t.Fatalf("fingerprints %q, %q, want 64 hex digits", x.Fingerprint, y.Fingerprint)
				}
				if got := x.Fingerprint == y.Fingerprint; got != tc.same {
					t.Fatalf("equal fingerprints = %v, want %v (%s, %s)", got, tc.same, x.Fingerprint, y.Fingerprint)
				}
			})
		}
		// Saved on a customer, the same card twice still shows one
		// fingerprint, so a merchant can see the duplicate.
		t.Run("SavedTwice", func(t *testing.T) {
			first := f.token(t, f.app, false, number, "")
			cus, err := f.v.CreateCustomer(ctx, f.app, false, CustomerParams{Source: first.ID})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.v.AttachSource(ctx, f.app, false, cus.ID, f.token(t, f.app, false, "4242-4242-4242-4242", cus.ID).ID); err != nil {
				t.Fatal(err)
			}
			l, err := f.v.ListSources(ctx, f.app, false, cus.ID, store.Page{Limit: 10})
			if err != nil || len(l.Data) != 2 {
				t.Fatalf("sources: %v %v", l, err)
			}
			c0, c1 := l.Data[0].(*Card), l.Data[1].(*Card)
			if c0.ID == c1.ID || c0.Fingerprint != c1.Fingerprint || c0.Fingerprint != first.Card.Fingerprint {
				t.Fatalf("saved twice: %s %s, want both %s", c0.Fingerprint, c1.Fingerprint, first.Card.Fingerprint)
			}
		})
	})
}

// legacyFingerprint is the version 1 fingerprint: one key for every app.
func legacyFingerprint(key []byte, number string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(number))
	return hex.EncodeToString(m.Sum(nil))
}

// insertLegacy stores a card, saved on a new customer, as it was sealed
// before fingerprints were scoped per app and mode.
func (f *fixture) insertLegacy(t *testing.T, app string, live bool, number string, mod func(*store.VaultCard)) string {
	t.Helper()
	return insertLegacyCard(t, f.v, app, live, number, mod)
}

func insertLegacyCard(t testing.TB, v *Vault, app string, live bool, number string, mod func(*store.VaultCard)) string {
	t.Helper()
	r, err := v.Keys.current(false)
	if err != nil {
		t.Fatal(err)
	}
	in := card(number)
	c := &store.VaultCard{ID: polypay.NewID("card_"), AppID: app, Live: live, Created: clock.Unix(), Brand: Brand(number),
		Funding: FundingUnknown, Last4: last4(number), ExpMonth: in.ExpMonth, ExpYear: in.ExpYear}
	if err := v.seal(c, &in); err != nil {
		t.Fatal(err)
	}
	c.Fingerprint, c.FingerprintVersion = legacyFingerprint(r.FingerprintKey, number), 1
	if mod != nil {
		mod(c)
	}
	cus := &store.VaultCustomer{ID: polypay.NewID("cus_"), AppID: app, Live: live, Currency: "cny", Metadata: []byte("{}"), DefaultSource: c.ID}
	c.CustomerID = cus.ID
	if err := v.DB.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertVaultCustomer(ctx, cus); err != nil {
			return err
		}
		return tx.InsertVaultCard(ctx, c)
	}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func (f *fixture) row(t *testing.T, app string, live bool, id string) *store.VaultCard {
	t.Helper()
	var c *store.VaultCard
	if err := f.db.Read(ctx, func(tx *store.Tx) (err error) { c, err = tx.GetVaultCard(ctx, app, live, id); return }); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestScopeFingerprints: cards stored with the old, global fingerprint get
// their app's and mode's fingerprint, and show none until then.
func TestScopeFingerprints(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		const number = "5555555555554444"
		r, _ := f.v.Keys.current(false)
		legacy := legacyFingerprint(r.FingerprintKey, number)
		type old struct {
			app  string
			live bool
			id   string
		}
		olds := []*old{{app: f.app}, {app: f.app, live: true}, {app: f.other}}
		for _, o := range olds {
			o.id = f.insertLegacy(t, o.app, o.live, number, nil)
		}
		t.Run("HiddenBeforehand", func(t *testing.T) {
			_, c, err := f.v.PeekCard(ctx, f.app, false, olds[0].id, "")
			if err != nil {
				t.Fatal(err)
			}
			if c.Fingerprint != "" {
				t.Fatalf("fingerprint = %q before re-derivation, want none", c.Fingerprint)
			}
		})
		n, err := f.v.ScopeFingerprints(ctx)
		if err != nil || n != len(olds) {
			t.Fatalf("ScopeFingerprints = %d, %v, want %d", n, err, len(olds))
		}
		seen := map[string]bool{}
		for _, o := range olds {
			row := f.row(t, o.app, o.live, o.id)
			want := f.token(t, o.app, o.live, number, "").Card.Fingerprint
			if row.Fingerprint == legacy || row.FingerprintVersion != FingerprintVersion || row.Fingerprint != want {
				t.Fatalf("card %s: fingerprint %s v%d, want %s v%d", o.id, row.Fingerprint, row.FingerprintVersion, want, FingerprintVersion)
			}
			if _, c, err := f.v.PeekCard(ctx, o.app, o.live, o.id, ""); err != nil || c.Fingerprint != want {
				t.Fatalf("shown fingerprint %v (%v), want %s", c, err, want)
			}
			if seen[row.Fingerprint] {
				t.Fatalf("fingerprint %s shared across apps or modes", row.Fingerprint)
			}
			seen[row.Fingerprint] = true
		}
		if n, err := f.v.ScopeFingerprints(ctx); err != nil || n != 0 {
			t.Fatalf("second run = %d, %v, want 0", n, err)
		}
		t.Run("ErrUnreadableCard", func(t *testing.T) {
			id := f.insertLegacy(t, f.app, false, "4000056655665556", func(c *store.VaultCard) { c.KeyID = "kek_gone" })
			_, err := f.v.ScopeFingerprints(ctx)
			if err == nil || !strings.Contains(err.Error(), id) {
				t.Fatalf("err = %v, want one naming %s", err, id)
			}
			if strings.Contains(err.Error(), "400005665566") {
				t.Fatalf("err %q repeats the card number", err)
			}
			if row := f.row(t, f.app, false, id); row.FingerprintVersion != 1 {
				t.Fatalf("unreadable card's fingerprint version = %d, want 1 (unchanged)", row.FingerprintVersion)
			}
		})
	})
}
