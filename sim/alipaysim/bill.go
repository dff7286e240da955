package alipaysim

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/polypay/polypay/sim/simkit"
)

// Trade bills (交易账单, bill_type "trade").
//
// alipay.data.dataservice.bill.downloadurl.query answers a link; the link
// serves a zip holding two CSV files in Alipay's layout, GBK-encoded:
// <account>_<date>_业务明细.csv (one row per payment and per refund
// completed in the period) and <account>_<date>_业务明细(汇总).csv (totals).
// <account> is the merchant's 2088 partner id followed by "0156", <date> is
// yyyyMMdd for a daily bill or yyyyMM for a monthly one.
//
// What the sim simplifies, and what is less than certain:
//   - Bills are computed on demand from the trades in memory, not frozen
//     the next morning: a date before today (a month before this one)
//     always has a bill once it holds a payment or refund. A period with
//     none is isp.bill_not_exist, as is any period on a fresh sim. [S]
//   - A date that is today or later, or a malformed one, is 40004
//     isv.invalid_arguments. [S] Only bill_type "trade" is simulated;
//     "signcustomer" (the fund bill) is refused the same way.
//   - No discounts, red packets, stores, operators or terminals: those
//     columns are 0.00 or empty. 商家实收 equals the amount moved.
//   - 服务费 is Options.FeeRate of the amount, printed negative on a
//     payment row (taken) and positive on a refund row (the fee returned in
//     proportion to the refund). [U] Whether Alipay returns the fee on a
//     refund depends on the product and the contract.
//   - A refund row's 订单金额 is the trade's total and its 商家实收 the
//     refunded amount, negative. [U] 创建时间 is the trade's creation time.
//   - alipay.trade.cancel reversing a paid trade appears as a 退款 row with
//     no 退款批次号 and 备注 "撤销". [U]
//   - The files are GB18030, which is byte-identical to GBK for every
//     character GBK has and can also carry the rest; zip entry names are
//     UTF-8 (flagged as such) where Alipay's are GBK. The summary file's
//     columns are from secondary sources. [U]
//   - The link is valid for 30 seconds of the sim's clock, like Alipay's,
//     and may be fetched any number of times meanwhile.

const (
	methodBill  = "alipay.data.dataservice.bill.downloadurl.query"
	billPath    = "/downloadBillFile.resource"
	billLinkTTL = 30 * time.Second
)

// billFile is a generated bill waiting to be downloaded.
type billFile struct {
	name    string // downloadFileName
	zip     []byte
	expires time.Time
}

type billBiz struct {
	BillType text `json:"bill_type"`
	BillDate text `json:"bill_date"`
}

type billRsp struct {
	head
	BillDownloadURL string `json:"bill_download_url"`
}

// BillColumns is the column row of Alipay's 业务明细, the order of the cells
// TamperBill's function sees.
var BillColumns = billHeader

// billHeader is the column row of Alipay's 业务明细.
var billHeader = []string{
	"支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号", "门店名称", "操作员",
	"终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）",
	"商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号",
	"服务费（元）", "分润（元）", "备注",
}

// billSummaryHeader is the column row of 业务明细(汇总). [U]
var billSummaryHeader = []string{
	"门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）", "商家实收（元）", "支付宝优惠（元）",
	"商家优惠（元）", "卡消费金额（元）", "服务费（元）", "分润（元）", "实收净额（元）",
}

func badBillArgs(msg string) *apiError { return business("isv.invalid_arguments", msg) }

// billPeriod reads bill_date: yyyy-MM-dd for a day, yyyy-MM for a month,
// Beijing time, strictly before the current day or month.
func billPeriod(date string, now time.Time) (from, to time.Time, label string, aerr *apiError) {
	y, m, d := now.In(cst).Date()
	switch len(date) {
	case len("2006-01-02"):
		t, err := time.ParseInLocation("2006-01-02", date, cst)
		if err != nil {
			return from, to, "", badBillArgs("bill_date 格式错误，日账单为 yyyy-MM-dd")
		}
		if !t.Before(time.Date(y, m, d, 0, 0, 0, 0, cst)) {
			return from, to, "", badBillArgs("日账单只能下载今天以前的")
		}
		return t, t.AddDate(0, 0, 1), t.Format("20060102"), nil
	case len("2006-01"):
		t, err := time.ParseInLocation("2006-01", date, cst)
		if err != nil {
			return from, to, "", badBillArgs("bill_date 格式错误，月账单为 yyyy-MM")
		}
		if !t.Before(time.Date(y, m, 1, 0, 0, 0, 0, cst)) {
			return from, to, "", badBillArgs("月账单只能下载本月以前的")
		}
		return t, t.AddDate(0, 1, 0), t.Format("200601"), nil
	}
	return from, to, "", badBillArgs("bill_date 格式错误")
}

