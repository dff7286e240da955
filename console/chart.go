package console

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// series is one line or set of bars in a chart.
type series struct {
	Name   string
	Values []float64 // one per label; NaN for no data (a gap in a line)
}

// chart is an SVG chart drawn by the server: bars grouped per label, or
// lines. No script is involved, so the strict CSP holds.
type chart struct {
	Title  string
	Labels []string // x axis, e.g. days
	Series []series
	Kind   string  // "bar" or "line"
	Max    float64 // fixed top of the y axis (100 for percentages); 0: from the data
	Unit   string  // appended to y labels and tooltips ("%")
	Prefix string  // put before y labels and tooltips (a currency sign)
	XTitle string  // the x axis's title, with its time zone
	YTitle string  // the y axis's unit in words
}

const (
	chartW, chartH         = 720, 260
	padL, padR, padT, padB = 64, 16, 24, 40
	plotW, plotH           = chartW - padL - padR, chartH - padT - padB
	gridLines              = 4
	maxXLabels             = 12
	legendRow              = 18 // height of a legend row, below the plot
	legendPerRow           = 4
)

// palette has colours that stay apart for the common colour-vision
// deficiencies (Okabe-Ito).
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"}

func colour(i int) string { return palette[i%len(palette)] }

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func coord(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// render draws the chart as an inline <svg>; every text is escaped.
func (c chart) render() template.HTML {
	top := c.Max
	if top == 0 {
		m := 0.0
		for _, s := range c.Series {
			for _, v := range s.Values {
				if !math.IsNaN(v) && v > m {
					m = v
				}
			}
		}
		top = niceMax(m)
	}
	esc := html.EscapeString
	var b strings.Builder
	// The legend sits below the plot, never over the bars.
	rows := (len(c.Series) + legendPerRow - 1) / legendPerRow
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH+rows*legendRow, esc(c.Title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
	c.axes(&b, top)
	n := len(c.Labels)
	if n == 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	step := float64(plotW) / float64(n)
	every := (n + maxXLabels - 1) / maxXLabels
	for i, l := range c.Labels {
		// Count from the right: the latest bucket (today, this hour) is
		// always labelled.
		if (n-1-i)%every != 0 {
			continue
		}
		x := float64(padL) + step*(float64(i)+0.5)
		fmt.Fprintf(&b, `<text class="xlabel" x="%s" y="%d" text-anchor="middle" font-size="11">%s</text>`, coord(x), chartH-padB+16, esc(l))
	}
	y := func(v float64) float64 {
		v = math.Max(0, math.Min(v, top))
		return float64(padT) + float64(plotH)*(1-v/top)
	}
	ns := len(c.Series)
	for si, s := range c.Series {
		col := colour(si)
		switch c.Kind {
		case "line":
			var pts []string
			flush := func() {
				if len(pts) > 1 {
					fmt.Fprintf(&b, `<polyline class="line" fill="none" stroke="%s" stroke-width="2" points="%s"/>`, col, strings.Join(pts, " "))
				}
				pts = pts[:0]
			}
			for i, v := range s.Values {
				if i >= n {
					break
				}
				// A day without charges has no rate: the line runs on
				// from the last day that had one instead of breaking
				// into loose dots.
				if math.IsNaN(v) {
					continue
				}
				x := float64(padL) + step*(float64(i)+0.5)
				pts = append(pts, coord(x)+","+coord(y(v)))
				fmt.Fprintf(&b, `<circle class="point" cx="%s" cy="%s" r="2.5" fill="%s"><title>%s %s: %s%s</title></circle>`,
					coord(x), coord(y(v)), col, esc(s.Name), esc(c.Labels[i]), esc(num(math.Round(v*10)/10)), esc(c.Unit))
			}
			flush()
		default:
			bw := step * 0.8 / float64(max(ns, 1))
			for i, v := range s.Values {
				if i >= n || math.IsNaN(v) || v <= 0 {
					continue
				}
				x := float64(padL) + step*float64(i) + step*0.1 + bw*float64(si)
				fmt.Fprintf(&b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s %s: %s%s%s</title></rect>`,
					coord(x), coord(y(v)), coord(bw), coord(float64(padT+plotH)-y(v)), col,
					esc(s.Name), esc(c.Labels[i]), esc(c.Prefix), esc(num(v)), esc(c.Unit))
			}
		}
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`, padL, padT+plotH, chartW-padR, padT+plotH)
	// Legend, below the x axis's labels and title.
	for si, s := range c.Series {
		lx := padL + (si%legendPerRow)*((chartW-padL-padR)/legendPerRow)
		ly := chartH + (si/legendPerRow)*legendRow
		fmt.Fprintf(&b, `<rect class="swatch" x="%d" y="%d" width="10" height="10" fill="%s"/>`, lx, ly, colour(si))
		fmt.Fprintf(&b, `<text class="legend" x="%d" y="%d" font-size="11">%s</text>`, lx+14, ly+9, esc(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// axes draws the grid, the y labels with their unit and the axis titles.
func (c chart) axes(b *strings.Builder, top float64) {
	esc := html.EscapeString
	if c.YTitle != "" {
		fmt.Fprintf(b, `<text class="ytitle" x="4" y="%d" font-size="11">%s</text>`, padT-10, esc(c.YTitle))
	}
	for i := 0; i <= gridLines; i++ {
		y := float64(padT) + float64(plotH)*float64(i)/gridLines
		v := top * float64(gridLines-i) / gridLines
		fmt.Fprintf(b, `<line class="grid" x1="%d" y1="%s" x2="%d" y2="%s" stroke="#ddd"/>`, padL, coord(y), chartW-padR, coord(y))
		fmt.Fprintf(b, `<text class="ylabel" x="%d" y="%s" text-anchor="end" font-size="11">%s%s%s</text>`, padL-6, coord(y+4), esc(c.Prefix), esc(num(math.Round(v*100)/100)), esc(c.Unit))
	}
	if c.XTitle != "" {
		fmt.Fprintf(b, `<text class="xtitle" x="%d" y="%d" text-anchor="end" font-size="11">%s</text>`, chartW-padR, chartH-4, esc(c.XTitle))
	}
}
