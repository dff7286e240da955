package unionpay

import (
	"fmt"
	"testing"
	"time"

	"github.com/polypay/polypay"
)

// TestPayoutState: the codes UnionPay's payout guide says to keep
// querying on are processing, never failed; the purchase mapping is not
// reused for them.
func TestPayoutState(t *testing.T) {
	tests := []struct {
		code string
		want polypay.PayoutState
		err  bool
	}{
		{"00", polypay.PayoutPaid, false},
		{"A6", polypay.PayoutPaid, false},
		{"01", polypay.PayoutProcessing, false},
		{"03", polypay.PayoutProcessing, false},
		{"05", polypay.PayoutProcessing, false},
		{"12", polypay.PayoutProcessing, false},
		{"34", polypay.PayoutProcessing, false},
		{"60", polypay.PayoutProcessing, false},
		{"74", polypay.PayoutProcessing, false},
		{"30", polypay.PayoutFailed, false},
		{"61", polypay.PayoutFailed, false},
		{"64", polypay.PayoutFailed, false},
		{"66", polypay.PayoutFailed, false},
		{"", "", true},
		{"5", "", true},
		{"Z9", "", true},
		{"50", "", true},
	}
	for _, tc := range tests {
		t.Run("Code"+tc.code, func(t *testing.T) {
			got, err := payoutState(tc.code)
			if got != tc.want || (err != nil) != tc.err {
				t.Fatalf("payoutState(%q) = %q, %v; want %q (error %v)", tc.code, got, err, tc.want, tc.err)
			}
			if err != nil && polypay.ErrorCode(err) != polypay.ENotSupported {
				t.Fatalf("payoutState(%q) error %v, want ENotSupported", tc.code, err)
			}
		})
	}
	// Every code the purchase mapping knows, the payout mapping knows.
	for i := range 100 {
		code := fmt.Sprintf("%02d", i)
		_, perr := origState(code)
		if _, err := payoutState(code); (perr == nil) != (err == nil) {
			t.Errorf("code %s: purchase mapping error %v, payout mapping error %v", code, perr, err)
		}
	}
}

func TestAnswerOf(t *testing.T) {
	tests := []struct {
		code string
		want payoutAnswer
	}{
		{"00", payoutAccepted}, {"12", payoutDuplicate}, {"03", payoutInDoubt}, {"04", payoutInDoubt}, {"05", payoutInDoubt},
		{"01", payoutInDoubt}, {"34", payoutInDoubt}, {"60", payoutInDoubt}, {"06", payoutInDoubt},
		{"64", payoutRefused}, {"33", payoutRefused}, {"11", payoutRefused}, {"", payoutRefused},
	}
	for _, tc := range tests {
		if got := answerOf(tc.code); got != tc.want {
			t.Errorf("answerOf(%q) = %d, want %d", tc.code, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	p := &payee{CardNumber: "6216261000000000018", UserName: "张三"}
	tests := []struct{ in, want string }{
		{"卡号6216261000000000018无效", "卡号***无效"},
		{"张三 验证失败", "*** 验证失败"},
		{"card 6226388000000095 not found", "card *** not found"},
		{"交易失败[12345678901]", "交易失败[12345678901]"},
		{"成功[0000000]", "成功[0000000]"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := redact(tc.in, p); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzPayoutResult reads any payout outcome as a query answer or a
// notification states it: an error, or a result that is consistent.
func FuzzPayoutResult(f *testing.F) {
	f.Add("00", "成功", "1000", "1121114512", "782611211140001112223")
	f.Add("66", "持卡人身份信息不正确 6216261000000000018", "1000", "", "1")
	f.Add("05", "", "", "", "")
	f.Add("00", "", "", "9999999999", "")
	f.Add("64", "", "-1", "", "")
	f.Add("A6", "", "000000000000", "0229235959", "")
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, cst)
	f.Fuzz(func(t *testing.T, code, msg, amount, trace, queryID string) {
		v := map[string]string{"txnAmt": amount, "traceTime": trace, "queryId": queryID}
		res, err := payoutResult(code, msg, v, now)
		if err != nil {
			if res != nil {
				t.Fatal("a result with an error")
			}
			return
		}
		if res.Amount < 0 || res.TransactionNo != queryID {
			t.Fatalf("result %+v", res)
		}
		switch res.State {
		case polypay.PayoutPaid:
			if res.FailureCode != "" || amount == "" {
				t.Fatalf("paid %+v from amount %q", res, amount)
			}
		case polypay.PayoutFailed:
			if res.FailureCode != code || res.PaidAt != 0 {
				t.Fatalf("failed %+v from code %q", res, code)
			}
			run := 0
			for i := 0; i < len(res.FailureMsg); i++ {
				if res.FailureMsg[i] >= '0' && res.FailureMsg[i] <= '9' {
					if run++; run >= 12 {
						t.Fatalf("failure_msg %q keeps a card-length number", res.FailureMsg)
					}
				} else {
					run = 0
				}
			}
		case polypay.PayoutProcessing:
			if res.FailureCode != "" || res.PaidAt != 0 {
				t.Fatalf("processing %+v", res)
			}
		default:
			t.Fatalf("state %q", res.State)
		}
	})
}
