package clientip

import (
	"net/http/httptest"
	"testing"
)

func TestOf(t *testing.T) {
	trusted, err := ParsePrefixes([]string{"10.0.0.0/8", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Trusted: trusted}
	tests := []struct {
		name, peer, xff, realIP, want string
	}{
		{"DirectClient", "203.0.113.5:4000", "", "", "203.0.113.5"},
		{"UntrustedPeerForgesHeader", "203.0.113.5:4000", "1.2.3.4", "", "203.0.113.5"},
		{"TrustedProxy", "10.1.1.1:4000", "198.51.100.7", "", "198.51.100.7"},
		{"ClientPrependsLies", "10.1.1.1:4000", "1.2.3.4, 198.51.100.7", "", "198.51.100.7"},
		{"ChainOfTrusted", "10.1.1.1:4000", "198.51.100.7, 10.2.2.2, 192.0.2.1", "", "198.51.100.7"},
		{"RealIP", "192.0.2.1:80", "", "198.51.100.9", "198.51.100.9"},
		{"MalformedHop", "10.1.1.1:4000", "198.51.100.7, junk", "", "10.1.1.1"},
		{"OnlyTrustedHops", "10.1.1.1:4000", "10.3.3.3", "", "10.1.1.1"},
		{"MappedIPv6Peer", "[::ffff:203.0.113.5]:4000", "", "", "203.0.113.5"},
		{"MappedHop", "10.1.1.1:4000", "::ffff:198.51.100.7", "", "198.51.100.7"},
		{"NotAnIP", "pipe", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tc.peer
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.realIP != "" {
				req.Header.Set("X-Real-IP", tc.realIP)
			}
			if got := r.Of(req); got != tc.want {
				t.Fatalf("Of = %q, want %q", got, tc.want)
			}
		})
	}
	var none *Resolver
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr, _ = "10.1.1.1:1", req.Header
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	if got := none.Of(req); got != "10.1.1.1" {
		t.Fatalf("no trusted proxies: Of = %q", got)
	}
	if _, err := ParsePrefixes([]string{"not-a-net"}); err == nil {
		t.Fatal("ParsePrefixes took garbage")
	}
}

func FuzzOf(f *testing.F) {
	f.Add("10.1.1.1:1", "1.2.3.4, 5.6.7.8")
	f.Add("[::1]:1", "::1,,")
	trusted, _ := ParsePrefixes([]string{"10.0.0.0/8", "::1"})
	r := &Resolver{Trusted: trusted}
	f.Fuzz(func(t *testing.T, peer, xff string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = peer
		req.Header.Set("X-Forwarded-For", xff)
		got := r.Of(req)
		if got != "" && got != Peer(req) && len(got) > 45 {
			t.Fatalf("address %q too long", got)
		}
	})
}
