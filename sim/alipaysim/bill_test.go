package alipaysim_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-pay/gopay"
	"github.com/polypay/polypay/sim/alipaysim"
	"golang.org/x/text/encoding/simplifiedchinese"
)

const billMethod = "alipay.data.dataservice.bill.downloadurl.query"

// billFiles downloads a bill link and returns its zip entries, decoded from
// GBK.
func billFiles(t *testing.T, link string) map[string]string {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download: status %d: %s", resp.StatusCode, raw)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("the bill is not a zip: %v", err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if utf8.Valid(b) {
			t.Fatalf("%s is valid UTF-8; Alipay's bills are GBK", f.Name)
		}
		text, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
		if err != nil {
			t.Fatalf("%s is not GBK: %v", f.Name, err)
		}
		out[f.Name] = string(text)
	}
	return out
}

// detailRows parses the data rows between the header row and the end
// marker of a 业务明细 file.
func detailRows(t *testing.T, text string) [][]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(text))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || recs[0][0] != "支付宝交易号" || len(recs[0]) != 25 {
		t.Fatalf("no 25-column header row in\n%s", text)
	}
	for _, rec := range recs[1:] {
		if len(rec) != 25 {
			t.Fatalf("row of %d columns: %q", len(rec), rec)
		}
	}
	return recs[1:]
}

