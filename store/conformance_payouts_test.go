package store_test

import (
	"reflect"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
)

func TestConformancePayoutStore(t *testing.T) {
	runContracts(t, []contract{
		{"TransferRoundTrip", transferRoundTrip},
		{"TransferOrderNoUniquePerChannel", transferOrderNoUnique},
		{"TransferIsolation", transferIsolation},
		{"TransferClaimsWinOnce", transferClaims},
		{"BatchWithMembers", batchWithMembers},
		{"BatchRefundItems", batchRefundItems},
		{"PayoutSettingsUpsert", payoutSettingsUpsert},
	})
}

func transfer(app, channel, orderNo string) *store.TransferRow {
	return &store.TransferRow{Transfer: polypay.Transfer{ID: polypay.NewID("tr_"), AppID: app, Channel: channel, OrderNo: orderNo,
		Type: "b2c", Amount: 100, Currency: "cny", Recipient: "r@example.com", Description: "d", Extra: []byte(`{"k":"v"}`),
		Metadata: []byte(`{}`), Status: polypay.TransferPending, Created: 1700000000, CreatedBy: "api"}, ParamsHash: "h"}
}

func insertTransfers(t *testing.T, db *store.DB, next int64, ts ...*store.TransferRow) {
	t.Helper()
	mustWrite(t, db, func(s core.PayoutStore) error {
		for _, tr := range ts {
			if err := s.InsertTransfer(ctx, tr, next); err != nil {
				return err
			}
		}
		return nil
	})
}

func transferRoundTrip(t *testing.T, db *store.DB) {
	tr := transfer(newApp(t, db), "alipay", "RT1")
	tr.BatchID, tr.BatchNo, tr.ExtraSealed, tr.TimeTransferred, tr.TransactionNo = "b1", "b1", "sealed", 5, "tx"
	tr.FailureCode, tr.FailureMsg, tr.ApprovedBy, tr.ApprovedAt, tr.Sent = "fc", "fm", "usr", 7, true
	insertTransfers(t, db, 0, tr)
	var got, locked, byNo *store.TransferRow
	mustRead(t, db, func(s core.PayoutStore) (err error) {
		if got, err = s.GetTransfer(ctx, tr.AppID, false, tr.ID); err != nil {
			return err
		}
		if locked, err = s.LockTransfer(ctx, tr.ID); err != nil {
			return err
		}
		byNo, err = s.TransferByOrderNo(ctx, tr.AppID, false, "alipay", "RT1")
		return err
	})
	for name, g := range map[string]*store.TransferRow{"Get": got, "Lock": locked, "ByOrderNo": byNo} {
		if !reflect.DeepEqual(g, tr) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, g, tr)
		}
	}
	upd := *tr
	upd.Status, upd.TimeTransferred, upd.Sent = polypay.TransferPaid, 9, false
	mustWrite(t, db, func(s core.PayoutStore) error { return s.UpdateTransfer(ctx, &upd) })
	mustRead(t, db, func(s core.PayoutStore) (err error) { got, err = s.GetTransfer(ctx, tr.AppID, false, tr.ID); return })
	if !reflect.DeepEqual(got, &upd) {
		t.Errorf("after update:\n got %+v\nwant %+v", got, &upd)
	}
}

func transferOrderNoUnique(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	insertTransfers(t, db, 0, transfer(app, "alipay", "U1"), transfer(app, "wx_pub", "U1"))
	err := writeAs(db, func(s core.PayoutStore) error { return s.InsertTransfer(ctx, transfer(app, "alipay", "U1"), 0) })
	if !store.IsUniqueViolation(err) {
		t.Fatalf("same order_no and channel: %v, want a unique violation", err)
	}
}

func transferIsolation(t *testing.T, db *store.DB) {
	a, b := newApp(t, db), newApp(t, db)
	tr := transfer(a, "alipay", "I1")
	insertTransfers(t, db, 0, tr, transfer(b, "alipay", "I1"))
	tests := []struct {
		name string
		app  string
		live bool
	}{{"OtherApp", b, false}, {"LiveMode", a, true}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := readAs(db, func(s core.PayoutStore) error { _, err := s.GetTransfer(ctx, tc.app, tc.live, tr.ID); return err })
			if polypay.ErrorCode(err) != polypay.ENotFound {
				t.Fatalf("got %v, want not found", err)
			}
			var list []*store.TransferRow
			mustRead(t, db, func(s core.PayoutStore) (err error) {
				list, _, err = s.ListTransfers(ctx, tc.app, tc.live, "", "", store.Page{Limit: 10})
				return err
			})
			for _, x := range list {
				if x.ID == tr.ID {
					t.Fatal("listed another app's or mode's transfer")
				}
			}
		})
	}
}

