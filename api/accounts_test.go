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
