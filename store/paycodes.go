package store

import (
	"context"
	"database/sql"
	"errors"
)

// PaycodeDevice is a user's device that derives offline payment codes
// (migration 0037). SealedSecret is its TOTP secret sealed with the node's
// master key.
type PaycodeDevice struct {
	ID           string
	AppID        string
	Livemode     bool
	User         string
	Index        int64
	Version      int
	SealedSecret string
	MaxAmount    int64
	DailyCount   int
	Revoked      int64
	Failures     int
	FailedSince  int64
	LockedUntil  int64
	Created      int64
}

const paycodeDeviceCols = `id, app_id, livemode, user_id, idx, version, sealed_secret, max_amount, daily_count, revoked,
 failures, failed_since, locked_until, created`

func scanPaycodeDevice(s scanner) (*PaycodeDevice, error) {
	var d PaycodeDevice
	var live int
	err := s.Scan(&d.ID, &d.AppID, &live, &d.User, &d.Index, &d.Version, &d.SealedSecret, &d.MaxAmount, &d.DailyCount,
		&d.Revoked, &d.Failures, &d.FailedSince, &d.LockedUntil, &d.Created)
	d.Livemode = live == 1
	return &d, err
}

// InsertPaycodeDevice stores a device; an index the app and mode already
// have fails with a unique violation.
func (tx *Tx) InsertPaycodeDevice(ctx context.Context, d *PaycodeDevice) error {
	_, err := tx.exec(ctx, `INSERT INTO paycode_devices (`+paycodeDeviceCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		d.ID, d.AppID, b2i(d.Livemode), d.User, d.Index, d.Version, d.SealedSecret, d.MaxAmount, d.DailyCount, d.Revoked,
		d.Failures, d.FailedSince, d.LockedUntil, d.Created)
	return err
}

// GetPaycodeDevice returns a user's device; nil when there is none.
func (tx *Tx) GetPaycodeDevice(ctx context.Context, appID string, live bool, user, id string) (*PaycodeDevice, error) {
	d, err := scanPaycodeDevice(tx.queryRow(ctx, `SELECT `+paycodeDeviceCols+` FROM paycode_devices
 WHERE id=? AND app_id=? AND livemode=? AND user_id=?`, id, appID, b2i(live), user))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return d, err
}

// PaycodeDeviceByIndex returns the app's device with an index, locked in
// a write transaction; nil when there is none.
func (tx *Tx) PaycodeDeviceByIndex(ctx context.Context, appID string, live bool, idx int64) (*PaycodeDevice, error) {
	d, err := scanPaycodeDevice(tx.queryRow(ctx, `SELECT `+paycodeDeviceCols+` FROM paycode_devices
 WHERE app_id=? AND livemode=? AND idx=?`+tx.forUpdate(), appID, b2i(live), idx))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return d, err
}

