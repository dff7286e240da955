package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polypay/polypay/store"
)

var errCrash = errors.New("simulated crash")

// readAll opens every card with a fresh vault that reads the keyring file
// from disk, as a restarted node would, and returns each card's number.
func readAll(t *testing.T, f *fixture) map[string]string {
	t.Helper()
	keys, err := OpenKeys(f.dir)
	if err != nil {
		t.Fatalf("reopen keyring: %v", err)
	}
	v := New(f.db, keys)
	out := map[string]string{}
	err = f.db.Read(ctx, func(tx *store.Tx) error {
		cards, err := tx.VaultCardsNotUnder(ctx, "", 1000)
		if err != nil {
			return err
		}
		for _, c := range cards {
			cd, err := v.open(c)
			if err != nil {
				return err
			}
			out[c.ID] = cd.Number
		}
		return nil
	})
	if err != nil {
		t.Fatalf("a card is unreadable: %v", err)
	}
	return out
}

func keyIDs(t *testing.T, dir string) []string {
	t.Helper()
	k, err := OpenKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := k.current(true)
	return r.ids()
}

func TestRotate(t *testing.T) {
	numbers := []string{"4242424242424242", "5555555555554444", "378282246310005", "6200000000000005", "3566002020360505"}
	steps := []string{"", StepKeyAdded, StepBatch, StepRewrapped}
	for _, crashAt := range steps {
		name := "Complete"
		if crashAt != "" {
			name = "CrashAfter_" + crashAt
		}
		t.Run(name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, f *fixture) {
				want := map[string]string{}
				fps := map[string]string{}
				for _, n := range numbers {
					tok := f.token(t, f.app, false, n, "")
					want[tok.Card.ID] = n
					fps[n] = tok.Card.Fingerprint
				}
				before := keyIDs(t, f.dir)
				stale, err := OpenKeys(f.dir) // another node's keyring, loaded before the rotation
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				r := &Rotator{DB: f.db, Keys: f.v.Keys, Out: &out, Batch: 2, After: func(step string) error {
					if step == crashAt {
						return errCrash
					}
					return nil
				}}
				res, err := r.Rotate(ctx)
				defer func() {
					// The other node re-reads the keyring when a card names a key it lacks.
					for id, n := range want {
						var row *store.VaultCard
						f.db.Read(ctx, func(tx *store.Tx) (err error) { row, err = tx.GetVaultCard(ctx, f.app, false, id); return })
						if cd, err := New(f.db, stale).open(row); err != nil || cd.Number != n {
							t.Errorf("stale node cannot read card %s: %v", id, err)
						}
					}
				}()
				if crashAt != "" {
					if !errors.Is(err, errCrash) {
						t.Fatalf("Rotate = %v, want the simulated crash", err)
					}
					// Every card is readable from what is on disk now.
					if got := readAll(t, f); len(got) != len(want) {
						t.Fatalf("read %d cards, want %d", len(got), len(want))
					}
					if ids := keyIDs(t, f.dir); len(ids) != 2 {
						t.Fatalf("keys after crash = %v, want old and new", ids)
					}
					// A second run finishes the job.
					r.After = nil
					if res, err = r.Rotate(ctx); err != nil {
						t.Fatal(err)
					}
				} else if err != nil {
					t.Fatal(err)
				}
				got := readAll(t, f)
				for id, n := range want {
					if got[id] != n {
						t.Fatalf("card %s reads %q, want its number back", id, got[id][len(got[id])-4:])
					}
				}
				ids := keyIDs(t, f.dir)
				if len(ids) != 1 || ids[0] != res.NewKey || ids[0] == before[0] {
					t.Fatalf("keys after rotation = %v, want only the new %s (before: %v)", ids, res.NewKey, before)
				}
				var counts map[string]int
				f.db.Read(ctx, func(tx *store.Tx) (err error) { counts, err = tx.VaultCardKeys(ctx); return })
				if len(counts) != 1 || counts[res.NewKey] != len(numbers) {
					t.Fatalf("cards per key = %v", counts)
				}
				if crashAt == "" && (res.Rewrapped != len(numbers) || !strings.Contains(out.String(), "re-wrapped 5/5 cards")) {
					t.Fatalf("rewrapped %d; output:\n%s", res.Rewrapped, out.String())
				}
				// The running vault follows the file, and fingerprints
				// survive rotation (the fingerprint key is not rotated).
				for _, n := range numbers {
					tok := f.token(t, f.app, false, n, "")
					if tok.Card.Fingerprint != fps[n] {
						t.Fatalf("fingerprint of *%s changed across rotation", n[len(n)-4:])
					}
					if _, _, err := f.charge(f.app, false, tok.ID, ""); err != nil {
						t.Fatal(err)
					}
				}
			})
		})
	}
}

// TestRotateCrashInKeyringWrite: a crash while writing the keyring leaves
// the previous file whole; the half-written temporary file is ignored.
func TestRotateCrashInKeyringWrite(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		tok := f.token(t, f.app, false, "4242424242424242", "")
		os.WriteFile(filepath.Join(f.dir, ".vault.keys.tmp-999"), []byte(`{"version":1,"act`), 0o600)
		if got := readAll(t, f); got[tok.Card.ID] != "4242424242424242" {
			t.Fatal("card unreadable after a torn keyring write")
		}
	})
}

func TestRotateRefusesEnvKeyring(t *testing.T) {
	k, err := KeysFromJSON(mustKeyringJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Rotator{Keys: k}).Rotate(ctx); err == nil || !strings.Contains(err.Error(), EnvKeys) {
		t.Fatalf("Rotate = %v, want a refusal naming %s", err, EnvKeys)
	}
}

func mustKeyringJSON(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(EnvKeys, "")
	if _, err := OpenKeys(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, KeysFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
