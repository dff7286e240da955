package alipay

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// testdata/bill_detail_utf8.csv is a hand-written 业务明细 in Alipay's
// layout: tabs after long numbers, a quoted subject with a comma, a bare
// quote in a remark, store columns, a negative and a positive fee.
func fixtureBill(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "bill_detail_utf8.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fixtureRows(t *testing.T) []BillRow {
	t.Helper()
	at := func(s string) int64 {
		tm, err := time.ParseInLocation(timeLayout, s, cst)
		if err != nil {
			t.Fatal(err)
		}
		return tm.Unix()
	}
	return []BillRow{
		{TradeNo: "2026112122001400000000000001", OutTradeNo: "ch_fixture000000000000001", Type: BillTrade, Subject: "洗衣, 加急",
			CreatedAt: at("2026-11-21 09:59:58"), FinishedAt: at("2026-11-21 10:00:05"), StoreID: "S01", StoreName: "一号店",
			OperatorID: "op7", TerminalID: "pos-1", Counterparty: "138****1234", OrderAmount: 1000, Received: 1000, ServiceFee: -6},
		{TradeNo: "2026112122001400000000000002", OutTradeNo: "ch_fixture000000000000002", Type: BillTrade, Subject: "测试",
			CreatedAt: at("2026-11-21 11:00:00"), FinishedAt: at("2026-11-21 11:00:01"), Counterparty: "ali***@example.com",
			OrderAmount: 29, Received: 29, Remark: `备注 "引号"`},
		{TradeNo: "2026112122001400000000000001", OutTradeNo: "ch_fixture000000000000001", Type: BillRefund, Subject: "洗衣, 加急",
			CreatedAt: at("2026-11-21 09:59:58"), FinishedAt: at("2026-11-21 15:30:00"), StoreID: "S01", StoreName: "一号店",
			OperatorID: "op7", TerminalID: "pos-1", Counterparty: "138****1234", OrderAmount: 1000, Received: -350,
			OutRequestNo: "re_fixture_1", ServiceFee: 2},
	}
}

func gbk(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func zipOf(t *testing.T, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const summaryText = "#支付宝业务汇总查询\r\n门店编号,门店名称,交易订单总笔数,退款订单总笔数\r\n合计,,2,1\r\n"

func TestBillDetail(t *testing.T) {
	text := fixtureBill(t)
	tests := []struct {
		name    string
		zipped  []byte
		wantErr string
	}{
		{"OKUTF8", zipOf(t, [2]string{"a_业务明细.csv", text}), ""},
		{"OKUTF8BOM", zipOf(t, [2]string{"a_业务明细.csv", "\ufeff" + text}), ""},
		{"OKGBKAfterSummary", zipOf(t, [2]string{"a_业务明细(汇总).csv", string(gbk(t, summaryText))}, [2]string{"a_业务明细.csv", string(gbk(t, text))}), ""},
		{"OKGBKEntryNames", zipOf(t, [2]string{string(gbk(t, "汇总.csv")), string(gbk(t, summaryText))}, [2]string{string(gbk(t, "明细.csv")), string(gbk(t, text))}), ""},
		{"ErrOnlySummary", zipOf(t, [2]string{"a_业务明细(汇总).csv", summaryText}), "no 业务明细"},
		{"ErrNotCSV", zipOf(t, [2]string{"a.txt", text}), "no 业务明细"},
		{"ErrNotZip", []byte(text), "not a zip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := billDetail(tt.zipped)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != text {
				t.Fatalf("text\n got %q\nwant %q", got, text)
			}
		})
	}
}

func TestParseBill(t *testing.T) {
	text := fixtureBill(t)
	want := fixtureRows(t)
	rows, err := parseBill(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d", len(rows), len(want))
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d\n got %+v\nwant %+v", i, rows[i], want[i])
		}
	}

	lines := strings.Split(text, "\n")
	without := func(i int) string {
		return strings.Join(append(append([]string{}, lines[:i]...), lines[i+1:]...), "\n")
	}
	tests := []struct {
		name, text, wantErr string
	}{
		{"OKCRLF", strings.ReplaceAll(text, "\n", "\r\n"), ""},
		{"OKASCIIParens", strings.ReplaceAll(text, "（元）", "(元)"), ""},
		{"OKNoTotals", strings.ReplaceAll(strings.ReplaceAll(text, "#交易合计", "#x"), "#退款合计", "#y"), ""},
		{"ErrTruncated", without(7), "退款合计 says 1 rows, the file has 0"},
		{"ErrMissingTrade", without(5), "交易合计 says 2 rows, the file has 1"},
		{"ErrNoColumnRow", without(4), "no 支付宝交易号 column row"},
		{"ErrThreeDecimals", strings.Replace(text, ",0.29,0.29,", ",0.29,0.291,", 1), "商家实收（元） \"0.291\""},
		{"ErrBadTime", strings.Replace(text, "2026-11-21 11:00:01", "2026-11-21T11:00:01", 1), "完成时间"},
		{"ErrShortRow", strings.Replace(text, ",备注 \"引号\"", "", 1), "has 24 columns"},
		{"ErrNoAmountColumn", strings.Replace(text, "商家实收（元）", "实收", 1), "no 商家实收（元） column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := parseBill(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(want) || rows[2] != want[2] {
				t.Fatalf("rows %+v", rows)
			}
		})
	}
}

func TestParseSignedYuan(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0.00", 0, true}, {"-3.50", -350, true}, {"12.34", 1234, true}, {"-0.01", -1, true},
		{"--1.00", 0, false}, {"+1.00", 0, false}, {"-", 0, false}, {"1.001", 0, false}, {"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSignedYuan(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseSignedYuan(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
