package alipaysim_test

import (
	"testing"
	"time"

	"github.com/polypay/polypay/sim/alipaysim"
)

const methodAccountLog = "alipay.data.bill.accountlog.query"

func logRows(t *testing.T, rep reply) []map[string]any {
	t.Helper()
	if rep.str("code") != "10000" {
		t.Fatalf("account log: %s", rep.raw)
	}
	list, _ := rep.fields["detail_list"].([]any)
	out := make([]map[string]any, len(list))
	for i, x := range list {
		out[i] = x.(map[string]any)
	}
	return out
}

// TestAccountLog: a top-up and each paid transfer are rows of the day's
// log; a failed or pending transfer is not.
func TestAccountLog(t *testing.T) {
	e := newEnv(t)
	e.sim.SetFunds(appID, 0)
	if _, err := e.sim.TopUp(appID, 100_00); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	wantStatus(t, e.transfer(t, transferBiz("al1", "12.34", alipaysim.SandboxPayee, false), ""), "DEALING")
	wantStatus(t, e.transfer(t, transferBiz("al2", "1.00", alipaysim.SandboxPayeeFrozen, true), ""), "DEALING")
	wantStatus(t, e.transfer(t, transferBiz("al3", "2.00", alipaysim.SandboxPayeePhone, false), ""), "DEALING") // never decided
	e.clock.Add(time.Minute)
	wantStatus(t, e.queryTransfer(t, "al1"), "SUCCESS")
	wantStatus(t, e.queryTransfer(t, "al2"), "FAIL")
	day := map[string]any{"start_time": "2026-11-21 00:00:00", "end_time": "2026-11-22 00:00:00"}
	rows := logRows(t, e.call(t, methodAccountLog, day))
	want := []map[string]string{
		{"type": "充值", "direction": "收入", "trans_amount": "100.00", "balance": "100.00", "trans_dt": "2026-11-21 10:00:00"},
		{"type": "转账", "direction": "支出", "trans_amount": "-12.34", "merchant_order_no": "al1", "trans_dt": "2026-11-21 10:02:00", "other_account": "pay***@sandbox.com"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %v, want %d", rows, len(want))
	}
	for i, w := range want {
		for k, v := range w {
			if rows[i][k] != v {
				t.Errorf("row %d %s = %v, want %q", i, k, rows[i][k], v)
			}
		}
		if rows[i]["account_log_id"] == "" {
			t.Errorf("row %d has no account_log_id", i)
		}
	}
	if p := e.sim.Payouts(); rows[1]["alipay_order_no"] != p[0].OrderID {
		t.Errorf("alipay_order_no %v, want the order id %s", rows[1]["alipay_order_no"], p[0].OrderID)
	}
	t.Run("Filters", func(t *testing.T) {
		tests := []struct {
			name string
			biz  map[string]any
			n    int
		}{
			{"MerchantOrderNo", map[string]any{"merchant_order_no": "al1"}, 1},
			{"OtherMerchantOrderNo", map[string]any{"merchant_order_no": "al2"}, 0},
			{"Page1", map[string]any{"page_size": "1"}, 1},
			{"Page2", map[string]any{"page_size": "1", "page_no": "2"}, 1},
			{"Page3", map[string]any{"page_size": "1", "page_no": "3"}, 0},
			{"DayBefore", map[string]any{"start_time": "2026-11-20 00:00:00", "end_time": "2026-11-21 00:00:00"}, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				biz := map[string]any{"start_time": day["start_time"], "end_time": day["end_time"]}
				for k, v := range tt.biz {
					biz[k] = v
				}
				rep := e.call(t, methodAccountLog, biz)
				if got := logRows(t, rep); len(got) != tt.n || rep.str("total_size") == "" {
					t.Fatalf("%d rows (%s), want %d", len(got), rep.raw, tt.n)
				}
			})
		}
	})
	t.Run("Refused", func(t *testing.T) {
		tests := []struct {
			name          string
			biz           map[string]any
			code, subCode string
		}{
			{"ErrNoStart", map[string]any{"end_time": "2026-11-22 00:00:00"}, "40002", "isv.missing-parameter"},
			{"ErrStartFormat", map[string]any{"start_time": "2026-11-21", "end_time": "2026-11-22 00:00:00"}, "40002", "isv.invalid-parameter"},
			{"ErrOver31Days", map[string]any{"start_time": "2026-10-01 00:00:00", "end_time": "2026-11-22 00:00:00"}, "40004", "isv.invalid_arguments"},
			{"ErrEndBeforeStart", map[string]any{"start_time": "2026-11-22 00:00:00", "end_time": "2026-11-21 00:00:00"}, "40004", "isv.invalid_arguments"},
			{"ErrPageSize", map[string]any{"start_time": "2026-11-21 00:00:00", "end_time": "2026-11-22 00:00:00", "page_size": "2001"}, "40002", "isv.invalid-parameter"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, e.call(t, methodAccountLog, tt.biz), methodAccountLog, tt.code, tt.subCode)
			})
		}
	})
}
