package unionpay_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/sim/unionpaysim"
)

func TestPayoutConformance(t *testing.T) { channeltest.RunPayout(t, payoutHarness) }

// payoutHarness runs payouts on unionpaysim with card numbers encrypted
// under its encryption certificate. The sim decides a payout when it is
// first queried (no Decide), as the sandbox does on retrieve.
var payoutHarness = channeltest.PayoutHarness{Family: unionpay.Family.Name, Channel: unionpay.ChannelPayout,
	Start: func(t *testing.T, wrap func(http.Handler) http.Handler) *channeltest.PayoutSim {
		f := newFixtureWith(t, wrap)
		conn := f.client(t, unionpay.ChannelPayout, func(c *unionpay.Config) { c.EncryptCertPEM = f.sim.EncryptCertPEM() })
		return &channeltest.PayoutSim{
			MerchantID:   merID,
			Conn:         func(*testing.T) polypay.Payouter { return conn },
			Payee:        payeeOf(unionpaysim.PayeeCard.Card, unionpaysim.PayeeCard.Name),
			UnknownPayee: channeltest.PayoutRefusal{Payee: payeeOf(unionpaysim.UnknownCard, "某人"), Code: unionpaysim.CodeCardInvalid},
			NameMismatch: channeltest.PayoutRefusal{Payee: payeeOf(unionpaysim.PayeeZhang.Card, "李四"), Code: unionpaysim.CodeNameMismatch},
			DailyLimit: channeltest.PayoutRefusal{Payee: payeeOf(unionpaysim.PayeeLimited.Card, unionpaysim.PayeeLimited.Name),
				Amount: unionpaysim.PayeeLimited.DailyLimit + 1, Code: unionpaysim.CodeOverLimit},
			SetFunds: func(t *testing.T, fen int64) {
				if err := f.sim.SetFunds(merID, fen); err != nil {
					t.Fatal(err)
				}
			},
			TopUp:     func(t *testing.T, fen int64) { topUp(t, f, fen) },
			FundsCode: unionpaysim.CodeNotEnough,
			Books: func(t *testing.T, payoutNo string) []channeltest.PayoutBookEntry {
				p, ok := f.sim.Payout(merID, payoutNo)
				if !ok {
					return nil
				}
				return []channeltest.PayoutBookEntry{{Amount: p.Amount, State: polypay.PayoutState(p.State)}}
			},
			Forge: func(t *testing.T, n channeltest.Notice) channeltest.Notice {
				form, err := url.ParseQuery(string(n.Body))
				if err != nil {
					t.Fatal(err)
				}
				v := map[string]string{}
				for k := range form {
					v[k] = form.Get(k)
				}
				if err := unionpay.Sign(otherKey, v); err != nil {
					t.Fatal(err)
				}
				out := url.Values{}
				for k, x := range v {
					out.Set(k, x)
				}
				n.Body = []byte(out.Encode())
				return n
			},
			StatementDay: func(*testing.T) string {
				return time.Now().In(time.FixedZone("CST", 8*3600)).Add(time.Hour).Format("2006-01-02")
			},
			Invalid: payoutInvalid,
		}
	}}

// The sim's payout states are polypay's words.
var _ = [...]bool{unionpaysim.PayoutPaid == string(polypay.PayoutPaid), unionpaysim.PayoutFailed == string(polypay.PayoutFailed),
	unionpaysim.PayoutProcessing == string(polypay.PayoutProcessing)}

func payeeOf(card, name string) channeltest.Payee {
	return channeltest.Payee{Extra: map[string]any{"card_number": card, "user_name": name, "open_bank_code": "0102"}}
}

// topUp adds to the merchant's payout funds through the sim's HTTP test
// endpoint.
func topUp(t *testing.T, f *fixture, fen int64) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"merId": merID, "amount": fen})
	res, err := http.Post(f.srv.URL+unionpaysim.TestPrefix+"/payout/topup", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got struct {
		Funds int64 `json:"funds"`
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != http.StatusOK || got.Funds < fen {
		t.Fatalf("top-up: HTTP %d, %+v, %v", res.StatusCode, got, err)
	}
}

// setExtra changes one key of a transfer's extra (nil deletes it).
func setExtra(key string, v any) func(*polypay.Transfer) {
	return func(tr *polypay.Transfer) {
		m := map[string]any{}
		json.Unmarshal(tr.Extra, &m)
		if v == nil {
			delete(m, key)
		} else {
			m[key] = v
		}
		tr.Extra, _ = json.Marshal(m)
	}
}

// payoutInvalid are UnionPay's own CheckTransfer refusals.
var payoutInvalid = []channeltest.PayoutInvalid{
	{Name: "ErrOrderNoLetters", Change: func(tr *polypay.Transfer) { tr.OrderNo = "1234abcd" }, Param: "order_no"},
	{Name: "ErrOrderNo17Digits", Change: func(tr *polypay.Transfer) { tr.OrderNo = strings.Repeat("1", 17) }, Param: "order_no"},
	{Name: "ErrCardNumberMissing", Change: setExtra("card_number", nil), Param: "extra[card_number]"},
	{Name: "ErrCardNumberLetters", Change: setExtra("card_number", "62162610000000x0018"), Param: "extra[card_number]"},
	{Name: "ErrCardNumberTooLong", Change: setExtra("card_number", strings.Repeat("6", 33)), Param: "extra[card_number]"},
	{Name: "ErrCardNumberNotString", Change: setExtra("card_number", 6216261000000000018), Param: "extra[card_number]"},
	{Name: "ErrUserNameMissing", Change: setExtra("user_name", nil), Param: "extra[user_name]"},
	{Name: "ErrUserNameTooLong", Change: setExtra("user_name", strings.Repeat("张", 101)), Param: "extra[user_name]"},
	{Name: "ErrOpenBankMissing", Change: setExtra("open_bank_code", nil), Param: "extra[open_bank_code]"},
	{Name: "ErrOpenBankCodeLength", Change: setExtra("open_bank_code", "01020"), Param: "extra[open_bank_code]"},
	{Name: "ErrExtraNotObject", Change: func(tr *polypay.Transfer) { tr.Extra = []byte(`["` + strconv.Itoa(1) + `"]`) }, Param: "extra"},
}
