package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the bench schema

	"github.com/polypay/polypay/gateway"
)

// Amounts, in fen.
const (
	chargeAmount = 100
	poolAmount   = 1_000_000 // refund-pool charges take many 1-fen refunds
)

// lifecycleTimeout bounds the wait for one charge's webhook.
const lifecycleTimeout = 30 * time.Second

// storeBench measures one store with a fresh node.
type storeBench struct {
	o   *options
	rep *Report
	sr  *StoreReport
	p   *printer
	m   *meter

	api   *apiClient
	appID string
	rcv   *receiver
	tag   string // makes order numbers unique per run
	seq   atomic.Int64
}

func (b *storeBench) run(ctx context.Context) (err error) {
	tmp, err := os.MkdirTemp(b.o.dir, "polypay-bench-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// Every simulator notifies from this machine's loopback address, which
	// a real channel never shares with its peers: the per-address
	// notification limit would measure itself, not the gateway.
	cfg := gateway.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(tmp, "data"), Log: slog.New(slog.DiscardHandler), NotifyRateLimit: -1}

	b.m = &meter{quietWait: b.o.quietWait, retries: b.o.retries}
	switch b.sr.Name {
	case "sqlite":
		b.sr.Durability, b.sr.DurabilityOK = "WAL, synchronous=FULL (the store's fixed setting), in "+tmp, true
	case "postgres":
		pg, perr := newPGRun(ctx, b.o.pgURL)
		if perr != nil {
			return perr
		}
		defer func() {
			if e := pg.drop(); e != nil && err == nil {
				err = e
			}
		}()
		cfg.DatabaseURL = pg.dsn
		b.sr.Durability, b.sr.DurabilityOK = pg.durability, pg.durable
		b.m.dbCPU = pg.backendCPU
	}
	b.p.durability(b.sr)

	node, err := gateway.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("starting node: %w", err)
	}
	// Close the node before the schema is dropped (deferred earlier).
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if e := node.Close(cctx); e != nil && err == nil {
			err = fmt.Errorf("closing node: %w", e)
		}
	}()
	if err := b.prepare(ctx, node); err != nil {
		return err
	}
	defer b.rcv.close()
	defer func() {
		b.sr.WebhooksReceived = b.rcv.received.Load()
		b.sr.WebhooksBadSig = b.rcv.badSig.Load()
	}()
	defer b.api.hc.CloseIdleConnections()
	if err := b.warmUp(ctx); err != nil {
		return err
	}
	if err := b.commitCeilings(ctx, node); err != nil {
		return err
	}
	if err := b.riskCost(ctx, node.DB); err != nil {
		return err
	}
	b.p.tableHead()
	if b.o.cpuprofile != "" {
		stop, err := startProfile(profilePath(b.o, b.sr.Name))
		if err != nil {
			return err
		}
		defer stop()
	}
	return b.workloads(ctx)
}

// prepare makes the bench's app, its webhook receiver (which verifies
// every signature with the app's key) and API client.
func (b *storeBench) prepare(ctx context.Context, node *gateway.Node) error {
	app, err := node.CreateApp(ctx, "bench")
	if err != nil {
		return fmt.Errorf("creating app: %w", err)
	}
	b.appID = app.AppID
	pub, err := node.WebhookPublicKey(ctx, app.AppID, false)
	if err != nil {
		return fmt.Errorf("webhook public key: %w", err)
	}
	if b.rcv, err = newReceiver(pub); err != nil {
		return err
	}
	b.api = &apiClient{base: node.URL, key: app.SecretKeyTest, hc: newClient()}
	b.tag = randomTag()
	return nil
}

// warmUp registers the webhook endpoint and checks that the whole
// pipeline works on every channel before timing.
func (b *storeBench) warmUp(ctx context.Context) error {
	if err := b.api.post(ctx, "/v1/webhook_endpoints",
		fmt.Appendf(nil, `{"app":%q,"url":%q}`, b.appID, b.rcv.url), nil); err != nil {
		return fmt.Errorf("registering webhook endpoint: %w", err)
	}
	for _, bc := range b.o.channels {
		if _, err := b.lifecycle(ctx, bc, 0, chargeAmount); err != nil {
			return fmt.Errorf("warm-up lifecycle on %s: %w", bc.Name, err)
		}
	}
	b.rcv.quiesce(5 * time.Second)
	b.m.settle = func() { b.rcv.quiesce(10 * time.Second) }
	return nil
}

// commitCeilings measures the store's ceilings on this node's store.
func (b *storeBench) commitCeilings(ctx context.Context, node *gateway.Node) error {
	single := commitCeiling(ctx, b.m, node.DB, b.o.duration, 1)
	b.sr.CommitSingle = single.rate()
	b.sr.CommitBatchedC = 16
	batched := commitCeiling(ctx, b.m, node.DB, b.o.duration, b.sr.CommitBatchedC)
	b.sr.CommitBatched = batched.rate()
	b.sr.CommitErrors = single.errors + batched.errors
	b.sr.CommitOthers = max(single.others, batched.others)
	b.sr.CommitDB = single.db
	if e := errors.Join(single.firstErr, batched.firstErr); e != nil {
		return fmt.Errorf("commit probe: %w", e)
	}
	b.p.commits(b.sr)
	return nil
}