func transferClaims(t *testing.T, db *store.DB) {
	tr := transfer(newApp(t, db), "alipay", "C1")
	insertTransfers(t, db, 100, tr)
	if got := race(t, db, 20, func(tx *store.Tx) (bool, error) { return tx.ClaimTransfer(ctx, tr.ID, 150, 300) }); got != 1 {
		t.Fatalf("%d of 20 claimers won, want 1", got)
	}
	var due []string
	mustRead(t, db, func(s core.PayoutStore) (err error) { due, err = s.DueTransfers(ctx, 299, 10); return })
	if len(due) != 0 {
		t.Fatalf("due after claim: %v", due)
	}
}

func batchWithMembers(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	b := &store.BatchTransferRow{BatchTransfer: polypay.BatchTransfer{ID: "261207000000123456", AppID: app, BatchNo: "B0000000001",
		Channel: "alipay", Type: "b2c", Amount: 200, Currency: "cny", Metadata: []byte(`{}`), Status: polypay.BatchPending, Created: 1}, ParamsHash: "h"}
	m1, m2 := transfer(app, "alipay", "M1"), transfer(app, "alipay", "M2")
	m1.BatchID, m2.BatchID = b.ID, b.ID
	mustWrite(t, db, func(s core.PayoutStore) error { return s.InsertBatchTransfer(ctx, b) })
	insertTransfers(t, db, 0, m1, m2)
	var got *store.BatchTransferRow
	var members []*store.TransferRow
	mustRead(t, db, func(s core.PayoutStore) (err error) {
		if got, err = s.BatchTransferByNo(ctx, app, false, "B0000000001"); err != nil {
			return err
		}
		members, err = s.BatchMembers(ctx, b.ID)
		return err
	})
	if !reflect.DeepEqual(got, b) || len(members) != 2 || members[0].ID != m1.ID {
		t.Fatalf("batch %+v, members %d", got, len(members))
	}
	dup := *b
	dup.ID = "261207000000654321"
	if err := writeAs(db, func(s core.PayoutStore) error { return s.InsertBatchTransfer(ctx, &dup) }); !store.IsUniqueViolation(err) {
		t.Fatalf("same batch_no: %v", err)
	}
}

func batchRefundItems(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	b := &store.BatchRefundRow{BatchRefund: polypay.BatchRefund{ID: "261207000000111111", AppID: app, BatchNo: "BR1",
		Description: "d", Metadata: []byte(`{}`), Items: []polypay.BatchRefundItem{{Charge: "ch_1", Amount: 5}},
		Status: polypay.BatchCreated, Created: 1}, ParamsHash: "h"}
	mustWrite(t, db, func(s core.PayoutStore) error { return s.InsertBatchRefund(ctx, b) })
	b.Items[0].Refund, b.Status = "re_1", polypay.BatchPending
	mustWrite(t, db, func(s core.PayoutStore) error { return s.UpdateBatchRefund(ctx, b) })
	var got *store.BatchRefundRow
	var open []string
	mustRead(t, db, func(s core.PayoutStore) (err error) {
		if got, err = s.GetBatchRefund(ctx, app, false, b.ID); err != nil {
			return err
		}
		open, err = s.OpenBatchRefunds(ctx, 10)
		return err
	})
	if !reflect.DeepEqual(got, b) || len(open) != 1 {
		t.Fatalf("got %+v, open %v", got, open)
	}
}

func payoutSettingsUpsert(t *testing.T, db *store.DB) {
	app := newApp(t, db)
	for _, want := range []polypay.PayoutSettings{{ApproveAbove: 100, ApproveBatches: true, Updated: 1}, {ApproveAbove: 0, Updated: 2}} {
		mustWrite(t, db, func(s core.PayoutStore) error { return s.PutPayoutSettings(ctx, app, false, want) })
		var got, live polypay.PayoutSettings
		mustRead(t, db, func(s core.PayoutStore) (err error) {
			if got, err = s.PayoutSettings(ctx, app, false); err != nil {
				return err
			}
			live, err = s.PayoutSettings(ctx, app, true)
			return err
		})
		if got != want || live != (polypay.PayoutSettings{}) {
			t.Fatalf("got %+v (live %+v), want %+v", got, live, want)
		}
	}
}
