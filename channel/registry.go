// Package channel resolves the connector for an app's channel in a mode:
// live credentials the merchant configured, or in test mode credentials
// provisioned automatically against polypay's built-in simulators.
package channel

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/health"
	"github.com/polypay/polypay/outbound"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/store"
)

// family is one channel family (a set of Ping++ channels sharing one set of
// merchant credentials and one simulator).
type family interface {
	// name is the family id used in URLs and the store ("alipay", "wx").
	name() string
	// channels lists the Ping++ channel names the family can charge on.
	channels() []string
	// connector builds a connector from decoded credentials; sandbox ones
	// reach the simulator at simURL.
	connector(channel string, cfg json.RawMessage, simURL string) (polypay.Channel, error)
	// validate checks credentials (keys parse and can sign) and returns the
	// channel-side merchant id.
	validate(cfg json.RawMessage) (merchantID string, err error)
	// redact returns credentials safe to show: secrets replaced by fingerprints.
	redact(cfg json.RawMessage) map[string]any
	// sandbox makes fresh simulator credentials for an app.
	sandbox() (json.RawMessage, error)
	// endpoints lists the URLs of live credentials (see outbound.go).
	endpoints(cfg json.RawMessage) []endpoint
	// pay acts as the customer in the simulator.
	pay(ctx context.Context, merchantID string, c *polypay.Charge, success bool) error
	// mount adds the simulator's endpoints under /sim/<name>/.
	mount(m *http.ServeMux)
	close()
}

// Registry implements core.Channels and api.Sandbox.
type Registry struct {
	db       *store.DB
	box      *seal.Box
	simURL   string
	simSpeed float64
	// remoteSim: the simulators at simURL are served by another process
	// (polypay sim, a test harness), which keeps their trades across this
	// node's restarts; this process's own simulator objects stay unused.
	remoteSim bool
	// simClient, when set, is the simulators' client for notifications.
	simClient *http.Client
	// PublicURL is where customers' browsers reach this node (simulator
	// cashier pages); set by the caller.
	PublicURL string
	http      *http.Client
	log       *slog.Logger
	// allowHosts: hosts live credentials may name besides the channels'
	// own (WithAllowedHosts)
	allowHosts []string

	families map[string]family // by family name
	byChan   map[string]family // by Ping++ channel name
	alipay   *alipayFamily
	wechat   *wechatFamily
	paypal   *paypalFamily

	mu      sync.Mutex
	conns   map[string]polypay.Channel
	configs map[string]cachedConfig
	// sandbox credentials by channel-side merchant id, for the simulators
	sandboxCfg map[string]json.RawMessage
	// monitor decorates every connector handed out (see health.go)
	monitor *health.Monitor
}

// Option adjusts a Registry.
type Option func(*Registry)

// WithSimSpeed makes the simulators' notification retry schedules run
// factor times faster (the real channels' gaps divided by factor), so that
// a merchant's tests can see retries without waiting a day.
func WithSimSpeed(factor float64) Option {
	return func(r *Registry) {
		if factor > 0 {
			r.simSpeed = factor
		}
	}
}

// WithPublicURL tells the registry where customers' browsers reach this
// node, for the simulators' pages.
func WithPublicURL(u string) Option {
	return func(r *Registry) { r.PublicURL = strings.TrimRight(u, "/") }
}

// WithRemoteSim says that simURL is served by another process (see
// SimHostHandler), not by this one: customer payments (Pay) and the
// simulators' browser pages (Handler) go there, so that every node and
// every restart of a node sees the same simulated channel.
func WithRemoteSim() Option {
	return func(r *Registry) { r.remoteSim = true }
}

// WithSimHTTPClient gives the simulators the client they send their
// notifications with (fault-injection tests wrap its transport).
func WithSimHTTPClient(c *http.Client) Option {
	return func(r *Registry) { r.simClient = c }
}

