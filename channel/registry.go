// Package channel resolves the connector for an app's channel in a mode:
// live credentials the merchant configured, or in test mode credentials
// provisioned automatically against polypay's built-in simulators.
package channel

import (
	"context"
	"crypto/sha256"
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
	"github.com/polypay/polypay/outbound"
)

// family is one channel family (a set of Ping++ channels sharing one set of
// merchant credentials and one simulator).
type family interface {
	// name is the family id used in URLs and the store ("alipay", "wx").
	name() string
	// channels lists the Ping++ channel names the family can charge on.
	channels() []string
	// connector builds a connector from decoded credentials; sandbox ones
	// reach the family's simulator (Sandbox.Endpoints).
	connector(channel string, cfg json.RawMessage) (polypay.Channel, error)
	// validate checks credentials (keys parse and can sign) and returns the
	// channel-side merchant id.
	validate(cfg json.RawMessage) (merchantID string, err error)
	// redact returns credentials safe to show: secrets replaced by fingerprints.
	redact(cfg json.RawMessage) map[string]any
	// endpoints lists the URLs of live credentials (see outbound.go).
	endpoints(cfg json.RawMessage) []endpoint
}

// CredentialStore keeps apps' channel credentials, sealed. An account is a
// family's name, or "family@account" for a named one ("stripe@backup").
type CredentialStore interface {
	// Load returns an app's decrypted credentials for an account in a
	// mode and the channel-side merchant id they name; nil credentials
	// and no error when none are stored. Errors: internal (the store, or
	// credentials that do not open with the node's key).
	Load(ctx context.Context, appID string, live bool, account string) (cfg json.RawMessage, merchantID string, err error)
	// Store seals and stores an app's credentials for an account, replacing
	// any. Errors: ENotFound when the app does not exist; internal.
	Store(ctx context.Context, appID string, live bool, account, merchantID string, cfg json.RawMessage) error
	// ByMerchant lists the accounts, in either mode, of a family (named or
	// not) whose credentials name a channel-side merchant id. Errors:
	// internal.
	ByMerchant(ctx context.Context, family, merchantID string) ([]StoredAccount, error)
	// Own returns an app's own entry for an account (credentials or an
	// authorization), nil when it has none: no ancestor's.
	Own(ctx context.Context, appID string, live bool, account string) (json.RawMessage, error)
}

// StoredAccount names an app's account in a mode (CredentialStore.ByMerchant).
type StoredAccount struct {
	AppID   string
	Live    bool
	Account string // "alipay", "alipay@second"
}

// Sandbox is what test mode needs of the channels' simulators: sandbox
// credentials name no URL, the simulator serving their family does.
type Sandbox interface {
	// Credentials makes fresh test-mode credentials for a family, known
	// to its simulator. Errors: internal.
	Credentials(family string) (json.RawMessage, error)
	// Endpoints says where a family's simulator is reached.
	Endpoints(family string) SimEndpoints
}

// SimEndpoints are the base URLs of a family's simulator
// ("http://127.0.0.1:8090/sim/alipay").
type SimEndpoints struct {
	// API is where connectors call it, server to server.
	API string
	// Browser is where customers' browsers reach it, on the node's public
	// address; "" when that is unknown.
	Browser string
}

// Registry implements core.Channels.
type Registry struct {
	creds   CredentialStore
	sandbox Sandbox
	http    *http.Client
	log     *slog.Logger
	// allowHosts: hosts live credentials may name besides the channels'
	// own (WithAllowedHosts)
	allowHosts []string
	// transport is the connectors' transport (WithTransport)
	transport http.RoundTripper

	families map[string]family // by family name
	byChan   map[string]family // by Ping++ channel name

	mu      sync.Mutex
	conns   map[string]polypay.Channel
	configs map[string]cachedConfig
	// sandbox credentials by channel-side merchant id, for the simulators
	sandboxCfg map[string]json.RawMessage
	// guard decorates every connector handed out (see health.go)
	guard Guard
}

// Option adjusts a Registry.
type Option func(*Registry)