// workloads times each selected workload. Lifecycles and refunds go
// first: the poller queries every unpaid charge from 5 s after its
// creation on (core.QuerySchedule), so the charges the create workload
// leaves unpaid load whatever runs after them. At each concurrency the
// channels run in turn, so that both meet the same conditions.
func (b *storeBench) workloads(ctx context.Context) error {
	if b.o.workloads[wLifecycle] {
		b.each(wLifecycle, func(bc *benchChannel, w int) error {
			_, err := b.lifecycle(ctx, bc, w, chargeAmount)
			return err
		})
	}
	if b.o.workloads[wRefund] {
		if err := b.refunds(ctx); err != nil {
			return err
		}
	}
	if b.o.workloads[wCreate] {
		b.each(wCreate, func(bc *benchChannel, w int) error {
			_, err := b.create(ctx, bc, w, chargeAmount)
			return err
		})
	}
	return nil
}

// each measures op at every concurrency on every channel.
func (b *storeBench) each(workload string, op func(bc *benchChannel, w int) error) {
	for _, c := range b.o.conc {
		for _, bc := range b.o.channels {
			b.measure(bc, workload, c, func(w, _ int) (bool, error) {
				err := op(bc, w)
				return err == nil, err
			})
		}
	}
}

// measure runs one workload on one channel at one concurrency and prints
// its row.
func (b *storeBench) measure(bc *benchChannel, workload string, c int, op func(w, seq int) (bool, error)) {
	res := b.m.loop(c, b.o.duration, op)
	row := Row{Workload: workload, Channel: bc.Name, Concurrency: c, Ops: res.ok, Other: res.other, Errors: res.errors,
		Seconds: res.elapsed.Seconds(), PerSec: res.rate(), P50ms: res.percentile(0.50), P99ms: res.percentile(0.99), CPU: res.cpu, DB: res.db, Others: res.others, Attempts: res.attempts}
	if b.sr.CommitSingle > 0 {
		row.VsCommit = row.PerSec / b.sr.CommitSingle
	}
	if s := b.rep.Ceilings.RSASignsPerSec; s > 0 {
		row.VsRSA = row.PerSec * float64(bc.signsPer(workload)) / s
	}
	if h := b.rep.Ceilings.HTTPClosePerSec; h > 0 {
		row.VsHTTP = row.PerSec * float64(requestsPer(workload)) / h
	}
	if res.firstErr != nil {
		row.FirstError = res.firstErr.Error()
	}
	b.sr.Rows = append(b.sr.Rows, row)
	b.p.row(b.sr.Name, row)
}

type chargeReply struct {
	ID   string `json:"id"`
	Paid bool   `json:"paid"`
}

func (b *storeBench) orderNo(w int) string {
	return fmt.Sprintf("bench%sw%dn%d", b.tag, w, b.seq.Add(1))
}

// create is POST /v1/charges on channel bc.
func (b *storeBench) create(ctx context.Context, bc *benchChannel, w int, amount int64) (string, error) {
	extra := ""
	if bc.extra != "" {
		extra = `,"extra":` + bc.extra
	}
	body := fmt.Appendf(nil, `{"order_no":%q,"app":{"id":%q},"channel":%q,"amount":%d,"client_ip":"127.0.0.1","currency":"cny","subject":"bench","body":"polypay bench"%s}`,
		b.orderNo(w), b.appID, bc.Name, amount, extra)
	var c chargeReply
	if err := b.api.post(ctx, "/v1/charges", body, &c); err != nil {
		return "", err
	}
	if c.ID == "" {
		return "", errors.New("POST /v1/charges: reply has no id")
	}
	return c.ID, nil
}

