package wechatsim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay/sim/simkit"
)

// bill is a generated trade bill waiting to be downloaded.
type bill struct {
	mchid   string
	content []byte
}

// billHeader is the column row of WeChat Pay's trade bill (bill_type ALL).
var billHeader = []string{
	"交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识",
	"交易类型", "交易状态", "付款银行", "货币种类", "应结订单总金额", "代金券金额", "微信退款单号",
	"商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包",
	"手续费", "费率", "订单金额", "申请退款金额", "费率备注",
}

// BillColumns is the column row of the trade bill, the order of the cells
// TamperBill's function sees.
var BillColumns = billHeader

func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// feeRate prints a rate in basis points as the bill's 费率 ("0.60%").
func feeRate(bp int64) string { return fmt.Sprintf("%d.%02d%%", bp/100, bp%100) }

// tradeBill answers the download link of a day's trade bill (Beijing
// dates). Like WeChat Pay, a bill exists only for days before today and
// with at least one payment or refund; otherwise NO_STATEMENT_EXIST.
// bill_type is ALL (default), SUCCESS or REFUND.
//
// As WeChat Pay documents the bill: a payment is dated by its success time;
// a refund by the time the refund was accepted, with its status as it is
// when the bill is made (a later change does not show); both appear even
// on the same day. 手续费 is Options.FeeRate of the payment, and on a
// refund row the fee returned in proportion, negative. Every detail and
// summary field starts with a backtick; the last two lines are the
// summary's header and values.
func (s *Sim) tradeBill(c *call, now time.Time) (reply, *apiError) {
	date := first(c.query["bill_date"])
	day, err := time.ParseInLocation("2006-01-02", date, cst)
	if err != nil {
		return reply{}, paramError("bill_date 应为 YYYY-MM-DD 格式")
	}
	y, m, d := s.Hooks.BillNow(now).In(cst).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, cst)
	if !day.Before(today) {
		return reply{}, invalidRequest("账单日期应早于今天")
	}
	billType := first(c.query["bill_type"])
	if billType == "" {
		billType = "ALL"
	}
	if billType != "ALL" && billType != "SUCCESS" && billType != "REFUND" {
		return reply{}, paramError("bill_type 应为 ALL、SUCCESS 或 REFUND")
	}
	next := day.Add(24 * time.Hour)
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(day) && t.Before(next) }
	// A provider's bill of one sub-merchant (partner.go), or the signer's own.
	owner, sp := c.mchid, ""
	if sub := first(c.query["sub_mchid"]); sub != "" {
		if e := s.checkSub(c, sub); e != nil {
			return reply{}, e
		}
		owner, sp = sub, c.mchid
	}

	type row struct {
		at     time.Time
		fields []string
	}
	var rows []row
	rate := feeRate(s.feeRate)
	if billType != "REFUND" {
		for _, t := range s.trades {
			if t.mchid != owner || t.spMchid != sp || !in(t.paidAt) {
				continue
			}
			rows = append(rows, row{t.paidAt, []string{
				t.paidAt.In(cst).Format("2006-01-02 15:04:05"), t.appid, t.mchid, "0", "", t.transactionID, t.outTradeNo, t.openid,
				t.tradeType, stateSuccess, t.bankType, "CNY", yuan(t.amount), "0.00", "0", "0", "0.00", "0.00", "", "",
				t.description, t.attach, yuan(simkit.Fee(t.amount, s.feeRate)), rate, yuan(t.amount), "0.00", "",
			}})
		}
	}
	if billType != "SUCCESS" {
		for _, r := range s.refunds {
			if r.mchid != owner || r.spMchid != sp || !in(r.created) {
				continue
			}
			t := s.trades[tradeKey{r.mchid, r.outTradeNo}]
			rows = append(rows, row{r.created, []string{
				r.created.In(cst).Format("2006-01-02 15:04:05"), t.appid, t.mchid, "0", "", t.transactionID, t.outTradeNo, t.openid,
				t.tradeType, stateRefund, t.bankType, "CNY", "0.00", "0.00", r.refundID, r.outRefundNo, yuan(r.amount), "0.00",
				"ORIGINAL", r.status, t.description, t.attach, yuan(-simkit.Fee(r.amount, s.feeRate)), rate, "0.00", yuan(r.amount), "",
			}})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].at.Before(rows[j].at) })
	fields := make([][]string, len(rows))
	for i, r := range rows {
		fields[i] = r.fields
	}
	if fn := s.Hooks.Tamper(c.mchid, date); fn != nil {
		fields = fn(fields)
	}
	if len(fields) == 0 {
		return reply{}, &apiError{http.StatusBadRequest, "NO_STATEMENT_EXIST", "账单文件不存在"}
	}
	var settled, refunded, fees, ordered, asked int64
	var b strings.Builder
	b.WriteString(strings.Join(billHeader, ",") + "\r\n")
	for _, f := range fields {
		if len(f) != len(billHeader) {
			continue // a hook that breaks the layout gets the row dropped
		}
		settled += fen(f[12])
		refunded += fen(f[16])
		fees += fen(f[22])
		ordered += fen(f[24])
		asked += fen(f[25])
		b.WriteString("`" + strings.Join(f, ",`") + "\r\n")
	}
	b.WriteString("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n")
	b.WriteString(fmt.Sprintf("`%d,`%s,`%s,`0.00,`%s,`%s,`%s\r\n", len(fields), yuan(settled), yuan(refunded), yuan(fees), yuan(ordered), yuan(asked)))

	token := randomString(32, alnum)
	s.bills[token] = &bill{mchid: c.mchid, content: []byte(b.String())}
	sum := sha1.Sum(s.bills[token].content)
	return reply{status: http.StatusOK, body: struct {
		DownloadURL string `json:"download_url"`
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
	}{"https://api.mch.weixin.qq.com/v3/billdownload/file?token=" + token, "SHA1", hex.EncodeToString(sum[:])}}, nil
}

// fen reads a bill amount the sim printed ("-0.06"); anything else is 0.
func fen(s string) int64 {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt((frac + "00")[:2], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	if neg {
		return -(w*100 + f)
	}
	return w*100 + f
}

// billFile serves a bill's bytes, unsigned as WeChat Pay's download is.
func (s *Sim) billFile(c *call, now time.Time) (reply, *apiError) {
	b := s.bills[first(c.query["token"])]
	if b == nil || b.mchid != c.mchid {
		return reply{}, paramError("token 无效或已过期")
	}
	return reply{status: http.StatusOK, body: b.content}, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// certificates answers the platform certificate, encrypted with the
// merchant's APIv3 key, for merchants on certificate verification.
func (s *Sim) certificates(c *call, now time.Time) (reply, *apiError) {
	res, err := encrypt(c.merchant.APIv3Key, "certificate", s.cert)
	if err != nil {
		return reply{}, errSystem
	}
	type cert struct {
		SerialNo           string   `json:"serial_no"`
		EffectiveTime      string   `json:"effective_time"`
		ExpireTime         string   `json:"expire_time"`
		EncryptCertificate resource `json:"encrypt_certificate"`
	}
	return reply{status: http.StatusOK, body: struct {
		Data []cert `json:"data"`
	}{[]cert{{s.certSerial, formatTime(s.certFrom), formatTime(s.certTo), res}}}}, nil
}