func TestTradeBill(t *testing.T) {
	e := newEnv(t)
	// Day 1 (2026-11-21): two payments, a partial refund of the first, a
	// barcode payment reversed by alipay.trade.cancel, and an unpaid trade.
	e.precreate(t, "bill_a", "10.00", "")
	e.precreate(t, "bill_b", "0.29", "")
	e.precreate(t, "bill_unpaid", "5.00", "")
	e.clock.Add(time.Minute)
	mustPay(t, e, "bill_a")
	e.clock.Add(time.Minute)
	mustPay(t, e, "bill_b")
	e.clock.Add(time.Minute)
	rep := e.call(t, "alipay.trade.refund", map[string]any{"out_trade_no": "bill_a", "refund_amount": "3.50", "out_request_no": "bill_a_r1"})
	wantCode(t, rep, "alipay.trade.refund", "10000", "")
	e.clock.Add(time.Minute)
	rep = e.call(t, "alipay.trade.pay", map[string]any{"out_trade_no": "bill_scan", "total_amount": "1.00", "subject": "扫码, 商品",
		"scene": "bar_code", "auth_code": alipaysim.NewPaymentCode("28")})
	wantCode(t, rep, "alipay.trade.pay", "10000", "")
	rep = e.call(t, "alipay.trade.cancel", map[string]any{"out_trade_no": "bill_scan"})
	wantCode(t, rep, "alipay.trade.cancel", "10000", "")
	tradeNo := func(no string) string {
		return e.call(t, "alipay.trade.query", map[string]any{"out_trade_no": no}).str("trade_no")
	}
	// Day 2: the rest of bill_a is refunded.
	e.clock.Add(24 * time.Hour)
	wantCode(t, e.call(t, "alipay.trade.refund", map[string]any{"out_trade_no": "bill_a", "refund_amount": "6.50", "out_request_no": "bill_a_r2"}),
		"alipay.trade.refund", "10000", "")
	e.clock.Add(24 * time.Hour) // now 2026-11-23: both days are billable

	rep = e.call(t, billMethod, map[string]any{"bill_type": "trade", "bill_date": "2026-11-21"})
	wantCode(t, rep, billMethod, "10000", "")
	link := rep.str("bill_download_url")
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, strings.TrimSuffix(e.gateway, "/gateway.do")+"/downloadBillFile.resource?") {
		t.Fatalf("bill_download_url %q", link)
	}
	files := billFiles(t, link)
	var detail, summary string
	for name, text := range files {
		switch {
		case strings.HasSuffix(name, "_20261121_业务明细.csv"):
			detail = text
		case strings.HasSuffix(name, "_20261121_业务明细(汇总).csv"):
			summary = text
		default:
			t.Errorf("unexpected file %q", name)
		}
	}
	if detail == "" || summary == "" {
		t.Fatalf("zip holds %v", files)
	}
	if !strings.Contains(u.Query().Get("downloadFileName"), "_20261121.csv.zip") || u.Query().Get("bizDates") != "20261121" {
		t.Errorf("link query %v", u.Query())
	}
	for _, want := range []string{
		"#支付宝业务明细查询\r\n#账号：[2088",
		"#起始日期：[2026年11月21日 00:00:00]   终止日期：[2026年11月22日 00:00:00]\r\n",
		"#-----------------------------------------业务明细列表----------------------------------------\r\n支付宝交易号,商户订单号,业务类型,",
		"#-----------------------------------------业务明细列表结束------------------------------------\r\n",
		"#交易合计：3笔，商家实收共11.29元，商家优惠共0.00元\r\n",
		"#退款合计：2笔，商家实收退款共-4.50元，商家优惠退款共0.00元\r\n",
		"#导出时间：[2026年11月23日 10:04:00]\r\n",
	} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail file lacks %q:\n%s", want, detail)
		}
	}
	type row struct{ tradeNo, outTradeNo, kind, subject, finished, order, received, reqNo, remark string }
	var got []row
	for _, r := range detailRows(t, detail) {
		got = append(got, row{r[0], r[1], r[2], r[3], r[5], r[11], r[12], r[21], r[24]})
	}
	a, b, scan := tradeNo("bill_a"), tradeNo("bill_b"), tradeNo("bill_scan")
	want := []row{
		{a + "\t", "bill_a\t", "交易", "测试商品", "2026-11-21 10:01:00", "10.00", "10.00", "", ""},
		{b + "\t", "bill_b\t", "交易", "测试商品", "2026-11-21 10:02:00", "0.29", "0.29", "", ""},
		{a + "\t", "bill_a\t", "退款", "测试商品", "2026-11-21 10:03:00", "10.00", "-3.50", "bill_a_r1\t", ""},
		{scan + "\t", "bill_scan\t", "交易", "扫码, 商品", "2026-11-21 10:04:00", "1.00", "1.00", "", ""},
		{scan + "\t", "bill_scan\t", "退款", "扫码, 商品", "2026-11-21 10:04:00", "1.00", "-1.00", "", "撤销"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d:\n%s", len(got), len(want), detail)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d\n got %q\nwant %q", i, got[i], want[i])
		}
	}
	if !strings.Contains(summary, "\r\n合计,,3,2,11.29,6.79,0.00,0.00,0.00,0.00,0.00,6.79\r\n") {
		t.Errorf("summary file:\n%s", summary)
	}

	t.Run("NextDay", func(t *testing.T) {
		rep := e.call(t, billMethod, map[string]any{"bill_type": "trade", "bill_date": "2026-11-22"})
		wantCode(t, rep, billMethod, "10000", "")
		var detail string
		for name, text := range billFiles(t, rep.str("bill_download_url")) {
			if strings.HasSuffix(name, "_业务明细.csv") {
				detail = text
			}
		}
		rows := detailRows(t, detail)
		if len(rows) != 1 || rows[0][1] != "bill_a\t" || rows[0][2] != "退款" || rows[0][12] != "-6.50" || rows[0][21] != "bill_a_r2\t" {
			t.Fatalf("rows %q", rows)
		}
	})
	t.Run("Month", func(t *testing.T) {
		// 2026-11 is the current month on the sim's clock.
		wantCode(t, e.call(t, billMethod, map[string]any{"bill_type": "trade", "bill_date": "2026-11"}), billMethod, "40004", "isv.invalid_arguments")
		e.clock.Add(8 * 24 * time.Hour) // 2026-12-01
		rep := e.call(t, billMethod, map[string]any{"bill_type": "trade", "bill_date": "2026-11"})
		wantCode(t, rep, billMethod, "10000", "")
		for name, text := range billFiles(t, rep.str("bill_download_url")) {
			if strings.HasSuffix(name, "_202611_业务明细.csv") {
				if n := len(detailRows(t, text)); n != 6 {
					t.Fatalf("month bill has %d rows, want 6", n)
				}
				return
			}
		}
		t.Fatal("no monthly detail file")
	})
	t.Run("ErrLinkExpired", func(t *testing.T) {
		rep := e.call(t, billMethod, map[string]any{"bill_type": "trade", "bill_date": "2026-11-21"})
		link := rep.str("bill_download_url")
		e.clock.Add(31 * time.Second)
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("expired link: status %d, want 404", resp.StatusCode)
		}
	})
}

