// Package gateway wires a complete polypay node (store, channels and their
// simulators, core, API, webhook dispatcher, poller) so that the binary,
// the end-to-end tests and the benchmark all run the same thing.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/api"
	"github.com/polypay/polypay/cashier"
	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/clientip"
	"github.com/polypay/polypay/console"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/credstore"
	"github.com/polypay/polypay/health"
	"github.com/polypay/polypay/outbound"
	"github.com/polypay/polypay/reconcile"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/sandbox"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/vault"
	"github.com/polypay/polypay/webhook"
)

// Config configures a node.
type Config struct {
	Addr    string // listen address; "127.0.0.1:0" picks a port
	DataDir string // SQLite database and master.key
	// MasterKeyFile and VaultKeysFile put master.key and vault.keys
	// elsewhere than DataDir, so that a copy of the database alone stays
	// sealed ($POLYPAY_MASTER_KEY and $POLYPAY_VAULT_KEYS override both).
	MasterKeyFile, VaultKeysFile string
	DatabaseURL                  string // postgres://... to use PostgreSQL instead of SQLite
	// PublicURL is where channels reach this node; default http://<addr>.
	PublicURL    string
	PollInterval time.Duration // background checks; default 2s
	Log          *slog.Logger
	// PaycodeVersions are the offline payment-code versions this node
	// accepts (nil: all); leave one out to retire it.
	PaycodeVersions []int
	// Now is the node's clock (nil: time.Now): the time its charges,
	// leases and subscription periods are stamped with. Tests and the
	// fault harness's year of billing move it.
	Now func() time.Time
	// Dunning is when refused subscription debits are retried (nil:
	// core.DefaultDunning).
	Dunning []time.Duration
	// RateLimit is each secret key's requests per second on this node, with
	// bursts of twice that (0: DefaultRateLimit; negative: unlimited).
	RateLimit float64
	// ReadHeaderTimeout and ReadTimeout cut off slow clients (defaults 10 s
	// and DefaultReadTimeout): a request must send its headers, and its
	// whole body, in time.
	ReadHeaderTimeout, ReadTimeout time.Duration
	// SimSpeed runs the simulators' notification retry schedules this many
	// times faster than the real channels' (0 or 1: real time).
	SimSpeed float64
	// SimURL, when set, is where another process serves the simulators
	// (polypay sim, or a test harness, over the same store): this node
	// then starts none of its own, so sandbox trades outlive its restarts
	// and are shared by every node. Empty: the node serves them itself.
	SimURL string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (--trusted-proxy): rate limits and the risk engine then
	// see the client's address, not the proxy's.
	TrustedProxies []netip.Prefix
	// Risk tunes the risk engine's built-in rules (risk.Config); its zero
	// value is the defaults, Off turns screening off.
	Risk risk.Config
	// SimTodaysBills makes this node's own simulators serve today's
	// statement so far (sandbox.WithTodaysBills), so that test payments can
	// be reconciled the day they are made.
	SimTodaysBills bool
	// WebhookSchedule overrides the retry gaps (tests).
	WebhookSchedule []time.Duration
	// SignResponses signs every API reply; default on (see api.Server).
	NoResponseSignatures bool
	// DailyReconcile runs the daily reconciliation job on this node (off
	// unless set; `polypay serve` sets it). Nodes sharing a database claim
	// each day in the store, so it runs once.
	DailyReconcile bool
	// DailyReconcileAt is when, after midnight Beijing time, the job
	// reconciles the previous day (default reconcile.DefaultDailyAt, 10:00).
	DailyReconcileAt time.Duration
	// Recon, when set, replaces the reconciliation engine behind the
	// console's reconciliation and report pages (tests of the console).
	Recon console.Recon
	// Health tunes channel health monitoring (probes are off unless
	// Health.ProbeInterval is set).
	Health health.Config
	// AllowWebhookNets are the loopback and private ranges live webhook
	// endpoints may reach (--allow-webhook-net); test endpoints reach them
	// all. Link-local, unspecified, multicast and broadcast never.
	AllowWebhookNets []netip.Prefix
	// AllowChannelHosts are hosts ("host" or "host:port") live channel
	// credentials may name besides the channels' own (--allow-channel-host).
	AllowChannelHosts []string
	// Demo serves the demo store at /demo (anyone can create orders and
	// its app there, so it is off unless asked for).
	Demo bool
	// AdminAddr is where /metrics and Go's pprof are served; empty serves
	// neither. The public listener never serves them: they list every app
	// and the channels it uses.
	AdminAddr string
	// FailedAuthLimit is how many failed authentications per second one
	// client address may make, bursts of 30 (0: DefaultFailedAuthLimit;
	// negative: unlimited). NotifyRateLimit is how many notifications per
	// second one address may send (0: DefaultNotifyRateLimit; negative:
	// unlimited).
	FailedAuthLimit, NotifyRateLimit float64
	// MaxConns caps the public listener's open connections, MaxConnsPerIP
	// those of one client address (0: the defaults; negative: no cap).
	MaxConns, MaxConnsPerIP int
	// RejectedRetention and RejectedPerApp bound the log of rejected
	// notifications (0: core's defaults, 30 days and 10,000).
	RejectedRetention time.Duration
	RejectedPerApp    int
}

