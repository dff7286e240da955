package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

// APIKey kinds.
const (
	KeySecret      = "secret"
	KeyPublishable = "publishable"
)

// InsertApp stores an app.
func (tx *Tx) InsertApp(ctx context.Context, a *polypay.App) error {
	_, err := tx.exec(ctx, `INSERT INTO apps (id, name, created, request_public_key) VALUES (?,?,?,?)`,
		a.ID, a.Name, a.Created, a.RequestPublicKey)
	return err
}

// InsertAPIKey stores the hash of an issued key; the key itself is never kept.
func (tx *Tx) InsertAPIKey(ctx context.Context, hash, appID string, live bool, kind string) error {
	_, err := tx.exec(ctx, `INSERT INTO api_keys (key_hash, app_id, livemode, kind, created) VALUES (?,?,?,?,?)`,
		hash, appID, b2i(live), kind, tx.now)
	return err
}

// AppByKeyHash finds the app and mode a key belongs to; ENotFound if none
// or if the key expired (a rolled key after its overlap).
func (tx *Tx) AppByKeyHash(ctx context.Context, hash string) (*polypay.App, bool, string, error) {
	var a polypay.App
	var live int
	var kind string
	err := tx.queryRow(ctx, `SELECT a.id, a.name, a.created, a.request_public_key, a.error_language, k.livemode, k.kind
 FROM api_keys k JOIN apps a ON a.id = k.app_id WHERE k.key_hash = ? AND (k.expires = 0 OR k.expires > ?)`, hash, tx.now).
		Scan(&a.ID, &a.Name, &a.Created, &a.RequestPublicKey, &a.ErrorLanguage, &live, &kind)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, "", polypay.Errorf(polypay.ENotFound, "no such key")
	}
	return &a, live == 1, kind, err
}

// GetApp returns an app by id.
func (tx *Tx) GetApp(ctx context.Context, id string) (*polypay.App, error) {
	var a polypay.App
	err := tx.queryRow(ctx, `SELECT id, name, created, request_public_key, error_language FROM apps WHERE id=?`, id).
		Scan(&a.ID, &a.Name, &a.Created, &a.RequestPublicKey, &a.ErrorLanguage)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("app", id)
	}
	return &a, err
}

// SetRequestPublicKey registers (or with "" removes) the app's request-signing key.
func (tx *Tx) SetRequestPublicKey(ctx context.Context, appID, pem string) error {
	res, err := tx.exec(ctx, `UPDATE apps SET request_public_key=? WHERE id=?`, pem, appID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return polypay.NotFound("app", appID)
	}
	return nil
}

// ChannelConfig is one app's sealed credentials for a channel family.
type ChannelConfig struct {
	AppID      string
	Live       bool
	Family     string
	MerchantID string // the channel-side id (Alipay app_id, WeChat mchid)
	Sealed     string
}

// PutChannelConfig stores or replaces a channel configuration.
func (tx *Tx) PutChannelConfig(ctx context.Context, c ChannelConfig) error {
	_, err := tx.exec(ctx, `INSERT INTO channel_configs (app_id, livemode, family, merchant_id, sealed, created)
 VALUES (?,?,?,?,?,?) ON CONFLICT (app_id, livemode, family) DO UPDATE SET merchant_id = excluded.merchant_id,
 sealed = excluded.sealed`, c.AppID, b2i(c.Live), c.Family, c.MerchantID, c.Sealed, tx.now)
	return err
}

// GetChannelConfig returns the app's configuration for a family, or nil.
func (tx *Tx) GetChannelConfig(ctx context.Context, appID string, live bool, family string) (*ChannelConfig, error) {
	c := ChannelConfig{AppID: appID, Live: live, Family: family}
	err := tx.queryRow(ctx, `SELECT merchant_id, sealed FROM channel_configs WHERE app_id=? AND livemode=? AND family=?`,
		appID, b2i(live), family).Scan(&c.MerchantID, &c.Sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &c, err
}

// ChannelConfigsByMerchant lists configurations naming a channel-side id,
// in the family's default account or any named one ("family@account").
func (tx *Tx) ChannelConfigsByMerchant(ctx context.Context, family, merchantID string) ([]ChannelConfig, error) {
	rows, err := tx.query(ctx, `SELECT app_id, livemode, sealed, family FROM channel_configs
 WHERE (family=? OR family LIKE ?) AND merchant_id=?`, family, family+"@%", merchantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ChannelConfig
	for rows.Next() {
		c := ChannelConfig{Family: family, MerchantID: merchantID}
		var live int
		if err := rows.Scan(&c.AppID, &live, &c.Sealed, &c.Family); err != nil {
			return nil, err
		}
		c.Live = live == 1
		out = append(out, c)
	}
	return out, rows.Err()
}

// GetSecret returns a sealed gateway secret, or "" if absent.
func (tx *Tx) GetSecret(ctx context.Context, name string) (string, error) {
	var s string
	err := tx.queryRow(ctx, `SELECT sealed FROM secrets WHERE name=?`, name).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return s, err
}

// PutSecretIfAbsent stores a sealed secret unless one exists (first writer
// wins, so nodes starting together agree on one key).
func (tx *Tx) PutSecretIfAbsent(ctx context.Context, name, sealed string) error {
	_, err := tx.exec(ctx, `INSERT INTO secrets (name, sealed, created) VALUES (?,?,?) ON CONFLICT (name) DO NOTHING`,
		name, sealed, tx.now)
	return err
}