// simHTTPClient is the simulators' notification client.
func (r *Registry) simHTTPClient() *http.Client {
	if r.simClient != nil {
		return r.simClient
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (r *Registry) scaled(gaps []time.Duration) []time.Duration {
	out := make([]time.Duration, len(gaps))
	for i, g := range gaps {
		out[i] = time.Duration(float64(g) / r.simSpeed)
	}
	return out
}

// NewRegistry loads (or on first use creates) the simulators' platform keys.
// simURL is where this process serves Handler(); sandbox connectors call it.
func NewRegistry(ctx context.Context, db *store.DB, box *seal.Box, simURL string, log *slog.Logger, opts ...Option) (*Registry, error) {
	r := &Registry{simSpeed: 1, db: db, box: box, simURL: strings.TrimRight(simURL, "/"), log: log,
		http: &http.Client{Timeout: 30 * time.Second,
			Transport: &health.Transport{Base: outbound.GuardedTransport()}},
		conns: map[string]polypay.Channel{}, configs: map[string]cachedConfig{}, sandboxCfg: map[string]json.RawMessage{},
		families: map[string]family{}, byChan: map[string]family{}}
	for _, o := range opts {
		o(r)
	}
	ali, err := newAlipayFamily(ctx, r)
	if err != nil {
		return nil, err
	}
	r.alipay = ali
	wx, err := newWechatFamily(ctx, r)
	if err != nil {
		return nil, err
	}
	r.wechat = wx
	up, err := newUnionPayFamily(ctx, r)
	if err != nil {
		return nil, err
	}
	if r.paypal, err = newPaypalFamily(ctx, r); err != nil {
		return nil, err
	}
	for _, f := range []family{ali, wx, up, r.paypal, newStripeFamily(r)} {
		r.families[f.name()] = f
		for _, ch := range f.channels() {
			r.byChan[ch] = f
		}
	}
	if err := r.checkGlue(); err != nil {
		return nil, err
	}
	return r, nil
}

// Close stops the simulators' retry timers.
func (r *Registry) Close() {
	for _, f := range r.families {
		f.close()
	}
}

// LoadOrCreateKey returns the sealed RSA-2048 key stored under name,
// creating it on first use. The first node to store one wins; the others
// read it back.
func LoadOrCreateKey(ctx context.Context, db *store.DB, box *seal.Box, name string) (*rsa.PrivateKey, error) {
	read := func() (string, error) {
		var s string
		err := db.Read(ctx, func(tx *store.Tx) error {
			var err error
			s, err = tx.GetSecret(ctx, name)
			return err
		})
		return s, err
	}
	sealed, err := read()
	if err != nil {
		return nil, err
	}
	if sealed == "" {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.PutSecretIfAbsent(ctx, name, box.Seal(name, x509.MarshalPKCS1PrivateKey(k)))
		}); err != nil {
			return nil, err
		}
		if sealed, err = read(); err != nil {
			return nil, err
		}
	}
	der, err := box.Open(name, sealed)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return x509.ParsePKCS1PrivateKey(der)
}

// Channels lists every Ping++ channel polypay can charge on, sorted.
func (r *Registry) Channels() []string {
	var out []string
	for ch := range r.byChan {
		out = append(out, ch)
	}
	sort.Strings(out)
	return out
}

// Family implements core.Channels: the family (with its account, if
// named) whose credentials and notification URL serve ch.
func (r *Registry) Family(ch string) string {
	base, account := splitAccount(ch)
	if f, ok := r.byChan[base]; ok {
		return withAccount(f.name(), account)
	}
	return ch
}

// Supported implements core.Channels.
func (r *Registry) Supported(ch string) bool {
	base, account := splitAccount(ch)
	_, ok := r.byChan[base]
	return ok && (account == "" || accountName.MatchString(account))
}

func sealName(appID string, live bool, family string) string {
	return fmt.Sprintf("channel:%s:%v:%s", appID, live, family)
}

type sandboxMark struct {
	Sandbox bool `json:"sandbox"`
}

func isSandbox(cfg json.RawMessage) bool {
	var m sandboxMark
	json.Unmarshal(cfg, &m)
	return m.Sandbox
}

// An app may hold several accounts of one family (a primary and a backup
// card processor, two Alipay merchants): the default account is stored
// under the family's name, the others under "family@account", and a
// channel on a named account is written "channel@account".
func splitAccount(s string) (base, account string) {
	base, account, _ = strings.Cut(s, "@")
	return base, account
}

func withAccount(base, account string) string {
	if account == "" {
		return base
	}
	return base + "@" + account
}

var accountName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// Channel implements core.Channels. ch may name an account ("card@backup").
func (r *Registry) Channel(ctx context.Context, appID string, live bool, ch string) (polypay.Channel, error) {
	base, account := splitAccount(ch)
	f, ok := r.byChan[base]
	if !ok {
		return nil, polypay.ParamError("channel", "不支持的渠道: %s", ch)
	}
	key := withAccount(f.name(), account)
	cfg, _, err := r.config(ctx, appID, live, key)
	if err != nil {
		return nil, err
	}
	if cfg == nil && account != "" {
		return nil, polypay.ParamError("channel", "应用尚未配置渠道账户 %s", key)
	}
	if cfg == nil {
		if live {
			return nil, polypay.ParamError("channel", "应用尚未配置渠道 %s 的 live 参数（polypay channel set 或 POST /v1/apps/{app}/channels）", f.name())
		}
		if err := r.Provision(ctx, appID); err != nil {
			return nil, err
		}
		if cfg, _, err = r.config(ctx, appID, live, f.name()); err != nil || cfg == nil {
			return nil, fmt.Errorf("provisioning test channel %s: %v", f.name(), err)
		}
	}
	if !live && !isSandbox(cfg) {
		// Test keys never move real money, whatever was configured.
		return nil, polypay.ParamError("channel", "test mode only uses the simulator for %s", f.name())
	}
	if live {
		if err := r.checkStored(f, key, cfg); err != nil {
			return nil, err
		}
	}
	// Connectors are kept per credential set, so new credentials (from
	// this node or, after configTTL, another) get a new connector.
	sum := sha256.Sum256(cfg)
	cacheKey := fmt.Sprintf("%s/%v/%s/%s", appID, live, ch, hex.EncodeToString(sum[:12]))
	r.mu.Lock()
	c := r.conns[cacheKey]
	r.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err = f.connector(base, cfg, r.simURL)
	if err != nil {
		return nil, err
	}
	c = r.guard(appID, live, key, c)
	r.mu.Lock()
	r.conns[cacheKey] = c
	r.mu.Unlock()
	return c, nil
}

