package store_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/reconcile"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// rawDB opens the backend's database beside the store, to count rows the
// store's API has no query for.
func rawDB(t *testing.T, b storetest.Backend) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", b.DatabaseURL
	if dsn == "" {
		driver, dsn = "sqlite", "file:"+filepath.Join(b.DataDir, "polypay.db")+"?_pragma=busy_timeout(10000)"
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// seedTraffic makes one app's traffic in one mode: a paid charge with a
// refund, an order, an event delivered to a webhook endpoint, a
// notification, an idempotency record, a reconciliation run with a fee.
func seedTraffic(t *testing.T, db *store.DB, app string, live bool) {
	t.Helper()
	c := &polypay.Charge{ID: polypay.NewID("ch_"), AppID: app, Livemode: live, Channel: "alipay_qr", OrderNo: polypay.NewID("o"),
		ClientIP: "127.0.0.1", Amount: 1000, AmountSettle: 1000, Currency: "cny", Subject: "s", Body: "b", Extra: []byte("{}"),
		Metadata: []byte("{}"), Status: polypay.ChargePaid, Created: 1700000000, TimeExpire: 1700086400, ParamsHash: "h",
		TimePaid: 1700000100, AmountCaptured: 1000, AmountRefunded: 300, Refunded: true}
	if err := db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertCharge(ctx, c, 0); err != nil {
			return err
		}
		return seedRows(tx, c)
	}); err != nil {
		t.Fatal(err)
	}
}

