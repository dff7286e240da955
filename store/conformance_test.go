package store_test

// The store conformance suite: for each concern a consumer depends on (the
// interfaces of core/stores.go, reconcile.Store, ledger.Books), one table of
// the contract it relies on, run against every backend (SQLite, and
// PostgreSQL when POLYPAY_TEST_POSTGRES is set). Each case sees the store
// only through the interface under test (writeAs/readAs convert the
// transaction), on a fresh store, so a case states what any implementation
// must do, not how *store.Tx does it. Setup and inspection that the
// interface does not offer (webhook endpoints, delivery rows) go through
// *store.Tx and say so.

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/reconcile"
	"github.com/polypay/polypay/store"
)

// contract is one case of a concern's table.
type contract struct {
	name string
	run  func(t *testing.T, db *store.DB)
}

// runContracts runs each case on a fresh store of every backend.
func runContracts(t *testing.T, cases []contract) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { forEachStore(t, c.run) })
	}
}

// writeAs runs fn in a write transaction that fn sees only as S. fn runs
// on the store's writer goroutine (SQLite): it reports by returning an
// error or with t.Error, never t.Fatal.
func writeAs[S any](db *store.DB, fn func(S) error) error {
	return db.Write(ctx, func(tx *store.Tx) error { return fn(any(tx).(S)) })
}

// readAs runs fn in a read transaction that fn sees only as S.
func readAs[S any](db *store.DB, fn func(S) error) error {
	return db.Read(ctx, func(tx *store.Tx) error { return fn(any(tx).(S)) })
}

func mustWrite[S any](t *testing.T, db *store.DB, fn func(S) error) {
	t.Helper()
	if err := writeAs(db, fn); err != nil {
		t.Fatal(err)
	}
}

func mustRead[S any](t *testing.T, db *store.DB, fn func(S) error) {
	t.Helper()
	if err := readAs(db, fn); err != nil {
		t.Fatal(err)
	}
}

// race runs n write transactions at once, each calling claim, and returns
// how many committed a win. A win counts only once its transaction
// committed: PostgreSQL may run fn again after a serialisation failure.
func race(t *testing.T, db *store.DB, n int, claim func(tx *store.Tx) (bool, error)) int {
	t.Helper()
	var won atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{}) // released together, to overlap
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var ok bool
			err := db.Write(ctx, func(tx *store.Tx) error {
				var err error
				ok, err = claim(tx)
				return err
			})
			if err != nil {
				t.Errorf("racing claimer: %v", err)
			} else if ok {
				won.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(won.Load())
}

// allFieldsSet fails when a fixture leaves a field at its zero value, so
// that a round trip covers every field, including ones added later; except
// names fields that another method than the insert sets.
func allFieldsSet(t *testing.T, v any, except ...string) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() && !slices.Contains(except, rv.Type().Field(i).Name) {
			t.Errorf("fixture %T leaves %s zero: set it so the round trip covers it", v, rv.Type().Field(i).Name)
		}
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if polypay.ErrorCode(err) != polypay.ENotFound {
		t.Errorf("%s: err = %v, want %s", what, err, polypay.ENotFound)
	}
}

// fixedClock pins the store's clock at sec.
func fixedClock(db *store.DB, sec int64) { db.Now = func() time.Time { return time.Unix(sec, 0) } }

// charge is a test-mode pending alipay_qr charge; mods adjust it.
func charge(app, orderNo string, mods ...func(*polypay.Charge)) *polypay.Charge {
	c := &polypay.Charge{ID: polypay.NewID("ch_"), AppID: app, Channel: "alipay_qr", OrderNo: orderNo, ClientIP: "127.0.0.1",
		Amount: 500, AmountSettle: 500, Currency: "cny", Subject: "s", Body: "b", Extra: []byte("{}"), Metadata: []byte("{}"),
		Status: polypay.ChargePending, Created: 1700000000, TimeExpire: 1700086400, ParamsHash: "h"}
	for _, m := range mods {
		m(c)
	}
	return c
}

func paid(at int64) func(*polypay.Charge) {
	return func(c *polypay.Charge) { c.Status, c.TimePaid, c.AmountCaptured = polypay.ChargePaid, at, c.Amount }
}

func live(c *polypay.Charge) { c.Livemode = true }

// insertCharges stores charges through ChargeStore, next check at nextCheck.
func insertCharges(t *testing.T, db *store.DB, nextCheck int64, cs ...*polypay.Charge) {
	t.Helper()
	mustWrite(t, db, func(s core.ChargeStore) error {
		for _, c := range cs {
			if err := s.InsertCharge(ctx, c, nextCheck); err != nil {
				return err
			}
		}
		return nil
	})
}

// fullCharge sets every field of a charge to a non-zero value.
func fullCharge(app string) *polypay.Charge {
	return &polypay.Charge{ID: polypay.NewID("ch_"), AppID: app, Livemode: true, Channel: "card", OrderNo: "full-1",
		ClientIP: "203.0.113.9", Amount: 1234, AmountSettle: 1200, Currency: "usd", Subject: "subject", Body: "body",
		Description: "desc", Extra: []byte(`{"k":"v"}`), Metadata: []byte(`{"m":1}`), Status: polypay.ChargePaid,
		Created: 1700000000, TimePaid: 1700000200, TimeExpire: 1700003600, TransactionNo: "txn-1", AmountRefunded: 5,
		Refunded: true, FailureCode: "fc", FailureMsg: "fm", Credential: []byte(`{"url":"https://pay"}`), AuthOnly: true,
		TimeAuthorized: 1700000100, HoldExpire: 1700600000, AmountCaptured: 1200,
		ThreeDS:  &polypay.ThreeDSResult{Flow: "challenge", Authenticated: true, LiabilityShift: true, Version: "2.2.0"},
		Attempts: []byte(`[{"processor":"a"}]`), Account: "backup", ParamsHash: "ph",
		RiskReview: polypay.ReviewOpen}
}

// getCharge reads a charge through ChargeStore.
func getCharge(db *store.DB, app string, live bool, id string) (*polypay.Charge, error) {
	var c *polypay.Charge
	err := readAs(db, func(s core.ChargeStore) (err error) { c, err = s.GetCharge(ctx, app, live, id); return })
	return c, err
}

func TestConformanceChargeStore(t *testing.T) {
	runContracts(t, []contract{
		{"RoundTrip", chargeRoundTrip},
		{"UpdateWritesMutableFields", chargeUpdate},
		{"LockChargeSerialisesWriters", chargeLock},
		{"TenantIsolation", chargeIsolation},
		{"OrderNoUniquePerAppAndMode", chargeOrderNoUnique},
		{"DueChargesClaimedOncePerWindow", chargeClaims},
		{"ConcurrentClaimersWinOnce", chargeClaimRaces},
		{"DoubtChecks", chargeDoubts},
		{"ExpiredHolds", chargeHolds},
		{"ListPages", chargeListPages},
		{"ListFilters", chargeListFilters},
		{"NowFixedPerTransaction", chargeClock},
	})
}

func chargeRoundTrip(t *testing.T, db *store.DB) {
	c := fullCharge(newApp(t, db))
	allFieldsSet(t, c)
	insertCharges(t, db, 0, c)
	var got, locked, byNo *polypay.Charge
	var exists bool
	mustRead(t, db, func(s core.ChargeStore) (err error) {
		if got, err = s.GetCharge(ctx, c.AppID, true, c.ID); err != nil {
			return err
		}
		if byNo, err = s.ChargeByOrderNo(ctx, c.AppID, true, c.OrderNo); err != nil {
			return err
		}
		exists, err = s.ChargeExists(ctx, c.AppID, true, c.ID)
		return err
	})
	mustWrite(t, db, func(s core.ChargeStore) (err error) { locked, err = s.LockCharge(ctx, c.ID); return })
	for name, g := range map[string]*polypay.Charge{"GetCharge": got, "ChargeByOrderNo": byNo, "LockCharge": locked} {
		if !reflect.DeepEqual(g, c) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, g, c)
		}
	}
	if !exists {
		t.Error("ChargeExists = false for a stored charge")
	}
}

func chargeUpdate(t *testing.T, db *store.DB) {
	c := fullCharge(newApp(t, db))
	insertCharges(t, db, 0, c)
	want := *c
	want.Status, want.TimePaid, want.TransactionNo, want.AmountRefunded = polypay.ChargeReversed, 1700000900, "txn-2", 300
	want.Refunded, want.FailureCode, want.FailureMsg, want.Credential = false, "fc2", "fm2", []byte(`{"url":"https://other"}`)
	want.Extra, want.TimeAuthorized, want.HoldExpire, want.AmountCaptured = []byte(`{"k":"w"}`), 1700000300, 1700700000, 1000
	want.AmountSettle, want.ThreeDS = 1000, &polypay.ThreeDSResult{Flow: "frictionless", Version: "2.1.0"}
	want.Attempts, want.Account, want.RiskReview = []byte(`[{"processor":"b"}]`), "third", polypay.ReviewApproved
	// The creation parameters are not the update's to change.
	upd := want
	upd.Amount, upd.OrderNo, upd.Metadata, upd.Currency, upd.Subject = 1, "other", []byte(`{"x":2}`), "eur", "x"
	mustWrite(t, db, func(s core.ChargeStore) error {
		if _, err := s.LockCharge(ctx, c.ID); err != nil {
			return err
		}
		return s.UpdateCharge(ctx, &upd)
	})
	got, err := getCharge(db, c.AppID, true, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("after UpdateCharge:\n got %+v\nwant %+v", got, &want)
	}
}

// chargeLock: writers that read a charge with LockCharge and write it back
// never lose each other's update (a row lock on PostgreSQL).
func chargeLock(t *testing.T, db *store.DB) {
	c := charge(newApp(t, db), "lock-1")
	insertCharges(t, db, 0, c)
	const n = 20
	race(t, db, n, func(tx *store.Tx) (bool, error) {
		var s core.ChargeStore = tx
		got, err := s.LockCharge(ctx, c.ID)
		if err != nil {
			return false, err
		}
		time.Sleep(time.Millisecond) // widen the read-modify-write window
		got.AmountRefunded++
		return true, s.UpdateCharge(ctx, got)
	})
	got, err := getCharge(db, c.AppID, false, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.AmountRefunded != n {
		t.Fatalf("after %d locked increments amount_refunded = %d", n, got.AmountRefunded)
	}
}

func chargeIsolation(t *testing.T, db *store.DB) {
	appA, appB := newApp(t, db), newApp(t, db)
	c := charge(appA, "iso-1")
	insertCharges(t, db, 0, c)
	tests := []struct {
		name string
		app  string
		live bool
		id   string
	}{
		{"OtherApp", appB, false, c.ID},
		{"OtherMode", appA, true, c.ID},
		{"UnknownID", appA, false, "ch_missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var getErr error
			var exists bool
			var byNo *polypay.Charge
			var list []*polypay.Charge
			mustRead(t, db, func(s core.ChargeStore) (err error) {
				_, getErr = s.GetCharge(ctx, tc.app, tc.live, tc.id)
				if exists, err = s.ChargeExists(ctx, tc.app, tc.live, tc.id); err != nil {
					return err
				}
				if byNo, err = s.ChargeByOrderNo(ctx, tc.app, tc.live, "iso-1"); err != nil {
					return err
				}
				list, _, err = s.ListCharges(ctx, store.ChargeFilter{AppID: tc.app, Live: tc.live, Limit: 10})
				return err
			})
			wantNotFound(t, "GetCharge", getErr)
			if exists {
				t.Error("ChargeExists = true")
			}
			if tc.id == c.ID && (byNo != nil || len(list) != 0) {
				t.Errorf("ChargeByOrderNo = %v, ListCharges = %d charges; want none of another app or mode", byNo, len(list))
			}
		})
	}
}

