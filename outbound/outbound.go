// Package outbound is the one policy for connections polypay opens on a
// merchant's behalf: webhook deliveries to URLs merchants register, and
// channel calls to hosts merchants configure.
//
// The policy is enforced twice: when a URL is registered (CheckURL, so a
// merchant learns at once that it cannot be used), and on every connection
// at connect time (Transport, through net.Dialer.Control), on the address
// actually connected to. The second check is the one that counts: it sees
// the resolved address whatever the URL said (a hostname that resolves to
// 127.0.0.1 today, DNS rebinding, 2130706433, 0x7f000001, 0177.0.0.1,
// [::ffff:127.0.0.1]) and every hop of a redirect.
//
// Link-local (169.254/16 with the cloud metadata service, fe80::/10),
// unspecified (0/8, ::), multicast, broadcast and reserved (240/4)
// addresses are always refused. Loopback and private addresses (127/8,
// ::1, 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fec0::/10) are
// allowed in test mode, so local development works, and refused in live
// mode unless the operator allows a range that contains them. IPv4 inside
// IPv6 (IPv4-mapped, IPv4-compatible, NAT64, 6to4) is judged by its IPv4
// address too.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is what every refusal matches (errors.Is).
var ErrRefused = errors.New("refused by outbound policy")

// RefusedError is a refused URL or address; Rule names the rule, as in
// "loopback address in live mode".
type RefusedError struct {
	Rule string
}

func (e *RefusedError) Error() string { return ErrRefused.Error() + ": " + e.Rule }

// Is makes every RefusedError match ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func refused(format string, args ...any) error {
	return &RefusedError{Rule: fmt.Sprintf(format, args...)}
}

type rule struct {
	name string
	nets []netip.Prefix
}

