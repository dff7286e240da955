package channel

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel/alipay"
	"github.com/polypay/polypay/channel/paypal"
	stripech "github.com/polypay/polypay/channel/stripe"
	"github.com/polypay/polypay/channel/unionpay"
	"github.com/polypay/polypay/channel/wechatpay"
)

// TestChannelTraits pins what the descriptors say of each channel to what
// core, api and reconcile decided by name before the descriptors existed.
func TestChannelTraits(t *testing.T) {
	type traits struct {
		family             string
		qr, scan, card     bool
		expiry             time.Duration
		zone               *time.Location
		orderMin, orderMax int
	}
	china, utc := polypay.ChinaTime, time.UTC
	want := map[string]traits{
		"alipay_qr":        {"alipay", true, false, false, 24 * time.Hour, china, 1, 64},
		"alipay":           {"alipay", false, false, false, 24 * time.Hour, china, 1, 64},
		"alipay_wap":       {"alipay", false, false, false, 24 * time.Hour, china, 1, 64},
		"alipay_pc_direct": {"alipay", false, false, false, 24 * time.Hour, china, 1, 64},
		"alipay_scan":      {"alipay", false, true, false, 24 * time.Hour, china, 1, 64},
		"alipay_lite":      {"alipay", false, false, false, 24 * time.Hour, china, 1, 64},
		"wx_pub_qr":        {"wx", true, false, false, 2 * time.Hour, china, 1, 32},
		"wx":               {"wx", false, false, false, 2 * time.Hour, china, 1, 32},
		"wx_pub":           {"wx", false, false, false, 2 * time.Hour, china, 1, 32},
		"wx_lite":          {"wx", false, false, false, 2 * time.Hour, china, 1, 32},
		"wx_wap":           {"wx", false, false, false, 2 * time.Hour, china, 1, 32},
		"wx_pub_scan":      {"wx", false, true, false, 2 * time.Hour, china, 1, 32},
		"upacp":            {"upacp", false, false, false, 24 * time.Hour, china, 8, 40},
		"upacp_wap":        {"upacp", false, false, false, 24 * time.Hour, china, 8, 40},
		"upacp_pc":         {"upacp", false, false, false, 24 * time.Hour, china, 8, 40},
		"applepay_upacp":   {"upacp", false, false, false, 24 * time.Hour, china, 8, 40},
		"upacp_scan":       {"upacp", false, true, false, 24 * time.Hour, china, 8, 40},
		"card":             {"stripe", false, false, true, time.Hour, utc, 1, 32},
		"applepay":         {"stripe", false, false, true, time.Hour, utc, 1, 32},
		"paypal":           {"paypal", false, false, false, 2 * time.Hour, utc, 1, 32},
	}
	var all []string
	for _, f := range Families {
		all = append(all, f.ChannelNames()...)
	}
	if len(all) != len(want) {
		t.Errorf("the families have %d channels, want %d: %v", len(all), len(want), all)
	}
	for ch, w := range want {
		t.Run(ch, func(t *testing.T) {
			c, f := polypay.LookupChannel(ch)
			if f == nil {
				t.Fatalf("no family has %s", ch)
			}
			rule := polypay.OrderNoFor(ch)
			got := traits{f.Name, c.QR, c.Scan, c.Card, f.ChargeExpiry, f.StatementZone, rule.Min, rule.Max}
			if got != w {
				t.Fatalf("got %+v, want %+v", got, w)
			}
		})
	}
}

// TestOrderNoForUnknownChannels: a name no family has gets the rule of the
// family it starts with, as api's prefix rule did.
func TestOrderNoForUnknownChannels(t *testing.T) {
	for _, tc := range []struct {
		channel  string
		min, max int
	}{
		{"alipay_new", 1, 64},
		{"alipay_qr@shop2", 1, 64},
		{"upacp_new", 8, 40},
		{"applepay_upacp@x", 1, 32},
		{"bitcoin", 1, 32},
		{"", 1, 32},
	} {
		if got := polypay.OrderNoFor(tc.channel); got.Min != tc.min || got.Max != tc.max {
			t.Errorf("%q: %+v, want %d-%d", tc.channel, got, tc.min, tc.max)
		}
	}
}

// TestCashierChannels: the cashier's channels and their order, and the
// families discounts may name.
func TestCashierChannels(t *testing.T) {
	want := "alipay_qr,wx_pub_qr,alipay_pc_direct,alipay_wap,wx_wap,wx_pub,upacp_pc,upacp_wap,card,paypal"
	if got := strings.Join(polypay.CashierChannels(), ","); got != want {
		t.Errorf("cashier channels %s, want %s", got, want)
	}
	for _, ch := range polypay.CashierChannels() {
		c, _ := polypay.LookupChannel(ch)
		if c.Cashier.Label.Zh == "" || c.Cashier.Label.En == "" || len(c.Cashier.Clients) == 0 {
			t.Errorf("%s: cashier label or clients missing: %+v", ch, c.Cashier)
		}
		if (c.Cashier.Present == polypay.PresentQR) != c.QR {
			t.Errorf("%s: shown as %s but QR is %v", ch, c.Cashier.Present, c.QR)
		}
	}
	var discount []string
	for _, f := range polypay.RegisteredFamilies() {
		if f.DiscountByFamily {
			discount = append(discount, f.Name)
		}
	}
	if got := strings.Join(discount, ","); got != "alipay,wx" {
		t.Errorf("discount families %s, want alipay,wx", got)
	}
}

// TestCredentialSchema: each family's schema names exactly the fields its
// credentials have (those polypay sets aside), and every field has a hint.
func TestCredentialSchema(t *testing.T) {
	for _, tc := range []struct {
		family *polypay.Family
		creds  any
	}{
		{&alipay.Family, alipay.Credentials{}},
		{&wechatpay.Family, wechatpay.Credentials{}},
		{&unionpay.Family, unionpay.Credentials{}},
		{&stripech.Family, stripech.Credentials{}},
		{&paypal.Family, paypal.Credentials{}},
	} {
		t.Run(tc.family.Name, func(t *testing.T) {
			var fields []string
			typ := reflect.TypeOf(tc.creds)
			for i := range typ.NumField() {
				name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
				// sandbox and a sub-merchant's standing with its
				// provider are set by polypay, never by the merchant: the
				// schema does not offer them.
				if !slices.Contains([]string{"sandbox", "app_auth_token", "sub_mchid", "sub_appid", "sub_mer_id", "sub_mer_name", "sub_mer_abbr"}, name) {
					fields = append(fields, name)
				}
			}
			var schema []string
			for _, f := range tc.family.Credentials {
				schema = append(schema, f.Name)
				if f.Hint.Zh == "" || f.Hint.En == "" {
					t.Errorf("%s has no hint", f.Name)
				}
			}
			slices.Sort(fields)
			slices.Sort(schema)
			if !slices.Equal(fields, schema) {
				t.Fatalf("schema %v, credentials %v", schema, fields)
			}
		})
	}
}