func (cfg Config) masterKeyFile() string {
	if cfg.MasterKeyFile != "" {
		return cfg.MasterKeyFile
	}
	return filepath.Join(cfg.DataDir, "master.key")
}

// OpenVaultKeys opens the card vault's keyring: $POLYPAY_VAULT_KEYS,
// VaultKeysFile, or vault.keys in the data directory.
func (cfg Config) OpenVaultKeys() (*vault.Keys, error) {
	if cfg.VaultKeysFile != "" {
		return vault.OpenKeysFile(cfg.VaultKeysFile)
	}
	return vault.OpenKeys(cfg.DataDir)
}

// Defaults of the per-node limits (see Config).
const (
	DefaultRateLimit       = 1000 // requests per second per secret key
	DefaultFailedAuthLimit = 2    // failed authentications per second per address
	failedAuthBurst        = 30
	DefaultNotifyRateLimit = 100 // notifications per second per address
	DefaultMaxConns        = 4096
	DefaultMaxConnsPerIP   = 512
	// DefaultReadTimeout bounds reading a whole request (a 1 MiB body must
	// arrive at 70 KB/s or better), so slow senders cannot hold
	// connections.
	DefaultReadTimeout = 15 * time.Second
)

// orDefault picks def for 0 and nothing (0) for a negative setting.
func orDefault[T int | float64](v, def T) T {
	if v == 0 {
		return def
	}
	return max(v, 0)
}

// Node is a running polypay.
type Node struct {
	URL        string
	DB         *store.DB
	Svc        *core.Service
	Registry   *channel.Registry
	Sandbox    *sandbox.Sandbox
	Dispatcher *webhook.Dispatcher
	API        *api.Server
	Box        *seal.Box
	Cashier    *cashier.Cashier
	Vault      *vault.Vault
	Recon      *reconcile.Engine
	Daily      *reconcile.Daily
	Reports    *reconcile.Reporter
	Console    *console.Console
	Health     *health.Monitor

	// ReplySigner signs API replies; WebhookKeys signs webhooks, one key
	// per app and mode (see WebhookPublicKey).
	ReplySigner *webhook.Signer
	WebhookKeys *webhook.Keys

	// AdminURL is where /metrics and pprof are served ("" without Config.AdminAddr).
	AdminURL string

	srv      *http.Server
	adminSrv *http.Server
	ln       net.Listener
	simSrv   *http.Server
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	log      *slog.Logger
}

// OpenStore opens the store and the master-key box for a configuration;
// the CLI's offline commands use it too.
func OpenStore(ctx context.Context, cfg Config) (*store.DB, *seal.Box, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	box, err := openBox(ctx, db, cfg)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, box, nil
}

