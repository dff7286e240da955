package console

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/webhook"
)

// --- sign-in ---

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	p := c.newPage(w, r)
	c.showLogin(w, r, p, http.StatusOK)
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, p *page, status int) {
	// A pre-session token against login CSRF (signing a victim in to the
	// attacker's account): the form echoes a cookie only this origin set.
	tok := randomToken()
	c.setCookie(w, r, loginCookie, tok, 3600)
	p.CSRF = tok
	p.Title = p.T("signin")
	c.render(w, p, status, "login", map[string]string{"Next": safeNext(r.FormValue("next"))})
}

// safeNext keeps redirects after sign-in inside the console.
func safeNext(s string) string {
	if strings.HasPrefix(s, "/console/") && !strings.HasPrefix(s, "//") && !strings.ContainsAny(s, "\\\r\n") {
		return s
	}
	return "/console/"
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	p := c.newPage(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if !c.sameOrigin(r) || r.ParseForm() != nil || !tokenEqual(r.PostForm.Get("csrf"), c.cookie(r, loginCookie)) {
		p.Error = p.T("csrf_failed")
		c.showLogin(w, r, p, http.StatusForbidden)
		return
	}
	id, err := c.signIn(r.Context(), r.PostForm.Get("email"), r.PostForm.Get("password"), clientIP(r))
	var wait *throttled
	switch {
	case errors.Is(err, errSignIn):
		p.Error = p.T("signin_failed")
		c.showLogin(w, r, p, http.StatusUnauthorized)
		return
	case errors.As(err, &wait):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.retry.Seconds())))))
		p.Error = p.T("signin_throttled")
		c.showLogin(w, r, p, http.StatusTooManyRequests)
		return
	case err != nil:
		c.failErr(w, r, p, err)
		return
	}
	c.setCookie(w, r, loginCookie, "", -1)
	// The cookie outlives neither limit; the server checks both anyway.
	c.setCookie(w, r, sessionCookie, id, int(c.maxAge()/time.Second))
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if !c.sameOrigin(r) || r.ParseForm() != nil || !tokenEqual(r.PostForm.Get("csrf"), p.sess.csrf) {
		c.fail(w, r, p, http.StatusForbidden, "csrf_failed", "")
		return
	}
	if err := c.cfg.DB.Write(r.Context(), func(tx *store.Tx) error { return tx.DeleteConsoleSession(r.Context(), p.sess.hash) }); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// --- overview: charts ---

type overviewData struct {
	Days       int
	Mode       string
	Volume     any
	Rate       any
	Table      []store.DayStat
	DayLabels  map[int64]string
	HasCharges bool
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, p *page) {
	days, _ := strconv.Atoi(r.URL.Query().Get("days"))
	if days <= 0 || days > 90 {
		days = 14
	}
	mode := r.URL.Query().Get("mode")
	if mode != "test" && mode != "live" {
		mode = ""
	}
	loc := c.cfg.Location
	today := startOfDay(c.now(), loc)
	first := today.AddDate(0, 0, -(days - 1))
	_, offset := today.Zone()
	var stats []store.DayStat
	if err := c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
		stats, err = tx.DailyChannelStats(r.Context(), mode, first.Unix(), int64(offset))
		return
	}); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	volume, rate := buildCharts(stats, first, days, offset)
	volume.Title, rate.Title = p.T("volume"), p.T("success_rate")
	labels := map[int64]string{}
	for _, s := range stats {
		labels[s.Day] = time.Unix(s.Day*86400-int64(offset), 0).In(loc).Format("2006-01-02")
	}
	p.Title, p.Nav = p.T("overview"), "overview"
	c.render(w, p, http.StatusOK, "overview", overviewData{Days: days, Mode: mode, Volume: volume.render(), Rate: rate.render(),
		Table: stats, DayLabels: labels, HasCharges: len(stats) > 0})
}

func startOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// buildCharts turns per-day, per-channel counts into a volume bar chart
// (paid amount in major units) and a success-rate line chart (paid / all
// created, in percent; no point on days without charges).
func buildCharts(stats []store.DayStat, first time.Time, days, offset int) (chart, chart) {
	firstDay := (first.Unix() + int64(offset)) / 86400
	labels := make([]string, days)
	for i := range labels {
		labels[i] = first.AddDate(0, 0, i).Format("01-02")
	}
	var names []string
	idx := map[string]int{}
	for _, s := range stats {
		if _, ok := idx[s.Channel]; !ok {
			idx[s.Channel] = len(names)
			names = append(names, s.Channel)
		}
	}
	sort.Strings(names)
	for i, n := range names {
		idx[n] = i
	}
	vol := make([]series, len(names))
	rate := make([]series, len(names))
	for i, n := range names {
		vol[i] = series{Name: n, Values: make([]float64, days)}
		rate[i] = series{Name: n, Values: make([]float64, days)}
		for d := range rate[i].Values {
			rate[i].Values[d] = math.NaN()
		}
	}
	for _, s := range stats {
		d := int(s.Day - firstDay)
		if d < 0 || d >= days {
			continue
		}
		i := idx[s.Channel]
		// Charts need floats for drawing; amounts in the tables stay exact.
		vol[i].Values[d] = float64(s.PaidAmount) / 100
		if s.Count > 0 {
			rate[i].Values[d] = 100 * float64(s.Paid) / float64(s.Count)
		}
	}
	return chart{Labels: labels, Series: vol, Kind: "bar"}, chart{Labels: labels, Series: rate, Kind: "line", Max: 100, Unit: "%"}
}

// --- apps, keys, credentials, webhooks ---

func (c *Console) apps(w http.ResponseWriter, r *http.Request, p *page) {
	var apps []*polypay.App
	if err := c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) { apps, err = tx.ListApps(r.Context()); return }); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	p.Title, p.Nav = p.T("apps"), "apps"
	c.render(w, p, http.StatusOK, "apps", map[string]any{"Apps": apps})
}

func (c *Console) createApp(w http.ResponseWriter, r *http.Request, p *page) {
	a, err := c.cfg.CreateApp(r.Context(), r.PostForm.Get("name"))
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: app created", "user", p.User.ID, "app", a.AppID)
	// Shown once, in this response only: only the keys' hashes are kept.
	p.Title, p.Nav = p.T("apps"), "apps"
	c.render(w, p, http.StatusOK, "app_created", a)
}

type keyView struct {
	Prefix      string
	Fingerprint string
	Live        bool
	Kind        string
	Created     int64
}

type credView struct {
	Family string
	Live   bool
	Params string // redacted JSON, "" when unset
}

func (c *Console) app(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	appID := r.PathValue("app")
	var app *polypay.App
	var keys []store.APIKeyInfo
	var eps []*polypay.WebhookEndpoint
	err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		if app, err = tx.GetApp(ctx, appID); err != nil {
			return err
		}
		if keys, err = tx.APIKeys(ctx, appID); err != nil {
			return err
		}
		for _, live := range []bool{false, true} {
			e, err := tx.ListWebhookEndpoints(ctx, appID, live)
			if err != nil {
				return err
			}
			eps = append(eps, e...)
		}
		return nil
	})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	var kv []keyView
	for _, k := range keys {
		prefix := "sk_"
		if k.Kind == store.KeyPublishable {
			prefix = "pk_"
		}
		if k.Live {
			prefix += "live_"
		} else {
			prefix += "test_"
		}
		kv = append(kv, keyView{Prefix: prefix + "…", Fingerprint: "sha256:" + k.Hash[:12], Live: k.Live, Kind: k.Kind, Created: k.Created})
	}
	var creds []credView
	for _, fam := range c.cfg.Families {
		for _, live := range []bool{false, true} {
			cv := credView{Family: fam, Live: live}
			d, err := c.cfg.Credentials.Describe(ctx, appID, live, fam)
			switch {
			case polypay.ErrorCode(err) == polypay.ENotFound:
			case err != nil:
				c.failErr(w, r, p, err)
				return
			default:
				b, _ := json.MarshalIndent(d, "", "  ")
				cv.Params = string(b)
			}
			creds = append(creds, cv)
		}
	}
	p.Title, p.Nav = app.Name, "apps"
	c.render(w, p, http.StatusOK, "app", map[string]any{"App": app, "Keys": kv, "Creds": creds, "Endpoints": eps, "Families": c.cfg.Families,
		"Schemas": credSchemas(c.cfg.Families, p.Lang)})
}

