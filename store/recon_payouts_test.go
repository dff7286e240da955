package store_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/reconcile"
	"github.com/polypay/polypay/store"
)

// TestReconPayouts: reconciliation's payout queries read the transfers of
// one app and mode paid on the channels named in [from, to), any app's
// transfer by id, and keep a discrepancy's transfer.
func TestReconPayouts(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB) {
		appA, appB := newApp(t, db), newApp(t, db)
		n := 0
		transfer := func(app string, live bool, channel string, status polypay.TransferStatus, paidAt int64) *store.TransferRow {
			n++
			tr := &store.TransferRow{Transfer: polypay.Transfer{ID: polypay.NewID("tr_"), AppID: app, Livemode: live, Channel: channel,
				OrderNo: fmt.Sprintf("rp%d", n), Type: "b2c", Amount: int64(100 * n), Currency: "cny", Recipient: "r",
				Extra: []byte("{}"), Metadata: []byte("{}"), Status: status, Created: 900, TimeTransferred: paidAt}}
			if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertTransfer(ctx, tr, 0) }); err != nil {
				t.Fatal(err)
			}
			return tr
		}
		paid := polypay.TransferPaid
		t1 := transfer(appA, false, "alipay", paid, 1000)
		t2 := transfer(appA, false, "wx_pub", paid, 1999)
		transfer(appA, false, "alipay", paid, 2000)       // the period's end: out
		transfer(appA, false, "alipay", paid, 999)        // before it
		t5 := transfer(appA, true, "alipay", paid, 1500)  // live mode
		t6 := transfer(appB, false, "alipay", paid, 1500) // another app
		transfer(appA, false, "alipay", polypay.TransferPending, 0)
		tests := []struct {
			name     string
			app      string
			live     bool
			channels []string
			want     []*store.TransferRow
		}{
			{"OneChannel", appA, false, []string{"alipay"}, []*store.TransferRow{t1}},
			{"Channels", appA, false, []string{"alipay", "wx_pub", "wx_lite"}, []*store.TransferRow{t1, t2}},
			{"LiveMode", appA, true, []string{"alipay"}, []*store.TransferRow{t5}},
			{"OtherApp", appB, false, []string{"alipay"}, []*store.TransferRow{t6}},
			{"NoChannels", appA, false, nil, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var got []*polypay.Transfer
				reconRead(t, db, func(tx reconcile.Tx) (err error) {
					got, err = tx.TransfersPaidBetween(ctx, tc.app, tc.live, tc.channels, 1000, 2000)
					return err
				})
				var want []*polypay.Transfer
				for _, r := range tc.want {
					want = append(want, &r.Transfer)
				}
				slices.SortFunc(want, func(a, b *polypay.Transfer) int { return strings.Compare(a.ID, b.ID) })
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("TransfersPaidBetween = %+v, want %+v", got, want)
				}
			})
		}
		t.Run("TransferByID", func(t *testing.T) {
			var got *polypay.Transfer
			var missing error
			reconRead(t, db, func(tx reconcile.Tx) (err error) {
				if got, err = tx.TransferByID(ctx, t6.ID); err != nil {
					return err
				}
				_, missing = tx.TransferByID(ctx, "tr_missing")
				return nil
			})
			if !reflect.DeepEqual(got, &t6.Transfer) {
				t.Fatalf("TransferByID = %+v, want %+v", got, &t6.Transfer)
			}
			wantNotFound(t, "TransferByID of an unknown id", missing)
		})
		t.Run("DiscrepancyTransfer", func(t *testing.T) {
			run := fullRun(appA)
			d := &reconcile.Discrepancy{RunID: run.ID, AppID: appA, Live: true, Family: "alipay", Day: run.Day,
				Kind: reconcile.OnlyPolypay, LineKind: "payout", TransferID: t5.ID, Currency: "cny", PolypayAmount: t5.Amount,
				PolypayStatus: "paid", Detail: "d"}
			var got *reconcile.Discrepancy
			reconWrite(t, db, func(tx reconcile.Tx) error {
				if err := tx.InsertReconRun(ctx, run); err != nil {
					return err
				}
				ds, err := tx.ReplaceOpenDiscrepancies(ctx, appA, true, "alipay", run.Day, []*reconcile.Discrepancy{d})
				if err != nil || len(ds) != 1 {
					return fmt.Errorf("inserted %d: %v", len(ds), err)
				}
				got, err = tx.GetDiscrepancy(ctx, ds[0].ID)
				return err
			})
			if !reflect.DeepEqual(got, d) {
				t.Fatalf("GetDiscrepancy:\n got %+v\nwant %+v", got, d)
			}
		})
	})
}
