package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/polypay/polypay"
)

// QRCode is a shop's receipt QR code (migration 0038).
type QRCode struct {
	ID        string
	AppID     string
	Livemode  bool
	Label     string
	Amount    int64 // 0: the customer enters it
	Currency  string
	Expires   int64
	MaxUses   int64
	TimesUsed int64
	Metadata  []byte
	Created   int64
	Deleted   int64
}

const qrCodeCols = `id, app_id, livemode, label, amount, currency, expires, max_uses, times_used, metadata, created, deleted`

func scanQRCode(s scanner) (*QRCode, error) {
	var q QRCode
	var live int
	var meta string
	err := s.Scan(&q.ID, &q.AppID, &live, &q.Label, &q.Amount, &q.Currency, &q.Expires, &q.MaxUses, &q.TimesUsed, &meta,
		&q.Created, &q.Deleted)
	q.Livemode, q.Metadata = live == 1, []byte(meta)
	return &q, err
}

// InsertQRCode stores a QR code.
func (tx *Tx) InsertQRCode(ctx context.Context, q *QRCode) error {
	_, err := tx.exec(ctx, `INSERT INTO qr_codes (`+qrCodeCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, q.ID, q.AppID, b2i(q.Livemode),
		q.Label, q.Amount, q.Currency, q.Expires, q.MaxUses, q.TimesUsed, string(q.Metadata), q.Created, q.Deleted)
	return err
}

// UpdateQRCode writes what may change on a QR code.
func (tx *Tx) UpdateQRCode(ctx context.Context, q *QRCode) error {
	_, err := tx.exec(ctx, `UPDATE qr_codes SET label=?, expires=?, max_uses=?, metadata=?, deleted=? WHERE id=?`,
		q.Label, q.Expires, q.MaxUses, string(q.Metadata), q.Deleted, q.ID)
	return err
}

// GetQRCode returns an app's QR code in a mode; ENotFound naming id.
func (tx *Tx) GetQRCode(ctx context.Context, appID string, live bool, id string) (*QRCode, error) {
	q, err := scanQRCode(tx.queryRow(ctx, `SELECT `+qrCodeCols+` FROM qr_codes WHERE id=? AND app_id=? AND livemode=?`, id, appID, b2i(live)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("qr_code", id)
	}
	return q, err
}

// QRCodeByID returns any QR code by id (its printed URL names only it);
// ENotFound naming id.
func (tx *Tx) QRCodeByID(ctx context.Context, id string) (*QRCode, error) {
	q, err := scanQRCode(tx.queryRow(ctx, `SELECT `+qrCodeCols+` FROM qr_codes WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, polypay.NotFound("qr_code", id)
	}
	return q, err
}

// ListQRCodes pages through an app's QR codes not deleted.
func (tx *Tx) ListQRCodes(ctx context.Context, appID string, live bool, p Page) ([]*QRCode, bool, error) {
	return listPage(ctx, tx, qrCodeCols, "qr_codes", []string{"app_id = ?", "livemode = ?", "deleted = 0"}, []any{appID, b2i(live)}, p, scanQRCode)
}

// UseQRCode counts one more order made from a live QR code, unless it is
// deleted, expired or at max_uses: one conditional statement.
func (tx *Tx) UseQRCode(ctx context.Context, id string, now int64) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE qr_codes SET times_used = times_used + 1 WHERE id=? AND deleted = 0
 AND (expires = 0 OR expires > ?) AND (max_uses = 0 OR times_used < max_uses)`, id, now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
