package alipay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/sim/alipaysim"
)

// paidTransfer pays a transfer of amount on the sim (the query decides
// it) and returns it.
func (e *env) paidTransfer(t *testing.T, amount int64) *polypay.Transfer {
	t.Helper()
	tr := newTransfer(amount)
	if _, err := e.conn.Transfer(context.Background(), polypay.PayoutRequest{Transfer: tr}); err != nil {
		t.Fatal(err)
	}
	if res, err := e.conn.QueryTransfer(context.Background(), tr); err != nil || res.State != polypay.PayoutPaid {
		t.Fatalf("QueryTransfer = %+v, %v", res, err)
	}
	return tr
}

func TestPayouts(t *testing.T) {
	for _, size := range []int{2000, 2, 1} { // one page, pages, a page per row
		t.Run("PageSize", func(t *testing.T) {
			defer alipay.SetLogPageSize(size)()
			e := newEnv(t)
			if _, err := e.sim.TopUp(appID, 100_00); err != nil { // a 充值 row, read past
				t.Fatal(err)
			}
			want := []*polypay.Transfer{e.paidTransfer(t, 1000), e.paidTransfer(t, 2001), e.paidTransfer(t, 10)}
			failed := newTransfer(500)
			failed.Recipient, failed.Extra = alipaysim.SandboxPayeeFrozen.LogonID, []byte(`{"recipient_name":"王五"}`)
			if _, err := e.conn.Transfer(context.Background(), polypay.PayoutRequest{Transfer: failed}); err != nil {
				t.Fatal(err)
			}
			if res, _ := e.conn.QueryTransfer(context.Background(), failed); res == nil || res.State != polypay.PayoutFailed {
				t.Fatalf("the frozen payee's transfer: %+v", res)
			}
			lines, err := e.conn.Payouts(context.Background(), "2026-11-21")
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != len(want) {
				t.Fatalf("%d payout lines, want %d: %+v", len(lines), len(want), lines)
			}
			for i, l := range lines {
				if l.Kind != polypay.StatementPayout || l.PayoutNo != want[i].PayoutNo() || l.Amount != want[i].Amount ||
					l.TransactionNo == "" || l.Currency != "cny" || l.At != time.Date(2026, 11, 21, 10, 0, 0, 0, cst).Unix() {
					t.Errorf("line %d = %+v, want payout %s of %d", i, l, want[i].PayoutNo(), want[i].Amount)
				}
			}
			if lines, err := e.conn.Payouts(context.Background(), "2026-11-20"); err != nil || len(lines) != 0 {
				t.Fatalf("the day before: %+v, %v; want nothing", lines, err)
			}
		})
	}
}

func TestPayoutsErrors(t *testing.T) {
	e := newEnv(t)
	var pe *polypay.Error
	if _, err := e.conn.Payouts(context.Background(), "2026-11-31"); !errors.As(err, &pe) || pe.Code != polypay.EInvalid {
		t.Fatalf("Payouts of no day = %v, want EInvalid", err)
	}
	e.lose = map[string]string{"alipay.data.bill.accountlog.query": `{"error_response":{"code":"40006","msg":"Insufficient Permissions","sub_code":"isv.insufficient-isv-permissions","sub_msg":"ISV权限不足"}}`}
	if _, err := e.conn.Payouts(context.Background(), "2026-11-21"); polypay.ErrorCode(err) != polypay.EChannel {
		t.Fatalf("Payouts refused = %v, want EChannel", err)
	}
}

// TestStatementPayouts: the statement adds the day's payouts to the trade
// bill's lines; with no bill but payouts it has the payouts; a refused
// account log leaves the trade lines.
func TestStatementPayouts(t *testing.T) {
	t.Run("PayoutsOnly", func(t *testing.T) {
		e := newEnv(t)
		tr := e.paidTransfer(t, 1234)
		e.clock.Add(24 * time.Hour)
		lines, err := e.conn.Statement(context.Background(), "2026-11-21")
		if err != nil || len(lines) != 1 || lines[0].PayoutNo != tr.PayoutNo() || lines[0].Amount != 1234 {
			t.Fatalf("Statement = %+v, %v; want the payout alone", lines, err)
		}
	})
	t.Run("Both", func(t *testing.T) {
		e := newEnv(t)
		e.paid(t, charge(polypay.NewID("ch_"), 500))
		tr := e.paidTransfer(t, 1234)
		e.clock.Add(24 * time.Hour)
		lines, err := e.conn.Statement(context.Background(), "2026-11-21")
		if err != nil || len(lines) != 2 || lines[0].Kind != polypay.StatementPayment || lines[1].PayoutNo != tr.PayoutNo() {
			t.Fatalf("Statement = %+v, %v; want the payment and the payout", lines, err)
		}
	})
	t.Run("ErrNothing", func(t *testing.T) {
		e := newEnv(t)
		e.clock.Add(24 * time.Hour)
		if _, err := e.conn.Statement(context.Background(), "2026-11-21"); polypay.ErrorCode(err) != polypay.ENotFound {
			t.Fatalf("Statement of an empty day = %v, want ENotFound", err)
		}
	})
	t.Run("AccountLogRefused", func(t *testing.T) {
		e := newEnv(t)
		e.paid(t, charge(polypay.NewID("ch_"), 500))
		e.paidTransfer(t, 1234)
		e.clock.Add(24 * time.Hour)
		e.lose = map[string]string{"alipay.data.bill.accountlog.query": `{"error_response":{"code":"40006","msg":"Insufficient Permissions","sub_code":"isv.insufficient-isv-permissions","sub_msg":"ISV权限不足"}}`}
		lines, err := e.conn.Statement(context.Background(), "2026-11-21")
		if err != nil || len(lines) != 1 || lines[0].Kind != polypay.StatementPayment {
			t.Fatalf("Statement = %+v, %v; want the payment alone", lines, err)
		}
	})
}
