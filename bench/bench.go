// Package bench measures polypay against ceilings taken on the same machine
// in the same run.
//
// `polypay bench` starts a complete node in-process (store, Alipay and
// WeChat Pay simulators, API, webhook dispatcher, poller) for each store,
// plus a local webhook receiver that verifies every signature, and drives it
// over loopback HTTP with closed-loop workers. Every workload is measured
// on each channel of --channels: alipay_qr (Alipay OpenAPI, RSA2) and
// wx_pub_qr (WeChat Pay API v3 Native). Durability is never relaxed: SQLite
// runs WAL with synchronous=FULL, PostgreSQL with the server's own settings
// (reported, and flagged when they are not durable).
//
// Every rate is printed next to a ceiling measured in the same run:
//
//   - the store's single durable commit rate (sequential CommitProbe) and,
//     for information, its batched rate (16 parallel CommitProbe);
//   - RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second on all cores,
//     which bounds every flow because each hop is signed;
//   - loopback HTTP requests per second with Connection: close, since the
//     API closes every connection as Ping++ does.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Environment variables naming the PostgreSQL server, in order of preference.
const (
	EnvPostgres     = "POLYPAY_BENCH_POSTGRES"
	EnvTestPostgres = "POLYPAY_TEST_POSTGRES"
)

// Workload names.
const (
	wCreate    = "create"
	wLifecycle = "lifecycle"
	wRefund    = "refund"
)

// Targets from the benchmark's requirement.
const (
	targetCreateVsCommit = 5.0  // embedded store: create/s ≥ 5 × single-commit/s
	targetLifeVsRSA      = 0.5  // lifecycles/s ≥ 0.5 × RSA-bound ceiling
	targetP99CreateMS    = 20.0 // p99 create latency at c=16
	targetP99Conc        = 16
)

// signStep is one RSA signature made on behalf of one operation.
type signStep struct {
	Phase string `json:"phase"`
	What  string `json:"what"`
}

// benchChannel is a channel the benchmark can drive: what its charges need
// in extra, and the RSA signatures each of its operations costs.
//
// Only signatures are counted: an RSA-2048 verification costs about 1/30
// of a signature, and AES-GCM or hashing far less.
type benchChannel struct {
	Name      string     `json:"channel"`
	Create    []signStep `json:"create"`
	Lifecycle []signStep `json:"lifecycle"`
	Refund    []signStep `json:"refund"`
	Uncounted string     `json:"uncounted"` // the cryptography left out of the count
	// LifecycleRSABound is RSA signs/s ÷ len(Lifecycle), set per run.
	LifecycleRSABound float64 `json:"lifecycle_rsa_bound_per_sec"`

	extra string // the charge's extra, as JSON ("" for none)
}

// Channel names.
const (
	chAlipayQR = "alipay_qr"
	chWxPubQR  = "wx_pub_qr"
)

// lifecycleOf is a create followed by the pay steps.
func lifecycleOf(create []signStep, pay ...signStep) []signStep {
	return append(append([]signStep(nil), create...), pay...)
}

