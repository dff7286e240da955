package console

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSafeCell(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"Empty", "", ""},
		{"Plain", "alipay_qr", "alipay_qr"},
		{"Equals", "=1+2", "'=1+2"},
		{"Plus", "+86 138", "'+86 138"},
		{"Minus", "-12.00", "'-12.00"},
		{"At", "@SUM(A1)", "'@SUM(A1)"},
		{"Tab", "\t=cmd", "'\t=cmd"},
		{"CR", "\r=cmd", "'\r=cmd"},
		{"InnerEquals", "a=b", "a=b"},
		{"Chinese", "测试商品", "测试商品"},
		{"QuoteFirst", "'already", "'already"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := safeCell(tt.in); got != tt.want {
				t.Fatalf("safeCell(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCSVEscaping(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		raw  string // the encoded line
	}{
		{"Comma", []string{"a,b", "c"}, "\"a,b\",c\n"},
		{"Quote", []string{`say "hi"`}, "\"say \"\"hi\"\"\"\n"},
		{"Newline", []string{"two\nlines", "x"}, "\"two\nlines\",x\n"},
		{"FormulaWithComma", []string{"=HYPERLINK(\"u\",\"t\")"}, "\"'=HYPERLINK(\"\"u\"\",\"\"t\"\")\"\n"},
		{"LeadingSpace", []string{" =x"}, "\" =x\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			w := newCSVTo(&b)
			if err := w.Write(tt.in...); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.raw {
				t.Fatalf("encoded %q, want %q", b.String(), tt.raw)
			}
			back, err := csv.NewReader(&b).Read()
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.in {
				if back[i] != safeCell(tt.in[i]) {
					t.Fatalf("cell %d read back %q, want %q", i, back[i], safeCell(tt.in[i]))
				}
			}
		})
	}
}

