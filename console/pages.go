package console

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
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

// --- apps, keys, credentials, webhooks ---

func (c *Console) apps(w http.ResponseWriter, r *http.Request, p *page) {
	var apps []*polypay.App
	if err := c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) { apps, err = tx.ListApps(r.Context()); return }); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	var seen []*polypay.App
	for _, a := range apps {
		if p.Sees(a.ID) {
			seen = append(seen, a)
		}
	}
	p.Title, p.Nav = p.T("apps"), "apps"
	c.render(w, p, http.StatusOK, "apps", map[string]any{"Apps": seen})
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
	if !c.seesOrNotFound(w, r, p, ep.AppID) {
		return
	}
	p.Title, p.Nav = p.T("webhooks"), "apps"
	c.render(w, p, http.StatusOK, "webhooks", map[string]any{"Endpoint": ep, "Deleted": deleted, "Deliveries": ds})
}

func (c *Console) resend(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	id := r.PathValue("id")
	var epID string
	var ep *polypay.WebhookEndpoint
	if err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		if err = tx.DeliveryEndpoint(ctx, id, &epID); err != nil {
			return err
		}
		ep, _, err = tx.WebhookEndpoint(ctx, epID)
		return err
	}); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	if !c.seesOrNotFound(w, r, p, ep.AppID) {
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
func (c *Console) filter(r *http.Request, p *page, limit int) (store.TxnFilter, error) {
	q := r.URL.Query()
	f := store.TxnFilter{AppID: q.Get("app"), Apps: p.Scope(), Mode: q.Get("mode"), ID: strings.TrimSpace(q.Get("id")),
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
	f, err := c.filter(r, p, pageSize)
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
	f, err := c.filter(r, p, 500)
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
	f, err := c.filter(r, p, 500)
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
		if !p.Sees(ch.AppID) {
			return polypay.NotFound("charge", ch.ID)
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
		if !p.Sees(ch.AppID) {
			return polypay.NotFound("charge", ch.ID)
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
		if amount, err = parseMoney(s, "amount", ch.Currency); err != nil || amount <= 0 {
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
	c.render(w, p, http.StatusOK, "recon", map[string]any{"Runs": scopedRuns(p, runs), "Open": scopedDiscrepancies(p, ds),
		"Resolved": scopedDiscrepancies(p, done)})
}

// scopedRuns keeps the runs of the user's apps (a run without an app, a
// whole-family run, only for org-wide users).
func scopedRuns(p *page, runs []ReconRun) []ReconRun {
	if p.OrgWide() {
		return runs
	}
	var out []ReconRun
	for _, r := range runs {
		if r.AppID != "" && p.Sees(r.AppID) {
			out = append(out, r)
		}
	}
	return out
}

func scopedDiscrepancies(p *page, ds []Discrepancy) []Discrepancy {
	if p.OrgWide() {
		return ds
	}
	var out []Discrepancy
	for _, d := range ds {
		if p.Sees(d.AppID) {
			out = append(out, d)
		}
	}
	return out
}

// discrepancyInScope finds an open discrepancy among those the user sees.
func (c *Console) discrepancyInScope(r *http.Request, p *page, id string) (bool, error) {
	if p.OrgWide() {
		return true, nil
	}
	ds, err := c.cfg.Recon.Discrepancies(r.Context(), DiscrepancyFilter{OpenOnly: true, Limit: 1000})
	for _, d := range ds {
		if d.ID == id {
			return p.Sees(d.AppID), err
		}
	}
	return false, err
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
	if ok, err := c.discrepancyInScope(r, p, id); err != nil || !ok {
		if err == nil {
			err = polypay.NotFound("discrepancy", id)
		}
		c.failErr(w, r, p, err)
		return
	}
	if err := c.cfg.Recon.Resolve(r.Context(), id, note, p.User.Email); err != nil {
		c.failErr(w, r, p, err)
		return
	}
	c.log().Info("console: discrepancy resolved", "user", p.User.ID, "discrepancy", id)
	redirectDone(w, r, "/console/recon", "resolved", "")
}

// reportDay is the date asked for or, without one, the latest day with a
// payment in the user's apps (yesterday when there is none): a report
// that opens on an empty day tells nothing. latest says it was chosen so.
func (c *Console) reportDay(r *http.Request, p *page) (day string, latest bool, err error) {
	day = r.URL.Query().Get("date")
	if day != "" {
		if _, err := time.Parse("2006-01-02", day); err != nil {
			return "", false, polypay.ParamError("date", "date %q must be YYYY-MM-DD", day)
		}
		return day, false, nil
	}
	var paid int64
	if err := c.cfg.DB.Read(r.Context(), func(tx *store.Tx) (err error) {
		paid, err = tx.LatestPaid(r.Context(), p.Scope())
		return err
	}); err != nil {
		return "", false, err
	}
	if paid == 0 {
		return startOfDay(c.now(), c.cfg.Location).AddDate(0, 0, -1).Format("2006-01-02"), false, nil
	}
	return time.Unix(paid, 0).In(c.cfg.Location).Format("2006-01-02"), true, nil
}

func scopedRows(p *page, rows []ReportRow) []ReportRow {
	if p.OrgWide() {
		return rows
	}
	var out []ReportRow
	for _, x := range rows {
		if p.Sees(x.AppID) {
			out = append(out, x)
		}
	}
	return out
}

func (c *Console) reports(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title, p.Nav = p.T("reports"), "reports"
	day, latest, err := c.reportDay(r, p)
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
	c.render(w, p, http.StatusOK, "reports", map[string]any{"Day": day, "Rows": scopedRows(p, rows), "Latest": latest})
}

func (c *Console) reportsCSV(w http.ResponseWriter, r *http.Request, p *page) {
	day, _, err := c.reportDay(r, p)
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
	out.Write("day", "app", "livemode", "channel", "currency", "count", "gross", "refunds", "fees", "net")
	for _, x := range scopedRows(p, rows) {
		out.Write(x.Day, x.AppID, strconv.FormatBool(x.Live), x.Channel, x.Currency, strconv.FormatInt(x.Count, 10), formatAmount(x.Gross, x.Currency),
			formatAmount(x.Refunds, x.Currency), formatAmount(x.Fees, x.Currency), formatAmount(x.Net, x.Currency))
	}
	out.Flush()
}
