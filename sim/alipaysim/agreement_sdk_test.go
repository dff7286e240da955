package alipaysim_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/smartwalle/alipay/v3"
)

// newSmartwalle is smartwalle/alipay's client for the test merchant, the
// SDK channel/alipay uses, verifying answers with the sim's platform key.
func newSmartwalle(t *testing.T, e *env) *alipay.Client {
	t.Helper()
	key := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(merchantKey)})
	c, err := alipay.New(appID, string(key), false, alipay.WithSandboxGateway(e.gateway), alipay.WithTimeLocation(cst))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LoadAliPayPublicKey(e.sim.PublicKeyPEM()); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSmartwalleAgreement drives the whole agreement life through
// smartwalle/alipay: its page.sign URL is signed by SignAgreement, its
// notification decoder and response verifier accept the sim's.
func TestSmartwalleAgreement(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, "success")
	c := newSmartwalle(t, e)
	ctx := context.Background()

	u, err := c.AgreementPageSign(alipay.AgreementPageSign{
		NotifyURL: rc.srv.URL, ReturnURL: "https://shop.example/signed",
		PersonalProductCode: "CYCLE_PAY_AUTH_P", ProductCode: "CYCLE_PAY_AUTH", SignScene: "INDUSTRY|DIGITAL_MEDIA",
		ExternalAgreementNo: "SW1", AccessParams: &alipay.AccessParams{Channel: "ALIPAYAPP"},
		PeriodRuleParams: &alipay.PeriodRuleParams{PeriodType: "DAY", Period: "7", ExecuteTime: "2026-11-22", SingleAmount: "30.00"},
	})
	if err != nil {
		t.Fatal(err)
	}
	no, err := e.sim.SignAgreement(ctx, u.String())
	if err != nil {
		t.Fatalf("SignAgreement(smartwalle's URL): %v", err)
	}
	n, err := c.DecodeNotification(ctx, rc.received()[0])
	if err != nil || n.NotifyType != "dut_user_sign" || n.AgreementNo != no || n.ExternalAgreementNo != "SW1" {
		t.Fatalf("DecodeNotification: %v %+v", err, n)
	}

	q, err := c.AgreementQuery(ctx, alipay.AgreementQuery{AgreementNo: no})
	if err != nil || !q.IsSuccess() || q.Status != "NORMAL" || q.SingleQuota != "30.00" || q.NextDeductTime != "2026-11-22" {
		t.Fatalf("AgreementQuery: %v %+v", err, q)
	}
	pay, err := c.TradePay(ctx, alipay.TradePay{
		Trade:           alipay.Trade{Subject: "周卡", OutTradeNo: "sw1", TotalAmount: "30.00", ProductCode: "CYCLE_PAY_AUTH"},
		AgreementParams: &alipay.AgreementParams{AgreementNo: no},
	})
	if err != nil || !pay.IsSuccess() || pay.BuyerUserId != q.PrincipalId || pay.TradeNo == "" {
		t.Fatalf("TradePay: %v %+v", err, pay)
	}
	un, err := c.AgreementUnsign(ctx, alipay.AgreementUnsign{AgreementNo: no})
	if err != nil || !un.IsSuccess() {
		t.Fatalf("AgreementUnsign: %v %+v", err, un)
	}
	if q, err := c.AgreementQuery(ctx, alipay.AgreementQuery{ExternalAgreementNo: "SW1", PersonalProductCode: "CYCLE_PAY_AUTH_P"}); err != nil || q.Status != "UNSIGN" {
		t.Fatalf("AgreementQuery after unsign: %v %+v", err, q)
	}
	q, err = c.AgreementQuery(ctx, alipay.AgreementQuery{AgreementNo: "20260000000000000000"})
	if err != nil || q.Code != "40004" || q.SubCode != "USER_AGREEMENT_NOT_EXIST" {
		t.Fatalf("AgreementQuery of an unknown agreement: %v %+v", err, q)
	}
}
