package wechatpay_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/wechatpay"
)

func TestParseTradeBillGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/tradebill_all.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, sum, err := wechatpay.ParseTradeBill(b)
	if err != nil {
		t.Fatal(err)
	}
	at := func(hm string) int64 {
		tm, _ := time.Parse("2006-01-02 15:04 -0700", "2026-11-21 "+hm+" +0800")
		return tm.Unix()
	}
	want := []wechatpay.BillRow{
		{TradeTime: at("10:00"), AppID: "wx0000000000000001", MchID: "1900000001", SubMchID: "0", TransactionID: "4200000000202611210000000001",
			OutTradeNo: "ch_fixture000000000000001", OpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", TradeType: "NATIVE", TradeState: "SUCCESS",
			BankType: "OTHERS", Currency: "CNY", SettlementTotal: 1234, RefundID: "0", OutRefundNo: "0", Description: "洗衣, 加急",
			Fee: 7, FeeRate: "0.60%", Total: 1234},
		{TradeTime: at("10:05"), AppID: "wx0000000000000001", MchID: "1900000001", SubMchID: "0", TransactionID: "4200000000202611210000000002",
			OutTradeNo: "ch_fixture000000000000002", OpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", TradeType: "JSAPI", TradeState: "SUCCESS",
			BankType: "CMB_DEBIT", Currency: "CNY", SettlementTotal: 99, RefundID: "0", OutRefundNo: "0", Description: "测试", Attach: "a=1",
			Fee: 1, FeeRate: "0.60%", Total: 99},
		{TradeTime: at("11:00"), AppID: "wx0000000000000001", MchID: "1900000001", SubMchID: "0", TransactionID: "4200000000202611210000000001",
			OutTradeNo: "ch_fixture000000000000001", OpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", TradeType: "NATIVE", TradeState: "REFUND",
			BankType: "OTHERS", Currency: "CNY", RefundID: "50300000000202611210000000001", OutRefundNo: "re_fixture000000000000001",
			Refund: 234, RefundType: "ORIGINAL", RefundStatus: "SUCCESS", Description: "洗衣, 加急", Fee: -1, FeeRate: "0.60%", RefundRequested: 234},
		{TradeTime: at("11:30"), AppID: "wx0000000000000001", MchID: "1900000001", SubMchID: "0", TransactionID: "4200000000202611210000000002",
			OutTradeNo: "ch_fixture000000000000002", OpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", TradeType: "JSAPI", TradeState: "REFUND",
			BankType: "CMB_DEBIT", Currency: "CNY", RefundID: "50300000000202611210000000002", OutRefundNo: "re_fixture000000000000002",
			Refund: 99, RefundType: "ORIGINAL", RefundStatus: "PROCESSING", Description: "测试", Attach: "a=1", Fee: -1, FeeRate: "0.60%", RefundRequested: 99},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", rows, want)
	}
	if want := (wechatpay.BillSummary{Count: 4, SettlementTotal: 1333, Refund: 333, Fee: 6, Total: 1333, RefundRequested: 333}); *sum != want {
		t.Errorf("summary %+v, want %+v", *sum, want)
	}
}