// credSchema is a family's credential fields as the set-credentials form
// explains them (the family descriptor's schema).
type credSchema struct {
	Family string
	Fields []credField
}

type credField struct {
	Name             string
	Secret, Required bool
	Hint             string
}

func credSchemas(families []string, lang string) []credSchema {
	var out []credSchema
	for _, fam := range families {
		f := polypay.LookupFamily(fam)
		if f == nil || len(f.Credentials) == 0 {
			continue
		}
		s := credSchema{Family: fam}
		for _, cf := range f.Credentials {
			s.Fields = append(s.Fields, credField{Name: cf.Name, Secret: cf.Secret, Required: cf.Required, Hint: cf.Hint.In(lang)})
		}
		out = append(out, s)
	}
	return out
}

func (c *Console) setChannel(w http.ResponseWriter, r *http.Request, p *page) {
	appID := r.PathValue("app")
	fam := r.PostForm.Get("family")
	live := r.PostForm.Get("mode") == "live"
	params := strings.TrimSpace(r.PostForm.Get("params"))
	if !json.Valid([]byte(params)) || !strings.HasPrefix(params, "{") {
		c.fail(w, r, p, http.StatusBadRequest, "bad_request", "params: JSON object")
		return
	}
	known := false
	for _, f := range c.cfg.Families {
		known = known || f == fam
	}
	if !known {
		c.fail(w, r, p, http.StatusBadRequest, "bad_request", "family")
		return
	}
	if err := c.cfg.Credentials.Configure(r.Context(), appID, live, fam, json.RawMessage(params)); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: channel credentials set", "user", p.User.ID, "app", appID, "family", fam, "live", live)
	redirectDone(w, r, "/console/apps/"+appID, "saved", "")
}

func (c *Console) webhookLog(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	var ep *polypay.WebhookEndpoint
	var deleted bool
	var ds []*store.EndpointDelivery
	err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		if ep, deleted, err = tx.WebhookEndpoint(ctx, r.PathValue("ep")); err != nil {
			return err
		}
		ds, err = tx.DeliveriesForEndpoint(ctx, ep.ID, 100)
		return err
	})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	p.Title, p.Nav = p.T("webhooks"), "apps"
	c.render(w, p, http.StatusOK, "webhooks", map[string]any{"Endpoint": ep, "Deleted": deleted, "Deliveries": ds})
}

func (c *Console) resend(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	id := r.PathValue("id")
	var epID string
	if err := c.cfg.DB.Read(ctx, func(tx *store.Tx) error {
		return tx.DeliveryEndpoint(ctx, id, &epID)
	}); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	nid, err := webhook.Resend(ctx, c.cfg.DB, id, c.now())
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	if c.cfg.Kick != nil {
		c.cfg.Kick()
	}
	c.log().Info("console: webhook resent", "user", p.User.ID, "delivery", id, "new_delivery", nid)
	redirectDone(w, r, "/console/webhooks/"+epID, "resent", "")
}

// --- search ---

