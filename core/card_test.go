package core_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
)

func TestTakeCard(t *testing.T) {
	tests := []struct {
		name      string
		extra     string
		wantCard  *polypay.CardData
		wantRest  string
		wantParam string
	}{
		{"OK", `{"card":{"number":"4242 4242 4242 4242","exp_month":12,"exp_year":2030,"cvc":"123","name":"A B"},"x":1}`,
			&polypay.CardData{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123", Name: "A B"}, `{"x":1}`, ""},
		{"OKStrings", `{"card":{"number":"4242424242424242","exp_month":"1","exp_year":"2031"}}`,
			&polypay.CardData{Number: "4242424242424242", ExpMonth: 1, ExpYear: 2031}, `{}`, ""},
		{"OKNoCard", `{"x":1}`, nil, `{"x":1}`, ""},
		{"OKEmpty", ``, nil, ``, ""},
		{"ErrNumber", `{"card":{"number":"4242x","exp_month":1,"exp_year":2031}}`, nil, "", "extra[card][number]"},
		{"ErrMonth", `{"card":{"number":"4242424242424242","exp_month":13,"exp_year":2031}}`, nil, "", "extra[card][exp_month]"},
		{"ErrYear", `{"card":{"number":"4242424242424242","exp_month":1,"exp_year":31}}`, nil, "", "extra[card][exp_year]"},
		{"ErrCVC", `{"card":{"number":"4242424242424242","exp_month":1,"exp_year":2031,"cvc":"12"}}`, nil, "", "extra[card][cvc]"},
		{"ErrShape", `{"card":"4242424242424242"}`, nil, "", "extra[card]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card, rest, err := core.TakeCard(json.RawMessage(tc.extra))
			if tc.wantParam != "" {
				pe, ok := err.(*polypay.Error)
				if !ok || pe.Param != tc.wantParam {
					t.Fatalf("err = %v, want param %s", err, tc.wantParam)
				}
				if strings.Contains(err.Error(), "4242424242") {
					t.Fatalf("error shows the number: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(rest) != tc.wantRest {
				t.Errorf("rest = %s, want %s", rest, tc.wantRest)
			}
			if (card == nil) != (tc.wantCard == nil) || card != nil && *card != *tc.wantCard {
				t.Errorf("card = %#v, want %#v", card, tc.wantCard)
			}
		})
	}
}
