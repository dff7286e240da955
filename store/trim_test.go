package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/polypay/polypay/store"
)

// TestTrimRejectedNotifications: rejected notifications are kept for the
// retention period and at most RejectedPerApp per app (the newest); the
// records of applied notifications are the audit trail and stay.
func TestTrimRejectedNotifications(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB) {
		appA, appB := newApp(t, db), newApp(t, db)
		const day = int64(86400)
		base := int64(1_800_000_000)
		record := func(app, outcome string, at int64, n int) {
			t.Helper()
			db.Now = func() time.Time { return time.Unix(at, 0) }
			for i := range n {
				if err := db.Write(ctx, func(tx *store.Tx) error {
					return tx.RecordNotification(ctx, store.NotificationRecord{Channel: "alipay", AppID: app, Outcome: outcome, ObjectID: fmt.Sprint(i)})
				}); err != nil {
					t.Fatal(err)
				}
			}
		}
		record(appA, "rejected_signature", base-40*day, 3) // past retention
		record(appA, "applied", base-40*day, 2)            // audit trail: kept
		record(appA, "rejected_malformed", base-2*day, 4)
		record(appA, "rejected_foreign", base-day, 4)
		record(appB, "rejected_signature", base-day, 5)
		db.Now = func() time.Time { return time.Unix(base, 0) }
		var n int64
		if err := db.Write(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.Trim(ctx, store.TrimPolicy{RejectedRetention: 30 * day, RejectedPerApp: 5})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if want := int64(3 + 3); n != want {
			t.Errorf("Trim deleted %d rows, want %d", n, want)
		}
		count := func(app string) map[string]int {
			var outs []string
			db.Read(ctx, func(tx *store.Tx) error {
				var err error
				outs, err = tx.NotificationOutcomes(ctx, app)
				return err
			})
			m := map[string]int{}
			for _, o := range outs {
				m[o]++
			}
			return m
		}
		gotA, gotB := count(appA), count(appB)
		if gotA["applied"] != 2 || gotA["rejected_signature"] != 0 || gotA["rejected_foreign"] != 4 || gotA["rejected_malformed"] != 1 {
			t.Errorf("app A after trim: %v, want 2 applied, 4 rejected_foreign (newest), 1 rejected_malformed", gotA)
		}
		if gotB["rejected_signature"] != 5 {
			t.Errorf("app B after trim: %v, want its 5 rows (at the cap)", gotB)
		}
	})
}

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
