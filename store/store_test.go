package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

var ctx = context.Background()

func forEachStore(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.Open(t)) })
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

func newCharge(t *testing.T, db *store.DB, app string, amount int64, orderNo string) *polypay.Charge {
	t.Helper()
	c := &polypay.Charge{ID: polypay.NewID("ch_"), AppID: app, Channel: "alipay_qr", OrderNo: orderNo, ClientIP: "127.0.0.1",
		Amount: amount, AmountSettle: amount, Currency: "cny", Subject: "s", Body: "b", Extra: []byte("{}"),
		Metadata: []byte("{}"), Status: polypay.ChargePending, Created: 1700000000, TimeExpire: 1700086400, ParamsHash: "h"}
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertCharge(ctx, c, 0) }); err != nil {
		t.Fatal(err)
	}
	return c
}

func markPaid(t *testing.T, db *store.DB, c *polypay.Charge) {
	t.Helper()
	if err := db.Write(ctx, func(tx *store.Tx) error {
		c.Status, c.TimePaid, c.AmountCaptured = polypay.ChargePaid, 1700000100, c.Amount
		if err := tx.UpdateCharge(ctx, c); err != nil {
			return err
		}
		return tx.Post(ctx, ledger.ChargePaid(c))
	}); err != nil {
		t.Fatal(err)
	}
}

func TestMigrations(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			for i := 0; i < 2; i++ { // the second open finds everything applied
				db, err := store.Open(ctx, b.DatabaseURL, b.DataDir)
				if err != nil {
					t.Fatalf("open #%d: %v", i+1, err)
				}
				v, err := db.MigrationVersion(ctx)
				db.Close()
				if err != nil {
					t.Fatal(err)
				}
				if want := latestMigration(t); v != want {
					t.Fatalf("migration version = %d, want %d", v, want)
				}
			}
		})
	}
}

// TestWriteIsolation: in one group commit, a failing write leaves no trace
// while its neighbours commit.
func TestWriteIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB) {
		app := newApp(t, db)
		boom := errors.New("boom")
		var wg sync.WaitGroup
		errs := make([]error, 40)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Write(ctx, func(tx *store.Tx) error {
					c := &polypay.Charge{ID: polypay.NewID("ch_"), AppID: app, Channel: "alipay_qr", OrderNo: fmt.Sprintf("o%d", i),
						ClientIP: "1.1.1.1", Amount: 1, Currency: "cny", Extra: []byte("{}"), Metadata: []byte("{}"),
						Status: polypay.ChargePending, Created: 1, TimeExpire: 2, ParamsHash: "h"}
					if err := tx.InsertCharge(ctx, c, 0); err != nil {
						return err
					}
					if i%3 == 0 {
						return boom
					}
					return nil
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			want := error(nil)
			if i%3 == 0 {
				want = boom
			}
			if !errors.Is(err, want) && !(err == nil && want == nil) {
				t.Errorf("write %d: err = %v, want %v", i, err, want)
			}
		}
		var n int
		db.Read(ctx, func(tx *store.Tx) error {
			cs, _, err := tx.ListCharges(ctx, store.ChargeFilter{AppID: app, Limit: 100})
			n = len(cs)
			return err
		})
		if want := 40 - 14; n != want {
			t.Fatalf("charges stored = %d, want %d", n, want)
		}
	})
}

// latestMigration is the number of the newest migration file.
func latestMigration(t *testing.T) int {
	t.Helper()
	names, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	sort.Strings(names)
	n, err := strconv.Atoi(strings.SplitN(filepath.Base(names[len(names)-1]), "_", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}
