package store_test

import (
	"testing"
	"time"

	"github.com/polypay/polypay/store"
)

// TestSpendRequestSignature: a signature is accepted once, until it
// expires and is trimmed.
func TestSpendRequestSignature(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB) {
		spend := func(digest string, expires int64) bool {
			t.Helper()
			var ok bool
			if err := db.Write(ctx, func(tx *store.Tx) error {
				var err error
				ok, err = tx.SpendRequestSignature(ctx, digest, expires)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ok
		}
		db.Now = func() time.Time { return time.Unix(1_800_000_000, 0) }
		if !spend("d1", 1_800_000_300) {
			t.Fatal("first use refused")
		}
		if spend("d1", 1_800_000_300) {
			t.Fatal("second use accepted")
		}
		db.Now = func() time.Time { return time.Unix(1_800_000_400, 0) }
		if err := db.Write(ctx, func(tx *store.Tx) error { _, err := tx.Trim(ctx, store.TrimPolicy{}); return err }); err != nil {
			t.Fatal(err)
		}
		if !spend("d1", 1_800_000_700) {
			t.Fatal("an expired, trimmed digest is still refused")
		}
	})
}