// Start opens the store, migrates it, and serves until Close.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	url := cfg.PublicURL
	if url == "" {
		url = "http://" + ln.Addr().String()
	}
	url = strings.TrimRight(url, "/")
	var n *Node
	if cfg.SimURL != "" {
		if n, err = build(ctx, cfg, log, url, strings.TrimRight(cfg.SimURL, "/")); err != nil {
			ln.Close()
			return nil, err
		}
	} else {
		// Connectors reach the simulators on a loopback listener of their
		// own, which outlives the public one during shutdown: a request
		// still in flight can finish its channel call.
		simLn, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			ln.Close()
			return nil, err
		}
		if n, err = build(ctx, cfg, log, url, "http://"+simLn.Addr().String()); err != nil {
			ln.Close()
			simLn.Close()
			return nil, err
		}
		n.simSrv = &http.Server{Handler: n.Sandbox.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go n.simSrv.Serve(simLn)
	}
	n.ln = ln
	headerTimeout, readTimeout := cfg.ReadHeaderTimeout, cfg.ReadTimeout
	if headerTimeout == 0 {
		headerTimeout = 10 * time.Second
	}
	if readTimeout == 0 {
		readTimeout = DefaultReadTimeout
	}
	root := http.NewServeMux()
	root.Handle("/", n.API.Handler())
	root.Handle(console.Mount, n.Console)
	ln = capConns(ln, orDefault(cfg.MaxConns, DefaultMaxConns), orDefault(cfg.MaxConnsPerIP, DefaultMaxConnsPerIP))
	n.srv = &http.Server{Handler: root, ReadHeaderTimeout: headerTimeout,
		ReadTimeout: readTimeout, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	bg, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	poll := cfg.PollInterval
	if poll == 0 {
		poll = 2 * time.Second
	}
	n.wg.Add(5)
	go func() { defer n.wg.Done(); n.Health.RunProbes(bg) }()
	go func() { defer n.wg.Done(); n.Health.RunFlusher(bg) }()
	go func() { defer n.wg.Done(); n.Dispatcher.Run(bg) }()
	go func() { defer n.wg.Done(); n.Svc.RunPoller(bg, poll) }()
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.Registry.RunRenewals(bg, time.Hour, n.Svc.Clock, n.URL) }()
	if cfg.DailyReconcile {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.Daily.Loop(bg, time.Minute) }()
	}
	go func() {
		defer n.wg.Done()
		if err := n.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()
	if cfg.AdminAddr != "" {
		if err := n.serveAdmin(cfg.AdminAddr); err != nil {
			n.Close(context.Background())
			return nil, fmt.Errorf("--admin-addr: %w", err)
		}
	}
	log.Info("polypay listening", "url", url, "store", storeName(n.DB))
	return n, nil
}

func storeName(db *store.DB) string {
	if db.Dialect() == store.Postgres {
		return "postgres"
	}
	return "sqlite"
}

