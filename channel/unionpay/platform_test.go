package unionpay_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/channeltest"
	"github.com/polypay/polypay/channel/unionpay"
)

var subMer = unionpay.SubMerchant{ID: "SUB0000001", Name: "测试二级商户有限公司", Abbr: "测试小店"}

func platform(c *unionpay.Config) { c.SubMerchant = subMer }

// TestConformancePlatform runs the conformance suite with the connector
// acting as a platform merchant for a sub-merchant (accessType 2): every
// channel's charges, notifications, refunds, cancels and
// pre-authorizations. Statements are the platform's own (refused here,
// TestPlatformSubMerchant).
func TestConformancePlatform(t *testing.T) {
	h := harnessWith(platform)
	start := h.Start
	h.Start = func(t *testing.T, wrap func(http.Handler) http.Handler) *channeltest.Sim {
		sim := start(t, wrap)
		sim.StatementDay, sim.NoStatements = nil, "a platform downloads the statements of its sub-merchants"
		return sim
	}
	channeltest.Run(t, h)
}

// TestPlatformSubMerchant: a platform's trades for a sub-merchant are the
// sub-merchant's (the platform's direct connector and another
// sub-merchant do not find them); a sub-merchant whose registration ended
// is refused 31; statements and payouts stay the platform's own.
func TestPlatformSubMerchant(t *testing.T) {
	f := newFixture(t)
	sub := f.client(t, unionpay.ChannelApp, platform)
	ch := newCharge(unionpay.ChannelApp, 1200)
	f.payCharge(t, sub, ch)
	tr, err := sub.QueryCharge(ctx, ch)
	if err != nil || tr.State != polypay.TradePaid || tr.Amount != 1200 {
		t.Fatalf("sub-merchant's query = %+v, %v", tr, err)
	}
	other := f.client(t, unionpay.ChannelApp, func(c *unionpay.Config) {
		c.SubMerchant = unionpay.SubMerchant{ID: "SUB0000002", Name: "另一家", Abbr: "另一家"}
	})
	for name, c := range map[string]*unionpay.Client{"platform itself": f.client(t, unionpay.ChannelApp, nil), "another sub-merchant": other} {
		if tr, err := c.QueryCharge(ctx, ch); err != nil || tr.State != polypay.TradeNotFound {
			t.Errorf("%s queries the sub-merchant's charge: %+v, %v; want not found", name, tr, err)
		}
	}
	f.sim.RemoveSubMerchant(merID, subMer.ID)
	_, err = sub.CreateCharge(ctx, polypay.ChannelRequest{Charge: newCharge(unionpay.ChannelApp, 100), NotifyURL: f.notify.URL})
	var pe *polypay.Error
	if !errors.As(err, &pe) || pe.Code != polypay.EChannel || pe.ChannelCode != "31" {
		t.Fatalf("charge for a removed sub-merchant: %v, want EChannel 31", err)
	}
	if _, err := sub.Statement(ctx, "2026-12-01"); !errors.As(err, &pe) || pe.Code != polypay.ENotSupported {
		t.Errorf("a sub-merchant's statement: %v, want ENotSupported", err)
	}
	payout := f.client(t, unionpay.ChannelPayout, platform)
	if err := payout.CheckTransfer(&polypay.Transfer{OrderNo: "1234567890"}); !errors.As(err, &pe) || pe.Code != polypay.ENotSupported {
		t.Errorf("a sub-merchant's payout: %v, want ENotSupported", err)
	}
}

// TestSubMerchantFields: what a platform accepts as a sub-merchant's
// registration, each refusal naming its parameter.
func TestSubMerchantFields(t *testing.T) {
	f := newFixture(t)
	prov := f.client(t, unionpay.ChannelApp, nil)
	long := "一二三四五六七八九十一二三四五六七"
	for _, tc := range []struct {
		name   string
		fields map[string]string
		param  string
	}{
		{"complete", map[string]string{"sub_mer_id": "SUB0000001", "sub_mer_name": "测试二级商户", "sub_mer_abbr": "测试"}, ""},
		{"no id", map[string]string{"sub_mer_name": "x", "sub_mer_abbr": "x"}, "sub_mer_id"},
		{"id too long", map[string]string{"sub_mer_id": "1234567890123456", "sub_mer_name": "x", "sub_mer_abbr": "x"}, "sub_mer_id"},
		{"id not alphanumeric", map[string]string{"sub_mer_id": "SUB-1", "sub_mer_name": "x", "sub_mer_abbr": "x"}, "sub_mer_id"},
		{"the platform itself", map[string]string{"sub_mer_id": merID, "sub_mer_name": "x", "sub_mer_abbr": "x"}, "sub_mer_id"},
		{"no name", map[string]string{"sub_mer_id": "S1", "sub_mer_abbr": "x"}, "sub_mer_name"},
		{"abbreviation too long", map[string]string{"sub_mer_id": "S1", "sub_mer_name": "x", "sub_mer_abbr": long}, "sub_mer_abbr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := prov.CheckSubMerchantFields(tc.fields)
			if tc.param == "" {
				if err != nil || id != tc.fields["sub_mer_id"] {
					t.Fatalf("= %q, %v", id, err)
				}
				return
			}
			var pe *polypay.Error
			if !errors.As(err, &pe) || pe.Param != tc.param {
				t.Fatalf("= %v, want a refusal naming %s", err, tc.param)
			}
		})
	}
	sub := f.client(t, unionpay.ChannelApp, platform)
	if _, err := sub.CheckSubMerchantFields(map[string]string{"sub_mer_id": "S2", "sub_mer_name": "x", "sub_mer_abbr": "x"}); err == nil {
		t.Fatal("a sub-merchant's connector registered a sub-merchant of its own")
	}
}
