package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/polypay/polypay"
)

// VaultCustomer is a vault customer row (Ping++'s legacy customer object).
type VaultCustomer struct {
	ID            string
	AppID         string
	Live          bool
	Created       int64
	Name          string
	Email         string
	Currency      string
	Description   string
	Metadata      []byte
	DefaultSource string
}

// VaultCard is a card row: the public fields and the sealed number. The
// sealed fields are meaningless without the vault's key-encryption keys.
type VaultCard struct {
	ID          string
	AppID       string
	Live        bool
	CustomerID  string // "" while the card only backs a token
	Created     int64
	Brand       string
	Funding     string
	Bank        string
	Last4       string
	ExpMonth    int
	ExpYear     int
	Fingerprint string
	// FingerprintVersion says how Fingerprint was keyed: 1, one key for
	// every app (no longer written); 2, a key per app and mode.
	FingerprintVersion int
	WrappedKey         string
	KeyID              string
	Ciphertext         string
	Nonce              string
}

// VaultToken is a single-use card token row.
type VaultToken struct {
	ID         string
	AppID      string
	Live       bool
	CardID     string
	CustomerID string
	Created    int64
	Expires    int64
	Used       bool
	TimeUsed   int64
}

// Page selects one page of a newest-first list.
type Page struct {
	StartingAfter string
	EndingBefore  string
	Limit         int
}

const vaultCustomerCols = `id, app_id, livemode, created, name, email, currency, description, metadata, default_source`

func scanVaultCustomer(s scanner) (*VaultCustomer, error) {
	var c VaultCustomer
	var live int
	var meta string
	if err := s.Scan(&c.ID, &c.AppID, &live, &c.Created, &c.Name, &c.Email, &c.Currency, &c.Description,
		&meta, &c.DefaultSource); err != nil {
		return nil, err
	}
	c.Live, c.Metadata = live == 1, []byte(meta)
	return &c, nil
}

// InsertVaultCustomer stores a new customer.
func (tx *Tx) InsertVaultCustomer(ctx context.Context, c *VaultCustomer) error {
	_, err := tx.exec(ctx, `INSERT INTO vault_customers (`+vaultCustomerCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.AppID, b2i(c.Live), c.Created, c.Name, c.Email, c.Currency, c.Description, string(c.Metadata), c.DefaultSource)
	return err
}