func build(ctx context.Context, cfg Config, log *slog.Logger, url, simURL string) (*Node, error) {
	db, box, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Node, error) { db.Close(); return nil, err }
	// API replies are signed with a node-wide key of their own, never a
	// webhook key: a reply body (GET /v1/events/{id}) must not verify as a
	// webhook. (The former "webhook.signing_key", which signed both, is
	// left unused.)
	rkey, err := credstore.LoadOrCreateKey(ctx, db, box, "api.reply_signing_key")
	if err != nil {
		return fail(fmt.Errorf("api reply key: %w", err))
	}
	replySigner, err := webhook.NewSigner(rkey)
	if err != nil {
		return fail(err)
	}
	wkeys := &webhook.Keys{DB: db, Box: box}
	mon := health.New(cfg.Health, db, log)
	simOpts := []sandbox.Option{sandbox.WithSimSpeed(cfg.SimSpeed), sandbox.WithPublicURL(url)}
	if cfg.SimURL != "" {
		simOpts = append(simOpts, sandbox.WithRemoteSim())
	}
	if cfg.SimTodaysBills {
		simOpts = append(simOpts, sandbox.WithTodaysBills())
	}
	reg, sb, err := OpenChannels(ctx, db, box, simURL, log, mon, simOpts, channel.WithAllowedHosts(cfg.AllowChannelHosts))
	if err != nil {
		mon.Close()
		return fail(err)
	}
	keys, err := cfg.OpenVaultKeys()
	if err != nil {
		return fail(err)
	}
	vlt := vault.New(db, keys)
	if n, err := vlt.ScopeFingerprints(ctx); err != nil {
		mon.Close()
		return fail(err)
	} else if n > 0 {
		log.Info("vault: card fingerprints re-derived per app and mode", "cards", n)
	}
	disp := &webhook.Dispatcher{DB: db, Keys: wkeys, Policy: &outbound.Policy{Allow: cfg.AllowWebhookNets}, Log: log, Schedule: cfg.WebhookSchedule}
	svc := &core.Service{DB: db, Channels: reg, BaseURL: url, Log: log, OnEvent: disp.Kick, Health: mon, Cards: vaultCards{vlt},
		Payouts: reg, Box: box, PaycodeVersions: cfg.PaycodeVersions, Dunning: cfg.Dunning}
	if cfg.Now != nil {
		// One clock for the node: deliveries are queued at the service's
		// now, so the dispatcher must judge them due by the same clock.
		svc.Now, db.Now, disp.Now = cfg.Now, cfg.Now, cfg.Now
	}
	if !cfg.Risk.Off {
		svc.Risk = &risk.Engine{Store: risk.OnDB(db), Config: cfg.Risk, Log: log, OnEvent: disp.Kick}
	}
	mon.OnChange = func(c health.Change) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.HealthChanged(ctx, c); err != nil {
			log.Error("emitting channel.health_changed", "channel", c.Account.Name, "err", err)
		}
	}
	limit := cfg.RateLimit
	if limit == 0 {
		limit = DefaultRateLimit
	}
	if limit < 0 {
		limit = 0
	}
	srv := &api.Server{Vault: vlt, RateLimit: limit, RateBurst: int(2 * limit), Svc: svc, DB: db, ReplySigner: replySigner, WebhookKeys: wkeys, Sandbox: sb, Credentials: reg, Log: log, SignResponses: !cfg.NoResponseSignatures}
	srv.FailedAuthLimit, srv.FailedAuthBurst = orDefault(cfg.FailedAuthLimit, DefaultFailedAuthLimit), failedAuthBurst
	srv.NotifyRateLimit = orDefault(cfg.NotifyRateLimit, DefaultNotifyRateLimit)
	svc.RejectedRetention, svc.RejectedPerApp = cfg.RejectedRetention, cfg.RejectedPerApp
	srv.Outbound = disp.Policy
	srv.Proxies = &clientip.Resolver{Trusted: cfg.TrustedProxies}
	n := &Node{URL: url, DB: db, Svc: svc, Registry: reg, Sandbox: sb, ReplySigner: replySigner, WebhookKeys: wkeys, Dispatcher: disp, API: srv, Box: box, Vault: vlt, Health: mon, log: log}
	n.Cashier = cashier.New(cashier.Config{Svc: svc, DB: db, Log: log, Vault: vlt, WebhookPublicKeys: n.webhookPublicKeys,
		NewDemoApp: n.demoApp(cfg.Demo), WechatOAuth: sb.WechatOAuth, Proxies: srv.Proxies})
	srv.Cashier = n.Cashier
	n.Recon = &reconcile.Engine{Store: db, Channels: reg, Settler: svc, Log: log}
	n.Reports = &reconcile.Reporter{Store: db, Families: reg}
	srv.Reports = n.Reports
	n.Daily = &reconcile.Daily{Engine: n.Recon, Families: reg, Configured: reg.Configured, Events: svc,
		Owner: url, At: cfg.DailyReconcileAt, Log: log}
	fams := map[string]bool{}
	var families []string
	for _, ch := range reg.Channels() {
		if f := reg.Family(ch); !fams[f] {
			fams[f] = true
			families = append(families, f)
		}
	}
	var recon console.Recon = consoleRecon{engine: n.Recon, reports: n.Reports}
	if cfg.Recon != nil {
		recon = cfg.Recon
	}
	n.Console = console.New(console.Config{DB: db, Svc: svc, Credentials: reg, Families: families, Channels: reg.Channels(),
		CreateApp: n.CreateApp, Kick: disp.Kick, Recon: recon, Log: log, PublicURL: cfg.PublicURL,
		CheckWebhookURL: n.ConsoleCheckWebhookURL, RotateWebhookKey: n.ConsoleRotateWebhookKey,
		Secure: strings.HasPrefix(cfg.PublicURL, "https://")})
	return n, nil
}

