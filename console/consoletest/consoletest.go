// Package consoletest runs a polypay node with its console for tests: a
// reconciliation engine stand-in (Recon) or the node's real engine,
// a controllable clock, console users of every role, and helpers that
// make charges through the API.
package consoletest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/gateway/gatewaytest"
)

// Password is every test user's password.
const Password = "correct horse battery"

// Users has one console user per role, by role.
var Users = map[console.Role]string{
	console.RoleOwner:    "owner@example.com",
	console.RoleAdmin:    "admin@example.com",
	console.RoleFinance:  "finance@example.com",
	console.RoleReadOnly: "viewer@example.com",
	console.RoleCashier:  "cashier@example.com",
}

// Env is a node with one app, its console at Node.URL+"/console/", and a
// second console on the same store whose clock the test moves (URL).
type Env struct {
	T     testing.TB
	Node  *gateway.Node
	App   *core.NewApp
	Recon *Recon
	Clock *Clock
	URL   string // base URL of the clocked console (serves /console/)
}

// Options adjust the environment.
type Options struct {
	// RealRecon keeps the node's own reconciliation engine behind both
	// consoles instead of the in-memory stand-in; Env.Recon is then nil
	// and the test runs the engine (Node.Recon, Node.Daily) itself.
	RealRecon bool
	// Log receives the clocked console's log (text); nil discards it.
	// Tests read it to check that no secret is logged.
	Log io.Writer
}

// Start runs the environment with the engine stand-in; everything stops
// when the test ends.
func Start(t testing.TB) *Env { t.Helper(); return StartWith(t, Options{}) }

// StartWith runs the environment as o says.
func StartWith(t testing.TB, o Options) *Env {
	t.Helper()
	var rec *Recon
	mod := func(*gateway.Config) {}
	if !o.RealRecon {
		rec = NewRecon()
		mod = func(c *gateway.Config) { c.Recon = rec }
	}
	n, app := gatewaytest.Start(t, "console test", mod)
	var recon console.Recon = n.ConsoleRecon()
	if rec != nil {
		recon = rec
	}
	clk := &Clock{}
	clk.Set(time.Now())
	fams := map[string]bool{}
	var families []string
	for _, ch := range n.Registry.Channels() {
		if f := n.Registry.Family(ch); !fams[f] {
			fams[f] = true
			families = append(families, f)
		}
	}
	con := console.New(console.Config{DB: n.DB, Svc: n.Svc, Credentials: n.Registry, Families: families,
		Channels: n.Registry.Channels(), CreateApp: n.CreateApp, Kick: n.Dispatcher.Kick, Recon: recon, Now: clk.Now,
		CheckWebhookURL: n.ConsoleCheckWebhookURL, RotateWebhookKey: n.ConsoleRotateWebhookKey,
		Log: slog.New(slog.NewTextHandler(logTo(o.Log), nil))})
	srv := httptest.NewServer(con)
	t.Cleanup(srv.Close)
	for role, email := range Users {
		if err := console.AddUser(context.Background(), n.DB, email, role, Password); err != nil {
			t.Fatal(err)
		}
	}
	return &Env{T: t, Node: n, App: app, Recon: rec, Clock: clk, URL: srv.URL}
}

// Clock is a settable clock safe for concurrent use.
type Clock struct{ ns atomic.Int64 }

// Now reads the clock.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// API calls polypay's HTTP API with the app's test secret key.
func (e *Env) API(method, path string, body any) (int, map[string]any) {
	e.T.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.Node.URL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	req.SetBasicAuth(e.App.SecretKeyTest, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		e.T.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

// Charge creates a test-mode charge and returns its id.
func (e *Env) Charge(channel, orderNo string, amount int64, subject string) string {
	e.T.Helper()
	st, c := e.API("POST", "/v1/charges", map[string]any{"order_no": orderNo, "app": map[string]any{"id": e.App.AppID},
		"channel": channel, "amount": amount, "client_ip": "127.0.0.1", "currency": "cny", "subject": subject, "body": "console test"})
	if st != 200 {
		e.T.Fatalf("create charge: %d %v", st, c)
	}
	return c["id"].(string)
}

// Pay pays a test-mode charge through its channel simulator and waits
// until polypay has applied the payment.
func (e *Env) Pay(id string) {
	e.T.Helper()
	if st, r := e.API("POST", "/v1/test/charges/"+id+"/pay", map[string]any{"result": "success"}); st != 200 {
		e.T.Fatalf("pay: %d %v", st, r)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, c := e.API("GET", "/v1/charges/"+id, nil)
		if c["paid"] == true {
			return
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("charge %s still unpaid: %v", id, c)
		}
	}
}

// Recon is an in-memory console.Recon: the test puts runs, discrepancies
// and report rows in, and reads resolutions back.
type Recon struct {
	mu      sync.Mutex
	runs    []console.ReconRun
	discs   []console.Discrepancy
	reports map[string][]console.ReportRow
}

var _ console.Recon = (*Recon)(nil)

// NewRecon returns an empty engine stand-in.
func NewRecon() *Recon { return &Recon{reports: map[string][]console.ReportRow{}} }

// AddRun records a run.
func (r *Recon) AddRun(run console.ReconRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append([]console.ReconRun{run}, r.runs...)
}

// AddDiscrepancy records an open discrepancy.
func (r *Recon) AddDiscrepancy(d console.Discrepancy) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d.Open = true
	r.discs = append([]console.Discrepancy{d}, r.discs...)
}

// SetReport sets a day's report.
func (r *Recon) SetReport(day string, rows []console.ReportRow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports[day] = rows
}

// Discrepancy returns one by id.
func (r *Recon) Discrepancy(id string) (console.Discrepancy, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.discs {
		if d.ID == id {
			return d, true
		}
	}
	return console.Discrepancy{}, false
}

// Runs implements console.Recon.
func (r *Recon) Runs(_ context.Context, limit int) ([]console.ReconRun, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]console.ReconRun(nil), r.runs[:min(limit, len(r.runs))]...), nil
}

// Discrepancies implements console.Recon.
func (r *Recon) Discrepancies(_ context.Context, f console.DiscrepancyFilter) ([]console.Discrepancy, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []console.Discrepancy
	for _, d := range r.discs {
		if (f.OpenOnly && !d.Open) || (f.ResolvedOnly && d.Open) || (f.RunID != "" && d.RunID != f.RunID) || (f.Day != "" && d.Day != f.Day) || (f.Channel != "" && d.Channel != f.Channel) {
			continue
		}
		out = append(out, d)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// Resolve implements console.Recon.
func (r *Recon) Resolve(_ context.Context, id, note, by string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.discs {
		if r.discs[i].ID != id {
			continue
		}
		if !r.discs[i].Open {
			return polypay.ParamError("note", "discrepancy %s is resolved already", id)
		}
		if note == "" {
			return polypay.ParamError("note", "a note is required")
		}
		r.discs[i].Open, r.discs[i].Note, r.discs[i].ResolvedBy, r.discs[i].ResolvedAt = false, note, by, time.Now()
		return nil
	}
	return polypay.NotFound("discrepancy", id)
}

// DailyReport implements console.Recon.
func (r *Recon) DailyReport(_ context.Context, day string) ([]console.ReportRow, error) {
	if _, err := time.Parse("2006-01-02", day); err != nil {
		return nil, polypay.ParamError("date", "bad day %q", day)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reports[day], nil
}

// OrderNo makes a unique order number with a prefix.
func OrderNo(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e12)
}

func logTo(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
