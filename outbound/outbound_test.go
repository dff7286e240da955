package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polypay/polypay/outbound"
)

// fakeLookup answers for the made-up names of the tests and fails for
// the rest, so no test depends on DNS (localhost, from /etc/hosts, goes
// to the system resolver when not listed).
func fakeLookup(names map[string]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		if a, ok := names[host]; ok {
			return []netip.Addr{netip.MustParseAddr(a)}, nil
		}
		if host == "localhost" {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
}

var names = map[string]string{"merchant.example": "93.184.216.34", "internal.example": "10.1.2.3", "meta.example": "169.254.169.254"}

var everyLocal, _ = outbound.ParseNets("127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7")

func wantRule(t *testing.T, err error, rule string) {
	t.Helper()
	if rule == "" {
		if err != nil {
			t.Fatalf("got %v, want allowed", err)
		}
		return
	}
	want := "refused by outbound policy: " + rule
	if err == nil || err.Error() != want || !errors.Is(err, outbound.ErrRefused) {
		t.Fatalf("got %v, want %q (matching ErrRefused)", err, want)
	}
}

// TestCheckURL: every way of writing an address, in test mode, in live
// mode, and in live mode with every local range allowed.
func TestCheckURL(t *testing.T) {
	const (
		lo   = "loopback address in live mode"
		priv = "private address in live mode"
		ll   = "link-local address"
		un   = "unspecified address"
	)
	tests := []struct {
		name              string
		url               string
		test, live, allow string // the rule refusing it, "" when allowed
	}{
		{"Loopback", "http://127.0.0.1:8080/hook", "", lo, ""},
		{"LoopbackShort", "http://127.1/", "", lo, ""},
		{"LoopbackDecimal", "http://2130706433/", "", lo, ""},
		{"LoopbackHex", "http://0x7f000001/", "", lo, ""},
		{"LoopbackOctal", "http://0177.0.0.1/", "", lo, ""},
		{"LoopbackTrailingDot", "http://127.0.0.1./", "", lo, ""},
		{"ErrPercentEncodedHost", "http://%31%32%37.0.0.1/", "not a URL", "not a URL", "not a URL"},
		{"LoopbackV6", "http://[::1]/", "", lo, ""},
		{"LoopbackV4Mapped", "http://[::ffff:127.0.0.1]/", "", lo, ""},
		{"LoopbackV4MappedHex", "http://[::ffff:7f00:1]/", "", lo, ""},
		{"LoopbackV4Compatible", "http://[::127.0.0.1]/", "", lo, ""},
		{"LoopbackNAT64", "http://[64:ff9b::127.0.0.1]/", "", lo, ""},
		{"Loopback6to4", "http://[2002:7f00:1::]/", "", lo, ""},
		{"LoopbackName", "http://localhost:9/", "", lo, ""},
		{"Unspecified", "http://0.0.0.0:8080/", un, un, un},
		{"UnspecifiedZero", "http://0/", un, un, un},
		{"UnspecifiedV6", "http://[::]/", un, un, un},
		{"Metadata", "http://169.254.169.254/latest/meta-data/", ll, ll, ll},
		{"MetadataDecimal", "http://2852039166/", ll, ll, ll},
		{"MetadataV4Mapped", "http://[::ffff:169.254.169.254]/", ll, ll, ll},
		{"MetadataName", "http://meta.example/", ll, ll, ll},
		{"LinkLocalV6", "http://[fe80::1]/", ll, ll, ll},
		{"LinkLocalV6Zone", "http://[fe80::1%25eth0]/", ll, ll, ll},
		{"Private10", "http://10.0.0.5/", "", priv, ""},
		{"Private172", "http://172.16.3.4/", "", priv, ""},
		{"Private192", "http://192.168.1.1/", "", priv, ""},
		{"CGNAT", "http://100.64.0.1/", "", priv, ""},
		{"ULA", "http://[fd00::1]/", "", priv, ""},
		{"PrivateV4Mapped", "http://[::ffff:10.0.0.5]/", "", priv, ""},
		{"PrivateName", "https://internal.example/hook", "", priv, ""},
		{"Multicast", "http://224.0.0.1/", "multicast address", "multicast address", "multicast address"},
		{"MulticastV6", "http://[ff02::1]/", "multicast address", "multicast address", "multicast address"},
		{"Broadcast", "http://255.255.255.255/", "broadcast address", "broadcast address", "broadcast address"},
		{"Public", "https://93.184.216.34/hook", "", "", ""},
		{"PublicName", "https://merchant.example/hook?x=1", "", "", ""},
		{"UnresolvedName", "https://not-yet.example/hook", "", "", ""},
		{"ErrScheme", "ftp://93.184.216.34/", "scheme must be http or https", "scheme must be http or https", "scheme must be http or https"},
		{"ErrUserinfo", "http://u:p@93.184.216.34/", "user information in URL", "user information in URL", "user information in URL"},
		{"ErrNoHost", "http:///hook", "no host", "no host", "no host"},
		{"ErrOpaque", "http:127.0.0.1", "no host", "no host", "no host"},
		{"ErrFiveParts", "http://1.2.3.4.5/", "malformed numeric host", "malformed numeric host", "malformed numeric host"},
		{"ErrOctetTooBig", "http://256.1/", "malformed numeric host", "malformed numeric host", "malformed numeric host"},
		{"ErrPort", "http://93.184.216.34:0/", "bad port", "bad port", "bad port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range []struct {
				mode string
				p    *outbound.Policy
				live bool
				want string
			}{
				{"test", &outbound.Policy{Lookup: fakeLookup(names)}, false, tc.test},
				{"live", &outbound.Policy{Lookup: fakeLookup(names)}, true, tc.live},
				{"live-allowed", &outbound.Policy{Lookup: fakeLookup(names), Allow: everyLocal}, true, tc.allow},
			} {
				t.Run(m.mode, func(t *testing.T) { wantRule(t, m.p.CheckURL(tc.url, m.live), m.want) })
			}
		})
	}
}

