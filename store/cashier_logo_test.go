package store_test

import (
	"bytes"
	"testing"

	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// TestCashierLogos: a logo is found by its hash while an app uses it,
// per app and mode, replaced by the next and gone once deleted.
func TestCashierLogos(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			appA, appB := newApp(t, db), newApp(t, db)
			png := []byte("\x89PNG\r\n\x1a\n\x00binary\xff")
			write := func(fn func(tx *store.Tx) error) {
				t.Helper()
				if err := db.Write(ctx, fn); err != nil {
					t.Fatal(err)
				}
			}
			lookup := func(sha string) (string, []byte) {
				t.Helper()
				var typ string
				var data []byte
				if err := db.Read(ctx, func(tx *store.Tx) (err error) {
					typ, data, err = tx.CashierLogo(ctx, sha)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return typ, data
			}
			write(func(tx *store.Tx) error { return tx.PutCashierLogo(ctx, appA, false, "aaa", "image/png", png, 1) })
			write(func(tx *store.Tx) error {
				return tx.PutCashierLogo(ctx, appA, true, "bbb", "image/jpeg", []byte{0xff, 0xd8}, 1)
			})
			if typ, data := lookup("aaa"); typ != "image/png" || !bytes.Equal(data, png) {
				t.Fatalf("got %q %q, want the PNG back byte for byte", typ, data)
			}
			write(func(tx *store.Tx) error { return tx.PutCashierLogo(ctx, appA, false, "ccc", "image/png", png, 2) })
			if _, data := lookup("aaa"); data != nil {
				t.Fatal("a replaced logo is still found")
			}
			write(func(tx *store.Tx) error { return tx.PutCashierLogo(ctx, appB, false, "ccc", "image/png", png, 2) })
			write(func(tx *store.Tx) error { return tx.DeleteCashierLogo(ctx, appA, false) })
			if _, data := lookup("ccc"); data == nil {
				t.Fatal("deleting app A's logo removed app B's copy")
			}
			if typ, _ := lookup("bbb"); typ != "image/jpeg" {
				t.Fatalf("live logo: %q", typ)
			}
		})
	}
}