// GetVaultCustomer returns the app's customer in the mode; ENotFound for
// any other id, another app's or mode's included.
func (tx *Tx) GetVaultCustomer(ctx context.Context, appID string, live bool, id string) (*VaultCustomer, error) {
	c, err := scanVaultCustomer(tx.queryRow(ctx, `SELECT `+vaultCustomerCols+` FROM vault_customers
 WHERE id=? AND app_id=? AND livemode=?`+tx.forUpdate(), id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("customer", id)
	}
	return c, err
}

// UpdateVaultCustomer writes a customer's mutable fields.
func (tx *Tx) UpdateVaultCustomer(ctx context.Context, c *VaultCustomer) error {
	_, err := tx.exec(ctx, `UPDATE vault_customers SET name=?, email=?, description=?, metadata=?, default_source=?
 WHERE id=? AND app_id=? AND livemode=?`, c.Name, c.Email, c.Description, string(c.Metadata), c.DefaultSource,
		c.ID, c.AppID, b2i(c.Live))
	return err
}

// DeleteVaultCustomer removes a customer with its cards and their tokens;
// ENotFound if the app has no such customer in the mode.
func (tx *Tx) DeleteVaultCustomer(ctx context.Context, appID string, live bool, id string) error {
	if _, err := tx.exec(ctx, `DELETE FROM vault_tokens WHERE card_id IN (SELECT id FROM vault_cards
 WHERE app_id=? AND livemode=? AND customer_id=?)`, appID, b2i(live), id); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM vault_cards WHERE app_id=? AND livemode=? AND customer_id=?`, appID, b2i(live), id); err != nil {
		return err
	}
	res, err := tx.exec(ctx, `DELETE FROM vault_customers WHERE id=? AND app_id=? AND livemode=?`, id, appID, b2i(live))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return polypay.NotFound("customer", id)
	}
	return nil
}

// ListVaultCustomers returns a page of the app's customers, newest first,
// and whether more exist in the direction of travel.
func (tx *Tx) ListVaultCustomers(ctx context.Context, appID string, live bool, p Page) ([]*VaultCustomer, bool, error) {
	return listPage(ctx, tx, vaultCustomerCols, "vault_customers", []string{"app_id = ?", "livemode = ?"},
		[]any{appID, b2i(live)}, p, scanVaultCustomer)
}

const vaultCardCols = `id, app_id, livemode, customer_id, created, brand, funding, bank, last4, exp_month, exp_year,
 fingerprint, fingerprint_version, wrapped_key, key_id, ciphertext, nonce`

func scanVaultCard(s scanner) (*VaultCard, error) {
	var c VaultCard
	var live int
	if err := s.Scan(&c.ID, &c.AppID, &live, &c.CustomerID, &c.Created, &c.Brand, &c.Funding, &c.Bank, &c.Last4,
		&c.ExpMonth, &c.ExpYear, &c.Fingerprint, &c.FingerprintVersion, &c.WrappedKey, &c.KeyID, &c.Ciphertext, &c.Nonce); err != nil {
		return nil, err
	}
	c.Live = live == 1
	return &c, nil
}

// InsertVaultCard stores a sealed card.
func (tx *Tx) InsertVaultCard(ctx context.Context, c *VaultCard) error {
	_, err := tx.exec(ctx, `INSERT INTO vault_cards (`+vaultCardCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.AppID, b2i(c.Live), c.CustomerID, c.Created, c.Brand, c.Funding, c.Bank, c.Last4, c.ExpMonth, c.ExpYear,
		c.Fingerprint, c.FingerprintVersion, c.WrappedKey, c.KeyID, c.Ciphertext, c.Nonce)
	return err
}

// GetVaultCard returns the app's card in the mode; ENotFound otherwise.
func (tx *Tx) GetVaultCard(ctx context.Context, appID string, live bool, id string) (*VaultCard, error) {
	c, err := scanVaultCard(tx.queryRow(ctx, `SELECT `+vaultCardCols+` FROM vault_cards WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("card", id)
	}
	return c, err
}

// ListVaultCards returns a page of a customer's cards, newest first.
func (tx *Tx) ListVaultCards(ctx context.Context, appID string, live bool, customerID string, p Page) ([]*VaultCard, bool, error) {
	return listPage(ctx, tx, vaultCardCols, "vault_cards", []string{"app_id = ?", "livemode = ?", "customer_id = ?"},
		[]any{appID, b2i(live), customerID}, p, scanVaultCard)
}

// AttachVaultCard gives a card that backs only a token to a customer; it
// reports false when the card is gone or already someone's.
func (tx *Tx) AttachVaultCard(ctx context.Context, appID string, live bool, cardID, customerID string) (bool, error) {
	return tx.claim(ctx, `UPDATE vault_cards SET customer_id=? WHERE id=? AND app_id=? AND livemode=? AND customer_id=''`,
		customerID, cardID, appID, b2i(live))
}

// DeleteVaultCard removes a customer's card and its tokens; ENotFound if
// the customer has no such card.
func (tx *Tx) DeleteVaultCard(ctx context.Context, appID string, live bool, customerID, id string) error {
	res, err := tx.exec(ctx, `DELETE FROM vault_cards WHERE id=? AND app_id=? AND livemode=? AND customer_id=?`,
		id, appID, b2i(live), customerID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return polypay.NotFound("card", id)
	}
	_, err = tx.exec(ctx, `DELETE FROM vault_tokens WHERE card_id=?`, id)
	return err
}

// PurgeVaultOrphans deletes cards that only ever backed tokens and were
// created before the cutoff in an app and mode (their tokens are long used or expired), so
// that sealed numbers are not kept longer than they serve a purpose.
func (tx *Tx) PurgeVaultOrphans(ctx context.Context, appID string, live bool, before int64) (int64, error) {
	if _, err := tx.exec(ctx, `DELETE FROM vault_tokens WHERE card_id IN (SELECT id FROM vault_cards
 WHERE app_id=? AND livemode=? AND customer_id='' AND created < ?)`, appID, b2i(live), before); err != nil {
		return 0, err
	}
	res, err := tx.exec(ctx, `DELETE FROM vault_cards WHERE app_id=? AND livemode=? AND customer_id='' AND created < ?`,
		appID, b2i(live), before)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// VaultCardKeys counts cards per key-encryption key id.
func (tx *Tx) VaultCardKeys(ctx context.Context) (map[string]int, error) {
	rows, err := tx.query(ctx, `SELECT key_id, COUNT(*) FROM vault_cards GROUP BY key_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// VaultCardsNotUnder returns up to limit cards (of every app and mode)
// whose data key is wrapped by another key than keyID.
func (tx *Tx) VaultCardsNotUnder(ctx context.Context, keyID string, limit int) ([]*VaultCard, error) {
	rows, err := tx.query(ctx, `SELECT `+vaultCardCols+` FROM vault_cards WHERE key_id <> ? ORDER BY `+
		tx.byteOrder("id")+` LIMIT ?`+tx.forUpdate(), keyID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*VaultCard
	for rows.Next() {
		c, err := scanVaultCard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RewrapVaultCard replaces a card's wrapped data key, provided it is still
// wrapped by oldKey (a concurrent rotation may have got there first).
func (tx *Tx) RewrapVaultCard(ctx context.Context, id, oldKey, newKey, wrapped string) (bool, error) {
	return tx.claim(ctx, `UPDATE vault_cards SET wrapped_key=?, key_id=? WHERE id=? AND key_id=?`, wrapped, newKey, id, oldKey)
}

// VaultCardsFingerprintedBefore returns up to limit cards (of every app
// and mode) whose fingerprint_version is below version.
func (tx *Tx) VaultCardsFingerprintedBefore(ctx context.Context, version, limit int) ([]*VaultCard, error) {
	rows, err := tx.query(ctx, `SELECT `+vaultCardCols+` FROM vault_cards WHERE fingerprint_version < ? ORDER BY `+
		tx.byteOrder("id")+` LIMIT ?`+tx.forUpdate(), version, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*VaultCard
	for rows.Next() {
		c, err := scanVaultCard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RefingerprintVaultCard replaces a card's fingerprint and its version,
// provided the version is still below the new one (another node may have
// got there first); it reports whether this call did.
func (tx *Tx) RefingerprintVaultCard(ctx context.Context, id, fingerprint string, version int) (bool, error) {
	return tx.claim(ctx, `UPDATE vault_cards SET fingerprint=?, fingerprint_version=? WHERE id=? AND fingerprint_version < ?`,
		fingerprint, version, id, version)
}

const vaultTokenCols = `id, app_id, livemode, card_id, customer_id, created, expires, used, time_used`

// InsertVaultToken stores a new token.
func (tx *Tx) InsertVaultToken(ctx context.Context, t *VaultToken) error {
	_, err := tx.exec(ctx, `INSERT INTO vault_tokens (`+vaultTokenCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		t.ID, t.AppID, b2i(t.Live), t.CardID, t.CustomerID, t.Created, t.Expires, b2i(t.Used), t.TimeUsed)
	return err
}

// GetVaultToken returns the app's token in the mode; ENotFound otherwise.
func (tx *Tx) GetVaultToken(ctx context.Context, appID string, live bool, id string) (*VaultToken, error) {
	var t VaultToken
	var l, used int
	err := tx.queryRow(ctx, `SELECT `+vaultTokenCols+` FROM vault_tokens WHERE id=? AND app_id=? AND livemode=?`,
		id, appID, b2i(live)).Scan(&t.ID, &t.AppID, &l, &t.CardID, &t.CustomerID, &t.Created, &t.Expires, &used, &t.TimeUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("token", id)
	}
	t.Live, t.Used = l == 1, used == 1
	return &t, err
}

// ConsumeVaultToken marks an unused, unexpired token used at now and
// reports whether this call did; the check and the change are one
// statement, so a token backs one use however many nodes race for it.
func (tx *Tx) ConsumeVaultToken(ctx context.Context, appID string, live bool, id string, now int64) (bool, error) {
	return tx.claim(ctx, `UPDATE vault_tokens SET used=1, time_used=? WHERE id=? AND app_id=? AND livemode=?
 AND used=0 AND expires > ?`, now, id, appID, b2i(live), now)
}

// listPage reads one newest-first page of rows matching where.
func listPage[T any](ctx context.Context, tx *Tx, cols, table string, where []string, args []any, p Page,
	scan func(scanner) (T, error)) ([]T, bool, error) {
	return listPageBy(ctx, tx, cols, table, "id", where, args, p, scan)
}

// listPageBy is listPage on a table whose ids are in column key.
func listPageBy[T any](ctx context.Context, tx *Tx, cols, table, key string, where []string, args []any, p Page,
	scan func(scanner) (T, error)) ([]T, bool, error) {
	order := "DESC"
	if p.StartingAfter != "" {
		where = append(where, tx.byteOrder(key)+" < ?")
		args = append(args, p.StartingAfter)
	} else if p.EndingBefore != "" {
		where = append(where, tx.byteOrder(key)+" > ?")
		args = append(args, p.EndingBefore)
		order = "ASC"
	}
	args = append(args, p.Limit+1)
	rows, err := tx.query(ctx, `SELECT `+cols+` FROM `+table+` WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+tx.byteOrder(key)+` `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > p.Limit
	if more {
		out = out[:p.Limit]
	}
	if order == "ASC" {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, more, nil
}