// TestCheckAddrNarrowAllowance: an allowance opens its range only, and
// never the always-refused addresses.
func TestCheckAddrNarrowAllowance(t *testing.T) {
	allow, err := outbound.ParseNets("10.1.0.0/16, 127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	p := &outbound.Policy{Allow: allow}
	tests := []struct {
		addr string
		want string
	}{
		{"10.1.2.3", ""},
		{"::ffff:10.1.2.3", ""},
		{"10.2.0.1", "private address in live mode"},
		{"127.0.0.1", ""},
		{"127.0.0.2", "loopback address in live mode"},
		{"::1", "loopback address in live mode"},
		{"169.254.169.254", "link-local address"},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) { wantRule(t, p.CheckAddr(netip.MustParseAddr(tc.addr), true), tc.want) })
	}
}

func TestParseNets(t *testing.T) {
	tests := []struct {
		in      string
		want    string // fmt of the result
		wantErr string
	}{
		{"10.0.0.0/8,192.168.1.7", "[10.0.0.0/8 192.168.1.7/32]", ""},
		{" 10.1.2.3/16 , ::1 ", "[10.1.0.0/16 ::1/128]", ""},
		{"::ffff:10.0.0.0/104", "[10.0.0.0/8]", ""},
		{"", "[]", ""},
		{"10.0.0.0/33", "", "not a CIDR"},
		{"intranet", "", "not a CIDR"},
		{"169.254.0.0/16", "", "always refused"},
		{"169.254.169.254", "", "always refused"},
		{"fe80::/64", "", "always refused"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := outbound.ParseNets(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != tc.want && !(tc.want == "[]" && len(got) == 0) {
				t.Fatalf("got %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestCheckChannelURL(t *testing.T) {
	official := []string{"openapi.alipay.com", "openapi-sandbox.dl.alipaydev.com"}
	tests := []struct {
		name    string
		url     string
		allowed []string
		want    string
	}{
		{"OK", "https://openapi.alipay.com/gateway.do", nil, ""},
		{"OKSandbox", "https://openapi-sandbox.dl.alipaydev.com/gateway.do", nil, ""},
		{"OKPort443UpperCase", "https://OpenAPI.alipay.com:443/gateway.do", nil, ""},
		{"ErrForeign", "https://evil.example/gateway.do", nil, "host evil.example is not one of the channel's (openapi.alipay.com, openapi-sandbox.dl.alipaydev.com)"},
		{"ErrLoopback", "http://127.0.0.1:8080/gateway.do", nil, "host 127.0.0.1 is not one of the channel's (openapi.alipay.com, openapi-sandbox.dl.alipaydev.com)"},
		{"ErrSuffix", "https://openapi.alipay.com.evil.example/", nil, "host openapi.alipay.com.evil.example is not one of the channel's (openapi.alipay.com, openapi-sandbox.dl.alipaydev.com)"},
		{"ErrHTTP", "http://openapi.alipay.com/gateway.do", nil, "channel hosts are reached over https"},
		{"ErrPort", "https://openapi.alipay.com:8443/gateway.do", nil, "port 8443 on openapi.alipay.com"},
		{"ErrUserinfo", "https://x@openapi.alipay.com/gateway.do", nil, "user information in URL"},
		{"ErrRelative", "/gateway.do", nil, "not an absolute URL"},
		{"OKAllowedHost", "https://alipay-proxy.corp:8443/gateway.do", []string{"alipay-proxy.corp"}, ""},
		{"OKAllowedHostPort", "http://127.0.0.1:8080/gateway.do", []string{"127.0.0.1:8080"}, ""},
		{"ErrAllowedOtherPort", "http://127.0.0.1:9090/gateway.do", []string{"127.0.0.1:8080"}, "host 127.0.0.1 is not one of the channel's (openapi.alipay.com, openapi-sandbox.dl.alipaydev.com)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantRule(t, outbound.CheckChannelURL(tc.url, official, tc.allowed), tc.want) })
	}
}

func TestParseHosts(t *testing.T) {
	got, err := outbound.ParseHosts(" Proxy.corp ,127.0.0.1:8080,[::1]:9000")
	if err != nil || fmt.Sprint(got) != "[proxy.corp 127.0.0.1:8080 [::1]:9000]" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"https://proxy.corp", "proxy.corp/path", "u@proxy.corp", "proxy.corp:port"} {
		if got, err := outbound.ParseHosts(bad); err == nil {
			t.Errorf("ParseHosts(%q) = %v, want an error", bad, got)
		}
	}
}

// counter is a server that counts the requests it gets.
func counter(t *testing.T, network, addr string, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, addr, err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
		}
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

// refusal is the rule that refused a request's connection, "" if none.
func refusal(err error) string {
	var re *outbound.RefusedError
	if errors.As(err, &re) {
		return re.Rule
	}
	return ""
}

// TestTransportChecksAtConnect: the connection itself is refused, before
// anything is sent, wherever the URL pointed.
func TestTransportChecksAtConnect(t *testing.T) {
	srv, hits := counter(t, "tcp", "127.0.0.1:0", nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	policy := func(p *outbound.Policy, live bool) *http.Client { return p.Client(live, 5*time.Second) }
	tests := []struct {
		name   string
		client *http.Client
		url    string
		want   string
	}{
		{"TestModeLoopback", policy(nil, false), srv.URL, ""},
		{"LiveLoopback", policy(nil, true), srv.URL, "loopback address in live mode"},
		{"LiveLoopbackAllowed", policy(&outbound.Policy{Allow: everyLocal}, true), srv.URL, ""},
		{"LiveLocalhost", policy(nil, true), fmt.Sprintf("http://localhost:%d/", port), "loopback address in live mode"},
		{"LiveV4Mapped", policy(nil, true), fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", port), "loopback address in live mode"},
		{"TestModeUnspecified", policy(nil, false), fmt.Sprintf("http://0.0.0.0:%d/", port), "unspecified address"},
		{"AllowedEverythingUnspecified", policy(&outbound.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}, true),
			fmt.Sprintf("http://0.0.0.0:%d/", port), "unspecified address"},
		{"GuardedLoopback", &http.Client{Transport: outbound.GuardedTransport()}, srv.URL, ""},
		{"GuardedUnspecified", &http.Client{Transport: outbound.GuardedTransport()}, fmt.Sprintf("http://0.0.0.0:%d/", port), "unspecified address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := hits.Load()
			res, err := tc.client.Get(tc.url)
			if res != nil {
				res.Body.Close()
			}
			if got := refusal(err); got != tc.want || (tc.want == "" && err != nil) || !errors.Is(err, outbound.ErrRefused) && tc.want != "" {
				t.Fatalf("got %v (rule %q), want rule %q", err, got, tc.want)
			}
			want := int32(1)
			if tc.want != "" {
				want = 0
			}
			if got := hits.Load() - before; got != want {
				t.Fatalf("server got %d requests, want %d", got, want)
			}
		})
	}
}

// TestRebinding: a name that resolved to a public address when the URL
// was registered, and to loopback when connecting, is refused at connect.
func TestRebinding(t *testing.T) {
	srv, hits := counter(t, "tcp", "127.0.0.1:0", nil)
	u := fmt.Sprintf("http://localhost:%d/hook", srv.Listener.Addr().(*net.TCPAddr).Port)
	// Registration's resolver says public; the connection's (the
	// system's) says 127.0.0.1.
	p := &outbound.Policy{Lookup: func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
	}}
	if err := p.CheckURL(u, true); err != nil {
		t.Fatalf("registration: %v, want accepted (the name looked public)", err)
	}
	res, err := p.Client(true, 5*time.Second).Get(u)
	if res != nil {
		res.Body.Close()
	}
	if got := refusal(err); got != "loopback address in live mode" {
		t.Fatalf("got %v, want refused as loopback in live mode", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("server got %d requests, want none", hits.Load())
	}
}

// TestRedirectChecked: every hop of a redirect is connected to under the
// policy: live mode allowing 127.0.0.1 only does not reach [::1] through
// a redirect.
func TestRedirectChecked(t *testing.T) {
	target, targetHits := counter(t, "tcp6", "[::1]:0", nil)
	first, firstHits := counter(t, "tcp", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/internal", http.StatusFound)
	})
	allow, _ := outbound.ParseNets("127.0.0.1")
	res, err := (&outbound.Policy{Allow: allow}).Client(true, 5*time.Second).Get(first.URL)
	if res != nil {
		res.Body.Close()
	}
	if got := refusal(err); got != "loopback address in live mode" {
		t.Fatalf("got %v, want the redirect refused as loopback in live mode", err)
	}
	if firstHits.Load() != 1 || targetHits.Load() != 0 {
		t.Fatalf("hits: first %d, target %d; want 1, 0", firstHits.Load(), targetHits.Load())
	}
}
