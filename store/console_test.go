package store_test

import (
	"context"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// TestConsoleQueries runs the console's queries on every backend.
func TestConsoleQueries(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		app := newApp(t, db)
		a := newCharge(t, db, app, 100, "CQ1")
		b := newCharge(t, db, app, 250, "CQ2")
		markPaid(t, db, b)
		u := &store.ConsoleUser{ID: polypay.NewID("usr_"), Email: "a@example.com", Role: "owner", Password: "h", Created: 1}
		err := db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.InsertConsoleUser(ctx, u); err != nil {
				return err
			}
			return tx.InsertConsoleSession(ctx, &store.ConsoleSession{IDHash: "h1", UserID: u.ID, CSRF: "c", Created: 10, Seen: 10})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertConsoleUser(ctx, u) }); !store.IsUniqueViolation(err) {
			t.Fatalf("second user with one email: %v, want a unique violation", err)
		}
		minAmount := int64(200)
		err = db.Read(ctx, func(tx *store.Tx) error {
			s, su, err := tx.ConsoleSession(ctx, "h1")
			if err != nil || s == nil || su.Email != "a@example.com" || s.CSRF != "c" {
				t.Fatalf("session: %+v %+v %v", s, su, err)
			}
			cs, more, err := tx.SearchCharges(ctx, store.TxnFilter{Mode: "test", AmountMin: &minAmount, Limit: 10})
			if err != nil || more || len(cs) != 1 || cs[0].ID != b.ID {
				t.Fatalf("search amount >= 200: %v %v %v", cs, more, err)
			}
			cs, more, err = tx.SearchCharges(ctx, store.TxnFilter{Limit: 1})
			if err != nil || !more || len(cs) != 1 || cs[0].ID != b.ID {
				t.Fatalf("first page of 1: %v more=%v %v", cs, more, err)
			}
			cs, _, err = tx.SearchCharges(ctx, store.TxnFilter{Before: b.ID, OrderNo: "CQ1", Limit: 5})
			if err != nil || len(cs) != 1 || cs[0].ID != a.ID {
				t.Fatalf("next page by order number: %v %v", cs, err)
			}
			if _, _, err := tx.SearchRefunds(ctx, store.TxnFilter{Channel: "alipay_qr", OrderNo: "CQ1"}); err != nil {
				t.Fatal(err)
			}
			stats, err := tx.DailyChannelStats(ctx, "", 1, 8*3600)
			if err != nil {
				t.Fatal(err)
			}
			var count, paid, amount int64
			for _, s := range stats {
				count, paid, amount = count+s.Count, paid+s.Paid, amount+s.PaidAmount
			}
			if count != 2 || paid != 1 || amount != 250 {
				t.Fatalf("stats %+v: want 2 charges, 1 paid, 250", stats)
			}
			if _, err := tx.EventsAbout(ctx, app, false, a.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.NotificationsFor(ctx, a.ID, "x"); err != nil {
				t.Fatal(err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.DeleteStaleConsoleSessions(ctx, 11, 0) }); err != nil {
			t.Fatal(err)
		}
		db.Read(ctx, func(tx *store.Tx) error {
			if s, _, _ := tx.ConsoleSession(ctx, "h1"); s != nil {
				t.Fatal("an idle session survived the sweep")
			}
			return nil
		})
	})
}
