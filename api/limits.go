package api

import (
	"net/http"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// limiterSize bounds how many token buckets a limiter keeps. Eviction is
// least-recently-used, so a key that keeps sending is never forgotten (and
// so never handed a fresh bucket) however many other keys come and go; an
// evicted bucket belonged to a key idle long enough to have refilled.
const limiterSize = 16384

// limiter hands out one token bucket per key (an API key's hash, or a
// client address), so that one runaway client cannot starve the others.
// Limits are per node.
type limiter struct {
	limit rate.Limit
	burst int
	cache *lru.Cache[string, *rate.Limiter]
}

// newLimiter makes a limiter of limit events per second with bursts of
// burst; a zero or negative limit means no limit.
func newLimiter(limit float64, burst int) *limiter {
	c, err := lru.New[string, *rate.Limiter](limiterSize)
	if err != nil {
		panic(err) // only for a non-positive size
	}
	return &limiter{limit: rate.Limit(limit), burst: max(burst, 1), cache: c}
}

func (l *limiter) bucket(key string) *rate.Limiter {
	if b, ok := l.cache.Get(key); ok {
		return b
	}
	b := rate.NewLimiter(l.limit, l.burst)
	if ok, _ := l.cache.ContainsOrAdd(key, b); ok {
		if prev, found := l.cache.Get(key); found {
			return prev
		}
	}
	return b
}

// allow takes a token for key, reporting whether the event may happen now.
func (l *limiter) allow(key string) bool {
	if l == nil || l.limit <= 0 {
		return true
	}
	return l.bucket(key).Allow()
}

// exhausted reports, without taking a token, whether key has none left.
func (l *limiter) exhausted(key string) bool {
	if l == nil || l.limit <= 0 {
		return false
	}
	return l.bucket(key).Tokens() < 1
}

// peerIP is the client's address: the TCP peer, or behind a trusted
// proxy (--trusted-proxy) the address it forwarded for. Other forwarded
// headers are not believed, so a client cannot pick the bucket it is
// counted in.
func (s *Server) peerIP(r *http.Request) string {
	return s.Proxies.Of(r)
}
