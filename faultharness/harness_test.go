//go:build faultharness

package faultharness

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
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
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/sandbox"
	"github.com/polypay/polypay/sim/simfault"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/store/storetest"
	"github.com/polypay/polypay/webhook"
)

var (
	flagDuration = flag.Duration("duration", 60*time.Second, "how long the load and the faults run")
	flagPostgres = flag.String("postgres", os.Getenv("POLYPAY_FAULTS_POSTGRES"), "PostgreSQL base URL (a fresh schema is made); empty: SQLite")
	flagSeed     = flag.Uint64("seed", 0, "seed for every random choice (0: from the clock)")
	flagWorkers  = flag.Int("workers", 4, "concurrent merchant/customer flows")
	flagUptime   = flag.Duration("mean-uptime", 0, "mean time between SIGKILLs (0: 20 s, or duration/6 when shorter)")
	flagSettle   = flag.Duration("settle", 6*time.Minute, "how long to wait, faults off, for polypay to catch up before checking")
	flagKeepLogs = flag.Bool("keep-logs", false, "keep polypay's logs and data directory even when every invariant holds")
)

// simSpeed compresses the channels' notification retry schedules (Alipay's
// 24 h, WeChat's 24 h) into about 5 minutes, so that a notification lost
// during a crash is retried within the run, as in life it would be within
// the day.
const simSpeed = 300

// webhookRetry replaces Ping++'s 2m..15h schedule: 9 attempts over about
// 4 minutes, so that webhooks the receiver refused are retried within the
// run. Scaled like the merchant's outages (seconds for Ping++'s hours): a
// schedule shorter than an outage gives up on events, as Ping++ does after
// a day.
const webhookRetry = "1s,2s,4s,8s,15s,30s,60s,120s"

func TestFaultHarness(t *testing.T) {
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	h := newHarness(t, seed)
	h.run()
	h.settle()
	h.check()
}

type harness struct {
	t      *testing.T
	seed   uint64
	rng    *mrand.Rand
	rngMu  sync.Mutex
	dir    string // polypay's data dir (SQLite, master.key)
	logDir string // binary, polypay.log
	dsn    string // PostgreSQL, or ""
	bin    string
	addr   string
	api    string
	client *http.Client

	db      *store.DB
	reg     *channel.Registry
	sb      *sandbox.Sandbox
	faults  *simfault.Faults
	simURL  string
	app     *core.NewApp
	aliMID  string // the app's sandbox Alipay app_id
	wxMID   string // the app's sandbox WeChat Pay mchid
	recv    *receiver
	payouts *payouts // the payees the merchant asked for (payouts_test.go)

	recharges *recharges // the users and recharges the merchant asked for (recharges_test.go)

	procMu  sync.Mutex
	proc    *exec.Cmd
	exited  chan struct{}
	crashes int
	logFile *os.File

	seq     atomic.Int64
	counts  sync.Map // name -> *atomic.Int64: what the load did
	started time.Time
	loadFor time.Duration
	settled time.Duration
}

