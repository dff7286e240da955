package gateway

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/store"
)

// canarySecret is sealed by the first node that serves a store (the API
// reply signing key), so opening it tells whether a master key is the
// store's own before any command writes with the wrong one.
const canarySecret = "api.reply_signing_key"

// masterKeySource says where the master key is looked for, for messages:
// the variable wins over any file.
func (cfg Config) masterKeySource() string {
	if os.Getenv(seal.EnvMasterKey) != "" {
		return "$" + seal.EnvMasterKey
	}
	return "key file " + cfg.masterKeyFile() + " ($" + seal.EnvMasterKey + " unset)"
}

// openBox loads the master key for an opened store. A key file is created
// only for a store that holds no sealed secret yet: a new key beside a
// store sealed with another one would make every secret unreadable. The
// errors name the variable or file tried, so an operator running a CLI
// command without the server's --master-key-file sees what to pass.
func openBox(ctx context.Context, db *store.DB, cfg Config) (*seal.Box, error) {
	var sealed string
	if err := db.Read(ctx, func(tx *store.Tx) (err error) { sealed, err = tx.GetSecret(ctx, canarySecret); return }); err != nil {
		return nil, err
	}
	key, err := seal.LoadMasterKeyFile(cfg.masterKeyFile(), sealed == "")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("cannot open the store's master key: tried %s, which does not exist, and this store already holds secrets sealed with a master key; pass the server's --master-key-file or set $%s", cfg.masterKeySource(), seal.EnvMasterKey)
		}
		return nil, fmt.Errorf("cannot open the store's master key (tried %s): %w", cfg.masterKeySource(), err)
	}
	box, err := seal.New(key)
	if err != nil {
		return nil, fmt.Errorf("master key from %s: %w", cfg.masterKeySource(), err)
	}
	if sealed != "" {
		if _, err := box.Open(canarySecret, sealed); err != nil {
			return nil, fmt.Errorf("the master key from %s does not open this store's secrets (they were sealed with another key); pass the server's --master-key-file or set $%s", cfg.masterKeySource(), seal.EnvMasterKey)
		}
	}
	return box, nil
}
