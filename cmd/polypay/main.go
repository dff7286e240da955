// Command polypay runs the gateway and its operator commands.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/polypay/polypay/bench"
	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/clientip"
	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/gateway"
	"github.com/polypay/polypay/ledger"
	"github.com/polypay/polypay/paycode"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/sandbox"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/telemetry"
	"github.com/polypay/polypay/webhook"
)

const usage = `polypay: a self-hosted, Ping++-compatible payment gateway

Usage:
  polypay version                            print the version and commit (also --version)
  polypay serve [--config polypay.toml]      every serve flag may be set in the file or as $POLYPAY_<FLAG>
                [--addr 127.0.0.1:8080] [--data ./polypay-data] [--database postgres://...] [--public-url URL]
                [--probe-interval 30s] [--otlp-endpoint host:4318]
                [--sim-url URL]              use the simulators served by "polypay sim" instead of its own
                [--admin-addr 127.0.0.1:9464]  where /metrics and pprof are served ('' for nowhere)
                [--demo]                     serve the demo store at /demo
                [--allow-webhook-net CIDR,...]   loopback/private ranges live webhooks may reach
                [--allow-channel-host HOST,...]  hosts live channel credentials may name besides the channels' own
  polypay sim [--addr 127.0.0.1:8090]        serve only the test-mode channel simulators, over the same
                                             store, for nodes started with --sim-url
  polypay app create --name NAME             create an app; prints its id and keys as JSON
  polypay app set-public-key --app ID --file key.pem
                                             require Ping++ request signatures from the app
  polypay app rotate-webhook-key --app ID [--live] [--overlap 24h]
                                             new webhook signing key for the app and mode: published
                                             at once, signing after the overlap; prints it
  polypay channel set --app ID --channel alipay --live --file config.json [--allow-channel-host HOST,...]
                                             store live channel credentials (sealed)
  polypay console user add --email E --role owner|admin|finance|read_only
                                             add a console user; the password is read from
                                             $POLYPAY_CONSOLE_PASSWORD or the first line of stdin
  polypay ledger check                       verify the double-entry ledger; exit 1 on problems
  polypay vault rotate-key [--batch 200] [--grace 3s]
                                             new vault key-encryption key; re-wrap every card
  polypay reconcile --date YYYY-MM-DD [--channel C] [--app APP] [--live]
                                             check the channels' statements against polypay; exit 1 while discrepancies are open
  polypay sandbox reset [--app APP] [--yes]  delete test-mode data (charges, refunds, orders, events, webhook
                                             deliveries, ledger postings, reconciliations...); live data and
                                             apps, keys and credentials stay; without --yes only counts
  polypay paycode --secret BASE32 --index N [--version V] [--at UNIX]
                                             print the offline payment code a registered device shows now
                                             (the reference client; see docs/payment-codes.md)
  polypay bench [--duration 5s] [--postgres URL]
                                             measure throughput against this machine's ceilings

Every command takes --data and --database to pick the store.
`

func main() {
	if code, done := preflight(os.Args[1:], os.Stdout, os.Stderr); done {
		os.Exit(code)
	}
	var err error
	switch cmd := os.Args[1]; cmd {
	case "serve":
		err = serve(os.Args[2:])
	case "sim":
		err = simCmd(os.Args[2:])
	case "app":
		err = appCmd(os.Args[2:])
	case "channel":
		err = channelCmd(os.Args[2:])
	case "ledger":
		err = ledgerCmd(os.Args[2:])
	case "vault":
		err = vaultCmd(os.Args[2:])
	case "reconcile":
		err = reconcileCmd(os.Args[2:])
	case "sandbox":
		err = sandboxCmd(os.Args[2:], os.Stdout)
	case "console":
		err = consoleCmd(os.Args[2:], os.Stdin, os.Stderr)
	case "bench":
		err = bench.Main(os.Args[2:], os.Stdout)
	case "paycode":
		err = paycodeCmd(os.Args[2:], os.Stdout)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		err = fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
	}
	if code := exitCode(err); code != 0 {
		fmt.Fprintln(os.Stderr, "polypay:", err)
		os.Exit(code)
	}
}

