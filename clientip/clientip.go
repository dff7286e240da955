// Package clientip finds the address of the client behind a request: the
// TCP peer, or, when the peer is a trusted reverse proxy, the address that
// proxy says it forwarded for. Only trusted proxies are believed: anyone
// can send an X-Forwarded-For header.
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver knows which peers are trusted proxies.
type Resolver struct {
	Trusted []netip.Prefix
}

// ParsePrefixes reads --trusted-proxy values: CIDR ranges or single
// addresses.
func ParsePrefixes(vs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vs {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, err
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (r *Resolver) trusted(a netip.Addr) bool {
	if r == nil {
		return false
	}
	for _, p := range r.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Of returns the client's address for req, "" when the peer's address is
// not an IP (a test's pipe). Behind trusted proxies it is the right-most
// address of X-Forwarded-For (then X-Real-IP) that is not itself a trusted
// proxy: addresses left of it were written by the client and prove
// nothing.
func (r *Resolver) Of(req *http.Request) string {
	peer := Peer(req)
	a, err := netip.ParseAddr(peer)
	if err != nil || !r.trusted(a) {
		return peer
	}
	hops := forwarded(req.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(hops[i])
		if err != nil {
			return peer // a malformed hop: believe only what we saw
		}
		h = h.Unmap()
		if !r.trusted(h) {
			return h.String()
		}
	}
	return peer
}

// forwarded lists the addresses proxies recorded, nearest last.
func forwarded(h http.Header) []string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				hops = append(hops, part)
			}
		}
	}
	if len(hops) == 0 {
		if v := strings.TrimSpace(h.Get("X-Real-IP")); v != "" {
			hops = append(hops, v)
		}
	}
	if len(hops) > 32 {
		hops = hops[len(hops)-32:] // a proxy chain is short; the rest is noise
	}
	return hops
}

// Peer is the TCP peer's address, canonical ("" when not an IP).
func Peer(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	return a.Unmap().WithZone("").String()
}