func (h *harness) count(name string) {
	v, _ := h.counts.LoadOrStore(name, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (h *harness) counted(name string) int64 {
	v, ok := h.counts.Load(name)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func (h *harness) float() float64 {
	h.rngMu.Lock()
	defer h.rngMu.Unlock()
	return h.rng.Float64()
}

func (h *harness) intn(n int) int {
	h.rngMu.Lock()
	defer h.rngMu.Unlock()
	return h.rng.IntN(n)
}

func (h *harness) between(a, b time.Duration) time.Duration {
	return a + time.Duration(h.float()*float64(b-a))
}

// loadFaults is what the simulators do wrong while the load runs.
var loadFaults = simfault.Config{
	Fail5xx: 0.03, Fail5xxAfter: 0.03, Hang: 0.01, HangAfter: 0.01, MaxHang: 40 * time.Second,
	Drop: 0.12, LoseReply: 0.08, Duplicate: 0.10, Delay: 0.10, Reorder: 0.08, MaxDelay: 3 * time.Second,
}

func newHarness(t *testing.T, seed uint64) *harness {
	ctx := context.Background()
	logDir, err := os.MkdirTemp("", "polypay-faults-")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, seed: seed, rng: mrand.New(mrand.NewPCG(seed, seed>>1|1)), logDir: logDir,
		dir: filepath.Join(logDir, "data"), client: &http.Client{Timeout: 45 * time.Second}}
	t.Cleanup(func() {
		if t.Failed() || *flagKeepLogs {
			t.Logf("polypay's log and data kept in %s", logDir)
		} else {
			os.RemoveAll(logDir)
		}
	})
	t.Logf("seed %d (rerun with -args -seed %d)", seed, seed)

	// The real binary, built once.
	h.bin = filepath.Join(logDir, "polypay")
	build := exec.Command("go", "build", "-o", h.bin, "github.com/polypay/polypay/cmd/polypay")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building polypay: %v\n%s", err, out)
	}
	if *flagPostgres != "" {
		h.dsn = storetest.FreshSchema(t, *flagPostgres)
	}
	db, box, err := gateway.OpenStore(ctx, gateway.Config{DataDir: h.dir, DatabaseURL: h.dsn})
	if err != nil {
		t.Fatal(err)
	}
	h.db = db

	// The channels: the registry's simulators, hosted here so that they
	// outlive every polypay process, behind the fault injector.
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.simURL = "http://" + simLn.Addr().String()
	h.faults = simfault.New(simfault.Config{}, seed)
	simLog := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h.reg, h.sb, err = gateway.OpenChannels(ctx, h.db, box, h.simURL, simLog, nil, []sandbox.Option{sandbox.WithSimSpeed(simSpeed),
		sandbox.WithPublicURL(h.simURL),
		sandbox.WithSimHTTPClient(&http.Client{Timeout: 10 * time.Second, Transport: h.faults.Transport(nil)})})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := &http.Server{Handler: h.faults.Handler(h.sb.SimHostHandler())}
	go simSrv.Serve(simLn)
	t.Cleanup(func() { simSrv.Close(); h.sb.Close(); h.db.Close() })

	if h.app, err = core.CreateApp(ctx, h.db, "fault harness"); err != nil {
		t.Fatal(err)
	}
	if err := h.reg.Provision(ctx, h.app.AppID); err != nil {
		t.Fatal(err)
	}
	if h.aliMID, err = h.reg.SandboxMerchantID(ctx, h.app.AppID, "alipay"); err != nil {
		t.Fatal(err)
	}
	if h.wxMID, err = h.reg.SandboxMerchantID(ctx, h.app.AppID, "wx"); err != nil {
		t.Fatal(err)
	}
	h.startPayouts()
	h.startRecharges()

	// polypay on a fixed address: channels notify the URL given when the
	// charge was made, so every incarnation must listen where the first did.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	ln.Close()
	h.api = "http://" + h.addr
	if h.logFile, err = os.Create(filepath.Join(logDir, "polypay.log")); err != nil {
		t.Fatal(err)
	}
	h.startPolypay()
	t.Cleanup(h.stopPolypay)

	// The merchant: a webhook endpoint that checks every signature with
	// the public key polypay publishes.
	st, pem, err := h.do("GET", "/v1/webhook_endpoints/public_key", nil, "")
	if err != nil || st != 200 {
		t.Fatalf("webhook public key: %d %s %v", st, pem, err)
	}
	h.recv = newReceiver(t, pem, seed)
	if st, raw, err := h.do("POST", "/v1/webhook_endpoints", map[string]any{"app": h.app.AppID, "url": h.recv.url}, ""); err != nil || st != 200 {
		t.Fatalf("register webhook: %d %s %v", st, raw, err)
	}
	return h
}

// polypay the child process.

func (h *harness) startPolypay() {
	args := []string{"serve", "--addr", h.addr, "--data", h.dir, "--sim-url", h.simURL,
		"--poll-interval", "500ms", "--webhook-retry", webhookRetry, "--admin-addr", ""}
	if h.dsn != "" {
		args = append(args, "--database", h.dsn)
	}
	cmd := exec.Command(h.bin, args...)
	cmd.Env = append(os.Environ(), "POLYPAY_DATABASE=") // the flag decides
	cmd.Stdout, cmd.Stderr = h.logFile, h.logFile
	cmd.SysProcAttr = childAttr()
	fmt.Fprintf(h.logFile, "{\"harness\":\"start\",\"time\":%q}\n", time.Now().Format(time.RFC3339Nano))
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("starting polypay: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	h.procMu.Lock()
	h.proc, h.exited = cmd, exited
	h.procMu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(h.api + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		select {
		case <-exited:
			h.t.Fatalf("polypay exited at start; see %s", h.logFile.Name())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("polypay not healthy after 60 s; see %s", h.logFile.Name())
		}
	}
}

// kill sends SIGKILL: no shutdown, no flush, whatever was in flight.
func (h *harness) kill() {
	h.procMu.Lock()
	cmd, exited := h.proc, h.exited
	h.procMu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	fmt.Fprintf(h.logFile, "{\"harness\":\"SIGKILL\",\"time\":%q}\n", time.Now().Format(time.RFC3339Nano))
}

func (h *harness) stopPolypay() {
	h.procMu.Lock()
	cmd, exited := h.proc, h.exited
	h.procMu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(40 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// The merchant's API calls.

func (h *harness) do(method, path string, body any, idemKey string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.api+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(h.app.SecretKeyTest, "")
	req.Header.Set("Content-Type", "application/json")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	res, err := h.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// retryable: polypay was down or cut off (transport error), failed
// internally, or the channel did not answer in time (402 channel_error):
// a careful merchant repeats the same request (same order_no or
// Idempotency-Key).
func retryable(status int, err error) bool {
	return err != nil || status >= 500 || status == 402 || status == 429
}

// doRetry repeats an idempotent call for up to two minutes.
func (h *harness) doRetry(method, path string, body any, idemKey string) (int, []byte, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, b, err := h.do(method, path, body, idemKey)
		if !retryable(st, err) || time.Now().After(deadline) {
			return st, b, err
		}
		h.count("api retries")
		time.Sleep(h.between(200*time.Millisecond, 1500*time.Millisecond))
	}
}

type chargeJSON struct {
	ID         string                     `json:"id"`
	Channel    string                     `json:"channel"`
	Amount     int64                      `json:"amount"`
	Paid       bool                       `json:"paid"`
	Credential map[string]json.RawMessage `json:"credential"`
	Error      *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// scene is one Ping++ channel and the extra it needs.
type scene struct {
	channel string
	extra   func(h *harness) map[string]any
}

func none(*harness) map[string]any { return nil }

var scenes = []scene{
	{"alipay_qr", none}, {"alipay", none},
	{"alipay_wap", func(*harness) map[string]any { return map[string]any{"success_url": "https://shop.example/ok"} }},
	{"alipay_pc_direct", func(*harness) map[string]any { return map[string]any{"success_url": "https://shop.example/ok"} }},
	{"alipay_lite", func(*harness) map[string]any { return map[string]any{"buyer_id": "2088000000000001"} }},
	{"alipay_scan", func(h *harness) map[string]any {
		// 28: paid at once; 29: the customer confirms on the phone
		// (paid a few seconds later); 30: declined.
		p := []string{"28", "28", "28", "29", "30"}[h.intn(5)]
		return map[string]any{"scan_code": p + digits(h, 16), "terminal_id": "T1"}
	}},
	{"wx_pub_qr", func(*harness) map[string]any { return map[string]any{"product_id": "P1"} }}, {"wx", none},
	{"wx_pub", func(*harness) map[string]any { return map[string]any{"open_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"} }},
	{"wx_lite", func(*harness) map[string]any { return map[string]any{"open_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"} }},
	{"wx_wap", none},
	{"wx_pub_scan", func(h *harness) map[string]any {
		// 13...: paid at once; 1300...: the customer is typing the password.
		if h.intn(4) == 0 {
			return map[string]any{"scan_code": "1300" + digits(h, 14)}
		}
		return map[string]any{"scan_code": "13" + digits(h, 16)}
	}},
}

func digits(h *harness, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + h.intn(10)))
	}
	return b.String()
}

func newKey() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// run drives the load and the crashes for the configured duration.
func (h *harness) run() {
	h.faults.Set(loadFaults)
	h.recv.setFaulty(true)
	h.started = time.Now()
	end := h.started.Add(*flagDuration)
	var wg sync.WaitGroup
	for range *flagWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				switch x := h.float(); {
				case x < payoutShare:
					h.payoutFlow()
				case x < payoutShare+rechargeShare:
					h.rechargeFlow()
				case x < payoutShare+rechargeShare+balanceShare:
					h.balanceFlow()
				default:
					h.flow()
				}
			}
		}()
	}
	// The merchant's endpoint has outages of its own.
	stopOutages := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopOutages:
				return
			case <-time.After(h.between(40*time.Second, 90*time.Second)):
				h.recv.outage(h.between(5*time.Second, 20*time.Second))
			}
		}
	}()
	mean := *flagUptime
	if mean == 0 {
		mean = min(20*time.Second, *flagDuration/6)
	}
	for {
		up := h.between(mean*3/10, mean*17/10)
		if time.Now().Add(up).After(end) {
			break
		}
		time.Sleep(up)
		h.kill()
		h.crashes++
		time.Sleep(h.between(0, time.Second))
		h.startPolypay()
	}
	close(stopOutages)
	wg.Wait() // flows finish the step they are in (bounded by their retries)
	h.loadFor = time.Since(h.started)
}