// The signatures per operation, read off the code paths:
//
// alipay_qr (channel/alipay, sim/alipaysim): the connector signs each
// OpenAPI request (alipay.trade.precreate, alipay.trade.refund) with the
// app's private key; the simulator signs each response and each
// notification (trade, then refund) with the Alipay key; polypay signs its
// API replies and each webhook.
//
// wx_pub_qr (channel/wechatpay on wechatpay-go, sim/wechatsim): the
// connector signs each request's Authorization (WECHATPAY2-SHA256-RSA2048,
// merchant key) for /v3/pay/transactions/native and /v3/refund/domestic/
// refunds; the simulator signs each answer (Wechatpay-Signature over
// timestamp, nonce and body, platform key) and each notification the same
// way. A notification's resource is AES-256-GCM under the APIv3 key, not
// an RSA operation. Native prepay returns only code_url: unlike wx, wx_pub
// and wx_lite, it makes no client payment signature.
var (
	alipayCreate = []signStep{
		{"create", "merchant request signature (connector → Alipay simulator)"},
		{"create", "simulator response signature"},
		{"create", "polypay API response signature"},
	}
	wxCreate = []signStep{
		{"create", "merchant request signature, Authorization (connector → WeChat Pay simulator)"},
		{"create", "simulator (platform key) response signature, Wechatpay-Signature"},
		{"create", "polypay API response signature"},
	}
	benchChannels = map[string]benchChannel{
		chAlipayQR: {
			Name:   chAlipayQR,
			Create: alipayCreate,
			Lifecycle: lifecycleOf(alipayCreate,
				signStep{"pay", "simulator notification signature"},
				signStep{"pay", "polypay API response signature"},
				signStep{"webhook", "charge.succeeded webhook signature"},
			),
			Refund: []signStep{
				{"refund", "merchant request signature (connector → Alipay simulator)"},
				{"refund", "simulator response signature"},
				{"refund", "polypay API response signature"},
				{"after", "simulator refund notification signature"},
				{"after", "refund.succeeded webhook signature"},
			},
			Uncounted: "RSA verifications (simulator: each request; connector: each response and notification; receiver: each webhook)",
		},
		chWxPubQR: {
			Name:   chWxPubQR,
			Create: wxCreate,
			Lifecycle: lifecycleOf(wxCreate,
				signStep{"pay", "simulator TRANSACTION.SUCCESS notification signature (resource: AES-256-GCM)"},
				signStep{"pay", "polypay API response signature"},
				signStep{"webhook", "charge.succeeded webhook signature"},
			),
			Refund: []signStep{
				{"refund", "merchant request signature, Authorization (connector → WeChat Pay simulator)"},
				{"refund", "simulator response signature"},
				{"refund", "polypay API response signature"},
				{"after", "simulator REFUND.SUCCESS notification signature (resource: AES-256-GCM)"},
				{"after", "refund.succeeded webhook signature"},
			},
			Uncounted: "RSA verifications (simulator: each Authorization; wechatpay-go SDK: each response and notification; receiver: each webhook) and AES-256-GCM decryption of each notification",
			extra:     `{"product_id":"bench"}`,
		},
	}
	channelNames = []string{chAlipayQR, chWxPubQR}
)

func (bc *benchChannel) signsPer(workload string) int {
	switch workload {
	case wCreate:
		return len(bc.Create)
	case wLifecycle:
		return len(bc.Lifecycle)
	case wRefund:
		return len(bc.Refund)
	}
	return 0
}

// requestsPer is how many API requests the load generator sends per
// operation (each on a fresh connection, like the HTTP ceiling).
func requestsPer(workload string) int {
	if workload == wLifecycle {
		return 2
	}
	return 1
}

// Report is the whole result; --json writes it.
type Report struct {
	Date        string         `json:"date"`
	Machine     Machine        `json:"machine"`
	Duration    string         `json:"duration"`
	Concurrency []int          `json:"concurrency"`
	Channels    []string       `json:"channels"`
	Ceilings    Ceilings       `json:"ceilings"`
	Signs       []benchChannel `json:"signs"` // per channel, in --channels order
	Stores      []*StoreReport `json:"stores"`
	Skipped     []string       `json:"skipped,omitempty"`
	Targets     []Target       `json:"targets"`
}

// Machine describes where the figures were taken.
type Machine struct {
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	GoVersion  string `json:"go_version"`
	CPUModel   string `json:"cpu_model,omitempty"`
	// LoadAvg is the 1-minute load average before and after the run: other
	// work on the machine takes CPU from the measurements.
	LoadAvgStart float64 `json:"loadavg_start"`
	LoadAvgEnd   float64 `json:"loadavg_end"`
}

// Ceilings are the machine-wide ceilings.
type Ceilings struct {
	RSASignsPerSec  float64 `json:"rsa2048_signs_per_sec"`
	RSAGoroutines   int     `json:"rsa_goroutines"`
	RSAOthers       float64 `json:"rsa_other_processes_cpu_fraction"`
	HTTPClosePerSec float64 `json:"loopback_http_close_req_per_sec"`
	HTTPConcurrency int     `json:"loopback_http_concurrency"`
	HTTPErrors      int     `json:"loopback_http_errors"`
	HTTPOthers      float64 `json:"loopback_http_other_processes_cpu_fraction"`
}