func seedRows(tx *store.Tx, c *polypay.Charge) error {
	live := c.Livemode
	r := &polypay.Refund{ID: polypay.NewID("re_"), AppID: c.AppID, Livemode: live, ChargeID: c.ID, ChargeOrderNo: c.OrderNo,
		OrderNo: polypay.NewID("r"), Amount: 300, Currency: "cny", Status: polypay.RefundSucceeded, Created: 1700000200,
		TimeSucceed: 1700000300, Description: "d", Metadata: []byte("{}"), Extra: []byte("{}")}
	o := &polypay.Order{ID: polypay.NewID("or_"), AppID: c.AppID, Livemode: live, MerchantOrderNo: polypay.NewID("m"),
		Amount: 1000, Currency: "cny", Subject: "s", Body: "b", Channels: []byte("[]"), Metadata: []byte("{}"),
		Status: polypay.OrderPaid, Created: 1700000000, TimeExpire: 1700086400, ChargeID: c.ID, CashierToken: "t", ParamsHash: "h"}
	ep := &polypay.WebhookEndpoint{ID: polypay.NewID("we_"), AppID: c.AppID, Livemode: live, URL: "https://example.com/h", Created: 1}
	ev := &polypay.Event{ID: polypay.NewID("evt_"), AppID: c.AppID, Livemode: live, Type: "charge.succeeded", Created: 1, Object: []byte("{}")}
	run := &reconcile.Run{ID: polypay.NewID("rr_"), AppID: c.AppID, Live: live, Family: "alipay", Day: "2026-12-06", Status: reconcile.RunDone, Started: 1}
	steps := []func() error{
		func() error { return tx.InsertRefund(ctx, r) },
		func() error { return tx.Post(ctx, ledger.ChargePaid(c)) },
		func() error { return tx.Post(ctx, ledger.Refunded(c, r)) },
		func() error { return tx.InsertOrder(ctx, o) },
		func() error {
			return tx.InsertOrderCharge(ctx, store.OrderCharge{OrderID: o.ID, ChargeID: c.ID, Channel: c.Channel, Seq: 1, Created: 1})
		},
		func() error { return tx.InsertWebhookEndpoint(ctx, ep) },
		func() error { _, err := tx.InsertEvent(ctx, ev, 0); return err },
		func() error { return attemptAll(tx, ev.ID) },
		func() error {
			return tx.RecordNotification(ctx, store.NotificationRecord{Channel: c.Channel, AppID: c.AppID, Live: live, NotifyID: "n", ObjectID: c.ID, Outcome: "applied"})
		},
		func() error {
			return tx.PutIdempotency(ctx, c.AppID, live, polypay.NewID("k"), store.IdemRecord{RequestHash: "h", Status: 200, Response: []byte("{}")})
		},
		func() error { return tx.InsertReconRun(ctx, run) },
		func() error {
			_, err := tx.PostFee(ctx, reconcile.FeeLine{RefID: "pay:" + c.ID, AppID: c.AppID, Live: live, Channel: c.Channel,
				Day: run.Day, Currency: "cny", Amount: 6, RunID: run.ID})
			return err
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// attemptAll records one failed attempt on every delivery of an event.
func attemptAll(tx *store.Tx, eventID string) error {
	ds, err := tx.ClaimDeliveries(ctx, 0, 1, 100)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.Event.ID != eventID {
			continue
		}
		if err := tx.RecordAttempt(ctx, d.ID, store.Attempt{At: 1, StatusCode: 500, Error: "e"}, false, false, 2); err != nil {
			return err
		}
	}
	return nil
}

// modeRows counts an app's rows in one mode of every table the reset
// touches, and of the tables without a mode through their parents.
func modeRows(t *testing.T, raw *sql.DB, dialect store.Dialect, app string, live bool) map[string]int {
	t.Helper()
	q := map[string]string{
		"delivery_attempts":    `SELECT COUNT(*) FROM delivery_attempts a JOIN deliveries d ON d.id=a.delivery_id JOIN events e ON e.id=d.event_id WHERE e.app_id=? AND e.livemode=?`,
		"deliveries":           `SELECT COUNT(*) FROM deliveries d JOIN events e ON e.id=d.event_id WHERE e.app_id=? AND e.livemode=?`,
		"order_charges":        `SELECT COUNT(*) FROM order_charges x JOIN orders o ON o.id=x.order_id WHERE o.app_id=? AND o.livemode=?`,
		"order_royalty_plans":  `SELECT COUNT(*) FROM order_royalty_plans x JOIN orders o ON o.id=x.order_id WHERE o.app_id=? AND o.livemode=?`,
		"refund_royalty_plans": `SELECT COUNT(*) FROM refund_royalty_plans x JOIN refunds r ON r.id=x.refund_id WHERE r.app_id=? AND r.livemode=?`,
		"paycode_uses":         `SELECT COUNT(*) FROM paycode_uses x JOIN paycode_devices d ON d.id=x.device_id WHERE d.app_id=? AND d.livemode=?`,
	}
	out := map[string]int{}
	for _, table := range append(store.SandboxResetTables(), store.SandboxKeptTables...) {
		s, ok := q[table]
		if !ok {
			s = `SELECT COUNT(*) FROM ` + table + ` WHERE app_id=? AND livemode=?`
		}
		if dialect == store.Postgres {
			s = pgBind(s)
		}
		var n int
		mode := 0
		if live {
			mode = 1
		}
		if err := raw.QueryRow(s, app, mode).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

func pgBind(s string) string {
	out, n := []byte{}, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '?' {
			n++
			out = append(out, '$', byte('0'+n))
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}

func TestResetTestMode(t *testing.T) {
	cases := []struct {
		name     string
		allApps  bool
		otherApp bool // whether the other app's test rows must be gone too
	}{
		{"OneApp", false, false},
		{"AllApps", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, b := range storetest.Backends(t) {
				t.Run(b.Name, func(t *testing.T) { testReset(t, b, tc.allApps, tc.otherApp) })
			}
		})
	}
}

func testReset(t *testing.T, b storetest.Backend, allApps, otherGone bool) {
	db := b.Open(t)
	raw := rawDB(t, b)
	appA, appB := newApp(t, db), newApp(t, db)
	for _, app := range []string{appA, appB} {
		seedTraffic(t, db, app, false)
		seedTraffic(t, db, app, true)
	}
	before := map[string]map[string]int{}
	for _, k := range []struct {
		app  string
		live bool
	}{{appA, false}, {appA, true}, {appB, false}, {appB, true}} {
		before[k.app+mode(k.live)] = modeRows(t, raw, db.Dialect(), k.app, k.live)
	}
	// Every table the seed writes must have rows, or the test proves nothing.
	for _, table := range []string{"delivery_attempts", "deliveries", "events", "order_charges", "orders", "recon_runs",
		"recon_fees", "ledger_entries", "refunds", "charges", "notifications", "idempotency_keys", "webhook_endpoints"} {
		if before[appA+"test"][table] == 0 {
			t.Fatalf("seed made no %s rows", table)
		}
	}
	scope := appA
	if allApps {
		scope = ""
	}
	var cleared *store.SandboxCleared
	if err := db.Write(ctx, func(tx *store.Tx) (err error) {
		cleared, err = tx.ResetTestMode(ctx, scope)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if cleared.Total() == 0 {
		t.Fatal("got nothing cleared, want the test rows")
	}
	checkRows(t, raw, db.Dialect(), appA, false, nil, before[appA+"test"])
	checkRows(t, raw, db.Dialect(), appA, true, before[appA+"live"], nil)
	checkRows(t, raw, db.Dialect(), appB, true, before[appB+"live"], nil)
	if otherGone {
		checkRows(t, raw, db.Dialect(), appB, false, nil, before[appB+"test"])
	} else {
		checkRows(t, raw, db.Dialect(), appB, false, before[appB+"test"], nil)
	}
	if _, probs, err := ledger.Check(ctx, db); err != nil || len(probs) > 0 {
		t.Fatalf("ledger check after reset: problems %v, err %v", probs, err)
	}
}

func mode(live bool) string {
	if live {
		return "live"
	}
	return "test"
}

// checkRows wants the rows of app in a mode to equal want (nil: the
// traffic tables empty, the kept tables as in seeded).
func checkRows(t *testing.T, raw *sql.DB, d store.Dialect, app string, live bool, want, seeded map[string]int) {
	t.Helper()
	got := modeRows(t, raw, d, app, live)
	if want == nil {
		want = map[string]int{}
		for _, table := range store.SandboxResetTables() {
			want[table] = 0
		}
		for _, table := range store.SandboxKeptTables {
			want[table] = seeded[table]
		}
	}
	for table, n := range want {
		if got[table] != n {
			t.Errorf("%s %s rows of %s: got %d, want %d", mode(live), table, app, got[table], n)
		}
	}
}

func TestResetTestModeUnknownApp(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB) {
		err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.ResetTestMode(ctx, "app_nosuchapp")
			return err
		})
		var pe *polypay.Error
		if !errors.As(err, &pe) || pe.Param != "app" {
			t.Fatalf("got %v, want an error naming the app parameter", err)
		}
	})
}

// TestResetCoversEveryModeTable fails when a migration adds a table with a
// livemode column that the reset neither clears nor deliberately keeps.
func TestResetCoversEveryModeTable(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t)
			raw := rawDB(t, b)
			q := `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type='table' AND p.name='livemode'`
			if db.Dialect() == store.Postgres {
				q = `SELECT table_name FROM information_schema.columns WHERE column_name='livemode' AND table_schema=current_schema()`
			}
			rows, err := raw.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			known := append(store.SandboxResetTables(), store.SandboxKeptTables...)
			var seen []string
			for rows.Next() {
				var name string
				if err := rows.Scan(&name); err != nil {
					t.Fatal(err)
				}
				seen = append(seen, name)
				if !slices.Contains(known, name) {
					t.Errorf("table %s has a livemode column but is neither cleared by ResetTestMode nor in SandboxKeptTables", name)
				}
			}
			sort.Strings(seen)
			if len(seen) < 10 {
				t.Fatalf("found only %v: the schema query is wrong", seen)
			}
		})
	}
}
