//go:build faultharness

package faultharness

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/sandbox"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
)

// TestSubscriptionYear is issue 20's year of billing: polypay processes
// (two on PostgreSQL, sharing it; one on SQLite) built with the
// faultharness tag follow a clock the harness moves a day at a time
// (cmd/polypay/clock_faultharness.go) and bill -year-subs monthly
// subscriptions for -year-days days from Alipay merchant-debit agreements
// and Stripe saved cards, whose balances and issuers refuse debits on
// random days, while billing nodes are SIGKILLed mid-run and restarted.
// Afterwards every period is billed exactly once or dunned as configured
// (24h, 72h, 168h, then canceled), each paid invoice has its own paid
// charge and no other debit was paid, what Alipay and Stripe took equals
// the paid invoices, and the ledger balances.
//
//	go test -tags faultharness -run TestSubscriptionYear -timeout 60m ./faultharness -args -postgres postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	... -args -year-subs 100 -year-days 60     # a quick one
var (
	flagYearSubs  = flag.Int("year-subs", 1000, "subscriptions billed through the year")
	flagYearDays  = flag.Int("year-days", 366, "simulated days")
	flagYearNodes = flag.Int("year-nodes", 2, "polypay processes on PostgreSQL (SQLite runs one)")
	flagYearKill  = flag.Float64("year-kill", 0.2, "chance per simulated day that a node is SIGKILLed while it bills")
	flagYearDry   = flag.Float64("year-dry", 0.04, "chance per agreement and day that its debits are refused")
)

// year is the harness of the year of billing.
type year struct {
	t         *testing.T
	rng       *mrand.Rand
	logDir    string
	dir, dsn  string
	bin       string
	clockFile string
	offset    int64 // seconds the nodes' clock runs ahead
	db        *store.DB
	reg       *channel.Registry
	sb        *sandbox.Sandbox
	simURL    string
	app       *core.NewApp
	stripeID  string
	nodes     []*yearNode
	client    *http.Client
	kills     int
}

type yearNode struct {
	addr   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
}

// agreement is one customer's signed agreement and how to make its
// channel refuse debits.
type agreement struct {
	id, channel string
	dry         func(bool)
}

func TestSubscriptionYear(t *testing.T) {
	y := newYear(t)
	start := time.Now()
	agrs := y.signAgreements(*flagYearSubs / 5)
	subs := y.subscribe(agrs, *flagYearSubs)
	t.Logf("%d agreements and %d subscriptions in %s", len(agrs), len(subs), time.Since(start).Round(time.Second))
	// One agreement in 50 dies half way (the card closed, the account
	// emptied for good): its subscriptions are dunned to the end.
	dead := func(i, day int) bool { return i%50 == 7 && day >= *flagYearDays/2 }
	for day := 0; day < *flagYearDays; day++ {
		for i, a := range agrs {
			a.dry(dead(i, day) || y.rng.Float64() < *flagYearDry)
		}
		y.advance(24 * time.Hour)
		y.billDay()
		if day%30 == 29 {
			t.Logf("day %d: %d SIGKILLs, %s", day+1, y.kills, time.Since(start).Round(time.Second))
		}
	}
	for i, a := range agrs {
		a.dry(dead(i, *flagYearDays))
	}
	for i := 0; i < 12; i++ { // the last dunning retries, random faults off
		y.advance(24 * time.Hour)
		y.billDay()
	}
	y.check(agrs, subs)
	t.Logf("the year took %s with %d SIGKILLs", time.Since(start).Round(time.Second), y.kills)
}