// filter reads the search form. Amounts are in major units (yuan), dates
// YYYY-MM-DD in the console's zone, "to" inclusive.
func (c *Console) filter(r *http.Request, limit int) (store.TxnFilter, error) {
	q := r.URL.Query()
	f := store.TxnFilter{AppID: q.Get("app"), Mode: q.Get("mode"), ID: strings.TrimSpace(q.Get("id")),
		OrderNo: strings.TrimSpace(q.Get("order_no")), Channel: q.Get("channel"), Status: q.Get("status"),
		Before: q.Get("before"), Limit: limit}
	if f.Mode != "test" && f.Mode != "live" {
		f.Mode = ""
	}
	for _, a := range []struct {
		key string
		dst **int64
	}{{"amount_min", &f.AmountMin}, {"amount_max", &f.AmountMax}} {
		if s := q.Get(a.key); s != "" {
			n, err := parseAmount(s, a.key)
			if err != nil {
				return f, err
			}
			*a.dst = &n
		}
	}
	for _, d := range []struct {
		key  string
		dst  *int64
		next bool
	}{{"from", &f.From, false}, {"to", &f.To, true}} {
		if s := q.Get(d.key); s != "" {
			t, err := time.ParseInLocation("2006-01-02", s, c.cfg.Location)
			if err != nil {
				return f, polypay.ParamError(d.key, "date %q must be YYYY-MM-DD", s)
			}
			if d.next {
				t = t.AddDate(0, 0, 1)
			}
			*d.dst = t.Unix()
		}
	}
	return f, nil
}

var chargeStatuses = []string{"pending", "paid", "authorized", "closed", "reversed"}
var refundStatuses = []string{"pending", "succeeded", "failed"}

type searchData struct {
	Kind     string // charges or refunds
	Charges  []*polypay.Charge
	Refunds  []store.RefundRow
	More     string // cursor of the next page
	Statuses []string
	Channels []string
	Apps     []*polypay.App
}

const pageSize = 50

func (c *Console) search(w http.ResponseWriter, r *http.Request, p *page, kind string) {
	ctx := r.Context()
	f, err := c.filter(r, pageSize)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	d := searchData{Kind: kind, Channels: c.cfg.Channels, Statuses: chargeStatuses}
	err = c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		if d.Apps, err = tx.ListApps(ctx); err != nil {
			return err
		}
		var more bool
		if kind == "charges" {
			d.Charges, more, err = tx.SearchCharges(ctx, f)
			if more {
				d.More = d.Charges[len(d.Charges)-1].ID
			}
		} else {
			d.Statuses = refundStatuses
			d.Refunds, more, err = tx.SearchRefunds(ctx, f)
			if more {
				d.More = d.Refunds[len(d.Refunds)-1].ID
			}
		}
		return err
	})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	p.Title, p.Nav = p.T(kind), kind
	c.render(w, p, http.StatusOK, "search", d)
}

func (c *Console) charges(w http.ResponseWriter, r *http.Request, p *page) {
	c.search(w, r, p, "charges")
}
func (c *Console) refunds(w http.ResponseWriter, r *http.Request, p *page) {
	c.search(w, r, p, "refunds")
}

// chargesCSV streams every matching charge, a page of rows per read
// transaction so that a large export holds no snapshot open for long.
func (c *Console) chargesCSV(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	f, err := c.filter(r, 500)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	out := newCSV(w, "charges-"+c.now().In(c.cfg.Location).Format("20060102-150405")+".csv")
	out.Write("id", "app", "livemode", "channel", "order_no", "amount", "currency", "status", "paid", "amount_refunded",
		"transaction_no", "subject", "created", "time_paid", "failure_code", "failure_msg")
	for {
		var cs []*polypay.Charge
		var more bool
		if err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) { cs, more, err = tx.SearchCharges(ctx, f); return }); err != nil {
			c.log().Error("console: csv export", "err", err)
			return // the truncated file lacks its last rows; the client sees the broken stream
		}
		for _, ch := range cs {
			out.Write(ch.ID, ch.AppID, strconv.FormatBool(ch.Livemode), ch.Channel, ch.OrderNo, formatAmount(ch.Amount, ch.Currency),
				ch.Currency, string(ch.Status), strconv.FormatBool(ch.Paid()), formatAmount(ch.AmountRefunded, ch.Currency),
				ch.TransactionNo, ch.Subject, p.Time(ch.Created), p.Time(ch.TimePaid), ch.FailureCode, ch.FailureMsg)
		}
		if !more {
			break
		}
		f.Before = cs[len(cs)-1].ID
	}
	out.Flush()
}

