package store_test

import (
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// TestConsoleAdminQueries covers the console's user management, key
// rolling, scoped statistics and test events on each backend.
func TestConsoleAdminQueries(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB) {
		app, other := newApp(t, db), newApp(t, db)
		a := newCharge(t, db, app, 300, "ADM1")
		markPaid(t, db, a)
		newCharge(t, db, app, 100, "ADM2")
		markPaid(t, db, newCharge(t, db, other, 999, "ADM3"))
		owner := &store.ConsoleUser{ID: polypay.NewID("usr_"), Email: "o@example.com", Role: "owner", Password: "h", Created: 1}
		scoped := &store.ConsoleUser{ID: polypay.NewID("usr_"), Email: "s@example.com", Role: "admin", Password: "h", Created: 1, Apps: []string{app}}
		if err := db.Write(ctx, func(tx *store.Tx) error {
			for _, u := range []*store.ConsoleUser{owner, scoped} {
				if err := tx.InsertConsoleUser(ctx, u); err != nil {
					return err
				}
			}
			return tx.InsertConsoleSession(ctx, &store.ConsoleSession{IDHash: "sh", UserID: scoped.ID, CSRF: "c", Created: 1, Seen: 1})
		}); err != nil {
			t.Fatal(err)
		}
		t.Run("Users", func(t *testing.T) {
			scoped.Disabled = true
			if err := db.Write(ctx, func(tx *store.Tx) error { return tx.UpdateConsoleUser(ctx, scoped) }); err != nil {
				t.Fatal(err)
			}
			db.Read(ctx, func(tx *store.Tx) error {
				u, err := tx.ConsoleUserByID(ctx, scoped.ID)
				if err != nil || !u.Disabled || len(u.Apps) != 1 || u.Apps[0] != app {
					t.Fatalf("user %+v %v", u, err)
				}
				if s, _, err := tx.ConsoleSession(ctx, "sh"); s != nil || err != nil {
					t.Fatalf("a disabled user's session survives: %+v %v", s, err)
				}
				if n, err := tx.CountActiveOwners(ctx); n != 1 || err != nil {
					t.Fatalf("active owners %d %v", n, err)
				}
				if _, err := tx.ConsoleUserByID(ctx, "usr_nope"); polypay.ErrorCode(err) != polypay.ENotFound {
					t.Fatalf("unknown user: %v", err)
				}
				return nil
			})
		})
		t.Run("Stats", func(t *testing.T) {
			db.Read(ctx, func(tx *store.Tx) error {
				all, err := tx.ChannelStats(ctx, store.StatsFilter{From: 1, Bucket: 3600})
				if err != nil || len(all) != 1 || all[0].Count != 3 || all[0].PaidAmount != 1299 || all[0].Currency != "cny" {
					t.Fatalf("all apps: %+v %v", all, err)
				}
				mine, err := tx.ChannelStats(ctx, store.StatsFilter{Apps: []string{app}, From: 1, Bucket: 86400, Offset: 8 * 3600})
				if err != nil || len(mine) != 1 || mine[0].Count != 2 || mine[0].Paid != 1 || mine[0].PaidAmount != 300 || mine[0].Bucket != (1700000000+8*3600)/86400 {
					t.Fatalf("scoped: %+v %v", mine, err)
				}
				none, err := tx.ChannelStats(ctx, store.StatsFilter{From: 1700000001})
				if err != nil || len(none) != 0 {
					t.Fatalf("after the charges: %+v %v", none, err)
				}
				if rs, err := tx.RefundStats(ctx, store.StatsFilter{Apps: []string{app}}); err != nil || len(rs) != 0 {
					t.Fatalf("refunds: %+v %v", rs, err)
				}
				if p, err := tx.LatestPaid(ctx, []string{app}); err != nil || p != 1700000100 {
					t.Fatalf("latest paid %d %v", p, err)
				}
				if p, err := tx.LatestPaid(ctx, []string{"app_none"}); err != nil || p != 0 {
					t.Fatalf("latest paid, no charges: %d %v", p, err)
				}
				return nil
			})
		})
		t.Run("RollKeys", func(t *testing.T) {
			if err := db.Write(ctx, func(tx *store.Tx) error {
				if err := tx.InsertAPIKey(ctx, "old", app, false, store.KeySecret); err != nil {
					return err
				}
				return tx.RollAPIKeys(ctx, app, false, tx.Now()-1, map[string]string{store.KeySecret: "new"})
			}); err != nil {
				t.Fatal(err)
			}
			db.Read(ctx, func(tx *store.Tx) error {
				if _, _, _, err := tx.AppByKeyHash(ctx, "old"); polypay.ErrorCode(err) != polypay.ENotFound {
					t.Fatalf("expired key: %v", err)
				}
				if a, _, _, err := tx.AppByKeyHash(ctx, "new"); err != nil || a.ID != app {
					t.Fatalf("new key: %v", err)
				}
				keys, err := tx.APIKeys(ctx, app, tx.Now())
				if err != nil || len(keys) != 1 || keys[0].Hash != "new" {
					t.Fatalf("listed keys %+v %v", keys, err)
				}
				return nil
			})
		})
		t.Run("TestEvent", func(t *testing.T) {
			ep := &polypay.WebhookEndpoint{ID: polypay.NewID("we_"), AppID: app, URL: "http://127.0.0.1:9/", Created: 1}
			e := &polypay.Event{ID: polypay.NewID("evt_"), AppID: app, Type: "webhook.test", Created: 1, Object: []byte(`{}`)}
			var id string
			if err := db.Write(ctx, func(tx *store.Tx) (err error) {
				if err := tx.InsertWebhookEndpoint(ctx, ep); err != nil {
					return err
				}
				id, err = tx.InsertTestEvent(ctx, e, ep.ID, 1000)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			db.Read(ctx, func(tx *store.Tx) error {
				ds, err := tx.DeliveriesForEndpoint(ctx, ep.ID, 10)
				if err != nil || len(ds) != 1 || ds[0].ID != id || ds[0].EventType != "webhook.test" {
					t.Fatalf("deliveries %+v %v", ds, err)
				}
				return nil
			})
		})
	})
}
