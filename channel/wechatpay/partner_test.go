package wechatpay_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
	"github.com/polypay/polypay/channel/wechatpay"
)

// subMch is the sub-merchant of the test provider (mchID) in these tests.
const subMch = "1900000222"

// partnerConfig is the provider's configuration acting for subMch.
func partnerConfig(base string) wechatpay.Config {
	cfg := config(base)
	cfg.SubMchID = subMch
	return cfg
}

// TestConformancePartner runs the shared channel conformance suite in
// partner mode: every served scene, refund, close, notification and the
// sub-merchant's statement through WeChat Pay's partner API; the payment
// code and debit agreements are refused as not served in this mode.
func TestConformancePartner(t *testing.T) {
	h := harness
	h.Start = func(t *testing.T, wrap func(http.Handler) http.Handler) *channeltest.Sim {
		e := newEnvWith(t, wrap)
		sim := simFor(e)
		sim.Conn = func(t *testing.T, ch string) polypay.Channel { return newConn(t, ch, partnerConfig(e.base)) }
		sim.Unserved = []string{wechatpay.ChannelScan}
		sim.Agreements, sim.NoAgreements = nil, "debit agreements are the provider's own, not served in partner mode"
		return sim
	}
	channeltest.Run(t, h)
}

// TestPartnerSubMerchant: a provider's connector tells a bound
// sub-merchant from one that unbound or never was; a notification about
// another sub-merchant is refused by this one's connector.
func TestPartnerSubMerchant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	prov := newConn(t, wechatpay.ChannelQR, config(e.base))
	if err := prov.CheckSubMerchant(ctx, subMch); err != nil {
		t.Fatalf("a bound sub-merchant: %v", err)
	}
	e.sim.UnbindSubMerchant(mchID, subMch)
	for _, sub := range []string{subMch, mchID} {
		var pe *polypay.Error
		if err := prov.CheckSubMerchant(ctx, sub); err == nil || !asErr(err, &pe) || pe.Param != "sub_mchid" {
			t.Fatalf("sub-merchant %s: %v, want a refusal naming sub_mchid", sub, err)
		}
	}
}

func asErr(err error, target **polypay.Error) bool {
	pe, ok := err.(*polypay.Error)
	if ok {
		*target = pe
	}
	return ok
}