// WithTransport makes the connectors send their requests through rt
// (default: outbound.GuardedTransport, which rt should wrap).
func WithTransport(rt http.RoundTripper) Option {
	return func(r *Registry) { r.transport = rt }
}

// NewRegistry returns the registry of the channel families, keeping apps'
// credentials in creds; test-mode credentials are made by, and reach, sb.
func NewRegistry(creds CredentialStore, sb Sandbox, log *slog.Logger, opts ...Option) (*Registry, error) {
	r := &Registry{creds: creds, sandbox: sb, log: log,
		conns: map[string]polypay.Channel{}, configs: map[string]cachedConfig{}, sandboxCfg: map[string]json.RawMessage{},
		families: map[string]family{}, byChan: map[string]family{}}
	for _, o := range opts {
		o(r)
	}
	if r.transport == nil {
		r.transport = outbound.GuardedTransport()
	}
	r.http = &http.Client{Timeout: 30 * time.Second, Transport: r.transport}
	for _, f := range []family{&alipayFamily{reg: r}, &wechatFamily{reg: r}, &unionpayFamily{reg: r}, &paypalFamily{reg: r}, &stripeFamily{reg: r}} {
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

// HTTPClient is the connectors' client (outbound policy applied).
func (r *Registry) HTTPClient() *http.Client { return r.http }

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

type sandboxMark struct {
	Sandbox bool `json:"sandbox"`
}

// IsSandbox reports whether credentials are test-mode ones, which name
// no URL and reach the simulators.
func IsSandbox(cfg json.RawMessage) bool {
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
	if !live && !IsSandbox(cfg) {
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
	c, err = f.connector(base, cfg)
	if err != nil {
		return nil, err
	}
	c = r.decorate(appID, live, key, c)
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

// Config returns an app's decrypted credentials for an account ("wx",
// "stripe@backup") in a mode and the channel-side merchant id they name;
// nil credentials when none are stored.
func (r *Registry) Config(ctx context.Context, appID string, live bool, fam string) (json.RawMessage, string, error) {
	return r.config(ctx, appID, live, fam)
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
	cfg, merchantID, err := r.creds.Load(ctx, appID, live, fam)
	if err == nil && cfg != nil {
		r.mu.Lock()
		r.configs[key] = cachedConfig{cfg: cfg, merchantID: merchantID, expires: now.Add(configTTL)}
		r.mu.Unlock()
	}
	return cfg, merchantID, err
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
		cfg, err := r.sandbox.Credentials(f.name())
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
	if IsSandbox(cfg) && live {
		return polypay.ParamError("params[sandbox]", "live credentials cannot use the simulator")
	}
	if !live && !IsSandbox(cfg) {
		return polypay.ParamError("params", "test mode always uses the built-in simulator; configure live credentials with a live key")
	}
	if live {
		if err := r.checkEndpoints(f, cfg); err != nil {
			return err
		}
	}
	var m map[string]json.RawMessage
	if !live && json.Unmarshal(cfg, &m) == nil && len(m) == 1 {
		fresh, err := r.sandbox.Credentials(f.name())
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
	if err := r.creds.Store(ctx, appID, live, key, merchantID, cfg); err != nil {
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

// SandboxConfig finds the sandbox credentials naming a channel-side
// merchant id of a family, for a simulator verifying a request.
func (r *Registry) SandboxConfig(fam, merchantID string) (json.RawMessage, bool) {
	key := fam + "/" + merchantID
	r.mu.Lock()
	cfg, ok := r.sandboxCfg[key]
	r.mu.Unlock()
	if ok {
		return cfg, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ccs, err := r.creds.ByMerchant(ctx, fam, merchantID)
	if err != nil {
		r.log.Error("sim: looking up merchant", "err", err)
		return nil, false
	}
	for _, cc := range ccs {
		if cc.Live {
			continue // the simulators only serve test-mode credentials
		}
		cfg, _, err := r.config(ctx, cc.AppID, false, cc.Account)
		if err != nil || cfg == nil || !IsSandbox(cfg) {
			continue
		}
		r.mu.Lock()
		r.sandboxCfg[key] = cfg
		r.mu.Unlock()
		return cfg, true
	}
	return nil, false
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
