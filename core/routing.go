package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/health"
	"github.com/polypay/polypay/metrics"
	"github.com/polypay/polypay/store"
)

// RouteSettings spread an app's charges of one channel family over
// several accounts of that family (the API object of
// /v1/apps/{app}/routes). A charge goes to the accounts of the lowest
// priority number first, chosen by weight among the usable (not down)
// ones; if one fails before the channel accepted the request, the next
// is tried.
type RouteSettings struct {
	Object   string         `json:"object"` // "channel_route"
	App      string         `json:"app"`
	Livemode bool           `json:"livemode"`
	Channel  string         `json:"channel"` // the family: alipay, wx, upacp, ...
	Accounts []RouteAccount `json:"accounts"`
	Updated  int64          `json:"updated"`
}

// RouteAccount is one account in RouteSettings.
type RouteAccount struct {
	// Account is "default" (the family's default account) or the name of
	// an account configured as "family@name".
	Account string `json:"account"`
	// Priority: lower numbers are tried first; accounts of a higher number
	// only take charges when every account before them failed or is down.
	Priority int `json:"priority"`
	// Weight shares charges among the usable accounts of one priority;
	// 0 makes an account a standby, used only after the weighted ones.
	Weight int `json:"weight"`
}

// MaxRouteAccounts bounds RouteSettings.Accounts.
const MaxRouteAccounts = 10

// routesFor returns an app's routing for a family, nil when none is set.
func (s *Service) routesFor(ctx context.Context, appID string, live bool, family string) (*RouteSettings, error) {
	var raw []byte
	if err := s.read(ctx, func(tx Tx) (err error) {
		raw, err = tx.ChannelRoutes(ctx, appID, live, family)
		return
	}); err != nil || raw == nil {
		return nil, err
	}
	rs := &RouteSettings{}
	if err := json.Unmarshal(raw, rs); err != nil {
		return nil, fmt.Errorf("routes of %s/%s: %w", appID, family, err)
	}
	return rs, nil
}

// ListRoutes returns the caller's routing settings, one per family.
func (s *Service) ListRoutes(ctx context.Context, who Caller) ([]*RouteSettings, error) {
	var raws [][]byte
	if err := s.read(ctx, func(tx Tx) (err error) {
		raws, err = tx.ListChannelRoutes(ctx, who.App.ID, who.Live)
		return
	}); err != nil {
		return nil, err
	}
	out := []*RouteSettings{}
	for _, raw := range raws {
		rs := &RouteSettings{}
		if err := json.Unmarshal(raw, rs); err != nil {
			return nil, err
		}
		out = append(out, rs)
	}
	return out, nil
}

// SetRoutes replaces the caller's routing for a family; no accounts
// removes it (charges go to the default account again). Every account
// must be configured in the caller's mode.
func (s *Service) SetRoutes(ctx context.Context, who Caller, family string, accounts []RouteAccount) (*RouteSettings, error) {
	if family == "" || strings.Contains(family, "@") {
		return nil, polypay.ParamError("channel", "channel 须为渠道类型（如 alipay、wx）")
	}
	if family != s.Channels.Family(family) {
		// A Ping++ channel name was given: route its family.
		family = s.Channels.Family(family)
	}
	if len(accounts) > MaxRouteAccounts {
		return nil, polypay.ParamError("accounts", "accounts 最多 %d 个", MaxRouteAccounts)
	}
	weighted := false
	for i, a := range accounts {
		if slices.IndexFunc(accounts, func(b RouteAccount) bool { return b.Account == a.Account }) != i {
			return nil, polypay.ParamError("accounts", "accounts 中 %s 重复", a.Account)
		}
		if a.Priority < 0 || a.Weight < 0 || a.Weight > 1000 {
			return nil, polypay.ParamError("accounts", "priority 须 ≥ 0，weight 须在 0 到 1000 之间")
		}
		weighted = weighted || a.Weight > 0
		if _, _, err := s.Channels.ForNotification(ctx, processorRoute(family, a.Account), who.App.ID, who.Live); err != nil {
			return nil, polypay.ParamError("accounts", "渠道账户 %s 不可用: %v", processorRoute(family, a.Account), errMessage(err))
		}
	}
	if len(accounts) > 0 && !weighted {
		return nil, polypay.ParamError("accounts", "至少一个账户的 weight 须大于 0")
	}
	rs := &RouteSettings{Object: "channel_route", App: who.App.ID, Livemode: who.Live, Channel: family, Accounts: accounts}
	err := s.write(ctx, func(tx Tx) error {
		rs.Updated = tx.Now()
		var b []byte
		if len(accounts) > 0 {
			var err error
			if b, err = json.Marshal(rs); err != nil {
				return err
			}
		}
		return tx.PutChannelRoutes(ctx, who.App.ID, who.Live, family, b, rs.Updated)
	})
	return rs, err
}