func (r rule) has(a netip.Addr) bool {
	for _, p := range r.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

var (
	// always are refused in every mode, whatever the operator allows.
	// Broadcast comes before reserved, which contains it.
	always = []rule{
		{"unspecified address", prefixes("0.0.0.0/8", "::/128")},
		{"link-local address", prefixes("169.254.0.0/16", "fe80::/10")},
		{"multicast address", prefixes("224.0.0.0/4", "ff00::/8")},
		{"broadcast address", prefixes("255.255.255.255/32")},
		{"reserved address", prefixes("240.0.0.0/4")},
	}
	// local are allowed in test mode, and in live mode only inside a range
	// the operator allows.
	local = []rule{
		{"loopback address", prefixes("127.0.0.0/8", "::1/128")},
		{"private address", prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fec0::/10")},
	}
	nat64      = prefixes("64:ff9b::/96", "64:ff9b:1::/48")
	ipv4compat = netip.MustParsePrefix("::/96")
	sixToFour  = netip.MustParsePrefix("2002::/16")
)

// embeddedV4 returns the IPv4 address an IPv6 address carries, for the
// forms that reach it (a is already unmapped).
func embeddedV4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case nat64[0].Contains(a) || nat64[1].Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case ipv4compat.Contains(a) && b[12] != 0: // not ::, ::1
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// Policy is the outbound policy; the zero value (and nil) allows nothing
// beyond the defaults.
type Policy struct {
	// Allow lists the ranges live mode may reach although they are
	// loopback or private (--allow-webhook-net). It never opens the
	// always-refused addresses.
	Allow []netip.Prefix
	// Lookup resolves a hostname for CheckURL; nil uses the system
	// resolver. Connections always use the system resolver (tests make
	// the two disagree to play DNS rebinding).
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// CheckAddr applies the policy to one address (live: live mode).
func (p *Policy) CheckAddr(a netip.Addr, live bool) error {
	a = a.WithZone("").Unmap()
	if !a.IsValid() {
		return refused("invalid address")
	}
	if err := p.check1(a, live); err != nil {
		return err
	}
	if v4, ok := embeddedV4(a); ok {
		return p.check1(v4, live)
	}
	return nil
}

func (p *Policy) check1(a netip.Addr, live bool) error {
	for _, r := range always {
		if r.has(a) {
			return refused("%s", r.name)
		}
	}
	for _, r := range local {
		if !r.has(a) {
			continue
		}
		if !live || p.allowed(a) {
			return nil
		}
		return refused("%s in live mode", r.name)
	}
	return nil
}

func (p *Policy) allowed(a netip.Addr) bool {
	if p == nil {
		return false
	}
	for _, n := range p.Allow {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// CheckURL is CheckURLContext with a 5-second budget for resolving.
func (p *Policy) CheckURL(raw string, live bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.CheckURLContext(ctx, raw, live)
}

// CheckURLContext checks a URL at registration: http or https, no user
// information, a host; a literal address (in any form a resolver might
// read as one) is checked directly, a hostname by every address it
// resolves to. A hostname that does not resolve passes: connections are
// checked again when made.
func (p *Policy) CheckURLContext(ctx context.Context, raw string, live bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return refused("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return refused("scheme must be http or https")
	}
	if u.User != nil {
		return refused("user information in URL")
	}
	host := u.Hostname()
	if host == "" {
		return refused("no host")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return refused("bad port")
		}
	}
	a, numeric, err := parseHost(host)
	if err != nil {
		return err
	}
	if numeric {
		return p.CheckAddr(a, live)
	}
	lookup := p.lookup()
	addrs, err := lookup(ctx, host)
	if err != nil {
		return nil // checked when connecting
	}
	for _, a := range addrs {
		if err := p.CheckAddr(a, live); err != nil {
			return err
		}
	}
	return nil
}

func (p *Policy) lookup() func(context.Context, string) ([]netip.Addr, error) {
	if p != nil && p.Lookup != nil {
		return p.Lookup
	}
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
}

// parseHost reads a URL's host as an address when it is one: an IPv6 or
// dotted-quad literal, or one of the older IPv4 forms that inet_aton (and
// with it many resolvers and browsers) accepts: "127.1", "2130706433",
// "0x7f000001", "0177.0.0.1". A host whose last label is numeric is an
// address or malformed, never a name.
func parseHost(host string) (netip.Addr, bool, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, true, nil
	}
	h := strings.TrimSuffix(host, ".")
	labels := strings.Split(h, ".")
	if !numericLabel(labels[len(labels)-1]) {
		return netip.Addr{}, false, nil
	}
	a, ok := parseLegacyIPv4(labels)
	if !ok {
		return netip.Addr{}, false, refused("malformed numeric host")
	}
	return a, true, nil
}

func numericLabel(s string) bool {
	if s == "" {
		return false
	}
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		for _, c := range s[2:] {
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
		return true
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseLegacyIPv4 parses 1 to 4 parts, each decimal, octal (leading 0) or
// hex (0x), the last one filling the remaining bytes.
func parseLegacyIPv4(parts []string) (netip.Addr, bool) {
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, s := range parts {
		n, ok := parseLegacyPart(s)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v = v<<8 | n
			continue
		}
		rest := uint(4 - i) // bytes the last part fills
		if n >= 1<<(8*rest) {
			return netip.Addr{}, false
		}
		v = v<<(8*rest) | n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseLegacyPart(s string) (uint64, bool) {
	base := 10
	switch {
	case s == "":
		return 0, false
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
		if s == "" {
			return 0, true
		}
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	n, err := strconv.ParseUint(s, base, 64)
	if err != nil || n > 0xffffffff {
		return 0, false
	}
	return n, true
}

// control checks each address a dialer is about to connect to.
func (p *Policy) control(live bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return refused("unreadable address")
		}
		return p.CheckAddr(ap.Addr(), live)
	}
}

// Dialer connects only where the policy allows, checked on the resolved
// address at connect time.
func (p *Policy) Dialer(live bool) *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: p.control(live)}
}

// Transport is an HTTP transport for one mode whose every connection the
// policy checks. It uses no proxy: a proxy would connect on its own terms.
// Keep one per mode: pooled connections are not checked again.
func (p *Policy) Transport(live bool) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           p.Dialer(live).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Client is an HTTP client for one mode on Transport; redirects are
// followed (each hop is connected to under the policy).
func (p *Policy) Client(live bool, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: p.Transport(live)}
}

// GuardedTransport is for calls to hosts vetted by name (the channels'
// official hosts, the simulators): it refuses only the addresses no
// outbound call may reach, link-local (cloud metadata), unspecified,
// multicast, broadcast and reserved.
func GuardedTransport() *http.Transport {
	return (*Policy)(nil).Transport(false)
}

// ParseNets reads a comma-separated list of CIDRs (a bare address is one
// host) for Policy.Allow. A range inside an always-refused one is an
// error: it could never be reached.
func ParseNets(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR range (e.g. 10.1.0.0/16) or an address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		p = p.Masked()
		for _, r := range always {
			for _, n := range r.nets {
				if n.Bits() <= p.Bits() && n.Contains(p.Addr()) {
					return nil, fmt.Errorf("%s is always refused (%s) and cannot be allowed", f, r.name)
				}
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// CheckChannelURL checks a URL a channel connector will call with live
// credentials: no user information, and either https to one of the
// channel's official hosts (port 443) or a host the operator allows
// (--allow-channel-host, "host" for any port or "host:port"; http too).
func CheckChannelURL(raw string, official, allowed []string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return refused("not an absolute URL")
	}
	if u.User != nil {
		return refused("user information in URL")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	hostport := host
	if u.Port() != "" {
		hostport = net.JoinHostPort(host, u.Port())
	}
	for _, a := range allowed {
		if a = strings.ToLower(a); (a == host || a == hostport) && (u.Scheme == "https" || u.Scheme == "http") {
			return nil
		}
	}
	for _, o := range official {
		if o == host {
			if u.Scheme != "https" {
				return refused("channel hosts are reached over https")
			}
			if p := u.Port(); p != "" && p != "443" {
				return refused("port %s on %s", p, host)
			}
			return nil
		}
	}
	return refused("host %s is not one of the channel's (%s)", host, strings.Join(official, ", "))
}

// ParseHosts reads a comma-separated list of hosts ("host" or
// "host:port") for CheckChannelURL.
func ParseHosts(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		u, err := url.Parse("https://" + f)
		if err != nil || u.Host != f || u.Hostname() == "" || u.Path != "" || u.User != nil {
			return nil, fmt.Errorf("%q is not a host or host:port (no scheme, no path)", f)
		}
		out = append(out, f)
	}
	return out, nil
}
