package alipay

import (
	"strings"
	"testing"

	sdk "github.com/smartwalle/alipay/v3"
)

// FuzzPayoutLine: an account log row, the channel's word on a payout,
// never panics, and a row read as a payout is money going out with the
// merchant's payout number.
func FuzzPayoutLine(f *testing.F) {
	f.Add(logTransfer, logOut, "TR0001", "-12.34", "2026-03-10 10:00:00", "20260310110070001506000012345678")
	f.Add(logTransfer, logOut, "TR0002", "12.34", "2026-03-10 10:00:00", "")
	f.Add(logTransfer, logOut, "TR0003", "-0.00", "not a time", "")
	f.Add("在线支付", "收入", "ch1", "100.00", "2026-03-10 10:00:00", "")
	f.Fuzz(func(t *testing.T, typ, dir, no, amount, at, trade string) {
		it := &sdk.AccountLogItem{Type: typ, Direction: dir, MerchantOrderNo: no, TransAmount: amount, TransDt: at, AliPayOrderNo: trade}
		l, ok, err := payoutLine(it)
		if ok && (err != nil || l.Amount <= 0 || l.PayoutNo != no || !strings.HasPrefix(amount, "-")) {
			t.Fatalf("%+v read as %+v (%v)", it, l, err)
		}
	})
}
