package store_test

import (
	"reflect"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
)

func TestConformanceAccountStore(t *testing.T) {
	runContracts(t, []contract{
		{"UserRoundTrip", userRoundTrip},
		{"UserIsolation", userIsolation},
		{"BalanceNeverNegative", balanceNeverNegative},
		{"BalanceDebitsRace", balanceDebitsRace},
		{"RechargeCreditedOnce", rechargeCreditedOnce},
	})
}

func newUser(t *testing.T, db *store.DB, app, id string, live bool) *polypay.User {
	t.Helper()
	u := &polypay.User{ID: id, AppID: app, Livemode: live, Type: "customer", Name: "n", Email: "e@example.com", Mobile: "1",
		Gender: "MALE", Address: "a", Avatar: "https://example.com/a.png", Disabled: true, Identified: true,
		Metadata: []byte(`{"k":"v"}`), Created: 1700000000}
	mustWrite(t, db, func(s core.AccountStore) error { return s.InsertUser(ctx, u) })
	return u
}

func userRoundTrip(t *testing.T, db *store.DB) {
	u := newUser(t, db, newApp(t, db), "alice", false)
	allFieldsSet(t, u, "Livemode", "AvailableBalance", "WithdrawableBalance")
	var got *polypay.User
	mustRead(t, db, func(s core.AccountStore) (err error) { got, err = s.GetUser(ctx, u.AppID, false, "alice"); return })
	if !reflect.DeepEqual(got, u) {
		t.Fatalf("got %+v\nwant %+v", got, u)
	}
	u.Name, u.Disabled = "m", false
	mustWrite(t, db, func(s core.AccountStore) error { return s.UpdateUser(ctx, u) })
	mustRead(t, db, func(s core.AccountStore) (err error) { got, err = s.GetUser(ctx, u.AppID, false, "alice"); return })
	if !reflect.DeepEqual(got, u) {
		t.Fatalf("after update got %+v\nwant %+v", got, u)
	}
}

// userIsolation: one id in two apps and two modes is four users.
func userIsolation(t *testing.T, db *store.DB) {
	a, b := newApp(t, db), newApp(t, db)
	newUser(t, db, a, "u", false)
	newUser(t, db, a, "u", true)
	newUser(t, db, b, "u", false)
	mustWrite(t, db, func(s core.AccountStore) error {
		_, _, err := s.MoveBalance(ctx, a, false, "u", 100)
		return err
	})
	for _, k := range []struct {
		app  string
		live bool
		want int64
	}{{a, false, 100}, {a, true, 0}, {b, false, 0}} {
		var u *polypay.User
		mustRead(t, db, func(s core.AccountStore) (err error) { u, err = s.GetUser(ctx, k.app, k.live, "u"); return })
		if u.AvailableBalance != k.want {
			t.Errorf("%s live=%v: balance %d, want %d", k.app, k.live, u.AvailableBalance, k.want)
		}
	}
	mustRead(t, db, func(s core.AccountStore) error {
		if _, err := s.GetUser(ctx, b, true, "u"); polypay.ErrorCode(err) != polypay.ENotFound {
			t.Errorf("a user of another mode: %v", err)
		}
		return nil
	})
}

// balanceNeverNegative: a debit past the balance changes nothing.
func balanceNeverNegative(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	newUser(t, db, app, "u", false)
	mustWrite(t, db, func(s core.AccountStore) error {
		if after, ok, err := s.MoveBalance(ctx, app, false, "u", 50); err != nil || !ok || after != 50 {
			t.Errorf("credit: %d %v %v", after, ok, err)
		}
		if _, ok, err := s.MoveBalance(ctx, app, false, "u", -51); err != nil || ok {
			t.Errorf("overdraft allowed: %v %v", ok, err)
		}
		if after, ok, err := s.MoveBalance(ctx, app, false, "u", -50); err != nil || !ok || after != 0 {
			t.Errorf("debit to zero: %d %v %v", after, ok, err)
		}
		if _, ok, err := s.MoveBalance(ctx, app, false, "nobody", 1); err != nil || ok {
			t.Errorf("an unknown user credited: %v %v", ok, err)
		}
		return nil
	})
}

// balanceDebitsRace: 20 racing debits of 10 from 100 win 10 times.
func balanceDebitsRace(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	newUser(t, db, app, "u", false)
	mustWrite(t, db, func(s core.AccountStore) error { _, _, err := s.MoveBalance(ctx, app, false, "u", 100); return err })
	won := race(t, db, 20, func(tx *store.Tx) (bool, error) {
		_, ok, err := tx.MoveBalance(ctx, app, false, "u", -10)
		return ok, err
	})
	if won != 10 {
		t.Fatalf("%d debits of 10 from 100 went through", won)
	}
}

// rechargeCreditedOnce: a recharge is marked succeeded once, however many
// transactions race to.
func rechargeCreditedOnce(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	r := &polypay.Recharge{ID: polypay.NewID("rch_"), AppID: app, User: "u", ChargeOrderNo: "RC1", ParamsHash: "h",
		Amount: 100, Metadata: []byte("{}"), Created: 1700000000}
	mustWrite(t, db, func(s core.AccountStore) error { return s.InsertRecharge(ctx, r) })
	won := race(t, db, 8, func(tx *store.Tx) (bool, error) {
		c := *r
		c.Succeeded, c.TimeSucceeded, c.BalanceTransaction = true, 5, "btx"
		return tx.MarkRechargeSucceeded(ctx, &c)
	})
	if won != 1 {
		t.Fatalf("recharge marked succeeded %d times", won)
	}
	var got *polypay.Recharge
	mustRead(t, db, func(s core.AccountStore) (err error) { got, err = s.RechargeByOrderNo(ctx, app, false, "RC1"); return })
	if got == nil || !got.Succeeded || got.BalanceTransaction != "btx" {
		t.Fatalf("recharge after: %+v", got)
	}
	// Until its charge exists a recharge is not listed or retrieved.
	mustRead(t, db, func(s core.AccountStore) error {
		if _, err := s.GetRecharge(ctx, app, false, r.ID); polypay.ErrorCode(err) != polypay.ENotFound {
			t.Errorf("a recharge without its charge: %v", err)
		}
		return nil
	})
	// A second recharge of the charge order_no is refused by the store.
	dup := *r
	dup.ID = polypay.NewID("rch_")
	if err := writeAs(db, func(s core.AccountStore) error { return s.InsertRecharge(ctx, &dup) }); !store.IsUniqueViolation(err) {
		t.Fatalf("a second recharge of one order_no: %v", err)
	}
}
