package console

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		minor int64
		cur   string
		want  string
	}{
		{143, "cny", "¥1.43"},
		{1000, "usd", "$10.00"},
		{500, "jpy", "JP¥500"},
		{123456789, "cny", "¥1,234,567.89"},
		{100000, "jpy", "JP¥100,000"},
		{-5, "cny", "-¥0.05"},
		{0, "CNY", "¥0.00"},
		{300, "chf", "CHF 3.00"},
		{1234, "kwd", "KWD 1.234"},
		{math.MinInt64, "usd", "-$92,233,720,368,547,758.08"},
	}
	for _, tt := range tests {
		t.Run(tt.cur+"_"+tt.want, func(t *testing.T) {
			if got := formatMoney(tt.minor, tt.cur); got != tt.want {
				t.Fatalf("formatMoney(%d, %s) = %q, want %q", tt.minor, tt.cur, got, tt.want)
			}
		})
	}
}

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in, cur string
		want    int64
		ok      bool
	}{
		{"500", "jpy", 500, true},
		{"500.5", "jpy", 0, false},
		{"12.3", "cny", 1230, true},
		{"1.234", "kwd", 1234, true},
		{"1.2345", "kwd", 0, false},
		{"-1", "usd", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.cur+tt.in, func(t *testing.T) {
			got, err := parseMoney(tt.in, "amount", tt.cur)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("parseMoney(%q, %s) = %d, %v; want %d ok=%v", tt.in, tt.cur, got, err, tt.want, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "amount") {
				t.Fatalf("error %v does not name the parameter", err)
			}
		})
	}
}

func TestChargeState(t *testing.T) {
	p := &page{Lang: "en"}
	tests := []struct {
		name string
		ch   polypay.Charge
		want string
	}{
		{"Paid", polypay.Charge{Status: polypay.ChargePaid, Amount: 1000, AmountCaptured: 1000}, "paid"},
		{"Partial", polypay.Charge{Status: polypay.ChargePaid, Amount: 1000, AmountCaptured: 1000, AmountRefunded: 250}, "partially refunded"},
		{"Full", polypay.Charge{Status: polypay.ChargePaid, Amount: 1000, AmountCaptured: 1000, AmountRefunded: 1000, Refunded: true}, "refunded"},
		{"PartialCapture", polypay.Charge{Status: polypay.ChargePaid, Amount: 1000, AmountCaptured: 600, AmountRefunded: 600}, "refunded"},
		{"Pending", polypay.Charge{Status: polypay.ChargePending, Amount: 1000}, "pending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.ChargeState(&tt.ch); got != tt.want {
				t.Fatalf("ChargeState = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCredParams(t *testing.T) {
	fam := &polypay.Family{Credentials: []polypay.CredentialField{
		{Name: "app_id", Required: true}, {Name: "private_key", Secret: true, Required: true}, {Name: "gateway"}}}
	tests := []struct {
		name     string
		form     map[string][]string
		stored   bool
		want     string
		keep     []string
		errParam string
	}{
		{"OK", map[string][]string{"f_app_id": {" 2021 "}, "f_private_key": {"PEM"}}, false, `{"app_id":"2021","private_key":"PEM"}`, nil, ""},
		{"BlankSecretKept", map[string][]string{"f_app_id": {"2021"}, "f_private_key": {""}}, true, `{"app_id":"2021"}`, []string{"private_key"}, ""},
		{"BlankSecretNothingStored", map[string][]string{"f_app_id": {"2021"}}, false, "", nil, "private_key"},
		{"MissingRequired", map[string][]string{"f_private_key": {"PEM"}}, true, "", nil, "app_id"},
		{"TooLong", map[string][]string{"f_app_id": {strings.Repeat("x", maxField+1)}}, true, "", nil, "app_id"},
		{"OptionalSet", map[string][]string{"f_app_id": {"1"}, "f_private_key": {"K"}, "f_gateway": {"https://gw"}}, false, `{"app_id":"1","gateway":"https://gw","private_key":"K"}`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, keep, err := credParams(fam, tt.form, tt.stored)
			if tt.errParam != "" {
				var pe *polypay.Error
				if err == nil || !asErr(err, &pe) || pe.Param != tt.errParam {
					t.Fatalf("err %v, want EInvalid naming %s", err, tt.errParam)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			json.Unmarshal(got, &a)
			json.Unmarshal([]byte(tt.want), &b)
			ga, _ := json.Marshal(a)
			gb, _ := json.Marshal(b)
			if string(ga) != string(gb) || strings.Join(keep, ",") != strings.Join(tt.keep, ",") {
				t.Fatalf("params %s keep %v, want %s keep %v", got, keep, tt.want, tt.keep)
			}
		})
	}
}

func asErr(err error, pe **polypay.Error) bool {
	e, ok := err.(*polypay.Error)
	*pe = e
	return ok
}

func TestSummarize(t *testing.T) {
	stats := []store.BucketStat{
		{Bucket: 1, Channel: "alipay_qr", Currency: "cny", Count: 4, Paid: 3, PaidAmount: 300},
		{Bucket: 2, Channel: "alipay_qr", Currency: "cny", Count: 1, Paid: 1, PaidAmount: 143},
		{Bucket: 2, Channel: "stripe_card", Currency: "usd", Count: 2, Paid: 1, PaidAmount: 1000},
	}
	refunds := []store.RefundStat{{Channel: "alipay_qr", Currency: "cny", Count: 1, Amount: 43}, {Channel: "wx_pub", Currency: "cny", Count: 1, Amount: 10}}
	tl, rows := summarize(stats, refunds)
	if tl.Paid != 5 || tl.Created != 7 || tl.Rate != "71.4%" {
		t.Errorf("tile %+v", tl)
	}
	if strings.Join(tl.Volume, " ") != "¥4.43 $10.00" || strings.Join(tl.Refunds, " ") != "¥0.53" {
		t.Errorf("tile money %v / %v; want yuan first and no currencies added together", tl.Volume, tl.Refunds)
	}
	want := []channelRow{
		{Channel: "alipay_qr", Currency: "cny", Created: 5, Paid: 4, Rate: "80.0%", Volume: "¥4.43", Refunds: "¥0.43"},
		{Channel: "stripe_card", Currency: "usd", Created: 2, Paid: 1, Rate: "50.0%", Volume: "$10.00", Refunds: "$0.00"},
		{Channel: "wx_pub", Currency: "cny", Rate: "—", Volume: "¥0.00", Refunds: "¥0.10"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
}

func TestChartLegendBelowPlot(t *testing.T) {
	c := chart{Title: "v", Labels: []string{"a", "b"}, Series: []series{{"alipay_qr", []float64{100, 100}}, {"wx_pub", []float64{100, 100}}},
		Kind: "bar", Prefix: "¥", XTitle: "Date (UTC+08:00)", YTitle: "CNY"}
	s := string(c.render())
	got := parseSVG(t, s)
	if !contains(got.Texts, "¥100") || !contains(got.Texts, "Date (UTC+08:00)") {
		t.Fatalf("y labels without the currency or no axis title with the zone: %v", got.Texts)
	}
	for _, m := range swatchY.FindAllStringSubmatch(s, -1) {
		if y := atof(m[1]); y < chartH-padB {
			t.Fatalf("legend swatch at y=%v overlaps the plot (which ends at %d)", y, padT+plotH)
		}
	}
	if len(swatchY.FindAllString(s, -1)) != 2 {
		t.Fatal("legend lacks a swatch per series")
	}
}

var swatchY = regexp.MustCompile(`class="swatch" x="[0-9.]+" y="([0-9.]+)"`)

func atof(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }
