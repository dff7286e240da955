package alipay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
)

// TestDownloadBill pays and refunds through the connector against the sim,
// then reads the day's trade bill back: one row per payment and refund,
// amounts in fen.
func TestDownloadBill(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, b := charge("ch_bill_a", 1000), charge("ch_bill_b", 29)
	e.paid(t, a)
	e.clock.Add(time.Minute)
	e.paid(t, b)
	e.clock.Add(time.Minute)
	if res, err := e.conn.Refund(ctx, a, &polypay.Refund{OrderNo: "re_bill_1", Amount: 350, Currency: "cny"}, ""); err != nil || res.Status != polypay.RefundSucceeded {
		t.Fatalf("Refund: %+v, %v", res, err)
	}
	e.create(t, charge("ch_bill_unpaid", 500)) // never paid: not in the bill
	ta, err := e.conn.QueryCharge(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := e.conn.QueryCharge(ctx, b)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ErrToday", func(t *testing.T) {
		_, err := e.conn.DownloadBill(ctx, "2026-11-21")
		wantCode(t, err, polypay.EChannel, "isv.invalid_arguments")
	})
	e.clock.Add(24 * time.Hour)

	rows, err := e.conn.DownloadBill(ctx, "2026-11-21")
	if err != nil {
		t.Fatalf("DownloadBill: %v", err)
	}
	at := func(hhmm string) int64 {
		tm, err := time.ParseInLocation("2006-01-02 15:04", "2026-11-21 "+hhmm, cst)
		if err != nil {
			t.Fatal(err)
		}
		return tm.Unix()
	}
	want := []alipay.BillRow{
		{TradeNo: ta.TransactionNo, OutTradeNo: a.ID, Type: alipay.BillTrade, Subject: "测试商品", CreatedAt: at("10:00"), FinishedAt: at("10:00"),
			OrderAmount: 1000, Received: 1000, Remark: "body"},
		{TradeNo: tb.TransactionNo, OutTradeNo: b.ID, Type: alipay.BillTrade, Subject: "测试商品", CreatedAt: at("10:01"), FinishedAt: at("10:01"),
			OrderAmount: 29, Received: 29, Remark: "body"},
		{TradeNo: ta.TransactionNo, OutTradeNo: a.ID, Type: alipay.BillRefund, Subject: "测试商品", CreatedAt: at("10:00"), FinishedAt: at("10:02"),
			OrderAmount: 1000, Received: -350, OutRequestNo: "re_bill_1", Remark: "body"},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i := range want {
		got := rows[i]
		if got.Counterparty == "" {
			t.Errorf("row %d: no 对方账户", i)
		}
		got.Counterparty = ""
		if got != want[i] {
			t.Errorf("row %d\n got %+v\nwant %+v", i, got, want[i])
		}
	}

	tests := []struct {
		name, date    string
		code, chCode  string
		billNotExists bool
	}{
		{"ErrNoTradesThatDay", "2026-11-20", polypay.EChannel, "isp.bill_not_exist", true},
		{"ErrCurrentMonth", "2026-11", polypay.EChannel, "isv.invalid_arguments", false},
		{"ErrDateFormat", "2026/11/21", polypay.EInvalid, "", false},
		{"ErrNotADate", "2026-02-30", polypay.EInvalid, "", false},
		{"ErrEmpty", "", polypay.EInvalid, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := e.conn.DownloadBill(ctx, tt.date)
			if rows != nil {
				t.Fatalf("rows %+v with error %v", rows, err)
			}
			wantCode(t, err, tt.code, tt.chCode)
			if got := errors.Is(err, alipay.ErrBillNotExist); got != tt.billNotExists {
				t.Fatalf("errors.Is(err, ErrBillNotExist) = %v, want %v (%v)", got, tt.billNotExists, err)
			}
		})
	}
	t.Run("Month", func(t *testing.T) {
		e.clock.Add(10 * 24 * time.Hour) // December
		rows, err := e.conn.DownloadBill(ctx, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 {
			t.Fatalf("month bill: %d rows, want 3", len(rows))
		}
	})
	t.Run("ErrBadSignature", func(t *testing.T) {
		// A connector that trusts another Alipay key refuses the answer.
		c := newConn(t, e.gateway, merchantPKCS1, otherPub)
		if _, err := c.DownloadBill(ctx, "2026-11-21"); !errors.Is(err, polypay.ErrBadSignature) {
			t.Fatalf("DownloadBill with the wrong Alipay key: %v, want ErrBadSignature", err)
		}
	})
}