// configTTL bounds how long decrypted credentials are reused; a change made
// on another node takes effect within it (this node's own changes at once).
const configTTL = 30 * time.Second

type cachedConfig struct {
	cfg        json.RawMessage
	merchantID string
	expires    time.Time
}

// config returns an app's decrypted credentials for a family, or nil.
func (r *Registry) config(ctx context.Context, appID string, live bool, fam string) (json.RawMessage, string, error) {
	key := fmt.Sprintf("%s/%v/%s", appID, live, fam)
	now := time.Now()
	r.mu.Lock()
	cc, ok := r.configs[key]
	r.mu.Unlock()
	if ok && now.Before(cc.expires) {
		return cc.cfg, cc.merchantID, nil
	}
	cfg, merchantID, err := r.loadConfig(ctx, appID, live, fam)
	if err == nil && cfg != nil {
		r.mu.Lock()
		r.configs[key] = cachedConfig{cfg: cfg, merchantID: merchantID, expires: now.Add(configTTL)}
		r.mu.Unlock()
	}
	return cfg, merchantID, err
}

func (r *Registry) loadConfig(ctx context.Context, appID string, live bool, fam string) (json.RawMessage, string, error) {
	var cc *store.ChannelConfig
	if err := r.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		cc, err = tx.GetChannelConfig(ctx, appID, live, fam)
		return err
	}); err != nil || cc == nil {
		return nil, "", err
	}
	plain, err := r.box.Open(sealName(appID, live, fam), cc.Sealed)
	if err != nil {
		return nil, "", err
	}
	return plain, cc.MerchantID, nil
}

// ForNotification implements core.Channels.
func (r *Registry) ForNotification(ctx context.Context, fam, appID string, live bool) (polypay.Channel, string, error) {
	base, account := splitAccount(fam)
	f, ok := r.families[base]
	if !ok || (account != "" && !accountName.MatchString(account)) {
		return nil, "", fmt.Errorf("unknown channel family %q", fam)
	}
	cfg, merchantID, err := r.config(ctx, appID, live, fam)
	if err != nil {
		return nil, "", err
	}
	if cfg == nil {
		return nil, "", fmt.Errorf("app %s has no %s credentials in this mode", appID, fam)
	}
	c, err := r.Channel(ctx, appID, live, withAccount(f.channels()[0], account))
	return c, merchantID, err
}

// Provision gives an app test-mode credentials for every simulated family
// it lacks.
func (r *Registry) Provision(ctx context.Context, appID string) error {
	for _, f := range r.families {
		existing, _, err := r.config(ctx, appID, false, f.name())
		if err != nil {
			return err
		}
		if existing != nil {
			continue
		}
		cfg, err := f.sandbox()
		if err != nil {
			return err
		}
		if err := r.store(ctx, appID, false, f, "", cfg); err != nil {
			return err
		}
	}
	return nil
}

// Configure validates and stores an app's credentials for a family, sealed.
// Live credentials may not point at the simulator, and test credentials
// may only point at it.
// fam may name an account ("stripe@backup"). In test mode, params of just
// {"sandbox":true} provision fresh simulator credentials for the account.
func (r *Registry) Configure(ctx context.Context, appID string, live bool, fam string, cfg json.RawMessage) error {
	base, account := splitAccount(fam)
	f, ok := r.families[base]
	if !ok {
		return polypay.ParamError("channel", "未知的渠道类型 %s（可选：%s）", fam, strings.Join(r.familyNames(), ", "))
	}
	if account != "" && !accountName.MatchString(account) {
		return polypay.ParamError("channel", "账户名须为 1-32 位小写字母、数字或下划线: %s", account)
	}
	if isSandbox(cfg) && live {
		return polypay.ParamError("params[sandbox]", "live credentials cannot use the simulator")
	}
	if !live && !isSandbox(cfg) {
		return polypay.ParamError("params", "test mode always uses the built-in simulator; configure live credentials with a live key")
	}
	if live {
		if err := r.checkEndpoints(f, cfg); err != nil {
			return err
		}
	}
	var m map[string]json.RawMessage
	if !live && json.Unmarshal(cfg, &m) == nil && len(m) == 1 {
		fresh, err := f.sandbox()
		if err != nil {
			return err
		}
		cfg = fresh
	}
	return r.store(ctx, appID, live, f, account, cfg)
}

