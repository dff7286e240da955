package alipaysim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cst is Beijing time, the zone of every Alipay timestamp. A fixed zone keeps
// the simulator working on machines without tzdata.
var cst = time.FixedZone("CST", 8*3600)

const (
	timeLayout   = "2006-01-02 15:04:05"
	minuteLayout = "2006-01-02 15:04"        // wap.pay's documented time_expire
	millisLayout = "2006-01-02 15:04:05.000" // gmt_refund carries milliseconds
)

func formatTime(t time.Time) string   { return t.In(cst).Format(timeLayout) }
func formatMillis(t time.Time) string { return t.In(cst).Format(millisLayout) }

// maxFen is Alipay's upper bound for one trade, 100,000,000.00 yuan.
const maxFen = 100_000_000_00

// yuan renders fen as Alipay's two-decimal yuan string. Integer math only:
// a float would turn 0.29 into 0.28999... and the signed text would differ.
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

var errAmount = errors.New("not a yuan amount with at most two decimals")

// parseFen reads a yuan amount as merchants send it: digits with up to two
// decimals ("12", "12.3", "12.34"). Anything Alipay would not take as money
// (signs, exponents, spaces, a third decimal, leading zeros) is rejected
// rather than rounded, because rounding would silently change the amount.
func parseFen(s string) (int64, error) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || (hasDot && (frac == "" || len(frac) > 2)) {
		return 0, errAmount
	}
	if len(whole) > 1 && whole[0] == '0' {
		return 0, errAmount
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, errAmount
			}
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, errAmount
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64) // two checked digits
	return w*100 + f, nil
}
