package reconcile

import (
	"context"
	"encoding/csv"
	"io"
	"sort"
	"strconv"
)

// Families lists channel families (the registry implements it).
type Families interface {
	// Families lists the family names.
	Families() []string
	// FamilyChannels lists the Ping++ channels of a family (nil for an
	// unknown one).
	FamilyChannels(family string) []string
	// Family is the family of a channel (alipay_qr: alipay), or the name
	// itself when it names a family.
	Family(channel string) string
}

// ReportRow is one channel's day.
type ReportRow struct {
	Channel      string `json:"channel"`
	Family       string `json:"family"`
	Currency     string `json:"currency"`
	Charges      int64  `json:"charges_count"`
	Gross        int64  `json:"gross_amount"`
	Refunds      int64  `json:"refunds_count"`
	RefundAmount int64  `json:"refunds_amount"`
	Fees         int64  `json:"fees_amount"`
	Net          int64  `json:"net_amount"` // gross - refunds - fees
}

// Report is an app's daily summary per channel, from polypay's records
// (charges by payment time, refunds by success time, each in its family's
// time zone) and the fees posted from the channels' statements of that day.
type Report struct {
	Object string       `json:"object"` // "daily_report"
	App    string       `json:"app"`
	Live   bool         `json:"livemode"`
	Date   string       `json:"date"`
	Rows   []*ReportRow `json:"data"`
	// Totals per currency.
	Totals []*ReportRow `json:"totals"`
}

// DailyReport builds an app's report for day.
//
// Errors: EInvalid for a malformed day.
func DailyReport(ctx context.Context, db Store, fams Families, appID string, live bool, day string) (*Report, error) {
	if _, _, err := DayBounds(day, Shanghai); err != nil {
		return nil, err
	}
	rep := &Report{Object: "daily_report", App: appID, Live: live, Date: day, Rows: []*ReportRow{}, Totals: []*ReportRow{}}
	err := db.ReadRecon(ctx, func(tx Tx) error {
		for _, fam := range fams.Families() {
			from, to, _ := DayBounds(day, Zone(fam))
			ts, err := tx.DailyTotals(ctx, appID, live, fams.FamilyChannels(fam), from, to, day)
			if err != nil {
				return err
			}
			for _, t := range ts {
				rep.Rows = append(rep.Rows, &ReportRow{Channel: t.Channel, Family: fam, Currency: t.Currency, Charges: t.Charges,
					Gross: t.Gross, Refunds: t.Refunds, RefundAmount: t.RefundTotal, Fees: t.Fees, Net: t.Gross - t.RefundTotal - t.Fees})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(rep.Rows, func(i, j int) bool {
		a, b := rep.Rows[i], rep.Rows[j]
		if a.Channel != b.Channel {
			return a.Channel < b.Channel
		}
		return a.Currency < b.Currency
	})
	byCur := map[string]*ReportRow{}
	for _, r := range rep.Rows {
		t := byCur[r.Currency]
		if t == nil {
			t = &ReportRow{Channel: "total", Currency: r.Currency}
			byCur[r.Currency] = t
			rep.Totals = append(rep.Totals, t)
		}
		t.Charges += r.Charges
		t.Gross += r.Gross
		t.Refunds += r.Refunds
		t.RefundAmount += r.RefundAmount
		t.Fees += r.Fees
		t.Net += r.Net
	}
	return rep, nil
}

// WriteCSV writes the report as CSV: one row per channel and currency,
// then the totals; amounts in minor units.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"date", "channel", "family", "currency", "charges_count", "gross_amount", "refunds_count",
		"refunds_amount", "fees_amount", "net_amount"})
	i := strconv.FormatInt
	for _, rows := range [][]*ReportRow{r.Rows, r.Totals} {
		for _, x := range rows {
			_ = cw.Write([]string{r.Date, x.Channel, x.Family, x.Currency, i(x.Charges, 10), i(x.Gross, 10), i(x.Refunds, 10),
				i(x.RefundAmount, 10), i(x.Fees, 10), i(x.Net, 10)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// Summary is Ping++'s summary object for summary.daily.available
// (object app_daily_summary): the app's paid charges of the day.
type Summary struct {
	AppID          string `json:"app_id"`
	Object         string `json:"object"`
	AppDisplayName string `json:"app_display_name"`
	Created        int64  `json:"created"`
	SummaryFrom    int64  `json:"summary_from"`
	SummaryTo      int64  `json:"summary_to"`
	ChargesAmount  int64  `json:"charges_amount"`
	ChargesCount   int64  `json:"charges_count"`
}

// EventDailySummary is Ping++'s event type for the daily summary.
const EventDailySummary = "summary.daily.available"

// DailySummary builds the app_daily_summary of a report. Ping++ cuts its
// days in Beijing time.
func DailySummary(rep *Report, name string, created int64) *Summary {
	from, to, _ := DayBounds(rep.Date, Shanghai)
	s := &Summary{AppID: rep.App, Object: "app_daily_summary", AppDisplayName: name, Created: created,
		SummaryFrom: from, SummaryTo: to - 1}
	for _, r := range rep.Rows {
		s.ChargesAmount += r.Gross
		s.ChargesCount += r.Charges
	}
	return s
}

// Reporter builds reports for the API and the console.
type Reporter struct {
	Store    Store
	Families Families
}

// DailyReport is DailyReport with the reporter's store and families.
func (r *Reporter) DailyReport(ctx context.Context, appID string, live bool, day string) (*Report, error) {
	return DailyReport(ctx, r.Store, r.Families, appID, live, day)
}

// AllApps is every app's report of day, live mode first, the newest app
// first within a mode (the console's summary across apps).
//
// Errors: EInvalid for a malformed day.
func (r *Reporter) AllApps(ctx context.Context, day string) ([]*Report, error) {
	var apps []string
	if err := r.Store.ReadRecon(ctx, func(tx Tx) error {
		list, err := tx.ListApps(ctx)
		for _, a := range list {
			apps = append(apps, a.ID)
		}
		return err
	}); err != nil {
		return nil, err
	}
	var out []*Report
	for _, live := range []bool{true, false} {
		for _, app := range apps {
			rep, err := r.DailyReport(ctx, app, live, day)
			if err != nil {
				return nil, err
			}
			out = append(out, rep)
		}
	}
	return out, nil
}