func (c *Console) refundsCSV(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	f, err := c.filter(r, 500)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	out := newCSV(w, "refunds-"+c.now().In(c.cfg.Location).Format("20060102-150405")+".csv")
	out.Write("id", "app", "livemode", "channel", "charge", "charge_order_no", "refund_no", "amount", "currency", "status",
		"transaction_no", "description", "created", "time_succeed", "failure_code", "failure_msg")
	for {
		var rs []store.RefundRow
		var more bool
		if err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) { rs, more, err = tx.SearchRefunds(ctx, f); return }); err != nil {
			c.log().Error("console: csv export", "err", err)
			return
		}
		for _, rf := range rs {
			out.Write(rf.ID, rf.AppID, strconv.FormatBool(rf.Livemode), rf.Channel, rf.ChargeID, rf.ChargeOrderNo, rf.OrderNo,
				formatAmount(rf.Amount, rf.Currency), rf.Currency, string(rf.Status), rf.TransactionNo, rf.Description,
				p.Time(rf.Created), p.Time(rf.TimeSucceed), rf.FailureCode, rf.FailureMsg)
		}
		if !more {
			break
		}
		f.Before = rs[len(rs)-1].ID
	}
	out.Flush()
}

// --- charge page ---

// entry is one line of a charge's timeline.
type entry struct {
	At      int64 // unix milliseconds, for ordering
	Kind    string
	Title   string
	Detail  string
	Outcome string
	OK      bool
}

type chargeData struct {
	Charge     *polypay.Charge
	Refunds    []*polypay.Refund
	Timeline   []entry
	Refundable int64
}

func (c *Console) charge(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	var d chargeData
	err := c.cfg.DB.Read(ctx, func(tx *store.Tx) error {
		ch, err := tx.ChargeByID(ctx, r.PathValue("id"))
		if err != nil {
			return err
		}
		d.Charge = ch
		if d.Refunds, _, err = tx.ListRefunds(ctx, ch.ID, "", "", 100); err != nil {
			return err
		}
		reserved, err := tx.Reserved(ctx, ch.ID)
		if err != nil {
			return err
		}
		if ch.Status == polypay.ChargePaid {
			d.Refundable = max(ch.AmountCaptured-reserved, 0)
		}
		d.Timeline, err = c.timeline(ctx, tx, p, ch, d.Refunds)
		return err
	})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	p.Title, p.Nav = p.T("charge")+" "+d.Charge.ID, "charges"
	c.render(w, p, http.StatusOK, "charge", d)
}

func (c *Console) refund(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	var ch *polypay.Charge
	var app *polypay.App
	if err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		if ch, err = tx.ChargeByID(ctx, r.PathValue("id")); err != nil {
			return err
		}
		app, err = tx.GetApp(ctx, ch.AppID)
		return err
	}); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	var amount int64
	if s := strings.TrimSpace(r.PostForm.Get("amount")); s != "" {
		var err error
		if amount, err = parseAmount(s, "amount"); err != nil || amount <= 0 {
			if err == nil {
				err = polypay.ParamError("amount", "amount must be positive")
			}
			c.failErr(w, r, p, err)
			return
		}
	}
	desc := strings.TrimSpace(r.PostForm.Get("description"))
	if len([]rune(desc)) > 255 {
		c.fail(w, r, p, http.StatusBadRequest, "bad_request", "description")
		return
	}
	who := core.Caller{App: app, Live: ch.Livemode, RequestID: polypay.NewID("iar_")}
	out, err := c.cfg.Svc.CreateRefund(ctx, who, ch.ID, core.RefundParams{Amount: amount, Description: desc, Metadata: json.RawMessage("{}")}, nil)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	ref := refundID(out)
	c.log().Info("console: refund created", "user", p.User.ID, "charge", ch.ID, "refund", ref, "amount", amount)
	redirectDone(w, r, "/console/charges/"+ch.ID, "refund_done", ref)
}

