package alipay

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/polypay/polypay"
	sdk "github.com/smartwalle/alipay/v3"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Values of BillRow.Type (业务类型 of Alipay's trade bill).
const (
	BillTrade  = "交易" // a payment
	BillRefund = "退款" // a refund, or a paid trade reversed by alipay.trade.cancel
)

// BillRow is one row of Alipay's trade bill (业务明细): a payment or a refund
// completed in the bill's period. Amounts are fen, signed as Alipay prints
// them; times are unix seconds (0 when the cell is empty). Columns this type
// does not carry (red packets, points, coupons, discounts, profit sharing)
// are read past, not checked.
type BillRow struct {
	TradeNo      string // 支付宝交易号
	OutTradeNo   string // 商户订单号: the charge id
	Type         string // 业务类型: BillTrade or BillRefund; anything else is passed through as printed
	Subject      string // 商品名称
	CreatedAt    int64  // 创建时间
	FinishedAt   int64  // 完成时间: paid, or refunded
	StoreID      string // 门店编号
	StoreName    string // 门店名称
	OperatorID   string // 操作员
	TerminalID   string // 终端号
	Counterparty string // 对方账户: the buyer's masked account
	OrderAmount  int64  // 订单金额（元）
	Received     int64  // 商家实收（元）: negative on refund rows
	OutRequestNo string // 退款批次号/请求号: the refund's out_request_no
	ServiceFee   int64  // 服务费（元）, as printed
	Remark       string // 备注
}

// ErrBillNotExist is wrapped by DownloadBill's error when Alipay has no
// bill for the date (sub_code isp.bill_not_exist): nothing happened that
// day, or the bill is not made yet (Alipay makes a day's bill the next
// morning).
var ErrBillNotExist = errors.New("alipay: no bill for that date")

const subBillNotExist = "isp.bill_not_exist"

// Limits of a bill download: the zip, and each file unpacked.
var (
	maxBillZip  int64 = 64 << 20
	maxBillFile int64 = 512 << 20
)

// DownloadBill fetches the app's trade bill (bill_type trade) for date,
// "yyyy-MM-dd" for a day or "yyyy-MM" for a month (Beijing time; only past
// days and months have one), with
// alipay.data.dataservice.bill.downloadurl.query, downloads the zip it
// links to and parses its 业务明细 CSV, GBK or UTF-8. Rows come in the
// bill's order.
//
// Errors: EInvalid for a malformed date; EChannel wrapping ErrBillNotExist
// when Alipay has no such bill; EChannel for other refusals (e.g. a date
// that is today); ErrBadSignature (wrapped) for an answer that does not
// verify; anything else (transport, a malformed or truncated file) is a
// plain error, safe to retry.
func (c *Client) DownloadBill(ctx context.Context, date string) ([]BillRow, error) {
	if !billDate(date) {
		return nil, polypay.ParamError("date", "alipay bill dates are yyyy-MM-dd or yyyy-MM, not %q", date)
	}
	rsp, err := c.api.BillDownloadURLQuery(ctx, sdk.BillDownloadURLQuery{AppAuthToken: c.token, BillType: "trade", BillDate: date})
	if err != nil {
		return nil, sdkError("bill", err)
	}
	if rsp.Code != codeSuccess {
		if rsp.Code == codeBusiness && rsp.SubCode == subBillNotExist {
			return nil, &polypay.Error{Code: polypay.EChannel, ChannelCode: subBillNotExist,
				Message: "支付宝没有 " + date + " 的账单", Err: fmt.Errorf("%w: %w", ErrBillNotExist, rsp.Error)}
		}
		return nil, apiError("bill", rsp.Error)
	}
	if rsp.BillDownloadURL == "" {
		return nil, errors.New("alipay bill: response has no bill_download_url")
	}
	zipped, err := c.fetchBill(ctx, rsp.BillDownloadURL)
	if err != nil {
		return nil, err
	}
	text, err := billDetail(zipped)
	if err != nil {
		return nil, fmt.Errorf("alipay bill %s: %w", date, err)
	}
	rows, err := parseBill(text)
	if err != nil {
		return nil, fmt.Errorf("alipay bill %s: %w", date, err)
	}
	return rows, nil
}

func billDate(s string) bool {
	layout := "2006-01-02"
	if len(s) == len("2006-01") {
		layout = "2006-01"
	}
	t, err := time.Parse(layout, s)
	return err == nil && t.Format(layout) == s
}

// fetchBill downloads the zip. The link is unsigned and short-lived (30 s);
// it came inside a signed answer, so where it points is trusted.
func (c *Client) fetchBill(ctx context.Context, link string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, fmt.Errorf("alipay bill: download link %q: %w", link, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("alipay bill: download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("alipay bill: download answered HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBillZip+1))
	if err != nil {
		return nil, fmt.Errorf("alipay bill: download: %w", err)
	}
	if int64(len(b)) > maxBillZip {
		return nil, fmt.Errorf("alipay bill: download larger than %d bytes", maxBillZip)
	}
	return b, nil
}

// billDetail finds the 业务明细 file in the zip (Alipay also ships a
// 业务明细(汇总) file, and names entries in GBK) by its column row, and
// returns it as UTF-8 text.
func billDetail(zipped []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		return "", fmt.Errorf("not a zip: %w", err)
	}
	for _, f := range zr.File {
		if !strings.HasSuffix(strings.ToLower(f.Name), ".csv") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return "", fmt.Errorf("zip entry %q: %w", f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxBillFile+1))
		rc.Close()
		if err != nil {
			return "", fmt.Errorf("zip entry %q: %w", f.Name, err)
		}
		if int64(len(b)) > maxBillFile {
			return "", fmt.Errorf("zip entry %q is larger than %d bytes", f.Name, maxBillFile)
		}
		text, err := decodeBill(b)
		if err != nil {
			return "", fmt.Errorf("zip entry %q: %w", f.Name, err)
		}
		if billColumns.MatchString(text) {
			return text, nil
		}
	}
	return "", errors.New("the zip holds no 业务明细 file")
}

