package vault

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

var ctx = context.Background()

// testClock is an injectable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	db    *store.DB
	v     *Vault
	dir   string
	clock *testClock
	app   string
	other string // another app
}

func forEachStore(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Setenv(EnvKeys, "")
			db := b.Open(t)
			keys, err := OpenKeys(b.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			f := &fixture{db: db, dir: b.DataDir, clock: &testClock{t: clock}, v: New(db, keys)}
			f.v.Now = f.clock.Now
			f.app, f.other = newApp(t, db), newApp(t, db)
			fn(t, f)
		})
	}
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

func card(number string) CardInput {
	return CardInput{Number: number, ExpMonth: 12, ExpYear: 2031, CVC: "123", Name: "Han Meimei"}
}

func (f *fixture) token(t *testing.T, app string, live bool, number, customer string) *Token {
	t.Helper()
	in := card(number)
	if Brand(number) == BrandAmex {
		in.CVC = "1234"
	}
	tok, err := f.v.Tokenize(ctx, app, live, in, customer)
	if err != nil {
		t.Fatalf("tokenize: %v", err)
	}
	return tok
}

// charge runs CardForCharge in a write transaction, as core does.
func (f *fixture) charge(app string, live bool, source, customer string) (*polypay.CardData, *Card, error) {
	var cd *polypay.CardData
	var c *Card
	err := f.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		cd, c, err = f.v.CardForCharge(ctx, tx, app, live, source, customer)
		return err
	})
	return cd, c, err
}

func wantParam(t *testing.T, err error, param string) {
	t.Helper()
	var pe *polypay.Error
	if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || pe.Param != param {
		t.Fatalf("err = %v, want EInvalid on %s", err, param)
	}
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if polypay.ErrorCode(err) != polypay.ENotFound {
		t.Fatalf("err = %v, want ENotFound", err)
	}
}

func TestTokenize(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		tok := f.token(t, f.app, false, "4242424242424242", "")
		if !strings.HasPrefix(tok.ID, "tok_") || tok.Object != "token" || tok.Type != "card" || tok.Used || tok.TimeUsed != nil {
			t.Fatalf("token = %+v", tok)
		}
		c := tok.Card
		if !strings.HasPrefix(c.ID, "card_") || c.Brand != BrandVisa || c.Last4 != "4242" || c.Funding != FundingCredit ||
			c.ExpMonth != 12 || c.ExpYear != 2031 || len(c.Fingerprint) != 64 || c.Customer != nil {
			t.Fatalf("card = %+v", c)
		}
		again := f.token(t, f.app, false, "4242 4242 4242 4242", "")
		if again.Card.Fingerprint != c.Fingerprint || again.Card.ID == c.ID {
			t.Fatalf("same number: fingerprint %s vs %s, ids %s %s", again.Card.Fingerprint, c.Fingerprint, again.Card.ID, c.ID)
		}
		if other := f.token(t, f.app, false, "5555555555554444", ""); other.Card.Fingerprint == c.Fingerprint {
			t.Fatal("different numbers share a fingerprint")
		}
		// The stored row holds no number.
		f.db.Read(ctx, func(tx *store.Tx) error {
			row, err := tx.GetVaultCard(ctx, f.app, false, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{row.WrappedKey, row.Ciphertext, row.Nonce, row.Fingerprint, row.KeyID} {
				if strings.Contains(s, "42424242") {
					t.Fatalf("row field %q contains the number", s)
				}
			}
			return nil
		})
	})
}