// lifecycle creates a charge, pays it in the simulator and waits for its
// verified charge.succeeded webhook.
func (b *storeBench) lifecycle(ctx context.Context, bc *benchChannel, w int, amount int64) (string, error) {
	id, err := b.create(ctx, bc, w, amount)
	if err != nil {
		return "", err
	}
	got := b.rcv.expect(id)
	var c chargeReply
	if err := b.api.post(ctx, "/v1/test/charges/"+id+"/pay", []byte(`{"result":"success"}`), &c); err != nil {
		b.rcv.wait(ctx, id, closedChan) // forget the slot
		return "", err
	}
	if !c.Paid {
		b.rcv.wait(ctx, id, closedChan)
		return "", fmt.Errorf("POST /v1/test/charges/%s/pay: charge not paid in the reply", id)
	}
	wctx, cancel := context.WithTimeout(ctx, lifecycleTimeout)
	defer cancel()
	if err := b.rcv.wait(wctx, id, got); err != nil {
		return "", fmt.Errorf("charge %s: no verified charge.succeeded webhook within %v", id, lifecycleTimeout)
	}
	return id, nil
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// refunds pays a pool of charges on each channel before timing, then each
// worker refunds 1 fen at a time on its channel's pool, round-robin so that
// no two workers usually share a charge.
func (b *storeBench) refunds(ctx context.Context) error {
	maxC := 1
	for _, c := range b.o.conc {
		maxC = max(maxC, c)
	}
	pools := make(map[string][]string, len(b.o.channels))
	for _, bc := range b.o.channels {
		pool, err := b.refundPool(ctx, bc, max(16, 2*maxC))
		if err != nil {
			return err
		}
		pools[bc.Name] = pool
	}
	b.rcv.quiesce(5 * time.Second)

	for _, c := range b.o.conc {
		for _, bc := range b.o.channels {
			pool := pools[bc.Name]
			var next atomic.Int64
			b.measure(bc, wRefund, c, func(w, _ int) (bool, error) {
				id := pool[int(next.Add(1))%len(pool)]
				var r struct {
					Status string `json:"status"`
				}
				if err := b.api.post(ctx, "/v1/charges/"+id+"/refunds", []byte(`{"amount":1,"description":"b"}`), &r); err != nil {
					return false, err
				}
				return r.Status == "succeeded", nil
			})
		}
	}
	return nil
}

// refundPool pays n charges on channel bc with up to 16 workers (not
// timed), for the refund workload.
func (b *storeBench) refundPool(ctx context.Context, bc *benchChannel, n int) ([]string, error) {
	pool := make([]string, n)
	fill := make(chan int, len(pool))
	for i := range pool {
		fill <- i
	}
	close(fill)
	workers := min(16, len(pool))
	errc := make(chan error, workers)
	for w := range workers {
		go func() {
			var first error
			for i := range fill {
				id, err := b.lifecycle(ctx, bc, w, poolAmount)
				if err != nil && first == nil {
					first = err
				}
				pool[i] = id
			}
			errc <- first
		}()
	}
	var errs []error
	for range workers {
		errs = append(errs, <-errc)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("paying the %s refund pool: %w", bc.Name, err)
	}
	return pool, nil
}

// pgRun is a fresh schema on the PostgreSQL server for one run.
type pgRun struct {
	dsn        string // the node's: search_path and application_name set
	admin      *sql.DB
	schema     string
	app        string
	durability string
	durable    bool
	local      bool // the server's processes are visible in /proc
}

func newPGRun(ctx context.Context, base string) (*pgRun, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("--postgres must be a postgres:// URL")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tag := randomTag()
	pg := &pgRun{admin: admin, schema: "polypay_bench_" + tag, app: "polypay-bench-" + tag}
	if _, err := admin.ExecContext(cctx, "CREATE SCHEMA "+pg.schema); err != nil {
		admin.Close()
		return nil, fmt.Errorf("postgres %s: creating schema: %w", u.Redacted(), err)
	}
	var fsync, syncCommit, version string
	_ = admin.QueryRowContext(cctx, "SHOW fsync").Scan(&fsync)
	_ = admin.QueryRowContext(cctx, "SHOW synchronous_commit").Scan(&syncCommit)
	_ = admin.QueryRowContext(cctx, "SHOW server_version").Scan(&version)
	pg.durable = fsync == "on" && syncCommit != "off"
	u.User = nil
	pg.durability = fmt.Sprintf("PostgreSQL %s at %s%s, fsync=%s, synchronous_commit=%s, schema %s", version, u.Host, u.Path, fsync, syncCommit, pg.schema)
	if !pg.durable {
		pg.durability += " — NOT DURABLE, figures are not comparable"
	}
	var pid int
	if admin.QueryRowContext(cctx, "SELECT pg_backend_pid()").Scan(&pid) == nil {
		_, pg.local = procCPU(pid)
	}
	nu, _ := url.Parse(base)
	q := nu.Query()
	q.Set("search_path", pg.schema)
	q.Set("application_name", pg.app)
	nu.RawQuery = q.Encode()
	pg.dsn = nu.String()
	return pg, nil
}

// backendCPU samples the CPU time of the server processes serving the
// node (by application_name); nil when the server is on another machine.
func (pg *pgRun) backendCPU() map[int]time.Duration {
	if !pg.local {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := pg.admin.QueryContext(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", pg.app)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			continue
		}
		if t, ok := procCPU(pid); ok {
			out[pid] = t
		}
	}
	return out
}

func (pg *pgRun) drop() error {
	defer pg.admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := pg.admin.ExecContext(ctx, "DROP SCHEMA "+pg.schema+" CASCADE")
	return err
}

func randomTag() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// startProfile profiles the CPU until stop is called. The workloads alone
// are profiled: the RSA ceiling would dominate a profile of the whole run.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// profilePath names a store's profile: the given path with one store,
// otherwise the store's name added before the extension.
func profilePath(o *options, store string) string {
	if len(o.stores) <= 1 {
		return o.cpuprofile
	}
	ext := filepath.Ext(o.cpuprofile)
	return strings.TrimSuffix(o.cpuprofile, ext) + "-" + store + ext
}