// StoreReport is one store's results.
type StoreReport struct {
	Name             string  `json:"name"`
	Durability       string  `json:"durability"`
	DurabilityOK     bool    `json:"durability_ok"`
	CommitSingle     float64 `json:"commit_single_per_sec"`
	CommitBatched    float64 `json:"commit_batched_per_sec"`
	CommitBatchedC   int     `json:"commit_batched_concurrency"`
	CommitErrors     int     `json:"commit_errors"`
	CommitOthers     float64 `json:"commit_other_processes_cpu_fraction"`
	CommitDB         float64 `json:"commit_db_server_cpu_fraction"`
	Rows             []Row   `json:"rows"`
	WebhooksReceived int64   `json:"webhooks_received"`
	WebhooksBadSig   int64   `json:"webhooks_bad_signature"`
	// The risk engine's decision per charge (riskCost), in ms.
	RiskRules     int     `json:"risk_rules"`
	RiskCounters  int     `json:"risk_counters"`
	RiskDecideP50 float64 `json:"risk_decide_p50_ms"`
	RiskDecideP99 float64 `json:"risk_decide_p99_ms"`
	Error         string  `json:"error,omitempty"`
}

// Row is one workload on one channel at one concurrency.
type Row struct {
	Workload    string  `json:"workload"`
	Channel     string  `json:"channel"`
	Concurrency int     `json:"concurrency"`
	Ops         int     `json:"ops"`
	Other       int     `json:"other,omitempty"` // answered 200 but not counted (refund not succeeded)
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	PerSec      float64 `json:"per_sec"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	// CPU shares of the machine (-1: unknown): this process, the database
	// server's backends serving it, and every other process.
	CPU        float64 `json:"cpu_fraction"`
	DB         float64 `json:"db_server_cpu_fraction"`
	Others     float64 `json:"other_processes_cpu_fraction"`
	Attempts   int     `json:"attempts"`
	VsCommit   float64 `json:"vs_single_commit"`
	VsRSA      float64 `json:"vs_rsa_bound"`
	VsHTTP     float64 `json:"vs_loopback_http"`
	FirstError string  `json:"first_error,omitempty"`
}

// Target is one requirement checked against the figures.
type Target struct {
	Store   string  `json:"store"`
	Channel string  `json:"channel"`
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Goal    float64 `json:"goal"`
	Detail  string  `json:"detail"`
	Pass    bool    `json:"pass"`
}

type options struct {
	duration   time.Duration
	conc       []int
	pgURL      string
	stores     []string
	workloads  map[string]bool
	channels   []*benchChannel
	jsonPath   string
	cpuprofile string
	dir        string
	quietWait  time.Duration
	retries    int
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	o := &options{}
	var conc, stores, workloads, channels string
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "length of each measurement")
	fs.StringVar(&conc, "concurrency", "1,4,16,64", "comma-separated numbers of concurrent clients")
	pgDefault := os.Getenv(EnvPostgres)
	if pgDefault == "" {
		pgDefault = os.Getenv(EnvTestPostgres)
	}
	fs.StringVar(&o.pgURL, "postgres", pgDefault, "PostgreSQL server URL (default $"+EnvPostgres+", else $"+EnvTestPostgres+"); a fresh schema is created and dropped")
	fs.StringVar(&stores, "stores", "sqlite,postgres", "stores to measure")
	fs.StringVar(&workloads, "workloads", "create,lifecycle,refund", "workloads to run")
	fs.StringVar(&channels, "channels", chAlipayQR+","+chWxPubQR, "channels to measure every workload on ("+strings.Join(channelNames, ", ")+")")
	fs.StringVar(&o.dir, "dir", "", "where the embedded store's temporary data directory goes (default: the system temp dir); its disk sets the commit ceiling")
	fs.DurationVar(&o.quietWait, "quiet-wait", 10*time.Second, "before each measurement, wait up to this long for other processes to leave the CPU idle")
	fs.IntVar(&o.retries, "retries", 2, "repeat a measurement this many times when other processes took 10% or more of the CPU, keeping the least disturbed")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file (\"-\": JSON on stdout instead of the table)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "") // hidden: CPU profile of each store's workloads (not the ceilings)
	fs.Usage = func() {
		fmt.Fprintln(out, "Usage: polypay bench [flags]")
		fs.VisitAll(func(f *flag.Flag) {
			if f.Usage == "" {
				return // hidden
			}
			fmt.Fprintf(out, "  --%s (default %q)\n    \t%s\n", f.Name, f.DefValue, f.Usage)
		})
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if o.retries < 0 {
		return nil, errors.New("bench: --retries must not be negative")
	}
	if o.duration <= 0 {
		return nil, errors.New("bench: --duration must be positive")
	}
	for _, s := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("bench: --concurrency: %q is not a number of clients (1-4096)", s)
		}
		o.conc = append(o.conc, n)
	}
	for _, s := range strings.Split(stores, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "sqlite", "postgres":
			o.stores = append(o.stores, s)
		case "":
		default:
			return nil, fmt.Errorf("bench: --stores: unknown store %q (want sqlite, postgres)", s)
		}
	}
	o.workloads = map[string]bool{}
	for _, s := range strings.Split(workloads, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case wCreate, wLifecycle, wRefund:
			o.workloads[s] = true
		case "":
		default:
			return nil, fmt.Errorf("bench: --workloads: unknown workload %q (want create, lifecycle, refund)", s)
		}
	}
	seen := map[string]bool{}
	for _, s := range strings.Split(channels, ",") {
		s = strings.TrimSpace(s)
		bc, ok := benchChannels[s]
		switch {
		case s == "" || seen[s]:
		case !ok:
			return nil, fmt.Errorf("bench: --channels: unknown channel %q (want %s)", s, strings.Join(channelNames, ", "))
		default:
			seen[s] = true
			o.channels = append(o.channels, &bc)
		}
	}
	if len(o.channels) == 0 {
		return nil, errors.New("bench: --channels: no channel given")
	}
	return o, nil
}

// Main runs the benchmark command. It returns an error when a measurement
// met failures (non-200 answers, bad webhook signatures, a store that could
// not start), after printing everything it measured.
func Main(args []string, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ctx := context.Background()
	tableOut := out
	if o.jsonPath == "-" {
		tableOut = io.Discard
	}
	p := &printer{w: tableOut}

	rep := &Report{
		Date:        time.Now().Format(time.RFC3339),
		Duration:    o.duration.String(),
		Concurrency: o.conc,
		Machine: Machine{NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GOOS: runtime.GOOS,
			GOARCH: runtime.GOARCH, GoVersion: runtime.Version(), CPUModel: cpuModel(), LoadAvgStart: loadAvg()},
	}
	for _, bc := range o.channels {
		rep.Channels = append(rep.Channels, bc.Name)
	}
	p.header(rep, o)

	// Machine ceilings, once per run.
	rep.Ceilings.RSAGoroutines = runtime.GOMAXPROCS(0)
	m := &meter{quietWait: o.quietWait, retries: o.retries}
	rsaRes, err := rsaCeiling(m, o.duration, rep.Ceilings.RSAGoroutines)
	if err != nil {
		return err
	}
	rep.Ceilings.RSASignsPerSec, rep.Ceilings.RSAOthers = rsaRes.rate(), rsaRes.others
	rep.Ceilings.HTTPConcurrency = 16
	httpRes, err := httpCeiling(m, o.duration, rep.Ceilings.HTTPConcurrency)
	if err != nil {
		return err
	}
	rep.Ceilings.HTTPClosePerSec, rep.Ceilings.HTTPErrors, rep.Ceilings.HTTPOthers = httpRes.rate(), httpRes.errors, httpRes.others
	for _, bc := range o.channels {
		bc.LifecycleRSABound = rep.Ceilings.RSASignsPerSec / float64(len(bc.Lifecycle))
		rep.Signs = append(rep.Signs, *bc)
	}
	p.ceilings(rep, o.channels)

	failures := 0
	if rep.Ceilings.HTTPErrors > 0 {
		failures += rep.Ceilings.HTTPErrors
	}
	for _, name := range o.stores {
		if name == "postgres" && o.pgURL == "" {
			msg := "PostgreSQL skipped: no server given; set " + EnvPostgres + " (or " + EnvTestPostgres +
				") or pass --postgres postgres://user@host:5432/db?sslmode=disable"
			rep.Skipped = append(rep.Skipped, msg)
			p.line("")
			p.line(msg)
			continue
		}
		sr := &StoreReport{Name: name}
		rep.Stores = append(rep.Stores, sr)
		p.storeStart(sr)
		b := &storeBench{o: o, rep: rep, sr: sr, p: p}
		if err := b.run(ctx); err != nil {
			sr.Error = err.Error()
			p.line("  ERROR: " + sr.Error)
			failures++
		}
		for _, r := range sr.Rows {
			failures += r.Errors
		}
		failures += sr.CommitErrors + int(sr.WebhooksBadSig)
	}

	rep.Machine.LoadAvgEnd = loadAvg()
	rep.Targets = targets(rep)
	p.targets(rep)
	p.errors(rep)

	if o.jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if o.jsonPath == "-" {
			if _, err := out.Write(b); err != nil {
				return err
			}
		} else if err := os.WriteFile(o.jsonPath, b, 0o644); err != nil {
			return err
		}
	}
	if failures > 0 {
		return fmt.Errorf("bench: %d failure(s) during the run (see above); figures are not valid", failures)
	}
	return nil
}

// targets checks the requirement's goals for each store and channel. Rates
// are judged at the best concurrency measured, the p99 latency at c=16.
func targets(rep *Report) []Target {
	var ts []Target
	for _, sr := range rep.Stores {
		if sr.Error != "" {
			continue
		}
		for i := range rep.Signs {
			ts = append(ts, channelTargets(rep, sr, &rep.Signs[i])...)
		}
	}
	return ts
}

func channelTargets(rep *Report, sr *StoreReport, bc *benchChannel) []Target {
	var ts []Target
	createBound := rep.Ceilings.RSASignsPerSec / float64(len(bc.Create))
	if best, ok := bestRow(sr, bc.Name, wLifecycle); ok {
		ts = append(ts, Target{Store: sr.Name, Channel: bc.Name, Name: "lifecycles/s ≥ 0.5 × RSA-bound ceiling",
			Value: best.VsRSA, Goal: targetLifeVsRSA, Pass: best.VsRSA >= targetLifeVsRSA && best.Errors == 0,
			Detail: fmt.Sprintf("best %.2f at c=%d (%.1f/s of %.1f/s)", best.VsRSA, best.Concurrency, best.PerSec, bc.LifecycleRSABound)})
	}
	if sr.Name == "sqlite" {
		if best, ok := bestRow(sr, bc.Name, wCreate); ok {
			d := fmt.Sprintf("best %.2f× at c=%d (%.1f/s vs %.1f commits/s)", best.VsCommit, best.Concurrency, best.PerSec, sr.CommitSingle)
			if sr.CommitSingle > 0 && createBound < targetCreateVsCommit*sr.CommitSingle {
				d += fmt.Sprintf("; RSA bound for create %.0f/s = %.2f× single-commit", createBound, createBound/sr.CommitSingle)
			}
			ts = append(ts, Target{Store: sr.Name, Channel: bc.Name, Name: "charges created/s ≥ 5 × single-commit/s",
				Value: best.VsCommit, Goal: targetCreateVsCommit, Pass: best.VsCommit >= targetCreateVsCommit && best.Errors == 0, Detail: d})
		}
	}
	for _, r := range sr.Rows {
		if r.Channel == bc.Name && r.Workload == wCreate && r.Concurrency == targetP99Conc {
			ts = append(ts, Target{Store: sr.Name, Channel: bc.Name, Name: "p99 create latency at c=16 < 20 ms",
				Value: r.P99ms, Goal: targetP99CreateMS, Pass: r.P99ms < targetP99CreateMS && r.Errors == 0 && r.Ops > 0,
				Detail: p99Detail(createBound, r)})
		}
	}
	return ts
}

func bestRow(sr *StoreReport, channel, workload string) (Row, bool) {
	var best Row
	found := false
	for _, r := range sr.Rows {
		if r.Channel == channel && r.Workload == workload && (!found || r.PerSec > best.PerSec) {
			best, found = r, true
		}
	}
	return best, found
}

// p99Detail adds Little's law: c clients in a closed loop can see a mean
// latency no lower than c ÷ the most creates per second the machine can
// sign (createBound).
func p99Detail(createBound float64, r Row) string {
	d := fmt.Sprintf("p99 %.1f ms (p50 %.1f ms)", r.P99ms, r.P50ms)
	if createBound > 0 {
		d += fmt.Sprintf("; mean at c=%d ≥ %d ÷ %.0f/s RSA-bound = %.1f ms", r.Concurrency, r.Concurrency, createBound, 1000*float64(r.Concurrency)/createBound)
	}
	return d
}