// ListPaycodeDevices lists a user's devices, newest first.
func (tx *Tx) ListPaycodeDevices(ctx context.Context, appID string, live bool, user string) ([]*PaycodeDevice, error) {
	rows, err := tx.query(ctx, `SELECT `+paycodeDeviceCols+` FROM paycode_devices WHERE app_id=? AND livemode=? AND user_id=?
 ORDER BY created DESC, id DESC LIMIT 100`, appID, b2i(live), user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*PaycodeDevice
	for rows.Next() {
		d, err := scanPaycodeDevice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// SetPaycodeDeviceGuard writes a device's revocation and lockout state.
func (tx *Tx) SetPaycodeDeviceGuard(ctx context.Context, d *PaycodeDevice) error {
	_, err := tx.exec(ctx, `UPDATE paycode_devices SET revoked=?, failures=?, failed_since=?, locked_until=? WHERE id=?`,
		d.Revoked, d.Failures, d.FailedSince, d.LockedUntil, d.ID)
	return err
}

// InsertPaycodeUse records an offline code accepted; the same device and
// step twice fails with a unique violation (a replay).
func (tx *Tx) InsertPaycodeUse(ctx context.Context, deviceID string, step int64, chargeID string, amount, now int64) error {
	_, err := tx.exec(ctx, `INSERT INTO paycode_uses (device_id, step, charge_id, amount, created) VALUES (?,?,?,?,?)`,
		deviceID, step, chargeID, amount, now)
	return err
}

// PaycodeUsesSince counts a device's accepted codes since a time.
func (tx *Tx) PaycodeUsesSince(ctx context.Context, deviceID string, since int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM paycode_uses WHERE device_id=? AND created >= ?`, deviceID, since).Scan(&n)
	return n, err
}

// InsertPaycodeOnline stores an issued online code; a code still stored
// fails with a unique violation.
func (tx *Tx) InsertPaycodeOnline(ctx context.Context, appID string, live bool, user, code string, expires, now int64) error {
	_, err := tx.exec(ctx, `INSERT INTO paycode_online (code, app_id, livemode, user_id, expires, used, created) VALUES (?,?,?,?,?,0,?)`,
		code, appID, b2i(live), user, expires, now)
	return err
}

// UsePaycodeOnline marks an online code used, once, if it is the app's,
// unexpired and unused; it returns its user ("" when refused).
func (tx *Tx) UsePaycodeOnline(ctx context.Context, appID string, live bool, code string, now int64) (string, error) {
	var user string
	err := tx.queryRow(ctx, `SELECT user_id FROM paycode_online WHERE code=? AND app_id=? AND livemode=? AND used=0 AND expires > ?`,
		code, appID, b2i(live), now).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	res, err := tx.exec(ctx, `UPDATE paycode_online SET used=? WHERE code=? AND used=0`, now, code)
	if err != nil {
		return "", err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return "", err
	}
	return user, nil
}

// DeleteExpiredPaycodes removes online codes expired before a time (the
// poller's housekeeping): their digits may be issued again.
func (tx *Tx) DeleteExpiredPaycodes(ctx context.Context, before int64) error {
	_, err := tx.exec(ctx, `DELETE FROM paycode_online WHERE expires < ?`, before)
	return err
}

// PaycodeTerminal is a terminal's lockout state.
type PaycodeTerminal struct {
	Failures    int
	FailedSince int64
	LockedUntil int64
}

// GetPaycodeTerminal returns a terminal's lockout state (zero if none).
func (tx *Tx) GetPaycodeTerminal(ctx context.Context, appID string, live bool, terminal string) (PaycodeTerminal, error) {
	var t PaycodeTerminal
	err := tx.queryRow(ctx, `SELECT failures, failed_since, locked_until FROM paycode_terminals WHERE app_id=? AND livemode=? AND terminal_id=?`,
		appID, b2i(live), terminal).Scan(&t.Failures, &t.FailedSince, &t.LockedUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return t, nil
	}
	return t, err
}

// PutPaycodeTerminal writes a terminal's lockout state.
func (tx *Tx) PutPaycodeTerminal(ctx context.Context, appID string, live bool, terminal string, t PaycodeTerminal) error {
	_, err := tx.exec(ctx, `INSERT INTO paycode_terminals (app_id, livemode, terminal_id, failures, failed_since, locked_until)
 VALUES (?,?,?,?,?,?) ON CONFLICT (app_id, livemode, terminal_id) DO UPDATE SET failures=excluded.failures,
 failed_since=excluded.failed_since, locked_until=excluded.locked_until`, appID, b2i(live), terminal, t.Failures, t.FailedSince, t.LockedUntil)
	return err
}

// PaycodeStepUsed reports whether a device's code of a time step was
// accepted already.
func (tx *Tx) PaycodeStepUsed(ctx context.Context, deviceID string, step int64) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM paycode_uses WHERE device_id=? AND step=?`, deviceID, step).Scan(&n)
	return n > 0, err
}

// PaycodeDeviceByID returns a device by id, locked in a write
// transaction; nil when there is none.
func (tx *Tx) PaycodeDeviceByID(ctx context.Context, id string) (*PaycodeDevice, error) {
	d, err := scanPaycodeDevice(tx.queryRow(ctx, `SELECT `+paycodeDeviceCols+` FROM paycode_devices WHERE id=?`+tx.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return d, err
}