// flow is one customer and merchant: a charge in some scene, paid,
// declined or abandoned, perhaps refunded in parts or in full.
func (h *harness) flow() {
	sc := scenes[h.intn(len(scenes))]
	amount := int64(1 + h.intn(20000))
	orderNo := fmt.Sprintf("FH%d%06d", h.seed%100000, h.seq.Add(1))
	body := map[string]any{"order_no": orderNo, "app": map[string]any{"id": h.app.AppID}, "channel": sc.channel,
		"amount": amount, "client_ip": "127.0.0.1", "currency": "cny", "subject": "fault harness", "body": "polypay"}
	if ex := sc.extra(h); ex != nil {
		body["extra"] = ex
	}
	short := h.float() < 0.15
	if short && !strings.HasSuffix(sc.channel, "_scan") {
		// Expiry: the customer has a few seconds, and often misses them.
		body["time_expire"] = time.Now().Unix() + int64(3+h.intn(10))
	}
	h.count("charges requested")
	st, raw, err := h.doRetry("POST", "/v1/charges", body, "")
	if err != nil || st != 200 {
		// A declined payment code (402 after the retries) or an expiry
		// that passed while polypay was down.
		h.count("charges refused")
		if st != 402 { // 402: the channel declined the payment code
			h.t.Logf("charge %s on %s refused: %d %s %v", orderNo, sc.channel, st, raw, err)
		}
		return
	}
	var c chargeJSON
	if err := json.Unmarshal(raw, &c); err != nil || c.ID == "" {
		h.t.Errorf("charge reply: %s", raw)
		return
	}
	h.count("charges created")
	if h.float() < 0.05 {
		// The merchant retries the create: the same charge comes back.
		if st, raw, err := h.doRetry("POST", "/v1/charges", body, ""); err == nil && st == 200 {
			var again chargeJSON
			json.Unmarshal(raw, &again)
			if again.ID != c.ID {
				h.t.Errorf("order_no %s: a retried create made a second charge %s (first %s)", orderNo, again.ID, c.ID)
			}
		}
	}
	if !strings.HasSuffix(sc.channel, "_scan") && !c.Paid {
		cred := c.Credential[sc.channel]
		switch x := h.float(); {
		case short && x < 0.5, x < 0.12:
			h.count("abandoned")
			return
		case x < 0.25:
			h.pay(c, cred, false)
			h.count("declined")
			if h.float() < 0.5 {
				return
			}
			h.pay(c, cred, true) // tries again, and pays
		default:
			h.pay(c, cred, true)
		}
		if h.float() < 0.05 {
			h.pay(c, cred, true) // pays twice: the channel must refuse
		}
	}
	if h.float() < 0.05 {
		// Reversal is for isv_* only: polypay must refuse, changing nothing.
		if st, _, err := h.do("POST", "/v1/charges/"+c.ID+"/reverse", map[string]any{}, ""); err == nil && st == 400 {
			h.count("reversals refused")
		}
	}
	if h.float() < 0.45 {
		h.refunds(c)
	}
}

