package unionpay_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/unionpay"
)

const (
	testCard = "6216261000000000018"
	testName = "全渠道"
)

// newTransfer is a valid unionpay transfer with extra ex.
func newTransfer(ex string) *polypay.Transfer {
	return &polypay.Transfer{ID: polypay.NewID("tr_"), AppID: "app_1", Channel: unionpay.ChannelPayout, OrderNo: "2026112100000001",
		Type: "b2c", Amount: 1000, Currency: "cny", Description: "payout", Extra: json.RawMessage(ex), Created: 1795000000}
}

const okExtra = `{"card_number":"` + testCard + `","user_name":"` + testName + `","open_bank_code":"0102"}`

func TestCheckTransfer(t *testing.T) {
	c := newFixture(t).client(t, unionpay.ChannelPayout, nil)
	tests := []struct {
		name   string
		change func(*polypay.Transfer)
		param  string // "" for a valid transfer
	}{
		{"OK", nil, ""},
		{"OKOpenBankOnly", func(tr *polypay.Transfer) {
			tr.Extra = json.RawMessage(`{"card_number":"` + testCard + `","user_name":"张三","open_bank":"中国工商银行"}`)
		}, ""},
		{"OKEverything", func(tr *polypay.Transfer) {
			tr.Extra = json.RawMessage(`{"card_number":"1","user_name":"` + strings.Repeat("张", 100) + `","open_bank_code":"ICBC","open_bank":"中国工商银行",` +
				`"prov":"上海","city":"上海","sub_bank":"中国工商银行上海分行","other":1}`)
		}, ""},
		{"OKB2B", func(tr *polypay.Transfer) { tr.Type = "b2b" }, ""},
		{"OKOrderNo1Digit", func(tr *polypay.Transfer) { tr.OrderNo = "7" }, ""},
		{"OKNullBankFields", func(tr *polypay.Transfer) {
			tr.Extra = json.RawMessage(`{"card_number":"` + testCard + `","user_name":"张三","open_bank_code":"0102","prov":null}`)
		}, ""},
		{"ErrOrderNoMissing", func(tr *polypay.Transfer) { tr.OrderNo = "" }, "order_no"},
		{"ErrOrderNo17", func(tr *polypay.Transfer) { tr.OrderNo = strings.Repeat("1", 17) }, "order_no"},
		{"ErrOrderNoDash", func(tr *polypay.Transfer) { tr.OrderNo = "2026-1121" }, "order_no"},
		{"ErrType", func(tr *polypay.Transfer) { tr.Type = "c2c" }, "type"},
		{"ErrCurrency", func(tr *polypay.Transfer) { tr.Currency = "usd" }, "currency"},
		{"ErrCurrencyEmpty", func(tr *polypay.Transfer) { tr.Currency = "" }, "currency"},
		{"ErrAmountZero", func(tr *polypay.Transfer) { tr.Amount = 0 }, "amount"},
		{"ErrAmountTooLarge", func(tr *polypay.Transfer) { tr.Amount = 100_000_000_000 }, "amount"},
		{"ErrExtraMissing", func(tr *polypay.Transfer) { tr.Extra = nil }, "extra[card_number]"},
		{"ErrExtraNotObject", func(tr *polypay.Transfer) { tr.Extra = json.RawMessage(`"x"`) }, "extra"},
		{"ErrCardEmpty", extra(`{"card_number":"","user_name":"张三","open_bank_code":"0102"}`), "extra[card_number]"},
		{"ErrCardSpaces", extra(`{"card_number":"6216 2610 0000 0000 018","user_name":"张三","open_bank_code":"0102"}`), "extra[card_number]"},
		{"ErrCard33", extra(`{"card_number":"` + strings.Repeat("9", 33) + `","user_name":"张三","open_bank_code":"0102"}`), "extra[card_number]"},
		{"ErrCardNumber", extra(`{"card_number":6216261000000000018,"user_name":"张三","open_bank_code":"0102"}`), "extra[card_number]"},
		{"ErrUserNameMissing", extra(`{"card_number":"` + testCard + `","open_bank_code":"0102"}`), "extra[user_name]"},
		{"ErrUserName101", extra(`{"card_number":"` + testCard + `","user_name":"` + strings.Repeat("a", 101) + `","open_bank_code":"0102"}`), "extra[user_name]"},
		{"ErrUserNameSpaces", extra(`{"card_number":"` + testCard + `","user_name":" 张三","open_bank_code":"0102"}`), "extra[user_name]"},
		{"ErrUserNameAmpersand", extra(`{"card_number":"` + testCard + `","user_name":"张三&customerNm=李四","open_bank_code":"0102"}`), "extra[user_name]"},
		{"ErrUserNameBrace", extra(`{"card_number":"` + testCard + `","user_name":"张三}","open_bank_code":"0102"}`), "extra[user_name]"},
		{"ErrUserNameControl", extra(`{"card_number":"` + testCard + `","user_name":"张\u0000三","open_bank_code":"0102"}`), "extra[user_name]"},
		{"ErrUserNameObject", extra(`{"card_number":"` + testCard + `","user_name":{},"open_bank_code":"0102"}`), "extra[user_name]"},
		{"ErrNoBank", extra(`{"card_number":"` + testCard + `","user_name":"张三"}`), "extra[open_bank_code]"},
		{"ErrOpenBankCode3", extra(`{"card_number":"` + testCard + `","user_name":"张三","open_bank_code":"010"}`), "extra[open_bank_code]"},
		{"ErrOpenBankTooLong", extra(`{"card_number":"` + testCard + `","user_name":"张三","open_bank":"` + strings.Repeat("行", 101) + `"}`), "extra[open_bank]"},
		{"ErrCityNotString", extra(`{"card_number":"` + testCard + `","user_name":"张三","open_bank_code":"0102","city":1}`), "extra[city]"},
		{"ErrSubBankSpaces", extra(`{"card_number":"` + testCard + `","user_name":"张三","open_bank_code":"0102","sub_bank":"支行 "}`), "extra[sub_bank]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransfer(okExtra)
			if tc.change != nil {
				tc.change(tr)
			}
			err := c.CheckTransfer(tr)
			if tc.param == "" {
				if err != nil {
					t.Fatalf("CheckTransfer = %v, want nil", err)
				}
				return
			}
			var pe *polypay.Error
			if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || pe.Param != tc.param {
				t.Fatalf("CheckTransfer = %#v, want EInvalid naming %q", err, tc.param)
			}
			noSecrets(t, err, string(tr.Extra))
		})
	}
}