func storeFlags(fs *flag.FlagSet) *gateway.Config {
	cfg := &gateway.Config{}
	fs.StringVar(&cfg.DataDir, "data", "./polypay-data", "directory of the embedded database and master.key")
	fs.StringVar(&cfg.DatabaseURL, "database", os.Getenv("POLYPAY_DATABASE"), "postgres://... to use PostgreSQL (default: embedded SQLite)")
	fs.StringVar(&cfg.MasterKeyFile, "master-key-file", "", "the master key's file (default <data>/master.key; $POLYPAY_MASTER_KEY overrides)")
	fs.StringVar(&cfg.VaultKeysFile, "vault-keys-file", "", "the card vault's keyring file (default <data>/vault.keys; $POLYPAY_VAULT_KEYS overrides)")
	return cfg
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := storeFlags(fs)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "URL channels use to reach this node (default http://<addr>)")
	fs.DurationVar(&cfg.PollInterval, "poll-interval", 2*time.Second, "how often to look for expired charges and missing notifications")
	fs.Float64Var(&cfg.SimSpeed, "sim-speed", 1, "run the simulators' notification retry schedules this many times faster (test mode only)")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", gateway.DefaultRateLimit, "requests per second per secret key on this node, bursts of twice that (-1: unlimited)")
	fs.BoolVar(&cfg.DailyReconcile, "reconcile", true, "run the daily reconciliation job (claimed in the store: once across nodes)")
	fs.DurationVar(&cfg.DailyReconcileAt, "reconcile-at", 10*time.Hour, "when, after midnight Beijing time, the daily job reconciles the previous day")
	otlp := fs.String("otlp-endpoint", os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "send OpenTelemetry traces over OTLP/HTTP to this endpoint (host:port or URL; default off)")
	fs.DurationVar(&cfg.Health.ProbeInterval, "probe-interval", 30*time.Second, "probe every configured channel account this often (0: no probes)")
	fs.DurationVar(&cfg.Health.OpenTimeout, "breaker-timeout", 30*time.Second, "how long a down channel account gets no traffic before a probe tests it")
	fs.StringVar(&cfg.SimURL, "sim-url", "", "URL of the simulators served by 'polypay sim' on this store (default: this node serves its own)")
	fs.BoolVar(&cfg.SimTodaysBills, "sim-todays-bills", true, "test mode: the Alipay and WeChat Pay simulators serve today's statement so far (the real channels only serve ended days)")
	webhookRetry := fs.String("webhook-retry", "", "comma-separated gaps between webhook retries, e.g. 1s,2s,5s (default Ping++'s 2m,10m,10m,1h,2h,6h,15h; for tests)")
	outboundFlags(fs, cfg)
	securityFlags(fs, cfg)
	signResponses := fs.Bool("sign-responses", true, "sign every API reply (X-Pingplusplus-Signature), as Ping++ does; costs one RSA signature per request")
	if err := parseLayered(fs, args, os.LookupEnv); err != nil {
		return err
	}
	cfg.NoResponseSignatures = !*signResponses
	if *webhookRetry != "" {
		for _, f := range strings.Split(*webhookRetry, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil || d <= 0 {
				return fmt.Errorf("--webhook-retry: %q is not a positive duration", f)
			}
			cfg.WebhookSchedule = append(cfg.WebhookSchedule, d)
		}
	}
	cfg.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	shutdownTraces, err := telemetry.Setup(ctx, *otlp)
	if err != nil {
		return fmt.Errorf("--otlp-endpoint: %w", err)
	}
	defer func() {
		tctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutdownTraces(tctx)
	}()
	if harnessClock != nil {
		cfg.Now = harnessClock()
	}
	n, err := gateway.Start(ctx, *cfg)
	if err != nil {
		return err
	}
	recordSandboxHost(ctx, n.DB, n.Sandbox.URL(), cfg.Log)
	<-ctx.Done()
	cfg.Log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return n.Close(sctx)
}

