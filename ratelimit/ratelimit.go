// Package ratelimit hands out one token bucket per key (an API key's hash,
// a client address, a shop QR code), so that one runaway client cannot
// starve the others. Limits are per node.
package ratelimit

import (
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Size bounds how many token buckets a limiter keeps. Eviction is
// least-recently-used, so a key that keeps sending is never forgotten (and
// so never handed a fresh bucket) however many other keys come and go; an
// evicted bucket belonged to a key idle long enough to have refilled.
const Size = 16384

// Keyed is a set of token buckets, one per key.
type Keyed struct {
	limit rate.Limit
	burst int
	cache *lru.Cache[string, *rate.Limiter]
}

// New makes a limiter of limit events per second with bursts of burst; a
// zero or negative limit means no limit.
func New(limit float64, burst int) *Keyed {
	c, err := lru.New[string, *rate.Limiter](Size)
	if err != nil {
		panic(err) // only for a non-positive size
	}
	return &Keyed{limit: rate.Limit(limit), burst: max(burst, 1), cache: c}
}

func (l *Keyed) bucket(key string) *rate.Limiter {
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

// Allow takes a token for key, reporting whether the event may happen now.
func (l *Keyed) Allow(key string) bool {
	if l == nil || l.limit <= 0 {
		return true
	}
	return l.bucket(key).Allow()
}

// Exhausted reports, without taking a token, whether key has none left.
func (l *Keyed) Exhausted(key string) bool {
	if l == nil || l.limit <= 0 {
		return false
	}
	return l.bucket(key).Tokens() < 1
}
