package wechatpay

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Values of BillRow.TradeState (交易状态) in a trade bill.
const (
	BillSuccess = "SUCCESS" // a payment
	BillRefund  = "REFUND"  // a refund ("转入退款")
	BillRevoked = "REVOKED" // a payment-code trade revoked
)

// BillRow is one detail line of WeChat Pay's trade bill (交易账单, bill_type
// ALL): a payment dated by its success time, or a refund dated by the time
// WeChat Pay accepted it with the refund's status as of the bill. Amounts
// are fen; 手续费 is negative on refund rows (the fee returned).
type BillRow struct {
	TradeTime       int64  // 交易时间, unix seconds
	AppID           string // 公众账号ID
	MchID           string // 商户号
	SubMchID        string // 特约商户号 ("0" for a direct merchant)
	DeviceInfo      string // 设备号
	TransactionID   string // 微信订单号
	OutTradeNo      string // 商户订单号: the charge id
	OpenID          string // 用户标识
	TradeType       string // 交易类型: NATIVE, JSAPI, APP, MWEB, MICROPAY
	TradeState      string // 交易状态: BillSuccess, BillRefund, BillRevoked
	BankType        string // 付款银行
	Currency        string // 货币种类 (CNY)
	SettlementTotal int64  // 应结订单总金额: 0 on refund rows
	Coupon          int64  // 代金券金额
	RefundID        string // 微信退款单号 ("0" on payment rows)
	OutRefundNo     string // 商户退款单号 ("0" on payment rows)
	Refund          int64  // 退款金额
	CouponRefund    int64  // 充值券退款金额
	RefundType      string // 退款类型 (ORIGINAL, BALANCE)
	RefundStatus    string // 退款状态 (SUCCESS, PROCESSING, ABNORMAL, CLOSED); "" on payment rows
	Description     string // 商品名称
	Attach          string // 商户数据包
	Fee             int64  // 手续费: negative on refund rows
	FeeRate         string // 费率, as printed ("0.60%")
	Total           int64  // 订单金额: 0 on refund rows
	RefundRequested int64  // 申请退款金额
	FeeRemark       string // 费率备注
}

// BillSummary is the bill's last line.
type BillSummary struct {
	Count           int   // 总交易单数
	SettlementTotal int64 // 应结订单总金额
	Refund          int64 // 退款总金额
	CouponRefund    int64 // 充值券退款总金额
	Fee             int64 // 手续费总金额
	Total           int64 // 订单总金额
	RefundRequested int64 // 申请退款总金额
}

// billColumns are the columns ParseTradeBill needs, found by name: WeChat
// Pay says to read the column row rather than rely on the order.
var billColumns = []string{"交易时间", "商户号", "微信订单号", "商户订单号", "交易状态", "应结订单总金额", "微信退款单号",
	"商户退款单号", "退款金额", "手续费", "订单金额"}

// maxBillRows bounds what one bill may hold; a day of a very large merchant
// stays far below it.
const maxBillRows = 5_000_000

// ParseTradeBill reads a trade bill as the download link serves it: a column
// row, detail rows whose every field starts with a backtick (so that
// spreadsheets keep long numbers as text), then a summary column row
// (总交易单数,...) and the summary values, backticked as well. The summary
// is checked against the rows, so a truncated or altered file is refused.
func ParseTradeBill(b []byte) ([]BillRow, *BillSummary, error) {
	text := strings.TrimPrefix(string(b), "\ufeff")
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) < 3 {
		return nil, nil, errors.New("wechatpay bill: fewer than three lines (column row, summary column row, summary)")
	}
	header := strings.Split(lines[0], ",")
	col := make(map[string]int, len(header))
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, name := range billColumns {
		if _, ok := col[name]; !ok {
			return nil, nil, fmt.Errorf("wechatpay bill: no %s column", name)
		}
	}
	sumAt := -1
	for i := 1; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "总交易单数") {
			sumAt = i
			break
		}
	}
	if sumAt < 0 || sumAt+2 != len(lines) {
		return nil, nil, errors.New("wechatpay bill: the summary (总交易单数 and one line of values) is not at the end")
	}
	if sumAt-1 > maxBillRows {
		return nil, nil, fmt.Errorf("wechatpay bill: more than %d rows", maxBillRows)
	}
	rows := make([]BillRow, 0, sumAt-1)
	for i := 1; i < sumAt; i++ {
		f, err := backticked(lines[i], len(header))
		if err != nil {
			return nil, nil, fmt.Errorf("wechatpay bill: line %d: %w", i+1, err)
		}
		row, err := billRow(f, col)
		if err != nil {
			return nil, nil, fmt.Errorf("wechatpay bill: line %d: %w", i+1, err)
		}
		rows = append(rows, row)
	}
	sum, err := billSummary(lines[sumAt], lines[sumAt+1])
	if err != nil {
		return nil, nil, err
	}
	var got BillSummary
	got.Count = len(rows)
	for _, r := range rows {
		got.SettlementTotal += r.SettlementTotal
		got.Refund += r.Refund
		got.CouponRefund += r.CouponRefund
		got.Fee += r.Fee
		got.Total += r.Total
		got.RefundRequested += r.RefundRequested
	}
	if got != *sum {
		return nil, nil, fmt.Errorf("wechatpay bill: the summary %+v does not add up to the rows %+v: truncated or altered?", *sum, got)
	}
	return rows, sum, nil
}

