package store

import "context"

// WebhookKey is one generation of an app's webhook signing key in a mode.
type WebhookKey struct {
	AppID      string
	Live       bool
	Generation int
	Sealed     string // PKCS#1 DER sealed with the master key
	ActiveFrom int64  // unix ms: signs from then until a later generation does
}

// LatestWebhookKeys returns up to n of the app's newest key generations in
// a mode, newest first; none when the app has no key yet.
func (tx *Tx) LatestWebhookKeys(ctx context.Context, appID string, live bool, n int) ([]WebhookKey, error) {
	rows, err := tx.query(ctx, `SELECT generation, sealed, active_from FROM webhook_keys
 WHERE app_id=? AND livemode=? ORDER BY generation DESC LIMIT ?`, appID, b2i(live), n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []WebhookKey
	for rows.Next() {
		k := WebhookKey{AppID: appID, Live: live}
		if err := rows.Scan(&k.Generation, &k.Sealed, &k.ActiveFrom); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// InsertWebhookKeyIfAbsent stores a key generation unless that generation
// exists (first writer wins, so nodes creating or rotating at once agree on
// one key); it reports whether this one was stored. An unknown app fails
// the foreign key with the driver's error: callers check the app first.
func (tx *Tx) InsertWebhookKeyIfAbsent(ctx context.Context, k WebhookKey) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO webhook_keys (app_id, livemode, generation, sealed, active_from, created)
 VALUES (?,?,?,?,?,?) ON CONFLICT (app_id, livemode, generation) DO NOTHING`,
		k.AppID, b2i(k.Live), k.Generation, k.Sealed, k.ActiveFrom, tx.now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