// billLine is one detail row with what it is sorted by.
type billLine struct {
	at      time.Time
	tradeNo string
	refund  bool
	amount  int64 // fen moved: paid, or refunded
	fee     int64 // 服务费 as printed (negative: taken)
	cells   []string
}

// billDownloadURL is alipay.data.dataservice.bill.downloadurl.query.
func (s *Sim) billDownloadURL(c *call, now time.Time) (any, *apiError) {
	var b billBiz
	if e := decodeBiz(c, &b); e != nil {
		return nil, e
	}
	switch {
	case b.BillType == "":
		return nil, missingParam("bill_type")
	case b.BillDate == "":
		return nil, missingParam("bill_date")
	case b.BillType != "trade":
		return nil, badBillArgs("模拟器只提供 trade 账单")
	}
	from, to, label, aerr := billPeriod(string(b.BillDate), s.Hooks.BillNow(now))
	if aerr != nil {
		return nil, aerr
	}
	lines := s.billLines(c.appID, from, to)
	if fn := s.Hooks.Tamper(c.appID, string(b.BillDate)); fn != nil {
		lines = tampered(lines, fn)
	}
	if len(lines) == 0 {
		return nil, business("isp.bill_not_exist", "账单不存在")
	}
	account := sellerID(c.appID) + "0156"
	zipped, err := billZip(account, label, from, to, now, lines)
	if err != nil {
		s.log.Error("alipaysim: building a bill", "err", err)
		return nil, &apiError{"20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙"}
	}
	for token, f := range s.bills {
		if !now.Before(f.expires) {
			delete(s.bills, token)
		}
	}
	token := randomString(32, "0123456789abcdefghijklmnopqrstuvwxyz")
	name := account + "_" + label + ".csv.zip"
	s.bills[token] = &billFile{name: name, zip: zipped, expires: now.Add(billLinkTTL)}
	q := url.Values{
		"bizType":          {"trade"},
		"userId":           {account},
		"fileType":         {"csv.zip"},
		"bizDates":         {label},
		"downloadFileName": {name},
		"timestamp":        {strconv.FormatInt(now.UnixMilli(), 10)},
		"token":            {token},
	}
	return billRsp{success, c.base + billPath + "?" + q.Encode()}, nil
}

// billLines collects an app's payments and refunds completed in [from, to).
// Called with s.mu held.
func (s *Sim) billLines(appID string, from, to time.Time) []billLine {
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	row := func(t *trade, kind string, at time.Time, received, fee int64, reqNo, remark string) []string {
		if reqNo != "" {
			reqNo += "\t"
		}
		// Alipay follows long numbers with a tab so that spreadsheets keep
		// them as text.
		return []string{
			t.tradeNo + "\t", t.outTradeNo + "\t", kind, t.subject, formatTime(t.created), formatTime(at),
			"", "", "", "", t.buyerLogonID, yuan(t.amount), yuan(received), "0.00", "0.00", "0.00",
			"0.00", "0.00", "", "0.00", "0.00", reqNo,
			yuan(fee), "0.00", remark,
		}
	}
	var out []billLine
	for _, t := range s.trades {
		if t.appID != appID {
			continue
		}
		if in(t.paidAt) {
			f := -simkit.Fee(t.amount, s.feeRate)
			out = append(out, billLine{t.paidAt, t.tradeNo, false, t.amount, f, row(t, "交易", t.paidAt, t.amount, f, "", t.body)})
		}
		for _, rf := range t.refunds {
			if in(rf.at) {
				f := simkit.Fee(rf.amount, s.feeRate)
				out = append(out, billLine{rf.at, t.tradeNo, true, rf.amount, f, row(t, "退款", rf.at, -rf.amount, f, rf.outRequestNo, t.body)})
			}
		}
		if t.reversed > 0 && in(t.reversedAt) {
			f := simkit.Fee(t.reversed, s.feeRate)
			out = append(out, billLine{t.reversedAt, t.tradeNo, true, t.reversed, f, row(t, "退款", t.reversedAt, -t.reversed, f, "", "撤销")})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case !a.at.Equal(b.at):
			return a.at.Before(b.at)
		case a.tradeNo != b.tradeNo:
			return a.tradeNo < b.tradeNo
		case a.refund != b.refund:
			return !a.refund
		}
		return a.cells[21] < b.cells[21]
	})
	return out
}

// cnTime is the time format of the bill's comment lines.
func cnTime(t time.Time) string { return t.In(cst).Format("2006年01月02日 15:04:05") }