// backticked splits a detail or summary line: every field is "`" + value,
// fields joined by commas. Values may hold commas (商品名称), never ",`".
func backticked(line string, n int) ([]string, error) {
	rest, ok := strings.CutPrefix(line, "`")
	if !ok {
		return nil, errors.New("does not start with a backtick")
	}
	f := strings.Split(rest, ",`")
	if n >= 0 && len(f) != n {
		return nil, fmt.Errorf("has %d fields, the column row %d", len(f), n)
	}
	return f, nil
}

func billRow(f []string, col map[string]int) (BillRow, error) {
	get := func(name string) string {
		if i, ok := col[name]; ok && i < len(f) {
			return f[i]
		}
		return ""
	}
	r := BillRow{
		AppID: get("公众账号ID"), MchID: get("商户号"), SubMchID: get("特约商户号"), DeviceInfo: get("设备号"),
		TransactionID: get("微信订单号"), OutTradeNo: get("商户订单号"), OpenID: get("用户标识"),
		TradeType: get("交易类型"), TradeState: get("交易状态"), BankType: get("付款银行"), Currency: get("货币种类"),
		RefundID: get("微信退款单号"), OutRefundNo: get("商户退款单号"), RefundType: get("退款类型"),
		RefundStatus: get("退款状态"), Description: get("商品名称"), Attach: get("商户数据包"),
		FeeRate: get("费率"), FeeRemark: get("费率备注"),
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", get("交易时间"), cst)
	if err != nil {
		return r, fmt.Errorf("交易时间 %q is not a time", get("交易时间"))
	}
	r.TradeTime = t.Unix()
	if r.TransactionID == "" || r.OutTradeNo == "" {
		return r, errors.New("empty 微信订单号 or 商户订单号")
	}
	for _, a := range []struct {
		name string
		dst  *int64
	}{
		{"应结订单总金额", &r.SettlementTotal}, {"代金券金额", &r.Coupon}, {"退款金额", &r.Refund},
		{"充值券退款金额", &r.CouponRefund}, {"手续费", &r.Fee}, {"订单金额", &r.Total}, {"申请退款金额", &r.RefundRequested},
	} {
		s := get(a.name)
		if _, ok := col[a.name]; !ok {
			continue
		}
		if *a.dst, err = billAmount(s); err != nil {
			return r, fmt.Errorf("%s %q is not an amount", a.name, s)
		}
	}
	return r, nil
}

func billSummary(head, values string) (*BillSummary, error) {
	names := strings.Split(head, ",")
	f, err := backticked(values, len(names))
	if err != nil {
		return nil, fmt.Errorf("wechatpay bill: summary: %w", err)
	}
	var s BillSummary
	for i, name := range names {
		if name == "总交易单数" {
			n, err := strconv.Atoi(f[i])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("wechatpay bill: 总交易单数 %q", f[i])
			}
			s.Count = n
			continue
		}
		dst := map[string]*int64{"应结订单总金额": &s.SettlementTotal, "退款总金额": &s.Refund, "充值券退款总金额": &s.CouponRefund,
			"手续费总金额": &s.Fee, "订单总金额": &s.Total, "申请退款总金额": &s.RefundRequested}[name]
		if dst == nil {
			continue
		}
		if *dst, err = billAmount(f[i]); err != nil {
			return nil, fmt.Errorf("wechatpay bill: summary %s %q is not an amount", name, f[i])
		}
	}
	return &s, nil
}

// billAmount reads a bill's yuan amount ("12.34", "-0.06", "0") as fen,
// exactly: at most two decimals, no exponent, no spaces.
func billAmount(s string) (int64, error) {
	neg := false
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		neg, s = true, rest
	}
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 13 || (dot && (frac == "" || len(frac) > 2)) {
		return 0, errors.New("not an amount")
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, errors.New("not an amount")
		}
	}
	w, _ := strconv.ParseInt(whole, 10, 64) // at most 13 digits
	frac += "00"
	f, _ := strconv.ParseInt(frac[:2], 10, 64)
	v := w*100 + f
	if neg {
		v = -v
	}
	return v, nil
}