// account is the health key of an app's account of a family.
func account(appID string, live bool, family, name string) health.Account {
	return health.Account{App: appID, Live: live, Name: processorRoute(family, name)}
}

// usable reports whether routing may send to an account now.
func (s *Service) usable(a health.Account) bool {
	return s.Health == nil || s.Health.Usable(a)
}

func (s *Service) stateOf(a health.Account) string {
	if s.Health == nil {
		return ""
	}
	return string(s.Health.State(a))
}

// order arranges the routed accounts for one charge: by priority, each
// priority's usable accounts drawn by weight (standbys after them), then
// the accounts that are down, in case they came back.
func (s *Service) order(rs *RouteSettings, appID string, live bool) []string {
	accts := slices.Clone(rs.Accounts)
	sort.SliceStable(accts, func(i, j int) bool { return accts[i].Priority < accts[j].Priority })
	var up, down []string
	for i := 0; i < len(accts); {
		j := i
		for j < len(accts) && accts[j].Priority == accts[i].Priority {
			j++
		}
		var pool []RouteAccount
		for _, a := range accts[i:j] {
			if s.usable(account(appID, live, rs.Channel, a.Account)) {
				pool = append(pool, a)
			} else {
				down = append(down, a.Account)
			}
		}
		up = append(up, weightedOrder(pool)...)
		i = j
	}
	return append(up, down...)
}

// weightedOrder draws accounts one by one with probability proportional
// to weight; standbys (weight 0) follow in their given order.
func weightedOrder(pool []RouteAccount) []string {
	var out, standby []string
	var w []RouteAccount
	for _, a := range pool {
		if a.Weight > 0 {
			w = append(w, a)
		} else {
			standby = append(standby, a.Account)
		}
	}
	for len(w) > 0 {
		total := 0
		for _, a := range w {
			total += a.Weight
		}
		r := rand.IntN(total)
		k := 0
		for ; r >= w[k].Weight; k++ {
			r -= w[k].Weight
		}
		out = append(out, w[k].Account)
		w = slices.Delete(w, k, k+1)
	}
	return append(out, standby...)
}

// createRouted starts a non-card charge on the app's routed accounts of
// its family, or on the default account when no routing is set.
func (s *Service) createRouted(ctx context.Context, c *polypay.Charge, req polypay.ChannelRequest, rs *RouteSettings) ([]byte, error) {
	if rs == nil {
		return s.failover(ctx, c, req, []string{DefaultProcessor}, false, false)
	}
	return s.failover(ctx, c, req, s.order(rs, c.AppID, c.Livemode), true, false)
}

