package wechatpay_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
	"github.com/polypay/polypay/channel/wechatpay"
	"github.com/polypay/polypay/sim/wechatsim"
)

// The sandbox payees the conformance payouts go to.
var (
	payeeOK      = wechatsim.SandboxPayees[0] // 张三
	payeeOther   = wechatsim.SandboxPayees[1] // 李四
	payeeLimited = wechatsim.SandboxPayees[2] // 王五, paid past the daily limit
)

// testDailyLimit is the payees' daily limit in these tests (fen).
const testDailyLimit = 50_000

func TestPayoutConformance(t *testing.T) { channeltest.RunPayout(t, payoutHarness) }

// payoutHarness runs the connector's payouts on wechatsim: the sim decides
// a transfer when it is queried, and notifies single transfers' batches.
var payoutHarness = channeltest.PayoutHarness{Family: wechatpay.Family.Name, Channel: wechatpay.ChannelPub,
	Start: func(t *testing.T, wrap func(http.Handler) http.Handler) *channeltest.PayoutSim {
		e := newEnvOpts(t, wrap, func(o *wechatsim.Options) { o.PayeeDailyLimit = testDailyLimit })
		conn := e.conns[wechatpay.ChannelPub]
		return &channeltest.PayoutSim{
			MerchantID: mchID,
			Conn:       func(t *testing.T) polypay.Payouter { return conn },
			Payee:      channeltest.Payee{Recipient: payeeOK.OpenID},
			UnknownPayee: channeltest.PayoutRefusal{Payee: channeltest.Payee{Recipient: "oUpF8uNoSuchUser000000000000"},
				Code: "OPENID_INVALID"},
			NameMismatch: channeltest.PayoutRefusal{Payee: channeltest.Payee{Recipient: payeeOK.OpenID,
				Extra: map[string]any{"user_name": payeeOther.Name}}, Code: "NAME_NOT_CORRECT"},
			DailyLimit: channeltest.PayoutRefusal{Payee: channeltest.Payee{Recipient: payeeLimited.OpenID},
				Amount: testDailyLimit + 1, Code: "DAY_RECEIVED_QUOTA_EXCEED"},
			SetFunds:  func(t *testing.T, fen int64) { e.sim.SetFunds(mchID, fen) },
			TopUp:     func(t *testing.T, fen int64) { e.topUp(t, fen) },
			FundsCode: "NOT_ENOUGH",
			Books: func(t *testing.T, payoutNo string) []channeltest.PayoutBookEntry {
				var out []channeltest.PayoutBookEntry
				for _, p := range e.sim.Payouts() {
					if p.OutDetailNo == payoutNo {
						out = append(out, channeltest.PayoutBookEntry{Amount: p.Amount, State: bookState(t, p.Status)})
					}
				}
				return out
			},
			Forge: func(t *testing.T, n channeltest.Notice) channeltest.Notice {
				n.Header = http.Header{}
				signHeaders(n.Header, otherKey, keyID, time.Now().Unix(), n.Body)
				return n
			},
			Invalid: []channeltest.PayoutInvalid{
				{Name: "ErrB2B", Change: func(tr *polypay.Transfer) { tr.Type = "b2b" }, Param: "type"},
				{Name: "ErrOrderNoSymbol", Change: func(tr *polypay.Transfer) { tr.OrderNo = "2026-11-21" }, Param: "order_no"},
				{Name: "ErrRecipientMissing", Change: func(tr *polypay.Transfer) { tr.Recipient = "" }, Param: "recipient"},
				{Name: "ErrUserNameFrom2000Yuan", Change: func(tr *polypay.Transfer) { tr.Amount = 200000 }, Param: "extra[user_name]"},
				{Name: "ErrForceCheckWithoutName", Change: func(tr *polypay.Transfer) { tr.Extra = []byte(`{"force_check":true}`) }, Param: "extra[user_name]"},
				{Name: "ErrForceCheckNotBool", Change: func(tr *polypay.Transfer) { tr.Extra = []byte(`{"force_check":"yes"}`) }, Param: "extra[force_check]"},
			},
		}
	}}

// bookState is the suite's word for a detail_status.
func bookState(t *testing.T, s string) polypay.PayoutState {
	switch s {
	case "PROCESSING":
		return polypay.PayoutProcessing
	case "SUCCESS":
		return polypay.PayoutPaid
	case "FAIL":
		return polypay.PayoutFailed
	}
	t.Fatalf("the simulator's books hold detail_status %q", s)
	return ""
}

// topUp adds fen to the merchant's funds through the sandbox's HTTP
// endpoint, as a merchant testing by hand would.
func (e *env) topUp(t *testing.T, fen int64) {
	t.Helper()
	resp, err := http.Post(e.base+"/sandbox/"+mchID+"/topup", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"amount": {strconv.FormatInt(fen, 10)}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("top-up: HTTP %d", resp.StatusCode)
	}
}