func newYear(t *testing.T) *year {
	ctx := context.Background()
	logDir, err := os.MkdirTemp("", "polypay-year-")
	if err != nil {
		t.Fatal(err)
	}
	y := &year{t: t, rng: mrand.New(mrand.NewPCG(2027, 20)), logDir: logDir, dir: filepath.Join(logDir, "data"),
		clockFile: filepath.Join(logDir, "clock"), client: &http.Client{Timeout: 45 * time.Second}}
	t.Cleanup(func() {
		if t.Failed() || *flagKeepLogs {
			t.Logf("logs and data kept in %s", logDir)
		} else {
			os.RemoveAll(logDir)
		}
	})
	y.bin = filepath.Join(logDir, "polypay")
	if out, err := exec.Command("go", "build", "-tags", "faultharness", "-o", y.bin, "github.com/polypay/polypay/cmd/polypay").CombinedOutput(); err != nil {
		t.Fatalf("building polypay: %v\n%s", err, out)
	}
	y.writeClock()
	nodes := 1
	if *flagPostgres != "" {
		y.dsn, nodes = storetest.FreshSchema(t, *flagPostgres), *flagYearNodes
	}
	db, box, err := gateway.OpenStore(ctx, gateway.Config{DataDir: y.dir, DatabaseURL: y.dsn})
	if err != nil {
		t.Fatal(err)
	}
	y.db = db
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	y.simURL = "http://" + ln.Addr().String()
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if y.reg, y.sb, err = gateway.OpenChannels(ctx, db, box, y.simURL, quiet, nil, []sandbox.Option{sandbox.WithSimSpeed(simSpeed),
		sandbox.WithPublicURL(y.simURL)}); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: y.sb.SimHostHandler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); y.sb.Close(); db.Close() })
	if y.app, err = core.CreateApp(ctx, db, "year"); err != nil {
		t.Fatal(err)
	}
	if err := y.reg.Provision(ctx, y.app.AppID); err != nil {
		t.Fatal(err)
	}
	if y.stripeID, err = y.reg.SandboxMerchantID(ctx, y.app.AppID, "stripe"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < nodes; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		n := &yearNode{addr: l.Addr().String()}
		l.Close()
		if n.log, err = os.Create(filepath.Join(logDir, fmt.Sprintf("polypay-%d.log", i))); err != nil {
			t.Fatal(err)
		}
		y.nodes = append(y.nodes, n)
		y.startNode(n)
	}
	t.Cleanup(func() {
		for _, n := range y.nodes {
			n.cmd.Process.Signal(syscall.SIGTERM)
			<-n.exited
		}
	})
	return y
}

func (y *year) writeClock() {
	if err := os.WriteFile(y.clockFile, []byte(strconv.FormatInt(y.offset, 10)), 0o644); err != nil {
		y.t.Fatal(err)
	}
}

// now is the nodes' clock.
func (y *year) now() int64 { return time.Now().Unix() + y.offset }

func (y *year) advance(d time.Duration) {
	y.offset += int64(d / time.Second)
	y.writeClock()
	time.Sleep(20 * time.Millisecond) // past the nodes' clock cache
}

func (y *year) startNode(n *yearNode) {
	cmd := exec.Command(y.bin, append([]string{"serve", "--addr", n.addr, "--data", y.dir, "--sim-url", y.simURL,
		"--poll-interval", "200ms", "--admin-addr", ""}, dbArgs(y.dsn)...)...)
	cmd.Env = append(os.Environ(), "POLYPAY_DATABASE=", "POLYPAY_FAULTHARNESS_CLOCK="+y.clockFile)
	cmd.Stdout, cmd.Stderr = n.log, n.log
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		y.t.Fatal(err)
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(cmd, n.exited)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get("http://" + n.addr + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			y.t.Fatalf("node %s not healthy; see %s", n.addr, n.log.Name())
		}
	}
}

