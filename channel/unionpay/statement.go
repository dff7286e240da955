package unionpay

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay"
)

// Statement downloads one settlement day's files with the file transfer
// request (txnType 76, fileType 00) and reads the merchant's general
// transaction detail file in it, INN<yyMMdd>88ZM_<merId>. The answer's
// fileContent is the zip, zlib-deflated and then base64-encoded; respCode
// 98 (文件不存在) means no file yet: ENotFound. day is YYYY-MM-DD in
// Beijing time; UnionPay itself only takes MMDD (settleDate).
func (c *Client) Statement(ctx context.Context, day string) ([]polypay.StatementLine, error) {
	if err := c.platformOnly("statements"); err != nil {
		return nil, err
	}
	d, err := time.ParseInLocation("2006-01-02", day, cst)
	if err != nil {
		return nil, polypay.ParamError("day", "day must be YYYY-MM-DD")
	}
	f := c.fields("76", "01", bizNone)
	f["settleDate"], f["fileType"], f["txnTime"] = d.Format("0102"), "00", TxnTime(c.now().Unix())
	rsp, err := c.post(ctx, c.fileURL, f)
	if err != nil {
		return nil, err
	}
	switch rsp["respCode"] {
	case "00":
	case "98":
		return nil, polypay.NotFound("statement", day)
	default:
		return nil, refusal("file transfer", rsp)
	}
	zipped, err := DecodeFileContent(rsp["fileContent"])
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		return nil, fmt.Errorf("unionpay file %s: %w", rsp["fileName"], err)
	}
	want := "INN" + d.Format("060102") + "88ZM_" + c.merID
	for _, zf := range zr.File {
		if zf.Name != want {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return ParseZM(io.LimitReader(rc, 64<<20), d)
	}
	return nil, fmt.Errorf("unionpay file %s has no %s", rsp["fileName"], want)
}

// DecodeFileContent undoes fileContent's base64 and deflate (zlib format,
// as java.util.zip.Deflater writes it).
func DecodeFileContent(s string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("unionpay fileContent: %w", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("unionpay fileContent: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("unionpay fileContent: %w", err)
	}
	return out, nil
}

// ZMField is one fixed-width column of the ZM file; columns are separated
// by one space.
type ZMField struct {
	Name  string
	Width int
}

// ZMLayout is the leading part of the general transaction detail record
// (全渠道商户一般交易明细), the columns polypay reads; a record may carry
// further columns after these, which are ignored.
var ZMLayout = []ZMField{
	{"tradeCode", 3}, {"acqInsCode", 11}, {"sendInsCode", 11}, {"traceNo", 6}, {"txnTime", 10},
	{"accNo", 19}, {"txnAmt", 12}, {"merCatCode", 4}, {"termType", 2}, {"queryId", 21},
	{"oldPayType", 2}, {"orderId", 32}, {"payCardType", 2}, {"origTraceNo", 6}, {"origTxnTime", 10},
	{"merFee", 13}, {"settleAmt", 13}, {"payType", 4}, {"groupMerId", 15}, {"txnType", 2},
	{"txnSubType", 2}, {"bizType", 6}, {"accType", 2}, {"billType", 4}, {"billNo", 32},
	{"interactMode", 1}, {"origQryId", 21}, {"merId", 15},
}

// ZMLineLen is the length of a record's ZMLayout part.
var ZMLineLen = func() int {
	n := 0
	for _, f := range ZMLayout {
		n += f.Width + 1
	}
	return n - 1
}()

// SplitZM cuts one record into its ZMLayout columns, spaces trimmed.
func SplitZM(line string) (map[string]string, error) {
	if len(line) < ZMLineLen {
		return nil, fmt.Errorf("unionpay ZM record of %d bytes, want at least %d", len(line), ZMLineLen)
	}
	out := make(map[string]string, len(ZMLayout))
	pos := 0
	for _, f := range ZMLayout {
		out[f.Name] = strings.TrimSpace(line[pos : pos+f.Width])
		pos += f.Width
		if pos < ZMLineLen && line[pos] != ' ' {
			return nil, fmt.Errorf("unionpay ZM record: no separator after %s", f.Name)
		}
		pos++
	}
	return out, nil
}

// ParseZM reads a ZM file of settlement day d. Purchases (txnType 01),
// pre-authorization completions (03), refunds (04) and payouts (12, whose
// orderId is the transfer's PayoutNo) become lines;
// cancellations (31) become refunds of the whole amount; other records are
// skipped, pre-authorizations (02) and their cancels (32) among them: a
// hold moves no money. A refund line's TransactionNo is the
// purchase's queryId (origQryId), which is what polypay stores as the
// charge's transaction_no. Fees are signed C/D amounts: D is charged to
// the merchant (a positive fee), C handed back (negative).
func ParseZM(r io.Reader, d time.Time) ([]polypay.StatementLine, error) {
	var out []polypay.StatementLine
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		f, err := SplitZM(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		amount, err := parseFen(f["txnAmt"])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		fee, err := signedAmount(f["merFee"])
		if err != nil {
			return nil, fmt.Errorf("line %d: merFee: %w", n, err)
		}
		at := zmTime(f["txnTime"], d)
		l := polypay.StatementLine{Amount: amount, Fee: fee, Currency: "cny", At: at}
		switch f["txnType"] {
		case txnPurchase, txnPreAuthFinish:
			l.Kind, l.OutTradeNo, l.TransactionNo = polypay.StatementPayment, chargeOfOrder(f["orderId"]), f["queryId"]
		case "04", "31":
			l.Kind, l.TransactionNo = polypay.StatementRefund, f["origQryId"]
			if f["txnType"] == "04" {
				l.RefundNo = f["orderId"]
			}
		case txnPayout:
			l.Kind, l.PayoutNo, l.TransactionNo = polypay.StatementPayout, f["orderId"], f["queryId"]
		default:
			continue
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

func signedAmount(s string) (int64, error) {
	if len(s) != 13 || (s[0] != 'C' && s[0] != 'D') || !digits(s[1:]) {
		return 0, fmt.Errorf("%q is not C/D and 12 digits", s)
	}
	v, err := strconv.ParseInt(s[1:], 10, 64)
	if s[0] == 'C' {
		v = -v
	}
	return v, err
}

// zmTime reads MMDDhhmmss in the year of settlement day d; a December
// transaction settled in January belongs to the year before.
func zmTime(s string, d time.Time) int64 {
	if len(s) != 10 || !digits(s) {
		return 0
	}
	t, err := time.ParseInLocation("20060102150405", strconv.Itoa(d.Year())+s, cst)
	if err != nil {
		return 0
	}
	if t.After(d.AddDate(0, 0, 2)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t.Unix()
}