// billZip renders both CSV files, GB18030-encoded, into a zip.
func billZip(account, label string, from, to, now time.Time, lines []billLine) ([]byte, error) {
	var trades, refunds, paid, refunded, fees int64
	for _, l := range lines {
		fees += l.fee
		if l.refund {
			refunds++
			refunded += l.amount
		} else {
			trades++
			paid += l.amount
		}
	}
	intro := func(b *bytes.Buffer, title string) {
		b.WriteString(title + "\r\n")
		b.WriteString("#账号：[" + account + "]\r\n")
		b.WriteString("#起始日期：[" + cnTime(from) + "]   终止日期：[" + cnTime(to) + "]\r\n")
	}

	var detail bytes.Buffer
	intro(&detail, "#支付宝业务明细查询")
	detail.WriteString("#-----------------------------------------业务明细列表----------------------------------------\r\n")
	w := csv.NewWriter(&detail)
	w.UseCRLF = true
	_ = w.Write(billHeader) // writes to a bytes.Buffer cannot fail
	for _, l := range lines {
		_ = w.Write(l.cells)
	}
	w.Flush()
	detail.WriteString("#-----------------------------------------业务明细列表结束------------------------------------\r\n")
	fmt.Fprintf(&detail, "#交易合计：%d笔，商家实收共%s元，商家优惠共0.00元\r\n", trades, yuan(paid))
	fmt.Fprintf(&detail, "#退款合计：%d笔，商家实收退款共%s元，商家优惠退款共0.00元\r\n", refunds, yuan(-refunded))
	detail.WriteString("#导出时间：[" + cnTime(now) + "]\r\n")

	var summary bytes.Buffer
	intro(&summary, "#支付宝业务汇总查询")
	summary.WriteString("#-----------------------------------------业务汇总列表----------------------------------------\r\n")
	w = csv.NewWriter(&summary)
	w.UseCRLF = true
	_ = w.Write(billSummaryHeader)
	_ = w.Write([]string{"合计", "", strconv.FormatInt(trades, 10), strconv.FormatInt(refunds, 10),
		yuan(paid), yuan(paid - refunded), "0.00", "0.00", "0.00", yuan(fees), "0.00", yuan(paid - refunded + fees)})
	w.Flush()
	summary.WriteString("#----------------------------------------业务汇总列表结束-------------------------------------\r\n")
	summary.WriteString("#导出时间：[" + cnTime(now) + "]\r\n")

	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range []struct {
		name string
		text []byte
	}{
		{account + "_" + label + "_业务明细.csv", detail.Bytes()},
		{account + "_" + label + "_业务明细(汇总).csv", summary.Bytes()},
	} {
		gbk, err := simplifiedchinese.GB18030.NewEncoder().Bytes(f.text)
		if err != nil {
			return nil, err
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: now.In(cst)})
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(gbk); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// baseURL is where this sim is reached by the request r: Options.BillURL
// when set, else the scheme, host and directory of the path r came to
// (before any http.StripPrefix, which keeps RequestURI), so that bill links
// work wherever the sim is mounted.
func (s *Sim) baseURL(r *http.Request) string {
	if s.billURL != "" {
		return strings.TrimRight(s.billURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	p := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		p = u.Path
	}
	dir := path.Dir(p)
	if dir == "." || dir == "/" {
		dir = ""
	}
	return scheme + "://" + r.Host + dir
}

// serveBill answers a bill download link: the zip, unsigned like Alipay's.
func (s *Sim) serveBill(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	now := s.now()
	s.mu.Lock()
	f := s.bills[r.URL.Query().Get("token")]
	if f != nil && !now.Before(f.expires) {
		f = nil
	}
	s.mu.Unlock()
	if f == nil {
		http.Error(w, "账单下载链接不存在或已失效", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+f.name+`"`)
	h.Set("Content-Length", strconv.Itoa(len(f.zip)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(f.zip)
	}
}

// tampered runs a TamperBill hook over the detail rows and reads back what
// the totals need from the cells it returns. Called with s.mu held.
func tampered(lines []billLine, fn func([][]string) [][]string) []billLine {
	rows := make([][]string, len(lines))
	for i, l := range lines {
		rows[i] = append([]string(nil), l.cells...)
	}
	var out []billLine
	for _, cells := range fn(rows) {
		if len(cells) != len(billHeader) {
			continue // a hook that breaks the layout gets the row dropped
		}
		l := billLine{refund: cells[2] == "退款", cells: cells}
		l.amount, _ = signedFen(cells[12])
		if l.amount < 0 {
			l.amount = -l.amount
		}
		l.fee, _ = signedFen(cells[22])
		out = append(out, l)
	}
	return out
}

func signedFen(s string) (int64, error) {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		v, err := parseFen(rest)
		return -v, err
	}
	return parseFen(s)
}