func (r *Registry) familyNames() []string {
	var out []string
	for n := range r.families {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (r *Registry) store(ctx context.Context, appID string, live bool, f family, account string, cfg json.RawMessage) error {
	merchantID, err := f.validate(cfg)
	if err != nil {
		return err
	}
	key := withAccount(f.name(), account)
	err = r.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetApp(ctx, appID); err != nil {
			return err
		}
		return tx.PutChannelConfig(ctx, store.ChannelConfig{AppID: appID, Live: live, Family: key,
			MerchantID: merchantID, Sealed: r.box.Seal(sealName(appID, live, key), cfg)})
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	delete(r.configs, fmt.Sprintf("%s/%v/%s", appID, live, key))
	r.mu.Unlock()
	return nil
}

// Describe returns an app's credentials for a family with every secret
// replaced by a fingerprint; ENotFound when none are set.
func (r *Registry) Describe(ctx context.Context, appID string, live bool, fam string) (map[string]any, error) {
	base, _ := splitAccount(fam)
	f, ok := r.families[base]
	if !ok {
		return nil, polypay.NotFound("channel", fam)
	}
	cfg, _, err := r.config(ctx, appID, live, fam)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, polypay.NotFound("channel", fam)
	}
	return f.redact(cfg), nil
}

// sandboxConfig finds the sandbox credentials naming a channel-side
// merchant id, for a simulator verifying a request.
func (r *Registry) sandboxConfig(fam, merchantID string) (json.RawMessage, bool) {
	key := fam + "/" + merchantID
	r.mu.Lock()
	cfg, ok := r.sandboxCfg[key]
	r.mu.Unlock()
	if ok {
		return cfg, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ccs []store.ChannelConfig
	if err := r.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		ccs, err = tx.ChannelConfigsByMerchant(ctx, fam, merchantID)
		return err
	}); err != nil {
		r.log.Error("sim: looking up merchant", "err", err)
		return nil, false
	}
	for _, cc := range ccs {
		if cc.Live {
			continue // the simulators only serve test-mode credentials
		}
		cfg, _, err := r.config(ctx, cc.AppID, false, cc.Family)
		if err != nil || cfg == nil || !isSandbox(cfg) {
			continue
		}
		r.mu.Lock()
		r.sandboxCfg[key] = cfg
		r.mu.Unlock()
		return cfg, true
	}
	return nil, false
}

// Pay implements api.Sandbox: the customer pays (or fails to) in the
// charge's simulator, which notifies polypay as the real channel would.
func (r *Registry) Pay(ctx context.Context, c *polypay.Charge, success bool) error {
	if c.Livemode {
		return polypay.ParamError("", "live charges cannot be paid in the sandbox")
	}
	f, ok := r.byChan[c.Channel]
	if !ok {
		return polypay.ParamError("id", "charge %s does not use a sandbox channel", c.ID)
	}
	cfg, merchantID, err := r.config(ctx, c.AppID, false, withAccount(f.name(), c.Account))
	if err != nil {
		return err
	}
	if cfg == nil || !isSandbox(cfg) {
		return polypay.ParamError("id", "charge %s does not use a sandbox channel", c.ID)
	}
	if r.remoteSim {
		return r.payRemote(ctx, c, success)
	}
	return f.pay(ctx, merchantID, c, success)
}

// Handler implements api.Sandbox: the simulators' endpoints under /sim/
// (with WithRemoteSim, a proxy to them).
func (r *Registry) Handler() http.Handler {
	if r.remoteSim {
		return r.remoteHandler()
	}
	return r.localHandler()
}

// localHandler serves this process's simulators.
func (r *Registry) localHandler() http.Handler {
	m := http.NewServeMux()
	for _, f := range r.families {
		f.mount(m)
	}
	return m
}

// SandboxMerchantID returns the channel-side merchant id of an app's
// test-mode credentials (for tests and the sandbox pages).
func (r *Registry) SandboxMerchantID(ctx context.Context, appID, fam string) (string, error) {
	cfg, merchantID, err := r.config(ctx, appID, false, fam)
	if err != nil {
		return "", err
	}
	if cfg == nil {
		return "", polypay.NotFound("channel config", appID+"/"+fam)
	}
	return merchantID, nil
}