func TestTokenSingleUseAndExpiry(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		t.Run("SingleUse", func(t *testing.T) {
			tok := f.token(t, f.app, false, "4242424242424242", "")
			cd, c, err := f.charge(f.app, false, tok.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			if cd.Number != "4242424242424242" || cd.ExpMonth != 12 || cd.ExpYear != 2031 || cd.CVC != "123" ||
				cd.Name != "Han Meimei" || c.ID != tok.Card.ID {
				t.Fatalf("card data = %v (exp %d/%d) card %+v", cd, cd.ExpMonth, cd.ExpYear, c)
			}
			got, err := f.v.GetToken(ctx, f.app, false, tok.ID)
			if err != nil || !got.Used || got.TimeUsed == nil || *got.TimeUsed != clock.Unix() {
				t.Fatalf("after use: %+v %v", got, err)
			}
			_, _, err = f.charge(f.app, false, tok.ID, "")
			wantParam(t, err, "extra[source]")
			if _, _, err := f.v.PeekCard(ctx, f.app, false, tok.ID, ""); err == nil {
				t.Fatal("PeekCard accepted a used token")
			}
		})
		t.Run("Concurrent", func(t *testing.T) {
			tok := f.token(t, f.app, false, "5555555555554444", "")
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for i := 0; i < 10; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, _, err := f.charge(f.app, false, tok.ID, ""); err == nil {
						mu.Lock()
						wins++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("token used %d times, want 1", wins)
			}
		})
		t.Run("Expiry", func(t *testing.T) {
			tok := f.token(t, f.app, false, "378282246310005", "")
			f.clock.Add(TokenTTL - time.Second)
			if _, _, err := f.v.PeekCard(ctx, f.app, false, tok.ID, ""); err != nil {
				t.Fatalf("just before expiry: %v", err)
			}
			f.clock.Add(time.Second)
			_, _, err := f.charge(f.app, false, tok.ID, "")
			wantParam(t, err, "extra[source]")
			if !strings.Contains(err.Error(), "过期") {
				t.Fatalf("err = %v, want it to say expired", err)
			}
			if f.v.cvc(tok.ID) != "" {
				t.Fatal("CVC kept in memory after the token expired")
			}
		})
		t.Run("CVCOnlyOnThisNode", func(t *testing.T) {
			tok := f.token(t, f.app, false, "6200000000000005", "")
			other := New(f.db, f.v.Keys) // another node: same store and keyring, its own memory
			other.Now = f.clock.Now
			var cd *polypay.CardData
			err := f.db.Write(ctx, func(tx *store.Tx) (err error) {
				cd, _, err = other.CardForCharge(ctx, tx, f.app, false, tok.ID, "")
				return
			})
			if err != nil || cd.Number != "6200000000000005" || cd.CVC != "" {
				t.Fatalf("other node: %v cvc=%q err=%v", cd, cd.CVC, err)
			}
		})
	})
}