// simCmd serves only the simulators, so that they (and their trades)
// survive restarts of the nodes that use them through --sim-url.
func simCmd(args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	cfg := storeFlags(fs)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	publicURL := fs.String("public-url", "", "URL browsers reach the simulators at (default http://<addr>)")
	speed := fs.Float64("sim-speed", 1, "run the simulators' notification retry schedules this many times faster")
	todaysBills := fs.Bool("sim-todays-bills", true, "the Alipay and WeChat Pay simulators serve today's statement so far (the real channels only serve ended days)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, box, err := gateway.OpenStore(ctx, *cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	self := "http://" + ln.Addr().String()
	if *publicURL == "" {
		*publicURL = self
	}
	simOpts := []sandbox.Option{sandbox.WithSimSpeed(*speed), sandbox.WithPublicURL(*publicURL)}
	if *todaysBills {
		simOpts = append(simOpts, sandbox.WithTodaysBills())
	}
	_, sb, err := gateway.OpenChannels(ctx, db, box, self, log, nil, simOpts)
	if err != nil {
		return err
	}
	defer sb.Close()
	srv := &http.Server{Handler: sb.SimHostHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("polypay simulators listening", "url", self)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func appCmd(args []string) error {
	if len(args) < 1 {
		return errors.New("app: want create, set-public-key or rotate-webhook-key")
	}
	fs := flag.NewFlagSet("app "+args[0], flag.ContinueOnError)
	cfg := storeFlags(fs)
	name := fs.String("name", "", "app name")
	appID := fs.String("app", "", "app id")
	file := fs.String("file", "", "PEM public key file ('' to remove)")
	live := fs.Bool("live", false, "rotate-webhook-key: the live-mode key (default: test)")
	overlap := fs.Duration("overlap", 24*time.Hour, "rotate-webhook-key: how long the old key keeps signing while the new one is published")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx := context.Background()
	db, box, err := gateway.OpenStore(ctx, *cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "create":
		a, err := core.CreateApp(ctx, db, *name)
		if err != nil {
			return err
		}
		reg, sb, err := gateway.OpenChannels(ctx, db, box, "", slog.New(slog.NewJSONHandler(io.Discard, nil)), nil, nil)
		if err != nil {
			return err
		}
		defer sb.Close()
		if err := reg.Provision(ctx, a.AppID); err != nil {
			return err
		}
		return printJSON(a)
	case "set-public-key":
		pem := ""
		if *file != "" {
			b, err := os.ReadFile(*file)
			if err != nil {
				return err
			}
			if _, err := webhook.ParsePublicKey(b); err != nil {
				return fmt.Errorf("%s: %w", *file, err)
			}
			pem = string(b)
		}
		return db.Write(ctx, func(tx *store.Tx) error { return tx.SetRequestPublicKey(ctx, *appID, pem) })
	case "rotate-webhook-key":
		return rotateWebhookKey(ctx, &webhook.Keys{DB: db, Box: box}, *appID, *live, *overlap, os.Stdout)
	}
	return fmt.Errorf("app: unknown subcommand %q", args[0])
}

// rotateWebhookKey publishes a new webhook key for the app and mode; the
// current key keeps signing for overlap, so receivers can add the new one
// first. The switch time is stored: every node switches at that moment.
func rotateWebhookKey(ctx context.Context, keys *webhook.Keys, appID string, live bool, overlap time.Duration, out io.Writer) error {
	if appID == "" {
		return errors.New("app rotate-webhook-key: --app is required")
	}
	r, err := keys.Rotate(ctx, appID, live, overlap)
	if err != nil {
		return err
	}
	mode := "test"
	if live {
		mode = "live"
	}
	until := fmt.Sprintf("until then generation %d keeps signing", r.Generation-1)
	if overlap == 0 {
		until = "signing now"
	}
	fmt.Fprintf(out, "app:        %s\nmode:       %s\ngeneration: %d\nswitch_at:  %s (%s)\n",
		appID, mode, r.Generation, r.SwitchAt.UTC().Format(time.RFC3339), until)
	fmt.Fprintf(out, "Receivers should trust this public key now (GET /v1/webhook_endpoints/public_key serves it):\n%s", r.PublicKeyPEM)
	return nil
}

func channelCmd(args []string) error {
	if len(args) < 1 || args[0] != "set" {
		return errors.New("channel: want set")
	}
	fs := flag.NewFlagSet("channel set", flag.ContinueOnError)
	cfg := storeFlags(fs)
	appID := fs.String("app", "", "app id")
	family := fs.String("channel", "alipay", "channel family")
	live := fs.Bool("live", false, "live credentials (default: test)")
	file := fs.String("file", "", "JSON credentials, e.g. alipay: {app_id, private_key, alipay_public_key, gateway}")
	var hosts []string
	channelHostFlag(fs, &hosts)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	raw, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	if !json.Valid(raw) {
		return fmt.Errorf("%s: not JSON", *file)
	}
	ctx := context.Background()
	db, box, err := gateway.OpenStore(ctx, *cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	reg, sb, err := gateway.OpenChannels(ctx, db, box, "", slog.New(slog.NewJSONHandler(io.Discard, nil)), nil, nil, channel.WithAllowedHosts(hosts))
	if err != nil {
		return err
	}
	defer sb.Close()
	return reg.Configure(ctx, *appID, *live, *family, raw)
}

func ledgerCmd(args []string) error {
	if len(args) < 1 || args[0] != "check" {
		return errors.New("ledger: want check")
	}
	fs := flag.NewFlagSet("ledger check", flag.ContinueOnError)
	cfg := storeFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx := context.Background()
	db, _, err := gateway.OpenStore(ctx, *cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	sum, probs, err := ledger.Check(ctx, db)
	if err != nil {
		return err
	}
	fmt.Printf("ledger: %d transactions, %d entries; %d charges, %d refunds, %d orders, %d fee lines checked\n",
		sum.Transactions, sum.Entries, sum.Charges, sum.Refunds, sum.Orders, sum.Fees)
	for _, p := range probs {
		fmt.Println("PROBLEM", p)
	}
	if len(probs) > 0 {
		return fmt.Errorf("ledger check failed: %d problems", len(probs))
	}
	fmt.Println("ledger: OK (every transaction balances; postings agree with charges, refunds, orders and fee lines)")
	return nil
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func consoleCmd(args []string, stdin io.Reader, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "user" || args[1] != "add" {
		return errors.New("console: want user add --email E --role R")
	}
	fs := flag.NewFlagSet("console user add", flag.ContinueOnError)
	cfg := storeFlags(fs)
	email := fs.String("email", "", "the user's email, used to sign in")
	role := fs.String("role", "", "owner, admin, finance or read_only")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	// Never a flag: flags show in ps and shell history.
	pw := os.Getenv("POLYPAY_CONSOLE_PASSWORD")
	if pw == "" {
		fmt.Fprint(stderr, "password: ")
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the password from stdin: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	ctx := context.Background()
	db, _, err := gateway.OpenStore(ctx, *cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := console.AddUser(ctx, db, *email, console.Role(*role), pw); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "console user %s (%s) added\n", strings.ToLower(strings.TrimSpace(*email)), *role)
	return nil
}

// securityFlags are serve's limits on what outsiders can make a node do.
func securityFlags(fs *flag.FlagSet, cfg *gateway.Config) {
	fs.BoolVar(&cfg.Demo, "demo", false, "serve the demo store at /demo (anyone can create orders and an app there)")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", "127.0.0.1:9464", "listen address of /metrics and /debug/pprof/ ('' serves neither; the API port never does)")
	fs.Float64Var(&cfg.FailedAuthLimit, "failed-auth-limit", gateway.DefaultFailedAuthLimit, "failed authentications per second per client address, bursts of 30; beyond it every request from the address gets 429 (-1: unlimited)")
	fs.Float64Var(&cfg.NotifyRateLimit, "notify-rate-limit", gateway.DefaultNotifyRateLimit, "notifications per second per client address on /notify, bursts of twice that (-1: unlimited)")
	fs.IntVar(&cfg.MaxConns, "max-conns", gateway.DefaultMaxConns, "open connections on the API port (-1: no cap)")
	fs.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", gateway.DefaultMaxConnsPerIP, "open connections per client address (-1: no cap)")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", gateway.DefaultReadTimeout, "time a client has to send a whole request, body included")
	fs.DurationVar(&cfg.RejectedRetention, "notification-retention", core.DefaultRejectedRetention, "how long records of rejected notifications are kept")
	fs.IntVar(&cfg.RejectedPerApp, "notification-cap", core.DefaultRejectedPerApp, "records of rejected notifications kept per app (the newest)")
	fs.Func("trusted-proxy", "CIDR[,...] reverse proxies whose X-Forwarded-For names the client (rate limits, the risk engine, the cashier)",
		func(s string) error {
			p, err := clientip.ParsePrefixes(strings.Split(s, ","))
			cfg.TrustedProxies = append(cfg.TrustedProxies, p...)
			return err
		})
	fs.Func("paycode-versions", "N[,...] offline payment-code versions this node accepts (default: all; leave one out to retire it)",
		func(s string) error {
			for _, v := range strings.Split(s, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if _, known := paycode.Algorithms[n]; err != nil || !known {
					return fmt.Errorf("no payment-code version %q", v)
				}
				cfg.PaycodeVersions = append(cfg.PaycodeVersions, n)
			}
			return nil
		})
	fs.Func("dunning", "D[,...] when a refused subscription debit is tried again, each after the failure before it (default 24h,72h,168h)",
		func(s string) error {
			cfg.Dunning = nil
			for _, v := range strings.Split(s, ",") {
				d, err := time.ParseDuration(strings.TrimSpace(v))
				if err != nil || d < time.Minute {
					return fmt.Errorf("dunning step %q: a duration of a minute or more, e.g. 24h", v)
				}
				cfg.Dunning = append(cfg.Dunning, d)
			}
			return nil
		})
	riskFlags(fs, cfg)
}

// riskFlags tune the risk engine's built-in card-testing rules (both: many
// cards from one IP, one card from many IPs).
func riskFlags(fs *flag.FlagSet, cfg *gateway.Config) {
	d := risk.DefaultCardTesting
	fs.BoolVar(&cfg.Risk.Off, "risk-off", false, "turn the risk engine off: no screening, no counters (see docs/risk.md)")
	fs.IntVar(&cfg.Risk.CardTesting.Distinct, "risk-cards", d.Distinct, "distinct cards from one IP (or IPs for one card) within --risk-window that, mostly failing, block it")
	fs.DurationVar(&cfg.Risk.CardTesting.Window, "risk-window", d.Window, "window of the card-testing rules and of the velocity counters rules read")
	fs.IntVar(&cfg.Risk.CardTesting.FailedPercent, "risk-failed-percent", d.FailedPercent, "share of failed attempts (declines, failed 3-D Secure, invalid numbers) that makes the card-testing rules fire")
	fs.DurationVar(&cfg.Risk.CardTesting.BlockFor, "risk-block-for", d.BlockFor, "how long a card-testing rule blocks the IP or card")
}
