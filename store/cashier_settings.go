package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
)

// CashierSettings returns the app's cashier settings in a mode as stored
// (a JSON object), or nil when none were set.
func (tx *Tx) CashierSettings(ctx context.Context, appID string, live bool) ([]byte, error) {
	var s string
	err := tx.queryRow(ctx, `SELECT settings FROM cashier_settings WHERE app_id=? AND livemode=?`, appID, b2i(live)).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// PutCashierSettings stores (replaces) the app's cashier settings in a mode.
func (tx *Tx) PutCashierSettings(ctx context.Context, appID string, live bool, settings []byte, updated int64) error {
	_, err := tx.exec(ctx, `INSERT INTO cashier_settings (app_id, livemode, settings, updated) VALUES (?,?,?,?)
 ON CONFLICT (app_id, livemode) DO UPDATE SET settings = excluded.settings, updated = excluded.updated`,
		appID, b2i(live), string(settings), updated)
	return err
}

// PutCashierLogo stores (replaces) the app's cashier logo in a mode.
func (tx *Tx) PutCashierLogo(ctx context.Context, appID string, live bool, sha, contentType string, data []byte, updated int64) error {
	_, err := tx.exec(ctx, `INSERT INTO cashier_logos (app_id, livemode, sha256, content_type, data, updated) VALUES (?,?,?,?,?,?)
 ON CONFLICT (app_id, livemode) DO UPDATE SET sha256 = excluded.sha256, content_type = excluded.content_type,
 data = excluded.data, updated = excluded.updated`,
		appID, b2i(live), sha, contentType, base64.StdEncoding.EncodeToString(data), updated)
	return err
}

// DeleteCashierLogo removes the app's cashier logo in a mode, if any.
func (tx *Tx) DeleteCashierLogo(ctx context.Context, appID string, live bool) error {
	_, err := tx.exec(ctx, `DELETE FROM cashier_logos WHERE app_id=? AND livemode=?`, appID, b2i(live))
	return err
}

// CashierLogo returns the content type and bytes of a logo some app uses
// now, by its SHA-256 (hex); nil bytes when none does.
func (tx *Tx) CashierLogo(ctx context.Context, sha string) (string, []byte, error) {
	var typ, data string
	err := tx.queryRow(ctx, `SELECT content_type, data FROM cashier_logos WHERE sha256=? LIMIT 1`, sha).Scan(&typ, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	b, err := base64.StdEncoding.DecodeString(data)
	return typ, b, err
}
