package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
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

// TestCountConsoleSignIn: concurrent attempts under one key, through two
// handles on one database as two nodes would make them, are all counted
// (none reads a count another is about to write); a delay refuses without
// counting; expiry and clearing start over.
func TestCountConsoleSignIn(t *testing.T) {
	const free, wait, forget = 5, 60, 3600
	const now = 1_700_000_000
	delay := func(failed int) int64 {
		if failed < free {
			return 0
		}
		return wait
	}
	count := func(t *testing.T, db *store.DB, key string, at int64) (allowed bool, failed int, nextAt int64) {
		t.Helper()
		err := db.Write(ctx, func(tx *store.Tx) (err error) {
			allowed, failed, nextAt, err = tx.CountConsoleSignIn(ctx, key, at, forget, delay)
			return err
		})
		if err != nil {
			t.Error(err)
		}
		return
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			nodes := []*store.DB{b.Open(t), b.Open(t)}
			db := nodes[0]
			t.Run("Concurrent", func(t *testing.T) {
				var wg sync.WaitGroup
				var allowedN atomic.Int64
				seen := make([]atomic.Bool, 41)
				for i := range 40 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if ok, failed, _ := count(t, nodes[i%2], "k1", now); ok {
							allowedN.Add(1)
							if seen[failed].Swap(true) {
								t.Errorf("count %d handed out twice", failed)
							}
						}
					}()
				}
				wg.Wait()
				if got := allowedN.Load(); got != free {
					t.Fatalf("allowed attempts = %d, want %d", got, free)
				}
				ok, failed, next := count(t, db, "k1", now)
				if ok || failed != free || next != now+wait {
					t.Fatalf("after the burst: allowed=%v failed=%d next=%d, want false %d %d", ok, failed, next, free, now+wait)
				}
			})
			tests := []struct {
				name        string
				at          int64
				wantAllowed bool
				wantFailed  int
				wantNext    int64
			}{
				{"StillWaiting", now + wait - 1, false, free, now + wait},
				{"AfterDelay", now + wait, true, free + 1, now + 2*wait},
				{"Expired", now + 2*wait + forget, true, 1, 0},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ok, failed, next := count(t, db, "k1", tt.at)
					if ok != tt.wantAllowed || failed != tt.wantFailed || next != tt.wantNext {
						t.Fatalf("got allowed=%v failed=%d next=%d, want %v %d %d", ok, failed, next, tt.wantAllowed, tt.wantFailed, tt.wantNext)
					}
				})
			}
			t.Run("ClearAndSweep", func(t *testing.T) {
				count(t, db, "k2", now)
				count(t, db, "k3", now)
				err := db.Write(ctx, func(tx *store.Tx) error {
					if err := tx.ClearConsoleSignIn(ctx, "k2"); err != nil {
						return err
					}
					return tx.DeleteExpiredConsoleSignIns(ctx, now+forget)
				})
				if err != nil {
					t.Fatal(err)
				}
				for _, key := range []string{"k2", "k3"} { // counted again at now: 2 if the row survived
					if _, failed, _ := count(t, db, key, now); failed != 1 {
						t.Errorf("%s: failed = %d after clear or sweep, want 1", key, failed)
					}
				}
			})
		})
	}
}
