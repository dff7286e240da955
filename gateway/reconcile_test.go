package gateway_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/reconcile"
	"github.com/polypay/polypay/sim/alipaysim"
	"github.com/polypay/polypay/sim/wechatsim"
	"github.com/polypay/polypay/store/storetest"
)

// TestReconcileDay runs a day of mixed test traffic through a node on
// Alipay and WeChat Pay (paid; refunded in part and in full; left unpaid),
// injects differences into the simulators' statements (a line dropped, a
// line added, an amount altered, a payment whose notification was lost so
// polypay still waits for it), and checks that reconciliation reports
// exactly the injected differences, settles the lost payment by a query,
// posts each line's fee once over two runs, and leaves the ledger balanced.
func TestReconcileDay(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		day := time.Now().In(reconcile.Shanghai).Format("2006-01-02")
		tomorrow := func() time.Time { return time.Now().Add(24 * time.Hour) }
		e.node.Sandbox.AlipaySim().SetBillClock(tomorrow)
		e.node.Sandbox.WechatSim().SetBillClock(tomorrow)

		families := []struct {
			fam, channel string
			extra        map[string]any
			lose         func(string)
			pay          func(merchant, id string) error
			tamper       func(merchant, day string, fn func([][]string) [][]string)
			columns      []string
			outCol       string // 商户订单号
			amountCols   []string
			line         func(template []string, id string) []string
		}{
			{fam: "alipay", channel: "alipay_qr", lose: e.node.Sandbox.AlipaySim().LoseNotifications,
				pay:     func(m, id string) error { return e.node.Sandbox.AlipaySim().Pay(ctx, m, id, true) },
				tamper:  e.node.Sandbox.AlipaySim().TamperBill,
				columns: alipaysim.BillColumns, outCol: "商户订单号", amountCols: []string{"订单金额（元）", "商家实收（元）"}},
			{fam: "wx", channel: "wx_pub_qr", extra: map[string]any{"product_id": "P1"}, lose: e.node.Sandbox.WechatSim().LoseNotifications,
				pay:     func(m, id string) error { return e.node.Sandbox.WechatSim().Pay(ctx, m, id, true) },
				tamper:  e.node.Sandbox.WechatSim().TamperBill,
				columns: wechatsim.BillColumns, outCol: "商户订单号", amountCols: []string{"应结订单总金额", "订单金额"}},
		}
		type want struct{ kind, charge string }
		for _, f := range families {
			t.Run(f.fam, func(t *testing.T) {
				merchant, err := e.node.Registry.SandboxMerchantID(ctx, e.app.AppID, f.fam)
				if err != nil {
					t.Fatal(err)
				}
				create := func(name string, amount int64) string {
					t.Helper()
					body := e.chargeBody(f.fam+name, amount)
					body["channel"] = f.channel
					if f.extra != nil {
						body["extra"] = f.extra
					}
					r := e.do("POST", "/v1/charges", e.sk(), body)
					if r.Status != 200 {
						t.Fatalf("create %s: %d %s", name, r.Status, r.Body)
					}
					return r.str("id")
				}
				refund := func(id string, amount int64) string {
					t.Helper()
					r := e.do("POST", "/v1/charges/"+id+"/refunds", e.sk(), map[string]any{"amount": amount, "description": "退货"})
					if r.Status != 200 {
						t.Fatalf("refund: %d %s", r.Status, r.Body)
					}
					rid := r.str("id")
					deadline := time.Now().Add(20 * time.Second)
					for r.str("status") != "succeeded" {
						if time.Now().After(deadline) {
							t.Fatalf("refund %s still %s", rid, r.str("status"))
						}
						time.Sleep(50 * time.Millisecond)
						r = e.do("GET", "/v1/charges/"+id+"/refunds/"+rid, e.sk(), nil)
					}
					return rid
				}
				a := create("A", 1000)
				e.pay(a)
				refund(a, 300)
				bID := create("B", 500)
				e.pay(bID)
				refund(bID, 500)
				create("C", 400) // never paid: in no statement, nowhere in the report
				d := create("D", 800)
				e.pay(d)
				ex := create("E", 700)
				e.pay(ex)
				lost := create("F", 600)
				f.lose(lost)
				if err := f.pay(merchant, lost); err != nil {
					t.Fatal(err)
				}
				if r := e.do("GET", "/v1/charges/"+lost, e.sk(), nil); r.JSON["paid"] != false {
					t.Fatalf("the lost payment reached polypay: %s", r.Body)
				}
				ghost := "ch_ghost" + strings.Repeat("0", 19)
				col := func(name string) int { return slices.Index(f.columns, name) }
				f.tamper(merchant, day, func(rows [][]string) [][]string {
					var out [][]string
					var ghostRow []string
					for _, r := range rows {
						id := strings.TrimSpace(r[col(f.outCol)])
						switch {
						case id == d:
							continue // dropped
						case id == ex && ghostRow == nil:
							for _, c := range f.amountCols {
								r[col(c)] = "7.01"
							}
							ghostRow = slices.Clone(r)
						}
						out = append(out, r)
					}
					ghostRow[col(f.outCol)] = ghost
					for _, c := range f.amountCols {
						ghostRow[col(c)] = "9.99"
					}
					return append(out, ghostRow)
				})
				wantOpen := []want{{reconcile.OnlyPolypay, d}, {reconcile.AmountDiffers, ex}, {reconcile.OnlyChannel, ghost}}

				for run := 1; run <= 2; run++ {
					var steps int
					res, err := e.node.Recon.Run(ctx, reconcile.Request{AppID: e.app.AppID, Family: f.fam, Day: day,
						Progress: func(reconcile.Progress) { steps++ }})
					if err != nil {
						t.Fatalf("run %d: %v", run, err)
					}
					x := res.Run
					var got []want
					for _, d := range res.Discrepancies {
						got = append(got, want{d.Kind, d.ChargeID})
					}
					if !sameSet(got, wantOpen) {
						t.Errorf("run %d: open discrepancies %v, want %v", run, got, wantOpen)
					}
					wantSettled, wantFees := int64(1), int64(6)
					if run == 2 {
						wantSettled, wantFees = 0, 0 // F is now paid; every fee is already posted
					}
					if x.Status != reconcile.RunDone || x.StatementLines != 7 || x.Matched != 5 || x.Open != 3 || x.Settled != wantSettled ||
						x.FeesPosted != wantFees || steps == 0 {
						t.Errorf("run %d: %+v (%d progress steps)", run, *x, steps)
					}
					if run == 1 && x.FeeAmount != 6-2+3-3+4+4 {
						t.Errorf("fees posted %d, want 12", x.FeeAmount)
					}
				}
				if r := e.do("GET", "/v1/charges/"+lost, e.sk(), nil); r.JSON["paid"] != true {
					t.Fatalf("the lost payment was not settled by query: %s", r.Body)
				}
				live := false
				open, err := e.node.Recon.Discrepancies(ctx, reconcile.DiscrepancyFilter{AppID: e.app.AppID, Live: &live, Family: f.fam, Day: day, Open: &live})
				if err != nil || len(open) != 0 {
					t.Fatalf("resolved discrepancies before resolving: %v %v", open, err)
				}
				yes := true
				open, err = e.node.Recon.Discrepancies(ctx, reconcile.DiscrepancyFilter{AppID: e.app.AppID, Live: &live, Family: f.fam, Day: day, Open: &yes})
				if err != nil || len(open) != 3 {
					t.Fatalf("open discrepancies after two runs: %d %v", len(open), err)
				}
				t.Run("Resolve", func(t *testing.T) {
					if _, err := e.node.Recon.ResolveDiscrepancy(ctx, open[0].ID, "finance@shop", ""); err == nil {
						t.Fatal("resolved without a note")
					}
					d, err := e.node.Recon.ResolveDiscrepancy(ctx, open[0].ID, "finance@shop", "checked with the channel")
					if err != nil || !d.Resolved || d.ResolvedBy != "finance@shop" || d.ResolvedAt == 0 {
						t.Fatalf("resolve: %+v %v", d, err)
					}
					if _, err := e.node.Recon.ResolveDiscrepancy(ctx, open[0].ID, "finance@shop", "again"); err == nil {
						t.Fatal("resolved twice")
					}
					// A re-run keeps the resolved one and does not reopen it.
					res, err := e.node.Recon.Run(ctx, reconcile.Request{AppID: e.app.AppID, Family: f.fam, Day: day})
					if err != nil || res.Run.Open != 2 {
						t.Fatalf("re-run after resolving: %v %+v", err, res)
					}
					all, _ := e.node.Recon.Discrepancies(ctx, reconcile.DiscrepancyFilter{AppID: e.app.AppID, Family: f.fam, Day: day})
					if len(all) != 3 {
						t.Fatalf("%d discrepancies in all, want 2 open + 1 resolved", len(all))
					}
				})
			})
		}

		sum, probs, err := ledger.Check(ctx, e.node.DB)
		if err != nil || len(probs) > 0 {
			t.Fatalf("ledger: %v %v", probs, err)
		}
		if got := sum.Balances[e.app.AppID+"/test/cny/"+ledger.AccountFees]; got != 24 {
			t.Errorf("fees account %d, want 24 (12 per family, posted once)", got)
		}

		t.Run("Report", func(t *testing.T) {
			r := e.do("GET", "/v1/apps/"+e.app.AppID+"/reports/daily?date="+day, e.sk(), nil)
			if r.Status != 200 {
				t.Fatalf("report: %d %s", r.Status, r.Body)
			}
			rows := map[string]map[string]any{}
			for _, x := range r.JSON["data"].([]any) {
				m := x.(map[string]any)
				rows[m["channel"].(string)] = m
			}
			for _, ch := range []string{"alipay_qr", "wx_pub_qr"} {
				m := rows[ch]
				// A 1000 + B 500 + D 800 + E 700 + F 600 paid; 300 + 500 refunded; fees 12.
				if m == nil || m["gross_amount"] != float64(3600) || m["charges_count"] != float64(5) || m["refunds_amount"] != float64(800) ||
					m["refunds_count"] != float64(2) || m["fees_amount"] != float64(12) || m["net_amount"] != float64(2788) {
					t.Errorf("%s: %v", ch, m)
				}
			}
			csv := e.do("GET", "/v1/apps/"+e.app.AppID+"/reports/daily?date="+day+"&format=csv", e.sk(), nil)
			if csv.Status != 200 || !strings.Contains(string(csv.Body), fmt.Sprintf("%s,alipay_qr,alipay,cny,5,3600,2,800,12,2788", day)) ||
				!strings.Contains(string(csv.Body), "total,,cny,10,7200,4,1600,24,5576") {
				t.Errorf("csv: %d\n%s", csv.Status, csv.Body)
			}
			if bad := e.do("GET", "/v1/apps/"+e.app.AppID+"/reports/daily?date=yesterday", e.sk(), nil); bad.Status != 400 {
				t.Errorf("bad date: %d %s", bad.Status, bad.Body)
			}
		})
		if now := time.Now().In(reconcile.Shanghai).Format("2006-01-02"); now != day {
			t.Skip("the test ran across midnight Beijing time; its day is split")
		}
	})
}

func sameSet[T comparable](got, want []T) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

// TestDailyJobOnce: the daily job claims its day in the store, so a second
// node (or a second tick) does not run it again.
func TestDailyJobOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, b storetest.Backend) {
		e := start(t, b, nil)
		day := time.Now().In(reconcile.Shanghai).AddDate(0, 0, -1).Format("2006-01-02")
		for i, want := range []bool{true, false} {
			ran, err := e.node.Daily.RunDay(ctx, day)
			if err != nil || ran != want {
				t.Fatalf("RunDay #%d = %v, %v; want %v", i+1, ran, err, want)
			}
		}
		runs, err := e.node.Recon.Runs(ctx, reconcile.RunFilter{AppID: e.app.AppID, Day: day})
		if err != nil || len(runs) != len(e.node.Registry.Families()) { // every sandbox family, once each
			t.Fatalf("runs: %d %v", len(runs), err)
		}
		for _, r := range runs {
			if r.Status != reconcile.RunDone || r.Open != 0 {
				t.Errorf("run %+v", *r)
			}
		}
	})
}
