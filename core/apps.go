package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/store"
)

// NewApp is what `polypay app create` prints: the only time the keys are
// shown, since only their hashes are stored.
type NewApp struct {
	AppID              string `json:"app_id"`
	Name               string `json:"name"`
	SecretKeyTest      string `json:"secret_key_test"`
	SecretKeyLive      string `json:"secret_key_live"`
	PublishableKeyTest string `json:"publishable_key_test"`
	PublishableKeyLive string `json:"publishable_key_live"`
}

// newKey returns prefix + 24 random base62 characters: 32 characters for
// sk_test_/sk_live_, the length Ping++'s Node SDK recognises as a key.
func newKey(prefix string) string {
	b := make([]byte, 24)
	polypay.RandomBase62(b)
	return prefix + string(b)
}

// KeyHash is how API keys are stored.
func KeyHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// CreateApp creates an app with a secret and a publishable key per mode.
func CreateApp(ctx context.Context, db *store.DB, name string) (*NewApp, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return nil, polypay.ParamError("name", "app name must be 1-64 characters")
	}
	a := &NewApp{AppID: polypay.NewAppID(), Name: name,
		SecretKeyTest: newKey("sk_test_"), SecretKeyLive: newKey("sk_live_"),
		PublishableKeyTest: newKey("pk_test_"), PublishableKeyLive: newKey("pk_live_")}
	err := db.Write(ctx, func(tx *store.Tx) error { return insertApp(ctx, tx, a) })
	if err != nil {
		return nil, err
	}
	return a, nil
}

// insertApp stores a new app and the hashes of its four keys.
func insertApp(ctx context.Context, tx interface {
	AppStore
	Clock
}, a *NewApp) error {
	if err := tx.InsertApp(ctx, &polypay.App{ID: a.AppID, Name: a.Name, Created: tx.Now()}); err != nil {
		return err
	}
	for _, k := range []struct {
		key  string
		live bool
		kind string
	}{{a.SecretKeyTest, false, store.KeySecret}, {a.SecretKeyLive, true, store.KeySecret},
		{a.PublishableKeyTest, false, store.KeyPublishable}, {a.PublishableKeyLive, true, store.KeyPublishable}} {
		if err := tx.InsertAPIKey(ctx, KeyHash(k.key), a.AppID, k.live, k.kind); err != nil {
			return err
		}
	}
	return nil
}