func chargeOrderNoUnique(t *testing.T, db *store.DB) {
	appA, appB := newApp(t, db), newApp(t, db)
	insertCharges(t, db, 0, charge(appA, "dup1"))
	tests := []struct {
		name   string
		c      *polypay.Charge
		unique bool // want a unique violation
	}{
		{"SameAppAndMode", charge(appA, "dup1"), true},
		{"OtherMode", charge(appA, "dup1", live), false},
		{"OtherApp", charge(appB, "dup1"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := writeAs(db, func(s core.ChargeStore) error { return s.InsertCharge(ctx, tc.c, 0) })
			if got := store.IsUniqueViolation(err); got != tc.unique || (!tc.unique && err != nil) {
				t.Fatalf("insert: err = %v, want unique violation %v", err, tc.unique)
			}
		})
	}
}

// dueIDs returns what fn (a Due… query) finds at now.
func dueIDs(t *testing.T, db *store.DB, fn func(tx *store.Tx) ([]string, error)) []string {
	t.Helper()
	var ids []string
	if err := db.Read(ctx, func(tx *store.Tx) (err error) { ids, err = fn(tx); return }); err != nil {
		t.Fatal(err)
	}
	return ids
}

// claimOnce runs one claim in its own write transaction.
func claimOnce(t *testing.T, db *store.DB, claim func(tx *store.Tx) (bool, error)) bool {
	t.Helper()
	var ok bool
	if err := db.Write(ctx, func(tx *store.Tx) (err error) { ok, err = claim(tx); return }); err != nil {
		t.Fatal(err)
	}
	return ok
}

func chargeClaims(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	c1, c2, settled := charge(app, "d1"), charge(app, "d2"), charge(app, "d3", paid(1700000100))
	insertCharges(t, db, 100, c1, settled)
	insertCharges(t, db, 200, c2)
	due := func(now int64, limit int) []string {
		return dueIDs(t, db, func(tx *store.Tx) ([]string, error) {
			var s core.ChargeStore = tx
			return s.DueCharges(ctx, now, limit)
		})
	}
	claim := func(id string, now, next int64) bool {
		return claimOnce(t, db, func(tx *store.Tx) (bool, error) {
			var s core.ChargeStore = tx
			return s.ClaimCharge(ctx, id, now, next)
		})
	}
	schedule := func(id string, at int64) bool {
		mustWrite(t, db, func(s core.ChargeStore) error { return s.ScheduleCheck(ctx, id, at) })
		return true
	}
	steps := []struct {
		name string
		do   func() any
		want any
	}{
		{"DueAt150", func() any { return due(150, 10) }, []string{c1.ID}},
		{"DueAt200InOrder", func() any { return due(200, 10) }, []string{c1.ID, c2.ID}},
		{"Limit", func() any { return due(200, 1) }, []string{c1.ID}},
		{"Claim", func() any { return claim(c1.ID, 150, 300) }, true},
		{"ClaimAgainSameWindow", func() any { return claim(c1.ID, 150, 300) }, false},
		{"NotDueAfterClaim", func() any { return due(150, 10) }, []string(nil)},
		{"NotDueYet", func() any { return claim(c2.ID, 150, 300) }, false},
		{"PaidNeverClaimed", func() any { return claim(settled.ID, 150, 300) }, false},
		{"DueAgainAtNext", func() any { return due(300, 10) }, []string{c2.ID, c1.ID}},
		{"ScheduleEarlier", func() any { return schedule(c1.ID, 120) }, true},
		{"DueAtScheduled", func() any { return due(130, 10) }, []string{c1.ID}},
		{"SchedulePaidIgnored", func() any { return schedule(settled.ID, 0) }, true},
		{"PaidStillNotDue", func() any { return due(130, 10) }, []string{c1.ID}},
	}
	for _, s := range steps {
		if got := s.do(); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
		}
	}
}

func chargeClaimRaces(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	pending := charge(app, "race-1")
	doubt := charge(app, "race-2")
	hold := charge(app, "race-3", func(c *polypay.Charge) { c.Status, c.AuthOnly, c.HoldExpire = polypay.ChargeAuthorized, true, 100 })
	insertCharges(t, db, 100, pending, doubt, hold)
	mustWrite(t, db, func(s core.ChargeStore) error { return s.SetDoubtCheck(ctx, doubt.ID, 100) })
	tests := []struct {
		name  string
		claim func(s core.ChargeStore) (bool, error)
	}{
		{"ClaimCharge", func(s core.ChargeStore) (bool, error) { return s.ClaimCharge(ctx, pending.ID, 150, 300) }},
		{"ClaimDoubt", func(s core.ChargeStore) (bool, error) { return s.ClaimDoubt(ctx, doubt.ID, 150, 300) }},
		{"ClaimHold", func(s core.ChargeStore) (bool, error) { return s.ClaimHold(ctx, hold.ID, 150, 300) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := race(t, db, 20, func(tx *store.Tx) (bool, error) { return tc.claim(tx) }); got != 1 {
				t.Fatalf("%d of 20 concurrent claimers won, want 1", got)
			}
		})
	}
}

func chargeDoubts(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	c, other := charge(app, "doubt-1"), charge(app, "doubt-2")
	insertCharges(t, db, 0, c, other)
	due := func(now int64) []string {
		return dueIDs(t, db, func(tx *store.Tx) ([]string, error) {
			var s core.ChargeStore = tx
			return s.DueDoubts(ctx, now, 10)
		})
	}
	claim := func(now, next int64) bool {
		return claimOnce(t, db, func(tx *store.Tx) (bool, error) {
			var s core.ChargeStore = tx
			return s.ClaimDoubt(ctx, c.ID, now, next)
		})
	}
	set := func(at int64) any {
		mustWrite(t, db, func(s core.ChargeStore) error { return s.SetDoubtCheck(ctx, c.ID, at) })
		return nil
	}
	steps := []struct {
		name string
		do   func() any
		want any
	}{
		{"NoneInDoubt", func() any { return due(1 << 40) }, []string(nil)},
		{"Set", func() any { return set(100) }, nil},
		{"NotDueBefore", func() any { return due(99) }, []string(nil)},
		{"Due", func() any { return due(100) }, []string{c.ID}},
		{"Claim", func() any { return claim(100, 500) }, true},
		{"ClaimAgainSameWindow", func() any { return claim(100, 500) }, false},
		{"NotDueAfterClaim", func() any { return due(100) }, []string(nil)},
		{"DueAtNext", func() any { return due(500) }, []string{c.ID}},
		{"Clear", func() any { return set(0) }, nil},
		{"ClearedNeverDue", func() any { return due(1 << 40) }, []string(nil)},
		{"ClearedNeverClaimed", func() any { return claim(1<<40, 1<<41) }, false},
	}
	for _, s := range steps {
		if got := s.do(); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
		}
	}
}

func chargeHolds(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	hold := charge(app, "hold-1", func(c *polypay.Charge) { c.Status, c.AuthOnly, c.HoldExpire = polypay.ChargeAuthorized, true, 100 })
	notHeld := charge(app, "hold-2", func(c *polypay.Charge) { c.HoldExpire = 50 }) // pending: nothing to void
	insertCharges(t, db, 1<<40, hold, notHeld)
	due := func(now int64) []string {
		return dueIDs(t, db, func(tx *store.Tx) ([]string, error) {
			var s core.ChargeStore = tx
			return s.ExpiredHolds(ctx, now, 10)
		})
	}
	claim := func(id string, now, next int64) bool {
		return claimOnce(t, db, func(tx *store.Tx) (bool, error) {
			var s core.ChargeStore = tx
			return s.ClaimHold(ctx, id, now, next)
		})
	}
	steps := []struct {
		name string
		do   func() any
		want any
	}{
		{"NotExpiredBefore", func() any { return due(99) }, []string(nil)},
		{"Expired", func() any { return due(100) }, []string{hold.ID}},
		{"Claim", func() any { return claim(hold.ID, 100, 200) }, true},
		{"ClaimAgainSameWindow", func() any { return claim(hold.ID, 100, 200) }, false},
		{"NotExpiredAfterClaim", func() any { return due(150) }, []string(nil)},
		{"ExpiredAtNext", func() any { return due(200) }, []string{hold.ID}},
		{"PendingNeverClaimed", func() any { return claim(notHeld.ID, 100, 200) }, false},
	}
	for _, s := range steps {
		if got := s.do(); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
		}
	}
}

// listCharges lists through ChargeStore and returns the ids.
func listCharges(t *testing.T, db *store.DB, f store.ChargeFilter) ([]string, bool) {
	t.Helper()
	var out []string
	var more bool
	mustRead(t, db, func(s core.ChargeStore) error {
		cs, m, err := s.ListCharges(ctx, f)
		for _, c := range cs {
			out = append(out, c.ID)
		}
		more = m
		return err
	})
	return out, more
}

// chargeListPages: cursor pages read newest first in both directions, and
// say whether more lie beyond.
func chargeListPages(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	var ids []string // oldest first
	for i := range 25 {
		c := charge(app, fmt.Sprintf("p%02d", i))
		insertCharges(t, db, 0, c)
		ids = append(ids, c.ID)
	}
	insertCharges(t, db, 0, charge(newApp(t, db), "p00"))
	tests := []struct {
		name     string
		f        store.ChargeFilter
		from, to int // expected ids[from] down to ids[to]
		more     bool
	}{
		{"FirstPage", store.ChargeFilter{Limit: 10}, 24, 15, true},
		{"StartingAfter", store.ChargeFilter{Limit: 10, StartingAfter: ids[15]}, 14, 5, true},
		{"LastPage", store.ChargeFilter{Limit: 10, StartingAfter: ids[5]}, 4, 0, false},
		{"EndingBefore", store.ChargeFilter{Limit: 10, EndingBefore: ids[4]}, 14, 5, true},
		{"EndingBeforeTop", store.ChargeFilter{Limit: 10, EndingBefore: ids[20]}, 24, 21, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.AppID = app
			got, more := listCharges(t, db, tc.f)
			var want []string
			for i := tc.from; i >= tc.to; i-- {
				want = append(want, ids[i])
			}
			if !slices.Equal(got, want) || more != tc.more {
				t.Fatalf("got %v more=%v, want %v more=%v", got, more, want, tc.more)
			}
		})
	}
}

