package store

import (
	"context"

	"github.com/polypay/polypay"
)

// SetErrorLanguage fixes the language of an app's API error replies ("en",
// "zh", or "" to follow Accept-Language); ENotFound for an unknown app.
// Nodes pick the change up with their key cache (api.keyTTL).
func (tx *Tx) SetErrorLanguage(ctx context.Context, appID, lang string) error {
	res, err := tx.exec(ctx, `UPDATE apps SET error_language=? WHERE id=?`, lang, appID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return polypay.NotFound("app", appID)
	}
	return nil
}