func TestTradeBillErrors(t *testing.T) {
	e := newEnv(t)
	e.precreate(t, "be1", "1.00", "")
	mustPay(t, e, "be1") // 2026-11-21
	e.clock.Add(24 * time.Hour)
	tests := []struct {
		name          string
		biz           map[string]any
		code, subCode string
	}{
		{"ErrNoBillType", map[string]any{"bill_date": "2026-11-21"}, "40002", "isv.missing-parameter"},
		{"ErrNoBillDate", map[string]any{"bill_type": "trade"}, "40002", "isv.missing-parameter"},
		{"ErrFundBill", map[string]any{"bill_type": "signcustomer", "bill_date": "2026-11-21"}, "40004", "isv.invalid_arguments"},
		{"ErrBadDate", map[string]any{"bill_type": "trade", "bill_date": "2026/11/21"}, "40004", "isv.invalid_arguments"},
		{"ErrToday", map[string]any{"bill_type": "trade", "bill_date": "2026-11-22"}, "40004", "isv.invalid_arguments"},
		{"ErrFuture", map[string]any{"bill_type": "trade", "bill_date": "2027-01-01"}, "40004", "isv.invalid_arguments"},
		{"ErrNoTrades", map[string]any{"bill_type": "trade", "bill_date": "2026-11-20"}, "40004", "isp.bill_not_exist"},
		{"OK", map[string]any{"bill_type": "trade", "bill_date": "2026-11-21"}, "10000", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, e.call(t, billMethod, tt.biz), billMethod, tt.code, tt.subCode)
		})
	}
	t.Run("ErrOtherAppsTrades", func(t *testing.T) {
		other := newEnvWith(t, nil)
		other.clock.Add(24 * time.Hour)
		wantCode(t, other.call(t, billMethod, map[string]any{"bill_type": "trade", "bill_date": "2026-11-21"}), billMethod, "40004", "isp.bill_not_exist")
	})
	t.Run("ErrUnknownToken", func(t *testing.T) {
		resp, err := http.Get(strings.TrimSuffix(e.gateway, "/gateway.do") + "/downloadBillFile.resource?token=nope")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d, want 404", resp.StatusCode)
		}
	})
}

// TestTradeBillMounted checks the link when the sim is mounted under a
// prefix the way the registry mounts it, and with Options.BillURL.
func TestTradeBillMounted(t *testing.T) {
	for _, tt := range []struct {
		name, billURL string
	}{{"Derived", ""}, {"Configured", "https://pay.example/sim/alipay/"}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWith(t, func(o *alipaysim.Options) { o.BillURL = tt.billURL })
			mux := http.NewServeMux()
			mux.Handle("/sim/alipay/", http.StripPrefix("/sim/alipay", e.sim))
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			e.gateway = srv.URL + "/sim/alipay/gateway.do"
			e.precreate(t, "bm1", "1.00", "")
			mustPay(t, e, "bm1")
			e.clock.Add(24 * time.Hour)
			rep := e.call(t, billMethod, map[string]any{"bill_type": "trade", "bill_date": "2026-11-21"})
			wantCode(t, rep, billMethod, "10000", "")
			link := rep.str("bill_download_url")
			base := srv.URL + "/sim/alipay"
			if tt.billURL != "" {
				base = strings.TrimSuffix(tt.billURL, "/")
			}
			if !strings.HasPrefix(link, base+"/downloadBillFile.resource?") {
				t.Fatalf("link %q, want it under %s", link, base)
			}
			if tt.billURL == "" {
				if len(billFiles(t, link)) != 2 {
					t.Fatal("the zip does not hold two files")
				}
			}
		})
	}
}

// TestGopayBill: gopay verifies the signed bill answer.
func TestGopayBill(t *testing.T) {
	e := newEnv(t)
	e.precreate(t, "gb1", "2.00", "")
	mustPay(t, e, "gb1")
	e.clock.Add(24 * time.Hour)
	c := newGopay(t, e.gateway)
	rsp, err := c.DataBillDownloadUrlQuery(context.Background(), gopay.BodyMap{"bill_type": "trade", "bill_date": "2026-11-21"})
	if err != nil {
		t.Fatalf("gopay: %v", err)
	}
	if rsp.Response.Code != "10000" || !strings.Contains(rsp.Response.BillDownloadUrl, "/downloadBillFile.resource?") {
		t.Fatalf("gopay answer %+v", rsp.Response)
	}
}
