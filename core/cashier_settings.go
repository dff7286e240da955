package core

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/polypay/polypay"
)

// MaxAllowedOrigins bounds cashier_settings.allowed_origins.
const MaxAllowedOrigins = 10

// CashierSettings is an app's cashier configuration in one mode (the API
// object of /v1/apps/{app}/cashier_settings).
type CashierSettings struct {
	Object   string `json:"object"`
	App      string `json:"app"`
	Livemode bool   `json:"livemode"`
	// ChannelOrder lists channels the cashier shows first, in this order;
	// the others follow in the default order.
	ChannelOrder []string `json:"channel_order"`
	// Labels replace the cashier's channel names: channel -> {"zh","en"}.
	Labels map[string]map[string]string `json:"labels"`
	// DisabledChannels are never shown (nor can be paid with) in the
	// cashier; orders may still allow them.
	DisabledChannels []string `json:"disabled_channels"`
	// AllowedOrigins may embed the cashier (frame-ancestors) and receive its
	// postMessage reports, besides the origin of the order's return_url.
	AllowedOrigins []string `json:"allowed_origins"`
	// DisplayName is the merchant's name the cashier shows its customers
	// ("" shows none: an app's own name may be an internal one).
	DisplayName string `json:"display_name"`
	// Logo is the merchant's logo the cashier shows, nil for none.
	Logo    *CashierLogo `json:"logo"`
	Updated int64        `json:"updated"`
}

// CashierSettingsParams are the fields given to POST; nil means unchanged.
type CashierSettingsParams struct {
	ChannelOrder     *[]string
	Labels           *map[string]map[string]string
	DisabledChannels *[]string
	AllowedOrigins   *[]string
	DisplayName      *string
	// Logo is a data URL (DecodeLogo), or "" to remove the logo.
	Logo *string
}

func checkCashierChannels(param string, chans []string) error {
	seen := map[string]bool{}
	for _, ch := range chans {
		if !slices.Contains(CashierChannels(), ch) {
			return polypay.ParamError(param, "%s 中的渠道 %q 不是收银台渠道（可用: %s）", param, ch, strings.Join(CashierChannels(), ", "))
		}
		if seen[ch] {
			return polypay.ParamError(param, "%s 中渠道 %s 重复", param, ch)
		}
		seen[ch] = true
	}
	return nil
}

// CanonicalOrigin checks a web origin for allowed_origins: scheme://host
// with an optional port and nothing else, https, or http only for
// 127.0.0.1 and localhost. It returns the origin lower-cased without a
// default port.
func CanonicalOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || !onlyOrigin(s, u) {
		return "", false
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	if !plainHost(host) || !originScheme(scheme, host) || strings.HasSuffix(u.Host, ":") {
		return "", false
	}
	port, ok := originPort(scheme, u.Port())
	if !ok {
		return "", false
	}
	out := scheme + "://" + host
	if port != "" {
		out += ":" + port
	}
	return out, true
}

// onlyOrigin reports whether s, parsed as u, has nothing besides a scheme,
// host and port: no user, path, query or fragment, not even an empty one.
func onlyOrigin(s string, u *url.URL) bool {
	return u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.Opaque == "" &&
		!strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "#")
}

// plainHost reports whether a lower-cased host is a DNS name or IPv4
// address: letters, digits, dots and hyphens, no empty label.
func plainHost(host string) bool {
	if host == "" || strings.HasSuffix(host, ".") || strings.HasPrefix(host, ".") || strings.Contains(host, "..") {
		return false
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false // IPv6 literals, wildcards and anything odd
		}
	}
	return true
}

// originScheme reports whether an origin may use scheme with host: https
// always, http only for 127.0.0.1 and localhost.
func originScheme(scheme, host string) bool {
	switch scheme {
	case "https":
		return true
	case "http":
		return host == "127.0.0.1" || host == "localhost"
	}
	return false
}

// originPort checks an origin's port, "" or a number in 1-65535 without
// leading zeros, and returns it, "" for the scheme's default port.
func originPort(scheme, port string) (string, bool) {
	if port == "" {
		return "", true
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return "", false
	}
	if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
		return "", true
	}
	return port, true
}

// CheckCashierSettings validates settings in place (canonical origins);
// errors name the parameter.
func CheckCashierSettings(cs *CashierSettings) error {
	if err := checkCashierChannels("channel_order", cs.ChannelOrder); err != nil {
		return err
	}
	if err := checkCashierChannels("disabled_channels", cs.DisabledChannels); err != nil {
		return err
	}
	for ch, m := range cs.Labels {
		if !slices.Contains(CashierChannels(), ch) {
			return polypay.ParamError("labels["+ch+"]", "labels 的键须为收银台渠道（可用: %s）", strings.Join(CashierChannels(), ", "))
		}
		if len(m) == 0 {
			return polypay.ParamError("labels["+ch+"]", "labels[%s] 须为 {\"zh\": \"…\", \"en\": \"…\"}", ch)
		}
		for k, t := range m {
			p := "labels[" + ch + "][" + k + "]"
			if k != "zh" && k != "en" {
				return polypay.ParamError(p, "labels[%s] 只能有 zh 和 en 两个键", ch)
			}
			n := utf8.RuneCountInString(t)
			if n < 1 || n > maxLabelRunes || strings.TrimSpace(t) != t || polypay.CheckText(p, t, polypay.Line) != nil {
				return polypay.ParamError(p, "%s 须为 1-%d 个字符、首尾无空白的字符串", p, maxLabelRunes)
			}
		}
	}
	if err := checkDisplayName(cs.DisplayName); err != nil {
		return err
	}
	if len(cs.AllowedOrigins) > MaxAllowedOrigins {
		return polypay.ParamError("allowed_origins", "allowed_origins 最多 %d 个", MaxAllowedOrigins)
	}
	var origins []string
	for _, o := range cs.AllowedOrigins {
		c, ok := CanonicalOrigin(o)
		if !ok {
			return polypay.ParamError("allowed_origins", "allowed_origins 中的 %q 不是有效的来源：须为 scheme://host[:port]，https，或 http://127.0.0.1、http://localhost", o)
		}
		if !slices.Contains(origins, c) {
			origins = append(origins, c)
		}
	}
	cs.AllowedOrigins = origins
	return nil
}