// WebhookPublicKey returns the PEM GET /v1/webhook_endpoints/public_key
// serves for the app and mode: the key its webhooks verify with or, during
// a rotation's overlap, the new key that signs after it.
func (n *Node) WebhookPublicKey(ctx context.Context, appID string, live bool) ([]byte, error) {
	p, err := n.WebhookKeys.Published(ctx, appID, live)
	if err != nil {
		return nil, err
	}
	return p.Newest, nil
}

func (n *Node) webhookPublicKeys(ctx context.Context, appID string, live bool) ([][]byte, error) {
	p, err := n.WebhookKeys.Published(ctx, appID, live)
	if err != nil {
		return nil, err
	}
	return p.All(), nil
}

// demoApp is the demo store's app maker, nil (no demo store) unless on.
func (n *Node) demoApp(on bool) func(ctx context.Context) (*core.NewApp, error) {
	if !on {
		return nil
	}
	return func(ctx context.Context) (*core.NewApp, error) { return n.CreateApp(ctx, "polypay demo store") }
}

// CreateApp creates an app and provisions its sandbox channel credentials.
func (n *Node) CreateApp(ctx context.Context, name string) (*core.NewApp, error) {
	a, err := core.CreateApp(ctx, n.DB, name)
	if err != nil {
		return nil, err
	}
	return a, n.Registry.Provision(ctx, a.AppID)
}

// Close shuts down gracefully: readiness fails first, in-flight requests
// finish (up to the context's deadline), then background work stops and
// the store closes.
func (n *Node) Close(ctx context.Context) error {
	n.API.Drain()
	n.Cashier.Close() // ends the cashier's event streams
	err := n.srv.Shutdown(ctx)
	if n.adminSrv != nil {
		n.adminSrv.Shutdown(ctx)
	}
	if n.simSrv != nil {
		n.simSrv.Shutdown(ctx)
	}
	n.cancel()
	n.wg.Wait()
	n.Health.Close()
	n.Sandbox.Close()
	if e := n.DB.Close(); err == nil {
		err = e
	}
	return err
}

// vaultCards lets core take card charges' cards from the vault.
type vaultCards struct{ v *vault.Vault }

func (c vaultCards) CardForCharge(ctx context.Context, tx core.Tx, appID string, live bool, source, customer string) (*polypay.CardData, error) {
	card, _, err := c.v.CardForCharge(ctx, tx, appID, live, source, customer)
	return card, err
}

// CardFacts implements core.CardFingerprints: the card a source names,
// for the risk engine, without consuming its token.
func (c vaultCards) CardFacts(ctx context.Context, appID string, live bool, source, customer string) (string, string, error) {
	cd, card, err := c.v.PeekCard(ctx, appID, live, source, customer)
	if err != nil || card == nil || cd == nil {
		return "", "", err
	}
	return card.Fingerprint, vault.Country(cd.Number), nil
}

// backlog reads the node's queues for the metrics.
type backlog struct{ db *store.DB }

func (b backlog) Backlog(ctx context.Context, now time.Time) (d, c, r int, err error) {
	err = b.db.Read(ctx, func(tx *store.Tx) error {
		var e error
		d, c, r, e = tx.Backlog(ctx, now.Unix())
		return e
	})
	return
}

// StopSimulators stops serving the built-in simulators' endpoints, so that
// every sandbox channel becomes unreachable (fault-injection tests).
func (n *Node) StopSimulators(ctx context.Context) error { return n.simSrv.Shutdown(ctx) }