func chargeListFilters(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	created := func(at int64) func(*polypay.Charge) { return func(c *polypay.Charge) { c.Created = at } }
	wx := func(c *polypay.Charge) { c.Channel = "wx_pub" }
	refunded := func(c *polypay.Charge) { c.Refunded = true }
	reversed := func(c *polypay.Charge) { c.Status = polypay.ChargeReversed }
	c1 := charge(app, "f1", created(100))
	c2 := charge(app, "f2", created(200), wx, paid(210))
	c3 := charge(app, "f3", created(300), paid(310), refunded)
	c4 := charge(app, "f4", created(400), wx, paid(410), reversed)
	c5 := charge(app, "f5", created(250), live)
	insertCharges(t, db, 0, c1, c2, c3, c4, c5, charge(newApp(t, db), "f1", created(100)))
	yes, no := true, false
	at := func(v int64) *int64 { return &v }
	tests := []struct {
		name string
		f    store.ChargeFilter
		want []*polypay.Charge // any order: the list is newest id first
	}{
		{"All", store.ChargeFilter{}, []*polypay.Charge{c1, c2, c3, c4}},
		{"Live", store.ChargeFilter{Live: true}, []*polypay.Charge{c5}},
		{"Channel", store.ChargeFilter{Channel: "alipay_qr"}, []*polypay.Charge{c1, c3}},
		{"Paid", store.ChargeFilter{Paid: &yes}, []*polypay.Charge{c2, c3, c4}},
		{"Unpaid", store.ChargeFilter{Paid: &no}, []*polypay.Charge{c1}},
		{"Refunded", store.ChargeFilter{Refunded: &yes}, []*polypay.Charge{c3}},
		{"NotRefunded", store.ChargeFilter{Refunded: &no}, []*polypay.Charge{c1, c2, c4}},
		{"Reversed", store.ChargeFilter{Reversed: &yes}, []*polypay.Charge{c4}},
		{"NotReversed", store.ChargeFilter{Reversed: &no}, []*polypay.Charge{c1, c2, c3}},
		{"CreatedGT", store.ChargeFilter{CreatedGT: at(200)}, []*polypay.Charge{c3, c4}},
		{"CreatedGTE", store.ChargeFilter{CreatedGTE: at(200)}, []*polypay.Charge{c2, c3, c4}},
		{"CreatedLT", store.ChargeFilter{CreatedLT: at(200)}, []*polypay.Charge{c1}},
		{"CreatedLTE", store.ChargeFilter{CreatedLTE: at(200)}, []*polypay.Charge{c1, c2}},
		{"Combined", store.ChargeFilter{Channel: "wx_pub", Reversed: &no, CreatedLT: at(400)}, []*polypay.Charge{c2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.AppID, tc.f.Limit = app, 10
			got, _ := listCharges(t, db, tc.f)
			var want []string
			for _, c := range tc.want {
				want = append(want, c.ID)
			}
			sort.Sort(sort.Reverse(sort.StringSlice(want)))
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

// chargeClock: every row a transaction writes carries one instant, and
// the next transaction reads the clock again.
func chargeClock(t *testing.T, db *store.DB) {
	var tick atomic.Int64
	tick.Store(1_800_000_000)
	db.Now = func() time.Time { return time.Unix(tick.Add(1), 0) }
	var a, b, c int64
	mustWrite(t, db, func(s core.ChargeStore) error {
		a = s.Now()
		db.Now() // the clock moves on meanwhile
		b = s.Now()
		return nil
	})
	mustWrite(t, db, func(s core.ChargeStore) error { c = s.Now(); return nil })
	if a != b || c <= a {
		t.Fatalf("Now: %d then %d in one transaction, %d in the next; want equal, then later", a, b, c)
	}
}

// paidCharge stores a paid charge with its ledger posting, as core does.
func paidCharge(t *testing.T, db *store.DB, c *polypay.Charge) *polypay.Charge {
	t.Helper()
	paid(1700000100)(c)
	mustWrite(t, db, func(s interface {
		core.ChargeStore
		core.LedgerStore
	}) error {
		if err := s.InsertCharge(ctx, c, 0); err != nil {
			return err
		}
		return s.Post(ctx, ledger.ChargePaid(c))
	})
	return c
}

func refund(c *polypay.Charge, orderNo string, amount int64, mods ...func(*polypay.Refund)) *polypay.Refund {
	r := &polypay.Refund{ID: polypay.NewID("re_"), AppID: c.AppID, Livemode: c.Livemode, ChargeID: c.ID, ChargeOrderNo: c.OrderNo,
		OrderNo: orderNo, Amount: amount, Currency: c.Currency, Status: polypay.RefundPending, Created: 1700000500,
		Metadata: []byte("{}"), Extra: []byte("{}")}
	for _, m := range mods {
		m(r)
	}
	return r
}

func insertRefunds(t *testing.T, db *store.DB, rs ...*polypay.Refund) {
	t.Helper()
	mustWrite(t, db, func(s core.RefundStore) error {
		for _, r := range rs {
			if err := s.InsertRefund(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestConformanceRefundStore(t *testing.T) {
	runContracts(t, []contract{
		{"ReserveNeverExceedsUnderConcurrency", refundReserveConcurrent},
		{"ReserveReleaseReserved", refundReserveRelease},
		{"RoundTrip", refundRoundTrip},
		{"TenantIsolation", refundIsolation},
		{"OrderNoUnique", refundOrderNoUnique},
		{"ListPages", refundListPages},
		{"DueRefundsClaimedOnce", refundClaims},
	})
}

func refundReserveConcurrent(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	unpaid := charge(app, "r0", func(c *polypay.Charge) { c.Amount = 100 })
	insertCharges(t, db, 0, unpaid)
	var ok bool
	mustWrite(t, db, func(s core.RefundStore) (err error) { ok, err = s.ReserveRefund(ctx, unpaid.ID, 1); return })
	if ok {
		t.Fatal("reserved a refund on an unpaid charge")
	}
	c := paidCharge(t, db, charge(app, "r1", func(c *polypay.Charge) { c.Amount = 100 }))
	won := race(t, db, 50, func(tx *store.Tx) (bool, error) {
		var s core.RefundStore = tx
		return s.ReserveRefund(ctx, c.ID, 7)
	})
	if want := 100 / 7; won != want {
		t.Fatalf("reservations won = %d, want %d", won, want)
	}
	var reserved int64
	mustRead(t, db, func(s core.RefundStore) (err error) { reserved, err = s.Reserved(ctx, c.ID); return })
	if reserved != 98 {
		t.Fatalf("reserved = %d, want 98", reserved)
	}
}

func refundReserveRelease(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	c := paidCharge(t, db, charge(app, "rr", func(c *polypay.Charge) { c.Amount = 100 }))
	// A pre-authorization captured for less: refunds are bounded by the capture.
	held := charge(app, "rh", func(c *polypay.Charge) { c.Amount = 100 })
	paidCharge(t, db, held)
	mustWrite(t, db, func(s core.ChargeStore) error { held.AmountCaptured = 80; return s.UpdateCharge(ctx, held) })
	reserve := func(id string, n int64) any {
		var ok bool
		mustWrite(t, db, func(s core.RefundStore) (err error) { ok, err = s.ReserveRefund(ctx, id, n); return })
		return ok
	}
	release := func(n int64) any {
		mustWrite(t, db, func(s core.RefundStore) error { return s.ReleaseRefund(ctx, c.ID, n) })
		return nil
	}
	reserved := func() any {
		var n int64
		mustRead(t, db, func(s core.RefundStore) (err error) { n, err = s.Reserved(ctx, c.ID); return })
		return n
	}
	steps := []struct {
		name string
		do   func() any
		want any
	}{
		{"NothingReserved", reserved, int64(0)},
		{"Reserve60", func() any { return reserve(c.ID, 60) }, true},
		{"Reserve50Exceeds", func() any { return reserve(c.ID, 50) }, false},
		{"Reserved60", reserved, int64(60)},
		{"Release60", func() any { return release(60) }, nil},
		{"ReservedNone", reserved, int64(0)},
		{"ReserveAll", func() any { return reserve(c.ID, 100) }, true},
		{"ReserveOneMore", func() any { return reserve(c.ID, 1) }, false},
		{"CaptureBounds", func() any { return reserve(held.ID, 81) }, false},
		{"CaptureFits", func() any { return reserve(held.ID, 80) }, true},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want {
			t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
		}
	}
}

func refundRoundTrip(t *testing.T, db *store.DB) {
	c := paidCharge(t, db, charge(newApp(t, db), "rt", live))
	r := refund(c, "rt-r1", 200, func(r *polypay.Refund) {
		r.TimeSucceed, r.Description, r.FailureCode, r.FailureMsg = 1700000600, "why", "fc", "fm"
		r.Metadata, r.Extra, r.TransactionNo, r.FundingSource = []byte(`{"m":1}`), []byte(`{"e":1}`), "rtx", "unsettled_funds"
	})
	allFieldsSet(t, r)
	insertRefunds(t, db, r)
	get := func() (got, byNo *polypay.Refund, exists bool) {
		mustWrite(t, db, func(s core.RefundStore) (err error) {
			if got, err = s.GetRefund(ctx, r.AppID, true, c.ID, r.ID); err != nil {
				return err
			}
			if byNo, err = s.RefundByOrderNo(ctx, r.OrderNo); err != nil {
				return err
			}
			exists, err = s.RefundExists(ctx, c.ID, r.ID)
			return err
		})
		return
	}
	got, byNo, exists := get()
	if !reflect.DeepEqual(got, r) || !reflect.DeepEqual(byNo, r) || !exists {
		t.Fatalf("GetRefund %+v\nRefundByOrderNo %+v\nRefundExists %v\nwant %+v", got, byNo, exists, r)
	}
	want := *r
	want.Status, want.TimeSucceed, want.FailureCode, want.FailureMsg = polypay.RefundFailed, 1700000700, "fc2", "fm2"
	want.TransactionNo, want.Extra = "rtx2", []byte(`{"e":2}`)
	upd := want
	upd.Amount, upd.OrderNo, upd.Metadata = 1, "other", []byte(`{"m":2}`) // not the update's to change
	mustWrite(t, db, func(s core.RefundStore) error { return s.UpdateRefund(ctx, &upd) })
	if got, _, _ := get(); !reflect.DeepEqual(got, &want) {
		t.Fatalf("after UpdateRefund:\n got %+v\nwant %+v", got, &want)
	}
}

func refundIsolation(t *testing.T, db *store.DB) {
	appA, appB := newApp(t, db), newApp(t, db)
	c := paidCharge(t, db, charge(appA, "ri"))
	other := paidCharge(t, db, charge(appA, "ri2"))
	r := refund(c, "ri-r1", 100)
	insertRefunds(t, db, r)
	tests := []struct {
		name           string
		app            string
		live           bool
		chargeID, id   string
		wantFound      bool
		wantExistsOnID bool
	}{
		{"Own", appA, false, c.ID, r.ID, true, true},
		{"OtherApp", appB, false, c.ID, r.ID, false, true},
		{"OtherMode", appA, true, c.ID, r.ID, false, true},
		{"OtherCharge", appA, false, other.ID, r.ID, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var getErr error
			var exists bool
			mustRead(t, db, func(s core.RefundStore) (err error) {
				_, getErr = s.GetRefund(ctx, tc.app, tc.live, tc.chargeID, tc.id)
				exists, err = s.RefundExists(ctx, tc.chargeID, tc.id)
				return err
			})
			if tc.wantFound && getErr != nil {
				t.Fatalf("GetRefund: %v", getErr)
			}
			if !tc.wantFound {
				wantNotFound(t, "GetRefund", getErr)
			}
			if exists != tc.wantExistsOnID {
				t.Errorf("RefundExists = %v, want %v", exists, tc.wantExistsOnID)
			}
		})
	}
	var err error
	mustRead(t, db, func(s core.RefundStore) error { _, err = s.RefundByOrderNo(ctx, "ri-missing"); return nil })
	wantNotFound(t, "RefundByOrderNo of an unknown number", err)
}

// refundOrderNoUnique: the channel knows a refund by its order_no alone.
func refundOrderNoUnique(t *testing.T, db *store.DB) {
	c := paidCharge(t, db, charge(newApp(t, db), "ru"))
	d := paidCharge(t, db, charge(newApp(t, db), "ru"))
	insertRefunds(t, db, refund(c, "ru-1", 10))
	err := writeAs(db, func(s core.RefundStore) error { return s.InsertRefund(ctx, refund(d, "ru-1", 10)) })
	if !store.IsUniqueViolation(err) {
		t.Fatalf("second refund with one order_no: err = %v, want a unique violation", err)
	}
}

func refundListPages(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	c := paidCharge(t, db, charge(app, "rl"))
	other := paidCharge(t, db, charge(app, "rl2"))
	var ids []string // oldest first
	for i := range 7 {
		r := refund(c, fmt.Sprintf("rl-%d", i), 1)
		insertRefunds(t, db, r)
		ids = append(ids, r.ID)
	}
	insertRefunds(t, db, refund(other, "rl-other", 1))
	tests := []struct {
		name          string
		after, before string
		limit         int
		want          []string
		more          bool
	}{
		{"FirstPage", "", "", 3, []string{ids[6], ids[5], ids[4]}, true},
		{"StartingAfter", ids[4], "", 3, []string{ids[3], ids[2], ids[1]}, true},
		{"LastPage", ids[1], "", 3, []string{ids[0]}, false},
		{"EndingBefore", "", ids[1], 3, []string{ids[4], ids[3], ids[2]}, true},
		{"EndingBeforeTop", "", ids[4], 3, []string{ids[6], ids[5]}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var more bool
			mustRead(t, db, func(s core.RefundStore) error {
				rs, m, err := s.ListRefunds(ctx, c.ID, tc.after, tc.before, tc.limit)
				for _, r := range rs {
					got = append(got, r.ID)
				}
				more = m
				return err
			})
			if !slices.Equal(got, tc.want) || more != tc.more {
				t.Fatalf("got %v more=%v, want %v more=%v", got, more, tc.want, tc.more)
			}
		})
	}
}

func refundClaims(t *testing.T, db *store.DB) {
	c := paidCharge(t, db, charge(newApp(t, db), "rc"))
	pending, racy := refund(c, "rc-1", 10), refund(c, "rc-3", 10)
	done := refund(c, "rc-2", 10, func(r *polypay.Refund) { r.Status = polypay.RefundSucceeded })
	insertRefunds(t, db, pending, done, racy)
	const later = 1 << 40 // the first check of a refund is some time after it was created
	due := func(now int64) []string {
		return dueIDs(t, db, func(tx *store.Tx) ([]string, error) {
			var s core.RefundStore = tx
			return s.DueRefunds(ctx, now, 10)
		})
	}
	claim := func(no string, now, next int64) bool {
		return claimOnce(t, db, func(tx *store.Tx) (bool, error) {
			var s core.RefundStore = tx
			return s.ClaimRefund(ctx, no, now, next)
		})
	}
	steps := []struct {
		name string
		do   func() any
		want any
	}{
		{"NotDueAtCreation", func() any { return due(pending.Created - 1) }, []string(nil)},
		{"DueLater", func() any { return due(later) }, []string{"rc-1", "rc-3"}},
		{"Claim", func() any { return claim("rc-1", later, later+60) }, true},
		{"ClaimAgainSameWindow", func() any { return claim("rc-1", later, later+60) }, false},
		{"SucceededNeverClaimed", func() any { return claim("rc-2", later, later+60) }, false},
		{"NotDueAfterClaim", func() any { return due(later) }, []string{"rc-3"}},
	}
	for _, s := range steps {
		if got := s.do(); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
		}
	}
	won := race(t, db, 20, func(tx *store.Tx) (bool, error) {
		var s core.RefundStore = tx
		return s.ClaimRefund(ctx, "rc-3", later, later+60)
	})
	if won != 1 {
		t.Fatalf("%d of 20 concurrent claimers won, want 1", won)
	}
}

func TestConformanceEventStore(t *testing.T) {
	runContracts(t, []contract{
		{"OneDeliveryPerEndpointOfAppAndMode", eventOutbox},
		{"EventAndOutboxCommitTogether", eventAtomic},
		{"EventsAbout", eventsAbout},
		{"TrimRejectedNotifications", eventTrim},
	})
}

// endpoint registers a webhook URL (not part of EventStore: the API's).
func endpoint(t *testing.T, db *store.DB, app string, live bool) string {
	t.Helper()
	w := &polypay.WebhookEndpoint{ID: polypay.NewID("we_"), AppID: app, Livemode: live, URL: "https://m.example/hook", Created: 1}
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertWebhookEndpoint(ctx, w) }); err != nil {
		t.Fatal(err)
	}
	return w.ID
}

// queued returns the endpoints an event's deliveries go to, pending ones
// only (inspection through *store.Tx).
func queued(t *testing.T, db *store.DB, eventID string) []string {
	t.Helper()
	var eps []string
	if err := db.Read(ctx, func(tx *store.Tx) error {
		ds, err := tx.DeliveriesForEvent(ctx, eventID)
		for _, d := range ds {
			if d.Status == "pending" {
				eps = append(eps, d.EndpointID)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(eps)
	return eps
}

func event(app string, live bool, object string) *polypay.Event {
	return &polypay.Event{ID: polypay.NewID("evt_"), AppID: app, Livemode: live, Type: "charge.succeeded", Created: 1700000000,
		Object: []byte(object), RequestID: "iar_1"}
}

func eventOutbox(t *testing.T, db *store.DB) {
	appA, appB, appC := newApp(t, db), newApp(t, db), newApp(t, db)
	a1, a2 := endpoint(t, db, appA, false), endpoint(t, db, appA, false)
	gone := endpoint(t, db, appA, false)
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.DeleteWebhookEndpoint(ctx, appA, false, gone) }); err != nil {
		t.Fatal(err)
	}
	aLive, b1 := endpoint(t, db, appA, true), endpoint(t, db, appB, false)
	tests := []struct {
		name string
		app  string
		live bool
		want []string
	}{
		{"TestMode", appA, false, []string{a1, a2}},
		{"LiveMode", appA, true, []string{aLive}},
		{"OtherApp", appB, false, []string{b1}},
		{"NoEndpoints", appC, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := event(tc.app, tc.live, `{"id":"ch_1"}`)
			var n int
			mustWrite(t, db, func(s core.EventStore) (err error) { n, err = s.InsertEvent(ctx, e, 1700000000000); return })
			got := queued(t, db, e.ID)
			if n != len(tc.want) || !slices.Equal(got, tc.want) {
				t.Fatalf("InsertEvent queued %d, to %v; want %d, to %v", n, got, len(tc.want), tc.want)
			}
		})
	}
}

func eventAtomic(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	ep := endpoint(t, db, app, false)
	boom := errors.New("boom")
	tests := []struct {
		name    string
		fail    error
		want    []string
		wantErr error
	}{
		{"RolledBack", boom, nil, boom},
		{"Committed", nil, []string{ep}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := event(app, false, `{"id":"ch_2"}`)
			err := writeAs(db, func(s core.EventStore) error {
				if _, err := s.InsertEvent(ctx, e, 1700000000000); err != nil {
					return err
				}
				return tc.fail
			})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("write: err = %v, want %v", err, tc.wantErr)
			}
			var evs []*polypay.Event
			mustRead(t, db, func(s core.EventStore) (err error) { evs, err = s.EventsAbout(ctx, app, false, "ch_2"); return })
			stored := slices.ContainsFunc(evs, func(x *polypay.Event) bool { return x.ID == e.ID })
			if got := queued(t, db, e.ID); stored != (tc.fail == nil) || !slices.Equal(got, tc.want) {
				t.Fatalf("event stored %v, deliveries %v; want stored %v, deliveries %v", stored, got, tc.fail == nil, tc.want)
			}
		})
	}
}

func eventsAbout(t *testing.T, db *store.DB) {
	appA, appB := newApp(t, db), newApp(t, db)
	charge := event(appA, false, `{"id":"ch_x1","object":"charge"}`)
	refund := event(appA, false, `{"id":"re_1","object":"refund","charge":"ch_x1"}`)
	wildcard := event(appA, false, `{"id":"chAx1"}`) // "_" is a LIKE wildcard
	prefix := event(appA, false, `{"id":"ch_x10"}`)
	liveMode := event(appA, true, `{"id":"ch_x1"}`)
	otherApp := event(appB, false, `{"id":"ch_x1"}`)
	mustWrite(t, db, func(s core.EventStore) error {
		for _, e := range []*polypay.Event{charge, refund, wildcard, prefix, liveMode, otherApp} {
			if _, err := s.InsertEvent(ctx, e, 0); err != nil {
				return err
			}
		}
		return nil
	})
	tests := []struct {
		name string
		app  string
		live bool
		id   string
		want []*polypay.Event // oldest first
	}{
		{"ChargeAndItsRefund", appA, false, "ch_x1", []*polypay.Event{charge, refund}},
		{"Refund", appA, false, "re_1", []*polypay.Event{refund}},
		{"LiveMode", appA, true, "ch_x1", []*polypay.Event{liveMode}},
		{"OtherApp", appB, false, "ch_x1", []*polypay.Event{otherApp}},
		{"Unknown", appA, false, "ch_none", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []*polypay.Event
			mustRead(t, db, func(s core.EventStore) (err error) { got, err = s.EventsAbout(ctx, tc.app, tc.live, tc.id); return })
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", eventIDs(got), eventIDs(tc.want))
			}
		})
	}
}

func eventIDs(es []*polypay.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// eventTrim: rejected notifications are kept for the retention period and
// at most RejectedPerApp per app (the newest); the records of applied
// notifications are the audit trail and stay.
func eventTrim(t *testing.T, db *store.DB) {
	appA, appB := newApp(t, db), newApp(t, db)
	const day = int64(86400)
	base := int64(1_800_000_000)
	record := func(app, outcome string, at int64, n int) {
		t.Helper()
		fixedClock(db, at)
		for i := range n {
			mustWrite(t, db, func(s core.EventStore) error {
				return s.RecordNotification(ctx, store.NotificationRecord{Channel: "alipay", AppID: app, Outcome: outcome, ObjectID: fmt.Sprint(i)})
			})
		}
	}
	record(appA, "rejected_signature", base-40*day, 3) // past retention
	record(appA, "applied", base-40*day, 2)            // audit trail: kept
	record(appA, "rejected_malformed", base-2*day, 4)
	record(appA, "rejected_foreign", base-day, 4)
	record(appB, "rejected_signature", base-day, 5)
	fixedClock(db, base)
	var n int64
	mustWrite(t, db, func(s core.EventStore) (err error) {
		n, err = s.Trim(ctx, store.TrimPolicy{RejectedRetention: 30 * day, RejectedPerApp: 5})
		return
	})
	if want := int64(3 + 3); n != want {
		t.Errorf("Trim deleted %d rows, want %d", n, want)
	}
	count := func(app string) map[string]int {
		var outs []string
		if err := db.Read(ctx, func(tx *store.Tx) (err error) { outs, err = tx.NotificationOutcomes(ctx, app); return }); err != nil {
			t.Fatal(err)
		}
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
}

func TestConformanceLedgerStore(t *testing.T) {
	runContracts(t, []contract{
		{"PostRefusesUnbalanced", ledgerUnbalanced},
		{"LedgerSumSums", ledgerSums},
		{"RolledBackPostLeavesNothing", ledgerRollback},
		{"CheckPassesAfterPostings", ledgerCheck},
	})
}

func ledgerSum(t *testing.T, db *store.DB, refType, refID, account string) int64 {
	t.Helper()
	var n int64
	mustRead(t, db, func(s core.LedgerStore) (err error) { n, err = s.LedgerSum(ctx, refType, refID, account); return })
	return n
}

func ledgerUnbalanced(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	txn := func(lines ...int64) ledger.Txn {
		t := ledger.Txn{AppID: app, Currency: "cny", RefType: ledger.RefCharge, RefID: "ch_unbalanced"}
		for _, a := range lines {
			t.Lines = append(t.Lines, polypay.Posting{Account: ledger.AccountMerchant, Amount: a})
		}
		return t
	}
	tests := []struct {
		name string
		txn  ledger.Txn
	}{
		{"SumNotZero", txn(100, -99)},
		{"OneLine", txn(0)},
		{"NoLines", txn()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var postErr error
			// The transaction commits: a refused post must have written nothing.
			mustWrite(t, db, func(s core.LedgerStore) error { postErr = s.Post(ctx, tc.txn); return nil })
			if postErr == nil {
				t.Fatal("Post accepted an unbalanced transaction")
			}
			if n := ledgerSum(t, db, ledger.RefCharge, "ch_unbalanced", ledger.AccountMerchant); n != 0 {
				t.Fatalf("a refused post left entries summing to %d", n)
			}
		})
	}
}

func ledgerSums(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	c := charge(app, "ls", paid(1700000100))
	mustWrite(t, db, func(s core.LedgerStore) error {
		if err := s.Post(ctx, ledger.ChargePaid(c)); err != nil {
			return err
		}
		back := *c
		back.AmountRefunded = 200
		return s.Post(ctx, ledger.Reversed(&back)) // another ref type of the same id
	})
	mustWrite(t, db, func(s core.LedgerStore) error { return s.Post(ctx, ledger.ChargePaid(c)) }) // entries add up
	tests := []struct {
		name             string
		refType, account string
		refID            string
		want             int64
	}{
		{"Channel", ledger.RefCharge, ledger.ChannelAccount("alipay_qr"), c.ID, 1000},
		{"Merchant", ledger.RefCharge, ledger.AccountMerchant, c.ID, -1000},
		{"OtherRefType", ledger.RefReversal, ledger.AccountMerchant, c.ID, 300},
		{"OtherAccount", ledger.RefCharge, ledger.AccountFees, c.ID, 0},
		{"OtherRef", ledger.RefCharge, ledger.AccountMerchant, "ch_other", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ledgerSum(t, db, tc.refType, tc.refID, tc.account); got != tc.want {
				t.Fatalf("LedgerSum = %d, want %d", got, tc.want)
			}
		})
	}
}

func ledgerRollback(t *testing.T, db *store.DB) {
	c := charge(newApp(t, db), "lr", paid(1700000100))
	boom := errors.New("boom")
	err := writeAs(db, func(s core.LedgerStore) error {
		if err := s.Post(ctx, ledger.ChargePaid(c)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write: err = %v, want boom", err)
	}
	if n := ledgerSum(t, db, ledger.RefCharge, c.ID, ledger.AccountMerchant); n != 0 {
		t.Fatalf("a rolled back post left entries summing to %d", n)
	}
	var counts map[string]int
	if err := db.ReadBooks(ctx, func(b ledger.Books) (err error) { counts, err = b.LedgerRefCounts(ctx); return }); err != nil {
		t.Fatal(err)
	}
	if len(counts) != 0 {
		t.Fatalf("entries after rollback: %v", counts)
	}
}

// ledgerCheck: postings made through LedgerStore satisfy the ledger's
// check, read back through ledger.Books on this backend; a paid charge
// without its posting does not (the check sees this backend's data).
func ledgerCheck(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	c := paidCharge(t, db, charge(app, "lc"))
	r := refund(c, "lc-r", 200, func(r *polypay.Refund) { r.Status, r.TimeSucceed = polypay.RefundSucceeded, 1700000600 })
	mustWrite(t, db, func(s interface {
		core.ChargeStore
		core.RefundStore
		core.LedgerStore
	}) error {
		if ok, err := s.ReserveRefund(ctx, c.ID, r.Amount); !ok || err != nil {
			return fmt.Errorf("reserve: %v %v", ok, err)
		}
		if err := s.InsertRefund(ctx, r); err != nil {
			return err
		}
		c.AmountRefunded, c.Refunded = r.Amount, true
		if err := s.UpdateCharge(ctx, c); err != nil {
			return err
		}
		return s.Post(ctx, ledger.Refunded(c, r))
	})
	sum, probs, err := ledger.Check(ctx, db)
	if err != nil || len(probs) != 0 {
		t.Fatalf("check: %v, problems %v", err, probs)
	}
	if sum == nil {
		t.Fatal("check returned no summary")
	}
	insertCharges(t, db, 0, charge(app, "lc-unposted", paid(1700000100)))
	if _, probs, err := ledger.Check(ctx, db); err != nil || len(probs) == 0 {
		t.Fatalf("check of a paid charge without its posting: err %v, problems %v; want a problem", err, probs)
	}
}

func TestConformanceOrderStore(t *testing.T) {
	runContracts(t, []contract{
		{"RoundTrip", orderRoundTrip},
		{"TenantIsolation", orderIsolation},
		{"OrderChargesAndPaidChannels", orderCharges},
		{"Discounts", orderDiscounts},
	})
}

func fullOrder(app string) *polypay.Order {
	return &polypay.Order{ID: polypay.NewID("or_"), AppID: app, Livemode: true, MerchantOrderNo: "mo-1", Amount: 1000,
		Currency: "cny", Subject: "s", Body: "b", Description: "d", Channels: []byte(`["alipay_qr"]`),
		ReturnURL: "https://m.example/back", Metadata: []byte(`{"m":1}`), Status: polypay.OrderPaid, Created: 1700000000,
		TimePaid: 1700000100, TimeExpire: 1700003600, ChargeID: "ch_1", CashierToken: "tok", ParamsHash: "ph",
		CouponAmount: 50, DiscountID: "dis_1", UID: "u1", Coupon: "cpn_1", ClientIP: "10.0.0.1", Refunded: true}
}

func orderRoundTrip(t *testing.T, db *store.DB) {
	o := fullOrder(newApp(t, db))
	allFieldsSet(t, o)
	mustWrite(t, db, func(s core.OrderStore) error { return s.InsertOrder(ctx, o) })
	get := func() (got, byID, byNo *polypay.Order) {
		mustWrite(t, db, func(s core.OrderStore) (err error) {
			if got, err = s.GetOrder(ctx, o.AppID, true, o.ID); err != nil {
				return err
			}
			if byID, err = s.OrderByID(ctx, o.ID); err != nil {
				return err
			}
			byNo, err = s.OrderByMerchantNo(ctx, o.AppID, true, o.MerchantOrderNo)
			return err
		})
		return
	}
	got, byID, byNo := get()
	if !reflect.DeepEqual(got, o) || !reflect.DeepEqual(byID, o) || !reflect.DeepEqual(byNo, o) {
		t.Fatalf("GetOrder %+v\nOrderByID %+v\nOrderByMerchantNo %+v\nwant %+v", got, byID, byNo, o)
	}
	want := *o
	want.Status, want.TimePaid, want.ChargeID, want.CouponAmount, want.DiscountID = polypay.OrderCanceled, 1700000200, "ch_2", 70, "dis_2"
	want.Amount, want.Subject, want.Refunded, want.TimeExpire, want.Coupon = 900, "s2", false, 1700007200, ""
	upd := want
	upd.MerchantOrderNo, upd.UID, upd.ClientIP = "other", "u9", "10.9.9.9" // not the update's to change
	mustWrite(t, db, func(s core.OrderStore) error { return s.UpdateOrder(ctx, &upd) })
	if got, _, _ := get(); !reflect.DeepEqual(got, &want) {
		t.Fatalf("after UpdateOrder:\n got %+v\nwant %+v", got, &want)
	}
}

func orderIsolation(t *testing.T, db *store.DB) {
	appA, appB := newApp(t, db), newApp(t, db)
	o := fullOrder(appA)
	o.Livemode = false
	mustWrite(t, db, func(s core.OrderStore) error { return s.InsertOrder(ctx, o) })
	tests := []struct {
		name string
		app  string
		live bool
	}{
		{"OtherApp", appB, false},
		{"OtherMode", appA, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var getErr error
			var byNo *polypay.Order
			mustRead(t, db, func(s core.OrderStore) (err error) {
				_, getErr = s.GetOrder(ctx, tc.app, tc.live, o.ID)
				byNo, err = s.OrderByMerchantNo(ctx, tc.app, tc.live, o.MerchantOrderNo)
				return err
			})
			wantNotFound(t, "GetOrder", getErr)
			if byNo != nil {
				t.Errorf("OrderByMerchantNo found %s", byNo.ID)
			}
			// The same merchant order number is another order there.
			other := fullOrder(tc.app)
			other.Livemode = tc.live
			if err := writeAs(db, func(s core.OrderStore) error { return s.InsertOrder(ctx, other) }); err != nil {
				t.Errorf("insert with the same merchant_order_no: %v", err)
			}
		})
	}
	var err error
	mustRead(t, db, func(s core.OrderStore) error { _, err = s.OrderByID(ctx, "or_missing"); return nil })
	wantNotFound(t, "OrderByID of an unknown id", err)
	dup := fullOrder(appA)
	dup.Livemode = false
	err = writeAs(db, func(s core.OrderStore) error { return s.InsertOrder(ctx, dup) })
	if !store.IsUniqueViolation(err) {
		t.Errorf("second order with one merchant_order_no: err = %v, want a unique violation", err)
	}
}

func orderCharges(t *testing.T, db *store.DB) {
	appA, appB := newApp(t, db), newApp(t, db)
	wx := func(c *polypay.Charge) { c.Channel = "wx_pub" }
	c1, c2, c3 := charge(appA, "oc1"), charge(appA, "oc2", wx), charge(appA, "oc3")
	cb := charge(appB, "ocb")
	insertCharges(t, db, 0, c1, c2, c3, cb)
	order := func(app, no, uid string, status polypay.OrderStatus, chargeID string) *polypay.Order {
		o := fullOrder(app)
		o.Livemode, o.MerchantOrderNo, o.UID, o.Status, o.ChargeID = false, no, uid, status, chargeID
		return o
	}
	paidO := order(appA, "o1", "u1", polypay.OrderPaid, c2.ID)
	openO := order(appA, "o2", "u1", polypay.OrderCreated, c3.ID)
	otherApp := order(appB, "o1", "u1", polypay.OrderPaid, cb.ID)
	links := []store.OrderCharge{
		{OrderID: paidO.ID, ChargeID: c2.ID, Channel: "wx_pub", Seq: 2, Created: 20, DiscountID: "dis_1", DiscountAmount: 30},
		{OrderID: paidO.ID, ChargeID: c1.ID, Channel: "alipay_qr", Seq: 1, Created: 10},
		{OrderID: openO.ID, ChargeID: c3.ID, Channel: "alipay_qr", Seq: 1, Created: 30},
		{OrderID: otherApp.ID, ChargeID: cb.ID, Channel: "alipay_qr", Seq: 1, Created: 40},
	}
	mustWrite(t, db, func(s core.OrderStore) error {
		for _, o := range []*polypay.Order{paidO, openO, otherApp} {
			if err := s.InsertOrder(ctx, o); err != nil {
				return err
			}
		}
		for _, l := range links {
			if err := s.InsertOrderCharge(ctx, l); err != nil {
				return err
			}
		}
		return nil
	})
	var ocs []store.OrderCharge
	mustRead(t, db, func(s core.OrderStore) (err error) { ocs, err = s.OrderCharges(ctx, paidO.ID); return })
	if want := []store.OrderCharge{links[1], links[0]}; !reflect.DeepEqual(ocs, want) {
		t.Errorf("OrderCharges = %+v, want %+v (by seq)", ocs, want)
	}
	tests := []struct {
		name string
		app  string
		live bool
		uid  string
		want []string
	}{
		{"PayingChargeOfPaidOrders", appA, false, "u1", []string{"wx_pub"}},
		{"OtherUID", appA, false, "u2", nil},
		{"OtherMode", appA, true, "u1", nil},
		{"OtherApp", appB, false, "u1", []string{"alipay_qr"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			mustRead(t, db, func(s core.OrderStore) (err error) {
				got, err = s.PaidOrderChannels(ctx, tc.app, tc.live, tc.uid)
				return
			})
			if !slices.Equal(got, tc.want) {
				t.Fatalf("PaidOrderChannels = %v, want %v", got, tc.want)
			}
		})
	}
}

func orderDiscounts(t *testing.T, db *store.DB) {
	appA, appB := newApp(t, db), newApp(t, db)
	fixedClock(db, 1_800_000_000)
	rule := func(app string, live bool, created int64) *polypay.Discount {
		return &polypay.Discount{ID: polypay.NewID("dis_"), AppID: app, Livemode: live, Channel: "alipay", Type: "amount_off",
			AmountOff: 100, MinAmount: 1000, Label: []byte(`"off"`), Created: created, FirstPaymentOnly: true}
	}
	d1, d2 := rule(appA, false, 2), rule(appA, false, 1)
	dLive, dB := rule(appA, true, 1), rule(appB, false, 1)
	mustWrite(t, db, func(s core.OrderStore) error {
		for _, d := range []*polypay.Discount{d1, d2, dLive, dB} {
			if err := s.InsertDiscount(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	list := func(app string, live bool) []*polypay.Discount {
		var ds []*polypay.Discount
		mustRead(t, db, func(s core.OrderStore) (err error) { ds, err = s.Discounts(ctx, app, live); return })
		return ds
	}
	if got, want := list(appA, false), []*polypay.Discount{d2, d1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Discounts = %+v, want %+v (oldest first, this app and mode)", got, want)
	}
	del := func(app string, live bool, id string) (*polypay.Discount, error) {
		var d *polypay.Discount
		var delErr error
		mustWrite(t, db, func(s core.OrderStore) error { d, delErr = s.DeleteDiscount(ctx, app, live, id); return nil })
		return d, delErr
	}
	tests := []struct {
		name     string
		app      string
		live     bool
		id       string
		notFound bool
	}{
		{"OtherApp", appB, false, d1.ID, true},
		{"OtherMode", appA, true, d1.ID, true},
		{"Own", appA, false, d1.ID, false},
		{"AlreadyDeleted", appA, false, d1.ID, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := del(tc.app, tc.live, tc.id)
			if tc.notFound {
				wantNotFound(t, "DeleteDiscount", err)
				return
			}
			if err != nil || d == nil || d.ID != d1.ID || d.Deleted == 0 {
				t.Fatalf("DeleteDiscount = %+v, %v; want the rule, marked deleted", d, err)
			}
		})
	}
	if got, want := list(appA, false), []*polypay.Discount{d2}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Discounts after delete = %+v, want %+v", got, want)
	}
}

func TestConformanceAppStore(t *testing.T) {
	runContracts(t, []contract{
		{"AppAndKeys", appRoundTrip},
		{"Settings", appSettings},
		{"ChannelRoutesList", appRoutesList},
		{"ChannelAccounts", appChannelAccounts},
	})
}

func appRoundTrip(t *testing.T, db *store.DB) {
	a := &polypay.App{ID: polypay.NewAppID(), Name: "shop", Created: 1700000000, RequestPublicKey: "-----BEGIN PUBLIC KEY-----"}
	allFieldsSet(t, a, "ErrorLanguage") // SetErrorLanguage's, not InsertApp's
	mustWrite(t, db, func(s core.AppStore) error {
		if err := s.InsertApp(ctx, a); err != nil {
			return err
		}
		return s.InsertAPIKey(ctx, "hash1", a.ID, true, store.KeySecret)
	})
	var got *polypay.App
	var missErr error
	mustRead(t, db, func(s core.AppStore) (err error) {
		_, missErr = s.GetApp(ctx, "app_missing")
		got, err = s.GetApp(ctx, a.ID)
		return err
	})
	if !reflect.DeepEqual(got, a) {
		t.Errorf("GetApp = %+v, want %+v", got, a)
	}
	wantNotFound(t, "GetApp of an unknown id", missErr)
	// The key resolves to its app and mode (through *store.Tx: the API's lookup).
	if err := db.Read(ctx, func(tx *store.Tx) error {
		k, live, kind, err := tx.AppByKeyHash(ctx, "hash1")
		if err == nil && (k.ID != a.ID || !live || kind != store.KeySecret) {
			err = fmt.Errorf("key resolves to %s live=%v kind=%s", k.ID, live, kind)
		}
		return err
	}); err != nil {
		t.Error(err)
	}
	err := writeAs(db, func(s core.AppStore) error { return s.InsertAPIKey(ctx, "hash1", a.ID, false, store.KeyPublishable) })
	if !store.IsUniqueViolation(err) {
		t.Errorf("second key with one hash: err = %v, want a unique violation", err)
	}
}

// appSettings: each kind of per-app setting is kept per app and mode, and
// a put replaces.
func appSettings(t *testing.T, db *store.DB) {
	appA, appB := newApp(t, db), newApp(t, db)
	type getter func(s core.AppStore, app string, live bool) ([]byte, error)
	type putter func(s core.AppStore, app string, live bool, v []byte) error
	tests := []struct {
		name string
		get  getter
		put  putter
	}{
		{"Cashier", func(s core.AppStore, app string, live bool) ([]byte, error) { return s.CashierSettings(ctx, app, live) }, func(s core.AppStore, app string, live bool, v []byte) error {
			return s.PutCashierSettings(ctx, app, live, v, 1)
		}},
		{"Card", func(s core.AppStore, app string, live bool) ([]byte, error) { return s.CardSettings(ctx, app, live) }, func(s core.AppStore, app string, live bool, v []byte) error {
			return s.PutCardSettings(ctx, app, live, v, 1)
		}},
		{"ChannelRoutes", func(s core.AppStore, app string, live bool) ([]byte, error) {
			return s.ChannelRoutes(ctx, app, live, "alipay")
		},
			func(s core.AppStore, app string, live bool, v []byte) error {
				return s.PutChannelRoutes(ctx, app, live, "alipay", v, 1)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			get := func(app string, live bool) string {
				var b []byte
				mustRead(t, db, func(s core.AppStore) (err error) { b, err = tc.get(s, app, live); return })
				if b == nil {
					return "<nil>"
				}
				return string(b)
			}
			put := func(v string) {
				mustWrite(t, db, func(s core.AppStore) error { return tc.put(s, appA, false, []byte(v)) })
			}
			if got := get(appA, false); got != "<nil>" {
				t.Fatalf("before any put: %s, want nil", got)
			}
			put(`{"v":1}`)
			put(`{"v":2}`)
			for _, c := range []struct {
				app  string
				live bool
				want string
			}{{appA, false, `{"v":2}`}, {appA, true, "<nil>"}, {appB, false, "<nil>"}} {
				if got := get(c.app, c.live); got != c.want {
					t.Errorf("get(app %s, live %v) = %s, want %s", c.app, c.live, got, c.want)
				}
			}
		})
	}
}

func appRoutesList(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	put := func(family string, v []byte) {
		mustWrite(t, db, func(s core.AppStore) error { return s.PutChannelRoutes(ctx, app, false, family, v, 1) })
	}
	list := func() []string {
		var out []string
		mustRead(t, db, func(s core.AppStore) error {
			bs, err := s.ListChannelRoutes(ctx, app, false)
			for _, b := range bs {
				out = append(out, string(b))
			}
			return err
		})
		return out
	}
	put("wx", []byte(`{"f":"wx"}`))
	put("alipay", []byte(`{"f":"alipay"}`))
	mustWrite(t, db, func(s core.AppStore) error {
		return s.PutChannelRoutes(ctx, app, true, "card", []byte(`{"f":"live"}`), 1)
	})
	if got, want := list(), []string{`{"f":"alipay"}`, `{"f":"wx"}`}; !slices.Equal(got, want) {
		t.Fatalf("ListChannelRoutes = %v, want %v (by family, this mode)", got, want)
	}
	put("wx", nil) // nil deletes
	if got, want := list(), []string{`{"f":"alipay"}`}; !slices.Equal(got, want) {
		t.Fatalf("after deleting wx: %v, want %v", got, want)
	}
}

func appChannelAccounts(t *testing.T, db *store.DB) {
	appA, appB := newApp(t, db), newApp(t, db)
	if appB < appA {
		appA, appB = appB, appA // the all-apps list is by app id
	}
	refs := []store.AccountRef{{appA, false, "alipay"}, {appA, false, "alipay@second"}, {appA, true, "wx"}, {appB, false, "alipay"}}
	// Channel configurations are the console's to write (through *store.Tx).
	if err := db.Write(ctx, func(tx *store.Tx) error {
		for _, r := range refs {
			if err := tx.PutChannelConfig(ctx, store.ChannelConfig{AppID: r.AppID, Live: r.Live, Family: r.Family, MerchantID: "m", Sealed: "s"}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		app  string
		live bool
		want []store.AccountRef
	}{
		{"AppAndMode", appA, false, refs[:2]},
		{"LiveMode", appA, true, refs[2:3]},
		{"OtherApp", appB, false, refs[3:]},
		{"EveryApp", "", false, refs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []store.AccountRef
			mustRead(t, db, func(s core.AppStore) (err error) { got, err = s.ChannelAccounts(ctx, tc.app, tc.live); return })
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ChannelAccounts = %v, want %v", got, tc.want)
			}
		})
	}
}

// Reconciliation reaches the store only through reconcile.Store: these
// cases hold *store.DB as that interface.

func TestConformanceReconcileStore(t *testing.T) {
	runContracts(t, []contract{
		{"RunRoundTrip", reconRuns},
		{"ListRunsFilters", reconListRuns},
		{"Discrepancies", reconDiscrepancies},
		{"PostFeeOnce", reconFees},
		{"PeriodQueries", reconPeriods},
		{"ClaimJob", reconJobs},
		{"Lookups", reconLookups},
		{"TransactionsCommitOrRollBack", reconTransactions},
	})
}

func reconWrite(t *testing.T, db *store.DB, fn func(reconcile.Tx) error) {
	t.Helper()
	var rs reconcile.Store = db
	if err := rs.WriteRecon(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func reconRead(t *testing.T, db *store.DB, fn func(reconcile.Tx) error) {
	t.Helper()
	var rs reconcile.Store = db
	if err := rs.ReadRecon(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func fullRun(app string) *reconcile.Run {
	return &reconcile.Run{ID: polypay.NewID("rcr_"), AppID: app, Live: true, Family: "alipay", Day: "2026-01-02",
		Status: reconcile.RunDone, Progress: 3, Total: 4, StatementLines: 5, Matched: 6, OnlyPolypay: 7, OnlyChannel: 8,
		AmountDiffers: 9, StatusDiffers: 10, Settled: 11, Open: 12, FeesPosted: 13, FeeAmount: 14, Error: "e",
		Started: 1700000000, Finished: 1700000100}
}

func reconRuns(t *testing.T, db *store.DB) {
	r := fullRun(newApp(t, db))
	allFieldsSet(t, r)
	reconWrite(t, db, func(tx reconcile.Tx) error { return tx.InsertReconRun(ctx, r) })
	get := func() *reconcile.Run {
		var got *reconcile.Run
		reconRead(t, db, func(tx reconcile.Tx) (err error) { got, err = tx.GetReconRun(ctx, r.ID); return })
		return got
	}
	if got := get(); !reflect.DeepEqual(got, r) {
		t.Fatalf("GetReconRun:\n got %+v\nwant %+v", got, r)
	}
	want := *r
	want.Status, want.Progress, want.Total, want.StatementLines, want.Matched = reconcile.RunFailed, 30, 40, 50, 60
	want.OnlyPolypay, want.OnlyChannel, want.AmountDiffers, want.StatusDiffers = 70, 80, 90, 100
	want.Settled, want.Open, want.FeesPosted, want.FeeAmount, want.Error, want.Finished = 110, 120, 130, 140, "e2", 1700000200
	upd := want
	upd.AppID, upd.Family, upd.Day, upd.Started = "app_other", "wx", "2026-01-03", 1 // the run's identity stays
	reconWrite(t, db, func(tx reconcile.Tx) error { return tx.UpdateReconRun(ctx, &upd) })
	if got := get(); !reflect.DeepEqual(got, &want) {
		t.Fatalf("after UpdateReconRun:\n got %+v\nwant %+v", got, &want)
	}
	var err error
	reconRead(t, db, func(tx reconcile.Tx) error { _, err = tx.GetReconRun(ctx, "rcr_missing"); return nil })
	wantNotFound(t, "GetReconRun of an unknown id", err)
}

func reconListRuns(t *testing.T, db *store.DB) {
	appA, appB := newApp(t, db), newApp(t, db)
	run := func(app string, live bool, family, day string, started int64) *reconcile.Run {
		r := fullRun(app)
		r.Live, r.Family, r.Day, r.Started = live, family, day, started
		return r
	}
	r1 := run(appA, false, "alipay", "2026-01-01", 100)
	r2 := run(appA, false, "alipay", "2026-01-02", 200)
	r3 := run(appA, true, "alipay", "2026-01-01", 150)
	r4 := run(appA, false, "wx", "2026-01-01", 300)
	r5 := run(appB, false, "alipay", "2026-01-01", 250)
	reconWrite(t, db, func(tx reconcile.Tx) error {
		for _, r := range []*reconcile.Run{r1, r2, r3, r4, r5} {
			if err := tx.InsertReconRun(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	no, yes := false, true
	tests := []struct {
		name string
		f    reconcile.RunFilter
		want []*reconcile.Run // newest first
	}{
		{"App", reconcile.RunFilter{AppID: appA}, []*reconcile.Run{r4, r2, r3, r1}},
		{"TestMode", reconcile.RunFilter{AppID: appA, Live: &no}, []*reconcile.Run{r4, r2, r1}},
		{"LiveMode", reconcile.RunFilter{AppID: appA, Live: &yes}, []*reconcile.Run{r3}},
		{"Family", reconcile.RunFilter{Family: "alipay"}, []*reconcile.Run{r5, r2, r3, r1}},
		{"Day", reconcile.RunFilter{Day: "2026-01-02"}, []*reconcile.Run{r2}},
		{"Limit", reconcile.RunFilter{Limit: 2}, []*reconcile.Run{r4, r5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []*reconcile.Run
			reconRead(t, db, func(tx reconcile.Tx) (err error) { got, err = tx.ListReconRuns(ctx, tc.f); return })
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ListReconRuns = %v, want %v", runIDs(got), runIDs(tc.want))
			}
		})
	}
}

func runIDs(rs []*reconcile.Run) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func disc(run *reconcile.Run, kind, chargeID string, amount int64) *reconcile.Discrepancy {
	return &reconcile.Discrepancy{RunID: run.ID, AppID: run.AppID, Live: run.Live, Family: run.Family, Day: run.Day, Kind: kind,
		LineKind: "payment", ChargeID: chargeID, TransactionNo: "t-" + chargeID, Currency: "cny", ChannelAmount: amount,
		PolypayAmount: amount + 1, ChannelStatus: "TRADE_SUCCESS", PolypayStatus: "paid", Detail: "d"}
}

func discIDs(ds []*reconcile.Discrepancy) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.ID)
	}
	sort.Strings(out)
	return out
}

// reconDiscrepancies: a new run replaces the open findings of its app,
// family and day, never those someone resolved, nor other days'.
func reconDiscrepancies(t *testing.T, db *store.DB) {
	fixedClock(db, 1_800_000_000)
	run := fullRun(newApp(t, db))
	otherDay := *run
	otherDay.ID, otherDay.Day = polypay.NewID("rcr_"), "2026-01-01"
	reconWrite(t, db, func(tx reconcile.Tx) error {
		if err := tx.InsertReconRun(ctx, run); err != nil {
			return err
		}
		return tx.InsertReconRun(ctx, &otherDay)
	})
	replace := func(r *reconcile.Run, ds ...*reconcile.Discrepancy) []*reconcile.Discrepancy {
		var out []*reconcile.Discrepancy
		reconWrite(t, db, func(tx reconcile.Tx) (err error) {
			out, err = tx.ReplaceOpenDiscrepancies(ctx, r.AppID, r.Live, r.Family, r.Day, ds)
			return
		})
		return out
	}
	first := replace(run, disc(run, reconcile.AmountDiffers, "ch_1", 100), disc(run, reconcile.OnlyChannel, "ch_2", 200))
	kept := replace(&otherDay, disc(&otherDay, reconcile.OnlyPolypay, "ch_3", 300))
	for _, d := range append(first, kept...) {
		if d.ID == "" || d.Created != 1_800_000_000 {
			t.Fatalf("inserted discrepancy has id %q, created %d; want an id and the transaction's time", d.ID, d.Created)
		}
	}
	var got *reconcile.Discrepancy
	reconRead(t, db, func(tx reconcile.Tx) (err error) { got, err = tx.GetDiscrepancy(ctx, first[0].ID); return })
	if !reflect.DeepEqual(got, first[0]) {
		t.Fatalf("GetDiscrepancy:\n got %+v\nwant %+v", got, first[0])
	}
	resolve := func(id string) bool {
		var ok bool
		reconWrite(t, db, func(tx reconcile.Tx) (err error) {
			ok, err = tx.ResolveDiscrepancy(ctx, id, "ops@example.com", "refunded by hand")
			return
		})
		return ok
	}
	if !resolve(first[0].ID) || resolve(first[0].ID) || resolve("dsc_missing") {
		t.Fatal("ResolveDiscrepancy: want true once, then false, and false for an unknown id")
	}
	reconRead(t, db, func(tx reconcile.Tx) (err error) { got, err = tx.GetDiscrepancy(ctx, first[0].ID); return })
	if !got.Resolved || got.ResolvedBy != "ops@example.com" || got.Note != "refunded by hand" || got.ResolvedAt != 1_800_000_000 {
		t.Fatalf("resolved discrepancy: %+v", got)
	}
	// The same findings again: the resolved one is not reopened, the open
	// one is replaced.
	second := replace(run, disc(run, reconcile.AmountDiffers, "ch_1", 100), disc(run, reconcile.OnlyChannel, "ch_2", 200))
	if len(second) != 1 || second[0].ChargeID != "ch_2" || second[0].ID == first[1].ID {
		t.Fatalf("second replace inserted %+v, want only a new ch_2", second)
	}
	var missErr error
	reconRead(t, db, func(tx reconcile.Tx) error { _, missErr = tx.GetDiscrepancy(ctx, first[1].ID); return nil })
	wantNotFound(t, "GetDiscrepancy of a replaced discrepancy", missErr)
	open, closed := true, false
	tests := []struct {
		name string
		f    reconcile.DiscrepancyFilter
		want []*reconcile.Discrepancy
	}{
		{"Day", reconcile.DiscrepancyFilter{AppID: run.AppID, Day: run.Day}, []*reconcile.Discrepancy{first[0], second[0]}},
		{"Open", reconcile.DiscrepancyFilter{AppID: run.AppID, Open: &open}, []*reconcile.Discrepancy{second[0], kept[0]}},
		{"Resolved", reconcile.DiscrepancyFilter{AppID: run.AppID, Open: &closed}, []*reconcile.Discrepancy{first[0]}},
		{"Run", reconcile.DiscrepancyFilter{RunID: otherDay.ID}, kept},
		{"OtherMode", reconcile.DiscrepancyFilter{AppID: run.AppID, Live: &closed}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []*reconcile.Discrepancy
			reconRead(t, db, func(tx reconcile.Tx) (err error) { got, err = tx.ListDiscrepancies(ctx, tc.f); return })
			if !slices.Equal(discIDs(got), discIDs(tc.want)) {
				t.Fatalf("ListDiscrepancies = %v, want %v", discIDs(got), discIDs(tc.want))
			}
		})
	}
}

func reconFees(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	fee := func(ref string, amount int64) reconcile.FeeLine {
		return reconcile.FeeLine{RefID: ref, AppID: app, Channel: "alipay_qr", Day: "2026-01-02", Currency: "cny", Amount: amount, RunID: "rcr_1"}
	}
	tests := []struct {
		name        string
		line        reconcile.FeeLine
		posted      bool
		fees, chan_ int64 // the ref's sums afterwards
	}{
		{"Taken", fee("pay:ch_1", 30), true, 30, -30},
		{"SameLineAgain", fee("pay:ch_1", 31), false, 30, -30},
		{"GivenBack", fee("refund:r1", -5), true, -5, 5},
		{"Zero", fee("pay:ch_0", 0), false, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ok bool
			reconWrite(t, db, func(tx reconcile.Tx) (err error) { ok, err = tx.PostFee(ctx, tc.line); return })
			var fees, ch int64
			reconRead(t, db, func(tx reconcile.Tx) (err error) {
				if fees, err = tx.LedgerSum(ctx, ledger.RefFee, tc.line.RefID, ledger.AccountFees); err != nil {
					return err
				}
				ch, err = tx.LedgerSum(ctx, ledger.RefFee, tc.line.RefID, ledger.ChannelAccount("alipay_qr"))
				return err
			})
			if ok != tc.posted || fees != tc.fees || ch != tc.chan_ {
				t.Fatalf("PostFee = %v, fees %d, channel %d; want %v, %d, %d", ok, fees, ch, tc.posted, tc.fees, tc.chan_)
			}
		})
	}
	if _, probs, err := ledger.Check(ctx, db); err != nil || len(probs) != 0 {
		t.Fatalf("ledger check after fees: %v, problems %v", err, probs)
	}
}

// reconPeriods: the period queries take [from, to), the channels named,
// and one app and mode.
func reconPeriods(t *testing.T, db *store.DB) {
	appA, appB := newApp(t, db), newApp(t, db)
	wx := func(c *polypay.Charge) { c.Channel, c.Amount = "wx_pub", 700 }
	c1 := charge(appA, "p1", paid(1000))
	c2 := charge(appA, "p2", func(c *polypay.Charge) { c.Amount = 300 }, paid(1999))
	c3 := charge(appA, "p3", paid(2000))
	c4 := charge(appA, "p4", wx, paid(1500))
	c5 := charge(appA, "p5")
	c6 := charge(appA, "p6", live, paid(1500))
	c7 := charge(appB, "p7", paid(1500))
	insertCharges(t, db, 0, c1, c2, c3, c4, c5, c6, c7)
	succeeded := func(at int64) func(*polypay.Refund) {
		return func(r *polypay.Refund) { r.Status, r.TimeSucceed, r.Created = polypay.RefundSucceeded, at, at-10 }
	}
	r1 := refund(c1, "p-r1", 100, succeeded(1100))
	r2 := refund(c1, "p-r2", 50, succeeded(2100))
	r3 := refund(c4, "p-r3", 70, func(r *polypay.Refund) { r.Created = 1500 })
	r4 := refund(c6, "p-r4", 10, succeeded(1500))
	insertRefunds(t, db, r1, r2, r3, r4)
	reconWrite(t, db, func(tx reconcile.Tx) error {
		_, err := tx.PostFee(ctx, reconcile.FeeLine{RefID: "pay:" + c1.ID, AppID: appA, Channel: "alipay_qr", Day: "2026-01-02", Currency: "cny", Amount: 7})
		return err
	})
	ali, both := []string{"alipay_qr"}, []string{"alipay_qr", "wx_pub"}
	ids := func(cs []*polypay.Charge, rs []*polypay.Refund) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	sorted := func(ss ...string) []string { slices.Sort(ss); return ss }
	tests := []struct {
		name     string
		live     bool
		channels []string
		charges  []string // ChargesPaidBetween(1000, 2000), by id
		refunds  []string // RefundsCreatedBetween(1000, 2000), by id
		totals   []reconcile.ChannelTotals
	}{
		{"OneChannel", false, ali, sorted(c1.ID, c2.ID), []string{r1.ID},
			[]reconcile.ChannelTotals{{Channel: "alipay_qr", Currency: "cny", Charges: 2, Gross: 800, Refunds: 1, RefundTotal: 100, Fees: 7, FeeLines: 1}}},
		{"TwoChannels", false, both, sorted(c1.ID, c2.ID, c4.ID), sorted(r1.ID, r3.ID),
			[]reconcile.ChannelTotals{{Channel: "alipay_qr", Currency: "cny", Charges: 2, Gross: 800, Refunds: 1, RefundTotal: 100, Fees: 7, FeeLines: 1},
				{Channel: "wx_pub", Currency: "cny", Charges: 1, Gross: 700}}},
		{"LiveMode", true, ali, []string{c6.ID}, []string{r4.ID},
			[]reconcile.ChannelTotals{{Channel: "alipay_qr", Currency: "cny", Charges: 1, Gross: 500, Refunds: 1, RefundTotal: 10}}},
		{"NoChannels", false, nil, nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cs []*polypay.Charge
			var rs []*polypay.Refund
			var ts []*reconcile.ChannelTotals
			reconRead(t, db, func(tx reconcile.Tx) (err error) {
				if cs, err = tx.ChargesPaidBetween(ctx, appA, tc.live, tc.channels, 1000, 2000); err != nil {
					return err
				}
				if rs, err = tx.RefundsCreatedBetween(ctx, appA, tc.live, tc.channels, 1000, 2000); err != nil {
					return err
				}
				ts, err = tx.DailyTotals(ctx, appA, tc.live, tc.channels, 1000, 2000, "2026-01-02")
				return err
			})
			if got := ids(cs, nil); !slices.Equal(got, tc.charges) {
				t.Errorf("ChargesPaidBetween = %v, want %v", got, tc.charges)
			}
			if got := ids(nil, rs); !slices.Equal(got, tc.refunds) {
				t.Errorf("RefundsCreatedBetween = %v, want %v", got, tc.refunds)
			}
			var got []reconcile.ChannelTotals
			for _, x := range ts {
				got = append(got, *x)
			}
			slices.SortFunc(got, func(a, b reconcile.ChannelTotals) int { return strings.Compare(a.Channel, b.Channel) })
			if !reflect.DeepEqual(got, tc.totals) {
				t.Errorf("DailyTotals = %+v, want %+v", got, tc.totals)
			}
		})
	}
}

func reconJobs(t *testing.T, db *store.DB) {
	const now = 1_800_000_000
	fixedClock(db, now)
	claim := func(job, owner string, staleBefore int64) any {
		var ok bool
		reconWrite(t, db, func(tx reconcile.Tx) (err error) { ok, err = tx.ClaimJob(ctx, job, owner, staleBefore); return })
		return ok
	}
	steps := []struct {
		name string
		do   func() any
		want any
	}{
		{"First", func() any { return claim("day1", "n1", now-600) }, true},
		{"ClaimedAndFresh", func() any { return claim("day1", "n2", now-600) }, false},
		{"StaleTakenOver", func() any { return claim("day1", "n2", now+1) }, true},
		{"Finish", func() any {
			reconWrite(t, db, func(tx reconcile.Tx) error { return tx.FinishJob(ctx, "day1") })
			return nil
		}, nil},
		{"FinishedNeverAgain", func() any { return claim("day1", "n3", now+1000) }, false},
		{"OtherJob", func() any { return claim("day2", "n3", now-600) }, true},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want {
			t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
		}
	}
	won := race(t, db, 10, func(tx *store.Tx) (bool, error) {
		var rt reconcile.Tx = tx
		ok, err := rt.ClaimJob(ctx, "day3", "racer", now-600)
		time.Sleep(20 * time.Millisecond) // hold the claim uncommitted while others try
		return ok, err
	})
	if won != 1 {
		t.Fatalf("%d of 10 racing nodes claimed the job, want 1", won)
	}
}

func reconLookups(t *testing.T, db *store.DB) {
	apps := []*polypay.App{
		{ID: polypay.NewAppID(), Name: "old", Created: 100},
		{ID: polypay.NewAppID(), Name: "new", Created: 300},
		{ID: polypay.NewAppID(), Name: "mid", Created: 200},
	}
	mustWrite(t, db, func(s core.AppStore) error {
		for _, a := range apps {
			if err := s.InsertApp(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	c := paidCharge(t, db, charge(apps[0].ID, "lk"))
	r := refund(c, "lk-r", 10)
	insertRefunds(t, db, r)
	var ids []string
	var listed []*polypay.App
	var gotApp *polypay.App
	var gotCharge *polypay.Charge
	var gotRefund *polypay.Refund
	var errs [4]error
	reconWrite(t, db, func(tx reconcile.Tx) (err error) {
		if ids, err = tx.AppIDs(ctx); err != nil {
			return err
		}
		if listed, err = tx.ListApps(ctx); err != nil {
			return err
		}
		gotApp, _ = tx.GetApp(ctx, apps[1].ID)
		gotCharge, _ = tx.LockCharge(ctx, c.ID)
		gotRefund, _ = tx.RefundByOrderNo(ctx, r.OrderNo)
		_, errs[0] = tx.GetApp(ctx, "app_missing")
		_, errs[1] = tx.LockCharge(ctx, "ch_missing")
		_, errs[2] = tx.RefundByOrderNo(ctx, "missing")
		return nil
	})
	wantIDs := sorted3(apps[0].ID, apps[1].ID, apps[2].ID)
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("AppIDs = %v, want %v (byte order)", ids, wantIDs)
	}
	if !reflect.DeepEqual(listed, []*polypay.App{apps[1], apps[2], apps[0]}) {
		t.Errorf("ListApps = %+v, want newest first", listed)
	}
	if !reflect.DeepEqual(gotApp, apps[1]) || !reflect.DeepEqual(gotCharge, c) || !reflect.DeepEqual(gotRefund, r) {
		t.Errorf("GetApp %+v, LockCharge %+v, RefundByOrderNo %+v", gotApp, gotCharge, gotRefund)
	}
	for i, what := range []string{"GetApp", "LockCharge", "RefundByOrderNo"} {
		wantNotFound(t, what+" of an unknown id", errs[i])
	}
}

func sorted3(a, b, c string) []string {
	s := []string{a, b, c}
	slices.Sort(s)
	return s
}

// reconTransactions: WriteRecon commits when fn returns nil and rolls
// back (returning fn's error) otherwise; ReadRecon returns fn's error.
func reconTransactions(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	var rs reconcile.Store = db
	boom := errors.New("boom")
	tests := []struct {
		name   string
		fail   error
		stored bool
	}{
		{"RolledBack", boom, false},
		{"Committed", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fullRun(app)
			err := rs.WriteRecon(ctx, func(tx reconcile.Tx) error {
				if err := tx.InsertReconRun(ctx, r); err != nil {
					return err
				}
				return tc.fail
			})
			if !errors.Is(err, tc.fail) {
				t.Fatalf("WriteRecon: err = %v, want %v", err, tc.fail)
			}
			var getErr error
			readErr := rs.ReadRecon(ctx, func(tx reconcile.Tx) error { _, getErr = tx.GetReconRun(ctx, r.ID); return boom })
			if !errors.Is(readErr, boom) {
				t.Errorf("ReadRecon: err = %v, want fn's", readErr)
			}
			if stored := getErr == nil; stored != tc.stored {
				t.Fatalf("run stored = %v (%v), want %v", stored, getErr, tc.stored)
			}
		})
	}
}