func normalizeSettings(cs *CashierSettings) {
	if cs.ChannelOrder == nil {
		cs.ChannelOrder = []string{}
	}
	if cs.Labels == nil {
		cs.Labels = map[string]map[string]string{}
	}
	if cs.DisabledChannels == nil {
		cs.DisabledChannels = []string{}
	}
	if cs.AllowedOrigins == nil {
		cs.AllowedOrigins = []string{}
	}
}

func loadCashierSettings(ctx context.Context, tx AppStore, appID string, live bool) (*CashierSettings, error) {
	raw, err := tx.CashierSettings(ctx, appID, live)
	if err != nil {
		return nil, err
	}
	cs := &CashierSettings{}
	if raw != nil {
		if err := json.Unmarshal(raw, cs); err != nil {
			return nil, err
		}
	}
	cs.Object, cs.App, cs.Livemode = "cashier_settings", appID, live
	normalizeSettings(cs)
	return cs, nil
}

// CashierSettingsFor returns an app's cashier settings in a mode (empty
// settings when none were set).
func (s *Service) CashierSettingsFor(ctx context.Context, appID string, live bool) (*CashierSettings, error) {
	var cs *CashierSettings
	err := s.read(ctx, func(tx Tx) (err error) {
		cs, err = loadCashierSettings(ctx, tx, appID, live)
		return err
	})
	if cs != nil && cs.Logo != nil {
		cs.Logo.URL = s.BaseURL + LogoPath(cs.Logo)
	}
	return cs, err
}

// GetCashierSettings returns the caller's app's settings in its mode.
func (s *Service) GetCashierSettings(ctx context.Context, who Caller) (*CashierSettings, error) {
	return s.CashierSettingsFor(ctx, who.App.ID, who.Live)
}

// SetCashierSettings updates the fields p gives of the caller's app's
// settings in its mode and returns the result.
func (s *Service) SetCashierSettings(ctx context.Context, who Caller, p CashierSettingsParams) (*CashierSettings, error) {
	var out *CashierSettings
	err := s.write(ctx, func(tx Tx) error {
		cs, err := loadCashierSettings(ctx, tx, who.App.ID, who.Live)
		if err != nil {
			return err
		}
		if p.ChannelOrder != nil {
			cs.ChannelOrder = *p.ChannelOrder
		}
		if p.Labels != nil {
			cs.Labels = *p.Labels
		}
		if p.DisabledChannels != nil {
			cs.DisabledChannels = *p.DisabledChannels
		}
		if p.AllowedOrigins != nil {
			cs.AllowedOrigins = *p.AllowedOrigins
		}
		if p.DisplayName != nil {
			cs.DisplayName = *p.DisplayName
		}
		if err := CheckCashierSettings(cs); err != nil {
			return err
		}
		if p.Logo != nil {
			if cs.Logo, err = setLogo(ctx, tx, who, *p.Logo, s.now().Unix()); err != nil {
				return err
			}
		}
		normalizeSettings(cs)
		cs.Updated = s.now().Unix()
		raw, err := json.Marshal(cs)
		if err != nil {
			return err
		}
		out = cs
		if cs.Logo != nil {
			cs.Logo.URL = s.BaseURL + LogoPath(cs.Logo)
		}
		return tx.PutCashierSettings(ctx, who.App.ID, who.Live, raw, cs.Updated)
	})
	return out, err
}

// Arrange orders, filters and labels the channels the cashier would show
// (chans, in the default order): disabled ones dropped, those in
// ChannelOrder first in its order.
func (cs *CashierSettings) Arrange(chans []string) []string {
	var out []string
	for _, ch := range cs.ChannelOrder {
		if slices.Contains(chans, ch) && !slices.Contains(cs.DisabledChannels, ch) {
			out = append(out, ch)
		}
	}
	for _, ch := range chans {
		if !slices.Contains(out, ch) && !slices.Contains(cs.DisabledChannels, ch) {
			out = append(out, ch)
		}
	}
	return out
}

// Label is the merchant's label for a channel in lang ("zh" or "en",
// falling back to the other), or "" for the cashier's own.
func (cs *CashierSettings) Label(ch, lang string) string {
	m := cs.Labels[ch]
	if m[lang] != "" {
		return m[lang]
	}
	if lang == "zh" {
		return m["en"]
	}
	return m["zh"]
}
