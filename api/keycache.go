package api

import (
	"context"
	"sync"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/core"
	"github.com/polypay/polypay/store"
)

// keyTTL bounds how long a key lookup is reused. Keys never change, but an
// app's registered request-signing key may (polypay app set-public-key, from
// another process): such a change takes effect within this time.
const keyTTL = 10 * time.Second

// keyCache remembers which app and mode a key hash belongs to, saving a
// store read on every request. Unknown keys are not cached.
type keyCache struct {
	mu sync.Mutex
	m  map[string]keyEntry
}

type keyEntry struct {
	who     core.Caller
	expires time.Time
}

// cached returns a key's caller if a recent lookup found it, without
// touching the store.
func (c *keyCache) cached(hash string) (core.Caller, bool) {
	c.mu.Lock()
	e, ok := c.m[hash]
	c.mu.Unlock()
	return e.who, ok && time.Now().Before(e.expires)
}

func (c *keyCache) lookup(ctx context.Context, db *store.DB, hash string) (core.Caller, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[hash]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.who, nil
	}
	var who core.Caller
	err := db.Read(ctx, func(tx *store.Tx) error {
		app, live, kind, err := tx.AppByKeyHash(ctx, hash)
		if err != nil {
			return err
		}
		if kind != store.KeySecret {
			return polypay.Errorf(polypay.ENotFound, "not a secret key")
		}
		who = core.Caller{App: app, Live: live}
		return nil
	})
	if err != nil {
		return who, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]keyEntry{} // a crude bound; keys per node are few
	}
	c.m[hash] = keyEntry{who: who, expires: now.Add(keyTTL)}
	c.mu.Unlock()
	return who, nil
}
