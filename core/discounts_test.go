package core_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
)

func TestCheckDiscountParams(t *testing.T) {
	known := func(ch string) bool { return slices.Contains(core.CashierChannels(), ch) }
	ok := func() core.DiscountParams {
		return core.DiscountParams{Channel: "alipay", Type: "amount_off", AmountOff: 500, MinAmount: 5000, Label: json.RawMessage(`"满50减5"`)}
	}
	for _, tc := range []struct {
		name  string
		mod   func(p *core.DiscountParams)
		param string // "" means valid
		label string // canonical label when valid
	}{
		{"amount_off", func(p *core.DiscountParams) {}, "", `"满50减5"`},
		{"percent_off", func(p *core.DiscountParams) { p.Type, p.AmountOff, p.PercentOff = "percent_off", 0, 10 }, "", `"满50减5"`},
		{"exact channel", func(p *core.DiscountParams) { p.Channel = "wx_pub_qr" }, "", `"满50减5"`},
		{"wx family", func(p *core.DiscountParams) { p.Channel = "wx" }, "", `"满50减5"`},
		{"bilingual label", func(p *core.DiscountParams) { p.Label = json.RawMessage(`{"en":"5 off","zh":"减5元"}`) }, "", `{"en":"5 off","zh":"减5元"}`},
		{"one-language label", func(p *core.DiscountParams) { p.Label = json.RawMessage(`{"zh":"减5元"}`) }, "", `{"zh":"减5元"}`},
		{"unknown channel", func(p *core.DiscountParams) { p.Channel = "bitcoin" }, "channel", ""},
		{"empty channel", func(p *core.DiscountParams) { p.Channel = "" }, "channel", ""},
		{"bad type", func(p *core.DiscountParams) { p.Type = "free" }, "type", ""},
		{"zero amount_off", func(p *core.DiscountParams) { p.AmountOff = 0 }, "amount_off", ""},
		{"negative amount_off", func(p *core.DiscountParams) { p.AmountOff = -1 }, "amount_off", ""},
		{"huge amount_off", func(p *core.DiscountParams) { p.AmountOff = core.MaxAmount + 1 }, "amount_off", ""},
		{"percent_off with amount_off type", func(p *core.DiscountParams) { p.PercentOff = 10 }, "percent_off", ""},
		{"percent 0", func(p *core.DiscountParams) { p.Type, p.AmountOff, p.PercentOff = "percent_off", 0, 0 }, "percent_off", ""},
		{"percent 100", func(p *core.DiscountParams) { p.Type, p.AmountOff, p.PercentOff = "percent_off", 0, 100 }, "percent_off", ""},
		{"amount_off with percent type", func(p *core.DiscountParams) { p.Type, p.PercentOff = "percent_off", 10 }, "amount_off", ""},
		{"negative min_amount", func(p *core.DiscountParams) { p.MinAmount = -1 }, "min_amount", ""},
		{"empty label", func(p *core.DiscountParams) { p.Label = json.RawMessage(`""`) }, "label", ""},
		{"long label", func(p *core.DiscountParams) { p.Label = json.RawMessage(`"` + strings.Repeat("优", 33) + `"`) }, "label", ""},
		{"number label", func(p *core.DiscountParams) { p.Label = json.RawMessage(`5`) }, "label", ""},
		{"empty object label", func(p *core.DiscountParams) { p.Label = json.RawMessage(`{}`) }, "label", ""},
		{"foreign language", func(p *core.DiscountParams) { p.Label = json.RawMessage(`{"zh":"减5元","fr":"-5"}`) }, "label[fr]", ""},
		{"empty zh", func(p *core.DiscountParams) { p.Label = json.RawMessage(`{"zh":"","en":"5 off"}`) }, "label[zh]", ""},
		{"newline label", func(p *core.DiscountParams) { p.Label = json.RawMessage(`"a\nb"`) }, "label", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok()
			tc.mod(&p)
			err := core.CheckDiscountParams(&p, known)
			if tc.param == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if string(p.Label) != tc.label {
					t.Fatalf("label %s, want %s", p.Label, tc.label)
				}
				return
			}
			var e *polypay.Error
			if err == nil || !asPolypay(err, &e) || e.Code != polypay.EInvalid || e.Param != tc.param || e.Message == "" {
				t.Fatalf("got %v, want an invalid-parameter error naming %s", err, tc.param)
			}
		})
	}
}

