package console

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay/store"
)

// tile is one headline figure set: paid volume per currency, paid count,
// success rate (paid / created) and refunds per currency.
type tile struct {
	Volume  []string // money per currency, "¥1,234.56"
	Paid    int64
	Created int64
	Rate    string // "97.5%", "—" with no charges
	Refunds []string
}

// channelRow is a channel's figures in one currency over a window.
type channelRow struct {
	Channel, Currency string
	Created, Paid     int64
	Rate              string
	Volume, Refunds   string
}

type overviewData struct {
	Period        string // "today", or a number of days
	Periods       []string
	Mode          string
	Zone          string // "UTC+08:00"
	Today         tile
	Span          tile
	TodayRows     []channelRow
	SpanRows      []channelRow
	Volume        []chartView // one per currency
	Rate          chartView
	HasCharges    bool
	From, Through string // the period's first and last day
}

type chartView struct {
	Title string
	SVG   any
}

// periods are the overview's choices: today by hour, or days by day.
var periods = []string{"today", "7", "14", "30", "90"}

// zoneLabel names the console's time zone as an offset ("UTC+08:00"),
// unambiguous where abbreviations like CST are not.
func zoneLabel(t time.Time) string {
	_, off := t.Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return fmt.Sprintf("UTC%s%02d:%02d", sign, off/3600, off%3600/60)
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, p *page) {
	q := r.URL.Query()
	period := q.Get("period")
	if period == "" {
		period = q.Get("days") // the old parameter
	}
	if !hasString(periods, period) {
		period = c.defaultPeriod(r, p)
	}
	mode := q.Get("mode")
	if mode != "test" && mode != "live" {
		mode = ""
	}
	now := c.now().In(c.cfg.Location)
	today := startOfDay(now, c.cfg.Location)
	_, offset := today.Zone()
	d := overviewData{Period: period, Periods: periods, Mode: mode, Zone: zoneLabel(now)}
	todayF := store.StatsFilter{Mode: mode, Apps: p.Scope(), From: today.Unix(), To: today.AddDate(0, 0, 1).Unix(), Bucket: 86400, Offset: int64(offset)}
	spanF := todayF
	var buckets []time.Time
	if period == "today" {
		spanF.Bucket = 3600
		for h := range 24 {
			buckets = append(buckets, today.Add(time.Duration(h)*time.Hour))
		}
	} else {
		days, _ := strconv.Atoi(period)
		spanF.From = today.AddDate(0, 0, -(days - 1)).Unix()
		for i := range days {
			buckets = append(buckets, today.AddDate(0, 0, i-(days-1)))
		}
	}
	d.From, d.Through = buckets[0].Format("2006-01-02"), today.Format("2006-01-02")
	var todayS, spanS []store.BucketStat
	var todayR, spanR []store.RefundStat
	err := c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
		if todayS, err = tx.ChannelStats(r.Context(), todayF); err != nil {
			return err
		}
		if spanS, err = tx.ChannelStats(r.Context(), spanF); err != nil {
			return err
		}
		if todayR, err = tx.RefundStats(r.Context(), todayF); err != nil {
			return err
		}
		spanR, err = tx.RefundStats(r.Context(), spanF)
		return err
	})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d.Today, d.TodayRows = summarize(todayS, todayR)
	d.Span, d.SpanRows = summarize(spanS, spanR)
	d.HasCharges = len(spanS) > 0
	d.Volume, d.Rate = c.overviewCharts(p, spanS, buckets, spanF, period == "today", d.Zone)
	p.Title, p.Nav = p.T("overview"), "overview"
	c.render(w, p, http.StatusOK, "overview", d)
}

func hasString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func startOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

func successRate(paid, created int64) string {
	if created == 0 {
		return "—"
	}
	return strconv.FormatFloat(math.Round(1000*float64(paid)/float64(created))/10, 'f', 1, 64) + "%"
}

// summarize totals the stats into a tile and per-channel rows (channel,
// then currency order). Amounts in different currencies are never added.
func summarize(stats []store.BucketStat, refunds []store.RefundStat) (tile, []channelRow) {
	var t tile
	type key struct{ ch, cur string }
	rows := map[key]*channelRow{}
	vol, ref := map[string]int64{}, map[string]int64{}
	sums := map[key][2]int64{} // paid amount, refund amount
	get := func(k key) *channelRow {
		if rows[k] == nil {
			rows[k] = &channelRow{Channel: k.ch, Currency: k.cur}
		}
		return rows[k]
	}
	for _, s := range stats {
		t.Created += s.Count
		t.Paid += s.Paid
		vol[s.Currency] += s.PaidAmount
		row := get(key{s.Channel, s.Currency})
		row.Created += s.Count
		row.Paid += s.Paid
		v := sums[key{s.Channel, s.Currency}]
		v[0] += s.PaidAmount
		sums[key{s.Channel, s.Currency}] = v
	}
	for _, rf := range refunds {
		ref[rf.Currency] += rf.Amount
		get(key{rf.Channel, rf.Currency})
		v := sums[key{rf.Channel, rf.Currency}]
		v[1] += rf.Amount
		sums[key{rf.Channel, rf.Currency}] = v
	}
	t.Rate = successRate(t.Paid, t.Created)
	t.Volume, t.Refunds = moneyList(vol), moneyList(ref)
	var out []channelRow
	for k, row := range rows {
		row.Rate = successRate(row.Paid, row.Created)
		row.Volume, row.Refunds = formatMoney(sums[k][0], k.cur), formatMoney(sums[k][1], k.cur)
		out = append(out, *row)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Channel != out[j].Channel {
			return out[i].Channel < out[j].Channel
		}
		return out[i].Currency < out[j].Currency
	})
	return t, out
}

