package polypay

import (
	"strings"
	"testing"
)

// TestFamilyRegistry registers made-up families (this package's tests
// register nothing else) and asks for them back.
func TestFamilyRegistry(t *testing.T) {
	redirect := &CashierInfo{Present: PresentRedirect}
	first := &Family{Name: "tf1", Aliases: []string{"tf1alias"}, OrderNo: OrderNoRule{Min: 2, Max: 9},
		Channels: []ChannelInfo{{Name: "tf1_web", Cashier: redirect}, {Name: "tf1_qr", QR: true, Cashier: &CashierInfo{Present: PresentQR}}, {Name: "tf1_app"}}}
	second := &Family{Name: "tf2", Channels: []ChannelInfo{{Name: "tf2_web", Cashier: redirect}, {Name: "tf2_qr", QR: true, Cashier: &CashierInfo{Present: PresentQR}}}}
	RegisterFamilies(first, second)

	t.Run("LookupFamily", func(t *testing.T) {
		for name, want := range map[string]*Family{"tf1": first, "tf1alias": first, "tf2": second, "tf1@shop": nil, "tf1_web": nil} {
			if got := LookupFamily(name); got != want {
				t.Errorf("%q: got %v, want %v", name, got, want)
			}
		}
	})
	t.Run("LookupChannel", func(t *testing.T) {
		if c, f := LookupChannel("tf1_qr"); f != first || !c.QR || c.Name != "tf1_qr" {
			t.Errorf("tf1_qr: %+v in %v", c, f)
		}
		if c, f := LookupChannel("tf1_qr@shop"); f != nil || c.QR {
			t.Errorf("an account is not a channel: %+v in %v", c, f)
		}
	})
	t.Run("OrderNoFor", func(t *testing.T) {
		for ch, want := range map[string]OrderNoRule{"tf1_web": {2, 9}, "tf1_new": {2, 9}, "tf2_web": DefaultOrderNo, "other": DefaultOrderNo} {
			if got := OrderNoFor(ch); got != want {
				t.Errorf("%q: got %+v, want %+v", ch, got, want)
			}
		}
	})
	t.Run("CashierChannels", func(t *testing.T) {
		if got, want := strings.Join(CashierChannels(), ","), "tf1_qr,tf2_qr,tf1_web,tf2_web"; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	for _, tc := range []struct {
		name string
		f    *Family
	}{
		{"ErrNameTaken", &Family{Name: "tf1", Channels: []ChannelInfo{{Name: "tf3_x"}}}},
		{"ErrAliasTaken", &Family{Name: "tf3", Aliases: []string{"tf2"}, Channels: []ChannelInfo{{Name: "tf3_x"}}}},
		{"ErrChannelTaken", &Family{Name: "tf3", Channels: []ChannelInfo{{Name: "tf2_web"}}}},
		{"ErrNoChannels", &Family{Name: "tf3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("registered, want a panic")
				}
			}()
			RegisterFamilies(tc.f)
		})
	}
}

func TestLabelIn(t *testing.T) {
	l := Label{Zh: "支付宝", En: "Alipay"}
	for lang, want := range map[string]string{"en": "Alipay", "zh": "支付宝", "": "支付宝"} {
		if got := l.In(lang); got != want {
			t.Errorf("%q: %q, want %q", lang, got, want)
		}
	}
}