// pay is the customer in the channel's app or page.
func (h *harness) pay(c chargeJSON, cred json.RawMessage, success bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := h.sb.Pay(ctx, &polypay.Charge{ID: c.ID, AppID: h.app.AppID, Channel: c.Channel, Credential: cred}, success)
	switch {
	case err != nil:
		h.count("customer payments failed at the channel") // expired, already paid, cashier page 5xx
	case success:
		h.count("customer payments")
	}
}

// refunds asks for one to three refunds, partial or full, each under its
// own Idempotency-Key so that retries across crashes are safe.
func (h *harness) refunds(c chargeJSON) {
	// Wait until polypay knows the charge is paid (the notification may
	// be delayed, dropped or waiting for the poller).
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, raw, err := h.do("GET", "/v1/charges/"+c.ID, nil, "")
		if err == nil && st == 200 {
			var cur chargeJSON
			json.Unmarshal(raw, &cur)
			if cur.Paid {
				break
			}
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	left := c.Amount
	for n := 1 + h.intn(3); n > 0 && left > 0; n-- {
		req := map[string]any{"description": "fault harness"}
		amount := left
		if h.float() < 0.6 && left > 1 {
			amount = 1 + int64(h.intn(int(left-1)))
			req["amount"] = amount
		} else if h.float() < 0.5 {
			req["amount"] = amount // full remainder, stated
		}
		if h.float() < 0.05 {
			req["amount"] = left + 1 // over what is left: must be refused
		}
		h.count("refunds requested")
		st, raw, err := h.doRetry("POST", "/v1/charges/"+c.ID+"/refunds", req, newKey())
		switch {
		case err != nil || st >= 500:
			h.count("refunds unanswered")
			return
		case st != 200:
			h.count("refunds refused")
			if !bytes.Contains(raw, []byte("amount")) && !bytes.Contains(raw, []byte("退款")) {
				h.t.Logf("refund refused: %d %s", st, raw)
			}
			continue
		}
		left -= amount
	}
}

// settle turns every fault off and waits until polypay agrees with the
// channels and has delivered every event, or the settle time runs out.
func (h *harness) settle() {
	h.faults.Set(simfault.Config{})
	h.recv.setFaulty(false)
	start := time.Now()
	for {
		s := h.snapshot()
		if s.converged() {
			break
		}
		if time.Since(start) > *flagSettle {
			h.t.Logf("not converged after %s", *flagSettle)
			break
		}
		time.Sleep(2 * time.Second)
	}
	h.settled = time.Since(start)
}

// The checks.

type chargeRow struct {
	c       *polypay.Charge
	refunds []*polypay.Refund
}

type state struct {
	ali     []aliTrade
	wx      []wxTrade
	charges map[string]*chargeRow
	events  map[string]dbEvent
	// undeliverable counts events made before any endpoint existed.
	undeliverable int
	received      map[string]int
	ledger        map[string]int64 // account -> balance
	pay           *payoutState
	rch           *rechargeState
	h             *harness
}

// channelTrade is a trade as the channel's books have it.
type channelTrade struct {
	family     string
	outTradeNo string
	amount     int64
	paid       bool
	reversed   int64
	refunds    map[string]int64 // out_request_no / out_refund_no -> amount
}

type aliTrade = channelTrade
type wxTrade = channelTrade

type dbEvent struct {
	typ, objectID string
}

// madeBefore reports whether the event id was made before the endpoint id
// (both polypay.NewID: prefix, then 8 characters of milliseconds and 3 of
// sequence).
func madeBefore(eventID, endpointID string) bool {
	const stamp = 11
	e, w := eventID[strings.IndexByte(eventID, '_')+1:], endpointID[strings.IndexByte(endpointID, '_')+1:]
	return len(e) >= stamp && len(w) >= stamp && e[:stamp] < w[:stamp]
}

func (h *harness) snapshot() *state {
	ctx := context.Background()
	s := &state{h: h, charges: map[string]*chargeRow{}, events: map[string]dbEvent{}, ledger: map[string]int64{}}
	for _, t := range h.sb.AlipaySim().Trades() {
		if t.AppID != h.aliMID {
			continue
		}
		ct := channelTrade{family: "alipay", outTradeNo: t.OutTradeNo, amount: t.Amount, paid: t.Paid, reversed: t.Reversed, refunds: map[string]int64{}}
		for _, r := range t.Refunds {
			ct.refunds[r.OutRequestNo] = r.Amount
		}
		s.ali = append(s.ali, ct)
	}
	for _, t := range h.sb.WechatSim().Trades() {
		if t.MchID != h.wxMID {
			continue
		}
		ct := channelTrade{family: "wx", outTradeNo: t.OutTradeNo, amount: t.Amount, paid: t.Paid, reversed: t.Reversed, refunds: map[string]int64{}}
		for _, r := range t.Refunds {
			ct.refunds[r.OutRefundNo] = r.Amount
		}
		s.wx = append(s.wx, ct)
	}
	err := h.db.Read(ctx, func(tx *store.Tx) error {
		after := ""
		for {
			cs, more, err := tx.ListCharges(ctx, store.ChargeFilter{AppID: h.app.AppID, StartingAfter: after, Limit: 100})
			if err != nil {
				return err
			}
			for _, c := range cs {
				row := &chargeRow{c: c}
				rafter := ""
				for {
					rs, rmore, err := tx.ListRefunds(ctx, c.ID, rafter, "", 100)
					if err != nil {
						return err
					}
					row.refunds = append(row.refunds, rs...)
					if !rmore || len(rs) == 0 {
						break
					}
					rafter = rs[len(rs)-1].ID
				}
				s.charges[c.ID] = row
			}
			if !more || len(cs) == 0 {
				return nil
			}
			after = cs[len(cs)-1].ID
		}
	})
	if err != nil {
		h.t.Fatalf("reading polypay's charges: %v", err)
	}
	s.readSQL()
	h.snapshotPayouts(s)
	h.snapshotRecharges(s)
	s.received = h.recv.received()
	return s
}

// openSQL opens polypay's database read-only, with the placeholder of its
// first parameter.
func (h *harness) openSQL() (*sql.DB, string) {
	var db *sql.DB
	var err error
	ph := "?"
	if h.dsn != "" {
		db, err = sql.Open("pgx", h.dsn)
		ph = "$1"
	} else {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(h.dir, "polypay.db")+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return db, ph
}

// readSQL reads what the store has no listing for: every event, and the
// ledger's balances.
func (s *state) readSQL() {
	h := s.h
	db, ph := h.openSQL()
	defer db.Close()
	// An event made before the harness registered its endpoint has nowhere
	// to go (the daily reconciliation job may emit one as the node starts,
	// when it starts after 10:00 Beijing time). Ids begin with their
	// millisecond and sequence, and one process made both, so they order.
	var firstEndpoint string
	if err := db.QueryRow("SELECT COALESCE(MIN(id), '') FROM webhook_endpoints WHERE app_id = "+ph, h.app.AppID).Scan(&firstEndpoint); err != nil {
		h.t.Fatalf("reading webhook endpoints: %v", err)
	}
	rows, err := db.Query("SELECT id, type, object FROM events WHERE app_id = "+ph, h.app.AppID)
	if err != nil {
		h.t.Fatalf("reading events: %v", err)
	}
	for rows.Next() {
		var id, typ, obj string
		if err := rows.Scan(&id, &typ, &obj); err != nil {
			h.t.Fatal(err)
		}
		var o struct {
			ID string `json:"id"`
		}
		json.Unmarshal([]byte(obj), &o)
		if madeBefore(id, firstEndpoint) {
			s.undeliverable++
			continue
		}
		s.events[id] = dbEvent{typ, o.ID}
	}
	rows.Close()
	rows, err = db.Query("SELECT account, SUM(amount) FROM ledger_entries WHERE app_id = "+ph+" GROUP BY account", h.app.AppID)
	if err != nil {
		h.t.Fatalf("reading the ledger: %v", err)
	}
	for rows.Next() {
		var acct string
		var sum int64
		if err := rows.Scan(&acct, &sum); err != nil {
			h.t.Fatal(err)
		}
		s.ledger[acct] = sum
	}
	rows.Close()
}

func (s *state) trades() []channelTrade {
	return append(append([]channelTrade(nil), s.ali...), s.wx...)
}

// keptPaid: the customer paid and the channel kept the money (a reversal
// gives all of it back).
func (t channelTrade) keptPaid() bool { return t.paid && t.reversed == 0 }

func polypayPaid(c *polypay.Charge) bool { return c.Paid() && c.Status != polypay.ChargeReversed }

func (s *state) converged() bool {
	for _, t := range s.trades() {
		row := s.charges[t.outTradeNo]
		if t.keptPaid() != (row != nil && polypayPaid(row.c)) {
			return false
		}
	}
	for _, row := range s.charges {
		for _, r := range row.refunds {
			if r.Status == polypay.RefundPending {
				return false
			}
		}
	}
	for id := range s.events {
		if s.received[id] == 0 {
			return false
		}
	}
	return s.pay.converged()
}

// check prints the table and fails the test on any broken invariant.
func (h *harness) check() {
	t := h.t
	s := h.snapshot()
	type line struct {
		name, channel, polypay string
		ok                     bool
	}
	var lines []line
	add := func(name string, ch, pp any, ok bool) {
		lines = append(lines, line{name, fmt.Sprint(ch), fmt.Sprint(pp), ok})
	}
	var problems []string
	problem := func(format string, args ...any) {
		if len(problems) < 40 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}

	// 1. Paid: the channel's books against polypay's charges, trade by trade.
	var chPaid, chPaidAmt, ppPaid, ppPaidAmt, reversedPaid int64
	tradeByNo := map[string]channelTrade{}
	for _, tr := range s.trades() {
		tradeByNo[tr.outTradeNo] = tr
		if tr.keptPaid() {
			chPaid++
			chPaidAmt += tr.amount
		} else if tr.paid {
			reversedPaid++
		}
		row := s.charges[tr.outTradeNo]
		if tr.keptPaid() && (row == nil || !polypayPaid(row.c)) {
			problem("trade %s paid at %s, polypay: %v", tr.outTradeNo, tr.family, describe(row))
		}
		if row != nil && row.c.Amount != tr.amount {
			problem("trade %s: channel amount %d, charge %d", tr.outTradeNo, tr.amount, row.c.Amount)
		}
	}
	for id, row := range s.charges {
		if isBalance(row.c) {
			continue // no channel's books: balance_test.go checks them
		}
		if polypayPaid(row.c) {
			ppPaid++
			ppPaidAmt += row.c.Amount
			if tr, ok := tradeByNo[id]; !ok || !tr.keptPaid() {
				problem("charge %s paid in polypay, channel: %+v", id, tr)
			}
		}
	}
	add("trades paid (count)", chPaid, ppPaid, chPaid == ppPaid)
	add("trades paid (fen)", chPaidAmt, ppPaidAmt, chPaidAmt == ppPaidAmt)
	add("paid then reversed at the channel (not paid)", reversedPaid, "-", true)

	// 2. Refunds: each channel refund is exactly one polypay refund, with
	// the same amount, and nothing is ever refunded beyond what was paid.
	var chRefunds, chRefundAmt, ppRefunds, ppRefundAmt, ppPending, ppFailed, orphans, over int64
	refundByNo := map[string]*polypay.Refund{}
	for _, row := range s.charges {
		var sum int64
		for _, r := range row.refunds {
			refundByNo[r.OrderNo] = r
			if r.Status == polypay.RefundSucceeded {
				sum += r.Amount
			}
			if isBalance(row.c) {
				continue // refunded to the user's balance, no channel's: balance_test.go
			}
			switch r.Status {
			case polypay.RefundSucceeded:
				ppRefunds++
				ppRefundAmt += r.Amount
			case polypay.RefundPending:
				ppPending++
			case polypay.RefundFailed:
				ppFailed++
			}
		}
		if sum > row.c.Amount || row.c.AmountRefunded != sum {
			over++
			problem("charge %s: amount %d, refunds succeeded %d, amount_refunded %d", row.c.ID, row.c.Amount, sum, row.c.AmountRefunded)
		}
	}
	for _, tr := range s.trades() {
		var sum int64
		for no, amt := range tr.refunds {
			chRefunds++
			chRefundAmt += amt
			sum += amt
			r := refundByNo[no]
			switch {
			case r == nil:
				orphans++
				problem("channel refund %s of %s (%d) is no polypay refund", no, tr.outTradeNo, amt)
			case r.ChargeID != tr.outTradeNo || r.Amount != amt || r.Status != polypay.RefundSucceeded:
				problem("channel refund %s of %s (%d): polypay has %s %d %s", no, tr.outTradeNo, amt, r.ChargeID, r.Amount, r.Status)
			}
		}
		if sum+tr.reversed > tr.amount {
			over++
			problem("trade %s refunded %d+%d of %d", tr.outTradeNo, sum, tr.reversed, tr.amount)
		}
	}
	add("refunds succeeded (count)", chRefunds, ppRefunds, chRefunds == ppRefunds)
	add("refunds succeeded (fen)", chRefundAmt, ppRefundAmt, chRefundAmt == ppRefundAmt)
	add("refunds above paid (per charge)", 0, over, over == 0)
	add("channel refunds unknown to polypay (twice sent)", orphans, 0, orphans == 0)
	add("refunds still pending / failed in polypay", "-", fmt.Sprintf("%d / %d", ppPending, ppFailed), ppPending == 0)

	// 2b. Payouts (payouts_test.go).
	h.checkPayouts(s, add, problem)

	// 2c. Recharges (recharges_test.go).
	h.checkRecharges(s, add, problem)

	// 3. Statements: net money per Ping++ channel, from the channel's books,
	// from polypay's charges, refunds and transfers, and from polypay's
	// ledger.
	chNet, ppNet := map[string]int64{}, map[string]int64{}
	for _, tr := range s.trades() {
		row := s.charges[tr.outTradeNo]
		chName := tr.family + "?"
		if row != nil {
			chName = row.c.Channel
		}
		if tr.paid {
			chNet[chName] += tr.amount - tr.reversed
		}
		for _, amt := range tr.refunds {
			chNet[chName] -= amt
		}
	}
	for _, row := range s.charges {
		if polypayPaid(row.c) && !isBalance(row.c) {
			ppNet[row.c.Channel] += row.c.Amount - row.c.AmountRefunded
		}
	}
	chOut, ppOut := s.pay.netByChannel()
	for n, v := range chOut {
		chNet[n] -= v
	}
	for n, v := range ppOut {
		ppNet[n] -= v
	}
	var names []string
	seen := map[string]bool{}
	for n := range chNet {
		names, seen[n] = append(names, n), true
	}
	for n := range ppNet {
		if !seen[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		booked := s.ledger[ledger.ChannelAccount(n)]
		ok := chNet[n] == ppNet[n] && ppNet[n] == booked
		add("statement net "+n+" (channel / charges, ledger)", chNet[n], fmt.Sprintf("%d, %d", ppNet[n], booked), ok)
	}
	out, err := exec.Command(h.bin, append([]string{"ledger", "check", "--data", h.dir}, dbArgs(h.dsn)...)...).CombinedOutput()
	ledgerOK := err == nil
	if !ledgerOK {
		problem("polypay ledger check: %v\n%s", err, out)
	}
	add("polypay ledger check (exit 0)", "-", strings.TrimSpace(firstLine(out)), ledgerOK)

	// 4. Events: every event polypay made reached the merchant with a valid
	// signature, and each state change made exactly one event.
	var missing int
	for id, ev := range s.events {
		if s.received[id] == 0 {
			missing++
			problem("event %s (%s %s) never delivered", id, ev.typ, ev.objectID)
		}
	}
	var unknown int
	deliveries := 0
	for id, n := range s.received {
		deliveries += n
		if _, ok := s.events[id]; !ok {
			unknown++
			problem("received event %s that polypay never made", id)
		}
	}
	perObject := map[string]int{}
	for _, ev := range s.events {
		// channel.health_changed tells of an account's health going up and
		// down over time (often, under injected faults), not of a payment
		// object's one-time state change: it is delivered like every event
		// (checked above) but not counted here.
		if strings.HasPrefix(ev.typ, "channel.") {
			continue
		}
		perObject[ev.typ+" "+ev.objectID]++
	}
	var dupEvents, lackEvents int
	for k, n := range perObject {
		if n > 1 {
			dupEvents++
			problem("%d events for one state change: %s", n, k)
		}
	}
	lackEvents += s.pay.lackEvents(perObject, problem)
	for id, row := range s.charges {
		if polypayPaid(row.c) && perObject[polypay.EventChargeSucceeded+" "+id] != 1 {
			lackEvents++
			problem("charge %s paid with %d charge.succeeded events", id, perObject[polypay.EventChargeSucceeded+" "+id])
		}
		for _, r := range row.refunds {
			if r.Status == polypay.RefundSucceeded && perObject[polypay.EventRefundSucceeded+" "+r.ID] != 1 {
				lackEvents++
				problem("refund %s succeeded with %d refund.succeeded events", r.ID, perObject[polypay.EventRefundSucceeded+" "+r.ID])
			}
		}
	}
	bad := h.recv.badSignatures()
	add("events made by polypay / delivered >= 1 time", len(s.events), len(s.events)-missing, missing == 0)
	add("events made before the endpoint existed (nowhere to deliver)", s.undeliverable, "-", true)
	add("webhook deliveries acknowledged (incl. repeats)", "-", deliveries, true)
	add("webhooks with a bad signature / unknown event ids", bad, unknown, bad == 0 && unknown == 0)
	add("state changes with != 1 event (duplicated / missing)", dupEvents, lackEvents, dupEvents == 0 && lackEvents == 0)

	// The table.
	fs := h.faults.Stats()
	rs := h.recv.stats()
	var b strings.Builder
	backend := "SQLite"
	if h.dsn != "" {
		backend = "PostgreSQL"
	}
	fmt.Fprintf(&b, "\nFault harness: %s of load on %s, %d SIGKILLs, settled in %s, seed %d\n",
		h.loadFor.Round(time.Second), backend, h.crashes, h.settled.Round(time.Second), h.seed)
	fmt.Fprintf(&b, "load: %d charges created (%d requested, %d refused), %d customer payments, %d declines, %d abandoned, %d refunds requested (%d refused), %d reversals refused, %d API retries\n",
		h.counted("charges created"), h.counted("charges requested"), h.counted("charges refused"), h.counted("customer payments"),
		h.counted("declined"), h.counted("abandoned"), h.counted("refunds requested"), h.counted("refunds refused"),
		h.counted("reversals refused"), h.counted("api retries"))
	fmt.Fprintln(&b, h.payoutLoad())
	fmt.Fprintln(&b, h.rechargeLoad())
	fmt.Fprintln(&b, h.balanceLoad())
	fmt.Fprintf(&b, "channel faults: %d API calls: %d 503, %d 502 after the work, %d hung, %d hung after the work; %d notifications: %d dropped, %d reply lost, %d duplicated, %d delayed, %d re-ordered, %d failed (polypay down)\n",
		fs.Requests, fs.Fail5xx, fs.Fail5xxAfter, fs.Hang, fs.HangAfter, fs.Notifications, fs.Drop, fs.LoseReply, fs.Duplicate, fs.Delay, fs.Reorder, fs.SendError)
	fmt.Fprintf(&b, "merchant endpoint: %d requests: %d answered 500, %d hung past polypay's timeout, %d refused during outages\n\n",
		rs.requests, rs.failed, rs.hung, rs.outage)
	fmt.Fprintf(&b, "| invariant | channel (simulators) | polypay | holds |\n|---|---:|---:|:---:|\n")
	allOK := true
	for _, l := range lines {
		mark := "yes"
		if !l.ok {
			mark, allOK = "**NO**", false
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", l.name, l.channel, l.polypay, mark)
	}
	t.Log(b.String())
	fmt.Println(b.String())
	for _, p := range problems {
		t.Error(p)
	}
	if !allOK && len(problems) == 0 {
		t.Error("an invariant does not hold (see the table)")
	}
	if *flagDuration >= 10*time.Minute && h.crashes < 20 {
		t.Errorf("only %d crashes in %s; want at least 20", h.crashes, *flagDuration)
	}
}

func describe(row *chargeRow) string {
	if row == nil {
		return "no charge"
	}
	return fmt.Sprintf("status %s paid %v", row.c.Status, row.c.Paid())
}

func dbArgs(dsn string) []string {
	if dsn == "" {
		return []string{"--database", ""}
	}
	return []string{"--database", dsn}
}

func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// receiver is the merchant's webhook endpoint: it verifies every
// signature and, while faulty, answers 500, hangs past polypay's delivery
// timeout, or is down altogether.
type receiver struct {
	t   *testing.T
	pub []byte
	url string

	mu          sync.Mutex
	rng         *mrand.Rand
	faulty      bool
	outageUntil time.Time
	got         map[string]int // event id -> acknowledged deliveries
	bad         int
	st          recvStats
}

type recvStats struct{ requests, failed, hung, outage int }

func newReceiver(t *testing.T, pub []byte, seed uint64) *receiver {
	rc := &receiver{t: t, pub: pub, rng: mrand.New(mrand.NewPCG(seed^0xabcdef, seed)), got: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc.url = "http://" + ln.Addr().String() + "/webhooks"
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return rc
}

func (rc *receiver) setFaulty(f bool) {
	rc.mu.Lock()
	rc.faulty = f
	if !f {
		rc.outageUntil = time.Time{}
	}
	rc.mu.Unlock()
}

func (rc *receiver) outage(d time.Duration) {
	rc.mu.Lock()
	if rc.faulty {
		rc.outageUntil = time.Now().Add(d)
	}
	rc.mu.Unlock()
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	rc.mu.Lock()
	rc.st.requests++
	mode := 0
	if rc.faulty {
		switch x := rc.rng.Float64(); {
		case time.Now().Before(rc.outageUntil):
			mode = 3
		case x < 0.12:
			mode = 1
		case x < 0.17:
			mode = 2
		}
	}
	rc.mu.Unlock()
	switch mode {
	case 1:
		rc.mu.Lock()
		rc.st.failed++
		rc.mu.Unlock()
		http.Error(w, "merchant bug", http.StatusInternalServerError)
		return
	case 2:
		// Hangs "for minutes": until polypay gives up (its 10 s delivery
		// timeout), at most two minutes.
		rc.mu.Lock()
		rc.st.hung++
		rc.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Minute):
		}
		return
	case 3:
		rc.mu.Lock()
		rc.st.outage++
		rc.mu.Unlock()
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if err := webhook.Verify(body, r.Header.Get(webhook.SignatureHeader), rc.pub); err != nil {
		rc.mu.Lock()
		rc.bad++
		rc.mu.Unlock()
		rc.t.Errorf("webhook signature: %v", err)
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	var ev struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		http.Error(w, "not an event", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.got[ev.ID]++
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (rc *receiver) received() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.got))
	for k, v := range rc.got {
		out[k] = v
	}
	return out
}

func (rc *receiver) badSignatures() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.bad
}

func (rc *receiver) stats() recvStats {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.st
}
