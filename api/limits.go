package api

import (
	"net/http"

	"github.com/polypay/polypay/ratelimit"
)

// limiter is a set of per-key token buckets (package ratelimit).
type limiter = ratelimit.Keyed

// newLimiter makes a limiter of limit events per second with bursts of
// burst; a zero or negative limit means no limit.
func newLimiter(limit float64, burst int) *limiter { return ratelimit.New(limit, burst) }

// peerIP is the client's address: the TCP peer, or behind a trusted
// proxy (--trusted-proxy) the address it forwarded for. Other forwarded
// headers are not believed, so a client cannot pick the bucket it is
// counted in.
func (s *Server) peerIP(r *http.Request) string {
	return s.Proxies.Of(r)
}
