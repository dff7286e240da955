package outbound

import (
	"context"
	"net/netip"
	"net/url"
	"testing"
)

// FuzzCheckURL: any URL a merchant can register either is refused or, in
// live mode with no allowances, names no loopback, private or otherwise
// refused address in any form the host parser reads as an address; and a
// host whose last label is numeric never reaches the resolver.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1/", "http://2130706433/", "http://0x7f.1/", "https://[::ffff:10.0.0.1]:8443/x",
		"http://example.com./hook", "http://0177.0.0.01/", "http://1.2.3.4.5/", "ftp://x/", "http://u:p@h/", "http://[fe80::1%25eth0]/"} {
		f.Add(s)
	}
	public := netip.MustParseAddr("93.184.216.34")
	f.Fuzz(func(t *testing.T, raw string) {
		resolved := ""
		p := &Policy{Lookup: func(_ context.Context, host string) ([]netip.Addr, error) {
			resolved = host
			return []netip.Addr{public}, nil
		}}
		if p.CheckURLContext(context.Background(), raw, true) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%q accepted but does not parse: %v", raw, err)
		}
		a, numeric, err := parseHost(u.Hostname())
		if err != nil {
			t.Fatalf("%q accepted, its host refused: %v", raw, err)
		}
		if numeric {
			if resolved != "" {
				t.Fatalf("%q: numeric host %q was sent to the resolver", raw, resolved)
			}
			if p.CheckAddr(a, true) != nil {
				t.Fatalf("%q accepted though %v is refused in live mode", raw, a)
			}
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && (a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast()) {
			t.Fatalf("%q accepted in live mode: %v", raw, a)
		}
	})
}
