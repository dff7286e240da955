package alipay_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/channeltest"
)

// agreementHarness signs on channel alipay (the only one that signs): the
// credential is the page.sign URL, which the simulator's customer opens
// and confirms; the customer ends agreements in the simulated app, and is
// short of money by the simulator's agreement balance. Agreement
// notifications are signed forms like trade notifications, so Sim.Resign
// rewrites them too.
func agreementHarness(e *env) *channeltest.AgreementHarness {
	return &channeltest.AgreementHarness{
		Channel: alipay.ChannelApp,
		Sign: func(t *testing.T, a *polypay.Agreement, cred []byte) string {
			var signURL string
			if err := json.Unmarshal(cred, &signURL); err != nil {
				t.Fatalf("the credential is no JSON string: %s", cred)
			}
			no, err := e.sim.SignAgreement(context.Background(), signURL)
			if err != nil {
				t.Fatalf("signing %s: %v", a.ContractNo, err)
			}
			return no
		},
		UserTerminate: func(t *testing.T, a *polypay.Agreement) {
			if err := e.sim.UserUnsign(context.Background(), appID, a.ContractID); err != nil {
				t.Fatalf("the customer ending %s: %v", a.ContractID, err)
			}
		},
		DebitFails: func(t *testing.T, a *polypay.Agreement, fail bool) {
			e.sim.SetAgreementBalance(a.ContractID, !fail)
		},
		DebitFailCode: "ACQ.BUYER_BALANCE_NOT_ENOUGH",
	}
}
