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
	"time"

	"github.com/polypay/polypay"
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
// up the chain). A sub-app whose own entry is not credentials but its
// standing with its service provider (an Alipay authorization, a WeChat
// Pay sub-merchant registration: ProviderFields) uses the nearest
// ancestor's credentials with those fields added: the provider's keys,
// acting for the merchant.
func (s *Store) Load(ctx context.Context, appID string, live bool, account string) (json.RawMessage, string, error) {
	var fields map[string]string
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
			if f := ProviderFields(plain); f != nil {
				if fields == nil {
					fields = f // the nearest standing counts
				}
				id = parent
				continue
			}
			if fields != nil {
				plain, err = withFields(plain, fields)
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

// ProviderFields are the fields a sub-app's own entry adds to its
// provider's credentials, nil when the entry holds credentials: an Alipay
// authorization ({"authorization": {app_auth_token, ...}}) adds
// app_auth_token, a WeChat Pay registration ({"partner": {sub_mchid,
// sub_appid}}) adds sub_mchid and sub_appid, a UnionPay platform's
// sub-merchant ({"partner": {sub_mer_id, sub_mer_name, sub_mer_abbr}})
// adds those.
func ProviderFields(plain []byte) map[string]string {
	var v struct {
		Authorization *struct {
			AppAuthToken string `json:"app_auth_token"`
		} `json:"authorization"`
		Partner map[string]string `json:"partner"`
	}
	if json.Unmarshal(plain, &v) != nil {
		return nil
	}
	if v.Authorization != nil && v.Authorization.AppAuthToken != "" {
		return map[string]string{"app_auth_token": v.Authorization.AppAuthToken}
	}
	if v.Partner["sub_mchid"] == "" && v.Partner["sub_mer_id"] == "" {
		return nil
	}
	f := map[string]string{}
	for _, k := range partnerFields {
		if v.Partner[k] != "" {
			f[k] = v.Partner[k]
		}
	}
	return f
}

// partnerFields are what a sub-merchant registration may add.
var partnerFields = []string{"sub_mchid", "sub_appid", "sub_mer_id", "sub_mer_name", "sub_mer_abbr"}

// withFields adds fields to a credential object.
func withFields(plain []byte, fields map[string]string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(plain, &m); err != nil {
		return nil, err
	}
	for k, v := range fields {
		m[k], _ = json.Marshal(v)
	}
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

var _ channel.AuthorizationStore = (*Store)(nil)

// Authorizations implements channel.AuthorizationStore: the sub-apps'
// entries for a family that hold an authorization.
func (s *Store) Authorizations(ctx context.Context, family string) ([]channel.StoredAuthorization, error) {
	var cfgs []store.ChannelConfig
	parents := map[string]string{}
	err := s.db.Read(ctx, func(tx *store.Tx) (err error) {
		if cfgs, err = tx.SubAppChannelConfigs(ctx, family); err != nil {
			return err
		}
		for _, c := range cfgs {
			if parents[c.AppID], err = tx.ParentOf(ctx, c.AppID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []channel.StoredAuthorization
	for _, c := range cfgs {
		plain, err := s.box.Open(sealName(c.AppID, c.Live, family), c.Sealed)
		if err != nil {
			return nil, err
		}
		var v struct {
			Authorization *polypay.AppAuth `json:"authorization"`
		}
		if json.Unmarshal(plain, &v) != nil || v.Authorization == nil {
			continue
		}
		out = append(out, channel.StoredAuthorization{AppID: c.AppID, Parent: parents[c.AppID], Family: family, Live: c.Live, Auth: *v.Authorization})
	}
	return out, nil
}

// ClaimJob implements channel.AuthorizationStore with the store's named
// jobs.
func (s *Store) ClaimJob(ctx context.Context, job, owner string, stale time.Duration) (claimed bool, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		claimed, err = tx.ClaimJob(ctx, job, owner, tx.Now()-int64(stale/time.Second))
		return err
	})
	return claimed, err
}

// FinishJob implements channel.AuthorizationStore.
func (s *Store) FinishJob(ctx context.Context, job string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error { return tx.FinishJob(ctx, job) })
}

// Covered lists the sub-apps whose payments in a family run on appID's
// credentials as a platform's sub-merchants listed in appID's own
// statement (a UnionPay platform's: entries with sub_mer_id), in a mode.
func (s *Store) Covered(ctx context.Context, appID string, live bool, family string) ([]string, error) {
	var out []string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		cfgs, err := tx.SubAppChannelConfigs(ctx, family)
		if err != nil {
			return err
		}
		for _, c := range cfgs {
			if c.Live != live {
				continue
			}
			plain, err := s.box.Open(sealName(c.AppID, live, family), c.Sealed)
			if err != nil {
				return err
			}
			if ProviderFields(plain)["sub_mer_id"] == "" {
				continue
			}
			prov, err := s.provider(ctx, tx, c.AppID, live, family)
			if err != nil {
				return err
			}
			if prov == appID {
				out = append(out, c.AppID)
			}
		}
		return nil
	})
	return out, err
}

// provider is the nearest ancestor of appID whose own entry for a family
// holds credentials ("" when none does).
func (s *Store) provider(ctx context.Context, tx *store.Tx, appID string, live bool, family string) (string, error) {
	id, err := tx.ParentOf(ctx, appID)
	for depth := 0; err == nil && id != "" && depth <= store.MaxSubAppLevel; depth++ {
		var cc *store.ChannelConfig
		if cc, err = tx.GetChannelConfig(ctx, id, live, family); err != nil || cc == nil {
			if err == nil {
				id, err = tx.ParentOf(ctx, id)
			}
			continue
		}
		plain, oerr := s.box.Open(sealName(cc.AppID, live, family), cc.Sealed)
		if oerr != nil {
			return "", oerr
		}
		if ProviderFields(plain) == nil {
			return id, nil
		}
		id, err = tx.ParentOf(ctx, id)
	}
	return "", err
}