func TestCustomersAndSources(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		email := "a@example.com"
		tok1 := f.token(t, f.app, false, "4242424242424242", "")
		cus, err := f.v.CreateCustomer(ctx, f.app, false, CustomerParams{Email: &email, Source: tok1.ID, Metadata: []byte(`{"k":"v"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(cus.ID, "cus_") || cus.Object != "customer" || *cus.Email != email || cus.DefaultSource == nil ||
			*cus.DefaultSource != tok1.Card.ID || len(cus.Sources.Data) != 1 || string(cus.Metadata) != `{"k":"v"}` {
			t.Fatalf("customer = %+v", cus)
		}
		// The token that made the customer is spent.
		_, err = f.v.CreateCustomer(ctx, f.app, false, CustomerParams{Source: tok1.ID})
		wantParam(t, err, "source")

		tok2 := f.token(t, f.app, false, "5555555555554444", cus.ID)
		c2, err := f.v.AttachSource(ctx, f.app, false, cus.ID, tok2.ID)
		if err != nil || *c2.Customer != cus.ID {
			t.Fatalf("attach: %+v %v", c2, err)
		}
		list, err := f.v.ListSources(ctx, f.app, false, cus.ID, store.Page{Limit: 1})
		if err != nil || len(list.Data) != 1 || !list.HasMore || list.Data[0].(*Card).ID != c2.ID {
			t.Fatalf("sources page 1: %+v %v", list, err)
		}
		list, _ = f.v.ListSources(ctx, f.app, false, cus.ID, store.Page{Limit: 1, StartingAfter: c2.ID})
		if len(list.Data) != 1 || list.HasMore || list.Data[0].(*Card).ID != tok1.Card.ID {
			t.Fatalf("sources page 2: %+v", list)
		}

		charges := []struct {
			name            string
			source, cus     string
			param, wantCard string
		}{
			{"DefaultSource", "", cus.ID, "", tok1.Card.ID},
			{"CardOfCustomer", c2.ID, cus.ID, "", c2.ID},
			{"CardNoCustomer", c2.ID, "", "", c2.ID},
			{"ErrUnknownCustomer", "", "cus_nope", "extra[customer]", ""},
			{"ErrNothing", "", "", "extra[source]", ""},
			{"ErrBadPrefix", "ch_x", "", "extra[source]", ""},
			{"ErrUnknownCard", "card_nope", "", "extra[source]", ""},
			{"ErrUnknownToken", "tok_nope", "", "extra[source]", ""},
		}
		for _, tc := range charges {
			t.Run(tc.name, func(t *testing.T) {
				cd, c, err := f.charge(f.app, false, tc.source, tc.cus)
				if tc.param != "" {
					wantParam(t, err, tc.param)
					return
				}
				if err != nil || c.ID != tc.wantCard || cd.Last4() != c.Last4 {
					t.Fatalf("got %+v %v, want card %s", c, err, tc.wantCard)
				}
			})
		}
		t.Run("ErrCardOfAnotherCustomer", func(t *testing.T) {
			cus2, err := f.v.CreateCustomer(ctx, f.app, false, CustomerParams{})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = f.charge(f.app, false, c2.ID, cus2.ID)
			wantParam(t, err, "extra[source]")
			_, _, err = f.charge(f.app, false, "", cus2.ID) // no default source
			wantParam(t, err, "extra[source]")
			// A token made for one customer cannot be attached to another.
			tok := f.token(t, f.app, false, "4242424242424242", cus.ID)
			_, err = f.v.AttachSource(ctx, f.app, false, cus2.ID, tok.ID)
			wantParam(t, err, "source")
		})
		t.Run("Update", func(t *testing.T) {
			d := "vip"
			src := c2.ID
			got, err := f.v.UpdateCustomer(ctx, f.app, false, cus.ID, CustomerParams{Description: &d, DefaultSource: &src})
			if err != nil || *got.DefaultSource != c2.ID || *got.Description != "vip" || *got.Email != email {
				t.Fatalf("update: %+v %v", got, err)
			}
			bad := "card_nope"
			_, err = f.v.UpdateCustomer(ctx, f.app, false, cus.ID, CustomerParams{DefaultSource: &bad})
			wantParam(t, err, "default_source")
		})
		t.Run("DeleteSource", func(t *testing.T) {
			if err := f.v.DeleteSource(ctx, f.app, false, cus.ID, c2.ID); err != nil {
				t.Fatal(err)
			}
			got, _ := f.v.GetCustomer(ctx, f.app, false, cus.ID)
			if *got.DefaultSource != tok1.Card.ID || len(got.Sources.Data) != 1 {
				t.Fatalf("after delete: default %v sources %d", *got.DefaultSource, len(got.Sources.Data))
			}
			wantNotFound(t, f.v.DeleteSource(ctx, f.app, false, cus.ID, c2.ID))
		})
		t.Run("DeleteCustomer", func(t *testing.T) {
			if err := f.v.DeleteCustomer(ctx, f.app, false, cus.ID); err != nil {
				t.Fatal(err)
			}
			_, err := f.v.GetCustomer(ctx, f.app, false, cus.ID)
			wantNotFound(t, err)
			_, _, err = f.charge(f.app, false, tok1.Card.ID, "")
			wantParam(t, err, "extra[source]")
		})
	})
}

// TestForeignApp: nothing of another app or mode is visible.
func TestForeignApp(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		tok := f.token(t, f.app, false, "4242424242424242", "")
		cus, err := f.v.CreateCustomer(ctx, f.app, false, CustomerParams{Source: tok.ID})
		if err != nil {
			t.Fatal(err)
		}
		fresh := f.token(t, f.app, false, "5555555555554444", "")
		cardID := tok.Card.ID
		for _, who := range []struct {
			name string
			app  string
			live bool
		}{{"OtherApp", f.other, false}, {"LiveMode", f.app, true}} {
			t.Run(who.name, func(t *testing.T) {
				_, err := f.v.GetToken(ctx, who.app, who.live, fresh.ID)
				wantNotFound(t, err)
				_, err = f.v.GetCustomer(ctx, who.app, who.live, cus.ID)
				wantNotFound(t, err)
				_, err = f.v.GetSource(ctx, who.app, who.live, cus.ID, cardID)
				wantNotFound(t, err)
				_, err = f.v.ListSources(ctx, who.app, who.live, cus.ID, store.Page{Limit: 10})
				wantNotFound(t, err)
				_, err = f.v.AttachSource(ctx, who.app, who.live, cus.ID, fresh.ID)
				wantNotFound(t, err)
				wantNotFound(t, f.v.DeleteCustomer(ctx, who.app, who.live, cus.ID))
				wantNotFound(t, f.v.DeleteSource(ctx, who.app, who.live, cus.ID, cardID))
				list, err := f.v.ListCustomers(ctx, who.app, who.live, store.Page{Limit: 10})
				if err != nil || len(list.Data) != 0 {
					t.Fatalf("list: %d customers, %v", len(list.Data), err)
				}
				for _, src := range []string{fresh.ID, cardID} {
					_, _, err = f.charge(who.app, who.live, src, "")
					wantParam(t, err, "extra[source]")
				}
				_, _, err = f.charge(who.app, who.live, "", cus.ID)
				wantParam(t, err, "extra[customer]")
				_, err = f.v.CreateCustomer(ctx, who.app, who.live, CustomerParams{Source: fresh.ID})
				wantParam(t, err, "source")
			})
		}
		// The foreign attempts consumed nothing.
		if _, _, err := f.charge(f.app, false, fresh.ID, ""); err != nil {
			t.Fatalf("own token after foreign attempts: %v", err)
		}
	})
}

func TestListCustomersPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		var ids []string
		for i := 0; i < 5; i++ {
			c, err := f.v.CreateCustomer(ctx, f.app, false, CustomerParams{})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		page := func(p store.Page) (got []string, more bool) {
			l, err := f.v.ListCustomers(ctx, f.app, false, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range l.Data {
				got = append(got, d.(*Customer).ID)
			}
			return got, l.HasMore
		}
		if got, more := page(store.Page{Limit: 2}); !more || got[0] != ids[4] || got[1] != ids[3] {
			t.Fatalf("first page %v more=%v", got, more)
		}
		if got, more := page(store.Page{Limit: 2, StartingAfter: ids[1]}); more || len(got) != 1 || got[0] != ids[0] {
			t.Fatalf("last page %v more=%v", got, more)
		}
		if got, more := page(store.Page{Limit: 2, EndingBefore: ids[1]}); !more || got[0] != ids[3] || got[1] != ids[2] {
			t.Fatalf("ending_before page %v more=%v", got, more)
		}
		_, err := f.v.ListCustomers(ctx, f.app, false, store.Page{Limit: 2, StartingAfter: "cus_nope"})
		wantParam(t, err, "starting_after")
	})
}

// TestTamper: a wrapped key moved to another card, or relabelled with
// another key id, does not open.
func TestTamper(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		a := f.token(t, f.app, false, "4242424242424242", "")
		b := f.token(t, f.app, false, "5555555555554444", "")
		var ra, rb *store.VaultCard
		f.db.Read(ctx, func(tx *store.Tx) error {
			ra, _ = tx.GetVaultCard(ctx, f.app, false, a.Card.ID)
			rb, _ = tx.GetVaultCard(ctx, f.app, false, b.Card.ID)
			return nil
		})
		if _, err := f.v.open(ra); err != nil {
			t.Fatal(err)
		}
		swapped := *ra
		swapped.WrappedKey = rb.WrappedKey
		if _, err := f.v.open(&swapped); err == nil {
			t.Fatal("opened a card with another card's wrapped key")
		}
		moved := *ra
		moved.ID = rb.ID
		if _, err := f.v.open(&moved); err == nil {
			t.Fatal("opened a card's ciphertext under another card id")
		}
	})
}

func TestKeyringFile(t *testing.T) {
	t.Setenv(EnvKeys, "")
	dir := t.TempDir()
	k, err := OpenKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeysFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring file: %v mode %v, want 0600", err, fi.Mode().Perm())
	}
	// A leftover temporary file from a crashed write changes nothing.
	os.WriteFile(filepath.Join(dir, ".vault.keys.tmp-123"), []byte("{garbage"), 0o600)
	k2, err := OpenKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := k.current(true)
	r2, _ := k2.current(true)
	if r1.Active != r2.Active || string(r1.FingerprintKey) != string(r2.FingerprintKey) {
		t.Fatal("second open made a new keyring")
	}
	// The environment keyring wins over the file and is never written.
	b, _ := os.ReadFile(filepath.Join(dir, KeysFile))
	other := t.TempDir()
	t.Setenv(EnvKeys, string(b))
	k3, err := OpenKeys(other)
	if err != nil {
		t.Fatal(err)
	}
	if r3, _ := k3.current(true); r3.Active != r1.Active {
		t.Fatal("env keyring not used")
	}
	if _, err := os.Stat(filepath.Join(other, KeysFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a keyring file was created although the env var is set")
	}
	t.Setenv(EnvKeys, `{"version":1}`)
	if _, err := OpenKeys(other); err == nil {
		t.Fatal("accepted an invalid env keyring")
	}
	os.WriteFile(filepath.Join(dir, KeysFile), []byte("{}"), 0o600)
	t.Setenv(EnvKeys, "")
	if _, err := OpenKeys(dir); err == nil {
		t.Fatal("accepted an invalid keyring file")
	}
}