// refundID reads the id of the refund CreateRefund returned (its wire form).
func refundID(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var x struct {
		ID string `json:"id"`
	}
	json.Unmarshal(b, &x)
	return x.ID
}

// --- reconciliation and reports ---

func (c *Console) recon(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title, p.Nav = p.T("recon"), "recon"
	if c.cfg.Recon == nil {
		c.render(w, p, http.StatusOK, "recon", map[string]any{"Off": true})
		return
	}
	runs, err := c.cfg.Recon.Runs(r.Context(), 30)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	ds, err := c.cfg.Recon.Discrepancies(r.Context(), DiscrepancyFilter{OpenOnly: true, Limit: 200})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	// What was resolved lately stays in view, with who did it and why, so
	// a team sees what its colleagues settled.
	done, err := c.cfg.Recon.Discrepancies(r.Context(), DiscrepancyFilter{ResolvedOnly: true, Limit: 50})
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.render(w, p, http.StatusOK, "recon", map[string]any{"Runs": runs, "Open": ds, "Resolved": done})
}

func (c *Console) resolve(w http.ResponseWriter, r *http.Request, p *page) {
	if c.cfg.Recon == nil {
		c.fail(w, r, p, http.StatusNotFound, "recon_off", "")
		return
	}
	note := strings.TrimSpace(r.PostForm.Get("note"))
	if note == "" || len([]rune(note)) > 1000 {
		c.fail(w, r, p, http.StatusBadRequest, "bad_request", p.T("note"))
		return
	}
	id := r.PathValue("id")
	if err := c.cfg.Recon.Resolve(r.Context(), id, note, p.User.Email); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: discrepancy resolved", "user", p.User.ID, "discrepancy", id)
	redirectDone(w, r, "/console/recon", "resolved", "")
}

func (c *Console) reportDay(r *http.Request) (string, error) {
	day := r.URL.Query().Get("date")
	if day == "" {
		return startOfDay(c.now(), c.cfg.Location).AddDate(0, 0, -1).Format("2006-01-02"), nil
	}
	if _, err := time.Parse("2006-01-02", day); err != nil {
		return "", polypay.ParamError("date", "date %q must be YYYY-MM-DD", day)
	}
	return day, nil
}

func (c *Console) reports(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title, p.Nav = p.T("reports"), "reports"
	day, err := c.reportDay(r)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	if c.cfg.Recon == nil {
		c.render(w, p, http.StatusOK, "reports", map[string]any{"Off": true, "Day": day})
		return
	}
	rows, err := c.cfg.Recon.DailyReport(r.Context(), day)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.render(w, p, http.StatusOK, "reports", map[string]any{"Day": day, "Rows": rows})
}

func (c *Console) reportsCSV(w http.ResponseWriter, r *http.Request, p *page) {
	day, err := c.reportDay(r)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	if c.cfg.Recon == nil {
		c.fail(w, r, p, http.StatusNotFound, "recon_off", "")
		return
	}
	rows, err := c.cfg.Recon.DailyReport(r.Context(), day)
	if err != nil {
		c.failErr(w, r, p, err)
		return
	}
	out := newCSV(w, "report-"+day+".csv")
	out.Write("day", "app", "channel", "currency", "count", "gross", "refunds", "fees", "net")
	for _, x := range rows {
		out.Write(x.Day, x.AppID, x.Channel, x.Currency, strconv.FormatInt(x.Count, 10), formatAmount(x.Gross, x.Currency),
			formatAmount(x.Refunds, x.Currency), formatAmount(x.Fees, x.Currency), formatAmount(x.Net, x.Currency))
	}
	out.Flush()
}