func TestAmounts(t *testing.T) {
	fmtTests := []struct {
		minor int64
		cur   string
		want  string
	}{{0, "cny", "0.00"}, {1, "cny", "0.01"}, {123456, "cny", "1234.56"}, {-5, "cny", "-0.05"}, {500, "jpy", "500"}, {1234, "kwd", "1.234"},
		{math.MinInt64, "cny", "-92233720368547758.08"}}
	for _, tt := range fmtTests {
		t.Run("format"+strconv.FormatInt(tt.minor, 10)+tt.cur, func(t *testing.T) {
			if got := formatAmount(tt.minor, tt.cur); got != tt.want {
				t.Fatalf("formatAmount(%d, %s) = %q, want %q", tt.minor, tt.cur, got, tt.want)
			}
		})
	}
	parseTests := []struct {
		in   string
		want int64
		ok   bool
	}{{"12", 1200, true}, {"12.3", 1230, true}, {"0.07", 7, true}, {"0.1", 10, true}, {"1.234", 0, false}, {"-1", 0, false},
		{"1e3", 0, false}, {"", 0, false}, {".5", 0, false}, {"99999999999999999", 0, false}}
	for _, tt := range parseTests {
		t.Run("parse"+tt.in, func(t *testing.T) {
			got, err := parseAmount(tt.in, "amount")
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("parseAmount(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestPasswordHash(t *testing.T) {
	h := HashPassword("s3cret password")
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(h) {
		t.Fatalf("hash %q is not a PHC Argon2id string", h)
	}
	if h2 := HashPassword("s3cret password"); h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	parts := strings.Split(h, "$")
	tamper := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	tests := []struct {
		name, hash, pw string
		want           bool
	}{
		{"OK", h, "s3cret password", true},
		{"Wrong", h, "s3cret passwore", false},
		{"Empty", h, "", false},
		{"OtherSalt", tamper(4, "AAAAAAAAAAAAAAAAAAAAAA"), "s3cret password", false},
		{"Argon2i", tamper(1, "argon2i"), "s3cret password", false},
		{"OtherParams", tamper(3, "m=19456,t=3,p=1"), "s3cret password", false},
		{"HugeMemory", tamper(3, "m=99999999,t=2,p=1"), "s3cret password", false},
		{"Garbage", "not a hash", "s3cret password", false},
		{"ShortKey", tamper(5, "AAAA"), "s3cret password", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckPassword(tt.hash, tt.pw); got != tt.want {
				t.Fatalf("CheckPassword = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRolePermissions(t *testing.T) {
	for _, a := range []Action{ActCreateApp, ActSetChannel, ActRefund, ActResend, ActResolve, ActManageUsers, ActRollKeys, ActWebhooks} {
		if RoleReadOnly.Can(a) {
			t.Errorf("read_only can %s", a)
		}
		if !RoleOwner.Can(a) {
			t.Errorf("owner cannot %s", a)
		}
	}
	if Role("root").Can(ActRefund) || Role("").Valid() {
		t.Error("an unknown role has permissions")
	}
}

func TestAcceptLanguage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "en"}, {"zh-CN", "zh"}, {"zh-TW,zh;q=0.9", "zh"}, {"en-US,zh-CN;q=0.5", "en"},
		{"fr,zh;q=0.8,en;q=0.7", "zh"}, {"de", "en"}, {"zh;q=0.2,en;q=0.3", "en"}, {"ZH-hans", "zh"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := acceptLanguage(tt.in); got != tt.want {
				t.Fatalf("acceptLanguage(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// svgShape is what the chart tests read back from the SVG.
type svgShape struct {
	Bars   []svgRect
	Lines  []string // polyline points
	Points int
	Texts  []string
}

type svgRect struct{ X, Y, W, H float64 }

// parseSVG checks the chart is well-formed XML and collects its shapes.
func parseSVG(t *testing.T, s string) svgShape {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	var out svgShape
	attr := func(e xml.StartElement, name string) string {
		for _, a := range e.Attr {
			if a.Name.Local == name {
				return a.Value
			}
		}
		return ""
	}
	f := func(e xml.StartElement, name string) float64 {
		v, err := strconv.ParseFloat(attr(e, name), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("<%s %s=%q>: not a finite number", e.Name.Local, name, attr(e, name))
		}
		return v
	}
	inText := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, s)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			inText = e.Name.Local == "text" || e.Name.Local == "title"
			switch {
			case e.Name.Local == "rect" && attr(e, "class") == "bar":
				out.Bars = append(out.Bars, svgRect{f(e, "x"), f(e, "y"), f(e, "width"), f(e, "height")})
			case e.Name.Local == "polyline":
				out.Lines = append(out.Lines, attr(e, "points"))
			case e.Name.Local == "circle":
				f(e, "cx")
				f(e, "cy")
				out.Points++
			}
		case xml.CharData:
			if inText {
				out.Texts = append(out.Texts, string(e))
			}
		case xml.EndElement:
			inText = false
		}
	}
	return out
}

func TestChartBars(t *testing.T) {
	tests := []struct {
		name     string
		series   []series
		bars     int
		heights  []float64
		labelTop string
	}{
		{"Empty", nil, 0, nil, "1"},
		{"AllZero", []series{{"alipay_qr", []float64{0, 0, 0}}}, 0, nil, "1"},
		{"OneSeries", []series{{"alipay_qr", []float64{100, 0, 50}}}, 2, []float64{plotH, plotH / 2.0}, "100"},
		{"TwoSeries", []series{{"alipay_qr", []float64{10, 20, 0}}, {"wx_pub", []float64{0, 40, 5}}}, 4, []float64{plotH * 10.0 / 50, plotH * 20.0 / 50, plotH * 40.0 / 50, plotH * 5.0 / 50}, "50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chart{Title: "volume", Labels: []string{"03-01", "03-02", "03-03"}, Series: tt.series, Kind: "bar"}
			got := parseSVG(t, string(c.render()))
			if len(got.Bars) != tt.bars {
				t.Fatalf("%d bars, want %d", len(got.Bars), tt.bars)
			}
			for i, h := range tt.heights {
				if math.Abs(got.Bars[i].H-h) > 0.2 {
					t.Errorf("bar %d height %v, want %v", i, got.Bars[i].H, h)
				}
				if math.Abs(got.Bars[i].Y+got.Bars[i].H-(padT+plotH)) > 0.2 {
					t.Errorf("bar %d does not stand on the axis: y=%v h=%v", i, got.Bars[i].Y, got.Bars[i].H)
				}
				if got.Bars[i].X < padL || got.Bars[i].X+got.Bars[i].W > chartW-padR+0.2 {
					t.Errorf("bar %d outside the plot: %+v", i, got.Bars[i])
				}
			}
			if !contains(got.Texts, tt.labelTop) {
				t.Errorf("y axis top label %q missing from %v", tt.labelTop, got.Texts)
			}
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestChartLines(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		values []float64
		lines  int
		points int
	}{
		{"Full", []float64{100, 50, 0, 75}, 1, 4},
		// A day without charges has no rate; the line runs across it
		// rather than breaking into loose dots.
		{"Gap", []float64{100, nan, 50, 60}, 1, 3},
		{"TwoRuns", []float64{100, 90, nan, 50, 60}, 1, 4},
		{"LonePoint", []float64{nan, 70, nan}, 0, 1},
		{"NoData", []float64{nan, nan}, 0, 0},
		{"Clamped", []float64{150, -5}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			labels := make([]string, len(tt.values))
			for i := range labels {
				labels[i] = strconv.Itoa(i)
			}
			c := chart{Title: "rate", Labels: labels, Series: []series{{"alipay_qr", tt.values}}, Kind: "line", Max: 100, Unit: "%"}
			got := parseSVG(t, string(c.render()))
			if len(got.Lines) != tt.lines || got.Points != tt.points {
				t.Fatalf("%d lines, %d points; want %d, %d", len(got.Lines), got.Points, tt.lines, tt.points)
			}
			for _, l := range got.Lines {
				for _, pt := range strings.Fields(l) {
					xy := strings.Split(pt, ",")
					y, _ := strconv.ParseFloat(xy[1], 64)
					if y < padT-0.1 || y > padT+plotH+0.1 {
						t.Fatalf("point %s outside the plot", pt)
					}
				}
			}
		})
	}
}

func TestChartEscapes(t *testing.T) {
	c := chart{Title: `<b>"vol"</b>`, Labels: []string{"<x>"}, Series: []series{{`</svg><script>alert(1)</script>`, []float64{3}}}}
	s := string(c.render())
	if strings.Contains(s, "<script") || strings.Contains(s, "<b>") {
		t.Fatalf("unescaped text in %s", s)
	}
	got := parseSVG(t, s)
	if !contains(got.Texts, `</svg><script>alert(1)</script>`) {
		t.Fatalf("legend text lost: %v", got.Texts)
	}
}

func TestNiceMax(t *testing.T) {
	tests := []struct{ in, want float64 }{{0, 1}, {1, 1}, {1.5, 2}, {3, 5}, {7, 10}, {12, 20}, {999, 1000}, {math.NaN(), 1}}
	for _, tt := range tests {
		if got := niceMax(tt.in); got != tt.want {
			t.Errorf("niceMax(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSourceOf(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"IPv4", "203.0.113.7", "203.0.113.7"},
		{"IPv4Mapped", "::ffff:203.0.113.7", "203.0.113.7"},
		{"IPv6SamePrefix", "2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"IPv6OtherHost", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"IPv6OtherPrefix", "2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"IPv6Zone", "fe80::1%eth0", "fe80::/64"},
		{"NotAnAddress", "pipe", "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sourceOf(tt.in); got != tt.want {
				t.Fatalf("sourceOf(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSignInDelay(t *testing.T) {
	tests := []struct {
		failed int
		want   time.Duration
	}{
		{1, 0},
		{freeFailures - 1, 0},
		{freeFailures, firstDelay},
		{freeFailures + 1, 2 * firstDelay},
		{freeFailures + 2, 4 * firstDelay},
		{freeFailures + 6, maxDelay},
		{1 << 30, maxDelay},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.failed), func(t *testing.T) {
			if got := signInDelay(tt.failed); got != tt.want {
				t.Fatalf("signInDelay(%d) = %v, want %v", tt.failed, got, tt.want)
			}
		})
	}
	if forgetAfter <= maxDelay {
		t.Fatalf("forgetAfter %v must exceed maxDelay %v, or a count expires while its source waits", forgetAfter, maxDelay)
	}
}

// TestIPLimiterSpray: a spray of fresh addresses neither grows the map past
// its bound nor hands a limited address a fresh burst.
func TestIPLimiterSpray(t *testing.T) {
	var l ipLimiter
	now := time.Unix(1_700_000_000, 0)
	const limited = "198.51.100.1"
	for range ipBurst {
		if ok, _ := l.allow(limited, now); !ok {
			t.Fatal("refused within the burst")
		}
	}
	for i := range 3 * ipTracked {
		l.allow(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), now)
		if len(l.m) > ipTracked {
			t.Fatalf("%d addresses tracked, want at most %d", len(l.m), ipTracked)
		}
	}
	ok, wait := l.allow(limited, now)
	if ok {
		t.Fatal("the limited address was allowed after a spray of others")
	}
	if wait <= 0 || wait > ipEvery {
		t.Fatalf("wait %v, want within (0, %v]", wait, ipEvery)
	}
	if ok, _ := l.allow(limited, now.Add(ipEvery)); !ok {
		t.Fatalf("refused %v later", ipEvery)
	}
}
