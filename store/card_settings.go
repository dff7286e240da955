package store

import (
	"context"
	"database/sql"
	"errors"
)

// CardSettings returns the app's card settings in a mode as stored (a JSON
// object), or nil when none were set.
func (tx *Tx) CardSettings(ctx context.Context, appID string, live bool) ([]byte, error) {
	var s string
	err := tx.queryRow(ctx, `SELECT settings FROM card_settings WHERE app_id=? AND livemode=?`, appID, b2i(live)).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// PutCardSettings stores (replaces) the app's card settings in a mode.
func (tx *Tx) PutCardSettings(ctx context.Context, appID string, live bool, settings []byte, updated int64) error {
	_, err := tx.exec(ctx, `INSERT INTO card_settings (app_id, livemode, settings, updated) VALUES (?,?,?,?)
 ON CONFLICT (app_id, livemode) DO UPDATE SET settings = excluded.settings, updated = excluded.updated`,
		appID, b2i(live), string(settings), updated)
	return err
}