func extra(ex string) func(*polypay.Transfer) {
	return func(tr *polypay.Transfer) { tr.Extra = json.RawMessage(ex) }
}

// noSecrets fails when an error repeats the card number or name of extra,
// in any language it renders in.
func noSecrets(t *testing.T, err error, ex string) {
	t.Helper()
	var m map[string]any
	json.Unmarshal([]byte(ex), &m)
	texts := []string{err.Error()}
	var pe *polypay.Error
	if errors.As(err, &pe) {
		texts = append(texts, pe.Localized(polypay.LangZH), pe.Localized(polypay.LangEN))
	}
	for _, k := range []string{"card_number", "user_name"} {
		s, _ := m[k].(string)
		if len(s) < 2 {
			continue
		}
		for _, txt := range texts {
			if strings.Contains(txt, s) {
				t.Fatalf("error %q repeats extra[%s]", txt, k)
			}
		}
	}
}

// FuzzCheckTransfer reads any extra and order_no: no panic, EInvalid
// naming a parameter for anything refused, and no error repeating the
// card number or the name.
func FuzzCheckTransfer(f *testing.F) {
	sim := newFuzzClient(f)
	f.Add(okExtra, "2026112100000001", "b2c")
	f.Add(`{"card_number":"1","user_name":"a","open_bank":"b"}`, "1", "b2b")
	f.Add(`{"card_number":"6216261000000000018","user_name":"6216261000000000018","open_bank_code":"0102"}`, "1", "b2c")
	f.Add(`{"card_number":"12345678901234567890123456789012345","user_name":"x","open_bank_code":"0102"}`, "12", "b2c")
	f.Add(`{"card_number":"62a","user_name":"张三","open_bank_code":"0102"}`, "12", "b2c")
	f.Add(`null`, "", "")
	f.Add(`{"card_number":["1"]}`, "1", "b2c")
	f.Fuzz(func(t *testing.T, ex, orderNo, typ string) {
		tr := newTransfer(ex)
		tr.OrderNo, tr.Type = orderNo, typ
		err := sim.CheckTransfer(tr)
		if err == nil {
			return
		}
		var pe *polypay.Error
		if !errors.As(err, &pe) || pe.Code != polypay.EInvalid || pe.Param == "" {
			t.Fatalf("CheckTransfer = %#v, want EInvalid naming a parameter", err)
		}
		noSecrets(t, err, ex)
	})
}

// newFuzzClient is a payout connector whose gateway is never reached.
func newFuzzClient(f *testing.F) *unionpay.Client {
	f.Helper()
	root := selfSigned(rootKey, 1, "root")
	c, err := unionpay.New(unionpay.ChannelPayout, unionpay.Config{MerID: merID, PrivateKeyPEM: merchantKeyPEM,
		SignCertPEM: merchantCertPEM, RootCertPEM: root, BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	return c
}
