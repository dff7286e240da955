package api

import (
	"fmt"
	"testing"

	"github.com/polypay/polypay"
)

const (
	userBody            = `{"id":"u_1001","name":"张三","email":"a@example.com","gender":"MALE","disabled":false,"metadata":{"k":"v"}}`
	bonusBody           = `{"user":"u_1001","amount":1000,"order_no":"BONUS1","description":"赠送"}`
	balanceTransferBody = `{"user":"u_1001","recipient":"u_1002","amount":300,"user_fee":10,"order_no":"BT1"}`
)

// TestParseAccountParams: each bad parameter of the account routes is
// refused naming it.
func TestParseAccountParams(t *testing.T) {
	parse := map[string]func([]byte) error{
		"user":     func(b []byte) error { _, err := parseUserParams(b, true); return err },
		"update":   func(b []byte) error { _, err := parseUserParams(b, false); return err },
		"bonus":    func(b []byte) error { _, err := parseBonusParams(b); return err },
		"transfer": func(b []byte) error { _, err := parseBalanceTransferParams(b); return err },
	}
	tests := []struct {
		parser, body, param string
	}{
		{"user", userBody, ""},
		{"user", `{"name":"x"}`, "id"},
		{"user", `{"id":"has space"}`, "id"},
		{"user", `{"id":"u1","gender":"X"}`, "gender"},
		{"user", `{"id":"u1","type":"admin"}`, "type"},
		{"user", `{"id":"u1","disabled":"maybe"}`, "disabled"},
		{"update", `{"id":"u2"}`, "id"}, // an id cannot change
		{"update", `{"name":"李四","identified":true}`, ""},
		{"bonus", bonusBody, ""},
		{"bonus", `{"user":"u1","amount":0,"order_no":"B1"}`, "amount"},
		{"bonus", `{"user":"u1","amount":1,"order_no":"B-1"}`, "order_no"},
		{"bonus", `{"amount":1,"order_no":"B1"}`, "user"},
		{"transfer", balanceTransferBody, ""},
		{"transfer", `{"user":"u1","amount":1,"order_no":"B1"}`, "recipient"},
		{"transfer", `{"user":"u1","recipient":"u2","amount":1,"user_fee":"1","order_no":"B1"}`, "user_fee"},
	}
	for _, tc := range tests {
		t.Run(tc.parser+" "+tc.body, func(t *testing.T) {
			err := parse[tc.parser]([]byte(tc.body))
			pe, _ := err.(*polypay.Error)
			if (tc.param == "" && err != nil) || (tc.param != "" && (pe == nil || pe.Param != tc.param)) {
				t.Fatalf("%v, want param %q", err, tc.param)
			}
		})
	}
}

func FuzzParseUserParams(f *testing.F) {
	fuzzPayoutParser(f, userBody, func(raw []byte) error {
		p, err := parseUserParams(raw, true)
		if err == nil && !userIDRe.MatchString(p.ID) {
			panic(fmt.Sprintf("accepted id %q", p.ID))
		}
		return err
	})
}

func FuzzParseBalanceMoveParams(f *testing.F) {
	f.Add([]byte(balanceTransferBody))
	fuzzPayoutParser(f, bonusBody, func(raw []byte) error {
		b, errB := parseBonusParams(raw)
		if errB == nil && (b.Amount < 1 || !userIDRe.MatchString(b.User)) {
			panic(fmt.Sprintf("accepted bonus %+v", b))
		}
		t, errT := parseBalanceTransferParams(raw)
		if errT == nil && (t.Amount < 1 || !userIDRe.MatchString(t.User) || !userIDRe.MatchString(t.Recipient)) {
			panic(fmt.Sprintf("accepted transfer %+v", t))
		}
		if errB != nil {
			return errB
		}
		return errT
	})
}

const (
	rechargeBody = `{"user":"u1","user_fee":10,"balance_bonus":{"amount":100},"charge":{"order_no":"RC1","channel":"alipay_qr",
		"amount":1000,"client_ip":"127.0.0.1","subject":"充值","body":"余额充值"}}`
	withdrawalBody = `{"user":"u1","amount":300,"user_fee":10,"channel":"alipay","order_no":"WD1","description":"提现"}`
	settleBody     = `{"channel":"unionpay","recipient":{"account":"6216261000000000018","name":"全渠道","open_bank_code":"0102"}}`
)

// FuzzParseAccountMoneyParams: recharges, withdrawals and settle accounts
// refuse what they cannot take with a parameter error, and what they take
// is in range.
func FuzzParseAccountMoneyParams(f *testing.F) {
	f.Add([]byte(withdrawalBody))
	f.Add([]byte(settleBody))
	f.Add([]byte(`{"charge":{"capture":false,"app":"x"},"balance_bonus":[]}`))
	fuzzPayoutParser(f, rechargeBody, func(raw []byte) error {
		r, errR := parseRechargeParams(raw, "app_x")
		if errR == nil && (r.Charge.AppID != "app_x" || r.Charge.AuthOnly || r.BonusAmount < 0 || !userIDRe.MatchString(r.User)) {
			panic(fmt.Sprintf("accepted recharge %+v", r))
		}
		w, errW := parseWithdrawalParams(raw)
		if errW == nil && (w.Amount < 1 || !userIDRe.MatchString(w.User)) {
			panic(fmt.Sprintf("accepted withdrawal %+v", w))
		}
		s, errS := parseSettleAccountParams(raw)
		if errS == nil && s.Recipient.Account == "" {
			panic(fmt.Sprintf("accepted settle account %+v", s))
		}
		for _, err := range []error{errR, errW, errS} {
			if err != nil && polypay.ErrorCode(err) != polypay.EInvalid {
				return err
			}
		}
		return nil
	})
}