// call makes an API call on a node (the first that answers), retrying
// while nodes restart.
func (y *year) call(method, path string, body any, key string) map[string]any {
	y.t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	for attempt := 0; ; attempt++ {
		n := y.nodes[attempt%len(y.nodes)]
		req, _ := http.NewRequest(method, "http://"+n.addr+path, bytes.NewReader(raw))
		req.SetBasicAuth(key, "")
		req.Header.Set("Content-Type", "application/json")
		res, err := y.client.Do(req)
		if err == nil {
			out, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				var m map[string]any
				json.Unmarshal(out, &m)
				return m
			}
			if res.StatusCode < 500 && res.StatusCode != 429 {
				y.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, out)
			}
		}
		if attempt > 50 {
			y.t.Fatalf("%s %s: %v", method, path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, _ := v.(map[string]any)
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}

// signAgreements signs n agreements, half on Alipay and half saved
// cards, each signed by its simulated customer.
func (y *year) signAgreements(n int) []*agreement {
	ctx := context.Background()
	sk, pk := y.app.SecretKeyTest, y.app.PublishableKeyTest
	ali, stripe := y.sb.AlipaySim(), y.sb.StripeSim()
	var out []*agreement
	for i := 0; i < n; i++ {
		no := fmt.Sprintf("YEAR%05d", i)
		if i%2 == 0 {
			a := y.call("POST", "/v1/agreements", map[string]any{"app": y.app.AppID, "channel": "alipay", "contract_no": no}, sk)
			agrNo, err := ali.SignAgreement(ctx, str(a, "credential", "alipay", "credential"))
			if err != nil {
				y.t.Fatal(err)
			}
			out = append(out, &agreement{id: str(a, "id"), channel: "alipay", dry: func(d bool) { ali.SetAgreementBalance(agrNo, !d) }})
			continue
		}
		tok := y.call("POST", "/v1/tokens", map[string]any{"card": map[string]any{"number": "4000002500003155", "exp_month": 12,
			"exp_year": time.Now().Year() + 3, "cvc": "123"}}, pk)
		a := y.call("POST", "/v1/agreements", map[string]any{"app": y.app.AppID, "channel": "card", "contract_no": no,
			"extra": map[string]any{"source": str(tok, "id")}}, sk)
		seti := str(a, "credential", "card", "credential", "id")
		if err := stripe.CompleteSetup(ctx, y.stripeID, seti, true); err != nil {
			y.t.Fatal(err)
		}
		pm, err := stripe.SetupIntentPaymentMethod(y.stripeID, seti)
		if err != nil {
			y.t.Fatal(err)
		}
		acct := y.stripeID
		out = append(out, &agreement{id: str(a, "id"), channel: "card", dry: func(d bool) {
			decline := ""
			if d {
				decline = "insufficient_funds"
			}
			stripe.DeclineOffSession(acct, pm, decline)
		}})
	}
	for _, a := range out {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if str(y.call("GET", "/v1/agreements/"+a.id, nil, sk), "status") == "succeeded" {
				break
			}
			if time.Now().After(deadline) {
				y.t.Fatalf("agreement %s never signed", a.id)
			}
		}
	}
	return out
}

// subscribe makes n monthly subscriptions on the agreements, their
// anchors spread over a month.
func (y *year) subscribe(agrs []*agreement, n int) []string {
	sk := y.app.SecretKeyTest
	plan := str(y.call("POST", "/v1/plans", map[string]any{"app": y.app.AppID, "name": "年度测试", "amount": 1990, "currency": "cny",
		"interval": "month"}, sk), "id")
	step := 30 * 24 * time.Hour / time.Duration(n)
	var subs []string
	for i := 0; i < n; i++ {
		subs = append(subs, str(y.call("POST", "/v1/subscriptions", map[string]any{"app": y.app.AppID, "plan": plan,
			"agreement": agrs[i%len(agrs)].id}, sk), "id"))
		y.offset += int64(step / time.Second)
		if i%50 == 49 {
			y.writeClock()
		}
	}
	y.writeClock()
	return subs
}