// moneyList renders per-currency sums, CNY first; none is "¥0.00".
func moneyList(m map[string]int64) []string {
	if len(m) == 0 {
		return []string{formatMoney(0, "cny")}
	}
	curs := make([]string, 0, len(m))
	for c := range m {
		curs = append(curs, c)
	}
	sort.Slice(curs, func(i, j int) bool { return curs[i] == "cny" || (curs[j] != "cny" && curs[i] < curs[j]) })
	out := make([]string, len(curs))
	for i, c := range curs {
		out[i] = formatMoney(m[c], c)
	}
	return out
}

// overviewCharts draws paid volume (one bar chart per currency, with its
// total) and success rate (lines per channel) over the buckets, a time
// axis in the console's zone.
func (c *Console) overviewCharts(p *page, stats []store.BucketStat, buckets []time.Time, f store.StatsFilter, hourly bool, zone string) ([]chartView, chartView) {
	labels := make([]string, len(buckets))
	xTitle := p.T("axis_date") + " (" + zone + ")"
	for i, b := range buckets {
		if hourly {
			labels[i] = b.Format("15:00")
		} else {
			labels[i] = b.Format("01-02")
		}
	}
	if hourly {
		xTitle = p.T("axis_hour") + " (" + zone + ")"
	}
	first := (f.From + f.Offset) / f.Bucket
	var channels, currencies []string
	for _, s := range stats {
		if !hasString(channels, s.Channel) {
			channels = append(channels, s.Channel)
		}
		if !hasString(currencies, s.Currency) {
			currencies = append(currencies, s.Currency)
		}
	}
	sort.Strings(channels)
	sort.Slice(currencies, func(i, j int) bool {
		return currencies[i] == "cny" || (currencies[j] != "cny" && currencies[i] < currencies[j])
	})
	if len(currencies) == 0 {
		currencies = []string{"cny"}
	}
	var vols []chartView
	for _, cur := range currencies {
		series, total := volumeSeries(stats, channels, cur, first, len(buckets))
		title := fmt.Sprintf("%s · %s · %s %s", p.T("volume"), strings.ToUpper(cur), p.T("total"), formatMoney(total, cur))
		ch := chart{Title: title, Labels: labels, Series: series, Kind: "bar", Prefix: symbolOf(cur), XTitle: xTitle, YTitle: strings.ToUpper(cur)}
		vols = append(vols, chartView{Title: title, SVG: ch.render()})
	}
	rs := rateSeries(stats, channels, first, len(buckets))
	rt := p.T("success_rate")
	rc := chart{Title: rt, Labels: labels, Series: rs, Kind: "line", Max: 100, Unit: "%", XTitle: xTitle, YTitle: p.T("paid_of_created")}
	return vols, chartView{Title: rt, SVG: rc.render()}
}

func symbolOf(cur string) string {
	if s, ok := symbols[strings.ToLower(cur)]; ok {
		return s
	}
	return strings.ToUpper(cur) + " "
}

// volumeSeries is paid volume per channel in major units for drawing (the
// tiles and tables stay exact) and the exact total in minor units.
func volumeSeries(stats []store.BucketStat, channels []string, cur string, first int64, n int) ([]series, int64) {
	out := make([]series, len(channels))
	var total int64
	for i, ch := range channels {
		out[i] = series{Name: ch, Values: make([]float64, n)}
	}
	scale := math.Pow10(exponent(cur))
	for _, s := range stats {
		i := int(s.Bucket - first)
		if s.Currency != cur || i < 0 || i >= n {
			continue
		}
		out[indexOf(channels, s.Channel)].Values[i] += float64(s.PaidAmount) / scale
		total += s.PaidAmount
	}
	return out, total
}

// rateSeries is paid / created in percent per channel and bucket; NaN for
// buckets without charges.
func rateSeries(stats []store.BucketStat, channels []string, first int64, n int) []series {
	created := make([][]int64, len(channels))
	paid := make([][]int64, len(channels))
	for i := range channels {
		created[i], paid[i] = make([]int64, n), make([]int64, n)
	}
	for _, s := range stats {
		i := int(s.Bucket - first)
		if i < 0 || i >= n {
			continue
		}
		ci := indexOf(channels, s.Channel)
		created[ci][i] += s.Count
		paid[ci][i] += s.Paid
	}
	out := make([]series, len(channels))
	for ci, ch := range channels {
		out[ci] = series{Name: ch, Values: make([]float64, n)}
		for i := range n {
			out[ci].Values[i] = math.NaN()
			if created[ci][i] > 0 {
				out[ci].Values[i] = 100 * float64(paid[ci][i]) / float64(created[ci][i])
			}
		}
	}
	return out
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

// defaultPeriod is 14 days, or today (by hour) when nothing happened in
// those days before today: a lone bar at the end of a 14-day axis says
// less than today's hours do.
func (c *Console) defaultPeriod(r *http.Request, p *page) string {
	today := startOfDay(c.now(), c.cfg.Location)
	_, offset := today.Zone()
	var stats []store.BucketStat
	err := c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
		stats, err = tx.ChannelStats(r.Context(), store.StatsFilter{Apps: p.Scope(), From: today.AddDate(0, 0, -13).Unix(),
			To: today.Unix(), Bucket: 86400, Offset: int64(offset)})
		return err
	})
	if err == nil && len(stats) == 0 {
		return "today"
	}
	return "14"
}
