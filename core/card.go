package core

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/polypay/polypay"
)

// TakeCard takes the card out of a charge's extra (extra[card][number],
// exp_month, exp_year, cvc, name) and returns it with extra without it, so
// that the card is never stored, echoed or hashed with the charge. No card
// is (nil, extra, nil).
//
// Interim: cards will come from the vault's token endpoint; this is the one
// place that reads them from extra.
func TakeCard(extra json.RawMessage) (*polypay.CardData, json.RawMessage, error) {
	if len(bytes.TrimSpace(extra)) == 0 {
		return nil, extra, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(extra, &m); err != nil {
		return nil, extra, polypay.ParamError("extra", "extra must be an object")
	}
	raw, ok := m["card"]
	if !ok {
		return nil, extra, nil
	}
	delete(m, "card")
	rest, err := json.Marshal(m)
	if err != nil {
		return nil, extra, err
	}
	var in struct {
		Number   string          `json:"number"`
		ExpMonth json.RawMessage `json:"exp_month"`
		ExpYear  json.RawMessage `json:"exp_year"`
		CVC      string          `json:"cvc"`
		Name     string          `json:"name"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, rest, polypay.ParamError("extra[card]", "extra[card] must be an object with number, exp_month, exp_year")
	}
	c := &polypay.CardData{Number: strings.ReplaceAll(in.Number, " ", ""), CVC: in.CVC, Name: in.Name}
	if len(c.Number) < 12 || len(c.Number) > 19 || strings.Trim(c.Number, "0123456789") != "" {
		return nil, rest, polypay.ParamError("extra[card][number]", "card number must be 12-19 digits")
	}
	month, ok1 := intField(in.ExpMonth)
	year, ok2 := intField(in.ExpYear)
	if !ok1 || month < 1 || month > 12 {
		return nil, rest, polypay.ParamError("extra[card][exp_month]", "exp_month must be 1-12")
	}
	if !ok2 || year < 2000 || year > 2100 {
		return nil, rest, polypay.ParamError("extra[card][exp_year]", "exp_year must be four digits")
	}
	c.ExpMonth, c.ExpYear = month, year
	if c.CVC != "" && (len(c.CVC) < 3 || len(c.CVC) > 4 || strings.Trim(c.CVC, "0123456789") != "") {
		return nil, rest, polypay.ParamError("extra[card][cvc]", "cvc must be 3 or 4 digits")
	}
	return c, rest, nil
}

// intField reads a JSON number or a numeric string (form-encoded bodies
// arrive as strings).
func intField(raw json.RawMessage) (int, bool) {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