func TestParseTradeBillErrors(t *testing.T) {
	good, err := os.ReadFile("testdata/tradebill_all.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(good), "\r\n")
	join := func(ls ...string) []byte { return []byte(strings.Join(ls, "\r\n") + "\r\n") }
	for _, tt := range []struct {
		name string
		in   []byte
		want string
	}{
		{"Empty", nil, "fewer than three lines"},
		{"RowDropped", join(append(append([]string{}, lines[:2]...), lines[3:7]...)...), "does not add up"},
		{"AmountAltered", bytes.Replace(good, []byte("`12.34,`0.00,`0,"), []byte("`12.35,`0.00,`0,"), 1), "does not add up"},
		{"NoSummary", join(lines[:5]...), "summary"},
		{"NoBacktick", bytes.Replace(good, []byte("\r\n`2026-11-21 10:05"), []byte("\r\n2026-11-21 10:05"), 1), "backtick"},
		{"FloatAmount", bytes.Replace(good, []byte("`0.07,"), []byte("`7e-2,"), 1), "not an amount"},
		{"ThreeDecimals", bytes.Replace(good, []byte("`0.07,"), []byte("`0.070,"), 1), "not an amount"},
		{"BadTime", bytes.Replace(good, []byte("`2026-11-21 10:00:00"), []byte("`2026-11-21T10:00:00"), 1), "not a time"},
		{"MissingColumn", bytes.Replace(good, []byte(",手续费,"), []byte(",fee,"), 1), "no 手续费 column"},
		{"ExtraField", bytes.Replace(good, []byte("`测试,`a=1,"), []byte("`测试,`a=1,`x,"), 1), "fields"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := wechatpay.ParseTradeBill(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func FuzzParseTradeBill(f *testing.F) {
	good, err := os.ReadFile("testdata/tradebill_all.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("交易时间,商户号\r\n总交易单数\r\n`0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, sum, err := wechatpay.ParseTradeBill(b)
		if err != nil {
			return
		}
		// What parses must add up: the summary was checked against the rows.
		var fee, total int64
		for _, r := range rows {
			fee += r.Fee
			total += r.Total
		}
		if sum.Count != len(rows) || sum.Fee != fee || sum.Total != total {
			t.Fatalf("summary %+v does not match %d rows (fee %d, total %d)", *sum, len(rows), fee, total)
		}
	})
}

// TestStatement downloads the simulator's trade bill through the connector
// (signed link request, signed download, SHA-1 check) and maps it.
func TestStatement(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	conn := e.conns[wechatpay.ChannelQR]
	a, b, c := charge(wechatpay.ChannelQR, "stmt_a", 1234), charge(wechatpay.ChannelQR, "stmt_b", 99), charge(wechatpay.ChannelQR, "stmt_c", 500)
	for _, ch := range []*polypay.Charge{a, b, c} {
		e.paid(t, ch)
	}
	if _, err := conn.Refund(ctx, a, &polypay.Refund{OrderNo: "re_stmt_a_1", Amount: 234, Currency: "cny"}, e.notifyURL); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Refund(ctx, b, &polypay.Refund{OrderNo: "re_stmt_b_1", Amount: 99, Currency: "cny"}, e.notifyURL); err != nil {
		t.Fatal(err)
	}
	day := e.clock.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")

	t.Run("NotYet", func(t *testing.T) {
		_, err := conn.Statement(ctx, day)
		var pe *polypay.Error
		if !errors.As(err, &pe) || pe.Code != polypay.EChannel {
			t.Fatalf("today's bill: err = %v, want an EChannel refusal", err)
		}
	})
	e.sim.SetBillClock(func() time.Time { return time.Now().Add(24 * time.Hour) })
	t.Run("NoStatement", func(t *testing.T) {
		_, err := conn.Statement(ctx, "2020-01-01")
		var pe *polypay.Error
		if !errors.As(err, &pe) || pe.Code != polypay.ENotFound {
			t.Fatalf("err = %v, want ENotFound", err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		lines, err := conn.Statement(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		type key struct {
			kind       polypay.StatementKind
			out, refNo string
			amount     int64
			fee        int64
		}
		var got []key
		for _, l := range lines {
			if l.TransactionNo == "" || l.Currency != "cny" || l.At == 0 {
				t.Errorf("line %+v lacks transaction_no, currency or time", l)
			}
			got = append(got, key{l.Kind, l.OutTradeNo, l.RefundNo, l.Amount, l.Fee})
		}
		want := []key{
			{polypay.StatementPayment, a.ID, "", 1234, 7},
			{polypay.StatementPayment, b.ID, "", 99, 1},
			{polypay.StatementPayment, c.ID, "", 500, 3},
			{polypay.StatementRefund, a.ID, "re_stmt_a_1", 234, -1},
			{polypay.StatementRefund, b.ID, "re_stmt_b_1", 99, -1},
		}
		if !sameKeys(got, want) {
			t.Fatalf("lines\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		e.sim.TamperBill(mchID, day, func(rows [][]string) [][]string {
			return rows[1:]
		})
		defer e.sim.TamperBill(mchID, day, nil)
		lines, err := conn.Statement(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != 4 {
			t.Fatalf("%d lines after dropping one of 5", len(lines))
		}
	})
}

func sameKeys[T comparable](got, want []T) bool {
	if len(got) != len(want) {
		return false
	}
	n := map[T]int{}
	for _, g := range got {
		n[g]++
	}
	for _, w := range want {
		n[w]--
	}
	for _, v := range n {
		if v != 0 {
			return false
		}
	}
	return true
}
