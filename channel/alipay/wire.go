package alipay

import (
	"errors"
	"strconv"
	"strings"
	"time"

	sdk "github.com/smartwalle/alipay/v3"
)

// cst is Beijing time, the zone of every Alipay timestamp (timestamp,
// time_expire, gmt_payment...). A fixed zone needs no tzdata on the host.
var cst = time.FixedZone("CST", 8*3600)

const timeLayout = "2006-01-02 15:04:05"

// formatTime renders unix seconds as Alipay's "yyyy-MM-dd HH:mm:ss" in CST.
func formatTime(unix int64) string { return time.Unix(unix, 0).In(cst).Format(timeLayout) }

// parseTime reads an Alipay timestamp as unix seconds. Fractional seconds
// are accepted (gmt_refund carries milliseconds) and dropped.
func parseTime(s string) (int64, error) {
	t, err := time.ParseInLocation(timeLayout, s, cst)
	if err != nil {
		return 0, err
	}
	return t.Unix(), nil
}

// Amount bounds of one Alipay trade: 0.01 to 100,000,000.00 yuan.
const (
	minFen = 1
	maxFen = 100_000_000_00
)

// formatYuan renders fen as Alipay's yuan string with exactly two decimals.
// Integer math only: a float would turn 29 fen into "0.28999..." somewhere.
func formatYuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return sign + strconv.FormatInt(fen/100, 10) + "." + pad2(fen%100)
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

var errYuan = errors.New("not a yuan amount")

// parseYuan reads an amount Alipay sent ("12.34") as fen. It is strict
// because the value decides what we book: digits, optionally a point and one
// or two decimals; no sign, exponent, spaces, leading zeros or third
// decimal. Nothing is ever rounded.
func parseYuan(s string) (int64, error) {
	whole, frac, hasDot := strings.Cut(s, ".")
	switch {
	case whole == "" || len(whole) > 12:
		return 0, errYuan
	case len(whole) > 1 && whole[0] == '0':
		return 0, errYuan
	case hasDot && (frac == "" || len(frac) > 2):
		return 0, errYuan
	case !digits(whole) || !digits(frac):
		return 0, errYuan
	}
	fen, err := strconv.ParseInt(whole, 10, 64) // ≤ 12 digits: no overflow below
	if err != nil {
		return 0, errYuan
	}
	fen *= 100
	switch len(frac) {
	case 1:
		fen += int64(frac[0]-'0') * 10
	case 2:
		fen += int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	}
	return fen, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Alipay result codes and sub-codes the connector acts on.
const (
	codeSuccess  = sdk.CodeSuccess                  // 10000
	codePaying   = sdk.CodeOrderSuccessPayInProcess // 10003: alipay.trade.pay waits for the buyer
	codeUnknown  = sdk.CodeUnknowError              // 20000: outcome unknown, retry
	codeBusiness = sdk.CodeBusinessFailed           // 40004

	subTradeNotExist  = "ACQ.TRADE_NOT_EXIST"
	subSystemError    = "ACQ.SYSTEM_ERROR"           // a 40004 whose outcome is unknown: retry with the same request
	subInvalidAppAuth = "aop.invalid-app-auth-token" // a 20001: the merchant's authorization of the provider is gone
)

// Product codes per scene.
const (
	productF2F  = "FACE_TO_FACE_PAYMENT"   // alipay.trade.precreate and alipay.trade.pay (当面付)
	productApp  = "QUICK_MSECURITY_PAY"    // alipay.trade.app.pay
	productWap  = "QUICK_WAP_WAY"          // alipay.trade.wap.pay
	productPC   = "FAST_INSTANT_TRADE_PAY" // alipay.trade.page.pay
	productLite = "JSAPI_PAY"              // alipay.trade.create from a mini program
)

// refundRsp is the SDK's typed refund response plus gmt_refund_pay, which
// Alipay returns but the SDK's struct leaves out.
type refundRsp struct {
	sdk.TradeRefundRsp
	GmtRefundPay string `json:"gmt_refund_pay"`
}

// uniTransfer is the SDK's typed alipay.fund.trans.uni.transfer request
// plus notify_url, a common parameter its Params leaves out.
type uniTransfer struct {
	sdk.FundTransUniTransfer
	notifyURL string
}

func (u uniTransfer) Params() map[string]string {
	m := u.FundTransUniTransfer.Params()
	if u.notifyURL != "" {
		m["notify_url"] = u.notifyURL
	}
	return m
}
