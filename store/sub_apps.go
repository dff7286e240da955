package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/polypay/polypay"
)

// SubApp is an app's place under its parent (migration 0042).
type SubApp struct {
	AppID       string
	ParentApp   string
	PlatformApp string
	Level       int
	DisplayName string
	User        string
	Description string
	Metadata    []byte
	Created     int64
	Deleted     int64
	// Status is pending (test-mode payments only), active or suspended
	// (no payments).
	Status string
	// Onboarding is what a channel needs to register the merchant (JSON,
	// the bank account's last four only); BankSealed the bank account.
	Onboarding []byte
	BankSealed string
}

// Sub-app statuses.
const (
	SubAppPending   = "pending"
	SubAppActive    = "active"
	SubAppSuspended = "suspended"
)

// MaxSubAppLevel is how deep sub-apps nest.
const MaxSubAppLevel = 5

const subAppCols = `app_id, parent_app, platform_app, level, display_name, user_id, description, metadata, created, deleted,
 status, onboarding, bank_sealed`

func scanSubApp(s scanner) (*SubApp, error) {
	var a SubApp
	var meta, onb string
	err := s.Scan(&a.AppID, &a.ParentApp, &a.PlatformApp, &a.Level, &a.DisplayName, &a.User, &a.Description, &meta, &a.Created, &a.Deleted,
		&a.Status, &onb, &a.BankSealed)
	a.Metadata, a.Onboarding = []byte(meta), []byte(onb)
	return &a, err
}