func asPolypay(err error, e **polypay.Error) bool {
	pe, ok := err.(*polypay.Error)
	*e = pe
	return ok
}

func TestDiscountAmount(t *testing.T) {
	off := func(n int64) *polypay.Discount {
		return &polypay.Discount{Type: polypay.DiscountAmountOff, AmountOff: n}
	}
	pct := func(n int64) *polypay.Discount {
		return &polypay.Discount{Type: polypay.DiscountPercentOff, PercentOff: n}
	}
	for _, tc := range []struct {
		name   string
		d      *polypay.Discount
		amount int64
		want   int64
	}{
		{"amount off", off(500), 5999, 500},
		{"amount off leaves 1 fen", off(500), 300, 299},
		{"1 fen order takes nothing", off(500), 1, 0},
		{"percent rounds the discount down", pct(10), 5999, 599},
		{"percent of 9 fen", pct(10), 9, 0},
		{"99 percent leaves at least 1 fen", pct(99), 2, 1},
		{"99 percent", pct(99), 1000, 990},
		{"below min_amount", &polypay.Discount{Type: polypay.DiscountAmountOff, AmountOff: 500, MinAmount: 5000}, 4999, 0},
		{"at min_amount", &polypay.Discount{Type: polypay.DiscountAmountOff, AmountOff: 500, MinAmount: 5000}, 5000, 500},
		{"max amount percent", pct(99), core.MaxAmount, core.MaxAmount * 99 / 100},
	} {
		if got := core.DiscountAmount(tc.d, tc.amount); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestBestDiscount(t *testing.T) {
	aliFive := &polypay.Discount{ID: "ali5", Channel: "alipay", Type: polypay.DiscountAmountOff, AmountOff: 500, MinAmount: 5000}
	aliQRFive := &polypay.Discount{ID: "aliqr5pct", Channel: "alipay_qr", Type: polypay.DiscountPercentOff, PercentOff: 5}
	wxTen := &polypay.Discount{ID: "wx10pct", Channel: "wx", Type: polypay.DiscountPercentOff, PercentOff: 10}
	wxQRSame := &polypay.Discount{ID: "wxqr", Channel: "wx_pub_qr", Type: polypay.DiscountAmountOff, AmountOff: 600}
	wxTwo := &polypay.Discount{ID: "wx2", Channel: "wx", Type: polypay.DiscountAmountOff, AmountOff: 200}
	gone := &polypay.Discount{ID: "gone", Channel: "alipay", Type: polypay.DiscountAmountOff, AmountOff: 4000, Deleted: 1}
	rules := []*polypay.Discount{aliFive, aliQRFive, wxTen, wxQRSame, wxTwo, gone}
	for _, tc := range []struct {
		name, channel, family string
		amount                int64
		want                  string
		off                   int64
	}{
		{"amount_off beats smaller percent", "alipay_qr", "alipay", 5999, "ali5", 500},
		{"percent beats smaller amount_off", "alipay_qr", "alipay", 12000, "aliqr5pct", 600},
		{"exact-channel rule only on its channel", "alipay_wap", "alipay", 9000, "ali5", 500},
		{"min_amount not met: the percent rule", "alipay_qr", "alipay", 4999, "aliqr5pct", 249},
		{"min_amount not met, no other rule", "alipay_wap", "alipay", 4999, "", 0},
		{"family rule for every channel of the family", "wx_wap", "wx", 1000, "wx2", 200},
		{"tie: exact channel beats family", "wx_pub_qr", "wx", 6000, "wxqr", 600},
		{"no rule for another family", "upacp_pc", "upacp", 9000, "", 0},
		{"deleted rules never apply", "alipay_wap", "alipay", 100000, "ali5", 500},
		{"1 fen order", "wx_wap", "wx", 1, "", 0},
	} {
		d, off := core.BestDiscount(rules, tc.channel, tc.family, tc.amount)
		id := ""
		if d != nil {
			id = d.ID
		}
		if id != tc.want || off != tc.off {
			t.Errorf("%s: %q %d, want %q %d", tc.name, id, off, tc.want, tc.off)
		}
	}
}
