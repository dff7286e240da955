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
// up the chain). A sub-app whose own entry is a merchant's authorization
// of its service provider (Authorization) uses the nearest ancestor's
// credentials with the authorization's token added (app_auth_token):
// the provider's keys, acting for the merchant.
func (s *Store) Load(ctx context.Context, appID string, live bool, account string) (json.RawMessage, string, error) {
	var token string
	id := appID
	for depth := 0; id != "" && depth <= store.MaxSubAppLevel; depth++ {
		cc, parent, err := s.own(ctx, id, live, account)
		if err != nil {
			return nil, "", err
		}
		if cc != nil {
			plain, err := s.box.Open(sealName(cc.AppID, live, account), cc.Sealed)
			if err != nil {
				return nil, "", err
			}
			if auth := AuthorizationOf(plain); auth != nil {
				if token == "" {
					token = auth.AppAuthToken
				}
				id = parent
				continue
			}
			if token != "" {
				plain, err = withToken(plain, token)
			}
			return plain, cc.MerchantID, err
		}
		id = parent
	}
	return nil, "", nil
}

// Own implements channel.CredentialStore.
func (s *Store) Own(ctx context.Context, appID string, live bool, account string) (json.RawMessage, error) {
	cc, _, err := s.own(ctx, appID, live, account)
	if err != nil || cc == nil {
		return nil, err
	}
	return s.box.Open(sealName(cc.AppID, live, account), cc.Sealed)
}

// own reads an app's own entry for an account and its parent.
func (s *Store) own(ctx context.Context, id string, live bool, account string) (*store.ChannelConfig, string, error) {
	var cc *store.ChannelConfig
	var parent string
	err := s.db.Read(ctx, func(tx *store.Tx) (err error) {
		if cc, err = tx.GetChannelConfig(ctx, id, live, account); err != nil {
			return err
		}
		parent, err = tx.ParentOf(ctx, id)
		return err
	})
	return cc, parent, err
}

// Authorization is a merchant's authorization of its service provider,
// stored as a sub-app's entry for a family instead of credentials (issue
// 21: Alipay's 第三方应用授权).
type Authorization struct {
	AppAuthToken    string `json:"app_auth_token"`
	AppRefreshToken string `json:"app_refresh_token"`
	AuthAppID       string `json:"auth_app_id"`
	UserID          string `json:"user_id,omitempty"`
	ExpiresAt       int64  `json:"expires_at"`
	ReExpiresAt     int64  `json:"re_expires_at"`
	Revoked         bool   `json:"revoked,omitempty"`
}

// AuthorizationOf returns the authorization an entry holds, nil when it
// holds credentials.
func AuthorizationOf(plain []byte) *Authorization {
	var v struct {
		Authorization *Authorization `json:"authorization"`
	}
	if json.Unmarshal(plain, &v) != nil || v.Authorization == nil || v.Authorization.AppAuthToken == "" {
		return nil
	}
	return v.Authorization
}

// withToken adds app_auth_token to a credential object.
func withToken(plain []byte, token string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(plain, &m); err != nil {
		return nil, err
	}
	m["app_auth_token"], _ = json.Marshal(token)
	return json.Marshal(m)
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