// billColumns finds the column row of a 业务明细 file.
var billColumns = regexp.MustCompile(`(?m)^支付宝交易号,`)

// decodeBill reads a bill's bytes: UTF-8 (with or without BOM) as is,
// anything else as GBK. GB18030 decodes every GBK file identically.
func decodeBill(b []byte) (string, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if utf8.Valid(b) {
		return string(b), nil
	}
	u, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil {
		return "", fmt.Errorf("neither UTF-8 nor GBK: %w", err)
	}
	return string(u), nil
}

// billTotals are the summary lines after the rows: 交易合计：N笔 and
// 退款合计：N笔, checked against the rows so a truncated file is noticed.
var billTotals = regexp.MustCompile(`(?m)^#(交易|退款)合计：(\d+)笔`)

// parseBill reads a 业务明细 text: '#' lines are comments, the row starting
// 支付宝交易号 names the columns, the rows after it are data.
func parseBill(text string) ([]BillRow, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var (
		col  map[string]int
		rows []BillRow
		line int
	)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		line, _ = r.FieldPos(0)
		if col == nil {
			if cell(rec, 0) == "支付宝交易号" {
				col = map[string]int{}
				for i := range rec {
					col[strings.ReplaceAll(cell(rec, i), "(元)", "（元）")] = i
				}
			}
			continue
		}
		if len(rec) == 1 && cell(rec, 0) == "" {
			continue
		}
		if len(rec) != len(col) {
			return nil, fmt.Errorf("line %d has %d columns, the column row %d", line, len(rec), len(col))
		}
		row, err := billRow(rec, col)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		rows = append(rows, row)
	}
	if col == nil {
		return nil, errors.New("no 支付宝交易号 column row")
	}
	for _, m := range billTotals.FindAllStringSubmatch(text, -1) {
		want, _ := strconv.Atoi(m[2]) // \d+ of a sane length in any real bill
		kind := BillTrade
		if m[1] == "退款" {
			kind = BillRefund
		}
		got := 0
		for _, r := range rows {
			if r.Type == kind {
				got++
			}
		}
		if got != want {
			return nil, fmt.Errorf("%s合计 says %d rows, the file has %d: truncated?", m[1], want, got)
		}
	}
	return rows, nil
}

// cell is a trimmed cell: Alipay follows long numbers with a tab.
func cell(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.Trim(rec[i], " \t")
}

func billRow(rec []string, col map[string]int) (BillRow, error) {
	get := func(name string) string {
		i, ok := col[name]
		if !ok {
			return ""
		}
		return cell(rec, i)
	}
	for _, name := range []string{"支付宝交易号", "商户订单号", "业务类型", "完成时间", "订单金额（元）", "商家实收（元）"} {
		if _, ok := col[name]; !ok {
			return BillRow{}, fmt.Errorf("no %s column", name)
		}
	}
	row := BillRow{
		TradeNo:      get("支付宝交易号"),
		OutTradeNo:   get("商户订单号"),
		Type:         get("业务类型"),
		Subject:      get("商品名称"),
		StoreID:      get("门店编号"),
		StoreName:    get("门店名称"),
		OperatorID:   get("操作员"),
		TerminalID:   get("终端号"),
		Counterparty: get("对方账户"),
		OutRequestNo: get("退款批次号/请求号"),
		Remark:       get("备注"),
	}
	if row.TradeNo == "" {
		return row, errors.New("empty 支付宝交易号")
	}
	var err error
	for _, f := range []struct {
		name     string
		dst      *int64
		required bool
	}{
		{"订单金额（元）", &row.OrderAmount, true},
		{"商家实收（元）", &row.Received, true},
		{"服务费（元）", &row.ServiceFee, false},
	} {
		s := get(f.name)
		if s == "" && !f.required {
			continue
		}
		if *f.dst, err = parseSignedYuan(s); err != nil {
			return row, fmt.Errorf("%s %q is not an amount", f.name, s)
		}
	}
	for _, f := range []struct {
		name     string
		dst      *int64
		required bool
	}{
		{"创建时间", &row.CreatedAt, false},
		{"完成时间", &row.FinishedAt, true},
	} {
		s := get(f.name)
		if s == "" && !f.required {
			continue
		}
		if *f.dst, err = parseTime(s); err != nil {
			return row, fmt.Errorf("%s %q is not a time", f.name, s)
		}
	}
	return row, nil
}

// parseSignedYuan is parseYuan with an optional minus sign: bills print
// refunds and fees negative.
func parseSignedYuan(s string) (int64, error) {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		v, err := parseYuan(rest)
		return -v, err
	}
	return parseYuan(s)
}