// Attempt is one account tried for a charge (charge.processor_attempts):
// card processors in order, and routed accounts of any channel.
type Attempt struct {
	Processor string `json:"processor"` // the account: "default" or its name
	Outcome   string `json:"outcome"`   // accepted, declined, error, unavailable
	Health    string `json:"health,omitempty"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
}

// failover starts a charge on the accounts in order. A refusal by the
// channel (a decline) ends it: another account would refuse the same
// request, and retrying card declines looks like card testing to issuers.
// A failure before the channel accepted the request (no connection, 502
// or 503, the account's breaker open) moves on at once: no trade exists.
// Any other failure (a timeout after sending, a lost connection) moves
// on only when the account confirms it holds no trade for the charge;
// otherwise the outcome is unknown and the charge stays with that
// account, to be settled by query like any other. The same charge is
// never open on two accounts. record keeps the attempts on the charge
// even when there was only one.
//
// stored says the charge is already in the store (card charges): then the
// account is written before each fallback attempt, so that if this node
// dies during the call the poller asks that account, not the first.
func (s *Service) failover(ctx context.Context, c *polypay.Charge, req polypay.ChannelRequest, accounts []string, record, stored bool) ([]byte, error) {
	var attempts []Attempt
	save := func() {
		if record || len(attempts) > 1 {
			c.Attempts, _ = json.Marshal(attempts)
		}
	}
	family := s.Channels.Family(c.Channel)
	var lastErr error
	for i, name := range accounts {
		c.Account = processorAccount(name)
		if stored && i > 0 {
			if err := s.write(ctx, func(tx Tx) error {
				cur, err := tx.LockCharge(ctx, c.ID)
				if err != nil {
					return err
				}
				cur.Account = c.Account
				cur.Attempts, _ = json.Marshal(attempts)
				return tx.UpdateCharge(ctx, cur)
			}); err != nil {
				return nil, err
			}
		}
		acct := account(c.AppID, c.Livemode, family, name)
		at := Attempt{Processor: name, Health: s.stateOf(acct)}
		ch, err := s.Channels.Channel(ctx, c.AppID, c.Livemode, c.ChannelRoute())
		if err != nil {
			at.Outcome, at.Message = "error", errMessage(err)
			attempts = append(attempts, at)
			lastErr = err
			continue
		}
		if c.AuthOnly {
			if _, ok := ch.(polypay.Authorizer); !ok {
				return nil, polypay.ParamError("capture", "渠道账户 %s 不支持预授权（capture=false）", c.ChannelRoute())
			}
		}
		req.NotifyURL = s.NotifyURL(s.Channels.Family(c.ChannelRoute()), c.AppID, c.Livemode)
		cred, err := ch.CreateCharge(ctx, req)
		if err == nil {
			at.Outcome = "accepted"
			attempts = append(attempts, at)
			save()
			return cred, nil
		}
		var pe *polypay.Error
		if errors.As(err, &pe) {
			at.Outcome, at.Code, at.Message = "declined", pe.ChannelCode, pe.Message
			attempts = append(attempts, at)
			save()
			return nil, err
		}
		lastErr = err
		if reason, ok := health.NotAccepted(err); ok {
			at.Outcome, at.Code, at.Message = "unavailable", reason, err.Error()
			attempts = append(attempts, at)
			metrics.RoutingFallbacks.WithLabelValues(family, name, reason).Inc()
			continue
		}
		at.Outcome, at.Message = "error", err.Error()
		attempts = append(attempts, at)
		if i == len(accounts)-1 || !s.noTradeAt(ctx, ch, c) {
			save()
			return nil, err // unknown outcome on this account
		}
		metrics.RoutingFallbacks.WithLabelValues(family, name, "no_trade").Inc()
		s.Log.Warn("channel account failed; trying the next", "charge", c.ID, "account", c.ChannelRoute(), "err", err)
	}
	// Here no account holds a trade for the charge.
	save()
	var pe *polypay.Error
	if lastErr == nil || errors.As(lastErr, &pe) {
		if lastErr == nil {
			lastErr = errors.New("no channel account configured")
		}
		return nil, lastErr // a configuration problem, not an outage
	}
	return nil, s.unavailable(ctx, c, lastErr)
}

// UnavailableError is the cause of a channel_unavailable error: every
// account of the channel is down or refused the request before accepting
// it. Available lists the app's channels that are up.
type UnavailableError struct {
	Channel   string
	Available []string
	Err       error
}

func (e *UnavailableError) Error() string {
	return "channel " + e.Channel + " unavailable: " + e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// AvailableChannels lists the channels that are up (the API shows them).
func (e *UnavailableError) AvailableChannels() []string { return e.Available }

func (s *Service) unavailable(ctx context.Context, c *polypay.Charge, cause error) error {
	up := s.AvailableChannels(ctx, c.AppID, c.Livemode)
	msg := "渠道 " + c.Channel + " 暂不可用（其所有渠道账户均无法受理），未创建交易，可稍后使用相同的 order_no 重试"
	if len(up) > 0 {
		msg += "；当前可用的渠道: " + strings.Join(up, ", ")
	} else {
		msg += "；当前没有可用的渠道"
	}
	return &polypay.Error{Code: polypay.EChannel, ChannelCode: "channel_unavailable", Message: msg,
		Err: &UnavailableError{Channel: c.Channel, Available: up, Err: cause}}
}

// channelLister is implemented by the registry.
type channelLister interface{ Channels() []string }

// AvailableChannels lists the Ping++ channels of the app's configured
// families that have a usable account, sorted.
func (s *Service) AvailableChannels(ctx context.Context, appID string, live bool) []string {
	l, ok := s.Channels.(channelLister)
	if !ok {
		return nil
	}
	var refs []store.AccountRef
	if err := s.read(ctx, func(tx Tx) (err error) {
		refs, err = tx.ChannelAccounts(ctx, appID, live)
		return
	}); err != nil {
		s.Log.Error("listing channel accounts", "err", err)
		return nil
	}
	configured := map[string]bool{}
	for _, r := range refs {
		configured[r.Family] = true
	}
	famUp := map[string]bool{}
	var out []string
	for _, ch := range l.Channels() {
		fam := s.Channels.Family(ch)
		up, seen := famUp[ch+"|"+fam]
		if !seen {
			up = s.channelUp(ctx, appID, live, ch, configured)
			famUp[ch+"|"+fam] = up
		}
		if up {
			out = append(out, ch)
		}
	}
	return out
}

// channelUp reports whether a channel has a usable account for the app:
// one of its routed accounts (card processors for cards), or its default
// account. configured, when not nil, limits it to configured accounts.
func (s *Service) channelUp(ctx context.Context, appID string, live bool, ch string, configured map[string]bool) bool {
	fam := s.Channels.Family(ch)
	names := []string{DefaultProcessor}
	if isCard(ch) {
		var cs *CardSettings
		if err := s.read(ctx, func(tx Tx) (err error) {
			cs, err = s.cardSettings(ctx, tx, appID, live)
			return
		}); err == nil {
			names = cs.Processors
		}
	} else if rs, err := s.routesFor(ctx, appID, live, fam); err == nil && rs != nil {
		names = names[:0]
		for _, a := range rs.Accounts {
			names = append(names, a.Account)
		}
	}
	for _, n := range names {
		if configured != nil && !configured[processorRoute(fam, n)] {
			continue
		}
		if s.usable(account(appID, live, fam, n)) {
			return true
		}
	}
	return false
}

// ChannelHealthy reports whether the cashier should show channel now: it
// has a usable account, and its recent creations through the cashier did
// not all fail (see ChannelHealth).
func (s *Service) ChannelHealthy(appID string, live bool, channel string) bool {
	if !s.ChannelHealth().Healthy(appID, live, channel, s.now()) {
		return false
	}
	if s.Health == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.channelUp(ctx, appID, live, channel, nil)
}

// HealthChanged tells the app's merchant that one of its channel accounts
// changed state, with a channel.health_changed event (a polypay
// extension; Ping++ has no such event).
func (s *Service) HealthChanged(ctx context.Context, c health.Change) error {
	obj := map[string]any{"object": "channel_health", "channel": c.Account.Name, "family": c.Account.Family(),
		"account": c.Account.AccountName(), "livemode": c.Account.Live, "status": c.To, "previous_status": c.From,
		"reason": c.Reason, "changed": c.At.Unix()}
	queued := 0
	err := s.write(ctx, func(tx Tx) (err error) {
		if _, err := tx.GetApp(ctx, c.Account.App); err != nil {
			return err
		}
		queued, err = s.emit(ctx, tx, c.Account.App, c.Account.Live, polypay.EventChannelHealthChanged, "", obj)
		return err
	})
	s.kick(queued)
	return err
}

// countNotification feeds the notification metrics: outcome is the
// notification log's, labelled without its detail (Label), paidAt the
// payment time of an applied payment notification (0 otherwise).
func (s *Service) countNotification(family string, outcome polypay.NotifyOutcome, paidAt int64) {
	if outcome == "" {
		return
	}
	base, _, _ := strings.Cut(family, "@")
	metrics.Notifications.WithLabelValues(base, outcome.Label()).Inc()
	if paidAt > 0 {
		if lag := s.now().Sub(time.Unix(paidAt, 0)); lag >= 0 {
			metrics.NotificationLag.WithLabelValues(base).Observe(lag.Seconds())
		}
	}
}