// billDay lets the nodes' schedulers bill what the new day made due; on
// some days one node is SIGKILLed while it does and restarted.
func (y *year) billDay() {
	var wg sync.WaitGroup
	if y.rng.Float64() < *flagYearKill {
		n := y.nodes[y.rng.IntN(len(y.nodes))]
		after := time.Duration(y.rng.IntN(400)) * time.Millisecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(after)
			n.cmd.Process.Signal(syscall.SIGKILL)
			<-n.exited
			y.kills++
			y.startNode(n)
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var due []string
		if err := y.db.Read(context.Background(), func(tx *store.Tx) (err error) {
			due, err = tx.DueSubscriptions(context.Background(), y.now(), 1)
			return err
		}); err != nil {
			y.t.Fatal(err)
		}
		if len(due) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
}

// check holds the year to the invariants.
func (y *year) check(agrs []*agreement, subs []string) {
	ctx := context.Background()
	sk := y.app.SecretKeyTest
	byAgr := map[string]string{}
	for _, a := range agrs {
		byAgr[a.id] = a.channel
	}
	var paidInvoices, failedAttempts, canceled, invoices int
	paidBy := map[string]int64{} // channel -> paid invoice amounts
	invoiceCharge := map[string]bool{}
	for _, id := range subs {
		sub := y.call("GET", "/v1/subscriptions/"+id, nil, sk)
		vs := y.call("GET", "/v1/subscriptions/"+id+"/invoices?limit=100", nil, sk)["data"].([]any)
		starts := map[float64]bool{}
		for i, raw := range vs {
			v := raw.(map[string]any)
			invoices++
			ps := v["period_start"].(float64)
			if starts[ps] {
				y.t.Errorf("%s: period %v billed twice", id, ps)
			}
			starts[ps] = true
			if i+1 < len(vs) && vs[i+1].(map[string]any)["period_end"] != v["period_start"] {
				y.t.Errorf("%s: periods not contiguous at %v", id, ps)
			}
			attempts := int(v["attempts"].(float64))
			if attempts > 4 {
				y.t.Errorf("%s: invoice %v tried %d times (dunning allows 4)", id, v["id"], attempts)
			}
			switch v["status"] {
			case "paid":
				paidInvoices++
				failedAttempts += attempts - 1
				ch := y.call("GET", "/v1/charges/"+v["charge"].(string), nil, sk)
				if ch["paid"] != true || ch["amount"] != v["amount"] {
					y.t.Errorf("%s: invoice %v's charge %v", id, v["id"], ch)
				}
				invoiceCharge[v["charge"].(string)] = true
				paidBy[byAgr[str(sub, "agreement")]] += int64(v["amount"].(float64))
			case "uncollectible", "void":
				failedAttempts += attempts
			case "open":
				failedAttempts += attempts
				if str(sub, "status") == "canceled" {
					y.t.Errorf("%s: canceled with invoice %v open", id, v["id"])
				}
			default:
				y.t.Errorf("%s: invoice %v", id, v)
			}
		}
		if str(sub, "status") == "canceled" {
			canceled++
			last := vs[0].(map[string]any) // newest first
			if last["status"] != "uncollectible" || last["attempts"] != 4.0 {
				y.t.Errorf("%s was canceled, its last invoice %v (want uncollectible after 4 attempts)", id, last)
			}
		} else if len(vs) < *flagYearDays/31 {
			y.t.Errorf("%s (%s) has %d invoices after %d days", id, str(sub, "status"), len(vs), *flagYearDays)
		}
	}
	// No debit was paid but the invoices' own.
	var paidDebits int
	var cursor string
	for {
		var page []*polypayCharge
		var more bool
		if err := y.db.Read(ctx, func(tx *store.Tx) error {
			paid := true
			cs, m, err := tx.ListCharges(ctx, store.ChargeFilter{AppID: y.app.AppID, Paid: &paid, StartingAfter: cursor, Limit: 100})
			for _, c := range cs {
				page = append(page, &polypayCharge{id: c.ID, orderNo: c.OrderNo})
			}
			more = m
			return err
		}); err != nil {
			y.t.Fatal(err)
		}
		for _, c := range page {
			paidDebits++
			if !invoiceCharge[c.id] {
				y.t.Errorf("charge %s (%s) was paid but pays no invoice", c.id, c.orderNo)
			}
			cursor = c.id
		}
		if !more {
			break
		}
	}
	if paidDebits != paidInvoices {
		y.t.Errorf("%d paid debits for %d paid invoices", paidDebits, paidInvoices)
	}
	// The channels' books.
	var aliTook int64
	for _, a := range y.sb.AlipaySim().Agreements() {
		aliTook += a.Debited
	}
	_, cardTook := y.sb.StripeSim().OffSessionPaid(y.stripeID)
	if aliTook != paidBy["alipay"] || cardTook != paidBy["card"] {
		y.t.Errorf("Alipay took %d and Stripe %d; the paid invoices say %d and %d", aliTook, cardTook, paidBy["alipay"], paidBy["card"])
	}
	if _, probs, err := ledger.Check(ctx, y.db); err != nil || len(probs) > 0 {
		y.t.Errorf("ledger: %v %v", probs, err)
	}
	y.t.Logf("%d subscriptions, %d invoices (%d paid), %d refused debit attempts, %d canceled by dunning, %d SIGKILLs; Alipay took %d, Stripe %d",
		len(subs), invoices, paidInvoices, failedAttempts, canceled, y.kills, aliTook, cardTook)
	if paidInvoices == 0 || failedAttempts == 0 || canceled == 0 || (y.kills == 0 && *flagYearKill > 0) {
		y.t.Errorf("the year tested nothing: %d paid, %d refused, %d canceled, %d kills", paidInvoices, failedAttempts, canceled, y.kills)
	}
}

type polypayCharge struct{ id, orderNo string }