// InsertSubApp places an app (already inserted) under its parent.
func (tx *Tx) InsertSubApp(ctx context.Context, a *SubApp) error {
	_, err := tx.exec(ctx, `INSERT INTO sub_apps (`+subAppCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`, a.AppID, a.ParentApp, a.PlatformApp,
		a.Level, a.DisplayName, a.User, a.Description, string(a.Metadata), a.Created, a.Deleted, a.Status, jsonText(a.Onboarding), a.BankSealed)
	return err
}

// UpdateSubApp writes what may change on a sub-app.
func (tx *Tx) UpdateSubApp(ctx context.Context, a *SubApp) error {
	_, err := tx.exec(ctx, `UPDATE sub_apps SET display_name=?, user_id=?, description=?, metadata=?, deleted=?, status=?, onboarding=?,
 bank_sealed=? WHERE app_id=?`, a.DisplayName, a.User, a.Description, string(a.Metadata), a.Deleted, a.Status, jsonText(a.Onboarding),
		a.BankSealed, a.AppID)
	return err
}

// SubAppOf returns the sub-app id under ancestor (at any depth, not
// deleted); ENotFound naming id otherwise, so another platform's
// sub-apps, and an app's own ancestors, do not exist for it.
func (tx *Tx) SubAppOf(ctx context.Context, ancestor, id string) (*SubApp, error) {
	a, err := scanSubApp(tx.queryRow(ctx, `SELECT `+subAppCols+` FROM sub_apps WHERE app_id=? AND deleted=0`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("sub_app", id)
	}
	if err != nil {
		return nil, err
	}
	for cur, depth := a, 0; ; depth++ {
		if cur.ParentApp == ancestor {
			return a, nil
		}
		if depth >= MaxSubAppLevel {
			return nil, polypay.NotFound("sub_app", id)
		}
		next, err := scanSubApp(tx.queryRow(ctx, `SELECT `+subAppCols+` FROM sub_apps WHERE app_id=?`, cur.ParentApp))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, polypay.NotFound("sub_app", id)
		}
		if err != nil {
			return nil, err
		}
		cur = next
	}
}

// GetSubApp returns a sub-app (not deleted) by id; nil when the app is
// none.
func (tx *Tx) GetSubApp(ctx context.Context, id string) (*SubApp, error) {
	a, err := scanSubApp(tx.queryRow(ctx, `SELECT `+subAppCols+` FROM sub_apps WHERE app_id=? AND deleted=0`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return a, err
}

// ParentOf returns the app a sub-app hangs under, "" for a top app. A
// deleted sub-app keeps its parent here: the channel's late words about
// its payments (a refund's notification) still verify on its parent's
// credentials, and its late events still reach its platform; nobody acts
// for it any more (SubAppOf) and its keys are gone.
func (tx *Tx) ParentOf(ctx context.Context, appID string) (string, error) {
	var parent string
	err := tx.queryRow(ctx, `SELECT parent_app FROM sub_apps WHERE app_id=?`, appID).Scan(&parent)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return parent, err
}

// ListSubApps lists an app's direct sub-apps, newest first.
func (tx *Tx) ListSubApps(ctx context.Context, parent string, p Page) ([]*SubApp, bool, error) {
	return listPageBy(ctx, tx, subAppCols, "sub_apps", "app_id", []string{"parent_app=?", "deleted=0"}, []any{parent}, p, scanSubApp)
}

// DeleteAPIKeys removes an app's keys: a deleted sub-app's keys stop
// working.
func (tx *Tx) DeleteAPIKeys(ctx context.Context, appID string) error {
	_, err := tx.exec(ctx, `DELETE FROM api_keys WHERE app_id=?`, appID)
	return err
}

// SubAppChannel is a sub-app's channel in a mode.
type SubAppChannel struct {
	AppID       string
	Livemode    bool
	Channel     string
	Banned      bool
	BannedMsg   string
	Description string
	Created     int64
	Updated     int64
}

const subAppChannelCols = `app_id, livemode, channel, banned, banned_msg, description, created, updated`

func scanSubAppChannel(s scanner) (*SubAppChannel, error) {
	var c SubAppChannel
	var live, banned int
	err := s.Scan(&c.AppID, &live, &c.Channel, &banned, &c.BannedMsg, &c.Description, &c.Created, &c.Updated)
	c.Livemode, c.Banned = live == 1, banned == 1
	return &c, err
}

// PutSubAppChannel stores or replaces a sub-app's channel.
func (tx *Tx) PutSubAppChannel(ctx context.Context, c *SubAppChannel) error {
	_, err := tx.exec(ctx, `INSERT INTO sub_app_channels (`+subAppChannelCols+`) VALUES (?,?,?,?,?,?,?,?)
 ON CONFLICT (app_id, livemode, channel) DO UPDATE SET banned=excluded.banned, banned_msg=excluded.banned_msg,
 description=excluded.description, updated=excluded.updated`, c.AppID, b2i(c.Livemode), c.Channel, b2i(c.Banned), c.BannedMsg,
		c.Description, c.Created, c.Updated)
	return err
}

// GetSubAppChannel returns a sub-app's channel; nil when it has none.
func (tx *Tx) GetSubAppChannel(ctx context.Context, appID string, live bool, channel string) (*SubAppChannel, error) {
	c, err := scanSubAppChannel(tx.queryRow(ctx, `SELECT `+subAppChannelCols+` FROM sub_app_channels WHERE app_id=? AND livemode=? AND channel=?`,
		appID, b2i(live), channel))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

// SubAppChannels lists a sub-app's channels in a mode, by name.
func (tx *Tx) SubAppChannels(ctx context.Context, appID string, live bool) ([]*SubAppChannel, error) {
	rows, err := tx.query(ctx, `SELECT `+subAppChannelCols+` FROM sub_app_channels WHERE app_id=? AND livemode=? ORDER BY channel LIMIT 200`,
		appID, b2i(live))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*SubAppChannel
	for rows.Next() {
		c, err := scanSubAppChannel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteSubAppChannel removes a sub-app's channel.
func (tx *Tx) DeleteSubAppChannel(ctx context.Context, appID string, live bool, channel string) error {
	_, err := tx.exec(ctx, `DELETE FROM sub_app_channels WHERE app_id=? AND livemode=? AND channel=?`, appID, b2i(live), channel)
	return err
}

// DeleteChannelConfig removes an app's credentials for a family.
func (tx *Tx) DeleteChannelConfig(ctx context.Context, appID string, live bool, family string) error {
	_, err := tx.exec(ctx, `DELETE FROM channel_configs WHERE app_id=? AND livemode=? AND family=?`, appID, b2i(live), family)
	return err
}

// ownedTables are the objects whose app a request naming one by id can
// act for (api: a platform's key reaching a sub-app's object).
var ownedTables = map[string]bool{"charges": true, "agreements": true, "subscriptions": true, "plans": true, "events": true,
	"transfers": true, "orders": true, "red_envelopes": true, "batch_transfers": true, "batch_refunds": true,
	"royalties": true, "royalty_templates": true, "royalty_settlements": true, "royalty_transactions": true}

// AppOfObject returns the app owning object id in table, "" when there
// is none (or table is not one of ownedTables).
func (tx *Tx) AppOfObject(ctx context.Context, table, id string) (string, error) {
	if !ownedTables[table] {
		return "", nil
	}
	var app string
	err := tx.queryRow(ctx, `SELECT app_id FROM `+table+` WHERE id=?`, id).Scan(&app)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return app, err
}

// PaidTotal is what an app took in one currency.
type PaidTotal struct {
	AppID    string
	Currency string
	Count    int64
	Amount   int64
}

// PaidTotals sums the paid charges of apps in a mode since a time, per
// app and currency (a platform's view of its merchants' volume).
func (tx *Tx) PaidTotals(ctx context.Context, appIDs []string, live bool, since int64) ([]PaidTotal, error) {
	if len(appIDs) == 0 {
		return nil, nil
	}
	args := []any{b2i(live), since}
	marks := make([]string, len(appIDs))
	for i, id := range appIDs {
		marks[i], args = "?", append(args, id)
	}
	rows, err := tx.query(ctx, `SELECT app_id, currency, COUNT(*), SUM(amount) FROM charges WHERE livemode=? AND status='paid' AND time_paid>=?
 AND app_id IN (`+strings.Join(marks, ",")+`) GROUP BY app_id, currency ORDER BY app_id, currency`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PaidTotal
	for rows.Next() {
		var t PaidTotal
		if err := rows.Scan(&t.AppID, &t.Currency, &t.Count, &t.Amount); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SubAppChannelConfigs lists the configurations sub-apps (not deleted)
// keep for a family, by app: their own credentials or their standing with
// a provider (an authorization, a sub-merchant registration).
func (tx *Tx) SubAppChannelConfigs(ctx context.Context, family string) ([]ChannelConfig, error) {
	return queryAll(ctx, tx, `SELECT c.app_id, c.livemode, c.merchant_id, c.sealed FROM channel_configs c
 JOIN sub_apps s ON s.app_id = c.app_id WHERE c.family=? AND s.deleted=0 ORDER BY c.app_id, c.livemode`,
		func(r scanner) (ChannelConfig, error) {
			c := ChannelConfig{Family: family}
			var live int
			err := r.Scan(&c.AppID, &live, &c.MerchantID, &c.Sealed)
			c.Live = live == 1
			return c, err
		}, family)
}
