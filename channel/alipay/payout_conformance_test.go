package alipay_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/channeltest"
	"github.com/polypay/polypay/sim/alipaysim"
)

func TestPayoutConformance(t *testing.T) { channeltest.RunPayout(t, payoutHarness) }

// payee is a sandbox payee as a transfer names it: by logon id, or by
// user id.
func payee(p alipaysim.Payee, byUserID bool) channeltest.Payee {
	if byUserID {
		return channeltest.Payee{Recipient: p.UserID, Extra: map[string]any{"recipient_name": p.Name, "recipient_account_type": "ALIPAY_USERID"}}
	}
	return channeltest.Payee{Recipient: p.LogonID, Extra: map[string]any{"recipient_name": p.Name}}
}

// payoutHarness runs the connector's transfers on alipaysim: pending
// transfers are decided when queried, funds topped up through the sim's
// fund desk.
var payoutHarness = channeltest.PayoutHarness{Family: alipay.Family.Name, Channel: alipay.ChannelApp,
	Start: func(t *testing.T, wrap func(http.Handler) http.Handler) *channeltest.PayoutSim {
		e := newEnvWith(t, wrap)
		desk := strings.TrimSuffix(e.gateway, "/gateway.do") + "/fund/topup"
		return &channeltest.PayoutSim{
			MerchantID: appID,
			Conn:       func(t *testing.T) polypay.Payouter { return e.connFor(t, alipay.ChannelApp) },
			Payee:      payee(alipaysim.SandboxPayee, false),
			UnknownPayee: channeltest.PayoutRefusal{Code: "PAYEE_NOT_EXIST",
				Payee: channeltest.Payee{Recipient: "nobody@sandbox.com", Extra: map[string]any{"recipient_name": "沙箱环境"}}},
			NameMismatch: channeltest.PayoutRefusal{Code: "PAYEE_USER_INFO_ERROR",
				Payee: channeltest.Payee{Recipient: alipaysim.SandboxPayeePhone.LogonID, Extra: map[string]any{"recipient_name": "李四"}}},
			DailyLimit: channeltest.PayoutRefusal{Code: "EXCEED_LIMIT_UNRN_DM_AMOUNT",
				Payee: payee(alipaysim.SandboxPayeeUnverified, true), Amount: alipaysim.UnverifiedDailyLimit + 1},
			SetFunds: func(t *testing.T, fen int64) { e.sim.SetFunds(appID, fen) },
			TopUp: func(t *testing.T, fen int64) {
				res, err := http.PostForm(desk, url.Values{"app_id": {appID}, "amount": {yuanOf(fen)}})
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				if body, _ := io.ReadAll(res.Body); res.StatusCode != http.StatusOK {
					t.Fatalf("top-up: %d %s", res.StatusCode, body)
				}
			},
			FundsCode: "PAYER_BALANCE_NOT_ENOUGH",
			Books: func(t *testing.T, payoutNo string) []channeltest.PayoutBookEntry {
				var out []channeltest.PayoutBookEntry
				for _, p := range e.sim.Payouts() {
					if p.AppID == appID && p.OutBizNo == payoutNo {
						out = append(out, channeltest.PayoutBookEntry{Amount: p.Amount, State: simPayoutState(t, p.Status)})
					}
				}
				return out
			},
			Forge: func(t *testing.T, n channeltest.Notice) channeltest.Notice {
				v, err := url.ParseQuery(string(n.Body))
				if err != nil {
					t.Fatal(err)
				}
				signNotification(v, otherKey)
				n.Body = []byte(v.Encode())
				return n
			},
			StatementDay: func(t *testing.T) string {
				day := e.clock.Now().In(cst).Format("2006-01-02")
				e.clock.Add(24 * time.Hour) // the day's trade bill is there the next day
				return day
			},
			Invalid: []channeltest.PayoutInvalid{
				{Name: "ErrRecipientMissing", Param: "recipient", Change: func(tr *polypay.Transfer) { tr.Recipient = "" }},
				{Name: "ErrRecipientNameMissing", Param: "extra[recipient_name]", Change: func(tr *polypay.Transfer) { tr.Extra = []byte(`{}`) }},
				{Name: "ErrUserIDShape", Param: "recipient", Change: func(tr *polypay.Transfer) {
					tr.Recipient, tr.Extra = "2099102180000011", []byte(`{"recipient_name":"沙箱环境","recipient_account_type":"ALIPAY_USERID"}`)
				}},
				{Name: "ErrAmountBelowMinimum", Param: "amount", Change: func(tr *polypay.Transfer) { tr.Amount = 9 }},
			},
		}
	}}

// simPayoutState is the suite's word for a transfer status in the sim's
// books.
func simPayoutState(t *testing.T, status string) polypay.PayoutState {
	switch status {
	case "SUCCESS":
		return polypay.PayoutPaid
	case "DEALING":
		return polypay.PayoutProcessing
	case "FAIL":
		return polypay.PayoutFailed
	}
	t.Fatalf("the sim's books hold a transfer %q", status)
	return ""
}

func yuanOf(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }
