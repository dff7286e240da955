// Package credstore keeps secrets sealed in the store: the channel
// credentials of apps (channel.CredentialStore) and node-wide keys.
package credstore

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"

	"github.com/polypay/polypay/channel"
	"github.com/polypay/polypay/seal"
	"github.com/polypay/polypay/store"
)

// Store implements channel.CredentialStore on the store, every credential
// set sealed with the master-key box under its app, mode and account.
type Store struct {
	db  *store.DB
	box *seal.Box
}

var _ channel.CredentialStore = (*Store)(nil)

// New returns the credential store of db, sealing with box.
func New(db *store.DB, box *seal.Box) *Store { return &Store{db: db, box: box} }

func sealName(appID string, live bool, account string) string {
	return fmt.Sprintf("channel:%s:%v:%s", appID, live, account)
}

// Load implements channel.CredentialStore. A sub-app without credentials
// of its own for the family uses its parent's (the platform's accounts,
// up the chain).
func (s *Store) Load(ctx context.Context, appID string, live bool, account string) (json.RawMessage, string, error) {
	var cc *store.ChannelConfig
	if err := s.db.Read(ctx, func(tx *store.Tx) error {
		id := appID
		for depth := 0; id != "" && depth <= store.MaxSubAppLevel; depth++ {
			var err error
			if cc, err = tx.GetChannelConfig(ctx, id, live, account); err != nil || cc != nil {
				return err
			}
			if id, err = tx.ParentOf(ctx, id); err != nil {
				return err
			}
		}
		return nil
	}); err != nil || cc == nil {
		return nil, "", err
	}
	plain, err := s.box.Open(sealName(cc.AppID, live, account), cc.Sealed)
	if err != nil {
		return nil, "", err
	}
	return plain, cc.MerchantID, nil
}

// Store implements channel.CredentialStore.
func (s *Store) Store(ctx context.Context, appID string, live bool, account, merchantID string, cfg json.RawMessage) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetApp(ctx, appID); err != nil {
			return err
		}
		return tx.PutChannelConfig(ctx, store.ChannelConfig{AppID: appID, Live: live, Family: account,
			MerchantID: merchantID, Sealed: s.box.Seal(sealName(appID, live, account), cfg)})
	})
}

// ByMerchant implements channel.CredentialStore.
func (s *Store) ByMerchant(ctx context.Context, family, merchantID string) ([]channel.StoredAccount, error) {
	var ccs []store.ChannelConfig
	if err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		ccs, err = tx.ChannelConfigsByMerchant(ctx, family, merchantID)
		return err
	}); err != nil {
		return nil, err
	}
	out := make([]channel.StoredAccount, len(ccs))
	for i, cc := range ccs {
		out[i] = channel.StoredAccount{AppID: cc.AppID, Live: cc.Live, Account: cc.Family}
	}
	return out, nil
}

// LoadOrCreateKey returns the sealed RSA-2048 key stored under name,
// creating it on first use. The first node to store one wins; the others
// read it back.
func LoadOrCreateKey(ctx context.Context, db *store.DB, box *seal.Box, name string) (*rsa.PrivateKey, error) {
	read := func() (string, error) {
		var s string
		err := db.Read(ctx, func(tx *store.Tx) error {
			var err error
			s, err = tx.GetSecret(ctx, name)
			return err
		})
		return s, err
	}
	sealed, err := read()
	if err != nil {
		return nil, err
	}
	if sealed == "" {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.PutSecretIfAbsent(ctx, name, box.Seal(name, x509.MarshalPKCS1PrivateKey(k)))
		}); err != nil {
			return nil, err
		}
		if sealed, err = read(); err != nil {
			return nil, err
		}
	}
	der, err := box.Open(name, sealed)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return x509.ParsePKCS1PrivateKey(der)
}
